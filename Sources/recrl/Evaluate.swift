import RecRLTensor
import ArgumentParser
import Foundation
import RecRLData
import RecRLRecommenders
import RecRLDRR
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bad-input error of `recrl evaluate`, printed by ArgumentParser as one `Error: …` line (exit code 1).
struct EvaluateError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `recrl evaluate`: loads a data set, splits it, trains baseline policies and reports offline metrics.
///
/// Register it as a subcommand of the `recrl` root command. Bad input (missing folder, unknown
/// format/split/protocol/policy, bad K or fraction) fails in `validate()` with a one-line
/// ``EvaluateError`` (no usage dump; malformed flags still get ArgumentParser's own message);
/// data errors found while loading are thrown from `run()` as ``DataError`` (printed as `Error: …`).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate baseline recommenders offline on a ratings data set.",
        discussion: """
            Loads DIR (MovieLens 100K/1M/latest or a generic CSV), validates it, splits it, fits each \
            policy on the training split and ranks items for every test user with at least one \
            relevant test interaction. Prints a table, or exactly one JSON object with --json.
            """
    )

    /// Known policy names.
    static let knownPolicies = ["random", "popularity", "itemknn", "als", "ials", "bpr", "ease", "drr-n", "drr-p", "drr-u", "drr-ave"]

    @Option(name: .long, help: ArgumentHelp("Data directory (or a .csv file for --format csv).", valueName: "DIR"))
    var data: String

    @OptionGroup var formatOption: FormatOption

    @Option(name: .long, help: "Split: temporal (each user's latest fraction), random (global fraction) or leave-last (each user's last interaction; ignores --test-fraction).")
    var split: String = "random"

    @OptionGroup var testFractionOption: TestFractionOption

    @Option(name: .customLong("protocol"), help: "Protocol: full (rank all unseen items) or drr (rank the user's test items).")
    var evaluationProtocol: String = "full"

    @Option(name: .long, help: "Comma-separated policies: random, popularity, itemknn, als, ials, bpr, ease, drr-n, drr-p, drr-u, drr-ave.")
    var policies: String = "random,popularity,itemknn,bpr,als,ials"

    @Option(name: .customLong("k"), help: "Comma-separated cut-offs K.")
    var ks: String = "5,10"

    @Option(name: .customLong("relevance-threshold"), help: "A test rating ≥ this is relevant (also 4 on half-star scales; 1 makes every test interaction relevant on 1–5 scales).")
    var relevanceThreshold: Double = 4

    @OptionGroup var seedOption: SeedOption

    @OptionGroup var output: JSONFlag

    @Option(name: .long, help: ArgumentHelp("A DRR model saved by `recrl train` to evaluate instead of training one (its policy must be listed in --policies).", valueName: "DIR"))
    var model: String?

    @Flag(name: .long, help: "Tune without touching the test split: evaluate on a validation split carved from the training split (same --split and --test-fraction), fitting on the rest.")
    var validation = false

    @Flag(name: .long, help: "Tune each baseline's hyper-parameters on its documented grid (BaselineTuning) by NDCG@10 on a validation split carved from the training split (same --split and --test-fraction), refit the best on all of training, and evaluate it once on test. DRR policies keep their configuration.")
    var tune = false

    @Option(name: .long, help: "DRR training episodes (default: the DRR configuration's 500).")
    var episodes: Int?

    // MARK: Parsed values

    var format: String { formatOption.format }
    var testFraction: Double { testFractionOption.testFraction }
    var seed: UInt64 { seedOption.seed }
    var json: Bool { output.json }
    var parsedFormat: DatasetFormat? { formatOption.parsed }
    var parsedProtocol: EvaluationProtocol? { EvaluationProtocol(rawValue: evaluationProtocol.lowercased()) }
    var parsedKs: [Int]? {
        let parts = ks.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.map { Int($0) }
        guard !parts.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return Array(Set(values.compactMap { $0 })).sorted()
    }
    var parsedPolicies: [String] {
        policies.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }
    var strategy: SplitStrategy? {
        switch split.lowercased() {
        case "temporal": return .temporal(testFraction: testFraction)
        case "random": return .random(testFraction: testFraction)
        case "leave-last", "leave-last-out": return .leaveLastOut(n: 1)
        default: return nil
        }
    }

    func validate() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDir) else {
            throw EvaluateError("data directory not found: \(data)")
        }
        guard parsedFormat != nil else {
            throw EvaluateError("unknown format '\(format)' (expected one of: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard strategy != nil else {
            throw EvaluateError("unknown split '\(split)' (expected temporal, random or leave-last)")
        }
        guard testFraction > 0, testFraction < 1 else {
            throw EvaluateError("--test-fraction must be strictly between 0 and 1 (got \(testFraction))")
        }
        guard parsedProtocol != nil else {
            throw EvaluateError("unknown protocol '\(evaluationProtocol)' (expected full or drr)")
        }
        guard parsedKs != nil else {
            throw EvaluateError("--k must be a comma-separated list of positive integers (got '\(ks)')")
        }
        guard relevanceThreshold.isFinite else {
            throw EvaluateError("--relevance-threshold must be a finite number")
        }
        let names = parsedPolicies
        if let episodes, episodes < 0 { throw EvaluateError("--episodes must be non-negative") }
        if let model, !FileManager.default.fileExists(atPath: model) { throw EvaluateError("--model \(model) does not exist") }
        guard !names.isEmpty, !names.contains("") else {
            throw EvaluateError("--policies must be a comma-separated list without empty entries (got '\(policies)')")
        }
        for name in names where !Self.knownPolicies.contains(name) {
            throw EvaluateError("unknown policy '\(name)' (expected one of: \(Self.knownPolicies.joined(separator: ", ")))")
        }
    }

    func makeRecommender(_ name: String) throws -> (any Recommender)? {
        if name.hasPrefix("drr-"), let variant = DRRStateRepresentation.Variant(rawValue: String(name.dropFirst(4))) {
            if let model {
                let loaded = try DRRModelStore.load(from: URL(fileURLWithPath: model))
                guard loaded.manifest.policy == name else {
                    throw EvaluateError("--model \(model) holds a \(loaded.manifest.policy) model, not \(name)")
                }
                return DRRRecommender(pretrained: loaded.model, manifest: loaded.manifest)
            }
            var configuration = DRRConfiguration()
            configuration.variant = variant
            if let episodes { configuration.episodes = episodes }
            var drr = DRRRecommender(configuration: configuration, seed: seed)
            if isatty(2) != 0 {
                drr.progress = { point in
                    FileHandle.standardError.write(Data("  \(name) episode \(point.episode): reward \(String(format: "%.3f", point.meanEpisodeReward)), critic loss \(String(format: "%.4f", point.meanCriticLoss))\n".utf8))
                }
            }
            return drr
        }
        switch name {
        case "random": return RandomRecommender(seed: seed)
        case "popularity": return PopularityRecommender()
        case "itemknn": return ItemKNNRecommender()
        case "bpr": return BPRRecommender(seed: seed)
        case "als": return ALSRecommender(seed: seed)
        case "ials": return IALSRecommender(seed: seed)
        case "ease": return EASERecommender()
        default: return nil
        }
    }

    func run() throws {
        guard let format = parsedFormat, let strategy, let evalProtocol = parsedProtocol, let ks = parsedKs else {
            throw EvaluateError("invalid options")  // unreachable after validate()
        }
        let progress = isatty(2) != 0
        func log(_ message: String) {
            if progress { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        }
        log("loading \(data)…")
        let loaded = try DatasetLoader.load(directory: data, format: format)
        let dataset = loaded.dataset
        log("loaded \(loaded.format.rawValue): \(dataset.userCount) users, \(dataset.itemCount) items, \(dataset.interactionCount) interactions")
        var rng = SplitMix64(seed: seed)
        var split = DatasetTransforms.split(dataset, strategy: strategy, using: &rng)
        if validation {
            split = DatasetTransforms.split(split.train, strategy: strategy, using: &rng)
            log("validation mode: evaluating on a validation split carved from the training split (the test split is not read)")
        }
        let config = EvaluationConfig(ks: ks, relevanceThreshold: Float(relevanceThreshold), evaluationProtocol: evalProtocol)
        // Every tuned policy sees the same validation split, carved from split.train only.
        let tuningRNG = rng
        var results: [PolicyResult] = []
        for name in parsedPolicies {
            if tune, let grid = BaselineTuning.grid(for: name, seed: seed) {
                log("tuning \(name) on a validation split of the training split (\(grid.count) grid points)…")
                var validationRNG = tuningRNG
                let (best, outcome) = try BaselineTuning.tune(grid, train: split.train, strategy: strategy, config: config,
                                                              using: &validationRNG)
                var recommender = grid[best].make()
                log("refitting \(name) with \(Self.describe(outcome.chosen)) on the training split and evaluating…")
                var result = try Evaluator.run(&recommender, split: split, config: config)
                result.tuning = outcome
                results.append(result)
                continue
            }
            guard var recommender = try makeRecommender(name) else {
                throw EvaluateError("policy '\(name)' is not available")
            }
            log("fitting and evaluating \(name)…")
            results.append(try Evaluator.run(&recommender, split: split, config: config))
        }
        let report = EvaluationReport(
            dataset: .init(dataset: dataset, split: split), split: validation ? "\(strategy.name)-validation" : strategy.name,
            evaluationProtocol: evalProtocol.rawValue, seed: seed, relevanceThreshold: relevanceThreshold,
            validation: loaded.report, results: results)
        if json {
            print(try report.jsonString())
        } else {
            print(Self.table(report, ks: ks, format: loaded.format))
        }
    }

    /// `name value, name value` in name order, integers without a fraction.
    static func describe(_ parameters: [String: Double]) -> String {
        parameters.sorted { $0.key < $1.key }.map { key, value in
            "\(key) \(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value))"
        }.joined(separator: ", ")
    }

    /// Renders the human-readable report.
    static func table(_ report: EvaluationReport, ks: [Int], format: DatasetFormat) -> String {
        let d = report.dataset
        var lines: [String] = []
        lines.append("Dataset \(format.rawValue): \(d.users) users, \(d.items) items, \(d.interactions) interactions (train \(d.train), test \(d.test))")
        let v = report.validation
        lines.append("Validation: \(v.rowsRead) rows read, \(v.rowsKept) kept, \(v.droppedTotal) dropped, \(v.duplicatesResolved) duplicates resolved")
        for example in v.examples { lines.append("  e.g. \(example)") }
        let t = report.relevanceThreshold
        let threshold = t == t.rounded() && abs(t) < 1e15 ? String(Int64(t)) : String(t)
        let users = report.results.first.map { Int($0.metrics["users_evaluated"] ?? 0) } ?? 0
        lines.append("Split \(report.split), protocol \(report.evaluationProtocol), seed \(report.seed), relevant: rating ≥ \(threshold), users evaluated: \(users)")
        lines.append("")
        let metricNames = report.evaluationProtocol == "full" ? ["precision", "recall", "ndcg", "map", "hit"] : ["precision", "ndcg"]
        func pad(_ s: String, _ w: Int, right: Bool = true) -> String {
            s.count >= w ? s : (right ? String(repeating: " ", count: w - s.count) + s : s + String(repeating: " ", count: w - s.count))
        }
        let nameWidth = max(10, (report.results.map(\.policy.count).max() ?? 0) + 2)
        var header = pad("policy", nameWidth, right: false) + pad("K", 4)
        for m in metricNames { header += pad(m, 11) }
        lines.append(header)
        for result in report.results {
            for k in ks {
                var row = pad(result.policy, nameWidth, right: false) + pad(String(k), 4)
                for m in metricNames { row += pad(String(format: "%.4f", result.metrics["\(m)@\(k)"] ?? 0), 11) }
                lines.append(row)
            }
        }
        lines.append("")
        var header2 = pad("policy", nameWidth, right: false)
        let extras = report.evaluationProtocol == "full" ? ["coverage", "diversity", "novelty"] : []
        for m in extras { header2 += pad(m, 11) }
        header2 += pad("train s", 10) + pad("eval s", 10)
        lines.append(header2)
        for result in report.results {
            var row = pad(result.policy, nameWidth, right: false)
            for m in extras { row += pad(result.metrics[m].map { String(format: "%.4f", $0) } ?? "-", 11) }
            row += pad(String(format: "%.2f", result.trainSeconds), 10) + pad(String(format: "%.2f", result.evalSeconds), 10)
            lines.append(row)
        }
        let tuned = report.results.filter { $0.tuning != nil }
        if let first = tuned.first?.tuning {
            lines.append("")
            lines.append("Tuned by NDCG@10 on a validation split carved from training (\(first.validationTrain) train, \(first.validationTest) validation interactions):")
            for result in tuned {
                guard let t = result.tuning else { continue }
                lines.append("  \(result.policy): \(describe(t.chosen)) (validation NDCG@10 \(String(format: "%.4f", t.validationNDCG)), \(t.trials.count) points, \(String(format: "%.1f", t.seconds)) s)")
            }
        }
        if report.results.contains(where: { $0.metrics["rmse"] != nil }) {
            lines.append("")
            for result in report.results {
                if let rmse = result.metrics["rmse"], let mae = result.metrics["mae"] {
                    lines.append("\(result.policy): RMSE \(String(format: "%.4f", rmse)), MAE \(String(format: "%.4f", mae))")
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
