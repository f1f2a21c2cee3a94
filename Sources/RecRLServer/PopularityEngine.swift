import Foundation
import RecRLDRR
import RecRLTensor

/// A static ranking served as a ``RecommendationEngine``: every user gets the same
/// items, best first, minus the ones they exclude. The usual control arm of an A/B test
/// against a learning engine.
///
/// It does not learn: ``observe(user:item:reward:)`` only checks the item and counts the
/// feedback, and ``modelVersion`` never changes. It has no state representation
/// (``scoreState(_:)`` is a 422) and nothing to reload (``reload(from:)`` is a 422).
///
/// ```swift
/// let control = try PopularityEngine(items: ["i3", "i1", "i2"], scores: [30, 20, 10],
///                                rewardScale: RewardScale(minimum: 1, maximum: 5))
/// let mode = ServingMode.abTest(control: ServedModel(engine: control),
///                               treatment: ServedModel(engine: drrEngine),
///                               split: 0.5, salt: "experiment-1")
/// ```
public final class PopularityEngine: RecommendationEngine {
    /// The KServe V2 model name (default `"popularity"`).
    public let modelName: String
    /// `"<name>.1"`: the ranking never changes.
    public var modelVersion: String { "\(modelName).1" }
    /// Always `true`.
    public var isReady: Bool { true }
    /// The number of ranked items.
    public var itemCount: Int { ranking.count }
    /// The items with their scores, best first (ties keep the given order).
    public let ranking: [ScoredItem]
    /// Maps ratings to rewards, like the learning arm's model does.
    public let rewardScale: RewardScale
    private let catalogue: Set<String>
    private let observed = Locked(0)

    /// A ranking of `items` by `scores` (higher is better; ties keep the order of `items`).
    /// - Throws: ``RequestError`` 422 when `items` and `scores` differ in length, an item id
    ///   is repeated or a score is not finite.
    public init(items: [String], scores: [Float], rewardScale: RewardScale, name: String = "popularity") throws {
        guard items.count == scores.count else {
            throw RequestError.unprocessable("PopularityEngine: \(items.count) items but \(scores.count) scores")
        }
        var seen = Set<String>()
        if let repeated = items.first(where: { !seen.insert($0).inserted }) {
            throw RequestError.unprocessable("PopularityEngine: item id '\(repeated)' is repeated")
        }
        if let bad = scores.firstIndex(where: { !$0.isFinite }) {
            throw RequestError.unprocessable("PopularityEngine: the score of '\(items[bad])' is \(scores[bad]), not finite")
        }
        let order = items.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        ranking = order.map { ScoredItem(item: items[$0], score: scores[$0]) }
        catalogue = Set(items)
        self.rewardScale = rewardScale
        modelName = name
    }

    /// The first `k` items of ``ranking`` that are not in `exclude`.
    /// - Throws: ``RequestError`` 422 when `k` is not positive.
    public func recommend(user: String, k: Int, exclude: Set<String>) throws -> Recommendation {
        guard k > 0 else { throw RequestError.unprocessable("k must be positive, got \(k)") }
        var items: [ScoredItem] = []
        items.reserveCapacity(min(k, ranking.count))
        for entry in ranking where !exclude.contains(entry.item) {
            items.append(entry)
            if items.count == k { break }
        }
        return Recommendation(items: items, modelVersion: modelVersion)
    }

    /// Counts the feedback (the ranking does not learn).
    /// - Throws: ``RequestError`` 404 for an item outside the ranking, 422 for a
    ///   non-finite reward.
    public func observe(user: String, item: String, reward: Float) throws {
        guard catalogue.contains(item) else { throw RequestError.notFound("unknown item '\(item)': it is not in the ranking") }
        guard reward.isFinite else { throw RequestError.unprocessable("reward must be a finite number") }
        observed.withLock { $0 += 1 }
    }

    /// Whether `item` is in the catalogue.
    public func knowsItem(_ item: String) -> Bool { catalogue.contains(item) }

    /// `rewardScale.minimum...rewardScale.maximum`.
    public var ratingRange: ClosedRange<Float>? {
        rewardScale.minimum < rewardScale.maximum ? rewardScale.minimum...rewardScale.maximum : nil
    }

    /// ``rewardScale``'s reward, clamped to [−1, 1] (as ``DRREngine`` does).
    public func rewardForRating(_ rating: Float) -> Float {
        min(1, max(-1, rewardScale.reward(forRating: rating)))
    }

    /// Always throws ``RequestError`` 422: a static ranking has no model to reload.
    public func reload(from directory: URL) throws {
        throw RequestError.unprocessable("the \(modelName) engine is a static ranking and cannot reload from \(directory.path)")
    }

    /// Always throws ``RequestError`` 422: a static ranking has no state representation.
    public func scoreState(_ state: [Float]) throws -> [ScoredItem] {
        throw RequestError.unprocessable("the \(modelName) engine is a static ranking and takes no state vector")
    }

    /// `observed_feedback`: the feedback events observed.
    public var statistics: [String: Double] { ["observed_feedback": Double(observed.withLock { $0 })] }
}
