import Foundation
import RecRLTensor
import RecRLData

/// Trains LIRD (Zhao et al., list-wise recommendations; ``LIRDConfiguration``) offline.
///
/// The same pipeline as ``DRRTrainer``, with a list per step: embeddings pretrained on the
/// training split, a ``DRRModel`` of ``LIRDConfiguration/listSize`` `K` (an actor of `K`
/// weight vectors and a critic of the state and the list's `K` embeddings), and the DDPG
/// update of ``DRRLearningStep`` with prioritized replay, against the environment of
/// ``LIRDConfiguration/simulator`` built from the training split only.
public enum LIRDTrainer {
    /// Trains a LIRD model on `train`.
    /// - Parameters:
    ///   - configuration: hyper-parameters (validated).
    ///   - seed: seeds everything (embeddings, networks, exploration, replay, user order).
    ///   - curveEvery: episodes per learning-curve point (rewards are summed list rewards).
    ///   - parallelism: threads of each DDPG update, as in ``DRRTrainer``.
    ///   - progress: called with each curve point.
    public static func run(
        _ train: InteractionDataset, configuration: LIRDConfiguration = .init(), seed: UInt64 = 0,
        curveEvery: Int = 100, parallelism: Int = DRRTrainer.defaultParallelism,
        progress: ((DRRCurvePoint) -> Void)? = nil
    ) throws -> DRRTrainingResult {
        try configuration.validate()
        guard parallelism >= 1 else { throw DRRError.invalidConfiguration("parallelism must be at least 1, got \(parallelism)") }
        let base = configuration.base
        var rng = Xoshiro256StarStar(seed: seed)
        let setup = try DRRTrainer.prepare(train, configuration: base, listSize: configuration.listSize, using: &rng)
        var session = DRRTrainer.TrainingSession(
            model: setup.model, configuration: base, parallelism: parallelism,
            histories: setup.histories, seed: rng.next(), trainsItemEmbeddings: true)
        let envSeed = rng.next()
        switch configuration.simulator {
        case .logged:
            var itemSteps = base
            itemSteps.episodeLength = base.episodeLength * configuration.listSize
            let simulator = try OfflineSimulator(
                userEmbeddings: setup.pmf.userFactors, itemEmbeddings: setup.pmf.itemFactors,
                histories: setup.histories,
                predictedRating: { u, i in setup.pmf.predict(user: u, item: i) },
                rewardScale: setup.model.rewardScale, configuration: itemSteps, seed: envSeed)
            var env = LoggedListSimulator(simulator)
            return try DRRTrainer.runLoop(
                &session, episodes: base.episodes, curveEvery: curveEvery, parallelism: parallelism,
                progress: progress
            ) { session, episode in
                session.runListEpisode(&env, episode: episode, lird: configuration)
            }
        case .memory:
            var env = try MemoryListSimulator(
                itemEmbeddings: setup.pmf.itemFactors, histories: setup.histories,
                rewardScale: setup.model.rewardScale, configuration: configuration, seed: envSeed)
            return try DRRTrainer.runLoop(
                &session, episodes: base.episodes, curveEvery: curveEvery, parallelism: parallelism,
                progress: progress
            ) { session, episode in
                session.runListEpisode(&env, episode: episode, lird: configuration)
            }
        }
    }
}
