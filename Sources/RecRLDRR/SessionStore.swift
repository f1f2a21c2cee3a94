import Foundation
import RecRLTensor

/// One user's serving session: what ``OnlineDRR`` remembers about a user between requests.
///
/// It is small on purpose (item indices, no tensors; a few hundred bytes with its key), so
/// that a store can keep many of them and a shared store can serialise them cheaply: the
/// model inputs a transition needs are rebuilt from these windows and the model's
/// embeddings when feedback arrives.
public struct DRRSession: Sendable, Equatable, Codable {
    /// The user's recent positive items, oldest first (`-1`: empty slot).
    public var window: StateWindow
    /// The window of the state the next feedback event's transition starts from: the
    /// window of the last ranking, or of the state after the last feedback; `nil` until the
    /// first ranking (feedback before any ranking yields no transition).
    public var stateWindow: StateWindow?
    /// The actor's action of the last ranking, kept only for models that replay the actor's
    /// action (``DRRConfiguration/ReplayAction/actorAction``); `nil` otherwise.
    public var lastAction: [Float]?
    /// For a list model (LIRD): the last list served and the feedback it has had so far;
    /// `nil` for DRR and until the first list.
    public var pendingList: PendingList?
    /// For a page model (DeepPage, ``OnlineDeepPage``): the pages recently shown with the raw
    /// reward of each position (0 until feedback arrives), oldest first; while
    /// ``pendingList`` is set its page is the last one. `nil` for DRR and LIRD.
    public var shownPages: [ShownPage]?

    /// A session with window `window` and no ranking yet.
    public init(window: StateWindow) {
        self.window = window
        stateWindow = nil
        lastAction = nil
        pendingList = nil
        shownPages = nil
    }

    enum CodingKeys: String, CodingKey {
        case window, stateWindow = "state_window", lastAction = "last_action", pendingList = "pending_list"
        case shownPages = "shown_pages"
    }
}

/// A list a list model (LIRD) served to a user, waiting for feedback on its items: once
/// every slot has feedback, or when the user's next list is served, it becomes one
/// transition (see ``OnlineDRR``).
public struct PendingList: Sendable, Equatable, Codable {
    /// The window of the state the list was served in.
    public var stateWindow: StateWindow
    /// The list's items (item indices), slot 0 first.
    public var items: [Int]
    /// Per slot, the feedback's reward discounted by its position, `Γ^position · r`
    /// (``LIRDConfiguration/positionDiscount``); `nil` while the slot has no feedback.
    public var discountedRewards: [Float?]
    /// The `request_id` of the logged events a page is rebuilt from (a DeepPage learner
    /// replaying the event log, ``OnlineDeepPage/observeLogged(user:item:reward:position:requestID:)``);
    /// `nil` for served lists and pages, and for events logged without one.
    public var requestID: String?

    /// A served list without feedback yet (`requestID`: see ``requestID``).
    public init(stateWindow: StateWindow, items: [Int], requestID: String? = nil) {
        self.stateWindow = stateWindow
        self.items = items
        discountedRewards = [Float?](repeating: nil, count: items.count)
        self.requestID = requestID
    }

    /// Whether some slot has feedback.
    public var hasFeedback: Bool { discountedRewards.contains { $0 != nil } }
    /// Whether every slot has feedback.
    public var isComplete: Bool { !discountedRewards.contains { $0 == nil } }
    /// The list reward `Σ_j Γ^(position_j) r_j` over the slots with feedback (the others
    /// count 0).
    public var listReward: Float { discountedRewards.reduce(0) { $0 + ($1 ?? 0) } }

    enum CodingKeys: String, CodingKey {
        case stateWindow = "state_window", items, discountedRewards = "discounted_rewards", requestID = "request_id"
    }
}

extension StateWindow: Codable {
    public init(from decoder: any Decoder) throws {
        let items = try decoder.singleValueContainer().decode([Int].self)
        self.init(size: items.count, initial: [])
        reset(to: items)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(items)
    }
}

/// Where ``OnlineDRR`` keeps its users' sessions (``DRRSession``).
///
/// The contract is small so that a store can live outside the process (a database shared
/// by several servers) as well as in memory (``InMemorySessionStore``, the default):
/// - ``session(for:)`` reads a user's session (`nil`: none, e.g. never seen, evicted or
///   expired); reading counts as a use for a store that evicts the least recently used.
/// - ``update(user:_:)`` reads, changes and writes one user's session as one step: the
///   closure gets the stored session (or `nil`) and leaves the session to store (`nil`:
///   remove it). Two concurrent updates of the same user must not lose either change
///   (serialise them, e.g. a lock or a row lock); updates of different users may run in
///   parallel. The closure is short, synchronous and may run more than once if the store
///   retries.
/// - ``count`` and ``evictions`` are for metrics: sessions held, and sessions dropped by the
///   store's own limits (size, age) over its lifetime (not removals by `update`).
///
/// A store that fails (e.g. a lost database connection) throws; OnlineDRR passes the
/// error on, and the request fails without changing anything.
public protocol SessionStore: Sendable {
    /// The session of `user`, or `nil` when none is stored.
    func session(for user: String) throws -> DRRSession?
    /// Runs `body` on `user`'s stored session (or `nil`) and stores what it leaves there
    /// (`nil`: removes the session); returns `body`'s result.
    func update<R>(user: String, _ body: (inout DRRSession?) -> R) throws -> R
    /// Sessions held now.
    var count: Int { get }
    /// Sessions dropped by the store's limits (size or age) so far.
    var evictions: Int { get }
}

