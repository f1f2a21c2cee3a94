// Row gather (embedding lookup), its gradient (scatter-add), and concatenation.

extension Tensor {
    /// Rows `indices` of a rank-2 tensor, stacked: an embedding lookup.
    public func gatherRows(_ indices: [Int]) -> Tensor {
        var out = Tensor(zeros: [indices.count, columns])
        gatherRows(indices, into: &out)
        return out
    }

    /// Gathers rows `indices` into `out` (`[indices.count, columns]`), reusing its storage.
    public func gatherRows(_ indices: [Int], into out: inout Tensor) {
        precondition(rank == 2, "gatherRows needs a rank-2 table, got shape \(shape)")
        let c = shape[1], n = shape[0]
        out.prepare(rows: indices.count, columns: c)
        let src = storage.pointer, dst = out.storage.pointer
        for (r, index) in indices.enumerated() {
            precondition(index >= 0 && index < n, "row index \(index) out of range for shape \(shape)")
            (dst + r * c).update(from: src + index * c, count: c)
        }
    }

    /// Adds row `r` of `source` into row `indices[r]` of this tensor, for every `r`:
    /// the gradient of ``gatherRows(_:)``. Repeated indices accumulate.
    public mutating func scatterAddRows(_ indices: [Int], from source: Tensor) {
        precondition(
            rank == 2 && source.rank == 2 && source.shape[1] == shape[1] && source.shape[0] == indices.count,
            TensorError.shapeMismatch(operation: "scatterAddRows", lhs: shape, rhs: source.shape).description + " for \(indices.count) indices")
        makeUnique()
        let c = shape[1], n = shape[0]
        let src = source.storage.pointer, dst = storage.pointer
        for (r, index) in indices.enumerated() {
            precondition(index >= 0 && index < n, "row index \(index) out of range for shape \(shape)")
            let d = dst + index * c, s = src + r * c
            for j in 0..<c { d[j] += s[j] }
        }
    }

    /// `[a | b]`: two rank-2 tensors with the same rows side by side.
    public static func concatenateColumns(_ a: Tensor, _ b: Tensor) -> Tensor {
        var out = Tensor(zeros: [a.rows, a.columns + b.columns])
        concatenateColumns(a, b, into: &out)
        return out
    }

    /// Writes `[a | b]` into `out`, reusing its storage.
    public static func concatenateColumns(_ a: Tensor, _ b: Tensor, into out: inout Tensor) {
        guard a.rank == 2, b.rank == 2, a.shape[0] == b.shape[0] else { shapeFailure("concatenateColumns", a.shape, b.shape) }
        let r = a.shape[0], ca = a.shape[1], cb = b.shape[1], c = ca + cb
        out.prepare(rows: r, columns: c)
        let pa = a.storage.pointer, pb = b.storage.pointer, o = out.storage.pointer
        for i in 0..<r {
            (o + i * c).update(from: pa + i * ca, count: ca)
            (o + i * c + ca).update(from: pb + i * cb, count: cb)
        }
    }

    /// Copies columns `range` of a rank-2 tensor into `out` (`[rows, range.count]`):
    /// the inverse of ``concatenateColumns(_:_:into:)``, used to split a gradient.
    public func sliceColumns(_ range: Range<Int>, into out: inout Tensor) {
        precondition(
            rank == 2 && range.lowerBound >= 0 && range.upperBound <= shape[1],
            "columns \(range) out of range for shape \(shape)")
        let r = shape[0], c = shape[1], w = range.count
        out.prepare(rows: r, columns: w)
        let src = storage.pointer, dst = out.storage.pointer
        for i in 0..<r { (dst + i * w).update(from: src + i * c + range.lowerBound, count: w) }
    }

    /// Columns `range` of a rank-2 tensor as a new tensor.
    public func sliceColumns(_ range: Range<Int>) -> Tensor {
        var out = Tensor(zeros: [rows, range.count])
        sliceColumns(range, into: &out)
        return out
    }

    /// Rows `range` of a rank-2 tensor as a new tensor.
    public func sliceRows(_ range: Range<Int>) -> Tensor {
        precondition(
            rank == 2 && range.lowerBound >= 0 && range.upperBound <= shape[0],
            "rows \(range) out of range for shape \(shape)")
        let c = shape[1]
        let out = Tensor(zeros: [range.count, c])
        out.storage.pointer.update(from: storage.pointer + range.lowerBound * c, count: range.count * c)
        return out
    }
}
