import RecRLData

/// Each user's interactions in time order, and a rating lookup, from one data set
/// (a training split, or the whole log for a world model).
public struct UserHistories: Sendable {
    /// Per user: item indices in time order (ties keep file order).
    public let items: [[Int32]]
    /// Per user: the ratings matching ``items``.
    public let ratings: [[Float]]
    private let lookup: [[Int32: Float]]

    /// Groups `dataset`'s interactions by user, sorted by timestamp.
    public init(_ dataset: InteractionDataset) {
        var items = [[Int32]](repeating: [], count: dataset.userCount)
        var ratings = [[Float]](repeating: [], count: dataset.userCount)
        var lookup = [[Int32: Float]](repeating: [:], count: dataset.userCount)
        let order = dataset.users.indices.sorted {
            let a = dataset.timestamps[$0], b = dataset.timestamps[$1]
            return a != b ? a < b : $0 < $1
        }
        for row in order {
            let u = Int(dataset.users[row])
            items[u].append(dataset.items[row])
            ratings[u].append(dataset.ratings[row])
            lookup[u][dataset.items[row]] = dataset.ratings[row]
        }
        self.items = items
        self.ratings = ratings
        self.lookup = lookup
    }

    /// The number of users.
    public var userCount: Int { items.count }

    /// The user's rating of `item`, or nil when the log has none.
    public func rating(user: Int, item: Int) -> Float? { lookup[user][Int32(item)] }

    /// Whether the user has any interaction with `item`.
    public func contains(user: Int, item: Int) -> Bool { lookup[user][Int32(item)] != nil }

    /// The user's items rated above `threshold` (positives), in time order.
    public func positives(user: Int, threshold: Float) -> [Int] {
        zip(items[user], ratings[user]).filter { $0.1 > threshold }.map { Int($0.0) }
    }
}

/// The DRR state window: the `n` most recent positive items, oldest first; `-1`
/// marks an empty slot (a zero embedding) while the user has fewer than `n`.
public struct StateWindow: Sendable, Equatable {
    /// Item indices, oldest first; `-1` = empty.
    public private(set) var items: [Int]

    /// A window of `size` slots filled from `initial` (its last `size` items are kept).
    public init(size: Int, initial: [Int]) {
        let tail = Array(initial.suffix(size))
        items = [Int](repeating: -1, count: size - tail.count) + tail
    }

    /// Pushes `item` as the most recent, dropping the oldest.
    public mutating func push(_ item: Int) {
        items.removeFirst()
        items.append(item)
    }

    /// Refills the window with the last ``items``-count entries of `recent` (oldest
    /// first), empty slots first; reuses the window's storage.
    public mutating func reset<C: Collection>(to recent: C) where C.Element: BinaryInteger {
        let n = items.count, tail = recent.suffix(n), pad = n - tail.count
        for j in 0..<pad { items[j] = -1 }
        for (j, item) in tail.enumerated() { items[pad + j] = Int(item) }
    }

    /// Whether `item` is in the window.
    public func contains(_ item: Int) -> Bool { items.contains(item) }
}
