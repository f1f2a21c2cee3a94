import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLDRR
import RecRLServer
import RecRLTensor
import Testing

/// Trains a tiny DeepPage (2 × 2 pages, a few episodes) on the planted world and saves it
/// into `parent/name`, with the users' logged histories in the manifest when `histories`.
func saveTinyDeepPageModel(in parent: URL, name: String, seed: UInt64, histories: Bool = false) throws -> URL {
    let data = plantedInteractions()
    var c = DeepPageConfiguration(base: tinyConfiguration(), rows: 2, columns: 2)
    c.base.episodes = 6
    c.base.episodeLength = 4
    c.base.warmupTransitions = 8
    c.recentPages = 2
    c.stateSize = 8
    c.convolutionFilters = 4
    c.deconvolutionChannels = 4
    c.criticHiddenSize = 8
    let model = try DeepPageTrainer.run(data, configuration: c, seed: seed).model
    var manifest = DRRManifest(
        policy: DRRModelStore.deepPagePolicy, configuration: c.base, seed: seed, dataFingerprint: data.fingerprint,
        userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale)
    if histories {
        manifest.userHistories = DRRManifest.browsingHistories(
            of: data, threshold: model.rewardScale.midpoint, length: c.base.windowSize)
    }
    let directory = parent.appendingPathComponent(name, isDirectory: true)
    try DRRModelStore.save(model, manifest: manifest, to: directory)
    return directory
}

