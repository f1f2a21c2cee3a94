import Foundation
import RecRLTensor
import RecRLNN
import RecRLData
import RecRLEmbeddings
import RecRLAgents

/// One point of a DRR learning curve.
public struct DRRCurvePoint: Sendable, Codable, Equatable {
    /// Episodes completed.
    public var episode: Int
    /// Mean cumulative reward of the episodes since the previous point.
    public var meanEpisodeReward: Float
    /// Mean critic loss of the updates since the previous point (0 before learning starts).
    public var meanCriticLoss: Float
    /// ε at this point.
    public var epsilon: Float
}

/// What ``DRRTrainer/run(_:configuration:seed:curveEvery:parallelism:progress:)`` produced.
public struct DRRTrainingResult: Sendable {
    /// The trained model.
    public var model: DRRModel
    /// The learning curve.
    public var curve: [DRRCurvePoint]
    /// Episodes run.
    public var episodes: Int
    /// Wall-clock seconds of the episode loop (acting, simulating and learning; without
    /// the embedding pretraining before it).
    public var loopSeconds: Double
    /// The DDPG update's parallelism used.
    public var parallelism: Int

    /// `episodes / loopSeconds` (0 for an empty run).
    public var episodesPerSecond: Double { loopSeconds > 0 ? Double(episodes) / loopSeconds : 0 }
}

/// Trains DRR offline (Liu et al. 2018, Algorithm 1) against the ``OfflineSimulator``.
public enum DRRTrainer {
    /// Fits PMF embeddings on `train` (ALS, explicit ratings), then trains the
    /// actor-critic and the state module jointly with prioritized replay.
    ///
    /// Only `train` is read: the embeddings, the simulator's rewards and the reward
    /// model all come from it.
    /// - Parameters:
    ///   - train: the training split.
    ///   - configuration: hyper-parameters (validated).
    ///   - seed: seeds everything (embeddings, networks, exploration, replay, user order).
    ///   - curveEvery: episodes per learning-curve point.
    ///   - parallelism: threads of each DDPG update (``DDPGLearner/parallelism``): 2 runs it
    ///     on the two-lane path, 1 on the calling thread alone. Default
    ///     ``defaultParallelism``. The results agree to float rounding; OpenBLAS runs
    ///     single-threaded either way. The returned model's learner has parallelism 1 (a
    ///     served model acts on one thread; set it again to train it further on two).
    ///   - progress: called with each curve point.
    public static func train(_ train: InteractionDataset, configuration: DRRConfiguration = .init(), seed: UInt64 = 0,
                             curveEvery: Int = 100, parallelism: Int = defaultParallelism,
                             progress: ((DRRCurvePoint) -> Void)? = nil) throws -> (model: DRRModel, curve: [DRRCurvePoint]) {
        let result = try run(train, configuration: configuration, seed: seed, curveEvery: curveEvery,
                             parallelism: parallelism, progress: progress)
        return (result.model, result.curve)
    }

