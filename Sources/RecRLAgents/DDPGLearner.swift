import RecRLTensor
import RecRLNN

/// Hyper-parameters of ``DDPGLearner``: DDPG (Lillicrap et al. 2015) with the TD3
/// switches of Fujimoto et al. (2018).
///
/// The defaults are WORKLOAD.md's canonical DRR update (Liu et al. 2018 use DDPG):
/// γ 0.9, τ 0.001, Adam with lr 1e-4 (actor) / 1e-3 (critic), no TD3 switches.
/// ``td3`` turns on the three TD3 switches with Fujimoto et al.'s values.
public struct DDPGConfiguration: Sendable, Equatable, Hashable {
    /// γ, the discount of the TD target `y = r + γ · discount · Q'(s', μ'(s'))`.
    /// Default 0.9 (WORKLOAD.md, the DRR setting); Lillicrap et al. use 0.99.
    public var gamma: Float
    /// τ of the soft target update `θ' ← τ θ + (1 − τ) θ'`. Default 0.001 (Lillicrap et al. 2015).
    public var tau: Float
    /// Adam step size of the actor. Default 1e-4 (Lillicrap et al. 2015).
    public var actorLearningRate: Float
    /// Adam step size of the critic(s). Default 1e-3 (Lillicrap et al. 2015).
    public var criticLearningRate: Float
    /// Adam β1, default 0.9 (Kingma & Ba 2015).
    public var adamBeta1: Float
    /// Adam β2, default 0.999 (Kingma & Ba 2015).
    public var adamBeta2: Float
    /// Adam ε, default 1e-8 (Kingma & Ba 2015).
    public var adamEpsilon: Float
    /// TD3 clipped double-Q: two critics, target `min(Q'1, Q'2)`. Default false (TD3: true).
    public var twinCritics: Bool
    /// TD3 target policy smoothing: the std of the Gaussian noise added to `μ'(s')`,
    /// relative to the actor's action half-range. Default 0 = off (TD3: 0.2).
    public var targetPolicyNoise: Float
    /// TD3 clip of that noise, relative to the action half-range. Default 0.5 (TD3: 0.5).
    public var targetNoiseClip: Float
    /// TD3 delayed policy updates: the actor and the targets are updated on critic
    /// updates number `policyDelay`, `2·policyDelay`, …. Default 1 (TD3: 2).
    public var policyDelay: Int
    /// If set, each network's gradient is rescaled to this global L2 norm at most
    /// (Pascanu et al. 2013). Default nil (off; neither paper clips).
    public var maxGradientNorm: Float?
    /// Whether updates also compute `dL/ds` of the critic loss and of the actor loss
    /// (``DDPGLearner/criticStateGradient``, ``DDPGLearner/actorStateGradient``), for a
    /// state-representation module trained jointly (DRR). Default false (the
    /// benchmark path skips the first layers' input gradients).
    public var computesStateGradients: Bool

    /// A configuration; every parameter defaults to the value documented on its property.
    public init(gamma: Float = 0.9, tau: Float = 0.001, actorLearningRate: Float = 1e-4, criticLearningRate: Float = 1e-3,
                adamBeta1: Float = 0.9, adamBeta2: Float = 0.999, adamEpsilon: Float = 1e-8,
                twinCritics: Bool = false, targetPolicyNoise: Float = 0, targetNoiseClip: Float = 0.5, policyDelay: Int = 1,
                maxGradientNorm: Float? = nil, computesStateGradients: Bool = false) {
        self.gamma = gamma
        self.tau = tau
        self.actorLearningRate = actorLearningRate
        self.criticLearningRate = criticLearningRate
        self.adamBeta1 = adamBeta1
        self.adamBeta2 = adamBeta2
        self.adamEpsilon = adamEpsilon
        self.twinCritics = twinCritics
        self.targetPolicyNoise = targetPolicyNoise
        self.targetNoiseClip = targetNoiseClip
        self.policyDelay = policyDelay
        self.maxGradientNorm = maxGradientNorm
        self.computesStateGradients = computesStateGradients
    }

    /// DDPG as in WORKLOAD.md (all defaults).
    public static var ddpg: DDPGConfiguration { DDPGConfiguration() }

