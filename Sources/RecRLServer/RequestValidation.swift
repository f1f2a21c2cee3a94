import Foundation
import RecRLTensor

/// The range of values a piece of feedback may carry, from the engine that will learn
/// from it (``RecommendationEngine/rewardRange`` and ``RecommendationEngine/ratingRange``).
public struct FeedbackScale: Sendable, Equatable {
    /// Accepted rewards (`-1...1` for DRR).
    public var rewardRange: ClosedRange<Float>
    /// Accepted ratings (e.g. `1...5`), or `nil` when any finite rating is accepted.
    public var ratingRange: ClosedRange<Float>?

    /// A scale.
    public init(rewardRange: ClosedRange<Float> = -1...1, ratingRange: ClosedRange<Float>? = nil) {
        self.rewardRange = rewardRange
        self.ratingRange = ratingRange
    }
}

/// What the server does with a reward or rating outside the engine's scale.
public enum OutOfScalePolicy: String, Sendable, CaseIterable {
    /// Answer 422 naming the field; nothing is logged or learned (the default: a value
    /// off the scale is a client bug, and learning from a guess hides it).
    case reject
    /// Clamp the value to the nearest end of the scale, log and learn from that.
    case clip
}

/// A validated `POST /v1/recommend` body.
public struct RecommendQuery: Sendable, Equatable {
    /// The user to rank for (non-empty).
    public var user: String
    /// How many items, in `1...maxK`.
    public var k: Int
    /// Items never to return.
    public var exclude: [String]
}

/// A validated `POST /v1/feedback` body.
public struct FeedbackSubmission: Sendable, Equatable {
    /// The user (non-empty).
    public var user: String
    /// The item (non-empty).
    public var item: String
    /// The explicit rating, when the client sent one (after the scale policy).
    public var rating: Float?
    /// The reward, when the client sent one instead of a rating (after the scale policy);
    /// `nil` when a rating was sent (the engine maps it with
    /// ``RecommendationEngine/rewardForRating(_:)``).
    public var reward: Float?
    /// The client's idempotency key, if any (1…128 characters).
    public var eventID: String?
    /// The `request_id` of the recommendation the feedback is about, if any.
    public var requestID: String? = nil
    /// Where the item was shown in the recommended list (0 first, below 1000), if given;
    /// list-wise engines discount the item's reward by it.
    public var position: Int? = nil
}

/// A validated KServe V2 `infer` body: one input, either state vectors or user ids.
public struct InferQuery: Sendable, Equatable {
    /// The input tensor.
    public enum Input: Sendable, Equatable {
        /// `batch` state vectors of `width` finite values each, row-major.
        case states(values: [Float], batch: Int, width: Int)
        /// One user id per batch row.
        case users([String])
    }
    /// The request id echoed in the response.
    public var id: String?
    /// The input.
    public var input: Input
    /// Items per row, in `1...maxK`.
    public var k: Int
}

/// A validated `POST /admin/reload` body.
public struct ReloadQuery: Sendable, Equatable {
    /// The arm to reload (`nil`: the only engine, or control).
    public var arm: String?
}

/// Decoding and validation of every request body the server accepts, as pure functions
/// of the body bytes and the server's limits: the routes call them, and so does the
/// fuzz target `FuzzServerRequests`. Each throws a ``RequestError`` (4xx) whose message
/// names the offending field; none traps on any input.
///
/// Limits (from ``ServerConfiguration``): `k` in `1...maxK`; an `infer` input has at most
/// `maxInferBatch` rows and `maxInferElements` numbers (the product of its shape is
/// computed with ``Tensor/elementCount(of:)``, so a huge shape is a 400, never an
/// overflow); rewards and ratings must be finite and, under
/// ``OutOfScalePolicy/reject``, inside the engine's ``FeedbackScale`` (else 422).
public enum RequestValidation {
    /// Longest accepted user, item or event id, in bytes.
    public static let maxIDBytes = 256

    static func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws(RequestError) -> T {
        guard !body.isEmpty else { throw .badRequest("request body is empty; expected a JSON object") }
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch let error as DecodingError {
            throw .badRequest(describe(error))
        } catch {
            throw .badRequest("malformed JSON body")
        }
    }

    static func checkID(_ value: String, _ field: String) throws(RequestError) {
        guard !value.isEmpty else { throw .badRequest("field '\(field)' must not be empty") }
        guard value.utf8.count <= maxIDBytes else {
            throw .badRequest("field '\(field)' is longer than \(maxIDBytes) bytes")
        }
    }

    static func checkK(_ k: Int?, _ field: String, _ configuration: ServerConfiguration) throws(RequestError) -> Int {
        let k = k ?? configuration.defaultK
        guard (1...configuration.maxK).contains(k) else {
            throw .badRequest("\(field) must be in 1...\(configuration.maxK), got \(k)")
        }
        return k
    }

    /// Decodes `{"user", "k"?, "exclude"?}`.
    public static func recommend(_ body: Data, configuration: ServerConfiguration) throws(RequestError) -> RecommendQuery {
        let request = try decode(RecommendRequest.self, body)
        try checkID(request.user, "user")
        let k = try checkK(request.k, "field 'k'", configuration)
        return RecommendQuery(user: request.user, k: k, exclude: request.exclude ?? [])
    }

