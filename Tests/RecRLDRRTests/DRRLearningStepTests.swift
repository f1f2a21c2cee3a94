import XCTest
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLDRR
import RecRLTestSupport

final class DRRLearningStepTests: XCTestCase {
    /// A fresh DRR-ave model with random embeddings and a replay of random transitions.
    func makeModelAndReplay(seed: UInt64, variant: DRRStateRepresentation.Variant = .ave)
        throws -> (DRRModel, PrioritizedReplayBuffer)
    {
        var c = smallConfiguration(variant)
        c.batchSize = 16
        var rng = testRNG(seed)
        let model = try DRRModel(
            configuration: c, userEmbeddings: Tensor(randomNormal: [6, c.embeddingSize], using: &rng),
            itemEmbeddings: Tensor(randomNormal: [20, c.embeddingSize], using: &rng),
            rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
        var replay = PrioritizedReplayBuffer(capacity: 200, stateSize: model.inputSize, actionSize: c.embeddingSize, alpha: 0.6)
        for _ in 0..<100 {
            replay.add(
                state: Tensor(randomNormal: [model.inputSize], using: &rng),
                action: model.itemAction(rng.nextInt(below: 20), scale: model.actionScale),
                reward: Float(rng.nextInt(below: 3)) - 1, discount: 1,
                nextState: Tensor(randomNormal: [model.inputSize], using: &rng))
        }
        return (model, replay)
    }

    /// DRR's default settings (state gradients, projected targets, the supervised step)
    /// take the two-lane path, and one learning step there agrees with the sequential
    /// one to float rounding: actor, critic, targets and state module.
    func testTwoLaneLearningStepAgreesWithSequential() throws {
        let (model, replay) = try makeModelAndReplay(seed: 3)
        var sequential = model, parallel = model
        parallel.learner.parallelism = 2
        XCTAssertTrue(parallel.learner.usesParallelPath, "DRR's default learner settings must take the two-lane path")
        var replays = (replay, replay)
        var steps = (DRRLearningStep(model: model), DRRLearningStep(model: model))
        var rngs = (testRNG(9), testRNG(9))
        var rng = testRNG(10)
        let inputs = Tensor(randomNormal: [16, model.inputSize], using: &rng)
        let targets = (0..<16).map { Int32($0 % 20) }
        for t in 0..<3 {
            let x = steps.0.learn(model: &sequential, replay: &replays.0, using: &rngs.0)
            let y = steps.1.learn(model: &parallel, replay: &replays.1, using: &rngs.1)
            XCTAssertEqual(x.criticLoss, y.criticLoss, accuracy: 1e-4 * max(1, abs(x.criticLoss)), "critic loss at \(t)")
            let a = steps.0.supervisedStep(model: &sequential, inputs: inputs, targets: targets)
            let b = steps.1.supervisedStep(model: &parallel, inputs: inputs, targets: targets)
            XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(a)), "supervised loss at \(t)")
        }
        func check<L: Layer>(_ x: L, _ y: L, _ what: String) {
            let px = x.namedParameters(), py = y.namedParameters()
            for (name, p) in px { assertClose(p, py[name]!, absolute: 1e-4, relative: 1e-3, "\(what) \(name)") }
        }
        check(sequential.learner.actor, parallel.learner.actor, "actor")
        check(sequential.learner.critics[0], parallel.learner.critics[0], "critic")
        check(sequential.learner.targetCritics[0], parallel.learner.targetCritics[0], "target critic")
        check(sequential.stateModule, parallel.stateModule, "state module")
    }

    /// `trainsStateModule` decides whether the module's weights move; the DDPG networks
    /// learn either way.
    func testTrainsStateModuleOption() throws {
        for trains in [true, false] {
            var (model, replay) = try makeModelAndReplay(seed: 4)
            let before = model.stateModule.namedParameters(), actorBefore = model.learner.actor.namedParameters()
            XCTAssertFalse(before.isEmpty)
            var step = DRRLearningStep(model: model, options: .init(trainsStateModule: trains))
            var rng = testRNG(5)
            for _ in 0..<3 { step.learn(model: &model, replay: &replay, using: &rng) }
            XCTAssertEqual(model.stateModule.namedParameters() == before, !trains, "trainsStateModule \(trains)")
            XCTAssertNotEqual(model.learner.actor.namedParameters(), actorBefore)
        }
    }

    /// Offline training runs the two-lane update by default on two cores, and returns a
    /// model whose learner acts on one thread.
    func testTrainerParallelism() throws {
        var c = smallConfiguration()
        c.episodes = 20
        let data = plantedDataset(users: 10)
        XCTAssertEqual(DRRTrainer.defaultParallelism, ProcessInfo.processInfo.activeProcessorCount >= 2 ? 2 : 1)
        let (model, curve) = try DRRTrainer.train(data, configuration: c, seed: 2, parallelism: 2)
        XCTAssertEqual(model.learner.parallelism, 1)
        XCTAssertFalse(curve.isEmpty)
        XCTAssertTrue(curve.allSatisfy { $0.meanCriticLoss.isFinite })
        XCTAssertThrowsError(try DRRTrainer.train(data, configuration: c, seed: 2, parallelism: 0))
    }
}
