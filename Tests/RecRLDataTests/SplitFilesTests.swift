import Foundation
import RecRLTensor
import XCTest
@testable import RecRLData

/// The global-time split and split folders (`SplitFiles`).
final class SplitFilesTests: XCTestCase {
    /// One cut-off for everyone: every training timestamp is at or before every test timestamp,
    /// ties stay on the training side, and the test share is round(N × fraction) without ties.
    func testGlobalTimeSplitHasOneCutoff() {
        // Users interleave in time: u0 at 1, 3, 5, 7, 9; u1 at 2, 4, 6, 8, 10.
        let rows: [(Int, Int, Float, Int64)] = (0..<10).map { (($0 % 2), $0, 3, Int64($0 + 1)) }
        var rng = SplitMix64(seed: 1)
        let split = DatasetTransforms.split(makeDataset(rows), strategy: .globalTime(testFraction: 0.3), using: &rng)
        XCTAssertEqual(split.test.timestamps.sorted(), [8, 9, 10])
        XCTAssertEqual(split.train.timestamps.max(), 7)
        // Ties at the cut-off: the three rows at time 5 stay together in training.
        let tied: [(Int, Int, Float, Int64)] = [(0, 0, 3, 1), (1, 1, 3, 5), (2, 2, 3, 5), (0, 3, 3, 5), (1, 4, 3, 9)]
        let t = DatasetTransforms.split(makeDataset(tied), strategy: .globalTime(testFraction: 0.4), using: &rng)
        XCTAssertEqual(t.test.timestamps, [9])
        XCTAssertEqual(SplitStrategy(name: "global-time", testFraction: 0.2), .globalTime(testFraction: 0.2))
        XCTAssertEqual(SplitStrategy.globalTime(testFraction: 0.2).name, "global-time")
        XCTAssertNil(SplitStrategy(name: "future", testFraction: 0.2))
    }

    /// A split folder reads back as the same split: same rows on each side, ids that agree
    /// across the halves, the declared rating scale; a tampered file is refused.
    func testSplitFolderRoundTripsAndRefusesTampering() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("splitfiles-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var dataset = makeDataset([(0, 0, 4, 10), (0, 1, 2.5, 11), (1, 0, 5, 12), (1, 2, 1, 13), (2, 1, 3, 14), (2, 2, 4, 15)])
        dataset.userMap = IDMap(rawIDs: ["alice", "bob, jr", "carol \"c\""])
        var rng = SplitMix64(seed: 3)
        let split = DatasetTransforms.split(dataset, strategy: .temporal(testFraction: 0.5), using: &rng)
        try SplitFiles.write(split, to: dir)
        XCTAssertTrue(SplitFiles.isSplitDirectory(dir))
        let back = try SplitFiles.read(from: dir)
        XCTAssertEqual(back.strategy, .temporal(testFraction: 0.5))
        XCTAssertEqual(back.train.fingerprint, split.train.fingerprint)
        XCTAssertEqual(back.test.fingerprint, split.test.fingerprint)
        XCTAssertEqual(back.train.userMap, back.test.userMap)
        XCTAssertEqual(back.train.ratingScale, 1...5)
        XCTAssertEqual(Set(back.train.userMap.rawIDs), Set(dataset.userMap.rawIDs))
        // Changing one rating keeps the row count but not the fingerprint.
        let file = dir.appendingPathComponent(SplitFiles.interactionsFile)
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: ",2.5,", with: ",3.5,").write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SplitFiles.read(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("fingerprints"), "\(error)")
        }
    }
}