    /// ``train(_:configuration:seed:curveEvery:parallelism:progress:)`` with the episode
    /// loop's wall time in the result.
    public static func run(_ train: InteractionDataset, configuration: DRRConfiguration = .init(), seed: UInt64 = 0,
                           curveEvery: Int = 100, parallelism: Int = defaultParallelism,
                           progress: ((DRRCurvePoint) -> Void)? = nil) throws -> DRRTrainingResult {
        try configuration.validate()
        guard parallelism >= 1 else { throw DRRError.invalidConfiguration("parallelism must be at least 1, got \(parallelism)") }
        guard train.interactionCount > 0 else { throw DRRError.insufficientData("the training split is empty") }
        var rng = Xoshiro256StarStar(seed: seed)
        let ratings = try SparseRatings(userCount: train.userCount, itemCount: train.itemCount,
                                        users: train.users, items: train.items, values: train.ratings)
        let factorization = MatrixFactorization.Configuration(
            factors: configuration.embeddingSize, regularization: configuration.embeddingRegularization,
            iterations: configuration.embeddingIterations, alpha: configuration.implicitAlpha)
        let pmf = configuration.embeddingMethod == .explicit
            ? try MatrixFactorization.fitExplicit(ratings, configuration: factorization, using: &rng)
            : try MatrixFactorization.fitImplicit(ratings, configuration: factorization, using: &rng)
        let scale = RewardScale(minimum: train.ratingScale.lowerBound, maximum: train.ratingScale.upperBound)
        var model = try DRRModel(configuration: configuration, userEmbeddings: pmf.userFactors, itemEmbeddings: pmf.itemFactors,
                                 rewardScale: scale, using: &rng)
        let histories = UserHistories(train)
        var env = try OfflineSimulator(userEmbeddings: pmf.userFactors, itemEmbeddings: pmf.itemFactors, histories: histories,
                                       predictedRating: { u, i in pmf.predict(user: u, item: i) }, rewardScale: scale,
                                       configuration: configuration, seed: rng.next())
        model.learner.parallelism = parallelism
        var session = TrainingSession(model: model, configuration: configuration, seed: rng.next())
        if configuration.supervisedWeight > 0 {
            session.supervised = SupervisedNextItem(histories: histories, threshold: scale.midpoint,
                                                    model: model, batchSize: configuration.batchSize)
        }
        // Batch-64 GEMMs run best on one core; OpenBLAS's threads only add spinning here.
        let blasThreads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(blasThreads) }
        var curve: [DRRCurvePoint] = []
        var rewardSum: Float = 0, lossSum: Float = 0, lossCount = 0, episodesInPoint = 0
        let clock = ContinuousClock(), loopStart = clock.now
        for episode in 0..<configuration.episodes {
            rewardSum += session.runEpisode(&env, episode: episode)
            episodesInPoint += 1
            if let bad = session.nonFiniteLoss {
                throw DRRError.trainingDiverged(
                    "the \(bad.kind) loss became \(bad.value) in episode \(episode + 1) of \(configuration.episodes) "
                    + "(after \(session.transitions) transitions); lower the learning rates (actor \(configuration.actorLearningRate), "
                    + "critic \(configuration.criticLearningRate)) or set maxGradientNorm")
            }
            lossSum += session.lossSum; lossCount += session.lossCount
            session.lossSum = 0; session.lossCount = 0
            if (episode + 1) % max(1, curveEvery) == 0 || episode + 1 == configuration.episodes {
                let point = DRRCurvePoint(episode: episode + 1, meanEpisodeReward: rewardSum / Float(episodesInPoint),
                                          meanCriticLoss: lossCount > 0 ? lossSum / Float(lossCount) : 0,
                                          epsilon: session.epsilon(at: episode))
                curve.append(point)
                progress?(point)
                rewardSum = 0; lossSum = 0; lossCount = 0; episodesInPoint = 0
            }
        }
        let elapsed = (clock.now - loopStart).components
        let loopSeconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        model = session.model
        model.learner.parallelism = 1
        return DRRTrainingResult(model: model, curve: curve, episodes: configuration.episodes, loopSeconds: loopSeconds,
                                 parallelism: parallelism)
    }

    /// The default ``train(_:configuration:seed:curveEvery:parallelism:progress:)``
    /// parallelism: 2 on a machine with at least two cores (the two-lane DDPG update),
    /// else 1.
    public static var defaultParallelism: Int {
        ProcessInfo.processInfo.activeProcessorCount >= 2 ? 2 : 1
    }

    /// The mutable state of one training run: model, replay, learning step, exploration.
    struct TrainingSession {
        var model: DRRModel
        let configuration: DRRConfiguration
        var rng: Xoshiro256StarStar
        var replay: PrioritizedReplayBuffer
        var step: DRRLearningStep
        var input: Tensor
        var lossSum: Float = 0
        var lossCount = 0
        var transitions = 0
        let actionScale: Float
        /// The supervised next-item objective (with ``DRRConfiguration/supervisedWeight`` > 0).
        var supervised: SupervisedNextItem?
        var supervisedLossSum: Float = 0
        /// The first non-finite loss seen (which loss, and its value); training stops after the episode.
        var nonFiniteLoss: (kind: String, value: Float)?

        init(model: DRRModel, configuration: DRRConfiguration, seed: UInt64) {
            self.model = model
            self.configuration = configuration
            rng = Xoshiro256StarStar(seed: seed)
            let x = model.inputSize, k = configuration.embeddingSize
            let totalSamples = max(1, configuration.episodes * configuration.episodeLength)
            replay = PrioritizedReplayBuffer(capacity: configuration.replayCapacity, stateSize: x, actionSize: k,
                                             alpha: configuration.priorityAlpha,
                                             beta: .linear(from: Float(configuration.priorityBetaStart), to: 1, steps: totalSamples))
            step = DRRLearningStep(model: model, options: .init(trainsStateModule: true))
            input = Tensor(zeros: [1, x])
            actionScale = model.actionScale
        }
        func epsilon(at episode: Int) -> Float {
            let horizon = max(1, configuration.episodes / 2)
            let t = min(1, Float(episode) / Float(horizon))
            return configuration.epsilonStart + (configuration.epsilonEnd - configuration.epsilonStart) * t
        }

        /// Runs one episode with ε-greedy over the ranking plus Gaussian action noise,
        /// learning after every step once the replay holds `warmupTransitions`.
        mutating func runEpisode(_ env: inout OfflineSimulator, episode: Int) -> Float {
            var step = env.reset()
            var total: Float = 0
            let eps = epsilon(at: episode), k = configuration.embeddingSize
            while !step.isLast {
                let observation = step.observation
                input.withUnsafeMutableBufferPointer { dst in
                    observation.withUnsafeBufferPointer { src in dst.baseAddress!.update(from: src.baseAddress!, count: src.count) }
                }
                var action = model.action(forInput: input).reshaped([k])
                if configuration.actionNoise > 0 {
                    for j in 0..<k {
                        action[flat: j] = min(1, max(-1, action[flat: j] + configuration.actionNoise * rng.nextNormalFloat()))
                    }
                }
                let item: Int
                if rng.nextUnitFloat() < eps {
                    var pick = rng.nextInt(below: model.itemCount)
                    while !env.isCandidate(pick) { pick = rng.nextInt(below: model.itemCount) }
                    item = pick
                } else {
                    item = env.bestCandidate(for: action)
                }
                step = env.recommend(item)
                total += step.reward
                let stored = configuration.replayAction == .itemEmbedding ? model.itemAction(item, scale: actionScale) : action
                replay.add(state: observation, action: stored, reward: step.reward, discount: step.discount, nextState: step.observation)
                transitions += 1
                if replay.count >= max(configuration.warmupTransitions, configuration.batchSize) && nonFiniteLoss == nil { learn() }
            }
            return total
        }

        /// One ``DRRLearningStep`` (DDPG update through the state module), then, with the
        /// supervised objective, one supervised step on a batch of logged examples.
        mutating func learn() {
            let stats = step.learn(model: &model, replay: &replay, using: &rng)
            guard stats.criticLoss.isFinite else { nonFiniteLoss = ("critic", stats.criticLoss); return }
            if let actorLoss = stats.actorLoss, !actorLoss.isFinite { nonFiniteLoss = ("actor", actorLoss); return }
            lossSum += stats.criticLoss
            lossCount += 1
            if supervised != nil {
                supervised!.sampleInputs(model: model, using: &rng)
                let loss = step.supervisedStep(model: &model, inputs: supervised!.inputs, targets: supervised!.targets)
                guard loss.isFinite else { nonFiniteLoss = ("supervised next-item", loss); return }
                supervisedLossSum += loss
            }
        }
    }
}

