import Foundation
import XCTest
import RecRLData
import RecRLTensor
@testable import RecRLRecommenders
@testable import recrl
import RecRLDRR

/// Ranks every item by its index, ascending (`lowFirst`) or descending; ignores training.
private struct IndexOrder: Recommender {
    var lowFirst: Bool
    private var itemCount = 0
    var name: String { lowFirst ? "low-first" : "high-first" }
    init(lowFirst: Bool) { self.lowFirst = lowFirst }
    mutating func fit(train: InteractionDataset) throws { itemCount = train.itemCount }
    func scores(forUser user: Int, into scores: inout [Float]) {
        scores = (0..<itemCount).map { Float(lowFirst ? -$0 : $0) }
    }
}

final class TuningTests: XCTestCase {
    /// Per user, four interactions in time order: item 0, a low item (1–3), then a high item
    /// (7–9) and item 6. The temporal 50% split puts the last two in test; the validation split
    /// carved from training (again its latest 50%) is the low item. So low-index-first wins on
    /// validation and high-index-first on test.
    let data: InteractionDataset = {
        var rows: [(Int, Int, Float, Int64)] = []
        for u in 0..<6 {
            let t = Int64(u * 10)
            rows += [(u, 0, 5, t + 1), (u, 1 + u % 3, 5, t + 2), (u, 7 + u % 3, 5, t + 3), (u, 6, 5, t + 4)]
        }
        return dataset(rows, users: 6, items: 10)
    }()

    func testTuningChoosesOnValidationNotOnTest() throws {
        var rng = SplitMix64(seed: 0)
        let strategy = SplitStrategy.temporal(testFraction: 0.5)
        let split = DatasetTransforms.split(data, strategy: strategy, using: &rng)
        // High-first is the first grid point, so a tie or a test-driven choice would pick it.
        let grid = [
            TuningCandidate(parameters: ["low_first": 0]) { IndexOrder(lowFirst: false) },
            TuningCandidate(parameters: ["low_first": 1]) { IndexOrder(lowFirst: true) },
        ]
        let (best, outcome) = try BaselineTuning.tune(
            grid, train: split.train, strategy: strategy,
            config: EvaluationConfig(), using: &rng)
        XCTAssertEqual(best, 1)
        XCTAssertEqual(outcome.chosen, ["low_first": 1])
        XCTAssertEqual(outcome.trials.count, 2)
        XCTAssertGreaterThan(outcome.trials[1].validationNDCG, outcome.trials[0].validationNDCG)
        XCTAssertEqual(outcome.validationTrain, 6)
        XCTAssertEqual(outcome.validationTest, 6)

        // On test the other candidate is better: choosing by test would have flipped the choice.
        var testNDCG: [Double] = []
        for candidate in grid {
            var model = candidate.make()
            try model.fit(train: split.train)
            testNDCG.append(Evaluator.evaluate(model, split: split, config: EvaluationConfig())["ndcg@10"] ?? 0)
        }
        XCTAssertGreaterThan(testNDCG[0], testNDCG[1])
    }

    func testGridsAreDocumentedAndBuildTheirPolicies() throws {
        XCTAssertEqual(BaselineTuning.grid(for: "itemknn", seed: 0)?.count, 16)
        XCTAssertEqual(BaselineTuning.grid(for: "ease", seed: 0)?.count, 8)
        XCTAssertEqual(BaselineTuning.grid(for: "ials", seed: 0)?.count, 27)
        XCTAssertEqual(BaselineTuning.grid(for: "als", seed: 0)?.count, 9)
        XCTAssertEqual(BaselineTuning.grid(for: "bpr", seed: 0)?.count, 9)
        XCTAssertNil(BaselineTuning.grid(for: "popularity", seed: 0))
        XCTAssertNil(BaselineTuning.grid(for: "drr-ave", seed: 0))
        for policy in ["itemknn", "ease", "ials", "als", "bpr"] {
            XCTAssertEqual(BaselineTuning.grid(for: policy, seed: 0)?.map { $0.make().name }.allSatisfy { $0 == policy }, true)
        }
        let ials = try XCTUnwrap(BaselineTuning.grid(for: "ials", seed: 3)?.last?.make() as? IALSRecommender)
        XCTAssertEqual([ials.factors, Int(ials.regularization), Int(ials.alpha), Int(ials.seed)], [128, 50, 20, 3])
        var rng = SplitMix64(seed: 0)
        XCTAssertThrowsError(
            try BaselineTuning.tune(
                [], train: data, strategy: .random(testFraction: 0.5),
                config: EvaluationConfig(), using: &rng))
    }

