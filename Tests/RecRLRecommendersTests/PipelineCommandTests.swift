import ArgumentParser
import Foundation
import XCTest
@testable import recrl
import RecRLDRR
import RecRLData
import RecRLRecommenders

/// The pipeline stages as commands: ingest, split, train/evaluate --in, the gate, tune, and
/// `recrl pipeline run --local` end to end (with a gate that passes and one that stops the
/// candidate before promotion).
final class PipelineCommandTests: XCTestCase {
    var work: URL!

    override func setUp() {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-pipeline-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    /// Runs a subcommand in-process; returns nil on success, else the error's exit code and message.
    func run<C: ParsableCommand>(_ type: C.Type, _ args: [String]) -> (code: Int32, message: String)? {
        do {
            var command = try type.parseAsRoot(args)
            try command.run()
            return nil
        } catch {
            return (type.exitCode(for: error).rawValue, type.message(for: error))
        }
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// A small interactions CSV: 30 users with 15 of 20 items each, `bad` rows with a non-numeric rating.
    func writeData(bad: Int) throws -> String {
        let dir = work.appendingPathComponent("raw")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var text = "user,item,rating,timestamp\n"
        for u in 0..<30 { for i in 0..<20 where (u + i) % 4 != 0 { text += "u\(u),i\((u * 7 + i) % 20),\((u + i) % 5 + 1),\(1000 + u * 20 + i)\n" } }
        for b in 0..<bad { text += "u\(b),i99,high,5000\n" }
        try text.write(to: dir.appendingPathComponent("interactions.csv"), atomically: true, encoding: .utf8)
        return dir.path
    }

    func testIngestFailsOnTooManyBadRowsAndWritesTheReport() throws {
        let raw = try writeData(bad: 5)
        let failure = run(Ingest.self, ["--data", raw, "--out", path("ingest")])
        XCTAssertEqual(failure?.code, 1)
        XCTAssertTrue(failure?.message.hasPrefix("5 of 455 rows are bad") ?? false, failure?.message ?? "passed")
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(contentsOf: work.appendingPathComponent("ingest/validation.json")))
        XCTAssertEqual(report.dropped["non_numeric_rating"], 5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("ingest/interactions.csv")))
        // Tolerated with a higher threshold: the normalised file and the stage manifest appear.
        XCTAssertNil(run(Ingest.self, ["--data", raw, "--out", path("ingest"), "--max-bad-fraction", "0.05"]))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("ingest/manifest.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["stage"] as? String, "ingest")
        XCTAssertEqual((manifest?["metrics"] as? [String: Double])?["rows_bad"], 5)
        XCTAssertEqual((manifest?["outputs"] as? [[String: Any]])?.count, 2)
        let normalised = try DatasetLoader.load(directory: path("ingest"))
        XCTAssertEqual(normalised.report.droppedTotal, 0)
        XCTAssertEqual(normalised.dataset.interactionCount, 450)
        XCTAssertEqual(
            run(Ingest.self, ["--data", raw, "--out", path("x"), "--max-bad-fraction", "2"])?.message,
            "--max-bad-fraction must be in [0, 1], got 2.0")
    }

    func testSplitThenEvaluateWithAGate() throws {
        let raw = try writeData(bad: 0)
        XCTAssertNil(run(Ingest.self, ["--data", raw, "--out", path("ingest")]))
        XCTAssertEqual(
            run(SplitCommand.self, ["--in", path("ingest"), "--out", path("split"), "--split", "sideways"])?.message,
            "unknown split 'sideways' (expected temporal, global-time, random, leave-last)")
        XCTAssertNil(run(SplitCommand.self, ["--in", path("ingest"), "--out", path("split"), "--split", "global-time"]))
        let split = try SplitFiles.read(from: work.appendingPathComponent("split"))
        XCTAssertLessThanOrEqual(split.train.timestamps.max()!, split.test.timestamps.min()!)
        XCTAssertEqual(split.strategy.name, "global-time")
        // Popularity against itself passes at 1.0 and fails at 2.0 with exit status 3.
        let base = ["--in", path("split"), "--policies", "popularity,random", "--k", "10"]
        XCTAssertNil(run(Evaluate.self, base + ["--gate", "ndcg@10 >= 1.0 * popularity"]))
        XCTAssertEqual(run(Evaluate.self, base + ["--gate", "ndcg@10 >= 2 * popularity"])?.code, 3)
        XCTAssertEqual(
            run(Evaluate.self, base + ["--gate", "ndcg@10 >= 1.0 * itemknn"])?.message,
            "the gate compares with 'itemknn', which is not in --policies (popularity,random)")
        XCTAssertEqual(
            run(Evaluate.self, ["--in", path("ingest"), "--policies", "popularity"])?.message,
            "--in \(path("ingest")) is not a split folder (no split.json; write one with `recrl split`)")
    }

    func testGateParsingAndChecking() throws {
        let gate = try ReleaseGate(parsing: "NDCG@10>=0.9*ItemKNN")
        XCTAssertEqual(gate.metric, "ndcg@10")
        XCTAssertEqual(gate.comparison, .greaterOrEqual)
        XCTAssertEqual(gate.factor, 0.9)
        XCTAssertEqual(gate.reference, .policy("itemknn"))
        let results = [
            PolicyResult(policy: "drr-ave", metrics: ["ndcg@10": 0.185], trainSeconds: 0, evalSeconds: 0),
            PolicyResult(policy: "itemknn", metrics: ["ndcg@10": 0.2], trainSeconds: 0, evalSeconds: 0),
        ]
        let outcome = try gate.check(candidate: "drr-ave", results: results)
        XCTAssertTrue(outcome.passed)  // 0.185 >= 0.9 × 0.2
        XCTAssertEqual(outcome.summary, "gate passed: drr-ave ndcg@10 0.1850 >= 0.9 * itemknn 0.2000 (= 0.1800)")
        XCTAssertFalse(try ReleaseGate(parsing: "ndcg@10 > 0.5").check(candidate: "drr-ave", results: results).passed)
        XCTAssertThrowsError(try ReleaseGate(parsing: "ndcg@10 itemknn"))
        XCTAssertThrowsError(try ReleaseGate(parsing: "ndcg@10 >= x * itemknn"))
        XCTAssertThrowsError(try ReleaseGate(parsing: "recall@3 >= itemknn").check(candidate: "drr-ave", results: results))
    }

    /// The built `recrl` next to the tests.
    func recrl() throws -> URL {
        let url = Bundle.main.bundleURL.appendingPathComponent("recrl")
        guard FileManager.default.isExecutableFile(atPath: url.path) else { throw XCTSkip("recrl is not built next to the tests") }
        return url
    }

    func runRecrl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try recrl()
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The local pipeline registers and promotes a candidate that passes the gate; a second
    /// run whose candidate fails the gate exits 3 and leaves the registry as it was; a random
    /// candidate is stopped the same way.
    func testLocalPipelinePromotesAPassingCandidateAndTheGateStopsABadOne() throws {
        let raw = try writeData(bad: 0)
        let registry = path("registry")
        let common = ["pipeline", "run", "--local", "--data", raw, "--registry", registry, "--episodes", "2", "--split", "temporal"]
        let passed = try runRecrl(common + ["--work", path("run1"), "--gate", "ndcg@10 >= 0 * itemknn"])
        XCTAssertEqual(passed.status, 0, passed.output)
        let reg = ModelRegistry(directory: URL(fileURLWithPath: registry))
        XCTAssertEqual(reg.versions(), ["v000001"])
        XCTAssertEqual(reg.version(at: .production), "v000001")
        let served = try reg.load(stage: .production)
        XCTAssertEqual(served.manifest.policy, "drr-ave")
        XCTAssertNotNil(served.manifest.metrics["eval.ndcg@10"], "the evaluation report's metrics are stored with the version")
        XCTAssertEqual(served.manifest.lineage?.split, "temporal")

        let stopped = try runRecrl(common + ["--work", path("run2"), "--gate", "ndcg@10 >= 100 * itemknn"])
        XCTAssertEqual(stopped.status, 3)
        XCTAssertEqual(reg.versions(), ["v000001"], "a candidate that fails the gate is not registered")
        XCTAssertEqual(reg.version(at: .production), "v000001")

        let random = try runRecrl(common + ["--work", path("run3"), "--policy", "random"])
        XCTAssertEqual(random.status, 3)
        XCTAssertEqual(reg.version(at: .production), "v000001")
    }

    /// `--policy lird` and `--policy deeppage`: the train stage trains the list or page model
    /// (with `--set` passed to `recrl train`: 20 items fill no default-length episode), the
    /// gate evaluates it, and it is registered and promoted; `--tune` is refused for them
    /// (DRR only).
    func testLocalPipelineTrainsAndPromotesListAndPageCandidates() throws {
        let raw = try writeData(bad: 0)
        for policy in ["lird", "deeppage"] {
            let registry = path("registry-\(policy)")
            let passed = try runRecrl([
                "pipeline", "run", "--local", "--data", raw, "--registry", registry, "--episodes", "2", "--split", "temporal",
                "--work", path("run-\(policy)"), "--policy", policy, "--set", "episodeLength=3", "--gate", "ndcg@10 >= 0 * itemknn",
            ])
            XCTAssertEqual(passed.status, 0, passed.output)
            let reg = ModelRegistry(directory: URL(fileURLWithPath: registry))
            XCTAssertEqual(reg.version(at: .production), "v000001")
            let manifest = try policy == "lird" ? reg.load(stage: .production).manifest : reg.loadDeepPage(stage: .production).manifest
            XCTAssertEqual(manifest.policy, policy)
            XCTAssertNotNil(manifest.metrics["eval.ndcg@10"], "the evaluation report's metrics are stored with the version")
            XCTAssertEqual(
                run(PipelineCommand.Run.self, ["--local", "--policy", policy, "--tune"])?.message,
                "--tune tunes DRR policies only (drr-n, drr-p, drr-u, drr-ave), not \(policy)")
        }
    }

    /// A DeepPage model goes through the registry commands as a DRR one does: `train
    /// --register` adds it with its lineage, `models register --metrics` stores the evaluation
    /// report's deeppage metrics with a new version, `models promote` points production at it;
    /// a report without a deeppage result is refused.
    func testDeepPageModelsGoThroughTheRegistryCommands() throws {
        let raw = try writeData(bad: 0)
        XCTAssertNil(run(Ingest.self, ["--data", raw, "--out", path("ingest")]))
        XCTAssertNil(run(SplitCommand.self, ["--in", path("ingest"), "--out", path("split"), "--split", "temporal"]))
        let registry = path("registry")
        XCTAssertNil(
            run(
                Train.self,
                [
                    "--in", path("split"), "--policy", "deeppage", "--episodes", "2", "--set", "episodeLength=3", "--out", path("deeppage"),
                    "--register", registry,
                ]))
        let reg = ModelRegistry(directory: URL(fileURLWithPath: registry))
        XCTAssertEqual(reg.versions(), ["v000001"])
        let first = try reg.loadDeepPage(version: "v000001")
        XCTAssertEqual(first.manifest.policy, "deeppage")
        XCTAssertEqual(first.manifest.lineage?.split, "temporal")
        let saved = try DRRModelStore.loadDeepPage(from: URL(fileURLWithPath: path("deeppage"))).model
        XCTAssertEqual(first.model.learner.checkpointTensors(), saved.learner.checkpointTensors(), "the registered version is the trained model")

        let report = try runRecrl(["evaluate", "--in", path("split"), "--policies", "deeppage", "--model", path("deeppage"), "--k", "4,10", "--json"])
        XCTAssertEqual(report.status, 0, report.output)
        try report.output.write(to: work.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
        XCTAssertNil(run(Models.Register.self, ["--registry", registry, "--model", path("deeppage"), "--metrics", path("report.json")]))
        let second = try reg.entry("v000002")
        XCTAssertEqual(second.manifest.policy, "deeppage")
        XCTAssertNotNil(second.manifest.metrics["eval.ndcg@4"], "the evaluation report's metrics are stored with the version")
        XCTAssertNil(run(Models.Promote.self, ["v000002", "--registry", registry]))
        XCTAssertEqual(try reg.loadDeepPage(stage: .production).version, "v000002")

        let other = try runRecrl(["evaluate", "--in", path("split"), "--policies", "popularity", "--json"])
        try other.output.write(to: work.appendingPathComponent("popularity.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(
            run(Models.Register.self, ["--registry", registry, "--model", path("deeppage"), "--metrics", path("popularity.json")])?.message,
            "--metrics \(path("popularity.json")) has no result for policy deeppage")
        XCTAssertEqual(reg.versions(), ["v000001", "v000002"])
    }

    func testTuneTrialPrintsKatibMetricLines() throws {
        let raw = try writeData(bad: 0)
        XCTAssertNil(run(Ingest.self, ["--data", raw, "--out", path("ingest")]))
        XCTAssertNil(run(SplitCommand.self, ["--in", path("ingest"), "--out", path("split"), "--split", "temporal"]))
        let result = try runRecrl(["tune", "--in=\(path("split"))", "--policy=drr-ave", "--budget=2", "--trial", "gamma=0.8", "windowSize=3"])
        XCTAssertEqual(result.status, 0)
        let names = result.output.split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) }
        XCTAssertEqual(names, ["ndcg@10", "hr@10", "precision@10"])
        XCTAssertNotNil(run(Tune.self, ["--in", path("split"), "--trial", "noSuchKey=1"]))
        // A search writes every trial and the best configuration.
        let space = work.appendingPathComponent("space.json")
        try #"{"gamma": {"type": "double", "min": 0.5, "max": 0.9}, "windowSize": {"type": "int", "min": 2, "max": 4}}"#
            .write(to: space, atomically: true, encoding: .utf8)
        XCTAssertNil(
            run(Tune.self, ["--in", path("split"), "--space", space.path, "--trials", "2", "--budget", "2", "--parallel", "2", "--out", path("tune")]))
        let trials = try String(contentsOf: work.appendingPathComponent("tune/trials.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(trials.count, 3)  // two at rung 0 (1 episode), the better one at rung 1 (2 episodes)
        let overrides = try String(contentsOf: work.appendingPathComponent("tune/best-overrides.txt"), encoding: .utf8)
        XCTAssertEqual(overrides.split(separator: "\n").map { $0.split(separator: "=")[0] }, ["gamma", "windowSize"])
    }
}
