import Foundation
import Logging
import PostgresNIO
import RecRLTensor

/// Errors of the PostgreSQL-backed stores.
public enum PostgresStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection URL cannot be used; the text says why (it never holds the password).
    case invalidURL(String)
    /// An operation did not finish within ``PostgresSettings/operationTimeout``.
    case timedOut(operation: String, seconds: Double)
    /// The database answered something the store cannot use (e.g. a schema from a newer
    /// RecRL); the text says what.
    case unexpected(String)

    public var description: String {
        switch self {
        case let .invalidURL(why): return "invalid PostgreSQL URL: \(why)"
        case let .timedOut(operation, seconds): return "PostgreSQL \(operation) did not finish within \(seconds) s"
        case let .unexpected(what): return "unexpected PostgreSQL answer: \(what)"
        }
    }
}

/// How to reach a PostgreSQL database, from a URL
/// `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`
/// (`postgresql://` too; port 5432 and `sslmode=prefer` by default), and the pool's limits.
public struct PostgresSettings: Sendable {
    /// Host name or address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// User name.
    public var username: String
    /// Password, if any (never printed: see ``redactedURL``).
    public var password: String?
    /// Database name.
    public var database: String
    /// `disable`, `prefer` or `require`.
    public var sslMode: String
    /// Most connections the pool opens (default 8).
    public var maximumConnections: Int = 8
    /// Seconds to wait for a new connection (default 3).
    public var connectTimeout: Double = 3
    /// Seconds any one operation (a lease of a connection and its statements) may take
    /// before it fails with ``PostgresStoreError/timedOut(operation:seconds:)``; also the
    /// server-side `statement_timeout` (default 5).
    public var operationTimeout: Double = 5

    /// Whether `string` names a PostgreSQL database (`postgres://` or `postgresql://`).
    public static func isPostgresURL(_ string: String) -> Bool {
        string.hasPrefix("postgres://") || string.hasPrefix("postgresql://")
    }

    /// Parses `url`.
    /// - Throws: ``PostgresStoreError/invalidURL(_:)`` naming what is wrong.
    public init(url: String) throws {
        guard Self.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw PostgresStoreError.invalidURL("expected postgres://user[:password]@host[:port]/database")
        }
        guard let host = components.host, !host.isEmpty else { throw PostgresStoreError.invalidURL("no host") }
        guard let user = components.user, !user.isEmpty else { throw PostgresStoreError.invalidURL("no user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw PostgresStoreError.invalidURL("no database name after the host") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        var sslMode = "prefer"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, ["disable", "prefer", "require"].contains(value) else {
                    throw PostgresStoreError.invalidURL("sslmode must be disable, prefer or require")
                }
                sslMode = value
            default:
                throw PostgresStoreError.invalidURL("unknown parameter '\(item.name)' (only sslmode is understood)")
            }
        }
        self.sslMode = sslMode
    }

    /// The URL without the password, for logs.
    public var redactedURL: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(.makeClientConfiguration())
        default: tls = .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password,
            database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout * 1000))
        configuration.options.connectionIdleTimeout = .seconds(60)
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(15))
        // Acknowledged means committed, whatever the server's default: every commit of
        // these sessions waits for its WAL flush.
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(Int(operationTimeout * 1000))"),
            ("synchronous_commit", "on"),
            ("application_name", "recrl"),
        ]
        return configuration
    }
}

/// A pooled connection to one PostgreSQL database shared by the stores of a process
/// (``PostgresEventLog``, ``PostgresSessionStore``, the learner's offsets): the pool,
/// per-operation timeouts and versioned migrations.
///
/// The pool (postgres-nio's `PostgresClient`) opens connections on demand and replaces
/// broken ones: after a database restart the first operations fail (the caller sees the
/// error and answers 503) and later ones run on new connections, with no restart of this
/// process. Every operation is bounded by ``PostgresSettings/operationTimeout``, also while
/// the database is unreachable.
public final class PostgresPool: Sendable {
    /// The settings the pool was made with.
    public let settings: PostgresSettings
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger

    /// Connects lazily to the database of `settings` (nothing is sent until the first
    /// operation).
    public init(settings: PostgresSettings, logger: Logger = Logger(label: "recrl.postgres")) {
        self.settings = settings
        self.logger = logger
        let client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    /// Connects lazily to `url` (see ``PostgresSettings/init(url:)``).
    public convenience init(url: String, logger: Logger = Logger(label: "recrl.postgres")) throws {
        self.init(settings: try PostgresSettings(url: url), logger: logger)
    }

    deinit { runner.cancel() }

    /// Closes the pool (its connections end; later operations fail).
    public func close() { runner.cancel() }

    /// Runs `body` with a pooled connection, failing with
    /// ``PostgresStoreError/timedOut(operation:seconds:)`` when the lease and the work take
    /// longer than `timeout` seconds (default ``PostgresSettings/operationTimeout``) (the work is cancelled then; a
    /// statement the server already committed stays committed).
    public func withConnection<T: Sendable>(
        _ operation: String, timeout: Double? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client
        return try await withTimeout(operation, seconds: timeout ?? settings.operationTimeout) {
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    /// ``withConnection(_:timeout:_:)`` inside a transaction (committed when `body` returns,
    /// rolled back when it throws).
    public func withTransaction<T: Sendable>(
        _ operation: String, timeout: Double? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await withConnection(operation, timeout: timeout) { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Runs `work`, or fails after `seconds` without waiting for it (it is cancelled).
    func withTimeout<T: Sendable>(
        _ operation: String, seconds: Double,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pending = PendingContinuation(continuation)
            let timer = Task {
                try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                guard !Task.isCancelled else { return }
                pending.take()?.resume(throwing: PostgresStoreError.timedOut(operation: operation, seconds: seconds))
            }
            let worker = Task {
                do {
                    let value = try await work()
                    pending.take()?.resume(returning: value)
                } catch {
                    pending.take()?.resume(throwing: error)
                }
                timer.cancel()
            }
            // When the timer wins, cancel the work (a lease still waiting is withdrawn).
            Task {
                _ = await timer.result
                if pending.isTaken { worker.cancel() }
            }
        }
    }

    /// One versioned step of a store's schema: its statements run once, in one
    /// transaction, and `version` is recorded in `recrl_migrations`.
    public struct Migration: Sendable {
        /// A unique name, e.g. `"events/v1"`; never renamed once released.
        public var version: String
        /// The statements, in order.
        public var statements: [String]

        /// A migration.
        public init(version: String, statements: [String]) {
            self.version = version
            self.statements = statements
        }
    }

    /// Applies the migrations of `migrations` not applied yet, in order, in one
    /// transaction under an advisory lock (replicas that start together migrate once).
    /// - Returns: the versions applied now.
    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [String] {
        let logger = self.logger
        // A one-off at start-up, possibly waiting for another replica's migration.
        return try await withTransaction("migrate", timeout: max(settings.operationTimeout, 30)) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS recrl_migrations (
                    version TEXT PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<String>()
            for try await version in try await connection.query("SELECT version FROM recrl_migrations", logger: logger)
                .decode(String.self)
            {
                applied.insert(version)
            }
            var now: [String] = []
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO recrl_migrations (version) VALUES (\(migration.version))", logger: logger)
                now.append(migration.version)
            }
            return now
        }
    }

    /// The advisory lock key of migrations ("recrl-mg" in ASCII).
    static let migrationLockKey: Int64 = 0x7265_6372_6c2d_6d67
}

/// A continuation resumed once, by whichever of the work and its timer finishes first.
private final class PendingContinuation<T: Sendable>: Sendable {
    private let continuation: Locked<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Locked(continuation) }

    /// The continuation, the first time only.
    func take() -> CheckedContinuation<T, any Error>? { continuation.withLock { $0.take() } }

    /// Whether it was taken.
    var isTaken: Bool { continuation.withLock { $0 == nil } }
}