@Suite struct DeepPageServingTests {
    /// A DeepPage model served in process (picked by `makeEngine` from its manifest):
    /// `/v1/recommend` answers the model's 2 × 2 page as `items` (row-major) and `"page"`,
    /// whatever `k`; feedback per item with its row-major position closes the page into one
    /// transition and moves the history, so the next page leaves the liked item out and
    /// reads the shown page; KServe V2 `infer` is `[batch, 2, 2]` for users and for
    /// observation rows; bad input is a 4xx.
    @Test func servesPagesAndLearnsFromFeedbackPerPosition() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyDeepPageModel(in: directory, name: "deeppage", seed: 4)
        let engine = try makeEngine(modelDirectory: modelDirectory)
        #expect(engine is DeepPageEngine)
        #expect(engine.modelName == "deeppage")
        #expect(engine.pageShape == PageShape(rows: 2, columns: 2))
        let eventLog = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        let server = RecommendationServer(mode: .single(ServedModel(engine: engine, directory: modelDirectory)), eventLog: eventLog)
        let (model, _) = try DRRModelStore.loadDeepPage(from: modelDirectory)
        let emptyWindow = StateWindow(size: model.configuration.base.windowSize, initial: [])
        try await server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 2}"#)
            #expect(response.status == .ok)
            let items = try #require(response.object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
            let expected = model.page(window: emptyWindow, pages: []).map { $0.map { "i\($0)" } }
            #expect(items == expected.flatMap { $0 })
            #expect(try #require(response.object["page"] as? [[String]]) == expected)

            // Feedback on every cell, with its row-major position: one transition.
            let rewards: [Double] = [1, -0.5, 0, 0.5]
            for (position, item) in items.enumerated() {
                let body = #"{"user": "u1", "item": "\#(item)", "reward": \#(rewards[position]), "position": \#(position)}"#
                #expect(try await client.post("/v1/feedback", json: body).status == .ok)
            }
            #expect(engine.statistics["replay_size"] == 1)
            #expect(engine.statistics["dropped_transitions"] == 0)
            #expect(engine.statistics["observed_feedback"] == 4)
            #expect(engine.sessionItems(user: "u1") == [items[0], items[3]])
            let logged = try eventLog.events()
            #expect(logged.map(\.item) == items)
            #expect(logged.map(\.position) == [0, 1, 2, 3])

            // The next page is the model's for the new history and the shown page with its feedback.
            let next = try await client.post("/v1/recommend", json: #"{"user": "u1"}"#)
            let nextPage = try #require(next.object["page"] as? [[String]])
            let window = StateWindow(size: model.configuration.base.windowSize, initial: [Int(items[0].dropFirst())!, Int(items[3].dropFirst())!])
            let shown = ShownPage(items: items.map { Int($0.dropFirst())! }, rewards: rewards.map(Float.init))
            let liked = Set(window.items)
            #expect(nextPage == model.page(window: window, pages: [shown], excluding: { liked.contains($0) }).map { $0.map { "i\($0)" } })
            #expect(!nextPage.joined().contains(items[0]) && !nextPage.joined().contains(items[3]))

            // Bad input: a negative position, an unknown item, k out of range, no full page left.
            #expect(try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i1", "reward": 1, "position": -1}"#).status == .unprocessableContent)
            #expect(try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "nope", "reward": 1}"#).status == .notFound)
            #expect(try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 0}"#).status.code / 100 == 4)
            let all = (0..<engine.itemCount).map { "\"i\($0)\"" }.joined(separator: ",")
            #expect(try await client.post("/v1/recommend", json: #"{"user": "u2", "exclude": [\#(all)]}"#).status == .unprocessableContent)

            // KServe V2: metadata and infer are page-shaped.
            let metadata = try await client.get("/v2/models/deeppage")
            let outputs = try #require(metadata.object["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["shape"] as? [Int] } == [[-1, 2, 2], [-1, 2, 2]])
            let byUser = try await client.post(
                "/v2/models/deeppage/infer",
                json: #"{"parameters": {"k": 1}, "inputs": [{"name": "user", "shape": [2], "datatype": "BYTES", "data": ["u5", "u6"]}]}"#)
            #expect(byUser.status == .ok)
            let userOutputs = try #require(byUser.object["outputs"] as? [[String: Any]])
            #expect(userOutputs.map { $0["shape"] as? [Int] } == [[2, 2, 2], [2, 2, 2]])
            #expect(try #require(userOutputs[0]["data"] as? [String]).count == 8)

            var observation = Tensor(zeros: [1, model.observationSize])
            model.writeObservation(window: window, pages: [shown], into: &observation)
            let row = observation.withUnsafeBufferPointer { Array($0) }
            let byState = try await client.post(
                "/v2/models/deeppage/infer",
                json: """
                    {"inputs": [{"name": "state", "shape": [1, \(row.count)], "datatype": "FP32", "data": \(row)}]}
                    """)
            #expect(byState.status == .ok)
            let stateOutputs = try #require(byState.object["outputs"] as? [[String: Any]])
            #expect(stateOutputs.map { $0["shape"] as? [Int] } == [[1, 2, 2], [1, 2, 2]])
            #expect(try #require(stateOutputs[0]["data"] as? [String]) == model.page(window: window, pages: [shown]).joined().map { "i\($0)" })
            let short = try await client.post(
                "/v2/models/deeppage/infer",
                json: #"{"inputs": [{"name": "state", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}"#)
            #expect(short.status == .unprocessableContent)
        }
    }

    /// A model folder whose manifest keeps the users' logged histories: a known user's first
    /// page (through `makeEngine`, `DeepPageEngine`) is the model's page for their history,
    /// their session starts from it, and a new user still gets the empty history's page.
    @Test func knownUsersFirstPageReadsTheirLoggedHistory() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyDeepPageModel(in: directory, name: "deeppage", seed: 4, histories: true)
        let engine = try makeEngine(modelDirectory: modelDirectory)
        let (model, manifest) = try DRRModelStore.loadDeepPage(from: modelDirectory)
        let histories = try #require(manifest.userHistories)
        let user = try #require(histories.indices.first { histories[$0].count >= 2 })
        let id = manifest.userIDs[user]
        let window = StateWindow(size: model.configuration.base.windowSize, initial: histories[user])
        let liked = Set(histories[user])
        let expected = model.page(window: window, pages: [], excluding: { liked.contains($0) }).joined().map { manifest.itemIDs[$0] }
        let empty = StateWindow(size: model.configuration.base.windowSize, initial: [])
        #expect(try engine.recommend(user: id, k: 4, exclude: []).items.map(\.item) == expected)
        #expect(engine.sessionItems(user: id) == histories[user].map { manifest.itemIDs[$0] })
        #expect(
            try engine.recommend(user: "new-user", k: 4, exclude: []).items.map(\.item)
                == model.page(window: empty, pages: []).joined().map { manifest.itemIDs[$0] })
    }

    /// With background learning, completed pages become transitions, the learner publishes
    /// new finite versions, and a reload hands learning to the reloaded model; without
    /// online learning the pages are dropped and counted.
    @Test func learnsOnlineInTheBackground() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyDeepPageModel(in: directory, name: "deeppage", seed: 5)
        let engine = try DeepPageEngine(directory: modelDirectory, updatesPerSecond: 500)
        defer { engine.stopBackgroundLearning() }
        func feedPages(_ users: Range<Int>) throws {
            for u in users {
                let items = try engine.recommend(user: "u\(u % 12)", k: 4, exclude: []).items
                #expect(items.count == 4)
                for (position, item) in items.enumerated() {
                    try engine.observe(user: "u\(u % 12)", item: item.item, reward: (u + position) % 3 == 0 ? 1 : -0.5, position: position)
                }
            }
        }
        func waitForUpdates(above count: Double) async throws -> Bool {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if (engine.statistics["online_updates"] ?? 0) > count { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
        try feedPages(0..<12)
        #expect(engine.statistics["replay_size"] == 12)
        #expect(try await waitForUpdates(above: 0))
        #expect((versionParts(engine.modelVersion)?.number ?? 0) > 1)
        #expect(try engine.recommend(user: "u1", k: 4, exclude: []).items.allSatisfy { $0.score.isFinite })
        try engine.reload(from: modelDirectory)
        let carried = engine.statistics["online_updates"] ?? 0
        try feedPages(12..<24)
        #expect(try await waitForUpdates(above: carried))
        #expect(engine.statistics["observed_feedback"] == 96)

        let still = try DeepPageEngine(directory: modelDirectory, learnsOnline: false)
        let page = try still.recommend(user: "u1", k: 4, exclude: []).items
        for item in page { try still.observe(user: "u1", item: item.item, reward: 1) }
        #expect(still.statistics["dropped_transitions"] == 1)
        #expect(still.learn(updates: 3) == 0)
    }
}
