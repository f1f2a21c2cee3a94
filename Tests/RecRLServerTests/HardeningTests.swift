import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
@testable import RecRLServer
import Testing

/// Untrusted input, authentication, log-before-learn, overload: the rules of
/// `recrl serve` in front of real users.
@Suite struct UntrustedInputTests {
    @Test(arguments: [
        // The product of this shape overflows Int: a 400, never a trap.
        (
            #"{"inputs": [{"name": "state", "datatype": "FP32", "shape": [4294967296, 4294967296], "data": [1]}]}"#,
            "field 'inputs[0].shape' has a negative dimension or too many elements"
        ),
        (
            #"{"inputs": [{"name": "state", "datatype": "FP32", "shape": [9223372036854775807, 2], "data": [1]}]}"#,
            "field 'inputs[0].shape' has a negative dimension or too many elements"
        ),
        (
            #"{"inputs": [{"name": "state", "datatype": "FP32", "shape": [-1, 4], "data": [1]}]}"#,
            "field 'inputs[0].shape' has a negative dimension or too many elements"
        ),
        (
            #"{"inputs": [{"name": "state", "datatype": "FP32", "shape": [1000, 1000], "data": [1]}]}"#,
            "field 'inputs[0].shape' has 1000000 elements; the limit is 65536"
        ),
        (
            #"{"inputs": [{"name": "user", "datatype": "BYTES", "shape": [65], "data": ["u"]}]}"#,
            "field 'inputs[0].shape' has a batch of 65; the limit is 64"
        ),
        (
            #"{"inputs": [{"name": "state", "datatype": "FP32", "shape": [1, 2, 2], "data": [1, 2, 3, 4]}]}"#,
            "field 'inputs[0].shape' must have 1 or 2 dimensions, got 3"
        ),
        (
            #"{"inputs": [{"name": "state", "datatype": "FP32", "shape": [2, 4], "data": [1, 2, 3]}]}"#,
            "field 'inputs[0].data': shape [2, 4] needs 8 numbers"
        ),
    ])
    func hostileInferShapesAre400sAndTheServerStaysUp(body: String, message: String) async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v2/models/test-engine/infer", json: body)
            #expect(response.status == .badRequest)
            let error = try #require(response.errorMessage)
            #expect(error.hasPrefix(message), "got: \(error)")
            let live = try await client.get("/v2/health/live")
            #expect(live.status == .ok)
        }
    }

    @Test func inferWithinTheLimitsStillAnswers() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(maxInferBatch: 3, maxInferElements: 12))
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let ok = try await client.post(
                "/v2/models/test-engine/infer",
                json: #"""
                    {"inputs": [{"name": "state", "datatype": "FP32", "shape": [3, 4], "data": [1,0,0,0, 0,1,0,0, 0,0,1,0]}],
                     "parameters": {"k": 2}}
                    """#)
            #expect(ok.status == .ok, "\(ok.text)")
            let tooMany = try await client.post(
                "/v2/models/test-engine/infer",
                json: #"""
                    {"inputs": [{"name": "state", "datatype": "FP32", "shape": [4, 4], "data": [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]}]}
                    """#)
            #expect(tooMany.status == .badRequest)
            #expect(tooMany.errorMessage == "field 'inputs[0].shape' has 16 elements; the limit is 12")
        }
    }

    @Test(arguments: [
        (#"{"user": "u1", "item": "i2", "reward": 1e30}"#, "field 'reward' must be in -1.0...1.0, got 1e+30"),
        (#"{"user": "u1", "item": "i2", "reward": 1e300}"#, "field 'reward' must be a finite number"),
        (#"{"user": "u1", "item": "i2", "reward": -1.5}"#, "field 'reward' must be in -1.0...1.0, got -1.5"),
        (#"{"user": "u1", "item": "i2", "rating": 6}"#, "field 'rating' must be in 1.0...5.0, got 6.0"),
        (#"{"user": "u1", "item": "i2", "rating": -1e38}"#, "field 'rating' must be in 1.0...5.0, got -1e+38"),
    ])
    func offScaleFeedbackIs422AndNotLogged(body: String, message: String) async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/feedback", json: body)
            #expect(response.status == .unprocessableContent)
            #expect(response.errorMessage == message)
        }
        #expect(try fixture.eventLog.count() == 0)
        #expect(fixture.engine.statistics["online_updates"] == 0)
    }

    @Test func clipPolicyClampsOffScaleFeedback() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(outOfScalePolicy: .clip))
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let answer1 = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i2", "reward": 1e30}"#)
            #expect(answer1.status == .ok)
            let answer2 = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i3", "rating": 0}"#)
            #expect(answer2.status == .ok)
            // Non-finite values are refused under every policy.
            let answer3 = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i3", "reward": 1e300}"#)
            #expect(answer3.status == .unprocessableContent)
        }
        let events = try fixture.eventLog.events()
        #expect(events.map(\.reward) == [1, -1])
        #expect(events.map(\.rating) == [nil, 1])
    }

    @Test func validationIsAPureFunctionOfTheBody() throws {
        let configuration = ServerConfiguration()
        let query = try RequestValidation.recommend(Data(#"{"user": "u1", "exclude": ["i1"]}"#.utf8), configuration: configuration)
        #expect(query == RecommendQuery(user: "u1", k: 10, exclude: ["i1"]))
        #expect(throws: RequestError.badRequest("field 'user' is longer than 256 bytes")) {
            try RequestValidation.recommend(Data(#"{"user": "\#(String(repeating: "u", count: 257))"}"#.utf8), configuration: configuration)
        }
        let feedback = try RequestValidation.feedback(Data(#"{"user": "u", "item": "i", "rating": 4, "event_id": "e1"}"#.utf8)) { _ in
            FeedbackScale(rewardRange: -1...1, ratingRange: 1...5)
        }
        #expect(feedback == FeedbackSubmission(user: "u", item: "i", rating: 4, reward: nil, eventID: "e1"))
        #expect(try RequestValidation.reload(Data()) == ReloadQuery(arm: nil))
        #expect(throws: RequestError.self) { try RequestValidation.reload(Data(#"{"path": "/etc"}"#.utf8)) }
        #expect(
            AdminRoutes.withoutPaths("cannot load a DRR model from /srv/models/a: missing '/srv/models/a/manifest.json'")
                == "cannot load a DRR model from <path>: missing '<path>'")
    }

    @Test func internalErrorsDoNotEchoTheirDetails() async throws {
        struct Leaky: Error, CustomStringConvertible { var description: String { "SQLite error 13: INSERT INTO events ... /var/lib/recrl/events.sqlite" } }
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ServerMiddleware(metrics: ServerMetrics(), logger: .init(label: "test")))
        router.get("/boom") { _, _ -> Response in throw Leaky() }
        try await Application(router: router).test(.router) { client in
            let response = try await client.get("/boom")
            #expect(response.status == .internalServerError)
            #expect(response.errorMessage == "internal error (details are in the server log)")
            #expect(!response.text.contains("INSERT") && !response.text.contains("/var/lib"))
        }
    }
}

@Suite struct AuthenticationTests {
    @Test func feedbackAndAdminNeedTheKeyReadsDoNot() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(apiKey: "s3cret-key", adminEnabled: true))
        defer { fixture.cleanUp() }
        let feedback = #"{"user": "u1", "item": "i2", "rating": 4}"#
        try await fixture.server.makeApplication().test(.router) { client in
            let anonymous = try await client.post("/v1/feedback", json: feedback)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == #"Bearer realm="recrl""#)
            #expect(anonymous.errorMessage == "this route requires 'Authorization: Bearer <api key>'")
            for wrong in ["Bearer s3cret-kez", "Bearer s3cret-key2", "Bearer ", "Basic s3cret-key", "s3cret-key"] {
                let response = try await client.execute(
                    uri: "/v1/feedback", method: .post,
                    headers: [.contentType: "application/json", .authorization: wrong],
                    body: ByteBuffer(string: feedback))
                #expect(response.status == .unauthorized, "\(wrong)")
            }
            let reload = try await client.execute(uri: "/admin/reload", method: .post)
            #expect(reload.status == .unauthorized)
            let good = try await client.execute(
                uri: "/v1/feedback", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer s3cret-key"],
                body: ByteBuffer(string: feedback))
            #expect(good.status == .ok, "\(good.text)")
            let authorizedReload = try await client.execute(
                uri: "/admin/reload", method: .post,
                headers: [.authorization: "Bearer s3cret-key"])
            #expect(authorizedReload.status == .ok, "\(authorizedReload.text)")
            // Reads are public.
            let answer4 = try await client.post("/v1/recommend", json: #"{"user": "u1"}"#)
            #expect(answer4.status == .ok)
            let answer5 = try await client.get("/v2/health/ready")
            #expect(answer5.status == .ok)
            let metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_auth_failures_total{route="/v1/feedback"}"#) == 6, "\(metrics)")
            #expect(metricValue(metrics, #"recrl_auth_failures_total{route="/admin/reload"}"#) == 1)
        }
        #expect(try fixture.eventLog.count() == 1)
    }

    @Test func adminRoutesAreOffByDefault() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let reload = try await client.execute(uri: "/admin/reload", method: .post)
            #expect(reload.status == .notFound)
        }
    }

    @Test func keyComparisonIsExact() {
        let key = Array("abc".utf8)
        #expect(RecommendationServer.constantTimeEqual(key, Array("abc".utf8)))
        #expect(!RecommendationServer.constantTimeEqual(key, Array("abd".utf8)))
        #expect(!RecommendationServer.constantTimeEqual(key, Array("ab".utf8)))
        #expect(!RecommendationServer.constantTimeEqual(key, Array("abcc".utf8)))
        #expect(!RecommendationServer.constantTimeEqual(key, []))
    }
}

@Suite struct LogBeforeLearnTests {
    @Test func aRetriedEventIsAcknowledgedButCountedOnce() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        let body = #"{"user": "u1", "item": "i2", "rating": 5, "event_id": "evt-1"}"#
        try await fixture.server.makeApplication().test(.router) { client in
            let first = try await client.post("/v1/feedback", json: body)
            #expect(first.status == .ok)
            #expect(first.object["duplicate"] as? Bool == false)
            let retry = try await client.post("/v1/feedback", json: body)
            #expect(retry.status == .ok)
            #expect(retry.object["duplicate"] as? Bool == true)
            let other = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i3", "rating": 5, "event_id": "evt-2"}"#)
            #expect(other.object["duplicate"] as? Bool == false)
            let plain = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i3", "rating": 5}"#)
            #expect(plain.object["duplicate"] == nil)
            let metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_feedback_duplicates_total{arm="single"}"#) == 1)
            #expect(metricValue(metrics, #"recrl_feedback_events_total{arm="single"}"#) == 3)
        }
        let events = try fixture.eventLog.events()
        #expect(events.map(\.eventID) == ["evt-1", "evt-2", nil])
        #expect(fixture.engine.statistics["online_updates"] == 3, "the retry was not learned again")
    }

    @Test func aFullEventLogRefusesFeedbackTurnsUnreadyAndRecovers() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let answer6 = try await client.post("/v1/feedback", json: #"{"user": "u0", "item": "i1", "reward": 0.5}"#)
            #expect(answer6.status == .ok)
            // Cap the file at its current size: the next page the log needs cannot be allocated.
            let pages = try #require(try fixture.eventLogPageCount())
            try fixture.eventLog.executeOnWriter("PRAGMA max_page_count = \(pages)")
            var refused: TestResponse?
            var accepted = 1
            for n in 0..<5000 {
                let response = try await client.post(
                    "/v1/feedback", json: #"{"user": "user-\#(n)-\#(String(repeating: "x", count: 100))", "item": "i1", "reward": 0.5}"#)
                if response.status == .ok { accepted += 1 } else { refused = response; break }
            }
            let failure = try #require(refused, "the log never filled up")
            #expect(failure.status == .serviceUnavailable)
            #expect(failure.headers[.retryAfter] == "1")
            #expect(failure.errorMessage == "the event log cannot be written; the feedback was not recorded, retry later")
            #expect(!failure.text.contains("INSERT") && !failure.text.contains(fixture.directory.path))
            let answer7 = try await client.get("/v2/health/ready")
            #expect(answer7.status == .serviceUnavailable)
            let answer8 = try await client.get("/v2/health/live")
            #expect(answer8.status == .ok)
            let metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, "recrl_event_log_writable") == 0, "\(metrics)")
            #expect(metricValue(metrics, "recrl_event_log_write_failures_total") == 1)
            #expect(try fixture.eventLog.count() == accepted)
            #expect(fixture.engine.statistics["online_updates"] == Double(accepted), "a refused event is not learned")

            // Room again: readiness recovers by itself (a probe at most once a second).
            try fixture.eventLog.executeOnWriter("PRAGMA max_page_count = 1073741823")
            var ready = false
            for _ in 0..<30 where !ready {
                try await Task.sleep(for: .milliseconds(200))
                ready = try await client.get("/v2/health/ready").status == .ok
            }
            #expect(ready)
            let answer9 = try await client.post("/v1/feedback", json: #"{"user": "u0", "item": "i1", "reward": 0.5}"#)
            #expect(answer9.status == .ok)
            #expect(try fixture.eventLog.count() == accepted + 1, "the probe leaves no row behind")
        }
    }

    @Test func aLogWrittenBeforeEventIDsIsMigrated() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        // The schema and migration record of a log written before `event_id` existed.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1-events');
                    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, item TEXT NOT NULL,
                        reward REAL NOT NULL, rating REAL, timestamp REAL NOT NULL, model_version TEXT NOT NULL, arm TEXT NOT NULL);
                    CREATE INDEX events_arm ON events(arm);
                    INSERT INTO events (user, item, reward, rating, timestamp, model_version, arm)
                        VALUES ('old', 'i1', 0.5, 4, 0, 'v0', 'single');
                    """)
        }
        try queue.close()
        let log = try EventLog(path: path)
        let event = FeedbackEvent(
            user: "new", item: "i2", reward: 1, rating: nil, timestamp: Date(), modelVersion: "v1",
            arm: "single", eventID: "e1")
        let answer10 = try await log.record(event)
        #expect(answer10.duplicate == false)
        let answer11 = try await log.record(event)
        #expect(answer11.duplicate == true)
        let events = try log.events()
        #expect(events.map(\.user) == ["old", "new"])
        #expect(events.map(\.eventID) == [nil, "e1"])
    }
}

