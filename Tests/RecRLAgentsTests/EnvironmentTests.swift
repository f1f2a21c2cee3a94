import XCTest
import RecRLTensor
import RecRLAgents
import RecRLEnvironmentTesting
import RecRLTestSupport

final class SpecTests: XCTestCase {
    func testBoundedSpecValidatesShapeBoundsAndFiniteness() throws {
        let spec = try BoundedSpec(shape: [2], minimum: [-1, 0], maximum: [1, 2], name: "action")
        XCTAssertNoThrow(try spec.validate(Tensor([0.5, 2])))
        XCTAssertNoThrow(try spec.validate(Tensor([-1, 0]).reshaped([1, 2])), "a [1, n] row fits an [n] spec")
        XCTAssertThrowsError(try spec.validate(Tensor([0.5, 2.5]))) { error in
            XCTAssertEqual(error as? SpecError, .outOfBounds(name: "action", index: 1, value: 2.5, minimum: 0, maximum: 2))
            XCTAssertEqual("\(error)", "action: element 1 is 2.5, outside [0.0, 2.0]")
        }
        XCTAssertThrowsError(try spec.validate(Tensor([0, 0, 0]))) { error in
            XCTAssertEqual(error as? SpecError, .shapeMismatch(name: "action", expected: [2], found: [3]))
        }
        XCTAssertThrowsError(try spec.validate(Tensor([.nan, 1]))) { error in
            guard case .nonFinite(_, 0, _)? = error as? SpecError else { return XCTFail("\(error)") }
        }
    }

    func testInvalidBoundsThrow() {
        XCTAssertThrowsError(try BoundedSpec(shape: [2], minimum: [0, 1], maximum: [1, 0])) { error in
            guard case .invalidSpec? = error as? SpecError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try BoundedSpec(shape: [2], minimum: [0], maximum: [1, 1]))
    }

    func testClipAndSampleStayInBounds() throws {
        let spec = try BoundedSpec(shape: [3], minimum: [-2, 0, -.infinity], maximum: [2, 1, .infinity])
        var t = Tensor([-5, 0.5, 1e6])
        spec.clip(&t)
        XCTAssertEqual(t.scalars, [-2, 0.5, 1e6])
        var rng = testRNG(3)
        for _ in 0..<200 { XCTAssertNoThrow(try spec.validate(spec.sample(using: &rng))) }
        XCTAssertFalse(spec.isFinite)
        XCTAssertNoThrow(try BoundedSpec.unbounded(shape: [4]).validate(Tensor([1e30, -1e30, 0, 3])))
    }

    func testSchedules() {
        XCTAssertEqual(Schedule.constant(0.3).value(at: 1000), 0.3)
        let linear = Schedule.linear(from: 1, to: 0.1, steps: 10)
        XCTAssertEqual(linear.value(at: 0), 1)
        XCTAssertEqual(linear.value(at: 5), 0.55, accuracy: 1e-6)
        XCTAssertEqual(linear.value(at: 10), 0.1, accuracy: 1e-6)
        XCTAssertEqual(linear.value(at: 50), 0.1, accuracy: 1e-6)
        let exponential = Schedule.exponential(initial: 1, rate: 0.5, minimum: 0.2)
        XCTAssertEqual(exponential.value(at: 1), 0.5)
        XCTAssertEqual(exponential.value(at: 2), 0.25)
        XCTAssertEqual(exponential.value(at: 3), 0.2)
    }
}

final class PendulumTests: XCTestCase {
    func testHandComputedDynamics() {
        var env = Pendulum(seed: 1)
        // θ = 1, θ̇ = 0.5, u = 1.5:
        //   reward = −(1 + 0.1·0.25 + 0.001·2.25) = −1.02725
        //   θ̇' = 0.5 + (15·sin 1 + 3·1.5)·0.05 = 0.5 + (12.6220647 + 4.5)·0.05 = 1.35610324
        //   θ'  = 1 + 1.35610324·0.05 = 1.06780516
        var step = env.setState(angle: 1, angularVelocity: 0.5)
        XCTAssertEqual(step.kind, .first)
        step = env.step(Tensor([1.5]))
        XCTAssertEqual(step.kind, .mid)
        XCTAssertEqual(step.reward, -1.02725, accuracy: 1e-6)
        XCTAssertEqual(step.discount, 1)
        XCTAssertEqual(env.angularVelocity, 1.356103235, accuracy: 1e-8)
        XCTAssertEqual(env.angle, 1.067805162, accuracy: 1e-8)
        assertClose(step.observation, Tensor([Float(cos(1.067805162)), Float(sin(1.067805162)), 1.356103235]))

        // The torque is clipped to ±2 and the speed to ±8: θ = π/2, θ̇ = 7.9, u = 10 (→ 2):
        //   θ̇' = 7.9 + (15 + 6)·0.05 = 8.95 → 8;  θ' = π/2 + 0.4
        //   reward = −((π/2)² + 0.1·62.41 + 0.001·4) = −8.71825...
        _ = env.setState(angle: .pi / 2, angularVelocity: 7.9)
        step = env.step(Tensor([10]))
        XCTAssertEqual(env.angularVelocity, 8)
        XCTAssertEqual(env.angle, .pi / 2 + 0.4, accuracy: 1e-12)
        XCTAssertEqual(step.reward, -Float(Double.pi * Double.pi / 4 + 6.241 + 0.004), accuracy: 1e-5)

        // The cost uses the normalised angle: θ = 2π − 0.1 costs like θ = −0.1.
        _ = env.setState(angle: 2 * .pi - 0.1, angularVelocity: 0)
        step = env.step(Tensor([0]))
        XCTAssertEqual(step.reward, -0.01, accuracy: 1e-6)
    }

