import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import RecRLDRR
import RecRLPostgres
import RecRLServer
import Testing
@testable import recrl

/// The feedback `position` in the event logs: stored and read back (SQLite and
/// PostgreSQL), added to logs written before it existed (old rows read `nil`), exported by
/// `recrl export-events --positions`, and used by the event-log learner to rebuild LIRD's
/// list transitions.
@Suite struct FeedbackPositionTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func event(_ user: String, _ item: String, _ reward: Float, position: Int?, id: String? = nil) -> FeedbackEvent {
        FeedbackEvent(
            user: user, item: item, reward: reward, rating: nil, timestamp: t0, modelVersion: "v1", arm: "single",
            eventID: id, position: position)
    }

    @Test func sqliteStoresExportsAndMigratesPositions() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A log as the release before positions left it (migrations v1…v3), with one row.
        let path = directory.appendingPathComponent("old.sqlite").path
        let queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, item TEXT NOT NULL,
                        reward REAL NOT NULL, rating REAL, timestamp REAL NOT NULL, model_version TEXT NOT NULL, arm TEXT NOT NULL);
                    CREATE INDEX events_arm ON events(arm);
                    INSERT INTO events (user, item, reward, rating, timestamp, model_version, arm) VALUES ('u0', 'i9', 1, NULL, 1700000000, 'v0', 'single');
                    """)
        }
        migrator.registerMigration("v2-event-id") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN event_id TEXT; CREATE UNIQUE INDEX events_event_id ON events(event_id);")
        }
        migrator.registerMigration("v3-impressions") { db in try db.execute(sql: EventLog.impressionsSchema) }
        try migrator.migrate(queue)
        try queue.close()

        let log = try EventLog(path: path)
        try await log.append(Self.event("u1", "i2", 1, position: 2, id: "a"))
        try await log.append(Self.event("u1", "i3", -0.5, position: nil))
        try await log.append(Self.event("u1", "i4", 0.5, position: 0))
        #expect(try log.events().map(\.position) == [nil, 2, nil, 0])
        #expect(try log.events(after: 1, limit: 1).first?.position == 2)
        // A duplicate returns the stored event with its position.
        let again = try await log.record(Self.event("u1", "i2", 1, position: 5, id: "a"))
        #expect(again.duplicate && again.event.position == 2)
        // Reopening applies nothing new and reads the same rows.
        #expect(try EventLog(path: path).events() == log.events())

        // export-events: the CSV is unchanged by default; --positions adds the column.
        let plain = directory.appendingPathComponent("plain.csv"), with = directory.appendingPathComponent("with.csv")
        #expect(commandMessage(ExportEvents.self, ["--events", path, "--out", plain.path]) == nil)
        #expect(commandMessage(ExportEvents.self, ["--events", path, "--out", with.path, "--positions"]) == nil)
        #expect(try String(contentsOf: plain, encoding: .utf8).split(separator: "\n").first == "user,item,rating,timestamp")
        let lines = try String(contentsOf: with, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            Array(lines.prefix(5)) == [
                "user,item,rating,timestamp,position", "u0,i9,5.0,1700000000,", "u1,i2,5.0,1700000000,2",
                "u1,i3,2.0,1700000000,", "u1,i4,4.0,1700000000,0",
            ])
    }

    /// Feedback posted with a position is logged with it.
    @Test func theServerLogsTheFeedbackPosition() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyLIRDModel(in: directory, name: "lird", listSize: 2, seed: 1)
        let eventLog = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        let server = RecommendationServer(
            mode: .single(ServedModel(engine: try makeEngine(modelDirectory: modelDirectory), directory: modelDirectory)),
            eventLog: eventLog)
        try await server.makeApplication().test(.router) { client in
            let first = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i1", "reward": 1, "position": 1}"#)
            let second = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i2", "reward": 1}"#)
            #expect(first.status == .ok && second.status == .ok)
        }
        #expect(try eventLog.events().map(\.position) == [1, nil])
    }

    /// `recrl learn`'s learner on a LIRD model: lists logged with their positions become
    /// list transitions, so it applies DDPG updates; the same events without positions give
    /// the list model nothing to learn from.
    @Test func theEventLogLearnerRebuildsListTransitionsFromPositions() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let initial = try DRRModelStore.load(from: try saveTinyLIRDModel(in: directory, name: "lird", listSize: 3, seed: 2))
        func learn(withPositions: Bool) async throws -> EventLogLearner {
            let log = try EventLog(path: directory.appendingPathComponent("events-\(withPositions).sqlite").path)
            for u in 0..<12 {
                for position in 0..<3 {
                    let item = (u * 3 + position) % 40
                    try await log.append(
                        Self.event("u\(u)", "i\(item)", item < 8 ? 1 : -0.5, position: withPositions ? position : nil))
                }
            }
            let registry = ModelRegistry(directory: directory.appendingPathComponent("registry-\(withPositions)"))
            var settings = EventLogLearner.Settings()
            settings.publishEveryUpdates = 1_000_000
            let learner = try EventLogLearner(
                log: log, publisher: RegistryPublisher(registry: registry), initial: initial, settings: settings)
            while try await learner.step().events > 0 {}
            #expect(learner.learnedEvents == 36)
            return learner
        }
        let withPositions = try await learn(withPositions: true)
        #expect(withPositions.updates > 0, "12 list transitions fill a batch of 8")
        #expect(withPositions.currentModel.checkpointTensors != initial.model.learner.checkpointTensors())
        let without = try await learn(withPositions: false)
        #expect(without.updates == 0)
    }

    /// `recrl learn`'s learner on a DeepPage model (2 × 2 pages): the events of one request
    /// with their row-major positions become one page transition of ``OnlineDeepPage``, so
    /// it applies DDPG updates; the published version is a DeepPage model of the registry
    /// that loads and serves pages, and a restarted learner resumes from it. A log without
    /// positions is refused by ``EventLogLearner/requirePositions()`` and learns nothing.
    @Test func theEventLogLearnerRebuildsDeepPagePagesFromPositions() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyDeepPageModel(in: directory, name: "deeppage", seed: 3)
        let initial = try LearnerModel.load(from: modelDirectory)
        guard case .deepPage = initial.model else { Issue.record("a DeepPage model loads as .deepPage"); return }
        func fill(_ log: EventLog, withPositions: Bool) async throws {
            // 12 users × 2 pages of 4 distinct items; one request per page.
            for u in 0..<12 {
                for page in 0..<2 {
                    for position in 0..<4 {
                        let item = (u * 8 + page * 4 + position) % 40
                        var event = Self.event("u\(u)", "i\(item)", item % 3 == 0 ? 1 : -0.5, position: withPositions ? position : nil)
                        event.requestID = "r-\(u)-\(page)"
                        try await log.append(event)
                    }
                }
            }
        }
        var settings = EventLogLearner.Settings()
        settings.publishEveryUpdates = 1_000_000
        settings.gateMinimumEvents = 0
        settings.gateTolerance = 1

        let log = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        try await fill(log, withPositions: true)
        let registry = ModelRegistry(directory: directory.appendingPathComponent("registry"))
        let publisher = RegistryPublisher(registry: registry)
        let learner = try EventLogLearner(log: log, publisher: publisher, initial: initial, settings: settings)
        try await learner.requirePositions()
        while try await learner.step().events > 0 {}
        #expect(learner.learnedEvents == 96 && learner.skippedEvents == 0)
        #expect(learner.updates > 0, "24 page transitions fill a batch of 8")
        #expect(learner.currentModel.checkpointTensors != initial.model.checkpointTensors)
        let publication = try learner.publish()
        #expect(publication.promoted && publication.lastEventID == 96)
        #expect(publication.gatedEvents == 34, "one gated event per positive reward")
        let (published, manifest) = try registry.loadDeepPage(version: publication.version)
        #expect(published.learner.checkpointTensors() == learner.currentModel.checkpointTensors)
        #expect(manifest.policy == DRRModelStore.deepPagePolicy)
        let page = try OnlineDeepPage(model: published, manifest: manifest, learns: false).recommend(user: "u1").items
        #expect(page.count == 4 && Set(page.map(\.id)).count == 4)
        let resumed = try EventLogLearner(log: log, publisher: publisher, initial: initial, settings: settings)
        #expect(resumed.lastEventID == 96)
        #expect(resumed.currentModel.checkpointTensors == learner.currentModel.checkpointTensors)

        // The same events without positions: refused up front, and skipped when stepped.
        let plain = try EventLog(path: directory.appendingPathComponent("plain.sqlite").path)
        try await fill(plain, withPositions: false)
        let refusing = try EventLogLearner(
            log: plain, publisher: RegistryPublisher(registry: ModelRegistry(directory: directory.appendingPathComponent("plain"))),
            initial: initial, settings: settings)
        await #expect(throws: EventLogLearner.MissingPositions.self) { try await refusing.requirePositions() }
        while try await refusing.step().events > 0 {}
        #expect(refusing.skippedEvents == 96 && refusing.learnedEvents == 0 && refusing.updates == 0)
    }

    /// A DeepPage page is rebuilt per request: an event of another request before the page
    /// is complete drops the incomplete page (counted), and a complete page is one
    /// transition in the replay.
    @Test func loggedPagesAreCutAtANewRequest() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (model, manifest) = try DRRModelStore.loadDeepPage(from: try saveTinyDeepPageModel(in: directory, name: "dp", seed: 5))
        let online = OnlineDeepPage(model: model, manifest: manifest)
        _ = try online.observeLogged(user: "u", item: "i1", reward: 1, position: 0, requestID: "a")
        _ = try online.observeLogged(user: "u", item: "i2", reward: 1, position: 1, requestID: "a")
        let state = try online.observeLogged(user: "u", item: "i3", reward: 1, position: 0, requestID: "b")
        #expect(online.droppedTransitions == 1 && online.replayCount == 0)
        #expect(state.pages.isEmpty, "the incomplete page is not part of the state")
        for (position, item) in ["i4", "i5", "i6"].enumerated() {
            _ = try online.observeLogged(user: "u", item: item, reward: 0, position: position + 1, requestID: "b")
        }
        #expect(online.replayCount == 1)
        let after = try online.observeLogged(user: "u", item: "i7", reward: 1, position: 9, requestID: "c")
        #expect(after.pages.map(\.items) == [[3, 4, 5, 6]] && after.pages[0].rewards == [1, 0, 0, 0])
        #expect(throws: OnlineError.self) { try online.observeLogged(user: "u", item: "i1", reward: 1, position: -1) }
    }
}

/// The position column of the PostgreSQL log (the throw-away cluster of `make test`).
@Suite(.enabled(if: PostgresTest.enabled)) struct PostgresFeedbackPositionTests {
    /// A log migrated before positions existed gains the column: its rows and those the
    /// previous release's 9-argument append function still writes read `nil`; new rows keep
    /// their position.
    @Test func positionsRoundTripAndOldLogsMigrate() async throws {
        try await PostgresTest.withScratchDatabase { url in
            let database = try PostgresPool(url: url)
            defer { database.close() }
            #expect(try await database.migrate(Array(PostgresEventLog.migrations.prefix(2))) == ["events/v1", "events/v2-impressions"])
            let sql = "SELECT row_id FROM recrl_append_event('u0', 'i0', 1.0, NULL, 0.0, 'v0', 'single', 'old-1', 'r-0')"
            _ = try await database.withConnection("old append") { connection in
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: .init(label: "test"))
            }
            let log = try await PostgresEventLog(database: database)
            try await log.append(FeedbackPositionTests.event("u1", "i2", 1, position: 2, id: "new-1"))
            try await log.append(FeedbackPositionTests.event("u1", "i3", -1, position: nil))
            _ = try await database.withConnection("old append") { connection in
                try await connection.query(PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "old-1", with: "old-2")), logger: .init(label: "test"))
            }
            let events = try await log.events(arm: nil)
            #expect(events.map(\.eventID) == ["old-1", "new-1", nil, "old-2"])
            #expect(events.map(\.position) == [nil, 2, nil, nil])
            let duplicate = try await log.record(FeedbackPositionTests.event("u1", "i2", 1, position: 7, id: "new-1"))
            #expect(duplicate.duplicate && duplicate.event.position == 2)
            #expect(try await log.events(after: events[0].id!, limit: 1).first?.position == 2)
        }
    }
}