    /// TD3 (Fujimoto et al. 2018): twin critics, target noise 0.2 clipped at 0.5, policy
    /// delay 2; the other values keep the defaults (change them on the result).
    public static var td3: DDPGConfiguration {
        DDPGConfiguration(twinCritics: true, targetPolicyNoise: 0.2, targetNoiseClip: 0.5, policyDelay: 2)
    }

    func validate() {
        precondition(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1], got \(gamma)")
        precondition(tau >= 0 && tau <= 1, "tau must be in [0, 1], got \(tau)")
        precondition(actorLearningRate > 0 && criticLearningRate > 0, "learning rates must be positive")
        precondition(policyDelay >= 1, "policyDelay must be at least 1, got \(policyDelay)")
        precondition(targetPolicyNoise >= 0 && targetNoiseClip >= 0, "target noise and clip must be non-negative")
        if let m = maxGradientNorm { precondition(m > 0, "maxGradientNorm must be positive, got \(m)") }
    }
}

/// An in-place map of a batch of actions, e.g. onto the nearest executable action
/// (see ``DDPGLearner/targetActionProjection``).
public protocol ActionProjection: Sendable {
    /// Replaces each row of `actions` (`[B, A]`) by its image; keeps the shape.
    mutating func project(_ actions: inout Tensor)
}

/// What one ``DDPGLearner/update(_:)`` did.
public struct DDPGUpdateStatistics: Sendable, Equatable {
    /// The (importance-weighted) critic loss `mean(w (Q(s, a) − y)²)`, summed over twin critics.
    public var criticLoss: Float
    /// The actor loss `−mean Q(s, μ(s))` when the actor was updated, else nil (TD3 delay).
    public var actorLoss: Float?
}

/// The DDPG learner (Lillicrap et al. 2015) with TD3's switches (Fujimoto et al. 2018),
/// exactly WORKLOAD.md's update on a batch `(s, a, r, s', discount)`:
///
/// 1. `a' = μ'(s')` (TD3: `+ clip(N(0, σ), −c, c)`, clipped to the action range);
///    `y = r + γ · discount · Q'(s', a')` (TD3: `min(Q'1, Q'2)`), no gradient.
/// 2. Critic loss `mean(w · (Q(s, a) − y)²)` (`w` = the batch's importance weights);
///    backprop; Adam on Q (each twin on its own loss).
/// 3. Every `policyDelay`-th update (updates `d, 2d, …`, as in Fujimoto et al.'s code):
///    actor loss `−mean Q(s, μ(s))` through the critic
///    (Q1 for TD3) with its weights frozen (input gradients only), then through μ;
///    Adam on μ. Then the soft updates `θ' ← τ θ + (1 − τ) θ'` of every target.
///
/// Every buffer (contexts, gradients, targets, TD errors) lives in the learner and is
/// reused, and the update runs under ``FloatingPointMode/withDenormalsFlushedToZero(_:)``:
/// once warm an update allocates nothing. Target networks run forward only; the first
/// layers skip their input gradients unless ``DDPGConfiguration/computesStateGradients``.
///
/// With ``parallelism`` 2 (or more) and WORKLOAD.md's networks and settings
/// (``usesParallelPath``), an update runs on the calling thread plus one persistent worker
/// thread, each calling single-threaded BLAS: the target networks' forward pass beside the
/// online ones, weight gradients beside input gradients, GEMMs of the actor pass split in
/// halves, and each layer's Adam/soft-update step in the backward phase after its
/// gradient's, shared between the lanes by their measured speed (element-wise, so the
/// share changes no result). It is deterministic, agrees with the sequential path to float
/// rounding, and allocates nothing once warm.
public struct DDPGLearner<A: Actor, C: Critic>: Sendable {
    /// The policy μ.
    public private(set) var actor: A
    /// The target policy μ'.
    public private(set) var targetActor: A
    /// The critic(s): one for DDPG, two for TD3's twin critics.
    public private(set) var critics: [C]
    /// The target critic(s) Q'.
    public private(set) var targetCritics: [C]
    /// The hyper-parameters.
    public let configuration: DDPGConfiguration
    /// Updates performed so far.
    public private(set) var updateCount = 0
    /// Per-sample TD errors `δ = y − Q1(s, a)` of the most recent update, `[B]`
    /// (feed them to ``ReplayBuffer/updatePriorities(indices:tdErrors:)``).
    public private(set) var tdErrors = Tensor(zeros: [0])
    /// `dL_critic/ds` of the most recent update, `[B, S]` (summed over twin critics);
    /// only with ``DDPGConfiguration/computesStateGradients``.
    public private(set) var criticStateGradient = Tensor(zeros: [0])
    /// `dL_actor/ds` of the most recent actor update, `[B, S]`: through μ and through the
    /// critic's state input, `∂(−mean Q)/∂s + (∂(−mean Q)/∂a) · ∂μ/∂s`; only with
    /// ``DDPGConfiguration/computesStateGradients``.
    public private(set) var actorStateGradient = Tensor(zeros: [0])

