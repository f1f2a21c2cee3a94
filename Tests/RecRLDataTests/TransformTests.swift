import RecRLTensor
import Foundation
import XCTest
@testable import RecRLData

/// Builds a data set from (user, item, rating, timestamp) tuples with raw ids "u<n>" / "i<n>".
func makeDataset(_ rows: [(Int, Int, Float, Int64)], users: Int? = nil, items: Int? = nil) -> InteractionDataset {
    let nu = users ?? (rows.map(\.0).max() ?? -1) + 1
    let ni = items ?? (rows.map(\.1).max() ?? -1) + 1
    return InteractionDataset(
        name: "test", userMap: IDMap(rawIDs: (0..<nu).map { "u\($0)" }), itemMap: IDMap(rawIDs: (0..<ni).map { "i\($0)" }),
        users: rows.map { Int32($0.0) }, items: rows.map { Int32($0.1) }, ratings: rows.map(\.2), timestamps: rows.map(\.3),
        ratingScale: 1...5)
}

/// A random data set with `users` users each rating `perUser` distinct items with distinct timestamps.
func randomDataset(users: Int, items: Int, perUser: Int, seed: UInt64) -> InteractionDataset {
    var rng = SplitMix64(seed: seed)
    var rows: [(Int, Int, Float, Int64)] = []
    for u in 0..<users {
        var chosen = Array(0..<items)
        chosen.shuffle(using: &rng)
        for i in chosen.prefix(perUser) {
            rows.append((u, i, Float(1 + rng.next() % 5), Int64(rng.next() % 1_000_000)))
        }
    }
    rows.shuffle(using: &rng)
    return makeDataset(rows, users: users, items: items)
}

final class TransformTests: XCTestCase {
    func testKCoreIteratesToFixedPoint() {
        // u0: i0 i1 i2 ; u1: i0 i1 ; u2: i0 i3 ; u3: i3
        // 2-core: u3 (1) goes → i3 has 1 (u2) → goes → u2 has 1 → goes → i2 has 1 (u0) → goes.
        let d = makeDataset([
            (0, 0, 4, 1), (0, 1, 4, 2), (0, 2, 4, 3), (1, 0, 4, 4), (1, 1, 4, 5),
            (2, 0, 4, 6), (2, 3, 4, 7), (3, 3, 4, 8),
        ])
        let core = DatasetTransforms.kCore(d, userMinimum: 2)
        XCTAssertEqual(core.userMap.rawIDs, ["u0", "u1"])
        XCTAssertEqual(core.itemMap.rawIDs, ["i0", "i1"])
        XCTAssertEqual(core.interactionCount, 4)
        XCTAssertTrue(core.userCounts().allSatisfy { $0 >= 2 })
        XCTAssertTrue(core.itemCounts().allSatisfy { $0 >= 2 })
        XCTAssertEqual(core.itemInfo.titles.count, 2)
        // 1-core keeps everything.
        XCTAssertEqual(DatasetTransforms.kCore(d, userMinimum: 1).interactionCount, 8)
    }

    func testKCoreOnRandomDataSatisfiesInvariant() {
        let d = randomDataset(users: 60, items: 80, perUser: 6, seed: 3)
        let core = DatasetTransforms.kCore(d, userMinimum: 5, itemMinimum: 5)
        XCTAssertTrue(core.userCounts().allSatisfy { $0 >= 5 })
        XCTAssertTrue(core.itemCounts().allSatisfy { $0 >= 5 })
        XCTAssertLessThan(core.interactionCount, d.interactionCount)
    }

    private func assertPartition(_ split: Split, of d: InteractionDataset, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(split.train.interactionCount + split.test.interactionCount, d.interactionCount, file: file, line: line)
        XCTAssertEqual(split.train.userMap, d.userMap, file: file, line: line)
        XCTAssertEqual(split.test.itemMap, d.itemMap, file: file, line: line)
        var trainPairs = Set<[Int32]>(), testPairs = Set<[Int32]>()
        for r in 0..<split.train.interactionCount { trainPairs.insert([split.train.users[r], split.train.items[r]]) }
        for r in 0..<split.test.interactionCount { testPairs.insert([split.test.users[r], split.test.items[r]]) }
        XCTAssertTrue(trainPairs.isDisjoint(with: testPairs), "no (user, item) pair in both halves", file: file, line: line)
    }

