// Pendulum-v1 with DDPG or TD3, written out as a tutorial: every step of the
// algorithm appears below, in the order of the papers' pseudo-code, built from
// RecRL's pieces (`MLP`/`Dense` layers, `MeanSquaredError`, `Adam`, the replay
// buffer, `EnvironmentLoop`). The library packages the same update as
// `DDPGLearner` (with prioritized replay, gradient clipping and the two-lane
// parallel path); this file shows what it computes.
//
//   DDPG: Lillicrap et al. 2015, "Continuous control with deep reinforcement learning",
//         Algorithm 1.
//   TD3:  Fujimoto et al. 2018, "Addressing Function Approximation Error in
//         Actor-Critic Methods", Algorithm 1: DDPG plus twin critics, target policy
//         smoothing and delayed policy updates.
//
// Read in this order:
//   1. the hyper-parameters (`PendulumTrainingOptions`, each with its default and source);
//   2. the networks: actor μ(s) and critic Q(s, a) (`DDPGAgent.init`);
//   3. acting: the policy plus Gaussian exploration noise (`selectAction`);
//   4. storing transitions in the replay buffer (`observe`);
//   5. learning from a sampled batch (`learn`): the TD target, the critic loss, the
//      actor loss, the soft update of the target networks;
//   6. the loop that ties it together (`trainPendulum`).
import RecRLAgents
import RecRLNN
import RecRLTensor

/// The learning algorithm: DDPG, or TD3 (DDPG with its three additions).
public enum PendulumAlgorithm: String, Sendable, CaseIterable {
    /// Deep deterministic policy gradient (Lillicrap et al. 2015).
    case ddpg
    /// Twin delayed DDPG (Fujimoto et al. 2018).
    case td3
}

// MARK: - 1. Hyper-parameters

/// Hyper-parameters of the Pendulum tutorial, each with its default and where it comes from.
///
/// The defaults follow stable-baselines3 (SB3) and its tuned Pendulum settings in
/// rl-baselines3-zoo, scaled down where a smaller value learns Pendulum as well on a
/// laptop CPU. (The library's `DDPGConfiguration` defaults are a different setting:
/// the DRR recommender's, γ 0.9, τ 0.001.)
public struct PendulumTrainingOptions: Sendable, Equatable {
    /// DDPG or TD3.
    public var algorithm: PendulumAlgorithm = .ddpg
    /// Seeds the networks, the environment, exploration and replay sampling.
    public var seed: UInt64 = 0
    /// Environment steps to train for (default 20 000, 100 episodes of 200 steps).
    public var steps: Int = 20_000
    /// Hidden widths of actor and critic (default [64, 64]; SB3 uses [400, 300], the small
    /// net learns Pendulum as well and runs several times faster).
    public var hiddenSizes: [Int] = [64, 64]
    /// Discount γ of the TD target (default 0.98, rl-baselines3-zoo's Pendulum setting;
    /// SB3's default is 0.99).
    public var gamma: Float = 0.98
    /// Soft-update rate τ of the target networks (default 0.005, SB3 and Fujimoto et al.
    /// 2018; Lillicrap et al. use 0.001).
    public var tau: Float = 0.005
    /// Adam learning rate of the actor (default 1e-3, SB3; Lillicrap et al. use 1e-4).
    public var actorLearningRate: Float = 1e-3
    /// Adam learning rate of the critic(s) (default 1e-3, SB3 and Lillicrap et al.).
    public var criticLearningRate: Float = 1e-3
    /// Transitions per update (default 128; SB3 uses 256 for DDPG, Fujimoto et al. 100).
    public var batchSize: Int = 128
    /// Uniformly random actions and no learning for this many first steps (default 1000;
    /// SB3's `learning_starts` is 100, rl-baselines3-zoo's 10 000).
    public var learningStarts: Int = 1000
    /// Standard deviation of the Gaussian exploration noise, relative to the torque bound
    /// (default 0.1, SB3 and Fujimoto et al.; Lillicrap et al. use an Ornstein–Uhlenbeck process).
    public var explorationNoise: Float = 0.1
    /// Replay capacity in transitions (default 200 000, rl-baselines3-zoo).
    public var bufferCapacity: Int = 200_000
    /// TD3 only: standard deviation of the target policy smoothing noise, relative to the
    /// torque bound (default 0.2, Fujimoto et al.).
    public var targetPolicyNoise: Float = 0.2
    /// TD3 only: the smoothing noise is clipped to ± this, relative to the torque bound
    /// (default 0.5, Fujimoto et al.).
    public var targetNoiseClip: Float = 0.5
    /// TD3 only: the actor and the targets are updated every `policyDelay` critic
    /// updates (default 2, Fujimoto et al.).
    public var policyDelay: Int = 2

