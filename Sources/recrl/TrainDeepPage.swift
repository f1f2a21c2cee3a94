import ArgumentParser
import Foundation
import RecRL
import RecRLReporting
#if canImport(Glibc)
    import Glibc
#endif

extension Train {
    /// `recrl train --policy deeppage`: DeepPage's configuration from the preset and the
    /// flags (the DRR flags apply to its `base`; `--set` to its own fields by name, else to
    /// `base`: ``DeepPageConfiguration/applying(overrides:)``), training, the held-out full
    /// ranking at `K = rows · cols` and 10, and the model saved through ``DRRModelStore``.
    func runDeepPage(parts: RecRLData.Split, dataName: String, log: (String) -> Void) throws {
        var deepPage = preset == "paper" ? DeepPageConfiguration.paper : DeepPageConfiguration()
        if let pageRows { deepPage.rows = pageRows }
        if let pageCols { deepPage.columns = pageCols }
        var configuration = deepPage.base
        if let episodes { configuration.episodes = episodes }
        if let embeddings { configuration.embeddingMethod = DRRConfiguration.EmbeddingMethod(rawValue: embeddings)! }
        if let unratedReward { configuration.unratedReward = unratedReward }
        if let embeddingRegularization { configuration.embeddingRegularization = embeddingRegularization }
        deepPage.base = configuration
        do {
            // DeepPage's own fields (e.g. supervisedWeight, stateSize) by name, the rest on base.
            deepPage = try deepPage.applying(overrides: overrides)
        } catch {
            throw ValidationError("--set: \(error)")
        }
        configuration = deepPage.base
        try deepPage.validate()
        var recommender = DeepPageRecommender(configuration: deepPage, seed: seed)
        let progress = isatty(2) != 0 || !json
        let totalEpisodes = configuration.episodes
        recommender.progress = { point in
            if progress {
                writeToStandardError(
                    "episode \(point.episode)/\(totalEpisodes): page reward \(String(format: "%.3f", point.meanEpisodeReward)), critic loss \(String(format: "%.4f", point.meanCriticLoss)), epsilon \(String(format: "%.2f", point.epsilon))\n"
                )
            }
        }
        let start = Date()
        try recommender.fit(train: parts.train)
        let trainSeconds = Date().timeIntervalSince(start)
        var metrics = Evaluator.evaluate(recommender, split: parts, config: EvaluationConfig(ks: [deepPage.pageSize, 10]))
        metrics["train_seconds"] = trainSeconds
        guard let model = recommender.model, let training = recommender.lastTraining else { throw ValidationError("training produced no model") }
        var manifest = DRRManifest(
            policy: policy, configuration: configuration, seed: seed, dataFingerprint: parts.train.fingerprint,
            userIDs: parts.train.userMap.rawIDs, itemIDs: parts.train.itemMap.rawIDs, rewardScale: model.rewardScale,
            metrics: metrics, itemPopularity: parts.train.itemCounts())
        manifest.metrics[validation ? "validation_interactions" : "test_interactions"] = Double(parts.test.interactionCount)
        // DeepPage has no user embedding: a known user's first served page reads their history.
        manifest.userHistories = DRRManifest.browsingHistories(
            of: parts.train, threshold: model.rewardScale.midpoint, length: deepPage.base.windowSize)
        manifest.lineage = ModelLineage(data: input ?? dataName, split: parts.strategy.name, gitRevision: StageManifest.gitRevision)
        try DRRModelStore.save(model, manifest: manifest, to: URL(fileURLWithPath: out))
        try registerIfAsked(log: log) { try $0.register(model, manifest: manifest) }
        if let curves {
            let dir = URL(fileURLWithPath: curves)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var csv = "episode,mean_episode_reward,mean_critic_loss,epsilon\n"
            for p in training.curve { csv += "\(p.episode),\(p.meanEpisodeReward),\(p.meanCriticLoss),\(p.epsilon)\n" }
            try csv.write(to: dir.appendingPathComponent("\(policy)-curve.csv"), atomically: true, encoding: .utf8)
        }
        let ndcg = metrics["ndcg@10"] ?? 0, precision = metrics["precision@10"] ?? 0
        let episodesPerSecond = training.loopSeconds > 0 ? Double(training.episodes) / training.loopSeconds : 0
        if json {
            print(
                try JSONOutput.encode(
                    TrainOutput(
                        policy: policy, out: out, seed: seed, trainSeconds: trainSeconds, trainingLoopSeconds: training.loopSeconds,
                        episodesPerSecond: episodesPerSecond, parallelism: 1, precisionAt10: precision, ndcgAt10: ndcg,
                        episodes: configuration.episodes, dataFingerprint: parts.train.fingerprint,
                        evaluatedOn: validation ? "validation" : "test")))
        } else {
            let k = deepPage.pageSize
            print(
                "training loop: \(configuration.episodes) episodes in \(String(format: "%.2f", training.loopSeconds)) s, \(String(format: "%.1f", episodesPerSecond)) episodes/s"
            )
            print(
                "saved \(policy) (\(deepPage.rows)x\(deepPage.columns) pages) to \(out) in \(String(format: "%.1f", trainSeconds)) s; \(validation ? "validation" : "held-out") full ranking: P@\(k) \(String(format: "%.4f", metrics["precision@\(k)"] ?? 0)), NDCG@\(k) \(String(format: "%.4f", metrics["ndcg@\(k)"] ?? 0)), P@10 \(String(format: "%.4f", precision)), NDCG@10 \(String(format: "%.4f", ndcg))"
            )
        }
    }
}
