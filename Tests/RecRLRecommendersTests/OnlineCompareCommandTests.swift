import ArgumentParser
import Foundation
import XCTest
@testable import recrl

/// `recrl online-compare`: a short run of every arm, and clear errors for bad flags.
final class OnlineCompareCommandTests: XCTestCase {
    func testShortRunReportsEveryArmAgainstDRR() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-online-compare-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let args = [
            "--rounds", "3", "--users", "36", "--items", "200", "--episodes", "5", "--drr-updates", "2",
            "--refit-every", "2", "--seed", "4", "--out", out.path,
        ]
        let command = try OnlineCompare.parse(args)
        let result = try command.compare(progress: { _ in })
        XCTAssertEqual(result.arms.map(\.arm), ["popularity", "linucb", "lints", "knn", "ials", "drr-ave"])
        for arm in result.arms {
            XCTAssertEqual(arm.users, 6, arm.arm)  // 36 users split evenly over 6 arms
            XCTAssertEqual(arm.rewardPerRound.count, 3, arm.arm)
            XCTAssertGreaterThan(arm.recommendations, 0, arm.arm)
            XCTAssertLessThanOrEqual(arm.recommendations, 6 * 3 * 5, arm.arm)
            XCTAssert((-1...1).contains(arm.meanReward), arm.arm)
            XCTAssert((0...1).contains(arm.sessionRetention), arm.arm)
            XCTAssertEqual(arm.minusDRR == nil, arm.arm == "drr-ave", arm.arm)
            if let v = arm.minusDRR { XCTAssertLessThanOrEqual(v.ciLow, v.ciHigh) }
        }
        let csv = try String(contentsOf: out.appendingPathComponent("rounds.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").first, "round,popularity,linucb,lints,knn,ials,drr-ave")
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("online-compare.svg"), encoding: .utf8).contains("<svg"))
        // Same seed, same run.
        let again = try OnlineCompare.parse(args).compare(progress: { _ in })
        XCTAssertEqual(again.arms.map(\.rewardPerRound), result.arms.map(\.rewardPerRound))
    }

    func testRejectsBadFlags() {
        func message(_ args: [String]) -> String? {
            do { _ = try OnlineCompare.parse(args); return nil } catch { return OnlineCompare.message(for: error) }
        }
        XCTAssertEqual(
            message(["--arms", "linucb,oracle"]),
            "unknown arm 'oracle' (expected one of popularity, linucb, lints, knn, ials, drr-ave)")
        XCTAssertEqual(message(["--arms", "linucb,linucb"]), "--arms must list distinct arms")
        XCTAssertEqual(message(["--alpha=-1"]), "--alpha and --ts-scale must be ≥ 0")
        XCTAssertEqual(message(["--users", "4"]), "--users must be at least 2 per arm")
        XCTAssertNil(message(["--rounds", "2"]))
        XCTAssertEqual(message(["--seeds", "0"]), "--seeds must be positive")
    }

    func testMeanOverSeedsHasAStudentTInterval() {
        // 1, 2, 3: mean 2, sd 1, t(0.975, 2 df) = 4.3027, half-width 4.3027/√3 = 2.4841.
        let m = OnlineCompareSeedsOutput.MeanInterval([1, 2, 3])
        XCTAssertEqual(m.mean, 2, accuracy: 1e-12)
        XCTAssertEqual(m.high - m.mean, 2.4841, accuracy: 1e-4)
        XCTAssertEqual(m.mean - m.low, 2.4841, accuracy: 1e-4)
        XCTAssertEqual(OnlineCompareSeedsOutput.MeanInterval.tQuantile975(degreesOfFreedom: 1000), 1.9623, accuracy: 1e-3)
        let one = OnlineCompareSeedsOutput.MeanInterval([5])
        XCTAssertEqual([one.low, one.mean, one.high], [5, 5, 5])
    }
}
