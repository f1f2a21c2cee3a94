import RecRLTensor

/// A batch of transitions `(s, a, r, s', discount)`, batch-first, reused across steps.
///
/// The target for a transition is `r + γ · discount · Q'(s', μ'(s'))`: `discount` is
/// the environment's (``TimeStep/discount``), 0 after a terminal step and 1 otherwise
/// (also on a time-limit truncation).
public struct TransitionBatch: Sendable, Equatable {
    /// States `[B, stateSize]`.
    public var states: Tensor
    /// Actions `[B, actionSize]`.
    public var actions: Tensor
    /// Rewards `[B]`.
    public var rewards: Tensor
    /// Next states `[B, stateSize]`.
    public var nextStates: Tensor
    /// Environment discounts `[B]`, in [0, 1].
    public var discounts: Tensor
    /// Importance-sampling weights `[B]` (all 1 for uniform sampling).
    public var weights: Tensor
    /// Buffer slots the transitions came from (for priority updates).
    public var indices: [Int]

    /// A zero batch of `batchSize` rows with unit weights, ready to be sampled into.
    public init(batchSize: Int, stateSize: Int, actionSize: Int) {
        precondition(
            batchSize > 0 && stateSize > 0 && actionSize > 0,
            "TransitionBatch needs positive sizes, got \(batchSize), \(stateSize), \(actionSize)")
        states = Tensor(zeros: [batchSize, stateSize])
        actions = Tensor(zeros: [batchSize, actionSize])
        rewards = Tensor(zeros: [batchSize])
        nextStates = Tensor(zeros: [batchSize, stateSize])
        discounts = Tensor(shape: [batchSize], repeating: 1)
        weights = Tensor(shape: [batchSize], repeating: 1)
        indices = Array(0..<batchSize)
    }

    /// A batch from precomputed tensors (e.g. for a benchmark); throws when the shapes
    /// do not fit each other. `weights` default to 1, `indices` to `0..<B`.
    public init(
        states: Tensor, actions: Tensor, rewards: Tensor, nextStates: Tensor, discounts: Tensor,
        weights: Tensor? = nil
    ) throws(TensorError) {
        let b = states.rows
        guard states.rank == 2, nextStates.shape == states.shape else {
            throw .shapeMismatch(operation: "TransitionBatch states/nextStates", lhs: states.shape, rhs: nextStates.shape)
        }
        guard actions.rank == 2, actions.rows == b else {
            throw .shapeMismatch(operation: "TransitionBatch states/actions", lhs: states.shape, rhs: actions.shape)
        }
        for t in [rewards, discounts] + (weights.map { [$0] } ?? []) where t.count != b {
            throw .shapeMismatch(operation: "TransitionBatch per-transition scalars", lhs: [b], rhs: t.shape)
        }
        self.states = states
        self.actions = actions
        self.rewards = rewards.reshaped([b])
        self.nextStates = nextStates
        self.discounts = discounts.reshaped([b])
        self.weights = weights?.reshaped([b]) ?? Tensor(shape: [b], repeating: 1)
        self.indices = Array(0..<b)
    }

    /// The number of transitions B.
    public var count: Int { states.rows }
    /// The state width.
    public var stateSize: Int { states.columns }
    /// The action width.
    public var actionSize: Int { actions.columns }
}

/// Stores transitions and samples batches of them.
///
/// Implementations grow their storage on demand up to ``capacity`` (doubling, so a buffer
/// that never fills never holds the memory of a full one) and sample into a caller-owned
/// ``TransitionBatch``, so a warm training loop allocates nothing once the storage has
/// reached its size.
public protocol ReplayBuffer: Sendable {
    /// The maximum number of transitions kept; the oldest is overwritten when full.
    var capacity: Int { get }
    /// The number of transitions stored (at most ``capacity``).
    var count: Int { get }
    /// The state width.
    var stateSize: Int { get }
    /// The action width.
    var actionSize: Int { get }

