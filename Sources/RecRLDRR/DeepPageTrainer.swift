import Foundation
import RecRLTensor
import RecRLAgents
import RecRLData

/// What ``DeepPageTrainer/run(_:configuration:seed:curveEvery:progress:)`` returns.
public struct DeepPageTrainingResult: Sendable {
    /// The trained model.
    public var model: DeepPageModel
    /// The learning curve (rewards are summed page rewards per episode).
    public var curve: [DRRCurvePoint]
    /// Episodes run.
    public var episodes: Int
    /// Wall time of the episode loop, in seconds.
    public var loopSeconds: Double
}

/// Trains DeepPage (Zhao et al., page-wise recommendations; ``DeepPageConfiguration``)
/// offline, the way ``LIRDTrainer`` trains LIRD: embeddings pretrained on the training
/// split, then DDPG with prioritized replay against LIRD's environments with a page read
/// row by row as a list of `h · w` (``DeepPageConfiguration/listConfiguration``), and,
/// with ``DeepPageConfiguration/supervisedWeight`` > 0, a supervised next-page step on
/// logged examples of the training split after every DDPG update.
public enum DeepPageTrainer {
    /// Trains a DeepPage model on `train`.
    /// - Parameters:
    ///   - configuration: hyper-parameters (validated).
    ///   - seed: seeds everything (embeddings, networks, exploration, replay, user order).
    ///   - curveEvery: episodes per learning-curve point.
    ///   - progress: called with each curve point.
    public static func run(
        _ train: InteractionDataset, configuration: DeepPageConfiguration = .init(), seed: UInt64 = 0,
        curveEvery: Int = 100, progress: ((DRRCurvePoint) -> Void)? = nil
    ) throws -> DeepPageTrainingResult {
        try configuration.validate()
        let base = configuration.base, pages = configuration.listConfiguration
        var rng = Xoshiro256StarStar(seed: seed)
        let (pmf, scale, histories) = try DRRTrainer.pretrain(train, configuration: base, using: &rng)
        let model = try DeepPageModel(configuration: configuration, itemEmbeddings: pmf.itemFactors, rewardScale: scale, using: &rng)
        var session = DeepPageSession(model: model, seed: rng.next())
        if configuration.supervisedWeight > 0 {
            session.supervised = SupervisedNextPage(histories: histories, threshold: scale.midpoint, model: model)
        }
        let envSeed = rng.next()
        switch configuration.simulator {
        case .logged:
            var itemSteps = base
            itemSteps.episodeLength = base.episodeLength * configuration.pageSize
            let simulator = try OfflineSimulator(
                userEmbeddings: pmf.userFactors, itemEmbeddings: pmf.itemFactors,
                histories: histories, predictedRating: { u, i in pmf.predict(user: u, item: i) },
                rewardScale: scale, configuration: itemSteps, seed: envSeed)
            var env = LoggedListSimulator(simulator)
            return try run(&session, episodes: base.episodes, curveEvery: curveEvery, progress: progress) { $0.runEpisode(&env, episode: $1) }
        case .memory:
            var env = try MemoryListSimulator(
                itemEmbeddings: pmf.itemFactors, histories: histories, rewardScale: scale,
                configuration: pages, seed: envSeed)
            return try run(&session, episodes: base.episodes, curveEvery: curveEvery, progress: progress) { $0.runEpisode(&env, episode: $1) }
        }
    }

    /// Trains `model` against `environment` (any ``ListEnvironment`` answering pages of
    /// ``DeepPageConfiguration/pageSize`` read row by row), e.g. a test's small world, by
    /// DDPG alone (there is no log for the supervised objective here).
    public static func train<E: ListEnvironment>(
        _ model: DeepPageModel, in environment: inout E, episodes: Int, seed: UInt64 = 0,
        curveEvery: Int = 10,
        progress: ((DRRCurvePoint) -> Void)? = nil
    ) throws -> DeepPageTrainingResult {
        var session = DeepPageSession(model: model, seed: seed)
        return try run(&session, episodes: episodes, curveEvery: curveEvery, progress: progress) {
            $0.runEpisode(&environment, episode: $1)
        }
    }

