import RecRLTensor

/// A latent-factor model `r̂(u, i) = μ + p_u · q_i` with user factors `P` (`[users, k]`)
/// and item factors `Q` (`[items, k]`), trained by alternating least squares.
///
/// Two objectives:
/// - ``fitExplicit(_:configuration:using:progress:)``: regularised squared error on
///   observed ratings, as in PMF (Salakhutdinov & Mnih 2008) solved by ALS
///   (Zhou et al. 2008): `Σ_(u,i) (r_ui − μ − p_u·q_i)² + λ (Σ n_u |p_u|² + Σ n_i |q_i|²)`
///   (weighted-λ regularisation, `n_u` = number of ratings of `u`).
/// - ``fitImplicit(_:configuration:using:progress:)``: implicit feedback (Hu, Koren &
///   Volinsky 2008): every (u, i) has preference `p_ui = 1` if observed else 0 and
///   confidence `c_ui = 1 + α·r_ui`; minimise `Σ_all c_ui (p_ui − p_u·q_i)² + λ(|P|² + |Q|²)`;
///   `μ` is 0.
///
/// Each half-step solves one `k × k` SPD system per user (or item) through LAPACK `sposv`.
/// The factors are what DRR uses as pretrained embeddings; train them on the training
/// split only.
public struct MatrixFactorization: Sendable {
    /// User factors `P`, `[users, k]`.
    public var userFactors: Tensor
    /// Item factors `Q`, `[items, k]`.
    public var itemFactors: Tensor
    /// The global offset `μ` (the mean training rating for explicit models, 0 for implicit).
    public var globalMean: Float

    /// Training settings. Defaults are documented per field.
    public struct Configuration: Sendable, Codable, Equatable {
        /// Latent dimension `k` (default 100, the DRR paper's embedding size).
        public var factors: Int
        /// Regularisation `λ` (default 0.05 explicit; use ~0.01–1 for implicit).
        public var regularization: Float
        /// ALS sweeps over users and items (default 10).
        public var iterations: Int
        /// Implicit confidence slope `α` in `c = 1 + α·r` (default 10; Hu et al. used 40 on counts).
        public var alpha: Float
        /// Standard deviation of the initial factors (default 0.1).
        public var initialScale: Float

        /// Settings; every default is documented on its property.
        public init(factors: Int = 100, regularization: Float = 0.05, iterations: Int = 10, alpha: Float = 10, initialScale: Float = 0.1) {
            self.factors = factors
            self.regularization = regularization
            self.iterations = iterations
            self.alpha = alpha
            self.initialScale = initialScale
        }
    }

    /// A model with the given factors.
    public init(userFactors: Tensor, itemFactors: Tensor, globalMean: Float) throws(TensorError) {
        guard userFactors.rank == 2, itemFactors.rank == 2, userFactors.shape[1] == itemFactors.shape[1] else {
            throw .shapeMismatch(operation: "MatrixFactorization", lhs: userFactors.shape, rhs: itemFactors.shape)
        }
        self.userFactors = userFactors
        self.itemFactors = itemFactors
        self.globalMean = globalMean
    }

    /// The latent dimension `k`.
    public var factorCount: Int { itemFactors.shape[1] }

    /// The predicted value `μ + p_u · q_i`.
    public func predict(user: Int, item: Int) -> Float {
        let k = factorCount
        var s: Float = 0
        userFactors.withUnsafeBufferPointer { p in
            itemFactors.withUnsafeBufferPointer { q in
                for j in 0..<k { s += p[user * k + j] * q[item * k + j] }
            }
        }
        return globalMean + s
    }

    /// Scores of every item for `user` into `scores` (`[items]`), by one GEMV.
    public func scores(user: Int, into scores: inout Tensor) {
        precondition(user >= 0 && user < userFactors.shape[0], "user \(user) out of range 0..<\(userFactors.shape[0])")
        let k = factorCount
        var p = Tensor(zeros: [k])
        p.withUnsafeMutableBufferPointer { dst in
            userFactors.withUnsafeBufferPointer { src in
                for j in 0..<k { dst[j] = src[user * k + j] }
            }
        }
        matvec(itemFactors, p, into: &scores)
        if globalMean != 0 { scores += globalMean }
    }

    /// Fits an explicit-rating model (PMF objective by ALS). See the type's documentation.
    /// - Parameters:
    ///   - ratings: the training ratings.
    ///   - configuration: hyper-parameters.
    ///   - rng: initialisation randomness.
    ///   - progress: called after each sweep with (iteration, training RMSE).
    public static func fitExplicit<G: RandomNumberGenerator>(
        _ ratings: SparseRatings, configuration: Configuration = .init(),
        using rng: inout G, progress: ((Int, Float) -> Void)? = nil
    ) throws(TensorError) -> MatrixFactorization {
        let k = configuration.factors
        guard k > 0, configuration.iterations >= 0, configuration.regularization > 0 else {
            throw .invalidShape([k, configuration.iterations])
        }
        let mu = ratings.mean
        var model = try MatrixFactorization(
            userFactors: Tensor(randomNormal: [ratings.userCount, k], standardDeviation: configuration.initialScale, using: &rng),
            itemFactors: Tensor(randomNormal: [ratings.itemCount, k], standardDeviation: configuration.initialScale, using: &rng),
            globalMean: mu)
        for iteration in 0..<configuration.iterations {
            try solveSide(
                ratings.byUser, fixed: model.itemFactors, solved: &model.userFactors, mu: mu,
                lambda: configuration.regularization, implicit: nil)
            try solveSide(
                ratings.byItem, fixed: model.userFactors, solved: &model.itemFactors, mu: mu,
                lambda: configuration.regularization, implicit: nil)
            progress?(iteration + 1, model.rmse(ratings))
        }
        return model
    }

