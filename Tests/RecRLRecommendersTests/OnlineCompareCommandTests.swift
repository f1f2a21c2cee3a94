import ArgumentParser
import Foundation
import RecRLOnlineCompare
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

    /// The list-wise and page-wise arms beside DRR-ave and popularity: every arm gets the
    /// same budget of shown items per session, the list and page arms are shown whole
    /// slates (so their sessions take fewer requests), all three DDPG arms learn online, and
    /// the same seed gives the same run.
    func testListAndPageArmsRunLearnAndAreSeeded() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-online-lists-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var c = OnlineComparison.Configuration()
        c.rounds = 5
        c.users = 80
        c.items = 150
        c.episodes = 5
        c.drrUpdates = 3
        c.arms = ["popularity", "drr-ave", "lird", "deeppage"]
        XCTAssertFalse(OnlineComparison.knownArms.contains("lird"), "not a default arm")
        let comparison = try OnlineComparison(configuration: c)
        var lines: [String] = []
        let result = try comparison.run(seed: 3, out: out, progress: { lines.append($0) })
        XCTAssertEqual(result.arms.map(\.arm), c.arms)
        XCTAssertTrue(lines.contains { $0.hasPrefix("trained lird offline") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("trained deeppage offline") }, "\(lines)")
        for arm in result.arms {
            XCTAssertEqual(arm.users, 20, arm.arm)
            XCTAssertEqual(arm.rewardPerRound.count, 5, arm.arm)
            XCTAssertGreaterThan(arm.recommendations, 0, arm.arm)
            XCTAssertLessThanOrEqual(arm.recommendations, 20 * 5 * c.sessionLength, "the session budget, \(arm.arm)")
            XCTAssert((-1...1).contains(arm.meanReward), arm.arm)
            XCTAssertEqual(arm.minusDRR == nil, arm.arm == "drr-ave", arm.arm)
            XCTAssertEqual(arm.onlineUpdates == nil, arm.arm == "popularity", arm.arm)
            if arm.arm != "popularity" {
                XCTAssertGreaterThan(try XCTUnwrap(arm.onlineUpdates), 0, "\(arm.arm) learned online")
            }
        }
        let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        XCTAssertTrue(json.contains("\"online_updates\""))
        let again = try comparison.run(seed: 3, out: out.appendingPathComponent("again"), progress: { _ in })
        XCTAssertEqual(again.arms.map(\.rewardPerRound), result.arms.map(\.rewardPerRound))
        XCTAssertEqual(again.arms.map(\.onlineUpdates), result.arms.map(\.onlineUpdates))
        // Another seed, another world and log.
        let other = try comparison.run(seed: 4, out: out.appendingPathComponent("other"), progress: { _ in })
        XCTAssertNotEqual(other.arms.map(\.rewardPerRound), result.arms.map(\.rewardPerRound))
    }

    /// Several seeds: each seed's run is the run of that seed alone, and the summary's
    /// difference to DRR is the mean of the per-seed differences.
    func testSeedsSummariseTheRunsOfEachSeed() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-online-seeds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var c = OnlineComparison.Configuration()
        c.rounds = 2
        c.users = 24
        c.items = 120
        c.episodes = 5
        c.drrUpdates = 2
        c.arms = ["popularity", "linucb", "drr-ave"]
        let comparison = try OnlineComparison(configuration: c)
        var lines: [String] = []
        let summary = try comparison.run(seeds: [7, 8], out: out, progress: { lines.append($0) })
        XCTAssertEqual(summary.seeds, [7, 8])
        XCTAssertEqual(lines.filter { $0.hasPrefix("seed ") }, ["seed 7 (1 of 2)", "seed 8 (2 of 2)"])
        let alone = try comparison.run(seed: 8, out: out.appendingPathComponent("alone"), progress: { _ in })
        XCTAssertEqual(summary.runs[1].arms.map(\.rewardPerRound), alone.arms.map(\.rewardPerRound))
        for (a, arm) in summary.arms.enumerated() {
            let differences = summary.runs.map { $0.arms[a].cumulativeRewardPerUser - $0.arms[2].cumulativeRewardPerUser }
            if arm.arm == "drr-ave" {
                XCTAssertNil(arm.minusDRR)
                XCTAssertNil(arm.seedsBeatingDRR)
            } else {
                XCTAssertEqual(try XCTUnwrap(arm.minusDRR).mean, differences.reduce(0, +) / 2, accuracy: 1e-12, arm.arm)
                XCTAssertEqual(arm.seedsBeatingDRR, differences.filter { $0 > 0 }.count, arm.arm)
            }
            XCTAssertLessThanOrEqual(arm.sessionRetention.low, arm.sessionRetention.high)
        }
        XCTAssertEqual(summary.tableLines().count, 2 + 3, "two header lines, one line per arm")
        XCTAssertEqual(alone.tableLines().count, 1 + 3, "a header line, one line per arm")
        for file in ["online-compare.svg", "seed-7/rounds.csv", "seed-8/online-compare.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        XCTAssertThrowsError(try comparison.run(seeds: [], out: out, progress: { _ in }))
    }

    func testRejectsBadFlags() {
        func message(_ args: [String]) -> String? {
            do { _ = try OnlineCompare.parse(args); return nil } catch { return OnlineCompare.message(for: error) }
        }
        XCTAssertEqual(
            message(["--arms", "linucb,oracle"]),
            "unknown arm 'oracle' (expected one of popularity, linucb, lints, knn, ials, drr-ave, lird, deeppage)")
        XCTAssertEqual(message(["--arms", "lird,deeppage,lird"]), "--arms must list distinct arms")
        XCTAssertEqual(message(["--arms", "popularity,lird,deeppage", "--users", "5"]), "--users must be at least 2 per arm")
        XCTAssertNil(message(["--arms", "drr-ave,lird,deeppage"]))
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
