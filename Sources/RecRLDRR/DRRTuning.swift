import RecRLRecommenders

/// The validation grid of the DRR variants for `recrl evaluate --tune`, searched by
/// ``BaselineTuning/tune(_:train:strategy:config:using:)`` exactly like the baselines' grids
/// (fit on the training split minus a validation split carved from it, score by NDCG@10 on
/// the validation split, refit the best on all of training, evaluate once on test).
///
/// The grid is ``DRRConfiguration/supervisedTarget`` ∈ {`.next`, `.any`} around a base
/// configuration, reported as the parameter `supervised_target_any` (0: `.next`, 1:
/// `.any`): whether held-out items follow the training history (a temporal split) or are
/// spread over it (a random split) is a property of the data that validation measures, and
/// the two targets are the objectives matched to each.
public enum DRRTuning {
    /// The grid points around `base` (its other values kept), `.next` first (ties keep it).
    public static func grid(around base: DRRConfiguration, seed: UInt64) -> [TuningCandidate] {
        DRRConfiguration.SupervisedTarget.allCases.map { target in
            var configuration = base
            configuration.supervisedTarget = target
            return TuningCandidate(parameters: ["supervised_target_any": target == .any ? 1 : 0]) {
                DRRRecommender(configuration: configuration, seed: seed)
            }
        }
    }
}
