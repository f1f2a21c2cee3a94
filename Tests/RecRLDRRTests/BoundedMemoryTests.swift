import Foundation
import RecRLAgents
import RecRLDRR
import RecRLData
import RecRLTensor
import RecRLTestSupport
import XCTest

/// The memory rules of online serving: bounded sessions (size and age), bounded replay
/// that grows on demand, no replay when not learning, and no publication of non-finite
/// weights; and offline training's stop on a non-finite loss.
final class BoundedMemoryTests: XCTestCase {
    /// A settable clock for the session store's time to live.
    final class TestClock: Sendable {
        let now = Locked(1000.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
        var read: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
    }

    func session(_ items: [Int]) -> DRRSession { DRRSession(window: StateWindow(size: 3, initial: items)) }

    func testSessionStoreEvictsTheLeastRecentlyUsedBeyondItsCapacity() {
        let clock = TestClock()
        let store = InMemorySessionStore(capacity: 3, timeToLive: 60, clock: clock.read)
        for (n, user) in ["a", "b", "c"].enumerated() { store.update(user: user) { $0 = session([n]) } }
        XCTAssertEqual(store.count, 3)
        XCTAssertEqual(store.session(for: "a")?.window.items, [-1, -1, 0], "reading 'a' makes 'b' the least recently used")
        store.update(user: "d") { $0 = session([3]) }
        XCTAssertEqual(store.count, 3)
        XCTAssertEqual(store.evictions, 1)
        XCTAssertNil(store.session(for: "b"), "the least recently used session went")
        XCTAssertNotNil(store.session(for: "a"))
        XCTAssertNotNil(store.session(for: "c"))
        XCTAssertNotNil(store.session(for: "d"))
        // Many more users than slots: the store stays at its capacity and counts every eviction.
        for n in 0..<1000 { store.update(user: "new\(n)") { $0 = session([n]) } }
        XCTAssertEqual(store.count, 3)
        XCTAssertEqual(store.evictions, 1001)
        XCTAssertEqual(store.session(for: "new999")?.window.items, [-1, -1, 999])
        // Removing through update is not an eviction.
        store.update(user: "new999") { $0 = nil }
        XCTAssertEqual(store.count, 2)
        XCTAssertEqual(store.evictions, 1001)
    }

    func testSessionStoreDropsSessionsUnusedForTheirTimeToLive() {
        let clock = TestClock()
        let store = InMemorySessionStore(capacity: 100, timeToLive: 60, clock: clock.read)
        store.update(user: "old") { $0 = session([1]) }
        clock.advance(30)
        store.update(user: "young") { $0 = session([2]) }
        clock.advance(29)
        XCTAssertNotNil(store.session(for: "old"), "59 s after its last use: still there, and used again now")
        clock.advance(59)
        XCTAssertEqual(store.count, 2)
        XCTAssertEqual(store.evictions, 0)
        clock.advance(1)
        // 'young' was last used 89 s ago, 'old' 60 s ago: both expired.
        XCTAssertNil(store.session(for: "young"))
        XCTAssertNil(store.session(for: "old"))
        XCTAssertEqual(store.count, 0)
        XCTAssertEqual(store.evictions, 2)
        // An expired user starts a new session.
        let existed = store.update(user: "old") { stored -> Bool in
            defer { stored = session([7]) }; return stored != nil
        }
        XCTAssertFalse(existed)
        XCTAssertEqual(store.session(for: "old")?.window.items, [-1, -1, 7])
    }

    /// A tiny trained model and manifest.
    func tiny(replayCapacity: Int = 2000, supervisedWeight: Float = 0) throws -> (DRRModel, DRRManifest) {
        var c = smallConfiguration()
        c.episodes = 5
        c.batchSize = 8
        c.replayCapacity = replayCapacity
        c.supervisedWeight = supervisedWeight
        let data = plantedDataset(users: 6)
        var r = DRRRecommender(configuration: c, seed: 3)
        try r.fit(train: data)
        let model = try XCTUnwrap(r.model)
        return (
            model,
            DRRManifest(
                policy: "drr-ave", configuration: c, seed: 3, dataFingerprint: data.fingerprint,
                userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale)
        )
    }

    /// Recommend-then-feedback rounds from `users` distinct new users.
    func feed(_ online: OnlineDRR, users: Int, prefix: String = "user", reward: Float = 1) throws {
        for n in 0..<users {
            let user = "\(prefix)\(n)"
            let item = try XCTUnwrap(online.recommend(user: user, k: 1).items.first?.id)
            try online.observe(user: user, item: item, reward: reward)
        }
    }

    func testOnlineSessionsStayWithinTheStoreAndCountEvictions() throws {
        let (model, manifest) = try tiny()
        let store = InMemorySessionStore(capacity: 10, timeToLive: 3600)
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1, learns: false, sessions: store)
        try feed(online, users: 50)
        XCTAssertEqual(store.count, 10)
        XCTAssertEqual(store.evictions, 40)
        XCTAssertEqual(online.statistics.observed, 50)
    }

