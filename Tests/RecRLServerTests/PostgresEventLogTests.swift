import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLDRR
import RecRLEvaluation
import RecRLPostgres
import RecRLServer
import RecRLTensor
import Testing

@Suite struct PostgresSettingsTests {
    @Test func parsesURLsAndRedactsThePassword() throws {
        let settings = try PostgresSettings(url: "postgres://app:s%40cret@db.example:6543/recrl?sslmode=require")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6543)
        #expect(settings.username == "app")
        #expect(settings.password == "s@cret")
        #expect(settings.database == "recrl")
        #expect(settings.sslMode == "require")
        #expect(settings.redactedURL == "postgres://app:***@db.example:6543/recrl")
        let defaults = try PostgresSettings(url: "postgresql://app@127.0.0.1/events")
        #expect(defaults.port == 5432 && defaults.password == nil && defaults.sslMode == "prefer")
        #expect(defaults.redactedURL == "postgres://app@127.0.0.1:5432/events")
        #expect(PostgresSettings.isPostgresURL("postgres://x@y/z"))
        #expect(!PostgresSettings.isPostgresURL("events.sqlite"))
    }

    @Test func rejectsUnusableURLs() {
        func error(_ url: String) -> String {
            do { _ = try PostgresSettings(url: url); return "parsed" } catch { return "\(error)" }
        }
        #expect(error("events.sqlite") == "invalid PostgreSQL URL: expected postgres://user[:password]@host[:port]/database")
        #expect(error("postgres://app@host") == "invalid PostgreSQL URL: no database name after the host")
        #expect(error("postgres://host/db") == "invalid PostgreSQL URL: no user name")
        #expect(error("postgres://app:pw@host/db?sslmode=maybe") == "invalid PostgreSQL URL: sslmode must be disable, prefer or require")
        #expect(error("postgres://app@host/db?timeout=3") == "invalid PostgreSQL URL: unknown parameter 'timeout' (only sslmode is understood)")
    }
}

