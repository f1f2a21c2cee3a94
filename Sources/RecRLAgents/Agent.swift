import RecRLTensor
import RecRLNN

/// Something that acts in an ``Environment`` and learns from it (acme's actor role),
/// driven by an ``EnvironmentLoop``.
public protocol AgentProtocol {
    /// The action (one, `actionSpec.count` scalars) for `observation`, exploring.
    mutating func selectAction(_ observation: Tensor) -> Tensor
    /// Records the `.first` step of a new episode.
    mutating func observeFirst(_ timeStep: TimeStep)
    /// Records that `action` led to `next`.
    mutating func observe(action: Tensor, next: TimeStep)
    /// Learns, if it is time to (called once per environment step).
    mutating func update()
}

/// When and how much an ``Agent`` learns.
public struct AgentConfiguration: Sendable, Equatable, Hashable {
    /// Transitions per learner update (default 64, WORKLOAD.md's `B`).
    public var batchSize: Int
    /// Transitions stored before the first update (default 1000; stable-baselines3
    /// calls it `learning_starts`).
    public var minObservationsBeforeLearning: Int
    /// Learner updates per environment step once learning (default 1).
    public var updatesPerStep: Int
    /// Environment steps at the start whose actions are drawn uniformly from the action
    /// spec instead of the policy (default 0; stable-baselines3 does this for its
    /// `learning_starts` steps).
    public var randomActionSteps: Int

    /// A configuration; every parameter defaults to the value documented on its property.
    public init(batchSize: Int = 64, minObservationsBeforeLearning: Int = 1000, updatesPerStep: Int = 1, randomActionSteps: Int = 0) {
        precondition(
            batchSize > 0 && minObservationsBeforeLearning >= 0 && updatesPerStep >= 0 && randomActionSteps >= 0,
            "AgentConfiguration: sizes must be non-negative (batch size positive)")
        self.batchSize = batchSize
        self.minObservationsBeforeLearning = minObservationsBeforeLearning
        self.updatesPerStep = updatesPerStep
        self.randomActionSteps = randomActionSteps
    }
}

/// An off-policy agent: a ``Learner`` (e.g. ``DDPGLearner``), a ``ReplayBuffer`` and an
/// ``ExplorationStrategy`` (acme's composition of acting, storing and learning).
///
/// Every environment step stores one transition; once the buffer holds
/// ``AgentConfiguration/minObservationsBeforeLearning`` transitions, each ``update()``
/// samples ``AgentConfiguration/updatesPerStep`` batches and updates the learner,
/// feeding the TD errors back to the buffer (for prioritized replay). All randomness
/// (exploration, sampling) comes from the agent's seeded generator.
public struct Agent<L: Learner, Buffer: ReplayBuffer, Exploration: ExplorationStrategy>: AgentProtocol, Sendable {
    /// The learner (its ``Learner/actor`` is the policy).
    public var learner: L
    /// The replay buffer.
    public var buffer: Buffer
    /// The exploration strategy.
    public var exploration: Exploration
    /// The environment's action spec (actions are clipped to it).
    public let actionSpec: BoundedSpec
    /// When and how much to learn.
    public let configuration: AgentConfiguration
    /// Environment steps observed so far.
    public private(set) var environmentSteps = 0
    /// The statistics of the most recent learner update.
    public private(set) var lastUpdate: L.Statistics?
    var rng: Xoshiro256StarStar
    var batch: TransitionBatch
    var actingContext: L.Policy.Context
    var actingInput = Tensor(zeros: [0])
    var lastObservation: Tensor?

    /// An agent.
    ///
    /// - Parameters:
    ///   - learner: the learner, whose actor acts.
    ///   - buffer: the replay buffer (sizes must fit the learner's).
    ///   - exploration: the exploration strategy.
    ///   - actionSpec: the environment's action spec.
    ///   - configuration: when and how much to learn (default ``AgentConfiguration/init(batchSize:minObservationsBeforeLearning:updatesPerStep:randomActionSteps:)``).
    ///   - seed: seeds the agent's generator (exploration and replay sampling).
    public init(
        learner: L, buffer: Buffer, exploration: Exploration, actionSpec: BoundedSpec,
        configuration: AgentConfiguration = AgentConfiguration(), seed: UInt64
    ) {
        precondition(
            buffer.stateSize == learner.stateSize && buffer.actionSize == learner.actionSize
                && actionSpec.count == learner.actionSize,
            "Agent: buffer (\(buffer.stateSize), \(buffer.actionSize)), action spec \(actionSpec.shape) and learner (\(learner.stateSize), \(learner.actionSize)) differ"
        )
        self.learner = learner
        self.buffer = buffer
        self.exploration = exploration
        self.actionSpec = actionSpec
        self.configuration = configuration
        self.rng = Xoshiro256StarStar(seed: seed)
        self.batch = TransitionBatch(batchSize: configuration.batchSize, stateSize: learner.stateSize, actionSize: learner.actionSize)
        self.actingContext = learner.actor.makeContext()
    }