    var actorOptimizer: Adam
    var criticOptimizers: [Adam]
    var actorContext: A.Context
    var targetActorContext: A.Context
    var criticContexts: [C.Context]
    var targetCriticContexts: [C.Context]
    var actorGradient: A
    var criticGradients: [C]
    var join = ColumnConcatenation()
    var targetJoin = ColumnConcatenation()
    var nextActions = Tensor(zeros: [0])
    var targets = Tensor(zeros: [0])
    var qGradient = Tensor(zeros: [0])
    var actorQGradient = Tensor(zeros: [0])
    var auxiliaryGradient = Tensor(zeros: [0])
    let actionLower: [Float]
    let actionUpper: [Float]
    var rng: Xoshiro256StarStar
    /// Maps the target policy's actions `μ'(s')` (`[B, A]`, in place) before `Q'` scores
    /// them, e.g. onto the nearest action the environment can actually take (a
    /// recommender executes an item, not a free vector). nil (default): unchanged.
    /// Configurations with a projection use the sequential path.
    public var targetActionProjection: (any ActionProjection)? = nil
    /// The two-lane engine of the parallel path (created on the first parallel update).
    var engine: TwoLaneHandle? = nil

    /// How many threads one ``update(_:)`` may use: 1 (the default) runs it on the calling
    /// thread; 2 or more run it on the calling thread and one persistent worker thread
    /// (see ``usesParallelPath``), with OpenBLAS single-threaded meanwhile (the caller's
    /// thread count is restored afterwards). Results agree with the sequential path to
    /// float rounding and are deterministic.
    public var parallelism: Int = 1

    /// Whether two-lane updates record how long each of their phases takes
    /// (``phaseTimings``); off by default. The cost is two clock readings per phase.
    public var profilesPhases = false

    /// A learner around the given networks; targets start as copies.
    ///
    /// - Parameters:
    ///   - actor: the policy μ.
    ///   - critic: the critic Q (Q1 for TD3).
    ///   - secondCritic: Q2, required when `configuration.twinCritics` (initialise it
    ///     independently of `critic`), ignored otherwise.
    ///   - configuration: hyper-parameters (default ``DDPGConfiguration/ddpg``).
    ///   - seed: seeds the learner's own generator (TD3's target noise).
    public init(actor: A, critic: C, secondCritic: C? = nil, configuration: DDPGConfiguration = .ddpg, seed: UInt64 = 0) {
        configuration.validate()
        precondition(actor.stateSize == critic.stateSize && actor.actionSize == critic.actionSize,
                     "DDPGLearner: actor \(actor.stateSize)→\(actor.actionSize) does not fit critic \(critic.stateSize)+\(critic.actionSize)")
        var critics = [critic]
        if configuration.twinCritics {
            guard let second = secondCritic else { preconditionFailure("DDPGLearner: twinCritics needs a secondCritic") }
            precondition(second.stateSize == critic.stateSize && second.actionSize == critic.actionSize,
                         "DDPGLearner: the second critic's sizes differ from the first's")
            critics.append(second)
        }
        if configuration.targetPolicyNoise > 0 {
            precondition(actor.actionSpec.isFinite, "DDPGLearner: target policy smoothing needs finite action bounds")
        }
        self.actor = actor
        self.targetActor = actor
        self.critics = critics
        self.targetCritics = critics
        self.configuration = configuration
        let c = configuration
        actorOptimizer = Adam(learningRate: c.actorLearningRate, beta1: c.adamBeta1, beta2: c.adamBeta2, epsilon: c.adamEpsilon)
        criticOptimizers = critics.map { _ in
            Adam(learningRate: c.criticLearningRate, beta1: c.adamBeta1, beta2: c.adamBeta2, epsilon: c.adamEpsilon)
        }
        actorContext = actor.makeContext()
        targetActorContext = actor.makeContext()
        criticContexts = critics.map { $0.makeContext() }
        targetCriticContexts = critics.map { $0.makeContext() }
        actorGradient = actor.zeroGradient()
        criticGradients = critics.map { $0.zeroGradient() }
        actionLower = actor.actionSpec.minimum
        actionUpper = actor.actionSpec.maximum
        rng = Xoshiro256StarStar(seed: seed)
    }

