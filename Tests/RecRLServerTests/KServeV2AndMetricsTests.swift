import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLServer
import Testing

@Suite struct KServeV2Tests {
    @Test func healthAndReadiness() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let live = try await client.get("/v2/health/live")
            #expect(live.status == .ok)
            #expect(live.object["live"] as? Bool == true)
            let ready = try await client.get("/v2/health/ready")
            #expect(ready.status == .ok)
            #expect(ready.object["ready"] as? Bool == true)
            let modelReady = try await client.get("/v2/models/test-engine/ready")
            #expect(modelReady.status == .ok)
            #expect(modelReady.object["name"] as? String == "test-engine")
            #expect(modelReady.object["ready"] as? Bool == true)
        }
    }

    @Test func modelMetadata() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.get("/v2/models/test-engine")
            #expect(response.status == .ok)
            let body = response.object
            #expect(body["name"] as? String == "test-engine")
            #expect(body["versions"] as? [String] == ["v1"])
            #expect(body["platform"] as? String == "recrl")
            let inputs = try #require(body["inputs"] as? [[String: Any]])
            #expect(inputs.map { $0["name"] as? String } == ["state", "user"])
            #expect(inputs.map { $0["datatype"] as? String } == ["FP32", "BYTES"])
            let outputs = try #require(body["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["name"] as? String } == ["items", "scores"])
            #expect(outputs.map { $0["datatype"] as? String } == ["BYTES", "FP32"])
            #expect(outputs[0]["shape"] as? [Int] == [-1, -1])
        }
    }

    @Test func versionedRoutes() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let metadata = try await client.get("/v2/models/test-engine/versions/v1")
            #expect(metadata.status == .ok)
            #expect(metadata.object["versions"] as? [String] == ["v1"])
            #expect(try await client.get("/v2/models/test-engine/versions/v1/ready").status == .ok)
            let infer = try await client.post(
                "/v2/models/test-engine/versions/v1/infer",
                json: #"{"inputs": [{"name": "user", "shape": [1], "datatype": "BYTES", "data": ["u1"]}]}"#)
            #expect(infer.status == .ok)
            let stale = try await client.get("/v2/models/test-engine/versions/v0")
            #expect(stale.status == .notFound)
            #expect(stale.errorMessage == "model 'test-engine' has no version 'v0'; the loaded version is 'v1'")
        }
    }

    @Test func unknownModelIs404() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            for response in [
                try await client.get("/v2/models/other"),
                try await client.get("/v2/models/other/ready"),
                try await client.post("/v2/models/other/infer", json: "{}"),
            ] {
                #expect(response.status == .notFound)
                #expect(response.errorMessage == "unknown model 'other'; available: 'test-engine'")
            }
        }
    }

    @Test func inferFromStateVector() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let request = #"""
                {"id": "req-1", "parameters": {"k": 3},
                 "inputs": [{"name": "state", "shape": [2, 4], "datatype": "FP32",
                             "data": [[1, 0, 0, 0], [0, 0.5, -1, 2]]}]}
                """#
            let response = try await client.post("/v2/models/test-engine/infer", json: request)
            #expect(response.status == .ok)
            let body = response.object
            #expect(body["model_name"] as? String == "test-engine")
            #expect(body["model_version"] as? String == "v1")
            #expect(body["id"] as? String == "req-1")
            let outputs = try #require(body["outputs"] as? [[String: Any]])
            #expect(outputs.count == 2)
            #expect(outputs[0]["name"] as? String == "items")
            #expect(outputs[0]["datatype"] as? String == "BYTES")
            #expect(outputs[0]["shape"] as? [Int] == [2, 3])
            #expect(outputs[1]["name"] as? String == "scores")
            #expect(outputs[1]["datatype"] as? String == "FP32")
            #expect(outputs[1]["shape"] as? [Int] == [2, 3])
            let items = try #require(outputs[0]["data"] as? [String])
            let scores = try #require((outputs[1]["data"] as? [NSNumber])?.map(\.floatValue))
            let first = try fixture.engine.scoreState([1, 0, 0, 0]).prefix(3)
            let second = try fixture.engine.scoreState([0, 0.5, -1, 2]).prefix(3)
            #expect(items == (first + second).map(\.item))
            #expect(scores == (first + second).map(\.score))
        }
    }

    @Test func inferFromUserBytes() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let request = #"{"inputs": [{"name": "user", "shape": [1], "datatype": "BYTES", "data": ["u9"]}]}"#
            let response = try await client.post("/v2/models/test-engine/infer", json: request)
            #expect(response.status == .ok)
            let outputs = try #require(response.object["outputs"] as? [[String: Any]])
            #expect(outputs[0]["shape"] as? [Int] == [1, 10])
            let expected = try fixture.engine.recommend(user: "u9", k: 10, exclude: []).items.map(\.item)
            #expect(outputs[0]["data"] as? [String] == expected)
        }
    }

    @Test(arguments: [
        (
            #"{"inputs": [{"name": "state", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}"#, 422,
            "state has 3 values; this model needs 4"
        ),
        (
            #"{"inputs": [{"name": "state", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]}"#, 400,
            "field 'inputs[0].data': shape [1, 4] needs 4 numbers, got 3"
        ),
        (
            #"{"inputs": [{"name": "state", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]}"#, 400,
            "field 'inputs[0].datatype': input 'state' must have datatype FP32"
        ),
        (
            #"{"inputs": [{"name": "pixels", "shape": [1], "datatype": "FP32", "data": [1]}]}"#, 400,
            "field 'inputs[0].name': unknown input 'pixels'"
        ),
        (#"{"inputs": []}"#, 400, "expected exactly one input tensor"),
        (#"{"outputs": []}"#, 400, "missing field 'inputs'"),
        (
            #"{"inputs": [{"name": "user", "shape": [1], "datatype": "BYTES", "data": ["u1"]}], "parameters": {"k": 0}}"#, 400,
            "parameter 'k' must be in 1...1000"
        ),
    ])
    func badInferRequests(body: String, status: Int, message: String) async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v2/models/test-engine/infer", json: body)
            #expect(Int(response.status.code) == status)
            let error = try #require(response.errorMessage)
            #expect(error.hasPrefix(message), "got: \(error)")
        }
    }
}

@Suite struct MetricsTests {
    @Test func metricsExposeRouteCountersLatencyAndEngineGauges() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            for _ in 0..<3 { _ = try await client.post("/v1/recommend", json: #"{"user": "u1"}"#) }
            _ = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 0}"#)
            _ = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i1", "reward": 1}"#)
            _ = try await client.get("/v2/models/test-engine")
            let response = try await client.get("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = response.text
            let lines = text.split(separator: "\n").map(String.init)
            func value(_ prefix: String) -> Double? {
                lines.first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect(value(#"recrl_http_requests_total{route="/v1/recommend",method="POST",status="200"}"#) == 3, "\(text)")
            #expect(value(#"recrl_http_requests_total{route="/v1/recommend",method="POST",status="400"}"#) == 1)
            #expect(value(#"recrl_http_requests_total{route="/v1/feedback",method="POST",status="200"}"#) == 1)
            #expect(value(#"recrl_http_requests_total{route="/v2/models/{name}",method="GET",status="200"}"#) == 1)
            #expect(value(#"recrl_http_request_duration_seconds_count{route="/v1/recommend",method="POST"}"#) == 4)
            #expect(text.contains(#"recrl_http_request_duration_seconds_bucket{route="/v1/recommend",method="POST",le="#))
            #expect(value(#"recrl_online_updates_total{arm="single"}"#) == 1)
            #expect(value(#"recrl_feedback_events_total{arm="single"}"#) == 1)
            #expect(value(#"recrl_feedback_reward_count{arm="single"}"#) == 1)
            #expect(value(#"recrl_feedback_reward_sum{arm="single"}"#) == 1)
            #expect(value(#"recrl_feedback_reward_bucket{arm="single",le="0.75"}"#) == 0)
            #expect(value(#"recrl_feedback_reward_bucket{arm="single",le="1.0"}"#) == 1, "\(text)")
            #expect(value(#"recrl_engine_online_updates{arm="single",model="test-engine"}"#) == 1)
            #expect(value(#"recrl_engine_replay_size{arm="single",model="test-engine"}"#) == 1)
            #expect(value(#"recrl_model_info{arm="single",model="test-engine",version="v1"}"#) == 1)
            #expect(value(#"recrl_model_items{arm="single",model="test-engine"}"#) == 20)
            #expect(text.contains("# TYPE recrl_http_requests_total counter"))
            #expect(text.contains("# TYPE recrl_http_request_duration_seconds histogram"))
        }
    }
}
