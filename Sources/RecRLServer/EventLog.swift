import Foundation
import GRDB

/// One piece of feedback as stored in the ``EventLog``.
public struct FeedbackEvent: Sendable, Codable, Equatable {
    /// Row id, increasing in insertion order (`nil` before the event is stored).
    public var id: Int64?
    /// The user who gave the feedback.
    public var user: String
    /// The item the feedback is about.
    public var item: String
    /// The normalised reward the engine learned from.
    public var reward: Float
    /// The explicit rating, when the client sent one instead of a reward.
    public var rating: Float?
    /// When the server received the feedback.
    public var timestamp: Date
    /// ``RecommendationEngine/modelVersion`` of the engine that observed the feedback.
    public var modelVersion: String
    /// The A/B arm of the user: `"control"`, `"treatment"`, or `"single"` when the
    /// server runs one engine.
    public var arm: String
    /// The client's idempotency key (`event_id` of the feedback request), unique in the
    /// log; `nil` when the client sent none.
    public var eventID: String?
    /// The `request_id` of the recommendation (``ImpressionRecord``) the feedback is
    /// about, when the client sent one; joins feedback to impressions for off-policy
    /// evaluation.
    public var requestID: String?
    /// Where the item was shown in the recommended list or page (0 first; row-major for a
    /// page), when the client sent it (`position` of the feedback request). A list model's
    /// learner rebuilds list transitions from it (``EventLogLearner``); `nil` for events
    /// without one and for events logged before the column existed.
    public var position: Int?

    /// An event; `id` is assigned by ``EventLog/append(_:)``.
    public init(
        id: Int64? = nil, user: String, item: String, reward: Float, rating: Float?,
        timestamp: Date, modelVersion: String, arm: String, eventID: String? = nil, requestID: String? = nil,
        position: Int? = nil
    ) {
        self.id = id; self.user = user; self.item = item; self.reward = reward; self.rating = rating
        self.timestamp = timestamp; self.modelVersion = modelVersion; self.arm = arm; self.eventID = eventID
        self.requestID = requestID; self.position = position
    }
}

/// A durable, append-only log of feedback events in SQLite (through GRDB): the embedded
/// ``FeedbackEventLog`` of a single `recrl serve` process.
///
/// The database runs in WAL mode with `synchronous = FULL`, so ``append(_:)`` returns
/// only after the event is on disk: an acknowledged event survives a crash or a power
/// loss. Table `events`: `id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT, item TEXT,
/// reward REAL, rating REAL NULL, timestamp REAL (Unix seconds), model_version TEXT,
/// arm TEXT, event_id TEXT NULL, request_id TEXT NULL` with a unique index on `event_id`
/// (migration `v2-event-id` adds the column and index to a log written before it existed)
/// and an index on `request_id`. Migration `v3-impressions` adds `request_id` and the
/// table `impressions` of served slates (see ``ImpressionRecord`` and
/// ``EventLog/impressionsSchema``); an impression is committed under the same durability
/// rules before the recommendation is answered. Migration `v4-position` adds
/// `position INTEGER NULL` (``FeedbackEvent/position``; rows written before it read `nil`).
///
/// Write health: when an append fails (disk full, read-only file, ...) the log is
/// marked failing (``isWritable`` false) until a write succeeds again: the next
/// successful append, or the probe ``checkWritable()`` runs at most once a second while
/// the log is failing (a row as large as the largest valid event, inserted and deleted
/// in one committed transaction, so it succeeds only when any event would fit), so readiness recovers by itself once the disk has room again.
///
/// ```swift
/// let log = try EventLog(path: "events.sqlite")
/// try await log.append(FeedbackEvent(user: "u1", item: "i7", reward: 0.5, rating: 4,
///                                    timestamp: Date(), modelVersion: "v3", arm: "single"))
/// try log.exportInteractionsCSV(to: URL(fileURLWithPath: "interactions.csv"))
/// ```
public final class EventLog: FeedbackEventLog {
    /// The SQLite file.
    public let path: String
    let pool: DatabasePool
    /// Whether the last write failed, and when the last probe ran.
    let health = WriteHealth()

