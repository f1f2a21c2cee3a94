import Foundation

/// Top-K ranking metrics for one user with binary relevance.
///
/// `ranked` is the recommendation list, best first; `relevant` the user's relevant held-out items.
/// Positions are 1-based; the discount is `1 / log2(position + 1)`.
public enum RankingMetrics {
    /// Number of relevant items in the first `k` positions.
    public static func hits(ranked: [Int], relevant: Set<Int>, k: Int) -> Int {
        ranked.prefix(k).reduce(0) { $0 + (relevant.contains($1) ? 1 : 0) }
    }

    /// Precision@K = hits@K / K (K, not the list length, is the denominator).
    public static func precision(ranked: [Int], relevant: Set<Int>, k: Int) -> Double {
        k > 0 ? Double(hits(ranked: ranked, relevant: relevant, k: k)) / Double(k) : 0
    }

    /// Recall@K = hits@K / |relevant| (0 when nothing is relevant).
    public static func recall(ranked: [Int], relevant: Set<Int>, k: Int) -> Double {
        relevant.isEmpty ? 0 : Double(hits(ranked: ranked, relevant: relevant, k: k)) / Double(relevant.count)
    }

    /// NDCG@K with binary gains; the ideal DCG places min(K, |relevant|) relevant items first.
    public static func ndcg(ranked: [Int], relevant: Set<Int>, k: Int) -> Double {
        let idealCount = min(k, relevant.count)
        guard idealCount > 0 else { return 0 }
        var dcg = 0.0
        for (p, item) in ranked.prefix(k).enumerated() where relevant.contains(item) {
            dcg += 1 / log2(Double(p) + 2)
        }
        var ideal = 0.0
        for p in 0..<idealCount { ideal += 1 / log2(Double(p) + 2) }
        return dcg / ideal
    }

    /// AP@K = (Σ over relevant positions p ≤ K of precision@p) / min(K, |relevant|).
    public static func averagePrecision(ranked: [Int], relevant: Set<Int>, k: Int) -> Double {
        let norm = min(k, relevant.count)
        guard norm > 0 else { return 0 }
        var found = 0
        var sum = 0.0
        for (p, item) in ranked.prefix(k).enumerated() where relevant.contains(item) {
            found += 1
            sum += Double(found) / Double(p + 1)
        }
        return sum / Double(norm)
    }

    /// Hit rate@K: 1 if any relevant item is in the first K positions, else 0.
    public static func hit(ranked: [Int], relevant: Set<Int>, k: Int) -> Double {
        hits(ranked: ranked, relevant: relevant, k: k) > 0 ? 1 : 0
    }

    /// Intra-list diversity: 1 − mean pairwise cosine similarity of the items' feature vectors.
    ///
    /// - Parameter similarity: cosine similarity of two items.
    /// - Returns: `nil` for lists with fewer than two items.
    public static func intraListDiversity(_ list: [Int], similarity: (Int, Int) -> Double) -> Double? {
        guard list.count >= 2 else { return nil }
        var sum = 0.0, pairs = 0
        for a in 0..<list.count {
            for b in (a + 1)..<list.count {
                sum += similarity(list[a], list[b])
                pairs += 1
            }
        }
        return 1 - sum / Double(pairs)
    }

    /// Cosine similarity of two multi-hot sets (sorted index lists); 0 if either is empty.
    public static func setCosine(_ a: [Int], _ b: [Int]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var i = 0, j = 0, common = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] { common += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return Double(common) / (Double(a.count) * Double(b.count)).squareRoot()
    }

    /// Cosine similarity of two dense vectors; 0 if either has zero norm.
    public static func vectorCosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for k in 0..<min(a.count, b.count) {
            dot += Double(a[k]) * Double(b[k])
            na += Double(a[k]) * Double(a[k])
            nb += Double(b[k]) * Double(b[k])
        }
        return na > 0 && nb > 0 ? dot / (na * nb).squareRoot() : 0
    }
}
