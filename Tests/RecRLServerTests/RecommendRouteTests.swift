import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLServer
import Testing

@Suite struct RecommendRouteTests {
    @Test func recommendReturnsTopKWithoutExcludedItems() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 5, "exclude": ["i3", "i4"]}"#)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let body = response.object
            #expect(body["user"] as? String == "u1")
            #expect(body["model_version"] as? String == "v1")
            #expect(body["arm"] as? String == "single")
            let items = try #require(body["items"] as? [[String: Any]])
            #expect(items.count == 5)
            let ids = items.compactMap { $0["item"] as? String }
            let scores = items.compactMap { ($0["score"] as? NSNumber)?.floatValue }
            #expect(!ids.contains("i3") && !ids.contains("i4"))
            #expect(scores == scores.sorted(by: >))
            // The same ranking as the engine's own.
            let expected = try fixture.engine.recommend(user: "u1", k: 5, exclude: ["i3", "i4"]).items.map(\.item)
            #expect(ids == expected)
        }
    }

    @Test func defaultKIsTen() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: #"{"user": "u2"}"#)
            #expect(response.status == .ok)
            #expect((response.object["items"] as? [Any])?.count == 10)
        }
    }

    @Test(arguments: [
        (#"{"user": "u1", "k": 5"#, "malformed JSON body"),
        (#"{"k": 5}"#, "missing field 'user'"),
        (#"{"user": 7}"#, "field 'user' has the wrong type"),
        (#"{"user": ""}"#, "field 'user' must not be empty"),
        (#"{"user": "u1", "k": 0}"#, "field 'k' must be in 1...1000, got 0"),
        (#"{"user": "u1", "k": 1001}"#, "field 'k' must be in 1...1000, got 1001"),
        (#"{"user": "u1", "k": "ten"}"#, "field 'k' has the wrong type"),
        (#"{"user": "u1", "exclude": "i1"}"#, "field 'exclude' has the wrong type"),
        ("", "request body is empty"),
    ])
    func badRecommendRequestsGet400(body: String, message: String) async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: body)
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/json")
            let error = try #require(response.errorMessage)
            #expect(error.hasPrefix(message), "got: \(error)")
        }
    }

    @Test func oversizedBodyGets413() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(maxBodyBytes: 1024))
        defer { fixture.cleanUp() }
        let exclude = (0..<400).map { "\"item-\($0)\"" }.joined(separator: ",")
        let body = #"{"user": "u1", "exclude": ["# + exclude + "]}"
        #expect(body.utf8.count > 1024)
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: body)
            #expect(response.status == .contentTooLarge)
            #expect(response.errorMessage?.contains("over the limit of 1024 bytes") == true)
        }
    }

    @Test func oneMebibyteDefaultLimit() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        let body = #"{"user": "u1", "exclude": [""# + String(repeating: "x", count: 1 << 20) + #""]}"#
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: body)
            #expect(response.status == .contentTooLarge)
        }
    }

    @Test func unknownRouteGets404JSON() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.get("/v1/nothing")
            #expect(response.status == .notFound)
            #expect(response.errorMessage == "no route for GET /v1/nothing")
        }
    }
}
