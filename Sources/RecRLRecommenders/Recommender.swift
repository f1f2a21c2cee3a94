import RecRLData
import RecRLTensor

/// A model that scores every item for a user, trained on a training split only.
///
/// Indices are the dense indices of the training set's id maps (shared with the test set).
public protocol Recommender {
    /// Short policy name as used in reports (e.g. `popularity`).
    var name: String { get }

    /// Trains the model on `train` (and nothing else).
    mutating func fit(train: InteractionDataset) throws

    /// Writes a score for every item into `scores` (resized to the item count); higher is better.
    /// - Parameters:
    ///   - user: dense user index.
    ///   - scores: output buffer, reused across calls to avoid allocation.
    func scores(forUser user: Int, into scores: inout [Float])

    /// Predicted rating on the data set's scale, or `nil` if the model does not predict ratings.
    func predictRating(user: Int, item: Int) -> Float?

    /// Optional item embeddings (one vector per item) used for intra-list diversity instead of genres.
    var itemEmbeddings: [[Float]]? { get }
}

extension Recommender {
    /// Default: no rating prediction.
    public func predictRating(user: Int, item: Int) -> Float? { nil }
    /// Default: no embeddings.
    public var itemEmbeddings: [[Float]]? { nil }
}

/// Top-K over a score array with exclusions, on top of RecRLTensor's ``TopKSelector``
/// (a size-K min-heap, O(n log K), no full sort).
public enum TopK {
    /// The indices of the `k` highest scores, best first, skipping excluded indices.
    ///
    /// Ties are broken by the lower index; NaN scores rank below every number (they fill
    /// the list, in index order, only when fewer than `k` numbers are left).
    /// - Parameters:
    ///   - scores: one score per item.
    ///   - k: number of results (fewer if fewer candidates remain).
    ///   - excluded: indices to skip (e.g. the user's training items); may be empty.
    public static func select(_ scores: [Float], k: Int, excluding excluded: ArraySlice<Int32> = []) -> [Int] {
        guard k > 0 else { return [] }
        let skip = Set(excluded.map { Int($0) })
        var selector = TopKSelector()
        scores.withUnsafeBufferPointer { selector.select($0, k: k, isExcluded: { skip.contains($0) }) }
        var ranked = selector.selectedIndices
        if ranked.count < k {
            for i in scores.indices where ranked.count < k && scores[i].isNaN && !skip.contains(i) { ranked.append(i) }
        }
        return ranked
    }

    /// The same selection by a full sort: the slow reference the tests compare against.
    public static func selectBySorting(_ scores: [Float], k: Int, excluding excluded: Set<Int> = []) -> [Int] {
        let candidates = scores.indices.filter { !excluded.contains($0) }
        let sorted = candidates.sorted { a, b in
            let sa = scores[a].isNaN ? -Float.infinity : scores[a]
            let sb = scores[b].isNaN ? -Float.infinity : scores[b]
            return sa != sb ? sa > sb : a < b
        }
        return Array(sorted.prefix(max(0, k)))
    }
}

/// A recommender whose next pick depends on feedback to the previous ones (e.g. DRR,
/// whose state window takes in each positively rated item).
///
/// The `drr` protocol ranks a user's test items with ``rankSequentially(user:candidates:rating:)``
/// when a recommender conforms, as in the DRR paper's offline evaluation (Algorithm 2).
public protocol SequentialRecommender: Recommender {
    /// Orders `candidates` one pick at a time; after each pick, `rating(item)` is the
    /// user's real (held-out) rating of it, or nil when unknown.
    func rankSequentially(user: Int, candidates: [Int], rating: (Int) -> Float?) -> [Int]
}
