import Foundation
import RecRLTensor
import Testing
@testable import RecRLEvaluation

/// Two one-position rounds whose estimates are worked out by hand in each test:
/// round A: μ = 0.5, π = 1, r = 1, q̂ = 0.6, q̂π = 0.8 (w = 2);
/// round B: μ = 0.25, π = 0.5, r = 0, q̂ = 0.2, q̂π = 0.4 (w = 2).
private let twoRounds = [
    OffPolicyRound(
        loggingPropensities: [0.5], targetPropensities: [1], rewards: [1],
        predictedRewards: [0.6], targetPredictedRewards: [0.8]),
    OffPolicyRound(
        loggingPropensities: [0.25], targetPropensities: [0.5], rewards: [0],
        predictedRewards: [0.2], targetPredictedRewards: [0.4]),
]

/// One two-position round: μ = (0.5, 0.5), π = (1, 0.25), slate μ = 0.2, slate π = 0.1, r = (1, 1).
private let slateRound = [
    OffPolicyRound(
        loggingPropensities: [0.5, 0.5], targetPropensities: [1, 0.25], loggingSlatePropensity: 0.2,
        targetSlatePropensity: 0.1, rewards: [1, 1])
]

@Suite struct OffPolicyEstimatorTests {
    let evaluator = OffPolicyEvaluator(bootstrapSamples: 0)

    func value(_ estimator: OffPolicyEstimator, _ rounds: [OffPolicyRound]) throws -> Double {
        try evaluator.estimate(estimator, rounds: rounds).value
    }

    @Test func handComputedSingleActionEstimates() throws {
        #expect(abs(try value(.directMethod, twoRounds) - 0.6) < 1e-12)  // (0.8 + 0.4) / 2
        #expect(abs(try value(.ips, twoRounds) - 1.0) < 1e-12)  // (2·1 + 2·0) / 2
        #expect(abs(try value(.selfNormalizedIPS, twoRounds) - 0.5) < 1e-12)  // 2 / (2 + 2)
        // [0.8 + 2(1 − 0.6)] and [0.4 + 2(0 − 0.2)], averaged
        #expect(abs(try value(.doublyRobust, twoRounds) - 0.8) < 1e-12)
        // weights clipped to 1.5: [0.8 + 0.6] and [0.4 − 0.3]
        #expect(abs(try value(.clippedDoublyRobust(maxWeight: 1.5), twoRounds) - 0.75) < 1e-12)
        // both weights exceed 1.5: the direct method
        #expect(abs(try value(.switchDoublyRobust(threshold: 1.5), twoRounds) - 0.6) < 1e-12)
        #expect(abs(try value(.switchDoublyRobust(threshold: 2), twoRounds) - 0.8) < 1e-12)
    }

    @Test func handComputedSlateEstimates() throws {
        #expect(abs(try value(.ips, slateRound) - 2.5) < 1e-12)  // 2·1 + 0.5·1
        #expect(abs(try value(.slateIPS, slateRound) - 1.0) < 1e-12)  // (0.1 / 0.2)·2
        #expect(abs(try value(.pseudoInverse, slateRound) - 3.0) < 1e-12)  // (2 + 0.5 − 2 + 1)·2
    }

    /// Slates of different lengths (a short slate when little was left to show): each
    /// position averages over the rounds that reach it. Round A: μ = (0.5, 0.5),
    /// π = (1, 0.25), r = (1, 1); round B: μ = 0.5, π = 0.5, r = 1.
    @Test func slatesOfDifferentLengths() throws {
        let rounds = [
            OffPolicyRound(loggingPropensities: [0.5, 0.5], targetPropensities: [1, 0.25], rewards: [1, 1]),
            OffPolicyRound(loggingPropensities: [0.5], targetPropensities: [0.5], rewards: [1]),
        ]
        #expect(abs(try value(.ips, rounds) - 1.75) < 1e-12)  // (2·1 + 0.5·1 + 1·1) / 2
        // position 0: (2 + 1) / (2 + 1); position 1 (round A only): 0.5 / 0.5
        #expect(abs(try value(.selfNormalizedIPS, rounds) - 2) < 1e-12)
        #expect(abs(try value(.slateIPS, rounds) - 1.5) < 1e-12)  // slate weights 0.25 / 0.25 and 0.5 / 0.5: (2 + 1) / 2
        #expect(abs(try value(.pseudoInverse, rounds) - 2) < 1e-12)  // ((2 + 0.5 − 1)·2 + 1·1) / 2
        // The smallest over positions: weights (2, 1) at position 0, (0.5) at position 1.
        #expect(abs(try evaluator.estimate(.ips, rounds: rounds).effectiveSampleSize - 1) < 1e-12)
    }

