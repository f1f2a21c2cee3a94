import Foundation
import RecRLTensor
import RecRLData
import RecRLRecommenders

/// DeepPage as a ``Recommender``, named `deeppage`, so it is evaluated exactly like LIRD and
/// the classical baselines: its ranking starts with the page the actor recommends, read row
/// by row (``DeepPageModel/scores(window:pages:)``), so the metrics at `K = h · w` are the
/// page's.
///
/// The state is the user's last `n` positive training items (the browsing history) and no
/// page yet shown; no test feedback is used.
public struct DeepPageRecommender: Recommender {
    public let name = "deeppage"
    /// Hyper-parameters used by ``fit(train:)``.
    public var configuration: DeepPageConfiguration
    /// Seed of ``fit(train:)``.
    public var seed: UInt64
    /// The trained model (nil before ``fit(train:)``).
    public private(set) var model: DeepPageModel?
    /// The last ``fit(train:)``'s training run.
    public private(set) var lastTraining: DeepPageTrainingResult?
    /// Called with each curve point during training.
    public var progress: (@Sendable (DRRCurvePoint) -> Void)?
    private var histories: UserHistories?

    /// An untrained recommender.
    public init(configuration: DeepPageConfiguration = .init(), seed: UInt64 = 0) {
        self.configuration = configuration
        self.seed = seed
    }

    /// A recommender around a trained model; ``fit(train:)`` then only reads the users'
    /// histories from the training split.
    public init(model: DeepPageModel, seed: UInt64 = 0) {
        self.init(configuration: model.configuration, seed: seed)
        self.model = model
    }

    public mutating func fit(train: InteractionDataset) throws {
        if let model {
            guard model.itemCount == train.itemCount else {
                throw DRRError.invalidModel("the model has \(model.itemCount) items, the data set \(train.itemCount)")
            }
        } else {
            let result = try DeepPageTrainer.run(train, configuration: configuration, seed: seed, progress: progress)
            model = result.model
            lastTraining = result
        }
        histories = UserHistories(train)
    }

    /// The user's browsing history at the end of the training split: their last `n` positives.
    public func finalWindow(user: Int) -> StateWindow {
        let n = configuration.base.windowSize
        guard let model, let histories, user < histories.userCount else { return StateWindow(size: n, initial: []) }
        return StateWindow(size: n, initial: histories.positives(user: user, threshold: model.rewardScale.midpoint))
    }

    public func scores(forUser user: Int, into scores: inout [Float]) {
        guard let model else {
            scores = [Float](repeating: 0, count: scores.count)
            return
        }
        let s = model.scores(window: finalWindow(user: user), pages: [])
        if scores.count != s.count { scores = [Float](repeating: 0, count: s.count) }
        s.withUnsafeBufferPointer { p in for i in 0..<p.count { scores[i] = p[i] } }
    }

    public var itemEmbeddings: [[Float]]? {
        guard let e = model?.itemEmbeddings else { return nil }
        return (0..<e.rows).map { e.row($0).scalars }
    }
}
