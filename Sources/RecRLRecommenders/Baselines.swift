import RecRLTensor
import Foundation
import RecRLData

/// Scores items uniformly at random (a lower bound). Deterministic per (seed, user).
public struct RandomRecommender: Recommender, Sendable {
    /// `random`.
    public var name: String { "random" }
    /// The seed; each user's scores come from `SplitMix64(seed ⊕ mix(user))`.
    public var seed: UInt64
    private var itemCount = 0

    /// Creates a random recommender.
    /// - Parameter seed: seed of the per-user score streams (default 0).
    public init(seed: UInt64 = 0) { self.seed = seed }

    public mutating func fit(train: InteractionDataset) throws { itemCount = train.itemCount }

    public func scores(forUser user: Int, into scores: inout [Float]) {
        var rng = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: user) &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019))
        if scores.count != itemCount { scores = Array(repeating: 0, count: itemCount) }
        for i in 0..<itemCount { scores[i] = Float(rng.next() >> 40) }
    }
}

/// Most-popular baseline: the score of an item is its number of training interactions.
public struct PopularityRecommender: Recommender, Sendable {
    /// `popularity`.
    public var name: String { "popularity" }
    /// Training interaction count per item.
    public private(set) var counts: [Float] = []

    /// Creates the baseline.
    public init() {}

    public mutating func fit(train: InteractionDataset) throws { counts = train.itemCounts().map(Float.init) }

    public func scores(forUser user: Int, into scores: inout [Float]) { scores = counts }
}

/// Item-based k-nearest-neighbour recommender (Sarwar et al. 2001; Deshpande & Karypis 2004).
///
/// Similarity is the shrunk cosine over the training user–item matrix (binary by default):
/// `sim(i, j) = ⟨r_i, r_j⟩ / (‖r_i‖‖r_j‖ + shrinkage)` (Koren's shrinkage). Each item keeps its
/// `neighbours` most similar items. By default (Sarwar's target-item neighbourhood) a user's score
/// for item `j` is the sum of `sim(i, j)` over the user's training items `i` that are among `j`'s
/// neighbours; with `targetNeighbourhood = false` it sums over the user's items `i` that have `j`
/// among their neighbours (as in `implicit`'s ItemItemRecommender).
public struct ItemKNNRecommender: Recommender, Sendable {
    /// `itemknn`.
    public var name: String { "itemknn" }
    /// Neighbours kept per item (default 200).
    public var neighbours: Int
    /// Shrinkage added to the cosine denominator (default 10).
    public var shrinkage: Float
    /// Use rating values instead of binary interactions (default `false`).
    public var useRatings: Bool
    /// If `true`, the score of item `j` sums similarities of the user's items among `j`'s own
    /// `neighbours` (Sarwar's target-item neighbourhood) instead of `j` being among the neighbours
    /// of the user's items (default `false`).
    public var targetNeighbourhood: Bool

    private var userItems: SparseMatrix?
    private var neighbourStart: [Int] = []
    private var neighbourIndex: [Int32] = []
    private var neighbourSimilarity: [Float] = []
    private var itemCount = 0

    /// Creates an item-kNN recommender.
    /// - Parameters:
    ///   - neighbours: neighbours kept per item (default 200).
    ///   - shrinkage: cosine shrinkage term (default 10).
    ///   - useRatings: weight by ratings instead of binary interactions (default `false`).
    ///   - targetNeighbourhood: use the target item's neighbourhood (default `true`).
    public init(neighbours: Int = 200, shrinkage: Float = 10, useRatings: Bool = false, targetNeighbourhood: Bool = true) {
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.useRatings = useRatings
        self.targetNeighbourhood = targetNeighbourhood
    }

