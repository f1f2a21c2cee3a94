import RecRLTensor
import XCTest
import RecRLData
@testable import RecRLRecommenders

final class EASETests: XCTestCase {
    /// Binary matrix of Scripts/reference/ease.py (ratings differ to show EASE ignores them):
    /// u0: i0 i1; u1: i0 i1 i2; u2: i1 i2 i3; u3: i2 i3; i4 unseen.
    let fixture = dataset(
        [
            (0, 0, 5, 1), (0, 1, 2, 2), (1, 0, 3, 3), (1, 1, 4, 4), (1, 2, 1, 5),
            (2, 1, 5, 6), (2, 2, 3, 7), (2, 3, 4, 8), (3, 2, 2, 9), (3, 3, 5, 10),
        ],
        users: 4, items: 5)

    // Printed by `python3 Scripts/reference/ease.py` (λ = 2, float64).
    let goldenWeights: [Float] = [
        0.0000000000, 0.4333333333, 0.1166666667, -0.1492537313, 0.0000000000,
        0.3880597015, 0.0000000000, 0.2666666667, 0.1044776119, 0.0000000000,
        0.1044776119, 0.2666666667, 0.0000000000, 0.3880597015, 0.0000000000,
        -0.1492537313, 0.1166666667, 0.4333333333, 0.0000000000, 0.0000000000,
        0.0000000000, 0.0000000000, 0.0000000000, 0.0000000000, 0.0000000000,
    ]
    let goldenScores: [Float] = [
        0.3880597015, 0.4333333333, 0.3833333333, -0.0447761194, 0.0000000000,
        0.4925373134, 0.7000000000, 0.3833333333, 0.3432835821, 0.0000000000,
        0.3432835821, 0.3833333333, 0.7000000000, 0.4925373134, 0.0000000000,
        -0.0447761194, 0.3833333333, 0.4333333333, 0.3880597015, 0.0000000000,
    ]

    func testWeightsAndScoresMatchTheNumpyReference() throws {
        var model = EASERecommender(regularization: 2)
        try model.fit(train: fixture)
        XCTAssertEqual(model.weights.shape, [5, 5])
        for (k, (got, want)) in zip(model.weights.scalars, goldenWeights).enumerated() {
            XCTAssertEqual(got, want, accuracy: 1e-5, "B[\(k / 5)][\(k % 5)]")
        }
        for i in 0..<5 { XCTAssertEqual(model.weights[i, i], 0, "zero diagonal") }
        var scores: [Float] = []
        for u in 0..<4 {
            model.scores(forUser: u, into: &scores)
            for i in 0..<5 { XCTAssertEqual(scores[i], goldenScores[u * 5 + i], accuracy: 1e-5, "user \(u) item \(i)") }
        }
        model.scores(forUser: 7, into: &scores)  // unknown user
        XCTAssertEqual(scores, [0, 0, 0, 0, 0])
    }

    func testBatchGEMMScoresEqualPerUserScores() throws {
        var model = EASERecommender(regularization: 2)
        try model.fit(train: fixture)
        var batch = Tensor(zeros: [0, 0]), out = Tensor(zeros: [0, 0])
        model.scores(forUsers: [3, 0, 9, 2], batch: &batch, into: &out)
        XCTAssertEqual(out.shape, [4, 5])
        for (r, u) in [3, 0, 2].enumerated() {
            let row = r == 2 ? 3 : r
            for i in 0..<5 { XCTAssertEqual(out[row, i], goldenScores[u * 5 + i], accuracy: 1e-5) }
        }
        for i in 0..<5 { XCTAssertEqual(out[2, i], 0, "unknown user row") }
    }

    func testBadRegularizationAndTheMemoryGuardThrowClearly() throws {
        var zero = EASERecommender(regularization: 0)
        XCTAssertThrowsError(try zero.fit(train: fixture)) { error in
            XCTAssertTrue("\(error)".contains("regularization"), "\(error)")
        }
        // 5 items need 5 · 5 · 4 = 100 bytes.
        var small = EASERecommender(regularization: 2, maxItemItemBytes: 99)
        XCTAssertThrowsError(try small.fit(train: fixture)) { error in
            XCTAssertEqual(error as? RecommenderError, .itemItemMatrixTooLarge(items: 5, bytes: 100, limit: 99))
            XCTAssertTrue("\(error)".contains("5 × 5 item-item matrix"), "\(error)")
        }
        var exact = EASERecommender(regularization: 2, maxItemItemBytes: 100)
        XCTAssertNoThrow(try exact.fit(train: fixture))
        XCTAssertEqual(EASERecommender.itemItemBytes(items: 50_000), 10_000_000_000)
        XCTAssertTrue(
            "\(RecommenderError.itemItemMatrixTooLarge(items: 50_000, bytes: 10_000_000_000, limit: 4 << 30))"
                .contains("(9.31 GiB), above the limit of 4.0 GiB"))
        XCTAssertEqual(EASERecommender.itemItemBytes(items: Int.max / 2), Int.max)
    }
}