    /// The state width S.
    public var stateSize: Int { actor.stateSize }
    /// The action width A.
    public var actionSize: Int { actor.actionSize }

    /// One update on `batch`, under flush-to-zero; allocates nothing once warm
    /// (after the first update at a given batch size).
    @discardableResult
    public mutating func update(_ batch: TransitionBatch) -> DDPGUpdateStatistics {
        FloatingPointMode.withDenormalsFlushedToZero {
            if usesParallelPath, let stats = performTwoLaneUpdate(batch) { return stats }
            return performUpdate(batch)
        }
    }

    mutating func performUpdate(_ batch: TransitionBatch) -> DDPGUpdateStatistics {
        let b = batch.count, s = stateSize, a = actionSize
        precondition(batch.states.columns == s && batch.nextStates.columns == s && batch.nextStates.rows == b
                     && batch.actions.columns == a && batch.actions.rows == b
                     && batch.rewards.count == b && batch.discounts.count == b && batch.weights.count == b,
                     "DDPGLearner.update: batch states \(batch.states.shape), actions \(batch.actions.shape) do not fit S = \(s), A = \(a)")
        let stateGradients = configuration.computesStateGradients
        let twin = critics.count

        // 1. TD targets from the target networks, forward only.
        computeTargets(batch)

        // 2. Critic update(s).
        join.join(batch.states, batch.actions)
        var criticLoss: Float = 0
        for i in 0..<twin {
            critics[i].forward(join.joined, context: &criticContexts[i])
            criticLoss += MeanSquaredError.gradient(predicted: criticContexts[i].output, target: targets,
                                                    rowWeights: batch.weights, into: &qGradient)
            if i == 0 { storeTDErrors(prediction: criticContexts[0].output) }
            critics[i].backward(input: join.joined, outputGradient: qGradient, context: &criticContexts[i],
                                gradient: &criticGradients[i], computeParameterGradient: true,
                                computeInputGradient: stateGradients)
            if stateGradients {
                DDPGLearner.accumulateColumns(criticContexts[i].inputGradient, 0..<s, into: &criticStateGradient, add: i > 0)
            }
            if let m = configuration.maxGradientNorm { clipByGlobalNorm(&criticGradients[i], maxNorm: m) }
            criticOptimizers[i].update(&critics[i], along: criticGradients[i])
        }
        updateCount += 1

        // 3. Delayed actor update through the frozen critic, then the soft target updates.
        guard updateCount % configuration.policyDelay == 0 else {
            return DDPGUpdateStatistics(criticLoss: criticLoss, actorLoss: nil)
        }
        actor.forward(batch.states, context: &actorContext)
        join.join(batch.states, actorContext.output)
        critics[0].forward(join.joined, context: &criticContexts[0])
        let actorLoss = -criticContexts[0].output.mean()
        if actorQGradient.rows != b || actorQGradient.count != b {
            actorQGradient.prepare(rows: b, columns: 1)
            actorQGradient.fill(-1 / Float(b))
        }
        critics[0].backward(input: join.joined, outputGradient: actorQGradient, context: &criticContexts[0],
                            gradient: &criticGradients[0], computeParameterGradient: false, computeInputGradient: true)
        join.split(criticContexts[0].inputGradient, first: stateGradients, second: true)
        actor.backward(input: batch.states, outputGradient: join.secondGradient, context: &actorContext,
                       gradient: &actorGradient, computeParameterGradient: true, computeInputGradient: stateGradients)
        if stateGradients {
            actorStateGradient.assign(join.firstGradient)
            actorStateGradient.addScaled(actorContext.inputGradient, by: 1)
        }
        if let m = configuration.maxGradientNorm { clipByGlobalNorm(&actorGradient, maxNorm: m) }
        actorOptimizer.update(&actor, along: actorGradient)

        let tau = configuration.tau
        softUpdate(&targetActor, toward: actor, tau: tau)
        for i in 0..<twin { softUpdate(&targetCritics[i], toward: critics[i], tau: tau) }
        return DDPGUpdateStatistics(criticLoss: criticLoss, actorLoss: actorLoss)
    }

