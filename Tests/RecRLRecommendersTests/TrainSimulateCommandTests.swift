import ArgumentParser
import Foundation
import XCTest
@testable import recrl
import RecRLDRR
import RecRLData

/// `recrl train` and `recrl simulate` reject bad input with one clear message.
final class TrainSimulateCommandTests: XCTestCase {
    func message<C: ParsableCommand>(_ type: C.Type, _ args: [String]) -> String? {
        do {
            var command = try type.parseAsRoot(args)
            try command.run()
            return nil
        } catch {
            return type.message(for: error)
        }
    }

    func testTrainRejectsBadInput() {
        XCTAssertEqual(message(Train.self, ["--out", "/tmp/x"]), "give exactly one of --data DIR or --synthetic")
        XCTAssertEqual(message(Train.self, ["--data", "/nonexistent-recrl", "--out", "/tmp/x"]), "--data /nonexistent-recrl does not exist")
        XCTAssertEqual(
            message(Train.self, ["--synthetic", "--policy", "drr-x", "--out", "/tmp/x"]),
            "unknown policy 'drr-x' (expected drr-n, drr-p, drr-u, drr-ave, lird or deeppage)")
        XCTAssertEqual(message(Train.self, ["--synthetic", "--list-size", "3", "--out", "/tmp/x"]), "--list-size applies to --policy lird only")
        XCTAssertEqual(
            message(Train.self, ["--synthetic", "--policy", "lird", "--list-size", "0", "--out", "/tmp/x"]),
            "--list-size must be positive, got 0")
        XCTAssertEqual(
            message(Train.self, ["--synthetic", "--test-fraction", "1.5", "--out", "/tmp/x"]),
            "--test-fraction must be in (0, 1), got 1.5")
        XCTAssertEqual(
            message(Train.self, ["--synthetic", "--embeddings", "cubic", "--out", "/tmp/x"]),
            "--embeddings must be explicit or implicit")
    }

    func testSimulateRejectsBadInput() {
        XCTAssertEqual(message(Simulate.self, ["--data", "/nonexistent-recrl"]), "--data /nonexistent-recrl does not exist")
        XCTAssertEqual(
            message(Simulate.self, ["--data", "/tmp", "--policies", "oracle"]),
            "unknown policy 'oracle' (expected one of drr-n, drr-p, drr-u, drr-ave, lird, deeppage, als, popularity, random)")
        XCTAssertEqual(message(Simulate.self, ["--data", "/tmp", "--list-size", "0"]), "--list-size must be positive")
        XCTAssertEqual(message(Simulate.self, ["--data", "/tmp", "--page-cols", "0"]), "--page-rows and --page-cols must be positive")
        XCTAssertEqual(message(Simulate.self, ["--data", "/tmp", "--horizon", "0"]), "--episodes, --horizon and --train-episodes must be positive")
    }

    func testGenerateWritesALoadableCSV() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-gen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        XCTAssertEqual(message(Generate.self, ["--out", out.path, "--users", "0"]), "--users must be positive, got 0")
        XCTAssertNil(message(Generate.self, ["--out", out.path, "--users", "30", "--items", "50", "--seed", "3"]))
        let loaded = try DatasetLoader.load(directory: out.path)
        XCTAssertEqual(loaded.format, .csv)
        XCTAssertEqual(loaded.report.droppedTotal, 0)
        XCTAssertEqual(loaded.dataset.userCount, 30)
        let header = try String(contentsOf: out.appendingPathComponent("interactions.csv"), encoding: .utf8).split(separator: "\n").first
        XCTAssertEqual(header, "user,item,rating,timestamp")
    }

    /// Trains a tiny DRR on the synthetic world and saves a loadable model.
    func testTrainSyntheticWritesALoadableModel() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        XCTAssertNil(message(Train.self, ["--synthetic", "--episodes", "5", "--out", out.path, "--json"]))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["policy"] as? String, "drr-ave")
        XCTAssertEqual(manifest?["format_version"] as? Int, 1)
        XCTAssertNotNil((manifest?["metrics"] as? [String: Any])?["ndcg@10"])
        // Only items that occur in the log are in the id map (at most the world's 1000).
        let items = try XCTUnwrap((manifest?["item_ids"] as? [String])?.count)
        XCTAssertTrue((900...1000).contains(items), "\(items) items")
        let (model, loaded) = try DRRModelStore.load(from: out)
        XCTAssertEqual(model.itemCount, items)
        XCTAssertEqual(loaded.policy, "drr-ave")
        // The cold-start popularity counts: one per item, from the training part of the log.
        let popularity = try XCTUnwrap(loaded.itemPopularity)
        XCTAssertEqual(popularity.count, items)
        XCTAssertGreaterThan(popularity.reduce(0, +), 0)
    }

    /// Trains a tiny LIRD on the synthetic world: the manifest names the policy and carries
    /// the list size, and the saved model recommends lists of that size.
    func testTrainLIRDWritesALoadableListModel() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-lird-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        XCTAssertNil(message(Train.self, ["--synthetic", "--policy", "lird", "--list-size", "3", "--episodes", "2", "--out", out.path, "--json"]))
        let (model, manifest) = try DRRModelStore.load(from: out)
        XCTAssertEqual(manifest.policy, "lird")
        XCTAssertEqual(manifest.lird?.listSize, 3)
        XCTAssertEqual(model.listSize, 3)
        XCTAssertNotNil(manifest.metrics["precision@3"])
        let list = model.list(user: 0, window: StateWindow(size: model.configuration.windowSize, initial: []))
        XCTAssertEqual(Set(list).count, 3)
    }
}
