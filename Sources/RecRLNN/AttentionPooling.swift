import RecRLTensor
import Foundation

/// Attention pooling: a learned weighted average of a sequence of vectors,
/// `y = Σ_t α_t h_t` with `α = softmax(s)` over the valid steps.
///
/// The input is `[batch, T · size]` (`T` vectors `h_t` of length ``size`` side by side);
/// the output is `[batch, size]`. The scores `s_t` come from ``Scoring``:
/// - ``Scoring/dotProduct``: `s_t = q · h_t / √size` with a learned query `q` (scaled as in
///   Vaswani et al. 2017, so the softmax's temperature does not grow with `size`);
/// - ``Scoring/additive``: `s_t = vᵀ tanh(h_t W + b)` (Bahdanau et al. 2015).
///
/// A mask `[batch, T]` (1 valid, 0 padding) excludes padded steps: their weight is exactly 0.
/// A row with no valid step pools to the zero vector (its weights are all 0).
public struct AttentionPooling: Layer {
    /// How the score of each step is computed.
    public enum Scoring: Int, Sendable, Codable, CaseIterable {
        /// `q · h_t / √size` with the learned ``AttentionPooling/query``.
        case dotProduct = 0
        /// `vᵀ tanh(h_t W + b)` with the learned ``AttentionPooling/weight``, ``AttentionPooling/bias``
        /// and ``AttentionPooling/vector``.
        case additive = 1
    }

    /// The scoring function.
    public let scoring: Scoring
    /// Dot-product scoring: the query `[size]`. Empty for additive scoring.
    public var query: Tensor
    /// Additive scoring: `W` `[size, attentionSize]`. Empty for dot-product scoring.
    public var weight: Tensor
    /// Additive scoring: `b` `[attentionSize]`. Empty for dot-product scoring.
    public var bias: Tensor
    /// Additive scoring: `v` `[attentionSize]`. Empty for dot-product scoring.
    public var vector: Tensor
    /// The length of each pooled vector.
    public let size: Int

    /// Dot-product pooling of vectors of length `size`, the query drawn from U(−1/√size, 1/√size).
    public init<G: RandomNumberGenerator>(dotProductOfSize size: Int, using rng: inout G) {
        precondition(size > 0, "AttentionPooling needs a positive size, got \(size)")
        let limit = 1 / Float(size).squareRoot()
        self.scoring = .dotProduct
        self.size = size
        query = Tensor(randomUniform: [size], in: -limit...limit, using: &rng)
        weight = Tensor(zeros: [0]); bias = Tensor(zeros: [0]); vector = Tensor(zeros: [0])
    }

    /// Additive pooling of vectors of length `size` through a hidden layer of `attentionSize`
    /// units: `W` Glorot-uniform, `b` zero, `v` from U(−1/√attentionSize, 1/√attentionSize).
    public init<G: RandomNumberGenerator>(additiveOfSize size: Int, attentionSize: Int, using rng: inout G) {
        precondition(size > 0 && attentionSize > 0, "AttentionPooling needs positive sizes, got \(size), \(attentionSize)")
        let limit = 1 / Float(attentionSize).squareRoot()
        self.scoring = .additive
        self.size = size
        query = Tensor(zeros: [0])
        weight = Tensor(glorotUniform: [size, attentionSize], using: &rng)
        bias = Tensor(zeros: [attentionSize])
        vector = Tensor(randomUniform: [attentionSize], in: -limit...limit, using: &rng)
    }

    /// Dot-product pooling with the given query `[size]`.
    public init(query: Tensor) throws(TensorError) {
        guard query.rank == 1, query.count > 0 else { throw .invalidShape(query.shape) }
        scoring = .dotProduct
        size = query.count
        self.query = query
        weight = Tensor(zeros: [0]); bias = Tensor(zeros: [0]); vector = Tensor(zeros: [0])
    }

