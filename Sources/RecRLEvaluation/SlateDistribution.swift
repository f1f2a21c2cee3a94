import Foundation
import RecRLTensor

/// The law of the slates a ``ServingPolicy`` serves for one ranking: how a slate is drawn
/// and the probability of each item at each position and of each whole slate.
///
/// Deterministic and ε-greedy serving depend only on the order of the ranking; softmax
/// (Plackett–Luce) serving depends on its scores. Build one distribution per ranking and
/// query it as often as needed: for softmax the marginal propensities are computed once,
/// here.
///
/// ## Softmax propensities
/// Over the pool of the `M` best-ranked items, item `r` has weight
/// `w_r = exp(max((s_r − s_max)/T, −50))` (the floor keeps every pool item's probability
/// positive, at most `e^−50` times the best one's, so importance weights stay finite).
/// A slate is drawn position after position: given the items already shown, item `r` is
/// drawn with the **conditional** probability `w_r / Σ_{not shown} w`.
/// - The **slate propensity** (``LoggedImpression/slatePropensity``) is exact: the product
///   of the conditional probabilities of the slate's items, in order.
/// - The **propensity** of each position (``LoggedImpression/propensities``) is the
///   **marginal** probability that the item appears at that position, which the
///   position-based estimators (IPS, SNIPS, DR, pseudo-inverse) need. At position 0 it is
///   the softmax itself. Further down it sums over every prefix the item can follow; that
///   sum is enumerated exactly while the prefixes of the slate number at most
///   ``exactPrefixBudget`` (e.g. a pool of 20 and slates of 5), and otherwise estimated
///   by a Rao–Blackwellised Monte Carlo average: ``marginalSamples`` prefixes are drawn
///   from the policy (with a fixed seed, so the estimate is a deterministic function of
///   the scores, identical at logging and at evaluation time); for each drawn prefix of
///   length `j`, every item's probability at position `j + 1` given the prefix (summed
///   exactly over the item at position `j`) is averaged over the draws. The average is
///   unbiased for every marginal and far less noisy than counting draws; it is least
///   accurate for a heavy item at a late position (which it rarely reaches). Its inverse,
///   the importance weight, carries a small bias of the order of the estimate's relative
///   variance.
public struct SlateDistribution: Sendable {
    /// The serving policy.
    public let policy: ServingPolicy
    /// Length of the ranking the slates are drawn from.
    public let rankingCount: Int
    /// The Plackett–Luce law of softmax serving (`nil` for the rank-only policies).
    let law: PlackettLuce?

    /// At most this many prefixes are enumerated for the exact marginals of softmax serving.
    public static let exactPrefixBudget = 50_000
    /// Monte Carlo prefixes averaged for the marginals when enumeration is too expensive.
    public static let marginalSamples = 2_000

    /// The distribution of `policy` over a ranking with these `scores` (best first; one per
    /// ranked item) for slates of up to `k` items.
    /// - Throws: ``ServingPolicyError`` for an invalid policy, `k < 1` or non-finite scores
    ///   under softmax.
    public init(policy: ServingPolicy, scores: [Double], k: Int) throws(ServingPolicyError) {
        try policy.validate()
        guard k >= 1 else { throw .invalid("the slate must hold at least one item, got k = \(k)") }
        self.policy = policy
        rankingCount = scores.count
        if case .softmax(let temperature, _) = policy {
            let m = policy.poolSize(rankingCount: scores.count)
            guard scores.prefix(m).allSatisfy(\.isFinite) else { throw .invalid("softmax serving needs finite scores") }
            law = PlackettLuce(scores: Array(scores.prefix(m)), temperature: temperature, depth: min(k, m))
        } else {
            law = nil
        }
    }

    /// The distribution of a policy whose probabilities depend only on the order
    /// (deterministic, ε-greedy) over a ranking of `rankingCount` items.
    /// - Throws: ``ServingPolicyError`` for an invalid policy or a softmax policy (which needs scores).
    public init(policy: ServingPolicy, rankingCount: Int) throws(ServingPolicyError) {
        try policy.validate()
        if case .softmax = policy { throw .invalid("softmax serving depends on the ranking's scores: pass them") }
        self.policy = policy
        self.rankingCount = rankingCount
        law = nil
    }