    @Test func effectiveSampleSizeAndWarnings() throws {
        let estimate = try evaluator.estimate(.ips, rounds: twoRounds)
        #expect(abs(estimate.effectiveSampleSize - 2) < 1e-12)  // equal weights
        #expect(estimate.warnings.contains { $0.contains("only 2 rounds") })
        let skewed =
            [OffPolicyRound(loggingPropensities: [0.01], targetPropensities: [1], rewards: [1])]
            + Array(repeating: OffPolicyRound(loggingPropensities: [1], targetPropensities: [0.01], rewards: [0]), count: 99)
        let unreliable = try evaluator.estimate(.ips, rounds: skewed)
        #expect(unreliable.effectiveSampleSize < 2)
        #expect(unreliable.warnings.contains { $0.contains("effective sample size") })
        // The target's mass lies where the log has no data: the mean weight is far below 1.
        let uncovered = Array(repeating: OffPolicyRound(loggingPropensities: [0.9], targetPropensities: [0.01], rewards: [1]), count: 100)
        #expect(try evaluator.estimate(.ips, rounds: uncovered).warnings.contains { $0.contains("mean importance weight 0.011") })
        let covered = [
            OffPolicyRound(loggingPropensities: [0.5], targetPropensities: [0.25], rewards: [1]),
            OffPolicyRound(loggingPropensities: [0.5], targetPropensities: [0.75], rewards: [0]),
        ]  // weights 0.5 and 1.5
        #expect(try evaluator.estimate(.ips, rounds: covered).warnings.allSatisfy { !$0.contains("mean importance weight") })
        let deterministic = Array(repeating: OffPolicyRound(loggingPropensities: [1], targetPropensities: [0], rewards: [1]), count: 40)
        let warned = try evaluator.estimate(.doublyRobust, rounds: deterministic)
        #expect(warned.warnings.contains { $0.contains("deterministic") })
        #expect(warned.warnings.contains { $0.contains("probability 0 to every logged item") })
    }

