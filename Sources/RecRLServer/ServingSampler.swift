import RecRLEvaluation
import RecRLTensor

/// Draws the slates of `/v1/recommend` with the server's ``ServingPolicy``: from a seeded
/// generator when ``ServerConfiguration/servingSeed`` is set (a sequential client then
/// gets a reproducible run), otherwise from the system's generator.
final class ServingSampler: Sendable {
    let policy: ServingPolicy
    private let isSeeded: Bool
    private let seeded: Locked<Xoshiro256StarStar>

    init(policy: ServingPolicy, seed: UInt64?) {
        self.policy = policy
        isSeeded = seed != nil
        seeded = Locked(Xoshiro256StarStar(seed: seed ?? 0))
    }

    /// A slate of up to `k` items drawn from a ranking with these `scores` (best first),
    /// with its propensities: ``SlateDistribution/sample(k:using:)``.
    /// - Throws: ``ServingPolicyError`` when softmax serving meets a non-finite score.
    func sample(scores: [Double], k: Int) throws(ServingPolicyError)
        -> (positions: [Int], propensities: [Double], slatePropensity: Double)
    {
        let distribution = try SlateDistribution(policy: policy, scores: scores, k: k)
        if isSeeded {
            return seeded.withLock { rng in distribution.sample(k: k, using: &rng) }
        }
        var rng = SystemRandomNumberGenerator()
        return distribution.sample(k: k, using: &rng)
    }
}
