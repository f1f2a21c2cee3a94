import RecRLTensor
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A binary tree over `capacity` leaves whose inner nodes hold the sum and the
/// minimum of their subtrees: `O(log n)` priority updates, prefix-sum search and
/// global minimum.
///
/// The nodes are allocated on demand: the tree starts with room for a few hundred
/// leaves and doubles (rebuilding its inner nodes) when a leaf past its end is set, so a
/// large `capacity` costs memory only once that many leaves are in use.
public struct SumTree: Sendable {
    /// The number of leaves in use.
    public let capacity: Int
    /// Leaves allocated now: a power of two.
    var leafCount: Int
    var sums: [Double]
    var minima: [Double]

    /// A tree of `capacity` zero leaves.
    public init(capacity: Int) {
        precondition(capacity > 0, "SumTree needs a positive capacity, got \(capacity)")
        self.capacity = capacity
        var n = 1
        while n < Swift.min(capacity, 256) { n *= 2 }
        leafCount = n
        sums = [Double](repeating: 0, count: 2 * n)
        minima = [Double](repeating: .infinity, count: 2 * n)
    }

    /// Doubles the allocated leaves until `index` fits, keeping every leaf's value.
    mutating func grow(toFit index: Int) {
        var n = leafCount
        while n <= index { n *= 2 }
        var newSums = [Double](repeating: 0, count: 2 * n)
        var newMinima = [Double](repeating: .infinity, count: 2 * n)
        for leaf in 0..<leafCount {
            newSums[n + leaf] = sums[leafCount + leaf]
            newMinima[n + leaf] = minima[leafCount + leaf]
        }
        for i in stride(from: n - 1, through: 1, by: -1) {
            newSums[i] = newSums[2 * i] + newSums[2 * i + 1]
            newMinima[i] = Swift.min(newMinima[2 * i], newMinima[2 * i + 1])
        }
        leafCount = n
        sums = newSums
        minima = newMinima
    }

    /// The sum of all leaves.
    public var total: Double { sums[1] }
    /// The smallest leaf that has been set (infinity when none).
    public var minimum: Double { minima[1] }

    /// The value of leaf `index`.
    public subscript(index: Int) -> Double {
        precondition(index >= 0 && index < capacity, "SumTree index \(index) out of range 0..<\(capacity)")
        return index < leafCount ? sums[leafCount + index] : 0
    }

    /// Sets leaf `index` to `value` (≥ 0) and updates its ancestors.
    public mutating func set(_ index: Int, to value: Double) {
        precondition(index >= 0 && index < capacity, "SumTree index \(index) out of range 0..<\(capacity)")
        precondition(value >= 0 && value.isFinite, "SumTree values must be finite and non-negative, got \(value)")
        if index >= leafCount { grow(toFit: index) }
        var i = leafCount + index
        sums[i] = value
        minima[i] = value
        i /= 2
        while i >= 1 {
            sums[i] = sums[2 * i] + sums[2 * i + 1]
            minima[i] = Swift.min(minima[2 * i], minima[2 * i + 1])
            i /= 2
        }
    }

    /// The leaf `i` with `Σ_{j<i} v_j ≤ prefix < Σ_{j≤i} v_j`, for `0 ≤ prefix < total`;
    /// a prefix at or past the total (rounding) gives the last leaf with a positive value.
    public func find(prefix: Double) -> Int {
        precondition(total > 0, "SumTree.find needs a positive total")
        var u = Swift.max(prefix, 0)
        var i = 1
        while i < leafCount {
            let left = sums[2 * i]
            if u < left || sums[2 * i + 1] == 0 {
                i = 2 * i
            } else {
                u -= left
                i = 2 * i + 1
            }
        }
        var leaf = i - leafCount
        // Rounding can land on an empty leaf; step back to a positive one.
        while sums[leafCount + leaf] == 0 && leaf > 0 { leaf -= 1 }
        return leaf
    }
}