    /// Additive pooling with the given `W` `[size, a]`, `b` `[a]` and `v` `[a]`.
    public init(weight: Tensor, bias: Tensor, vector: Tensor) throws(TensorError) {
        guard weight.rank == 2, bias.shape == [weight.shape[1]], vector.shape == [weight.shape[1]], weight.count > 0 else {
            throw .shapeMismatch(operation: "AttentionPooling(weight:bias:vector:)", lhs: weight.shape, rhs: bias.shape + vector.shape)
        }
        scoring = .additive
        size = weight.shape[0]
        query = Tensor(zeros: [0])
        self.weight = weight; self.bias = bias; self.vector = vector
    }

    /// Buffers for one batch.
    public struct Context: LayerContext {
        public internal(set) var output = Tensor(zeros: [0])
        public internal(set) var inputGradient = Tensor(zeros: [0])
        /// The attention weights `[batch, T]` of the most recent forward pass.
        public internal(set) var weights = Tensor(zeros: [0])
        var hidden = Tensor(zeros: [0])  // additive: tanh(h W + b), [batch·T, a]
        var scoreGradient = Tensor(zeros: [0])  // [batch, T], then additive: dZ [batch·T, a]
        var hiddenGradient = Tensor(zeros: [0])
    }

    public func makeContext() -> Context { Context() }

    public func forward(_ input: Tensor, context: inout Context) {
        forward(input, mask: nil, context: &context)
    }