    /// The defaults above for `algorithm`, `seed` and `steps`.
    public init(algorithm: PendulumAlgorithm = .ddpg, seed: UInt64 = 0, steps: Int = 20_000) {
        self.algorithm = algorithm
        self.seed = seed
        self.steps = steps
    }
}

/// The outcome of one training run.
public struct PendulumTrainingResult: Sendable, Equatable {
    /// The options it ran with.
    public var options: PendulumTrainingOptions
    /// The return of every finished episode, in order.
    public var episodeReturns: [Float]
    /// Wall-clock seconds of the whole run.
    public var seconds: Double

    /// The mean return of the last (up to) 10 finished episodes; `-infinity` when none finished.
    public var meanReturnLast10: Float {
        let last = episodeReturns.suffix(10)
        return last.isEmpty ? -.infinity : last.reduce(0, +) / Float(last.count)
    }

    /// One JSON object with the contract fields `algo`, `seed`, `steps`,
    /// `mean_return_last10`, `seconds` (and `episodes`).
    public var json: String {
        let mean = meanReturnLast10.isFinite ? "\(meanReturnLast10)" : "null"
        let secs = (seconds * 1000).rounded() / 1000
        return "{\"algo\":\"\(options.algorithm.rawValue)\",\"seed\":\(options.seed),\"steps\":\(options.steps),"
            + "\"episodes\":\(episodeReturns.count),\"mean_return_last10\":\(mean),\"seconds\":\(secs)}"
    }
}

// MARK: - The agent

/// DDPG or TD3, written out. It plays the ``AgentProtocol`` role, so
/// ``EnvironmentLoop`` drives it: `selectAction`, then `observe` the outcome, then `update`.
struct DDPGAgent: AgentProtocol {
    let options: PendulumTrainingOptions
    /// The torque bound: actions lie in [−maxAction, maxAction] (2 N·m for Pendulum).
    let maxAction: Float

    // MARK: 2. Networks
    // Actor μ(s): S → 64 → 64 → A, ReLU hidden layers, tanh output scaled by maxAction.
    // Critic Q(s, a): (S + A) → 64 → 64 → 1, ReLU hidden layers, linear output.
    // TD3 learns two critics Q₁, Q₂ and uses the smaller of their target values.
    // Each network has a target copy (μ', Q'), which trails it through the soft update.
    var actor: MLP
    var targetActor: MLP
    var critics: [MLP]
    var targetCritics: [MLP]
    var actorOptimizer: Adam
    var criticOptimizers: [Adam]

    // The replay buffer and the generator of every random choice the agent makes.
    var buffer: UniformReplayBuffer
    var rng: Xoshiro256StarStar
    var environmentSteps = 0
    var updates = 0
    var lastObservation: Tensor?

    // Buffers reused by every update (the layers write into their contexts).
    var batch: TransitionBatch
    var actingContext: MLP.Context
    var actorContext: MLP.Context
    var targetActorContext: MLP.Context
    var criticContexts: [MLP.Context]
    var targetCriticContexts: [MLP.Context]
    var actorGradient: MLP
    var criticGradients: [MLP]
    var criticInput = ColumnConcatenation()
    var nextActions = Tensor(zeros: [0])
    var policyActions = Tensor(zeros: [0])
    var targets = Tensor(zeros: [0])
    var qGradient = Tensor(zeros: [0])
    var actorOutputGradient = Tensor(zeros: [0])

    init(options: PendulumTrainingOptions, stateSize: Int, actionSpec: BoundedSpec, seed: UInt64) {
        precondition(
            actionSpec.isFinite && actionSpec.minimum.indices.allSatisfy { actionSpec.minimum[$0] == -actionSpec.maximum[$0] },
            "the tutorial's actor scales tanh by the bound: it needs symmetric finite action bounds")
        self.options = options
        maxAction = actionSpec.maximum[0]
        let actionSize = actionSpec.count
        var rng = Xoshiro256StarStar(seed: seed)
        actor = MLP(
            sizes: [stateSize] + options.hiddenSizes + [actionSize], hiddenActivation: .relu,
            outputActivation: .tanh, using: &rng)
        let criticCount = options.algorithm == .td3 ? 2 : 1
        critics = (0..<criticCount).map { _ in
            MLP(
                sizes: [stateSize + actionSize] + options.hiddenSizes + [1], hiddenActivation: .relu,
                outputActivation: .identity, using: &rng)
        }
        // The targets start as exact copies (value types: assignment copies the weights).
        targetActor = actor
        targetCritics = critics
        actorOptimizer = Adam(learningRate: options.actorLearningRate)
        criticOptimizers = critics.map { _ in Adam(learningRate: options.criticLearningRate) }

        buffer = UniformReplayBuffer(capacity: options.bufferCapacity, stateSize: stateSize, actionSize: actionSize)
        self.rng = rng
        batch = TransitionBatch(batchSize: options.batchSize, stateSize: stateSize, actionSize: actionSize)
        actingContext = actor.makeContext()
        actorContext = actor.makeContext()
        targetActorContext = actor.makeContext()
        criticContexts = critics.map { $0.makeContext() }
        targetCriticContexts = critics.map { $0.makeContext() }
        actorGradient = actor.zeroGradient()
        criticGradients = critics.map { $0.zeroGradient() }
    }