    /// Opens (creating if needed) the event log at `path`.
    /// - Throws: a GRDB `DatabaseError` when the file cannot be opened or is not a
    ///   RecRL event log.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB sets `synchronous = NORMAL` on the writer connection when it enables WAL
        // (after `prepareDatabase` runs), which may lose the last commits on power loss.
        // The pool keeps one writer connection for its lifetime, so set FULL on it here.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL,
                        item TEXT NOT NULL,
                        reward REAL NOT NULL,
                        rating REAL,
                        timestamp REAL NOT NULL,
                        model_version TEXT NOT NULL,
                        arm TEXT NOT NULL
                    );
                    CREATE INDEX events_arm ON events(arm);
                    """)
        }
        migrator.registerMigration("v2-event-id") { db in
            try db.execute(
                sql: """
                    ALTER TABLE events ADD COLUMN event_id TEXT;
                    CREATE UNIQUE INDEX events_event_id ON events(event_id);
                    """)
        }
        migrator.registerMigration("v3-impressions") { db in
            try db.execute(sql: Self.impressionsSchema)
        }
        migrator.registerMigration("v4-position") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN position INTEGER")
        }
        try migrator.migrate(pool)
    }

    /// The result of ``record(_:)``.
    public typealias Recorded = RecordedEvent

    /// The SQLite file (``path``).
    public var location: String { path }

    /// Whether the last write succeeded (see the type's documentation on write health).
    public var isWritable: Bool { health.isWritable }

    /// ``isWritable``, after a probe write when the log is failing and the last probe is
    /// more than a second old.
    public func checkWritable() async -> Bool {
        await health.probeIfDue {
            try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO events (user, item, reward, rating, timestamp, model_version, arm, event_id)
                        VALUES (?, ?, 0, NULL, 0, ?, 'probe', NULL)
                        """,
                    arguments: [
                        String(repeating: "p", count: RequestValidation.maxIDBytes),
                        String(repeating: "p", count: RequestValidation.maxIDBytes), "probe",
                    ])
                try db.execute(sql: "DELETE FROM events WHERE id = ?", arguments: [db.lastInsertedRowID])
            }
        }
    }

    /// Appends `event` durably unless an event with the same ``FeedbackEvent/eventID``
    /// is already stored. The write is committed (WAL, `synchronous = FULL`) before this
    /// returns. A failed write marks the log failing (``isWritable``) and rethrows
    /// GRDB's error, whose text may hold SQL: log it, do not show it to clients.
    public func record(_ event: FeedbackEvent) async throws -> Recorded {
        try await health.tracking {
            let (id, inserted) = try await pool.write { db -> (Int64, Bool) in
                try db.execute(
                    sql: """
                        INSERT INTO events (user, item, reward, rating, timestamp, model_version, arm, event_id, request_id, position)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(event_id) DO NOTHING
                        """,
                    arguments: [
                        event.user, event.item, Double(event.reward), event.rating.map { Double($0) },
                        event.timestamp.timeIntervalSince1970, event.modelVersion, event.arm, event.eventID,
                        event.requestID, event.position,
                    ])
                if db.changesCount > 0 { return (db.lastInsertedRowID, true) }
                let existing =
                    try Int64.fetchOne(
                        db, sql: "SELECT id FROM events WHERE event_id = ?",
                        arguments: [event.eventID]) ?? -1
                return (existing, false)
            }
            if inserted {
                var stored = event
                stored.id = id
                return Recorded(event: stored, duplicate: false)
            }
            let first = try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM events WHERE id = ?", arguments: [id]) }
            return Recorded(event: first.map(Self.event(from:)) ?? event, duplicate: true)
        }
    }

    /// The durability settings of the writer connection: the journal mode (`"wal"`)
    /// and `PRAGMA synchronous` (2 = FULL).
    public func durabilitySettings() throws -> (journalMode: String, synchronous: Int) {
        try pool.write { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            )
        }
    }

    /// Number of stored events.
    public func count() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0 }
    }

    /// At most `limit` events with a row id greater than `id`, in id order. SQLite has
    /// one writer at a time, so ids are committed in increasing order.
    public func events(after id: Int64, limit: Int) throws -> [FeedbackEvent] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", arguments: [id, max(0, limit)])
                .map(Self.event(from:))
        }
    }

    /// All events in insertion order, or only those of `arm` when it is given.
    public func events(arm: String? = nil) throws -> [FeedbackEvent] {
        try pool.read { db in
            let rows: [Row]
            if let arm {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM events WHERE arm = ? ORDER BY id", arguments: [arm])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY id")
            }
            return rows.map(Self.event(from:))
        }
    }

    private static func event(from row: Row) -> FeedbackEvent {
        let rating: Double? = row["rating"]
        let reward: Double = row["reward"]
        let seconds: Double = row["timestamp"]
        return FeedbackEvent(
            id: row["id"], user: row["user"], item: row["item"],
            reward: Float(reward), rating: rating.map { Float($0) },
            timestamp: Date(timeIntervalSince1970: seconds),
            modelVersion: row["model_version"], arm: row["arm"], eventID: row["event_id"],
            requestID: row["request_id"], position: row["position"])
    }

    /// Runs `sql` on the writer connection (tests use it to set `PRAGMA max_page_count`).
    func executeOnWriter(_ sql: String) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    /// The rating written to the interactions CSV for an event that has only a reward:
    /// the inverse of the DRR normalisation `reward = (rating − 3) / 2`, i.e.
    /// `rating = 3 + 2·reward`, clamped to the 1…5 star scale.
    public static func defaultRatingFromReward(_ reward: Float) -> Float {
        min(5, max(1, 3 + 2 * reward))
    }

    /// Writes every event as the generic interactions CSV that `recrl train` reads:
    /// header `user,item,rating,timestamp` (with `includePositions`, a fifth column
    /// `position`: ``FeedbackEvent/position``, empty when the event has none; the loader
    /// reads columns by name and ignores it), one row per event in insertion order; the
    /// rating is the event's rating when present, otherwise `ratingFromReward(reward)`;
    /// the timestamp is in whole Unix seconds. Fields are quoted per RFC 4180 when they
    /// contain a comma, a quote or a line break. Rows are streamed from the database
    /// into a temporary file that then replaces `url`, so a reader never sees a partial
    /// export.
    /// - Returns: the number of rows written (without the header).
    @discardableResult
    public func exportInteractionsCSV(
        to url: URL,
        ratingFromReward: (Float) -> Float = EventLog.defaultRatingFromReward,
        includePositions: Bool = false
    ) throws -> Int {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        var moved = false
        defer { if !moved { try? FileManager.default.removeItem(at: temporary) } }
        let handle = try FileHandle(forWritingTo: temporary)
        var count = 0
        do {
            var chunk = includePositions ? "user,item,rating,timestamp,position\n" : "user,item,rating,timestamp\n"
            try pool.read { db in
                let rows = try Row.fetchCursor(db, sql: "SELECT user, item, reward, rating, timestamp, position FROM events ORDER BY id")
                while let row = try rows.next() {
                    let user: String = row["user"], item: String = row["item"]
                    let reward: Double = row["reward"], rating: Double? = row["rating"], seconds: Double = row["timestamp"]
                    let value = rating.map { Float($0) } ?? ratingFromReward(Float(reward))
                    chunk += "\(Self.csvField(user)),\(Self.csvField(item)),\(value),\(Int64(seconds.rounded(.down)))"
                    if includePositions {
                        let position: Int? = row["position"]
                        chunk += ",\(position.map(String.init) ?? "")"
                    }
                    chunk += "\n"
                    count += 1
                    if chunk.utf8.count >= 1 << 16 {
                        try handle.write(contentsOf: Data(chunk.utf8))
                        chunk = ""
                    }
                }
            }
            try handle.write(contentsOf: Data(chunk.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        // rename(2) replaces an existing file atomically.
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(
                .fileWriteUnknown,
                userInfo: [
                    NSFilePathErrorKey: url.path,
                    NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO),
                ])
        }
        moved = true
        return count
    }

    static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
