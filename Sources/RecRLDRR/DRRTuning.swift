import RecRLRecommenders

/// The validation grid of the DRR variants for `recrl evaluate --tune`, searched by
/// ``BaselineTuning/tune(_:train:strategy:config:using:)`` exactly like the baselines' grids
/// (fit on the training split minus a validation split carved from it, score by NDCG@10 on
/// the validation split, refit the best on all of training, evaluate once on test).
///
/// The grid is ``DRRConfiguration/supervisedTarget`` ∈ {`.next`, `.any`} × whether the
/// supervised step trains the item-embedding table
/// (``DRRConfiguration/itemEmbeddingLearningRate`` at the base configuration's rate, then 0)
/// around a base configuration, reported as the parameters `supervised_target_any` (0:
/// `.next`, 1: `.any`) and `item_embedding_learning_rate`. Whether held-out items follow the
/// training history (a temporal split) or are spread over it (a random split) is a property
/// of the data that validation measures, and the two targets are the objectives matched to
/// each; whether a trained table ranks better than the pretrained one also depends on the
/// data. A base rate of 0 leaves only the two targets.
public enum DRRTuning {
    /// The grid points around `base` (its other values kept): `.next` first, and per target
    /// the base rate before 0 (ties keep the earlier point).
    public static func grid(around base: DRRConfiguration, seed: UInt64) -> [TuningCandidate] {
        let rates = base.itemEmbeddingLearningRate > 0 ? [base.itemEmbeddingLearningRate, 0] : [Float(0)]
        return DRRConfiguration.SupervisedTarget.allCases.flatMap { target in
            rates.map { rate in
                var configuration = base
                configuration.supervisedTarget = target
                configuration.itemEmbeddingLearningRate = rate
                return TuningCandidate(
                    parameters: ["supervised_target_any": target == .any ? 1 : 0, "item_embedding_learning_rate": Double(rate)]
                ) {
                    DRRRecommender(configuration: configuration, seed: seed)
                }
            }
        }
    }
}