    /// `targets = r + γ · discount · min_i Q'_i(s', a')` with `a' = μ'(s')` (+ TD3 smoothing noise).
    mutating func computeTargets(_ batch: TransitionBatch) {
        let b = batch.count
        targetActor.forward(batch.nextStates, context: &targetActorContext)
        if configuration.targetPolicyNoise > 0 || targetActionProjection != nil {
            nextActions.assign(targetActorContext.output)
        }
        if configuration.targetPolicyNoise > 0 {
            let cols = actionSize, sigma = configuration.targetPolicyNoise, clip = configuration.targetNoiseClip
            actionLower.withUnsafeBufferPointer { lo in
                actionUpper.withUnsafeBufferPointer { hi in
                    nextActions.withUnsafeMutableBufferPointer { p in
                        for k in 0..<p.count {
                            let j = k % cols, half = (hi[j] - lo[j]) / 2
                            let noise = Swift.min(Swift.max(sigma * half * rng.nextNormalFloat(), -clip * half), clip * half)
                            p[k] = Swift.min(Swift.max(p[k] + noise, lo[j]), hi[j])
                        }
                    }
                }
            }
        }
        if targetActionProjection != nil {
            targetActionProjection!.project(&nextActions)
        }
        if configuration.targetPolicyNoise > 0 || targetActionProjection != nil {
            targetJoin.join(batch.nextStates, nextActions)
        } else {
            targetJoin.join(batch.nextStates, targetActorContext.output)
        }
        for i in 0..<targetCritics.count {
            targetCritics[i].forward(targetJoin.joined, context: &targetCriticContexts[i])
        }
        targets.prepare(rows: b, columns: 1)
        let gamma = configuration.gamma
        let twin = targetCritics.count > 1
        batch.rewards.withUnsafeBufferPointer { r in
            batch.discounts.withUnsafeBufferPointer { d in
                targetCriticContexts[0].output.withUnsafeBufferPointer { q1 in
                    targets.withUnsafeMutableBufferPointer { y in
                        if twin {
                            targetCriticContexts[1].output.withUnsafeBufferPointer { q2 in
                                for k in 0..<b { y[k] = r[k] + gamma * d[k] * Swift.min(q1[k], q2[k]) }
                            }
                        } else {
                            for k in 0..<b { y[k] = r[k] + gamma * d[k] * q1[k] }
                        }
                    }
                }
            }
        }
    }

    mutating func storeTDErrors(prediction: Tensor) {
        let b = prediction.rows
        tdErrors.prepare(count: b)
        prediction.withUnsafeBufferPointer { q in
            targets.withUnsafeBufferPointer { y in
                tdErrors.withUnsafeMutableBufferPointer { e in
                    for k in 0..<b { e[k] = y[k] - q[k] }
                }
            }
        }
    }

    /// `out (+)= source[:, columns]`.
    static func accumulateColumns(_ source: Tensor, _ columns: Range<Int>, into out: inout Tensor, add: Bool) {
        let r = source.rows, c = source.columns, w = columns.count
        if !add { out.prepare(rows: r, columns: w) }
        source.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<r {
                    for j in 0..<w {
                        let v = src[i * c + columns.lowerBound + j]
                        dst[i * w + j] = add ? dst[i * w + j] + v : v
                    }
                }
            }
        }
    }

    /// The actor's actions for `states` (`[B, S]`), through `context` (a context of
    /// ``actor`` you own, e.g. for acting with batch 1, so the learner's buffers keep their shape).
    public func act(_ states: Tensor, context: inout A.Context) {
        actor.forward(states, context: &context)
    }
}

