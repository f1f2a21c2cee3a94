import RecRLTensor

/// The buffers one layer keeps for one batch: its output, and the gradient with
/// respect to its input after ``Layer/backward(input:outputGradient:context:gradient:computeParameterGradient:computeInputGradient:)``.
///
/// Contexts are created once (``Layer/makeContext()``) and reused every step, so
/// the hot path allocates nothing once the batch shape is stable.
public protocol LayerContext: Sendable {
    /// The output of the most recent forward pass.
    var output: Tensor { get }
    /// dL/d(input) from the most recent backward pass (empty until then).
    var inputGradient: Tensor { get }
}

/// A differentiable function with parameters, in the Swift for TensorFlow style:
/// call it for the forward pass; ``backward(input:outputGradient:context:gradient:computeParameterGradient:computeInputGradient:)``
/// is its pullback and yields both the parameter gradient and the input gradient.
///
/// A layer's gradient has the layer's own type: the gradient of a `Dense` is a
/// `Dense` whose `weight` and `bias` hold dL/dW and dL/db. Optimizers walk a model
/// and its gradient side by side with ``updateParameters(pairedWith:_:)``.
public protocol Layer: Sendable {
    /// Per-batch buffers (activations, input gradient) reused across steps.
    associatedtype Context: LayerContext

    /// Fresh buffers for ``forward(_:context:)``.
    func makeContext() -> Context

    /// Computes the layer's output for `input` (`[batch, features]`) into `context.output`.
    func forward(_ input: Tensor, context: inout Context)

    /// The pullback of the most recent ``forward(_:context:)`` of `input` in `context`.
    ///
    /// - Parameters:
    ///   - input: the input given to that forward pass.
    ///   - outputGradient: dL/d(output), the shape of `context.output`.
    ///   - context: the forward pass's context; receives dL/d(input) in `inputGradient`.
    ///   - gradient: receives dL/d(parameters), overwriting it (same structure as `self`).
    ///   - computeParameterGradient: false skips the weight gradients (e.g. a critic whose
    ///     weights are frozen during the actor update).
    ///   - computeInputGradient: false skips dL/d(input) (e.g. a network's first layer).
    func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout Self,
        computeParameterGradient: Bool, computeInputGradient: Bool)

    /// Visits every parameter by name (e.g. `layers.0.weight`), mutably.
    mutating func visitParameters(_ body: (_ name: String, _ parameter: inout Tensor) throws -> Void) rethrows

    /// Visits every parameter by name, read-only.
    func forEachParameter(_ body: (_ name: String, _ parameter: Tensor) throws -> Void) rethrows

    /// Visits every parameter mutably, in a fixed order, without building names
    /// (allocation-free; the default implementation calls ``visitParameters(_:)``).
    mutating func updateParameters(_ body: (_ parameter: inout Tensor) -> Void)

    /// Visits every parameter of `self` together with the corresponding parameter of
    /// `other` (same structure), in a fixed order, without building names: the
    /// allocation-free walk used by optimizers and soft updates.
    mutating func updateParameters(pairedWith other: Self, _ body: (_ parameter: inout Tensor, _ other: Tensor) -> Void)
}

extension Layer {
    /// The forward pass, allocating fresh buffers (convenient; not for hot loops).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        var context = makeContext()
        forward(input, context: &context)
        return context.output
    }

    /// The pullback at `input`: dL/d(input) and dL/d(parameters) for dL/d(output) = `outputGradient`.
    public func gradient(at input: Tensor, outputGradient: Tensor) -> (input: Tensor, parameters: Self) {
        var context = makeContext()
        forward(input, context: &context)
        var g = zeroGradient()
        backward(
            input: input, outputGradient: outputGradient, context: &context, gradient: &g,
            computeParameterGradient: true, computeInputGradient: true)
        return (context.inputGradient, g)
    }

    /// A copy of this layer with every parameter set to zero: a gradient buffer.
    public func zeroGradient() -> Self {
        var g = self
        g.visitParameters { _, p in p = Tensor(zeros: p.shape) }
        return g
    }

    /// The total number of scalar parameters.
    public var parameterCount: Int {
        var n = 0
        forEachParameter { _, p in n += p.count }
        return n
    }

    /// The global L2 norm of all parameters (of a gradient, typically).
    public var globalNorm: Float {
        var s: Double = 0
        forEachParameter { _, p in s += Double(p.squaredNorm()) }
        return Float(s.squareRoot())
    }

    /// Multiplies every parameter by `factor` in place.
    public mutating func scaleParameters(by factor: Float) {
        updateParameters { p in p *= factor }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        visitParameters { _, p in body(&p) }
    }
}

/// The element-wise nonlinearity of a layer.
public enum Activation: Int, Sendable, Codable, CaseIterable {
    /// `f(x) = x`.
    case identity = 0
    /// `f(x) = max(0, x)`.
    case relu = 1
    /// `f(x) = tanh(x)`.
    case tanh = 2
    /// `f(x) = 1 / (1 + exp(-x))`.
    case sigmoid = 3
}

/// A context holding one output and one input gradient, for layers (in any
/// module) that need no other buffers.
public struct BasicContext: LayerContext {
    public var output = Tensor(zeros: [0])
    public var inputGradient = Tensor(zeros: [0])
    public init() {}
}
