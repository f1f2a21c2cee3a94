import XCTest
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLBenchmarkSupport
import RecRLTestSupport

/// The two-lane update (``DDPGLearner/parallelism`` ≥ 2) against the sequential one.
final class ParallelLearnerTests: XCTestCase {
    func makePair(
        s: Int, a: Int, hidden: [Int], b: Int, config: DDPGConfiguration = .ddpg,
        projection: (any ActionProjection)? = nil, seed: UInt64
    )
        -> (DDPGLearner<MLPActor, MLPCritic>, DDPGLearner<MLPActor, MLPCritic>)
    {
        var sequential = DDPGLearner(stateSize: s, actionSize: a, hiddenSizes: hidden, batchSize: b, configuration: config, seed: seed)
        sequential.targetActionProjection = projection
        var parallel = sequential
        parallel.parallelism = 2
        return (sequential, parallel)
    }

    func assertNetworksClose<L: Layer>(_ x: L, _ y: L, tolerance: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let px = x.namedParameters(), py = y.namedParameters()
        XCTAssertEqual(Set(px.keys), Set(py.keys))
        for (name, p) in px {
            assertClose(p, py[name]!, absolute: tolerance, relative: tolerance, "\(what) \(name)", file: file, line: line)
        }
    }

    /// Each of 20 updates agrees on both paths to float rounding (losses, TD errors, every
    /// network), starting every update from the same weights: the two-lane path is
    /// re-synchronised from the sequential one before each update. (Run freely, the two
    /// trajectories drift apart by more than rounding once a ReLU pre-activation near 0
    /// lands on different sides of it, as any change of summation order can make it do.)
    func checkAgreement(
        s: Int, a: Int, hidden: [Int], b: Int, config: DDPGConfiguration = .ddpg,
        projection: (any ActionProjection)? = nil, seed: UInt64
    ) {
        var (sequential, parallel) = makePair(s: s, a: a, hidden: hidden, b: b, config: config, projection: projection, seed: seed)
        XCTAssertFalse(sequential.usesParallelPath)
        XCTAssertTrue(parallel.usesParallelPath)
        for t in 0..<20 {
            if t > 0 {
                parallel = sequential
                parallel.parallelism = 2
            }
            let batch = randomBatch(b: b, s: s, a: a, seed: seed &+ UInt64(t % 3))
            let x = sequential.update(batch), y = parallel.update(batch)
            XCTAssertEqual(x.criticLoss, y.criticLoss, accuracy: 1e-4 * max(1, abs(x.criticLoss)), "critic loss at \(t)")
            XCTAssertEqual(x.actorLoss!, y.actorLoss!, accuracy: 1e-4 * max(1, abs(x.actorLoss!)), "actor loss at \(t)")
            assertClose(sequential.tdErrors, parallel.tdErrors, absolute: 1e-4, relative: 1e-4, "TD errors at \(t)")
            if config.computesStateGradients {
                XCTAssertEqual(parallel.criticStateGradient.shape, [b, s])
                XCTAssertEqual(parallel.actorStateGradient.shape, [b, s])
                assertClose(
                    sequential.criticStateGradient, parallel.criticStateGradient, absolute: 1e-5, relative: 1e-4,
                    "critic state gradient at \(t)")
                assertClose(
                    sequential.actorStateGradient, parallel.actorStateGradient, absolute: 1e-5, relative: 1e-4,
                    "actor state gradient at \(t)")
            }
            XCTAssertEqual(sequential.updateCount, parallel.updateCount)
            assertNetworksClose(sequential.actor, parallel.actor, tolerance: 1e-4, "actor at \(t)")
            assertNetworksClose(sequential.critics[0], parallel.critics[0], tolerance: 1e-4, "critic at \(t)")
            assertNetworksClose(sequential.targetActor, parallel.targetActor, tolerance: 1e-5, "target actor at \(t)")
            assertNetworksClose(sequential.targetCritics[0], parallel.targetCritics[0], tolerance: 1e-5, "target critic at \(t)")
        }
    }

    func testTwoLanePathAgreesWithSequentialPath() {
        checkAgreement(s: 12, a: 4, hidden: [32, 32], b: 16, seed: 21)
    }

