import ArgumentParser
import Foundation
import RecRL

/// A search space of `recrl tune --space FILE`: DRRConfiguration keys (their JSON names) with
/// `{"type": "double"|"int", "min": x, "max": y, "scale": "log"?}` (uniform unless `log`).
struct TuneSpace {
    struct Dimension {
        var name: String
        var isInteger: Bool
        var min: Double
        var max: Double
        var logScale: Bool

        /// A value drawn uniformly (or log-uniformly) in [min, max], as `--set` text.
        func sample(using rng: inout some RandomNumberGenerator) -> String {
            let u = Double.random(in: 0...1, using: &rng)
            let x = logScale ? Foundation.exp(Foundation.log(min) + u * (Foundation.log(max) - Foundation.log(min))) : min + u * (max - min)
            if isInteger { return String(Int(Swift.min(max, Swift.max(min, x.rounded())))) }
            return String(x)
        }
    }

    var dimensions: [Dimension]

    init(contentsOf url: URL) throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) } catch {
            throw StageError("--space \(url.path) is not readable JSON: \(error.localizedDescription)")
        }
        guard let entries = object as? [String: Any], !entries.isEmpty else {
            throw StageError("--space \(url.path) must be a non-empty object of KEY: {type, min, max, scale?}")
        }
        dimensions = try entries.keys.sorted().map { name in
            guard let spec = entries[name] as? [String: Any], let type = spec["type"] as? String, ["double", "int"].contains(type),
                let lo = (spec["min"] as? NSNumber)?.doubleValue, let hi = (spec["max"] as? NSNumber)?.doubleValue, lo <= hi
            else {
                throw StageError("--space: '\(name)' needs type (double or int), min and max with min <= max")
            }
            let log = (spec["scale"] as? String) == "log"
            if log && lo <= 0 { throw StageError("--space: '\(name)' has a log scale, so min must be positive") }
            return Dimension(name: name, isInteger: type == "int", min: lo, max: hi, logScale: log)
        }
    }
}

