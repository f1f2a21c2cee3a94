import Foundation
import Hummingbird

/// One group of related HTTP routes of a ``RecommendationServer``: the v1 JSON API,
/// the KServe V2 protocol, the admin routes, the metrics route. Each group lives in
/// its own file; a new endpoint is a new group (or a new route in the group it
/// belongs to), added to the list in ``RecommendationServer/makeRouter()``.
///
/// A group reads the server's engines, configuration, metrics and event log through
/// `server`; every error it throws is turned into a JSON error response by
/// ``ServerMiddleware``.
protocol RouteGroup: Sendable {
    /// The server whose engines the routes answer with.
    var server: RecommendationServer { get }
    /// Adds the group's routes to `router`.
    func register(on router: Router<BasicRequestContext>)
}

// MARK: - Helpers every group shares

extension RecommendationServer {
    /// The request body, enforcing ``ServerConfiguration/maxBodyBytes`` (413 above it);
    /// empty `Data` for an empty body. Decoding and validation are
    /// ``RequestValidation``'s.
    func body(of request: Request) async throws -> Data {
        var request = request
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError(.contentTooLarge, "request body of \(length) bytes is over the limit of \(limit) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body is over the limit of \(limit) bytes")
        }
        return Data(buffer.readableBytesView)
    }

    /// Checks the bearer token when ``ServerConfiguration/apiKey`` is set.
    /// - Throws: ``APIError`` 401 with `WWW-Authenticate: Bearer realm="recrl"` when the
    ///   `Authorization` header is missing or holds another token.
    func authorize(_ request: Request, route: String) throws {
        guard let key = configuration.apiKey else { return }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let token = header.hasPrefix(prefix) ? String(header.dropFirst(prefix.count)) : ""
        guard !token.isEmpty, Self.constantTimeEqual(Array(token.utf8), Array(key.utf8)) else {
            metrics.increment("recrl_auth_failures_total", [("route", route)])
            throw APIError(
                .unauthorized,
                header.isEmpty ? "this route requires 'Authorization: Bearer <api key>'" : "invalid API key",
                headers: [.wwwAuthenticate: #"Bearer realm="recrl""#])
        }
    }

    /// Whether `a` and `b` are equal, in a time that depends only on their lengths (no
    /// early exit on the first differing byte, so the comparison leaks no prefix).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }

    /// Runs ranking work on the ranking threads (see ``RankingPool``), counting requests
    /// refused for overload in `recrl_overload_rejections_total{route}`.
    func rank<T: Sendable>(route: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await rankingPool.run(work)
        } catch let error as APIError where error.overload {
            metrics.increment("recrl_overload_rejections_total", [("route", route)])
            throw error
        }
    }
}

extension RecommendationEngine {
    /// Throws 503 unless the engine is ready to answer.
    func requireReady() throws {
        guard isReady else { throw APIError(.serviceUnavailable, "model '\(modelName)' is not ready") }
    }
}

/// An error answered with `status`, `headers` and `{"error": message}`.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    var headers: HTTPFields
    /// Whether the request was refused because the server is at capacity.
    var overload: Bool
    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:], overload: Bool = false) {
        self.status = status
        self.message = message
        self.headers = headers
        self.overload = overload
    }
}

/// JSON responses: sorted keys and unescaped slashes, so bodies are stable byte for byte.
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ message: String, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        // Encoding a struct of one string cannot fail.
        var response =
            (try? make(ErrorBody(error: message), status: status))
            ?? Response(status: status, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"internal error\"}")))
        for field in headers { response.headers.append(field) }
        return response
    }
}
