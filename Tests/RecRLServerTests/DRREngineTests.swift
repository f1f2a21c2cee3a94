import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLData
import RecRLDRR
import RecRLServer
import RecRLTensor
import Testing

// MARK: - A tiny trained DRR model

/// A planted world: each user rates 20 of `items` items; items 0..<8 get 5 stars, the
/// rest 1 or 2; item ids are `i0…`, user ids `u0…`.
func plantedInteractions(users: Int = 12, items: Int = 40, seed: UInt64 = 1) -> InteractionDataset {
    var rng = Xoshiro256StarStar(seed: seed)
    var us: [Int32] = [], its: [Int32] = [], rs: [Float] = [], ts: [Int64] = []
    for u in 0..<users {
        var chosen = Set<Int>()
        while chosen.count < 20 { chosen.insert(rng.nextInt(below: items)) }
        for (n, i) in chosen.sorted().enumerated() {
            us.append(Int32(u)); its.append(Int32(i))
            rs.append(i < 8 ? 5 : Float(1 + rng.nextInt(below: 2)))
            ts.append(Int64(1000 * u + (n * 7919) % 20))
        }
    }
    return InteractionDataset(
        name: "planted", userMap: IDMap(rawIDs: (0..<users).map { "u\($0)" }),
        itemMap: IDMap(rawIDs: (0..<items).map { "i\($0)" }),
        users: us, items: its, ratings: rs, timestamps: ts, ratingScale: 1...5)
}

/// A small DRR-ave configuration that trains in well under a second.
func tinyConfiguration() -> DRRConfiguration {
    var c = DRRConfiguration()
    c.embeddingSize = 8
    c.windowSize = 3
    c.hiddenSize = 16
    c.episodes = 20
    c.warmupTransitions = 50
    c.batchSize = 8
    c.replayCapacity = 2000
    c.embeddingIterations = 3
    return c
}

/// Trains a tiny DRR-ave on `data` and saves it with ``DRRModelStore`` into `parent/name`.
func saveTinyModel(in parent: URL, name: String, seed: UInt64, data: InteractionDataset = plantedInteractions()) throws -> URL {
    let configuration = tinyConfiguration()
    var drr = DRRRecommender(configuration: configuration, seed: seed)
    try drr.fit(train: data)
    guard let model = drr.model else { throw DRRError.invalidModel("training produced no model") }
    let manifest = DRRManifest(
        policy: drr.name, configuration: configuration, seed: seed,
        dataFingerprint: data.fingerprint, userIDs: data.userMap.rawIDs,
        itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale)
    let directory = parent.appendingPathComponent(name, isDirectory: true)
    try DRRModelStore.save(model, manifest: manifest, to: directory)
    return directory
}

/// A single-engine server over a ``DRREngine`` serving a freshly trained tiny model.
struct DRRFixture {
    let directory: URL
    let modelDirectory: URL
    let engine: DRREngine
    let eventLog: EventLog
    let server: RecommendationServer

    init(updatesPerSecond: Double? = nil, configuration: ServerConfiguration = ServerConfiguration(adminEnabled: true)) throws {
        directory = try makeTemporaryDirectory()
        modelDirectory = try saveTinyModel(in: directory, name: "model-a", seed: 1)
        engine = try DRREngine(directory: modelDirectory, updatesPerSecond: updatesPerSecond)
        eventLog = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        server = RecommendationServer(
            mode: .single(ServedModel(engine: engine, directory: modelDirectory)),
            eventLog: eventLog, configuration: configuration)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// `"<8 hex digits>.<n>"` split into its parts.
func versionParts(_ version: String) -> (id: String, number: Int)? {
    let parts = version.split(separator: ".")
    guard parts.count == 2, parts[0].count == 8, parts[0].allSatisfy(\.isHexDigit), let n = Int(parts[1]) else { return nil }
    return (String(parts[0]), n)
}

/// The value of the metric line that starts with `series` (name and labels).
func metricValue(_ text: String, _ series: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
}

extension TestResponse {
    /// `items` of a recommend response as (item, score) pairs.
    var recommendedItems: [(item: String, score: Float)] {
        ((object["items"] as? [[String: Any]]) ?? []).map {
            ($0["item"] as? String ?? "?", ($0["score"] as? NSNumber)?.floatValue ?? .nan)
        }
    }
}

// MARK: - Tests

@Suite struct DRREngineTests {
    @Test func recommendReturnsKItemsFromOnlineDRRWithTheModelVersion() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        // An independent OnlineDRR on the same folder: the engine must answer exactly as it does.
        let reference = try OnlineDRR(directory: fixture.modelDirectory)
        let catalogue = Set(reference.itemIDs)
        #expect(fixture.engine.modelName == "drr-ave")
        #expect(fixture.engine.itemCount == 40)
        let version = fixture.engine.modelVersion
        #expect(versionParts(version)?.number == 1, "got \(version)")
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 5, "exclude": ["i0", "nope"]}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.object["model_version"] as? String == version)
            #expect(response.object["arm"] as? String == "single")
            let items = response.recommendedItems
            #expect(items.count == 5)
            #expect(Set(items.map(\.item)).count == 5)
            #expect(items.allSatisfy { catalogue.contains($0.item) && $0.item != "i0" })
            #expect(items.map(\.score) == items.map(\.score).sorted(by: >))
            let expected = try reference.recommend(user: "u1", k: 5, exclude: ["i0"]).items
            #expect(items.map(\.item) == expected.map(\.id))
            #expect(items.map(\.score) == expected.map(\.score))