/// `recrl tune`: hyper-parameter search for a DRR policy on a validation split carved from a
/// split folder's training set (the test set is never read).
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tune DRR hyper-parameters: random search with successive halving on a validation split.",
        discussion: """
            Search (--space FILE): draws --trials configurations at random from the space, trains each \
            for a fraction of --budget episodes on the training split minus a validation split carved from \
            it (same strategy and fraction as the split folder's), keeps the better half by validation \
            NDCG@10 and doubles their episodes, until one configuration has had the whole budget \
            (successive halving, halving rate 2). Writes OUT/trials.jsonl (every trial), OUT/best.json, \
            OUT/best-overrides.txt (KEY=VALUE lines, for `recrl train --set`) and OUT/manifest.json.

            One trial (--trial KEY=VALUE ...): trains once with --budget episodes and prints its \
            validation metrics as name=value lines (what Katib's StdOut metrics collector reads).
            """)

    @Option(name: .customLong("in"), help: ArgumentHelp("A split folder written by `recrl split`.", valueName: "DIR")) var input: String
    @Option(help: "Policy: drr-n, drr-p, drr-u or drr-ave.") var policy: String = "drr-ave"
    @Option(help: ArgumentHelp("Search space (JSON: KEY: {type, min, max, scale?}).", valueName: "FILE")) var space: String?
    @Option(help: "Configurations drawn (with --space).") var trials: Int = 8
    @Option(help: "Trials trained at once.") var parallel: Int = 1
    @Option(help: "Training episodes of a configuration that survives every halving (and of a --trial).") var budget: Int = 200
    @Option(help: ArgumentHelp("Output folder (with --space).", valueName: "DIR")) var out: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Run one trial with these DRRConfiguration values.", valueName: "KEY=VALUE")) var trial: [String] = []
    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Fixed DRRConfiguration values applied to every trial before the searched ones (repeatable).", valueName: "KEY=VALUE")) var fixed:
        [String] = []
    @OptionGroup var seedOption: SeedOption

    var variant: DRRStateRepresentation.Variant? {
        policy.hasPrefix("drr-") ? DRRStateRepresentation.Variant(rawValue: String(policy.dropFirst(4))) : nil
    }

    func validate() throws {
        guard variant != nil else { throw ValidationError("unknown policy '\(policy)' (expected drr-n, drr-p, drr-u or drr-ave)") }
        guard SplitFiles.isSplitDirectory(URL(fileURLWithPath: input)) else {
            throw ValidationError("--in \(input) is not a split folder (no \(SplitFiles.descriptionFile); write one with `recrl split`)")
        }
        guard (space == nil) != trial.isEmpty else { throw ValidationError("give exactly one of --space FILE (a search) or --trial KEY=VALUE ... (one trial)") }
        if space != nil && out == nil { throw ValidationError("a search (--space) needs --out DIR") }
        guard trials >= 1, parallel >= 1, budget >= 1 else { throw ValidationError("--trials, --parallel and --budget must be positive") }
    }

    /// The metrics printed for Katib, in order, from the evaluator's names.
    static let reportedMetrics = [("ndcg@10", "ndcg@10"), ("hr@10", "hit@10"), ("precision@10", "precision@10")]

    func run() throws {
        let split = try SplitFiles.read(from: URL(fileURLWithPath: input))
        var rng = SplitMix64(seed: seedOption.seed)
        let validationSplit = DatasetTransforms.split(split.train, strategy: split.strategy, using: &rng)
        guard validationSplit.train.interactionCount > 0, validationSplit.test.interactionCount > 0 else {
            throw StageError("the training split is too small to carve a validation split from")
        }
        if !trial.isEmpty {
            let metrics = try score(trial, episodes: budget, on: validationSplit)
            for (printed, name) in Self.reportedMetrics { print("\(printed)=\(metrics[name] ?? 0)") }
            return
        }
        try search(space: TuneSpace(contentsOf: URL(fileURLWithPath: space!)), on: validationSplit, rng: &rng)
    }

    /// The DRR configuration of a trial: defaults, the policy, `--set`, then `values`.
    func configuration(_ values: [String], episodes: Int) throws -> DRRConfiguration {
        var configuration = DRRConfiguration()
        configuration.variant = variant!
        configuration.episodes = episodes
        do { return try configuration.applying(overrides: fixed + values) } catch { throw StageError("\(error)") }
    }

    /// Trains on the validation split's training part and returns its validation metrics.
    func score(_ values: [String], episodes: Int, on validationSplit: RecRLData.Split) throws -> [String: Double] {
        var drr = DRRRecommender(configuration: try configuration(values, episodes: episodes), seed: seedOption.seed)
        drr.parallelism = 1
        try drr.fit(train: validationSplit.train)
        return Evaluator.evaluate(drr, split: validationSplit, config: EvaluationConfig(ks: [10]))
    }

    struct TrialRecord: Codable {
        var trial: Int
        var rung: Int
        var episodes: Int
        var values: [String]
        var metrics: [String: Double]
        var error: String?
    }

    func search(space: TuneSpace, on validationSplit: RecRLData.Split, rng: inout SplitMix64) throws {
        let outURL = URL(fileURLWithPath: out!)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        var manifest = StageManifest(
            stage: "tune",
            parameters: [
                "policy": policy, "trials": "\(trials)", "parallel": "\(parallel)", "budget": "\(budget)",
                "seed": "\(seedOption.seed)", "method": "random search + successive halving (rate 2)",
            ])
        manifest.addInput(stageFolder: URL(fileURLWithPath: input))
        var candidates = (0..<trials).map { id in (id, space.dimensions.map { "\($0.name)=\($0.sample(using: &rng))" }) }
        // An unknown key or a value of the wrong type is an error of the space, not of a trial.
        _ = try configuration(candidates[0].1, episodes: 1)
        // Rungs: the episodes double while the candidates halve; the last rung has the whole budget.
        var rungs = 0
        while (trials >> rungs) > 1 { rungs += 1 }
        var records: [TrialRecord] = []
        for rung in 0...rungs {
            let episodes = max(1, budget >> (rungs - rung))
            let results = runParallel(candidates, episodes: episodes, rung: rung, on: validationSplit)
            records += results
            for r in results {
                let line = Self.reportedMetrics.map { "\($0.0)=\(r.metrics[$0.1] ?? 0)" }.joined(separator: " ")
                print("trial=\(r.trial) rung=\(rung) episodes=\(episodes) \(r.values.joined(separator: " ")) \(r.error.map { "error=\"\($0)\"" } ?? line)")
            }
            let ranked = results.filter { $0.error == nil }.sorted { ($0.metrics["ndcg@10"] ?? 0) > ($1.metrics["ndcg@10"] ?? 0) }
            guard !ranked.isEmpty else { throw StageError("every trial of rung \(rung) failed; the first error: \(results.first?.error ?? "none")") }
            candidates = ranked.prefix(max(1, (ranked.count + 1) / 2)).map { ($0.trial, $0.values) }
        }
        let finalRung = records.filter { $0.rung == rungs && $0.error == nil }
        guard let best = finalRung.max(by: { ($0.metrics["ndcg@10"] ?? 0) < ($1.metrics["ndcg@10"] ?? 0) }) else {
            throw StageError("no trial finished the last rung")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let lines = try records.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        try Data(lines.utf8).write(to: outURL.appendingPathComponent("trials.jsonl"), options: .atomic)
        encoder.outputFormatting.insert(.prettyPrinted)
        try encoder.encode(best).write(to: outURL.appendingPathComponent("best.json"), options: .atomic)
        try Data((fixed + best.values).map { $0 + "\n" }.joined().utf8).write(to: outURL.appendingPathComponent("best-overrides.txt"), options: .atomic)
        manifest.metrics = Dictionary(uniqueKeysWithValues: Self.reportedMetrics.map { ("best.\($0.0)", best.metrics[$0.1] ?? 0) })
        manifest.metrics["trainings"] = Double(records.count)
        try manifest.addOutputs(["trials.jsonl", "best.json", "best-overrides.txt"], in: outURL)
        try manifest.write(to: outURL)
        print("best: trial \(best.trial), \(best.values.joined(separator: " ")), validation ndcg@10 \(String(format: "%.4f", best.metrics["ndcg@10"] ?? 0))")
    }

    /// Trains `candidates` with at most `parallel` at once; the records keep the candidates' order.
    func runParallel(_ candidates: [(Int, [String])], episodes: Int, rung: Int, on validationSplit: RecRLData.Split) -> [TrialRecord] {
        let box = RecordBox(count: candidates.count)
        var start = 0
        while start < candidates.count {
            let chunk = Array(candidates[start..<min(candidates.count, start + parallel)])
            let offset = start
            DispatchQueue.concurrentPerform(iterations: chunk.count) { i in
                let (id, values) = chunk[i]
                var record = TrialRecord(trial: id, rung: rung, episodes: episodes, values: values, metrics: [:], error: nil)
                do { record.metrics = try score(values, episodes: episodes, on: validationSplit) } catch { record.error = "\(error)" }
                box.set(offset + i, record)
            }
            start += chunk.count
        }
        return box.records.compactMap { $0 }
    }
}

/// Trial records written from several threads.
private final class RecordBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Tune.TrialRecord?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ record: Tune.TrialRecord) { lock.withLock { storage[i] = record } }
    var records: [Tune.TrialRecord?] { lock.withLock { storage } }
}
