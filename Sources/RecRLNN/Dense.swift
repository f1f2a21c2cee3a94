import RecRLTensor
import CRecRLKernels

/// A fully connected layer `y = f(x · W + b)` with a fused bias and activation.
///
/// `x` is `[batch, inputSize]`, `W` is `[inputSize, outputSize]`, `b` is `[outputSize]`.
/// The matrix products go through BLAS GEMM; bias and activation are one fused pass.
public struct Dense: Layer {
    /// The weight matrix `[inputSize, outputSize]`.
    public var weight: Tensor
    /// The bias `[outputSize]`.
    public var bias: Tensor
    /// The activation applied after the bias.
    public var activation: Activation

    /// The number of input features.
    public var inputSize: Int { weight.shape[0] }
    /// The number of output features.
    public var outputSize: Int { weight.shape[1] }

    /// A layer with Glorot-uniform weights and zero bias (the defaults of Keras and
    /// Swift for TensorFlow).
    public init<G: RandomNumberGenerator>(inputSize: Int, outputSize: Int, activation: Activation = .identity, using rng: inout G) {
        precondition(inputSize > 0 && outputSize > 0, "Dense needs positive sizes, got \(inputSize) -> \(outputSize)")
        BLASRuntime.warnIfGenericCore()  // once per process, through RecRLLog, when OpenBLAS runs slow kernels
        weight = Tensor(glorotUniform: [inputSize, outputSize], using: &rng)
        bias = Tensor(zeros: [outputSize])
        self.activation = activation
    }

    /// A layer with the given parameters; throws when the shapes do not fit.
    public init(weight: Tensor, bias: Tensor, activation: Activation = .identity) throws(TensorError) {
        guard weight.rank == 2, bias.rank == 1, bias.count == weight.shape[1] else {
            throw .shapeMismatch(operation: "Dense(weight:bias:)", lhs: weight.shape, rhs: bias.shape)
        }
        self.weight = weight
        self.bias = bias
        self.activation = activation
    }

    /// Buffers for one batch.
    public struct Context: LayerContext {
        public internal(set) var output = Tensor(zeros: [0])
        public internal(set) var inputGradient = Tensor(zeros: [0])
        var delta = Tensor(zeros: [0])
    }

    public func makeContext() -> Context { Context() }

    public func forward(_ input: Tensor, context: inout Context) {
        precondition(
            input.rank == 2 && input.shape[1] == inputSize,
            "Dense(\(inputSize) -> \(outputSize)) got input of shape \(input.shape)")
        matmul(input, weight, into: &context.output)
        let rows = context.output.rows, cols = outputSize
        let act = Int32(activation.rawValue)
        bias.withUnsafeBufferPointer { b in
            context.output.withUnsafeMutableBufferPointer { y in
                recrl_bias_activation(y.baseAddress, b.baseAddress, rows, cols, act)
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout Dense,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        precondition(
            outputGradient.shape == context.output.shape,
            "Dense backward: output gradient \(outputGradient.shape) does not match output \(context.output.shape)")
        // delta = dL/dy ⊙ f'(·), with f' written through the output y.
        let delta: Tensor
        if activation == .identity {
            delta = outputGradient
        } else {
            context.delta.assign(outputGradient)
            let n = context.delta.count, act = Int32(activation.rawValue)
            context.output.withUnsafeBufferPointer { y in
                context.delta.withUnsafeMutableBufferPointer { d in
                    recrl_activation_backward(d.baseAddress, y.baseAddress, n, act)
                }
            }
            delta = context.delta
        }
        if computeParameterGradient {
            matmul(input, delta, transposeA: true, into: &gradient.weight)
            delta.sumRows(into: &gradient.bias)
        }
        if computeInputGradient {
            matmul(delta, weight, transposeB: true, into: &context.inputGradient)
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try body("weight", &weight)
        try body("bias", &bias)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try body("weight", weight)
        try body("bias", bias)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        body(&weight)
        body(&bias)
    }

    public mutating func updateParameters(pairedWith other: Dense, _ body: (inout Tensor, Tensor) -> Void) {
        body(&weight, other.weight)
        body(&bias, other.bias)
    }
}
