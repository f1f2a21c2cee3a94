import Foundation
import Logging
import PostgresNIO
import RecRLServer

/// The ``FeedbackEventLog`` of the scaled-out shape: the same events as the SQLite
/// ``EventLog``, in a PostgreSQL table every serving replica appends to and the learner
/// (`recrl learn`) tails.
///
/// Schema (migrations `events/v1`…, see ``migrations``): table `events` with
/// `id BIGSERIAL PRIMARY KEY, "user" TEXT, item TEXT, reward DOUBLE PRECISION,
/// rating DOUBLE PRECISION NULL, "timestamp" DOUBLE PRECISION (Unix seconds),
/// model_version TEXT, arm TEXT, event_id TEXT NULL UNIQUE, request_id TEXT NULL,
/// position INTEGER NULL`, and
/// table `impressions` (the served slates of `recrl serve --serving-policy`, see
/// ``ImpressionRecord``): the SQLite log's columns (``EventLog/impressionsSchema``), with
/// `items` and `propensities` as the same JSON arrays.
///
/// Durability: ``record(_:)`` returns once the insert is committed with
/// `synchronous_commit = on` (the WAL is flushed on the database server), so an
/// acknowledged event survives a crash of the replica or of the database. A failure or a
/// timeout (``PostgresSettings/operationTimeout``) throws, and the server answers 503;
/// an insert that committed just before a timeout is found again by a retry with the
/// same `event_id` (acknowledged as a duplicate).
///
/// Order: appends run the SQL function `recrl_append_event`, which takes a transaction
/// advisory lock before it draws the row id, so rows commit in id order. A reader of
/// ``events(after:limit:)`` that resumes from the last id it processed therefore never
/// misses a row that commits later with a smaller id. The price is one commit at a time
/// across all replicas (the write rate is bounded by the database's commit latency);
/// sharding the log by user lifts it.
///
/// Write health as in ``EventLog``: a failed append marks the log failing until an
/// append or the probe of ``checkWritable()`` (an upsert into `recrl_write_probe`, at
/// most once a second) succeeds.
public final class PostgresEventLog: FeedbackEventLog {
    /// The pool the log uses.
    public let database: PostgresPool
    private let health = WriteHealth()

    /// The database URL without the password.
    public var location: String { database.settings.redactedURL }