/// An in-memory ``SessionStore`` bounded in size and age: a least-recently-used map of at
/// most ``capacity`` sessions, each dropped once unused for ``timeToLive`` seconds.
///
/// A new user beyond the capacity evicts the least recently used session; every call
/// first drops the sessions unused for longer than the time to live (they sit at the old
/// end of the recency list, so this costs O(1) per dropped session). Both count in
/// ``evictions``. Memory is bounded by `capacity` sessions: about `250 + 16·windowSize`
/// bytes each plus the user id's length (see the article *Bounded serving memory*), in
/// slots reused once `capacity` users have been seen.
public final class InMemorySessionStore: SessionStore {
    /// The default ``capacity``: 100 000 sessions.
    public static let defaultCapacity = 100_000
    /// The default ``timeToLive``: one hour.
    public static let defaultTimeToLive: Double = 3600

    /// The most sessions kept.
    public let capacity: Int
    /// Seconds a session may stay unused before it is dropped.
    public let timeToLive: Double
    private let clock: @Sendable () -> Double
    private let state: Locked<LRU>

    /// The recency list: slots in arrays, linked by index (`-1`: none), newest at `head`.
    struct LRU: Sendable {
        var index: [String: Int] = [:]
        var keys: [String] = []
        var sessions: [DRRSession?] = []
        var lastUsed: [Double] = []
        var newer: [Int] = []
        var older: [Int] = []
        var free: [Int] = []
        var head = -1
        var tail = -1
        var evictions = 0

        mutating func unlink(_ slot: Int) {
            let n = newer[slot], o = older[slot]
            if n >= 0 { older[n] = o } else { head = o }
            if o >= 0 { newer[o] = n } else { tail = n }
            newer[slot] = -1
            older[slot] = -1
        }

        mutating func pushFront(_ slot: Int) {
            newer[slot] = -1
            older[slot] = head
            if head >= 0 { newer[head] = slot }
            head = slot
            if tail < 0 { tail = slot }
        }

        mutating func remove(_ slot: Int) {
            unlink(slot)
            index[keys[slot]] = nil
            keys[slot] = ""
            sessions[slot] = nil
            free.append(slot)
        }

        /// Drops the sessions last used at or before `cutoff`, oldest first.
        mutating func expire(before cutoff: Double) {
            while tail >= 0 && lastUsed[tail] <= cutoff {
                remove(tail)
                evictions += 1
            }
        }

        /// A slot for a new key, evicting the least recently used session when full.
        mutating func insert(_ key: String, _ session: DRRSession, now: Double, capacity: Int) {
            if index.count >= capacity, tail >= 0 {
                remove(tail)
                evictions += 1
            }
            let slot: Int
            if let reused = free.popLast() {
                slot = reused
                keys[slot] = key
                sessions[slot] = session
                lastUsed[slot] = now
            } else {
                slot = keys.count
                keys.append(key)
                sessions.append(session)
                lastUsed.append(now)
                newer.append(-1)
                older.append(-1)
            }
            index[key] = slot
            pushFront(slot)
        }
    }

    /// A store of at most `capacity` sessions (≥ 1), each kept while used at least every
    /// `timeToLive` seconds (> 0). `clock` gives seconds on a monotonic scale (default: the
    /// system's uptime); tests pass their own.
    public init(
        capacity: Int = defaultCapacity, timeToLive: Double = defaultTimeToLive,
        clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) {
        precondition(capacity >= 1, "InMemorySessionStore: capacity must be at least 1, got \(capacity)")
        precondition(timeToLive > 0, "InMemorySessionStore: timeToLive must be positive, got \(timeToLive)")
        self.capacity = capacity
        self.timeToLive = timeToLive
        self.clock = clock
        state = Locked(LRU())
    }

    public func session(for user: String) -> DRRSession? {
        let now = clock()
        return state.withLock { lru in
            lru.expire(before: now - timeToLive)
            guard let slot = lru.index[user] else { return nil }
            lru.lastUsed[slot] = now
            lru.unlink(slot)
            lru.pushFront(slot)
            return lru.sessions[slot]
        }
    }

    public func update<R>(user: String, _ body: (inout DRRSession?) -> R) -> R {
        let now = clock()
        return state.withLock { lru in
            lru.expire(before: now - timeToLive)
            if let slot = lru.index[user] {
                // Moved out of the slot, so that `body` mutates a uniquely referenced session.
                var session = lru.sessions[slot]
                lru.sessions[slot] = nil
                let result = body(&session)
                if let session {
                    lru.sessions[slot] = session
                    lru.lastUsed[slot] = now
                    lru.unlink(slot)
                    lru.pushFront(slot)
                } else {
                    lru.remove(slot)
                }
                return result
            }
            var session: DRRSession?
            let result = body(&session)
            if let session { lru.insert(user, session, now: now, capacity: capacity) }
            return result
        }
    }

    public var count: Int { state.withLock { $0.index.count } }

    public var evictions: Int { state.withLock { $0.evictions } }
}