    @Test func rejectsBadInput() {
        #expect(throws: OffPolicyError.self) { try evaluator.estimate(.ips, rounds: []) }
        #expect(throws: OffPolicyError.self) {
            try evaluator.estimate(.ips, rounds: [OffPolicyRound(loggingPropensities: [0], targetPropensities: [1], rewards: [1])])
        }
        #expect(throws: OffPolicyError.self) {
            try evaluator.estimate(.ips, rounds: [OffPolicyRound(loggingPropensities: [0.5], targetPropensities: [1.5], rewards: [1])])
        }
        #expect(throws: OffPolicyError.self) {
            try evaluator.estimate(.ips, rounds: [OffPolicyRound(loggingPropensities: [0.5, 1], targetPropensities: [1], rewards: [1])])
        }
        #expect(throws: OffPolicyError.self) { try evaluator.estimate(.clippedDoublyRobust(maxWeight: 0), rounds: twoRounds) }
        #expect(throws: OffPolicyError.self) { try OffPolicyEstimator(name: "magic") }
        #expect((try? OffPolicyEstimator(name: "switch-dr", parameter: 3)) == .switchDoublyRobust(threshold: 3))
    }

    /// A three-action bandit logged uniformly: the true value of the target policy
    /// (0.7, 0.2, 0.1) with Bernoulli rewards of means (0.2, 0.5, 0.9) is 0.33. Every
    /// unbiased estimator lands near it, inside its seeded bootstrap interval.
    @Test func unbiasedEstimatorsRecoverTheTruthOnASimulatedBandit() throws {
        var rng = Xoshiro256StarStar(seed: 7)
        let target = [0.7, 0.2, 0.1], means = [0.2, 0.5, 0.9]
        let rounds = (0..<8000).map { _ -> OffPolicyRound in
            let a = rng.nextInt(below: 3)
            let r: Double = rng.nextUnitDouble() < means[a] ? 1 : 0
            return OffPolicyRound(
                loggingPropensities: [1.0 / 3], targetPropensities: [target[a]], rewards: [r],
                predictedRewards: [0.5], targetPredictedRewards: [0.5])
        }
        let seeded = OffPolicyEvaluator(bootstrapSamples: 100, seed: 3)
        for estimator in [OffPolicyEstimator.ips, .selfNormalizedIPS, .doublyRobust, .slateIPS, .pseudoInverse] {
            let estimate = try seeded.estimate(estimator, rounds: rounds)
            #expect(abs(estimate.value - 0.33) < 0.02, "\(estimator.name): \(estimate.value)")
            #expect(estimate.lower <= 0.33 && 0.33 <= estimate.upper, "\(estimator.name): [\(estimate.lower), \(estimate.upper)]")
            #expect(estimate.lower < estimate.value && estimate.value < estimate.upper)
            #expect(try seeded.estimate(estimator, rounds: rounds) == estimate)  // the bootstrap is seeded
        }
        // The direct method with a constant reward model is as wrong as the model (0.5).
        #expect(abs(try seeded.estimate(.directMethod, rounds: rounds).value - 0.5) < 1e-12)
    }

    @Test func cascadeIPSWeightsEachPositionByItsPrefix() throws {
        // Round 1: prefix weights 1/0.5 = 2 and 0.5/0.25 = 2, rewards 1, 1 → 4.
        // Round 2: the target never shows this slate → 0. Mean 2.
        let rounds = [
            OffPolicyRound(
                loggingPropensities: [0.5, 0.5], targetPropensities: [1, 0.5], rewards: [1, 1],
                loggingPrefixPropensities: [0.5, 0.25], targetPrefixPropensities: [1, 0.5]),
            OffPolicyRound(
                loggingPropensities: [0.5, 0.2], targetPropensities: [0, 0.3], rewards: [1, 0],
                loggingPrefixPropensities: [0.5, 0.1], targetPrefixPropensities: [0, 0]),
        ]
        let evaluator = OffPolicyEvaluator(bootstrapSamples: 50, seed: 1)
        #expect(abs(try evaluator.estimate(.cascadeIPS, rounds: rounds).value - 2) < 1e-12)
        #expect(try OffPolicyEstimator(name: "cascade-ips") == .cascadeIPS)
        let bare = [OffPolicyRound(loggingPropensities: [0.5], targetPropensities: [1], rewards: [1])]
        #expect(throws: OffPolicyError.self) { try evaluator.estimate(.cascadeIPS, rounds: bare) }
    }

    @Test func clusterBootstrapKeepsAClustersRoundsTogether() throws {
        // Ten clusters of ten identical rounds: resampling rounds sees 100 draws, resampling
        // clusters only 10, so the cluster interval is about √10 times wider; same value.
        let rounds = (0..<100).map { i in
            OffPolicyRound(loggingPropensities: [0.5], targetPropensities: [0.5], rewards: [Double(i / 10 % 2)])
        }
        let clusters = (0..<100).map { $0 / 10 }
        let evaluator = OffPolicyEvaluator(bootstrapSamples: 400, seed: 2)
        let plain = try evaluator.estimate(.ips, rounds: rounds)
        let clustered = try evaluator.estimate(.ips, rounds: rounds, clusters: clusters)
        #expect(plain.value == clustered.value)
        let ratio = (clustered.upper - clustered.lower) / (plain.upper - plain.lower)
        #expect(ratio > 2.2 && ratio < 4.5, "width ratio \(ratio)")
        #expect(try evaluator.estimate(.ips, rounds: rounds, clusters: clusters) == clustered)  // reproducible
        #expect(throws: OffPolicyError.self) { try evaluator.estimate(.ips, rounds: rounds, clusters: [1, 2]) }
    }

    @Test func quantileInterpolatesLikeNumpy() {
        #expect(SampleStatistics.quantile(sorted: [1, 2, 3, 4], 0.5) == 2.5)
        #expect(SampleStatistics.quantile(sorted: [1, 2, 3, 4], 0.025) == 1.075)
    }
}

