import RecRLTensor

/// An off-policy estimator of a target policy's value (expected total reward of a slate,
/// summed over positions) from rounds logged by another policy.
///
/// With `w_j = π(a_j at j)/μ(a_j at j)` the per-position importance weight, `r_j` the
/// reward, `q̂_j` the reward model at the logged item and `q̂π_j` its expectation under the
/// target policy, each estimator averages a per-round term over the `n` rounds:
/// - ``directMethod``: `Σ_j q̂π_j` — no weights; biased when the reward model is wrong.
/// - ``ips``: `Σ_j w_j r_j`. On slates this is the position-based (independent) estimator,
///   unbiased when each position's reward depends only on the item at that position; for
///   one position it is plain inverse propensity scoring.
/// - ``selfNormalizedIPS``: per position, `Σ_i w_ij r_ij / Σ_i w_ij`, summed over positions
///   — a little bias for much less variance when weights are large.
/// - ``doublyRobust``: `Σ_j [q̂π_j + w_j (r_j − q̂_j)]` — unbiased when either the
///   propensities or the reward model are right.
/// - ``clippedDoublyRobust(maxWeight:)``: doubly robust with `w_j` replaced by
///   `min(w_j, maxWeight)`.
/// - ``switchDoublyRobust(threshold:)``: doubly robust where a position whose weight exceeds
///   `threshold` uses the reward model alone (`q̂π_j`).
/// - ``slateIPS``: `W · Σ_j r_j` with `W = π(slate)/μ(slate)` — unbiased for any reward
///   structure, but the weights of whole slates are extreme.
/// - ``pseudoInverse``: `(Σ_j w_j − L + 1) · Σ_j r_j` (Swaminathan et al. 2017,
///   "Off-policy evaluation for slate recommendation"), unbiased when the slate reward is
///   additive over positions and the logging policy factorises over positions; for other
///   logging policies it is an approximation (the estimate warns).
/// - ``cascadeIPS``: `Σ_j W_{1:j} r_j` with `W_{1:j}` the ratio of the target's to the
///   logging policy's probability of the slate's first `j + 1` items (the reward-interaction
///   IPS of McInerney et al. 2020, obp's `SlateRewardInteractionIPS`): unbiased when a
///   position's reward depends on its item and the items above it (cascade browsing: the
///   user may stop, tire or leave on the way down), which the position-based estimators
///   assume away. Needs the prefix propensities of both policies in the rounds; it is not
///   in ``all`` because logged impressions do not carry the logging policy's prefixes.
public enum OffPolicyEstimator: Sendable, Hashable {
    case directMethod
    case ips
    case selfNormalizedIPS
    case doublyRobust
    case clippedDoublyRobust(maxWeight: Double)
    case switchDoublyRobust(threshold: Double)
    case slateIPS
    case pseudoInverse
    case cascadeIPS

    /// Every estimator, with default clipping and switch thresholds of 10.
    public static let all: [OffPolicyEstimator] = [
        .directMethod, .ips, .selfNormalizedIPS, .doublyRobust, .clippedDoublyRobust(maxWeight: 10),
        .switchDoublyRobust(threshold: 10), .slateIPS, .pseudoInverse,
    ]

    /// A short name: `dm`, `ips`, `snips`, `dr`, `dr-clip`, `switch-dr`, `slate-ips`, `pi`,
    /// `cascade-ips`.
    public var name: String {
        switch self {
        case .directMethod: "dm"
        case .ips: "ips"
        case .selfNormalizedIPS: "snips"
        case .doublyRobust: "dr"
        case .clippedDoublyRobust: "dr-clip"
        case .switchDoublyRobust: "switch-dr"
        case .slateIPS: "slate-ips"
        case .pseudoInverse: "pi"
        case .cascadeIPS: "cascade-ips"
        }
    }