    func testEvaluateTuneReportsTheChosenValues() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-tune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var body = ""
        for u in 1...12 { for i in 1...15 where (u * i) % 4 != 0 { body += "\(u)\t\(i)\t\(1 + (u + i) % 5)\t\(1000 + u * 20 + i)\n" } }
        try body.write(to: dir.appendingPathComponent("u.data"), atomically: true, encoding: .utf8)
        let text = try capturingStandardOutput {
            var command = try Evaluate.parseAsRoot([
                "--data", dir.path, "--split", "temporal", "--policies", "popularity,ease,itemknn",
                "--tune", "--json", "--relevance-threshold", "1",
            ])
            try command.run()
        }
        let report = try JSONDecoder().decode(EvaluationReport.self, from: Data(text.utf8))
        XCTAssertEqual(report.results.map(\.policy), ["popularity", "ease", "itemknn"])
        XCTAssertNil(report.results[0].tuning, "nothing to tune")
        let ease = try XCTUnwrap(report.results[1].tuning)
        XCTAssertEqual(ease.trials.count, 8)
        XCTAssertEqual(ease.validationNDCG, ease.trials.map(\.validationNDCG).max())
        XCTAssertEqual(Set(ease.chosen.keys), ["regularization"])
        XCTAssertEqual(Set(try XCTUnwrap(report.results[2].tuning).chosen.keys), ["neighbours", "shrinkage"])
        XCTAssertTrue(text.contains(#""validation_ndcg@10":"#))
        // The table names the chosen values.
        let table = try capturingStandardOutput {
            var command = try Evaluate.parseAsRoot(["--data", dir.path, "--split", "temporal", "--policies", "ease", "--tune"])
            try command.run()
        }
        XCTAssertTrue(table.contains("ease: regularization "), table)
    }

    /// `--tune` searches DRR's grid (the supervised target × the item-table rate) on the validation split like a
    /// baseline's, around the `--set` configuration; a bad `--set` is a one-line error.
    func testEvaluateTunesDRRAroundItsSetConfiguration() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-tune-drr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var body = ""
        for u in 1...12 { for i in 1...15 where (u * i) % 4 != 0 { body += "\(u)\t\(i)\t\(1 + (u + i) % 5)\t\(1000 + u * 20 + i)\n" } }
        try body.write(to: dir.appendingPathComponent("u.data"), atomically: true, encoding: .utf8)
        let tiny = [
            "--episodes", "6", "--set", "embeddingSize=4", "--set", "hiddenSize=8", "--set", "batchSize=4",
            "--set", "warmupTransitions=8", "--set", "embeddingIterations=2", "--set", "windowSize=2", "--set", "episodeLength=2",
        ]
        let text = try capturingStandardOutput {
            var command = try Evaluate.parseAsRoot(
                ["--data", dir.path, "--split", "random", "--policies", "drr-ave", "--tune", "--json", "--relevance-threshold", "1"] + tiny)
            try command.run()
        }
        let report = try JSONDecoder().decode(EvaluationReport.self, from: Data(text.utf8))
        let tuning = try XCTUnwrap(report.results.first?.tuning)
        let rate = Double(DRRConfiguration().itemEmbeddingLearningRate)
        XCTAssertEqual(
            tuning.trials.map(\.parameters),
            [
                ["supervised_target_any": 0, "item_embedding_learning_rate": rate],
                ["supervised_target_any": 0, "item_embedding_learning_rate": 0],
                ["supervised_target_any": 1, "item_embedding_learning_rate": rate],
                ["supervised_target_any": 1, "item_embedding_learning_rate": 0],
            ])
        XCTAssertEqual(tuning.validationNDCG, tuning.trials.map(\.validationNDCG).max())
        XCTAssertThrowsError(try Evaluate.parseAsRoot(["--data", dir.path, "--policies", "drr-ave", "--set", "windowSize=0"])) { error in
            XCTAssertTrue(Evaluate.message(for: error).contains("windowSize"), Evaluate.message(for: error))
        }
    }

    /// `--set` reaches DeepPage's own fields for the `deeppage` policy (and only checks the
    /// DRR configuration when a DRR policy is evaluated).
    func testEvaluateSetReachesDeepPageFields() throws {
        let dir = FileManager.default.temporaryDirectory.path
        let parsed = try Evaluate.parseAsRoot(
            ["--data", dir, "--policies", "deeppage", "--set", "supervisedWeight=7", "--set", "stateSize=24", "--set", "embeddingSize=16"])
        let command = try XCTUnwrap(parsed as? Evaluate)
        let c = try command.deepPageConfiguration()
        XCTAssertEqual(c.supervisedWeight, 7)
        XCTAssertEqual(c.stateSize, 24)
        XCTAssertEqual(c.base.embeddingSize, 16)
        XCTAssertThrowsError(try Evaluate.parseAsRoot(["--data", dir, "--policies", "deeppage", "--set", "supervisedWeight=-1"])) { error in
            XCTAssertTrue(Evaluate.message(for: error).contains("supervisedWeight"), Evaluate.message(for: error))
        }
        XCTAssertThrowsError(try Evaluate.parseAsRoot(["--data", dir, "--policies", "drr-ave,deeppage", "--set", "stateSize=24"])) { error in
            XCTAssertTrue(Evaluate.message(for: error).contains("stateSize"), Evaluate.message(for: error))
        }
    }
}
