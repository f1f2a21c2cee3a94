/// A reward model for the direct method and doubly robust estimators: the expected reward
/// of showing an item at a position.
public protocol SlateRewardModel: Sendable {
    /// Predicted reward of `item` at `position` (0-based) for `user`.
    func predict(user: String, item: String, position: Int) -> Double
}

/// A reward model fitted on the log: a position baseline plus a shrunk item effect,
/// `q̂(a, j) = r̄_j + Σ_{(a, j') logged} (r − r̄_j') / (n_a + shrinkage)`, where `r̄_j` is the
/// mean reward at position `j` and `n_a` the number of times item `a` was shown. An item
/// never shown gets the position baseline. It ignores the user: the doubly robust
/// estimators correct what it gets wrong with the importance-weighted residuals.
public struct PositionItemRewardModel: SlateRewardModel, Sendable, Equatable {
    /// Mean reward at each position (0 beyond the longest logged slate).
    public private(set) var positionMeans: [Double]
    /// The shrunk item effects.
    public private(set) var itemEffects: [String: Double]

    /// Fits the model on `impressions`; `shrinkage ≥ 0` pulls rarely shown items towards 0.
    public init(impressions: [LoggedImpression], shrinkage: Double = 5) {
        let length = impressions.map(\.items.count).max() ?? 0
        var sums = [Double](repeating: 0, count: length), counts = [Double](repeating: 0, count: length)
        for x in impressions {
            for j in x.items.indices { sums[j] += x.rewards[j]; counts[j] += 1 }
        }
        positionMeans = zip(sums, counts).map { $1 > 0 ? $0 / $1 : 0 }
        var residuals: [String: (sum: Double, count: Double)] = [:]
        for x in impressions {
            for (j, item) in x.items.enumerated() {
                residuals[item, default: (0, 0)].sum += x.rewards[j] - positionMeans[j]
                residuals[item, default: (0, 0)].count += 1
            }
        }
        itemEffects = residuals.mapValues { $0.sum / ($0.count + max(0, shrinkage)) }
    }

    public func predict(user: String, item: String, position: Int) -> Double {
        (position < positionMeans.count ? positionMeans[position] : 0) + (itemEffects[item] ?? 0)
    }
}

extension OffPolicyRound {
    /// The round of `impression` for a candidate policy that serves `ranking` (the
    /// candidate's ranking for the impression's user, best first) with `policy`, a policy
    /// whose probabilities depend only on the order (deterministic or ε-greedy; softmax
    /// needs the scores: use ``init(impression:ranking:distribution:rewardModel:)``).
    public init(impression x: LoggedImpression, ranking: [String], policy: ServingPolicy, rewardModel: some SlateRewardModel) {
        guard let distribution = try? SlateDistribution(policy: policy, rankingCount: ranking.count) else {
            ServingPolicy.needsScores()
        }
        self.init(impression: x, ranking: ranking, distribution: distribution, rewardModel: rewardModel)
    }

    /// The round of `impression` for a candidate that serves `ranking` (the candidate's
    /// ranking for the impression's user, best first) with `distribution` (built over the
    /// same ranking): the candidate's probability of each logged item at its position, of
    /// the logged slate and of each of its prefixes, and the reward model's predictions at the logged items and in
    /// expectation under the candidate.
    public init(
        impression x: LoggedImpression, ranking: [String], distribution: SlateDistribution,
        rewardModel: some SlateRewardModel
    ) {
        var rankOf: [String: Int] = [:]
        rankOf.reserveCapacity(ranking.count)
        for (r, item) in ranking.enumerated() where rankOf[item] == nil { rankOf[item] = r }
        let indices = x.items.map { rankOf[$0] }
        let target = indices.enumerated().map { j, r in distribution.positionProbability(rankIndex: r, position: j) }
        let predicted = x.items.enumerated().map { j, item in rewardModel.predict(user: x.user, item: item, position: j) }
        let expected = x.items.indices.map { j in
            distribution.expectedValue(position: j) { r in rewardModel.predict(user: x.user, item: ranking[r], position: j) }
        }
        self.init(
            loggingPropensities: x.propensities, targetPropensities: target,
            loggingSlatePropensity: x.slatePropensity,
            targetSlatePropensity: distribution.slateProbability(rankIndices: indices),
            rewards: x.rewards, predictedRewards: predicted, targetPredictedRewards: expected,
            targetPrefixPropensities: indices.indices.map { distribution.slateProbability(rankIndices: Array(indices[...$0])) })
    }
}
