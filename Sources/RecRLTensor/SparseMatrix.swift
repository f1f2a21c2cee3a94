/// A compressed-sparse-row (CSR) matrix of `Float` values.
///
/// Row `r` holds the entries `rowStart[r]..<rowStart[r+1]` of ``columnIndices`` and ``values``,
/// with column indices in ascending order. Whether a row may hold the same column twice is
/// decided when the matrix is built (``Duplicates``): recommender baselines sum repeated
/// interactions into one entry, while matrix factorisation may keep each observation.
///
/// The one sparse type of the library: interaction matrices (`InteractionDataset`), the
/// factorisation inputs (`SparseRatings`) and the baselines all use it.
public struct SparseMatrix: Sendable, Equatable {
    /// What to do with coordinate triples that name the same `(row, column)`.
    public enum Duplicates: Sendable {
        /// Merge them into one entry whose value is their sum (the default).
        case sum
        /// Keep every triple as its own entry, adjacent within the row in input order.
        case keep
    }

    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// `rowStart[r]..<rowStart[r+1]` is the range of row `r` in ``columnIndices`` / ``values``;
    /// `rows + 1` offsets.
    public let rowStart: [Int]
    /// Column index of each stored entry, ascending within a row.
    public let columnIndices: [Int32]
    /// Value of each stored entry.
    public let values: [Float]

    /// Number of stored entries.
    public var entryCount: Int { columnIndices.count }

    /// Builds the matrix from coordinate (COO) triples in any order.
    /// - Parameters:
    ///   - rows: number of rows (≥ 0).
    ///   - columns: number of columns (≥ 0).
    ///   - rowIndices: row of each triple, in `0..<rows`.
    ///   - columnIndices: column of each triple, in `0..<columns`.
    ///   - values: value of each triple; `nil` means every value is 1.
    ///   - duplicates: how repeated coordinates are stored (default ``Duplicates/sum``).
    /// - Throws: ``TensorError/invalidShape(_:)`` for a negative dimension,
    ///   ``TensorError/shapeMismatch(operation:lhs:rhs:)`` when the arrays differ in length
    ///   or an index lies outside the matrix.
    public init(
        rows: Int, columns: Int, rowIndices: [Int32], columnIndices: [Int32], values: [Float]? = nil,
        duplicates: Duplicates = .sum
    ) throws(TensorError) {
        guard rows >= 0, columns >= 0 else { throw .invalidShape([rows, columns]) }
        guard rowIndices.count == columnIndices.count, values.map({ $0.count == rowIndices.count }) ?? true else {
            throw .shapeMismatch(
                operation: "SparseMatrix: row, column and value counts",
                lhs: [rowIndices.count, columnIndices.count], rhs: [values?.count ?? rowIndices.count])
        }
        for (r, c) in zip(rowIndices, columnIndices) where r < 0 || Int(r) >= rows || c < 0 || Int(c) >= columns {
            throw .shapeMismatch(
                operation: "SparseMatrix: entry (\(r), \(c)) outside the matrix",
                lhs: [rows, columns], rhs: [Int(r), Int(c)])
        }
        // Bucket by column first, then by row (two stable counting sorts): rows come out with
        // ascending columns and, within a column, in input order.
        let byColumn = Self.bucket(keys: columnIndices, count: columns, order: Array(0..<rowIndices.count))
        let order = Self.bucket(keys: rowIndices, count: rows, order: byColumn.order)
        var start = order.start
        var cols = order.order.map { columnIndices[$0] }
        var vals = values.map { v in order.order.map { v[$0] } } ?? [Float](repeating: 1, count: cols.count)
        if duplicates == .sum {
            var out = 0
            var merged = [Int](repeating: 0, count: rows + 1)
            for r in 0..<rows {
                for k in start[r]..<start[r + 1] {
                    if out > merged[r], cols[out - 1] == cols[k] {
                        vals[out - 1] += vals[k]
                    } else {
                        cols[out] = cols[k]
                        vals[out] = vals[k]
                        out += 1
                    }
                }
                merged[r + 1] = out
            }
            cols.removeLast(cols.count - out)
            vals.removeLast(vals.count - out)
            start = merged
        }
        self.init(validatedRows: rows, columns: columns, rowStart: start, columnIndices: cols, values: vals)
    }

    private init(validatedRows rows: Int, columns: Int, rowStart: [Int], columnIndices: [Int32], values: [Float]) {
        self.rows = rows
        self.columns = columns
        self.rowStart = rowStart
        self.columnIndices = columnIndices
        self.values = values
    }

    /// Stable counting sort of `order` by `keys[order[n]]` into `count` buckets.
    private static func bucket(keys: [Int32], count: Int, order: [Int]) -> (start: [Int], order: [Int]) {
        var start = [Int](repeating: 0, count: count + 1)
        for k in keys { start[Int(k) + 1] += 1 }
        for b in 0..<count { start[b + 1] += start[b] }
        var fill = start
        var out = [Int](repeating: 0, count: order.count)
        for n in order {
            let b = Int(keys[n])
            out[fill[b]] = n
            fill[b] += 1
        }
        return (start, out)
    }

    /// The transpose (`columns × rows`), in CSR form; entries that share a coordinate stay
    /// separate, so `transposed().transposed() == self`.
    public func transposed() -> SparseMatrix {
        var start = [Int](repeating: 0, count: columns + 1)
        for c in columnIndices { start[Int(c) + 1] += 1 }
        for c in 0..<columns { start[c + 1] += start[c] }
        var fill = start
        var cols = [Int32](repeating: 0, count: entryCount)
        var vals = [Float](repeating: 0, count: entryCount)
        for r in 0..<rows {
            for k in rowStart[r]..<rowStart[r + 1] {
                let c = Int(columnIndices[k])
                cols[fill[c]] = Int32(r)
                vals[fill[c]] = values[k]
                fill[c] += 1
            }
        }
        return SparseMatrix(validatedRows: columns, columns: rows, rowStart: start, columnIndices: cols, values: vals)
    }

    /// Number of stored entries in row `r`.
    public func rowCount(_ r: Int) -> Int { rowStart[r + 1] - rowStart[r] }

    /// Column indices of row `r`, ascending.
    public func columns(ofRow r: Int) -> ArraySlice<Int32> { columnIndices[rowStart[r]..<rowStart[r + 1]] }

    /// Values of row `r`, aligned with ``columns(ofRow:)``.
    public func values(ofRow r: Int) -> ArraySlice<Float> { values[rowStart[r]..<rowStart[r + 1]] }

    /// Whether entry `(r, c)` is stored (binary search in the sorted row).
    public func contains(row r: Int, column c: Int32) -> Bool {
        var lo = rowStart[r], hi = rowStart[r + 1]
        while lo < hi {
            let mid = (lo + hi) >> 1
            let v = columnIndices[mid]
            if v == c { return true }
            if v < c { lo = mid + 1 } else { hi = mid }
        }
        return false
    }
}