    /// Fits an implicit-feedback model (Hu, Koren & Volinsky 2008). See the type's documentation.
    public static func fitImplicit<G: RandomNumberGenerator>(
        _ ratings: SparseRatings, configuration: Configuration = .init(regularization: 0.1),
        using rng: inout G, progress: ((Int, Float) -> Void)? = nil
    ) throws(TensorError) -> MatrixFactorization {
        let k = configuration.factors
        guard k > 0, configuration.iterations >= 0, configuration.regularization > 0, configuration.alpha >= 0 else {
            throw .invalidShape([k, configuration.iterations])
        }
        var model = try MatrixFactorization(
            userFactors: Tensor(randomNormal: [ratings.userCount, k], standardDeviation: configuration.initialScale, using: &rng),
            itemFactors: Tensor(randomNormal: [ratings.itemCount, k], standardDeviation: configuration.initialScale, using: &rng),
            globalMean: 0)
        for iteration in 0..<configuration.iterations {
            try solveSide(
                ratings.byUser, fixed: model.itemFactors, solved: &model.userFactors, mu: 0,
                lambda: configuration.regularization, implicit: configuration.alpha)
            try solveSide(
                ratings.byItem, fixed: model.userFactors, solved: &model.itemFactors, mu: 0,
                lambda: configuration.regularization, implicit: configuration.alpha)
            progress?(iteration + 1, model.rmse(ratings))
        }
        return model
    }

    /// Root mean squared error of `predict` on the observed entries.
    public func rmse(_ ratings: SparseRatings) -> Float {
        guard ratings.count > 0 else { return 0 }
        var s = 0.0
        let m = ratings.byUser
        for u in 0..<m.rows {
            for e in m.rowStart[u]..<m.rowStart[u + 1] {
                let d = Double(predict(user: u, item: Int(m.columnIndices[e])) - m.values[e])
                s += d * d
            }
        }
        return Float((s / Double(ratings.count)).squareRoot())
    }

    /// Solves every row of `solved` with the other side `fixed` held constant; `matrix` has
    /// one row per row of `solved`, its columns index rows of `fixed`.
    ///
    /// Explicit: `(Yᵤᵀ Yᵤ + λ nᵤ I) x = Yᵤᵀ (r − μ)` over the row's observed entries.
    /// Implicit: `(YᵀY + Yᵤᵀ (Cᵤ − I) Yᵤ + λ I) x = Yᵤᵀ Cᵤ 1`.
    /// A row without entries gets the zero vector (the solution of both systems).
    /// The row's `Yᵤᵀ Yᵤ` is one GEMM over its gathered factors, and the implicit Gram
    /// `YᵀY` one GEMM per half-step, so the per-row cost is the gather plus a `k × k` solve.
    private static func solveSide(
        _ matrix: SparseMatrix, fixed: Tensor, solved: inout Tensor, mu: Float, lambda: Float,
        implicit alpha: Float?
    ) throws(TensorError) {
        let rows = matrix.rows, offsets = matrix.rowStart, columns = matrix.columnIndices, values = matrix.values
        let k = fixed.shape[1]
        var gram = Tensor(zeros: [k, k])
        if alpha != nil { matmul(fixed, fixed, transposeA: true, into: &gram) }
        var gathered = Tensor(zeros: [0, k])
        var system = Tensor(zeros: [k, k])
        var rhs = Tensor(zeros: [k])
        for r in 0..<rows {
            let begin = offsets[r], end = offsets[r + 1], n = end - begin
            if n == 0 {
                solved.withUnsafeMutableBufferPointer { s in for j in 0..<k { s[r * k + j] = 0 } }
                continue
            }
            // Gather the fixed factors of this row's entries, scaled for the implicit case.
            gathered.prepare(rows: n, columns: k)
            rhs.fill(0)
            fixed.withUnsafeBufferPointer { y in
                gathered.withUnsafeMutableBufferPointer { g in
                    rhs.withUnsafeMutableBufferPointer { b in
                        for e in 0..<n {
                            let c = Int(columns[begin + e]), v = values[begin + e]
                            let src = y.baseAddress! + c * k, dst = g.baseAddress! + e * k
                            if let alpha {
                                let conf = 1 + alpha * v
                                let s = (conf - 1).squareRoot()
                                for j in 0..<k { dst[j] = s * src[j]; b[j] += conf * src[j] }
                            } else {
                                let t = v - mu
                                for j in 0..<k { dst[j] = src[j]; b[j] += t * src[j] }
                            }
                        }
                    }
                }
            }
            if alpha != nil {
                system.assign(gram)
                matmul(gathered, gathered, transposeA: true, into: &system, beta: 1)
            } else {
                matmul(gathered, gathered, transposeA: true, into: &system)
            }
            let reg = alpha != nil ? lambda : lambda * Float(n)
            system.withUnsafeMutableBufferPointer { a in for j in 0..<k { a[j * k + j] += reg } }
            try LinearAlgebra.solveSymmetricPositiveDefinite(factor: &system, solution: &rhs)
            rhs.withUnsafeBufferPointer { x in
                solved.withUnsafeMutableBufferPointer { s in for j in 0..<k { s[r * k + j] = x[j] } }
            }
        }
    }
}
