import Foundation
import RecRLTensor
import RecRLNN

/// The item-embedding table's optimizer of the supervised next-item objective, shared by
/// DRR and LIRD (``DRRLearningStep``) and DeepPage (``DeepPageModel``): the table's
/// gradient `dL/dE` of the last step (``NextItemSoftmax/embeddingGradient(actions:logitGradient:slots:into:)``
/// writes it) and Adam's moments. Every buffer is allocated by the first step and reused.
struct ItemEmbeddingStep: Sendable {
    /// `dL/dE`, `[items, k]`, of the last supervised step.
    var gradient = Tensor(zeros: [0])
    var firstMoment = Tensor(zeros: [0])
    var secondMoment = Tensor(zeros: [0])
    var steps = 0

    /// One Adam step (β1 0.9, β2 0.999, ε 1e-8, bias-corrected) of `table` along
    /// ``gradient``. The moments are allocated by the first step only.
    mutating func step(_ table: inout Tensor, learningRate: Float) {
        let n = table.count
        precondition(gradient.count == n, "item gradient \(gradient.shape) vs table \(table.shape)")
        if firstMoment.count != n {
            firstMoment = Tensor(zeros: table.shape)
            secondMoment = Tensor(zeros: table.shape)
            steps = 0
        }
        steps += 1
        let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, t = Double(steps)
        let bc1 = 1 - pow(beta1, t), bc2 = 1 - pow(beta2, t)
        let lrT = Float(Double(learningRate) * bc2.squareRoot() / bc1), epsT = Float(epsilon * bc2.squareRoot())
        table.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        UnsafeKernels.adamStep(
                            parameters: p.baseAddress!, gradient: g.baseAddress!, firstMoment: m.baseAddress!,
                            secondMoment: v.baseAddress!, count: n, beta1: Float(beta1), beta2: Float(beta2),
                            learningRate: lrT, epsilon: epsT, softUpdateTarget: nil, tau: 0)
                    }
                }
            }
        }
    }
}