    func testTemporalSplitHoldsOutEachUsersLatest() {
        let d = randomDataset(users: 30, items: 50, perUser: 10, seed: 1)
        var rng = SplitMix64(seed: 0)
        let split = DatasetTransforms.split(d, strategy: .temporal(testFraction: 0.2), using: &rng)
        assertPartition(split, of: d)
        XCTAssertEqual(split.test.interactionCount, 30 * 2)
        for u in 0..<30 {
            let trainTimes = (0..<split.train.interactionCount).filter { split.train.users[$0] == u }.map { split.train.timestamps[$0] }
            let testTimes = (0..<split.test.interactionCount).filter { split.test.users[$0] == u }.map { split.test.timestamps[$0] }
            XCTAssertEqual(testTimes.count, 2)
            XCTAssertLessThanOrEqual(trainTimes.max()!, testTimes.min()!, "user \(u): test items are the latest")
        }
    }

    func testTemporalSplitKeepsOneTrainingInteraction() {
        let d = makeDataset([(0, 0, 4, 1), (1, 0, 4, 1), (1, 1, 4, 2)])
        var rng = SplitMix64(seed: 0)
        let split = DatasetTransforms.split(d, strategy: .temporal(testFraction: 0.9), using: &rng)
        XCTAssertEqual(split.train.users.sorted(), [0, 1])
        XCTAssertEqual(split.test.items, [1])
    }

    func testRandomSplitIsSeededAndSized() {
        let d = randomDataset(users: 40, items: 60, perUser: 8, seed: 2)
        var r1 = SplitMix64(seed: 7), r2 = SplitMix64(seed: 7), r3 = SplitMix64(seed: 8)
        let a = DatasetTransforms.split(d, strategy: .random(testFraction: 0.25), using: &r1)
        let b = DatasetTransforms.split(d, strategy: .random(testFraction: 0.25), using: &r2)
        let c = DatasetTransforms.split(d, strategy: .random(testFraction: 0.25), using: &r3)
        assertPartition(a, of: d)
        XCTAssertEqual(a.test.interactionCount, 80)
        XCTAssertEqual(a.test.users, b.test.users)
        XCTAssertEqual(a.test.items, b.test.items)
        XCTAssertNotEqual(a.test.items, c.test.items, "a different seed gives a different split")
    }

    func testLeaveLastOut() {
        let d = makeDataset([(0, 0, 4, 3), (0, 1, 4, 1), (0, 2, 4, 2), (1, 0, 4, 1)])
        var rng = SplitMix64(seed: 0)
        let split = DatasetTransforms.split(d, strategy: .leaveLastOut(n: 1), using: &rng)
        assertPartition(split, of: d)
        XCTAssertEqual(split.test.users, [0])
        XCTAssertEqual(split.test.items, [0], "item 0 has user 0's latest timestamp")
        XCTAssertEqual(split.train.interactionCount, 3, "user 1 has a single interaction and keeps it")
    }

    func testValidationSplitComesFromTrainOnly() {
        let d = randomDataset(users: 20, items: 40, perUser: 10, seed: 5)
        var rng = SplitMix64(seed: 1)
        let split = DatasetTransforms.split(d, strategy: .temporal(testFraction: 0.2), using: &rng)
        let validation = DatasetTransforms.validationSplit(of: split.train, strategy: .temporal(testFraction: 0.25), using: &rng)
        XCTAssertEqual(validation.train.interactionCount + validation.test.interactionCount, split.train.interactionCount)
        let testTimes = Dictionary(grouping: 0..<split.test.interactionCount, by: { split.test.users[$0] })
            .mapValues { $0.map { split.test.timestamps[$0] }.min()! }
        for r in 0..<validation.test.interactionCount {
            XCTAssertLessThanOrEqual(validation.test.timestamps[r], testTimes[validation.test.users[r]]!)
        }
    }

    func testSparseMatrixAndCounts() {
        let d = makeDataset([(1, 2, 3, 0), (0, 1, 5, 0), (1, 0, 4, 0)])
        let m = d.userItemMatrix(binary: false)
        XCTAssertEqual(m.rowStart, [0, 1, 3])
        XCTAssertEqual(Array(m.columns(ofRow: 1)), [0, 2])
        XCTAssertEqual(m.values, [5, 4, 3])
        XCTAssertTrue(m.contains(row: 1, column: 2))
        XCTAssertFalse(m.contains(row: 0, column: 2))
        XCTAssertEqual(d.itemCounts(), [1, 1, 1])
        XCTAssertEqual(d.userCounts(), [1, 2])
    }

    func testSplitMix64IsDeterministic() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
        var z = SplitMix64(seed: 0)
        XCTAssertEqual(z.next(), 0xE220_A839_7B1D_CDAF, "reference value of SplitMix64 with seed 0")
    }
}
