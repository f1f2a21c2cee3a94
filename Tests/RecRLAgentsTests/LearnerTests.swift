import XCTest
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLTestSupport

/// A random batch of `b` transitions with some terminal ones.
func randomBatch(b: Int, s: Int, a: Int, seed: UInt64) -> TransitionBatch {
    var rng = testRNG(seed)
    let discounts = Tensor((0..<b).map { $0 % 3 == 0 ? 0 : 1 })
    // Shapes fit by construction.
    return try! TransitionBatch(
        states: Tensor(randomNormal: [b, s], using: &rng),
        actions: Tensor(randomUniform: [b, a], in: -1...1, using: &rng),
        rewards: Tensor(randomNormal: [b], using: &rng),
        nextStates: Tensor(randomNormal: [b, s], using: &rng),
        discounts: discounts,
        weights: Tensor(randomUniform: [b], in: 0.2...1, using: &rng))
}

final class NetworkGradientTests: XCTestCase {
    func testActorGradientsMatchFiniteDifferences() throws {
        var rng = testRNG(1)
        let plain = MLPActor(stateSize: 5, actionSize: 3, hiddenSizes: [8, 8], using: &rng)
        checkLayerGradients(plain, input: Tensor(randomNormal: [4, 5], using: &rng))
        let spec = try BoundedSpec(shape: [3], minimum: [-2, 0, -1], maximum: [2, 1, 3])
        let scaled = MLPActor(stateSize: 5, actionSize: 3, hiddenSizes: [8, 8], actionSpec: spec, using: &rng)
        checkLayerGradients(scaled, input: Tensor(randomNormal: [4, 5], using: &rng))
    }

    func testScaledActorOutputsLieInTheSpec() throws {
        var rng = testRNG(2)
        let spec = try BoundedSpec(shape: [2], minimum: [-2, 1], maximum: [2, 5])
        let actor = MLPActor(stateSize: 3, actionSize: 2, hiddenSizes: [16], actionSpec: spec, using: &rng)
        let out = actor(Tensor(randomNormal: [50, 3], standardDeviation: 10, using: &rng))
        for r in 0..<50 { XCTAssertNoThrow(try spec.validate(out.row(r))) }
        // a = offset + scale · tanh(z): compare with the unscaled network.
        let z = actor.network(Tensor(zeros: [1, 3]))
        let a = actor(Tensor(zeros: [1, 3]))
        XCTAssertEqual(a[0, 0], 2 * z[0, 0], accuracy: 1e-6)
        XCTAssertEqual(a[0, 1], 3 + 2 * z[0, 1], accuracy: 1e-6)
    }

    func testCriticGradientsAndActionGradientMatchFiniteDifferences() {
        var rng = testRNG(31)
        let critic = MLPCritic(stateSize: 4, actionSize: 2, hiddenSizes: [8, 8], using: &rng)
        XCTAssertEqual(critic.actionSize, 2)
        let states = Tensor(randomNormal: [5, 4], using: &rng), actions = Tensor(randomUniform: [5, 2], in: -1...1, using: &rng)
        let joined = Tensor.concatenateColumns(states, actions)
        checkLayerGradients(critic, input: joined)
        // dQ/da of Σ Q against finite differences in the action alone.
        let ones = Tensor(shape: [5, 1], repeating: 1)
        let (inputGradient, _) = critic.gradient(at: joined, outputGradient: ones)
        let numeric = numericalGradient(
            of: { a in critic(Tensor.concatenateColumns(states, a)).scalars.reduce(0.0) { $0 + Double($1) } },
            at: actions)
        assertClose(inputGradient.sliceColumns(4..<6), numeric, absolute: 2e-3, relative: 2e-2)
    }

    func testFrozenCriticBackwardLeavesTheGradientBufferUntouched() {
        var rng = testRNG(4)
        let critic = MLPCritic(stateSize: 3, actionSize: 1, hiddenSizes: [8], using: &rng)
        var context = critic.makeContext()
        var gradient = critic.zeroGradient()
        let x = Tensor(randomNormal: [4, 4], using: &rng)
        critic.forward(x, context: &context)
        critic.backward(
            input: x, outputGradient: Tensor(shape: [4, 1], repeating: 1), context: &context, gradient: &gradient,
            computeParameterGradient: false, computeInputGradient: true)
        XCTAssertEqual(gradient.globalNorm, 0)
        XCTAssertEqual(context.inputGradient.shape, [4, 4])
    }
}

