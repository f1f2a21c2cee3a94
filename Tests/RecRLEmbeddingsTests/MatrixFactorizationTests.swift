import XCTest
import RecRLTensor
import RecRLEmbeddings
import RecRLTestSupport

final class MatrixFactorizationTests: XCTestCase {
    /// A planted rank-3 rating matrix, 60% observed.
    func planted(users: Int = 40, items: Int = 30, seed: UInt64 = 1) throws -> (SparseRatings, Tensor) {
        var rng = testRNG(seed)
        let p = Tensor(randomNormal: [users, 3], using: &rng), q = Tensor(randomNormal: [items, 3], using: &rng)
        let truth = p.matmul(q, transposeOther: true) + 3
        var us: [Int32] = [], its: [Int32] = [], vs: [Float] = []
        for u in 0..<users {
            for i in 0..<items where rng.nextUnitFloat() < 0.6 {
                us.append(Int32(u)); its.append(Int32(i)); vs.append(truth[u, i])
            }
        }
        return (try SparseRatings(userCount: users, itemCount: items, users: us, items: its, values: vs), truth)
    }

    func testSparseLayout() throws {
        let m = try SparseRatings(userCount: 3, itemCount: 2, users: [2, 0, 2], items: [1, 1, 0], values: [5, 4, 3])
        XCTAssertEqual(m.userOffsets, [0, 1, 1, 3])
        XCTAssertEqual(m.userItems, [1, 0, 1], "items ascending within a user")
        XCTAssertEqual(m.userValues, [4, 3, 5])
        XCTAssertEqual(m.itemOffsets, [0, 1, 3])
        XCTAssertEqual(m.itemUsers, [2, 0, 2], "users ascending within an item")
        XCTAssertEqual(m.itemValues, [3, 4, 5])
        // A repeated (user, item) pair stays two observations.
        let repeated = try SparseRatings(userCount: 1, itemCount: 2, users: [0, 0, 0], items: [1, 0, 1], values: [2, 1, 4])
        XCTAssertEqual(repeated.count, 3)
        XCTAssertEqual(repeated.userItems, [0, 1, 1])
        XCTAssertEqual(repeated.userValues, [1, 2, 4])
        XCTAssertEqual(repeated.itemOffsets, [0, 1, 3])
        XCTAssertEqual(m.mean, 4)
        XCTAssertThrowsError(try SparseRatings(userCount: 1, itemCount: 1, users: [0], items: [1], values: [1]))
        XCTAssertThrowsError(try SparseRatings(userCount: 1, itemCount: 1, users: [0], items: [0], values: [.nan]))
    }

    func testExplicitALSRecoversPlantedMatrix() throws {
        let (ratings, truth) = try planted()
        var rng = testRNG(2)
        var rmses: [Float] = []
        let model = try MatrixFactorization.fitExplicit(
            ratings, configuration: .init(factors: 3, regularization: 0.001, iterations: 15),
            using: &rng, progress: { _, r in rmses.append(r) })
        XCTAssertEqual(rmses.count, 15)
        XCTAssertLessThan(rmses.last!, 0.05, "fits the observed entries")
        // Held-out entries of a rank-3 matrix are predicted too.
        var err = 0.0, n = 0
        for u in 0..<40 { for i in 0..<30 { err += Double(abs(model.predict(user: u, item: i) - truth[u, i])); n += 1 } }
        XCTAssertLessThan(err / Double(n), 0.15)
        var scores = Tensor(zeros: [0])
        model.scores(user: 5, into: &scores)
        assertClose(scores[flat: 7], model.predict(user: 5, item: 7), absolute: 1e-4)
    }

    /// One ALS half-step equals the closed-form ridge solution for each user.
    func testExplicitHalfStepIsRidgeSolution() throws {
        let ratings = try SparseRatings(userCount: 1, itemCount: 3, users: [0, 0, 0], items: [0, 1, 2], values: [5, 3, 4])
        var rng = testRNG(3)
        let model = try MatrixFactorization.fitExplicit(ratings, configuration: .init(factors: 2, regularization: 0.1, iterations: 1), using: &rng)
        // After the sweep, the item side was solved last; check the item step's optimality:
        // for each item i (one rating by user 0): (p pᵀ + λ·1·I) q_i = p (r_i − μ).
        let p = model.userFactors.row(0).reshaped([2, 1])
        var a = p.matmul(p, transposeOther: true)
        a[0, 0] += 0.1; a[1, 1] += 0.1
        for (i, r) in [(0, Float(5)), (1, 3), (2, 4)] {
            let q = try LinearAlgebra.solveSymmetricPositiveDefinite(a, p.reshaped([2]) * (r - 4))
            assertClose(model.itemFactors.row(i), q, absolute: 1e-5, relative: 1e-4)
        }
    }

    func testImplicitALSRanksObservedItemsFirst() throws {
        // Two communities: users 0..<10 consume items 0..<8, users 10..<20 items 8..<16.
        var us: [Int32] = [], its: [Int32] = [], vs: [Float] = []
        var rng = testRNG(4)
        for u in 0..<20 {
            for i in 0..<16 where (u < 10) == (i < 8) && rng.nextUnitFloat() < 0.7 {
                us.append(Int32(u)); its.append(Int32(i)); vs.append(1)
            }
        }
        let m = try SparseRatings(userCount: 20, itemCount: 16, users: us, items: its, values: vs)
        let model = try MatrixFactorization.fitImplicit(m, configuration: .init(factors: 2, regularization: 1, iterations: 10, alpha: 10), using: &rng)
        XCTAssertEqual(model.globalMean, 0)
        for u in 0..<20 {
            var s = Tensor(zeros: [0])
            model.scores(user: u, into: &s)
            let own = u < 10 ? 0..<8 : 8..<16
            let observed = Set((m.userOffsets[u]..<m.userOffsets[u + 1]).map { Int(m.userItems[$0]) })
            let ownMean = own.map { s[flat: $0] }.reduce(0, +) / 8
            let otherMean = (0..<16).filter { !own.contains($0) }.map { s[flat: $0] }.reduce(0, +) / 8
            XCTAssertGreaterThan(ownMean, otherMean + 0.3, "user \(u) prefers its community's items")
            // The best unobserved item (the recommendation) comes from the user's community,
            // when the user has not consumed it all.
            guard own.contains(where: { !observed.contains($0) }) else { continue }
            let best = (0..<16).filter { !observed.contains($0) }.max { s[flat: $0] < s[flat: $1] }!
            XCTAssertTrue(own.contains(best), "user \(u) is recommended item \(best) from the other community")
        }
    }

    func testSeededFitIsReproducible() throws {
        let (ratings, _) = try planted(seed: 9)
        var r1 = testRNG(1), r2 = testRNG(1)
        let a = try MatrixFactorization.fitExplicit(ratings, configuration: .init(factors: 4, iterations: 3), using: &r1)
        let b = try MatrixFactorization.fitExplicit(ratings, configuration: .init(factors: 4, iterations: 3), using: &r2)
        XCTAssertEqual(a.userFactors, b.userFactors)
        XCTAssertEqual(a.itemFactors, b.itemFactors)
    }
}
