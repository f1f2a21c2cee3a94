import XCTest
import Foundation
import RecRLTensor
import RecRLAgents
import RecRLTestSupport
import PendulumDDPG

final class ExplorationTests: XCTestCase {
    let spec = BoundedSpec(shape: [2], minimum: -2, maximum: 2)

    func testGaussianNoiseHasTheRelativeScaleAndIsClipped() {
        var g = GaussianExploration(standardDeviation: .constant(0.1))
        var rng = testRNG(1)
        var sum = 0.0, sumSq = 0.0
        let n = 20_000
        for _ in 0..<n {
            var a = Tensor([0, 0])
            g.explore(&a, step: 0, spec: spec, using: &rng)
            sum += Double(a[flat: 0]); sumSq += Double(a[flat: 0] * a[flat: 0])
        }
        let mean = sum / Double(n), std = (sumSq / Double(n) - mean * mean).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(std, 0.2, accuracy: 0.01, "σ 0.1 of the half-range 2")
        var edge = Tensor([2, -2])
        g.explore(&edge, step: 0, spec: spec, using: &rng)
        XCTAssertNoThrow(try spec.validate(edge))
    }

    func testOrnsteinUhlenbeckFollowsItsRecursionAndResets() {
        var ou = OrnsteinUhlenbeckExploration(theta: 0.15, mean: 0, standardDeviation: .constant(0.2), dt: 0.01)
        var rng = testRNG(2), mirror = testRNG(2)
        var x: Float = 0
        for _ in 0..<50 {
            var a = Tensor([0, 0])
            ou.explore(&a, step: 0, spec: BoundedSpec(shape: [2], minimum: -10, maximum: 10), using: &rng)
            let n0 = mirror.nextNormalFloat()
            _ = mirror.nextNormalFloat()
            x += 0.15 * (0 - x) * 0.01 + 0.2 * Float(0.01).squareRoot() * n0
            XCTAssertEqual(a[flat: 0], 10 * x, accuracy: 1e-4)
        }
        ou.reset()
        XCTAssertEqual(ou.state, [0, 0])
    }

    func testEpsilonGreedyReplacesWithTheScheduledProbability() {
        var e = EpsilonGreedyExploration(epsilon: .linear(from: 1, to: 0, steps: 10))
        var rng = testRNG(3)
        var replaced = 0
        for _ in 0..<10_000 {
            var a = Tensor([0.25, 0.25])
            e.explore(&a, step: 5, spec: spec, using: &rng)
            if a.scalars != [0.25, 0.25] { replaced += 1 }
        }
        XCTAssertEqual(Double(replaced) / 10_000, 0.5, accuracy: 0.03)
        var a = Tensor([0.25, 0.25])
        e.explore(&a, step: 10, spec: spec, using: &rng)
        XCTAssertEqual(a.scalars, [0.25, 0.25], "ε reaches 0")
    }
}

final class AgentLoopTests: XCTestCase {
    func makeLoop(seed: UInt64) -> EnvironmentLoop<Pendulum, Agent<DDPGLearner<MLPActor, MLPCritic>, UniformReplayBuffer, GaussianExploration>> {
        let env = Pendulum(seed: seed)
        let learner = DDPGLearner(
            stateSize: 3, actionSize: 1, hiddenSizes: [16, 16], batchSize: 32,
            actionSpec: env.actionSpec, configuration: .td3, seed: seed)
        let agent = Agent(
            learner: learner, buffer: UniformReplayBuffer(capacity: 1000, stateSize: 3, actionSize: 1),
            exploration: GaussianExploration(), actionSpec: env.actionSpec,
            configuration: AgentConfiguration(
                batchSize: 32, minObservationsBeforeLearning: 100,
                updatesPerStep: 1, randomActionSteps: 50),
            seed: seed)
        return EnvironmentLoop(environment: env, agent: agent)
    }