    func testReplayIsBoundedAndGrowsOnDemand() throws {
        let (model, manifest) = try tiny(replayCapacity: 300)
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1)
        XCTAssertEqual(online.replayCount, 0)
        // Feedback before any ranking of the user has no previous state: no transition.
        try online.observe(user: "unranked", item: manifest.itemIDs[0], reward: 1)
        XCTAssertEqual(online.replayCount, 0)
        // Each feedback after a ranking is a transition, straight into the replay.
        try feed(online, users: 20)
        XCTAssertEqual(online.replayCount, 20, "no pending queue: transitions are in the replay before any learn call")
        for round in 0..<30 { try feed(online, users: 20, reward: round % 2 == 0 ? 1 : -1) }
        XCTAssertEqual(online.replayCount, 300, "at most the configured capacity")
        XCTAssertEqual(online.learn(updates: 2), 2)

        var buffer = PrioritizedReplayBuffer(capacity: 100_000, stateSize: 4, actionSize: 2)
        XCTAssertEqual(buffer.allocatedCapacity, 256, "storage for a few hundred transitions, not the capacity")
        let s = Tensor([1, 2, 3, 4]), a = Tensor([5, 6])
        for n in 0..<1000 { buffer.add(state: s, action: a, reward: Float(n), discount: 1, nextState: s) }
        XCTAssertEqual(buffer.allocatedCapacity, 1024)
        XCTAssertEqual(buffer.count, 1000)
        // Growth kept every stored transition: sampling draws from all of them, rewards intact.
        var batch = TransitionBatch(batchSize: 64, stateSize: 4, actionSize: 2)
        var rng = Xoshiro256StarStar(seed: 4)
        buffer.sample(into: &batch, using: &rng)
        for row in 0..<64 { XCTAssertEqual(batch.rewards[flat: row], Float(batch.indices[row])) }
        var small = UniformReplayBuffer(capacity: 5, stateSize: 4, actionSize: 2)
        XCTAssertEqual(small.allocatedCapacity, 5)
        for _ in 0..<12 { small.add(state: s, action: a, reward: 0, discount: 1, nextState: s) }
        XCTAssertEqual(small.allocatedCapacity, 5)
    }

    func testWithoutLearningThereIsNoReplayAndTransitionsAreDroppedAndCounted() throws {
        let (model, manifest) = try tiny()
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1, learns: false)
        XCTAssertFalse(online.isLearning)
        try feed(online, users: 5)
        try feed(online, users: 5)
        XCTAssertEqual(online.replayCount, 0)
        XCTAssertEqual(online.droppedTransitions, 10, "every recommend-then-feedback pair is a dropped transition")
        XCTAssertEqual(online.learn(updates: 3), 0)
        XCTAssertEqual(online.modelVersion, 1)
        // Feedback still moves the session: a liked item leaves the user's recommendations.
        let liked = try XCTUnwrap(online.recommend(user: "user0", k: 1).items.first?.id)
        try online.observe(user: "user0", item: liked, reward: 1)
        XCTAssertFalse(try online.recommend(user: "user0", k: 30).items.contains { $0.id == liked })
    }

    func testOnlineLearningNeverPublishesNonFiniteWeights() throws {
        let (model, manifest) = try tiny()
        let messages = Locked<[String]>([])
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1, diagnostic: { m in messages.withLock { $0.append(m) } })
        try feed(online, users: 10)
        // Rewards near Float's largest value are finite but square to infinity in the critic's loss.
        try feed(online, users: 10, reward: 3e38)
        try feed(online, users: 10, reward: 3e38)
        XCTAssertGreaterThanOrEqual(online.replayCount, 8)
        XCTAssertEqual(online.learn(updates: 5), 0)
        XCTAssertEqual(online.modelVersion, 1, "nothing published")
        XCTAssertEqual(online.skippedPublications, 1)
        XCTAssertNil(online.currentModel.firstNonFiniteTensor)
        XCTAssertEqual(messages.withLock { $0.count }, 1)
        XCTAssertTrue(messages.withLock { $0[0] }.contains("non-finite"), messages.withLock { $0[0] })
        let ranking = try online.recommend(user: "user1", k: 5).items
        XCTAssertTrue(ranking.allSatisfy { $0.score.isFinite })
    }

    func testOfflineTrainingStopsWhenALossIsNotFinite() throws {
        var c = smallConfiguration()
        c.episodes = 30
        c.batchSize = 8
        c.criticLearningRate = 1e30
        c.actorLearningRate = 1e30
        XCTAssertThrowsError(try DRRTrainer.train(plantedDataset(users: 6), configuration: c, seed: 2)) { error in
            guard case let .trainingDiverged(message) = error as? DRRError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("loss became"), message)
            XCTAssertTrue(message.contains("learning rates"), message)
        }
    }
}
