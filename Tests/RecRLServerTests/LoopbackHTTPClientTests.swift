import Foundation
import RecRLServer
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct LoopbackHTTPClientTests {
    struct RecommendBody: Encodable { var user: String; var k: Int }
    struct Item: Decodable { var item: String; var score: Float }
    struct Answer: Decodable { var user: String; var items: [Item]; var arm: String }
    struct Status: Decodable { var status: String }

    /// JSON round trips on one keep-alive connection, concurrent requests answered in
    /// order, error statuses surfaced with the server's message, and a clean reconnect
    /// after `shutdown()`.
    @Test func talksJSONToARunningServer() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(host: "127.0.0.1", port: 0))
        defer { fixture.cleanUp() }
        let running = try await fixture.server.start()
        let client = LoopbackHTTPClient(port: running.port, timeout: .seconds(10))

        let answer = try await client.postJSON("/v1/recommend", RecommendBody(user: "u1", k: 3), as: Answer.self)
        #expect(answer.user == "u1")
        #expect(answer.items.count == 3)
        #expect(answer.arm == "single")
        struct Feedback: Encodable { var user: String; var item: String; var rating: Int }
        let status = try await client.postJSON("/v1/feedback", Feedback(user: "u1", item: "i2", rating: 4), as: Status.self)
        #expect(status.status == "ok")
        #expect(try fixture.eventLog.count() == 1)

        // Several requests in flight at once: each caller gets its own answer.
        let users = (0..<8).map { "user\($0)" }
        let answers = try await withThrowingTaskGroup(of: (String, Answer).self) { group in
            for user in users {
                group.addTask { (user, try await client.postJSON("/v1/recommend", RecommendBody(user: user, k: 2), as: Answer.self)) }
            }
            var all: [(String, Answer)] = []
            for try await pair in group { all.append(pair) }
            return all
        }
        #expect(answers.count == users.count)
        for (user, answer) in answers { #expect(answer.user == user) }

        // A 4xx answer is returned by `post`, thrown with its message by `postJSON`.
        let bad = try await client.post("/v1/recommend", json: RecommendBody(user: "u1", k: 0))
        #expect(bad.status == 400)
        #expect(bad.text.contains("field 'k' must be in"), "\(bad.text)")
        await #expect(throws: LoopbackHTTPClient.Failure.self) {
            _ = try await client.postJSON("/v1/recommend", RecommendBody(user: "u1", k: 0), as: Answer.self)
        }
        let missing = try await client.get("/no/such/route")
        #expect(missing.status == 404)
        #expect(missing.headers.contains { $0.name.lowercased() == "content-type" && $0.value == "application/json" })

        // The server counted every request the client sent (1 + 1 + 8 + 2 + 1), all on
        // the connection the client keeps open.
        let metrics = try await client.get("/metrics")
        #expect(metrics.isSuccess)
        let served = metrics.text.split(separator: "\n").filter { $0.hasPrefix("recrl_http_requests_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        #expect(served == 13)

        await client.shutdown()
        #expect(try await client.get("/v2/health/live").isSuccess, "the next request reconnects")
        await client.shutdown()
        try await running.stop()
        await #expect(throws: LoopbackHTTPClient.Failure.self) { _ = try await client.get("/v2/health/live") }
    }

    /// A port nobody listens on fails with `.connect`, naming host and port.
    @Test func refusedConnectionIsAClearError() async throws {
        let port = try freeLoopbackPort()
        let client = LoopbackHTTPClient(port: port, timeout: .seconds(5))
        do {
            _ = try await client.get("/v2/health/live")
            Issue.record("a request to a closed port succeeded")
        } catch {
            guard case let .connect(host, failedPort, _) = error else { Issue.record("\(error)"); return }
            #expect(host == "127.0.0.1")
            #expect(failedPort == port)
            #expect("\(error)".contains("cannot connect to 127.0.0.1:\(port)"))
        }
    }

    /// A server that accepts the connection but never answers: the request fails with
    /// `.timedOut` once the deadline passes.
    @Test func silentServerTimesOut() async throws {
        let (fd, port) = try boundLoopbackSocket(listening: true)
        defer { close(fd) }
        let client = LoopbackHTTPClient(port: port, timeout: .milliseconds(300))
        let clock = ContinuousClock(), start = clock.now
        do {
            _ = try await client.get("/v2/health/live")
            Issue.record("a silent server answered")
        } catch {
            guard case let .timedOut(request, after) = error else { Issue.record("\(error)"); return }
            #expect(request == "GET /v2/health/live")
            #expect(after == .milliseconds(300))
        }
        // Not before the deadline, and it must end rather than hang; the upper bound is loose
        // because the event loops of a loaded CI machine can be descheduled for seconds (and
        // scaled in sanitized runs).
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(300), "failed after \(elapsed), before its deadline")
        #expect(elapsed < .seconds(TestTiming.seconds(60)))
        await client.shutdown()
    }
}
