import XCTest
import Foundation
import RecRLTensor
import RecRLData
import RecRLAgents
import RecRLRecommenders
import RecRLDRR
import RecRLTestSupport

/// A sequence world: `items` items on a cycle; each user rates (5 stars) a run of
/// `length` consecutive items i, i+1, … (mod `items`) in that time order, from a random start.
func successorDataset(users: Int = 60, items: Int = 16, length: Int = 8, seed: UInt64 = 5) -> InteractionDataset {
    var rng = testRNG(seed)
    var us: [Int32] = [], its: [Int32] = [], rs: [Float] = [], ts: [Int64] = []
    for u in 0..<users {
        let start = rng.nextInt(below: items)
        for t in 0..<length {
            us.append(Int32(u)); its.append(Int32((start + t) % items)); rs.append(5); ts.append(Int64(100 * u + t))
        }
    }
    return InteractionDataset(
        name: "successor", userMap: IDMap(rawIDs: (0..<users).map { "u\($0)" }),
        itemMap: IDMap(rawIDs: (0..<items).map { "i\($0)" }),
        users: us, items: its, ratings: rs, timestamps: ts, ratingScale: 1...5)
}

final class SupervisedDRRTests: XCTestCase {
    /// The cross-entropy's value against a direct computation and its gradient against
    /// finite differences.
    func testNextItemSoftmaxLossAndGradient() {
        var rng = testRNG(21)
        let b = 3, k = 4, m = 6
        let actions = Tensor(randomUniform: [b, k], in: -1...1, using: &rng)
        let items = Tensor(randomNormal: [m, k], using: &rng)
        let targets: [Int32] = [0, 5, 2]
        var logits = Tensor(zeros: [0]), gradient = Tensor(zeros: [0])
        let weight: Float = 2.5
        func direct(_ a: Tensor) -> Double {
            var total = 0.0
            for r in 0..<b {
                let z = (0..<m).map { j in (0..<k).reduce(0.0) { $0 + Double(a[r, $1]) * Double(items[j, $1]) } }
                let top = z.max()!
                let logSum = log(z.reduce(0.0) { $0 + exp($1 - top) }) + top
                total += logSum - z[Int(targets[r])]
            }
            return Double(weight) * total / Double(b)
        }
        let loss = NextItemSoftmax.lossAndGradient(
            actions: actions, itemEmbeddings: items, targets: targets, weight: weight,
            logits: &logits, gradient: &gradient)
        XCTAssertEqual(Double(loss), direct(actions), accuracy: 1e-4)
        XCTAssertEqual(gradient.shape, [b, k])
        assertClose(gradient, numericalGradient(of: direct, at: actions), absolute: 2e-3, relative: 2e-2)
    }

    func testNearestItemProjectionPicksTheBestScoringItem() {
        let items = Tensor([1, 0, 0, 1, -1, -1, 0.5, 0.5]).reshaped([4, 2])
        var projection = NearestItemProjection(itemEmbeddings: items, scale: 2)
        var actions = Tensor([0.9, 0.1, -0.2, -0.3, 0.4, 0.5, 0, 0]).reshaped([4, 2])
        projection.project(&actions)
        // Best scores: row 0 → item 0 (0.9), row 1 → item 2 (0.5), row 2 → item 1 (0.5 > 0.45 > 0.4).
        XCTAssertEqual(actions.scalars, [2, 0, -2, -2, 0, 2, 2, 0], "row 3 ties at 0 → the lowest index")
    }

    func testStateWindowReset() {
        var w = StateWindow(size: 3, initial: [4, 5, 6])
        w.reset(to: [Int32(9)])
        XCTAssertEqual(w.items, [-1, -1, 9])
        w.reset(to: [1, 2, 3, 4])
        XCTAssertEqual(w.items, [2, 3, 4])
        w.reset(to: [Int]())
        XCTAssertEqual(w.items, [-1, -1, -1])
    }

