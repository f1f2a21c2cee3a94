import RecRLAgents
import RecRLEnvironmentTesting
import RecRLSimulation
import RecRLTensor
import XCTest

final class SyntheticWorldEnvironmentTests: XCTestCase {
    static let small = SyntheticWorld.Configuration(users: 30, items: 80)

    func testPassesTheConformanceSuite() {
        XCTAssertEqual(EnvironmentConformance.check(SyntheticWorld(configuration: Self.small, seed: 1)), [])
        let short = SyntheticWorld.EpisodeConfiguration(historyLength: 3, maxEpisodeSteps: 7)
        XCTAssertEqual(
            EnvironmentConformance.check(
                SyntheticWorld(configuration: Self.small, episodeConfiguration: short, seed: 2),
                seed: 9, episodes: 5), [])
    }

    func testSpecsFollowTheDimensionAndHistoryLength() {
        let world = SyntheticWorld(configuration: Self.small, episodeConfiguration: .init(historyLength: 4), seed: 1)
        XCTAssertEqual(world.observationSpec.shape, [4 * 16])
        XCTAssertEqual(world.actionSpec.shape, [16])
        XCTAssertEqual(world.actionSpec.minimum, [Float](repeating: -1, count: 16))
        XCTAssertEqual(world.actionSpec.maximum, [Float](repeating: 1, count: 16))
    }

    /// The action picks the best-scoring item not yet recommended in the episode; the
    /// reward is (rating − 3) / 2; a liked item becomes the first history slot.
    func testActionPicksTheBestUnrecommendedItemAndLikesEnterTheObservation() throws {
        var config = Self.small
        config.baseLeaveProbability = 0
        config.leaveProbabilityPerMiss = 0
        var world = SyntheticWorld(configuration: config, episodeConfiguration: .init(historyLength: 2, maxEpisodeSteps: 10), seed: 3)
        let first = world.reset(seed: 4)
        XCTAssertEqual(first.observation.scalars, [Float](repeating: 0, count: 32), "no history yet")
        let target = 17
        let action = Tensor(world.trueItemVector(target))
        let step = world.step(action)
        let feedback = try XCTUnwrap(world.lastFeedback)
        XCTAssertEqual(feedback.item, target, "a unit item vector scores itself highest")
        XCTAssertEqual(step.reward, Float(feedback.rating - 3) / 2)
        XCTAssertEqual(step.kind, .mid)
        XCTAssertEqual(step.discount, 1)
        if feedback.positive {
            XCTAssertEqual(Array(step.observation.scalars[0..<16]), world.trueItemVector(target))
        } else {
            XCTAssertEqual(step.observation.scalars, first.observation.scalars)
        }
        // The same action again gets the runner-up: an episode never repeats an item.
        _ = world.step(action)
        let second = try XCTUnwrap(world.lastFeedback).item
        XCTAssertNotEqual(second, target)
        let v = world.trueItemVector(target)
        func score(_ item: Int) -> Float { zip(v, world.trueItemVector(item)).map(*).reduce(0, +) }
        let runnerUp = (0..<config.items).filter { $0 != target }.max { score($0) < score($1) }!
        XCTAssertEqual(second, runnerUp)
    }

    /// Users who stay run into the time limit (a truncation, discount 1) and are served
    /// distinct items; users who leave end the episode with discount 0.
    func testTimeLimitTruncatesAndLeavingTerminates() {
        var stay = Self.small
        stay.baseLeaveProbability = 0
        stay.leaveProbabilityPerMiss = 0
        var world = SyntheticWorld(configuration: stay, episodeConfiguration: .init(maxEpisodeSteps: 6), seed: 5)
        _ = world.reset(seed: 1)
        var kinds: [StepKind] = [], items = Set<Int>()
        var last = TimeStep.first(Tensor([0]))
        var rng = Xoshiro256StarStar(seed: 2)
        for _ in 0..<6 {
            last = world.step(world.actionSpec.sample(using: &rng))
            kinds.append(last.kind)
            items.insert(world.lastFeedback!.item)
        }
        XCTAssertEqual(kinds, [.mid, .mid, .mid, .mid, .mid, .last])
        XCTAssertEqual(last.discount, 1, "a time limit truncates: the discount is kept")
        XCTAssertEqual(items.count, 6)
        XCTAssertEqual(world.step(world.actionSpec.sample(using: &rng)).kind, .first, "stepping after .last starts a new episode")

        // The time limit never exceeds the catalogue: 5 items give 5-step episodes.
        var tiny = stay
        tiny.items = 5
        var capped = SyntheticWorld(configuration: tiny, episodeConfiguration: .init(maxEpisodeSteps: 50), seed: 5)
        _ = capped.reset(seed: 1)
        var length = 0
        while true {
            length += 1
            if capped.step(capped.actionSpec.sample(using: &rng)).isLast { break }
        }
        XCTAssertEqual(length, 5)

        var leave = Self.small
        leave.baseLeaveProbability = 1
        var leaving = SyntheticWorld(configuration: leave, seed: 6)
        _ = leaving.reset(seed: 1)
        let end = leaving.step(leaving.actionSpec.sample(using: &rng))
        XCTAssertEqual(end.kind, .last)
        XCTAssertEqual(end.discount, 0, "a user who leaves terminates the episode")
        XCTAssertTrue(leaving.lastFeedback!.left)
    }

