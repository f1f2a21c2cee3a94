import Foundation

/// User sessions (the window of recent positive items) shared by serving replicas, so
/// that a replica holds nothing that cannot be lost: feedback on one replica changes the
/// next recommendation on any other. RecRLPostgres's `PostgresSessionStore` implements it.
///
/// With a store, ``RecommendationServer`` reads the user's window before it ranks
/// (``RecommendationEngine/restoreSession(user:items:)``, then
/// ``RecommendationEngine/recommend(user:k:exclude:)``) and, for logged positive
/// feedback, appends the item (``push(user:item:size:)``) before the engine observes it.
public protocol SharedSessionStore: Sendable {
    /// Where the sessions are, for logs (no password).
    var location: String { get }
    /// The user's window, item ids oldest first; empty for an unknown or expired session.
    func window(user: String) async throws -> [String]
    /// Appends `item` to the user's window, keeping its last `size` items, and refreshes
    /// the session's age. Returns the window before the append.
    func push(user: String, item: String, size: Int) async throws -> [String]
    /// Applies the eviction policy now (expired and least recently updated sessions);
    /// returns the number of sessions removed.
    func evict() async throws -> Int
}