    /// The schema, in order (the SQLite log's columns; `"user"` and `"timestamp"` are
    /// quoted because they are keywords in PostgreSQL).
    public static let migrations: [PostgresPool.Migration] = [
        .init(
            version: "events/v1",
            statements: [
                """
                CREATE TABLE events (
                    id BIGSERIAL PRIMARY KEY,
                    "user" TEXT NOT NULL,
                    item TEXT NOT NULL,
                    reward DOUBLE PRECISION NOT NULL,
                    rating DOUBLE PRECISION,
                    "timestamp" DOUBLE PRECISION NOT NULL,
                    model_version TEXT NOT NULL,
                    arm TEXT NOT NULL,
                    event_id TEXT)
                """,
                "CREATE INDEX events_arm ON events(arm)",
                "CREATE UNIQUE INDEX events_event_id ON events(event_id)",
                "CREATE TABLE recrl_write_probe (id INT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)",
                """
                CREATE FUNCTION recrl_append_event(
                    p_user TEXT, p_item TEXT, p_reward DOUBLE PRECISION, p_rating DOUBLE PRECISION,
                    p_timestamp DOUBLE PRECISION, p_model_version TEXT, p_arm TEXT, p_event_id TEXT,
                    OUT row_id BIGINT, OUT inserted BOOLEAN)
                LANGUAGE plpgsql AS $$
                BEGIN
                    -- Held until commit: rows commit in the order of their ids.
                    PERFORM pg_advisory_xact_lock(\(appendLockKey));
                    IF p_event_id IS NOT NULL THEN
                        SELECT e.id INTO row_id FROM events e WHERE e.event_id = p_event_id;
                        IF FOUND THEN
                            inserted := false;
                            RETURN;
                        END IF;
                    END IF;
                    INSERT INTO events ("user", item, reward, rating, "timestamp", model_version, arm, event_id)
                    VALUES (p_user, p_item, p_reward, p_rating, p_timestamp, p_model_version, p_arm, p_event_id)
                    RETURNING id INTO row_id;
                    inserted := true;
                END
                $$
                """,
            ]),
        // The SQLite log's v3-impressions. The 8-argument recrl_append_event stays (its
        // rows get a NULL request_id), so replicas of the previous release keep appending
        // during a rolling upgrade.
        .init(
            version: "events/v2-impressions",
            statements: [
                "ALTER TABLE events ADD COLUMN request_id TEXT",
                "CREATE INDEX events_request_id ON events(request_id)",
                """
                CREATE TABLE impressions (
                    id BIGSERIAL PRIMARY KEY,
                    request_id TEXT NOT NULL UNIQUE,
                    "user" TEXT NOT NULL,
                    items TEXT NOT NULL,
                    propensities TEXT NOT NULL,
                    slate_propensity DOUBLE PRECISION NOT NULL,
                    serving_policy TEXT NOT NULL,
                    model_version TEXT NOT NULL,
                    arm TEXT NOT NULL,
                    "timestamp" DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE FUNCTION recrl_append_event(
                    p_user TEXT, p_item TEXT, p_reward DOUBLE PRECISION, p_rating DOUBLE PRECISION,
                    p_timestamp DOUBLE PRECISION, p_model_version TEXT, p_arm TEXT, p_event_id TEXT,
                    p_request_id TEXT, OUT row_id BIGINT, OUT inserted BOOLEAN)
                LANGUAGE plpgsql AS $$
                BEGIN
                    -- Held until commit: rows commit in the order of their ids.
                    PERFORM pg_advisory_xact_lock(\(appendLockKey));
                    IF p_event_id IS NOT NULL THEN
                        SELECT e.id INTO row_id FROM events e WHERE e.event_id = p_event_id;
                        IF FOUND THEN
                            inserted := false;
                            RETURN;
                        END IF;
                    END IF;
                    INSERT INTO events ("user", item, reward, rating, "timestamp", model_version, arm, event_id, request_id)
                    VALUES (p_user, p_item, p_reward, p_rating, p_timestamp, p_model_version, p_arm, p_event_id, p_request_id)
                    RETURNING id INTO row_id;
                    inserted := true;
                END
                $$
                """,
            ]),
        // The SQLite log's v4-position (rows written before it get a NULL position). The
        // 9-argument recrl_append_event stays for replicas of the previous release.
        .init(
            version: "events/v3-position",
            statements: [
                "ALTER TABLE events ADD COLUMN position INTEGER",
                """
                CREATE FUNCTION recrl_append_event(
                    p_user TEXT, p_item TEXT, p_reward DOUBLE PRECISION, p_rating DOUBLE PRECISION,
                    p_timestamp DOUBLE PRECISION, p_model_version TEXT, p_arm TEXT, p_event_id TEXT,
                    p_request_id TEXT, p_position BIGINT, OUT row_id BIGINT, OUT inserted BOOLEAN)
                LANGUAGE plpgsql AS $$
                BEGIN
                    -- Held until commit: rows commit in the order of their ids.
                    PERFORM pg_advisory_xact_lock(\(appendLockKey));
                    IF p_event_id IS NOT NULL THEN
                        SELECT e.id INTO row_id FROM events e WHERE e.event_id = p_event_id;
                        IF FOUND THEN
                            inserted := false;
                            RETURN;
                        END IF;
                    END IF;
                    INSERT INTO events ("user", item, reward, rating, "timestamp", model_version, arm, event_id, request_id, position)
                    VALUES (p_user, p_item, p_reward, p_rating, p_timestamp, p_model_version, p_arm, p_event_id, p_request_id, p_position)
                    RETURNING id INTO row_id;
                    inserted := true;
                END
                $$
                """,
            ]),
    ]

    /// The advisory lock key of appends ("recrl-ev" in ASCII).
    static let appendLockKey: Int64 = 0x7265_6372_6c2d_6576

    /// The log in `database`, after applying its migrations.
    /// - Throws: the database's error (or a timeout) when it cannot be reached or migrated.
    public init(database: PostgresPool) async throws {
        self.database = database
        try await database.migrate(Self.migrations)
    }

    /// Connects to `url` (see ``PostgresSettings/init(url:)``) and migrates.
    public convenience init(url: String, logger: Logger = Logger(label: "recrl.postgres")) async throws {
        try await self.init(database: try PostgresPool(url: url, logger: logger))
    }

    public var isWritable: Bool { health.isWritable }

    public func checkWritable() async -> Bool {
        let logger = database.logger
        return await health.probeIfDue {
            let at = Date().timeIntervalSince1970
            _ = try await database.withConnection("write probe") { connection in
                try await connection.query(
                    """
                    INSERT INTO recrl_write_probe (id, at) VALUES (1, \(at))
                    ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at
                    """, logger: logger)
            }
        }
    }