    static func run(
        _ session: inout DeepPageSession, episodes: Int, curveEvery: Int, progress: ((DRRCurvePoint) -> Void)?,
        episode: (inout DeepPageSession, Int) -> Float
    ) throws -> DeepPageTrainingResult {
        let (curve, seconds) = try DRRTrainer.runEpisodes(
            &session, episodes: episodes, curveEvery: curveEvery,
            progress: progress, episode: episode)
        return DeepPageTrainingResult(model: session.model, curve: curve, episodes: episodes, loopSeconds: seconds)
    }
}

/// One DeepPage training run: model, prioritized replay, exploration.
struct DeepPageSession: EpisodeLoopSession {
    var model: DeepPageModel
    var configuration: DRRConfiguration { model.configuration.base }
    var rng: Xoshiro256StarStar
    var replay: PrioritizedReplayBuffer
    var batch: TransitionBatch
    var lossSum: Float = 0
    var lossCount = 0
    var transitions = 0
    var nonFiniteLoss: (kind: String, value: Float)?
    let actionScale: Float
    /// The supervised next-page objective (with ``DeepPageConfiguration/supervisedWeight`` > 0
    /// and a log to draw examples from).
    var supervised: SupervisedNextPage?

    init(model: DeepPageModel, seed: UInt64) {
        self.model = model
        let c = model.configuration.base
        rng = Xoshiro256StarStar(seed: seed)
        let totalSamples = max(1, c.episodes * c.episodeLength)
        replay = PrioritizedReplayBuffer(
            capacity: c.replayCapacity, stateSize: model.observationSize, actionSize: model.actionSize,
            alpha: c.priorityAlpha,
            beta: .linear(from: Float(c.priorityBetaStart), to: 1, steps: totalSamples))
        batch = TransitionBatch(batchSize: c.batchSize, stateSize: model.observationSize, actionSize: model.actionSize)
        actionScale = model.actionScale
    }

    /// One episode: per step the actor's page (plus Gaussian noise) mapped to distinct
    /// candidates, per-position ε-greedy (``exploreList(_:epsilon:itemCount:isCandidate:using:)``),
    /// the page reward ``DeepPageConfiguration/pageReward(_:)``, the shown page with its
    /// feedback appended to the state; the stored action is the page's scaled embeddings.
    /// Learns after every step once the replay holds `warmupTransitions`. Returns the
    /// episode's summed page rewards.
    mutating func runEpisode<E: ListEnvironment>(_ env: inout E, episode: Int) -> Float {
        env.reset()
        let c = configuration, eps = epsilon(at: episode), width = model.actionSize
        var shown: [ShownPage] = []
        var state = Tensor(zeros: [1, model.observationSize]), next = state
        model.writeObservation(window: env.window, pages: shown, into: &state)
        var total: Float = 0
        while !env.isFinished {
            var action = model.action(forObservation: state)
            if c.actionNoise > 0 {
                for j in 0..<width { action[flat: j] = min(1, max(-1, action[flat: j] + c.actionNoise * rng.nextNormalFloat())) }
            }
            let environment = env
            var page = model.page(forAction: action, excluding: { !environment.isCandidate($0) })
            exploreList(&page, epsilon: eps, itemCount: model.itemCount, isCandidate: environment.isCandidate, using: &rng)
            var rewards = env.recommend(page)
            // An environment that ends mid-page answers fewer positions; the rest earn nothing.
            rewards += [Float](repeating: 0, count: page.count - rewards.count)
            let reward = model.configuration.pageReward(rewards)
            total += reward
            shown.append(ShownPage(items: page, rewards: rewards))
            if shown.count > model.configuration.recentPages { shown.removeFirst() }
            model.writeObservation(window: env.window, pages: shown, into: &next)
            let stored = c.replayAction == .itemEmbedding ? model.pageAction(page, scale: actionScale) : action
            replay.add(
                state: state.reshaped([model.observationSize]), action: stored, reward: reward,
                discount: 1, nextState: next.reshaped([model.observationSize]))
            transitions += 1
            swap(&state, &next)
            if replay.count >= max(c.warmupTransitions, c.batchSize) && nonFiniteLoss == nil { learn() }
        }
        return total
    }

