import RecRLTensor
import Foundation
import XCTest
import RecRLEmbeddings
import RecRLData
@testable import RecRLRecommenders

final class RecommenderTests: XCTestCase {
    /// u0: i0 i1 ; u1: i0 i1 i2 ; u2: i1 i2 ; i3 unseen.
    let tiny = dataset(
        [(0, 0, 5, 1), (0, 1, 3, 2), (1, 0, 4, 3), (1, 1, 2, 4), (1, 2, 5, 5), (2, 1, 4, 6), (2, 2, 1, 7)],
        users: 3, items: 4)

    func testPopularityCountsTrainingInteractions() throws {
        var model = PopularityRecommender()
        try model.fit(train: tiny)
        var scores: [Float] = []
        model.scores(forUser: 0, into: &scores)
        XCTAssertEqual(scores, [2, 3, 2, 0])
    }

    func testRandomIsSeededPerUser() throws {
        var a = RandomRecommender(seed: 1), b = RandomRecommender(seed: 1), c = RandomRecommender(seed: 2)
        try a.fit(train: tiny); try b.fit(train: tiny); try c.fit(train: tiny)
        var sa: [Float] = [], sb: [Float] = [], sc: [Float] = [], sa1: [Float] = []
        a.scores(forUser: 0, into: &sa); b.scores(forUser: 0, into: &sb); c.scores(forUser: 0, into: &sc)
        a.scores(forUser: 1, into: &sa1)
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
        XCTAssertNotEqual(sa, sa1)
        XCTAssertEqual(sa.count, 4)
    }

    func testItemKNNCosineWithShrinkage() throws {
        // Item user sets: i0={u0,u1}, i1={u0,u1,u2}, i2={u1,u2}.
        // sim(i0,i1) = 2/(√2·√3 + 1), sim(i0,i2) = 1/(√2·√2 + 1), sim(i1,i2) = 2/(√3·√2 + 1).
        let s01 = Float(2 / (6.0.squareRoot() + 1)), s02 = Float(1.0 / 3), s12 = s01
        var model = ItemKNNRecommender(neighbours: 3, shrinkage: 1)
        try model.fit(train: tiny)
        var scores: [Float] = []
        model.scores(forUser: 0, into: &scores)  // u0 has i0, i1
        XCTAssertEqual(scores[2], s02 + s12, accuracy: 1e-6)
        XCTAssertEqual(scores[3], 0)
        XCTAssertEqual(scores[0], s01, accuracy: 1e-6)  // from i1
        XCTAssertEqual(scores[1], s01, accuracy: 1e-6)  // from i0

        // One neighbour per target item: N(i2) = {i1}, so only sim(i1, i2) counts for u0.
        var one = ItemKNNRecommender(neighbours: 1, shrinkage: 1)
        try one.fit(train: tiny)
        one.scores(forUser: 0, into: &scores)
        XCTAssertEqual(scores[2], s12, accuracy: 1e-6)

        // Neighbourhood of the user's items instead: N(i0) = {i1}, N(i1) = {i0} (tie with i2 → lower index),
        // so nothing reaches i2.
        var source = ItemKNNRecommender(neighbours: 1, shrinkage: 1, targetNeighbourhood: false)
        try source.fit(train: tiny)
        source.scores(forUser: 0, into: &scores)
        XCTAssertEqual(scores[2], 0)
        XCTAssertEqual(source.neighbours(ofItem: 0).map(\.item), [1])
        XCTAssertEqual(source.neighbours(ofItem: 1).map(\.item), [0])
    }

    func testItemKNNWithRatingsUsesRatingCosineAndWeights() throws {
        // Rating vectors over (u0, u1, u2): i0 = (5, 4, 0), i1 = (3, 2, 4), i2 = (0, 5, 1).
        let s02 = Float(20 / (41.0.squareRoot() * 26.0.squareRoot()))
        let s12 = Float(14 / (29.0.squareRoot() * 26.0.squareRoot()))
        var model = ItemKNNRecommender(neighbours: 3, shrinkage: 0, useRatings: true)
        try model.fit(train: tiny)
        var scores: [Float] = []
        model.scores(forUser: 0, into: &scores)  // u0 rated i0 = 5, i1 = 3
        XCTAssertEqual(scores[2], 5 * s02 + 3 * s12, accuracy: 1e-5)
    }

    func testBPRLearnsPlantedBlockStructure() throws {
        // Two user groups, each interacting only with its own half of the catalogue.
        var rng = SplitMix64(seed: 5)
        var trainRows: [(Int, Int, Float, Int64)] = [], testRows: [(Int, Int, Float, Int64)] = []
        for u in 0..<80 {
            let base = (u % 2) * 30
            var own = Array(base..<(base + 30))
            own.shuffle(using: &rng)
            for (k, i) in own.prefix(12).enumerated() {
                if k < 2 { testRows.append((u, i, 5, 0)) } else { trainRows.append((u, i, 5, 0)) }
            }
        }
        let train = dataset(trainRows, users: 80, items: 60), test = dataset(testRows, users: 80, items: 60)
        var model = BPRRecommender(factors: 16, epochs: 30, seed: 3)
        try model.fit(train: train)
        // Within a block items are exchangeable, so the attainable AUC over all unseen items is
        // (30 + 18 / 2) / 48 ≈ 0.81; against the other block's items it is 1.
        let otherBlock: (Int, Int) -> Bool = { u, i in (i < 30) != (u % 2 == 0) }
        XCTAssertGreaterThan(
            meanAUC(model, train: train, test: test, isNegative: otherBlock), 0.95,
            "BPR should rank the user's own block above the other block")
        XCTAssertGreaterThan(meanAUC(model, train: train, test: test), 0.75)
        var random = RandomRecommender(seed: 3)
        try random.fit(train: train)
        XCTAssertLessThan(meanAUC(random, train: train, test: test, isNegative: otherBlock), 0.65, "sanity: random is near 0.5")
        // Reproducible with the same seed.
        var again = BPRRecommender(factors: 16, epochs: 30, seed: 3)
        try again.fit(train: train)
        XCTAssertEqual(again.itemFactors, model.itemFactors)
        XCTAssertEqual(model.itemEmbeddings?.count, 60)
    }
}

