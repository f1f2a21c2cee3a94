import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLDRR
import RecRLEvaluation
import RecRLServer
import RecRLTensor
import Testing

/// Trains a tiny LIRD (lists of `listSize`) on the planted world and saves it into `parent/name`.
func saveTinyLIRDModel(in parent: URL, name: String, listSize: Int, seed: UInt64) throws -> URL {
    let data = plantedInteractions()
    let lird = LIRDConfiguration(base: tinyConfiguration(), listSize: listSize)
    var recommender = DRRRecommender(lird: lird, seed: seed)
    try recommender.fit(train: data)
    guard let model = recommender.model else { throw DRRError.invalidModel("training produced no model") }
    var manifest = DRRManifest(
        policy: recommender.name, configuration: model.configuration, seed: seed,
        dataFingerprint: data.fingerprint, userIDs: data.userMap.rawIDs,
        itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale)
    manifest.lird = lird
    let directory = parent.appendingPathComponent(name, isDirectory: true)
    try DRRModelStore.save(model, manifest: manifest, to: directory)
    return directory
}

@Suite struct LIRDServingTests {
    /// A LIRD model served in process: `/v1/recommend` answers the model's list of K
    /// distinct items (positions in list order, logged as the impression), `infer` is
    /// `[batch, K]` for users and for states, feedback per list item is accepted, logged
    /// at its position, moves the session, and is kept for learning (nothing dropped).
    @Test func servesTheListAndLogsFeedbackPerPosition() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let K = 3
        let modelDirectory = try saveTinyLIRDModel(in: directory, name: "lird", listSize: K, seed: 2)
        let engine = try DRREngine(directory: modelDirectory)
        #expect(engine.modelName == "lird")
        let eventLog = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        let server = RecommendationServer(
            mode: .single(ServedModel(engine: engine, directory: modelDirectory)), eventLog: eventLog,
            configuration: ServerConfiguration(servingPolicy: .deterministic))
        let (model, _) = try DRRModelStore.load(from: modelDirectory)
        try await server.makeApplication().test(.router) { client in
            // A known user: the list of the model for their (empty) session, whatever k asks beyond K.
            let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 10}"#)
            #expect(response.status == .ok)
            let items = try #require(response.object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
            #expect(items.count == K && Set(items).count == K)
            let expected = model.list(user: 1, window: StateWindow(size: model.configuration.windowSize, initial: []))
            #expect(items == expected.map { "i\($0)" })
            let requestID = try #require(response.object["request_id"] as? String)
            // k below K gives the head of the list.
            let head = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 2, "exclude": ["\#(items[0])"]}"#)
            let headItems = try #require(head.object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
            #expect(headItems.count == 2 && !headItems.contains(items[0]))

            // Feedback on the list's second and third positions.
            for (item, reward) in [(items[1], 1.0), (items[2], -0.5)] {
                let body = #"{"user": "u1", "item": "\#(item)", "reward": \#(reward), "request_id": "\#(requestID)"}"#
                #expect(try await client.post("/v1/feedback", json: body).status == .ok)
            }
            let logged = try eventLog.loggedImpressions()
            #expect(logged[0].items == items)
            #expect(logged[0].rewards == [0, 1, -0.5])
            #expect(engine.sessionItems(user: "u1") == [items[1]])
            #expect(engine.statistics["list_size"] == Double(K))
            #expect(engine.statistics["observed_feedback"] == 2)
            #expect(engine.statistics["dropped_transitions"] == 0)
            #expect(engine.learn(updates: 5) == 0)
            // The next list leaves out the liked item (it is in the window).
            let next = try await client.post("/v1/recommend", json: #"{"user": "u1"}"#)
            let nextItems = try #require(next.object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
            #expect(nextItems.count == K && !nextItems.contains(items[1]))

            // KServe V2: users and states both give [batch, K].
            let byUser = try await client.post(
                "/v2/models/lird/infer",
                json: #"""
                    {"parameters": {"k": 10}, "inputs": [{"name": "user", "shape": [2], "datatype": "BYTES", "data": ["u2", "u3"]}]}
                    """#)
            #expect(byUser.status == .ok)
            let userOutputs = try #require(byUser.object["outputs"] as? [[String: Any]])
            #expect(userOutputs.map { $0["shape"] as? [Int] } == [[2, K], [2, K]])
            let userRows = try #require(userOutputs[0]["data"] as? [String])
            #expect(Set(userRows.prefix(K)).count == K && Set(userRows.suffix(K)).count == K)

            let width = model.inputSize
            let state = (0..<(2 * width)).map { Float($0 % 7) / 10 }
            let byState = try await client.post(
                "/v2/models/lird/infer",
                json: """
                    {"parameters": {"k": 10}, "inputs": [{"name": "state", "shape": [2, \(width)], "datatype": "FP32", "data": \(state)}]}
                    """)
            #expect(byState.status == .ok)
            let stateOutputs = try #require(byState.object["outputs"] as? [[String: Any]])
            #expect(stateOutputs.map { $0["shape"] as? [Int] } == [[2, K], [2, K]])
            var input = Tensor(zeros: [1, width])
            input.withUnsafeMutableBufferPointer { x in for j in 0..<width { x[j] = state[j] } }
            let stateRows = try #require(stateOutputs[0]["data"] as? [String])
            #expect(Array(stateRows.prefix(K)) == model.list(forAction: model.action(forInput: input)).map { "i\($0)" })
        }
    }

    /// A LIRD model with background learning: list feedback posted with positions becomes
    /// list transitions, the background learner publishes new finite versions, a reload
    /// hands learning to the new model, and a negative position is refused (422).
    @Test func learnsOnlineFromListFeedback() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let K = 2
        let modelDirectory = try saveTinyLIRDModel(in: directory, name: "lird", listSize: K, seed: 3)
        let engine = try DRREngine(directory: modelDirectory, updatesPerSecond: 500)
        defer { engine.stopBackgroundLearning() }
        #expect(engine.statistics["background_updates_per_second"] == 500)
        let eventLog = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        let server = RecommendationServer(mode: .single(ServedModel(engine: engine, directory: modelDirectory)), eventLog: eventLog)
        @Sendable func waitForUpdates(above count: Double) async throws -> Bool {
            let deadline = Date().addingTimeInterval(TestTiming.seconds(20))
            while Date() < deadline {
                if (engine.statistics["online_updates"] ?? 0) > count { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
        try await server.makeApplication().test(.router) { client in
            /// One list per user of `users`, each item answered with its position.
            func feedLists(_ users: Range<Int>) async throws {
                for u in users {
                    let response = try await client.post("/v1/recommend", json: #"{"user": "u\#(u % 12)", "k": \#(K)}"#)
                    let items = try #require(response.object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
                    #expect(items.count == K)
                    for (position, item) in items.enumerated() {
                        let reward = (u + position) % 3 == 0 ? 1.0 : -0.5
                        let body = #"{"user": "u\#(u % 12)", "item": "\#(item)", "reward": \#(reward), "position": \#(position)}"#
                        #expect(try await client.post("/v1/feedback", json: body).status == .ok)
                    }
                }
            }
            let bad = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i1", "reward": 1, "position": -1}"#)
            #expect(bad.status == .unprocessableContent)
            try await feedLists(0..<12)
            #expect(engine.statistics["replay_size"] == 12, "one transition per completed list")
            #expect(engine.statistics["dropped_transitions"] == 0)
            #expect(try await waitForUpdates(above: 0), "the background learner applied updates")
            #expect((versionParts(engine.modelVersion)?.number ?? 0) > 1)
            // The published weights rank with finite scores.
            let state = [Float](repeating: 0.1, count: 8)  // a user embedding (k = 8)
            #expect(try engine.scoreState(state).allSatisfy { $0.score.isFinite })

            // After a reload the new model's learner takes over.
            try engine.reload(from: modelDirectory)
            let carried = engine.statistics["online_updates"] ?? 0
            try await feedLists(12..<24)
            #expect(try await waitForUpdates(above: carried), "the reloaded LIRD model learns in the background too")
            #expect(engine.statistics["observed_feedback"] == Double(24 * K))
        }
    }
}
