import RecRLRecommenders
import RecRLTensor
import XCTest

final class LinearBanditTests: XCTestCase {

    /// Items (1,0), (0,1), (1,1); rewards 1 for item 0 and 2 for item 2 with λ = 1:
    /// A = [[3,1],[1,2]], b = (3,2), A⁻¹ = [[2,-1],[-1,3]]/5, θ̂ = (0.8, 0.6).
    func testRidgeEstimateAndWidthMatchTheClosedForm() throws {
        var bandit = try LinearBandit(itemFeatures: [1, 0, 0, 1, 1, 1], dimension: 2, userCount: 2, strategy: .ucb(alpha: 1))
        XCTAssertEqual(try bandit.confidenceWidth(user: 0, item: 2), 2.0.squareRoot(), accuracy: 1e-12)  // prior: ‖x‖/√λ
        try bandit.update(user: 0, item: 0, reward: 1)
        try bandit.update(user: 0, item: 2, reward: 2)
        let theta = try bandit.estimate(user: 0)
        XCTAssertEqual(theta[0], 0.8, accuracy: 1e-12)
        XCTAssertEqual(theta[1], 0.6, accuracy: 1e-12)
        XCTAssertEqual(try bandit.confidenceWidth(user: 0, item: 1), (3.0 / 5).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(try bandit.observationCount(user: 0), 2)
        // Users are independent: user 1 is still at the prior.
        XCTAssertEqual(try bandit.estimate(user: 1), [0, 0])
        var scores: [Float] = []
        try bandit.scores(user: 0, into: &scores)
        XCTAssertEqual(Double(scores[1]), 0.6 + (3.0 / 5).squareRoot(), accuracy: 1e-6)
    }

    /// Item 0 observed 20 times with reward 0.5: θ̂·x0 = 10/21, width 1/√21; item 1 unseen:
    /// mean 0, width 1. Greedy picks item 0, LinUCB (α = 1) the under-explored item 1.
    func testUCBPicksTheUnderExploredArm() throws {
        var greedy = try LinearBandit(itemFeatures: [1, 0, 0, 1], dimension: 2, userCount: 1, strategy: .ucb(alpha: 0))
        var ucb = try LinearBandit(itemFeatures: [1, 0, 0, 1], dimension: 2, userCount: 1, strategy: .ucb(alpha: 1))
        for _ in 0..<20 {
            try greedy.update(user: 0, item: 0, reward: 0.5)
            try ucb.update(user: 0, item: 0, reward: 0.5)
        }
        var scratch: [Float] = []
        XCTAssertEqual(try greedy.recommend(user: 0, scratch: &scratch), 0)
        XCTAssertEqual(try ucb.recommend(user: 0, scratch: &scratch), 1)
        XCTAssertEqual(Double(scratch[0]), 10.0 / 21 + 1 / 21.0.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(try ucb.recommend(user: 0, scratch: &scratch, excluding: { $0 == 1 }), 0)
        XCTAssertNil(try ucb.recommend(user: 0, scratch: &scratch, excluding: { _ in true }))
    }

    /// Thompson draws θ̃ ~ N(θ̂, v² A⁻¹): the score of item x has mean ⟨θ̂, x⟩ and variance
    /// v² xᵀA⁻¹x; the same seed gives the same draws.
    func testThompsonDrawsHaveThePosteriorMeanAndVariance() throws {
        let features: [Float] = [1, 0, 0, 1, 1, 1]
        var bandit = try LinearBandit(itemFeatures: features, dimension: 2, userCount: 1, strategy: .thompson(scale: 0.5), seed: 3)
        var twin = try LinearBandit(itemFeatures: features, dimension: 2, userCount: 1, strategy: .thompson(scale: 0.5), seed: 3)
        try bandit.update(user: 0, item: 0, reward: 1); try twin.update(user: 0, item: 0, reward: 1)
        try bandit.update(user: 0, item: 2, reward: 2); try twin.update(user: 0, item: 2, reward: 2)
        var s: [Float] = [], t: [Float] = []
        let n = 20_000
        var sum = 0.0, sumSquares = 0.0
        for _ in 0..<n {
            try bandit.scores(user: 0, into: &s)
            try twin.scores(user: 0, into: &t)
            XCTAssertEqual(s, t)
            sum += Double(s[2]); sumSquares += Double(s[2]) * Double(s[2])
        }
        let mean = sum / Double(n), variance = sumSquares / Double(n) - mean * mean
        // x2 = (1,1): ⟨θ̂, x2⟩ = 1.4; x2ᵀA⁻¹x2 = (2 − 1 − 1 + 3)/5 = 0.6; v² · 0.6 = 0.15.
        XCTAssertEqual(mean, 1.4, accuracy: 0.015)
        XCTAssertEqual(variance, 0.15, accuracy: 0.01)
        // Scale 0 is the greedy ridge estimate.
        var greedy = try LinearBandit(itemFeatures: features, dimension: 2, userCount: 1, strategy: .thompson(scale: 0))
        try greedy.update(user: 0, item: 0, reward: 1); try greedy.update(user: 0, item: 2, reward: 2)
        try greedy.scores(user: 0, into: &s)
        XCTAssertEqual(s[0], 0.8, accuracy: 1e-6); XCTAssertEqual(s[2], 1.4, accuracy: 1e-6)
    }

    /// A simulated linear bandit (d = 8, 200 unit-norm items, reward ⟨θ*, x⟩ + N(0, 0.1²)):
    /// both strategies' regret is far below random's and grows sublinearly (the second half
    /// of the run adds much less regret than the first).
    func testRegretIsSublinearAndFarBelowRandom() throws {
        let d = 8, items = 200, steps = 2000
        var rng = Xoshiro256StarStar(seed: 11)
        func unit() -> [Float] {
            var v = (0..<d).map { _ in rng.nextNormalFloat() }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for j in 0..<d { v[j] /= n }
            return v
        }
        let features = (0..<items).flatMap { _ in unit() }
        let truth = unit()
        let means = (0..<items).map { i in (0..<d).reduce(0.0) { $0 + Double(truth[$1] * features[i * d + $1]) } }
        let best = means.max()!
        var randomRegret = 0.0
        for _ in 0..<steps { randomRegret += best - means[rng.nextInt(below: items)] }
        for strategy in [LinearBandit.Strategy.ucb(alpha: 0.5), .thompson(scale: 0.2)] {
            var bandit = try LinearBandit(itemFeatures: features, dimension: d, userCount: 1, strategy: strategy, seed: 5)
            var noise = Xoshiro256StarStar(seed: 13)
            var scratch: [Float] = []
            var firstHalf = 0.0, secondHalf = 0.0
            for step in 0..<steps {
                let item = try XCTUnwrap(bandit.recommend(user: 0, scratch: &scratch))
                let regret = best - means[item]
                if step < steps / 2 { firstHalf += regret } else { secondHalf += regret }
                try bandit.update(user: 0, item: item, reward: means[item] + 0.1 * Double(noise.nextNormalFloat()))
            }
            XCTAssertLessThan(firstHalf + secondHalf, 0.1 * randomRegret, "\(strategy)")
            XCTAssertLessThan(secondHalf, 0.5 * firstHalf, "\(strategy): regret should grow sublinearly")
        }
    }

    func testBadInputThrows() throws {
        XCTAssertThrowsError(try LinearBandit(itemFeatures: [1, 2, 3], dimension: 2, userCount: 1, strategy: .ucb(alpha: 1)))
        XCTAssertThrowsError(try LinearBandit(itemFeatures: [1, 2], dimension: 2, userCount: 0, strategy: .ucb(alpha: 1)))
        XCTAssertThrowsError(try LinearBandit(itemFeatures: [1, 2], dimension: 2, userCount: 1, ridge: 0, strategy: .ucb(alpha: 1)))
        XCTAssertThrowsError(try LinearBandit(itemFeatures: [1, 2], dimension: 2, userCount: 1, strategy: .thompson(scale: -1)))
        XCTAssertThrowsError(try LinearBandit(itemFeatures: [1, .nan], dimension: 2, userCount: 1, strategy: .ucb(alpha: 1)))
        var bandit = try LinearBandit(itemFeatures: [1, 2], dimension: 2, userCount: 1, strategy: .ucb(alpha: 1))
        XCTAssertThrowsError(try bandit.update(user: 1, item: 0, reward: 1))
        XCTAssertThrowsError(try bandit.update(user: 0, item: 1, reward: 1))
        XCTAssertThrowsError(try bandit.update(user: 0, item: 0, reward: .infinity))
        XCTAssertEqual(try bandit.observationCount(user: 0), 0)
    }
}
