import XCTest
import Foundation
import RecRLTensor
import RecRLData
import RecRLAgents
import RecRLEnvironmentTesting
import RecRLRecommenders
import RecRLDRR
import RecRLTestSupport

/// A planted world: every user rates items 0..<10 with 5 and a random sample of the
/// rest with 1 or 2; each user has 30 ratings in random time order.
func plantedDataset(users: Int = 30, items: Int = 60, seed: UInt64 = 1) -> InteractionDataset {
    var rng = testRNG(seed)
    var us: [Int32] = [], its: [Int32] = [], rs: [Float] = [], ts: [Int64] = []
    for u in 0..<users {
        var chosen = Set<Int>()
        while chosen.count < 30 { chosen.insert(rng.nextInt(below: items)) }
        for (n, i) in chosen.sorted().enumerated() {
            us.append(Int32(u)); its.append(Int32(i))
            rs.append(i < 10 ? 5 : Float(1 + rng.nextInt(below: 2)))
            ts.append(Int64(1000 * u + (n * 7919) % 30))
        }
    }
    return InteractionDataset(
        name: "planted", userMap: IDMap(rawIDs: (0..<users).map { "u\($0)" }),
        itemMap: IDMap(rawIDs: (0..<items).map { "i\($0)" }),
        users: us, items: its, ratings: rs, timestamps: ts, ratingScale: 1...5)
}

func smallConfiguration(_ variant: DRRStateRepresentation.Variant = .ave) -> DRRConfiguration {
    var c = DRRConfiguration()
    c.variant = variant
    c.embeddingSize = 8
    c.windowSize = 3
    c.hiddenSize = 32
    c.episodes = 150
    c.warmupTransitions = 100
    c.batchSize = 16
    c.replayCapacity = 5000
    c.embeddingIterations = 5
    return c
}

final class DRRTests: XCTestCase {
    func testRewardScaleMapping() {
        let five = RewardScale(minimum: 1, maximum: 5)
        XCTAssertEqual(five.reward(forRating: 5), 1)
        XCTAssertEqual(five.reward(forRating: 3), 0)
        XCTAssertEqual(five.reward(forRating: 1), -1)
        XCTAssertEqual(five.reward(forRating: 4), 0.5)
        let half = RewardScale(minimum: 0.5, maximum: 5)
        XCTAssertEqual(half.reward(forRating: 5), 1)
        XCTAssertEqual(half.reward(forRating: 0.5), -1)
        XCTAssertEqual(half.reward(forRating: 2.75), 0)
    }

    func testStateWindowAndHistories() {
        var w = StateWindow(size: 3, initial: [7])
        XCTAssertEqual(w.items, [-1, -1, 7])
        w.push(8); w.push(9); w.push(10)
        XCTAssertEqual(w.items, [8, 9, 10])
        XCTAssertEqual(StateWindow(size: 2, initial: [1, 2, 3]).items, [2, 3])
        let d = InteractionDataset(
            name: "t", userMap: IDMap(rawIDs: ["a"]), itemMap: IDMap(rawIDs: ["x", "y", "z"]),
            users: [0, 0, 0], items: [2, 0, 1], ratings: [5, 4, 2], timestamps: [30, 10, 20], ratingScale: 1...5)
        let h = UserHistories(d)
        XCTAssertEqual(h.items[0], [0, 1, 2], "time order")
        XCTAssertEqual(h.positives(user: 0, threshold: 3), [0, 2])
        XCTAssertEqual(h.rating(user: 0, item: 1), 2)
        XCTAssertNil(h.rating(user: 0, item: 7))
    }

    func testOfflineSimulatorConformsAndFollowsThePaper() throws {
        let data = plantedDataset()
        var rng = testRNG(3)
        let k = 8
        var c = smallConfiguration()
        c.unratedReward = nil  // the paper's simulator: unrated items get the reward model's rating
        let users = Tensor(randomNormal: [data.userCount, k], using: &rng)
        let items = Tensor(randomNormal: [data.itemCount, k], using: &rng)
        let env = try OfflineSimulator(
            userEmbeddings: users, itemEmbeddings: items, histories: UserHistories(data),
            predictedRating: { _, _ in 2 }, rewardScale: RewardScale(minimum: 1, maximum: 5),
            configuration: c, seed: 4)
        XCTAssertEqual(EnvironmentConformance.check(env, seed: 5), [])
        var sim = env
        _ = sim.reset()
        let user = sim.user
        var steps = 0
        // Items 0..<10 are rated 5 by everyone who rated them; unrated items get the model's 2.
        let liked = try XCTUnwrap((0..<10).first { sim.isCandidate($0) })
        var step = sim.recommend(liked)
        steps += 1
        let rated = UserHistories(data).rating(user: user, item: liked)
        XCTAssertEqual(step.reward, rated == nil ? -0.5 : 1)
        XCTAssertEqual(step.discount, 1)
        if rated != nil { XCTAssertEqual(sim.window.items.last, liked, "a positive item enters the window") }
        XCTAssertFalse(sim.isCandidate(liked), "no repeats within an episode")
        while !step.isLast { step = sim.recommend(sim.bestCandidate(for: Tensor(shape: [k], repeating: 0.5))); steps += 1 }
        XCTAssertEqual(steps, c.episodeLength)
        XCTAssertEqual(step.discount, 1, "truncation keeps the discount")
    }

