/// One logged recommendation: the slate a user was shown, with what the logging policy
/// knew about it (its propensities), and the rewards that followed.
///
/// Positions are 0-based (position 0 is the top of the slate). `propensities[j]` is the
/// marginal probability that the logging policy put `items[j]` at position `j` for this
/// user; `slatePropensity` is the probability of the whole slate. `rewards[j]` is the
/// reward the user gave `items[j]` (0 when no feedback referenced it).
public struct LoggedImpression: Sendable, Codable, Equatable {
    /// The request id that feedback events reference.
    public var requestID: String
    /// The user (the context).
    public var user: String
    /// The slate, top first.
    public var items: [String]
    /// Marginal logging propensity of each slate item at its position.
    public var propensities: [Double]
    /// Logging probability of the whole slate.
    public var slatePropensity: Double
    /// Reward of each slate item (0 without feedback).
    public var rewards: [Double]
    /// The logging (serving) policy, e.g. ``ServingPolicy/description``.
    public var loggingPolicy: String
    /// The version of the model that ranked the slate.
    public var modelVersion: String
    /// Seconds since the Unix epoch.
    public var timestamp: Double

    /// An impression.
    public init(
        requestID: String, user: String, items: [String], propensities: [Double], slatePropensity: Double,
        rewards: [Double], loggingPolicy: String, modelVersion: String, timestamp: Double = 0
    ) {
        self.requestID = requestID; self.user = user; self.items = items; self.propensities = propensities
        self.slatePropensity = slatePropensity; self.rewards = rewards; self.loggingPolicy = loggingPolicy
        self.modelVersion = modelVersion; self.timestamp = timestamp
    }

    /// Throws unless the arrays have equal length, propensities are in (0, 1] and rewards
    /// are finite. An empty slate is valid (a server logs one when the ranking had nothing
    /// left to show, with slate propensity 1), though it gives the estimators no position
    /// to evaluate.
    public func validate() throws(OffPolicyError) {
        guard propensities.count == items.count, rewards.count == items.count else {
            throw .invalidLog("impression '\(requestID)': \(items.count) items but \(propensities.count) propensities and \(rewards.count) rewards")
        }
        for p in propensities + [slatePropensity] where !(p > 0 && p <= 1) {
            throw .invalidLog("impression '\(requestID)': propensity \(p) is not in (0, 1]")
        }
        guard rewards.allSatisfy(\.isFinite) else { throw .invalidLog("impression '\(requestID)': a reward is not finite") }
    }
}

/// One logged round prepared for the estimators: the logging and the target (candidate)
/// policy's probabilities of what was shown, the rewards, and a reward model's predictions.
///
/// All arrays have one entry per slate position `j`:
/// - `loggingPropensities[j]` = μ(a_j at j | x), `targetPropensities[j]` = π(a_j at j | x);
/// - `rewards[j]` = r_j;
/// - `predictedRewards[j]` = q̂(x, a_j, j), the reward model at the logged item;
/// - `targetPredictedRewards[j]` = Σ_a π(a at j | x)·q̂(x, a, j), the reward model's
///   expectation under the target policy.
/// `loggingSlatePropensity` and `targetSlatePropensity` are the probabilities of the whole
/// slate (for ``OffPolicyEstimator/slateIPS``). `loggingPrefixPropensities[j]` and
/// `targetPrefixPropensities[j]`, when known, are the probabilities of the slate's first
/// `j + 1` items in their order (for ``OffPolicyEstimator/cascadeIPS``).
public struct OffPolicyRound: Sendable, Equatable, Codable {
    public var loggingPropensities: [Double]
    public var targetPropensities: [Double]
    public var loggingSlatePropensity: Double
    public var targetSlatePropensity: Double
    public var rewards: [Double]
    public var predictedRewards: [Double]
    public var targetPredictedRewards: [Double]
    public var loggingPrefixPropensities: [Double]?
    public var targetPrefixPropensities: [Double]?

    /// A round. Arguments `predictedRewards` and `targetPredictedRewards` default to zeros
    /// (for the estimators that use no reward model).
    public init(
        loggingPropensities: [Double], targetPropensities: [Double], loggingSlatePropensity: Double? = nil,
        targetSlatePropensity: Double? = nil, rewards: [Double], predictedRewards: [Double]? = nil,
        targetPredictedRewards: [Double]? = nil, loggingPrefixPropensities: [Double]? = nil,
        targetPrefixPropensities: [Double]? = nil
    ) {
        self.loggingPropensities = loggingPropensities
        self.targetPropensities = targetPropensities
        self.loggingSlatePropensity = loggingSlatePropensity ?? loggingPropensities.reduce(1, *)
        self.targetSlatePropensity = targetSlatePropensity ?? targetPropensities.reduce(1, *)
        self.rewards = rewards
        self.predictedRewards = predictedRewards ?? Array(repeating: 0, count: rewards.count)
        self.targetPredictedRewards = targetPredictedRewards ?? Array(repeating: 0, count: rewards.count)
        self.loggingPrefixPropensities = loggingPrefixPropensities
        self.targetPrefixPropensities = targetPrefixPropensities
    }

    /// Number of slate positions.
    public var length: Int { rewards.count }
}

/// Errors of off-policy evaluation.
public enum OffPolicyError: Error, Equatable, CustomStringConvertible {
    /// The log cannot be used, with the reason.
    case invalidLog(String)
    /// An estimator parameter is invalid, with the reason.
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .invalidLog(let reason), .invalidParameter(let reason): reason
        }
    }
}
