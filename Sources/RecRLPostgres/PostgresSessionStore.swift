import Foundation
import Logging
import PostgresNIO
import RecRLServer

/// User sessions in PostgreSQL, shared by serving replicas (a ``SharedSessionStore``):
/// table `recrl_sessions (user_id TEXT PRIMARY KEY, items TEXT[], updated_at TIMESTAMPTZ)`,
/// one row per user holding the window of recent positive items, oldest first.
///
/// Policy: a session expires `ttl` seconds after its last update (an expired row reads
/// as empty and restarts empty on the next push), and at most `capacity` sessions are
/// kept: ``evict()`` deletes the expired ones and, beyond `capacity`, the least recently
/// updated (`recrl serve` runs it every 30 s; replicas running it together is harmless).
/// Recency is the last update (feedback), not the last read: reads stay reads.
///
/// A push is one statement (an upsert that appends and trims the array), so concurrent
/// pushes for one user from several replicas all land, in commit order.
public final class PostgresSessionStore: SharedSessionStore {
    /// The pool the store uses.
    public let database: PostgresPool
    /// Seconds after its last update that a session expires.
    public let ttl: Double
    /// Sessions kept at most.
    public let capacity: Int

    /// The database URL without the password.
    public var location: String { database.settings.redactedURL }

    /// The schema, in order.
    public static let migrations: [PostgresPool.Migration] = [
        .init(
            version: "sessions/v1",
            statements: [
                """
                CREATE TABLE recrl_sessions (
                    user_id TEXT PRIMARY KEY,
                    items TEXT[] NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """,
                "CREATE INDEX recrl_sessions_updated_at ON recrl_sessions(updated_at)",
            ])
    ]

    /// The store in `database`, after applying its migrations.
    /// - Parameters:
    ///   - ttl: seconds after its last update that a session expires (default one day).
    ///   - capacity: sessions kept at most (default 1,000,000).
    public init(database: PostgresPool, ttl: Double = 86_400, capacity: Int = 1_000_000) async throws {
        precondition(ttl > 0 && capacity > 0, "PostgresSessionStore: ttl and capacity must be positive")
        self.database = database
        self.ttl = ttl
        self.capacity = capacity
        try await database.migrate(Self.migrations)
    }

    public func window(user: String) async throws -> [String] {
        let logger = database.logger, ttl = self.ttl
        return try await database.withConnection("read session") { connection in
            let rows = try await connection.query(
                """
                SELECT items FROM recrl_sessions
                WHERE user_id = \(user) AND updated_at > now() - make_interval(secs => \(ttl))
                """, logger: logger)
            for try await items in rows.decode([String].self) { return items }
            return []
        }
    }

    public func push(user: String, item: String, size: Int) async throws -> [String] {
        let logger = database.logger, ttl = self.ttl, size = max(1, size)
        return try await database.withConnection("update session") { connection in
            // `previous` reads the row before the upsert (the statement's snapshot).
            let rows = try await connection.query(
                """
                WITH previous AS (
                    SELECT items FROM recrl_sessions
                    WHERE user_id = \(user) AND updated_at > now() - make_interval(secs => \(ttl)))
                INSERT INTO recrl_sessions AS s (user_id, items, updated_at)
                VALUES (\(user), ARRAY[\(item)]::TEXT[], now())
                ON CONFLICT (user_id) DO UPDATE SET
                    items = (SELECT CASE WHEN cardinality(t.a) > \(size) THEN t.a[cardinality(t.a) - \(size) + 1:] ELSE t.a END
                             FROM (SELECT (CASE WHEN s.updated_at > now() - make_interval(secs => \(ttl))
                                                THEN s.items ELSE '{}'::TEXT[] END) || \(item)::TEXT AS a) t),
                    updated_at = now()
                RETURNING (SELECT items FROM previous)
                """, logger: logger)
            for try await items in rows.decode([String]?.self) { return items ?? [] }
            return []
        }
    }

    public func evict() async throws -> Int {
        let logger = database.logger, ttl = self.ttl, capacity = self.capacity
        return try await database.withConnection("evict sessions") { connection in
            var removed = 0
            for query: PostgresQuery in [
                "DELETE FROM recrl_sessions WHERE updated_at <= now() - make_interval(secs => \(ttl)) RETURNING 1",
                """
                DELETE FROM recrl_sessions WHERE user_id IN (
                    SELECT user_id FROM recrl_sessions ORDER BY updated_at DESC, user_id OFFSET \(capacity))
                RETURNING 1
                """,
            ] {
                for try await _ in try await connection.query(query, logger: logger).decode(Int.self) { removed += 1 }
            }
            return removed
        }
    }
}