    /// One DDPG update on a prioritized batch; its TD errors become the new priorities.
    /// Then, with the supervised objective, one supervised step on a batch of logged examples.
    mutating func learn() {
        replay.sample(into: &batch, using: &rng)
        let stats = model.learner.update(batch)
        guard stats.criticLoss.isFinite else { nonFiniteLoss = ("critic", stats.criticLoss); return }
        if let actorLoss = stats.actorLoss, !actorLoss.isFinite { nonFiniteLoss = ("actor", actorLoss); return }
        if model.learner.tdErrors.isFinite { replay.updatePriorities(indices: batch.indices, tdErrors: model.learner.tdErrors) }
        lossSum += stats.criticLoss
        lossCount += 1
        if supervised != nil, supervised!.hasExamples {
            supervised!.sample(model: model, using: &rng)
            let loss = supervised!.step(model: &model)
            guard loss.isFinite else { nonFiniteLoss = ("supervised next-page", loss); return }
        }
    }
}

/// The logged examples of DeepPage's supervised next-page objective
/// (``DeepPageConfiguration/supervisedWeight``) and its buffers. An example is a user and
/// the end of a window in that user's positive training items, with at least `h · w`
/// positives after it: the observation is that window as the browsing history with no page
/// shown (``DeepPageModel/writeObservation(history:into:row:)``, the state
/// ``DeepPageRecommender`` ranks from), the targets the `h · w` positives that followed,
/// row-major. Sampling and stepping reuse every buffer.
struct SupervisedNextPage {
    /// Per example: the user, and the end (exclusive) of the window in that user's positives.
    var users: [Int32] = []
    var ends: [Int32] = []
    /// Per user: positive training items in time order.
    let positives: [[Int32]]
    var observations: Tensor
    var targets: [Int32]
    var logits = Tensor(zeros: [0])
    /// The item table's gradient and Adam state: the step trains the table at
    /// ``DRRConfiguration/itemEmbeddingLearningRate`` (no step when it is 0).
    var itemStep: ItemEmbeddingStep? = ItemEmbeddingStep()

    init(histories: UserHistories, threshold: Float, model: DeepPageModel) {
        let slots = model.configuration.pageSize, b = model.configuration.base.batchSize
        var positives: [[Int32]] = []
        positives.reserveCapacity(histories.userCount)
        for u in 0..<histories.userCount {
            let p = histories.positives(user: u, threshold: threshold).map { Int32($0) }
            positives.append(p)
            for t in p.indices where t + slots <= p.count {
                users.append(Int32(u))
                ends.append(Int32(t))
            }
        }
        self.positives = positives
        observations = Tensor(zeros: [b, model.observationSize])
        targets = [Int32](repeating: 0, count: b * slots)
    }

    /// Whether the log holds an example (a user with at least `h · w` positives).
    var hasExamples: Bool { !users.isEmpty }

    /// Fills ``observations`` and ``targets`` with a batch of examples drawn uniformly.
    mutating func sample<G: RandomNumberGenerator>(model: DeepPageModel, using rng: inout G) {
        let slots = model.configuration.pageSize, n = model.configuration.base.windowSize
        guard !users.isEmpty else { return }
        for row in 0..<observations.rows {
            let e = Int(rng.next() % UInt64(users.count))
            let u = Int(users[e]), end = Int(ends[e])
            // An array slice shares the array's storage: no copy.
            model.writeObservation(history: positives[u][max(0, end - n)..<end], into: &observations, row: row)
            for j in 0..<slots { targets[row * slots + j] = positives[u][end + j] }
        }
    }

    /// One ``DeepPageModel/supervisedStep(observations:targets:logits:itemStep:)`` on the
    /// sampled batch (training the item table at its configured rate).
    mutating func step(model: inout DeepPageModel) -> Float {
        model.supervisedStep(observations: observations, targets: targets, logits: &logits, itemStep: &itemStep)
    }
}
