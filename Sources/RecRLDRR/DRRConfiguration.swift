import Foundation
import RecRLTensor
import RecRLAgents

/// Hyper-parameters of a DRR recommender (Liu et al. 2018, arXiv 1810.12027).
///
/// Defaults follow the paper where it gives a value (cited on each property); where
/// it does not, the value is ours and says so. Four defaults depart from the paper because
/// the paper's choices ranked far below the classical baselines on ML-100K (see README,
/// "DRR results"; chosen on a validation split carved from the training split):
/// implicit-feedback embeddings (``embeddingMethod``, ``unratedReward``,
/// ``embeddingRegularization``), the supervised next-item objective
/// (``supervisedWeight``) with an item-embedding table it trains
/// (``itemEmbeddingLearningRate``), TD targets on the item the target actor would recommend
/// (``projectsTargetActions``), a state module that the DDPG actor loss does not move
/// (``actorTrainsStateModule``) and no gradient clipping (``maxGradientNorm``).
/// ``paper`` restores the paper's choices.
public struct DRRConfiguration: Sendable, Codable, Equatable {
    /// The state representation module (paper: DRR-ave performs best). Default `.ave`.
    public var variant: DRRStateRepresentation.Variant = .ave
    /// Embedding size `k` of the PMF-pretrained user and item vectors (paper: 100).
    public var embeddingSize = 100
    /// The state window `n`: the user's most recent positively rated items (paper: 5).
    public var windowSize = 5
    /// Width of the actor's and critic's two hidden ReLU layers. Not given in the
    /// paper; 256 is ours (WORKLOAD.md's `paper` configuration).
    public var hiddenSize = 256
    /// Episode length `T` in the offline simulator (paper: 10).
    public var episodeLength = 10
    /// Discount γ (paper: 0.9).
    public var gamma: Float = 0.9
    /// Actor learning rate (paper: 1e-4).
    public var actorLearningRate: Float = 1e-4
    /// Critic learning rate (paper: 1e-3).
    public var criticLearningRate: Float = 1e-3
    /// Learning rate of the state module's item weights. Ours: the critic's, 1e-3.
    public var stateLearningRate: Float = 1e-3
    /// Mini-batch size (paper: 64).
    public var batchSize = 64
    /// Soft target update τ. Not given in the paper; ours 0.01 (DDPG's 0.001 learns too
    /// slowly for the few thousand episodes an offline run affords).
    public var tau: Float = 0.01
    /// Replay capacity in transitions. Ours: 100,000.
    public var replayCapacity = 100_000
    /// Prioritized replay exponent α (Schaul et al. 2016: 0.6).
    public var priorityAlpha: Double = 0.6
    /// Initial importance-sampling exponent β, annealed linearly to 1 over training
    /// (Schaul et al. 2016: 0.4).
    public var priorityBetaStart: Double = 0.4
    /// Training episodes. Ours: 500 (about 5,000 transitions and as many updates): on
    /// ML-100K's validation split DRR-ave scored NDCG@10 0.174 after 500 episodes and
    /// 0.176 after 3,000, six times longer.
    public var episodes = 500
    /// Transitions collected before learning starts. Ours: 1,000.
    public var warmupTransitions = 1000
    /// ε of ε-greedy over the ranking, annealed linearly from `epsilonStart` to
    /// `epsilonEnd` over the first half of training (paper: ε-greedy; values ours).
    public var epsilonStart: Float = 0.5
    /// Final ε.
    public var epsilonEnd: Float = 0.05
    /// Std of the Gaussian action noise (ours: 0.1, as in common DDPG set-ups).
    public var actionNoise: Float = 0.1
    /// Reward for an item the user has not rated in the log: `nil` uses the PMF-predicted
    /// rating (the paper's simulator; needs explicit embeddings); a number is a fixed
    /// reward instead. Default 0 (ours: implicit embeddings predict no ratings).
    public var unratedReward: Float? = 0
    /// How the embeddings are pretrained on the training split: explicit-rating ALS
    /// (the paper's PMF objective) or implicit-feedback ALS (Hu, Koren & Volinsky 2008),
    /// whose dot products rank unseen items much better. Default `.implicit` (ours; the
    /// paper: `.explicit`): on ML-100K's validation split DRR-ave reached NDCG@10 0.19
    /// with implicit and 0.09 with explicit embeddings.
    public var embeddingMethod: EmbeddingMethod = .implicit
    /// Confidence slope α for implicit embeddings (`c = 1 + α·r`). Ours: 5.
    public var implicitAlpha: Float = 5
    /// What the replay stores as the action of a transition (the critic's `a`).
    /// `.itemEmbedding` (default): the recommended item's embedding scaled into [−1, 1],
    /// so `Q(s, a)` scores the item that was actually shown, also for ε-greedy picks.
    /// `.actorOutput`: the actor's (noisy) output, the paper's literal reading, under
    /// which random ε-greedy picks store an action that did not choose the item; in our
    /// runs it did not learn a useful ranking (see README).
    public var replayAction: ReplayAction = .itemEmbedding
    /// Global-norm gradient clipping of actor and critic (Pascanu et al. 2013); nil (the
    /// default, as in the paper) turns it off. Clipping at 1 held the critic back from
    /// diverging before ``projectsTargetActions`` removed the cause, but it also cut the
    /// supervised objective's steps short (validation NDCG@10 0.11 against 0.19 without).
    public var maxGradientNorm: Float? = nil
    /// ALS sweeps for the PMF embeddings. Ours: 10.
    public var embeddingIterations = 10
    /// L2 regularisation λ of the embeddings' ALS. Ours: 50, for the default implicit
    /// embeddings (``paper`` uses 0.1 with explicit PMF, weighted-λ).
    public var embeddingRegularization: Float = 50
    /// Weight λ of a supervised next-item objective beside DDPG's (not in the paper; the
    /// supervised head of SQN, Xin et al. 2020): after every DDPG update the actor takes
    /// one more step on a batch of logged examples — state = a user's window of positive
    /// training items, target = the positive item that followed — minimising
    /// `λ · cross-entropy(softmax(E · μ(s)), target)` over the whole catalogue, through the
    /// state module too. Ours: 100 (validation NDCG@10 on ML-100K: 0.02 at 0, 0.16 at 1,
    /// 0.17 at 10, 0.19 at 100 and 1000); 0 is the paper's pure DDPG actor.
    public var supervisedWeight: Float = 100
    /// Which logged item an example of the supervised objective (``supervisedWeight``)
    /// predicts from a user's window of positives. `.next` (default): the positive that
    /// followed the window, a next-item objective for data whose held-out items come after
    /// the training history. `.any`: a positive of the same user drawn at random from
    /// outside the window (before or after it; the final window of each user is an example
    /// too), a whole-history objective for data whose held-out items are spread over the
    /// history (a random split). `recrl evaluate --tune` chooses between them on a
    /// validation split carved from the training split (``DRRTuning``). Offline training
    /// only: online learning's examples are always the live positive that followed a state.
    public var supervisedTarget: SupervisedTarget = .next
    /// Adam learning rate of the item-embedding table `E` under the supervised objective
    /// (``supervisedWeight``): when positive, each supervised step also moves `E` along the
    /// softmax cross-entropy's gradient `dL/dE = (dL/dz)ᵀ · A` (`z = A · Eᵀ`, the scores of
    /// the batch's actions `A`), so the ranking `E · a` is no longer confined to the span of
    /// the pretrained factors. 0 keeps the pretrained table fixed (the earlier behaviour and
    /// the value a manifest without this field decodes to). Only the table's scoring side
    /// is trained: states read the updated rows of their window items, but no gradient
    /// flows into them through the state module; the user embeddings stay fixed. Offline
    /// training only (``DRRTrainer``, ``LIRDTrainer`` with a list's slots, and
    /// ``DeepPageTrainer``'s supervised next-page step with a page's positions, each reading
    /// its own configuration's rate): online learning
    /// (``DRRLearningStep/Options/trainsItemEmbeddings``) keeps the table fixed, and the
    /// offline simulator and the TD targets' projection keep scoring the pretrained table.
    /// The trained table is saved with the model (``DRRModelStore``), so serving ranks by it.
    /// Ours: 1e-4, chosen by NDCG@10 on ML-100K validation splits carved from the training
    /// split of both the temporal and the random split (0, 1e-4, 3e-4 and 1e-3 tried; 1e-3
    /// hurt the random split's); ``paper`` keeps the table fixed.
    public var itemEmbeddingLearningRate: Float = 1e-4
    /// Whether the TD target scores the item the target actor would recommend,
    /// `Q'(s', e*)` with `e*` the (scaled) embedding of `argmax_i e_i · μ'(s')`, instead of
    /// the raw vector `μ'(s')` (not in the paper; ours, default true). The critic is
    /// trained only on item embeddings (``replayAction``), so a raw target action far
    /// from every item is extrapolation, and bootstrapping on it made the critic diverge
    /// in our ML-100K runs (losses above 10⁵ after a few hundred episodes).
    public var projectsTargetActions = true
    /// Whether DDPG's actor loss `−Q(s, μ(s))` also trains the state module (the paper
    /// trains the module jointly with both networks). Ours: false — the module learns from
    /// the critic's TD loss and the supervised objective only, as image encoders in
    /// SAC-AE and DrQ learn from the critic alone: the actor loss's gradient with respect
    /// to the state moves the state wherever the critic promises more, and in our ML-100K
    /// runs that made the critic drift and diverge after about a thousand episodes.
    public var actorTrainsStateModule = false

