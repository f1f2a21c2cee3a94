import Foundation
import RecRLTensor

/// A gated recurrent unit (Cho et al. 2014) run over whole sequences, with
/// backpropagation through time. The equations are PyTorch's `nn.GRU` (reset gate applied
/// after the recurrent product), gates in the order reset, update, new:
///
///     r_t = σ(x_t W_ir + b_ir + h_{t−1} W_hr + b_hr)
///     z_t = σ(x_t W_iz + b_iz + h_{t−1} W_hz + b_hz)
///     n_t = tanh(x_t W_in + b_in + r_t ⊙ (h_{t−1} W_hn + b_hn))
///     h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
///
/// The input is `[batch, T · inputSize]` (`T` steps side by side); the output is every
/// step's state, `[batch, T · hiddenSize]`, and the context also holds the final state.
/// Weights are stored `[in, out]` like ``Dense``: ``inputWeight`` `[inputSize, 3 · hiddenSize]`
/// is PyTorch's `weight_ih_l0` transposed, ``recurrentWeight`` `[hiddenSize, 3 · hiddenSize]`
/// is `weight_hh_l0` transposed.
///
/// A mask `[batch, T]` (1 valid, 0 padding) marks padded steps: there the state is carried
/// over unchanged (`h_t = h_{t−1}`) and the output is 0, so a right-padded sequence ends in
/// the state of its last valid step (as PyTorch's packed sequences do), and padding never
/// influences a gradient. The input projection of all steps is one GEMM, each step one GEMM
/// with the recurrent weight, and the backward pass gathers the weight gradients into one
/// GEMM each.
public struct GRU: Layer {
    /// `[inputSize, 3 · hiddenSize]`, columns in gate order reset, update, new.
    public var inputWeight: Tensor
    /// `[hiddenSize, 3 · hiddenSize]`, same column order.
    public var recurrentWeight: Tensor
    /// `[3 · hiddenSize]`.
    public var inputBias: Tensor
    /// `[3 · hiddenSize]`.
    public var recurrentBias: Tensor

    /// The width of each step's input.
    public var inputSize: Int { inputWeight.shape[0] }
    /// The width of the state.
    public var hiddenSize: Int { recurrentWeight.shape[0] }

    /// A layer with every parameter drawn from U(−1/√hiddenSize, 1/√hiddenSize) (PyTorch's default).
    public init<G: RandomNumberGenerator>(inputSize: Int, hiddenSize: Int, using rng: inout G) {
        precondition(inputSize > 0 && hiddenSize > 0, "GRU needs positive sizes, got \(inputSize) -> \(hiddenSize)")
        let k = 1 / Float(hiddenSize).squareRoot()
        inputWeight = Tensor(randomUniform: [inputSize, 3 * hiddenSize], in: -k...k, using: &rng)
        recurrentWeight = Tensor(randomUniform: [hiddenSize, 3 * hiddenSize], in: -k...k, using: &rng)
        inputBias = Tensor(randomUniform: [3 * hiddenSize], in: -k...k, using: &rng)
        recurrentBias = Tensor(randomUniform: [3 * hiddenSize], in: -k...k, using: &rng)
    }

    /// A layer with the given parameters; throws when the shapes do not fit.
    public init(inputWeight: Tensor, recurrentWeight: Tensor, inputBias: Tensor, recurrentBias: Tensor) throws(TensorError) {
        guard recurrentWeight.rank == 2, recurrentWeight.shape[0] > 0, recurrentWeight.shape[1] == 3 * recurrentWeight.shape[0] else {
            throw .invalidShape(recurrentWeight.shape)
        }
        let g = recurrentWeight.shape[1]
        guard inputWeight.rank == 2, inputWeight.shape[0] > 0, inputWeight.shape[1] == g else {
            throw .shapeMismatch(operation: "GRU inputWeight", lhs: inputWeight.shape, rhs: recurrentWeight.shape)
        }
        guard inputBias.shape == [g], recurrentBias.shape == [g] else {
            throw .shapeMismatch(operation: "GRU biases", lhs: inputBias.shape, rhs: recurrentBias.shape)
        }
        self.inputWeight = inputWeight
        self.recurrentWeight = recurrentWeight
        self.inputBias = inputBias
        self.recurrentBias = recurrentBias
    }

