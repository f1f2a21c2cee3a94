import XCTest
import RecRLAgents
import RecRLEnvironmentTesting
import RecRLTensor

// The environment of the DocC article "Write your own Environment"
// (Sources/RecRL/RecRL.docc/WriteYourOwnEnvironment.md), copied verbatim: this test keeps
// the article's code compiling, conforming and learnable.

/// Simulated users with a hidden taste vector; the reward of an item is how well its
/// embedding matches the taste, plus noise. No item is shown twice in an episode.
struct ToyUsers: Environment {
    let items: Tensor  // [items, k] item embeddings
    let taste: [Float]  // [k] the simulated user's hidden taste
    let horizon: Int
    var rng: Xoshiro256StarStar
    var shown: Set<Int> = []
    var steps = 0

    init(items: Tensor, taste: [Float], horizon: Int = 10, seed: UInt64) {
        precondition(items.rank == 2 && items.shape[1] == taste.count && items.shape[0] >= horizon)
        self.items = items; self.taste = taste; self.horizon = horizon
        rng = Xoshiro256StarStar(seed: seed)
    }

    var observationSpec: BoundedSpec { .unbounded(shape: [taste.count], name: "observation") }
    var actionSpec: BoundedSpec { BoundedSpec(shape: [taste.count], minimum: -1, maximum: 1, name: "action") }

    mutating func reset() -> TimeStep {
        shown = []
        steps = 0
        return .first(Tensor(zeros: [taste.count]))  // no item consumed yet
    }

    mutating func reset(seed: UInt64) -> TimeStep {
        rng = Xoshiro256StarStar(seed: seed)  // reseed every source of randomness
        return reset()
    }

    mutating func step(_ action: Tensor) -> TimeStep {
        if steps == horizon { return reset() }  // stepping after .last starts a new episode
        // Recommend the best-scoring item not shown yet in this episode.
        let scores = items.matvec(action.reshaped([taste.count])).scalars
        var best = -1
        for i in scores.indices where !shown.contains(i) && (best < 0 || scores[i] > scores[best]) { best = i }
        shown.insert(best)
        steps += 1
        // The user's reaction is the reward; the consumed item is the next observation.
        let embedding = items.row(best)
        var match: Float = 0
        for (e, t) in zip(embedding.scalars, taste) { match += e * t }
        let reward = match + Float.random(in: -0.1...0.1, using: &rng)
        return TimeStep(kind: steps == horizon ? .last : .mid, reward: reward, discount: 1, observation: embedding)
    }
}

final class DocumentationExampleTests: XCTestCase {
    func makeEnvironment(seed: UInt64 = 1) -> ToyUsers {
        var rng = Xoshiro256StarStar(seed: 0)
        let items = Tensor(randomUniform: [200, 8], in: -1...1, using: &rng)
        let taste = (0..<8).map { _ in Float.random(in: -1...1, using: &rng) }
        return ToyUsers(items: items, taste: taste, seed: seed)
    }

    func testArticleEnvironmentConforms() {
        XCTAssertEqual(EnvironmentConformance.check(makeEnvironment()), [])
    }

    /// The mean episode return of a fixed policy over `episodes` seeded episodes.
    func meanReturn(_ policy: (Tensor) -> Tensor, episodes: Int) -> Float {
        var env = makeEnvironment(seed: 99)
        var total: Float = 0
        for e in 0..<episodes {
            var step = env.reset(seed: UInt64(e))
            repeat {
                step = env.step(policy(step.observation))
                total += step.reward
            } while !step.isLast
        }
        return total / Float(episodes)
    }

    func testArticleTrainingLoopLearnsTheTaste() {
        let env = makeEnvironment()
        let k = env.actionSpec.count
        let learner = DDPGLearner(
            stateSize: env.observationSpec.count, actionSize: k, hiddenSizes: [64, 64],
            batchSize: 64, actionSpec: env.actionSpec, seed: 2)
        let agent = Agent(
            learner: learner,
            buffer: UniformReplayBuffer(capacity: 100_000, stateSize: k, actionSize: k),
            exploration: GaussianExploration(standardDeviation: .constant(0.1)),
            actionSpec: env.actionSpec,
            configuration: AgentConfiguration(batchSize: 64, minObservationsBeforeLearning: 500),
            seed: 3)
        var loop = EnvironmentLoop(environment: env, agent: agent)
        let episodes = loop.run(steps: 4_000, seed: 4)
        XCTAssertEqual(episodes.count, 400, "episodes of 10 steps")

        // The best constant action is the taste itself; a random direction is the baseline.
        let taste = Tensor(env.taste)
        var rng = Xoshiro256StarStar(seed: 7)
        let randomAction = Tensor(randomUniform: [k], in: -1...1, using: &rng)
        let best = meanReturn({ _ in taste }, episodes: 20)
        let random = meanReturn({ _ in randomAction }, episodes: 20)
        var trainedAgent = loop.agent
        let trained = meanReturn({ trainedAgent.greedyAction($0) }, episodes: 20)
        XCTAssertGreaterThan(best, random + 1, "the toy task separates good and bad policies")
        // The trained policy closes at least 90% of the gap between a random direction and the taste.
        XCTAssertGreaterThan(trained, random + 0.9 * (best - random), "trained \(trained), random \(random), best \(best)")
    }
}