@Suite struct ServingPolicyTests {
    @Test func epsilonGreedyPropensities() throws {
        let policy = ServingPolicy.epsilonGreedy(epsilon: 0.2, pool: 4)
        #expect(abs(policy.positionProbability(rankIndex: 0, position: 0, rankingCount: 10) - 0.85) < 1e-12)
        #expect(abs(policy.positionProbability(rankIndex: 3, position: 1, rankingCount: 10) - 0.05) < 1e-12)
        #expect(policy.positionProbability(rankIndex: 4, position: 1, rankingCount: 10) == 0)  // outside the pool
        #expect(policy.positionProbability(rankIndex: nil, position: 0, rankingCount: 10) == 0)
        #expect(abs(policy.slateProbability(rankIndices: [0, 1], rankingCount: 10) - (0.8 + 0.2 / 12)) < 1e-12)
        #expect(abs(policy.slateProbability(rankIndices: [2, 0], rankingCount: 10) - 0.2 / 12) < 1e-12)
        #expect(policy.slateProbability(rankIndices: [2, 2], rankingCount: 10) == 0)
        // Marginals at a position sum to 1 over the pool.
        let total = (0..<4).reduce(0.0) { $0 + policy.positionProbability(rankIndex: $1, position: 1, rankingCount: 10) }
        #expect(abs(total - 1) < 1e-12)
        // E[value] at position 0: 0.8·v(0) + 0.2·mean(v(0...3)) with v(r) = r.
        #expect(abs(policy.expectedValue(position: 0, rankingCount: 10) { Double($0) } - 0.2 * 1.5) < 1e-12)
    }

    @Test func sampledSlatesMatchTheirPropensities() {
        let policy = ServingPolicy.epsilonGreedy(epsilon: 0.3, pool: 5)
        var rng = Xoshiro256StarStar(seed: 11)
        var counts = [[Double]](repeating: [Double](repeating: 0, count: 5), count: 3)
        let draws = 40_000
        for _ in 0..<draws {
            let slate = policy.sample(rankingCount: 8, k: 3, using: &rng)
            #expect(Set(slate.positions).count == 3)
            for (j, r) in slate.positions.enumerated() {
                counts[j][r] += 1
                #expect(slate.propensities[j] == policy.positionProbability(rankIndex: r, position: j, rankingCount: 8))
            }
        }
        for j in 0..<3 {
            for r in 0..<5 {
                let expected = policy.positionProbability(rankIndex: r, position: j, rankingCount: 8)
                #expect(abs(counts[j][r] / Double(draws) - expected) < 0.01)
            }
        }
        var det = Xoshiro256StarStar(seed: 1)
        let top = ServingPolicy.deterministic.sample(rankingCount: 8, k: 3, using: &det)
        #expect(top.positions == [0, 1, 2] && top.propensities == [1, 1, 1] && top.slatePropensity == 1)
    }

    @Test func parsesItsDescription() throws {
        let policy = ServingPolicy.epsilonGreedy(epsilon: 0.1, pool: 50)
        #expect(try ServingPolicy(parsing: policy.description) == policy)
        #expect(try ServingPolicy(parsing: "epsilon-greedy:0.1:50") == policy)
        #expect(try ServingPolicy(parsing: "deterministic") == .deterministic)
        #expect(throws: ServingPolicyError.self) { try ServingPolicy(parsing: "epsilon-greedy:1.5:50") }
        #expect(throws: ServingPolicyError.self) { try ServingPolicy(parsing: "softmax") }
        let softmax = ServingPolicy.softmax(temperature: 0.5, pool: 20)
        #expect(try ServingPolicy(parsing: softmax.description) == softmax)
        #expect(try ServingPolicy(parsing: "softmax:0.5:20") == softmax)
        #expect(throws: ServingPolicyError.self) { try ServingPolicy(parsing: "softmax:0:20") }
        #expect(throws: ServingPolicyError.self) { try ServingPolicy(parsing: "softmax:0.5:0") }
    }
}

@Suite struct SoftmaxServingTests {
    // Scores log 3, log 2, 0 at temperature 1: weights 3 : 2 : 1.
    let scores = [log(3.0), log(2.0), 0, -7]
    let policy = ServingPolicy.softmax(temperature: 1, pool: 3)

