import RecRLTensor

/// Why a ``LinearBandit`` could not be built or updated.
public enum LinearBanditError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A size or hyper-parameter is out of range.
    case invalidParameter(String)
    /// A user or item index is outside the bandit's range.
    case indexOutOfRange(String)
    /// An item feature or a reward is NaN or infinite.
    case nonFinite(String)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .invalidParameter(let s): return "LinearBandit: invalid parameter: \(s)"
        case .indexOutOfRange(let s): return "LinearBandit: index out of range: \(s)"
        case .nonFinite(let s): return "LinearBandit: non-finite value: \(s)"
        }
    }
}

/// An online linear contextual bandit over item embeddings: LinUCB or linear Thompson
/// sampling, the policy a practitioner would deploy instead of deep RL.
///
/// ## Model (the choice of context)
///
/// Each item `i` is described by a fixed feature vector `x_i ∈ R^d` (its embedding, e.g.
/// the item factors of a matrix factorisation fitted on the log). Each user `u` has
/// their own ridge-regression model of the reward, `r ≈ ⟨θ_u, x_i⟩` (a *per-user* ridge
/// model, the "disjoint" LinUCB of Li et al. 2010 with the user as the context key and
/// the items as arms sharing one feature space). `θ_u` is the user's estimated taste in
/// the embedding space, so it follows a drifting user as new feedback arrives, and one
/// user's feedback generalises to every item with a similar embedding.
///
///     A_u = λ I + Σ x x^T,   b_u = Σ r x,   θ̂_u = A_u⁻¹ b_u       (λ = `ridge`)
///
/// The bandit keeps `A_u⁻¹` (not `A_u`) and updates it with the Sherman–Morrison formula
/// `A⁻¹ ← A⁻¹ − (A⁻¹x)(A⁻¹x)^T / (1 + x^T A⁻¹ x)`: O(d²) per observation, no solve.
///
/// **LinUCB** scores `⟨θ̂_u, x_i⟩ + α √(x_i^T A_u⁻¹ x_i)` (O(d²) per item): optimism
/// toward items in directions the user's feedback has not yet covered.
///
/// **Linear Thompson sampling** draws `θ̃ ~ N(θ̂_u, v² A_u⁻¹)` once per decision (a
/// Cholesky factor of `A_u⁻¹`, O(d³), then O(d) per item) and scores `⟨θ̃, x_i⟩`.
///
/// Memory is bounded by construction: `userCount · (d² + d)` doubles plus the item
/// features, whatever the number of observations. All randomness (Thompson draws) comes
/// from a `Xoshiro256StarStar` seeded at construction, so a seed and a call sequence give
/// one result. Scoring and updating reuse preallocated scratch buffers.
///
/// ```swift
/// var bandit = try LinearBandit(itemFeatures: embeddings, dimension: 16, userCount: 500,
///                               strategy: .ucb(alpha: 1), seed: 7)
/// let item = try bandit.recommend(user: 3, excluding: { seen.contains($0) })!
/// try bandit.update(user: 3, item: item, reward: 0.5)
/// ```
public struct LinearBandit: Sendable {

    /// How the bandit turns its estimate into a decision.
    public enum Strategy: Sendable, Hashable, Codable {
        /// LinUCB with exploration weight `alpha` ≥ 0 (0 is greedy ridge regression).
        case ucb(alpha: Double)
        /// Linear Thompson sampling with posterior scale `v` ≥ 0 (0 is greedy).
        case thompson(scale: Double)
    }

    /// Feature dimension `d`.
    public let dimension: Int
    /// Number of items (arms).
    public let itemCount: Int
    /// Number of users, each with their own model.
    public let userCount: Int
    /// The ridge `λ` > 0, the prior precision of every user's `θ`.
    public let ridge: Double
    /// The decision rule.
    public let strategy: Strategy

    private let features: [Double]  // itemCount × d
    private var inverses: [Double]  // userCount × d × d: A_u⁻¹
    private var targets: [Double]  // userCount × d: b_u
    private var observations: [Int]  // per user
    private var rng: Xoshiro256StarStar
    // Scratch, reused by every call.
    private var theta: [Double]
    private var work: [Double]
    private var factor: [Double]

