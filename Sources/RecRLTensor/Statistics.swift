/// Small descriptive statistics shared by the evaluation modules (bootstrap intervals of
/// A/B tests and of off-policy estimators).
public enum SampleStatistics {
    /// The `q`-quantile of `sorted` (ascending, not empty), interpolating linearly at
    /// position `q·(n−1)`: numpy's default ("linear") method, so intervals match Python
    /// tools computed on the same resamples.
    public static func quantile(sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty, "quantile of an empty sample")
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}
