import RecRLTensor

/// How a ranking becomes the slate a user is shown, with the probability of what was shown.
///
/// Off-policy evaluation needs the *propensity* of every logged impression: the
/// probability that the serving (logging) policy showed that item at that position. A
/// deterministic top-k policy shows each slate with probability 1, so importance weights
/// of any other policy are 0 or undefined and off-policy estimators cannot work; a
/// stochastic policy spreads a little probability over alternatives.
///
/// - ``deterministic``: the top `k` of the ranking, propensity 1 at every position.
/// - ``epsilonGreedy(epsilon:pool:)``: with probability `1 − ε` the top `k` of the
///   ranking; with probability `ε` an ordered sample of `k` distinct items drawn uniformly
///   from the top `pool` of the ranking (every ordering equally likely). With
///   `M = min(pool, ranking length)`, the probability that item `a` is at position `j` is
///   `(1 − ε)·[a is the j-th ranked] + ε/M` for `a` in the pool (0 outside it), and the
///   probability of a slate is `(1 − ε)·[slate is the top k] + ε/(M·(M−1)···(M−k+1))`.
///   Items outside the pool are never shown, so a candidate policy that recommends them
///   cannot be evaluated on such a log (the estimators only see the pool).
/// - ``softmax(temperature:pool:)``: Plackett–Luce sampling without replacement from the
///   top `pool` of the ranking: position after position, an item not yet shown is drawn
///   with probability proportional to `exp(score/T)`. Its probabilities depend on the
///   ranking's scores, not only on the order, so they are computed by a
///   ``SlateDistribution`` built from the scores (see there for exactly which propensities
///   are logged and how the marginal ones are computed). `T → 0` approaches the
///   deterministic top `k`; a large `T` approaches a uniform draw from the pool.
///
/// The rank-only methods of this type (`sample(rankingCount:k:using:)`,
/// `positionProbability`, `slateProbability`, `expectedValue`) serve the deterministic and
/// ε-greedy policies; softmax needs scores and traps there (a programming error): use
/// ``SlateDistribution``, which serves every policy, when the scores are at hand.
public enum ServingPolicy: Sendable, Hashable, Codable {
    /// The top `k`, propensity 1.
    case deterministic
    /// ε-greedy over the top `pool` of the ranking (see the type's documentation).
    case epsilonGreedy(epsilon: Double, pool: Int)
    /// Plackett–Luce (softmax) sampling over the top `pool` with temperature `T` (see the
    /// type's documentation).
    case softmax(temperature: Double, pool: Int)

    /// Throws unless `ε` is in `[0, 1]`, the temperature is positive and finite, and `pool ≥ 1`.
    public func validate() throws(ServingPolicyError) {
        switch self {
        case .deterministic:
            break
        case .epsilonGreedy(let epsilon, let pool):
            guard epsilon.isFinite, (0...1).contains(epsilon) else { throw .invalid("epsilon must be in [0, 1], got \(epsilon)") }
            guard pool >= 1 else { throw .invalid("the exploration pool must hold at least one item, got \(pool)") }
        case .softmax(let temperature, let pool):
            guard temperature.isFinite, temperature > 0 else { throw .invalid("the temperature must be positive and finite, got \(temperature)") }
            guard pool >= 1 else { throw .invalid("the sampling pool must hold at least one item, got \(pool)") }
        }
    }

    /// Whether propensities below 1 can occur (whether the policy's log supports
    /// off-policy evaluation of other policies).
    public var isStochastic: Bool {
        switch self {
        case .deterministic: false
        case .epsilonGreedy(let epsilon, _): epsilon > 0
        case .softmax: true
        }
    }

    /// A stable text description, logged with every impression:
    /// `"deterministic"`, `"epsilon-greedy(epsilon=0.1,pool=100)"` or
    /// `"softmax(temperature=0.5,pool=50)"`.
    public var description: String {
        switch self {
        case .deterministic: "deterministic"
        case .epsilonGreedy(let epsilon, let pool): "epsilon-greedy(epsilon=\(epsilon),pool=\(pool))"
        case .softmax(let temperature, let pool): "softmax(temperature=\(temperature),pool=\(pool))"
        }
    }

    /// Parses ``description`` (and the shorthands `"epsilon-greedy:0.1:100"` and
    /// `"softmax:0.5:50"` (temperature, pool) of the CLI).
    public init(parsing text: String) throws(ServingPolicyError) {
        let t = String(text.filter { !$0.isWhitespace })
        if t == "deterministic" { self = .deterministic; return }
        var parameter: Double?, pool: Int?, isSoftmax = false
        for (name, key) in [("epsilon-greedy", "epsilon"), ("softmax", "temperature")] {
            if t.hasPrefix(name + "(") && t.hasSuffix(")") {
                for part in t.dropFirst(name.count + 1).dropLast().split(separator: ",") {
                    let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2 else { continue }
                    if kv[0] == key { parameter = Double(kv[1]) } else if kv[0] == "pool" { pool = Int(kv[1]) }
                }
            } else if t.hasPrefix(name + ":") {
                let parts = t.split(separator: ":")
                if parts.count == 3 { parameter = Double(parts[1]); pool = Int(parts[2]) }
            } else {
                continue
            }
            isSoftmax = name == "softmax"
            break
        }
        guard let parameter, let pool else {
            throw .invalid("unknown serving policy '\(text)': use 'deterministic', 'epsilon-greedy:EPSILON:POOL' or 'softmax:TEMPERATURE:POOL'")
        }
        self = isSoftmax ? .softmax(temperature: parameter, pool: pool) : .epsilonGreedy(epsilon: parameter, pool: pool)
        try validate()
    }