    /// Buffers for one batch of sequences.
    public struct Context: LayerContext {
        /// Every step's state `[batch, T · hiddenSize]` (0 at padded steps).
        public internal(set) var output = Tensor(zeros: [0])
        /// dL/d(input) `[batch, T · inputSize]` after a backward pass.
        public internal(set) var inputGradient = Tensor(zeros: [0])
        /// The state after the last step `[batch, hiddenSize]`.
        public internal(set) var finalState = Tensor(zeros: [0])
        /// dL/d(initial state) `[batch, hiddenSize]` after a backward pass.
        public internal(set) var initialStateGradient = Tensor(zeros: [0])
        var steps = 0
        var hasMask = false
        var mask = Tensor(zeros: [0])
        var inputProjection = Tensor(zeros: [0])  // [batch·T, 3H], batch-major: x W_i + b_i
        var states = Tensor(zeros: [0])  // [(T+1)·batch, H], time-major: h_0 … h_T
        var gates = Tensor(zeros: [0])  // [T·batch, 3H], time-major: r, z, n
        var recurrentNew = Tensor(zeros: [0])  // [T·batch, H], time-major: h W_hn + b_hn
        var recurrentStep = Tensor(zeros: [0])  // [batch, 3H]: h W_h + b_h of one step
        var inputGateGradient = Tensor(zeros: [0])  // [batch·T, 3H], batch-major
        var recurrentGateGradient = Tensor(zeros: [0])  // [T·batch, 3H], time-major
        var carry = Tensor(zeros: [0])  // [2·batch, H]: dL/dh of two consecutive steps
    }

    public func makeContext() -> Context { Context() }

    public func forward(_ input: Tensor, context: inout Context) {
        forward(input, initialState: nil, mask: nil, context: &context)
    }

