import Foundation
import RecRLTensor

/// The policy that chooses the items of a generated log.
public enum LoggingPolicy: Sendable, Hashable, Codable {
    /// ε-greedy on a personalised popularity ranking.
    ///
    /// Each user gets a ranking of all items by `ln p_i + personalization · z_{u,i}`,
    /// `z ~ N(0, 1)` drawn once per user (so users differ). At each step, with
    /// probability `epsilon` the policy picks an item uniformly at random among the
    /// user's unseen items, otherwise the first unseen item of the user's ranking.
    /// - Parameters:
    ///   - epsilon: exploration probability, in [0, 1].
    ///   - personalization: standard deviation of the per-user score noise (default 1.0).
    case noisyPopularity(epsilon: Double, personalization: Double = 1.0)
    /// Uniformly random unseen items.
    case random
}

/// One logged interaction.
public struct LoggedInteraction: Sendable, Hashable, Codable {
    /// User index (external id ``SyntheticWorld/userID(_:)``).
    public var user: Int
    /// Item index (external id ``SyntheticWorld/itemID(_:)``).
    public var item: Int
    /// Rating in 1...5.
    public var rating: Int
    /// Seconds since the Unix epoch; strictly increasing along the log.
    public var timestamp: Int64
    /// Whether the logging policy picked the item at random (exploration).
    public var explored: Bool
    /// The probability that the logging policy picked this item at this step
    /// (for inverse-propensity estimators).
    public var propensity: Double
    /// Whether the user ended the session after this interaction.
    public var left: Bool

    /// An interaction.
    public init(user: Int, item: Int, rating: Int, timestamp: Int64, explored: Bool, propensity: Double, left: Bool) {
        self.user = user; self.item = item; self.rating = rating; self.timestamp = timestamp
        self.explored = explored; self.propensity = propensity; self.left = left
    }
}

/// A generated interaction log with the item metadata needed to write it out.
public struct SyntheticLog: Sendable, Hashable {
    /// Interactions in time order.
    public var interactions: [LoggedInteraction]
    /// Number of users of the world that generated the log.
    public var userCount: Int
    /// Category of each item.
    public var itemCategories: [Int]

    /// A log.
    public init(interactions: [LoggedInteraction], userCount: Int, itemCategories: [Int]) {
        self.interactions = interactions
        self.userCount = userCount
        self.itemCategories = itemCategories
    }

    /// The interactions CSV: header `user,item,rating,timestamp`, then one row per
    /// interaction with ids as strings (`u17,i42,4,1700000123`), `\n` line endings.
    public func interactionsCSV() -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32 + interactions.count * 26)
        bytes.append(contentsOf: Array("user,item,rating,timestamp\n".utf8))
        for x in interactions {
            bytes.append(UInt8(ascii: "u")); Self.appendDecimal(Int64(x.user), to: &bytes); bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: "i")); Self.appendDecimal(Int64(x.item), to: &bytes); bytes.append(UInt8(ascii: ","))
            Self.appendDecimal(Int64(x.rating), to: &bytes); bytes.append(UInt8(ascii: ","))
            Self.appendDecimal(x.timestamp, to: &bytes); bytes.append(UInt8(ascii: "\n"))
        }
        return Data(bytes)
    }

    /// The items CSV: header `item,title,category`, then `i42,Item 42 (category 3),3`
    /// for every item (titles are quoted RFC 4180-style if they ever need it).
    public func itemsCSV() -> Data {
        var text = "item,title,category\n"
        text.reserveCapacity(32 + itemCategories.count * 36)
        for (i, c) in itemCategories.enumerated() {
            text += SyntheticWorld.itemID(i) + "," + Self.csvField(SyntheticWorld.title(item: i, category: c)) + "," + String(c) + "\n"
        }
        return Data(text.utf8)
    }

    /// Writes ``interactionsCSV()`` to `url` (atomically).
    public func writeInteractionsCSV(to url: URL) throws {
        try interactionsCSV().write(to: url, options: .atomic)
    }

    /// Writes ``itemsCSV()`` to `url` (atomically).
    public func writeItemsCSV(to url: URL) throws {
        try itemsCSV().write(to: url, options: .atomic)
    }

    /// Writes `interactions.csv` and `items.csv` into `directory`, creating it if needed.
    public func write(toDirectory directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writeInteractionsCSV(to: directory.appendingPathComponent("interactions.csv"))
        try writeItemsCSV(to: directory.appendingPathComponent("items.csv"))
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            } while v > 0
            for j in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[j]) }
        }
    }
}

