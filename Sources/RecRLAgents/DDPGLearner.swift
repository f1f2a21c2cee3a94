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
    public init(
        gamma: Float = 0.9, tau: Float = 0.001, actorLearningRate: Float = 1e-4, criticLearningRate: Float = 1e-3,
        adamBeta1: Float = 0.9, adamBeta2: Float = 0.999, adamEpsilon: Float = 1e-8,
        twinCritics: Bool = false, targetPolicyNoise: Float = 0, targetNoiseClip: Float = 0.5, policyDelay: Int = 1,
        maxGradientNorm: Float? = nil, computesStateGradients: Bool = false
    ) {
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
    /// On the two-lane path the projection runs on the worker lane, between the target
    /// actor's and the target critic's forward passes.
    public var targetActionProjection: (any ActionProjection)? = nil
    /// The two-lane engine of the parallel path (created on the first parallel update).
    var engine: TwoLaneHandle? = nil

    /// How many threads one ``update(_:)`` may use: 1 (the default) runs it on the calling
    /// thread; 2 or more run it on the calling thread and one persistent worker thread
    /// (see ``usesParallelPath``), with OpenBLAS single-threaded meanwhile (the caller's
    /// thread count is restored afterwards). Results agree with the sequential path to
    /// float rounding and are deterministic. Setting it below 2 releases the worker thread
    /// (once no copy of the learner holds it).
    public var parallelism: Int = 1 {
        didSet { if parallelism < 2 { engine = nil } }
    }

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
        precondition(
            actor.stateSize == critic.stateSize && actor.actionSize == critic.actionSize,
            "DDPGLearner: actor \(actor.stateSize)→\(actor.actionSize) does not fit critic \(critic.stateSize)+\(critic.actionSize)")
        var critics = [critic]
        if configuration.twinCritics {
            guard let second = secondCritic else { preconditionFailure("DDPGLearner: twinCritics needs a secondCritic") }
            precondition(
                second.stateSize == critic.stateSize && second.actionSize == critic.actionSize,
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
        precondition(
            batch.states.columns == s && batch.nextStates.columns == s && batch.nextStates.rows == b
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
            criticLoss += criticLossGradient(prediction: criticContexts[i].output, weights: batch.weights, storesTDErrors: i == 0)
            critics[i].backward(
                input: join.joined, outputGradient: qGradient, context: &criticContexts[i],
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
        let actorLoss = criticContexts[0].output.withUnsafeBufferPointer { DDPGMath.actorLoss(q: $0.baseAddress!, count: b) }
        if actorQGradient.rows != b || actorQGradient.count != b {
            actorQGradient.prepare(rows: b, columns: 1)
            actorQGradient.fill(DDPGMath.actorLossGradient(count: b))
        }
        critics[0].backward(
            input: join.joined, outputGradient: actorQGradient, context: &criticContexts[0],
            gradient: &criticGradients[0], computeParameterGradient: false, computeInputGradient: true)
        join.split(criticContexts[0].inputGradient, first: stateGradients, second: true)
        actor.backward(
            input: batch.states, outputGradient: join.secondGradient, context: &actorContext,
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
        let q2 = targetCritics.count > 1 ? targetCriticContexts[1].output : nil
        batch.rewards.withUnsafeBufferPointer { r in
            batch.discounts.withUnsafeBufferPointer { d in
                targetCriticContexts[0].output.withUnsafeBufferPointer { q1 in
                    targets.withUnsafeMutableBufferPointer { y in
                        if let q2 {
                            q2.withUnsafeBufferPointer { q2 in
                                DDPGMath.tdTargets(
                                    rewards: r.baseAddress!, discounts: d.baseAddress!, q1: q1.baseAddress!,
                                    q2: q2.baseAddress!, gamma: gamma, into: y.baseAddress!, count: b)
                            }
                        } else {
                            DDPGMath.tdTargets(
                                rewards: r.baseAddress!, discounts: d.baseAddress!, q1: q1.baseAddress!,
                                q2: nil, gamma: gamma, into: y.baseAddress!, count: b)
                        }
                    }
                }
            }
        }
    }

    /// The critic loss of `prediction` against ``targets`` (``DDPGMath/criticLoss``), its
    /// gradient in `qGradient` and, when `storesTDErrors`, the TD errors in ``tdErrors``.
    mutating func criticLossGradient(prediction: Tensor, weights: Tensor, storesTDErrors: Bool) -> Float {
        let b = prediction.rows
        precondition(prediction.count == b && weights.count == b && targets.count == b, "DDPGLearner: critic output \(prediction.shape) for \(b) targets")
        qGradient.prepare(rows: b, columns: 1)
        if storesTDErrors { tdErrors.prepare(count: b) }
        return prediction.withUnsafeBufferPointer { q in
            targets.withUnsafeBufferPointer { y in
                weights.withUnsafeBufferPointer { w in
                    qGradient.withUnsafeMutableBufferPointer { g in
                        if storesTDErrors {
                            return tdErrors.withUnsafeMutableBufferPointer { td in
                                DDPGMath.criticLoss(
                                    q: q.baseAddress!, targets: y.baseAddress!, weights: w.baseAddress!,
                                    outputGradient: g.baseAddress!, tdErrors: td.baseAddress!, count: b)
                            }
                        }
                        return DDPGMath.criticLoss(
                            q: q.baseAddress!, targets: y.baseAddress!, weights: w.baseAddress!,
                            outputGradient: g.baseAddress!, tdErrors: nil, count: b)
                    }
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
    public init(
        stateSize: Int, actionSize: Int, hiddenSizes: [Int] = [256, 256], batchSize: Int = 64,
        actionSpec: BoundedSpec? = nil, configuration: DDPGConfiguration = .ddpg, seed: UInt64 = 0
    ) {
        var rng = Xoshiro256StarStar(seed: seed)
        let actor = MLPActor(stateSize: stateSize, actionSize: actionSize, hiddenSizes: hiddenSizes, actionSpec: actionSpec, using: &rng)
        let critic = MLPCritic(stateSize: stateSize, actionSize: actionSize, hiddenSizes: hiddenSizes, using: &rng)
        let second =
            configuration.twinCritics
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
        actorQGradient.fill(DDPGMath.actorLossGradient(count: batchSize))
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
    /// learner has WORKLOAD.md's shape — an actor and one critic that are each one ``MLP``
    /// (``Actor/withMLP(_:)``, ``Critic/withMLP(_:)``: ``MLPActor`` with actions in
    /// `[−1, 1]`, ``MLPCritic``), no target policy noise, no gradient clipping, policy
    /// delay 1. State gradients (``DDPGConfiguration/computesStateGradients``) and a
    /// ``targetActionProjection`` run on two lanes too, so DRR's default training takes this
    /// path. Other configurations (TD3, ``DDPGConfiguration/maxGradientNorm``, whose global
    /// norm needs every gradient before the first Adam step) use the sequential path.
    public var usesParallelPath: Bool {
        guard parallelism >= 2, critics.count == 1 else { return false }
        let c = configuration
        guard c.targetPolicyNoise == 0, c.maxGradientNorm == nil, c.policyDelay == 1 else { return false }
        var actorCopy = actor, criticCopy = critics[0]
        return actorCopy.withMLP({ _ in () }) != nil && criticCopy.withMLP({ _ in () }) != nil
    }

    /// The two-lane update's phases, in the order an update runs them, with their times summed
    /// over the updates run with ``profilesPhases`` since the last ``resetPhaseTimings()``
    /// (empty before the first such update, and for a learner that has not run the two-lane
    /// path; a copied learner builds its own engine and starts from empty timings).
    public var phaseTimings: [TwoLanePhaseTiming] { engine?.engine.executor.phaseTimings() ?? [] }

    /// Zeroes ``phaseTimings`` (e.g. after a warm-up).
    public mutating func resetPhaseTimings() {
        if engine != nil && isKnownUniquelyReferenced(&engine) { engine?.engine.executor.resetPhaseTimings() }
    }

    /// Swaps the networks' parameters, the Adam moments and the batch buffers with the
    /// engine's boxes (a second call swaps them back).
    mutating func exchangeTensors(with engine: TwoLaneDDPGEngine) {
        _ = actor.withMLP { engine.exchange(network: &$0, .actor) }
        _ = targetActor.withMLP { engine.exchange(network: &$0, .targetActor) }
        _ = critics[0].withMLP { engine.exchange(network: &$0, .critic) }
        _ = targetCritics[0].withMLP { engine.exchange(network: &$0, .targetCritic) }
        actorOptimizer.withMomentTensors { engine.exchange(firstMoments: &$0, secondMoments: &$1, .actor) }
        criticOptimizers[0].withMomentTensors { engine.exchange(firstMoments: &$0, secondMoments: &$1, .critic) }
        engine.exchange(&targets, .targets)
        engine.exchange(&tdErrors, .tdErrors)
        if configuration.computesStateGradients {
            engine.exchange(&criticStateGradient, .criticStateGradient)
            engine.exchange(&actorStateGradient, .actorStateGradient)
        }
    }

    /// The update on two lanes (see ``TwoLaneDDPGEngine``); nil when it does not apply.
    mutating func performTwoLaneUpdate(_ batch: TransitionBatch) -> DDPGUpdateStatistics? {
        let b = batch.count, s = stateSize, a = actionSize
        precondition(
            batch.states.columns == s && batch.nextStates.columns == s && batch.nextStates.rows == b
                && batch.actions.columns == a && batch.actions.rows == b
                && batch.rewards.count == b && batch.discounts.count == b && batch.weights.count == b,
            "DDPGLearner.update: batch states \(batch.states.shape), actions \(batch.actions.shape) do not fit S = \(s), A = \(a)")
        guard b > 0 else { return nil }
        let stateGradients = configuration.computesStateGradients
        if engine == nil || !isKnownUniquelyReferenced(&engine) {
            guard let actorNetwork = actor.withMLP({ $0 }), let criticNetwork = critics[0].withMLP({ $0 }),
                criticNetwork.outputSize == 1, criticNetwork.layers.last?.activation == .identity,
                criticNetwork.inputSize == s + a, actorNetwork.inputSize == s, actorNetwork.outputSize == a
            else { return nil }
            engine = TwoLaneHandle(
                TwoLaneDDPGEngine(
                    actor: actorNetwork, critic: criticNetwork, stateSize: s, actionSize: a,
                    computesStateGradients: stateGradients))
        }
        guard let engine = engine?.engine else { return nil }
        guard actor.withMLP({ engine.matches($0, .actor) }) == true, targetActor.withMLP({ engine.matches($0, .targetActor) }) == true,
            critics[0].withMLP({ engine.matches($0, .critic) }) == true,
            targetCritics[0].withMLP({ engine.matches($0, .targetCritic) }) == true
        else { return nil }
        engine.prepare(batchSize: b)
        engine.executor.profiling = profilesPhases

        let c = configuration
        engine.gamma = c.gamma
        engine.tau = c.tau
        engine.beta1 = c.adamBeta1
        engine.beta2 = c.adamBeta2
        engine.criticStep = criticOptimizers[0].beginStep(shapedLike: criticGradients[0])
        engine.actorStep = actorOptimizer.beginStep(shapedLike: actorGradient)
        targets.prepare(rows: b, columns: 1)
        tdErrors.prepare(count: b)
        if stateGradients {
            criticStateGradient.prepare(rows: b, columns: s)
            actorStateGradient.prepare(rows: b, columns: s)
        }

        exchangeTensors(with: engine)
        swap(&engine.projection, &targetActionProjection)
        let blasThreads = BLASRuntime.threadCount
        if blasThreads != 1 { BLASRuntime.setThreadCount(1) }
        let (criticLoss, actorLoss) = batch.states.withUnsafeBufferPointer { states in
            batch.actions.withUnsafeBufferPointer { actions in
                batch.nextStates.withUnsafeBufferPointer { nextStates in
                    batch.rewards.withUnsafeBufferPointer { rewards in
                        batch.discounts.withUnsafeBufferPointer { discounts in
                            batch.weights.withUnsafeBufferPointer { weights in
                                engine.update(
                                    states: states.baseAddress!, actions: actions.baseAddress!,
                                    nextStates: nextStates.baseAddress!, rewards: rewards.baseAddress!,
                                    discounts: discounts.baseAddress!, weights: weights.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        if blasThreads != 1 { BLASRuntime.setThreadCount(blasThreads) }
        swap(&engine.projection, &targetActionProjection)
        exchangeTensors(with: engine)
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
        precondition(
            states.rank == 2 && states.columns == stateSize,
            "DDPGLearner.updateActor: states \(states.shape) do not have S = \(stateSize) columns")
        return FloatingPointMode.withDenormalsFlushedToZero {
            let b = states.rows, stateGradients = configuration.computesStateGradients
            actor.forward(states, context: &actorContext)
            auxiliaryGradient.prepare(rows: b, columns: actionSize)
            let value = loss(actorContext.output, &auxiliaryGradient)
            precondition(
                auxiliaryGradient.rows == b && auxiliaryGradient.columns == actionSize,
                "DDPGLearner.updateActor: the loss wrote a gradient of shape \(auxiliaryGradient.shape), expected [\(b), \(actionSize)]")
            actor.backward(
                input: states, outputGradient: auxiliaryGradient, context: &actorContext,
                gradient: &actorGradient, computeParameterGradient: true, computeInputGradient: stateGradients)
            if stateGradients { actorStateGradient.assign(actorContext.inputGradient) }
            if let m = configuration.maxGradientNorm { clipByGlobalNorm(&actorGradient, maxNorm: m) }
            actorOptimizer.update(&actor, along: actorGradient)
            return value
        }
    }
}

extension DDPGLearner: Learner {
    /// Tensors of this learner's state: `actor.`, `target_actor.`, `critic.<i>.` and
    /// `target_critic.<i>.` parameters, Adam moments (`optimizer.actor.m.<j>`, `.v.<j>`,
    /// `optimizer.critic.<i>.m.<j>`, …), and the counters `optimizer.actor.step`,
    /// `optimizer.critic.<i>.step` and `update_count` as one-element tensors (exact up to
    /// 2²⁴). The generator of TD3's target noise is not saved.
    public func checkpointTensors() -> [String: Tensor] {
        var out = actor.namedParameters(prefix: "actor.")
        out.merge(targetActor.namedParameters(prefix: "target_actor."), uniquingKeysWith: { a, _ in a })
        for i in critics.indices {
            out.merge(critics[i].namedParameters(prefix: "critic.\(i)."), uniquingKeysWith: { a, _ in a })
            out.merge(targetCritics[i].namedParameters(prefix: "target_critic.\(i)."), uniquingKeysWith: { a, _ in a })
        }
        func add(_ optimizer: Adam, _ prefix: String) {
            let state = optimizer.state
            out[prefix + "step"] = Tensor([Float(state.step)])
            for j in state.firstMoments.indices {
                out[prefix + "m.\(j)"] = state.firstMoments[j]
                out[prefix + "v.\(j)"] = state.secondMoments[j]
            }
        }
        add(actorOptimizer, "optimizer.actor.")
        for i in criticOptimizers.indices { add(criticOptimizers[i], "optimizer.critic.\(i).") }
        out["update_count"] = Tensor([Float(updateCount)])
        return out
    }

    public mutating func restore(fromCheckpoint tensors: [String: Tensor]) throws(CheckpointError) {
        var copy = self
        copy.engine = nil
        try copy.actor.loadParameters(from: tensors, prefix: "actor.")
        try copy.targetActor.loadParameters(from: tensors, prefix: "target_actor.")
        for i in critics.indices {
            try copy.critics[i].loadParameters(from: tensors, prefix: "critic.\(i).")
            try copy.targetCritics[i].loadParameters(from: tensors, prefix: "target_critic.\(i).")
        }
        func counter(_ name: String) throws(CheckpointError) -> Int {
            guard let t = tensors[name] else { throw .missingTensor(name) }
            guard t.count == 1, t[flat: 0] >= 0, t[flat: 0] == t[flat: 0].rounded() else {
                throw .shapeMismatch(name: name, expected: [1], found: t.shape)
            }
            return Int(t[flat: 0])
        }
        func restore(_ optimizer: inout Adam, _ prefix: String, shapedLike parameters: [Tensor]) throws(CheckpointError) {
            let step = try counter(prefix + "step")
            var first: [Tensor] = [], second: [Tensor] = []
            if step > 0 {
                for (j, p) in parameters.enumerated() {
                    for (name, list) in [(prefix + "m.\(j)", 0), (prefix + "v.\(j)", 1)] {
                        guard let t = tensors[name] else { throw .missingTensor(name) }
                        guard t.shape == p.shape else { throw .shapeMismatch(name: name, expected: p.shape, found: t.shape) }
                        if list == 0 { first.append(t) } else { second.append(t) }
                    }
                }
            }
            try optimizer.restore(step: step, firstMoments: first, secondMoments: second)
        }
        func parameters<L: Layer>(_ layer: L) -> [Tensor] {
            var out: [Tensor] = []
            layer.forEachParameter { _, p in out.append(p) }
            return out
        }
        try restore(&copy.actorOptimizer, "optimizer.actor.", shapedLike: parameters(actor))
        for i in criticOptimizers.indices {
            try restore(&copy.criticOptimizers[i], "optimizer.critic.\(i).", shapedLike: parameters(critics[i]))
        }
        copy.updateCount = try counter("update_count")
        self = copy
    }
}