    /// The estimator named `name` (see ``name``); `parameter` is the clipping weight or the
    /// switch threshold (default 10).
    public init(name: String, parameter: Double = 10) throws(OffPolicyError) {
        switch name {
        case "dm": self = .directMethod
        case "ips", "iips": self = .ips
        case "snips": self = .selfNormalizedIPS
        case "dr": self = .doublyRobust
        case "dr-clip": self = .clippedDoublyRobust(maxWeight: parameter)
        case "switch-dr": self = .switchDoublyRobust(threshold: parameter)
        case "slate-ips", "sips": self = .slateIPS
        case "pi": self = .pseudoInverse
        case "cascade-ips", "rips": self = .cascadeIPS
        default:
            throw .invalidParameter("unknown estimator '\(name)': use one of dm, ips, snips, dr, dr-clip, switch-dr, slate-ips, pi, cascade-ips")
        }
    }
}

/// An estimate with its uncertainty and reliability.
public struct OffPolicyEstimate: Sendable, Equatable, Codable {
    /// ``OffPolicyEstimator/name``.
    public var estimator: String
    /// The estimated value of the target policy (expected slate reward).
    public var value: Double
    /// Lower end of the bootstrap percentile interval.
    public var lower: Double
    /// Upper end of the bootstrap percentile interval.
    public var upper: Double
    /// The interval's nominal coverage, e.g. 0.95.
    public var confidence: Double
    /// `(Σ w)² / Σ w²` of the weights the estimator uses (the smallest over positions for
    /// the per-position estimators; the number of rounds for the direct method): roughly,
    /// how many rounds the estimate really rests on.
    public var effectiveSampleSize: Double
    /// Number of logged rounds.
    public var rounds: Int
    /// Why the estimate may be unreliable (empty when nothing is suspicious).
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case estimator, value, lower, upper, confidence, rounds, warnings
        case effectiveSampleSize = "effective_sample_size"
    }
}

/// Estimates a target policy's value from logged rounds (see ``OffPolicyEstimator``).
public struct OffPolicyEvaluator: Sendable {
    /// Bootstrap resamples of the rounds for the interval (default 200).
    public var bootstrapSamples: Int
    /// Nominal coverage of the interval (default 0.95).
    public var confidence: Double
    /// Seed of the bootstrap resampling (the interval is reproducible).
    public var seed: UInt64
    /// An effective sample size below `max(minimumEffectiveSampleSize,
    /// minimumEffectiveFraction · rounds)` gets a warning (defaults 30 and 0.01).
    public var minimumEffectiveSampleSize: Double
    public var minimumEffectiveFraction: Double

    /// An evaluator; every argument has the default documented on its property.
    public init(
        bootstrapSamples: Int = 200, confidence: Double = 0.95, seed: UInt64 = 0,
        minimumEffectiveSampleSize: Double = 30, minimumEffectiveFraction: Double = 0.01
    ) {
        self.bootstrapSamples = bootstrapSamples; self.confidence = confidence; self.seed = seed
        self.minimumEffectiveSampleSize = minimumEffectiveSampleSize
        self.minimumEffectiveFraction = minimumEffectiveFraction
    }

