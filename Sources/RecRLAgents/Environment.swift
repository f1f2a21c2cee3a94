import RecRLTensor

// MARK: Time steps

/// Where a ``TimeStep`` sits in its episode (dm_env's `StepType`).
public enum StepKind: Sendable, Equatable, Hashable {
    /// The first step of an episode, returned by `reset`: it carries no reward.
    case first
    /// A step inside an episode.
    case mid
    /// The last step of an episode: the environment terminated (``TimeStep/discount`` 0)
    /// or was truncated, e.g. by a time limit (discount kept, usually 1).
    case last
}

/// What an ``Environment`` returns from `reset` and `step`, in the dm_env style.
///
/// A discount of 0 ends the return (a terminal state); a truncated episode (time
/// limit) ends with `kind == .last` and its discount kept, so learners keep
/// bootstrapping from the last observation. That removes the classic `done`
/// versus truncation bug: a learner's target is `r + γ · discount · Q'(s', a')`.
public struct TimeStep: Sendable, Equatable {
    /// Whether this is the first, a middle or the last step of its episode.
    public var kind: StepKind
    /// The reward for the action that led here. 0 on a `.first` step (dm_env has
    /// `None` there; RecRL uses 0, which learners never read).
    public var reward: Float
    /// The discount in [0, 1] applied to the value of this step's observation:
    /// 0 when the episode terminated, 1 (kept) on a time-limit truncation and on
    /// middle steps of undiscounted-by-the-environment tasks. 1 on a `.first` step
    /// (dm_env has `None` there; learners never read it).
    public var discount: Float
    /// The observation, a rank-1 tensor that fits the environment's `observationSpec`.
    public var observation: Tensor

    /// A time step.
    public init(kind: StepKind, reward: Float, discount: Float, observation: Tensor) {
        self.kind = kind
        self.reward = reward
        self.discount = discount
        self.observation = observation
    }

    /// The first step of an episode: `reward` 0, `discount` 1.
    public static func first(_ observation: Tensor) -> TimeStep {
        TimeStep(kind: .first, reward: 0, discount: 1, observation: observation)
    }

    /// Whether this step starts an episode.
    public var isFirst: Bool { kind == .first }
    /// Whether this step ends an episode.
    public var isLast: Bool { kind == .last }
}

// MARK: Specs

/// Why a value does not fit a ``TensorSpec`` or ``BoundedSpec``.
public enum SpecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The value's number of scalars differs from the spec's shape.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A scalar is NaN or infinite.
    case nonFinite(name: String, index: Int, value: Float)
    /// A scalar lies outside `[minimum, maximum]`.
    case outOfBounds(name: String, index: Int, value: Float, minimum: Float, maximum: Float)
    /// The spec itself is invalid (bounds of the wrong length, or `minimum > maximum`).
    case invalidSpec(name: String, reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(name, expected, found):
            return "\(name): expected shape \(expected), got \(found)"
        case let .nonFinite(name, index, value):
            return "\(name): element \(index) is \(value), not finite"
        case let .outOfBounds(name, index, value, minimum, maximum):
            return "\(name): element \(index) is \(value), outside [\(minimum), \(maximum)]"
        case let .invalidSpec(name, reason):
            return "\(name): invalid spec: \(reason)"
        }
    }
}

/// The shape of a tensor an environment produces or accepts (dm_env's `Array` spec).
public struct TensorSpec: Sendable, Equatable, Hashable {
    /// The shape, e.g. `[3]` for Pendulum's observation.
    public var shape: [Int]
    /// A name used in error messages, e.g. `"observation"`.
    public var name: String

    /// A spec of `shape` named `name`.
    public init(shape: [Int], name: String = "value") {
        self.shape = shape
        self.name = name
    }

    /// The number of scalars (the product of `shape`).
    public var count: Int { shape.reduce(1, *) }

    /// Checks that `value` has ``count`` scalars (any shape of that count is accepted,
    /// so `[1, n]` rows fit an `[n]` spec) and that every scalar is finite.
    public func validate(_ value: Tensor) throws(SpecError) {
        guard value.count == count else { throw .shapeMismatch(name: name, expected: shape, found: value.shape) }
        let bad: (Int, Float)? = value.withUnsafeBufferPointer { p in
            for i in 0..<p.count where !p[i].isFinite { return (i, p[i]) }
            return nil
        }
        if let (i, v) = bad { throw .nonFinite(name: name, index: i, value: v) }
    }
}

/// A ``TensorSpec`` with per-element inclusive bounds (dm_env's `BoundedArray`).
///
/// Unbounded dimensions use `-Float.infinity` / `Float.infinity`.
public struct BoundedSpec: Sendable, Equatable, Hashable {
    /// The shape and name.
    public var spec: TensorSpec
    /// The lower bound of every element (row-major, ``count`` of them).
    public private(set) var minimum: [Float]
    /// The upper bound of every element (row-major, ``count`` of them).
    public private(set) var maximum: [Float]