    func testTwoLanePathAgreesOnOddSizesAndOtherDepths() {
        checkAgreement(s: 7, a: 3, hidden: [19], b: 5, seed: 22)
        checkAgreement(s: 9, a: 35, hidden: [40, 33, 17], b: 9, seed: 23)
        // No hidden layer: each network is its first layer (whose Adam step runs beside its
        // weight gradient) and the critic's head at once.
        checkAgreement(s: 11, a: 6, hidden: [], b: 7, seed: 25)
    }

    func testTwoLanePathAgreesOnPaperShapes() {
        checkAgreement(s: 300, a: 100, hidden: [256, 256], b: 64, seed: 24)
    }

    /// DRR's settings: `dL/ds` of both losses and TD targets on projected target actions.
    func testTwoLanePathAgreesWithStateGradientsAndProjection() {
        let config = DDPGConfiguration(computesStateGradients: true)
        checkAgreement(s: 12, a: 4, hidden: [32, 32], b: 16, config: config, seed: 50)
        checkAgreement(s: 9, a: 35, hidden: [40, 33, 17], b: 9, config: config, seed: 51)
        checkAgreement(s: 11, a: 6, hidden: [], b: 7, config: config, seed: 52)
        checkAgreement(s: 12, a: 4, hidden: [32, 32], b: 16, projection: GridProjection(candidates: 5, width: 4, seed: 53), seed: 54)
        checkAgreement(
            s: 30, a: 10, hidden: [32, 24], b: 16, config: config,
            projection: GridProjection(candidates: 7, width: 10, seed: 55), seed: 56)
    }

    /// The state gradients are the real ones: a finite difference of the critic loss along
    /// one state entry matches `criticStateGradient` (critic weights as before the update).
    func testTwoLaneCriticStateGradientMatchesFiniteDifference() {
        let (s, a, b) = (5, 2, 4)
        var learner = DDPGLearner(
            stateSize: s, actionSize: a, hiddenSizes: [8], batchSize: b,
            configuration: DDPGConfiguration(computesStateGradients: true), seed: 60)
        learner.parallelism = 2
        let batch = randomBatch(b: b, s: s, a: a, seed: 61)
        let critic = learner.critics[0], targetActor = learner.targetActor, targetCritic = learner.targetCritics[0]
        learner.update(batch)
        XCTAssertTrue(learner.usesParallelPath)
        // The loss as a function of the states, with the targets from s' fixed.
        let y = (0..<b).map { k -> Float in
            let next = batch.nextStates.row(k).reshaped([1, s])
            let q = targetCritic(Tensor.concatenateColumns(next, targetActor(next)))
            return batch.rewards[flat: k] + 0.9 * batch.discounts[flat: k] * q[flat: 0]
        }
        func loss(_ states: Tensor) -> Double {
            let q = critic(Tensor.concatenateColumns(states, batch.actions))
            return (0..<b).reduce(0.0) { $0 + Double(batch.weights[flat: $1]) * pow(Double(q[flat: $1] - y[$1]), 2) } / Double(b)
        }
        for (row, col) in [(0, 0), (1, 3), (3, 4)] {
            var plus = batch.states, minus = batch.states
            let h: Float = 1e-2
            plus[flat: row * s + col] += h
            minus[flat: row * s + col] -= h
            let numeric = (loss(plus) - loss(minus)) / Double(2 * h)
            XCTAssertEqual(
                Double(learner.criticStateGradient[flat: row * s + col]), numeric,
                accuracy: 2e-3 * max(1, abs(numeric)), "dL/ds[\(row), \(col)]")
        }
    }

    func testTwoLanePathIsDeterministic() {
        func run() -> [String: Tensor] {
            var learner = TrainingWorkload.tiny.makeLearner(seed: 5)
            learner.parallelism = 2
            let batch = TrainingWorkload.tiny.makeBatch(seed: 6)
            for _ in 0..<20 { learner.update(batch) }
            var out = learner.actor.namedParameters(prefix: "actor.")
            out.merge(learner.critics[0].namedParameters(prefix: "critic."), uniquingKeysWith: { a, _ in a })
            out.merge(learner.targetActor.namedParameters(prefix: "targetActor."), uniquingKeysWith: { a, _ in a })
            return out
        }
        let first = run(), second = run()
        XCTAssertEqual(first, second, "same seed, same weights, bit for bit")
    }

