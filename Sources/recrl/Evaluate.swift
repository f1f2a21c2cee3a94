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
    static let knownPolicies = [
        "random", "popularity", "itemknn", "als", "ials", "bpr", "ease", "gru4rec", "drr-n", "drr-p", "drr-u", "drr-ave", "lird", "deeppage",
    ]

    @Option(name: .long, help: ArgumentHelp("Data directory (or a .csv file for --format csv).", valueName: "DIR"))
    var data: String?

    @Option(name: .customLong("in"), help: ArgumentHelp("A split folder written by `recrl split` (instead of --data and --split).", valueName: "DIR"))
    var input: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A release gate, e.g. 'ndcg@10 >= 1.0 * itemknn' or 'ndcg@10 > 0.05': the candidate (the --model's policy, else the first of --policies) against a baseline evaluated in the same run or a constant. Exit status 3 when it fails.",
            valueName: "EXPR"))
    var gate: String?

    @OptionGroup var formatOption: FormatOption

    @Option(
        name: .long,
        help: "Split: temporal (each user's latest fraction), random (global fraction) or leave-last (each user's last interaction; ignores --test-fraction).")
    var split: String = "random"

    @OptionGroup var testFractionOption: TestFractionOption

    @Option(name: .customLong("protocol"), help: "Protocol: full (rank all unseen items) or drr (rank the user's test items).")
    var evaluationProtocol: String = "full"

    @Option(name: .long, help: "Comma-separated policies: random, popularity, itemknn, als, ials, bpr, ease, gru4rec, drr-n, drr-p, drr-u, drr-ave.")
    var policies: String = "random,popularity,itemknn,bpr,als,ials"

    @Option(name: .customLong("k"), help: "Comma-separated cut-offs K.")
    var ks: String = "5,10"

    @Option(
        name: .customLong("relevance-threshold"),
        help: "A test rating ≥ this is relevant (also 4 on half-star scales; 1 makes every test interaction relevant on 1–5 scales).")
    var relevanceThreshold: Double = 4

    @OptionGroup var seedOption: SeedOption

    @OptionGroup var output: JSONFlag

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A DRR model saved by `recrl train` to evaluate instead of training one (its policy must be listed in --policies).", valueName: "DIR"))
    var model: String?

    @Flag(
        name: .long,
        help:
            "Tune without touching the test split: evaluate on a validation split carved from the training split (same --split and --test-fraction), fitting on the rest."
    )
    var validation = false

    @Flag(
        name: .long,
        help:
            "Tune each baseline's hyper-parameters on its documented grid (BaselineTuning) by NDCG@10 on a validation split carved from the training split (same --split and --test-fraction), refit the best on all of training, and evaluate it once on test. DRR variants search DRRTuning's grid (the supervised objective's target, and whether it trains the item-embedding table) the same way."
    )
    var tune = false

    @Option(name: .long, help: "DRR training episodes (default: the DRR configuration's 500).")
    var episodes: Int?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set a DRRConfiguration field for the DRR and LIRD policies by its JSON name (repeatable), e.g. --set windowSize=10; with --tune it is fixed and the DRR grid is searched around it. DeepPage takes DeepPageConfiguration's own fields (e.g. supervisedWeight, stateSize) and the DRR fields of its base.",
            valueName: "KEY=VALUE"))
    var overrides: [String] = []

    @Option(
        name: .customLong("list-size"),
        help: "LIRD: items per recommended list K (default 4); its ranking starts with the list, so metrics at K are the list's (add K to --k).")
    var listSize: Int?
    @Option(
        name: .customLong("page-rows"),
        help:
            "DeepPage: rows of a page (default 2); its ranking starts with the page read row by row, so metrics at rows x cols are the page's (add it to --k).")
    var pageRows: Int?
    @Option(name: .customLong("page-cols"), help: "DeepPage: columns of a page (default 2).")
    var pageCols: Int?

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
    var strategy: SplitStrategy? { SplitStrategy(name: split, testFraction: testFraction) }

    func validate() throws {
        guard (data == nil) != (input == nil) else { throw EvaluateError("give exactly one of --data DIR or --in DIR") }
        if let data {
            guard FileManager.default.fileExists(atPath: data) else { throw EvaluateError("data directory not found: \(data)") }
        }
        if let input, !SplitFiles.isSplitDirectory(URL(fileURLWithPath: input)) {
            throw EvaluateError("--in \(input) is not a split folder (no \(SplitFiles.descriptionFile); write one with `recrl split`)")
        }
        guard parsedFormat != nil else {
            throw EvaluateError("unknown format '\(format)' (expected one of: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard strategy != nil else {
            throw EvaluateError("unknown split '\(split)' (expected \(SplitStrategy.names.joined(separator: ", ")))")
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
        if let listSize, listSize < 1 { throw EvaluateError("--list-size must be positive, got \(listSize)") }
        if let pageRows, pageRows < 1 { throw EvaluateError("--page-rows must be positive, got \(pageRows)") }
        if let pageCols, pageCols < 1 { throw EvaluateError("--page-cols must be positive, got \(pageCols)") }
        if let model, !FileManager.default.fileExists(atPath: model) { throw EvaluateError("--model \(model) does not exist") }
        if names.contains(where: { $0 == "lird" || $0.hasPrefix("drr-") }) {
            do { _ = try baseConfiguration(.ave) } catch { throw EvaluateError("--set: \(error)") }
        }
        if names.contains(DRRModelStore.deepPagePolicy) {
            do { _ = try deepPageConfiguration() } catch { throw EvaluateError("--set: \(error)") }
        }
        guard !names.isEmpty, !names.contains("") else {
            throw EvaluateError("--policies must be a comma-separated list without empty entries (got '\(policies)')")
        }
        for name in names where !Self.knownPolicies.contains(name) {
            throw EvaluateError("unknown policy '\(name)' (expected one of: \(Self.knownPolicies.joined(separator: ", ")))")
        }
        if let gate {
            let parsed: ReleaseGate
            do { parsed = try ReleaseGate(parsing: gate) } catch { throw EvaluateError("\(error)") }
            if case let .policy(baseline) = parsed.reference, !names.contains(baseline) {
                throw EvaluateError("the gate compares with '\(baseline)', which is not in --policies (\(policies))")
            }
        }
    }

    func makeRecommender(_ name: String) throws -> (any Recommender)? {
        if name == DRRModelStore.deepPagePolicy {
            if let model {
                return DeepPageRecommender(model: try DRRModelStore.loadDeepPage(from: URL(fileURLWithPath: model)).model, seed: seed)
            }
            let deepPage = try deepPageConfiguration()
            var recommender = DeepPageRecommender(configuration: deepPage, seed: seed)
            if isatty(2) != 0 {
                recommender.progress = { point in
                    FileHandle.standardError.write(
                        Data(
                            "  \(name) episode \(point.episode): page reward \(String(format: "%.3f", point.meanEpisodeReward)), critic loss \(String(format: "%.4f", point.meanCriticLoss))\n"
                                .utf8))
                }
            }
            return recommender
        }
        let isLIRD = name == "lird"
        if isLIRD || name.hasPrefix("drr-"),
            let variant = isLIRD ? LIRDConfiguration().base.variant : DRRStateRepresentation.Variant(rawValue: String(name.dropFirst(4)))
        {
            if let model {
                let loaded = try DRRModelStore.load(from: URL(fileURLWithPath: model))
                guard loaded.manifest.policy == name else {
                    throw EvaluateError("--model \(model) holds a \(loaded.manifest.policy) model, not \(name)")
                }
                return DRRRecommender(pretrained: loaded.model, manifest: loaded.manifest)
            }
            let configuration = try baseConfiguration(variant)
            var lird = LIRDConfiguration(base: configuration)
            if let listSize { lird.listSize = listSize }
            var drr = isLIRD ? DRRRecommender(lird: lird, seed: seed) : DRRRecommender(configuration: configuration, seed: seed)
            if isatty(2) != 0 {
                drr.progress = { point in
                    FileHandle.standardError.write(
                        Data(
                            "  \(name) episode \(point.episode): reward \(String(format: "%.3f", point.meanEpisodeReward)), critic loss \(String(format: "%.4f", point.meanCriticLoss))\n"
                                .utf8))
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
        case "gru4rec": return GRU4RecRecommender(seed: seed)
        default: return nil
        }
    }

    /// DeepPage's configuration with --episodes, --page-rows/--page-cols and --set applied
    /// (``DeepPageConfiguration/applying(overrides:)``).
    func deepPageConfiguration() throws -> DeepPageConfiguration {
        var deepPage = DeepPageConfiguration()
        if let episodes { deepPage.base.episodes = episodes }
        if let pageRows { deepPage.rows = pageRows }
        if let pageCols { deepPage.columns = pageCols }
        return try deepPage.applying(overrides: overrides)
    }

    /// The DRR configuration of `variant` with --episodes and --set applied.
    func baseConfiguration(_ variant: DRRStateRepresentation.Variant) throws -> DRRConfiguration {
        var configuration = DRRConfiguration()
        configuration.variant = variant
        if let episodes { configuration.episodes = episodes }
        return try configuration.applying(overrides: overrides)
    }

    /// The tuning grid of `name` (``BaselineTuning`` for the baselines, ``DRRTuning`` for the
    /// DRR variants around their --episodes/--set configuration), nil when it has none or a
    /// saved --model is evaluated.
    func tuningGrid(_ name: String) throws -> [TuningCandidate]? {
        if let grid = BaselineTuning.grid(for: name, seed: seed) { return grid }
        guard model == nil, name.hasPrefix("drr-"), let variant = DRRStateRepresentation.Variant(rawValue: String(name.dropFirst(4))) else {
            return nil
        }
        return DRRTuning.grid(around: try baseConfiguration(variant), seed: seed)
    }

    func run() throws {
        guard let format = parsedFormat, let strategy, let evalProtocol = parsedProtocol, let ks = parsedKs else {
            throw EvaluateError("invalid options")  // unreachable after validate()
        }
        let progress = isatty(2) != 0
        func log(_ message: String) {
            if progress { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        }
        var split: RecRLData.Split
        var rng = SplitMix64(seed: seed)
        let validationReport: ValidationReport
        let formatName: String
        if let input {
            log("reading the split in \(input)…")
            split = try SplitFiles.read(from: URL(fileURLWithPath: input))
            validationReport = ValidationReport(file: SplitFiles.interactionsFile)
            formatName = "split"
        } else {
            log("loading \(data!)…")
            let loaded = try DatasetLoader.load(directory: data!, format: format)
            log(
                "loaded \(loaded.format.rawValue): \(loaded.dataset.userCount) users, \(loaded.dataset.itemCount) items, \(loaded.dataset.interactionCount) interactions"
            )
            split = DatasetTransforms.split(loaded.dataset, strategy: strategy, using: &rng)
            validationReport = loaded.report
            formatName = loaded.format.rawValue
        }
        let interactionCount = split.train.interactionCount + split.test.interactionCount
        let splitName = input == nil ? strategy.name : split.strategy.name
        if validation {
            split = DatasetTransforms.split(split.train, strategy: input == nil ? strategy : split.strategy, using: &rng)
            log("validation mode: evaluating on a validation split carved from the training split (the test split is not read)")
        }
        if let model {
            // A model scored on another split than the one it was trained on would find items it
            // trained on among the held-out ones (`recrl train` splits temporally by default,
            // `recrl evaluate` randomly): refuse instead of reporting inflated metrics.
            let manifest = try Self.manifest(ofModel: model)
            guard manifest.dataFingerprint == split.train.fingerprint else {
                throw EvaluateError(
                    "--model \(model) was trained on another training split than this run's (\(splitName)\(validation ? ", validation" : ""), seed \(seed)): its held-out items would include items it trained on. Evaluate it on its own split: the --data, --split (recrl train's default is temporal; the model's manifest says \(manifest.lineage?.split ?? "nothing")), --test-fraction, --seed and --validation it was trained with, or --in its split folder."
                )
            }
        }
        let config = EvaluationConfig(ks: ks, relevanceThreshold: Float(relevanceThreshold), evaluationProtocol: evalProtocol)
        // Every tuned policy sees the same validation split, carved from split.train only.
        let tuningRNG = rng
        var results: [PolicyResult] = []
        for name in parsedPolicies {
            if tune, let grid = try tuningGrid(name) {
                log("tuning \(name) on a validation split of the training split (\(grid.count) grid points)…")
                var validationRNG = tuningRNG
                let (best, outcome) = try BaselineTuning.tune(
                    grid, train: split.train, strategy: strategy, config: config,
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
            dataset: .init(
                users: split.train.userCount, items: split.train.itemCount, interactions: interactionCount,
                train: split.train.interactionCount, test: split.test.interactionCount), split: validation ? "\(splitName)-validation" : splitName,
            evaluationProtocol: evalProtocol.rawValue, seed: seed, relevanceThreshold: relevanceThreshold,
            validation: validationReport, results: results)
        if json {
            print(try report.jsonString())
        } else {
            print(Self.table(report, ks: ks, formatName: formatName))
        }
        if let gate {
            let candidate = try model.map { try Self.manifest(ofModel: $0).policy } ?? parsedPolicies[0]
            let outcome = try ReleaseGate(parsing: gate).check(candidate: candidate, results: results)
            // stdout holds exactly the JSON object with --json: the verdict goes to stderr there.
            if json { writeToStandardError(outcome.summary + "\n") } else { print(outcome.summary) }
            if !outcome.passed { throw ExitCode(ReleaseGate.failedExitCode) }
        }
    }

    /// The manifest of the model folder `path` (DRR, LIRD or DeepPage), read without its weights.
    static func manifest(ofModel path: String) throws -> DRRManifest {
        let url = DRRModelStore.currentVersionDirectory(of: URL(fileURLWithPath: path)).appendingPathComponent(DRRModelStore.manifestFile)
        do {
            return try JSONDecoder().decode(DRRManifest.self, from: Data(contentsOf: url))
        } catch {
            throw EvaluateError("--model \(path): cannot read its manifest (\(error))")
        }
    }

    /// `name value, name value` in name order, integers without a fraction.
    static func describe(_ parameters: [String: Double]) -> String {
        parameters.sorted { $0.key < $1.key }.map { key, value in
            "\(key) \(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value))"
        }.joined(separator: ", ")
    }

    /// Renders the human-readable report.
    static func table(_ report: EvaluationReport, ks: [Int], formatName: String) -> String {
        let d = report.dataset
        var lines: [String] = []
        lines.append("Dataset \(formatName): \(d.users) users, \(d.items) items, \(d.interactions) interactions (train \(d.train), test \(d.test))")
        let v = report.validation
        lines.append("Validation: \(v.rowsRead) rows read, \(v.rowsKept) kept, \(v.droppedTotal) dropped, \(v.duplicatesResolved) duplicates resolved")
        for example in v.examples { lines.append("  e.g. \(example)") }
        let t = report.relevanceThreshold
        let threshold = t == t.rounded() && abs(t) < 1e15 ? String(Int64(t)) : String(t)
        let users = report.results.first.map { Int($0.metrics["users_evaluated"] ?? 0) } ?? 0
        lines.append(
            "Split \(report.split), protocol \(report.evaluationProtocol), seed \(report.seed), relevant: rating ≥ \(threshold), users evaluated: \(users)")
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
            lines.append(
                "Tuned by NDCG@10 on a validation split carved from training (\(first.validationTrain) train, \(first.validationTest) validation interactions):"
            )
            for result in tuned {
                guard let t = result.tuning else { continue }
                lines.append(
                    "  \(result.policy): \(describe(t.chosen)) (validation NDCG@10 \(String(format: "%.4f", t.validationNDCG)), \(t.trials.count) points, \(String(format: "%.1f", t.seconds)) s)"
                )
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