    /// A spec whose elements lie in `[minimum[i], maximum[i]]`; throws when the bounds
    /// do not have one entry per element or `minimum[i] > maximum[i]` (or is NaN).
    public init(shape: [Int], minimum: [Float], maximum: [Float], name: String = "value") throws(SpecError) {
        let spec = TensorSpec(shape: shape, name: name)
        guard minimum.count == spec.count, maximum.count == spec.count else {
            throw .invalidSpec(name: name, reason: "\(minimum.count) minima and \(maximum.count) maxima for shape \(shape)")
        }
        for i in 0..<spec.count where !(minimum[i] <= maximum[i]) {
            throw .invalidSpec(name: name, reason: "minimum \(minimum[i]) > maximum \(maximum[i]) at element \(i)")
        }
        self.spec = spec
        self.minimum = minimum
        self.maximum = maximum
    }

    /// A spec whose every element lies in `[minimum, maximum]`.
    public init(shape: [Int], minimum: Float, maximum: Float, name: String = "value") {
        precondition(minimum <= maximum, "BoundedSpec \(name): minimum \(minimum) > maximum \(maximum)")
        let n = shape.reduce(1, *)
        self.spec = TensorSpec(shape: shape, name: name)
        self.minimum = [Float](repeating: minimum, count: n)
        self.maximum = [Float](repeating: maximum, count: n)
    }

    /// A spec with no bounds (`±infinity`), e.g. a recommender's user-state vector.
    public static func unbounded(shape: [Int], name: String = "value") -> BoundedSpec {
        BoundedSpec(shape: shape, minimum: -.infinity, maximum: .infinity, name: name)
    }

    /// The shape.
    public var shape: [Int] { spec.shape }
    /// The name used in error messages.
    public var name: String { spec.name }
    /// The number of scalars.
    public var count: Int { spec.count }
    /// Whether every bound is finite (so values can be drawn uniformly).
    public var isFinite: Bool { minimum.allSatisfy(\.isFinite) && maximum.allSatisfy(\.isFinite) }

    /// Checks the count, that every scalar is finite and that it lies within its bounds.
    public func validate(_ value: Tensor) throws(SpecError) {
        try spec.validate(value)
        let bad: (Int, Float)? = value.withUnsafeBufferPointer { p in
            for i in 0..<p.count where !(p[i] >= minimum[i] && p[i] <= maximum[i]) { return (i, p[i]) }
            return nil
        }
        if let (i, v) = bad { throw .outOfBounds(name: name, index: i, value: v, minimum: minimum[i], maximum: maximum[i]) }
    }

    /// Clamps every scalar of `value` (``count`` scalars, or rows of ``count``) into its bounds, in place.
    public func clip(_ value: inout Tensor) {
        let n = count
        precondition(n > 0 && value.count % n == 0, "\(name): cannot clip shape \(value.shape) to spec \(shape)")
        minimum.withUnsafeBufferPointer { lo in
            maximum.withUnsafeBufferPointer { hi in
                value.withUnsafeMutableBufferPointer { p in
                    for i in 0..<p.count {
                        let j = i % n
                        p[i] = Swift.min(Swift.max(p[i], lo[j]), hi[j])
                    }
                }
            }
        }
    }

    /// A value drawn uniformly within the bounds; unbounded elements are standard normal.
    public func sample<G: RandomNumberGenerator>(using rng: inout G) -> Tensor {
        var t = Tensor(zeros: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count {
                let lo = minimum[i], hi = maximum[i]
                if lo.isFinite && hi.isFinite {
                    p[i] = Swift.min(lo + (hi - lo) * rng.nextUnitFloat(), hi)
                } else if lo.isFinite {
                    p[i] = lo + Swift.abs(rng.nextNormalFloat())
                } else if hi.isFinite {
                    p[i] = hi - Swift.abs(rng.nextNormalFloat())
                } else {
                    p[i] = rng.nextNormalFloat()
                }
            }
        }
        return t
    }
}

// MARK: Environment

/// A reinforcement-learning environment in the dm_env style.
///
/// - `reset()` starts an episode and returns a `.first` step (reward 0).
/// - `step(_:)` applies an action and returns a `.mid` or `.last` step. Calling it
///   after a `.last` step (or before any reset) starts a new episode instead and
///   returns that episode's `.first` step, ignoring the action.
/// - Randomness comes only from the environment's own seeded generator:
///   ``reset(seed:)`` reseeds it, so a seed reproduces an episode exactly. There is
///   no global random state.
///
/// Observations and actions are rank-1 tensors described by ``observationSpec`` and
/// ``actionSpec``. A recommendation simulator fits as is: the observation is the
/// user-state vector, the action a score vector in item-embedding space, and an
/// episode of `T` interactions ends with a `.last` step whose discount is kept.
/// Check your own environment with `EnvironmentConformance` (module
/// `RecRLEnvironmentTesting`).
public protocol Environment {
    /// The shape and bounds of observations.
    var observationSpec: BoundedSpec { get }
    /// The shape and bounds of actions.
    var actionSpec: BoundedSpec { get }
    /// Starts a new episode from the environment's current generator state.
    mutating func reset() -> TimeStep
    /// Reseeds the environment's generator with `seed`, then starts a new episode.
    mutating func reset(seed: UInt64) -> TimeStep
    /// Applies `action` (a tensor of `actionSpec.count` scalars) and advances one step.
    mutating func step(_ action: Tensor) -> TimeStep
}