final class DDPGLearnerTests: XCTestCase {
    /// One update equals WORKLOAD.md's four steps written out with the layer API.
    func testUpdateFollowsTheWorkloadSteps() {
        let s = 6, a = 2, b = 8
        var learner = DDPGLearner(stateSize: s, actionSize: a, hiddenSizes: [16, 16], batchSize: b, seed: 7)
        let batch = randomBatch(b: b, s: s, a: a, seed: 8)
        let c = learner.configuration
        var actor = learner.actor, critic = learner.critics[0]
        let targetActor = learner.targetActor, targetCritic = learner.targetCritics[0]
        XCTAssertEqual(actor.namedParameters(), targetActor.namedParameters(), "targets start as copies")

        // 1. y = r + γ · discount · Q'(s', μ'(s')).
        let q1 = targetCritic(Tensor.concatenateColumns(batch.nextStates, targetActor(batch.nextStates)))
        let y = Tensor((0..<b).map { batch.rewards[flat: $0] + c.gamma * batch.discounts[flat: $0] * q1[$0, 0] }).reshaped([b, 1])
        // 2. Critic: weighted MSE, Adam lr 1e-3.
        let sa = Tensor.concatenateColumns(batch.states, batch.actions)
        let q = critic(sa)
        var dq = Tensor(zeros: [0])
        let loss = MeanSquaredError.gradient(predicted: q, target: y, rowWeights: batch.weights, into: &dq)
        var criticAdam = Adam(learningRate: 1e-3)
        criticAdam.update(&critic, along: critic.gradient(at: sa, outputGradient: dq).parameters)
        // 3. Actor: −mean Q(s, μ(s)) through the updated critic, Adam lr 1e-4.
        let mu = actor(batch.states)
        let (dJoined, _) = critic.gradient(
            at: Tensor.concatenateColumns(batch.states, mu),
            outputGradient: Tensor(shape: [b, 1], repeating: -1 / Float(b)))
        var actorAdam = Adam(learningRate: 1e-4)
        actorAdam.update(&actor, along: actor.gradient(at: batch.states, outputGradient: dJoined.sliceColumns(s..<(s + a))).parameters)

        let stats = learner.update(batch)
        XCTAssertEqual(stats.criticLoss, loss, accuracy: 1e-5 * max(1, abs(loss)))
        XCTAssertNotNil(stats.actorLoss)
        assertClose(learner.tdErrors, Tensor((0..<b).map { y[$0, 0] - q[$0, 0] }), absolute: 1e-5)
        for (name, p) in critic.namedParameters() {
            assertClose(learner.critics[0].namedParameters()[name]!, p, absolute: 1e-6, "critic \(name)")
        }
        for (name, p) in actor.namedParameters() {
            assertClose(learner.actor.namedParameters()[name]!, p, absolute: 1e-6, "actor \(name)")
        }
        // 4. Soft updates with τ = 0.001.
        for (name, p) in actor.namedParameters() {
            let expected = 0.001 * p + 0.999 * targetActor.namedParameters()[name]!
            assertClose(learner.targetActor.namedParameters()[name]!, expected, absolute: 1e-6, "target actor \(name)")
        }
        for (name, p) in critic.namedParameters() {
            let expected = 0.001 * p + 0.999 * targetCritic.namedParameters()[name]!
            assertClose(learner.targetCritics[0].namedParameters()[name]!, expected, absolute: 1e-6, "target critic \(name)")
        }
    }

