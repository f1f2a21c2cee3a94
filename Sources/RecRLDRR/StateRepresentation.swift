import RecRLTensor
import RecRLNN

/// The DRR state representation modules (Liu et al. 2018, "Deep Reinforcement
/// Learning based Recommendation with Explicit User-Item Interactions Modelling",
/// section 3.3), as a trainable ``Layer``.
///
/// Input: one row per state, `[u | i_1 | … | i_n]` of width `(n + 1)·k`: the user's
/// embedding `u` and the embeddings of the user's `n` most recent positive items,
/// oldest first. Each variant has learned per-position item weights `w` (initialised
/// to 1); gradients flow to `w` and, through ``Layer/backward(input:outputGradient:context:gradient:computeParameterGradient:computeInputGradient:)``,
/// to the embeddings.
///
/// | variant | output `s` | width |
/// |---|---|---|
/// | `.n`   | `[i_1, …, i_n]` | `n·k` |
/// | `.p`   | `[i_1, …, i_n] ++ [(w_a i_a) ⊙ (w_b i_b) for a < b]` | `n·k + n(n−1)/2·k` |
/// | `.u`   | `[u ⊙ (w_a i_a) for a] ++ [(w_a i_a) ⊙ (w_b i_b) for a < b]` | `n·k + n(n−1)/2·k` |
/// | `.ave` | `v = Σ_a w_a i_a / n`;  `[u, u ⊙ v, v]` | `3k` |
public struct DRRStateRepresentation: Layer {
    /// The four structures of the paper.
    public enum Variant: String, Sendable, Codable, CaseIterable {
        /// DRR-n: concatenation of the item embeddings.
        case n
        /// DRR-p: items and their pairwise (item–item) products.
        case p
        /// DRR-u: user–item products and item–item products.
        case u
        /// DRR-ave: user, user ⊙ weighted average of items, the average itself.
        case ave
    }

    /// Which structure this module computes.
    public let variant: Variant
    /// The embedding dimension `k`.
    public let embeddingSize: Int
    /// The number of items in the state window `n` (the paper uses 5).
    public let windowSize: Int
    /// The learned per-position item weights `w` (`[n]`, initialised to 1).
    public var itemWeights: Tensor

    /// A module for `windowSize` items of dimension `embeddingSize`.
    public init(variant: Variant, embeddingSize: Int, windowSize: Int = 5) {
        precondition(embeddingSize > 0 && windowSize > 0, "DRRStateRepresentation needs positive sizes, got k \(embeddingSize), n \(windowSize)")
        self.variant = variant
        self.embeddingSize = embeddingSize
        self.windowSize = windowSize
        itemWeights = Tensor(shape: [windowSize], repeating: 1)
    }

    /// The width of the input rows, `(n + 1)·k`.
    public var inputSize: Int { (windowSize + 1) * embeddingSize }

    /// The width of the state `s`.
    public var outputSize: Int {
        let k = embeddingSize, n = windowSize
        switch variant {
        case .n: return n * k
        case .p, .u: return n * k + n * (n - 1) / 2 * k
        case .ave: return 3 * k
        }
    }

    public func makeContext() -> BasicContext { BasicContext() }