final class ALSTests: XCTestCase {
    func testALSRecommendersAreAdaptersOverMatrixFactorization() throws {
        // Repeated (user 0, item 1) rows are summed by the interaction matrix the adapters use.
        let train = dataset([(0, 0, 5, 1), (0, 1, 3, 2), (0, 1, 4, 3), (1, 1, 2, 4), (2, 0, 1, 5), (2, 2, 4, 6)], users: 3, items: 3)
        let ratings = try SparseRatings(byUser: train.userItemMatrix(binary: false))
        XCTAssertEqual(Array(ratings.byUser.values(ofRow: 0)), [5, 7])

        var ials = IALSRecommender(factors: 3, iterations: 4, regularization: 0.5, alpha: 2, useRatings: true, seed: 5)
        try ials.fit(train: train)
        var rng = SplitMix64(seed: 5)
        let implicit = try MatrixFactorization.fitImplicit(
            ratings, configuration: .init(factors: 3, regularization: 0.5, iterations: 4, alpha: 2, initialScale: 0.01), using: &rng)
        XCTAssertEqual(ials.userFactors, implicit.userFactors.scalars)
        XCTAssertEqual(ials.itemFactors, implicit.itemFactors.scalars)
        var scores: [Float] = []
        ials.scores(forUser: 2, into: &scores)
        var expected = Tensor(zeros: [3])
        implicit.scores(user: 2, into: &expected)
        for i in 0..<3 { XCTAssertEqual(scores[i], expected.scalars[i], accuracy: 1e-5) }

        var als = ALSRecommender(factors: 2, iterations: 3, regularization: 0.2, seed: 7)
        try als.fit(train: train)
        rng = SplitMix64(seed: 7)
        let explicit = try MatrixFactorization.fitExplicit(
            ratings, configuration: .init(factors: 2, regularization: 0.2, iterations: 3, initialScale: 0.1), using: &rng)
        XCTAssertEqual(als.itemFactors, explicit.itemFactors.scalars)
        XCTAssertEqual(als.globalMean, explicit.globalMean)
        XCTAssertEqual(als.predictRating(user: 1, item: 0)!, min(max(explicit.predict(user: 1, item: 0), 1), 5), accuracy: 1e-6)

        var invalid = IALSRecommender(factors: 0)
        XCTAssertThrowsError(try invalid.fit(train: train), "a zero latent dimension is rejected")
    }

    func testIALSLearnsPlantedBlockStructure() throws {
        var rng = SplitMix64(seed: 9)
        var trainRows: [(Int, Int, Float, Int64)] = [], testRows: [(Int, Int, Float, Int64)] = []
        for u in 0..<80 {
            let base = (u % 2) * 30
            var own = Array(base..<(base + 30))
            own.shuffle(using: &rng)
            for (k, i) in own.prefix(12).enumerated() {
                if k < 2 { testRows.append((u, i, 5, 0)) } else { trainRows.append((u, i, 5, 0)) }
            }
        }
        let train = dataset(trainRows, users: 80, items: 60), test = dataset(testRows, users: 80, items: 60)
        var model = IALSRecommender(factors: 4, iterations: 15, regularization: 0.1, alpha: 5)
        try model.fit(train: train)
        let otherBlock: (Int, Int) -> Bool = { u, i in (i < 30) != (u % 2 == 0) }
        XCTAssertGreaterThan(meanAUC(model, train: train, test: test, isNegative: otherBlock), 0.95)
    }

    func testALSFitsALowRankRatingMatrix() throws {
        // Ratings r_ui = 3 + a_u · b_i with a, b ∈ {−1, +1}: rank one around the mean.
        var rows: [(Int, Int, Float, Int64)] = []
        var held: [(Int, Int, Float, Int64)] = []
        for u in 0..<30 {
            for i in 0..<20 {
                let r: Float = 3 + Float(u % 2 == 0 ? 1 : -1) * Float(i % 2 == 0 ? 1 : -1)
                if (u + i) % 7 == 0 { held.append((u, i, r, 0)) } else { rows.append((u, i, r, 0)) }
            }
        }
        let train = dataset(rows, users: 30, items: 20), test = dataset(held, users: 30, items: 20)
        var model = ALSRecommender(factors: 4, iterations: 15, regularization: 0.01)
        try model.fit(train: train)
        let errors = try XCTUnwrap(Evaluator.ratingErrors(model, test: test))
        XCTAssertLessThan(errors.rmse, 0.2, "a rank-one structure is recovered on held-out cells")
        let baseline = (held.map { Double($0.2 - model.globalMean) * Double($0.2 - model.globalMean) }.reduce(0, +) / Double(held.count)).squareRoot()
        XCTAssertGreaterThan(baseline, 0.9, "sanity: predicting the mean is far worse")
    }
}