    /// The estimate of `estimator` on `rounds`.
    ///
    /// The bootstrap resamples rounds, which assumes they are independent. With `clusters`
    /// (one label per round, e.g. the user) it resamples whole clusters instead, keeping
    /// each cluster's rounds together: the interval for rounds that depend on each other
    /// within a cluster (a user whose state carries over from one round to the next).
    /// - Throws: ``OffPolicyError`` for an empty log, arrays of different lengths,
    ///   propensities outside `(0, 1]` (logging) or `[0, 1]` (target), non-finite rewards
    ///   or predictions, an invalid estimator parameter, or `clusters` of another length.
    public func estimate(
        _ estimator: OffPolicyEstimator, rounds: [OffPolicyRound],
        clusters: [Int]? = nil
    ) throws(OffPolicyError) -> OffPolicyEstimate {
        try validate(estimator, rounds)
        if let clusters, clusters.count != rounds.count {
            throw .invalidParameter("\(clusters.count) cluster labels for \(rounds.count) rounds")
        }
        let length = rounds.map(\.length).max() ?? 0
        let statistic = Statistic(estimator: estimator, length: length)
        var stats = [Double](repeating: 0, count: rounds.count * statistic.width)
        for (i, round) in rounds.enumerated() {
            statistic.fill(round, into: &stats[(i * statistic.width)..<((i + 1) * statistic.width)])
        }
        let n = rounds.count
        let value = statistic.value(stats, rows: Array(0..<n))
        // Percentile bootstrap over rounds, or over clusters of rounds.
        var rng = Xoshiro256StarStar(seed: seed)
        var resampled = [Double]()
        resampled.reserveCapacity(bootstrapSamples)
        var rows = [Int](repeating: 0, count: n)
        let groups = clusters.map { labels in
            let byLabel = Dictionary(grouping: labels.indices, by: { labels[$0] })
            return byLabel.keys.sorted().map { byLabel[$0]! }  // sorted: the resampling is reproducible
        }
        for _ in 0..<bootstrapSamples {
            if let groups {
                rows.removeAll(keepingCapacity: true)
                for _ in groups.indices { rows.append(contentsOf: groups[rng.nextInt(below: groups.count)]) }
            } else {
                for i in 0..<n { rows[i] = rng.nextInt(below: n) }
            }
            resampled.append(statistic.value(stats, rows: rows))
        }
        resampled.sort()
        let alpha = (1 - confidence) / 2
        let lower = resampled.isEmpty ? value : SampleStatistics.quantile(sorted: resampled, alpha)
        let upper = resampled.isEmpty ? value : SampleStatistics.quantile(sorted: resampled, 1 - alpha)
        let ess = statistic.effectiveSampleSize(rounds)
        return OffPolicyEstimate(
            estimator: estimator.name, value: value, lower: lower, upper: upper, confidence: confidence,
            effectiveSampleSize: ess, rounds: n, warnings: warnings(estimator, rounds, ess: ess))
    }

    private func validate(_ estimator: OffPolicyEstimator, _ rounds: [OffPolicyRound]) throws(OffPolicyError) {
        guard !rounds.isEmpty else { throw .invalidLog("the log holds no rounds to evaluate on") }
        guard bootstrapSamples >= 0 else { throw .invalidParameter("bootstrap samples must not be negative") }
        guard confidence > 0, confidence < 1 else { throw .invalidParameter("confidence must be in (0, 1), got \(confidence)") }
        switch estimator {
        case .clippedDoublyRobust(let w) where !(w > 0), .switchDoublyRobust(let w) where !(w > 0):
            throw .invalidParameter("the clipping weight or switch threshold must be positive, got \(w)")
        default: break
        }
        for (i, r) in rounds.enumerated() {
            let l = r.length
            guard l > 0, r.loggingPropensities.count == l, r.targetPropensities.count == l,
                r.predictedRewards.count == l, r.targetPredictedRewards.count == l
            else {
                throw .invalidLog("round \(i): the per-position arrays must be non-empty and of equal length")
            }
            for p in r.loggingPropensities + [r.loggingSlatePropensity] where !(p > 0 && p <= 1) {
                throw .invalidLog("round \(i): logging propensity \(p) is not in (0, 1]")
            }
            for p in r.targetPropensities + [r.targetSlatePropensity] where !(p >= 0 && p <= 1) {
                throw .invalidLog("round \(i): target probability \(p) is not in [0, 1]")
            }
            guard (r.rewards + r.predictedRewards + r.targetPredictedRewards).allSatisfy(\.isFinite) else {
                throw .invalidLog("round \(i): a reward or predicted reward is not finite")
            }
            if estimator == .cascadeIPS {
                guard let logging = r.loggingPrefixPropensities, let target = r.targetPrefixPropensities,
                    logging.count == l, target.count == l
                else {
                    throw .invalidLog("round \(i): cascade-ips needs the logging and target policies' probability of every prefix of the slate")
                }
                for p in logging where !(p > 0 && p <= 1) { throw .invalidLog("round \(i): logging prefix propensity \(p) is not in (0, 1]") }
                for p in target where !(p >= 0 && p <= 1) { throw .invalidLog("round \(i): target prefix probability \(p) is not in [0, 1]") }
            }
        }
    }

