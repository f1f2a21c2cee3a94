import Foundation

/// Where a ``RecommendationServer`` writes feedback: a durable, append-only log of
/// ``FeedbackEvent``s. ``EventLog`` (SQLite, the embedded default) and RecRLPostgres's
/// `PostgresEventLog` (for several serving replicas and a separate learner) implement it.
///
/// The contract every implementation keeps:
/// - Acknowledged means committed: ``record(_:)`` returns only once the event is durably
///   committed (it survives a crash of the process or of the database server); when it
///   throws, the server answers 503 and the client retries (with its `event_id`, the
///   retry is idempotent even when the failed attempt did commit).
/// - Idempotent per ``FeedbackEvent/eventID``: a second event with the same id writes
///   nothing and returns the first one with ``RecordedEvent/duplicate`` set.
/// - Row ids increase in insertion order, and ``events(after:limit:)`` never returns an
///   event after which an event with a smaller id can still appear: a reader that
///   resumes from the last id it processed (a learner tailing the log) misses nothing
///   and counts nothing twice.
/// - Write health: a failed write marks the log failing (``isWritable`` false) until a
///   write succeeds again, or the probe of ``checkWritable()`` does.
public protocol FeedbackEventLog: Sendable {
    /// Where the log is, for the server's own log (a path, or a database URL without
    /// its password).
    var location: String { get }
    /// Whether the last write succeeded.
    var isWritable: Bool { get }
    /// ``isWritable``, after a probe write when the log is failing (at most one probe a
    /// second).
    func checkWritable() async -> Bool
    /// Appends `event` durably unless an event with its ``FeedbackEvent/eventID`` is
    /// stored already (see the protocol's contract).
    func record(_ event: FeedbackEvent) async throws -> RecordedEvent
    /// Number of stored events.
    func count() async throws -> Int
    /// All events in insertion order, or only those of `arm` when it is given.
    func events(arm: String?) async throws -> [FeedbackEvent]
    /// At most `limit` events with a row id greater than `id`, in id order (see the
    /// protocol's contract on readers that resume from an id).
    func events(after id: Int64, limit: Int) async throws -> [FeedbackEvent]
    /// Stores the impression of an exploring recommendation (see ``ImpressionRecord``),
    /// committed before this returns. Default: throws ``ImpressionsUnsupported`` (a log
    /// without an impressions table; the server then answers such requests with 503).
    @discardableResult
    func recordImpression(_ impression: ImpressionRecord) async throws -> ImpressionRecord
}

/// Thrown by ``FeedbackEventLog/recordImpression(_:)`` of a log that stores no impressions.
public struct ImpressionsUnsupported: Error, CustomStringConvertible {
    /// The log's ``FeedbackEventLog/location``.
    public var location: String
    public var description: String { "the event log \(location) stores no impressions" }
}

extension FeedbackEventLog {
    @discardableResult
    public func recordImpression(_ impression: ImpressionRecord) async throws -> ImpressionRecord {
        throw ImpressionsUnsupported(location: location)
    }

    /// Appends `event` durably and returns it with its row id (``record(_:)`` without the
    /// duplicate flag: a duplicate returns the stored event).
    @discardableResult
    public func append(_ event: FeedbackEvent) async throws -> FeedbackEvent {
        try await record(event).event
    }
}

/// The result of ``FeedbackEventLog/record(_:)``.
public struct RecordedEvent: Sendable {
    /// The stored event (for a duplicate: the one stored first, with its row id).
    public var event: FeedbackEvent
    /// Whether an event with the same ``FeedbackEvent/eventID`` was already stored
    /// (nothing was written).
    public var duplicate: Bool

    /// A result of ``FeedbackEventLog/record(_:)``.
    public init(event: FeedbackEvent, duplicate: Bool) {
        self.event = event
        self.duplicate = duplicate
    }
}