    /// The policy's action for `observation`, without exploration.
    public mutating func greedyAction(_ observation: Tensor) -> Tensor {
        precondition(
            observation.count == learner.stateSize,
            "Agent: observation of shape \(observation.shape), the actor takes \(learner.stateSize)")
        actingInput.assign(observation)
        actingInput = actingInput.reshaped([1, learner.stateSize])
        learner.actor.forward(actingInput, context: &actingContext)
        return actingContext.output.reshaped([learner.actionSize])
    }

    /// A uniformly random action for the first ``AgentConfiguration/randomActionSteps``
    /// steps, then the policy's action perturbed by ``exploration`` and clipped to ``actionSpec``.
    public mutating func selectAction(_ observation: Tensor) -> Tensor {
        if environmentSteps < configuration.randomActionSteps {
            return actionSpec.sample(using: &rng)
        }
        var action = greedyAction(observation)
        exploration.explore(&action, step: environmentSteps, spec: actionSpec, using: &rng)
        actionSpec.clip(&action)
        return action
    }

    /// Remembers the first observation and resets the exploration noise.
    public mutating func observeFirst(_ timeStep: TimeStep) {
        lastObservation = timeStep.observation
        exploration.reset()
    }

    /// Stores `(previous observation, action, next.reward, next.discount, next.observation)`.
    public mutating func observe(action: Tensor, next: TimeStep) {
        guard let previous = lastObservation else {
            preconditionFailure("Agent.observe(action:next:) before observeFirst(_:)")
        }
        buffer.add(state: previous, action: action, reward: next.reward, discount: next.discount, nextState: next.observation)
        lastObservation = next.observation
        environmentSteps += 1
    }

    /// Once the buffer holds ``AgentConfiguration/minObservationsBeforeLearning`` transitions:
    /// ``AgentConfiguration/updatesPerStep`` times sample a batch, update the learner and
    /// feed its TD errors back to the buffer's priorities.
    public mutating func update() {
        guard buffer.count >= Swift.max(configuration.minObservationsBeforeLearning, 1) else { return }
        for _ in 0..<configuration.updatesPerStep {
            buffer.sample(into: &batch, using: &rng)
            lastUpdate = learner.update(batch)
            if learner.tdErrors.count == batch.count {
                buffer.updatePriorities(indices: batch.indices, tdErrors: learner.tdErrors)
            }
        }
    }
}

/// The statistics of one finished episode.
public struct EpisodeStatistics: Sendable, Equatable, Hashable {
    /// The episode's number, from 1.
    public var episode: Int
    /// Its length in environment steps.
    public var length: Int
    /// The undiscounted return `Σ r`.
    public var episodeReturn: Float
    /// Environment steps since the loop started, including this episode.
    public var totalSteps: Int
    /// Wall-clock seconds since the loop started.
    public var seconds: Double
}

/// Runs an agent in an environment (acme's `EnvironmentLoop`): reset, then
/// select-action / step / observe / update until a step budget is spent.
public struct EnvironmentLoop<E: Environment, G: AgentProtocol> {
    /// The environment.
    public var environment: E
    /// The agent.
    public var agent: G

    /// A loop of `agent` in `environment`.
    public init(environment: E, agent: G) {
        self.environment = environment
        self.agent = agent
    }

    /// Runs `steps` environment steps, starting with `environment.reset(seed: seed)`
    /// (later episodes continue the environment's generator), and returns the
    /// statistics of every finished episode; `progress` is called after each.
    ///
    /// With a seeded agent, the same `seed` gives bit-identical returns.
    @discardableResult
    public mutating func run(steps: Int, seed: UInt64, progress: (EpisodeStatistics) -> Void = { _ in }) -> [EpisodeStatistics] {
        precondition(steps >= 0, "run(steps:) needs a non-negative step count, got \(steps)")
        let clock = ContinuousClock(), start = clock.now
        var results: [EpisodeStatistics] = []
        var timeStep = environment.reset(seed: seed)
        agent.observeFirst(timeStep)
        var episodeReturn: Float = 0, length = 0
        var total = 0
        while total < steps {
            total += 1
            let action = agent.selectAction(timeStep.observation)
            timeStep = environment.step(action)
            agent.observe(action: action, next: timeStep)
            agent.update()
            episodeReturn += timeStep.reward
            length += 1
            if timeStep.isLast {
                let elapsed = clock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                let stats = EpisodeStatistics(
                    episode: results.count + 1, length: length, episodeReturn: episodeReturn,
                    totalSteps: total, seconds: seconds)
                results.append(stats)
                progress(stats)
                episodeReturn = 0
                length = 0
                timeStep = environment.reset()
                agent.observeFirst(timeStep)
            }
        }
        return results
    }
}
