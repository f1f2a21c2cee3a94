import RecRL
import Testing
@testable import recrl

/// `recrl ope-validate`: the target's value on the states the log visited.
@Suite struct OffPolicyValidationCommandTests {
    @Test func aShadowServingTheLoggedSlatesSeesTheLoggedRewards() throws {
        // A drifting world; the shadow is the logging policy itself, deterministic: each copy of
        // the world gets the slate the log is about to get, in the same state and with the same
        // random stream, so the shadow's value is exactly the logged value.
        var configuration = SyntheticWorld.Configuration()
        configuration.users = 30
        configuration.items = 40
        let initial = SyntheticWorld(configuration: configuration, seed: 3)
        let (ranking, _) = OffPolicyValidation.rankings(world: initial, seed: 3)
        let laws = try OffPolicyValidation.distributions(ranking, policy: .deterministic, k: 3)
        var world = initial
        let (log, shadow) = OffPolicyValidation.serve(
            world: &world, ranking: ranking, distributions: laws, rounds: 60, k: 3,
            seed: 4, shadow: (ranking, laws, 2))
        let logged = OffPolicyValidation.meanSlateReward(log)
        #expect(logged > 0)
        #expect(shadow == logged)
        // The shadow leaves the logged trajectory unchanged.
        var again = initial
        let (plain, none) = OffPolicyValidation.serve(world: &again, ranking: ranking, distributions: laws, rounds: 60, k: 3, seed: 4)
        #expect(plain == log && none == nil)
    }
}