/// Logged next-item examples and the softmax cross-entropy over the catalogue that
/// ``DRRConfiguration/supervisedWeight`` turns on.
struct SupervisedNextItem {
    /// Per example: the user, and the end (exclusive) of the window in that user's positives.
    var users: [Int32] = []
    var ends: [Int32] = []
    /// Per user: positive training items in time order.
    let positives: [[Int32]]
    var inputs: Tensor
    var targets: [Int32]

    init(histories: UserHistories, threshold: Float, model: DRRModel, batchSize: Int) {
        var positives: [[Int32]] = []
        positives.reserveCapacity(histories.userCount)
        for u in 0..<histories.userCount {
            let p = histories.positives(user: u, threshold: threshold).map { Int32($0) }
            positives.append(p)
            for t in p.indices {
                users.append(Int32(u))
                ends.append(Int32(t))
            }
        }
        self.positives = positives
        inputs = Tensor(zeros: [batchSize, model.inputSize])
        targets = [Int32](repeating: 0, count: batchSize)
    }

    /// Fills ``inputs`` (module input rows `[u | window]`) and ``targets`` with a random batch.
    mutating func sampleInputs<G: RandomNumberGenerator>(model: DRRModel, using rng: inout G) {
        let b = inputs.rows, n = model.configuration.windowSize
        guard !users.isEmpty else { return }
        var window = StateWindow(size: n, initial: [])
        for row in 0..<b {
            let e = Int(rng.next() % UInt64(users.count))
            let u = Int(users[e]), end = Int(ends[e])
            let p = positives[u]
            window.reset(to: p[max(0, end - n)..<end])
            model.writeInput(user: u, window: window, into: &inputs, row: row)
            targets[row] = p[end]
        }
    }
}