    /// A bandit with every user at the prior (`A_u = λ I`, `b_u = 0`).
    /// - Parameters:
    ///   - itemFeatures: `itemCount × dimension` features, row-major (finite).
    ///   - dimension: `d` > 0.
    ///   - userCount: number of users (> 0); user indices are `0..<userCount`.
    ///   - ridge: `λ` > 0 (default 1).
    ///   - strategy: LinUCB or Thompson sampling.
    ///   - seed: seeds the Thompson draws.
    /// - Throws: ``LinearBanditError`` for a bad size, hyper-parameter or feature.
    public init(
        itemFeatures: [Float], dimension: Int, userCount: Int, ridge: Double = 1,
        strategy: Strategy, seed: UInt64 = 0
    ) throws {
        guard dimension > 0 else { throw LinearBanditError.invalidParameter("dimension must be positive, got \(dimension)") }
        guard userCount > 0 else { throw LinearBanditError.invalidParameter("userCount must be positive, got \(userCount)") }
        guard !itemFeatures.isEmpty, itemFeatures.count % dimension == 0 else {
            throw LinearBanditError.invalidParameter("itemFeatures has \(itemFeatures.count) values, not a positive multiple of dimension \(dimension)")
        }
        guard ridge > 0, ridge.isFinite else { throw LinearBanditError.invalidParameter("ridge must be positive and finite, got \(ridge)") }
        switch strategy {
        case .ucb(let a) where !(a >= 0 && a.isFinite), .thompson(let a) where !(a >= 0 && a.isFinite):
            throw LinearBanditError.invalidParameter("the exploration weight must be finite and ≥ 0, got \(a)")
        default: break
        }
        guard itemFeatures.allSatisfy({ $0.isFinite }) else { throw LinearBanditError.nonFinite("itemFeatures") }
        self.dimension = dimension
        self.itemCount = itemFeatures.count / dimension
        self.userCount = userCount
        self.ridge = ridge
        self.strategy = strategy
        features = itemFeatures.map(Double.init)
        var prior = [Double](repeating: 0, count: dimension * dimension)
        for j in 0..<dimension { prior[j * dimension + j] = 1 / ridge }
        var all = [Double]()
        all.reserveCapacity(userCount * dimension * dimension)
        for _ in 0..<userCount { all.append(contentsOf: prior) }
        inverses = all
        targets = [Double](repeating: 0, count: userCount * dimension)
        observations = [Int](repeating: 0, count: userCount)
        rng = Xoshiro256StarStar(seed: seed)
        theta = [Double](repeating: 0, count: dimension)
        work = [Double](repeating: 0, count: dimension)
        factor = [Double](repeating: 0, count: dimension * dimension)
    }

    private func check(user: Int) throws {
        guard (0..<userCount).contains(user) else { throw LinearBanditError.indexOutOfRange("user \(user) not in 0..<\(userCount)") }
    }
    private func check(item: Int) throws {
        guard (0..<itemCount).contains(item) else { throw LinearBanditError.indexOutOfRange("item \(item) not in 0..<\(itemCount)") }
    }

    /// Number of rewards observed for `user`.
    public func observationCount(user: Int) throws -> Int { try check(user: user); return observations[user] }

    /// The ridge estimate `θ̂_u = A_u⁻¹ b_u`.
    public func estimate(user: Int) throws -> [Double] {
        try check(user: user)
        var out = [Double](repeating: 0, count: dimension)
        let d = dimension, m = user * d * d, t = user * d
        for r in 0..<d {
            var s = 0.0
            for c in 0..<d { s += inverses[m + r * d + c] * targets[t + c] }
            out[r] = s
        }
        return out
    }

    /// The confidence width `√(x_i^T A_u⁻¹ x_i)` of `item` for `user` (shrinks as the
    /// user's feedback covers the item's direction).
    public func confidenceWidth(user: Int, item: Int) throws -> Double {
        try check(user: user); try check(item: item)
        return quadraticForm(user: user, item: item).squareRoot()
    }

    private func quadraticForm(user: Int, item: Int) -> Double {
        let d = dimension, m = user * d * d, f = item * d
        var q = 0.0
        for r in 0..<d {
            var s = 0.0
            for c in 0..<d { s += inverses[m + r * d + c] * features[f + c] }
            q += features[f + r] * s
        }
        return max(q, 0)
    }

