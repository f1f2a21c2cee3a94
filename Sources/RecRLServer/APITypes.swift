import Foundation

// JSON bodies of the HTTP API. Keys are snake_case on the wire.

/// `POST /v1/recommend` request.
struct RecommendRequest: Decodable {
    var user: String
    var k: Int?
    var exclude: [String]?
}

/// `POST /v1/recommend` response.
struct RecommendResponse: Encodable {
    var user: String
    var items: [ScoredItem]
    var modelVersion: String
    var arm: String
    /// Present when the server logs impressions (``ServerConfiguration/servingPolicy``):
    /// the id feedback about this slate should carry.
    var requestID: String?
    /// For a page model (``RecommendationEngine/pageShape``), when the answer is a whole
    /// page: `items`' ids as rows of the page (row-major, so feedback position
    /// `row · columns + column` is the index in `items`); absent otherwise.
    var page: [[String]]?
    enum CodingKeys: String, CodingKey { case user, items, arm, page, modelVersion = "model_version", requestID = "request_id" }
}

/// `POST /v1/feedback` request: exactly one of `rating` and `reward`, and an optional
/// idempotency key `event_id`. Numbers decode as `Double` so that values beyond
/// `Float`'s range reach validation (and get a 422 naming the field).
struct FeedbackRequest: Decodable {
    var user: String
    var item: String
    var rating: Double?
    var reward: Double?
    var eventID: String?
    var requestID: String?
    /// Where the item was shown in the recommended list (0 first), if the client says.
    var position: Int?
    enum CodingKeys: String, CodingKey { case user, item, rating, reward, position, eventID = "event_id", requestID = "request_id" }
}

/// `POST /admin/reload` request (all fields optional).
struct ReloadRequest: Decodable {
    var path: String?
    var arm: String?
}

struct ReloadResponse: Encodable {
    var status = "ok"
    var arm: String
    var model: String
    var previousVersion: String
    var modelVersion: String
    enum CodingKeys: String, CodingKey {
        case status, arm, model, previousVersion = "previous_version", modelVersion = "model_version"
    }
}

struct StatusResponse: Encodable {
    var status: String
    /// Set on feedback that carried an `event_id`: `true` when that event was already
    /// in the log (acknowledged again, not counted twice).
    var duplicate: Bool?
    /// The feedback's `event_id`, echoed so that a client (or a load test) can match
    /// acknowledgements to events.
    var eventID: String?
    enum CodingKeys: String, CodingKey { case status, duplicate, eventID = "event_id" }
}

struct ErrorBody: Encodable {
    var error: String
}

// MARK: KServe Open Inference Protocol V2

struct V2ServerLive: Encodable { var live: Bool }
struct V2ServerReady: Encodable { var ready: Bool }
struct V2ModelReady: Encodable { var name: String; var ready: Bool }

struct V2TensorMetadata: Encodable {
    var name: String
    var datatype: String
    var shape: [Int]
}

struct V2ModelMetadata: Encodable {
    var name: String
    var versions: [String]
    var platform: String
    var inputs: [V2TensorMetadata]
    var outputs: [V2TensorMetadata]
}

/// A tensor's `data`: numbers or strings, flat or nested (nested arrays are flattened
/// in row-major order, as the protocol allows).
struct V2TensorData: Decodable {
    var numbers: [Double] = []
    var strings: [String] = []

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        try Self.flatten(&container, into: &self)
    }

    private static func flatten(_ container: inout any UnkeyedDecodingContainer, into data: inout V2TensorData) throws {
        while !container.isAtEnd {
            if let number = try? container.decode(Double.self) {
                data.numbers.append(number)
            } else if let string = try? container.decode(String.self) {
                data.strings.append(string)
            } else {
                var nested = try container.nestedUnkeyedContainer()
                try flatten(&nested, into: &data)
            }
        }
    }
}

struct V2InferInput: Decodable {
    var name: String
    var shape: [Int]
    var datatype: String
    var data: V2TensorData
}

struct V2Parameters: Decodable {
    var k: Int?
}

struct V2InferRequest: Decodable {
    var id: String?
    var inputs: [V2InferInput]
    var parameters: V2Parameters?
}

/// An output tensor: `data` holds either strings (BYTES) or floats (FP32).
struct V2InferOutput: Encodable {
    var name: String
    var datatype: String
    var shape: [Int]
    var strings: [String]?
    var floats: [Float]?

    enum CodingKeys: String, CodingKey { case name, datatype, shape, data }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(datatype, forKey: .datatype)
        try container.encode(shape, forKey: .shape)
        if let strings { try container.encode(strings, forKey: .data) } else { try container.encode(floats ?? [], forKey: .data) }
    }
}

struct V2InferResponse: Encodable {
    var modelName: String
    var modelVersion: String
    var id: String?
    var outputs: [V2InferOutput]
    enum CodingKeys: String, CodingKey { case id, outputs, modelName = "model_name", modelVersion = "model_version" }
}
