import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLDRR
import RecRLServer
import Testing

/// `RecommendationServer.follow`: a promotion or a rollback in the registry reaches the
/// served engine while requests keep succeeding, for DeepPage versions too.
@Suite struct RegistryFollowerTests {
    @Test func promotionAndRollbackReloadTheServedEngine() async throws {
        let fixture = try Fixture(reloadDelay: 0.05)
        defer { fixture.cleanUp() }
        // A registry whose version folders hold what TestEngine reloads from (version.txt).
        let registry = ModelRegistry(directory: fixture.directory.appendingPathComponent("registry"))
        for version in ["v000001", "v000002"] {
            let folder = registry.directory(of: version)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data((version == "v000001" ? "v1" : "v2").utf8).write(to: folder.appendingPathComponent("version.txt"))
        }
        try registry.promote("v000001", to: .production)
        let follower = Task { await fixture.server.follow(registry, stage: .production, servedVersion: "v000001", interval: 0.02) }
        defer { follower.cancel() }

        @Sendable func waitForVersion(_ expected: String) async throws -> Bool {
            for _ in 0..<200 where fixture.engine.modelVersion != expected { try await Task.sleep(for: .milliseconds(10)) }
            return fixture.engine.modelVersion == expected
        }
        try await fixture.server.makeApplication().test(.router) { client in
            try registry.promote("v000002", to: .production)
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<10 {
                statuses.append(try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 2}"#).status)
            }
            let reachedV2 = try await waitForVersion("v2")
            #expect(reachedV2)
            #expect(try registry.rollback() == "v000001")
            statuses.append(try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 2}"#).status)
            let reachedV1 = try await waitForVersion("v1")
            #expect(reachedV1)
            #expect(statuses.allSatisfy { $0 == .ok })
        }
    }

    /// What `recrl serve --registry` does with DeepPage versions: the engine `makeEngine`
    /// picks for the production version's folder answers its pages (`"page"` rows, KServe V2
    /// `[batch, rows, cols]`); a promotion reloads the next DeepPage version's pages; a DRR
    /// version promoted over it is refused (another kind), counted as a failed reload, and
    /// the pages keep coming from the served version until the pointer moves back.
    @Test func deepPageVersionsServeAndFollowPromotions() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let registry = ModelRegistry(directory: directory.appendingPathComponent("registry"))
        let v1 = try registry.register(modelFolder: try saveTinyDeepPageModel(in: directory, name: "page-1", seed: 4)).version
        let v2 = try registry.register(modelFolder: try saveTinyDeepPageModel(in: directory, name: "page-2", seed: 5)).version
        let drr = try registry.register(modelFolder: try saveTinyModel(in: directory, name: "drr", seed: 1)).version
        try registry.promote(v1, to: .production)
        let engine = try #require(try makeEngine(modelDirectory: registry.directory(of: v1)) as? DeepPageEngine)
        let server = RecommendationServer(
            mode: .single(ServedModel(engine: engine, directory: registry.directory(of: v1))),
            eventLog: try EventLog(path: directory.appendingPathComponent("events.sqlite").path))
        let follower = Task { await server.follow(registry, stage: .production, servedVersion: v1, interval: 0.02) }
        defer { follower.cancel() }

        /// A new user's page (an empty history) under the model of `version`.
        @Sendable func expectedPage(_ version: String) throws -> [[String]] {
            let (model, manifest) = try registry.loadDeepPage(version: version)
            let empty = StateWindow(size: model.configuration.base.windowSize, initial: [])
            return model.page(window: empty, pages: []).map { $0.map { manifest.itemIDs[$0] } }
        }
        #expect(try expectedPage(v1) != expectedPage(v2), "the two versions answer different pages")
        @Sendable func waitForSeed(_ seed: UInt64) async throws -> Bool {
            for _ in 0..<Int(TestTiming.seconds(500)) where engine.manifest.seed != seed { try await Task.sleep(for: .milliseconds(10)) }
            return engine.manifest.seed == seed
        }
        try await server.makeApplication().test(.router) { client in
            func page(_ user: String) async throws -> [[String]] {
                let response = try await client.post("/v1/recommend", json: #"{"user": "\#(user)", "k": 1}"#)
                #expect(response.status == .ok)
                return try #require(response.object["page"] as? [[String]])
            }
            #expect(try await page("new-1") == expectedPage(v1))

            try registry.promote(v2, to: .production)
            #expect(try await waitForSeed(5))
            #expect(try await page("new-2") == expectedPage(v2))
            let infer = try await client.post(
                "/v2/models/deeppage/infer",
                json: #"{"inputs": [{"name": "user", "shape": [1], "datatype": "BYTES", "data": ["new-3"]}]}"#)
            let outputs = try #require(infer.object["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["shape"] as? [Int] } == [[1, 2, 2], [1, 2, 2]])
            #expect(try #require(outputs[0]["data"] as? [String]) == Array(expectedPage(v2).joined()))

            // A DRR version is another kind: the reload fails and v2 keeps serving.
            try registry.promote(drr, to: .production)
            var failed: Double?
            for _ in 0..<Int(TestTiming.seconds(500)) where failed == nil {
                failed = metricValue(try await client.get("/metrics").text, #"recrl_model_reloads_total{arm="single",result="error"}"#)
                if failed == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(failed == 1)
            #expect(engine.manifest.seed == 5)
            #expect(try await page("new-4") == expectedPage(v2))

            // Rolling back moves the pointer to v2 again, which the follower reloads.
            #expect(try registry.rollback() == v2)
            let reloaded = engine.statistics["reloads"]
            for _ in 0..<Int(TestTiming.seconds(500)) where engine.statistics["reloads"] == reloaded {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(engine.statistics["reloads"] == 2)
            #expect(try await page("new-5") == expectedPage(v2))
        }
    }
}