    /// Stores one transition (`state` and `nextState` of `stateSize` scalars, `action`
    /// of `actionSize`; any shape of that count).
    mutating func add(state: Tensor, action: Tensor, reward: Float, discount: Float, nextState: Tensor)

    /// Fills `batch` (its row count is the batch size) with transitions drawn with
    /// replacement, their slots in `batch.indices` and their importance weights in
    /// `batch.weights`. Needs `count > 0`.
    mutating func sample<G: RandomNumberGenerator>(into batch: inout TransitionBatch, using rng: inout G)

    /// Updates the priorities of the slots `indices` from the TD errors `tdErrors`
    /// (one per index). Uniform buffers ignore it.
    mutating func updatePriorities(indices: [Int], tdErrors: Tensor)
}

extension ReplayBuffer {
    /// Uniform sampling has no priorities: does nothing.
    public mutating func updatePriorities(indices: [Int], tdErrors: Tensor) {}
}

/// The ring of transitions shared by the replay buffers.
///
/// Storage grows on demand: it starts at ``initialRows`` rows (or `capacity`, if smaller)
/// and doubles, copying the stored rows, whenever a write reaches its end, until it holds
/// `capacity` rows; from then on `add` writes in place and allocates nothing. Memory is
/// `4 · (2 · stateSize + actionSize + 2)` bytes per allocated row.
struct TransitionRing: Sendable {
    /// Rows allocated by a new ring.
    static let initialRows = 256
    let capacity: Int
    let stateSize: Int
    let actionSize: Int
    var states: Tensor
    var actions: Tensor
    var rewards: Tensor
    var discounts: Tensor
    var nextStates: Tensor
    /// The slot the next transition is written to.
    var position = 0
    /// Whether every slot holds a transition.
    var isFull = false

    init(capacity: Int, stateSize: Int, actionSize: Int) {
        precondition(
            capacity > 0 && stateSize > 0 && actionSize > 0,
            "replay buffer needs positive sizes, got capacity \(capacity), state \(stateSize), action \(actionSize)")
        self.capacity = capacity
        self.stateSize = stateSize
        self.actionSize = actionSize
        let rows = Swift.min(capacity, TransitionRing.initialRows)
        states = Tensor(zeros: [rows, stateSize])
        actions = Tensor(zeros: [rows, actionSize])
        rewards = Tensor(zeros: [rows])
        discounts = Tensor(zeros: [rows])
        nextStates = Tensor(zeros: [rows, stateSize])
    }

    /// Rows of storage allocated now (at most ``capacity``).
    var allocatedRows: Int { states.rows }

