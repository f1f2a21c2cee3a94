import RecRLTensor

/// A sparse user × item matrix of observed values (ratings or counts), indexed both
/// by user and by item (compressed rows and columns), for factorisation.
public struct SparseRatings: Sendable {
    /// The number of users (rows).
    public let userCount: Int
    /// The number of items (columns).
    public let itemCount: Int
    /// For user `u`, entries `userOffsets[u]..<userOffsets[u+1]` of `userItems`/`userValues`.
    public let userOffsets: [Int]
    /// Item index of each entry, grouped by user.
    public let userItems: [Int32]
    /// Value of each entry, grouped by user.
    public let userValues: [Float]
    /// For item `i`, entries `itemOffsets[i]..<itemOffsets[i+1]` of `itemUsers`/`itemValues`.
    public let itemOffsets: [Int]
    /// User index of each entry, grouped by item.
    public let itemUsers: [Int32]
    /// Value of each entry, grouped by item.
    public let itemValues: [Float]

    /// The number of observed entries.
    public var count: Int { userItems.count }

    /// Builds the matrix from coordinate triples; throws when an index is out of range
    /// or a value is not finite. Duplicate (user, item) pairs are kept as given (each
    /// counts as an observation); deduplicate beforehand if that is not wanted.
    public init(userCount: Int, itemCount: Int, users: [Int32], items: [Int32], values: [Float]) throws(TensorError) {
        guard users.count == items.count, items.count == values.count else {
            throw .shapeMismatch(operation: "SparseRatings(users:items:values:)", lhs: [users.count, items.count], rhs: [values.count])
        }
        guard userCount >= 0, itemCount >= 0 else { throw .invalidShape([userCount, itemCount]) }
        for (u, i) in zip(users, items) where u < 0 || Int(u) >= userCount || i < 0 || Int(i) >= itemCount {
            throw .shapeMismatch(operation: "SparseRatings: entry (\(u), \(i)) outside the matrix", lhs: [userCount, itemCount], rhs: [Int(u), Int(i)])
        }
        for v in values where !v.isFinite {
            throw .shapeMismatch(operation: "SparseRatings: non-finite value \(v)", lhs: [userCount, itemCount], rhs: [])
        }
        self.userCount = userCount
        self.itemCount = itemCount
        (userOffsets, userItems, userValues) = Self.compress(rows: users, columns: items, values: values, rowCount: userCount)
        (itemOffsets, itemUsers, itemValues) = Self.compress(rows: items, columns: users, values: values, rowCount: itemCount)
    }

    private static func compress(rows: [Int32], columns: [Int32], values: [Float], rowCount: Int) -> ([Int], [Int32], [Float]) {
        var offsets = [Int](repeating: 0, count: rowCount + 1)
        for r in rows { offsets[Int(r) + 1] += 1 }
        for r in 0..<rowCount { offsets[r + 1] += offsets[r] }
        var cursor = offsets
        var cols = [Int32](repeating: 0, count: rows.count)
        var vals = [Float](repeating: 0, count: rows.count)
        for (n, r) in rows.enumerated() {
            let at = cursor[Int(r)]
            cols[at] = columns[n]
            vals[at] = values[n]
            cursor[Int(r)] += 1
        }
        return (offsets, cols, vals)
    }

    /// The mean of all observed values (0 when empty).
    public var mean: Float {
        guard count > 0 else { return 0 }
        var s = 0.0
        for v in userValues { s += Double(v) }
        return Float(s / Double(count))
    }
}
