import XCTest
import Foundation

/// Runs a tiny version of the `OfflineToOnline` example end to end as a subprocess.
final class OfflineToOnlineSmokeTests: XCTestCase {
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        // The test bundle sits next to the products in .build/<configuration>/; the test
        // target depends on the example, so it is always built there.
        let binary = Bundle.main.bundleURL.appendingPathComponent("OfflineToOnline")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testTinyRunPrintsJSONSummaryAndWritesFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run([
            "--users", "40", "--items", "60", "--rounds", "2", "--episodes", "20", "--out", dir.path, "--json", "--arms-rounds", "3",
            "--arms-seeds", "2",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        XCTAssertEqual(object["rounds"] as? Int, 2)
        let offline = try XCTUnwrap(object["offline"] as? [[String: Any]])
        XCTAssertEqual(offline.map { $0["policy"] as? String }, ["popularity", "itemknn", "ials", "drr-ave"])
        let online = try XCTUnwrap(object["online"] as? [String: Any])
        XCTAssertNotNil(online["p_value"] as? Double)
        let quarters = try XCTUnwrap(online["difference_by_quarter"] as? [Double])
        XCTAssertEqual(quarters.count, 2, "2 rounds fill 2 of the 4 quarters")
        // The online phase went over HTTP: one recommend and one feedback request per
        // recommendation, each feedback written to the server's SQLite event log.
        let recommendations = try XCTUnwrap(online["recommendations"] as? Int)
        XCTAssertGreaterThan(recommendations, 0)
        let http = try XCTUnwrap(object["http"] as? [String: Any])
        XCTAssertEqual(http["feedback"] as? Int, recommendations)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(http["recommend"] as? Int), recommendations)
        XCTAssertEqual(http["client_requests"] as? Int, http["requests"] as? Int, "the server answered every request the users sent")
        let eventLog = try XCTUnwrap(object["event_log"] as? [String: Any])
        XCTAssertEqual(eventLog["events"] as? Int, recommendations)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(eventLog["impressions"] as? Int), recommendations, "every answered slate is logged")
        let armUsers = (online["control_users"] as? Int ?? 0) + (online["treatment_users"] as? Int ?? 0)
        XCTAssertTrue((1...40).contains(armUsers), "users in the A/B report: \(armUsers)")
        for file in [
            "online-reward.csv", "online-reward.svg", "events.csv", "events.sqlite", "model/manifest.json", "model/model.safetensors", "data/interactions.csv",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
        let csv = try String(contentsOf: dir.appendingPathComponent("online-reward.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3, "a header and one row per round")

        // Step 6: the multi-arm comparison in the same world, 3 rounds for each of 2 seeds.
        let arms = try XCTUnwrap(object["arms"] as? [String: Any])
        XCTAssertEqual(arms["seeds"] as? [Int], [42, 43])
        XCTAssertEqual(arms["rounds"] as? Int, 3)
        let rows = try XCTUnwrap(arms["arms"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["arm"] as? String }, ["popularity", "linucb", "lints", "knn", "ials", "drr-ave"])
        for row in rows {
            let name = row["arm"] as? String ?? "?"
            let retention = try XCTUnwrap(row["session_retention"] as? [String: Double], name)
            XCTAssert((0...1).contains(try XCTUnwrap(retention["mean"])), name)
            XCTAssertEqual(row["minus_drr"] == nil, name == "drr-ave", name)
        }
        let runs = try XCTUnwrap(arms["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 2)
        for run in runs {
            let users = try XCTUnwrap(run["arms"] as? [[String: Any]]).map { $0["users"] as? Int ?? 0 }
            XCTAssert(users.allSatisfy { (1...7).contains($0) }, "40 users over 6 arms: at most 7 each, \(users)")
        }
        for file in ["online-compare/online-compare.svg", "online-compare/seed-42/rounds.csv", "online-compare/seed-43/online-compare.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
        XCTAssertTrue(r.stderr.contains("6. multi-arm comparison"), r.stderr)
        XCTAssertTrue(r.stderr.contains("seeds > DRR"), "the table is printed: \(r.stderr)")
    }

    /// `--treatment lird`: the treatment arm serves a LIRD model (saved with its `lird`
    /// manifest field) over HTTP and learns online: the model version grows between rounds.
    func testLIRDTreatmentServesTheListModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-lird-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Four rounds: a list becomes a transition when the user's next list is served, so
        // the replay holds a batch later than DRR's.
        let r = try run([
            "--users", "40", "--items", "60", "--rounds", "4", "--episodes", "20", "--out", dir.path, "--json",
            "--treatment", "lird", "--no-arms",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        XCTAssertEqual(object["treatment"] as? String, "lird")
        XCTAssertTrue(object["arms"] is NSNull, "--no-arms skips step 6")
        let offline = try XCTUnwrap(object["offline"] as? [[String: Any]])
        XCTAssertEqual(offline.last?["policy"] as? String, "lird")
        let online = try XCTUnwrap(object["online"] as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(online["treatment_users"] as? Int), 0)
        let manifest = try String(contentsOf: dir.appendingPathComponent("model/manifest.json"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"lird\""), manifest)
        XCTAssertTrue(r.stderr.contains("LIRD, learning"), r.stderr)
        // The last round's line ends with the served version "<model id>.<n>"; n > 1 once learning published.
        let lastRound = try XCTUnwrap(r.stderr.split(separator: "\n").last { $0.contains("round") && $0.contains("model ") })
        let version = try XCTUnwrap(Int(try XCTUnwrap(lastRound.split(separator: ".").last)), String(lastRound))
        XCTAssertGreaterThan(version, 1, String(lastRound))
        XCTAssertEqual(try run(["--treatment", "dqn"]).status, 64)
    }

    /// `--treatment deeppage` at the tutorial's small size: users soon have fewer unseen
    /// items than a 2 × 2 page, which the server refuses (422); their sessions end instead of
    /// the run failing, and the treatment arm still serves pages and learns.
    func testDeepPageTreatmentRunsAtASmallSize() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-deeppage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run([
            "--users", "40", "--items", "60", "--rounds", "4", "--episodes", "20", "--out", dir.path, "--json",
            "--treatment", "deeppage", "--no-arms",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let last = try XCTUnwrap(r.stdout.split(separator: "\n").last)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        XCTAssertEqual(object["treatment"] as? String, "deeppage")
        let online = try XCTUnwrap(object["online"] as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(online["treatment_users"] as? Int), 0)
        XCTAssertGreaterThan(try XCTUnwrap(online["recommendations"] as? Int), 0)
        XCTAssertTrue(r.stderr.contains("DeepPage, learning"), r.stderr)
    }

    func testBadFlagGivesOneErrorLine() throws {
        let r = try run(["--rounds", "zero"])
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
        XCTAssertTrue(r.stderr.contains("expected a positive integer"), r.stderr)
        let few = try run(["--users", "8"])
        XCTAssertEqual(few.status, 64)
        XCTAssertTrue(few.stderr.contains("--users must be at least 12 for step 6"), few.stderr)
    }
}