    /// Doubles the storage (up to ``capacity``), keeping the stored rows.
    mutating func grow() {
        let rows = Swift.min(capacity, 2 * allocatedRows)
        func enlarged(_ t: Tensor, columns: Int?) -> Tensor {
            var bigger = Tensor(zeros: columns.map { [rows, $0] } ?? [rows])
            t.withUnsafeBufferPointer { src in
                bigger.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src.baseAddress!, count: src.count) }
            }
            return bigger
        }
        states = enlarged(states, columns: stateSize)
        actions = enlarged(actions, columns: actionSize)
        nextStates = enlarged(nextStates, columns: stateSize)
        rewards = enlarged(rewards, columns: nil)
        discounts = enlarged(discounts, columns: nil)
    }

    var count: Int { isFull ? capacity : position }

    /// Writes a transition at ``position`` and returns its slot.
    mutating func add(state: Tensor, action: Tensor, reward: Float, discount: Float, nextState: Tensor) -> Int {
        precondition(
            state.count == stateSize && nextState.count == stateSize && action.count == actionSize,
            "replay buffer: state \(state.shape), action \(action.shape), next state \(nextState.shape) for sizes \(stateSize), \(actionSize)")
        precondition(discount >= 0 && discount <= 1, "replay buffer: discount \(discount) outside [0, 1]")
        let slot = position
        if slot == allocatedRows { grow() }
        TransitionRing.copy(state, into: &states, row: slot)
        TransitionRing.copy(action, into: &actions, row: slot)
        TransitionRing.copy(nextState, into: &nextStates, row: slot)
        rewards[flat: slot] = reward
        discounts[flat: slot] = discount
        position += 1
        if position == capacity { position = 0; isFull = true }
        return slot
    }

    static func copy(_ source: Tensor, into table: inout Tensor, row: Int) {
        let c = table.columns
        source.withUnsafeBufferPointer { s in
            table.withUnsafeMutableBufferPointer { t in
                (t.baseAddress! + row * c).update(from: s.baseAddress!, count: c)
            }
        }
    }

    static func gather(_ table: Tensor, row: Int, into out: inout Tensor, at b: Int) {
        let c = table.columns
        table.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { o in
                (o.baseAddress! + b * c).update(from: t.baseAddress! + row * c, count: c)
            }
        }
    }

    /// Copies slot `slot` into row `b` of `batch`.
    func write(slot: Int, into batch: inout TransitionBatch, row b: Int) {
        TransitionRing.gather(states, row: slot, into: &batch.states, at: b)
        TransitionRing.gather(actions, row: slot, into: &batch.actions, at: b)
        TransitionRing.gather(nextStates, row: slot, into: &batch.nextStates, at: b)
        batch.rewards[flat: b] = rewards[flat: slot]
        batch.discounts[flat: b] = discounts[flat: slot]
        batch.indices[b] = slot
    }

    func checkBatch(_ batch: TransitionBatch) {
        precondition(count > 0, "cannot sample from an empty replay buffer")
        let b = batch.count
        precondition(
            batch.states.columns == stateSize && batch.nextStates.columns == stateSize && batch.nextStates.rows == b
                && batch.actions.columns == actionSize && batch.actions.rows == b
                && batch.rewards.count == b && batch.discounts.count == b && batch.weights.count == b && batch.indices.count == b,
            "replay buffer: batch of shapes \(batch.states.shape)/\(batch.actions.shape) does not fit sizes \(stateSize), \(actionSize)")
    }
}

/// A replay buffer sampling uniformly with replacement (Lin 1992; Mnih et al. 2015),
/// as a ring over contiguous float storage (stable-baselines3 style) that grows on demand.
public struct UniformReplayBuffer: ReplayBuffer {
    var ring: TransitionRing

    /// An empty buffer of at most `capacity` transitions; storage grows as they arrive.
    public init(capacity: Int, stateSize: Int, actionSize: Int) {
        ring = TransitionRing(capacity: capacity, stateSize: stateSize, actionSize: actionSize)
    }

    public var capacity: Int { ring.capacity }
    public var count: Int { ring.count }
    public var stateSize: Int { ring.stateSize }
    public var actionSize: Int { ring.actionSize }
    /// The slot the next transition is written to.
    public var position: Int { ring.position }
    /// Whether the buffer has wrapped around (every slot is used).
    public var isFull: Bool { ring.isFull }
    /// Transitions the storage holds room for now (grows by doubling up to ``capacity``).
    public var allocatedCapacity: Int { ring.allocatedRows }

    public mutating func add(state: Tensor, action: Tensor, reward: Float, discount: Float, nextState: Tensor) {
        _ = ring.add(state: state, action: action, reward: reward, discount: discount, nextState: nextState)
    }

    public mutating func sample<G: RandomNumberGenerator>(into batch: inout TransitionBatch, using rng: inout G) {
        ring.checkBatch(batch)
        let n = ring.count
        for b in 0..<batch.count {
            ring.write(slot: rng.nextInt(below: n), into: &batch, row: b)
            batch.weights[flat: b] = 1
        }
    }

    /// The transition in `slot` as `(state, action, reward, discount, nextState)` (a copy; for tests and inspection).
    public func transition(at slot: Int) -> (state: Tensor, action: Tensor, reward: Float, discount: Float, nextState: Tensor) {
        precondition(slot >= 0 && slot < count, "slot \(slot) out of range for \(count) transitions")
        return (ring.states.row(slot), ring.actions.row(slot), ring.rewards[flat: slot], ring.discounts[flat: slot], ring.nextStates.row(slot))
    }
}