extension SyntheticWorld {
    /// Simulates logged traffic: every user has `sessionsPerUser` sessions of up to
    /// `sessionLength` recommendations chosen by `policy`, never repeating an item for a
    /// user; a session ends early when the user leaves or has seen every item.
    ///
    /// Sessions are interleaved in rounds: in each round the users take their turn in a
    /// freshly shuffled order. The clock starts at `startTimestamp`, advances 60…3600 s
    /// (uniform) before each session and 10…300 s before each interaction, so
    /// timestamps are strictly increasing along the log.
    ///
    /// The world's users evolve (drift, fatigue) as they respond. The policy's choices,
    /// the user order and the clock draw from `rng`; the responses draw from the world's
    /// own generator. Same world + same `rng` state → identical log. (The policy uses a
    /// `Xoshiro256StarStar` seeded with one `rng.next()`; `rng` advances by one draw.)
    /// - Parameters:
    ///   - policy: the logging policy (default `.noisyPopularity(epsilon: 0.3)`).
    ///   - sessionsPerUser: sessions per user (default 5).
    ///   - sessionLength: maximum interactions per session (default 10).
    ///   - startTimestamp: Unix time of the first session's start (default 1_700_000_000).
    ///   - rng: the generator for the policy and the clock.
    public mutating func generateLog<G: RandomNumberGenerator>(
        policy: LoggingPolicy = .noisyPopularity(epsilon: 0.3), sessionsPerUser: Int = 5, sessionLength: Int = 10,
        startTimestamp: Int64 = 1_700_000_000, using rng: inout G
    ) -> SyntheticLog {
        precondition(sessionsPerUser >= 0 && sessionLength >= 0, "generateLog: session counts must be non-negative")
        var rng = Xoshiro256StarStar(seed: rng.next())  // one draw from the caller's generator; concrete type is faster
        let n = itemCount, u = userCount

        var epsilon = 1.0
        // Each user's exploitation order, truncated to `depth` entries: a user makes at
        // most sessionsPerUser·sessionLength picks, and every pick advances the cursor
        // past at most one seen item, so deeper entries are never reached.
        let depth = min(n, sessionsPerUser * sessionLength)
        var ranking: [Int32] = []  // [users, depth]
        if case let .noisyPopularity(eps, personalization) = policy {
            precondition((0...1).contains(eps), "generateLog: epsilon must be in [0, 1], got \(eps)")
            precondition(personalization >= 0, "generateLog: personalization must be non-negative, got \(personalization)")
            epsilon = eps
            ranking = [Int32](repeating: 0, count: u * depth)
            let logPrior = popularity.map { log($0) }
            var scored = [(score: Double, item: Int32)](repeating: (0, 0), count: n)
            for user in 0..<u {
                for i in 0..<n {
                    scored[i] = (logPrior[i] + personalization * Double(rng.nextNormalFloat()), Int32(i))
                }
                Self.sortPrefix(&scored, count: depth)
                for r in 0..<depth { ranking[user * depth + r] = scored[r].item }
            }
        }

        var seen = [Bool](repeating: false, count: u * n)
        var seenCount = [Int](repeating: 0, count: u)
        var cursor = [Int](repeating: 0, count: u)  // next ranking position to inspect
        var clock = startTimestamp
        var entries: [LoggedInteraction] = []
        entries.reserveCapacity(u * sessionsPerUser * sessionLength)
        var users = Array(0..<u)

        for _ in 0..<sessionsPerUser {
            for i in stride(from: u - 1, to: 0, by: -1) { users.swapAt(i, rng.nextInt(below: i + 1)) }
            for user in users {
                clock += 60 + Int64(rng.nextInt(below: 3541))
                startSession(user: user)
                for _ in 0..<sessionLength {
                    let unseen = n - seenCount[user]
                    if unseen == 0 { break }
                    // Exploitation candidate: first unseen item of the user's ranking.
                    var top = -1
                    if !ranking.isEmpty {
                        while cursor[user] < depth && seen[user * n + Int(ranking[user * depth + cursor[user]])] {
                            cursor[user] += 1
                        }
                        if cursor[user] < depth { top = Int(ranking[user * depth + cursor[user]]) }
                    }
                    let explored = top < 0 || rng.nextUnitDouble() < epsilon
                    var item = top
                    if explored {
                        item = Self.uniformUnseen(seen: seen, user: user, items: n, unseen: unseen, using: &rng)
                    }
                    let uniform = 1 / Double(unseen)
                    let propensity = top < 0 ? uniform : epsilon * uniform + (item == top ? 1 - epsilon : 0)
                    clock += 10 + Int64(rng.nextInt(below: 291))
                    let feedback = respond(user: user, item: item)
                    seen[user * n + item] = true
                    seenCount[user] += 1
                    entries.append(
                        LoggedInteraction(
                            user: user, item: item, rating: feedback.rating, timestamp: clock,
                            explored: explored, propensity: propensity, left: feedback.left))
                    if feedback.left { break }
                }
            }
        }
        return SyntheticLog(interactions: entries, userCount: u, itemCategories: categories)
    }

