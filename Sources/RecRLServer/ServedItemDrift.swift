import Foundation

/// The training popularity of a served model's items, cut into popularity buckets: the
/// reference distribution of the served-item drift gauge `recrl_served_items_psi`.
///
/// Bucketing: the items, sorted by training interactions (most first; ties keep the
/// catalogue order), are cut into at most ``bucketCount`` groups of about equal training
/// mass. An item goes to bucket `⌊B · m / M⌋` (clamped to `B − 1`), where `m` is the
/// interactions of all items ranked above it and `M` the total. Bucket 0 is therefore the
/// head (the few items holding the first `1/B` of the interactions) and the last bucket the
/// long tail, including every item never seen in training. A head item holding more than
/// `1/B` of the mass makes the following bucket empty; empty buckets are left out of the
/// index. ``expected`` is each bucket's share of the training interactions.
///
/// Equal-mass buckets make the index sensitive where the traffic is: a server that
/// recommends the tail far more (or far less) often than training interactions did moves
/// mass between buckets, whatever the catalogue size.
public final class TrainingPopularity: Sendable {
    /// The default number of buckets (deciles of training mass).
    public static let defaultBucketCount = 10

    /// The number of buckets, `B`.
    public let bucketCount: Int
    /// Each bucket's share of the training interactions (sums to 1).
    public let expected: [Double]
    private let bucketOfItem: [String: UInt8]

    /// The reference of a catalogue `items` with `counts[i]` training interactions of
    /// `items[i]`; `nil` when there is nothing to compare against (different lengths, no
    /// items, a negative count, or no interactions at all).
    /// - Parameter buckets: `B`, in 1…255 (default ``defaultBucketCount``).
    public init?(items: [String], counts: [Int], buckets: Int = TrainingPopularity.defaultBucketCount) {
        precondition((1...255).contains(buckets), "TrainingPopularity: buckets must lie in 1...255, got \(buckets)")
        guard !items.isEmpty, items.count == counts.count, counts.allSatisfy({ $0 >= 0 }) else { return nil }
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let order = counts.indices.sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
        var mass = [Int](repeating: 0, count: buckets)
        var bucketOf = [String: UInt8](minimumCapacity: items.count)
        var above = 0
        for index in order {
            let bucket = min(buckets - 1, Int(Double(buckets) * Double(above) / Double(total)))
            bucketOf[items[index]] = UInt8(bucket)
            mass[bucket] += counts[index]
            above += counts[index]
        }
        bucketCount = buckets
        expected = mass.map { Double($0) / Double(total) }
        bucketOfItem = bucketOf
    }

    /// The bucket of `item`, or `nil` for an item outside the catalogue.
    public func bucket(of item: String) -> Int? { bucketOfItem[item].map(Int.init) }

    /// The population stability index of the observed bucket counts `counts` against
    /// ``expected``: `Σ (a − e) · ln(a / e)` over the buckets where either share is
    /// positive, with both shares floored at ``PSI/floor`` so that a bucket one side never
    /// uses stays finite. 0 means the same distribution; by the usual reading, below 0.1
    /// is no shift, 0.1–0.25 a moderate one, above 0.25 a large one. `nil` when
    /// `counts` sum to 0.
    public func stabilityIndex(counts: [Int]) -> Double? {
        precondition(counts.count == bucketCount, "TrainingPopularity: \(counts.count) counts for \(bucketCount) buckets")
        let n = counts.reduce(0, +)
        guard n > 0 else { return nil }
        var index = 0.0
        for bucket in 0..<bucketCount where counts[bucket] > 0 || expected[bucket] > 0 {
            let a = max(Double(counts[bucket]) / Double(n), PSI.floor)
            let e = max(expected[bucket], PSI.floor)
            index += (a - e) * log(a / e)
        }
        return index
    }
}

/// Constants of the population stability index.
public enum PSI {
    /// The smallest share a bucket counts with (an empty bucket would make the index infinite).
    public static let floor = 1e-4
}

/// The items one arm served most recently, as popularity buckets of a
/// ``TrainingPopularity``, in a ring of fixed capacity: the sliding window of the
/// served-item drift. Memory is one byte per slot whatever the traffic.
struct ServedItemWindow {
    /// The reference the buckets belong to (a new model brings a new one and a new window).
    let reference: TrainingPopularity
    private var ring: [UInt8]
    private var next = 0
    private var filled = 0
    private var counts: [Int]

    init(reference: TrainingPopularity, capacity: Int) {
        precondition(capacity > 0, "ServedItemWindow: capacity must be positive")
        self.reference = reference
        ring = [UInt8](repeating: 0, count: capacity)
        counts = [Int](repeating: 0, count: reference.bucketCount)
    }

    /// Items in the window.
    var count: Int { filled }

    /// Adds the served `items` (items outside the catalogue are skipped), dropping the
    /// oldest ones beyond the capacity.
    mutating func record(_ items: [ScoredItem]) {
        for entry in items {
            guard let bucket = reference.bucket(of: entry.item) else { continue }
            if filled == ring.count {
                counts[Int(ring[next])] -= 1
            } else {
                filled += 1
            }
            ring[next] = UInt8(bucket)
            counts[bucket] += 1
            next = next + 1 == ring.count ? 0 : next + 1
        }
    }

    /// The window's population stability index against the reference, or `nil` while it
    /// holds fewer than `minimumItems` items (a small sample's index is biased upwards).
    func stabilityIndex(minimumItems: Int) -> Double? {
        filled >= max(1, minimumItems) ? reference.stabilityIndex(counts: counts) : nil
    }
}
