import RecRLTensor
import Foundation
import XCTest
import RecRLData
@testable import RecRLRecommenders

final class RankingTests: XCTestCase {
    func testTopKMatchesFullSortOnRandomDataWithTiesAndExclusions() {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<200 {
            let n = Int(rng.next() % 300) + 1
            let k = Int(rng.next() % 40)
            // Few distinct values force many ties; sprinkle NaNs.
            var scores = (0..<n).map { _ in Float(rng.next() % 7) }
            if trial % 5 == 0 { scores[Int(rng.next() % UInt64(n))] = .nan }
            let excluded = (0..<n).filter { _ in rng.next() % 4 == 0 }
            let heap = TopK.select(scores, k: k, excluding: ArraySlice(excluded.map(Int32.init)))
            let reference = TopK.selectBySorting(scores, k: k, excluding: Set(excluded))
            XCTAssertEqual(heap, reference, "trial \(trial)")
        }
    }

    func testTopKEdgeCases() {
        XCTAssertEqual(TopK.select([1, 3, 2], k: 0), [])
        XCTAssertEqual(TopK.select([1, 3, 2], k: 10), [1, 2, 0])
        XCTAssertEqual(TopK.select([1, 3, 2], k: 2, excluding: [1]), [2, 0])
        XCTAssertEqual(TopK.select([5, 5, 5], k: 2), [0, 1], "ties go to the lower index")
        XCTAssertEqual(TopK.select([], k: 3), [])
    }

    func testMetricsAgainstHandComputedValues() {
        let ranked = [3, 1, 7, 5, 2]
        let relevant: Set = [1, 2, 9]
        XCTAssertEqual(RankingMetrics.precision(ranked: ranked, relevant: relevant, k: 5), 0.4, accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.recall(ranked: ranked, relevant: relevant, k: 5), 2.0 / 3, accuracy: 1e-12)
        // DCG = 1/log2(3) + 1/log2(6); IDCG = 1 + 1/log2(3) + 1/2.
        let dcg = 1 / log2(3.0) + 1 / log2(6.0), idcg = 1 + 1 / log2(3.0) + 0.5
        XCTAssertEqual(RankingMetrics.ndcg(ranked: ranked, relevant: relevant, k: 5), dcg / idcg, accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.ndcg(ranked: ranked, relevant: relevant, k: 5), 0.477623, accuracy: 1e-6)
        XCTAssertEqual(RankingMetrics.averagePrecision(ranked: ranked, relevant: relevant, k: 5), (0.5 + 0.4) / 3, accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.hit(ranked: ranked, relevant: relevant, k: 5), 1)
        XCTAssertEqual(RankingMetrics.precision(ranked: ranked, relevant: relevant, k: 1), 0)
        XCTAssertEqual(RankingMetrics.hit(ranked: ranked, relevant: relevant, k: 1), 0)
        XCTAssertEqual(RankingMetrics.ndcg(ranked: ranked, relevant: relevant, k: 2), (1 / log2(3.0)) / (1 + 1 / log2(3.0)), accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.averagePrecision(ranked: ranked, relevant: relevant, k: 2), 0.25, accuracy: 1e-12)
        // Perfect ranking.
        XCTAssertEqual(RankingMetrics.ndcg(ranked: [1, 2, 9], relevant: relevant, k: 3), 1, accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.averagePrecision(ranked: [1, 2, 9], relevant: relevant, k: 3), 1, accuracy: 1e-12)
        // Precision uses K even when the list is shorter.
        XCTAssertEqual(RankingMetrics.precision(ranked: [1], relevant: relevant, k: 4), 0.25)
        XCTAssertEqual(RankingMetrics.recall(ranked: [1], relevant: [], k: 4), 0)
    }

    func testDiversityHelpers() {
        XCTAssertEqual(RankingMetrics.setCosine([0], [0, 1]), 1 / 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(RankingMetrics.setCosine([], [0]), 0)
        XCTAssertEqual(RankingMetrics.vectorCosine([1, 0], [1, 1]), 1 / 2.0.squareRoot(), accuracy: 1e-6)
        let ild = RankingMetrics.intraListDiversity([0, 1, 2]) { a, b in a + b == 1 ? 1 : 0 }
        XCTAssertEqual(ild!, 1 - 1.0 / 3, accuracy: 1e-12)
        XCTAssertNil(RankingMetrics.intraListDiversity([4]) { _, _ in 0 })
    }
}