    /// Puts the first `k` entries of `a` in their final place of the order
    /// "higher score first, then lower item index" (a strict total order, so the result
    /// does not depend on the algorithm): quickselect (median of three), then a sort of
    /// the prefix. The rest of `a` is left in an unspecified order.
    static func sortPrefix(_ a: inout [(score: Double, item: Int32)], count k: Int) {
        func before(_ x: (score: Double, item: Int32), _ y: (score: Double, item: Int32)) -> Bool {
            x.score > y.score || (x.score == y.score && x.item < y.item)
        }
        guard k > 0 else { return }
        if k * 4 >= a.count { a.sort(by: before); return }
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if before(a[mid], a[lo]) { a.swapAt(mid, lo) }
            if before(a[hi], a[lo]) { a.swapAt(hi, lo) }
            if before(a[mid], a[hi]) { a.swapAt(mid, hi) }  // a[hi] is now the median of three
            let pivot = a[hi]
            var store = lo
            for i in lo..<hi where before(a[i], pivot) {
                a.swapAt(i, store)
                store += 1
            }
            a.swapAt(store, hi)
            if store == k - 1 { break }
            if store < k - 1 { lo = store + 1 } else { hi = store - 1 }
        }
        a[0..<k].sort(by: before)
    }

    /// A uniformly random unseen item of `user` (rejection sampling, then the
    /// `r`-th unseen item by a scan when the user has seen most items).
    static func uniformUnseen<G: RandomNumberGenerator>(
        seen: [Bool], user: Int, items n: Int, unseen: Int,
        using rng: inout G
    ) -> Int {
        if unseen * 4 >= n {
            while true {
                let i = rng.nextInt(below: n)
                if !seen[user * n + i] { return i }
            }
        }
        var r = rng.nextInt(below: unseen)
        for i in 0..<n where !seen[user * n + i] {
            if r == 0 { return i }
            r -= 1
        }
        preconditionFailure("uniformUnseen: no unseen item")
    }
}

extension SyntheticWorld {
    /// The seed of the world and of the logging policy in ``defaultLog()``.
    public static let defaultSeed: UInt64 = 42

    /// RecRL's standard synthetic data set: a default-configured world (500 users,
    /// 1000 items, seed ``defaultSeed``) logged by `.noisyPopularity(epsilon: 0.3)` for 10
    /// sessions of up to 10 interactions per user, with the policy generator
    /// `Xoshiro256StarStar(seed: defaultSeed)`; about 32,000 interactions. Returns the
    /// log and the world in its state after logging (users have drifted and got tired).
    public static func defaultLog() -> (log: SyntheticLog, world: SyntheticWorld) {
        var world = SyntheticWorld(seed: defaultSeed)
        var rng = Xoshiro256StarStar(seed: defaultSeed)
        let log = world.generateLog(sessionsPerUser: 10, sessionLength: 10, using: &rng)
        return (log, world)
    }
}
