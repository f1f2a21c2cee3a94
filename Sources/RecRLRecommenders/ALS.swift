import RecRLTensor
import RecRLData
import RecRLEmbeddings

/// Explicit-feedback matrix factorisation by alternating least squares with weighted-λ
/// regularisation (Zhou et al. 2008): minimises `Σ (r_ui − μ − p_u·q_i)² + λ (n_u‖p_u‖² + n_i‖q_i‖²)`.
///
/// A ``Recommender`` over ``MatrixFactorization/fitExplicit(_:configuration:using:progress:)``
/// (the library's one ALS solver), fitted on the training user–item rating matrix.
/// Defaults were chosen on a validation split carved from an ML-100K training split (seed 0).
/// Predicts ratings (clamped to the rating scale), so the evaluator reports RMSE/MAE; ranking uses
/// `p_u·q_i`, which favours obscure items with few ratings and is a weak top-K baseline.
public struct ALSRecommender: Recommender, Sendable {
    /// `als`.
    public var name: String { "als" }
    /// Latent dimension (default 32).
    public var factors: Int
    /// Alternating sweeps (default 10).
    public var iterations: Int
    /// Weighted-λ regularisation (default 0.15, multiplied by each row's rating count).
    public var regularization: Float
    /// Seed of the initialisation (default 0).
    public var seed: UInt64

    /// User factors, `userCount × factors`, row-major.
    public private(set) var userFactors: [Float] = []
    /// Item factors, `itemCount × factors`, row-major.
    public private(set) var itemFactors: [Float] = []
    /// Mean training rating μ.
    public private(set) var globalMean: Float = 0
    private var scale: ClosedRange<Float> = 1...5
    private var itemCount = 0

    /// Creates an explicit ALS model; all parameters have the documented defaults.
    public init(factors: Int = 32, iterations: Int = 10, regularization: Float = 0.15, seed: UInt64 = 0) {
        self.factors = factors
        self.iterations = iterations
        self.regularization = regularization
        self.seed = seed
    }

    /// Fits on `train`'s ratings (repeated pairs summed, as in ``InteractionDataset/userItemMatrix(binary:)``).
    /// - Throws: `TensorError` for invalid hyper-parameters (non-positive factors or regularisation).
    public mutating func fit(train: InteractionDataset) throws {
        var rng = SplitMix64(seed: seed)
        let ratings = try SparseRatings(byUser: train.userItemMatrix(binary: false))
        let configuration = MatrixFactorization.Configuration(
            factors: factors, regularization: regularization,
            iterations: iterations, initialScale: 0.1)
        let model = try MatrixFactorization.fitExplicit(ratings, configuration: configuration, using: &rng)
        itemCount = train.itemCount
        scale = train.ratingScale
        globalMean = model.globalMean
        userFactors = model.userFactors.scalars
        itemFactors = model.itemFactors.scalars
    }

    public func scores(forUser user: Int, into scores: inout [Float]) {
        if scores.count != itemCount { scores = Array(repeating: 0, count: itemCount) }
        dotScores(user: user, userFactors: userFactors, itemFactors: itemFactors, factors: factors, into: &scores)
    }

    public func predictRating(user: Int, item: Int) -> Float? {
        let f = factors
        guard (user + 1) * f <= userFactors.count, (item + 1) * f <= itemFactors.count else { return globalMean }
        var s = globalMean
        for k in 0..<f { s += userFactors[user * f + k] * itemFactors[item * f + k] }
        return min(max(s, scale.lowerBound), scale.upperBound)
    }
}

/// Implicit-feedback ALS (Hu, Koren & Volinsky, ICDM 2008).
///
/// Every training interaction is a positive preference with confidence `1 + α` (binary) or
/// `1 + α·rating` (`useRatings`); all other pairs are negatives with confidence 1. Each sweep
/// solves `(YᵀY + Yᵀ(C_u − I)Y + λI) x_u = YᵀC_u p_u` for all users, then all items.
///
/// A ``Recommender`` over ``MatrixFactorization/fitImplicit(_:configuration:using:progress:)``
/// (the library's one ALS solver).
/// Defaults were chosen on a validation split carved from an ML-100K training split (seed 0).
public struct IALSRecommender: Recommender, Sendable {
    /// `ials`.
    public var name: String { "ials" }
    /// Latent dimension (default 32).
    public var factors: Int
    /// Alternating sweeps (default 10).
    public var iterations: Int
    /// L2 regularisation λ (default 50).
    public var regularization: Float
    /// Confidence scale α (default 5).
    public var alpha: Float
    /// Confidence from ratings (`1 + α·r`) instead of binary (`1 + α`) (default `false`).
    public var useRatings: Bool
    /// Seed of the initialisation (default 0).
    public var seed: UInt64

    /// User factors, `userCount × factors`, row-major.
    public private(set) var userFactors: [Float] = []
    /// Item factors, `itemCount × factors`, row-major.
    public private(set) var itemFactors: [Float] = []
    private var itemCount = 0

    /// Creates an implicit ALS model; all parameters have the documented defaults.
    public init(
        factors: Int = 32, iterations: Int = 10, regularization: Float = 50, alpha: Float = 5,
        useRatings: Bool = false, seed: UInt64 = 0
    ) {
        self.factors = factors
        self.iterations = iterations
        self.regularization = regularization
        self.alpha = alpha
        self.useRatings = useRatings
        self.seed = seed
    }

    /// Fits on `train`'s interactions (repeated pairs summed, as in ``InteractionDataset/userItemMatrix(binary:)``).
    /// - Throws: `TensorError` for invalid hyper-parameters (non-positive factors or
    ///   regularisation, negative `alpha`).
    public mutating func fit(train: InteractionDataset) throws {
        var rng = SplitMix64(seed: seed)
        let ratings = try SparseRatings(byUser: train.userItemMatrix(binary: !useRatings))
        let configuration = MatrixFactorization.Configuration(
            factors: factors, regularization: regularization,
            iterations: iterations, alpha: alpha, initialScale: 0.01)
        let model = try MatrixFactorization.fitImplicit(ratings, configuration: configuration, using: &rng)
        itemCount = train.itemCount
        userFactors = model.userFactors.scalars
        itemFactors = model.itemFactors.scalars
    }

    public func scores(forUser user: Int, into scores: inout [Float]) {
        if scores.count != itemCount { scores = Array(repeating: 0, count: itemCount) }
        dotScores(user: user, userFactors: userFactors, itemFactors: itemFactors, factors: factors, into: &scores)
    }

    public var itemEmbeddings: [[Float]]? {
        guard !itemFactors.isEmpty else { return nil }
        return (0..<itemCount).map { Array(itemFactors[($0 * factors)..<(($0 + 1) * factors)]) }
    }
}

/// `scores[i] = p_user · q_i` (zeros for an unknown user).
private func dotScores(user: Int, userFactors: [Float], itemFactors: [Float], factors f: Int, into scores: inout [Float]) {
    let n = scores.count
    guard (user + 1) * f <= userFactors.count, n * f <= itemFactors.count else {
        for i in 0..<n { scores[i] = 0 }
        return
    }
    let pu = user * f
    for i in 0..<n {
        var s: Float = 0
        let qi = i * f
        for k in 0..<f { s += userFactors[pu + k] * itemFactors[qi + k] }
        scores[i] = s
    }
}
