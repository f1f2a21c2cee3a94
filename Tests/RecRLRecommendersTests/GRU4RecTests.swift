import Foundation
import XCTest
import RecRLData
import RecRLTensor
@testable import RecRLRecommenders
@testable import recrl

final class GRU4RecTests: XCTestCase {
    /// A small, fast configuration for the fixtures.
    let small = GRU4RecConfiguration(
        embeddingSize: 8, hiddenSize: 16, learningRate: 0.02, epochs: 40, batchSize: 4,
        truncation: 5)

    /// Users walking the sequence `pattern` repeatedly, each from its own offset for `length` steps,
    /// one interaction per step in time order.
    func walks(_ pattern: [Int], users: Int, length: Int) -> InteractionDataset {
        var rows: [(Int, Int, Float, Int64)] = []
        for u in 0..<users {
            for t in 0..<length { rows.append((u, pattern[(u + t) % pattern.count], 5, Int64(u * 1000 + t))) }
        }
        return dataset(rows, users: users, items: pattern.max()! + 1)
    }

    func argmax(_ scores: [Float]) -> Int { scores.indices.max { scores[$0] < scores[$1] }! }

    func testLearnsACycle() throws {
        // 0 → 1 → 2 → 3 → 4 → 5 → 0: the next item after each user's last one must rank first.
        let pattern = [0, 1, 2, 3, 4, 5]
        let data = walks(pattern, users: 12, length: 9)
        var model = GRU4RecRecommender(configuration: small, seed: 1)
        try model.fit(train: data)
        var scores: [Float] = []
        for u in 0..<12 {
            model.scores(forUser: u, into: &scores)
            let last = pattern[(u + 8) % 6]
            XCTAssertEqual(argmax(scores), (last + 1) % 6, "user \(u) ends on \(last)")
        }
        XCTAssertLessThan(model.epochLosses.last!, 0.5 * model.epochLosses.first!)
    }

    func testUsesMoreThanTheLastItem() throws {
        // 0 1 0 2 0 1 0 2 …: after a 0 the next item is 2 if the item before the 0 was 1, else 1,
        // which a model of the last item alone cannot tell apart.
        let pattern = [0, 1, 0, 2]
        let data = walks(pattern, users: 16, length: 11)
        var config = small
        config.epochs = 60
        var model = GRU4RecRecommender(configuration: config, seed: 2)
        try model.fit(train: data)
        var scores: [Float] = []
        var checkedAfterZero = 0
        for u in 0..<16 {
            model.scores(forUser: u, into: &scores)
            let end = (u + 10) % 4
            XCTAssertEqual(argmax(scores), pattern[(end + 1) % 4], "user \(u) ends at phase \(end)")
            if pattern[end] == 0 { checkedAfterZero += 1 }
        }
        XCTAssertEqual(checkedAfterZero, 8, "half the users end on a 0, after a 1 or after a 2")
    }

    func testReproducibleFromItsSeed() throws {
        let data = walks([0, 3, 1, 4, 2], users: 7, length: 8)
        var config = small
        config.epochs = 3
        var a = GRU4RecRecommender(configuration: config, seed: 5), b = GRU4RecRecommender(configuration: config, seed: 5)
        var c = GRU4RecRecommender(configuration: config, seed: 6)
        try a.fit(train: data); try b.fit(train: data); try c.fit(train: data)
        var sa: [Float] = [], sb: [Float] = [], sc: [Float] = []
        var differs = false
        for u in 0..<7 {
            a.scores(forUser: u, into: &sa); b.scores(forUser: u, into: &sb); c.scores(forUser: u, into: &sc)
            XCTAssertEqual(sa, sb, "user \(u)")
            if sa != sc { differs = true }
        }
        XCTAssertEqual(a.epochLosses, b.epochLosses)
        XCTAssertTrue(differs, "another seed gives another model")
        // A user outside the training set (and one without interactions) gets the output bias: the same for both.
        a.scores(forUser: 99, into: &sa)
        XCTAssertEqual(sa.count, 5)
    }