    /// The library's defaults (see the type's documentation for where they depart from
    /// the paper).
    public init() {}

    /// The paper's choices where it states them: explicit PMF embeddings (λ 0.1) kept fixed,
    /// PMF-predicted ratings for unrated items, a pure DDPG actor (no supervised
    /// objective), TD targets on the raw target action. Where the paper is silent our
    /// defaults stay, except gradient clipping at 1, without which this set-up's critic
    /// diverges.
    public static var paper: DRRConfiguration {
        var c = DRRConfiguration()
        c.embeddingMethod = .explicit
        c.unratedReward = nil
        c.embeddingRegularization = 0.1
        c.supervisedWeight = 0
        c.itemEmbeddingLearningRate = 0
        c.projectsTargetActions = false
        c.actorTrainsStateModule = true
        c.maxGradientNorm = 1
        return c
    }

    /// What the supervised objective's examples predict (``supervisedTarget``).
    public enum SupervisedTarget: String, Sendable, Codable, CaseIterable {
        /// The positive that followed the window.
        case next
        /// A random positive of the user outside the window.
        case any
    }

    /// The action stored with a transition.
    public enum ReplayAction: String, Sendable, Codable, CaseIterable {
        /// The recommended item's embedding, scaled into [−1, 1].
        case itemEmbedding
        /// The actor's output with exploration noise.
        case actorOutput
    }

