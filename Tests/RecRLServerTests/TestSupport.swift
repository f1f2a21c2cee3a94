import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLServer

/// How much longer than usual the tests wait for what happens in the background (a database
/// statement, a learner's publication, a process becoming ready): `RECRL_TEST_TIME_SCALE`, a
/// number of at least 1 (default 1). `make test-tsan` and `make test-asan` set it because the
/// sanitizers slow everything several times. The waits end as soon as what they wait for
/// happens, so a larger scale only delays the report of a real failure; what the tests assert
/// is the same.
enum TestTiming {
    static let scale: Double = {
        guard let text = ProcessInfo.processInfo.environment["RECRL_TEST_TIME_SCALE"], let value = Double(text),
            value.isFinite, value >= 1
        else { return 1 }
        return value
    }()

    /// `base` seconds, scaled.
    static func seconds(_ base: Double) -> Double { base * scale }
}

/// A fresh temporary directory, removed by the caller with `cleanUp`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("recrl-server-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A model directory whose `version.txt` holds `version` (what `TestEngine.reload` reads).
func makeModelDirectory(in parent: URL, version: String) throws -> URL {
    let url = parent.appendingPathComponent("model-\(version)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    try Data(version.utf8).write(to: url.appendingPathComponent("version.txt"))
    return url
}

/// A single-engine server over a `TestEngine` and an event log in a temporary directory.
struct Fixture {
    let directory: URL
    let engine: TestEngine
    let eventLog: EventLog
    let server: RecommendationServer

    init(configuration: ServerConfiguration = ServerConfiguration(), reloadDelay: Double = 0) throws {
        directory = try makeTemporaryDirectory()
        engine = TestEngine(reloadDelay: reloadDelay)
        eventLog = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        let modelDirectory = try makeModelDirectory(in: directory, version: "v1")
        server = RecommendationServer(
            mode: .single(ServedModel(engine: engine, directory: modelDirectory)),
            eventLog: eventLog, configuration: configuration)
    }

    var eventLogPath: String { directory.appendingPathComponent("events.sqlite").path }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }
}

extension TestClientProtocol {
    /// Sends `json` (a JSON text) with a JSON content type.
    func post(_ uri: String, json: String) async throws -> TestResponse {
        try await execute(
            uri: uri, method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: json))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(buffer: body) }

    /// The body parsed as a JSON object (empty when it is not one).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The `error` field of a JSON error body.
    var errorMessage: String? { object["error"] as? String }
}

/// A seeded generator for synthetic test data (SplitMix64).
struct SplitMix64Generator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