    // MARK: 3. Acting

    /// `a = clip(μ(s) + ε, −maxAction, maxAction)`, `ε ~ N(0, (σ · maxAction)²)`;
    /// uniformly random actions during the first `learningStarts` steps, so the replay
    /// buffer starts with varied data.
    mutating func selectAction(_ observation: Tensor) -> Tensor {
        let actionSize = actor.outputSize
        if environmentSteps < options.learningStarts {
            return Tensor((0..<actionSize).map { _ in maxAction * (2 * rng.nextUnitFloat() - 1) })
        }
        actor.forward(observation.reshaped([1, observation.count]), context: &actingContext)
        let mu = actingContext.output
        let sigma = options.explorationNoise * maxAction
        return Tensor(
            (0..<actionSize).map { j in
                let noisy = maxAction * mu[flat: j] + sigma * rng.nextNormalFloat()
                return min(max(noisy, -maxAction), maxAction)
            })
    }

    // MARK: 4. Storing transitions

    mutating func observeFirst(_ timeStep: TimeStep) {
        lastObservation = timeStep.observation
    }

    /// Stores `(s, a, r, d, s')`. The environment's discount `d` is 0 when an episode
    /// terminates and 1 when it is cut by the time limit (Pendulum's case), so the TD
    /// target below bootstraps exactly when it should.
    mutating func observe(action: Tensor, next: TimeStep) {
        guard let state = lastObservation else { preconditionFailure("observe(action:next:) before observeFirst(_:)") }
        buffer.add(state: state, action: action, reward: next.reward, discount: next.discount, nextState: next.observation)
        lastObservation = next.observation
        environmentSteps += 1
    }

    /// One update per environment step, once the buffer holds `learningStarts` transitions.
    mutating func update() {
        guard buffer.count >= max(options.learningStarts, 1) else { return }
        buffer.sample(into: &batch, using: &rng)
        learn(from: batch)
    }

    // MARK: 5. Learning