/// The next-item objective of ``DRRConfiguration/supervisedWeight``: a softmax over the
/// whole catalogue of the scores `E · a` that DRR ranks by, and its cross-entropy.
public enum NextItemSoftmax {
    /// `weight · mean_b −log softmax(E · a_b)[target_b]`, and its gradient `dL/da`
    /// (`[B, k]`, written into `gradient`).
    ///
    /// - Parameters:
    ///   - actions: `[B, k]` actions.
    ///   - itemEmbeddings: `E`, `[items, k]`.
    ///   - targets: one item index per row (at least `B` entries; the first `B` are used).
    ///   - weight: the loss weight λ.
    ///   - logits: scratch `[B, items]`, reused across calls.
    ///   - gradient: receives `dL/da`.
    public static func lossAndGradient(actions: Tensor, itemEmbeddings: Tensor, targets: [Int32], weight: Float,
                                       logits: inout Tensor, gradient: inout Tensor) -> Float {
        let b = actions.rows, k = actions.columns, m = itemEmbeddings.rows
        precondition(itemEmbeddings.columns == k && targets.count >= b,
                     "NextItemSoftmax: actions \(actions.shape), embeddings \(itemEmbeddings.shape), \(targets.count) targets")
        matmul(actions, itemEmbeddings, transposeB: true, into: &logits)
        var loss: Float = 0
        let scale = weight / Float(b)
        logits.withUnsafeMutableBufferPointer { z in
            for row in 0..<b {
                let r = z.baseAddress! + row * m
                let target = Int(targets[row])
                precondition(target >= 0 && target < m, "NextItemSoftmax: target \(target) outside 0..<\(m)")
                var top = -Float.infinity
                for j in 0..<m { top = Swift.max(top, r[j]) }
                var sum: Float = 0
                for j in 0..<m { let v = expf(r[j] - top); r[j] = v; sum += v }
                loss -= logf(Swift.max(r[target] / sum, .leastNormalMagnitude))
                let inv = scale / sum
                for j in 0..<m { r[j] *= inv }
                r[target] -= scale
            }
        }
        // dL/da = dL/dz · E, [B, m] · [m, k].
        gradient.prepare(rows: b, columns: k)
        matmul(logits, itemEmbeddings, into: &gradient)
        return weight * loss / Float(b)
    }
}