/// The PostgreSQL event log against the throw-away cluster of `make test` (skipped
/// without `RECRL_TEST_POSTGRES_URL` unless `CI` is set: then they fail).
@Suite(.enabled(if: PostgresTest.enabled)) struct PostgresEventLogTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000.25)

    @Test func storesEventsLikeTheSQLiteLogOncePerEventID() async throws {
        try await PostgresTest.withScratchDatabase { url in
            let log = try await PostgresEventLog(database: PostgresTest.pool(url))
            defer { log.database.close() }
            let first = try await log.record(
                FeedbackEvent(
                    user: "ü1, \"quoted\"", item: "i3", reward: 0.5, rating: 4,
                    timestamp: Self.t0, modelVersion: "v1", arm: "control", eventID: "e-1"))
            #expect(!first.duplicate)
            let firstID = try #require(first.event.id)
            let again = try await log.record(
                FeedbackEvent(
                    user: "other", item: "i9", reward: -1, rating: nil,
                    timestamp: Date(), modelVersion: "v2", arm: "treatment", eventID: "e-1"))
            #expect(again.duplicate)
            #expect(again.event == first.event, "a duplicate returns the event stored first")
            let second = try await log.append(
                FeedbackEvent(
                    user: "u2", item: "i4", reward: -0.25, rating: nil,
                    timestamp: Self.t0, modelVersion: "v1", arm: "treatment"))
            #expect(try #require(second.id) > firstID)
            #expect(try await log.count() == 2)
            let all = try await log.events(arm: nil)
            #expect(all == [first.event, second])
            #expect(all[0].rating == 4 && all[1].rating == nil && all[0].timestamp == Self.t0)
            #expect(try await log.events(arm: "treatment") == [second])
            #expect(try await log.events(after: firstID, limit: 10) == [second])
            #expect(try await log.events(after: 0, limit: 1) == [first.event])
            // Migrations are versioned: a second open (another replica) applies none.
            #expect(try await log.database.migrate(PostgresEventLog.migrations).isEmpty)
            let reopened = try await PostgresEventLog(database: PostgresTest.pool(url))
            defer { reopened.database.close() }
            #expect(try await reopened.count() == 2)
            #expect(log.isWritable)
            #expect(await log.checkWritable())
        }
    }

    /// `--serving-policy` on a PostgreSQL log: each slate is committed as an impression
    /// before it is answered, feedback keeps its `request_id`, and the rows read back equal
    /// what the SQLite log stores.
    @Test func servedSlatesAreLoggedAsImpressionsWithTheirRequestIDs() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyModel(in: directory, name: "model", seed: 1)
        try await PostgresTest.withScratchDatabase { url in
            let log = try await PostgresEventLog(database: PostgresTest.pool(url))
            defer { log.database.close() }
            let policy = ServingPolicy.epsilonGreedy(epsilon: 0.5, pool: 6)
            let server = RecommendationServer(
                mode: .single(ServedModel(engine: try DRREngine(directory: modelDirectory), directory: modelDirectory)),
                eventLog: log, configuration: ServerConfiguration(servingPolicy: policy, servingSeed: 3))
            let (requestIDs, slates) = try await server.makeApplication().test(.router) { client in
                var requestIDs: [String] = []
                var slates: [[String]] = []
                for _ in 0..<5 {
                    let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 3}"#)
                    #expect(response.status == .ok)
                    requestIDs.append(try #require(response.object["request_id"] as? String))
                    slates.append(response.recommendedItems.map(\.item))
                }
                let body = #"{"user": "u1", "item": "\#(slates[0][1])", "reward": 0.5, "request_id": "\#(requestIDs[0])"}"#
                #expect(try await client.post("/v1/feedback", json: body).status == .ok)
                #expect(try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i3", "reward": 1}"#).status == .ok)
                return (requestIDs, slates)
            }
            let stored = try await log.impressions()
            #expect(stored.map(\.requestID) == requestIDs)
            #expect(stored.map(\.items) == slates)
            #expect(stored.map { $0.id ?? 0 } == stored.map { $0.id ?? 0 }.sorted())
            for impression in stored {
                #expect(impression.servingPolicy == policy.description && impression.arm == "single" && impression.user == "u1")
                #expect(impression.propensities.count == 3 && impression.propensities.allSatisfy { $0 > 0 && $0 <= 1 })
                #expect(impression.slatePropensity > 0 && impression.slatePropensity <= 1)
            }
            #expect(try await log.events(arm: nil).map(\.requestID) == [requestIDs[0], nil])

            // The same impression twice is refused (request ids are unique), and the log says so.
            await #expect(throws: (any Error).self) { try await log.recordImpression(stored[0]) }
            #expect(!log.isWritable)
        }
    }

    /// A log written before impressions existed gains them: its rows keep a NULL
    /// `request_id`, and the previous release's append function keeps working beside the new one.
    @Test func aLogWrittenBeforeImpressionsMigrates() async throws {
        try await PostgresTest.withScratchDatabase { url in
            let database = try PostgresTest.pool(url)
            defer { database.close() }
            #expect(try await database.migrate(Array(PostgresEventLog.migrations.prefix(1))) == ["events/v1"])
            try await database.withConnection("old append") { connection in
                try await connection.query(
                    """
                    SELECT row_id FROM recrl_append_event('u1', 'i1', 1.0, NULL, 0.0, 'v0', 'single', 'old-1')
                    """, logger: .init(label: "test"))
            }
            let log = try await PostgresEventLog(database: database)
            #expect(try await database.migrate(PostgresEventLog.migrations).isEmpty)
            let new = try await log.append(
                FeedbackEvent(
                    user: "u2", item: "i2", reward: 1, rating: nil, timestamp: Self.t0,
                    modelVersion: "v1", arm: "single", eventID: "new-1", requestID: "r-1"))
            try await database.withConnection("old append") { connection in
                try await connection.query(
                    """
                    SELECT row_id FROM recrl_append_event('u3', 'i3', 1.0, NULL, 0.0, 'v0', 'single', 'old-2')
                    """, logger: .init(label: "test"))
            }
            let events = try await log.events(arm: nil)
            #expect(events.map(\.eventID) == ["old-1", "new-1", "old-2"])
            #expect(events.map(\.requestID) == [nil, "r-1", nil])
            #expect(events[1] == new)
            #expect(try await log.impressions().isEmpty)
        }
    }

    /// Appends from many connections at once commit in id order: a reader that resumes
    /// from the last id it saw collects every event exactly once.
    @Test func aTailingReaderMissesNothingUnderConcurrentAppends() async throws {
        try await PostgresTest.withScratchDatabase { url in
            let log = try await PostgresEventLog(database: PostgresTest.pool(url))
            defer { log.database.close() }
            let writers = 4, perWriter = 40
            let done = Locked(false)
            async let tailed: [Int64] = {
                var seen: [Int64] = [], last: Int64 = 0
                while true {
                    let finished = done.withLock { $0 }
                    let batch = try await log.events(after: last, limit: 7)
                    seen += batch.compactMap(\.id)
                    last = seen.last ?? last
                    if batch.isEmpty && finished { return seen }
                }
            }()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        for n in 0..<perWriter {
                            try await log.append(
                                FeedbackEvent(
                                    user: "w\(w)", item: "i\(n)", reward: 1, rating: nil,
                                    timestamp: Date(), modelVersion: "v", arm: "single", eventID: "\(w)-\(n)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            done.withLock { $0 = true }
            let ids = try await tailed
            let stored = try await log.events(arm: nil).compactMap(\.id)
            #expect(stored.count == writers * perWriter)
            #expect(ids == stored, "the tail saw every committed event once, in id order")
        }
    }

    /// Feedback while the database is down gets 503 (never an acknowledgement of an event
    /// that is not committed) and readiness turns false; both recover after the restart
    /// without restarting the server, and every acknowledged event is in the log once.
    @Test func feedbackGets503WhileTheDatabaseIsDownAndRecovers() async throws {
        let cluster = try PrivatePostgresCluster()
        defer { cluster.stop() }
        var settings = try PostgresSettings(url: cluster.url)
        settings.operationTimeout = 3
        settings.connectTimeout = 0.5
        let log = try await PostgresEventLog(database: PostgresPool(settings: settings))
        defer { log.database.close() }
        let server = RecommendationServer(mode: .single(ServedModel(engine: TestEngine())), eventLog: log)
        try await server.makeApplication().test(.router) { client in
            var acknowledged: [String] = []
            func send(_ id: String) async throws -> HTTPResponse.Status {
                let answer = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i2", "reward": 1, "event_id": "\#(id)"}"#)
                if answer.status == .ok { acknowledged.append(id) }
                return answer.status
            }
            #expect(try await send("before-1") == .ok)
            #expect(try await send("before-2") == .ok)
            try cluster.pause()
            #expect(try await send("down-1") == .serviceUnavailable)
            #expect(try await client.get("/v2/health/ready").status == .serviceUnavailable)
            #expect(!log.isWritable)
            try cluster.resume()
            var status = HTTPResponse.Status.serviceUnavailable
            for _ in 0..<40 where status != .ok {
                status = try await send("down-1")  // the client's retry of the refused event
                if status != .ok { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(status == .ok)
            #expect(try await send("after-1") == .ok)
            #expect(try await client.get("/v2/health/ready").status == .ok)
            let stored = try await log.events(arm: nil).compactMap(\.eventID)
            #expect(stored == ["before-1", "before-2", "down-1", "after-1"])
            #expect(Set(acknowledged) == Set(stored))
        }
    }
}
