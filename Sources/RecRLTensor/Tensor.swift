/// A float32 tensor: a shape and contiguous row-major storage, with value semantics.
///
/// Copies share storage until one of them is mutated (copy-on-write), like `Array`.
/// Operations whose operand shapes do not fit stop the program with a message that
/// names both shapes (a programming error, like an out-of-range array index); use
/// the throwing initialisers for data that comes from outside.
///
/// Hot paths avoid allocation with the `into:` variants (``matmul(_:_:transposeA:transposeB:into:alpha:beta:)``,
/// ``Tensor/add(_:into:)`` …), which write into a preallocated tensor.
public struct Tensor: Sendable {
    /// The dimensions, outermost first.
    public private(set) var shape: [Int]
    @usableFromInline var storage: TensorStorage
    /// The number of scalars (the product of `shape`).
    public private(set) var count: Int

    // MARK: Initialisers

    /// The number of scalars of `shape` (the product of its dimensions), or nil when a
    /// dimension is negative or the product does not fit in an `Int`. Use it before
    /// multiplying dimensions that come from outside (files, requests).
    public static func elementCount(of shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = p
        }
        return n
    }

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        guard let n = Tensor.elementCount(of: shape) else { preconditionFailure(TensorError.invalidShape(shape).description) }
        self.shape = shape
        self.count = n
        self.storage = TensorStorage(capacity: n)
        storage.pointer.initialize(repeating: value, count: Swift.max(n, 1))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) { self.init(shape: shape, repeating: 0) }

    /// A tensor from row-major scalars; throws when the count does not fit the shape.
    public init(shape: [Int], scalars: [Float]) throws(TensorError) {
        guard let n = Tensor.elementCount(of: shape) else { throw .invalidShape(shape) }
        guard n == scalars.count else { throw .scalarCountMismatch(shape: shape, scalarCount: scalars.count) }
        self.shape = shape
        self.count = n
        self.storage = TensorStorage(capacity: n)
        scalars.withUnsafeBufferPointer { src in
            if n > 0 { storage.pointer.initialize(from: src.baseAddress!, count: n) }
        }
    }

    /// A rank-1 tensor holding `scalars`.
    public init(_ scalars: [Float]) {
        // A rank-1 shape always fits its scalars.
        self = try! Tensor(shape: [scalars.count], scalars: scalars)
    }

    /// A rank-2 tensor from rows of equal length; throws when the rows are ragged.
    public init(rows: [[Float]]) throws(TensorError) {
        let cols = rows.first?.count ?? 0
        for row in rows where row.count != cols {
            throw .shapeMismatch(operation: "Tensor(rows:)", lhs: [cols], rhs: [row.count])
        }
        try self.init(shape: [rows.count, cols], scalars: rows.flatMap { $0 })
    }

    /// Values drawn uniformly from `range`, from an explicit generator.
    public init<G: RandomNumberGenerator>(randomUniform shape: [Int], in range: ClosedRange<Float> = 0...1, using rng: inout G) {
        self.init(zeros: shape)
        let lo = range.lowerBound, width = range.upperBound - range.lowerBound
        let p = storage.pointer
        for i in 0..<count { p[i] = lo + width * rng.nextUnitFloat() }
    }

    /// Values drawn from a normal distribution, from an explicit generator.
    public init<G: RandomNumberGenerator>(randomNormal shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using rng: inout G) {
        self.init(zeros: shape)
        let p = storage.pointer
        for i in 0..<count { p[i] = mean + standardDeviation * rng.nextNormalFloat() }
    }

    /// Glorot (Xavier) uniform initialisation for a `[fanIn, fanOut]` weight matrix:
    /// `U(-l, l)` with `l = sqrt(6 / (fanIn + fanOut))` (Glorot & Bengio 2010).
    public init<G: RandomNumberGenerator>(glorotUniform shape: [Int], using rng: inout G) {
        precondition(shape.count == 2, "glorotUniform needs a rank-2 shape, got \(shape)")
        let limit = (6 / Float(shape[0] + shape[1])).squareRoot()
        self.init(randomUniform: shape, in: -limit...limit, using: &rng)
    }

    // MARK: Shape

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// Rows when viewed as a matrix: the first dimension of a rank ≥ 2 tensor, else 1.
    @inlinable public var rows: Int { shape.count >= 2 ? shape[0] : 1 }
    /// Columns when viewed as a matrix: the product of all but the first dimension
    /// of a rank ≥ 2 tensor, else `count` (a rank-1 tensor is a row vector).
    @inlinable public var columns: Int {
        guard shape.count >= 2 else { return count }
        var c = 1
        for i in 1..<shape.count { c *= shape[i] }
        return c
    }

    /// A tensor with the same scalars and a new shape of the same count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(of: newShape) == count, TensorError.shapeMismatch(operation: "reshaped", lhs: shape, rhs: newShape).description)
        var t = self
        t.shape = newShape
        return t
    }

    /// Makes this tensor `newShape`, reusing its storage when it is large enough
    /// and unshared; the contents are unspecified afterwards. Allocates nothing
    /// when the shape is already `newShape` (the warm hot-path case).
    @inlinable
    public mutating func prepare(shape newShape: [Int]) {
        if newShape == shape { makeUnique(); return }
        resizeStorage(newShape)
    }

    /// Makes this tensor `[rows, columns]` without building a shape array when it already is.
    @inlinable
    public mutating func prepare(rows r: Int, columns c: Int) {
        if shape.count == 2 && shape[0] == r && shape[1] == c { makeUnique(); return }
        resizeStorage([r, c])
    }

    /// Makes this tensor a rank-1 `[count]` without building a shape array when it already is.
    @inlinable
    public mutating func prepare(count n: Int) {
        if shape.count == 1 && shape[0] == n { makeUnique(); return }
        resizeStorage([n])
    }

    @usableFromInline
    mutating func resizeStorage(_ newShape: [Int]) {
        guard let n = Tensor.elementCount(of: newShape) else { preconditionFailure(TensorError.invalidShape(newShape).description) }
        if n > storage.capacity || !isKnownUniquelyReferenced(&storage) {
            storage = TensorStorage(capacity: n)
        }
        shape = newShape
        count = n
    }

    @inlinable
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = TensorStorage(copying: storage, count: count)
        }
    }

    // MARK: Access

    /// Calls `body` with the scalars, row-major.
    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Calls `body` with mutable scalars, copying shared storage first.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(_ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// The scalars as an array, row-major.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The scalar at a flat row-major index.
    @inlinable
    public subscript(flat index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "flat index \(index) out of range for shape \(shape)")
            return storage.pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "flat index \(index) out of range for shape \(shape)")
            makeUnique()
            storage.pointer[index] = newValue
        }
    }

    /// The scalar at `(row, column)` of a rank-2 tensor.
    @inlinable
    public subscript(row: Int, column: Int) -> Float {
        get {
            precondition(
                rank == 2 && row >= 0 && row < shape[0] && column >= 0 && column < shape[1],
                "index (\(row), \(column)) out of range for shape \(shape)")
            return storage.pointer[row * shape[1] + column]
        }
        set {
            precondition(
                rank == 2 && row >= 0 && row < shape[0] && column >= 0 && column < shape[1],
                "index (\(row), \(column)) out of range for shape \(shape)")
            makeUnique()
            storage.pointer[row * shape[1] + column] = newValue
        }
    }

    /// One row of a rank-2 tensor as a rank-1 tensor (a copy).
    public func row(_ index: Int) -> Tensor {
        precondition(rank == 2 && index >= 0 && index < shape[0], "row \(index) out of range for shape \(shape)")
        let c = shape[1]
        let out = Tensor(zeros: [c])
        out.storage.pointer.update(from: storage.pointer + index * c, count: c)
        return out
    }

    /// Sets every scalar to `value` in place.
    @inlinable
    public mutating func fill(_ value: Float) {
        makeUnique()
        storage.pointer.update(repeating: value, count: count)
    }

    /// Copies `other`'s scalars into this tensor, which takes `other`'s shape
    /// (reusing storage when it can).
    @inlinable
    public mutating func assign(_ other: Tensor) {
        if other.storage === storage && other.shape == shape { return }
        prepare(shape: other.shape)
        storage.pointer.update(from: other.storage.pointer, count: count)
    }
}

extension Tensor: Equatable {
    /// Tensors are equal when their shapes and scalars are equal.
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        for i in 0..<lhs.count where lhs.storage.pointer[i] != rhs.storage.pointer[i] { return false }
        return true
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(16).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), scalars: [\(shown)\(count > 16 ? ", …" : "")])"
    }
}