    /// A manifest written before a field existed still loads: missing fields keep their
    /// defaults; fields can be set by name with type errors reported.
    func testConfigurationDecodingAndOverrides() throws {
        var c = DRRConfiguration()
        c.maxGradientNorm = nil
        c.supervisedWeight = 3
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any])
        XCTAssertNil(object["maxGradientNorm"], "nil is omitted")
        object.removeValue(forKey: "supervisedWeight")
        object.removeValue(forKey: "projectsTargetActions")
        let old = try JSONDecoder().decode(DRRConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.supervisedWeight, DRRConfiguration().supervisedWeight)
        XCTAssertEqual(old.projectsTargetActions, DRRConfiguration().projectsTargetActions)
        XCTAssertNil(old.maxGradientNorm, "an omitted optional stays nil")
        XCTAssertEqual(try JSONDecoder().decode(DRRConfiguration.self, from: JSONEncoder().encode(c)), c)

        let set = try DRRConfiguration().applying(overrides: [
            "actorLearningRate=3e-4", "embeddingMethod=explicit",
            "unratedReward=null", "maxGradientNorm=0.5", "hiddenSize=64",
        ])
        XCTAssertEqual(set.actorLearningRate, 3e-4)
        XCTAssertEqual(set.embeddingMethod, .explicit)
        XCTAssertNil(set.unratedReward)
        XCTAssertEqual(set.maxGradientNorm, 0.5)
        XCTAssertThrowsError(try DRRConfiguration().applying(overrides: ["unratedReward=null"]), "implicit embeddings need a fixed reward")
        XCTAssertEqual(set.hiddenSize, 64)
        XCTAssertThrowsError(try DRRConfiguration().applying(overrides: ["noSuchField=1"])) { error in
            XCTAssertTrue("\(error)".contains("noSuchField"), "\(error)")
        }
        XCTAssertThrowsError(try DRRConfiguration().applying(overrides: ["hiddenSize=wide"]))
        XCTAssertThrowsError(try DRRConfiguration().applying(overrides: ["gamma=2"]), "validated")
        XCTAssertThrowsError(try DRRConfiguration().applying(overrides: ["gamma"]))
    }

    /// With the next-item objective DRR learns "what follows": ranked from the end of a
    /// user's run, the successor of the last item comes first far more often than by chance
    /// (1/16) and than without the objective.
    func testSupervisedObjectiveLearnsSuccessors() throws {
        let data = successorDataset()
        func hitRate(supervisedWeight: Float) throws -> Double {
            var c = smallConfiguration()
            c.embeddingSize = 16
            c.episodes = 120
            c.embeddingMethod = .implicit
            c.unratedReward = 0
            c.actorLearningRate = 1e-3
            c.maxGradientNorm = nil
            c.supervisedWeight = supervisedWeight
            var recommender = DRRRecommender(configuration: c, seed: 2)
            try recommender.fit(train: data)
            let histories = UserHistories(data)
            var hits = 0
            var scores = [Float](repeating: 0, count: data.itemCount)
            for u in 0..<data.userCount {
                recommender.scores(forUser: u, into: &scores)
                let seen = Set(histories.items[u].map(Int.init))
                let successor = (Int(histories.items[u].last!) + 1) % data.itemCount
                let best = (0..<data.itemCount).filter { !seen.contains($0) }.max { scores[$0] < scores[$1] }
                if best == successor { hits += 1 }
            }
            return Double(hits) / Double(data.userCount)
        }
        let supervised = try hitRate(supervisedWeight: 100)
        let pure = try hitRate(supervisedWeight: 0)
        print("successor hit rate: supervised \(supervised), pure DDPG \(pure)")
        XCTAssertGreaterThan(supervised, 0.5, "pure DDPG: \(pure)")
        XCTAssertGreaterThan(supervised, pure + 0.2)
    }

    /// A missing `supervisedTarget` (a model saved before it existed) decodes as `.next`; it
    /// can be set by name.
    func testSupervisedTargetDecodesAndOverrides() throws {
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(DRRConfiguration())) as? [String: Any])
        XCTAssertEqual(object["supervisedTarget"] as? String, "next")
        object.removeValue(forKey: "supervisedTarget")
        XCTAssertEqual(try JSONDecoder().decode(DRRConfiguration.self, from: JSONSerialization.data(withJSONObject: object)).supervisedTarget, .next)
        XCTAssertEqual(try DRRConfiguration().applying(overrides: ["supervisedTarget=any"]).supervisedTarget, .any)
        XCTAssertThrowsError(try DRRConfiguration().applying(overrides: ["supervisedTarget=later"]))
    }

    /// The successor world with one item missing from the middle of every user's run (the
    /// 4th), as a random split holds out items from anywhere in a history. Ranked from the end
    /// of the run, `.next` targets put the successor of the last item first; `.any` targets
    /// (positives outside the window, before it too) rank the missing middle item above the
    /// unseen items outside the run far more often.
    func testAnyTargetRanksItemsFromInsideTheHistory() throws {
        let full = successorDataset()
        let histories = UserHistories(full)
        let keep = full.users.indices.filter { row in histories.items[Int(full.users[row])].firstIndex(of: full.items[row]) != 3 }
        let data = InteractionDataset(
            name: "gaps", userMap: full.userMap, itemMap: full.itemMap, users: keep.map { full.users[$0] },
            items: keep.map { full.items[$0] }, ratings: keep.map { full.ratings[$0] }, timestamps: keep.map { full.timestamps[$0] },
            ratingScale: 1...5)
        func rates(_ target: DRRConfiguration.SupervisedTarget) throws -> (gap: Double, successor: Double) {
            var c = smallConfiguration()
            c.embeddingSize = 16
            c.episodes = 120
            c.actorLearningRate = 1e-3
            c.supervisedTarget = target
            var recommender = DRRRecommender(configuration: c, seed: 2)
            try recommender.fit(train: data)
            var gaps = 0, successors = 0
            var scores = [Float](repeating: 0, count: data.itemCount)
            for u in 0..<data.userCount {
                recommender.scores(forUser: u, into: &scores)
                let run = histories.items[u].map(Int.init)
                let best = (0..<data.itemCount).filter { $0 == run[3] || !run.contains($0) }.max { scores[$0] < scores[$1] }
                if best == run[3] { gaps += 1 }
                if best == (run.last! + 1) % data.itemCount { successors += 1 }
            }
            return (Double(gaps) / Double(data.userCount), Double(successors) / Double(data.userCount))
        }
        let any = try rates(.any), next = try rates(.next)
        print("gap-world top unseen item: any \(any), next \(next)")
        XCTAssertGreaterThan(any.gap, next.gap + 0.3)
        XCTAssertGreaterThan(next.successor, any.successor + 0.3)
    }

    /// `recrl evaluate --tune`'s DRR grid: the two targets × the base item-table rate and 0
    /// around a base configuration, `.next` and the base rate first; a base rate of 0 leaves
    /// the two targets.
    func testTuningGridSearchesTheSupervisedTargetAndTheItemTable() throws {
        var base = smallConfiguration()
        base.windowSize = 7
        base.itemEmbeddingLearningRate = 2e-4
        let grid = DRRTuning.grid(around: base, seed: 4)
        let rate = Double(Float(2e-4))
        XCTAssertEqual(
            grid.map(\.parameters),
            [
                ["supervised_target_any": 0, "item_embedding_learning_rate": rate],
                ["supervised_target_any": 0, "item_embedding_learning_rate": 0],
                ["supervised_target_any": 1, "item_embedding_learning_rate": rate],
                ["supervised_target_any": 1, "item_embedding_learning_rate": 0],
            ])
        let made = try grid.map { try XCTUnwrap($0.make() as? DRRRecommender) }
        XCTAssertEqual(made.map(\.configuration.supervisedTarget), [.next, .next, .any, .any])
        XCTAssertEqual(made.map(\.configuration.itemEmbeddingLearningRate), [2e-4, 0, 2e-4, 0])
        XCTAssertEqual(made.map(\.configuration.windowSize), [7, 7, 7, 7])
        XCTAssertEqual(made.map(\.seed), [4, 4, 4, 4])
        XCTAssertEqual(made.map(\.name), ["drr-ave", "drr-ave", "drr-ave", "drr-ave"])
        base.itemEmbeddingLearningRate = 0
        XCTAssertEqual(
            DRRTuning.grid(around: base, seed: 4).map(\.parameters),
            [
                ["supervised_target_any": 0, "item_embedding_learning_rate": 0],
                ["supervised_target_any": 1, "item_embedding_learning_rate": 0],
            ])
    }
}
