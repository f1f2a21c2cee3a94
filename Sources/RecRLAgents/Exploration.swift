import RecRLTensor
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A scalar hyper-parameter as a function of a step count (exploration scale, ε, PER's β).
public enum Schedule: Sendable, Equatable, Hashable {
    /// Always `value`.
    case constant(Float)
    /// `from + (to − from) · min(step / steps, 1)`: linear from `from` at step 0 to `to`
    /// at `steps`, then constant.
    case linear(from: Float, to: Float, steps: Int)
    /// `max(minimum, initial · rate^step)`: exponential decay with a floor.
    case exponential(initial: Float, rate: Float, minimum: Float)

    /// The value at `step` (≥ 0).
    public func value(at step: Int) -> Float {
        let t = Swift.max(step, 0)
        switch self {
        case let .constant(v):
            return v
        case let .linear(from, to, steps):
            guard steps > 0 else { return to }
            let f = Swift.min(Float(t) / Float(steps), 1)
            return from + (to - from) * f
        case let .exponential(initial, rate, minimum):
            return Swift.max(minimum, Float(Double(initial) * pow(Double(rate), Double(t))))
        }
    }
}

/// Perturbs a policy's action for exploration.
///
/// Scales are relative to the action range: a scale of `σ` means `σ · (max − min) / 2`
/// per element, so `σ = 0.1` on a `[−2, 2]` torque is 0.2 N·m (stable-baselines3
/// applies its σ to actions normalised to `[−1, 1]`, which is the same). The result is
/// clipped to the spec. Unbounded elements use a half-range of 1.
public protocol ExplorationStrategy: Sendable {
    /// Called at the start of every episode (resets temporally correlated noise).
    mutating func reset()
    /// Perturbs `action` (one action, `spec.count` scalars) in place at environment step `step`.
    mutating func explore<G: RandomNumberGenerator>(_ action: inout Tensor, step: Int, spec: BoundedSpec, using rng: inout G)
}

extension BoundedSpec {
    /// `(max − min) / 2` of element `i`, or 1 when it is unbounded.
    func halfRange(_ i: Int) -> Float {
        let lo = minimum[i], hi = maximum[i]
        return lo.isFinite && hi.isFinite ? (hi - lo) / 2 : 1
    }
}

/// No exploration: the greedy action (for evaluation).
public struct NoExploration: ExplorationStrategy {
    /// The identity strategy.
    public init() {}
    public mutating func reset() {}
    public mutating func explore<G: RandomNumberGenerator>(_ action: inout Tensor, step: Int, spec: BoundedSpec, using rng: inout G) {}
}

/// Independent Gaussian action noise `a + σ(step) · halfRange · N(0, 1)`, clipped to
/// the spec (Fujimoto et al. 2018 use σ = 0.1; stable-baselines3's usual choice).
public struct GaussianExploration: ExplorationStrategy {
    /// The relative standard deviation σ as a function of the step (default constant 0.1).
    public var standardDeviation: Schedule

    /// - Parameter standardDeviation: σ relative to the action half-range (default `.constant(0.1)`).
    public init(standardDeviation: Schedule = .constant(0.1)) {
        self.standardDeviation = standardDeviation
    }

    public mutating func reset() {}

    public mutating func explore<G: RandomNumberGenerator>(_ action: inout Tensor, step: Int, spec: BoundedSpec, using rng: inout G) {
        let sigma = standardDeviation.value(at: step)
        action.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count { a[i] += sigma * spec.halfRange(i) * rng.nextNormalFloat() }
        }
        spec.clip(&action)
    }
}

/// Ornstein–Uhlenbeck noise, temporally correlated (Uhlenbeck & Ornstein 1930), as in
/// DDPG (Lillicrap et al. 2015: θ = 0.15, σ = 0.2):
/// `x ← x + θ (μ − x) dt + σ(step) √dt · N(0, 1)`, action `a + halfRange · x`, clipped.
///
/// `dt` defaults to 1e-2 (OpenAI baselines, stable-baselines3); the state `x` restarts
/// at μ every episode.
public struct OrnsteinUhlenbeckExploration: ExplorationStrategy {
    /// Mean reversion rate θ (default 0.15).
    public var theta: Float
    /// The long-run mean μ (default 0).
    public var mean: Float
    /// The volatility σ as a function of the step (default constant 0.2).
    public var standardDeviation: Schedule
    /// The time step dt (default 1e-2).
    public var dt: Float
    /// The process state x, one per action element.
    public private(set) var state: [Float] = []

    /// - Parameters:
    ///   - theta: mean reversion θ (default 0.15).
    ///   - mean: long-run mean μ (default 0).
    ///   - standardDeviation: σ (default `.constant(0.2)`).
    ///   - dt: time step (default 1e-2).
    public init(theta: Float = 0.15, mean: Float = 0, standardDeviation: Schedule = .constant(0.2), dt: Float = 1e-2) {
        self.theta = theta
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.dt = dt
    }

    public mutating func reset() {
        for i in state.indices { state[i] = mean }
    }

    public mutating func explore<G: RandomNumberGenerator>(_ action: inout Tensor, step: Int, spec: BoundedSpec, using rng: inout G) {
        if state.count != action.count { state = [Float](repeating: mean, count: action.count) }
        let sigma = standardDeviation.value(at: step), rootDt = dt.squareRoot()
        for i in state.indices {
            state[i] += theta * (mean - state[i]) * dt + sigma * rootDt * rng.nextNormalFloat()
        }
        action.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count { a[i] += spec.halfRange(i) * state[i] }
        }
        spec.clip(&action)
    }
}

/// ε-greedy for continuous actions: with probability ε(step) the action is replaced by
/// one drawn uniformly from the spec (standard normal for unbounded elements),
/// otherwise it is kept (Sutton & Barto 2018, §2.2; Mnih et al. 2015 anneal ε linearly).
public struct EpsilonGreedyExploration: ExplorationStrategy {
    /// ε as a function of the step (default linear 1 → 0.05 over 10 000 steps).
    public var epsilon: Schedule

    /// - Parameter epsilon: the replacement probability (default `.linear(from: 1, to: 0.05, steps: 10_000)`).
    public init(epsilon: Schedule = .linear(from: 1, to: 0.05, steps: 10_000)) {
        self.epsilon = epsilon
    }

    public mutating func reset() {}

    public mutating func explore<G: RandomNumberGenerator>(_ action: inout Tensor, step: Int, spec: BoundedSpec, using rng: inout G) {
        if rng.nextUnitFloat() < epsilon.value(at: step) {
            let random = spec.sample(using: &rng)
            action.withUnsafeMutableBufferPointer { a in
                random.withUnsafeBufferPointer { r in
                    for i in 0..<a.count { a[i] = r[i] }
                }
            }
        }
    }
}
