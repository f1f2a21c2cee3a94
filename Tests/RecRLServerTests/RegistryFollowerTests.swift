import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLDRR
import RecRLServer
import Testing

/// `RecommendationServer.follow`: a promotion or a rollback in the registry reaches the
/// served engine while requests keep succeeding.
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
}