    @Test func plackettLuceProbabilitiesByHand() throws {
        let law = try SlateDistribution(policy: policy, scores: scores, k: 2)
        // Position 0 is the softmax: 1/2, 1/3, 1/6.
        for (r, p) in [0.5, 1.0 / 3, 1.0 / 6].enumerated() {
            #expect(abs(law.positionProbability(rankIndex: r, position: 0) - p) < 1e-12)
        }
        // Position 1: item 0 follows 1 (1/3 · 3/4) or 2 (1/6 · 3/5) = 0.35; item 1: 1/2 · 2/3 + 1/6 · 2/5 = 0.4;
        // item 2: 1/2 · 1/3 + 1/3 · 1/4 = 0.25.
        for (r, p) in [0.35, 0.4, 0.25].enumerated() {
            #expect(abs(law.positionProbability(rankIndex: r, position: 1) - p) < 1e-12)
        }
        #expect(law.positionProbability(rankIndex: 3, position: 0) == 0)  // outside the pool
        #expect(law.positionProbability(rankIndex: nil, position: 0) == 0)
        #expect(law.positionProbability(rankIndex: 0, position: 2) == 0)  // beyond the slate
        #expect(abs(law.slateProbability(rankIndices: [1, 0]) - 0.25) < 1e-12)  // 1/3 · 3/4
        #expect(abs(law.slateProbability(rankIndices: [2, 1]) - 1.0 / 15) < 1e-12)  // 1/6 · 2/5
        #expect(law.slateProbability(rankIndices: [1, 1]) == 0 && law.slateProbability(rankIndices: [3, 0]) == 0)
        // E[rank at position 1] = 0.4 + 2 · 0.25.
        #expect(abs(law.expectedValue(position: 1) { Double($0) } - 0.9) < 1e-12)
        // The temperature divides the scores: log 4 and 0 at T = 2 weigh 2 : 1.
        let warm = try SlateDistribution(policy: .softmax(temperature: 2, pool: 2), scores: [log(4.0), 0], k: 1)
        #expect(abs(warm.positionProbability(rankIndex: 0, position: 0) - 2.0 / 3) < 1e-12)
        // A score far below the best keeps a positive (floored) probability.
        let far = try SlateDistribution(policy: .softmax(temperature: 1, pool: 2), scores: [0, -1e6], k: 2)
        #expect(far.positionProbability(rankIndex: 1, position: 0) > 0)
        #expect(abs(far.positionProbability(rankIndex: 1, position: 1) - 1) < 1e-12)
        #expect(throws: ServingPolicyError.self) { try SlateDistribution(policy: self.policy, scores: [0, .nan, 1], k: 2) }
        #expect(throws: ServingPolicyError.self) { try SlateDistribution(policy: self.policy, rankingCount: 3) }
    }