    /// Draws a slate of `min(k, pool, rankingCount)` items (`k` at most the `k` the
    /// distribution was built for, under softmax). Returns the slate (indices into the
    /// ranking), each position's marginal propensity and the slate's propensity.
    public func sample<G: RandomNumberGenerator>(k: Int, using rng: inout G)
        -> (positions: [Int], propensities: [Double], slatePropensity: Double)
    {
        guard let law else { return policy.sample(rankingCount: rankingCount, k: k, using: &rng) }
        let positions = law.sample(count: min(k, law.depth), using: &rng)
        let propensities = positions.enumerated().map { j, r in law.marginal(rank: r, position: j) }
        return (positions, propensities, law.slateProbability(positions))
    }

    /// The (marginal) probability that the item ranked `rankIndex`-th (0-based; `nil` when
    /// the item is not in the ranking) is shown at `position`.
    public func positionProbability(rankIndex: Int?, position: Int) -> Double {
        guard let law else { return policy.positionProbability(rankIndex: rankIndex, position: position, rankingCount: rankingCount) }
        guard let rankIndex, rankIndex < law.poolSize, position < law.depth else { return 0 }
        return law.marginal(rank: rankIndex, position: position)
    }

    /// The probability of the whole slate whose items have the given rank indices (`nil`
    /// for an item not in the ranking).
    public func slateProbability(rankIndices: [Int?]) -> Double {
        guard let law else { return policy.slateProbability(rankIndices: rankIndices, rankingCount: rankingCount) }
        let ranks = rankIndices.compactMap { $0 }
        guard ranks.count == rankIndices.count, ranks.count <= law.depth, Set(ranks).count == ranks.count,
            ranks.allSatisfy({ $0 < law.poolSize })
        else { return 0 }
        return law.slateProbability(ranks)
    }

    /// `E[value(item shown at position)]`: `value(r)` is the value of the item ranked `r`-th.
    public func expectedValue(position: Int, value: (Int) -> Double) -> Double {
        guard let law else { return policy.expectedValue(position: position, rankingCount: rankingCount, value: value) }
        guard position < law.depth else { return 0 }
        var mean = 0.0
        for r in 0..<law.poolSize { mean += law.marginal(rank: r, position: position) * value(r) }
        return mean
    }
}

/// Plackett–Luce sampling without replacement over a pool of weighted items, with the
/// marginal probability of every item at every position (see ``SlateDistribution``).
struct PlackettLuce: Sendable {
    /// Positive weights of the pool's items, best first.
    let weights: [Double]
    /// Positions covered (the longest slate).
    let depth: Int
    /// `marginals[j * poolSize + r]`: probability that item `r` is at position `j`.
    let marginals: [Double]
    /// Whether ``marginals`` were enumerated exactly (otherwise estimated).
    let isExact: Bool

    var poolSize: Int { weights.count }

    init(scores: [Double], temperature: Double, depth: Int) {
        let best = scores.max() ?? 0
        self.init(weights: scores.map { exp(max(($0 - best) / temperature, -50)) }, depth: depth)
    }

    init(weights: [Double], depth: Int, forceSampling: Bool = false) {
        self.weights = weights
        self.depth = min(depth, weights.count)
        let exact = !forceSampling && Self.prefixCount(m: weights.count, depth: self.depth) <= SlateDistribution.exactPrefixBudget
        isExact = exact
        marginals =
            exact
            ? Self.enumerate(weights, depth: self.depth)
            : Self.estimate(weights, depth: self.depth, samples: SlateDistribution.marginalSamples)
    }

    func marginal(rank: Int, position: Int) -> Double { marginals[position * poolSize + rank] }

    /// The exact probability of drawing `ranks` in this order: the product of the conditionals.
    func slateProbability(_ ranks: [Int]) -> Double {
        var shown = [Bool](repeating: false, count: poolSize), p = 1.0
        for r in ranks {
            p *= weights[r] / Self.remainingWeight(weights, shown: shown)
            shown[r] = true
        }
        return p
    }

    /// The total weight of the items not yet shown, summed afresh (subtracting shown
    /// weights from the total would cancel catastrophically when one weight dominates).
    static func remainingWeight(_ weights: [Double], shown: [Bool]) -> Double {
        var sum = 0.0
        for r in weights.indices where !shown[r] { sum += weights[r] }
        return sum
    }

