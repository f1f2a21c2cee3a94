import ArgumentParser
import Foundation
import RecRL
#if canImport(Glibc)
import Glibc
#endif

/// `recrl train`: trains a DRR model on a data set's training split and saves it.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a DRR recommender and save a versioned model (safetensors + JSON manifest).",
        discussion: """
            Loads DIR, splits it (the model never sees the test split), pretrains PMF embeddings \
            on the training split, trains the DRR actor-critic against the offline simulator, \
            evaluates it on the test split (full protocol) and writes OUT/model.safetensors and \
            OUT/manifest.json. Evaluate it later with `recrl evaluate --model OUT` on the same \
            --split, --test-fraction and --seed.
            """)

    @Option(help: ArgumentHelp("Data directory (MovieLens or interactions CSV).", valueName: "DIR")) var data: String?
    @Flag(help: "Train on a synthetic world's logged data generated on the fly (no download needed).") var synthetic = false
    @Option(help: "Data format: auto, ml-100k, ml-1m, ml-latest or csv.") var format: String = "auto"
    @Option(help: "Policy: drr-n, drr-p, drr-u or drr-ave.") var policy: String = "drr-ave"
    @Option(help: ArgumentHelp("Output model directory.", valueName: "DIR")) var out: String
    @Option(help: "Split: temporal, random or leave-last.") var split: String = "temporal"
    @Option(name: .customLong("test-fraction"), help: "Held-out fraction, in (0, 1).") var testFraction: Double = 0.2
    @Option(help: "Seed for the split, embeddings, networks and exploration.") var seed: UInt64 = 0
    @Option(help: "Training episodes (default 3000).") var episodes: Int?
    @Option(help: "Embedding pretraining: explicit (PMF, the paper) or implicit (iALS).") var embeddings: String = "explicit"
    @Option(name: .customLong("unrated-reward"), help: "Fixed reward for items the user did not rate (default: the PMF-predicted rating).") var unratedReward: Float?
    @Option(name: .customLong("embedding-regularization"), help: "ALS regularisation of the embeddings (default 0.1).") var embeddingRegularization: Float?
    @Option(help: ArgumentHelp("Write learning curves (CSV and SVG) into this directory.", valueName: "DIR")) var curves: String?
    @Flag(help: "Print one JSON summary object on stdout.") var json = false

    var variant: DRRStateRepresentation.Variant? {
        policy.hasPrefix("drr-") ? DRRStateRepresentation.Variant(rawValue: String(policy.dropFirst(4))) : nil
    }

    var strategy: SplitStrategy? {
        switch split {
        case "temporal": return .temporal(testFraction: testFraction)
        case "random": return .random(testFraction: testFraction)
        case "leave-last": return .leaveLastOut(n: 1)
        default: return nil
        }
    }

    func validate() throws {
        guard variant != nil else { throw ValidationError("unknown policy '\(policy)' (expected drr-n, drr-p, drr-u or drr-ave)") }
        guard synthetic != (data != nil) else { throw ValidationError("give exactly one of --data DIR or --synthetic") }
        if let data, !FileManager.default.fileExists(atPath: data) { throw ValidationError("--data \(data) does not exist") }
        guard DatasetFormat(rawValue: format) != nil else { throw ValidationError("unknown format '\(format)'") }
        guard testFraction > 0 && testFraction < 1 else { throw ValidationError("--test-fraction must be in (0, 1), got \(testFraction)") }
        guard strategy != nil else { throw ValidationError("unknown split '\(split)' (expected temporal, random or leave-last)") }
        if let episodes, episodes < 1 { throw ValidationError("--episodes must be positive") }
        guard DRRConfiguration.EmbeddingMethod(rawValue: embeddings) != nil else { throw ValidationError("--embeddings must be explicit or implicit") }
    }

    func run() throws {
        let progress = isatty(2) != 0 || !json
        func log(_ s: String) { if progress { writeToStandardError(s + "\n") } }
        let dataset: InteractionDataset
        let dataName: String
        if synthetic {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-synthetic-\(seed)-\(getpid())")
            defer { try? FileManager.default.removeItem(at: dir) }
            var world = SyntheticWorld(seed: seed)
            var rng = Xoshiro256StarStar(seed: seed &+ 1)
            let log = world.generateLog(using: &rng)
            try log.write(toDirectory: dir)
            dataset = try DatasetLoader.load(directory: dir.path, format: .csv).dataset
            dataName = "synthetic(seed \(seed))"
        } else {
            let loaded = try DatasetLoader.load(directory: data!, format: DatasetFormat(rawValue: format)!)
            log(loaded.report.description)
            dataset = loaded.dataset
            dataName = data!
        }
        var splitRNG = SplitMix64(seed: seed)
        let parts = DatasetTransforms.split(dataset, strategy: strategy!, using: &splitRNG)
        log("training \(policy) on \(dataName): \(parts.train.interactionCount) training interactions, \(parts.test.interactionCount) held out")
        var configuration = DRRConfiguration()
        configuration.variant = variant!
        if let episodes { configuration.episodes = episodes }
        configuration.embeddingMethod = DRRConfiguration.EmbeddingMethod(rawValue: embeddings)!
        configuration.unratedReward = unratedReward
        if let embeddingRegularization { configuration.embeddingRegularization = embeddingRegularization }
        try configuration.validate()
        var drr = DRRRecommender(configuration: configuration, seed: seed)
        let totalEpisodes = configuration.episodes
        drr.progress = { point in
            if progress {
                writeToStandardError("episode \(point.episode)/\(totalEpisodes): reward \(String(format: "%.3f", point.meanEpisodeReward)), critic loss \(String(format: "%.4f", point.meanCriticLoss)), epsilon \(String(format: "%.2f", point.epsilon))\n")
            }
        }
        let start = Date()
        try drr.fit(train: parts.train)
        let trainSeconds = Date().timeIntervalSince(start)
        var metrics = Evaluator.evaluate(drr, split: parts, config: EvaluationConfig(ks: [10]))
        metrics["train_seconds"] = trainSeconds
        guard let model = drr.model else { throw ValidationError("training produced no model") }
        var manifest = DRRManifest(policy: policy, configuration: configuration, seed: seed, dataFingerprint: parts.train.fingerprint,
                                   userIDs: dataset.userMap.rawIDs, itemIDs: dataset.itemMap.rawIDs, rewardScale: model.rewardScale,
                                   metrics: metrics)
        manifest.metrics["test_interactions"] = Double(parts.test.interactionCount)
        let outURL = URL(fileURLWithPath: out)
        try DRRModelStore.save(model, manifest: manifest, to: outURL)
        if let curves {
            let dir = URL(fileURLWithPath: curves)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var csv = "episode,mean_episode_reward,mean_critic_loss,epsilon\n"
            for p in drr.curve { csv += "\(p.episode),\(p.meanEpisodeReward),\(p.meanCriticLoss),\(p.epsilon)\n" }
            try csv.write(to: dir.appendingPathComponent("\(policy)-curve.csv"), atomically: true, encoding: .utf8)
            let svg = SVGChart.lines(title: "\(policy) training (seed \(seed))", xLabel: "episode", yLabel: "mean episode reward",
                                     series: [.init(name: "reward per episode", points: drr.curve.map { (Double($0.episode), Double($0.meanEpisodeReward)) })])
            try svg.write(to: dir.appendingPathComponent("\(policy)-reward.svg"), atomically: true, encoding: .utf8)
            let lossSVG = SVGChart.lines(title: "\(policy) critic loss (seed \(seed))", xLabel: "episode", yLabel: "mean critic loss",
                                         series: [.init(name: "critic loss", points: drr.curve.map { (Double($0.episode), Double($0.meanCriticLoss)) })])
            try lossSVG.write(to: dir.appendingPathComponent("\(policy)-loss.svg"), atomically: true, encoding: .utf8)
        }
        let ndcg = metrics["ndcg@10"] ?? 0, precision = metrics["precision@10"] ?? 0
        if json {
            print(try JSONOutput.object([("policy", policy), ("out", out), ("seed", seed), ("train_seconds", trainSeconds),
                                         ("precision@10", precision), ("ndcg@10", ndcg), ("episodes", configuration.episodes),
                                         ("data_fingerprint", parts.train.fingerprint)]))
        } else {
            print("saved \(policy) to \(out) in \(String(format: "%.1f", trainSeconds)) s; held-out full ranking: P@10 \(String(format: "%.4f", precision)), NDCG@10 \(String(format: "%.4f", ndcg))")
        }
    }
}
