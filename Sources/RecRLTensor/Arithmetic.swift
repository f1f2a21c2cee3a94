// Element-wise arithmetic, broadcasting of a row vector over rows, and reductions.

extension Tensor {
    /// How `rhs` lines up with `lhs` in a binary element-wise operation.
    @usableFromInline
    enum Broadcast { case same, rowVector }

    @usableFromInline
    static func broadcast(_ op: String, _ lhs: Tensor, _ rhs: Tensor) -> Broadcast {
        if lhs.shape == rhs.shape { return .same }
        if lhs.rank >= 2 && rhs.rank == 1 && rhs.count == lhs.columns { return .rowVector }
        if lhs.rank >= 2 && rhs.rank == 2 && rhs.shape[0] == 1 && rhs.count == lhs.columns { return .rowVector }
        shapeFailure(op, lhs.shape, rhs.shape)
    }

    /// Writes `f(lhs[i], rhs[i])` into `out`; `rhs` may be a row vector broadcast over rows.
    @inlinable
    static func binary(_ op: String, _ lhs: Tensor, _ rhs: Tensor, into out: inout Tensor, _ f: (Float, Float) -> Float) {
        let mode = broadcast(op, lhs, rhs)
        out.prepare(shape: lhs.shape)
        let a = lhs.storage.pointer, b = rhs.storage.pointer, o = out.storage.pointer
        switch mode {
        case .same:
            for i in 0..<lhs.count { o[i] = f(a[i], b[i]) }
        case .rowVector:
            let cols = lhs.columns
            for r in 0..<lhs.rows {
                let base = r * cols
                for c in 0..<cols { o[base + c] = f(a[base + c], b[c]) }
            }
        }
    }

    @inlinable
    static func binary(_ op: String, _ lhs: Tensor, _ rhs: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        var out = Tensor(zeros: lhs.shape)
        binary(op, lhs, rhs, into: &out, f)
        return out
    }

