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
    public static func train(
        _ train: InteractionDataset, configuration: DRRConfiguration = .init(), seed: UInt64 = 0,
        curveEvery: Int = 100, parallelism: Int = defaultParallelism,
        progress: ((DRRCurvePoint) -> Void)? = nil
    ) throws -> (model: DRRModel, curve: [DRRCurvePoint]) {
        let result = try run(
            train, configuration: configuration, seed: seed, curveEvery: curveEvery,
            parallelism: parallelism, progress: progress)
        return (result.model, result.curve)
    }

    /// ``train(_:configuration:seed:curveEvery:parallelism:progress:)`` with the episode
    /// loop's wall time in the result.
    public static func run(
        _ train: InteractionDataset, configuration: DRRConfiguration = .init(), seed: UInt64 = 0,
        curveEvery: Int = 100, parallelism: Int = defaultParallelism,
        progress: ((DRRCurvePoint) -> Void)? = nil
    ) throws -> DRRTrainingResult {
        try configuration.validate()
        guard parallelism >= 1 else { throw DRRError.invalidConfiguration("parallelism must be at least 1, got \(parallelism)") }
        var rng = Xoshiro256StarStar(seed: seed)
        let setup = try prepare(train, configuration: configuration, listSize: 1, using: &rng)
        var env = try OfflineSimulator(
            userEmbeddings: setup.pmf.userFactors, itemEmbeddings: setup.pmf.itemFactors,
            histories: setup.histories, predictedRating: { u, i in setup.pmf.predict(user: u, item: i) },
            rewardScale: setup.model.rewardScale, configuration: configuration, seed: rng.next())
        var session = TrainingSession(
            model: setup.model, configuration: configuration, parallelism: parallelism,
            histories: setup.histories, seed: rng.next(), trainsItemEmbeddings: true)
        return try runLoop(
            &session, episodes: configuration.episodes, curveEvery: curveEvery, parallelism: parallelism,
            progress: progress
        ) { session, episode in session.runEpisode(&env, episode: episode) }
    }

    /// What training needs before its episode loop: the embeddings pretrained on `train`,
    /// a fresh model of `listSize` items per step around them, and the users' histories.
    static func prepare<G: RandomNumberGenerator>(
        _ train: InteractionDataset, configuration: DRRConfiguration, listSize: Int,
        using rng: inout G
    ) throws -> (pmf: MatrixFactorization, model: DRRModel, histories: UserHistories) {
        let (pmf, scale, histories) = try pretrain(train, configuration: configuration, using: &rng)
        let model = try DRRModel(
            configuration: configuration, userEmbeddings: pmf.userFactors, itemEmbeddings: pmf.itemFactors,
            rewardScale: scale, listSize: listSize, using: &rng)
        return (pmf, model, histories)
    }

    /// The embeddings of ``DRRConfiguration/embeddingMethod`` fitted on `train`, its rating
    /// scale as rewards, and the users' histories.
    static func pretrain<G: RandomNumberGenerator>(
        _ train: InteractionDataset, configuration: DRRConfiguration,
        using rng: inout G
    ) throws -> (pmf: MatrixFactorization, scale: RewardScale, histories: UserHistories) {
        guard train.interactionCount > 0 else { throw DRRError.insufficientData("the training split is empty") }
        let ratings = try SparseRatings(
            userCount: train.userCount, itemCount: train.itemCount,
            users: train.users, items: train.items, values: train.ratings)
        let factorization = MatrixFactorization.Configuration(
            factors: configuration.embeddingSize, regularization: configuration.embeddingRegularization,
            iterations: configuration.embeddingIterations, alpha: configuration.implicitAlpha)
        let pmf =
            configuration.embeddingMethod == .explicit
            ? try MatrixFactorization.fitExplicit(ratings, configuration: factorization, using: &rng)
            : try MatrixFactorization.fitImplicit(ratings, configuration: factorization, using: &rng)
        let scale = RewardScale(minimum: train.ratingScale.lowerBound, maximum: train.ratingScale.upperBound)
        return (pmf, scale, UserHistories(train))
    }

    /// The episode loop shared by DRR and LIRD: runs `episodes` episodes with OpenBLAS on one
    /// thread, records the learning curve, and returns the trained model (parallelism 1).
    static func runLoop(
        _ session: inout TrainingSession, episodes: Int, curveEvery: Int, parallelism: Int,
        progress: ((DRRCurvePoint) -> Void)?,
        episode runEpisode: (inout TrainingSession, Int) -> Float
    ) throws -> DRRTrainingResult {
        let (curve, loopSeconds) = try runEpisodes(
            &session, episodes: episodes, curveEvery: curveEvery, progress: progress,
            episode: runEpisode)
        var model = session.model
        model.learner.parallelism = 1
        return DRRTrainingResult(
            model: model, curve: curve, episodes: episodes, loopSeconds: loopSeconds,
            parallelism: parallelism)
    }

    /// The episode loop of every trainer here (DRR, LIRD, DeepPage): runs `episodes`
    /// episodes with OpenBLAS on one thread, stops on a non-finite loss, and returns the
    /// learning curve and the loop's wall time.
    static func runEpisodes<S: EpisodeLoopSession>(
        _ session: inout S, episodes: Int, curveEvery: Int,
        progress: ((DRRCurvePoint) -> Void)?,
        episode runEpisode: (inout S, Int) -> Float
    ) throws -> ([DRRCurvePoint], Double) {
        // Batch-64 GEMMs run best on one core; OpenBLAS's threads only add spinning here.
        let blasThreads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(blasThreads) }
        var curve: [DRRCurvePoint] = []
        var rewardSum: Float = 0, lossSum: Float = 0, lossCount = 0, episodesInPoint = 0
        let clock = ContinuousClock(), loopStart = clock.now
        for episode in 0..<episodes {
            rewardSum += runEpisode(&session, episode)
            episodesInPoint += 1
            if let bad = session.nonFiniteLoss {
                throw DRRError.trainingDiverged(
                    "the \(bad.kind) loss became \(bad.value) in episode \(episode + 1) of \(episodes) "
                        + "(after \(session.transitions) transitions); lower the learning rates (actor \(session.configuration.actorLearningRate), "
                        + "critic \(session.configuration.criticLearningRate)) or set maxGradientNorm")
            }
            lossSum += session.lossSum; lossCount += session.lossCount
            session.lossSum = 0; session.lossCount = 0
            if (episode + 1) % max(1, curveEvery) == 0 || episode + 1 == episodes {
                let point = DRRCurvePoint(
                    episode: episode + 1, meanEpisodeReward: rewardSum / Float(episodesInPoint),
                    meanCriticLoss: lossCount > 0 ? lossSum / Float(lossCount) : 0,
                    epsilon: session.epsilon(at: episode))
                curve.append(point)
                progress?(point)
                rewardSum = 0; lossSum = 0; lossCount = 0; episodesInPoint = 0
            }
        }
        let elapsed = (clock.now - loopStart).components
        let loopSeconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        return (curve, loopSeconds)
    }

    /// The default ``train(_:configuration:seed:curveEvery:parallelism:progress:)``
    /// parallelism: 2 on a machine with at least two cores (the two-lane DDPG update),
    /// else 1.
    public static var defaultParallelism: Int {
        ProcessInfo.processInfo.activeProcessorCount >= 2 ? 2 : 1
    }

    /// The mutable state of one training run: model, replay, learning step, exploration.
    struct TrainingSession: EpisodeLoopSession {
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

        /// A session for `model`; the supervised objective's examples come from `histories`
        /// (with ``DRRConfiguration/supervisedWeight`` > 0).
        /// `trainsItemEmbeddings`: ``DRRLearningStep/Options/trainsItemEmbeddings`` (offline
        /// DRR and LIRD training: true).
        init(
            model: DRRModel, configuration: DRRConfiguration, parallelism: Int, histories: UserHistories, seed: UInt64,
            trainsItemEmbeddings: Bool = false
        ) {
            var model = model
            model.learner.parallelism = parallelism
            self.model = model
            self.configuration = configuration
            rng = Xoshiro256StarStar(seed: seed)
            let x = model.inputSize, k = model.learner.actionSize
            if configuration.supervisedWeight > 0 {
                supervised = SupervisedNextItem(
                    histories: histories, threshold: model.rewardScale.midpoint,
                    model: model, batchSize: configuration.batchSize)
            }
            let totalSamples = max(1, configuration.episodes * configuration.episodeLength)
            replay = PrioritizedReplayBuffer(
                capacity: configuration.replayCapacity, stateSize: x, actionSize: k,
                alpha: configuration.priorityAlpha,
                beta: .linear(from: Float(configuration.priorityBetaStart), to: 1, steps: totalSamples))
            step = DRRLearningStep(model: model, options: .init(trainsStateModule: true, trainsItemEmbeddings: trainsItemEmbeddings))
            input = Tensor(zeros: [1, x])
            actionScale = model.actionScale
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

        /// Runs one LIRD episode: per step the actor's `K` weight vectors (plus Gaussian
        /// noise) select a list of distinct candidates (``ListSelection``); with probability ε
        /// a position's item is a random candidate instead; the environment's per-position
        /// rewards give the list reward ``LIRDConfiguration/listReward(_:)``; the stored
        /// action is the list's scaled embeddings (or the noisy actor output, per
        /// ``DRRConfiguration/replayAction``). Learns after every step once the replay holds
        /// `warmupTransitions`. Returns the episode's summed list rewards.
        mutating func runListEpisode<E: ListEnvironment>(_ env: inout E, episode: Int, lird: LIRDConfiguration) -> Float {
            env.reset()
            var total: Float = 0
            let eps = epsilon(at: episode), width = model.learner.actionSize
            var state = Tensor(zeros: [1, model.inputSize])
            model.writeInput(user: env.user, window: env.window, into: &state)
            while !env.isFinished {
                var action = model.action(forInput: state).reshaped([width])
                if configuration.actionNoise > 0 {
                    for j in 0..<width {
                        action[flat: j] = min(1, max(-1, action[flat: j] + configuration.actionNoise * rng.nextNormalFloat()))
                    }
                }
                let environment = env
                var list = model.list(forAction: action, excluding: { !environment.isCandidate($0) })
                exploreList(&list, epsilon: eps, itemCount: model.itemCount, isCandidate: environment.isCandidate, using: &rng)
                let reward = lird.listReward(env.recommend(list))
                total += reward
                var next = Tensor(zeros: [1, model.inputSize])
                model.writeInput(user: env.user, window: env.window, into: &next)
                let stored = configuration.replayAction == .itemEmbedding ? model.listAction(list, scale: actionScale) : action
                replay.add(
                    state: state.reshaped([model.inputSize]), action: stored, reward: reward, discount: 1,
                    nextState: next.reshaped([model.inputSize]))
                transitions += 1
                state = next
                if replay.count >= max(configuration.warmupTransitions, configuration.batchSize) { learn() }
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

/// What ``DRRTrainer/runEpisodes(_:episodes:curveEvery:progress:episode:)`` reads of a
/// training run: its settings, its losses since the last curve point and whether one was
/// not finite.
protocol EpisodeLoopSession {
    var configuration: DRRConfiguration { get }
    var lossSum: Float { get set }
    var lossCount: Int { get set }
    var transitions: Int { get }
    var nonFiniteLoss: (kind: String, value: Float)? { get }
}

extension EpisodeLoopSession {
    /// ε of episode `episode`: linear from ``DRRConfiguration/epsilonStart`` to
    /// ``DRRConfiguration/epsilonEnd`` over the first half of the episodes.
    func epsilon(at episode: Int) -> Float {
        let horizon = max(1, configuration.episodes / 2)
        let t = min(1, Float(episode) / Float(horizon))
        return configuration.epsilonStart + (configuration.epsilonEnd - configuration.epsilonStart) * t
    }
}

/// Per-position ε-greedy exploration of a list or page (LIRD, DeepPage): each position
/// that is empty (−1) or, with probability `epsilon`, any position gets a random candidate
/// not elsewhere in `list`.
func exploreList<G: RandomNumberGenerator>(
    _ list: inout [Int], epsilon: Float, itemCount: Int, isCandidate: (Int) -> Bool,
    using rng: inout G
) {
    for j in list.indices where list[j] < 0 || rng.nextUnitFloat() < epsilon {
        var pick = rng.nextInt(below: itemCount)
        while !isCandidate(pick) || list[..<j].contains(pick) || list[(j + 1)...].contains(pick) {
            pick = rng.nextInt(below: itemCount)
        }
        list[j] = pick
    }
}

/// Logged examples and the softmax cross-entropy over the catalogue that
/// ``DRRConfiguration/supervisedWeight`` turns on; ``DRRConfiguration/supervisedTarget``
/// says what an example predicts. An example is a user and the end of a window in that
/// user's positives. `.next`: the target is the positive that followed the window (for a
/// list model, ``DRRModel/listSize`` `K`, the `K` positives that followed it). `.any`:
/// each target (each of the `K` for a list model) is one of the user's positives outside
/// the window, drawn uniformly per batch, and every window end with at least one such
/// positive is an example, the end of the history included.
struct SupervisedNextItem {
    /// Per example: the user, and the end (exclusive) of the window in that user's positives.
    var users: [Int32] = []
    var ends: [Int32] = []
    /// Per user: positive training items in time order.
    let positives: [[Int32]]
    let target: DRRConfiguration.SupervisedTarget
    var inputs: Tensor
    var targets: [Int32]

    init(histories: UserHistories, threshold: Float, model: DRRModel, batchSize: Int) {
        var positives: [[Int32]] = []
        positives.reserveCapacity(histories.userCount)
        let slots = model.listSize, n = model.configuration.windowSize
        target = model.configuration.supervisedTarget
        for u in 0..<histories.userCount {
            let p = histories.positives(user: u, threshold: threshold).map { Int32($0) }
            positives.append(p)
            switch target {
            case .next:
                for t in p.indices where t + slots <= p.count {
                    users.append(Int32(u))
                    ends.append(Int32(t))
                }
            case .any:
                for t in 0...p.count where p.count - min(t, n) > 0 {
                    users.append(Int32(u))
                    ends.append(Int32(t))
                }
            }
        }
        self.positives = positives
        inputs = Tensor(zeros: [batchSize, model.inputSize])
        targets = [Int32](repeating: 0, count: batchSize * model.listSize)
    }

    /// Fills ``inputs`` (module input rows `[u | window]`) and ``targets`` with a random batch.
    mutating func sampleInputs<G: RandomNumberGenerator>(model: DRRModel, using rng: inout G) {
        let b = inputs.rows, n = model.configuration.windowSize, slots = model.listSize
        guard !users.isEmpty else { return }
        var window = StateWindow(size: n, initial: [])
        for row in 0..<b {
            let e = Int(rng.next() % UInt64(users.count))
            let u = Int(users[e]), end = Int(ends[e])
            let p = positives[u], start = max(0, end - n)
            window.reset(to: p[start..<end])
            model.writeInput(user: u, window: window, into: &inputs, row: row)
            for j in 0..<slots {
                switch target {
                case .next:
                    targets[row * slots + j] = p[end + j]
                case .any:
                    // Uniform over the positions outside [start, end).
                    let r = Int(rng.next() % UInt64(p.count - (end - start)))
                    targets[row * slots + j] = p[r < start ? r : r + (end - start)]
                }
            }
        }
    }
}

/// The next-item objective of ``DRRConfiguration/supervisedWeight``: a softmax over the
/// whole catalogue of the scores `E · a` that DRR ranks by, and its cross-entropy.
public enum NextItemSoftmax {
    /// `weight · mean_b −log softmax(E · a_b)[target_b]`, and its gradient `dL/da`
    /// (`[B, slots · k]`, written into `gradient`).
    ///
    /// - Parameters:
    ///   - actions: `[B, slots · k]` actions: each row holds `slots` vectors `a` of `k`
    ///     (LIRD's list slots; 1 for DRR), each scored and trained as its own example.
    ///   - itemEmbeddings: `E`, `[items, k]`.
    ///   - targets: one item index per vector, row after row (at least `B · slots`
    ///     entries; the first `B · slots` are used).
    ///   - weight: the loss weight λ (the mean runs over the `B · slots` vectors).
    ///   - slots: vectors per row (default 1).
    ///   - logits: scratch `[B · slots, items]`, reused across calls.
    ///   - gradient: receives `dL/da`, `[B, slots · k]`.
    public static func lossAndGradient(
        actions: Tensor, itemEmbeddings: Tensor, targets: [Int32], weight: Float, slots: Int = 1,
        logits: inout Tensor, gradient: inout Tensor
    ) -> Float {
        let m = itemEmbeddings.rows, k = itemEmbeddings.columns
        precondition(
            slots >= 1 && actions.rank == 2 && actions.columns == slots * k && targets.count >= actions.rows * slots,
            "NextItemSoftmax: actions \(actions.shape), embeddings \(itemEmbeddings.shape), \(slots) slots, \(targets.count) targets")
        // [B, slots·k] row-major is [B·slots, k]: raw GEMMs over that view, so that no
        // reshaped tensor (a new shape array) is built per call.
        let b = actions.rows * slots
        for row in 0..<b {
            precondition(targets[row] >= 0 && Int(targets[row]) < m, "NextItemSoftmax: target \(targets[row]) outside 0..<\(m)")
        }
        logits.prepare(rows: b, columns: m)
        gradient.prepare(rows: actions.rows, columns: slots * k)
        let scale = weight / Float(b)
        let loss = logits.withUnsafeMutableBufferPointer { z in
            itemEmbeddings.withUnsafeBufferPointer { e in
                actions.withUnsafeBufferPointer { a in
                    UnsafeKernels.gemm(
                        transposeA: false, transposeB: true, m: b, n: m, k: k,
                        a: a.baseAddress!, lda: k, b: e.baseAddress!, ldb: k, c: z.baseAddress!, ldc: m)
                }
                let loss = targets.withUnsafeBufferPointer { t in
                    UnsafeKernels.softmaxCrossEntropy(z.baseAddress!, rows: b, columns: m, ld: m, targets: t.baseAddress!, scale: scale)
                }
                // dL/da = dL/dz · E, [B·slots, m] · [m, k].
                gradient.withUnsafeMutableBufferPointer { g in
                    UnsafeKernels.gemm(
                        transposeA: false, transposeB: false, m: b, n: k, k: m,
                        a: z.baseAddress!, lda: m, b: e.baseAddress!, ldb: k, c: g.baseAddress!, ldc: k)
                }
                return loss
            }
        }
        return weight * loss / Float(b)
    }

    /// The same loss's gradient with respect to the item embeddings, `dL/dE = (dL/dz)ᵀ · A`
    /// (`[items, k]`, written into `gradient`), where `logitGradient` is the `logits` buffer
    /// of the ``lossAndGradient(actions:itemEmbeddings:targets:weight:slots:logits:gradient:)``
    /// call just made on `actions` (that call leaves `dL/dz`, `[B · slots, items]`, in it).
    /// Allocation-free once `gradient` has the table's shape.
    public static func embeddingGradient(actions: Tensor, logitGradient: Tensor, slots: Int = 1, into gradient: inout Tensor) {
        let b = actions.rows * slots, m = logitGradient.columns
        precondition(
            slots >= 1 && actions.rank == 2 && actions.columns % slots == 0 && logitGradient.rows == b,
            "NextItemSoftmax.embeddingGradient: actions \(actions.shape), \(slots) slots, logit gradient \(logitGradient.shape)")
        let k = actions.columns / slots
        gradient.prepare(rows: m, columns: k)
        gradient.withUnsafeMutableBufferPointer { g in
            logitGradient.withUnsafeBufferPointer { z in
                actions.withUnsafeBufferPointer { a in
                    // [items, k] = [B·slots, items]ᵀ · [B·slots, k].
                    UnsafeKernels.gemm(
                        transposeA: true, transposeB: false, m: m, n: k, k: b,
                        a: z.baseAddress!, lda: m, b: a.baseAddress!, ldb: k, c: g.baseAddress!, ldc: k)
                }
            }
        }
    }
}
