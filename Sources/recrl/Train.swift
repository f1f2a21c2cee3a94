import ArgumentParser
import Foundation
import RecRL
import RecRLReporting
#if canImport(Glibc)
    import Glibc
#endif

/// `recrl train`: trains a DRR model on a data set's training split and saves it.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a DRR, LIRD or DeepPage recommender and save a versioned model (safetensors + JSON manifest).",
        discussion: """
            Loads DIR, splits it (the model never sees the test split), pretrains embeddings (implicit ALS; PMF with --preset paper) \
            on the training split, trains the DRR actor-critic against the offline simulator, \
            evaluates it on the test split (full protocol) and writes OUT/model.safetensors and \
            OUT/manifest.json. Evaluate it later with `recrl evaluate --model OUT` on the same \
            --split, --test-fraction and --seed.
            """)

    @Option(help: ArgumentHelp("Data directory (MovieLens or interactions CSV).", valueName: "DIR")) var data: String?
    @Option(name: .customLong("in"), help: ArgumentHelp("A split folder written by `recrl split` (instead of --data and --split).", valueName: "DIR"))
    var input: String?
    @Option(
        help: ArgumentHelp(
            "Also add the model (any --policy, DeepPage included) to this model registry as a new version (see `recrl models`).", valueName: "DIR"))
    var register: String?
    @Flag(help: "Train on a synthetic world's logged data generated on the fly (no download needed).") var synthetic = false
    @OptionGroup var formatOption: FormatOption
    @Option(help: "Policy: drr-n, drr-p, drr-u, drr-ave, lird (list-wise, --list-size items per step) or deeppage (page-wise, --page-rows x --page-cols).")
    var policy: String = "drr-ave"
    @Option(name: .customLong("list-size"), help: "LIRD: items per recommended list K (default 4, the paper's).") var listSize: Int?
    @Option(name: .customLong("page-rows"), help: "DeepPage: rows of a recommended page (default 2).") var pageRows: Int?
    @Option(name: .customLong("page-cols"), help: "DeepPage: columns of a recommended page (default 2; the paper preset: 5).") var pageCols: Int?
    @Option(help: ArgumentHelp("Output model directory.", valueName: "DIR")) var out: String
    @Option(help: "Split: temporal, global-time, random or leave-last.") var split: String = "temporal"
    @OptionGroup var testFractionOption: TestFractionOption
    @OptionGroup var seedOption: SeedOption
    @Option(help: "Training episodes (default 500).") var episodes: Int?
    @Option(help: "Embedding pretraining: explicit (PMF, the paper) or implicit (iALS, the default).") var embeddings: String?
    @Option(
        name: .customLong("unrated-reward"),
        help: "Fixed reward for items the user did not rate (default 0; --set unratedReward=null uses the PMF-predicted rating, with explicit embeddings).")
    var unratedReward: Float?
    @Option(name: .customLong("embedding-regularization"), help: "ALS regularisation of the embeddings (default 50; the paper preset: 0.1).")
    var embeddingRegularization: Float?
    @Option(
        name: .customLong("supervised-weight"),
        help: "Weight of the supervised next-item objective beside DDPG's (default 100; 0: the paper's pure DDPG actor).") var supervisedWeight: Float?
    @Option(help: "Hyper-parameter preset: default (the library's) or paper (the DRR paper's choices: explicit PMF, PMF-predicted rewards, pure DDPG actor).")
    var preset: String = "default"
    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set any DRRConfiguration field by its JSON name, e.g. --set actorLearningRate=3e-4 (repeatable; applied after the other options). With --policy deeppage a DeepPageConfiguration field (e.g. supervisedWeight, stateSize) sets DeepPage's own.",
            valueName: "KEY=VALUE")) var overrides: [String] = []
    @Flag(
        help:
            "Tune without touching the test split: hold out the same fraction of the training split (same --split) as a validation set, train on the rest and report metrics on the validation set."
    ) var validation = false
    @Option(help: ArgumentHelp("Write learning curves (CSV and SVG) into this directory.", valueName: "DIR")) var curves: String?
    @Option(help: "Threads of each DDPG update: 2 runs it on two lanes, 1 on one thread (default: 2 on a machine with at least two cores).") var parallelism:
        Int?
    @OptionGroup var output: JSONFlag

    var format: String { formatOption.format }
    var testFraction: Double { testFractionOption.testFraction }
    var seed: UInt64 { seedOption.seed }
    var json: Bool { output.json }

    var variant: DRRStateRepresentation.Variant? {
        if isLIRD { return preset == "paper" ? LIRDConfiguration.paper.base.variant : LIRDConfiguration().base.variant }
        if isDeepPage { return DeepPageConfiguration().base.variant }
        return policy.hasPrefix("drr-") ? DRRStateRepresentation.Variant(rawValue: String(policy.dropFirst(4))) : nil
    }

    /// With `--register`: adds the trained model to that registry with `add` and logs its version.
    func registerIfAsked(log: (String) -> Void, _ add: (ModelRegistry) throws -> ModelRegistry.Entry) throws {
        guard let register else { return }
        let entry = try add(ModelRegistry(directory: URL(fileURLWithPath: register)))
        log("registered \(policy) as version \(entry.version) in \(register)")
    }

    var isLIRD: Bool { policy == "lird" }
    var isDeepPage: Bool { policy == DRRModelStore.deepPagePolicy }

    var strategy: SplitStrategy? { SplitStrategy(name: split, testFraction: testFraction) }

    func validate() throws {
        guard variant != nil else { throw ValidationError("unknown policy '\(policy)' (expected drr-n, drr-p, drr-u, drr-ave, lird or deeppage)") }
        for (flag, value) in [("--page-rows", pageRows), ("--page-cols", pageCols)] {
            guard let value else { continue }
            guard isDeepPage else { throw ValidationError("\(flag) applies to --policy deeppage only") }
            guard value >= 1 else { throw ValidationError("\(flag) must be positive, got \(value)") }
        }
        if let listSize {
            guard isLIRD else { throw ValidationError("--list-size applies to --policy lird only") }
            guard listSize >= 1 else { throw ValidationError("--list-size must be positive, got \(listSize)") }
        }
        let sources = (synthetic ? 1 : 0) + (data != nil ? 1 : 0) + (input != nil ? 1 : 0)
        if input == nil {
            guard sources == 1 else { throw ValidationError("give exactly one of --data DIR or --synthetic") }
        } else {
            guard sources == 1 else { throw ValidationError("give exactly one of --data DIR, --synthetic or --in DIR") }
            guard SplitFiles.isSplitDirectory(URL(fileURLWithPath: input!)) else {
                throw ValidationError("--in \(input!) is not a split folder (no \(SplitFiles.descriptionFile); write one with `recrl split`)")
            }
        }
        if let data, !FileManager.default.fileExists(atPath: data) { throw ValidationError("--data \(data) does not exist") }
        guard DatasetFormat(rawValue: format) != nil else { throw ValidationError("unknown format '\(format)'") }
        guard testFraction > 0 && testFraction < 1 else { throw ValidationError("--test-fraction must be in (0, 1), got \(testFraction)") }
        guard strategy != nil else { throw ValidationError("unknown split '\(split)' (expected \(SplitStrategy.names.joined(separator: ", ")))") }
        if let episodes, episodes < 1 { throw ValidationError("--episodes must be positive") }
        if let parallelism, parallelism < 1 { throw ValidationError("--parallelism must be at least 1, got \(parallelism)") }
        if let embeddings, DRRConfiguration.EmbeddingMethod(rawValue: embeddings) == nil { throw ValidationError("--embeddings must be explicit or implicit") }
        guard ["default", "paper"].contains(preset) else { throw ValidationError("--preset must be default or paper, got '\(preset)'") }
    }

    func run() throws {
        let progress = isatty(2) != 0 || !json
        func log(_ s: String) { if progress { writeToStandardError(s + "\n") } }
        let dataName: String
        var splitRNG = SplitMix64(seed: seed)
        var parts: RecRLData.Split
        if let input {
            parts = try SplitFiles.read(from: URL(fileURLWithPath: input))
            dataName = input
        } else {
            let loaded = synthetic ? try syntheticDataset(seed: seed) : try DatasetLoader.load(directory: data!, format: DatasetFormat(rawValue: format)!)
            if !synthetic { log(loaded.report.description) }
            dataName = synthetic ? "synthetic(seed \(seed))" : data!
            parts = DatasetTransforms.split(loaded.dataset, strategy: strategy!, using: &splitRNG)
        }
        if validation {
            parts = DatasetTransforms.split(parts.train, strategy: input == nil ? strategy! : parts.strategy, using: &splitRNG)
            log("validation mode: the test split is not read; metrics are on a validation split carved from training")
        }
        log("training \(policy) on \(dataName): \(parts.train.interactionCount) training interactions, \(parts.test.interactionCount) held out")
        if isDeepPage { return try runDeepPage(parts: parts, dataName: dataName, log: log) }
        var lird = preset == "paper" ? LIRDConfiguration.paper : LIRDConfiguration()
        if let listSize { lird.listSize = listSize }
        var configuration = isLIRD ? lird.base : preset == "paper" ? DRRConfiguration.paper : DRRConfiguration()
        configuration.variant = variant!
        if let episodes { configuration.episodes = episodes }
        if let embeddings { configuration.embeddingMethod = DRRConfiguration.EmbeddingMethod(rawValue: embeddings)! }
        if let unratedReward { configuration.unratedReward = unratedReward }
        if let embeddingRegularization { configuration.embeddingRegularization = embeddingRegularization }
        if let supervisedWeight { configuration.supervisedWeight = supervisedWeight }
        do {
            configuration = try configuration.applying(overrides: overrides)
        } catch {
            throw ValidationError("--set: \(error)")
        }
        try configuration.validate()
        let transitions = configuration.episodes * configuration.episodeLength
        if transitions < max(configuration.warmupTransitions, configuration.batchSize) {
            writeToStandardError(
                "warning: \(configuration.episodes) episodes give \(transitions) transitions, fewer than the \(configuration.warmupTransitions) collected before learning starts (warmupTransitions): the networks will not be trained. Use more --episodes or --set warmupTransitions=N.\n"
            )
        }
        lird.base = configuration
        try lird.validate()
        var drr = isLIRD ? DRRRecommender(lird: lird, seed: seed) : DRRRecommender(configuration: configuration, seed: seed)
        if let parallelism { drr.parallelism = parallelism }
        let totalEpisodes = configuration.episodes
        drr.progress = { point in
            if progress {
                writeToStandardError(
                    "episode \(point.episode)/\(totalEpisodes): reward \(String(format: "%.3f", point.meanEpisodeReward)), critic loss \(String(format: "%.4f", point.meanCriticLoss)), epsilon \(String(format: "%.2f", point.epsilon))\n"
                )
            }
        }
        let start = Date()
        try drr.fit(train: parts.train)
        let trainSeconds = Date().timeIntervalSince(start)
        var metrics = Evaluator.evaluate(drr, split: parts, config: EvaluationConfig(ks: isLIRD ? [lird.listSize, 10] : [10]))
        metrics["train_seconds"] = trainSeconds
        guard let model = drr.model else { throw ValidationError("training produced no model") }
        var manifest = DRRManifest(
            policy: policy, configuration: configuration, seed: seed, dataFingerprint: parts.train.fingerprint,
            userIDs: parts.train.userMap.rawIDs, itemIDs: parts.train.itemMap.rawIDs, rewardScale: model.rewardScale,
            metrics: metrics, itemPopularity: parts.train.itemCounts())
        manifest.metrics[validation ? "validation_interactions" : "test_interactions"] = Double(parts.test.interactionCount)
        if isLIRD { manifest.lird = lird }
        manifest.lineage = ModelLineage(data: input ?? dataName, split: parts.strategy.name, gitRevision: StageManifest.gitRevision)
        let outURL = URL(fileURLWithPath: out)
        try DRRModelStore.save(model, manifest: manifest, to: outURL)
        try registerIfAsked(log: log) { try $0.register(model, manifest: manifest) }
        if let curves {
            let dir = URL(fileURLWithPath: curves)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var csv = "episode,mean_episode_reward,mean_critic_loss,epsilon\n"
            for p in drr.curve { csv += "\(p.episode),\(p.meanEpisodeReward),\(p.meanCriticLoss),\(p.epsilon)\n" }
            try csv.write(to: dir.appendingPathComponent("\(policy)-curve.csv"), atomically: true, encoding: .utf8)
            let svg = SVGChart.lines(
                title: "\(policy) training (seed \(seed))", xLabel: "episode", yLabel: "mean episode reward",
                series: [.init(name: "reward per episode", points: drr.curve.map { (Double($0.episode), Double($0.meanEpisodeReward)) })])
            try svg.write(to: dir.appendingPathComponent("\(policy)-reward.svg"), atomically: true, encoding: .utf8)
            let lossSVG = SVGChart.lines(
                title: "\(policy) critic loss (seed \(seed))", xLabel: "episode", yLabel: "mean critic loss",
                series: [.init(name: "critic loss", points: drr.curve.map { (Double($0.episode), Double($0.meanCriticLoss)) })])
            try lossSVG.write(to: dir.appendingPathComponent("\(policy)-loss.svg"), atomically: true, encoding: .utf8)
        }
        let ndcg = metrics["ndcg@10"] ?? 0, precision = metrics["precision@10"] ?? 0
        let loopSeconds = drr.lastTraining?.loopSeconds ?? 0, episodesPerSecond = drr.lastTraining?.episodesPerSecond ?? 0
        if json {
            print(
                try JSONOutput.encode(
                    TrainOutput(
                        policy: policy, out: out, seed: seed, trainSeconds: trainSeconds, trainingLoopSeconds: loopSeconds,
                        episodesPerSecond: episodesPerSecond, parallelism: drr.parallelism, precisionAt10: precision, ndcgAt10: ndcg,
                        episodes: configuration.episodes, dataFingerprint: parts.train.fingerprint,
                        evaluatedOn: validation ? "validation" : "test")))
        } else {
            print(
                "training loop: \(configuration.episodes) episodes in \(String(format: "%.2f", loopSeconds)) s, \(String(format: "%.1f", episodesPerSecond)) episodes/s (parallelism \(drr.parallelism))"
            )
            print(
                "saved \(policy) to \(out) in \(String(format: "%.1f", trainSeconds)) s; \(validation ? "validation" : "held-out") full ranking: P@10 \(String(format: "%.4f", precision)), NDCG@10 \(String(format: "%.4f", ndcg))"
            )
        }
    }
}