    func sample<G: RandomNumberGenerator>(count: Int, using rng: inout G) -> [Int] {
        var shown = [Bool](repeating: false, count: poolSize)
        var result: [Int] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            let r = Self.draw(weights, shown: shown, remaining: Self.remainingWeight(weights, shown: shown), using: &rng)
            result.append(r)
            shown[r] = true
        }
        return result
    }

    /// An item not yet shown, with probability proportional to its weight.
    static func draw<G: RandomNumberGenerator>(_ weights: [Double], shown: [Bool], remaining: Double, using rng: inout G) -> Int {
        var u = rng.nextUnitDouble() * remaining
        var last = -1
        for r in weights.indices where !shown[r] {
            last = r
            u -= weights[r]
            if u < 0 { return r }
        }
        return last  // rounding left u ≥ 0: the last eligible item
    }

    /// Number of ordered prefixes of lengths `0..<depth` of `m` items.
    static func prefixCount(m: Int, depth: Int) -> Int {
        var total = 0, count = 1
        for j in 0..<depth {
            total += count
            if total > SlateDistribution.exactPrefixBudget { return total }
            count *= m - j
        }
        return total
    }

    /// The marginals by visiting every ordered prefix with its probability.
    static func enumerate(_ weights: [Double], depth: Int) -> [Double] {
        let m = weights.count
        var marginals = [Double](repeating: 0, count: depth * m)
        var shown = [Bool](repeating: false, count: m)
        func visit(_ j: Int, _ p: Double) {
            let remaining = remainingWeight(weights, shown: shown)
            for r in 0..<m where !shown[r] {
                let q = p * weights[r] / remaining
                marginals[j * m + r] += q
                if j + 1 < depth {
                    shown[r] = true
                    visit(j + 1, q)
                    shown[r] = false
                }
            }
        }
        if depth > 0 { visit(0, 1) }
        return marginals
    }

    /// The Rao–Blackwellised Monte Carlo marginals, from `samples` slates drawn with a fixed
    /// seed. Given a drawn prefix of length `j`, the probability of item `a` at position
    /// `j + 1` is summed exactly over the next item `b` as well:
    /// `(w_a/R)·Σ_{b ≠ a} (w_b/R)/(R − w_b)·R` with `R` the weight not yet shown, i.e.
    /// `(w_a/R)·(S − w_a/(R − w_a))` where `S = Σ_b w_b/(R − w_b)`; position 0 is exact.
    static func estimate(_ weights: [Double], depth: Int, samples: Int) -> [Double] {
        let m = weights.count
        var marginals = [Double](repeating: 0, count: depth * m)
        let total = remainingWeight(weights, shown: [Bool](repeating: false, count: m))
        for r in 0..<m { marginals[r] = weights[r] / total }
        guard depth > 1 else { return marginals }
        var rng = Xoshiro256StarStar(seed: 0x504C_4D41_5247)
        var shown = [Bool](repeating: false, count: m)
        var others = [Double](repeating: 0, count: m)  // R − w_b, summed without cancellation
        for _ in 0..<samples {
            for r in 0..<m { shown[r] = false }
            for j in 0..<(depth - 1) {
                // Weight of the unshown items other than b: prefix sum before b plus suffix sum after it.
                var before = 0.0
                for b in 0..<m { others[b] = before; if !shown[b] { before += weights[b] } }
                let remaining = before
                var after = 0.0, sum = 0.0
                for b in stride(from: m - 1, through: 0, by: -1) {
                    others[b] += after
                    if !shown[b] {
                        after += weights[b]
                        if others[b] > 0 { sum += weights[b] / others[b] }
                    }
                }
                for a in 0..<m where !shown[a] && others[a] > 0 {
                    marginals[(j + 1) * m + a] += weights[a] / remaining * (sum - weights[a] / others[a])
                }
                let r = draw(weights, shown: shown, remaining: remaining, using: &rng)
                shown[r] = true
            }
        }
        let scale = 1 / Double(samples)
        for i in m..<marginals.count { marginals[i] *= scale }
        return marginals
    }
}
