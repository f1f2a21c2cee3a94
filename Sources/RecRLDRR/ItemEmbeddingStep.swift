import RecRLTensor
import RecRLNN
import RecRLAgents

/// The item-embedding table's optimizer of the supervised next-item objective, shared by
/// DRR and LIRD (``DRRLearningStep``) and DeepPage (``DeepPageModel``): the table's
/// gradient `dL/dE` of the last step (``NextItemSoftmax/embeddingGradient(actions:logitGradient:slots:into:)``
/// writes it) and the table's ``Adam`` optimizer. Every buffer is allocated by the first step
/// and reused.
struct ItemEmbeddingStep: Sendable {
    /// `dL/dE`, `[items, k]`, of the last supervised step.
    var gradient = Tensor(zeros: [0])
    var optimizer = Adam()
    /// The table size ``optimizer``'s moments were made for (0: none yet).
    var optimizerSize = 0

    /// One Adam step (β1 0.9, β2 0.999, ε 1e-8, bias-corrected: ``Adam/update(_:along:)``)
    /// of `table` along ``gradient``. The moments are allocated by the first step, and again
    /// (from step 1) if the table's size changes.
    mutating func step(_ table: inout Tensor, learningRate: Float) {
        precondition(gradient.count == table.count, "item gradient \(gradient.shape) vs table \(table.shape)")
        if optimizerSize != table.count {
            optimizer = Adam()
            optimizerSize = table.count
        }
        optimizer.learningRate = learningRate
        optimizer.update(&table, along: gradient)
    }

    /// One supervised step of `learner`'s actor on `states` towards `targets`
    /// (``NextItemSoftmax`` at `weight`, `slots` actions per row, `logits` as scratch) and,
    /// when `itemStep` is non-nil and `learningRate` positive, one Adam step of `table` along
    /// the same loss's `dL/dE`, computed with the table as it was before the step. The one
    /// supervised step of DRR and LIRD (``DRRLearningStep``) and DeepPage (``DeepPageModel``).
    /// Returns the loss before the step; a warm step allocates nothing.
    static func supervisedActorStep<A: Actor, C: Critic>(
        learner: inout DDPGLearner<A, C>, states: Tensor, table: inout Tensor, targets: [Int32], weight: Float,
        slots: Int, logits: inout Tensor, itemStep: inout ItemEmbeddingStep?, learningRate: Float
    ) -> Float {
        let trainsTable = itemStep != nil && learningRate > 0
        let loss: Float
        do {
            // Scoped, so that the table is uniquely referenced again when Adam writes it.
            let items = table
            loss = learner.updateActor(states: states) { actions, gradient in
                let value = NextItemSoftmax.lossAndGradient(
                    actions: actions, itemEmbeddings: items, targets: targets, weight: weight, slots: slots,
                    logits: &logits, gradient: &gradient)
                if trainsTable {
                    NextItemSoftmax.embeddingGradient(actions: actions, logitGradient: logits, slots: slots, into: &itemStep!.gradient)
                }
                return value
            }
        }
        if trainsTable { itemStep!.step(&table, learningRate: learningRate) }
        return loss
    }
}