    public mutating func fit(train: InteractionDataset) throws {
        let ui = train.userItemMatrix(binary: !useRatings)
        let iu = train.itemUserMatrix(binary: !useRatings)
        let n = train.itemCount
        itemCount = n
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s: Float = 0
            for k in iu.rowStart[i]..<iu.rowStart[i + 1] { s += iu.values[k] * iu.values[k] }
            norms[i] = s.squareRoot()
        }
        let k = max(0, min(neighbours, n - 1))
        var start = [Int](repeating: 0, count: n + 1)
        var index = [Int32](), sims = [Float]()
        index.reserveCapacity(n * k)
        sims.reserveCapacity(n * k)
        var acc = [Float](repeating: 0, count: n)
        var touched = [Int32]()
        var candidate = [Float]()
        for i in 0..<n {
            touched.removeAll(keepingCapacity: true)
            for a in iu.rowStart[i]..<iu.rowStart[i + 1] {
                let u = Int(iu.columnIndices[a]), vu = iu.values[a]
                for b in ui.rowStart[u]..<ui.rowStart[u + 1] {
                    let j = Int(ui.columnIndices[b])
                    if j == i { continue }
                    if acc[j] == 0 { touched.append(Int32(j)) }
                    acc[j] += vu * ui.values[b]
                }
            }
            candidate.removeAll(keepingCapacity: true)
            for j in touched {
                let jj = Int(j)
                let denom = norms[i] * norms[jj] + shrinkage
                candidate.append(denom > 0 ? acc[jj] / denom : 0)
                acc[jj] = 0
            }
            for c in TopK.select(candidate, k: k) where candidate[c] > 0 {
                index.append(touched[c])
                sims.append(candidate[c])
            }
            start[i + 1] = index.count
        }
        userItems = ui
        if targetNeighbourhood {
            // Invert: item i lists every j that has i among its neighbours, by ascending j.
            var owner = [Int32](repeating: 0, count: index.count)
            for j in 0..<n { for b in start[j]..<start[j + 1] { owner[b] = Int32(j) } }
            let inverted = try SparseMatrix(
                rows: n, columns: n, rowIndices: owner, columnIndices: index, values: sims,
                duplicates: .keep
            ).transposed()
            neighbourStart = inverted.rowStart
            neighbourIndex = inverted.columnIndices
            neighbourSimilarity = inverted.values
        } else {
            neighbourStart = start
            neighbourIndex = index
            neighbourSimilarity = sims
        }
    }

    public func scores(forUser user: Int, into scores: inout [Float]) {
        if scores.count != itemCount { scores = Array(repeating: 0, count: itemCount) }
        for i in 0..<itemCount { scores[i] = 0 }
        guard let ui = userItems, user < ui.rows else { return }
        for a in ui.rowStart[user]..<ui.rowStart[user + 1] {
            let i = Int(ui.columnIndices[a])
            let w: Float = useRatings ? ui.values[a] : 1
            for b in neighbourStart[i]..<neighbourStart[i + 1] {
                scores[Int(neighbourIndex[b])] += w * neighbourSimilarity[b]
            }
        }
    }

    /// The stored scoring links of item `i`: the items whose score a user's interaction with `i`
    /// raises, with similarities. Without `targetNeighbourhood` these are `i`'s neighbours,
    /// most similar first; with it, the items that have `i` among their neighbours, by index.
    public func neighbours(ofItem i: Int) -> [(item: Int, similarity: Float)] {
        (neighbourStart[i]..<neighbourStart[i + 1]).map { (Int(neighbourIndex[$0]), neighbourSimilarity[$0]) }
    }
}

/// Bayesian Personalised Ranking matrix factorisation (Rendle et al., UAI 2009).
///
/// Every training interaction is a positive, regardless of rating. Each SGD step samples a
/// training pair (u, i) uniformly and a negative item j uniformly among items u has not
/// interacted with, and ascends `ln σ(x̂_ui − x̂_uj)` with L2 regularisation, where
/// `x̂_ui = b_i + p_u·q_i` (an item bias is added to the original model).
///
/// Defaults were chosen on a validation split carved from an ML-100K training split (seed 0),
/// not on its test split.
public struct BPRRecommender: Recommender, Sendable {
    /// `bpr`.
    public var name: String { "bpr" }
    /// Latent dimension (default 64).
    public var factors: Int
    /// Passes over the training interactions (default 60).
    public var epochs: Int
    /// SGD learning rate (default 0.05).
    public var learningRate: Float
    /// L2 regularisation for factors and biases (default 0.02).
    public var regularization: Float
    /// Standard deviation of the Gaussian initialisation (default 0.1).
    public var initStd: Float
    /// Seed for initialisation and sampling (default 0).
    public var seed: UInt64

