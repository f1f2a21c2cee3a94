import Foundation

/// One recommended item and its score (higher is better).
public struct ScoredItem: Sendable, Codable, Equatable {
    /// The item's external identifier, e.g. `"i42"`.
    public var item: String
    /// The engine's score for the item; only the order is meaningful across engines.
    public var score: Float

    /// An item with its score.
    public init(item: String, score: Float) {
        self.item = item
        self.score = score
    }
}

/// A ranked list of items and the version of the model that produced it.
public struct Recommendation: Sendable {
    /// Items, best first.
    public var items: [ScoredItem]
    /// ``RecommendationEngine/modelVersion`` of the model that ranked the items.
    public var modelVersion: String

    /// A recommendation.
    public init(items: [ScoredItem], modelVersion: String) {
        self.items = items
        self.modelVersion = modelVersion
    }
}

/// Anything the server can serve: a trained recommender that ranks items for a user,
/// learns online from feedback and can swap in a new model while it is serving.
///
/// Engines are called concurrently from many tasks, so every method must be
/// thread-safe. ``reload(from:)`` must swap atomically: a request that started on the
/// old model finishes on it, and no reader ever sees a half-loaded model.
///
/// Methods throw an error conforming to ``ClientFacingError`` for mistakes of the
/// client (unknown item, state vector of the wrong length, ...); the server turns it
/// into a 4xx JSON response. Any other error is a 500.
public protocol RecommendationEngine: Sendable {
    /// The model family, e.g. `"drr-ave"`; the KServe V2 model name.
    var modelName: String { get }
    /// An identifier of the loaded model that changes on every reload.
    var modelVersion: String { get }
    /// Whether the engine can answer requests (KServe readiness).
    var isReady: Bool { get }
    /// Number of items in the catalogue.
    var itemCount: Int { get }
    /// The top `k` items for `user`, never any item in `exclude`.
    func recommend(user: String, k: Int, exclude: Set<String>) throws -> Recommendation
    /// Learns from one piece of feedback; `reward` is already normalised
    /// (see ``rewardForRating(_:)``).
    func observe(user: String, item: String, reward: Float) throws
    /// Learns from feedback on an item shown at `position` (0 first) of the list the
    /// engine recommended; list-wise engines discount the reward by it. Default: ignores the
    /// position (``observe(user:item:reward:)``).
    func observe(user: String, item: String, reward: Float, position: Int?) throws
    /// The normalised reward for an explicit rating (e.g. `(rating − 3) / 2` for 1…5 stars).
    func rewardForRating(_ rating: Float) -> Float
    /// Atomically swaps in the model stored in `directory`; on error the old model stays.
    func reload(from directory: URL) throws
    /// Ranks the catalogue for a state (user) vector, best first; for KServe V2 `infer`.
    /// Engines without a state representation throw a ``ClientFacingError``.
    func scoreState(_ state: [Float]) throws -> [ScoredItem]
    /// Numeric statistics exported as Prometheus gauges, e.g. `online_updates`, `replay_size`.
    var statistics: [String: Double] { get }
    /// Rewards the engine learns from; feedback outside it is refused or clipped
    /// (``OutOfScalePolicy``). Default `-1...1`.
    var rewardRange: ClosedRange<Float> { get }
    /// Ratings the engine understands, or `nil` for any finite rating. Default `nil`.
    var ratingRange: ClosedRange<Float>? { get }
    /// Whether `item` is in the catalogue. The server checks it before it logs feedback
    /// (an event about an unknown item is refused with 404, never logged). Default `true`.
    func knowsItem(_ item: String) -> Bool
    /// User sessions evicted so far (LRU or TTL), over the engine's lifetime; exported as
    /// `recrl_session_evictions_total`. Default 0 (an engine that never evicts).
    var sessionEvictions: Int { get }
    /// The user's session window, item ids oldest first (empty when the engine keeps
    /// none). Default: empty.
    func sessionItems(user: String) -> [String]
    /// Replaces the user's session window with `items` (oldest first), e.g. the window a
    /// ``SharedSessionStore`` holds for replicas that serve the same users. Default: nothing.
    func restoreSession(user: String, items: [String])
    /// Items a session window holds (0: the engine keeps no windows). Default 0.
    var sessionWindowSize: Int { get }
    /// The served model's training popularity, the reference of the served-item drift
    /// gauge `recrl_served_items_psi`. The server compares recent recommendations with
    /// it; return the same instance for as long as the same model is served (a new
    /// instance starts a new window). Default `nil`: no drift gauge.
    var trainingPopularity: TrainingPopularity? { get }
    /// When the served model was trained, exported as `recrl_model_age_seconds`.
    /// Default `nil`: no age gauge.
    var modelCreatedAt: Date? { get }
    /// For a page model (DeepPage): the page's rows and columns. Its recommendations are
    /// then whole pages, `rows · columns` items row-major (position `p` is row `p / columns`,
    /// column `p % columns`), `POST /v1/recommend` adds `"page"` and KServe V2 `infer`
    /// answers `[batch, rows, columns]`. Default `nil`: a ranked list.
    var pageShape: PageShape? { get }
}