    func testOtherConfigurationsUseTheSequentialPath() {
        for config in [DDPGConfiguration.td3, DDPGConfiguration(maxGradientNorm: 1), DDPGConfiguration(policyDelay: 2)] {
            var learner = DDPGLearner(stateSize: 6, actionSize: 2, hiddenSizes: [8, 8], batchSize: 4, configuration: config, seed: 1)
            learner.parallelism = 2
            XCTAssertFalse(learner.usesParallelPath, "\(config)")
            var reference = DDPGLearner(stateSize: 6, actionSize: 2, hiddenSizes: [8, 8], batchSize: 4, configuration: config, seed: 1)
            let batch = randomBatch(b: 4, s: 6, a: 2, seed: 2)
            for _ in 0..<3 {
                XCTAssertEqual(learner.update(batch), reference.update(batch))
            }
        }
        var rng = testRNG(3)
        let spec = try! BoundedSpec(shape: [2], minimum: [0, -2], maximum: [1, 2])
        let actor = MLPActor(stateSize: 6, actionSize: 2, hiddenSizes: [8], actionSpec: spec, using: &rng)
        let critic = MLPCritic(stateSize: 6, actionSize: 2, hiddenSizes: [8], using: &rng)
        var scaled = DDPGLearner(actor: actor, critic: critic)
        scaled.parallelism = 2
        XCTAssertFalse(scaled.usesParallelPath, "scaled actions use the sequential path")
    }

    func testCopiedLearnersUpdateIndependently() {
        var (_, a) = makePair(s: 6, a: 2, hidden: [8, 8], b: 4, seed: 30)
        let batch = randomBatch(b: 4, s: 6, a: 2, seed: 31)
        a.update(batch)
        var b = a
        let x = a.update(batch), y = b.update(batch)
        XCTAssertEqual(x, y)
        XCTAssertEqual(a.actor.namedParameters(), b.actor.namedParameters())
    }

    func testWarmTwoLaneUpdateAllocatesNothing() throws {
        for (s, a, h, b) in [(30, 10, 32, 16), (300, 100, 256, 64)] {
            var learner = DDPGLearner(stateSize: s, actionSize: a, hiddenSizes: [h, h], batchSize: b, seed: 1)
            learner.parallelism = 2
            let batch = randomBatch(b: b, s: s, a: a, seed: 2)
            learner.update(batch)
            learner.update(batch)
            let n = try countAllocations { for _ in 0..<6 { learner.update(batch) } }
            XCTAssertEqual(n, 0, "a warm two-lane update must not allocate (S \(s), H \(h), B \(b))")
        }
    }

    func testPhaseTimingsNameEveryPhaseAndAddUp() {
        var (sequential, learner) = makePair(s: 12, a: 4, hidden: [32, 32], b: 16, seed: 40)
        let batch = randomBatch(b: 16, s: 12, a: 4, seed: 41)
        learner.update(batch)
        XCTAssertEqual(learner.phaseTimings, [], "not profiled: no timings")
        learner.profilesPhases = true
        for _ in 0..<7 { learner.update(batch) }
        let timings = learner.phaseTimings
        let expected: [(String, Int)] = [
            ("forward", 0), ("critic backward", 2), ("critic backward", 1), ("critic first layer", 0),
            ("actor pass: critic forward", 0), ("actor pass: critic forward", 1),
            ("actor pass: critic backward", 1), ("actor pass: critic backward", 0),
            ("actor backward", 2), ("actor backward", 1), ("actor first layer", 0),
        ]
        XCTAssertEqual(timings.map(\.name), expected.map(\.0))
        XCTAssertEqual(timings.map(\.layer), expected.map(\.1))
        for t in timings {
            XCTAssertEqual(t.updates, 7, t.name)
            XCTAssertTrue((0...7).contains(t.oneLaneRuns), t.name)
            XCTAssertGreaterThan(t.wallNanoseconds, 0, t.name)
            // Both tasks run between the phase's publication and its barrier.
            XCTAssertGreaterThanOrEqual(t.wallNanoseconds, max(t.task0Nanoseconds, t.task1Nanoseconds), "\(t.name) \(t.layer)")
        }
        learner.resetPhaseTimings()
        XCTAssertEqual(learner.phaseTimings, [])
        for _ in 0..<3 { learner.update(batch) }
        XCTAssertEqual(learner.phaseTimings.map(\.updates), Array(repeating: 3, count: 11))
        sequential.profilesPhases = true
        sequential.update(batch)
        XCTAssertEqual(sequential.phaseTimings, [], "the sequential path has no phases")
    }