    /// Embedding pretraining objectives.
    public enum EmbeddingMethod: String, Sendable, Codable, CaseIterable {
        /// Explicit ratings, PMF objective (ALS with weighted-λ regularisation).
        case explicit
        /// Implicit feedback (confidence-weighted ALS); unrated items then need a fixed
        /// ``DRRConfiguration/unratedReward`` because the model predicts no ratings.
        case implicit
    }

    /// The DDPG learner settings these hyper-parameters imply.
    public var learnerConfiguration: DDPGConfiguration {
        DDPGConfiguration(
            gamma: gamma, tau: tau, actorLearningRate: actorLearningRate,
            criticLearningRate: criticLearningRate, maxGradientNorm: maxGradientNorm,
            computesStateGradients: variant != .n)
    }

    /// Checks every value; throws a message naming the bad one.
    public func validate() throws(DRRError) {
        func check(_ ok: Bool, _ message: String) throws(DRRError) { if !ok { throw .invalidConfiguration(message) } }
        try check(embeddingSize > 0, "embeddingSize must be positive, got \(embeddingSize)")
        try check(windowSize > 0, "windowSize must be positive, got \(windowSize)")
        try check(hiddenSize > 0, "hiddenSize must be positive, got \(hiddenSize)")
        try check(episodeLength > 0, "episodeLength must be positive, got \(episodeLength)")
        try check(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1], got \(gamma)")
        try check(tau > 0 && tau <= 1, "tau must be in (0, 1], got \(tau)")
        try check(actorLearningRate > 0 && criticLearningRate > 0 && stateLearningRate > 0, "learning rates must be positive")
        try check(batchSize > 0, "batchSize must be positive, got \(batchSize)")
        try check(replayCapacity >= batchSize, "replayCapacity must be at least batchSize")
        try check(episodes >= 0, "episodes must be non-negative, got \(episodes)")
        try check(epsilonStart >= 0 && epsilonStart <= 1 && epsilonEnd >= 0 && epsilonEnd <= 1, "epsilon must be in [0, 1]")
        try check(actionNoise >= 0, "actionNoise must be non-negative")
        try check(embeddingIterations > 0 && embeddingRegularization > 0, "embedding iterations and regularization must be positive")
        try check(supervisedWeight >= 0 && supervisedWeight.isFinite, "supervisedWeight must be a non-negative number, got \(supervisedWeight)")
        try check(
            itemEmbeddingLearningRate >= 0 && itemEmbeddingLearningRate.isFinite,
            "itemEmbeddingLearningRate must be a non-negative number, got \(itemEmbeddingLearningRate)")
        try check(embeddingMethod == .explicit || unratedReward != nil, "implicit embeddings predict no ratings: set unratedReward")
    }
}

