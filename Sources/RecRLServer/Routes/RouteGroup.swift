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
    /// Decodes a JSON request body of type `T`, enforcing
    /// ``ServerConfiguration/maxBodyBytes`` (413 above it).
    /// - Returns: `nil` only for an empty body when `allowEmpty` is true.
    /// - Throws: ``APIError`` 400 for an empty (unless allowed) or malformed body, naming
    ///   the offending field; 413 for a body over the limit.
    func decodeBody<T: Decodable>(_ type: T.Type, from request: Request, allowEmpty: Bool = false) async throws -> T? {
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
        if buffer.readableBytes == 0 {
            if allowEmpty { return nil }
            throw APIError(.badRequest, "request body is empty; expected a JSON object")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError(.badRequest, Self.describe(error))
        }
    }

    /// A one-line description of a decoding error that names the JSON field, e.g.
    /// `missing field 'user'` or `field 'inputs[0].shape' has the wrong type (expected Int)`.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = (codingPath + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .keyNotFound(key, context):
            return "missing field '\(path(context.codingPath, key))'"
        case let .typeMismatch(type, context):
            return "field '\(path(context.codingPath))' has the wrong type (expected \(type))"
        case let .valueNotFound(type, context):
            return "field '\(path(context.codingPath))' is null (expected \(type))"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty { return "malformed JSON body" }
            return "field '\(path(context.codingPath))' is invalid: \(context.debugDescription)"
        @unknown default:
            return "malformed JSON body"
        }
    }

    /// Checks that `k` (or the configured default when `nil`) lies in `1...maxK`.
    /// - Throws: ``APIError`` 400 naming `what` (e.g. `"field 'k'"`).
    func validatedK(_ k: Int?, _ what: String) throws -> Int {
        let k = k ?? configuration.defaultK
        guard (1...configuration.maxK).contains(k) else {
            throw APIError(.badRequest, "\(what) must be in 1...\(configuration.maxK), got \(k)")
        }
        return k
    }
}

extension RecommendationEngine {
    /// Throws 503 unless the engine is ready to answer.
    func requireReady() throws {
        guard isReady else { throw APIError(.serviceUnavailable, "model '\(modelName)' is not ready") }
    }
}

/// An error answered with `status` and `{"error": message}`.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// JSON responses: sorted keys and unescaped slashes, so bodies are stable byte for byte.
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        // Encoding a struct of one string cannot fail.
        (try? make(ErrorBody(error: message), status: status))
            ?? Response(status: status, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"internal error\"}")))
    }
}