    public func record(_ event: FeedbackEvent) async throws -> RecordedEvent {
        let logger = database.logger
        return try await health.tracking {
            let (id, inserted) = try await database.withConnection("append") { connection -> (Int64, Bool) in
                let rows = try await connection.query(
                    """
                    SELECT row_id, inserted FROM recrl_append_event(
                        \(event.user), \(event.item), \(Double(event.reward)), \(event.rating.map { Double($0) }),
                        \(event.timestamp.timeIntervalSince1970), \(event.modelVersion), \(event.arm), \(event.eventID),
                        \(event.requestID), \(event.position))
                    """, logger: logger)
                for try await (id, inserted) in rows.decode((Int64, Bool).self) { return (id, inserted) }
                throw PostgresStoreError.unexpected("recrl_append_event returned no row")
            }
            if inserted {
                var stored = event
                stored.id = id
                return RecordedEvent(event: stored, duplicate: false)
            }
            var binds = PostgresBindings()
            binds.append(id)
            let first = try await fetch(where: "id = $1", binds: binds, limit: 1).first
            return RecordedEvent(event: first ?? event, duplicate: true)
        }
    }

    public func count() async throws -> Int {
        let logger = database.logger
        return try await database.withConnection("count") { connection in
            for try await n in try await connection.query("SELECT COUNT(*) FROM events", logger: logger).decode(Int64.self) {
                return Int(n)
            }
            return 0
        }
    }

    public func events(arm: String? = nil) async throws -> [FeedbackEvent] {
        var binds = PostgresBindings()
        guard let arm else { return try await fetch(where: "TRUE", binds: binds, limit: nil) }
        binds.append(arm)
        return try await fetch(where: "arm = $1", binds: binds, limit: nil)
    }

    public func events(after id: Int64, limit: Int) async throws -> [FeedbackEvent] {
        var binds = PostgresBindings()
        binds.append(id)
        return try await fetch(where: "id > $1", binds: binds, limit: max(0, limit))
    }

    /// Rows matching `condition` (with `$n` placeholders for `binds`) in id order.
    private func fetch(where condition: String, binds: PostgresBindings, limit: Int?) async throws -> [FeedbackEvent] {
        let sql = """
            SELECT id, "user", item, reward, rating, "timestamp", model_version, arm, event_id, request_id, position
            FROM events WHERE \(condition) ORDER BY id\(limit.map { " LIMIT \($0)" } ?? "")
            """
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let logger = database.logger
        return try await database.withConnection("read events") { connection in
            var events: [FeedbackEvent] = []
            let rows = try await connection.query(query, logger: logger)
            for try await (id, user, item, reward, rating, seconds, version, arm, eventID, requestID, position)
                in rows.decode((Int64, String, String, Double, Double?, Double, String, String, String?, String?, Int32?).self)
            {
                events.append(
                    FeedbackEvent(
                        id: id, user: user, item: item, reward: Float(reward), rating: rating.map { Float($0) },
                        timestamp: Date(timeIntervalSince1970: seconds), modelVersion: version,
                        arm: arm, eventID: eventID, requestID: requestID, position: position.map { Int($0) }))
            }
            return events
        }
    }

    /// Appends `impression` (a served slate, see ``ImpressionRecord``), committed with
    /// `synchronous_commit = on` before this returns, so the recommendation is answered only
    /// once its impression is durable. A failure marks the log failing and rethrows (the
    /// server answers 503).
    @discardableResult
    public func recordImpression(_ impression: ImpressionRecord) async throws -> ImpressionRecord {
        let (items, propensities) = try impression.encodedSlate()
        let logger = database.logger
        return try await health.tracking {
            let id = try await database.withConnection("append impression") { connection -> Int64 in
                let rows = try await connection.query(
                    """
                    INSERT INTO impressions (request_id, "user", items, propensities, slate_propensity, serving_policy,
                                             model_version, arm, "timestamp")
                    VALUES (\(impression.requestID), \(impression.user), \(items), \(propensities),
                            \(impression.slatePropensity), \(impression.servingPolicy), \(impression.modelVersion),
                            \(impression.arm), \(impression.timestamp.timeIntervalSince1970))
                    RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) { return id }
                throw PostgresStoreError.unexpected("the impression insert returned no id")
            }
            var stored = impression
            stored.id = id
            return stored
        }
    }

    /// All impressions in insertion order.
    public func impressions() async throws -> [ImpressionRecord] {
        let logger = database.logger
        return try await database.withConnection("read impressions") { connection in
            var stored: [ImpressionRecord] = []
            let rows = try await connection.query(
                """
                SELECT id, request_id, "user", items, propensities, slate_propensity, serving_policy, model_version, arm, "timestamp"
                FROM impressions ORDER BY id
                """, logger: logger)
            for try await (id, request, user, items, propensities, slate, policy, version, arm, seconds)
                in rows.decode((Int64, String, String, String, String, Double, String, String, String, Double).self)
            {
                stored.append(
                    try ImpressionRecord(
                        id: id, requestID: request, user: user, encodedItems: items, encodedPropensities: propensities,
                        slatePropensity: slate, servingPolicy: policy, modelVersion: version, arm: arm,
                        timestamp: Date(timeIntervalSince1970: seconds)))
            }
            return stored
        }
    }
}
