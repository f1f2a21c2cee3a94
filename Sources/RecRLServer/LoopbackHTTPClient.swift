import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import RecRLTensor

/// A small HTTP/1.1 client for talking to a RecRL server from the same machine:
/// the tutorial's simulated users, tests and simulations.
///
/// - One keep-alive TCP connection, opened on the first request and reopened on the
///   next request after it closed (server shutdown, timeout). Requests issued
///   concurrently are pipelined on it and answered in order.
/// - Plain HTTP only (no TLS, no redirects, no proxies): it is meant for loopback or a
///   trusted network, which is what keeps it light (SwiftNIO only, which the server
///   builds anyway).
/// - Every request has a deadline (``timeout``); when it passes the request fails with
///   ``Failure/timedOut(_:after:)`` and the connection is closed, because a late answer
///   would otherwise be matched to the next request.
///
/// ```swift
/// let client = LoopbackHTTPClient(port: running.port)
/// let answer = try await client.postJSON("/v1/recommend", RecommendBody(user: "u1", k: 5), as: Answer.self)
/// let metrics = try await client.get("/metrics").text
/// await client.shutdown()
/// ```
public final class LoopbackHTTPClient: Sendable {
    /// An HTTP response.
    public struct Response: Sendable {
        /// The status code, e.g. 200.
        public var status: Int
        /// The header fields in the order received (names as sent by the server).
        public var headers: [(name: String, value: String)]
        /// The body bytes (empty when the response has none).
        public var body: Data

        /// The body decoded as UTF-8 (invalid sequences replaced).
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// Whether the status is in 200...299.
        public var isSuccess: Bool { (200...299).contains(status) }
    }

    /// Why a request failed. Each case names the request (`"POST /v1/feedback"`).
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// No connection could be made to `host:port`.
        case connect(host: String, port: Int, reason: String)
        /// No complete response arrived within the deadline.
        case timedOut(_ request: String, after: Duration)
        /// The connection closed before the response was complete.
        case connectionClosed(_ request: String, reason: String)
        /// The server answered with a status outside 200...299 (``postJSON(_:_:as:)``
        /// and ``getJSON(_:as:)`` only); `body` is the answer's text, e.g. `{"error": ...}`.
        case status(_ request: String, code: Int, body: String)
        /// A JSON body could not be decoded as the expected type.
        case undecodable(_ request: String, reason: String)
        /// The request body could not be encoded as JSON (nothing was sent).
        case unencodable(_ request: String, reason: String)

