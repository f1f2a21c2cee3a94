import RecRLEvaluation
import RecRLTensor
import Synchronization

/// Draws the slates of `/v1/recommend` with the server's ``ServingPolicy``: from a seeded
/// generator when ``ServerConfiguration/servingSeed`` is set (a sequential client then
/// gets a reproducible run), otherwise from the system's generator.
final class ServingSampler: Sendable {
    let policy: ServingPolicy
    private let isSeeded: Bool
    private let seeded: Mutex<Xoshiro256StarStar>

    init(policy: ServingPolicy, seed: UInt64?) {
        self.policy = policy
        isSeeded = seed != nil
        seeded = Mutex(Xoshiro256StarStar(seed: seed ?? 0))
    }

    /// ``ServingPolicy/sample(rankingCount:k:using:)``.
    func sample(rankingCount: Int, k: Int) -> (positions: [Int], propensities: [Double], slatePropensity: Double) {
        if isSeeded {
            return seeded.withLock { rng in policy.sample(rankingCount: rankingCount, k: k, using: &rng) }
        }
        var rng = SystemRandomNumberGenerator()
        return policy.sample(rankingCount: rankingCount, k: k, using: &rng)
    }
}