extension DRRConfiguration {
    /// The JSON names of the fields (as in a manifest's `configuration`).
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case variant, embeddingSize, windowSize, hiddenSize, episodeLength, gamma, actorLearningRate, criticLearningRate, stateLearningRate, batchSize, tau,
            replayCapacity, priorityAlpha, priorityBetaStart, episodes, warmupTransitions, epsilonStart, epsilonEnd, actionNoise, unratedReward,
            embeddingMethod, implicitAlpha, replayAction, maxGradientNorm, embeddingIterations, embeddingRegularization, supervisedWeight,
            projectsTargetActions, actorTrainsStateModule, supervisedTarget, itemEmbeddingLearningRate
    }

    /// Decodes a configuration; a key missing from the JSON (e.g. a hyper-parameter added
    /// after the model was saved) keeps its default, and a missing optional is nil, as
    /// the encoder omits nil values.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(type(of: variant).self, forKey: .variant) { variant = v }
        if let v = try c.decodeIfPresent(type(of: embeddingSize).self, forKey: .embeddingSize) { embeddingSize = v }
        if let v = try c.decodeIfPresent(type(of: windowSize).self, forKey: .windowSize) { windowSize = v }
        if let v = try c.decodeIfPresent(type(of: hiddenSize).self, forKey: .hiddenSize) { hiddenSize = v }
        if let v = try c.decodeIfPresent(type(of: episodeLength).self, forKey: .episodeLength) { episodeLength = v }
        if let v = try c.decodeIfPresent(type(of: gamma).self, forKey: .gamma) { gamma = v }
        if let v = try c.decodeIfPresent(type(of: actorLearningRate).self, forKey: .actorLearningRate) { actorLearningRate = v }
        if let v = try c.decodeIfPresent(type(of: criticLearningRate).self, forKey: .criticLearningRate) { criticLearningRate = v }
        if let v = try c.decodeIfPresent(type(of: stateLearningRate).self, forKey: .stateLearningRate) { stateLearningRate = v }
        if let v = try c.decodeIfPresent(type(of: batchSize).self, forKey: .batchSize) { batchSize = v }
        if let v = try c.decodeIfPresent(type(of: tau).self, forKey: .tau) { tau = v }
        if let v = try c.decodeIfPresent(type(of: replayCapacity).self, forKey: .replayCapacity) { replayCapacity = v }
        if let v = try c.decodeIfPresent(type(of: priorityAlpha).self, forKey: .priorityAlpha) { priorityAlpha = v }
        if let v = try c.decodeIfPresent(type(of: priorityBetaStart).self, forKey: .priorityBetaStart) { priorityBetaStart = v }
        if let v = try c.decodeIfPresent(type(of: episodes).self, forKey: .episodes) { episodes = v }
        if let v = try c.decodeIfPresent(type(of: warmupTransitions).self, forKey: .warmupTransitions) { warmupTransitions = v }
        if let v = try c.decodeIfPresent(type(of: epsilonStart).self, forKey: .epsilonStart) { epsilonStart = v }
        if let v = try c.decodeIfPresent(type(of: epsilonEnd).self, forKey: .epsilonEnd) { epsilonEnd = v }
        if let v = try c.decodeIfPresent(type(of: actionNoise).self, forKey: .actionNoise) { actionNoise = v }
        unratedReward = try c.decodeIfPresent(Float.self, forKey: .unratedReward)
        if let v = try c.decodeIfPresent(type(of: embeddingMethod).self, forKey: .embeddingMethod) { embeddingMethod = v }
        if let v = try c.decodeIfPresent(type(of: implicitAlpha).self, forKey: .implicitAlpha) { implicitAlpha = v }
        if let v = try c.decodeIfPresent(type(of: replayAction).self, forKey: .replayAction) { replayAction = v }
        maxGradientNorm = try c.decodeIfPresent(Float.self, forKey: .maxGradientNorm)
        if let v = try c.decodeIfPresent(type(of: embeddingIterations).self, forKey: .embeddingIterations) { embeddingIterations = v }
        if let v = try c.decodeIfPresent(type(of: embeddingRegularization).self, forKey: .embeddingRegularization) { embeddingRegularization = v }
        if let v = try c.decodeIfPresent(type(of: supervisedWeight).self, forKey: .supervisedWeight) { supervisedWeight = v }
        if let v = try c.decodeIfPresent(type(of: projectsTargetActions).self, forKey: .projectsTargetActions) { projectsTargetActions = v }
        if let v = try c.decodeIfPresent(type(of: actorTrainsStateModule).self, forKey: .actorTrainsStateModule) { actorTrainsStateModule = v }
        if let v = try c.decodeIfPresent(type(of: supervisedTarget).self, forKey: .supervisedTarget) { supervisedTarget = v }
        // A model saved before the field existed trained a fixed table.
        itemEmbeddingLearningRate = try c.decodeIfPresent(Float.self, forKey: .itemEmbeddingLearningRate) ?? 0
    }
}

