import XCTest
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLTestSupport

/// Maps every action row to a fixed vector (a stand-in for "the nearest executable action").
struct ConstantProjection: ActionProjection {
    let value: [Float]
    var calls = 0
    mutating func project(_ actions: inout Tensor) {
        calls += 1
        let k = value.count
        actions.withUnsafeMutableBufferPointer { p in
            for r in 0..<(p.count / k) { for j in 0..<k { p[r * k + j] = value[j] } }
        }
    }
}

final class AuxiliaryActorTests: XCTestCase {
    /// `updateActor` is one Adam step on the caller's loss: same parameters as doing it by
    /// hand, critics and targets untouched, `dL/ds` against finite differences.
    func testUpdateActorTakesOneAdamStepOnTheGivenLoss() {
        let s = 5, a = 3, b = 6
        var config = DDPGConfiguration.ddpg
        config.computesStateGradients = true
        var learner = DDPGLearner(stateSize: s, actionSize: a, hiddenSizes: [10, 10], batchSize: b, configuration: config, seed: 3)
        var rng = testRNG(4)
        let states = Tensor(randomNormal: [b, s], using: &rng)
        let goal = Tensor(randomUniform: [b, a], in: -0.5...0.5, using: &rng)
        // L = ½ · mean_b ‖μ(s_b) − g_b‖², dL/da = (a − g) / B.
        func loss(_ actions: Tensor) -> Float {
            var sum: Float = 0
            for i in 0..<actions.count { let d = actions[flat: i] - goal[flat: i]; sum += d * d }
            return sum / Float(2 * b)
        }
        let before = learner
        let value = learner.updateActor(states: states) { actions, gradient in
            for i in 0..<actions.count { gradient[flat: i] = (actions[flat: i] - goal[flat: i]) / Float(b) }
            return loss(actions)
        }
        XCTAssertEqual(value, loss(before.actor(states)), accuracy: 1e-6)

        var actor = before.actor
        let outputGradient = (before.actor(states) - goal) * (1 / Float(b))
        var adam = Adam(learningRate: config.actorLearningRate)
        adam.update(&actor, along: actor.gradient(at: states, outputGradient: outputGradient).parameters)
        for (name, p) in actor.namedParameters() {
            assertClose(learner.actor.namedParameters()[name]!, p, absolute: 1e-6, "actor \(name)")
        }
        XCTAssertEqual(learner.critics[0].namedParameters(), before.critics[0].namedParameters(), "critic untouched")
        XCTAssertEqual(learner.targetActor.namedParameters(), before.targetActor.namedParameters(), "targets untouched")
        XCTAssertEqual(learner.updateCount, 0)

        let numeric = numericalGradient(of: { x in Double(loss(before.actor(x))) }, at: states)
        assertClose(learner.actorStateGradient, numeric, absolute: 2e-3, relative: 2e-2)

        // Repeated steps on the loss drive it down.
        for _ in 0..<1500 {
            learner.updateActor(states: states) { actions, gradient in
                for i in 0..<actions.count { gradient[flat: i] = (actions[flat: i] - goal[flat: i]) / Float(b) }
                return loss(actions)
            }
        }
        XCTAssertLessThan(loss(learner.actor(states)), 0.25 * value)
    }

    /// With a target-action projection the TD target is `r + γ·d·Q'(s', proj(μ'(s')))`.
    func testTargetActionProjectionFeedsTheTDTarget() {
        let s = 4, a = 2, b = 7
        var learner = DDPGLearner(stateSize: s, actionSize: a, hiddenSizes: [8, 8], batchSize: b, seed: 11)
        learner.targetActionProjection = ConstantProjection(value: [0.25, -0.75])
        XCTAssertFalse(learner.usesParallelPath)
        let batch = randomBatch(b: b, s: s, a: a, seed: 12)
        let before = learner
        learner.update(batch)
        let fixed = Tensor((0..<b).flatMap { _ in [Float(0.25), -0.75] }).reshaped([b, a])
        let q1 = before.targetCritics[0](Tensor.concatenateColumns(batch.nextStates, fixed))
        let q = before.critics[0](Tensor.concatenateColumns(batch.states, batch.actions))
        let gamma = learner.configuration.gamma
        let expected = Tensor((0..<b).map { batch.rewards[flat: $0] + gamma * batch.discounts[flat: $0] * q1[$0, 0] - q[$0, 0] })
        assertClose(learner.tdErrors, expected, absolute: 1e-5)
        XCTAssertEqual((learner.targetActionProjection as? ConstantProjection)?.calls, 1)

        // Without it, the raw target action is used: a different TD error.
        var plain = before
        plain.targetActionProjection = nil
        plain.update(batch)
        XCTAssertGreaterThan(zip(plain.tdErrors.scalars, learner.tdErrors.scalars).map { abs($0 - $1) }.max()!, 1e-4)
    }
}
