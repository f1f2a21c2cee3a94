import Foundation
import RecRLDRR
import RecRLData
import RecRLTensor
import XCTest

/// LIRD learning online (``OnlineDRR`` with a list model): feedback per item and position
/// builds one list transition, the shared learning step updates and publishes, and a
/// non-finite batch is never published.
final class OnlineLIRDTests: XCTestCase {
    /// A tiny LIRD (lists of 3, Γ = 0.5, batches of 8) trained on a planted data set, and
    /// its manifest.
    func tinyLIRD() throws -> (model: DRRModel, manifest: DRRManifest) {
        var lird = smallLIRDConfiguration(listSize: 3)
        lird.base.episodes = 20
        lird.base.batchSize = 8
        lird.positionDiscount = 0.5
        let data = plantedDataset(users: 10)
        var r = DRRRecommender(lird: lird, seed: 5)
        try r.fit(train: data)
        let model = try XCTUnwrap(r.model)
        var manifest = DRRManifest(
            policy: "lird", configuration: model.configuration, seed: 5, dataFingerprint: data.fingerprint,
            userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale)
        manifest.lird = lird
        return (model, manifest)
    }

    /// Serves every user in `users` one list and answers each of its items with `reward`.
    func feedLists(_ online: OnlineDRR, users: Range<Int>, reward: (Int) -> Float) throws {
        for u in users {
            let list = try online.recommend(user: "u\(u)", k: 3).items
            for (position, item) in list.enumerated() {
                try online.observe(user: "u\(u)", item: item.id, reward: reward(u + position), position: position)
            }
        }
    }

    func testListFeedbackBuildsOneDiscountedTransition() throws {
        let (model, manifest) = try tinyLIRD()
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1)
        XCTAssertTrue(online.isLearning)
        XCTAssertEqual(online.positionDiscount, 0.5)
        let list = try online.recommend(user: "u1", k: 3).items.map(\.id)
        XCTAssertEqual(list.count, 3)
        let pending = try XCTUnwrap(online.sessions.session(for: "u1")?.pendingList)
        XCTAssertEqual(pending.items.map { manifest.itemIDs[$0] }, list)

        // The third item shown first (position 0), the second at its slot (Γ^1).
        try online.observe(user: "u1", item: list[2], reward: -1, position: 0)
        try online.observe(user: "u1", item: list[1], reward: 1)
        let partial = try XCTUnwrap(online.sessions.session(for: "u1")?.pendingList)
        XCTAssertEqual(partial.discountedRewards, [nil, 0.5, -1])
        XCTAssertEqual(partial.listReward, -0.5)
        XCTAssertEqual(online.replayCount, 0, "an incomplete list is not a transition yet")
        XCTAssertThrowsError(try online.observe(user: "u1", item: list[0], reward: 1, position: -1)) { error in
            XCTAssertEqual(error as? OnlineError, .invalidPosition(-1))
        }
        // Feedback on the last slot completes the list: one transition, and positives entered the window.
        try online.observe(user: "u1", item: list[0], reward: 0.5)
        XCTAssertEqual(online.replayCount, 1)
        XCTAssertNil(try online.sessions.session(for: "u1")?.pendingList)
        XCTAssertEqual(online.sessionItems(user: "u1"), [list[1], list[0]])

