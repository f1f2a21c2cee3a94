import Foundation
import PostgresNIO
import RecRLPostgres

/// The throw-away PostgreSQL cluster of `Scripts/pg-cluster.sh run` (what `make test` and
/// CI use): `RECRL_TEST_POSTGRES_URL` names it and `RECRL_TEST_POSTGRES_CTL` is the script
/// (``PrivatePostgresCluster`` starts clusters of its own with it).
///
/// Tests that need it run when the URL is set, and also when `CI` is set without it, so
/// that CI fails (``requireURL()`` throws) instead of skipping them; elsewhere they skip.
enum PostgresTest {
    static var url: String? {
        ProcessInfo.processInfo.environment["RECRL_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var isCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !value.isEmpty && value != "0" && value.lowercased() != "false"
    }

    /// Whether the tests that need PostgreSQL run (see the type's documentation).
    static var enabled: Bool { url != nil || isCI }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String {
            "RECRL_TEST_POSTGRES_URL is not set under CI: run the tests through `make test` (Scripts/pg-cluster.sh run -- swift test)"
        }
    }

    static func requireURL() throws -> String {
        guard let url else { throw Unavailable() }
        return url
    }

    /// A pool on `url` with the library's connect and operation timeouts scaled by
    /// ``TestTiming`` (its server-side `statement_timeout` too).
    static func pool(_ url: String) throws -> PostgresPool {
        var settings = try PostgresSettings(url: url)
        settings.connectTimeout = TestTiming.seconds(settings.connectTimeout)
        settings.operationTimeout = TestTiming.seconds(settings.operationTimeout)
        return PostgresPool(settings: settings)
    }

    /// Runs `body` with the URL of a new, empty database on the test cluster, dropped
    /// afterwards (tests run in parallel and must not see each other's tables).
    static func withScratchDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let base = try requireURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try pool(base)
        defer { admin.close() }
        // CREATE DATABASE copies a template under a lock, so tests starting together queue
        // here: a set-up timeout well above the library's per-operation default.
        try await admin.withConnection("create database", timeout: TestTiming.seconds(30)) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: .init(label: "test"))
        }
        var components = URLComponents(string: base)!
        components.path = "/" + name
        let result: T
        do {
            result = try await body(components.string!)
        } catch {
            try? await drop(name, admin)
            throw error
        }
        try await drop(name, admin)
        return result
    }

    private static func drop(_ name: String, _ admin: PostgresPool) async throws {
        try await admin.withConnection("drop database", timeout: TestTiming.seconds(30)) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: .init(label: "test"))
        }
    }
}

/// A PostgreSQL cluster of a test's own (`Scripts/pg-cluster.sh` with a private state
/// file), for tests that stop the database: the shared cluster keeps serving the tests
/// that run beside them.
final class PrivatePostgresCluster: Sendable {
    let url: String
    private let script: String
    private let state: String

    init() throws {
        guard let script = ProcessInfo.processInfo.environment["RECRL_TEST_POSTGRES_CTL"] else { throw PostgresTest.Unavailable() }
        self.script = script
        state = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-pg-state-\(UUID().uuidString)").path
        url = try Self.run(script, state, "start").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func pause() throws { _ = try Self.run(script, state, "pause") }
    func resume() throws { _ = try Self.run(script, state, "resume") }
    func stop() { _ = try? Self.run(script, state, "stop") }

    @discardableResult
    private static func run(_ script: String, _ state: String, _ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = [command]
        var environment = ProcessInfo.processInfo.environment
        environment["RECRL_PG_STATE"] = state
        environment.removeValue(forKey: "RECRL_PG_DIR")
        process.environment = environment
        // A file, not a pipe: the server the script starts may inherit the pipe's write
        // end, and a read to the end of the pipe would then never return.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cluster-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        // waitpid, not waitUntilExit: the latter can wait forever on a thread of the
        // concurrency pool (no run loop delivers the child's termination).
        var status: Int32 = 0
        while waitpid(process.processIdentifier, &status, 0) == -1 && errno == EINTR {}
        let data = (try? Data(contentsOf: output)) ?? Data()
        guard status == 0 else {
            throw PostgresStoreError.unexpected("pg-cluster.sh \(command) exited with status \(status)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
