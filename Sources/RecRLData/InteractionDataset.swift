import RecRLTensor

/// A set of user–item interactions in columnar form, with dense ids and optional side information.
///
/// Row `r` is the interaction `(users[r], items[r], ratings[r], timestamps[r])`. Indices refer to
/// ``userMap`` and ``itemMap``; train/test splits share these maps so indices agree across them.
/// After loading there is at most one row per (user, item) pair.
public struct InteractionDataset: Sendable {
    /// Short name of the source (e.g. `ml-100k`).
    public var name: String
    /// Raw user id ↔ dense user index.
    public var userMap: IDMap
    /// Raw item id ↔ dense item index.
    public var itemMap: IDMap
    /// User index of each interaction.
    public var users: [Int32]
    /// Item index of each interaction.
    public var items: [Int32]
    /// Rating of each interaction (for implicit data, 1).
    public var ratings: [Float]
    /// Unix timestamp (seconds) of each interaction; 0 when the source has none.
    public var timestamps: [Int64]
    /// Declared rating scale, e.g. `1...5` or `0.5...5`.
    public var ratingScale: ClosedRange<Float>
    /// Item side information, indexed by item index.
    public var itemInfo: ItemInfo
    /// User side information, indexed by user index.
    public var userInfo: UserInfo

    /// Creates a data set from columns. All columns must have equal length.
    public init(
        name: String, userMap: IDMap, itemMap: IDMap,
        users: [Int32], items: [Int32], ratings: [Float], timestamps: [Int64],
        ratingScale: ClosedRange<Float>, itemInfo: ItemInfo? = nil, userInfo: UserInfo? = nil
    ) {
        precondition(
            users.count == items.count && items.count == ratings.count && ratings.count == timestamps.count,
            "InteractionDataset columns must have equal length")
        self.name = name
        self.userMap = userMap
        self.itemMap = itemMap
        self.users = users
        self.items = items
        self.ratings = ratings
        self.timestamps = timestamps
        self.ratingScale = ratingScale
        self.itemInfo = itemInfo ?? ItemInfo(itemCount: itemMap.count)
        self.userInfo = userInfo ?? UserInfo(userCount: userMap.count)
    }

    /// Number of users in the id map (including users with no rows in this subset).
    public var userCount: Int { userMap.count }
    /// Number of items in the id map (including items with no rows in this subset).
    public var itemCount: Int { itemMap.count }
    /// Number of interactions (rows).
    public var interactionCount: Int { users.count }

    /// Number of interactions per user index.
    public func userCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: userCount)
        for u in users { counts[Int(u)] += 1 }
        return counts
    }

    /// Number of interactions per item index (item popularity).
    public func itemCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: itemCount)
        for i in items { counts[Int(i)] += 1 }
        return counts
    }

    /// The rows whose indices are given, in that order, sharing this data set's id maps.
    public func subset(rows: [Int]) -> InteractionDataset {
        var copy = self
        copy.users = rows.map { users[$0] }
        copy.items = rows.map { items[$0] }
        copy.ratings = rows.map { ratings[$0] }
        copy.timestamps = rows.map { timestamps[$0] }
        return copy
    }

    /// Row indices grouped by user index (each group in row order).
    public func rowsByUser() -> [[Int]] {
        var groups = [[Int]](repeating: [], count: userCount)
        for (r, u) in users.enumerated() { groups[Int(u)].append(r) }
        return groups
    }

    /// The user–item matrix in compressed sparse row form (rows = users, columns sorted).
    /// - Parameter binary: if `true` (default) every value is 1, otherwise the rating.
    public func userItemMatrix(binary: Bool = true) -> SparseMatrix {
        interactionMatrix(rows: userCount, columns: itemCount, rowIndices: users, columnIndices: items, binary: binary)
    }

    /// The item–user matrix in compressed sparse row form (rows = items, columns sorted).
    /// - Parameter binary: if `true` (default) every value is 1, otherwise the rating.
    public func itemUserMatrix(binary: Bool = true) -> SparseMatrix {
        interactionMatrix(rows: itemCount, columns: userCount, rowIndices: items, columnIndices: users, binary: binary)
    }

    /// Repeated (user, item) pairs are summed into one entry.
    private func interactionMatrix(
        rows: Int, columns: Int, rowIndices: [Int32], columnIndices: [Int32],
        binary: Bool
    ) -> SparseMatrix {
        do {
            return try SparseMatrix(
                rows: rows, columns: columns, rowIndices: rowIndices, columnIndices: columnIndices,
                values: binary ? nil : ratings)
        } catch {
            // The dataset's invariant: every index lies in 0..<userCount / 0..<itemCount.
            preconditionFailure("InteractionDataset holds an index outside its maps: \(error)")
        }
    }

    /// A stable 64-bit FNV-1a fingerprint (16 hex digits) of the canonical interactions.
    ///
    /// Interactions are sorted by (raw user id, raw item id) and each contributes its raw ids,
    /// rating and timestamp, so the value does not depend on row order or on index assignment.
    public var fingerprint: String {
        var order = Array(0..<interactionCount)
        let userRaw = userMap.rawIDs, itemRaw = itemMap.rawIDs
        order.sort { a, b in
            let ua = userRaw[Int(users[a])], ub = userRaw[Int(users[b])]
            if ua != ub { return ua < ub }
            return itemRaw[Int(items[a])] < itemRaw[Int(items[b])]
        }
        var hash = FNV1a64()
        for r in order {
            hash.add(userRaw[Int(users[r])])
            hash.add(itemRaw[Int(items[r])])
            hash.add(ratings[r].bitPattern)
            hash.add(UInt64(bitPattern: timestamps[r]))
        }
        let hex = String(hash.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Item side information (content features) indexed by item index.
public struct ItemInfo: Sendable, Equatable {
    /// Title of each item ("" when unknown).
    public var titles: [String]
    /// Genre indices (into ``genreNames``) of each item.
    public var genres: [[Int]]
    /// Names of the genres.
    public var genreNames: [String]

    /// Creates empty side information for `itemCount` items.
    public init(itemCount: Int) {
        self.titles = Array(repeating: "", count: itemCount)
        self.genres = Array(repeating: [], count: itemCount)
        self.genreNames = []
    }

    /// Creates side information from explicit arrays (all indexed by item index).
    public init(titles: [String], genres: [[Int]], genreNames: [String]) {
        self.titles = titles
        self.genres = genres
        self.genreNames = genreNames
    }

    /// Whether any item has at least one genre.
    public var hasGenres: Bool { genres.contains { !$0.isEmpty } }
}

/// 64-bit FNV-1a hash.
struct FNV1a64 {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(byte: UInt8) {
        value ^= UInt64(byte)
        value &*= 0x0000_0100_0000_01B3
    }
    mutating func add(_ s: String) {
        for b in s.utf8 { add(byte: b) }
        add(byte: 0x1F)
    }
    mutating func add(_ x: UInt32) {
        for k in 0..<4 { add(byte: UInt8(truncatingIfNeeded: x >> (8 * k))) }
    }
    mutating func add(_ x: UInt64) {
        for k in 0..<8 { add(byte: UInt8(truncatingIfNeeded: x >> (8 * k))) }
    }
}
