import RecRLData

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

/// Partial top-K selection with a binary min-heap of size K (O(n log K), no full sort).
public enum TopK {
    /// The indices of the `k` highest scores, best first, skipping excluded indices.
    ///
    /// Ties are broken by the lower index; NaN scores rank below every number.
    /// - Parameters:
    ///   - scores: one score per item.
    ///   - k: number of results (fewer if fewer candidates remain).
    ///   - excluded: sorted ascending indices to skip (e.g. the user's training items); may be empty.
    public static func select(_ scores: [Float], k: Int, excluding excluded: ArraySlice<Int32> = []) -> [Int] {
        guard k > 0 else { return [] }
        var heap: [(score: Float, index: Int)] = []
        heap.reserveCapacity(min(k, scores.count))
        var ex = excluded.startIndex
        // `a` is worse than `b`: lower score, or equal score and higher index.
        @inline(__always) func worse(_ a: (score: Float, index: Int), _ b: (score: Float, index: Int)) -> Bool {
            a.score != b.score ? a.score < b.score : a.index > b.index
        }
        scores.withUnsafeBufferPointer { s in
            for i in 0..<s.count {
                while ex < excluded.endIndex, Int(excluded[ex]) < i { ex += 1 }
                if ex < excluded.endIndex, Int(excluded[ex]) == i { continue }
                let v = s[i].isNaN ? -Float.infinity : s[i]
                let entry = (score: v, index: i)
                if heap.count < k {
                    heap.append(entry)
                    var c = heap.count - 1
                    while c > 0 {
                        let p = (c - 1) >> 1
                        if worse(heap[c], heap[p]) { heap.swapAt(c, p); c = p } else { break }
                    }
                } else if worse(heap[0], entry) {
                    heap[0] = entry
                    var p = 0
                    let n = heap.count
                    while true {
                        let l = 2 * p + 1, r = l + 1
                        var m = p
                        if l < n, worse(heap[l], heap[m]) { m = l }
                        if r < n, worse(heap[r], heap[m]) { m = r }
                        if m == p { break }
                        heap.swapAt(p, m)
                        p = m
                    }
                }
            }
        }
        heap.sort { worse($1, $0) }
        return heap.map(\.index)
    }

    /// Reference implementation by full sort (for tests and tiny inputs).
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
