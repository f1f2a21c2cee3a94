import RecRLTensor

/// A lookup table: row `i` of ``weight`` is the vector of index `i`.
///
/// The input holds indices as exact integers in float32 (`[batch, n]`, each in
/// `0..<count`; float32 represents every integer below 2²⁴ exactly); the output is
/// `[batch, n · dimension]`, the `n` vectors of a row side by side.
///
/// The gradient is accumulated sparsely: ``backward(input:outputGradient:context:gradient:computeParameterGradient:computeInputGradient:)``
/// clears only the rows it wrote last time and adds into the rows looked up now (repeated
/// indices accumulate), recording them in the gradient's ``touchedRows``. Its cost is
/// proportional to the batch, not to the table. The gradient's ``weight`` is still a full,
/// correct dense gradient (zero outside ``touchedRows``), so the dense optimizers work on
/// it; a caller updating a large table can instead read ``touchedRows`` and update those
/// rows only. Pass a gradient made by ``Layer/zeroGradient()`` of this layer (or one that a
/// previous backward wrote), as for every layer.
///
/// Indices are not differentiable: the input gradient is zero.
public struct Embedding: Layer {
    /// The table `[count, dimension]`.
    public var weight: Tensor
    /// In a gradient: the distinct rows the most recent backward wrote into, in first-use
    /// order. Empty in a model.
    public var touchedRows: ArraySlice<Int> { rowList[0..<touchedCount] }
    /// In a gradient: ``touchedRows`` followed by unused room (one slot per row).
    private var rowList: [Int] = []
    private var touchedCount = 0
    /// In a gradient: `rowMarks[i] != 0` when row `i` is in ``touchedRows``.
    private var rowMarks: [UInt8] = []

    /// The number of rows (distinct indices).
    public var count: Int { weight.shape[0] }
    /// The length of each vector.
    public var dimension: Int { weight.shape[1] }

    /// A table of `count` vectors of length `dimension`, drawn from N(0, 1) (PyTorch's
    /// default for `nn.Embedding`) scaled by `standardDeviation`.
    public init<G: RandomNumberGenerator>(count: Int, dimension: Int, standardDeviation: Float = 1, using rng: inout G) {
        precondition(count > 0 && dimension > 0, "Embedding needs positive sizes, got \(count) x \(dimension)")
        weight = Tensor(randomNormal: [count, dimension], standardDeviation: standardDeviation, using: &rng)
    }

    /// A layer with the given table `[count, dimension]`; throws when it is not rank 2.
    public init(weight: Tensor) throws(TensorError) {
        guard weight.rank == 2, weight.shape[0] > 0, weight.shape[1] > 0 else { throw .invalidShape(weight.shape) }
        self.weight = weight
    }

    /// Throws unless every scalar of `indices` is an integer in `0..<count`: call it on
    /// indices from outside before ``forward(_:context:)``, which stops on a bad index.
    public func validate(indices: Tensor) throws(TensorError) {
        let n = count
        var bad = false
        indices.withUnsafeBufferPointer { p in
            for x in p where !Self.isIndex(x, below: n) { bad = true; break }
        }
        if bad { throw .shapeMismatch(operation: "Embedding indices (integers in 0..<\(n))", lhs: indices.shape, rhs: weight.shape) }
    }

    /// Whether `x` is an integer in `0..<n`.
    private static func isIndex(_ x: Float, below n: Int) -> Bool {
        x >= 0 && x < Float(n) && x == x.rounded(.towardZero)
    }

    public func makeContext() -> BasicContext { BasicContext() }

    public func forward(_ input: Tensor, context: inout BasicContext) {
        let d = dimension, n = count
        let rows = input.rank >= 2 ? input.shape[0] : 1
        context.output.prepare(rows: rows, columns: input.count * d / max(rows, 1))
        weight.withBase { w in
            input.withUnsafeBufferPointer { idx in
                context.output.withMutableBase { y in
                    for k in 0..<idx.count {
                        let x = idx[k]
                        precondition(Self.isIndex(x, below: n), "Embedding index \(x) is not an integer in 0..<\(n)")
                        (y + k * d).update(from: w + Int(x) * d, count: d)
                    }
                }
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout BasicContext, gradient: inout Embedding,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        precondition(
            outputGradient.count == input.count * dimension,
            "Embedding backward: output gradient \(outputGradient.shape) does not fit \(input.shape) indices of dimension \(dimension)")
        if computeInputGradient {
            context.inputGradient.prepare(shape: input.shape)
            context.inputGradient.fill(0)
        }
        guard computeParameterGradient else { return }
        gradient.accumulate(indices: input, outputGradient: outputGradient)
    }

    /// Clears the rows written last time, then adds each row of `outputGradient` into its index's row.
    private mutating func accumulate(indices: Tensor, outputGradient: Tensor) {
        let d = dimension
        if rowMarks.count != count {
            rowMarks = [UInt8](repeating: 0, count: count)
            rowList = [Int](repeating: 0, count: count)
        }
        var n = touchedCount
        weight.withMutableBase { g in
            indices.withUnsafeBufferPointer { idx in
                outputGradient.withBase { dy in
                    rowList.withUnsafeMutableBufferPointer { list in
                        rowMarks.withUnsafeMutableBufferPointer { marks in
                            for t in 0..<n {
                                (g + list[t] * d).update(repeating: 0, count: d)
                                marks[list[t]] = 0
                            }
                            n = 0
                            for k in 0..<idx.count {
                                let i = Int(idx[k])
                                if marks[i] == 0 { marks[i] = 1; list[n] = i; n += 1 }
                                let dst = g + i * d, src = dy + k * d
                                for j in 0..<d { dst[j] += src[j] }
                            }
                        }
                    }
                }
            }
        }
        touchedCount = n
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try body("weight", &weight)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try body("weight", weight)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        body(&weight)
    }

    public mutating func updateParameters(pairedWith other: Embedding, _ body: (inout Tensor, Tensor) -> Void) {
        body(&weight, other.weight)
    }
}