    func testNormalizeAngle() {
        XCTAssertEqual(Pendulum.normalizeAngle(0), 0)
        XCTAssertEqual(Pendulum.normalizeAngle(.pi), -.pi, accuracy: 1e-12, "π maps to −π: the range is [−π, π)")
        XCTAssertEqual(Pendulum.normalizeAngle(3 * .pi / 2), -.pi / 2, accuracy: 1e-12)
        XCTAssertEqual(Pendulum.normalizeAngle(-3 * .pi / 2), .pi / 2, accuracy: 1e-12)
        XCTAssertEqual(Pendulum.normalizeAngle(7), 7 - 2 * .pi, accuracy: 1e-12)
    }

    func testTimeLimitTruncatesWithDiscountKeptAndResetsAfterLast() {
        var env = Pendulum(seed: 2, maxEpisodeSteps: 5)
        let first = env.reset()
        XCTAssertEqual(first.kind, .first)
        XCTAssertEqual(first.reward, 0)
        var kinds: [StepKind] = []
        var last = first
        for _ in 0..<5 { last = env.step(Tensor([0])); kinds.append(last.kind) }
        XCTAssertEqual(kinds, [.mid, .mid, .mid, .mid, .last])
        XCTAssertEqual(last.discount, 1, "a time limit truncates: the discount is kept")
        XCTAssertEqual(env.step(Tensor([0])).kind, .first)
    }

    func testResetDrawsFromTheDocumentedRanges() {
        var env = Pendulum(seed: 3)
        for _ in 0..<500 {
            _ = env.reset()
            XCTAssert(env.angle >= -.pi && env.angle <= .pi)
            XCTAssert(env.angularVelocity >= -1 && env.angularVelocity <= 1)
        }
    }

    func testPendulumPassesTheConformanceSuite() {
        XCTAssertEqual(EnvironmentConformance.check(Pendulum(seed: 4)), [])
        XCTAssertEqual(EnvironmentConformance.check(Pendulum(seed: 5, maxEpisodeSteps: 7), seed: 9, episodes: 5), [])
    }
}

/// Broken environments: the suite must report each defect.
final class ConformanceSuiteTests: XCTestCase {
    struct Toy: Environment {
        enum Defect { case none, rewardOnFirst, noRestart, badDiscount, outOfSpec, unseeded, neverEnds }
        var defect: Defect
        var t = 0
        var rng = Xoshiro256StarStar(seed: 0)
        var counter: UInt64 = 0
        var done = true

        var observationSpec: BoundedSpec { BoundedSpec(shape: [2], minimum: -1, maximum: 1, name: "observation") }
        var actionSpec: BoundedSpec { BoundedSpec(shape: [1], minimum: -1, maximum: 1, name: "action") }

        mutating func reset() -> TimeStep {
            t = 0
            done = false
            let x = rng.nextUnitFloat()
            return TimeStep(kind: .first, reward: defect == .rewardOnFirst ? 1 : 0, discount: 1, observation: Tensor([x, 0]))
        }

        mutating func reset(seed: UInt64) -> TimeStep {
            counter &+= 1
            rng = Xoshiro256StarStar(seed: defect == .unseeded ? counter : seed)
            return reset()
        }

        mutating func step(_ action: Tensor) -> TimeStep {
            if done && defect != .noRestart { return reset() }
            t += 1
            let last = defect != .neverEnds && t >= 4
            done = last
            let value: Float = defect == .outOfSpec ? 3 : action[flat: 0]
            return TimeStep(
                kind: last ? .last : .mid, reward: 1, discount: defect == .badDiscount ? 1.5 : (last ? 0 : 1),
                observation: Tensor([value, rng.nextUnitFloat()]))
        }
    }

    func testSuiteAcceptsAConformingEnvironment() {
        XCTAssertEqual(EnvironmentConformance.check(Toy(defect: .none)), [])
    }

    func testSuiteReportsEachDefect() {
        let cases: [(Toy.Defect, String)] = [
            (.rewardOnFirst, "first step"), (.noRestart, "restart after last"), (.badDiscount, "discount"),
            (.outOfSpec, "observation spec"), (.unseeded, "seeded reset"), (.neverEnds, "episode end"),
        ]
        for (defect, check) in cases {
            let violations = EnvironmentConformance.check(Toy(defect: defect), maxEpisodeSteps: 100)
            XCTAssert(violations.contains { $0.check == check }, "\(defect): expected a '\(check)' violation, got \(violations)")
        }
    }
}
