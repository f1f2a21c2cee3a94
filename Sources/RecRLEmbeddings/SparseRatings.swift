import RecRLTensor

/// A sparse user × item matrix of observed values (ratings or counts), indexed both
/// by user and by item, for factorisation.
///
/// Stored as two ``SparseMatrix`` values, ``byUser`` and its transpose ``byItem``; the
/// alternating solvers read one side per half-step.
public struct SparseRatings: Sendable {
    /// Rows are users, columns items.
    public let byUser: SparseMatrix
    /// Rows are items, columns users (the transpose of ``byUser``).
    public let byItem: SparseMatrix

    /// The number of users (rows).
    public var userCount: Int { byUser.rows }
    /// The number of items (columns).
    public var itemCount: Int { byUser.columns }
    /// For user `u`, entries `userOffsets[u]..<userOffsets[u+1]` of `userItems`/`userValues`.
    public var userOffsets: [Int] { byUser.rowStart }
    /// Item index of each entry, grouped by user.
    public var userItems: [Int32] { byUser.columnIndices }
    /// Value of each entry, grouped by user.
    public var userValues: [Float] { byUser.values }
    /// For item `i`, entries `itemOffsets[i]..<itemOffsets[i+1]` of `itemUsers`/`itemValues`.
    public var itemOffsets: [Int] { byItem.rowStart }
    /// User index of each entry, grouped by item.
    public var itemUsers: [Int32] { byItem.columnIndices }
    /// Value of each entry, grouped by item.
    public var itemValues: [Float] { byItem.values }

    /// The number of observed entries.
    public var count: Int { byUser.entryCount }

    /// Builds the matrix from coordinate triples; throws when an index is out of range
    /// or a value is not finite. Duplicate (user, item) pairs are kept as given (each
    /// counts as an observation); deduplicate beforehand if that is not wanted.
    public init(userCount: Int, itemCount: Int, users: [Int32], items: [Int32], values: [Float]) throws(TensorError) {
        guard users.count == items.count, items.count == values.count else {
            throw .shapeMismatch(operation: "SparseRatings(users:items:values:)", lhs: [users.count, items.count], rhs: [values.count])
        }
        try self.init(
            byUser: SparseMatrix(
                rows: userCount, columns: itemCount, rowIndices: users, columnIndices: items,
                values: values, duplicates: .keep))
    }

    /// Uses a user × item matrix as it is (e.g. `InteractionDataset.userItemMatrix(binary:)`);
    /// throws when a value is not finite.
    public init(byUser: SparseMatrix) throws(TensorError) {
        for v in byUser.values where !v.isFinite {
            throw .shapeMismatch(operation: "SparseRatings: non-finite value \(v)", lhs: [byUser.rows, byUser.columns], rhs: [])
        }
        self.byUser = byUser
        self.byItem = byUser.transposed()
    }

    /// The mean of all observed values (0 when empty).
    public var mean: Float {
        guard count > 0 else { return 0 }
        var s = 0.0
        for v in byUser.values { s += Double(v) }
        return Float(s / Double(count))
    }
}
