import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLDRR
import RecRLServer
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
func freeLoopbackPort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket(listening: false)
    close(fd)
    return port
}

/// A TCP socket bound to a port the kernel picks on 127.0.0.1, listening (accepting
/// connections into the backlog, never answering) when `listening`; close `fd` when done.
func boundLoopbackSocket(listening: Bool) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RequestError(httpStatus: 500, message: "socket() failed") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && (!listening || listen(fd, 4) == 0) && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else {
        close(fd)
        throw RequestError(httpStatus: 500, message: "bind() failed")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

extension TestClient {
    func postJSON(_ uri: String, _ json: String) async throws -> TestClient.Response {
        try await post(uri, headers: [.contentType: "application/json"], body: ByteBuffer(string: json))
    }
}

extension TestClient.Response {
    /// The body as text.
    var text: String { body.map { String(buffer: $0) } ?? "" }
    /// The body parsed as a JSON object (empty when it is not one).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}

@Suite struct InProcessServerTests {
    /// `start()` listens on the port the kernel picks, serves real HTTP, and `stop()`
    /// shuts it down (new connections are refused afterwards).
    @Test func startServesOnAPickedPortUntilStopped() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(host: "127.0.0.1", port: 0))
        defer { fixture.cleanUp() }
        let running = try await fixture.server.start()
        #expect(running.port > 0)
        let client = TestClient(host: "127.0.0.1", port: running.port)
        client.connect()
        let answer = try await client.postJSON("/v1/recommend", #"{"user": "u1", "k": 3}"#)
        #expect(answer.status == .ok)
        #expect((answer.object["items"] as? [Any])?.count == 3)
        let feedback = try await client.postJSON("/v1/feedback", #"{"user": "u1", "item": "i2", "rating": 4}"#)
        #expect(feedback.status == .ok)
        #expect(try fixture.eventLog.count() == 1)
        try await client.shutdown()
        try await running.stop()

        let late = TestClient(host: "127.0.0.1", port: running.port)
        late.connect()
        await #expect(throws: (any Error).self) { _ = try await late.get("/v2/health/live") }
        try? await late.shutdown()
    }

    /// The control arm of the tutorial's A/B test: a static ranking behind the same API.
    @Test func popularityEngineServesAStaticRanking() async throws {
        let engine = try PopularityEngine(
            items: ["i1", "i2", "i3", "i4"], scores: [10, 30, 20, 30],
            rewardScale: RewardScale(minimum: 1, maximum: 5))
        #expect(engine.ranking.map(\.item) == ["i2", "i4", "i3", "i1"], "ties keep the given order")
        let top = try engine.recommend(user: "anyone", k: 2, exclude: ["i2"])
        #expect(top.items.map(\.item) == ["i4", "i3"])
        #expect(top.modelVersion == "popularity.1")
        #expect(try engine.recommend(user: "u", k: 10, exclude: []).items.count == 4)
        #expect(throws: RequestError.self) { try engine.recommend(user: "u", k: 0, exclude: []) }
        #expect(throws: RequestError.self) { try engine.observe(user: "u", item: "nope", reward: 1) }
        #expect(throws: RequestError.self) { try engine.observe(user: "u", item: "i1", reward: .nan) }
        try engine.observe(user: "u", item: "i1", reward: 1)
        #expect(engine.statistics["observed_feedback"] == 1)
        #expect(engine.rewardForRating(5) == 1)
        #expect(engine.rewardForRating(1) == -1)
        #expect(throws: RequestError.self) { try engine.scoreState([0, 1]) }
        #expect(throws: RequestError.self) { try PopularityEngine(items: ["a", "b"], scores: [1], rewardScale: RewardScale(minimum: 1, maximum: 5)) }
        #expect(throws: RequestError.self) { try PopularityEngine(items: ["a", "a"], scores: [1, 2], rewardScale: RewardScale(minimum: 1, maximum: 5)) }
    }

    /// Every feedback event the server acknowledged is in the log after the process is
    /// killed with SIGKILL (no shutdown, no flush): the log is written before the answer.
    @Test func acknowledgedFeedbackSurvivesAKill() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try saveTinyModel(in: directory, name: "model", seed: 3)
        let events = directory.appendingPathComponent("events.sqlite").path
        let port = try freeLoopbackPort()
        let process = Process()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("recrl")
        process.arguments = [
            "serve", "--model", model.path, "--host", "127.0.0.1", "--port", "\(port)",
            "--events", events, "--log-level", "error",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        let client = TestClient(host: "127.0.0.1", port: port)
        var connected = false
        for _ in 0..<300 where !connected {  // up to 30 s for the server to come up
            try await Task.sleep(nanoseconds: 100_000_000)
            let probe = TestClient(host: "127.0.0.1", port: port)
            probe.connect()
            connected = (try? await probe.get("/v2/health/ready"))?.status == .ok
            try? await probe.shutdown()
        }
        try #require(connected, "recrl serve did not come up on port \(port)")
        client.connect()
        var acknowledged = 0
        for n in 0..<40 {
            let answer = try await client.postJSON("/v1/feedback", #"{"user": "u\#(n % 12)", "item": "i\#(n % 40)", "rating": \#(1 + n % 5)}"#)
            #expect(answer.status == .ok, "\(answer.text)")
            if answer.status == .ok { acknowledged += 1 }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        try? await client.shutdown()

        let log = try EventLog(path: events)
        #expect(acknowledged == 40)
        #expect(try log.count() == acknowledged)
        let logged = try log.events()
        #expect(logged.map(\.item) == (0..<40).map { "i\($0 % 40)" }, "in arrival order")
    }
}
