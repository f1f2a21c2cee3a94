import RecRLTensor
import Foundation
import RecRLData

/// Solves `A x = b` in place for a symmetric positive-definite `n × n` matrix by
/// Cholesky through LAPACK `sposv` (``LinearAlgebra/solveSymmetricPositiveDefinite(factor:solution:)``).
///
/// Only the lower triangle of the row-major `a` is read.
/// - Returns: `false` if `a` is not positive definite (then `b` is unspecified).
func choleskySolve(_ a: [Float], _ b: inout [Float], n: Int, factor: inout Tensor, solution: inout Tensor) -> Bool {
    factor.prepare(rows: n, columns: n)
    solution.prepare(count: n)
    factor.withUnsafeMutableBufferPointer { f in for i in 0..<(n * n) { f[i] = a[i] } }
    solution.withUnsafeMutableBufferPointer { x in for i in 0..<n { x[i] = b[i] } }
    do {
        try LinearAlgebra.solveSymmetricPositiveDefinite(factor: &factor, solution: &solution)
    } catch {
        return false
    }
    solution.withUnsafeBufferPointer { x in for i in 0..<n { b[i] = x[i] } }
    return true
}

/// Shared alternating-least-squares sweep: solves each row of `target` given the fixed `other` factors.
///
/// For row `r` with entries `(c, v)` in `matrix`, solves
/// `(base + Σ w(v)·y_c y_cᵀ + reg(r)·I) x = Σ t(v)·y_c`.
private func alsSweep(target: inout [Float], other: [Float], matrix: SparseMatrix, factors f: Int,
                      base: [Float]?, weight: (Float) -> Float, rhs: (Float) -> Float, reg: (Int) -> Float) {
    var a = [Float](repeating: 0, count: f * f)
    var b = [Float](repeating: 0, count: f)
    var factor = Tensor(zeros: [f, f]), solution = Tensor(zeros: [f])
    for r in 0..<matrix.rows {
        let start = matrix.rowStart[r], end = matrix.rowStart[r + 1]
        if let base { for k in 0..<(f * f) { a[k] = base[k] } } else { for k in 0..<(f * f) { a[k] = 0 } }
        for k in 0..<f { b[k] = 0 }
        a.withUnsafeMutableBufferPointer { A in
            other.withUnsafeBufferPointer { Y in
                for e in start..<end {
                    let c = Int(matrix.columnIndices[e]) * f, v = matrix.values[e]
                    let w = weight(v), t = rhs(v)
                    for i in 0..<f {
                        let yi = Y[c + i]
                        let wyi = w * yi
                        b[i] += t * yi
                        for j in 0...i { A[i * f + j] += wyi * Y[c + j] }
                    }
                }
            }
        }
        let lambda = reg(end - start)
        for i in 0..<f { a[i * f + i] += lambda }
        if !choleskySolve(a, &b, n: f, factor: &factor, solution: &solution) { for k in 0..<f { b[k] = 0 } }
        for k in 0..<f { target[r * f + k] = b[k] }
    }
}

/// `YᵀY` of a row-major `rows × f` factor matrix (lower triangle filled).
private func gram(_ y: [Float], rows: Int, factors f: Int) -> [Float] {
    var g = [Float](repeating: 0, count: f * f)
    for r in 0..<rows {
        let o = r * f
        for i in 0..<f { for j in 0...i { g[i * f + j] += y[o + i] * y[o + j] } }
    }
    return g
}

private func gaussianMatrix(count: Int, std: Float, rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in
        let u1 = max(Double(rng.next() >> 11) * 0x1.0p-53, 1e-300)
        let u2 = Double(rng.next() >> 11) * 0x1.0p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)) * std
    }
}

/// Explicit-feedback matrix factorisation by alternating least squares with weighted-λ
/// regularisation (Zhou et al. 2008): minimises `Σ (r_ui − μ − p_u·q_i)² + λ (n_u‖p_u‖² + n_i‖q_i‖²)`.
///
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

    public mutating func fit(train: InteractionDataset) throws {
        let f = factors
        var rng = SplitMix64(seed: seed)
        itemCount = train.itemCount
        scale = train.ratingScale
        globalMean = train.ratings.isEmpty ? 0 : Float(train.ratings.reduce(0.0) { $0 + Double($1) } / Double(train.ratings.count))
        var p = gaussianMatrix(count: train.userCount * f, std: 0.1, rng: &rng)
        var q = gaussianMatrix(count: train.itemCount * f, std: 0.1, rng: &rng)
        let ui = train.userItemMatrix(binary: false), iu = train.itemUserMatrix(binary: false)
        let mu = globalMean, lambda = regularization
        for _ in 0..<iterations {
            alsSweep(target: &p, other: q, matrix: ui, factors: f, base: nil, weight: { _ in 1 }, rhs: { $0 - mu },
                     reg: { lambda * Float(max($0, 1)) })
            alsSweep(target: &q, other: p, matrix: iu, factors: f, base: nil, weight: { _ in 1 }, rhs: { $0 - mu },
                     reg: { lambda * Float(max($0, 1)) })
        }
        userFactors = p
        itemFactors = q
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
    public init(factors: Int = 32, iterations: Int = 10, regularization: Float = 50, alpha: Float = 5,
                useRatings: Bool = false, seed: UInt64 = 0) {
        self.factors = factors
        self.iterations = iterations
        self.regularization = regularization
        self.alpha = alpha
        self.useRatings = useRatings
        self.seed = seed
    }

    public mutating func fit(train: InteractionDataset) throws {
        let f = factors
        var rng = SplitMix64(seed: seed)
        itemCount = train.itemCount
        var p = gaussianMatrix(count: train.userCount * f, std: 0.01, rng: &rng)
        var q = gaussianMatrix(count: train.itemCount * f, std: 0.01, rng: &rng)
        let ui = train.userItemMatrix(binary: !useRatings), iu = train.itemUserMatrix(binary: !useRatings)
        let a = alpha, lambda = regularization
        for _ in 0..<iterations {
            alsSweep(target: &p, other: q, matrix: ui, factors: f, base: gram(q, rows: train.itemCount, factors: f),
                     weight: { a * $0 }, rhs: { 1 + a * $0 }, reg: { _ in lambda })
            alsSweep(target: &q, other: p, matrix: iu, factors: f, base: gram(p, rows: train.userCount, factors: f),
                     weight: { a * $0 }, rhs: { 1 + a * $0 }, reg: { _ in lambda })
        }
        userFactors = p
        itemFactors = q
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