/// Proportional prioritized experience replay (Schaul et al. 2016).
///
/// Transition `i` is sampled with probability `P(i) = p_i^α / Σ_k p_k^α`, where
/// `p_i = |δ_i| + ε` is its latest TD error's magnitude (new transitions get the
/// largest priority seen so far, so each is replayed at least once). Sampling is
/// stratified: the total is cut into B equal segments and one transition is drawn
/// from each. The importance-sampling weights `w_i = (N · P(i))^(−β) / max_j w_j`
/// correct the bias, normalised by the largest weight over the whole buffer
/// (the smallest priority) so that `w ≤ 1`; `β` anneals from `β0` towards 1.
///
/// Defaults: `alpha` 0.6, `beta` linear 0.4 → 1 over 100 000 samples, `epsilon` 1e-6
/// (Schaul et al. 2016, Table 3 for proportional: α = 0.6, β0 = 0.4).
public struct PrioritizedReplayBuffer: ReplayBuffer {
    var ring: TransitionRing
    var tree: SumTree
    /// The priority exponent α (0 = uniform).
    public let alpha: Double
    /// The importance-sampling exponent β as a function of ``samplesDrawn``.
    public let beta: Schedule
    /// ε added to `|δ|` so that no transition has zero probability.
    public let epsilon: Float
    /// The largest priority `p` (before the α exponent) seen so far; new transitions get it.
    public private(set) var maxPriority: Double = 1
    /// The number of ``sample(into:using:)`` calls so far (the step of the β schedule).
    public var samplesDrawn = 0

    /// An empty buffer of at most `capacity` transitions; storage grows as they arrive.
    ///
    /// - Parameters:
    ///   - alpha: priority exponent α (default 0.6).
    ///   - beta: importance-sampling exponent schedule (default linear 0.4 → 1 over 100 000 samples).
    ///   - epsilon: added to `|δ|` (default 1e-6).
    public init(
        capacity: Int, stateSize: Int, actionSize: Int, alpha: Double = 0.6,
        beta: Schedule = .linear(from: 0.4, to: 1, steps: 100_000), epsilon: Float = 1e-6
    ) {
        precondition(alpha >= 0, "alpha must be non-negative, got \(alpha)")
        precondition(epsilon > 0, "epsilon must be positive, got \(epsilon)")
        ring = TransitionRing(capacity: capacity, stateSize: stateSize, actionSize: actionSize)
        tree = SumTree(capacity: capacity)
        self.alpha = alpha
        self.beta = beta
        self.epsilon = epsilon
    }

    public var capacity: Int { ring.capacity }
    public var count: Int { ring.count }
    public var stateSize: Int { ring.stateSize }
    public var actionSize: Int { ring.actionSize }
    /// The slot the next transition is written to.
    public var position: Int { ring.position }
    /// Whether the buffer has wrapped around.
    public var isFull: Bool { ring.isFull }
    /// Transitions the storage holds room for now (grows by doubling up to ``capacity``).
    public var allocatedCapacity: Int { ring.allocatedRows }

    /// The sampling probability `P(i)` of the transition in `slot`.
    public func probability(ofSlot slot: Int) -> Double { tree[slot] / tree.total }

    public mutating func add(state: Tensor, action: Tensor, reward: Float, discount: Float, nextState: Tensor) {
        let slot = ring.add(state: state, action: action, reward: reward, discount: discount, nextState: nextState)
        tree.set(slot, to: pow(maxPriority, alpha))
    }

    public mutating func sample<G: RandomNumberGenerator>(into batch: inout TransitionBatch, using rng: inout G) {
        ring.checkBatch(batch)
        let b = batch.count
        let total = tree.total
        let segment = total / Double(b)
        let n = Double(ring.count)
        let betaNow = Double(beta.value(at: samplesDrawn))
        samplesDrawn += 1
        // max_j w_j = (N · P_min)^(−β)
        let maxWeight = pow(n * tree.minimum / total, -betaNow)
        for row in 0..<b {
            let u = segment * (Double(row) + rng.nextUnitDouble())
            let slot = Swift.min(tree.find(prefix: u), ring.count - 1)
            ring.write(slot: slot, into: &batch, row: row)
            let p = tree[slot] / total
            batch.weights[flat: row] = Float(pow(n * p, -betaNow) / maxWeight)
        }
    }

    /// Sets `p_i = |δ_i| + ε` for every slot in `indices` (stored as `p_i^α`).
    public mutating func updatePriorities(indices: [Int], tdErrors: Tensor) {
        precondition(indices.count == tdErrors.count, "updatePriorities: \(indices.count) indices, \(tdErrors.count) TD errors")
        let n = ring.count
        tdErrors.withUnsafeBufferPointer { errors in
            for k in 0..<indices.count {
                let slot = indices[k]
                precondition(slot >= 0 && slot < n, "updatePriorities: slot \(slot) out of range for \(n) transitions")
                let p = Double(Swift.abs(errors[k]) + epsilon)
                maxPriority = Swift.max(maxPriority, p)
                tree.set(slot, to: pow(p, alpha))
            }
        }
    }
}
