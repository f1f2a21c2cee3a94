import RecRLTensor
import RecRLNN

/// A deterministic policy network `μ(s)`: a state batch `[B, stateSize]` in, an
/// action batch `[B, actionSize]` out (Silver et al. 2014; Lillicrap et al. 2015).
///
/// It is a ``Layer``: `forward` maps states to actions; `backward` with the
/// output gradient `dL/da` (e.g. `−dQ/da / B` from the critic) gives the parameter
/// gradient and, when `computeInputGradient` is true, `dL/ds` (for a state
/// representation module in front of it, as in DRR).
public protocol Actor: Layer {
    /// The width of a state.
    var stateSize: Int { get }
    /// The width of an action.
    var actionSize: Int { get }
    /// The range the actor's outputs lie in (e.g. `[−1, 1]` for a tanh output);
    /// TD3's target smoothing noise is scaled by and clipped to it.
    var actionSpec: BoundedSpec { get }
    /// Calls `body` with the actor's network in place when the actor *is* one ``MLP``
    /// from state to action (its forward pass is the MLP's, nothing before or after) and
    /// returns its result; nil otherwise (the default). ``DDPGLearner``'s two-lane update
    /// needs it.
    mutating func withMLP<R>(_ body: (inout MLP) -> R) -> R?
}

extension Actor {
    public mutating func withMLP<R>(_ body: (inout MLP) -> R) -> R? { nil }
}

/// An action-value network `Q(s, a)` for batches.
///
/// It is a ``Layer`` whose input is the column concatenation `[s | a]`
/// (`[B, stateSize + actionSize]`) and whose output is `[B, 1]`. Its `backward`
/// yields `dQ/d[s | a]`, whose last `actionSize` columns are `dQ/da`; with
/// `computeParameterGradient: false` the gradient buffer is not written, so the
/// critic's weights stay untouched (frozen) during the actor update.
public protocol Critic: Layer {
    /// The width of a state.
    var stateSize: Int { get }
    /// The width of an action.
    var actionSize: Int { get }
    /// Calls `body` with the critic's network in place when the critic *is* one ``MLP``
    /// from `[s | a]` to `Q` and returns its result; nil otherwise (the default).
    /// ``DDPGLearner``'s two-lane update needs it.
    mutating func withMLP<R>(_ body: (inout MLP) -> R) -> R?
}

extension Critic {
    public mutating func withMLP<R>(_ body: (inout MLP) -> R) -> R? { nil }
}

/// The DDPG actor of WORKLOAD.md: `S → H (ReLU) → H (ReLU) → A (tanh)`, optionally
/// scaled to action bounds: `a = offset + scale ⊙ tanh(·)` with
/// `scale = (max − min) / 2`, `offset = (max + min) / 2`.
///
/// Weights Glorot-uniform, biases zero. Parameters are named like an ``MLP``'s
/// (`layers.<i>.weight`, `layers.<i>.bias`).
public struct MLPActor: Actor {
    /// The network, with a tanh output layer.
    public var network: MLP
    /// The output range.
    public let actionSpec: BoundedSpec
    /// `(max − min) / 2` per action element, or nil when the range is `[−1, 1]`.
    let scale: Tensor?
    /// `(max + min) / 2` per action element, or nil when the range is `[−1, 1]`.
    let offset: Tensor?

    /// An actor `stateSize → hiddenSizes… (ReLU) → actionSize (tanh)`.
    ///
    /// - Parameters:
    ///   - stateSize: the state width `S`.
    ///   - actionSize: the action width `A`.
    ///   - hiddenSizes: hidden widths (default `[256, 256]`, WORKLOAD.md's `H`).
    ///   - actionSpec: the output range; nil (default) means `[−1, 1]` (plain tanh, no
    ///     scaling pass). Bounds must be finite.
    ///   - rng: the generator for the Glorot-uniform weights.
    public init<G: RandomNumberGenerator>(
        stateSize: Int, actionSize: Int, hiddenSizes: [Int] = [256, 256],
        actionSpec: BoundedSpec? = nil, using rng: inout G
    ) {
        network = MLP(
            sizes: [stateSize] + hiddenSizes + [actionSize], hiddenActivation: .relu,
            outputActivation: .tanh, using: &rng)
        if let spec = actionSpec {
            precondition(
                spec.count == actionSize && spec.isFinite,
                "MLPActor: action spec \(spec.shape) must have \(actionSize) finite bounds")
            self.actionSpec = spec
            let lo = spec.minimum, hi = spec.maximum
            if lo.allSatisfy({ $0 == -1 }) && hi.allSatisfy({ $0 == 1 }) {
                scale = nil
                offset = nil
            } else {
                scale = Tensor((0..<actionSize).map { (hi[$0] - lo[$0]) / 2 })
                offset = Tensor((0..<actionSize).map { (hi[$0] + lo[$0]) / 2 })
            }
        } else {
            self.actionSpec = BoundedSpec(shape: [actionSize], minimum: -1, maximum: 1, name: "action")
            scale = nil
            offset = nil
        }
    }