/// The grid of a page model's answer (``RecommendationEngine/pageShape``).
public struct PageShape: Sendable, Equatable {
    /// Rows of the page.
    public var rows: Int
    /// Items per row.
    public var columns: Int

    /// A `rows` × `columns` page.
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    /// `items` as rows of ``columns`` (row-major), or `nil` unless there are exactly
    /// `rows · columns` of them.
    public func rows<T>(of items: [T]) -> [[T]]? {
        guard items.count == rows * columns else { return nil }
        return (0..<rows).map { Array(items[($0 * columns)..<(($0 + 1) * columns)]) }
    }
}

extension RecommendationEngine {
    public func observe(user: String, item: String, reward: Float, position: Int?) throws {
        try observe(user: user, item: item, reward: reward)
    }
    public var rewardRange: ClosedRange<Float> { -1...1 }
    public var ratingRange: ClosedRange<Float>? { nil }
    public func knowsItem(_ item: String) -> Bool { true }
    public var sessionEvictions: Int { 0 }
    public func sessionItems(user: String) -> [String] { [] }
    public func restoreSession(user: String, items: [String]) {}
    public var sessionWindowSize: Int { 0 }
    public var trainingPopularity: TrainingPopularity? { nil }
    public var modelCreatedAt: Date? { nil }
    public var pageShape: PageShape? { nil }

    /// ``rewardRange`` and ``ratingRange`` together.
    public var feedbackScale: FeedbackScale { FeedbackScale(rewardRange: rewardRange, ratingRange: ratingRange) }
}

/// An error caused by the client's request; the server answers with ``httpStatus``
/// and the JSON body `{"error": message}`.
public protocol ClientFacingError: Error {
    /// A 4xx status, e.g. 404 for an unknown item or 422 for an unusable input.
    var httpStatus: Int { get }
    /// A human-readable explanation of what was wrong with the request.
    var message: String { get }
}

/// A ready-made ``ClientFacingError`` for engines and for the server itself.
public struct RequestError: ClientFacingError, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status to answer with.
    public var httpStatus: Int
    /// The explanation sent to the client.
    public var message: String

    /// An error answered with `httpStatus` and `message`.
    public init(httpStatus: Int, message: String) {
        self.httpStatus = httpStatus
        self.message = message
    }

    /// 400 Bad Request.
    public static func badRequest(_ message: String) -> RequestError { .init(httpStatus: 400, message: message) }
    /// 404 Not Found.
    public static func notFound(_ message: String) -> RequestError { .init(httpStatus: 404, message: message) }
    /// 422 Unprocessable Content.
    public static func unprocessable(_ message: String) -> RequestError { .init(httpStatus: 422, message: message) }

    /// `"<status>: <message>"`.
    public var description: String { "\(httpStatus): \(message)" }
}