    /// dL/ds of the critic loss and of the actor loss against finite differences.
    func testStateGradientsMatchFiniteDifferences() {
        let s = 4, a = 2, b = 5
        var config = DDPGConfiguration.ddpg
        config.computesStateGradients = true
        var learner = DDPGLearner(stateSize: s, actionSize: a, hiddenSizes: [12, 12], batchSize: b, configuration: config, seed: 9)
        let batch = randomBatch(b: b, s: s, a: a, seed: 10)
        let before = learner
        learner.update(batch)

        // Critic loss as a function of the states (targets do not depend on s).
        let critic0 = before.critics[0], targetActor = before.targetActor, targetCritic = before.targetCritics[0]
        let q1 = targetCritic(Tensor.concatenateColumns(batch.nextStates, targetActor(batch.nextStates)))
        let y = Tensor((0..<b).map { batch.rewards[flat: $0] + config.gamma * batch.discounts[flat: $0] * q1[$0, 0] }).reshaped([b, 1])
        let criticNumeric = numericalGradient(
            of: { states in
                Double(MeanSquaredError.value(predicted: critic0(Tensor.concatenateColumns(states, batch.actions)), target: y, rowWeights: batch.weights))
            }, at: batch.states)
        assertClose(learner.criticStateGradient, criticNumeric, absolute: 2e-3, relative: 2e-2)

        // Actor loss −mean Q(s, μ(s)) with the updated critic and the actor before its step.
        let critic1 = learner.critics[0], actor0 = before.actor
        let actorNumeric = numericalGradient(
            of: { states in
                -Double(critic1(Tensor.concatenateColumns(states, actor0(states))).mean())
            }, at: batch.states)
        assertClose(learner.actorStateGradient, actorNumeric, absolute: 2e-3, relative: 2e-2)
    }

    func testTD3TargetUsesTheMinimumOfTwinCriticsAndDelaysTheActor() {
        let s = 3, a = 1, b = 6
        var config = DDPGConfiguration.td3
        config.targetPolicyNoise = 0  // deterministic target to check the min
        var learner = DDPGLearner(stateSize: s, actionSize: a, hiddenSizes: [8, 8], batchSize: b, configuration: config, seed: 11)
        XCTAssertEqual(learner.critics.count, 2)
        let batch = randomBatch(b: b, s: s, a: a, seed: 12)
        let na = learner.targetActor(batch.nextStates)
        let joined = Tensor.concatenateColumns(batch.nextStates, na)
        let qa = learner.targetCritics[0](joined), qb = learner.targetCritics[1](joined)
        let q = learner.critics[0](Tensor.concatenateColumns(batch.states, batch.actions))
        XCTAssertNotEqual(qa, qb)
        let actor0 = learner.actor.namedParameters(), target0 = learner.targetActor.namedParameters()
        let stats1 = learner.update(batch)
        for k in 0..<b {
            let y = batch.rewards[flat: k] + config.gamma * batch.discounts[flat: k] * min(qa[k, 0], qb[k, 0])
            XCTAssertEqual(learner.tdErrors[flat: k], y - q[k, 0], accuracy: 1e-5)
        }
        XCTAssertNil(stats1.actorLoss, "policy delay 2: the first actor update comes with the second critic update")
        XCTAssertEqual(learner.actor.namedParameters(), actor0)
        XCTAssertEqual(learner.targetActor.namedParameters(), target0, "targets move only with the actor")
        XCTAssertNotNil(learner.update(batch).actorLoss)
        let actor2 = learner.actor.namedParameters(), target2 = learner.targetActor.namedParameters()
        XCTAssertNotEqual(actor2, actor0)
        XCTAssertNotEqual(target2, target0)
        XCTAssertNil(learner.update(batch).actorLoss)
        XCTAssertEqual(learner.actor.namedParameters(), actor2)
        XCTAssertNotNil(learner.update(batch).actorLoss)
        XCTAssertEqual(learner.updateCount, 4)
    }

    func testTargetPolicySmoothingIsSeeded() {
        let batch = randomBatch(b: 8, s: 3, a: 2, seed: 13)
        func run(_ seed: UInt64) -> Tensor {
            var learner = DDPGLearner(stateSize: 3, actionSize: 2, hiddenSizes: [8], batchSize: 8, configuration: .td3, seed: seed)
            learner.update(batch)
            return learner.tdErrors
        }
        XCTAssertEqual(run(1), run(1))
    }

    func testGradientClippingBoundsTheStep() {
        var config = DDPGConfiguration.ddpg
        config.maxGradientNorm = 1e-3
        config.criticLearningRate = 1
        config.actorLearningRate = 1
        var learner = DDPGLearner(stateSize: 3, actionSize: 1, hiddenSizes: [8], batchSize: 4, configuration: config, seed: 14)
        let before = learner.critics[0]
        learner.update(randomBatch(b: 4, s: 3, a: 1, seed: 15))
        // Adam's first step moves each parameter by at most lr, whatever the gradient
        // scale; clipping keeps every moved parameter finite and the step bounded.
        for (name, p) in learner.critics[0].namedParameters() {
            let d = (p - before.namedParameters()[name]!).maxAbs()
            XCTAssert(d.isFinite && d <= 1.0001, "\(name) moved by \(d)")
        }
    }