    /// DRR learns the planted preference: trained briefly, it ranks the liked items
    /// (0..<10) above the rest far better than chance.
    func testTrainingLearnsPlantedPreference() throws {
        let data = plantedDataset()
        var recommender = DRRRecommender(configuration: smallConfiguration(), seed: 7)
        try recommender.fit(train: data)
        XCTAssertFalse(recommender.curve.isEmpty)
        var scores = [Float](repeating: 0, count: data.itemCount)
        var hits = 0, total = 0
        for u in 0..<data.userCount {
            recommender.scores(forUser: u, into: &scores)
            let top = (0..<data.itemCount).sorted { scores[$0] > scores[$1] }.prefix(10)
            hits += top.filter { $0 < 10 }.count
            total += 10
        }
        // Chance is 10/60 ≈ 0.17.
        XCTAssertGreaterThan(Double(hits) / Double(total), 0.5)
    }

    func testSeededTrainingIsReproducible() throws {
        var c = smallConfiguration()
        c.episodes = 40
        let data = plantedDataset(users: 12)
        var a = DRRRecommender(configuration: c, seed: 3), b = DRRRecommender(configuration: c, seed: 3)
        try a.fit(train: data)
        try b.fit(train: data)
        XCTAssertEqual(a.model?.learner.actor.namedParameters(), b.model?.learner.actor.namedParameters())
        XCTAssertEqual(a.curve, b.curve)
    }

    func testSaveLoadRoundTripAndErrors() throws {
        var c = smallConfiguration()
        c.episodes = 20
        let data = plantedDataset(users: 10)
        var r = DRRRecommender(configuration: c, seed: 2)
        try r.fit(train: data)
        let model = try XCTUnwrap(r.model)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("drr-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = DRRManifest(
            policy: "drr-ave", configuration: c, seed: 2, dataFingerprint: data.fingerprint,
            userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale)
        try DRRModelStore.save(model, manifest: manifest, to: dir)
        let (loaded, m) = try DRRModelStore.load(from: dir)
        var expected = manifest
        expected.weightsSHA256 = m.weightsSHA256
        XCTAssertEqual(m, expected)
        XCTAssertEqual(m.weightsSHA256?.count, 64)
        let w = StateWindow(size: 3, initial: [1, 2])
        XCTAssertEqual(loaded.scores(user: 4, window: w), model.scores(user: 4, window: w))
        XCTAssertEqual(loaded.learner.targetActor.namedParameters(), model.learner.targetActor.namedParameters())
        XCTAssertThrowsError(try DRRModelStore.load(from: dir.appendingPathComponent("missing")))
        try Data("{}".utf8).write(to: dir.appendingPathComponent(DRRModelStore.manifestFile))
        XCTAssertThrowsError(try DRRModelStore.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("not a DRR manifest"), "\(error)")
        }
    }

    func testSequentialRankingUsesFeedback() throws {
        var c = smallConfiguration()
        c.episodes = 10
        let data = plantedDataset(users: 10)
        var r = DRRRecommender(configuration: c, seed: 2)
        try r.fit(train: data)
        let ranked = r.rankSequentially(user: 0, candidates: [3, 40, 5, 41], rating: { $0 < 10 ? 5 : 1 })
        XCTAssertEqual(Set(ranked), [3, 40, 5, 41], "a permutation of the candidates")
    }

    func testInvalidConfigurationIsRejected() {
        var c = DRRConfiguration()
        c.gamma = 2
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("gamma")) }
        var recommender = DRRRecommender(configuration: c)
        XCTAssertThrowsError(try recommender.fit(train: plantedDataset(users: 3)))
    }
}