    private func warnings(_ estimator: OffPolicyEstimator, _ rounds: [OffPolicyRound], ess: Double) -> [String] {
        var result: [String] = []
        let n = Double(rounds.count)
        if rounds.allSatisfy({ $0.loggingPropensities.allSatisfy { $0 == 1 } }) {
            result.append(
                "the logging policy was deterministic (every propensity is 1): importance weights are 0 or 1, "
                    + "so only a policy that shows exactly the logged slates can be evaluated; log with a stochastic serving policy")
        }
        if estimator != .directMethod {
            let anySupport = rounds.contains { $0.targetPropensities.contains { $0 > 0 } }
            if !anySupport {
                result.append("the target policy gives probability 0 to every logged item: the weighted estimate rests on no data")
            } else if ess < max(minimumEffectiveSampleSize, minimumEffectiveFraction * n) {
                result.append(
                    "effective sample size \(Self.rounded(ess)) of \(rounds.count) rounds: the importance weights "
                        + "concentrate on few rounds and the estimate is unreliable")
            }
        }
        if let (mean, standardError) = Self.meanWeight(estimator, rounds),
            abs(mean - 1) > max(0.1, 3 * standardError)
        {
            result.append(
                "mean importance weight \(Self.short(mean)) "
                    + "is far from 1: "
                    + (mean < 1
                        ? "the target policy puts much of its probability where the log has little or no data, "
                            + "so the estimate is biased toward 0"
                        : "a few rare logged actions dominate; the estimate is unreliable"))
        }
        if estimator == .pseudoInverse, rounds.contains(where: { $0.length > 1 }) {
            result.append(
                "the pseudo-inverse estimator assumes rewards add over positions and a logging policy that "
                    + "factorises over positions; under ε-greedy slates it is an approximation")
        }
        if rounds.count < 30 { result.append("only \(rounds.count) rounds: the bootstrap interval is rough") }
        return result
    }

    /// The mean and standard error of the importance weight the estimator relies on (the
    /// slate weight for slate IPS, otherwise the top position's weight). Under the logging
    /// policy its expectation is the target's probability mass on what the logging policy
    /// can show: 1 when the log covers the target.
    static func meanWeight(_ estimator: OffPolicyEstimator, _ rounds: [OffPolicyRound]) -> (Double, Double)? {
        let weights: [Double]
        switch estimator {
        case .directMethod: return nil
        case .slateIPS: weights = rounds.map { $0.targetSlatePropensity / $0.loggingSlatePropensity }
        default: weights = rounds.map { $0.targetPropensities[0] / $0.loggingPropensities[0] }
        }
        let n = Double(weights.count)
        guard n > 1 else { return nil }
        let mean = weights.reduce(0, +) / n
        let variance = weights.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (mean, (variance / n).squareRoot())
    }

    /// `x` to three decimals, or in full when that would print 0.
    static func short(_ x: Double) -> String {
        let r = (x * 1000).rounded() / 1000
        return r == 0 && x != 0 ? String(x) : String(r)
    }

    static func rounded(_ x: Double) -> String {
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}

/// The per-round sufficient statistics of an estimator and how they combine: the estimate
/// is a function of the mean statistic vector over the rounds, so a bootstrap resample
/// only re-averages the stored statistics.
private struct Statistic {
    let estimator: OffPolicyEstimator
    let length: Int

    var width: Int { estimator == .selfNormalizedIPS ? 2 * length : 1 }