    /// User factors, `userCount × factors`, row-major.
    public private(set) var userFactors: [Float] = []
    /// Item factors, `itemCount × factors`, row-major.
    public private(set) var itemFactors: [Float] = []
    /// Item biases.
    public private(set) var itemBias: [Float] = []
    private var itemCount = 0

    /// Creates a BPR-MF model; all parameters have the documented defaults.
    public init(
        factors: Int = 64, epochs: Int = 60, learningRate: Float = 0.05, regularization: Float = 0.02,
        initStd: Float = 0.1, seed: UInt64 = 0
    ) {
        self.factors = factors
        self.epochs = epochs
        self.learningRate = learningRate
        self.regularization = regularization
        self.initStd = initStd
        self.seed = seed
    }

    public mutating func fit(train: InteractionDataset) throws {
        var rng = SplitMix64(seed: seed)
        let nu = train.userCount, ni = train.itemCount, f = factors
        itemCount = ni
        func gaussian(_ rng: inout SplitMix64) -> Float {
            let u1 = max(Double(rng.next() >> 11) * 0x1.0p-53, 1e-300)
            let u2 = Double(rng.next() >> 11) * 0x1.0p-53
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
        var P = (0..<(nu * f)).map { _ in gaussian(&rng) * initStd }
        var Q = (0..<(ni * f)).map { _ in gaussian(&rng) * initStd }
        var B = [Float](repeating: 0, count: ni)
        let ui = train.userItemMatrix()
        let users = train.users, items = train.items
        let n = users.count
        guard n > 0, ni > 1 else {
            userFactors = P; itemFactors = Q; itemBias = B
            return
        }
        let lr = learningRate, reg = regularization
        var diff = [Float](repeating: 0, count: f)
        let rowStart = ui.rowStart, columns = ui.columnIndices
        P.withUnsafeMutableBufferPointer { P in
            Q.withUnsafeMutableBufferPointer { Q in
                B.withUnsafeMutableBufferPointer { B in
                    diff.withUnsafeMutableBufferPointer { diff in
                        rowStart.withUnsafeBufferPointer { rowStart in
                            columns.withUnsafeBufferPointer { columns in
                                for _ in 0..<epochs {
                                    for _ in 0..<n {
                                        let r = Int(rng.next() % UInt64(n))
                                        let u = Int(users[r]), i = Int(items[r])
                                        if rowStart[u + 1] - rowStart[u] >= ni { continue }
                                        var j = Int(rng.next() % UInt64(ni))
                                        var tries = 0
                                        while ui.contains(row: u, column: Int32(j)), tries < 100 {
                                            j = Int(rng.next() % UInt64(ni))
                                            tries += 1
                                        }
                                        if tries == 100 { continue }
                                        let pu = u * f, qi = i * f, qj = j * f
                                        var x = B[i] - B[j]
                                        for k in 0..<f {
                                            diff[k] = Q[qi + k] - Q[qj + k]
                                            x += P[pu + k] * diff[k]
                                        }
                                        let g = 1 / (1 + exp(x))  // σ(−x)
                                        for k in 0..<f {
                                            let p = P[pu + k]
                                            P[pu + k] += lr * (g * diff[k] - reg * p)
                                            Q[qi + k] += lr * (g * p - reg * Q[qi + k])
                                            Q[qj + k] += lr * (-g * p - reg * Q[qj + k])
                                        }
                                        B[i] += lr * (g - reg * B[i])
                                        B[j] += lr * (-g - reg * B[j])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        userFactors = P
        itemFactors = Q
        itemBias = B
    }

    public func scores(forUser user: Int, into scores: inout [Float]) {
        if scores.count != itemCount { scores = Array(repeating: 0, count: itemCount) }
        let f = factors, pu = user * f
        guard pu + f <= userFactors.count else {
            for i in 0..<itemCount { scores[i] = itemBias.isEmpty ? 0 : itemBias[i] }
            return
        }
        for i in 0..<itemCount {
            var s = itemBias[i]
            let qi = i * f
            for k in 0..<f { s += userFactors[pu + k] * itemFactors[qi + k] }
            scores[i] = s
        }
    }

    public var itemEmbeddings: [[Float]]? {
        guard !itemFactors.isEmpty else { return nil }
        return (0..<itemCount).map { Array(itemFactors[($0 * factors)..<(($0 + 1) * factors)]) }
    }
}