    @Test func sampledSlatesMatchTheirPropensities() throws {
        let law = try SlateDistribution(policy: policy, scores: scores, k: 2)
        var rng = Xoshiro256StarStar(seed: 5)
        var counts = [[Double]](repeating: [0, 0, 0], count: 2)
        let draws = 30_000
        for _ in 0..<draws {
            let slate = law.sample(k: 2, using: &rng)
            #expect(slate.positions.count == 2 && slate.positions[0] != slate.positions[1])
            for (j, r) in slate.positions.enumerated() {
                counts[j][r] += 1
                #expect(slate.propensities[j] == law.positionProbability(rankIndex: r, position: j))
            }
            #expect(slate.slatePropensity == law.slateProbability(rankIndices: slate.positions))
        }
        for j in 0..<2 {
            for r in 0..<3 { #expect(abs(counts[j][r] / Double(draws) - law.positionProbability(rankIndex: r, position: j)) < 0.01) }
        }
    }

    @Test func estimatedMarginalsAgreeWithEnumeration() {
        // Six items, slates of four: the Monte Carlo marginals against the enumerated ones.
        let weights = [5.0, 3, 2, 1.5, 1, 0.5]
        let exact = PlackettLuce(weights: weights, depth: 4)
        let estimated = PlackettLuce(weights: weights, depth: 4, forceSampling: true)
        #expect(exact.isExact && !estimated.isExact)
        var worst = 0.0
        for j in 0..<4 {
            #expect(abs((0..<6).reduce(0) { $0 + exact.marginal(rank: $1, position: j) } - 1) < 1e-12)
            #expect(abs((0..<6).reduce(0) { $0 + estimated.marginal(rank: $1, position: j) } - 1) < 1e-9)
            for r in 0..<6 {
                let e = exact.marginal(rank: r, position: j)
                worst = max(worst, abs(estimated.marginal(rank: r, position: j) - e) / e)
            }
        }
        #expect(worst < 0.05, "largest relative error \(worst)")  // 0.037 with the fixed seed; 0.10 without the two-step sum
        // Large pools are estimated: the budget decides.
        #expect(!PlackettLuce(weights: [Double](repeating: 1, count: 40), depth: 5).isExact)
    }

    @Test func candidateRoundsUnderSoftmax() throws {
        let x = LoggedImpression(
            requestID: "r", user: "u", items: ["b", "a"], propensities: [0.5, 0.5], slatePropensity: 0.25,
            rewards: [1, 0], loggingPolicy: "test", modelVersion: "v")
        let law = try SlateDistribution(policy: policy, scores: scores, k: 2)
        let model = PositionItemRewardModel(impressions: [x], shrinkage: 1)
        let round = OffPolicyRound(impression: x, ranking: ["a", "b", "c", "d"], distribution: law, rewardModel: model)
        #expect(abs(round.targetPropensities[0] - 1.0 / 3) < 1e-12 && abs(round.targetPropensities[1] - 0.35) < 1e-12)
        #expect(abs(round.targetSlatePropensity - 0.25) < 1e-12)
    }
}

@Suite struct CandidateRoundTests {
    let log = [
        LoggedImpression(
            requestID: "r1", user: "u1", items: ["a", "b"], propensities: [0.5, 0.5], slatePropensity: 0.25,
            rewards: [1, 0], loggingPolicy: "test", modelVersion: "v1"),
        LoggedImpression(
            requestID: "r2", user: "u2", items: ["a", "c"], propensities: [0.5, 0.5], slatePropensity: 0.25,
            rewards: [0, 1], loggingPolicy: "test", modelVersion: "v1"),
    ]

    @Test func rewardModelIsPositionMeanPlusShrunkItemEffect() {
        let model = PositionItemRewardModel(impressions: log, shrinkage: 1)
        #expect(model.positionMeans == [0.5, 0.5])
        #expect(abs(model.predict(user: "u", item: "a", position: 0) - 0.5) < 1e-12)  // residuals +0.5 and −0.5
        #expect(abs(model.predict(user: "u", item: "b", position: 1) - 0.25) < 1e-12)  // 0.5 − 0.5/2
        #expect(abs(model.predict(user: "u", item: "c", position: 0) - 0.75) < 1e-12)  // 0.5 + 0.5/2
        #expect(model.predict(user: "u", item: "z", position: 5) == 0)
    }

    @Test func candidateRoundUsesTheCandidatesRanking() {
        let model = PositionItemRewardModel(impressions: log, shrinkage: 1)
        let round = OffPolicyRound(impression: log[1], ranking: ["c", "a", "b"], policy: .deterministic, rewardModel: model)
        #expect(round.targetPropensities == [0, 0])  // the candidate shows c, a
        #expect(round.targetSlatePropensity == 0)
        #expect(round.loggingPropensities == [0.5, 0.5] && round.loggingSlatePropensity == 0.25)
        #expect(abs(round.targetPredictedRewards[0] - 0.75) < 1e-12 && abs(round.targetPredictedRewards[1] - 0.5) < 1e-12)
        #expect(abs(round.predictedRewards[1] - 0.75) < 1e-12)
        let agreeing = OffPolicyRound(impression: log[0], ranking: ["a", "b", "c"], policy: .deterministic, rewardModel: model)
        #expect(agreeing.targetPropensities == [1, 1] && agreeing.targetSlatePropensity == 1)
    }

    @Test func impressionValidation() {
        var bad = log[0]
        bad.propensities = [0.5]
        #expect(throws: OffPolicyError.self) { try bad.validate() }
        bad = log[0]
        bad.slatePropensity = 0
        #expect(throws: OffPolicyError.self) { try bad.validate() }
        #expect(throws: Never.self) { try log[0].validate() }
        // A server logs an empty slate when nothing is left to show: a valid impression.
        let empty = LoggedImpression(
            requestID: "r3", user: "u1", items: [], propensities: [], slatePropensity: 1, rewards: [],
            loggingPolicy: "test", modelVersion: "v1")
        #expect(throws: Never.self) { try empty.validate() }
    }
}