    func testUserWithoutHistoryGetsTheBiasAndBadSettingsThrow() throws {
        // User 2 has no interactions: it scores like an unknown user.
        let data = dataset([(0, 0, 5, 1), (0, 1, 5, 2), (1, 1, 5, 3), (1, 2, 5, 4)], users: 3, items: 3)
        var model = GRU4RecRecommender(configuration: small, seed: 0)
        try model.fit(train: data)
        var empty: [Float] = [], unknown: [Float] = []
        model.scores(forUser: 2, into: &empty)
        model.scores(forUser: 50, into: &unknown)
        XCTAssertEqual(empty, unknown)
        for bad in [
            GRU4RecConfiguration(hiddenSize: 0), GRU4RecConfiguration(learningRate: -1), GRU4RecConfiguration(epochs: -1),
            GRU4RecConfiguration(batchSize: 0), GRU4RecConfiguration(truncation: 0),
            GRU4RecConfiguration(maxGradientNorm: .nan),
        ] {
            var m = GRU4RecRecommender(configuration: bad)
            XCTAssertThrowsError(try m.fit(train: data)) { XCTAssertTrue("\($0)".hasPrefix("GRU4Rec "), "\($0)") }
        }
    }

    func testGridIsDocumentedAndBuildsTheModel() throws {
        let grid = try XCTUnwrap(BaselineTuning.grid(for: "gru4rec", seed: 4))
        XCTAssertEqual(grid.count, 8)
        XCTAssertEqual(Set(grid.flatMap(\.parameters.keys)), ["hidden_size", "learning_rate", "epochs"])
        let last = try XCTUnwrap(grid.last?.make() as? GRU4RecRecommender)
        XCTAssertEqual(last.seed, 4)
        XCTAssertEqual(last.configuration.hiddenSize, Int(grid.last!.parameters["hidden_size"]!))
        XCTAssertEqual(last.configuration.epochs, Int(grid.last!.parameters["epochs"]!))
    }

    /// Two data sets with the same training split (the temporal split's earlier half of each
    /// user's interactions) and different test splits: `recrl evaluate --tune` must choose
    /// GRU4Rec's values identically (every validation score equal) while the test metrics differ.
    func testEvaluateTuneReadsOnlyTheTrainingSplit() throws {
        func write(_ testItem: (Int, Int) -> Int) throws -> URL {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-gru-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var body = ""
            for u in 1...10 {
                for t in 0..<6 { body += "\(u)\t\((u + t) % 6 + 1)\t5\t\(1000 * u + t)\n" }  // training half
                for t in 6..<12 { body += "\(u)\t\(testItem(u, t))\t5\t\(1000 * u + t)\n" }  // test half
            }
            try body.write(to: dir.appendingPathComponent("u.data"), atomically: true, encoding: .utf8)
            return dir
        }
        // Items 7–22 appear only in the test half; the two variants give each user different ones.
        let a = try write { u, t in 7 + (2 * u + t) % 16 }, b = try write { u, t in 7 + (5 * u + t + 3) % 16 }
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        func run(_ dir: URL) throws -> PolicyResult {
            let text = try capturingStandardOutput {
                var command = try Evaluate.parseAsRoot([
                    "--data", dir.path, "--split", "temporal", "--test-fraction", "0.5",
                    "--policies", "gru4rec", "--tune", "--json", "--seed", "3",
                ])
                try command.run()
            }
            return try XCTUnwrap(JSONDecoder().decode(EvaluationReport.self, from: Data(text.utf8)).results.first)
        }
        let ra = try run(a), rb = try run(b)
        let ta = try XCTUnwrap(ra.tuning), tb = try XCTUnwrap(rb.tuning)
        XCTAssertEqual(ta.trials.count, 8)
        XCTAssertEqual([ta.validationTrain, ta.validationTest], [30, 30])
        XCTAssertEqual(ta.trials, tb.trials, "validation scores come from the training split alone")
        XCTAssertEqual(ta.chosen, tb.chosen)
        XCTAssertNotEqual(ra.metrics["ndcg@10"], rb.metrics["ndcg@10"], "the test splits do differ")
    }
}