    /// `reset(seed:)` returns the users to the state the world was built in.
    func testSeededResetRestoresTheBuiltWorld() {
        let built = SyntheticWorld(configuration: Self.small, seed: 7)
        var world = built
        var rng = Xoshiro256StarStar(seed: 3)
        _ = world.reset(seed: 1)
        for _ in 0..<300 { _ = world.step(world.actionSpec.sample(using: &rng)) }
        XCTAssertNotEqual(
            (0..<30).map { world.trueTaste(user: $0) }, (0..<30).map { built.trueTaste(user: $0) },
            "300 steps of drift moved some taste")
        let first = world.reset(seed: 1)
        XCTAssertEqual((0..<30).map { world.trueTaste(user: $0) }, (0..<30).map { built.trueTaste(user: $0) })
        XCTAssertEqual((0..<30).map { world.trueFatigue(user: $0) }, [[Float]](repeating: [Float](repeating: 0, count: 10), count: 30))
        XCTAssertEqual(first.observation.scalars, [Float](repeating: 0, count: 80), "histories are forgotten")
    }

    /// A fixed-policy actor: the direction of the user's most recent like (or a fixed
    /// direction before any like). It does not learn.
    struct MoreOfTheSame: AgentProtocol {
        let dimension: Int
        var fallback: Tensor
        mutating func selectAction(_ observation: Tensor) -> Tensor {
            let recent = Array(observation.scalars[0..<dimension])
            return recent.allSatisfy { $0 == 0 } ? fallback : Tensor(recent)
        }
        mutating func observeFirst(_ timeStep: TimeStep) {}
        mutating func observe(action: Tensor, next: TimeStep) {}
        mutating func update() {}
    }

    /// Uniformly random actions from the action spec.
    struct RandomActor: AgentProtocol {
        let spec: BoundedSpec
        var rng: Xoshiro256StarStar
        mutating func selectAction(_ observation: Tensor) -> Tensor { spec.sample(using: &rng) }
        mutating func observeFirst(_ timeStep: TimeStep) {}
        mutating func observe(action: Tensor, next: TimeStep) {}
        mutating func update() {}
    }

    func testRunsWithEnvironmentLoop() {
        let world = SyntheticWorld(configuration: Self.small, episodeConfiguration: .init(maxEpisodeSteps: 20), seed: 8)
        var fallbackRNG = Xoshiro256StarStar(seed: 1)
        let fallback = world.actionSpec.sample(using: &fallbackRNG)
        var loop = EnvironmentLoop(environment: world, agent: MoreOfTheSame(dimension: 16, fallback: fallback))
        let episodes = loop.run(steps: 400, seed: 3)
        XCTAssertGreaterThan(episodes.count, 19, "episodes of at most 20 steps")
        XCTAssertEqual(episodes.map(\.episode), Array(1...episodes.count))
        var total = 0
        for stats in episodes {
            total += stats.length
            XCTAssertEqual(stats.totalSteps, total)
            XCTAssertTrue((1...20).contains(stats.length), "\(stats)")
            XCTAssertTrue(abs(stats.episodeReturn) <= Float(stats.length), "rewards lie in [-1, 1]: \(stats)")
        }
        var again = EnvironmentLoop(environment: world, agent: MoreOfTheSame(dimension: 16, fallback: fallback))
        XCTAssertEqual(again.run(steps: 400, seed: 3).map(\.episodeReturn), episodes.map(\.episodeReturn), "seeded end to end")

        // The actions matter: recommending near the last like earns more per step than
        // recommending at random.
        var random = EnvironmentLoop(environment: world, agent: RandomActor(spec: world.actionSpec, rng: Xoshiro256StarStar(seed: 2)))
        let randomEpisodes = random.run(steps: 400, seed: 3)
        func perStep(_ e: [EpisodeStatistics]) -> Float { e.map(\.episodeReturn).reduce(0, +) / Float(e.map(\.length).reduce(0, +)) }
        XCTAssertGreaterThan(
            perStep(episodes), perStep(randomEpisodes) + 0.1,
            "more of the same \(perStep(episodes)), random \(perStep(randomEpisodes))")
    }
}