    /// A new tensor with `f` applied to every scalar.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(zeros: shape)
        let a = storage.pointer, o = out.storage.pointer
        for i in 0..<count { o[i] = f(a[i]) }
        return out
    }

    /// Applies `f` to every scalar in place.
    @inlinable
    public mutating func apply(_ f: (Float) -> Float) {
        makeUnique()
        let a = storage.pointer
        for i in 0..<count { a[i] = f(a[i]) }
    }

    // MARK: Operators (rhs may be a row vector broadcast over rows)

    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { binary("+", lhs, rhs, +) }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { binary("-", lhs, rhs, -) }
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { binary("*", lhs, rhs, *) }
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { binary("/", lhs, rhs, /) }
    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 + rhs } }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 - rhs } }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 * rhs } }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 / rhs } }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    public static func + (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs + $0 } }
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs - $0 } }
    public static prefix func - (x: Tensor) -> Tensor { x.map { -$0 } }

    public static func += (lhs: inout Tensor, rhs: Tensor) { binary("+=", lhs, rhs, into: &lhs, +) }
    public static func -= (lhs: inout Tensor, rhs: Tensor) { binary("-=", lhs, rhs, into: &lhs, -) }
    public static func *= (lhs: inout Tensor, rhs: Tensor) { binary("*=", lhs, rhs, into: &lhs, *) }
    public static func *= (lhs: inout Tensor, rhs: Float) { lhs.apply { $0 * rhs } }
    public static func += (lhs: inout Tensor, rhs: Float) { lhs.apply { $0 + rhs } }

    // MARK: Into-preallocated variants

    /// `out = self + rhs` (rhs may be a broadcast row vector), reusing `out`'s storage.
    @inlinable public func add(_ rhs: Tensor, into out: inout Tensor) { Tensor.binary("add", self, rhs, into: &out, +) }
    /// `out = self - rhs`, reusing `out`'s storage.
    @inlinable public func subtract(_ rhs: Tensor, into out: inout Tensor) { Tensor.binary("subtract", self, rhs, into: &out, -) }
    /// `out = self * rhs` element-wise, reusing `out`'s storage.
    @inlinable public func multiply(_ rhs: Tensor, into out: inout Tensor) { Tensor.binary("multiply", self, rhs, into: &out, *) }

    /// `self += alpha * x` in place (axpy).
    @inlinable
    public mutating func addScaled(_ x: Tensor, by alpha: Float) {
        guard x.shape == shape else { shapeFailure("addScaled", shape, x.shape) }
        makeUnique()
        let a = storage.pointer, b = x.storage.pointer
        for i in 0..<count { a[i] += alpha * b[i] }
    }

    // MARK: Reductions

    /// The sum of all scalars (accumulated in Double).
    public func sum() -> Float {
        var s = 0.0
        let a = storage.pointer
        for i in 0..<count { s += Double(a[i]) }
        return Float(s)
    }

    /// The mean of all scalars; 0 for an empty tensor.
    public func mean() -> Float { count == 0 ? 0 : Float(Double(sum()) / Double(count)) }

    /// The largest absolute scalar; 0 for an empty tensor.
    public func maxAbs() -> Float {
        var m: Float = 0
        let a = storage.pointer
        for i in 0..<count { m = Swift.max(m, Swift.abs(a[i])) }
        return m
    }

    /// Whether every scalar is finite (no NaN, no ±∞); true for an empty tensor.
    public var isFinite: Bool {
        let a = storage.pointer
        for i in 0..<count where !a[i].isFinite { return false }
        return true
    }

    /// The squared L2 norm of all scalars.
    public func squaredNorm() -> Float {
        var s: Float = 0
        let a = storage.pointer
        for i in 0..<count { s += a[i] * a[i] }
        return s
    }

    /// Sums a rank-2 tensor along `axis`: 0 sums over rows (result `[columns]`),
    /// 1 sums over columns (result `[rows]`).
    public func sum(alongAxis axis: Int) -> Tensor {
        precondition(rank == 2, "sum(alongAxis:) needs a rank-2 tensor, got shape \(shape)")
        precondition(axis == 0 || axis == 1, "axis must be 0 or 1, got \(axis)")
        let r = shape[0], c = shape[1]
        let a = storage.pointer
        if axis == 0 {
            let out = Tensor(zeros: [c])
            let o = out.storage.pointer
            for i in 0..<r { for j in 0..<c { o[j] += a[i * c + j] } }
            return out
        } else {
            let out = Tensor(zeros: [r])
            let o = out.storage.pointer
            for i in 0..<r {
                var s: Float = 0
                for j in 0..<c { s += a[i * c + j] }
                o[i] = s
            }
            return out
        }
    }

    /// The mean of a rank-2 tensor along `axis` (see ``sum(alongAxis:)``).
    public func mean(alongAxis axis: Int) -> Tensor {
        let n = axis == 0 ? shape[0] : (rank == 2 ? shape[1] : 1)
        return sum(alongAxis: axis) / Float(Swift.max(n, 1))
    }

    /// Column sums of a rank-2 tensor into `out` (`out = beta * out + Σ_rows self`): a bias gradient.
    public func sumRows(into out: inout Tensor, beta: Float = 0) {
        precondition(rank == 2, "sumRows(into:) needs a rank-2 tensor, got shape \(shape)")
        if beta == 0 {
            out.prepare(count: shape[1])
        } else if out.count != shape[1] {
            shapeFailure("sumRows(into:)", shape, out.shape)
        }
        out.makeUnique()
        recrlColumnSums(storage.pointer, shape[0], shape[1], out.storage.pointer, beta)
    }

    /// The transpose of a rank-2 tensor.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a rank-2 tensor, got shape \(shape)")
        let r = shape[0], c = shape[1]
        let out = Tensor(zeros: [c, r])
        let a = storage.pointer, o = out.storage.pointer
        for i in 0..<r { for j in 0..<c { o[j * r + i] = a[i * c + j] } }
        return out
    }
}