extension DDPGLearner where A == MLPActor, C == MLPCritic {
    /// A learner with WORKLOAD.md's networks: actor `S → H → H → A (tanh)`, critic(s)
    /// `S + A → H → H → 1`, Glorot-uniform weights from `seed`, biases zero; its batch
    /// buffers are shaped for `batchSize` up front.
    ///
    /// For the `paper` benchmark configuration: `stateSize: 300, actionSize: 100,
    /// hiddenSizes: [256, 256], batchSize: 64`.
    ///
    /// - Parameters:
    ///   - stateSize: S (WORKLOAD.md: `3k`).
    ///   - actionSize: A (WORKLOAD.md: `k`).
    ///   - hiddenSizes: hidden widths (default `[256, 256]`).
    ///   - batchSize: B, the batch size the buffers are shaped for (default 64).
    ///   - actionSpec: the actor's output range; nil (default) means `[−1, 1]`.
    ///   - configuration: hyper-parameters (default ``DDPGConfiguration/ddpg``).
    ///   - seed: seeds the weights and the learner's generator.
    public init(stateSize: Int, actionSize: Int, hiddenSizes: [Int] = [256, 256], batchSize: Int = 64,
                actionSpec: BoundedSpec? = nil, configuration: DDPGConfiguration = .ddpg, seed: UInt64 = 0) {
        var rng = Xoshiro256StarStar(seed: seed)
        let actor = MLPActor(stateSize: stateSize, actionSize: actionSize, hiddenSizes: hiddenSizes, actionSpec: actionSpec, using: &rng)
        let critic = MLPCritic(stateSize: stateSize, actionSize: actionSize, hiddenSizes: hiddenSizes, using: &rng)
        let second = configuration.twinCritics
            ? MLPCritic(stateSize: stateSize, actionSize: actionSize, hiddenSizes: hiddenSizes, using: &rng) : nil
        self.init(actor: actor, critic: critic, secondCritic: second, configuration: configuration, seed: rng.next())
        reserve(batchSize: batchSize)
    }
}

extension DDPGLearner {
    /// Shapes the batch buffers (targets, loss gradients, TD errors, state gradients)
    /// for batches of `batchSize` rows, so the first update allocates less.
    public mutating func reserve(batchSize: Int) {
        precondition(batchSize > 0, "reserve(batchSize:) needs a positive batch size, got \(batchSize)")
        targets.prepare(rows: batchSize, columns: 1)
        qGradient.prepare(rows: batchSize, columns: 1)
        tdErrors.prepare(count: batchSize)
        actorQGradient.prepare(rows: batchSize, columns: 1)
        actorQGradient.fill(-1 / Float(batchSize))
        if configuration.targetPolicyNoise > 0 { nextActions.prepare(rows: batchSize, columns: actionSize) }
        if configuration.computesStateGradients {
            criticStateGradient.prepare(rows: batchSize, columns: stateSize)
            actorStateGradient.prepare(rows: batchSize, columns: stateSize)
        }
    }
}

extension DDPGLearner {
    /// Replaces the target networks (e.g. when restoring a saved learner whose targets
    /// lag the online networks). `critics` must have one entry per critic.
    public mutating func setTargets(actor: A, critics: [C]) {
        precondition(critics.count == targetCritics.count, "setTargets: \(critics.count) critics for \(targetCritics.count) targets")
        targetActor = actor
        targetCritics = critics
    }
}


extension DDPGLearner {
    /// Whether ``update(_:)`` runs on two threads: ``parallelism`` is at least 2 and the
    /// learner has WORKLOAD.md's shape — ``MLPActor`` with actions in `[−1, 1]`, one
    /// ``MLPCritic``, no target policy noise, no gradient clipping, policy delay 1, no state
    /// gradients. Other configurations (TD3, DRR's state gradients) use the sequential path.
    public var usesParallelPath: Bool {
        guard parallelism >= 2, A.self == MLPActor.self, C.self == MLPCritic.self, critics.count == 1,
              targetActionProjection == nil else { return false }
        let c = configuration
        guard c.targetPolicyNoise == 0, c.maxGradientNorm == nil, c.policyDelay == 1, !c.computesStateGradients else { return false }
        return (actor as? MLPActor)?.scale == nil
    }

