import Foundation
import Testing
import HummingbirdTesting
import RecRLDRR
import RecRLServer

/// The server's view of bounded memory: session evictions and dropped transitions in
/// `/metrics`, counted across reloads.
@Suite struct BoundedSessionsServerTests {
    @Test func sessionEvictionsAndDroppedTransitionsAreExported() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyModel(in: directory, name: "model-a", seed: 1)
        let engine = try DRREngine(
            directory: modelDirectory, learnsOnline: false,
            sessionStore: { InMemorySessionStore(capacity: 4, timeToLive: 3600) })
        let server = RecommendationServer(
            mode: .single(ServedModel(engine: engine, directory: modelDirectory)),
            eventLog: try EventLog(path: directory.appendingPathComponent("events.sqlite").path),
            configuration: ServerConfiguration(adminEnabled: true))
        try await server.makeApplication().test(.router) { client in
            for n in 0..<10 {
                let response = try await client.post("/v1/recommend", json: #"{"user": "new\#(n)", "k": 1}"#)
                let item = try #require(response.recommendedItems.first?.item)
                let feedback = try await client.post("/v1/feedback", json: #"{"user": "new\#(n)", "item": "\#(item)", "reward": 1}"#)
                #expect(feedback.status == .ok)
            }
            var metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_session_evictions_total{arm="single",model="drr-ave"}"#) == 6, "\(metrics)")
            #expect(metricValue(metrics, #"recrl_engine_sessions{arm="single",model="drr-ave"}"#) == 4)
            #expect(metricValue(metrics, #"recrl_engine_dropped_transitions{arm="single",model="drr-ave"}"#) == 10)
            #expect(metricValue(metrics, #"recrl_engine_replay_size{arm="single",model="drr-ave"}"#) == 0)
            #expect(engine.learn(updates: 3) == 0, "no replay, no learning")

            // A reload starts a new session store; the counters keep their totals.
            #expect(try await client.post("/admin/reload", json: "{}").status == .ok)
            for n in 0..<5 { _ = try await client.post("/v1/recommend", json: #"{"user": "later\#(n)", "k": 1}"#) }
            metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_session_evictions_total{arm="single",model="drr-ave"}"#) == 7, "\(metrics)")
            #expect(metricValue(metrics, #"recrl_engine_dropped_transitions{arm="single",model="drr-ave"}"#) == 10)
        }
    }
}
