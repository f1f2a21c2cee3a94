import XCTest
import RecRLTensor
import RecRLTestSupport

final class TopKTests: XCTestCase {
    func testMatchesFullSortOnRandomData() {
        var rng = testRNG(60)
        var selector = TopKSelector()
        for trial in 0..<50 {
            let n = 1 + rng.nextInt(below: 300), k = rng.nextInt(below: 20)
            // Coarse values to create ties.
            let values = Tensor((0..<n).map { _ in Float(rng.nextInt(below: 40)) })
            let excluded = Set((0..<n).filter { _ in rng.nextUnitFloat() < 0.2 })
            selector.select(values, k: k, isExcluded: { excluded.contains($0) })
            let reference = (0..<n).filter { !excluded.contains($0) }
                .sorted { values[flat: $0] != values[flat: $1] ? values[flat: $0] > values[flat: $1] : $0 < $1 }
                .prefix(k)
            XCTAssertEqual(selector.selectedIndices, Array(reference), "trial \(trial)")
            XCTAssertEqual(selector.selectedScores, reference.map { values[flat: $0] })
        }
    }

    func testEdgeCases() {
        var s = TopKSelector()
        s.select(Tensor([3, .nan, 5]), k: 5)
        XCTAssertEqual(s.selectedIndices, [2, 0], "NaN is skipped; fewer than k eligible")
        s.select(Tensor([1, 2]), k: 0)
        XCTAssertEqual(s.selectedIndices, [])
        s.select(Tensor([]), k: 3)
        XCTAssertEqual(s.selectedIndices, [])
    }

    func testWarmSelectionAllocatesNothing() throws {
        var rng = testRNG(61)
        let values = Tensor(randomNormal: [10_000], using: &rng)
        var s = TopKSelector()
        s.select(values, k: 100)
        let n = try countAllocations { for _ in 0..<5 { s.select(values, k: 100) } }
        XCTAssertEqual(n, 0)
    }
}
