import RecRLTensor
import RecRLData

/// Errors of the recommenders' own checks (bad hyper-parameters, models too large to build).
public enum RecommenderError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A hyper-parameter is out of its range; the message names it.
    case invalidParameter(String)
    /// EASE's dense `items × items` matrix needs `bytes`, above the configured `limit`.
    case itemItemMatrixTooLarge(items: Int, bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case let .invalidParameter(message):
            return message
        case let .itemItemMatrixTooLarge(items, bytes, limit):
            return "EASE needs a dense \(items) × \(items) item-item matrix (\(Self.format(bytes))), above the limit of "
                + "\(Self.format(limit)); filter the catalogue (e.g. k-core) or raise EASERecommender.maxItemItemBytes"
        }
    }

    private static func format(_ bytes: Int) -> String {
        let gib = Double(bytes) / Double(1 << 30)
        if gib >= 1 { return "\((gib * 100).rounded() / 100) GiB" }
        return "\((Double(bytes) / Double(1 << 20) * 10).rounded() / 10) MiB"
    }
}

/// EASE, the embarrassingly shallow autoencoder (Steck, WWW 2019): a closed-form item-item model.
///
/// With `X` the binary training user–item matrix and `G = XᵀX + λI`, the weights are
/// `B = I − P · diag(1 / diag(P))` with `P = G⁻¹`, i.e. `B_ij = −P_ij / P_jj` and a zero
/// diagonal (an item never explains itself). A user's scores are `x_u B`, the sum of the
/// rows of `B` for the user's training items.
///
/// `G` is accumulated from the sparse rows of `X` (`Σ_u x_uᵀ x_u`, work `Σ_u n_u²`) rather than by
/// one SSYRK over a dense `X`: on recommender data, where each user touches a small share of
/// the catalogue, that is less work than the dense product's `users · items²` and never needs
/// the dense `users × items` matrix, which for large user bases outgrows the item-item one. The
/// inverse is LAPACK's Cholesky (`spotrf`, `spotri`) in place, so fitting holds one
/// `items × items` single-precision matrix (plus the sparse data): ``maxItemItemBytes`` bounds
/// it and ``fit(train:)`` throws ``RecommenderError/itemItemMatrixTooLarge(items:bytes:limit:)``
/// above it, before allocating anything.
public struct EASERecommender: Recommender, Sendable {
    /// `ease`.
    public var name: String { "ease" }
    /// L2 regularisation λ added to the Gram matrix's diagonal (default 200, the value validation
    /// NDCG@10 chose on ML-100K's temporal split; `recrl evaluate --tune` searches it per data set).
    public var regularization: Float
    /// Largest item-item matrix fitting may allocate, in bytes (default 4 GiB: about 32,000 items).
    public var maxItemItemBytes: Int

    /// `B`, `itemCount × itemCount`, row-major (empty before fitting).
    public private(set) var weights: Tensor = Tensor(zeros: [0, 0])
    private var userItems: SparseMatrix?
    private var itemCount = 0

    /// Creates an EASE model.
    /// - Parameters:
    ///   - regularization: λ (default 200).
    ///   - maxItemItemBytes: memory limit of the item-item matrix (default 4 GiB).
    public init(regularization: Float = 200, maxItemItemBytes: Int = 4 << 30) {
        self.regularization = regularization
        self.maxItemItemBytes = maxItemItemBytes
    }

    /// Bytes of the dense item-item matrix for `items` items (`Int.max` on overflow).
    public static func itemItemBytes(items: Int) -> Int {
        let (square, o1) = items.multipliedReportingOverflow(by: items)
        let (bytes, o2) = square.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        return o1 || o2 ? Int.max : bytes
    }

    /// Fits `B` on `train`'s binary interactions.
    /// - Throws: ``RecommenderError/invalidParameter(_:)`` for λ ≤ 0 or not finite;
    ///   ``RecommenderError/itemItemMatrixTooLarge(items:bytes:limit:)`` when the item-item matrix
    ///   exceeds ``maxItemItemBytes``; `TensorError` if the factorisation fails.
    public mutating func fit(train: InteractionDataset) throws {
        guard regularization > 0, regularization.isFinite else {
            throw RecommenderError.invalidParameter("EASE regularization must be a positive number, got \(regularization)")
        }
        let n = train.itemCount
        let bytes = Self.itemItemBytes(items: n)
        guard bytes <= maxItemItemBytes else {
            throw RecommenderError.itemItemMatrixTooLarge(items: n, bytes: bytes, limit: maxItemItemBytes)
        }
        let ui = train.userItemMatrix(binary: true)
        var g = Tensor(zeros: [n, n])
        g.withUnsafeMutableBufferPointer { g in
            // Lower triangle only (the Cholesky routines read that): row i gets columns j ≤ i.
            for u in 0..<ui.rows {
                let start = ui.rowStart[u], end = ui.rowStart[u + 1]
                for a in start..<end {
                    let row = Int(ui.columnIndices[a]) * n
                    for b in start...a { g[row + Int(ui.columnIndices[b])] += 1 }
                }
            }
            for i in 0..<n { g[i * n + i] += regularization }
        }
        try LinearAlgebra.invertSymmetricPositiveDefinite(&g)
        g.withUnsafeMutableBufferPointer { p in
            // B_ij = −P_ij / P_jj, B_ii = 0: scale column j by −1/P_jj.
            var inverseDiagonal = [Float](repeating: 0, count: n)
            for j in 0..<n { inverseDiagonal[j] = -1 / p[j * n + j] }
            for i in 0..<n {
                let row = i * n
                for j in 0..<n { p[row + j] *= inverseDiagonal[j] }
                p[row + i] = 0
            }
        }
        weights = g
        userItems = ui
        itemCount = n
    }

    /// The sum of `B`'s rows over the user's training items (zeros for an unknown user).
    public func scores(forUser user: Int, into scores: inout [Float]) {
        if scores.count != itemCount { scores = Array(repeating: 0, count: itemCount) }
        for i in 0..<itemCount { scores[i] = 0 }
        guard let ui = userItems, user >= 0, user < ui.rows else { return }
        let n = itemCount
        weights.withUnsafeBufferPointer { b in
            scores.withUnsafeMutableBufferPointer { s in
                for a in ui.rowStart[user]..<ui.rowStart[user + 1] {
                    let row = Int(ui.columnIndices[a]) * n
                    for j in 0..<n { s[j] += b[row + j] }
                }
            }
        }
    }

    /// Scores of a batch of users in one GEMM, `X_batch · B` (`[users.count, itemCount]`):
    /// the same numbers as ``scores(forUser:into:)`` row by row (up to summation order).
    ///
    /// `batch` is reused as the dense `X_batch` and `out` as the product; neither is reallocated
    /// when it already has the right shape. Unknown users get a zero row.
    public func scores(forUsers users: [Int], batch: inout Tensor, into out: inout Tensor) {
        let n = itemCount
        batch.prepare(rows: users.count, columns: n)
        batch.withUnsafeMutableBufferPointer { x in
            for k in x.indices { x[k] = 0 }
            guard let ui = userItems else { return }
            for (r, u) in users.enumerated() where u >= 0 && u < ui.rows {
                for a in ui.rowStart[u]..<ui.rowStart[u + 1] { x[r * n + Int(ui.columnIndices[a])] = 1 }
            }
        }
        matmul(batch, weights, into: &out)
    }
}