    /// The size `M` of the exploration pool for a ranking of `rankingCount` items.
    public func poolSize(rankingCount: Int) -> Int {
        switch self {
        case .deterministic: rankingCount
        case .epsilonGreedy(_, let pool), .softmax(_, let pool): min(pool, rankingCount)
        }
    }

    /// How many items of the ranking the policy draws a slate of `k` from: `k`, or
    /// `max(k, pool)` for ε-greedy and softmax.
    public func rankingDepth(k: Int) -> Int {
        switch self {
        case .deterministic: k
        case .epsilonGreedy(_, let pool), .softmax(_, let pool): max(k, pool)
        }
    }

    /// Probability of one uniformly random ordered `k`-subset of `m` items.
    static func uniformSlateProbability(m: Int, k: Int) -> Double {
        var p = 1.0
        for j in 0..<k { p /= Double(m - j) }
        return p
    }

    /// Draws a slate of `min(k, pool, ranking.count)` items from `ranking` (best first).
    /// Returns the slate (indices into `ranking`), each position's marginal propensity and
    /// the slate's propensity (see the type's documentation).
    public func sample<G: RandomNumberGenerator>(rankingCount: Int, k: Int, using rng: inout G)
        -> (positions: [Int], propensities: [Double], slatePropensity: Double)
    {
        switch self {
        case .deterministic:
            let n = min(k, rankingCount)
            return (Array(0..<n), Array(repeating: 1, count: n), 1)
        case .epsilonGreedy(let epsilon, _):
            let m = poolSize(rankingCount: rankingCount)
            let n = min(k, m)
            var chosen: [Int]
            if rng.nextUnitDouble() < epsilon {
                // Partial Fisher–Yates over the pool: a uniformly random ordered n-subset.
                var pool = Array(0..<m)
                for j in 0..<n {
                    let r = j + rng.nextInt(below: m - j)
                    pool.swapAt(j, r)
                }
                chosen = Array(pool[0..<n])
            } else {
                chosen = Array(0..<n)
            }
            let propensities = chosen.enumerated().map { j, index in
                positionProbability(rankIndex: index, position: j, rankingCount: rankingCount)
            }
            return (chosen, propensities, slateProbability(rankIndices: chosen, rankingCount: rankingCount))
        case .softmax:
            Self.needsScores()
        }
    }

    /// The probability that the item ranked `rankIndex`-th (0-based; `nil` when the item
    /// is not in the ranking) is shown at `position`.
    public func positionProbability(rankIndex: Int?, position: Int, rankingCount: Int) -> Double {
        switch self {
        case .deterministic:
            return rankIndex == position ? 1 : 0
        case .epsilonGreedy(let epsilon, _):
            let m = poolSize(rankingCount: rankingCount)
            guard let rankIndex, rankIndex < m, position < m else { return 0 }
            return (rankIndex == position ? 1 - epsilon : 0) + epsilon / Double(m)
        case .softmax:
            Self.needsScores()
        }
    }

    /// The probability of the whole slate whose items have the given rank indices
    /// (`nil` for an item not in the ranking).
    public func slateProbability(rankIndices: [Int?], rankingCount: Int) -> Double {
        let isTop = rankIndices.enumerated().allSatisfy { $0.element == $0.offset }
        switch self {
        case .deterministic:
            return isTop ? 1 : 0
        case .epsilonGreedy(let epsilon, _):
            let m = poolSize(rankingCount: rankingCount)
            let k = rankIndices.count
            guard k <= m, Set(rankIndices.compactMap { $0 }).count == k,
                rankIndices.allSatisfy({ $0.map { $0 < m } ?? false })
            else { return 0 }
            return (isTop ? 1 - epsilon : 0) + epsilon * Self.uniformSlateProbability(m: m, k: k)
        case .softmax:
            Self.needsScores()
        }
    }

    /// `slateProbability` for non-optional rank indices.
    public func slateProbability(rankIndices: [Int], rankingCount: Int) -> Double {
        slateProbability(rankIndices: rankIndices.map { Optional($0) }, rankingCount: rankingCount)
    }

    /// `E[value(item shown at position)]` under this policy: `value(r)` is the value of the
    /// item ranked `r`-th. Used by the direct method for a candidate policy.
    public func expectedValue(position: Int, rankingCount: Int, value: (Int) -> Double) -> Double {
        switch self {
        case .deterministic:
            return position < rankingCount ? value(position) : 0
        case .epsilonGreedy(let epsilon, _):
            let m = poolSize(rankingCount: rankingCount)
            guard position < m else { return 0 }
            var mean = 0.0
            for r in 0..<m { mean += value(r) }
            return (1 - epsilon) * value(position) + epsilon * mean / Double(m)
        case .softmax:
            Self.needsScores()
        }
    }

    /// The rank-only methods cannot serve softmax, whose probabilities depend on scores.
    static func needsScores() -> Never {
        preconditionFailure("softmax serving depends on the ranking's scores: use SlateDistribution(policy:scores:k:)")
    }
}

/// A serving policy that cannot be used.
public enum ServingPolicyError: Error, Equatable, CustomStringConvertible {
    /// Invalid parameters, with the reason.
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