    /// The two-lane update's phases, in the order an update runs them, with their times summed
    /// over the updates run with ``profilesPhases`` since the last ``resetPhaseTimings()``
    /// (empty before the first such update, and for a learner that has not run the two-lane
    /// path; a copied learner builds its own engine and starts from empty timings).
    public var phaseTimings: [TwoLanePhaseTiming] { engine?.engine.phaseTimings() ?? [] }

    /// Zeroes ``phaseTimings`` (e.g. after a warm-up).
    public mutating func resetPhaseTimings() {
        if engine != nil && isKnownUniquelyReferenced(&engine) { engine?.engine.resetPhaseTimings() }
    }

    /// The network of an ``MLPActor`` or ``MLPCritic`` held as a generic value, in place.
    private static func withNetwork<T, R>(_ x: inout T, _ body: (inout MLP) -> R) -> R {
        withUnsafeMutablePointer(to: &x) { p in
            let raw = UnsafeMutableRawPointer(p)
            if T.self == MLPActor.self { return body(&raw.assumingMemoryBound(to: MLPActor.self).pointee.network) }
            precondition(T.self == MLPCritic.self, "DDPGLearner: the parallel path needs MLPActor / MLPCritic")
            return body(&raw.assumingMemoryBound(to: MLPCritic.self).pointee.network)
        }
    }

    /// Points `raw` at `net`'s parameters (made unique first); false when the shapes differ.
    private static func bind(_ net: inout MLP, _ raw: inout [RawDense]) -> Bool {
        guard net.layers.count == raw.count else { return false }
        for i in raw.indices {
            guard net.layers[i].inputSize == raw[i].inputs, net.layers[i].outputSize == raw[i].outputs,
                  Int32(net.layers[i].activation.rawValue) == raw[i].activation else { return false }
            raw[i].weight = net.layers[i].weight.withUnsafeMutableBufferPointer { $0.baseAddress! }
            raw[i].bias = net.layers[i].bias.withUnsafeMutableBufferPointer { $0.baseAddress! }
        }
        return true
    }

    /// The update on two lanes (see ``TwoLaneDDPGEngine``); nil when it does not apply.
    mutating func performTwoLaneUpdate(_ batch: TransitionBatch) -> DDPGUpdateStatistics? {
        let b = batch.count, s = stateSize, a = actionSize
        precondition(batch.states.columns == s && batch.nextStates.columns == s && batch.nextStates.rows == b
                     && batch.actions.columns == a && batch.actions.rows == b
                     && batch.rewards.count == b && batch.discounts.count == b && batch.weights.count == b,
                     "DDPGLearner.update: batch states \(batch.states.shape), actions \(batch.actions.shape) do not fit S = \(s), A = \(a)")
        guard b > 0 else { return nil }
        if engine == nil || !isKnownUniquelyReferenced(&engine) {
            let actorNetwork = DDPGLearner.withNetwork(&actor) { $0 }
            let criticNetwork = DDPGLearner.withNetwork(&critics[0]) { $0 }
            guard criticNetwork.outputSize == 1, criticNetwork.layers.last?.activation == .identity,
                  criticNetwork.inputSize == s + a, actorNetwork.inputSize == s, actorNetwork.outputSize == a else { return nil }
            engine = TwoLaneHandle(TwoLaneDDPGEngine(actor: actorNetwork, critic: criticNetwork, stateSize: s, actionSize: a))
        }
        guard let engine = engine?.engine else { return nil }
        guard DDPGLearner.withNetwork(&actor, { DDPGLearner.bind(&$0, &engine.actor) }),
              DDPGLearner.withNetwork(&targetActor, { DDPGLearner.bind(&$0, &engine.targetActor) }),
              DDPGLearner.withNetwork(&critics[0], { DDPGLearner.bind(&$0, &engine.critic) }),
              DDPGLearner.withNetwork(&targetCritics[0], { DDPGLearner.bind(&$0, &engine.targetCritic) }) else { return nil }
        engine.prepare(batchSize: b)
        engine.start()
        engine.profiling = profilesPhases

        let c = configuration
        engine.gamma = c.gamma
        engine.tau = c.tau
        engine.beta1 = c.adamBeta1
        engine.beta2 = c.adamBeta2
        engine.criticStep = criticOptimizers[0].beginStep(shapedLike: criticGradients[0])
        engine.actorStep = actorOptimizer.beginStep(shapedLike: actorGradient)
        criticOptimizers[0].withMomentBuffers { i, m, v in engine.criticMoments[i] = (m.baseAddress!, v.baseAddress!) }
        actorOptimizer.withMomentBuffers { i, m, v in engine.actorMoments[i] = (m.baseAddress!, v.baseAddress!) }

        targets.prepare(rows: b, columns: 1)
        qGradient.prepare(rows: b, columns: 1)
        tdErrors.prepare(count: b)
        engine.targets = targets.withUnsafeMutableBufferPointer { $0.baseAddress! }
        let dq = qGradient.withUnsafeMutableBufferPointer { $0.baseAddress! }
        let td = tdErrors.withUnsafeMutableBufferPointer { $0.baseAddress! }
        engine.states = batch.states.withUnsafeBufferPointer { $0.baseAddress! }
        engine.actions = batch.actions.withUnsafeBufferPointer { $0.baseAddress! }
        engine.nextStates = batch.nextStates.withUnsafeBufferPointer { $0.baseAddress! }
        engine.rewards = batch.rewards.withUnsafeBufferPointer { $0.baseAddress! }
        engine.discounts = batch.discounts.withUnsafeBufferPointer { $0.baseAddress! }
        let weights = batch.weights.withUnsafeBufferPointer { $0.baseAddress! }

        let blasThreads = BLASRuntime.threadCount
        if blasThreads != 1 { BLASRuntime.setThreadCount(1) }
        let (criticLoss, actorLoss) = engine.update(criticOutputGradient: dq, tdErrors: td, weights: weights)
        if blasThreads != 1 { BLASRuntime.setThreadCount(blasThreads) }
        updateCount += 1
        return DDPGUpdateStatistics(criticLoss: criticLoss, actorLoss: actorLoss)
    }
}

