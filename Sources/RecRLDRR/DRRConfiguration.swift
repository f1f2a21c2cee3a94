import RecRLTensor
import RecRLAgents

/// Hyper-parameters of a DRR recommender (Liu et al. 2018, arXiv 1810.12027).
///
/// Defaults follow the paper where it gives a value (cited on each property); where
/// it does not, the value is ours and says so.
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
    /// Training episodes. Ours: 3,000 (about 30,000 transitions).
    public var episodes = 3000
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
    /// rating (the paper's simulator); a number is a fixed penalty instead.
    public var unratedReward: Float? = nil
    /// How the embeddings are pretrained on the training split: explicit-rating ALS
    /// (the paper's PMF objective) or implicit-feedback ALS (Hu, Koren & Volinsky 2008),
    /// whose dot products rank unseen items much better. Default `.explicit` (the paper).
    public var embeddingMethod: EmbeddingMethod = .explicit
    /// Confidence slope α for implicit embeddings (`c = 1 + α·r`). Ours: 5.
    public var implicitAlpha: Float = 5
    /// What the replay stores as the action of a transition (the critic's `a`).
    /// `.itemEmbedding` (default): the recommended item's embedding scaled into [−1, 1],
    /// so `Q(s, a)` scores the item that was actually shown, also for ε-greedy picks.
    /// `.actorOutput`: the actor's (noisy) output, the paper's literal reading, under
    /// which random ε-greedy picks store an action that did not choose the item; in our
    /// runs it did not learn a useful ranking (see README).
    public var replayAction: ReplayAction = .itemEmbedding
    /// Global-norm gradient clipping of actor and critic (Pascanu et al. 2013); nil turns
    /// it off. Not in the paper; ours 1.0: without it the critic diverged in our runs when
    /// the actor's actions left the region the replayed actions cover.
    public var maxGradientNorm: Float? = 1.0
    /// ALS sweeps for the PMF embeddings. Ours: 10.
    public var embeddingIterations = 10
    /// L2 regularisation λ of the PMF embeddings (weighted-λ ALS). Ours: 0.1.
    public var embeddingRegularization: Float = 0.1

    public init() {}

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
        DDPGConfiguration(gamma: gamma, tau: tau, actorLearningRate: actorLearningRate,
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
        try check(embeddingMethod == .explicit || unratedReward != nil, "implicit embeddings predict no ratings: set unratedReward")
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

    public var description: String {
        switch self {
        case let .invalidConfiguration(m): return "invalid DRR configuration: \(m)"
        case let .insufficientData(m): return "insufficient data for DRR: \(m)"
        case let .invalidModel(m): return "invalid DRR model: \(m)"
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

    /// The reward for a rating.
    public func reward(forRating r: Float) -> Float {
        let mid = (minimum + maximum) / 2, half = (maximum - minimum) / 2
        return half > 0 ? (r - mid) / half : 0
    }
}