    public func forward(_ input: Tensor, context: inout BasicContext) {
        precondition(
            input.rank == 2 && input.shape[1] == inputSize,
            "DRR-\(variant.rawValue) expects rows [u | i_1 … i_\(windowSize)] of width \(inputSize), got shape \(input.shape)")
        let rows = input.shape[0], k = embeddingSize, n = windowSize, width = outputSize, inWidth = inputSize
        context.output.prepare(rows: rows, columns: width)
        let wn = Float(n)
        itemWeights.withUnsafeBufferPointer { w in
            input.withUnsafeBufferPointer { x in
                context.output.withUnsafeMutableBufferPointer { s in
                    for r in 0..<rows {
                        let u = x.baseAddress! + r * inWidth
                        let items = u + k
                        let out = s.baseAddress! + r * width
                        switch variant {
                        case .n:
                            out.update(from: items, count: n * k)
                        case .p, .u:
                            for a in 0..<n {
                                let ia = items + a * k, o = out + a * k
                                if variant == .p {
                                    o.update(from: ia, count: k)
                                } else {
                                    for j in 0..<k { o[j] = u[j] * w[a] * ia[j] }
                                }
                            }
                            var slot = n
                            for a in 0..<n {
                                for b in (a + 1)..<max(a + 1, n) {
                                    let ia = items + a * k, ib = items + b * k, o = out + slot * k
                                    let wab = w[a] * w[b]
                                    for j in 0..<k { o[j] = wab * ia[j] * ib[j] }
                                    slot += 1
                                }
                            }
                        case .ave:
                            let v = out + 2 * k
                            for j in 0..<k { v[j] = 0 }
                            for a in 0..<n {
                                let ia = items + a * k, wa = w[a] / wn
                                for j in 0..<k { v[j] += wa * ia[j] }
                            }
                            for j in 0..<k {
                                out[j] = u[j]
                                out[k + j] = u[j] * v[j]
                            }
                        }
                    }
                }
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout BasicContext, gradient: inout DRRStateRepresentation,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        precondition(
            outputGradient.shape == context.output.shape,
            "DRR-\(variant.rawValue) backward: gradient \(outputGradient.shape) vs output \(context.output.shape)")
        let rows = input.shape[0], k = embeddingSize, n = windowSize, width = outputSize, inWidth = inputSize
        let wn = Float(n)
        if computeParameterGradient { gradient.itemWeights.prepare(count: n); gradient.itemWeights.fill(0) }
        if computeInputGradient { context.inputGradient.prepare(rows: rows, columns: inWidth); context.inputGradient.fill(0) }
        let wantW = computeParameterGradient, wantX = computeInputGradient
        itemWeights.withUnsafeBufferPointer { w in
            input.withUnsafeBufferPointer { x in
                outputGradient.withUnsafeBufferPointer { g in
                    context.output.withUnsafeBufferPointer { s in
                        gradient.itemWeights.withUnsafeMutableBufferPointer { gw in
                            context.inputGradient.withUnsafeMutableBufferPointer { gx in
                                for r in 0..<rows {
                                    let u = x.baseAddress! + r * inWidth, items = u + k
                                    let go = g.baseAddress! + r * width
                                    let gu = wantX ? gx.baseAddress! + r * inWidth : nil
                                    let gi = gu.map { $0 + k }
                                    switch variant {
                                    case .n:
                                        if let gi { gi.update(from: go, count: n * k) }
                                    case .p, .u:
                                        for a in 0..<n {
                                            let ia = items + a * k, ga = go + a * k
                                            if variant == .p {
                                                if let gi { for j in 0..<k { gi[a * k + j] += ga[j] } }
                                            } else {
                                                // o = u ⊙ w_a i_a
                                                var dw: Float = 0
                                                for j in 0..<k {
                                                    dw += ga[j] * u[j] * ia[j]
                                                    if let gu, let gi {
                                                        gu[j] += ga[j] * w[a] * ia[j]
                                                        gi[a * k + j] += ga[j] * w[a] * u[j]
                                                    }
                                                }
                                                if wantW { gw[a] += dw }
                                            }
                                        }
                                        var slot = n
                                        for a in 0..<n {
                                            for b in (a + 1)..<max(a + 1, n) {
                                                let ia = items + a * k, ib = items + b * k, gab = go + slot * k
                                                let wab = w[a] * w[b]
                                                var dot: Float = 0
                                                for j in 0..<k {
                                                    let p = gab[j] * ia[j] * ib[j]
                                                    dot += p
                                                    if let gi {
                                                        gi[a * k + j] += gab[j] * wab * ib[j]
                                                        gi[b * k + j] += gab[j] * wab * ia[j]
                                                    }
                                                }
                                                if wantW {
                                                    gw[a] += dot * w[b]
                                                    gw[b] += dot * w[a]
                                                }
                                                slot += 1
                                            }
                                        }
                                    case .ave:
                                        let v = s.baseAddress! + r * width + 2 * k
                                        // dv = g_uv ⊙ u + g_v ;  du = g_u + g_uv ⊙ v
                                        for a in 0..<n {
                                            let ia = items + a * k
                                            var dw: Float = 0
                                            for j in 0..<k {
                                                let dv = go[k + j] * u[j] + go[2 * k + j]
                                                dw += dv * ia[j]
                                                if let gi { gi[a * k + j] += dv * w[a] / wn }
                                            }
                                            if wantW { gw[a] += dw / wn }
                                        }
                                        if let gu { for j in 0..<k { gu[j] += go[j] + go[k + j] * v[j] } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        if variant != .n { try body("item_weights", &itemWeights) }
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        if variant != .n { try body("item_weights", itemWeights) }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        if variant != .n { body(&itemWeights) }
    }

    public mutating func updateParameters(pairedWith other: DRRStateRepresentation, _ body: (inout Tensor, Tensor) -> Void) {
        if variant != .n { body(&itemWeights, other.itemWeights) }
    }
}