    /// A one-step bandit with reward −(a − 0.5)²: the actor must learn a ≈ 0.5.
    func testLearnsABandit() {
        var config = DDPGConfiguration.ddpg
        config.actorLearningRate = 1e-3
        config.criticLearningRate = 1e-2
        var learner = DDPGLearner(stateSize: 2, actionSize: 1, hiddenSizes: [32, 32], batchSize: 64, configuration: config, seed: 16)
        var rng = testRNG(17)
        var batch = TransitionBatch(batchSize: 64, stateSize: 2, actionSize: 1)
        for _ in 0..<800 {
            batch.states = Tensor(randomNormal: [64, 2], using: &rng)
            batch.actions = Tensor(randomUniform: [64, 1], in: -1...1, using: &rng)
            batch.rewards = Tensor(batch.actions.scalars.map { -($0 - 0.5) * ($0 - 0.5) })
            batch.discounts = Tensor(zeros: [64])
            batch.nextStates = batch.states
            learner.update(batch)
        }
        let actions = learner.actor(Tensor(randomNormal: [20, 2], using: &rng))
        for i in 0..<20 { XCTAssertEqual(actions[i, 0], 0.5, accuracy: 0.1) }
    }
}

/// A warm update allocates nothing (run in debug and in release).
final class LearnerAllocationTests: XCTestCase {
    func check(_ config: DDPGConfiguration, file: StaticString = #filePath, line: UInt = #line) throws {
        var learner = DDPGLearner(stateSize: 30, actionSize: 10, hiddenSizes: [32, 32], batchSize: 16, configuration: config, seed: 1)
        let batch = randomBatch(b: 16, s: 30, a: 10, seed: 2)
        learner.update(batch)
        learner.update(batch)
        let n = try countAllocations { for _ in 0..<6 { learner.update(batch) } }
        XCTAssertEqual(n, 0, "a warm update must not allocate (\(config))", file: file, line: line)
    }

    func testWarmDDPGUpdateAllocatesNothing() throws { try check(.ddpg) }
    func testWarmTD3UpdateAllocatesNothing() throws { try check(.td3) }

    func testWarmUpdateWithStateGradientsAndClippingAllocatesNothing() throws {
        var config = DDPGConfiguration.td3
        config.computesStateGradients = true
        config.maxGradientNorm = 1
        try check(config)
    }

    /// WORKLOAD.md's `paper` configuration. OpenBLAS itself mallocs a job array for every
    /// GEMM it splits across threads, so this runs BLAS single-threaded (RecRL's code
    /// allocates nothing either way).
    func testPaperConfigurationWarmUpdateAllocatesNothing() throws {
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        var learner = DDPGLearner(stateSize: 300, actionSize: 100, hiddenSizes: [256, 256], batchSize: 64, seed: 3)
        let batch = randomBatch(b: 64, s: 300, a: 100, seed: 4)
        learner.update(batch)
        learner.update(batch)
        let n = try countAllocations { learner.update(batch) }
        XCTAssertEqual(n, 0)
    }

    func testAgentStepAllocatesNothingInTheLearnerPath() throws {
        var buffer = PrioritizedReplayBuffer(capacity: 100, stateSize: 3, actionSize: 1)
        var rng = testRNG(5)
        for _ in 0..<100 {
            buffer.add(
                state: Tensor(randomNormal: [3], using: &rng), action: Tensor([0.1]), reward: 1, discount: 1,
                nextState: Tensor(randomNormal: [3], using: &rng))
        }
        var learner = DDPGLearner(stateSize: 3, actionSize: 1, hiddenSizes: [8], batchSize: 8, seed: 6)
        var batch = TransitionBatch(batchSize: 8, stateSize: 3, actionSize: 1)
        func step() {
            buffer.sample(into: &batch, using: &rng)
            learner.update(batch)
            buffer.updatePriorities(indices: batch.indices, tdErrors: learner.tdErrors)
        }
        step(); step()
        let n = try countAllocations { for _ in 0..<5 { step() } }
        XCTAssertEqual(n, 0, "sample + update + priority update must not allocate once warm")
    }
}