    mutating func learn(from batch: TransitionBatch) {
        let b = batch.count
        let gamma = options.gamma

        // 5a. TD target:  y = r + γ · d · min_i Q'_i(s', a'),   a' = μ'(s')
        //     TD3 smooths the target policy: a' = clip(μ'(s') + clip(ε, −c, c), −max, max),
        //     ε ~ N(0, σ̃²), which keeps the critic from exploiting sharp peaks of Q.
        targetActor.forward(batch.nextStates, context: &targetActorContext)
        scaleActions(targetActorContext.output, into: &nextActions)
        if options.algorithm == .td3 {
            let sigma = options.targetPolicyNoise * maxAction, clip = options.targetNoiseClip * maxAction
            nextActions.withUnsafeMutableBufferPointer { a in
                for k in 0..<a.count {
                    let noise = min(max(sigma * rng.nextNormalFloat(), -clip), clip)
                    a[k] = min(max(a[k] + noise, -maxAction), maxAction)
                }
            }
        }
        let targetInput = criticInput.join(batch.nextStates, nextActions)
        for i in targetCritics.indices {
            targetCritics[i].forward(targetInput, context: &targetCriticContexts[i])
        }
        targets.prepare(rows: b, columns: 1)
        for k in 0..<b {
            var nextQ = targetCriticContexts[0].output[flat: k]
            for i in targetCritics.indices.dropFirst() { nextQ = min(nextQ, targetCriticContexts[i].output[flat: k]) }
            targets[flat: k] = batch.rewards[flat: k] + gamma * batch.discounts[flat: k] * nextQ
        }

        // 5b. Critic loss:  L_Q = mean_k (Q_i(s_k, a_k) − y_k)²  for each critic, then one
        //     Adam step on its weights. The target y is a constant: no gradient flows into
        //     the target networks.
        let input = criticInput.join(batch.states, batch.actions)
        for i in critics.indices {
            critics[i].forward(input, context: &criticContexts[i])
            MeanSquaredError.gradient(predicted: criticContexts[i].output, target: targets, into: &qGradient)
            critics[i].backward(
                input: input, outputGradient: qGradient, context: &criticContexts[i],
                gradient: &criticGradients[i], computeParameterGradient: true, computeInputGradient: false)
            criticOptimizers[i].update(&critics[i], along: criticGradients[i])
        }
        updates += 1

        // TD3 delays the policy: the actor and the targets move every `policyDelay`
        // critic updates, so the actor follows a critic that has settled.
        let delay = options.algorithm == .td3 ? options.policyDelay : 1
        guard updates % delay == 0 else { return }

        // 5c. Actor loss:  L_μ = −mean_k Q₁(s_k, μ(s_k)), the deterministic policy
        //     gradient. Back-propagate through the critic, whose weights stay fixed (only
        //     the gradient with respect to its action input is needed), then through the
        //     actor, and take one Adam step on the actor's weights.
        actor.forward(batch.states, context: &actorContext)
        scaleActions(actorContext.output, into: &policyActions)
        let policyInput = criticInput.join(batch.states, policyActions)
        critics[0].forward(policyInput, context: &criticContexts[0])
        qGradient.prepare(rows: b, columns: 1)
        qGradient.fill(-1 / Float(b))  // dL_μ/dQ₁ for each row
        critics[0].backward(
            input: policyInput, outputGradient: qGradient, context: &criticContexts[0],
            gradient: &criticGradients[0], computeParameterGradient: false, computeInputGradient: true)
        criticInput.split(criticContexts[0].inputGradient, first: false, second: true)  // dL_μ/da
        actorOutputGradient.assign(criticInput.secondGradient)
        actorOutputGradient *= maxAction  // a = maxAction · tanh(·)
        actor.backward(
            input: batch.states, outputGradient: actorOutputGradient, context: &actorContext,
            gradient: &actorGradient, computeParameterGradient: true, computeInputGradient: false)
        actorOptimizer.update(&actor, along: actorGradient)

        // 5d. Soft update of the target networks:  θ' ← τ θ + (1 − τ) θ'
        Self.softUpdate(&targetActor, toward: actor, tau: options.tau)
        for i in critics.indices { Self.softUpdate(&targetCritics[i], toward: critics[i], tau: options.tau) }
    }

    /// `actions = maxAction · tanhOutput`, element-wise.
    func scaleActions(_ tanhOutput: Tensor, into actions: inout Tensor) {
        actions.assign(tanhOutput)
        actions *= maxAction
    }

    /// Polyak averaging, parameter by parameter: `θ' ← τ θ + (1 − τ) θ'`.
    static func softUpdate(_ target: inout MLP, toward source: MLP, tau: Float) {
        target.updateParameters(pairedWith: source) { targetParameter, parameter in
            parameter.withUnsafeBufferPointer { theta in
                targetParameter.withUnsafeMutableBufferPointer { thetaPrime in
                    for i in 0..<thetaPrime.count { thetaPrime[i] = tau * theta[i] + (1 - tau) * thetaPrime[i] }
                }
            }
        }
    }
}

// MARK: - 6. The training loop

/// Trains DDPG or TD3 on ``Pendulum`` and returns the episode returns.
///
/// - Parameters:
///   - options: the hyper-parameters.
///   - progress: called after every episode (for progress lines).
public func trainPendulum(
    _ options: PendulumTrainingOptions,
    progress: (EpisodeStatistics) -> Void = { _ in }
) -> PendulumTrainingResult {
    // One seed drives everything, through independent streams drawn in a fixed order.
    var seeds = Xoshiro256StarStar(seed: options.seed)
    let environment = Pendulum(seed: seeds.next())
    let agent = DDPGAgent(
        options: options, stateSize: environment.observationSpec.count,
        actionSpec: environment.actionSpec, seed: seeds.next())
    // acme's loop: reset, then select-action / step / observe / update, episode after episode.
    var loop = EnvironmentLoop(environment: environment, agent: agent)
    let clock = ContinuousClock(), start = clock.now
    let episodes = loop.run(steps: options.steps, seed: seeds.next(), progress: progress)
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return PendulumTrainingResult(options: options, episodeReturns: episodes.map(\.episodeReturn), seconds: seconds)
}
