import RecRLTensor

/// Two layers applied one after the other: `second(first(x))`. Nest for longer chains.
public struct Sequential<First: Layer, Second: Layer>: Layer {
    /// The layer applied first.
    public var first: First
    /// The layer applied to the first one's output.
    public var second: Second

    /// Composes `first` then `second`.
    public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    /// Buffers of both layers.
    public struct Context: LayerContext {
        public internal(set) var first: First.Context
        public internal(set) var second: Second.Context
        public var output: Tensor { second.output }
        public var inputGradient: Tensor { first.inputGradient }
    }

    public func makeContext() -> Context { Context(first: first.makeContext(), second: second.makeContext()) }

    public func forward(_ input: Tensor, context: inout Context) {
        first.forward(input, context: &context.first)
        second.forward(context.first.output, context: &context.second)
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout Self,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        let middle = context.first.output
        second.backward(
            input: middle, outputGradient: outputGradient, context: &context.second, gradient: &gradient.second,
            computeParameterGradient: computeParameterGradient, computeInputGradient: true)
        let middleGradient = context.second.inputGradient
        first.backward(
            input: input, outputGradient: middleGradient, context: &context.first, gradient: &gradient.first,
            computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try first.visitParameters { name, p in try body("0.\(name)", &p) }
        try second.visitParameters { name, p in try body("1.\(name)", &p) }
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try first.forEachParameter { name, p in try body("0.\(name)", p) }
        try second.forEachParameter { name, p in try body("1.\(name)", p) }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        first.updateParameters(body)
        second.updateParameters(body)
    }

    public mutating func updateParameters(pairedWith other: Self, _ body: (inout Tensor, Tensor) -> Void) {
        first.updateParameters(pairedWith: other.first, body)
        second.updateParameters(pairedWith: other.second, body)
    }
}

/// A multi-layer perceptron: a stack of ``Dense`` layers with fused activations.
///
/// The workhorse behind RecRL's actors and critics; parameters are named
/// `layers.<i>.weight` and `layers.<i>.bias`.
public struct MLP: Layer {
    /// The layers, input first.
    public var layers: [Dense]

    /// An MLP from explicit layers; throws when consecutive sizes do not chain.
    public init(layers: [Dense]) throws(TensorError) {
        guard !layers.isEmpty else { throw .invalidShape([]) }
        for (a, b) in zip(layers, layers.dropFirst()) where a.outputSize != b.inputSize {
            throw .shapeMismatch(operation: "MLP(layers:)", lhs: a.weight.shape, rhs: b.weight.shape)
        }
        self.layers = layers
    }

    /// An MLP `sizes[0] -> sizes[1] -> … -> sizes.last`, with `hiddenActivation`
    /// after every hidden layer and `outputActivation` after the last one.
    /// Weights are Glorot-uniform, biases zero.
    public init<G: RandomNumberGenerator>(
        sizes: [Int], hiddenActivation: Activation = .relu,
        outputActivation: Activation = .identity, using rng: inout G
    ) {
        precondition(sizes.count >= 2, "MLP needs at least an input and an output size, got \(sizes)")
        var layers: [Dense] = []
        for i in 0..<(sizes.count - 1) {
            let act = i == sizes.count - 2 ? outputActivation : hiddenActivation
            layers.append(Dense(inputSize: sizes[i], outputSize: sizes[i + 1], activation: act, using: &rng))
        }
        self.layers = layers
    }

    /// The input width.
    public var inputSize: Int { layers[0].inputSize }
    /// The output width.
    public var outputSize: Int { layers[layers.count - 1].outputSize }

    /// Buffers of every layer.
    public struct Context: LayerContext {
        public internal(set) var layers: [Dense.Context]
        public var output: Tensor { layers[layers.count - 1].output }
        public var inputGradient: Tensor { layers[0].inputGradient }
    }

    public func makeContext() -> Context { Context(layers: layers.map { $0.makeContext() }) }

    public func forward(_ input: Tensor, context: inout Context) {
        layers[0].forward(input, context: &context.layers[0])
        for i in 1..<layers.count {
            let x = context.layers[i - 1].output
            layers[i].forward(x, context: &context.layers[i])
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout MLP,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        var i = layers.count - 1
        var upstream = outputGradient
        while i >= 0 {
            let x = i == 0 ? input : context.layers[i - 1].output
            layers[i].backward(
                input: x, outputGradient: upstream, context: &context.layers[i], gradient: &gradient.layers[i],
                computeParameterGradient: computeParameterGradient,
                computeInputGradient: i > 0 || computeInputGradient)
            if i > 0 { upstream = context.layers[i].inputGradient }
            i -= 1
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        for i in layers.indices {
            try layers[i].visitParameters { name, p in try body("layers.\(i).\(name)", &p) }
        }
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        for i in layers.indices {
            try layers[i].forEachParameter { name, p in try body("layers.\(i).\(name)", p) }
        }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        for i in layers.indices { layers[i].updateParameters(body) }
    }

    public mutating func updateParameters(pairedWith other: MLP, _ body: (inout Tensor, Tensor) -> Void) {
        precondition(other.layers.count == layers.count, "MLP.updateParameters: \(layers.count) layers vs \(other.layers.count)")
        for i in layers.indices { layers[i].updateParameters(pairedWith: other.layers[i], body) }
    }
}

/// Joins two inputs side by side (`[a | b]`) for a layer that takes both, such as a
/// critic `Q(s, a)`, and splits the gradient back. Reuses its buffers.
public struct ColumnConcatenation: Sendable {
    /// `[a | b]` from the most recent ``join(_:_:)``.
    public private(set) var joined = Tensor(zeros: [0])
    /// The gradient for the first input from the most recent ``split(_:)``.
    public private(set) var firstGradient = Tensor(zeros: [0])
    /// The gradient for the second input from the most recent ``split(_:)``.
    public private(set) var secondGradient = Tensor(zeros: [0])
    private var firstWidth = 0

    public init() {}

    /// Writes `[a | b]` into ``joined`` and returns it.
    @discardableResult
    public mutating func join(_ a: Tensor, _ b: Tensor) -> Tensor {
        firstWidth = a.columns
        Tensor.concatenateColumns(a, b, into: &joined)
        return joined
    }

    /// Splits a gradient with respect to ``joined`` into ``firstGradient`` and ``secondGradient``.
    public mutating func split(_ gradient: Tensor, first: Bool = true, second: Bool = true) {
        precondition(gradient.shape == joined.shape, "ColumnConcatenation.split: gradient \(gradient.shape) vs joined \(joined.shape)")
        if first { gradient.sliceColumns(0..<firstWidth, into: &firstGradient) }
        if second { gradient.sliceColumns(firstWidth..<gradient.columns, into: &secondGradient) }
    }
}
