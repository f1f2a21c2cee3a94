import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLServer
import Testing

/// The same routes over a real socket (Hummingbird's `.live` test framework, port 0).
@Suite struct LiveServerTests {
    @Test func routesWorkOverHTTP() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(port: 0, maxBodyBytes: 4096))
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.live) { client in
            let recommend = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 4}"#)
            #expect(recommend.status == .ok)
            #expect((recommend.object["items"] as? [Any])?.count == 4)
            let feedback = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i1", "rating": 2}"#)
            #expect(feedback.status == .ok)
            #expect(try fixture.eventLog.count() == 1)
            let live = try await client.get("/v2/health/live")
            #expect(live.status == .ok)
            let metrics = try await client.get("/metrics")
            #expect(metrics.text.contains(#"recrl_http_requests_total{route="/v1/feedback",method="POST",status="200"} 1"#))
            let tooLarge = try await client.post("/v1/recommend", json: String(repeating: " ", count: 5000))
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorMessage == "request body of 5000 bytes is over the limit of 4096 bytes")
        }
    }
}