    /// Records `reward` for `item` shown to `user`: `b_u += r x`, and `A_u⁻¹` by
    /// Sherman–Morrison (O(d²)).
    /// - Throws: ``LinearBanditError`` for an index out of range or a non-finite reward.
    public mutating func update(user: Int, item: Int, reward: Double) throws {
        try check(user: user); try check(item: item)
        guard reward.isFinite else { throw LinearBanditError.nonFinite("reward \(reward)") }
        let d = dimension, m = user * d * d, f = item * d, t = user * d
        // work = A⁻¹ x (A⁻¹ is symmetric).
        var denominator = 1.0
        for r in 0..<d {
            var s = 0.0
            for c in 0..<d { s += inverses[m + r * d + c] * features[f + c] }
            work[r] = s
            denominator += features[f + r] * s
        }
        for r in 0..<d {
            let wr = work[r] / denominator
            for c in 0..<d { inverses[m + r * d + c] -= wr * work[c] }
            targets[t + r] += reward * features[f + r]
        }
        observations[user] += 1
    }

    /// Writes the strategy's score of every item for `user` into `scores` (resized to
    /// ``itemCount``). For Thompson sampling each call draws a fresh `θ̃` (this is why the
    /// method is mutating).
    public mutating func scores(user: Int, into scores: inout [Float]) throws {
        try check(user: user)
        if scores.count != itemCount { scores = [Float](repeating: 0, count: itemCount) }
        let d = dimension, m = user * d * d, t = user * d
        for r in 0..<d {
            var s = 0.0
            for c in 0..<d { s += inverses[m + r * d + c] * targets[t + c] }
            theta[r] = s
        }
        switch strategy {
        case .ucb(let alpha):
            for i in 0..<itemCount {
                var mean = 0.0
                for c in 0..<d { mean += theta[c] * features[i * d + c] }
                scores[i] = Float(alpha > 0 ? mean + alpha * quadraticForm(user: user, item: i).squareRoot() : mean)
            }
        case .thompson(let v):
            if v > 0 {
                choleskyOfInverse(user: user)
                for r in 0..<d { work[r] = Double(rng.nextNormalFloat()) }
                // θ̃ = θ̂ + v L z with L Lᵀ = A⁻¹, so Cov(θ̃) = v² A⁻¹.
                for r in 0..<d {
                    var s = 0.0
                    for c in 0...r { s += factor[r * d + c] * work[c] }
                    theta[r] += v * s
                }
            }
            for i in 0..<itemCount {
                var s = 0.0
                for c in 0..<d { s += theta[c] * features[i * d + c] }
                scores[i] = Float(s)
            }
        }
    }

    /// Lower Cholesky factor of `A_u⁻¹` into `factor` (O(d³/3)); a pivot that rounding
    /// made non-positive is treated as 0, so the draw has no variance in that direction.
    private mutating func choleskyOfInverse(user: Int) {
        let d = dimension, m = user * d * d
        for r in 0..<d {
            for c in 0...r {
                var s = inverses[m + r * d + c]
                for k in 0..<c { s -= factor[r * d + k] * factor[c * d + k] }
                if r == c {
                    factor[r * d + r] = s > 0 ? s.squareRoot() : 0
                } else {
                    factor[r * d + c] = factor[c * d + c] > 0 ? s / factor[c * d + c] : 0
                }
            }
            for c in (r + 1)..<max(d, r + 1) { factor[r * d + c] = 0 }
        }
    }

    /// The highest-scoring item for `user` that `isExcluded` does not reject (ties: lower
    /// index), or `nil` when every item is excluded. Uses `scratch` as the score buffer.
    public mutating func recommend(user: Int, scratch: inout [Float], excluding isExcluded: (Int) -> Bool = { _ in false }) throws -> Int? {
        try scores(user: user, into: &scratch)
        var best: Int? = nil
        for i in 0..<itemCount where !isExcluded(i) {
            if let b = best { if scratch[i] > scratch[b] { best = i } } else { best = i }
        }
        return best
    }
}