    /// The forward pass with a mask `[batch, T]` (1 valid, 0 padding; nil: all valid).
    public func forward(_ input: Tensor, mask: Tensor?, context: inout Context) {
        let d = size, batch = input.rows
        precondition(
            input.rank == 2 && input.columns % d == 0 && input.columns > 0,
            "AttentionPooling(\(d)) needs input [batch, T · \(d)], got \(input.shape)")
        let steps = input.columns / d
        if let mask { precondition(mask.count == batch * steps, "AttentionPooling mask \(mask.shape) does not fit [\(batch), \(steps)]") }
        context.weights.prepare(rows: batch, columns: steps)
        context.output.prepare(rows: batch, columns: d)
        // Scores into context.weights.
        switch scoring {
        case .dotProduct:
            let s = 1 / Float(d).squareRoot()
            input.withUnsafeBufferPointer { h in
                query.withUnsafeBufferPointer { q in
                    context.weights.withUnsafeMutableBufferPointer { w in
                        UnsafeKernels.gemm(
                            transposeA: false, transposeB: false, m: batch * steps, n: 1, k: d, alpha: s,
                            a: h.baseAddress!, lda: d, b: q.baseAddress!, ldb: 1, c: w.baseAddress!, ldc: 1)
                    }
                }
            }
        case .additive:
            let a = weight.shape[1]
            context.hidden.prepare(rows: batch * steps, columns: a)
            input.withUnsafeBufferPointer { h in
                weight.withUnsafeBufferPointer { wp in
                    bias.withUnsafeBufferPointer { bp in
                        vector.withUnsafeBufferPointer { v in
                            context.hidden.withUnsafeMutableBufferPointer { u in
                                context.weights.withUnsafeMutableBufferPointer { w in
                                    UnsafeKernels.gemm(
                                        transposeA: false, transposeB: false, m: batch * steps, n: a, k: d,
                                        a: h.baseAddress!, lda: d, b: wp.baseAddress!, ldb: a, c: u.baseAddress!, ldc: a)
                                    UnsafeKernels.biasActivation(
                                        u.baseAddress!, ld: a, bias: bp.baseAddress!, rows: batch * steps,
                                        columns: a, activation: Int32(Activation.tanh.rawValue))
                                    UnsafeKernels.gemm(
                                        transposeA: false, transposeB: false, m: batch * steps, n: 1, k: a,
                                        a: u.baseAddress!, lda: a, b: v.baseAddress!, ldb: 1, c: w.baseAddress!, ldc: 1)
                                }
                            }
                        }
                    }
                }
            }
        }
        // Masked softmax per row, then the weighted sum.
        context.weights.withUnsafeMutableBufferPointer { w in
            maskedSoftmaxRows(w.baseAddress!, rows: batch, columns: steps, mask: mask)
            input.withUnsafeBufferPointer { h in
                context.output.withUnsafeMutableBufferPointer { y in
                    y.update(repeating: 0)
                    for b in 0..<batch {
                        let yb = y.baseAddress! + b * d
                        for t in 0..<steps {
                            let alpha = w[b * steps + t]
                            if alpha == 0 { continue }
                            let ht = h.baseAddress! + (b * steps + t) * d
                            for j in 0..<d { yb[j] += alpha * ht[j] }
                        }
                    }
                }
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout AttentionPooling,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        let d = size, batch = context.weights.rows, steps = context.weights.columns
        precondition(
            outputGradient.count == batch * d,
            "AttentionPooling backward: output gradient \(outputGradient.shape) does not match output \(context.output.shape)")
        // dL/dα_bt = dy_b · h_bt, then through the softmax: ds = α ⊙ (dα − Σ α dα).
        // The direct part of dL/dh_bt is α_bt dy_b.
        context.scoreGradient.prepare(rows: batch, columns: steps)
        context.inputGradient.prepare(rows: batch, columns: steps * d)
        input.withUnsafeBufferPointer { h in
            outputGradient.withUnsafeBufferPointer { dy in
                context.weights.withUnsafeBufferPointer { w in
                    context.scoreGradient.withUnsafeMutableBufferPointer { ds in
                        context.inputGradient.withUnsafeMutableBufferPointer { dh in
                            for b in 0..<batch {
                                let dyb = dy.baseAddress! + b * d
                                var weighted: Float = 0
                                for t in 0..<steps {
                                    let ht = h.baseAddress! + (b * steps + t) * d
                                    var da: Float = 0
                                    for j in 0..<d { da += dyb[j] * ht[j] }
                                    ds[b * steps + t] = da
                                    weighted += w[b * steps + t] * da
                                }
                                for t in 0..<steps {
                                    let alpha = w[b * steps + t]
                                    ds[b * steps + t] = alpha * (ds[b * steps + t] - weighted)
                                    let dht = dh.baseAddress! + (b * steps + t) * d
                                    for j in 0..<d { dht[j] = alpha * dyb[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        let rows = batch * steps
        switch scoring {
        case .dotProduct:
            let s = 1 / Float(d).squareRoot()
            if computeParameterGradient {
                gradient.query.prepare(count: d)
                input.withUnsafeBufferPointer { h in
                    context.scoreGradient.withUnsafeBufferPointer { ds in
                        gradient.query.withUnsafeMutableBufferPointer { dq in
                            // dq = s · Hᵀ ds
                            UnsafeKernels.gemm(
                                transposeA: true, transposeB: false, m: d, n: 1, k: rows, alpha: s,
                                a: h.baseAddress!, lda: d, b: ds.baseAddress!, ldb: 1, c: dq.baseAddress!, ldc: 1)
                        }
                    }
                }
            }
            if computeInputGradient {
                query.withUnsafeBufferPointer { q in
                    context.scoreGradient.withUnsafeBufferPointer { ds in
                        context.inputGradient.withUnsafeMutableBufferPointer { dh in
                            // dh += s · ds qᵀ
                            UnsafeKernels.gemm(
                                transposeA: false, transposeB: false, m: rows, n: d, k: 1, alpha: s,
                                a: ds.baseAddress!, lda: 1, b: q.baseAddress!, ldb: d, beta: 1, c: dh.baseAddress!, ldc: d)
                        }
                    }
                }
            }
        case .additive:
            let a = weight.shape[1]
            context.hiddenGradient.prepare(rows: rows, columns: a)
            // dZ = (ds vᵀ) ⊙ (1 − U²)
            context.scoreGradient.withUnsafeBufferPointer { ds in
                vector.withUnsafeBufferPointer { v in
                    context.hidden.withUnsafeBufferPointer { u in
                        context.hiddenGradient.withUnsafeMutableBufferPointer { dz in
                            UnsafeKernels.gemm(
                                transposeA: false, transposeB: false, m: rows, n: a, k: 1,
                                a: ds.baseAddress!, lda: 1, b: v.baseAddress!, ldb: a, c: dz.baseAddress!, ldc: a)
                            UnsafeKernels.activationBackward(
                                dz.baseAddress!, ldDelta: a, output: u.baseAddress!, ldY: a,
                                rows: rows, columns: a, activation: Int32(Activation.tanh.rawValue))
                        }
                    }
                }
            }
            if computeParameterGradient {
                gradient.weight.prepare(rows: d, columns: a)
                gradient.bias.prepare(count: a)
                gradient.vector.prepare(count: a)
                input.withUnsafeBufferPointer { h in
                    context.scoreGradient.withUnsafeBufferPointer { ds in
                        context.hidden.withUnsafeBufferPointer { u in
                            context.hiddenGradient.withUnsafeBufferPointer { dz in
                                gradient.weight.withUnsafeMutableBufferPointer { dw in
                                    UnsafeKernels.gemm(
                                        transposeA: true, transposeB: false, m: d, n: a, k: rows,
                                        a: h.baseAddress!, lda: d, b: dz.baseAddress!, ldb: a, c: dw.baseAddress!, ldc: a)
                                }
                                gradient.bias.withUnsafeMutableBufferPointer { db in
                                    UnsafeKernels.columnSums(dz.baseAddress!, rows: rows, columns: a, into: db.baseAddress!)
                                }
                                gradient.vector.withUnsafeMutableBufferPointer { dv in
                                    UnsafeKernels.gemm(
                                        transposeA: true, transposeB: false, m: a, n: 1, k: rows,
                                        a: u.baseAddress!, lda: a, b: ds.baseAddress!, ldb: 1, c: dv.baseAddress!, ldc: 1)
                                }
                            }
                        }
                    }
                }
            }
            if computeInputGradient {
                weight.withUnsafeBufferPointer { wp in
                    context.hiddenGradient.withUnsafeBufferPointer { dz in
                        context.inputGradient.withUnsafeMutableBufferPointer { dh in
                            UnsafeKernels.gemm(
                                transposeA: false, transposeB: true, m: rows, n: d, k: a,
                                a: dz.baseAddress!, lda: a, b: wp.baseAddress!, ldb: a, beta: 1, c: dh.baseAddress!, ldc: d)
                        }
                    }
                }
            }
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        switch scoring {
        case .dotProduct:
            try body("query", &query)
        case .additive:
            try body("weight", &weight)
            try body("bias", &bias)
            try body("vector", &vector)
        }
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        switch scoring {
        case .dotProduct:
            try body("query", query)
        case .additive:
            try body("weight", weight)
            try body("bias", bias)
            try body("vector", vector)
        }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        switch scoring {
        case .dotProduct:
            body(&query)
        case .additive:
            body(&weight); body(&bias); body(&vector)
        }
    }

    public mutating func updateParameters(pairedWith other: AttentionPooling, _ body: (inout Tensor, Tensor) -> Void) {
        precondition(other.scoring == scoring, "AttentionPooling.updateParameters: \(scoring) vs \(other.scoring)")
        switch scoring {
        case .dotProduct:
            body(&query, other.query)
        case .additive:
            body(&weight, other.weight); body(&bias, other.bias); body(&vector, other.vector)
        }
    }
}

/// Softmax of each row of a `[rows, columns]` block in place, over the columns whose mask
/// entry is non-zero (all when `mask` is nil); masked entries become 0, and a row without
/// a valid entry becomes all 0.
func maskedSoftmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, mask: Tensor?) {
    func body(_ m: UnsafePointer<Float>?) {
        for r in 0..<rows {
            let row = x + r * columns
            var top = -Float.infinity
            for c in 0..<columns where m.map({ $0[r * columns + c] != 0 }) ?? true { top = max(top, row[c]) }
            if top == -Float.infinity {
                row.update(repeating: 0, count: columns)
                continue
            }
            var total: Float = 0
            for c in 0..<columns {
                if let m, m[r * columns + c] == 0 { row[c] = 0; continue }
                let e = expf(row[c] - top)
                row[c] = e
                total += e
            }
            let inv = 1 / total
            for c in 0..<columns { row[c] *= inv }
        }
    }
    if let mask { mask.withUnsafeBufferPointer { body($0.baseAddress!) } } else { body(nil) }
}
