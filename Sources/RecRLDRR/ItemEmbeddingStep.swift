import RecRLTensor
import RecRLNN

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
}
