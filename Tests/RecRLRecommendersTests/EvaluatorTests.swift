import Foundation
import XCTest
import RecRLData
@testable import RecRLRecommenders

final class EvaluatorTests: XCTestCase {
    /// Train: u0: i0 i1 ; u1: i0 i1 i2 ; u2: i1 i2. Test: u0: i2 (5), i3 (2) ; u1: i3 (4).
    func tinySplit(genres: [[Int]]? = nil) -> Split {
        let train = dataset(
            [(0, 0, 5, 1), (0, 1, 3, 2), (1, 0, 4, 3), (1, 1, 2, 4), (1, 2, 5, 5), (2, 1, 4, 6), (2, 2, 1, 7)],
            users: 3, items: 4, genres: genres)
        let test = dataset([(0, 2, 5, 8), (0, 3, 2, 9), (1, 3, 4, 10)], users: 3, items: 4, genres: genres)
        return Split(train: train, test: test, strategy: .random(testFraction: 0.3))
    }

    func testFullProtocolOnTinyPopularity() throws {
        var model = PopularityRecommender()
        let result = try Evaluator.run(
            &model, split: tinySplit(genres: [[0], [1], [0], [0, 1]]),
            config: EvaluationConfig(ks: [1, 2]))
        let m = result.metrics
        XCTAssertEqual(result.policy, "popularity")
        XCTAssertEqual(m["users_evaluated"], 2)
        // u0 ranks unseen [i2 (pop 2), i3 (pop 0)], relevant {i2}; u1 ranks [i3], relevant {i3}.
        XCTAssertEqual(m["precision@1"], 1)
        XCTAssertEqual(m["precision@2"], 0.5)
        XCTAssertEqual(m["recall@2"], 1)
        XCTAssertEqual(m["ndcg@2"], 1)
        XCTAssertEqual(m["map@2"], 1)
        XCTAssertEqual(m["hit@1"], 1)
        XCTAssertEqual(m["coverage"], 0.5, "i2 and i3 of 4 items")
        // novelty: u0 mean(−log2(2/3), −log2(1/3)), u1 −log2(1/3) (pop of i3 clipped to 1).
        let expectedNovelty = ((-log2(2.0 / 3) - log2(1.0 / 3)) / 2 - log2(1.0 / 3)) / 2
        XCTAssertEqual(m["novelty"]!, expectedNovelty, accuracy: 1e-12)
        // diversity: only u0's list has two items: 1 − cos([0], [0, 1]).
        XCTAssertEqual(m["diversity"]!, 1 - 1 / 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertNil(m["rmse"])
        XCTAssertEqual(
            Set(m.keys),
            [
                "precision@1", "recall@1", "ndcg@1", "map@1", "hit@1",
                "precision@2", "recall@2", "ndcg@2", "map@2", "hit@2",
                "coverage", "diversity", "novelty", "users_evaluated",
            ])
    }

    func testRelevanceThresholdOneMakesEveryTestInteractionRelevant() throws {
        var model = PopularityRecommender()
        let m = try Evaluator.run(&model, split: tinySplit(), config: EvaluationConfig(ks: [2], relevanceThreshold: 1)).metrics
        // u0 now has relevant {i2, i3}, both in its list.
        XCTAssertEqual(m["precision@2"], 0.75)
        XCTAssertEqual(m["recall@2"], 1)
        XCTAssertNil(m["diversity"], "no genres and no embeddings")
    }

    func testFullProtocolExcludesTrainingItems() throws {
        // Scores prefer seen items; they must never be recommended.
        let model = FixedScores(table: [[9, 8, 1, 2], [9, 8, 7, 1], [1, 9, 9, 0]])
        let m = Evaluator.evaluate(model, split: tinySplit(), config: EvaluationConfig(ks: [1]))
        // u0 ranks i3 (2) over i2 (1): relevant i2 missed at K=1. u1 has only i3 → hit.
        XCTAssertEqual(m["precision@1"], 0.5)
    }

    func testDRRProtocolRanksOnlyTestItems() throws {
        // u0 test candidates {i2, i3}: scores put i3 first; u1 candidate {i3}.
        let model = FixedScores(table: [[0, 0, 1, 2], [0, 0, 0, 0], [0, 0, 0, 0]])
        let m = Evaluator.evaluate(model, split: tinySplit(), config: EvaluationConfig(ks: [1, 2], evaluationProtocol: .drr))
        XCTAssertEqual(m["precision@1"], 0.5)
        XCTAssertEqual(m["precision@2"], 0.5)
        XCTAssertEqual(m["ndcg@2"]!, (1 / log2(3.0) + 1) / 2, accuracy: 1e-12)
        XCTAssertEqual(Set(m.keys), ["precision@1", "ndcg@1", "precision@2", "ndcg@2", "users_evaluated"])
    }

    func testRatingErrors() throws {
        let model = FixedScores(table: [], ratings: [[0, 0, 4, 4], [0, 0, 0, 3], [0, 0, 0, 0]])
        let errors = try XCTUnwrap(Evaluator.ratingErrors(model, test: tinySplit().test))
        // errors: 4−5, 4−2, 3−4 → squared 1, 4, 1.
        XCTAssertEqual(errors.rmse, 2.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(errors.mae, 4.0 / 3, accuracy: 1e-9)
        let m = Evaluator.evaluate(
            FixedScores(table: [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], ratings: model.ratings),
            split: tinySplit(), config: EvaluationConfig(ks: [1]))
        XCTAssertEqual(m["rmse"]!, 2.0.squareRoot(), accuracy: 1e-9)
    }

    func testReportJSONShape() throws {
        let split = tinySplit()
        var model = PopularityRecommender()
        let result = try Evaluator.run(&model, split: split, config: EvaluationConfig(ks: [10]))
        let report = EvaluationReport(
            dataset: .init(users: 3, items: 4, interactions: 10, train: 7, test: 3), split: "random",
            evaluationProtocol: "full", seed: 0, relevanceThreshold: 4, validation: ValidationReport(file: "u.data"),
            results: [result])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try report.jsonString().utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["dataset", "split", "protocol", "seed", "relevance_threshold", "validation", "results"])
        XCTAssertEqual(object["dataset"] as? [String: Int], ["users": 3, "items": 4, "interactions": 10, "train": 7, "test": 3])
        XCTAssertEqual(object["protocol"] as? String, "full")
        XCTAssertEqual(object["relevance_threshold"] as? Double, 4)
        let results = try XCTUnwrap(object["results"] as? [[String: Any]])
        XCTAssertEqual(Set(results[0].keys), ["policy", "metrics", "train_seconds", "eval_seconds"])
        let metrics = try XCTUnwrap(results[0]["metrics"] as? [String: Double])
        XCTAssertEqual(metrics["precision@10"], 0.1)
        XCTAssertEqual(metrics["users_evaluated"], 2)
    }
}
