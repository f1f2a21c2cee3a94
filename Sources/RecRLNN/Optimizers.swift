import RecRLTensor
import CRecRLKernels

/// Updates a model from a gradient of the same structure. The optimizer keeps only
/// its own state (moments); the model is passed `inout` and never owned.
public protocol Optimizer: Sendable {
    /// Applies one update step to `model` along `gradient`.
    mutating func update<L: Layer>(_ model: inout L, along gradient: L)
}

/// Stochastic gradient descent with (heavy-ball) momentum:
/// `v = momentum · v + g;  p -= learningRate · v` (PyTorch's convention).
public struct SGD: Optimizer {
    /// The step size.
    public var learningRate: Float
    /// The momentum coefficient; 0 disables momentum.
    public var momentum: Float
    private var velocity: [Tensor] = []

    /// - Parameters:
    ///   - learningRate: step size (default 0.01).
    ///   - momentum: momentum coefficient in [0, 1) (default 0).
    public init(learningRate: Float = 0.01, momentum: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public mutating func update<L: Layer>(_ model: inout L, along gradient: L) {
        if velocity.isEmpty && momentum != 0 {
            gradient.forEachParameter { _, g in velocity.append(Tensor(zeros: g.shape)) }
        }
        var index = 0
        let lr = learningRate, mu = momentum
        model.updateParameters(pairedWith: gradient) { p, g in
            if mu == 0 {
                p.addScaled(g, by: -lr)
            } else {
                velocity[index] *= mu
                velocity[index] += g
                p.addScaled(velocity[index], by: -lr)
            }
            index += 1
        }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction:
/// `m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²;  p -= lr · m̂ / (√v̂ + ε)` with
/// `m̂ = m / (1−β1ᵗ)`, `v̂ = v / (1−β2ᵗ)`.
///
/// Defaults are the paper's: `learningRate` 1e-3, `beta1` 0.9, `beta2` 0.999,
/// `epsilon` 1e-8. The update is one fused, vectorised pass per parameter tensor.
public struct Adam: Optimizer {
    /// The step size α.
    public var learningRate: Float
    /// Decay of the first moment, β1.
    public var beta1: Float
    /// Decay of the second moment, β2.
    public var beta2: Float
    /// ε in the denominator.
    public var epsilon: Float
    /// Steps taken so far (t).
    public private(set) var step = 0
    fileprivate var firstMoments: [Tensor] = []
    fileprivate var secondMoments: [Tensor] = []

    /// Adam with the paper's defaults (lr 1e-3, β1 0.9, β2 0.999, ε 1e-8).
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public mutating func update<L: Layer>(_ model: inout L, along gradient: L) {
        if firstMoments.isEmpty {
            gradient.forEachParameter { _, g in
                firstMoments.append(Tensor(zeros: g.shape))
                secondMoments.append(Tensor(zeros: g.shape))
            }
        }
        step += 1
        let (lrT, epsT) = correctedStep()
        var index = 0
        model.updateParameters(pairedWith: gradient) { p, g in
            apply(to: &p, along: g, moment: index, learningRate: lrT, epsilon: epsT)
            index += 1
        }
    }

    /// One step on a single tensor, e.g. an embedding table that is not part of a ``Layer``:
    /// `parameter` along `gradient` (the same shape), exactly as ``update(_:along:)`` steps a
    /// layer whose only parameter is `parameter` (the same bias correction, moments and
    /// kernel, so the same bits). The first step creates the two moments, shaped like
    /// `parameter`; later steps must pass a tensor of that size, and an optimizer used for a
    /// layer cannot step a single tensor. Warm steps allocate nothing.
    public mutating func update(_ parameter: inout Tensor, along gradient: Tensor) {
        if firstMoments.isEmpty {
            firstMoments = [Tensor(zeros: gradient.shape)]
            secondMoments = [Tensor(zeros: gradient.shape)]
        }
        precondition(firstMoments.count == 1, "Adam: an optimizer of \(firstMoments.count) parameter tensors cannot step one tensor")
        step += 1
        let (lrT, epsT) = correctedStep()
        apply(to: &parameter, along: gradient, moment: 0, learningRate: lrT, epsilon: epsT)
    }

    /// `p -= lr_t · m / (√v + ε_t)` with moments number `moment`, updated from `g` first.
    private mutating func apply(to p: inout Tensor, along g: Tensor, moment: Int, learningRate lrT: Float, epsilon epsT: Float) {
        precondition(
            p.shape == g.shape && p.count == firstMoments[moment].count,
            "Adam: parameter \(p.shape) vs gradient \(g.shape) and moments of \(firstMoments[moment].count) elements")
        let n = p.count, b1 = beta1, b2 = beta2
        g.withUnsafeBufferPointer { gp in
            firstMoments[moment].withUnsafeMutableBufferPointer { mp in
                secondMoments[moment].withUnsafeMutableBufferPointer { vp in
                    p.withUnsafeMutableBufferPointer { pp in
                        recrl_adam_step(pp.baseAddress, gp.baseAddress, mp.baseAddress, vp.baseAddress, n, b1, b2, lrT, epsT)
                    }
                }
            }
        }
    }
}

extension Adam {
    /// The bias-corrected step size and ε of step ``step``: `p -= lr_t · m / (√v + ε_t)`.
    func correctedStep() -> (learningRate: Float, epsilon: Float) {
        let t = Double(step)
        let bc1 = 1 - pow(Double(beta1), t), bc2 = 1 - pow(Double(beta2), t)
        // p -= lr·m̂/(√v̂+ε)  ≡  p -= lr_t · m / (√v + ε_t)
        return (Float(Double(learningRate) * bc2.squareRoot() / bc1), Float(Double(epsilon) * bc2.squareRoot()))
    }

    /// For callers that apply the update themselves (e.g. split over threads with
    /// ``UnsafeKernels/adamStep(parameters:gradient:firstMoment:secondMoment:count:beta1:beta2:learningRate:epsilon:softUpdateTarget:tau:)``):
    /// creates the moments on first use (shaped like `gradient`'s parameters), advances ``step``
    /// and returns the bias-corrected step size and ε, exactly as ``update(_:along:)`` uses them.
    public mutating func beginStep<L: Layer>(shapedLike gradient: L) -> (learningRate: Float, epsilon: Float) {
        if firstMoments.isEmpty {
            gradient.forEachParameter { _, g in
                firstMoments.append(Tensor(zeros: g.shape))
                secondMoments.append(Tensor(zeros: g.shape))
            }
        }
        step += 1
        return correctedStep()
    }

    /// The state a resumed run needs: the step count and the moments, one tensor each per
    /// parameter tensor in ``Layer/updateParameters(pairedWith:_:)`` order (empty before
    /// the first step).
    public var state: (step: Int, firstMoments: [Tensor], secondMoments: [Tensor]) {
        (step, firstMoments, secondMoments)
    }

    /// Restores ``state`` (e.g. from a checkpoint): the next step continues from `step`.
    /// Both moment lists must have the same length and shapes, one per parameter tensor.
    public mutating func restore(step: Int, firstMoments: [Tensor], secondMoments: [Tensor]) throws(CheckpointError) {
        guard step >= 0, firstMoments.count == secondMoments.count,
            zip(firstMoments, secondMoments).allSatisfy({ $0.shape == $1.shape })
        else {
            throw .invalidHeader("Adam state: step \(step), \(firstMoments.count) first and \(secondMoments.count) second moments of differing shapes")
        }
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// Calls `body` with the first- and second-moment tensors, one per parameter tensor in
    /// ``Layer/updateParameters(pairedWith:_:)`` order (empty before the first step), to
    /// read or move in place (e.g. swapped out for the length of a step run elsewhere and
    /// swapped back; their shapes must be kept).
    public mutating func withMomentTensors<R>(_ body: (_ first: inout [Tensor], _ second: inout [Tensor]) throws -> R) rethrows -> R {
        try body(&firstMoments, &secondMoments)
    }

    /// Calls `body` with the index, first-moment and second-moment storage of every parameter
    /// tensor, in ``Layer/updateParameters(pairedWith:_:)`` order (empty before the first step).
    public mutating func withMomentBuffers(
        _ body: (
            _ index: Int, _ first: UnsafeMutableBufferPointer<Float>,
            _ second: UnsafeMutableBufferPointer<Float>
        ) -> Void
    ) {
        for i in firstMoments.indices {
            firstMoments[i].withUnsafeMutableBufferPointer { m in
                secondMoments[i].withUnsafeMutableBufferPointer { v in body(i, m, v) }
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scales `gradient` so that its global L2 norm is at most `maxNorm` and returns
/// the norm before clipping (Pascanu et al. 2013).
@discardableResult
public func clipByGlobalNorm<L: Layer>(_ gradient: inout L, maxNorm: Float) -> Float {
    precondition(maxNorm > 0, "clipByGlobalNorm needs maxNorm > 0, got \(maxNorm)")
    var s: Float = 0
    gradient.updateParameters { p in s += p.squaredNorm() }
    let norm = s.squareRoot()
    if norm > maxNorm {
        let factor = maxNorm / norm
        gradient.updateParameters { p in p *= factor }
    }
    return norm
}

/// Polyak averaging of target networks, in place over every parameter:
/// `target = tau · source + (1 − tau) · target` (Lillicrap et al. 2015).
public func softUpdate<L: Layer>(_ target: inout L, toward source: L, tau: Float) {
    precondition(tau >= 0 && tau <= 1, "softUpdate needs tau in [0, 1], got \(tau)")
    target.updateParameters(pairedWith: source) { t, s in
        precondition(t.shape == s.shape, "softUpdate: target \(t.shape) vs source \(s.shape)")
        let n = t.count
        s.withUnsafeBufferPointer { sp in
            t.withUnsafeMutableBufferPointer { tp in
                recrl_soft_update(tp.baseAddress, sp.baseAddress, n, tau)
            }
        }
    }
}
