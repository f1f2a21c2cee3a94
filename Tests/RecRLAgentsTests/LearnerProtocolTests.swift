import XCTest
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLTestSupport

/// A learner that is not DDPG: it only counts its updates and remembers the last batch's
/// mean reward (no TD errors).
struct CountingLearner: Learner {
    var actor: MLPActor
    var updates = 0
    var lastMeanReward: Float = 0
    var stateSize: Int { actor.stateSize }
    var actionSize: Int { actor.actionSize }
    var tdErrors: Tensor { Tensor(zeros: [0]) }

    mutating func update(_ batch: TransitionBatch) -> Float {
        updates += 1
        lastMeanReward = batch.rewards.mean()
        return lastMeanReward
    }

    func checkpointTensors() -> [String: Tensor] {
        var out = actor.namedParameters(prefix: "actor.")
        out["updates"] = Tensor([Float(updates)])
        return out
    }

    mutating func restore(fromCheckpoint tensors: [String: Tensor]) throws(CheckpointError) {
        try actor.loadParameters(from: tensors, prefix: "actor.")
        guard let u = tensors["updates"] else { throw .missingTensor("updates") }
        updates = Int(u[flat: 0])
    }
}

final class LearnerProtocolTests: XCTestCase {
    /// An agent and its loop take any learner.
    func testAgentRunsAnyLearner() {
        let env = Pendulum(seed: 3)
        var rng = testRNG(4)
        let learner = CountingLearner(actor: MLPActor(stateSize: 3, actionSize: 1, hiddenSizes: [8], actionSpec: env.actionSpec, using: &rng))
        let agent = Agent(
            learner: learner, buffer: UniformReplayBuffer(capacity: 100, stateSize: 3, actionSize: 1),
            exploration: GaussianExploration(), actionSpec: env.actionSpec,
            configuration: AgentConfiguration(batchSize: 8, minObservationsBeforeLearning: 20), seed: 5)
        var loop = EnvironmentLoop(environment: env, agent: agent)
        loop.run(steps: 50, seed: 1)
        XCTAssertEqual(loop.agent.learner.updates, 31, "one update per step from the 20th stored transition on")
        XCTAssertEqual(loop.agent.lastUpdate, loop.agent.learner.lastMeanReward)
    }

    /// A DDPG learner restored from its checkpoint tensors continues exactly like the
    /// original (without TD3's target noise, whose generator is not saved).
    func testDDPGCheckpointRoundTripContinuesIdentically() throws {
        for config in [DDPGConfiguration.ddpg, DDPGConfiguration(twinCritics: true, policyDelay: 2)] {
            var original = DDPGLearner(stateSize: 6, actionSize: 2, hiddenSizes: [8, 8], batchSize: 4, configuration: config, seed: 1)
            let batch = randomBatch(b: 4, s: 6, a: 2, seed: 2)
            for _ in 0..<3 { original.update(batch) }
            let saved = original.checkpointTensors()
            XCTAssertEqual(saved["update_count"]?.scalars, [3])
            var restored = DDPGLearner(stateSize: 6, actionSize: 2, hiddenSizes: [8, 8], batchSize: 4, configuration: config, seed: 1)
            try restored.restore(fromCheckpoint: saved)
            XCTAssertEqual(restored.updateCount, 3)
            XCTAssertEqual(restored.checkpointTensors(), saved)
            for k in 0..<2 { XCTAssertEqual(original.update(batch), restored.update(batch), "\(config.twinCritics) update \(k)") }
            XCTAssertTrue(original.checkpointTensors() == restored.checkpointTensors(), "\(config.twinCritics)")
        }
    }

    func testRestoreRejectsMissingOrMisshapenTensorsAndKeepsTheLearner() {
        var learner = DDPGLearner(stateSize: 6, actionSize: 2, hiddenSizes: [8, 8], batchSize: 4, seed: 1)
        learner.update(randomBatch(b: 4, s: 6, a: 2, seed: 2))
        let saved = learner.checkpointTensors()
        var missing = saved
        missing["optimizer.actor.m.0"] = nil
        XCTAssertThrowsError(try learner.restore(fromCheckpoint: missing)) { error in
            XCTAssertEqual(error as? CheckpointError, .missingTensor("optimizer.actor.m.0"))
        }
        var wrong = saved
        wrong["critic.0.layers.0.weight"] = Tensor(zeros: [3, 3])
        XCTAssertThrowsError(try learner.restore(fromCheckpoint: wrong))
        XCTAssertEqual(learner.checkpointTensors(), saved, "a failed restore leaves the learner unchanged")
    }
}