    static func weight(_ r: OffPolicyRound, _ j: Int) -> Double { r.targetPropensities[j] / r.loggingPropensities[j] }

    /// The importance weight of the slate's first `j + 1` items (validated present).
    static func prefixWeight(_ r: OffPolicyRound, _ j: Int) -> Double {
        r.targetPrefixPropensities![j] / r.loggingPrefixPropensities![j]
    }

    func fill(_ r: OffPolicyRound, into out: inout ArraySlice<Double>) {
        let base = out.startIndex
        let total = r.rewards.reduce(0, +)
        switch estimator {
        case .directMethod:
            out[base] = r.targetPredictedRewards.reduce(0, +)
        case .ips:
            out[base] = (0..<r.length).reduce(0) { $0 + Self.weight(r, $1) * r.rewards[$1] }
        case .selfNormalizedIPS:
            for j in 0..<r.length {
                let w = Self.weight(r, j)
                out[base + 2 * j] = w * r.rewards[j]
                out[base + 2 * j + 1] = w
            }
        case .doublyRobust, .clippedDoublyRobust, .switchDoublyRobust:
            var sum = 0.0
            for j in 0..<r.length {
                sum += r.targetPredictedRewards[j] + drWeight(Self.weight(r, j)) * (r.rewards[j] - r.predictedRewards[j])
            }
            out[base] = sum
        case .slateIPS:
            out[base] = r.targetSlatePropensity / r.loggingSlatePropensity * total
        case .pseudoInverse:
            out[base] = pseudoInverseWeight(r) * total
        case .cascadeIPS:
            out[base] = (0..<r.length).reduce(0) { $0 + Self.prefixWeight(r, $1) * r.rewards[$1] }
        }
    }

    func drWeight(_ w: Double) -> Double {
        switch estimator {
        case .clippedDoublyRobust(let maxWeight): min(w, maxWeight)
        case .switchDoublyRobust(let threshold): w <= threshold ? w : 0
        default: w
        }
    }

    func pseudoInverseWeight(_ r: OffPolicyRound) -> Double {
        (0..<r.length).reduce(0) { $0 + Self.weight(r, $1) } - Double(r.length) + 1
    }

    /// The estimate from the statistics of `rows` (indices into the rounds, with repeats).
    func value(_ stats: [Double], rows: [Int]) -> Double {
        let n = Double(rows.count)
        if estimator == .selfNormalizedIPS {
            var sums = [Double](repeating: 0, count: width)
            for i in rows { for c in 0..<width { sums[c] += stats[i * width + c] } }
            var value = 0.0
            for j in 0..<length where sums[2 * j + 1] > 0 { value += sums[2 * j] / sums[2 * j + 1] }
            return value
        }
        var sum = 0.0
        for i in rows { sum += stats[i] }
        return sum / n
    }

    func effectiveSampleSize(_ rounds: [OffPolicyRound]) -> Double {
        func ess(_ weights: [Double]) -> Double {
            let s = weights.reduce(0, +), s2 = weights.reduce(0) { $0 + $1 * $1 }
            return s2 > 0 ? s * s / s2 : 0
        }
        switch estimator {
        case .directMethod:
            return Double(rounds.count)
        case .slateIPS:
            return ess(rounds.map { $0.targetSlatePropensity / $0.loggingSlatePropensity })
        case .pseudoInverse:
            return ess(rounds.map(pseudoInverseWeight))
        case .ips, .selfNormalizedIPS, .doublyRobust, .clippedDoublyRobust, .switchDoublyRobust, .cascadeIPS:
            var smallest = Double.infinity
            for j in 0..<length {
                let weights = rounds.filter { $0.length > j }
                    .map { estimator == .cascadeIPS ? Self.prefixWeight($0, j) : drWeight(Self.weight($0, j)) }
                if !weights.isEmpty { smallest = min(smallest, ess(weights)) }
            }
            return smallest.isFinite ? smallest : 0
        }
    }
}
