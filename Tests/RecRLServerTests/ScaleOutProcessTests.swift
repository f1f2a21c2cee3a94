import Foundation
import RecRLDRR
import RecRLPostgres
import RecRLServer
import Testing

/// The scaled-out shape with real processes on loopback: two `recrl serve` replicas and
/// one `recrl learn` against a PostgreSQL cluster of the test's own (it is restarted).
@Suite(.enabled(if: PostgresTest.enabled), .serialized) struct ScaleOutProcessTests {
    struct Feedback: Encodable {
        var user: String, item: String, reward: Float
        var event_id: String
    }
    struct Recommend: Encodable { var user: String; var k: Int }

    /// A `recrl` process of the test, killed (SIGKILL) when the test ends.
    final class RecrlProcess {
        let process = Process()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-\(UUID().uuidString).log")

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = Bundle.main.bundleURL.appendingPathComponent("recrl")
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let handle = try FileHandle(forWritingTo: output)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        private var reaped = false

        func kill() {
            if !reaped {
                reaped = true
                Foundation.kill(process.processIdentifier, SIGKILL)
                var status: Int32 = 0
                while waitpid(process.processIdentifier, &status, 0) == -1 && errno == EINTR {}
            }
        }

        deinit {
            kill()
            try? FileManager.default.removeItem(at: output)
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PostgresStoreError.unexpected("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Polls `GET path` on `port` until it answers 200 (or `seconds`, scaled by ``TestTiming``, pass).
    static func waitFor(_ path: String, port: Int, seconds: Double = 30) async -> Bool {
        let client = LoopbackHTTPClient(port: port, timeout: .seconds(2))
        defer { Task { await client.shutdown() } }
        let deadline = ContinuousClock.now + .milliseconds(Int64(TestTiming.seconds(seconds) * 1000))
        while ContinuousClock.now < deadline {
            if let answer = try? await client.get(path), answer.status == 200 { return true }
            await client.shutdown()
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static func modelVersion(port: Int) async throws -> String? {
        let client = LoopbackHTTPClient(port: port, timeout: .seconds(5))
        defer { Task { await client.shutdown() } }
        let text = try await client.get("/metrics").text
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("recrl_model_info{") }),
            let range = line.range(of: #"version=""#)
        else { return nil }
        return String(line[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func replicasShareTheLogTheLearnerPublishesAndNothingAcknowledgedIsLost() async throws {
        let cluster = try PrivatePostgresCluster()
        defer { cluster.stop() }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let initialDirectory = try saveTinyModel(in: directory, name: "initial", seed: 1)
        // The replicas start first: production holds the offline model until the learner promotes.
        let registry = ModelRegistry(directory: directory.appendingPathComponent("registry"))
        let initial = try registry.register(modelFolder: initialDirectory)
        try registry.promote(initial.version, to: .production)
        let environment = ["RECRL_EVENTS": cluster.url]

        func startReplica() throws -> (RecrlProcess, Int) {
            let port = try Self.freePort()
            let replica = try RecrlProcess(
                [
                    "serve", "--registry", registry.directory.path, "--stage", "production", "--poll-interval", "0.2", "--shared-sessions",
                    "--port", "\(port)", "--ranking-threads", "1", "--log-level", "warning",
                ],
                environment: environment)
            return (replica, port)
        }
        let (a, portA) = try startReplica()
        let (b, portB) = try startReplica()
        #expect(await Self.waitFor("/v2/health/ready", port: portA), "replica A: \(a.log)")
        #expect(await Self.waitFor("/v2/health/ready", port: portB), "replica B: \(b.log)")
        let learnerPort = try Self.freePort()
        let learner = try RecrlProcess(
            [
                "learn", "--model", initialDirectory.path, "--registry", registry.directory.path,
                "--publish-every-updates", "30", "--gate-min-events", "1", "--gate-tolerance", "1",
                "--poll-interval", "0.1", "--port", "\(learnerPort)", "--log-level", "warning",
            ],
            environment: environment)
        #expect(await Self.waitFor("/v2/health/ready", port: learnerPort), "learner: \(learner.log)")
        let versionA = try await Self.modelVersion(port: portA), versionB = try await Self.modelVersion(port: portB)

        let clientA = LoopbackHTTPClient(port: portA), clientB = LoopbackHTTPClient(port: portB)
        // Sessions are shared: a positive feedback on A changes B's next recommendation.
        struct Ranked: Decodable { struct Item: Decodable { var item: String }; var items: [Item] }
        let before = try await clientB.postJSON("/v1/recommend", Recommend(user: "u3", k: 5), as: Ranked.self).items.map(\.item)
        let liked = try #require(before.first)
        var acknowledged = Set<String>()
        let likedAnswer = try await clientA.post("/v1/feedback", json: Feedback(user: "u3", item: liked, reward: 1, event_id: "liked"))
        #expect(likedAnswer.status == 200)
        acknowledged.insert("liked")
        let after = try await clientB.postJSON("/v1/recommend", Recommend(user: "u3", k: 5), as: Ranked.self).items.map(\.item)
        #expect(!after.contains(liked), "B ranks from the window A's feedback updated")

        // Feedback to both replicas lands in one log, which the learner learns from; it
        // publishes, and both replicas switch to the promoted version.
        for n in 0..<60 {
            let client = n % 2 == 0 ? clientA : clientB
            let id = "ab-\(n)"
            let answer = try await client.post("/v1/feedback", json: Feedback(user: "u\(n % 12)", item: "i\(n % 8)", reward: 1, event_id: id))
            #expect(answer.status == 200, "\(answer.text)")
            if answer.status == 200 { acknowledged.insert(id) }
        }
        var switched = false
        for _ in 0..<100 where !switched {
            try await Task.sleep(for: .milliseconds(100))
            let nowA = try await Self.modelVersion(port: portA), nowB = try await Self.modelVersion(port: portB)
            switched = nowA != versionA && nowB != versionB
        }
        #expect(switched, "both replicas follow the learner's production version; learner: \(learner.log)")
        #expect(learner.log.contains(#""promoted":true"#))
        #expect(registry.versions().count >= 2, "the learner registers its versions beside the initial one")
        #expect(registry.history(of: .production).first == initial.version)

        // kill -9 of replica A while feedback is in flight: every acknowledged event is in the log.
        let sender = Task { () -> [String] in
            var ok: [String] = []
            for n in 0..<400 {
                let id = "kill-\(n)"
                guard let answer = try? await clientA.post("/v1/feedback", json: Feedback(user: "k\(n % 5)", item: "i\(n % 8)", reward: 1, event_id: id))
                else { break }
                if answer.status == 200 { ok.append(id) }
            }
            return ok
        }
        try await Task.sleep(for: .milliseconds(300))
        a.kill()
        let beforeKill = await sender.value
        #expect(!beforeKill.isEmpty)
        acknowledged.formUnion(beforeKill)

        // PostgreSQL restarts: feedback gets 503 while it is down, then recovers.
        try cluster.pause()
        let down = try await clientB.post("/v1/feedback", json: Feedback(user: "u1", item: "i1", reward: 1, event_id: "down-1"))
        #expect(down.status == 503)
        try cluster.resume()
        var status = 503
        for _ in 0..<60 where status != 200 {
            status = (try? await clientB.post("/v1/feedback", json: Feedback(user: "u1", item: "i1", reward: 1, event_id: "down-1")))?.status ?? 0
            if status != 200 { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(status == 200)
        acknowledged.insert("down-1")
        await clientA.shutdown()
        await clientB.shutdown()

        let log = try await PostgresEventLog(database: PostgresTest.pool(cluster.url))
        defer { log.database.close() }
        let stored = try await log.events(arm: nil)
        let storedIDs = stored.compactMap(\.eventID)
        #expect(acknowledged.isSubset(of: Set(storedIDs)), "missing: \(acknowledged.subtracting(storedIDs).sorted())")
        #expect(Set(storedIDs).count == storedIDs.count)
        #expect(stored.map { $0.id ?? 0 } == stored.map { $0.id ?? 0 }.sorted())
        b.kill()
        learner.kill()
    }
}