    public var stateSize: Int { network.inputSize }
    public var actionSize: Int { network.outputSize }

    /// `body(&network)` when the actions are the network's outputs (range `[−1, 1]`);
    /// nil for a scaled action range, whose scaling pass follows the network.
    public mutating func withMLP<R>(_ body: (inout MLP) -> R) -> R? {
        scale == nil ? body(&network) : nil
    }

    /// Buffers of the network and of the scaling pass.
    public struct Context: LayerContext {
        var network: MLP.Context
        var scaled = Tensor(zeros: [0])
        var scaledGradient = Tensor(zeros: [0])
        let scales: Bool
        /// The actions of the most recent forward pass, `[B, actionSize]`.
        public var output: Tensor { scales ? scaled : network.output }
        /// `dL/ds` of the most recent backward pass with `computeInputGradient`.
        public var inputGradient: Tensor { network.inputGradient }
    }

    public func makeContext() -> Context { Context(network: network.makeContext(), scales: scale != nil) }

    public func forward(_ input: Tensor, context: inout Context) {
        network.forward(input, context: &context.network)
        guard let scale, let offset else { return }
        let y = context.network.output
        context.scaled.prepare(rows: y.rows, columns: y.columns)
        let cols = y.columns
        y.withUnsafeBufferPointer { t in
            scale.withUnsafeBufferPointer { s in
                offset.withUnsafeBufferPointer { o in
                    context.scaled.withUnsafeMutableBufferPointer { out in
                        for i in 0..<t.count { let j = i % cols; out[i] = o[j] + s[j] * t[i] }
                    }
                }
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout MLPActor,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        guard let scale else {
            network.backward(
                input: input, outputGradient: outputGradient, context: &context.network, gradient: &gradient.network,
                computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
            return
        }
        precondition(
            outputGradient.rows == context.scaled.rows && outputGradient.columns == actionSize,
            "MLPActor backward: output gradient \(outputGradient.shape) vs output \(context.scaled.shape)")
        context.scaledGradient.prepare(rows: outputGradient.rows, columns: actionSize)
        let cols = actionSize
        outputGradient.withUnsafeBufferPointer { g in
            scale.withUnsafeBufferPointer { s in
                context.scaledGradient.withUnsafeMutableBufferPointer { out in
                    for i in 0..<g.count { out[i] = s[i % cols] * g[i] }
                }
            }
        }
        network.backward(
            input: input, outputGradient: context.scaledGradient, context: &context.network, gradient: &gradient.network,
            computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try network.visitParameters(body)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try network.forEachParameter(body)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        network.updateParameters(body)
    }

    public mutating func updateParameters(pairedWith other: MLPActor, _ body: (inout Tensor, Tensor) -> Void) {
        network.updateParameters(pairedWith: other.network, body)
    }
}

/// The DDPG critic of WORKLOAD.md: `concat(s, a)` of width `S + A → H (ReLU) → H (ReLU) → 1 (linear)`.
///
/// Its input is `[s | a]`; weights Glorot-uniform, biases zero; parameters named
/// like an ``MLP``'s.
public struct MLPCritic: Critic {
    /// The network.
    public var network: MLP
    /// The width of a state.
    public let stateSize: Int

    /// A critic `stateSize + actionSize → hiddenSizes… (ReLU) → 1`.
    ///
    /// - Parameters:
    ///   - stateSize: the state width `S`.
    ///   - actionSize: the action width `A`.
    ///   - hiddenSizes: hidden widths (default `[256, 256]`, WORKLOAD.md's `H`).
    ///   - rng: the generator for the Glorot-uniform weights.
    public init<G: RandomNumberGenerator>(stateSize: Int, actionSize: Int, hiddenSizes: [Int] = [256, 256], using rng: inout G) {
        precondition(stateSize > 0 && actionSize > 0, "MLPCritic needs positive sizes, got \(stateSize), \(actionSize)")
        network = MLP(
            sizes: [stateSize + actionSize] + hiddenSizes + [1], hiddenActivation: .relu,
            outputActivation: .identity, using: &rng)
        self.stateSize = stateSize
    }

    public var actionSize: Int { network.inputSize - stateSize }

    /// `body(&network)`: the critic is its network.
    public mutating func withMLP<R>(_ body: (inout MLP) -> R) -> R? { body(&network) }

    public func makeContext() -> MLP.Context { network.makeContext() }

    public func forward(_ input: Tensor, context: inout MLP.Context) {
        network.forward(input, context: &context)
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout MLP.Context, gradient: inout MLPCritic,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        network.backward(
            input: input, outputGradient: outputGradient, context: &context, gradient: &gradient.network,
            computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try network.visitParameters(body)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try network.forEachParameter(body)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        network.updateParameters(body)
    }

    public mutating func updateParameters(pairedWith other: MLPCritic, _ body: (inout Tensor, Tensor) -> Void) {
        network.updateParameters(pairedWith: other.network, body)
    }
}