        public var description: String {
            switch self {
            case let .connect(host, port, reason): return "cannot connect to \(host):\(port): \(reason)"
            case let .timedOut(request, after): return "\(request): no response within \(after)"
            case let .connectionClosed(request, reason): return "\(request): connection closed before the response was complete (\(reason))"
            case let .status(request, code, body): return "\(request): HTTP \(code) \(body)"
            case let .undecodable(request, reason): return "\(request): cannot decode the response: \(reason)"
            case let .unencodable(request, reason): return "\(request): cannot encode the request body: \(reason)"
            }
        }
    }

    /// The server's host name or address.
    public let host: String
    /// The server's TCP port.
    public let port: Int
    /// Deadline of each request, from sending it to the end of its response; also the
    /// connect timeout.
    public let timeout: Duration

    /// The open connection, if any.
    private let channel = Locked<(any Channel)?>(nil)

    /// A client of `host:port`; nothing is connected until the first request.
    /// - Parameters:
    ///   - host: the server's host name or address (default `127.0.0.1`).
    ///   - port: the server's TCP port.
    ///   - timeout: the deadline of each request and of connecting (default 30 s).
    public init(host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(30)) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    // MARK: Requests

    /// `GET path`. Any status is returned; only transport problems throw.
    public func get(_ path: String) async throws(Failure) -> Response {
        try await request(method: .GET, path: path, body: nil)
    }

    /// `POST path` with `body` encoded as JSON (sorted keys, so equal values give equal
    /// bytes). Any status is returned; only transport problems throw.
    public func post(_ path: String, json body: some Encodable) async throws(Failure) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(body) } catch {
            throw .unencodable("POST \(path)", reason: "\(error)")
        }
        return try await request(method: .POST, path: path, body: data)
    }

    /// `POST path` with a JSON body, decoding a 2xx answer as `T`.
    /// - Throws: ``Failure/status(_:code:body:)`` for any other status,
    ///   ``Failure/undecodable(_:reason:)`` when the answer is not a `T`.
    public func postJSON<T: Decodable>(_ path: String, _ body: some Encodable, as type: T.Type) async throws(Failure) -> T {
        try Self.decode(try await post(path, json: body), as: type, request: "POST \(path)")
    }

    /// `GET path`, decoding a 2xx answer as `T` (errors as ``postJSON(_:_:as:)``).
    public func getJSON<T: Decodable>(_ path: String, as type: T.Type) async throws(Failure) -> T {
        try Self.decode(try await get(path), as: type, request: "GET \(path)")
    }

    /// Closes the connection (the next request opens a new one).
    public func shutdown() async {
        guard
            let open = channel.withLock({ current -> (any Channel)? in
                defer { current = nil }
                return current
            })
        else { return }
        try? await open.close()
    }

    private static func decode<T: Decodable>(_ response: Response, as type: T.Type, request: String) throws(Failure) -> T {
        guard response.isSuccess else { throw .status(request, code: response.status, body: response.text) }
        do { return try JSONDecoder().decode(T.self, from: response.body) } catch {
            throw .undecodable(request, reason: "\(error)")
        }
    }

    private func request(method: HTTPMethod, path: String, body: Data?) async throws(Failure) -> Response {
        let name = "\(method.rawValue) \(path)"
        let channel = try await connectedChannel()
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Length", value: "\(body?.count ?? 0)")
        if body != nil { head.headers.add(name: "Content-Type", value: "application/json") }
        let promise = channel.eventLoop.makePromise(of: Response.self)
        let exchange = Exchange(head: head, body: body.map { ByteBuffer(bytes: $0) }, name: name, response: promise)
        let deadline = channel.eventLoop.scheduleTask(in: Self.timeAmount(timeout)) { [timeout] in
            promise.fail(Failure.timedOut(name, after: timeout))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(exchange).whenFailure { error in
            promise.fail(Failure.connectionClosed(name, reason: "\(error)"))
        }
        defer { deadline.cancel() }
        do {
            return try await promise.futureResult.get()
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .connectionClosed(name, reason: "\(error)")
        }
    }

    private func connectedChannel() async throws(Failure) -> any Channel {
        if let open = channel.withLock({ $0 }), open.isActive { return open }
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(Self.timeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
        do {
            let connected = try await bootstrap.connect(host: host, port: port).get()
            // Concurrent first requests may each have connected: keep one connection.
            let (kept, spare) = channel.withLock { current -> (any Channel, (any Channel)?) in
                if let open = current, open.isActive { return (open, connected) }
                current = connected
                return (connected, nil)
            }
            spare?.close(promise: nil)
            return kept
        } catch {
            throw .connect(host: host, port: port, reason: "\(error)")
        }
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// One request and the promise of its response, written to the channel as a unit.
private struct Exchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var name: String
    var response: EventLoopPromise<LoopbackHTTPClient.Response>
}

/// Writes each ``Exchange`` as an HTTP/1.1 request and completes the promises in
/// order as the responses arrive (HTTP/1.1 answers requests in the order sent).
/// When the connection closes or fails, every waiting request fails.
private final class ExchangeHandler: ChannelDuplexHandler {
    typealias OutboundIn = Exchange
    typealias OutboundOut = HTTPClientRequestPart
    typealias InboundIn = HTTPClientResponsePart

    private var waiting = CircularBuffer<Exchange>(initialCapacity: 4)
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        waiting.append(exchange)
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let body = exchange.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(responseHead):
            head = responseHead
            body.clear()
        case var .body(part):
            body.writeBuffer(&part)
        case .end:
            guard let responseHead = head, let exchange = waiting.popFirst() else {
                failAll(context: context, reason: "a response arrived that no request was waiting for")
                return
            }
            head = nil
            let headers = responseHead.headers.map { (name: $0.name, value: $0.value) }
            exchange.response.succeed(
                LoopbackHTTPClient.Response(
                    status: Int(responseHead.status.code), headers: headers, body: Data(body.readableBytesView)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(context: nil, reason: "the server closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(context: context, reason: "\(error)")
    }

    private func failAll(context: ChannelHandlerContext?, reason: String) {
        while let exchange = waiting.popFirst() {
            exchange.response.fail(LoopbackHTTPClient.Failure.connectionClosed(exchange.name, reason: reason))
        }
        context?.close(promise: nil)
    }
}
