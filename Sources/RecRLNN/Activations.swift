import RecRLTensor
import CRecRLKernels

/// A parameter-free element-wise activation layer.
public protocol ActivationLayer: Layer where Context == BasicContext {
    /// The nonlinearity this layer applies.
    static var activation: Activation { get }
}

extension ActivationLayer {
    public func makeContext() -> BasicContext { BasicContext() }

    public func forward(_ input: Tensor, context: inout BasicContext) {
        context.output.assign(input)
        let n = context.output.count, act = Int32(Self.activation.rawValue)
        context.output.withUnsafeMutableBufferPointer { y in
            recrl_bias_activation(y.baseAddress, nil, 1, n, act)
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout BasicContext, gradient: inout Self,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        guard computeInputGradient else { return }
        precondition(
            outputGradient.shape == context.output.shape,
            "\(Self.self) backward: output gradient \(outputGradient.shape) does not match output \(context.output.shape)")
        context.inputGradient.assign(outputGradient)
        let n = context.inputGradient.count, act = Int32(Self.activation.rawValue)
        context.output.withUnsafeBufferPointer { y in
            context.inputGradient.withUnsafeMutableBufferPointer { d in
                recrl_activation_backward(d.baseAddress, y.baseAddress, n, act)
            }
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {}
    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {}
    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {}
    public mutating func updateParameters(pairedWith other: Self, _ body: (inout Tensor, Tensor) -> Void) {}
}

/// `max(0, x)` element-wise.
public struct ReLU: ActivationLayer {
    public static let activation = Activation.relu
    public init() {}
}

/// `tanh(x)` element-wise.
public struct Tanh: ActivationLayer {
    public static let activation = Activation.tanh
    public init() {}
}

/// `1 / (1 + exp(-x))` element-wise.
public struct Sigmoid: ActivationLayer {
    public static let activation = Activation.sigmoid
    public init() {}
}

/// The identity: passes its input through.
public struct Identity: ActivationLayer {
    public static let activation = Activation.identity
    public init() {}
}
