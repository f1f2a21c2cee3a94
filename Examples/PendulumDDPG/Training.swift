// Pendulum-v1 with DDPG or TD3, reading top to bottom like the papers.
//
//   DDPG: Lillicrap et al. 2015, "Continuous control with deep reinforcement learning".
//   TD3:  Fujimoto et al. 2018, "Addressing Function Approximation Error in Actor-Critic Methods".
//
// The library's DDPG defaults follow WORKLOAD.md (the DRR recommender setting: γ 0.9,
// τ 0.001, lr 1e-4/1e-3); this example sets its own, close to stable-baselines3's
// tuned Pendulum settings (rl-baselines3-zoo), documented on `PendulumTrainingOptions`.
import RecRLTensor
import RecRLAgents

/// The learning algorithm: DDPG, or TD3 (DDPG with its three switches on).
public enum PendulumAlgorithm: String, Sendable, CaseIterable {
    /// Deep deterministic policy gradient (Lillicrap et al. 2015).
    case ddpg
    /// Twin delayed DDPG (Fujimoto et al. 2018).
    case td3
}

/// Hyper-parameters of the Pendulum example (each default with its source).
public struct PendulumTrainingOptions: Sendable, Equatable {
    /// DDPG or TD3.
    public var algorithm: PendulumAlgorithm = .ddpg
    /// Seeds the networks, the environment, exploration and replay sampling.
    public var seed: UInt64 = 0
    /// Environment steps to train for (default 20 000, 100 episodes of 200 steps).
    public var steps: Int = 20_000
    /// Hidden widths of actor and critic (default [64, 64]; SB3 uses [400, 300], the small
    /// net learns Pendulum as well and runs several times faster on a laptop CPU).
    public var hiddenSizes: [Int] = [64, 64]
    /// Discount γ (default 0.98, rl-baselines3-zoo's Pendulum setting; SB3's default 0.99).
    public var gamma: Float = 0.98
    /// Soft update τ (default 0.005, SB3 and Fujimoto et al. 2018).
    public var tau: Float = 0.005
    /// Adam learning rate of the actor (default 1e-3, SB3).
    public var actorLearningRate: Float = 1e-3
    /// Adam learning rate of the critic (default 1e-3, SB3).
    public var criticLearningRate: Float = 1e-3
    /// Batch size (default 128; SB3 uses 256 for DDPG, 100/256 for TD3).
    public var batchSize: Int = 128
    /// Uniformly random actions and no learning for this many first steps (default 1000;
    /// SB3's `learning_starts` is 100, rl-zoo's 10 000).
    public var learningStarts: Int = 1000
    /// Gaussian exploration σ relative to the torque half-range (default 0.1, SB3 / Fujimoto et al.).
    public var explorationNoise: Float = 0.1
    /// Replay capacity (default 200 000, rl-baselines3-zoo).
    public var bufferCapacity: Int = 200_000

    /// The defaults above for `algorithm`, `seed` and `steps`.
    public init(algorithm: PendulumAlgorithm = .ddpg, seed: UInt64 = 0, steps: Int = 20_000) {
        self.algorithm = algorithm
        self.seed = seed
        self.steps = steps
    }

    /// The learner configuration: the example's γ, τ and learning rates, plus TD3's
    /// switches (twin critics, target noise 0.2 clipped at 0.5, policy delay 2) for `.td3`.
    public var learnerConfiguration: DDPGConfiguration {
        var c = algorithm == .td3 ? DDPGConfiguration.td3 : DDPGConfiguration.ddpg
        c.gamma = gamma
        c.tau = tau
        c.actorLearningRate = actorLearningRate
        c.criticLearningRate = criticLearningRate
        return c
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

/// Trains DDPG or TD3 on ``Pendulum`` and returns the episode returns.
///
/// - Parameters:
///   - options: the hyper-parameters.
///   - progress: called after every episode (for progress lines).
public func trainPendulum(_ options: PendulumTrainingOptions,
                          progress: (EpisodeStatistics) -> Void = { _ in }) -> PendulumTrainingResult {
    var seeds = Xoshiro256StarStar(seed: options.seed)
    let environment = Pendulum(seed: seeds.next())
    let spec = environment.actionSpec
    let stateSize = environment.observationSpec.count, actionSize = spec.count

    // Actor μ: 3 → 64 → 64 → 1 (tanh, scaled to ±2 N·m); critic(s) Q: 4 → 64 → 64 → 1.
    let learner = DDPGLearner(stateSize: stateSize, actionSize: actionSize, hiddenSizes: options.hiddenSizes,
                              batchSize: options.batchSize, actionSpec: spec,
                              configuration: options.learnerConfiguration, seed: seeds.next())
    // Replay: a preallocated ring, uniform sampling.
    let buffer = UniformReplayBuffer(capacity: options.bufferCapacity, stateSize: stateSize, actionSize: actionSize)
    // Exploration: Gaussian noise on the torque.
    let exploration = GaussianExploration(standardDeviation: .constant(options.explorationNoise))
    // Learning starts after `learningStarts` random steps, then one update per step.
    let agentConfiguration = AgentConfiguration(batchSize: options.batchSize, minObservationsBeforeLearning: options.learningStarts,
                                                updatesPerStep: 1, randomActionSteps: options.learningStarts)
    let agent = Agent(learner: learner, buffer: buffer, exploration: exploration, actionSpec: spec,
                      configuration: agentConfiguration, seed: seeds.next())

    var loop = EnvironmentLoop(environment: environment, agent: agent)
    let clock = ContinuousClock(), start = clock.now
    let episodes = loop.run(steps: options.steps, seed: seeds.next(), progress: progress)
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return PendulumTrainingResult(options: options, episodeReturns: episodes.map(\.episodeReturn), seconds: seconds)
}