    /// The forward pass from `initialState` `[batch, hiddenSize]` (nil: zeros) with a mask
    /// `[batch, T]` (nil: every step valid).
    public func forward(_ input: Tensor, initialState: Tensor?, mask: Tensor?, context: inout Context) {
        let inSize = inputSize, h = hiddenSize, g = 3 * h
        precondition(
            input.rank == 2 && input.columns % inSize == 0 && input.columns > 0,
            "GRU(\(inSize) -> \(h)) needs input [batch, T · \(inSize)], got \(input.shape)")
        let batch = input.rows, steps = input.columns / inSize
        if let initialState {
            precondition(initialState.count == batch * h, "GRU initial state \(initialState.shape) does not fit [\(batch), \(h)]")
        }
        context.steps = steps
        context.hasMask = mask != nil
        if let mask {
            precondition(mask.count == batch * steps, "GRU mask \(mask.shape) does not fit [\(batch), \(steps)]")
            context.mask.prepare(rows: batch, columns: steps)
            mask.withBase { m in context.mask.withMutableBase { $0.update(from: m, count: batch * steps) } }
        }
        context.output.prepare(rows: batch, columns: steps * h)
        context.finalState.prepare(rows: batch, columns: h)
        context.inputProjection.prepare(rows: batch * steps, columns: g)
        context.states.prepare(rows: (steps + 1) * batch, columns: h)
        context.gates.prepare(rows: steps * batch, columns: g)
        context.recurrentNew.prepare(rows: steps * batch, columns: h)
        context.recurrentStep.prepare(rows: batch, columns: g)

        let tanhCode = Int32(Activation.tanh.rawValue)
        let storedMask: Tensor? = mask == nil ? nil : context.mask
        input.withBase { x in
            inputWeight.withBase { wi in
                recurrentWeight.withBase { wh in
                    inputBias.withBase { bi in
                        recurrentBias.withBase { bh in
                            storedMask.withBase { m in
                                context.inputProjection.withMutableBase { gi in
                                    context.states.withMutableBase { states in
                                        context.gates.withMutableBase { gates in
                                            context.recurrentNew.withMutableBase { recurrentNew in
                                                context.recurrentStep.withMutableBase { gh in
                                                    context.output.withMutableBase { y in
                                                        UnsafeKernels.gemm(
                                                            transposeA: false, transposeB: false, m: batch * steps, n: g, k: inSize,
                                                            a: x, lda: inSize, b: wi, ldb: g, c: gi, ldc: g)
                                                        UnsafeKernels.biasActivation(gi, ld: g, bias: bi, rows: batch * steps, columns: g, activation: 0)
                                                        if let initialState {
                                                            initialState.withBase { states.update(from: $0, count: batch * h) }
                                                        } else {
                                                            states.update(repeating: 0, count: batch * h)
                                                        }
                                                        for t in 0..<steps {
                                                            let previous = states + t * batch * h, next = states + (t + 1) * batch * h
                                                            UnsafeKernels.gemm(
                                                                transposeA: false, transposeB: false, m: batch, n: g, k: h,
                                                                a: previous, lda: h, b: wh, ldb: g, c: gh, ldc: g)
                                                            UnsafeKernels.biasActivation(gh, ld: g, bias: bh, rows: batch, columns: g, activation: 0)
                                                            let gate = gates + t * batch * g, rn = recurrentNew + t * batch * h
                                                            // Reset and update gates: σ(x W_i + b_i + h W_h + b_h) = ½ (1 + tanh(½ ·)), through the
                                                            // vectorised tanh kernel.
                                                            for b in 0..<batch {
                                                                let xr = gi + (b * steps + t) * g, hr = gh + b * g, row = gate + b * g
                                                                for j in 0..<(2 * h) { row[j] = 0.5 * (xr[j] + hr[j]) }
                                                            }
                                                            UnsafeKernels.biasActivation(
                                                                gate, ld: g, bias: nil, rows: batch, columns: 2 * h, activation: tanhCode)
                                                            for b in 0..<batch {
                                                                let xr = gi + (b * steps + t) * g, hr = gh + b * g, row = gate + b * g, rnb = rn + b * h
                                                                for j in 0..<(2 * h) { row[j] = 0.5 + 0.5 * row[j] }
                                                                // New gate: tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn)).
                                                                for j in 0..<h {
                                                                    rnb[j] = hr[2 * h + j]
                                                                    row[2 * h + j] = xr[2 * h + j] + row[j] * hr[2 * h + j]
                                                                }
                                                            }
                                                            UnsafeKernels.biasActivation(
                                                                gate + 2 * h, ld: g, bias: nil, rows: batch, columns: h, activation: tanhCode)
                                                            for b in 0..<batch {
                                                                let hp = previous + b * h, hn = next + b * h, out = y + b * steps * h + t * h
                                                                if let m, m[b * steps + t] == 0 {
                                                                    hn.update(from: hp, count: h)
                                                                    out.update(repeating: 0, count: h)
                                                                    (gate + b * g).update(repeating: 0, count: g)
                                                                    (rn + b * h).update(repeating: 0, count: h)
                                                                    continue
                                                                }
                                                                let row = gate + b * g
                                                                for j in 0..<h {
                                                                    let z = row[h + j], n = row[2 * h + j]
                                                                    let state = (1 - z) * n + z * hp[j]
                                                                    hn[j] = state
                                                                    out[j] = state
                                                                }
                                                            }
                                                        }
                                                        context.finalState.withMutableBase { $0.update(from: states + steps * batch * h, count: batch * h) }
                                                    }
                                                }
                                            }
                                        }
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
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout GRU,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        backward(
            input: input, outputGradient: outputGradient, finalStateGradient: nil, context: &context, gradient: &gradient,
            computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
    }

    /// Backpropagation through time for the most recent forward pass of `input` in `context`
    /// (with its initial state and mask), given dL/d(outputs) `[batch, T · hiddenSize]` and/or
    /// dL/d(final state) `[batch, hiddenSize]` (nil: zero). Writes dL/d(input) and
    /// dL/d(initial state) into the context (the latter always) and dL/d(parameters) into `gradient`.
    public func backward(
        input: Tensor, outputGradient: Tensor?, finalStateGradient: Tensor?, context: inout Context,
        gradient: inout GRU, computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        let inSize = inputSize, h = hiddenSize, g = 3 * h
        let batch = context.finalState.rows, steps = context.steps
        if let outputGradient {
            precondition(
                outputGradient.count == batch * steps * h,
                "GRU backward: output gradient \(outputGradient.shape) does not match output \(context.output.shape)")
        }
        if let finalStateGradient {
            precondition(
                finalStateGradient.count == batch * h,
                "GRU backward: final state gradient \(finalStateGradient.shape) does not fit [\(batch), \(h)]")
        }
        context.inputGateGradient.prepare(rows: batch * steps, columns: g)
        context.recurrentGateGradient.prepare(rows: steps * batch, columns: g)
        context.carry.prepare(rows: 2 * batch, columns: h)
        context.initialStateGradient.prepare(rows: batch, columns: h)

        let storedMask: Tensor? = context.hasMask ? context.mask : nil
        context.states.withBase { states in
            context.gates.withBase { gates in
                context.recurrentNew.withBase { recurrentNew in
                    storedMask.withBase { m in
                        outputGradient.withBase { dy in
                            recurrentWeight.withBase { wh in
                                context.inputGateGradient.withMutableBase { dgi in
                                    context.recurrentGateGradient.withMutableBase { dgh in
                                        context.carry.withMutableBase { carry in
                                            context.initialStateGradient.withMutableBase { dh0 in
                                                var dh = carry, dhPrevious = carry + batch * h
                                                if let finalStateGradient {
                                                    finalStateGradient.withBase { dh.update(from: $0, count: batch * h) }
                                                } else {
                                                    dh.update(repeating: 0, count: batch * h)
                                                }
                                                var t = steps - 1
                                                while t >= 0 {
                                                    for b in 0..<batch {
                                                        let dhb = dh + b * h, dpb = dhPrevious + b * h
                                                        let dxg = dgi + (b * steps + t) * g, dhg = dgh + (t * batch + b) * g
                                                        if let m, m[b * steps + t] == 0 {
                                                            dpb.update(from: dhb, count: h)
                                                            dxg.update(repeating: 0, count: g)
                                                            dhg.update(repeating: 0, count: g)
                                                            continue
                                                        }
                                                        let hp = states + (t * batch + b) * h
                                                        let gate = gates + (t * batch + b) * g, rn = recurrentNew + (t * batch + b) * h
                                                        let dyt = dy.map { $0 + b * steps * h + t * h }
                                                        for j in 0..<h {
                                                            let r = gate[j], z = gate[h + j], n = gate[2 * h + j]
                                                            let dhj = dhb[j] + (dyt?[j] ?? 0)
                                                            let dn = dhj * (1 - z) * (1 - n * n)
                                                            let dr = dn * rn[j] * r * (1 - r)
                                                            let dz = dhj * (hp[j] - n) * z * (1 - z)
                                                            dxg[j] = dr; dxg[h + j] = dz; dxg[2 * h + j] = dn
                                                            dhg[j] = dr; dhg[h + j] = dz; dhg[2 * h + j] = dn * r
                                                            dpb[j] = dhj * z
                                                        }
                                                    }
                                                    // dL/dh_{t−1} += dG_h,t W_hᵀ
                                                    UnsafeKernels.gemm(
                                                        transposeA: false, transposeB: true, m: batch, n: h, k: g,
                                                        a: dgh + t * batch * g, lda: g, b: wh, ldb: g, beta: 1, c: dhPrevious, ldc: h)
                                                    swap(&dh, &dhPrevious)
                                                    t -= 1
                                                }
                                                dh0.update(from: dh, count: batch * h)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        if computeParameterGradient {
            gradient.inputWeight.prepare(rows: inSize, columns: g)
            gradient.recurrentWeight.prepare(rows: h, columns: g)
            gradient.inputBias.prepare(count: g)
            gradient.recurrentBias.prepare(count: g)
            input.withBase { x in
                context.states.withBase { states in
                    context.inputGateGradient.withBase { dgi in
                        context.recurrentGateGradient.withBase { dgh in
                            gradient.inputWeight.withMutableBase { dw in
                                UnsafeKernels.gemm(
                                    transposeA: true, transposeB: false, m: inSize, n: g, k: batch * steps,
                                    a: x, lda: inSize, b: dgi, ldb: g, c: dw, ldc: g)
                            }
                            gradient.recurrentWeight.withMutableBase { dw in
                                UnsafeKernels.gemm(
                                    transposeA: true, transposeB: false, m: h, n: g, k: steps * batch,
                                    a: states, lda: h, b: dgh, ldb: g, c: dw, ldc: g)
                            }
                            gradient.inputBias.withMutableBase { db in UnsafeKernels.columnSums(dgi, rows: batch * steps, columns: g, into: db) }
                            gradient.recurrentBias.withMutableBase { db in UnsafeKernels.columnSums(dgh, rows: steps * batch, columns: g, into: db) }
                        }
                    }
                }
            }
        }
        if computeInputGradient {
            context.inputGradient.prepare(rows: batch, columns: steps * inSize)
            context.inputGateGradient.withBase { dgi in
                inputWeight.withBase { wi in
                    context.inputGradient.withMutableBase { dx in
                        UnsafeKernels.gemm(
                            transposeA: false, transposeB: true, m: batch * steps, n: inSize, k: g,
                            a: dgi, lda: g, b: wi, ldb: g, c: dx, ldc: inSize)
                    }
                }
            }
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try body("inputWeight", &inputWeight)
        try body("recurrentWeight", &recurrentWeight)
        try body("inputBias", &inputBias)
        try body("recurrentBias", &recurrentBias)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try body("inputWeight", inputWeight)
        try body("recurrentWeight", recurrentWeight)
        try body("inputBias", inputBias)
        try body("recurrentBias", recurrentBias)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        body(&inputWeight); body(&recurrentWeight); body(&inputBias); body(&recurrentBias)
    }

    public mutating func updateParameters(pairedWith other: GRU, _ body: (inout Tensor, Tensor) -> Void) {
        body(&inputWeight, other.inputWeight)
        body(&recurrentWeight, other.recurrentWeight)
        body(&inputBias, other.inputBias)
        body(&recurrentBias, other.recurrentBias)
    }
}
