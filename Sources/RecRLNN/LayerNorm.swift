import RecRLTensor

/// Layer normalisation (Ba et al. 2016): each group of ``size`` consecutive features is
/// normalised to zero mean and unit variance, then scaled and shifted per feature:
/// `y = (x − mean) / sqrt(var + ε) · scale + offset`, with the biased variance (as PyTorch's
/// `nn.LayerNorm` over the last dimension).
///
/// The input is `[batch, m · size]` for any `m ≥ 1`: with `m > 1` every group of `size`
/// features (e.g. each item vector of a page) is normalised on its own. The output has
/// the input's shape.
public struct LayerNorm: Layer {
    /// The per-feature scale `[size]` (γ), initially 1.
    public var scale: Tensor
    /// The per-feature offset `[size]` (β), initially 0.
    public var offset: Tensor
    /// ε added to the variance (PyTorch's default 1e-5).
    public var epsilon: Float

    /// The number of features normalised together.
    public var size: Int { scale.count }

    /// A layer normalising groups of `size` features, with scale 1 and offset 0.
    public init(size: Int, epsilon: Float = 1e-5) {
        precondition(size > 0, "LayerNorm needs a positive size, got \(size)")
        scale = Tensor(shape: [size], repeating: 1)
        offset = Tensor(zeros: [size])
        self.epsilon = epsilon
    }

    /// A layer with the given scale and offset (both `[size]`); throws when they differ.
    public init(scale: Tensor, offset: Tensor, epsilon: Float = 1e-5) throws(TensorError) {
        guard scale.rank == 1, scale.shape == offset.shape, scale.count > 0 else {
            throw .shapeMismatch(operation: "LayerNorm(scale:offset:)", lhs: scale.shape, rhs: offset.shape)
        }
        self.scale = scale
        self.offset = offset
        self.epsilon = epsilon
    }

    /// Buffers for one batch: the output, the normalised input and each group's 1/σ.
    public struct Context: LayerContext {
        public internal(set) var output = Tensor(zeros: [0])
        public internal(set) var inputGradient = Tensor(zeros: [0])
        var normalized = Tensor(zeros: [0])
        var inverseDeviation = Tensor(zeros: [0])
    }

    public func makeContext() -> Context { Context() }

    public func forward(_ input: Tensor, context: inout Context) {
        let d = size
        precondition(
            input.rank == 2 && input.columns % d == 0 && input.count > 0,
            "LayerNorm(\(d)) needs input [batch, m · \(d)], got \(input.shape)")
        let groups = input.count / d
        context.output.prepare(rows: input.rows, columns: input.columns)
        context.normalized.prepare(rows: groups, columns: d)
        context.inverseDeviation.prepare(count: groups)
        let eps = epsilon
        input.withUnsafeBufferPointer { x in
            scale.withUnsafeBufferPointer { g in
                offset.withUnsafeBufferPointer { b in
                    context.output.withUnsafeMutableBufferPointer { y in
                        context.normalized.withUnsafeMutableBufferPointer { xhat in
                            context.inverseDeviation.withUnsafeMutableBufferPointer { inv in
                                for r in 0..<groups {
                                    let xr = x.baseAddress! + r * d, yr = y.baseAddress! + r * d, nr = xhat.baseAddress! + r * d
                                    var mean: Float = 0
                                    for j in 0..<d { mean += xr[j] }
                                    mean /= Float(d)
                                    var variance: Float = 0
                                    for j in 0..<d { let c = xr[j] - mean; variance += c * c }
                                    variance /= Float(d)
                                    let s = 1 / (variance + eps).squareRoot()
                                    inv[r] = s
                                    for j in 0..<d {
                                        let n = (xr[j] - mean) * s
                                        nr[j] = n
                                        yr[j] = n * g[j] + b[j]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout LayerNorm,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        precondition(
            outputGradient.count == context.output.count,
            "LayerNorm backward: output gradient \(outputGradient.shape) does not match output \(context.output.shape)")
        let d = size, groups = context.normalized.rows
        if computeParameterGradient {
            gradient.scale.prepare(count: d)
            gradient.offset.prepare(count: d)
            outputGradient.withUnsafeBufferPointer { dy in
                context.normalized.withUnsafeBufferPointer { xhat in
                    gradient.scale.withUnsafeMutableBufferPointer { dg in
                        gradient.offset.withUnsafeMutableBufferPointer { db in
                            dg.update(repeating: 0)
                            db.update(repeating: 0)
                            for r in 0..<groups {
                                for j in 0..<d {
                                    dg[j] += dy[r * d + j] * xhat[r * d + j]
                                    db[j] += dy[r * d + j]
                                }
                            }
                        }
                    }
                }
            }
        }
        guard computeInputGradient else { return }
        // dx = (1/σ) · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) with ĝ = dy ⊙ scale.
        context.inputGradient.prepare(rows: context.output.rows, columns: context.output.columns)
        outputGradient.withUnsafeBufferPointer { dy in
            scale.withUnsafeBufferPointer { g in
                context.normalized.withUnsafeBufferPointer { xhat in
                    context.inverseDeviation.withUnsafeBufferPointer { inv in
                        context.inputGradient.withUnsafeMutableBufferPointer { dx in
                            for r in 0..<groups {
                                var meanG: Float = 0, meanGX: Float = 0
                                for j in 0..<d {
                                    let gj = dy[r * d + j] * g[j]
                                    meanG += gj
                                    meanGX += gj * xhat[r * d + j]
                                }
                                meanG /= Float(d)
                                meanGX /= Float(d)
                                let s = inv[r]
                                for j in 0..<d {
                                    dx[r * d + j] = s * (dy[r * d + j] * g[j] - meanG - xhat[r * d + j] * meanGX)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try body("scale", &scale)
        try body("offset", &offset)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try body("scale", scale)
        try body("offset", offset)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        body(&scale)
        body(&offset)
    }

    public mutating func updateParameters(pairedWith other: LayerNorm, _ body: (inout Tensor, Tensor) -> Void) {
        body(&scale, other.scale)
        body(&offset, other.offset)
    }
}
