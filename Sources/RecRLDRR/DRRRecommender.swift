import Foundation
import RecRLTensor
import RecRLData
import RecRLRecommenders

/// DRR as a ``Recommender``, so it is evaluated exactly like the classical baselines.
/// With a ``lird`` configuration it is LIRD (``LIRDTrainer``), named `lird`: its ranking
/// starts with the list the actor recommends (``DRRModel/scores(user:window:)``), so the
/// metrics at `K` = ``LIRDConfiguration/listSize`` are those of the list.
///
/// - `full` protocol: the state is the user's last `n` positive training items; every
///   unseen item is ranked once by `dot(e_i, a)`; no test feedback is used.
/// - `drr` protocol (the paper's Algorithm 2, via ``SequentialRecommender``): among the
///   user's test items, recommend one at a time; each step's real rating updates the
///   state window before the next pick.
public struct DRRRecommender: SequentialRecommender {
    /// `drr-<variant>`, e.g. `drr-ave`.
    public let name: String
    /// Hyper-parameters used by ``fit(train:)``.
    public var configuration: DRRConfiguration
    /// Seed of ``fit(train:)``.
    public var seed: UInt64
    /// The trained model (nil before ``fit(train:)`` or ``init(model:histories:)``).
    public private(set) var model: DRRModel?
    /// The learning curve of the last ``fit(train:)``.
    public private(set) var curve: [DRRCurvePoint] = []
    /// Threads of each DDPG update during ``fit(train:)`` (see
    /// ``DRRTrainer/train(_:configuration:seed:curveEvery:parallelism:progress:)``);
    /// default ``DRRTrainer/defaultParallelism``.
    public var parallelism = DRRTrainer.defaultParallelism
    /// The last ``fit(train:)``'s training run (nil before one, and for a pretrained model).
    public private(set) var lastTraining: DRRTrainingResult?
    /// Called with each curve point during training.
    public var progress: (@Sendable (DRRCurvePoint) -> Void)?
    /// LIRD's hyper-parameters when this recommender trains LIRD (its `base` is
    /// ``configuration``), nil for DRR.
    public private(set) var lird: LIRDConfiguration?
    private var histories: UserHistories?
    private var pretrained: DRRManifest?

    /// An untrained LIRD recommender, named `lird`.
    public init(lird: LIRDConfiguration, seed: UInt64 = 0) {
        configuration = lird.base
        self.seed = seed
        self.lird = lird
        name = "lird"
    }

    /// An untrained recommender for the given variant's configuration.
    public init(configuration: DRRConfiguration = .init(), seed: UInt64 = 0) {
        self.configuration = configuration
        self.seed = seed
        name = "drr-\(configuration.variant.rawValue)"
    }

    /// A recommender around a trained model and the history its states come from.
    public init(model: DRRModel, histories: UserHistories) {
        configuration = model.configuration
        seed = 0
        name = "drr-\(model.configuration.variant.rawValue)"
        self.model = model
        self.histories = histories
    }

    /// A recommender around a saved model: ``fit(train:)`` then only reads the users'
    /// histories from the training split (whose id maps must match the manifest's).
    public init(pretrained model: DRRModel, manifest: DRRManifest) {
        if let lird = manifest.lird {
            self.init(lird: lird, seed: manifest.seed)
        } else {
            self.init(configuration: model.configuration, seed: manifest.seed)
        }
        self.model = model
        pretrained = manifest
    }

    public mutating func fit(train: InteractionDataset) throws {
        if let manifest = pretrained {
            guard manifest.userIDs == train.userMap.rawIDs, manifest.itemIDs == train.itemMap.rawIDs else {
                throw DRRError.invalidModel(
                    "the model's id maps (\(manifest.userIDs.count) users, \(manifest.itemIDs.count) items) do not match the data set (\(train.userCount) users, \(train.itemCount) items)"
                )
            }
            histories = UserHistories(train)
            return
        }
        let result =
            try lird.map { try LIRDTrainer.run(train, configuration: $0, seed: seed, parallelism: parallelism, progress: progress) }
            ?? DRRTrainer.run(train, configuration: configuration, seed: seed, parallelism: parallelism, progress: progress)
        model = result.model
        curve = result.curve
        lastTraining = result
        histories = UserHistories(train)
    }

    /// The user's state window at the end of the training history.
    public func finalWindow(user: Int) -> StateWindow {
        guard let model, let histories, user < histories.userCount else {
            return StateWindow(size: configuration.windowSize, initial: [])
        }
        let mid = (model.rewardScale.minimum + model.rewardScale.maximum) / 2
        return StateWindow(size: configuration.windowSize, initial: histories.positives(user: user, threshold: mid))
    }

    public func scores(forUser user: Int, into scores: inout [Float]) {
        guard let model else {
            scores = [Float](repeating: 0, count: scores.count)
            return
        }
        let s = model.scores(user: user, window: finalWindow(user: user))
        if scores.count != s.count { scores = [Float](repeating: 0, count: s.count) }
        s.withUnsafeBufferPointer { p in for i in 0..<p.count { scores[i] = p[i] } }
    }

    public func rankSequentially(user: Int, candidates: [Int], rating: (Int) -> Float?) -> [Int] {
        guard let model else { return candidates }
        var window = finalWindow(user: user)
        var remaining = candidates
        var ranked: [Int] = []
        while !remaining.isEmpty {
            let s = model.scores(user: user, window: window)
            var best = 0
            for j in 1..<remaining.count {
                let a = s[flat: remaining[j]], b = s[flat: remaining[best]]
                if a > b || (a == b && remaining[j] < remaining[best]) { best = j }
            }
            let item = remaining.remove(at: best)
            ranked.append(item)
            if let r = rating(item), model.rewardScale.reward(forRating: r) > 0 { window.push(item) }
        }
        return ranked
    }

    public var itemEmbeddings: [[Float]]? {
        guard let e = model?.itemEmbeddings else { return nil }
        return (0..<e.shape[0]).map { e.row($0).scalars }
    }
}