    func testSameSeedGivesIdenticalReturns() {
        var a = makeLoop(seed: 21), b = makeLoop(seed: 21), c = makeLoop(seed: 22)
        var progressCalls = 0
        let ra = a.run(steps: 650, seed: 5) { _ in progressCalls += 1 }
        let rb = b.run(steps: 650, seed: 5)
        let rc = c.run(steps: 650, seed: 6)
        XCTAssertEqual(ra.count, 3, "650 steps hold three 200-step episodes")
        XCTAssertEqual(progressCalls, 3)
        XCTAssertEqual(ra.map(\.episodeReturn), rb.map(\.episodeReturn))
        XCTAssertEqual(ra.map(\.length), [200, 200, 200])
        XCTAssertEqual(ra.map(\.totalSteps), [200, 400, 600])
        XCTAssertNotEqual(ra.map(\.episodeReturn), rc.map(\.episodeReturn))
        XCTAssertEqual(a.agent.learner.actor.namedParameters(), b.agent.learner.actor.namedParameters())
        XCTAssertEqual(a.agent.environmentSteps, 650)
        XCTAssertEqual(a.agent.learner.updateCount, 551, "updates from the 100th stored transition on")
    }

    func testAgentStoresTransitionsWithTheEnvironmentDiscount() {
        var loop = makeLoop(seed: 1)
        loop.run(steps: 10, seed: 1)
        XCTAssertEqual(loop.agent.buffer.count, 10)
        XCTAssertEqual(loop.agent.buffer.transition(at: 0).discount, 1)
        XCTAssertNil(loop.agent.lastUpdate, "no update before minObservationsBeforeLearning")
    }
}

final class PendulumExampleTests: XCTestCase {
    func testShortTrainingRunProducesTheContractJSON() {
        var options = PendulumTrainingOptions(algorithm: .td3, seed: 3, steps: 600)
        options.learningStarts = 200
        var episodes = 0
        let result = trainPendulum(options) { _ in episodes += 1 }
        XCTAssertEqual(episodes, 3)
        XCTAssertEqual(result.episodeReturns.count, 3)
        XCTAssert(result.meanReturnLast10 < 0 && result.meanReturnLast10 > -2000)
        for key in ["\"algo\":\"td3\"", "\"seed\":3", "\"steps\":600", "\"mean_return_last10\":", "\"seconds\":"] {
            XCTAssert(result.json.contains(key), "\(key) missing from \(result.json)")
        }
        XCTAssertEqual(trainPendulum(options).episodeReturns, result.episodeReturns, "seeded end to end")
    }
}

/// The `PendulumDDPG` executable's command-line contract, run as a subprocess.
final class PendulumCommandLineTests: XCTestCase {
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        // The test bundle sits next to the products in .build/<configuration>/.
        let products = Bundle.main.bundleURL
        let binary = products.appendingPathComponent("PendulumDDPG")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            // The test target depends on the executable, so it is always built beside the bundle.
            struct MissingBinary: Error, CustomStringConvertible { let description: String }
            throw MissingBinary(description: "PendulumDDPG not found at \(binary.path)")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }

    func testJSONIsTheLastLineAndProgressGoesToStderr() throws {
        let (status, stdout, stderr) = try run(["--algo", "td3", "--seed", "4", "--steps", "400", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let last = try XCTUnwrap(stdout.split(separator: "\n").last.map(String.init))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], last)
        XCTAssertEqual(object["algo"] as? String, "td3")
        XCTAssertEqual((object["seed"] as? NSNumber)?.intValue, 4)
        XCTAssertEqual((object["steps"] as? NSNumber)?.intValue, 400)
        XCTAssertNotNil(object["mean_return_last10"] as? NSNumber)
        XCTAssertNotNil(object["seconds"] as? NSNumber)
        XCTAssertEqual(stdout.split(separator: "\n").count, 1, "only the JSON goes to stdout")
        XCTAssert(stderr.contains("episode 2"), stderr)
    }

    func testBadFlagsGiveOneErrorLineAndANonZeroStatus() throws {
        for arguments in [["--algo", "sac"], ["--bogus"], ["--steps", "0"], ["--seed", "-3"]] {
            let (status, stdout, stderr) = try run(arguments)
            XCTAssertNotEqual(status, 0, "\(arguments)")
            XCTAssertEqual(stdout, "", "\(arguments)")
            let lines = stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(stderr)")
            XCTAssert(lines.first?.hasPrefix("error: ") == true, "\(arguments): \(stderr)")
        }
    }
}