@Suite struct OverloadTests {
    /// With every ranking slot taken by requests that block until released, one more gets
    /// 503 with `Retry-After`, and the health routes (on the event loops) answer while the
    /// ranking is still held: if they queued behind it they could not answer before the
    /// release, and the probe's deadline would fail the test.
    @Test func healthAnswersWhileRankingSlotsAreSaturated() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(port: 0, maxConcurrentRanking: 2, rankingThreads: 1))
        defer { fixture.cleanUp() }
        fixture.engine.holdRecommends.withLock { $0 = true }
        defer { fixture.engine.holdRecommends.withLock { $0 = false } }
        let running = try await fixture.server.start()
        let slow = (0..<2).map { n in
            Task { () -> Int in
                let client = LoopbackHTTPClient(port: running.port, timeout: .seconds(120))
                let status = try await client.post("/v1/recommend", json: ["user": "slow\(n)"]).status
                await client.shutdown()
                return status
            }
        }
        let probe = LoopbackHTTPClient(port: running.port, timeout: .seconds(20))
        // Event-based wait with a generous bound: both slow requests admitted.
        let clock = ContinuousClock(), waitStart = clock.now
        while fixture.server.rankingPool.inFlight < 2 && clock.now - waitStart < .seconds(60) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(fixture.server.rankingPool.inFlight == 2)
        let refused = try await probe.post("/v1/recommend", json: ["user": "one-more"])
        #expect(refused.status == 503)
        #expect(refused.headers.contains { $0.name.lowercased() == "retry-after" && $0.value == "1" })
        let live = try await probe.get("/v2/health/live")
        let ready = try await probe.get("/v2/health/ready")
        #expect(live.status == 200 && ready.status == 200)
        #expect(fixture.server.rankingPool.inFlight == 2, "the held requests were still running")
        fixture.engine.holdRecommends.withLock { $0 = false }
        for task in slow {
            let status = try await task.value
            #expect(status == 200)
        }
        let metrics = try await probe.get("/metrics").text
        #expect(metricValue(metrics, #"recrl_overload_rejections_total{route="/v1/recommend"}"#) == 1, "\(metrics)")
        await probe.shutdown()
        try await running.stop()
    }

    @Test func sessionEvictionsOfTheEngineAreExported() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            fixture.engine.evictions.withLock { $0 = 7 }
            var metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_session_evictions_total{arm="single",model="test-engine"}"#) == 7, "\(metrics)")
            fixture.engine.evictions.withLock { $0 = 10 }
            metrics = try await client.get("/metrics").text
            #expect(metricValue(metrics, #"recrl_session_evictions_total{arm="single",model="test-engine"}"#) == 10)
        }
    }
}

extension Fixture {
    /// The event log's `PRAGMA page_count`.
    func eventLogPageCount() throws -> Int? {
        try DatabaseQueue(path: eventLogPath).read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") }
    }
}