            // A user the model never saw gets the cold-start fallback: still k items.
            let stranger = try await client.post("/v1/recommend", json: #"{"user": "stranger", "k": 7}"#)
            #expect(stranger.status == .ok)
            #expect(
                stranger.recommendedItems.map(\.item)
                    == (try reference.recommend(user: "stranger", k: 7).items.map(\.id)))
        }
        #expect(throws: RequestError.unprocessable("k must be in 1...1000, got 1001")) {
            _ = try fixture.engine.recommend(user: "u1", k: 1001, exclude: [])
        }
    }

    @Test func feedbackIsObservedLearnedFromAndLogged() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let first = try await client.post("/v1/recommend", json: #"{"user": "u2", "k": 3}"#)
            let top = try #require(first.recommendedItems.first?.item)
            let liked = try await client.post("/v1/feedback", json: #"{"user": "u2", "item": "\#(top)", "rating": 5}"#)
            #expect(liked.status == .ok, "\(liked.text)")
            #expect(liked.object["status"] as? String == "ok")
            // A positive rating pushes the item into u2's window: it is not recommended again.
            let next = try await client.post("/v1/recommend", json: #"{"user": "u2", "k": 39}"#)
            #expect(next.recommendedItems.count == 39)
            #expect(!next.recommendedItems.contains { $0.item == top })
            let disliked = try await client.post("/v1/feedback", json: #"{"user": "u2", "item": "i3", "reward": -0.5}"#)
            #expect(disliked.status == .ok)
            // A rating outside the model's 1…5 scale is refused (the default policy), not learned.
            let outside = try await client.post("/v1/feedback", json: #"{"user": "u9", "item": "i4", "rating": 9}"#)
            #expect(outside.status == .unprocessableContent)
            #expect(outside.errorMessage == "field 'rating' must be in 1.0...5.0, got 9.0")
        }
        let events = try fixture.eventLog.events()
        #expect(events.map(\.user) == ["u2", "u2"])
        #expect(events.map(\.reward) == [1, -0.5])
        #expect(events.map(\.rating) == [5, nil])
        #expect(events.allSatisfy { $0.arm == "single" && $0.modelVersion == fixture.engine.modelVersion })
        #expect(fixture.engine.statistics["observed_feedback"] == 2)
        #expect(fixture.engine.rewardForRating(4) == 0.5)
        #expect(fixture.engine.rewardForRating(2) == -0.5)
    }

    @Test func unknownItemIsA404JSONErrorAndNothingIsLogged() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "nope", "rating": 4}"#)
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.errorMessage == "unknown item 'nope': it is not in the model's catalogue")
        }
        #expect(try fixture.eventLog.count() == 0)
        #expect(fixture.engine.statistics["observed_feedback"] == 0)
    }

    @Test func reloadSwapsTheModelAndTheVersion() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        let before = try #require(versionParts(fixture.engine.modelVersion))
        // A new model is saved into the served directory (a reload never reads another one).
        let second = try saveTinyModel(in: fixture.directory, name: "model-a", seed: 2)
        let reference = try OnlineDRR(directory: second)
        let newVersion = try await fixture.server.makeApplication().test(.router) { client -> String in
            let withPath = try await client.post("/admin/reload", json: #"{"path": "/tmp/elsewhere"}"#)
            #expect(withPath.status == .badRequest)
            #expect(withPath.errorMessage?.hasPrefix("field 'path' is not accepted") == true)
            let reload = try await client.post("/admin/reload", json: "{}")
            #expect(reload.status == .ok, "\(reload.text)")
            #expect(reload.object["model"] as? String == "drr-ave")
            #expect(reload.object["previous_version"] as? String == "\(before.id).\(before.number)")
            let newVersion = try #require(reload.object["model_version"] as? String)
            let after = try #require(versionParts(newVersion))
            #expect(after.id != before.id, "a different saved model has a different id")
            #expect(after.number > before.number)
            let response = try await client.post("/v1/recommend", json: #"{"user": "u4", "k": 6}"#)
            #expect(response.object["model_version"] as? String == newVersion)
            #expect(response.recommendedItems.map(\.item) == (try reference.recommend(user: "u4", k: 6).items.map(\.id)))
            let metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_model_info{arm="single",model="drr-ave",version="\#(newVersion)"}"#) == 1, "\(metrics)")
            #expect(metricValue(metrics, #"recrl_engine_reloads{arm="single",model="drr-ave"}"#) == 1)
            return newVersion
        }
        #expect(fixture.engine.directory == second)
        // Reloading the same folder again keeps the model id and still moves the version on.
        let after = try #require(versionParts(newVersion))
        try fixture.engine.reload(from: second)
        let again = try #require(versionParts(fixture.engine.modelVersion))
        #expect(again.id == after.id)
        #expect(again.number > after.number)
    }

    @Test func reloadRejectsAnotherCatalogueOrAMissingModelAndKeepsTheOldOne() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        _ = try saveTinyModel(in: fixture.directory, name: "model-a", seed: 3, data: plantedInteractions(items: 36))
        let version = fixture.engine.modelVersion
        try await fixture.server.makeApplication().test(.router) { client in
            let reload = try await client.post("/admin/reload", json: "{}")
            #expect(reload.status == .unprocessableContent)
            let message = try #require(reload.errorMessage)
            #expect(
                message.contains("has a different item catalogue (36 items against 40 served: 4 served item(s) missing ('i36', 'i37', 'i38', …)"),
                "got: \(message)")
            #expect(message.contains("kept version \(version)"))
            #expect(!reload.text.contains(fixture.directory.path), "no server path in errors: \(reload.text)")
            try FileManager.default.removeItem(at: fixture.modelDirectory)
            let missing = try await client.post("/admin/reload", json: "{}")
            #expect(missing.status == .unprocessableContent)
            #expect(missing.errorMessage?.hasPrefix("cannot load a DRR model from <path>: ") == true, "got: \(missing.text)")
            #expect(!missing.text.contains(fixture.directory.path), "no server path in errors: \(missing.text)")
            let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 2}"#)
            #expect(response.object["model_version"] as? String == version)
            let metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_model_reloads_total{arm="single",result="error"}"#) == 2, "\(metrics)")
        }
        #expect(fixture.engine.directory == fixture.modelDirectory)
        #expect(fixture.engine.itemCount == 40)
    }

    @Test func kserveInferRanksUsersAndStates() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        let (model, manifest) = try DRRModelStore.load(from: fixture.modelDirectory)
        let reference = try OnlineDRR(directory: fixture.modelDirectory)
        let k = model.configuration.embeddingSize
        // The module input of user u3 with an empty window, and u3's embedding alone.
        var input = Tensor(zeros: [1, model.inputSize])
        let u3 = try #require(manifest.userIDs.firstIndex(of: "u3"))
        model.writeInput(user: u3, window: StateWindow(size: model.configuration.windowSize, initial: []), into: &input)
        let moduleInput = input.withUnsafeBufferPointer { Array($0) }
        let userEmbedding = Array(moduleInput.prefix(k))
        let expected = try reference.recommend(user: "u3", k: 4).items
        try await fixture.server.makeApplication().test(.router) { client in
            let users = #"{"id": "r1", "parameters": {"k": 4}, "inputs": [{"name": "user", "shape": [2], "datatype": "BYTES", "data": ["u3", "u5"]}]}"#
            let byUser = try await client.post("/v2/models/drr-ave/infer", json: users)
            #expect(byUser.status == .ok, "\(byUser.text)")
            #expect(byUser.object["model_version"] as? String == fixture.engine.modelVersion)
            let outputs = try #require(byUser.object["outputs"] as? [[String: Any]])
            #expect(outputs[0]["shape"] as? [Int] == [2, 4])
            let items = try #require(outputs[0]["data"] as? [String])
            #expect(Array(items.prefix(4)) == expected.map(\.id))
            #expect(Array(items.suffix(4)) == (try reference.recommend(user: "u5", k: 4).items.map(\.id)))

            // The same ranking from the state: the module input, or the user embedding alone.
            for state in [moduleInput, userEmbedding] {
                let body = #"{"parameters": {"k": 4}, "inputs": [{"name": "state", "shape": [1, \#(state.count)], "datatype": "FP32", "data": \#(state)}]}"#
                let byState = try await client.post("/v2/models/drr-ave/infer", json: body)
                #expect(byState.status == .ok, "\(byState.text)")
                let stateOutputs = try #require(byState.object["outputs"] as? [[String: Any]])
                #expect(stateOutputs[0]["data"] as? [String] == expected.map(\.id))
                let scores = try #require((stateOutputs[1]["data"] as? [NSNumber])?.map(\.floatValue))
                for (score, reference) in zip(scores, expected.map(\.score)) {
                    #expect(abs(score - reference) <= 1e-5 * max(1, abs(reference)))
                }
            }
            let wrong = #"{"inputs": [{"name": "state", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}"#
            let rejected = try await client.post("/v2/models/drr-ave/infer", json: wrong)
            #expect(rejected.status == .unprocessableContent)
            #expect(
                rejected.errorMessage
                    == "state has 5 values; model 'drr-ave' takes its module input [u | i_1 … i_n] (\(model.inputSize) values) or a user embedding (\(k) values)"
            )
            let metadata = try await client.get("/v2/models/drr-ave")
            #expect(metadata.object["versions"] as? [String] == [fixture.engine.modelVersion])
        }
        let full = try fixture.engine.scoreState(userEmbedding)
        #expect(full.count == 40)
        #expect(Set(full.map(\.item)).count == 40)
    }

    @Test func onlineLearningPublishesNewVersionsAndExportsStatistics() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        let start = try #require(versionParts(fixture.engine.modelVersion))
        try await fixture.server.makeApplication().test(.router) { client in
            // Recommend-then-feedback rounds fill the replay buffer with transitions.
            for n in 0..<24 {
                let user = "u\(n % 6)"
                let response = try await client.post("/v1/recommend", json: #"{"user": "\#(user)", "k": 1}"#)
                let item = try #require(response.recommendedItems.first?.item)
                let feedback = try await client.post(
                    "/v1/feedback",
                    json: #"{"user": "\#(user)", "item": "\#(item)", "reward": \#(n % 2 == 0 ? 1 : -1)}"#)
                #expect(feedback.status == .ok)
            }
            #expect(fixture.engine.learn(updates: 3) == 3)
            let after = try #require(versionParts(fixture.engine.modelVersion))
            #expect(after.id == start.id)
            #expect(after.number == start.number + 1, "one publication per learn call")
            let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 2}"#)
            #expect(response.object["model_version"] as? String == fixture.engine.modelVersion)
            let metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_engine_online_updates{arm="single",model="drr-ave"}"#) == 3, "\(metrics)")
            #expect(metricValue(metrics, #"recrl_engine_observed_feedback{arm="single",model="drr-ave"}"#) == 24)
            #expect(metricValue(metrics, #"recrl_engine_model_version{arm="single",model="drr-ave"}"#) == Double(after.number))
            #expect(
                metricValue(metrics, #"recrl_engine_replay_size{arm="single",model="drr-ave"}"#) == 24,
                "every recommend-then-feedback pair is a transition")
        }
    }

    @Test func backgroundLearningRunsAndMovesToAReloadedModel() async throws {
        let fixture = try DRRFixture(updatesPerSecond: 500)
        defer { fixture.cleanUp() }
        for n in 0..<24 {
            let user = "u\(n % 6)"
            let item = try #require(try fixture.engine.recommend(user: user, k: 1, exclude: []).items.first?.item)
            try fixture.engine.observe(user: user, item: item, reward: n % 3 == 0 ? 1 : -0.5)
        }
        func waitForUpdates(above count: Double) async throws -> Bool {
            let deadline = Date().addingTimeInterval(TestTiming.seconds(20))
            while Date() < deadline {
                if (fixture.engine.statistics["online_updates"] ?? 0) > count { return true }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }
        #expect(try await waitForUpdates(above: 0), "the background learner applied updates")
        #expect((versionParts(fixture.engine.modelVersion)?.number ?? 0) > 1)
        #expect(fixture.engine.statistics["background_updates_per_second"] == 500)
        // After a reload the new model's learner takes over (it needs new feedback first).
        let second = try saveTinyModel(in: fixture.directory, name: "model-b", seed: 2)
        try fixture.engine.reload(from: second)
        let carried = fixture.engine.statistics["online_updates"] ?? 0
        for n in 0..<24 {
            let user = "u\(n % 6)"
            let item = try #require(try fixture.engine.recommend(user: user, k: 1, exclude: []).items.first?.item)
            try fixture.engine.observe(user: user, item: item, reward: n % 3 == 0 ? 1 : -0.5)
        }
        #expect(try await waitForUpdates(above: carried), "the reloaded model learns in the background too")
        #expect(fixture.engine.statistics["observed_feedback"] == 48, "counts carry over reloads")

        // Stopped for good: no more updates, even with new feedback and after a reload.
        fixture.engine.stopBackgroundLearning()
        let stopped = fixture.engine.statistics["online_updates"]
        #expect(fixture.engine.statistics["background_updates_per_second"] == 0)
        try fixture.engine.reload(from: second)
        for n in 0..<24 {
            let user = "u\(n % 6)"
            let item = try #require(try fixture.engine.recommend(user: user, k: 1, exclude: []).items.first?.item)
            try fixture.engine.observe(user: user, item: item, reward: 1)
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(fixture.engine.statistics["online_updates"] == stopped)
    }
}