extension DRRConfiguration {
    /// This configuration with fields set by name: each entry is `key=value`, `key` a
    /// field's JSON name (``CodingKeys``) and `value` JSON (`3e-4`, `true`, `"implicit"`;
    /// a bare word is taken as a string; `null` clears an optional). Validated.
    ///
    /// Throws ``DRRError/invalidConfiguration(_:)`` naming an unknown key, a malformed
    /// entry or a value of the wrong type.
    public func applying(overrides: [String]) throws(DRRError) -> DRRConfiguration {
        guard !overrides.isEmpty else { return self }
        var object: [String: Any]
        do {
            object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        } catch {
            throw .invalidConfiguration("cannot encode the configuration: \(error)")
        }
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        for entry in overrides {
            guard let eq = entry.firstIndex(of: "=") else { throw .invalidConfiguration("expected KEY=VALUE, got '\(entry)'") }
            let key = String(entry[..<eq]), text = String(entry[entry.index(after: eq)...])
            guard known.contains(key) else {
                throw .invalidConfiguration("unknown field '\(key)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            if text == "null" { object.removeValue(forKey: key); continue }
            object[key] = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) ?? text
        }
        let result: DRRConfiguration
        do {
            result = try JSONDecoder().decode(DRRConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        } catch let DecodingError.typeMismatch(_, context) {
            throw .invalidConfiguration("wrong type for '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw .invalidConfiguration("bad value for '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        try result.validate()
        return result
    }
}

/// Errors of the DRR layer.
public enum DRRError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A hyper-parameter is out of range.
    case invalidConfiguration(String)
    /// The training data cannot support DRR (e.g. no user with a positive rating).
    case insufficientData(String)
    /// A saved model is missing, unreadable or inconsistent.
    case invalidModel(String)
    /// Training produced a non-finite loss (NaN or infinity): the run stopped.
    case trainingDiverged(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(m): return "invalid DRR configuration: \(m)"
        case let .insufficientData(m): return "insufficient data for DRR: \(m)"
        case let .invalidModel(m): return "invalid DRR model: \(m)"
        case let .trainingDiverged(m): return "DRR training diverged: \(m)"
        }
    }
}

/// The reward mapping of DRR: a rating `r` on the scale `[lo, hi]` becomes
/// `(r − m) / h` with `m = (lo + hi) / 2` and `h = (hi − lo) / 2`. On 1–5 that is the
/// paper's `(r − 3) / 2` ∈ [−1, 1]; on MovieLens's half-star 0.5–5 it is
/// `(r − 2.75) / 2.25`. A positive reward (rating above the midpoint: 4 and 5 on 1–5)
/// pushes the item into the state window.
public struct RewardScale: Sendable, Codable, Equatable {
    /// The lowest rating.
    public var minimum: Float
    /// The highest rating.
    public var maximum: Float

    /// A scale from `minimum` to `maximum` (e.g. 1 and 5).
    public init(minimum: Float, maximum: Float) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// `(minimum + maximum) / 2`: ratings above it are positive.
    public var midpoint: Float { (minimum + maximum) / 2 }

    /// The reward for a rating.
    public func reward(forRating r: Float) -> Float {
        let mid = (minimum + maximum) / 2, half = (maximum - minimum) / 2
        return half > 0 ? (r - mid) / half : 0
    }
}