        // A list with some feedback is closed by the next list; a list without any is not a transition.
        let second = try online.recommend(user: "u1", k: 3).items.map(\.id)
        XCTAssertTrue(Set(second).isDisjoint(with: [list[0], list[1]]), "liked items are in the window, not recommended")
        try online.observe(user: "u1", item: second[0], reward: 1)
        _ = try online.recommend(user: "u1", k: 1)
        XCTAssertEqual(online.replayCount, 2)
        _ = try online.recommend(user: "u1", k: 3)
        XCTAssertEqual(online.replayCount, 2)
        // Feedback on an item outside the pending list only moves the window.
        let pendingItems = try XCTUnwrap(online.sessions.session(for: "u1")?.pendingList).items.map { manifest.itemIDs[$0] }
        let outside = try XCTUnwrap(manifest.itemIDs.first { !pendingItems.contains($0) && !online.sessionItems(user: "u1").contains($0) })
        try online.observe(user: "u1", item: outside, reward: 1)
        XCTAssertEqual(online.sessionItems(user: "u1").last, outside)
        XCTAssertEqual(online.statistics.observed, 5)
    }

    /// A learner replaying the event log (``OnlineDRR/observeLogged(user:item:reward:position:)``)
    /// rebuilds list transitions from the logged positions: the same lists answered through
    /// the log fill the replay exactly as when they were served (the same seeded updates give
    /// the same weights); a list cut off by a repeated position is dropped and counted, an
    /// event without a position is counted as before, a position past the list only moves
    /// the window.
    func testLoggedPositionsRebuildTheServedListTransitions() throws {
        let (model, manifest) = try tinyLIRD()
        let served = OnlineDRR(model: model, manifest: manifest, seed: 1)
        let logged = OnlineDRR(model: model, manifest: manifest, seed: 1)
        for u in 0..<10 {
            let list = try served.recommend(user: "u\(u)", k: 3).items.map(\.id)
            for (position, item) in list.enumerated() {
                let reward: Float = (u + position) % 3 == 0 ? 1 : -0.5
                try served.observe(user: "u\(u)", item: item, reward: reward, position: position)
                try logged.observeLogged(user: "u\(u)", item: item, reward: reward, position: position)
            }
        }
        XCTAssertEqual(served.replayCount, 10)
        XCTAssertEqual(logged.replayCount, 10)
        XCTAssertEqual(logged.droppedTransitions, 0)
        XCTAssertEqual(served.learn(updates: 3), 3)
        XCTAssertEqual(logged.learn(updates: 3), 3)
        XCTAssertEqual(logged.currentModel.learner.checkpointTensors(), served.currentModel.learner.checkpointTensors())
        XCTAssertNotEqual(logged.currentModel.learner.checkpointTensors(), model.learner.checkpointTensors())

        let ids = manifest.itemIDs
        // Positions 0 and 1, then 0 again: the first list is cut off (dropped); the second completes.
        for (item, position) in [(0, 0), (1, 1), (2, 0), (3, 1), (4, 2)] {
            try logged.observeLogged(user: "v1", item: ids[item], reward: 1, position: position)
        }
        XCTAssertEqual(logged.droppedTransitions, 1)
        XCTAssertEqual(logged.replayCount, 11)
        // Without a position a list model's logged event is dropped (as before positions were logged).
        try logged.observeLogged(user: "v2", item: ids[5], reward: 1)
        XCTAssertEqual(logged.droppedTransitions, 2)
        // A position past the list moves the window only.
        try logged.observeLogged(user: "v3", item: ids[6], reward: 1, position: 7)
        XCTAssertEqual(logged.droppedTransitions, 2)
        XCTAssertEqual(logged.sessionItems(user: "v3"), [ids[6]])
        XCTAssertThrowsError(try logged.observeLogged(user: "v3", item: ids[6], reward: 1, position: -1))
    }

    func testOnlineUpdatesChangeTheWeightsAndStayFinite() throws {
        let (model, manifest) = try tinyLIRD()
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1)
        try feedLists(online, users: 0..<10) { $0 % 2 == 0 ? 1 : -1 }
        XCTAssertEqual(online.replayCount, 10)
        XCTAssertEqual(online.learn(updates: 5), 5)
        XCTAssertEqual(online.modelVersion, 2)
        let learned = online.currentModel
        XCTAssertNil(learned.firstNonFiniteTensor)
        XCTAssertNotEqual(learned.learner.actor.namedParameters(), model.learner.actor.namedParameters())
        XCTAssertEqual(
            learned.stateModule.namedParameters(), model.stateModule.namedParameters(),
            "online learning leaves the state module as trained offline by default")
        // The published model serves lists of distinct items.
        let list = try online.recommend(user: "u3", k: 3).items
        XCTAssertEqual(Set(list.map(\.id)).count, 3)
        XCTAssertTrue(list.allSatisfy { $0.score.isFinite })
    }

    func testNonFiniteBatchIsNotPublished() throws {
        let (model, manifest) = try tinyLIRD()
        let messages = Locked<[String]>([])
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1, diagnostic: { m in messages.withLock { $0.append(m) } })
        // Finite list rewards (about 1.75e38) that square to infinity in the critic's loss.
        try feedLists(online, users: 0..<10) { _ in 1e38 }
        XCTAssertEqual(online.replayCount, 10)
        XCTAssertEqual(online.learn(updates: 5), 0)
        XCTAssertEqual(online.modelVersion, 1, "nothing published")
        XCTAssertEqual(online.skippedPublications, 1)
        XCTAssertNil(online.currentModel.firstNonFiniteTensor)
        XCTAssertTrue(messages.withLock { $0.first ?? "" }.contains("non-finite"))
        // A list reward that overflows is not stored at all.
        try feedLists(online, users: 0..<2) { _ in 3e38 }
        XCTAssertEqual(online.replayCount, 10)
        XCTAssertEqual(online.droppedTransitions, 2)
    }

    func testWithoutLearningListTransitionsAreDropped() throws {
        let (model, manifest) = try tinyLIRD()
        let online = OnlineDRR(model: model, manifest: manifest, seed: 1, learns: false)
        XCTAssertFalse(online.isLearning)
        try feedLists(online, users: 0..<4) { _ in 1 }
        XCTAssertEqual(online.droppedTransitions, 4)
        XCTAssertEqual(online.learn(updates: 3), 0)
    }
}
