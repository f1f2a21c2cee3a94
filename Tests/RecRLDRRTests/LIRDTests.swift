import XCTest
import Foundation
import RecRLTensor
import RecRLData
import RecRLDRR

func smallLIRDConfiguration(listSize: Int = 3) -> LIRDConfiguration {
    var c = LIRDConfiguration(base: smallConfiguration(), listSize: listSize)
    c.base.episodeLength = 4
    return c
}

/// Two users, four ratings each, in time order: u0 rates 0…3 with 5, 1, 5, 1 and u1 rates
/// 4…7 with 1, 1, 5, 5.
func memoryLog() -> InteractionDataset {
    InteractionDataset(
        name: "memory", userMap: IDMap(rawIDs: ["u0", "u1"]), itemMap: IDMap(rawIDs: (0..<8).map { "i\($0)" }),
        users: [0, 0, 0, 0, 1, 1, 1, 1], items: [0, 1, 2, 3, 4, 5, 6, 7], ratings: [5, 1, 5, 1, 1, 1, 5, 5],
        timestamps: [1, 2, 3, 4, 1, 2, 3, 4], ratingScale: 1...5)
}

final class LIRDTests: XCTestCase {
    func testListSelectionTakesEachSlotsBestDistinctItem() {
        // Slot 0 prefers item 2, slot 1 also prefers 2 (taken) then 0 (excluded) then 3.
        let scores: [Float] = [
            1, 0, 9, 2,
            8, 0, 9, 5,
        ]
        var list = [0, 0]
        scores.withUnsafeBufferPointer { z in
            ListSelection.select(scores: z.baseAddress!, slots: 2, items: 4, isExcluded: { $0 == 0 }, into: &list)
        }
        XCTAssertEqual(list, [2, 3])
        scores.withUnsafeBufferPointer { z in
            ListSelection.select(scores: z.baseAddress!, slots: 2, items: 4, isExcluded: { $0 != 1 }, into: &list)
        }
        XCTAssertEqual(list, [1, -1], "a slot with no eligible item gets -1")
    }

    func testProjectionMapsEachRowToDistinctItems() {
        let items = try! Tensor(shape: [3, 2], scalars: [1, 0, 0, 1, 0.9, 0.1])
        var projection = NearestItemProjection(itemEmbeddings: items, scale: 2, listSize: 2)
        // Both slots point at item 0: slot 1 must take the next best, item 2.
        var actions = try! Tensor(
            shape: [2, 4],
            scalars: [
                1, 0, 1, 0,
                0, 1, 1, 0,
            ])
        projection.project(&actions)
        XCTAssertEqual(
            actions.scalars,
            [
                2, 0, 1.8, 0.2,
                0, 2, 2, 0,
            ])
    }

    /// The memory simulator's rewards on a log small enough to work out by hand (one-hot
    /// embeddings, K = 2, window 1).
    func testMemorySimulatorRewardsAreSimilarityWeightedLoggedRewards() throws {
        var c = LIRDConfiguration(base: smallConfiguration(), listSize: 2)
        c.base.windowSize = 1
        c.base.episodeLength = 3
        c.memoryNeighbours = nil
        var identity = Tensor(zeros: [8, 8])
        for i in 0..<8 { identity[flat: i * 9] = 1 }
        var sim = try MemoryListSimulator(
            itemEmbeddings: identity, histories: UserHistories(memoryLog()),
            rewardScale: RewardScale(minimum: 1, maximum: 5), configuration: c, seed: 1)
        // Memories: u0 ([], [0,1]) → [1, −1]; u0 ([0], [2,3]) → [1, −1]; u1 ([], [4,5]) → [−1, −1];
        // u1 ([], [6,7]) → [1, 1].
        XCTAssertEqual(sim.memoryCount, 4)
        // Same state and list as the second memory: similarity 1 there, 0 elsewhere.
        XCTAssertEqual(sim.rewards(window: StateWindow(size: 1, initial: [0]), list: [2, 3]), [1, -1])
        // State as memory 2 (0.5), list as memory 4 (0.5): the mean of their rewards.
        let mixed = sim.rewards(window: StateWindow(size: 1, initial: [0]), list: [6, 7])
        XCTAssertEqual(mixed[0], 1, accuracy: 1e-6)
        XCTAssertEqual(mixed[1], 0, accuracy: 1e-6)
        // Nothing similar: 0.
        XCTAssertEqual(sim.rewards(window: StateWindow(size: 1, initial: [5]), list: [3, 2]), [0, 0])
        // α = 1 looks at states only: every memory with the empty state scores 0, memory 2 scores 1.
        c.similarityAlpha = 1
        var stateOnly = try MemoryListSimulator(
            itemEmbeddings: identity, histories: UserHistories(memoryLog()),
            rewardScale: RewardScale(minimum: 1, maximum: 5), configuration: c, seed: 1)
        XCTAssertEqual(stateOnly.rewards(window: StateWindow(size: 1, initial: [0]), list: [6, 7]), [1, -1])
        // Episodes: distinct lists, positives enter the window, three lists then finished.
        sim.reset()
        XCTAssertFalse(sim.isFinished)
        let r = sim.recommend([2, 3])
        XCTAssertEqual(r.count, 2)
        XCTAssertFalse(sim.isCandidate(2))
        _ = sim.recommend([4, 5]); _ = sim.recommend([6, 7])
        XCTAssertTrue(sim.isFinished)
    }

