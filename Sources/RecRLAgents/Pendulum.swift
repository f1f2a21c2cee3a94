import RecRLTensor
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The inverted pendulum swing-up task with exactly Gymnasium's `Pendulum-v1`
/// dynamics, and its 200-step time limit.
///
/// State `(θ, θ̇)` with `θ = 0` upright. One step with torque `u = clip(action, −2, 2)`:
/// ```
/// reward    = −(normalize(θ)² + 0.1·θ̇² + 0.001·u²)          (of the state before the step)
/// θ̇'        = clip(θ̇ + (3g/(2l)·sin θ + 3/(m l²)·u)·dt, −8, 8)
/// θ'        = θ + θ̇'·dt
/// ```
/// with `g = 10`, `m = 1`, `l = 1`, `dt = 0.05` and `normalize` mapping an angle
/// into `[−π, π)`. The observation is `(cos θ, sin θ, θ̇)`. A reset draws
/// `θ ~ U[−π, π]`, `θ̇ ~ U[−1, 1]`. The task never terminates: after
/// ``maxEpisodeSteps`` steps the episode is truncated (`.last` with discount 1).
/// The dynamics run in Double, as Gymnasium's numpy code does; observations are Float.
public struct Pendulum: Environment, Sendable {
    /// Gravity g (m/s²), 10.0 as in Gymnasium.
    public let gravity = 10.0
    /// Mass m (kg).
    public let mass = 1.0
    /// Length l (m).
    public let length = 1.0
    /// Time step dt (s).
    public let dt = 0.05
    /// Angular speed limit (rad/s).
    public let maxSpeed = 8.0
    /// Torque limit (N·m).
    public let maxTorque = 2.0
    /// The time limit (Gymnasium's `TimeLimit` wrapper for `Pendulum-v1`), default 200.
    public let maxEpisodeSteps: Int

    /// The angle θ (rad), 0 upright.
    public private(set) var angle = 0.0
    /// The angular velocity θ̇ (rad/s).
    public private(set) var angularVelocity = 0.0
    /// Steps taken in the current episode.
    public private(set) var episodeStep = 0
    private var needsReset = true
    private var rng: Xoshiro256StarStar

    /// A pendulum whose resets draw from a generator seeded with `seed`.
    ///
    /// - Parameters:
    ///   - seed: seeds the environment's own generator (reset with ``reset(seed:)`` to reseed).
    ///   - maxEpisodeSteps: the time limit in steps (default 200, as `Pendulum-v1`).
    public init(seed: UInt64 = 0, maxEpisodeSteps: Int = 200) {
        precondition(maxEpisodeSteps > 0, "Pendulum needs maxEpisodeSteps > 0, got \(maxEpisodeSteps)")
        self.maxEpisodeSteps = maxEpisodeSteps
        self.rng = Xoshiro256StarStar(seed: seed)
    }

    /// `(cos θ, sin θ, θ̇)` within `[−1, −1, −8] … [1, 1, 8]`.
    public var observationSpec: BoundedSpec {
        // Bounds are constant and valid.
        try! BoundedSpec(shape: [3], minimum: [-1, -1, -Float(maxSpeed)], maximum: [1, 1, Float(maxSpeed)], name: "observation")
    }

    /// The torque, one scalar in `[−2, 2]`.
    public var actionSpec: BoundedSpec {
        BoundedSpec(shape: [1], minimum: -Float(maxTorque), maximum: Float(maxTorque), name: "action")
    }

    /// The current observation `(cos θ, sin θ, θ̇)`.
    public var observation: Tensor {
        Tensor([Float(cos(angle)), Float(sin(angle)), Float(angularVelocity)])
    }

    /// Sets the state directly (for tests and demonstrations) and starts an episode there.
    public mutating func setState(angle: Double, angularVelocity: Double) -> TimeStep {
        self.angle = angle
        self.angularVelocity = angularVelocity
        episodeStep = 0
        needsReset = false
        return .first(observation)
    }

    /// Draws `θ ~ U[−π, π]`, `θ̇ ~ U[−1, 1]` from the environment's generator.
    public mutating func reset() -> TimeStep {
        let th = -Double.pi + 2 * Double.pi * rng.nextUnitDouble()
        let thdot = -1 + 2 * rng.nextUnitDouble()
        return setState(angle: th, angularVelocity: thdot)
    }

    /// Reseeds the generator with `seed`, then resets.
    public mutating func reset(seed: UInt64) -> TimeStep {
        rng = Xoshiro256StarStar(seed: seed)
        return reset()
    }

    /// Applies the torque `action[0]` (clipped to ±2) for `dt`; after a `.last` step
    /// (or before any reset) it resets instead and returns the new `.first` step.
    public mutating func step(_ action: Tensor) -> TimeStep {
        if needsReset { return reset() }
        precondition(action.count == 1, "Pendulum takes one torque, got shape \(action.shape)")
        let u = Swift.min(Swift.max(Double(action[flat: 0]), -maxTorque), maxTorque)
        let th = angle, thdot = angularVelocity
        let cost = Pendulum.normalizeAngle(th) * Pendulum.normalizeAngle(th) + 0.1 * thdot * thdot + 0.001 * u * u
        var newThdot = thdot + (3 * gravity / (2 * length) * sin(th) + 3 / (mass * length * length) * u) * dt
        newThdot = Swift.min(Swift.max(newThdot, -maxSpeed), maxSpeed)
        angle = th + newThdot * dt
        angularVelocity = newThdot
        episodeStep += 1
        let truncated = episodeStep >= maxEpisodeSteps
        if truncated { needsReset = true }
        return TimeStep(kind: truncated ? .last : .mid, reward: Float(-cost), discount: 1, observation: observation)
    }

    /// Maps an angle into `[−π, π)`: `((x + π) mod 2π) − π` with a floor modulo (Python's `%`).
    public static func normalizeAngle(_ x: Double) -> Double {
        let twoPi = 2 * Double.pi
        var r = (x + Double.pi).truncatingRemainder(dividingBy: twoPi)
        if r < 0 { r += twoPi }
        return r - Double.pi
    }
}