    /// Decodes `{"user", "item", "rating" | "reward", "event_id"?, "request_id"?, "position"?}` and checks the value
    /// against the scale of the engine that serves the user (`scale(user)`) under `policy`.
    public static func feedback(
        _ body: Data, policy: OutOfScalePolicy = .reject,
        scale: (_ user: String) -> FeedbackScale
    ) throws(RequestError) -> FeedbackSubmission {
        let request = try decode(FeedbackRequest.self, body)
        let scale = scale(request.user)
        try checkID(request.user, "user")
        try checkID(request.item, "item")
        if let eventID = request.eventID { try checkID(eventID, "event_id") }
        if let requestID = request.requestID { try checkID(requestID, "request_id") }
        if let position = request.position, !(0..<1000).contains(position) {
            throw .unprocessable("field 'position' must be in 0...999, got \(position)")
        }
        var submission = FeedbackSubmission(
            user: request.user, item: request.item, rating: nil, reward: nil,
            eventID: request.eventID, requestID: request.requestID, position: request.position)
        switch (request.rating, request.reward) {
        case (nil, nil), (.some, .some):
            throw .badRequest("give exactly one of 'rating' and 'reward'")
        case let (rating?, nil):
            submission.rating = try scaled(rating, "rating", scale.ratingRange, policy)
        case let (nil, reward?):
            submission.reward = try scaled(reward, "reward", scale.rewardRange, policy)
        }
        return submission
    }

    static func scaled(
        _ value: Double, _ field: String, _ range: ClosedRange<Float>?,
        _ policy: OutOfScalePolicy
    ) throws(RequestError) -> Float {
        guard value.isFinite, abs(value) <= Double(Float.greatestFiniteMagnitude) else {
            throw .unprocessable("field '\(field)' must be a finite number")
        }
        let float = Float(value)
        guard let range, !range.contains(float) else { return float }
        switch policy {
        case .reject:
            throw .unprocessable("field '\(field)' must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        case .clip:
            return min(range.upperBound, max(range.lowerBound, float))
        }
    }

    /// Decodes a KServe V2 `infer` body with exactly one input: `state` (FP32, `[batch, n]`
    /// or `[n]`) or `user` (BYTES, `[batch]` or `[batch, 1]`), and the parameter `k`.
    public static func infer(_ body: Data, configuration: ServerConfiguration) throws(RequestError) -> InferQuery {
        let request = try decode(V2InferRequest.self, body)
        guard request.inputs.count == 1, let input = request.inputs.first else {
            throw .badRequest("expected exactly one input tensor ('state' FP32 or 'user' BYTES), got \(request.inputs.count)")
        }
        let k = try checkK(request.parameters?.k, "parameter 'k'", configuration)
        let field = "inputs[0].shape"
        guard (1...2).contains(input.shape.count) else {
            throw .badRequest("field '\(field)' must have 1 or 2 dimensions, got \(input.shape.count)")
        }
        guard let elementCount = Tensor.elementCount(of: input.shape) else {
            throw .badRequest("field '\(field)' has a negative dimension or too many elements")
        }
        guard elementCount <= configuration.maxInferElements else {
            throw .badRequest("field '\(field)' has \(elementCount) elements; the limit is \(configuration.maxInferElements)")
        }
        let batch = input.shape.count == 2 ? input.shape[0] : (input.name == "user" ? input.shape[0] : 1)
        guard batch <= configuration.maxInferBatch else {
            throw .badRequest("field '\(field)' has a batch of \(batch); the limit is \(configuration.maxInferBatch)")
        }
        switch (input.name, input.datatype) {
        case ("state", "FP32"):
            guard input.data.strings.isEmpty, input.data.numbers.count == elementCount else {
                throw .badRequest(
                    "field 'inputs[0].data': shape \(input.shape) needs \(elementCount) numbers, got \(input.data.numbers.count) numbers and \(input.data.strings.count) strings"
                )
            }
            let values = input.data.numbers.map { Float($0) }
            guard values.allSatisfy(\.isFinite) else {
                throw .unprocessable("field 'inputs[0].data' must hold finite FP32 numbers")
            }
            return InferQuery(id: request.id, input: .states(values: values, batch: batch, width: input.shape.last!), k: k)
        case ("user", "BYTES"):
            guard input.shape.count == 1 || input.shape[1] == 1 else {
                throw .badRequest("field '\(field)': input 'user' must be [batch] or [batch, 1], got \(input.shape)")
            }
            guard input.data.numbers.isEmpty, input.data.strings.count == elementCount else {
                throw .badRequest(
                    "field 'inputs[0].data': shape \(input.shape) needs \(elementCount) strings, got \(input.data.strings.count) strings and \(input.data.numbers.count) numbers"
                )
            }
            for user in input.data.strings { try checkID(user, "inputs[0].data") }
            return InferQuery(id: request.id, input: .users(input.data.strings), k: k)
        case ("state", _), ("user", _):
            throw .badRequest(
                "field 'inputs[0].datatype': input '\(input.name)' must have datatype \(input.name == "state" ? "FP32" : "BYTES"), got '\(input.datatype)'")
        default:
            throw .badRequest("field 'inputs[0].name': unknown input '\(input.name)'; expected 'state' (FP32) or 'user' (BYTES)")
        }
    }

    /// Decodes `{"arm"?}` (an empty body is allowed). A `path` field is refused with 400:
    /// a reload only reads the model directory the server was started with.
    public static func reload(_ body: Data) throws(RequestError) -> ReloadQuery {
        guard !body.isEmpty else { return ReloadQuery(arm: nil) }
        let request = try decode(ReloadRequest.self, body)
        guard request.path == nil else {
            throw .badRequest("field 'path' is not accepted: /admin/reload only reloads the model directory the server was started with")
        }
        if let arm = request.arm { try checkID(arm, "arm") }
        return ReloadQuery(arm: request.arm)
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
}