    func testLoggedListSimulatorAnswersEachItemAsTheItemSimulator() throws {
        let data = memoryLog()
        var base = smallConfiguration()
        base.windowSize = 1
        base.episodeLength = 2
        let e = Tensor(zeros: [8, 8]), u = Tensor(zeros: [2, 8])
        let item = try OfflineSimulator(
            userEmbeddings: u, itemEmbeddings: e, histories: UserHistories(data),
            predictedRating: { _, _ in 3 }, rewardScale: RewardScale(minimum: 1, maximum: 5),
            configuration: base, seed: 4)
        var env = LoggedListSimulator(item)
        env.reset()
        let user = env.user, items = user == 0 ? [1, 3] : [6, 7]
        let expected: [Float] = user == 0 ? [-1, -1] : [1, 1]
        XCTAssertEqual(env.recommend(items), expected)
        XCTAssertTrue(env.isFinished)
    }

    func testConfigurationPresetsValidationAndCoding() throws {
        let paper = LIRDConfiguration.paper
        XCTAssertEqual(paper.listSize, 4)
        XCTAssertEqual(paper.similarityAlpha, 0.5)
        XCTAssertEqual(paper.simulator, .memory)
        XCTAssertNil(paper.memoryNeighbours)
        XCTAssertEqual(paper.base.variant, .n)
        XCTAssertEqual(paper.base.supervisedWeight, 0)
        let decoded = try JSONDecoder().decode(LIRDConfiguration.self, from: JSONEncoder().encode(paper))
        XCTAssertEqual(decoded, paper)
        XCTAssertEqual(try JSONDecoder().decode(LIRDConfiguration.self, from: Data("{}".utf8)), LIRDConfiguration())
        XCTAssertNil(try JSONDecoder().decode(LIRDConfiguration.self, from: Data(#"{"memoryNeighbours": null}"#.utf8)).memoryNeighbours)
        var bad = LIRDConfiguration()
        bad.listSize = 0
        XCTAssertThrowsError(try bad.validate())
        bad = LIRDConfiguration()
        bad.similarityAlpha = 2
        XCTAssertThrowsError(try bad.validate())
        XCTAssertEqual(LIRDConfiguration().listReward([1, 1, -1]), 1 + 0.9 - 0.81, accuracy: 1e-6)
    }

    /// LIRD learns the planted preference (items 0..<10 liked by everyone): its lists hold
    /// them far more often than chance, the list is distinct and the model round-trips
    /// through the store.
    func testTrainingLearnsPlantedPreferenceAndRoundTrips() throws {
        let data = plantedDataset()
        var recommender = DRRRecommender(lird: smallLIRDConfiguration(), seed: 7)
        XCTAssertEqual(recommender.name, "lird")
        try recommender.fit(train: data)
        let model = try XCTUnwrap(recommender.model)
        XCTAssertEqual(model.listSize, 3)
        XCTAssertEqual(model.learner.actionSize, 3 * 8)
        var hits = 0, total = 0
        for u in 0..<data.userCount {
            let list = model.list(user: u, window: recommender.finalWindow(user: u))
            XCTAssertEqual(Set(list).count, 3)
            hits += list.filter { $0 < 10 }.count
            total += 3
        }
        // Chance is 10/60 ≈ 0.17.
        XCTAssertGreaterThan(Double(hits) / Double(total), 0.5)
        // The ranking starts with the list.
        var scores = [Float](repeating: 0, count: data.itemCount)
        recommender.scores(forUser: 0, into: &scores)
        let top = (0..<data.itemCount).sorted { scores[$0] > scores[$1] }.prefix(3)
        XCTAssertEqual(Array(top), model.list(user: 0, window: recommender.finalWindow(user: 0)))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lird-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var manifest = DRRManifest(
            policy: "lird", configuration: model.configuration, seed: 7, dataFingerprint: data.fingerprint,
            userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale)
        manifest.lird = recommender.lird
        try DRRModelStore.save(model, manifest: manifest, to: dir)
        let (loaded, loadedManifest) = try DRRModelStore.load(from: dir)
        XCTAssertEqual(loadedManifest.lird, recommender.lird)
        XCTAssertEqual(loaded.listSize, 3)
        let window = recommender.finalWindow(user: 2)
        XCTAssertEqual(loaded.list(user: 2, window: window), model.list(user: 2, window: window))
        // A DRR manifest cannot load LIRD weights (the actor is K times wider).
        manifest.lird = nil
        try DRRModelStore.save(model, manifest: manifest, to: dir)
        XCTAssertThrowsError(try DRRModelStore.load(from: dir))
    }

    func testMemorySimulatorTrainingRunsAndIsSeeded() throws {
        var c = smallLIRDConfiguration(listSize: 2)
        c.simulator = .memory
        c.base.episodes = 30
        let data = plantedDataset(users: 12)
        let a = try LIRDTrainer.run(data, configuration: c, seed: 3, parallelism: 1)
        let b = try LIRDTrainer.run(data, configuration: c, seed: 3, parallelism: 1)
        XCTAssertEqual(a.curve, b.curve)
        XCTAssertEqual(a.model.learner.actor.namedParameters(), b.model.learner.actor.namedParameters())
        XCTAssertGreaterThan(a.curve.last!.meanCriticLoss, 0, "the critic was trained")
    }
}
