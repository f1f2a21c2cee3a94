import ArgumentParser
import Foundation
import XCTest
import RecRLDRR
@testable import recrl

/// The `recrl evaluate` command must reject bad input with a clear error, never a crash.
/// (This file needs the test target to depend on the `recrl` executable target.)
final class EvaluateCommandTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("recrl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var body = ""
        for u in 1...6 { for i in 1...8 where (u + i) % 3 != 0 { body += "\(u)\t\(i)\t\(1 + (u * i) % 5)\t\(1000 + u * 10 + i)\n" } }
        try body.write(toFile: (dir as NSString).appendingPathComponent("u.data"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Parses (which validates) and runs; returns the error message, or nil on success.
    func failure(_ args: [String]) -> String? {
        do {
            let command = try Evaluate.parse(args)
            try command.run()
            return nil
        } catch {
            return Evaluate.message(for: error)
        }
    }

    func testBadInputIsRejectedWithAClearMessage() {
        let cases: [([String], String)] = [
            (["--data", "/nonexistent/recrl"], "data directory not found: /nonexistent/recrl"),
            (["--data", dir, "--format", "ml-10m"], "unknown format 'ml-10m'"),
            (["--data", dir, "--split", "sideways"], "unknown split 'sideways'"),
            (["--data", dir, "--test-fraction", "0"], "--test-fraction must be strictly between 0 and 1"),
            (["--data", dir, "--test-fraction", "1.5"], "--test-fraction must be strictly between 0 and 1"),
            (["--data", dir, "--test-fraction", "abc"], "abc"),
            (["--data", dir, "--protocol", "loo"], "unknown protocol 'loo'"),
            (["--data", dir, "--policies", "popularity,magic"], "unknown policy 'magic'"),
            (["--data", dir, "--policies", "als,"], "--policies"),
            (["--data", dir, "--k", "0,10"], "--k must be a comma-separated list of positive integers"),
            (["--data", dir, "--k", "ten"], "--k must be a comma-separated list of positive integers"),
            (["--data", dir, "--seed", "-1"], "--seed"),
            (["--data", dir, "--seed=-1"], "The value '-1' is invalid for '--seed <seed>'"),
            (["--data", dir, "--relevance-threshold", "nan"], "--relevance-threshold must be a finite number"),
            (["--data", dir, "--format", "ml-1m"], "required file not found"),
            (["--data", dir, "--bogus"], "Unknown option '--bogus'"),
            ([], "give exactly one of --data DIR or --in DIR"),
        ]
        for (args, expected) in cases {
            let message = failure(args)
            XCTAssertNotNil(message, "\(args) should fail")
            XCTAssertTrue(message?.contains(expected) ?? false, "\(args): '\(message ?? "")' should contain '\(expected)'")
        }
    }

    /// A model is only scored on the split it was trained on: a manifest whose training-data
    /// fingerprint differs from this run's training split is refused (its held-out items could
    /// be ones it trained on), before any policy is evaluated.
    func testAModelFromAnotherTrainingSplitIsRefused() throws {
        let model = (dir as NSString).appendingPathComponent("model")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let manifest = DRRManifest(
            policy: "drr-ave", configuration: DRRConfiguration(), seed: 0, dataFingerprint: "not-this-split",
            userIDs: [], itemIDs: [], rewardScale: RewardScale(minimum: 1, maximum: 5))
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: (model as NSString).appendingPathComponent(DRRModelStore.manifestFile)))
        let message = failure(["--data", dir, "--split", "random", "--policies", "drr-ave", "--model", model])
        XCTAssertTrue(
            message?.contains("was trained on another training split than this run's (random") ?? false, message ?? "no error")
        XCTAssertTrue(message?.contains("recrl train's default is temporal") ?? false, message ?? "no error")
    }

    func testEmptyDataFileFailsCleanly() throws {
        try "".write(toFile: (dir as NSString).appendingPathComponent("u.data"), atomically: true, encoding: .utf8)
        XCTAssertEqual(failure(["--data", dir]), "u.data: file is empty")
    }

    func testRunsOnATinyDataSet() throws {
        XCTAssertNil(
            failure([
                "--data", dir, "--policies", "random,popularity,itemknn,bpr,als,ials", "--k", "1,3", "--json",
                "--split", "temporal", "--relevance-threshold", "1",
            ]))
        XCTAssertNil(failure(["--data", dir, "--policies", "popularity", "--protocol", "drr", "--split", "leave-last"]))
        // Extreme but valid values must not trap.
        XCTAssertNil(
            failure([
                "--data", dir, "--policies", "popularity", "--k", "1000000000", "--relevance-threshold", "1e300",
                "--test-fraction", "0.000001",
            ]))
        let command = try Evaluate.parse(["--data", dir, "--k", "10,5,10"])
        XCTAssertEqual(command.parsedKs, [5, 10])
        XCTAssertEqual(command.parsedPolicies, ["random", "popularity", "itemknn", "bpr", "als", "ials"])
    }
}