extension DDPGLearner {
    /// One extra gradient step on the actor alone, from a loss on its actions that the
    /// caller defines: a supervised or behaviour-cloning term beside DDPG's `−Q(s, μ(s))`
    /// (e.g. a next-item cross-entropy, as in SQN, Xin et al. 2020, or TD3+BC's
    /// `‖μ(s) − a‖²`, Fujimoto & Gu 2021).
    ///
    /// Runs `μ(states)`, calls `loss(actions, &gradient)`, which returns the loss and
    /// writes `dL/da` (`[B, A]`, already averaged over the batch as the loss is) into
    /// `gradient`, back-propagates it through μ, clips by
    /// ``DDPGConfiguration/maxGradientNorm`` and takes an Adam step with the actor's
    /// optimizer. With ``DDPGConfiguration/computesStateGradients``, `dL/ds` is left in
    /// ``actorStateGradient`` for a state module in front of the learner. Target networks
    /// and critics are not touched; ``updateCount`` does not change.
    ///
    /// - Returns: the loss `loss` returned.
    @discardableResult
    public mutating func updateActor(states: Tensor, loss: (_ actions: Tensor, _ gradient: inout Tensor) -> Float) -> Float {
        precondition(states.rank == 2 && states.columns == stateSize,
                     "DDPGLearner.updateActor: states \(states.shape) do not have S = \(stateSize) columns")
        return FloatingPointMode.withDenormalsFlushedToZero {
            let b = states.rows, stateGradients = configuration.computesStateGradients
            actor.forward(states, context: &actorContext)
            auxiliaryGradient.prepare(rows: b, columns: actionSize)
            let value = loss(actorContext.output, &auxiliaryGradient)
            precondition(auxiliaryGradient.rows == b && auxiliaryGradient.columns == actionSize,
                         "DDPGLearner.updateActor: the loss wrote a gradient of shape \(auxiliaryGradient.shape), expected [\(b), \(actionSize)]")
            actor.backward(input: states, outputGradient: auxiliaryGradient, context: &actorContext,
                           gradient: &actorGradient, computeParameterGradient: true, computeInputGradient: stateGradients)
            if stateGradients { actorStateGradient.assign(actorContext.inputGradient) }
            if let m = configuration.maxGradientNorm { clipByGlobalNorm(&actorGradient, maxNorm: m) }
            actorOptimizer.update(&actor, along: actorGradient)
            return value
        }
    }
}