    func testProfilingDoesNotChangeResults() {
        var (_, plain) = makePair(s: 9, a: 3, hidden: [24, 16], b: 8, seed: 42)
        var profiled = plain
        profiled.profilesPhases = true
        for t in 0..<5 {
            let batch = randomBatch(b: 8, s: 9, a: 3, seed: 43 &+ UInt64(t))
            XCTAssertEqual(plain.update(batch), profiled.update(batch), "update \(t)")
        }
        XCTAssertEqual(plain.actor.namedParameters(), profiled.actor.namedParameters())
        XCTAssertEqual(plain.critics[0].namedParameters(), profiled.critics[0].namedParameters())
        XCTAssertEqual(profiled.phaseTimings.first?.updates, 5)
    }

    func testWarmTwoLaneUpdateWithStateGradientsAndProjectionAllocatesNothing() throws {
        var learner = DDPGLearner(
            stateSize: 30, actionSize: 10, hiddenSizes: [32, 32], batchSize: 16,
            configuration: DDPGConfiguration(computesStateGradients: true), seed: 1)
        learner.targetActionProjection = GridProjection(candidates: 9, width: 10, seed: 3)
        learner.parallelism = 2
        let batch = randomBatch(b: 16, s: 30, a: 10, seed: 2)
        learner.update(batch)
        learner.update(batch)
        XCTAssertTrue(learner.usesParallelPath)
        let n = try countAllocations { for _ in 0..<6 { learner.update(batch) } }
        XCTAssertEqual(n, 0, "a warm two-lane update with DRR's settings must not allocate")
    }

    func testWarmProfiledUpdateAllocatesNothing() throws {
        var learner = DDPGLearner(stateSize: 30, actionSize: 10, hiddenSizes: [32, 32], batchSize: 16, seed: 1)
        learner.parallelism = 2
        learner.profilesPhases = true
        let batch = randomBatch(b: 16, s: 30, a: 10, seed: 2)
        learner.update(batch)
        learner.update(batch)
        let n = try countAllocations { for _ in 0..<6 { learner.update(batch) } }
        XCTAssertEqual(n, 0, "profiling must not allocate in the hot path")
    }
}

/// Maps each action row onto the candidate row with the highest dot product (ties: the
/// first), like DRR's nearest-item projection, on a fixed random candidate set.
struct GridProjection: ActionProjection {
    /// `count` candidate rows of `width`, row-major.
    let candidates: [Float]
    let count: Int

    init(candidates n: Int, width: Int, seed: UInt64) {
        var rng = testRNG(seed)
        candidates = (0..<(n * width)).map { _ in Float.random(in: -1...1, using: &rng) }
        count = n
    }

    mutating func project(_ actions: inout Tensor) {
        let k = actions.columns, n = count
        candidates.withUnsafeBufferPointer { c in
            actions.withUnsafeMutableBufferPointer { p in
                for row in 0..<(p.count / k) {
                    var best = 0, bestScore = -Float.infinity
                    for j in 0..<n {
                        var score: Float = 0
                        for i in 0..<k { score += c[j * k + i] * p[row * k + i] }
                        if score > bestScore { best = j; bestScore = score }
                    }
                    for i in 0..<k { p[row * k + i] = c[best * k + i] }
                }
            }
        }
    }
}
