import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLTestSupport

/// Optimizer trajectories against golden values from Scripts/reference/optimizers.py
/// (numpy, float64). Tolerance: 1e-5 absolute + 1e-4 relative per element (float32).
final class OptimizerTests: XCTestCase {
    struct Golden: Decodable {
        struct Problem: Decodable {
            let weight0, bias0, weight_target, bias_target, weight_sign, bias_sign: [Float]
            let steps: Int
        }
        struct Step: Decodable { let weight, bias: [Float] }
        struct AdamRun: Decodable { let learning_rate, beta1, beta2, epsilon: Float; let trajectory: [Step] }
        struct SGDRun: Decodable { let learning_rate, momentum: Float; let trajectory: [Step] }
        let problem: Problem
        let adam: AdamRun
        let sgd_momentum: SGDRun
    }

    func golden() throws -> Golden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/optimizers.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    func run<O: Optimizer>(_ optimizer: inout O, _ g: Golden) throws -> [Golden.Step] {
        let p = g.problem
        var layer = try Dense(weight: Tensor(shape: [2, 3], scalars: p.weight0), bias: Tensor(p.bias0))
        let wt = try Tensor(shape: [2, 3], scalars: p.weight_target), bt = Tensor(p.bias_target)
        let ws = try Tensor(shape: [2, 3], scalars: p.weight_sign), bs = Tensor(p.bias_sign)
        var out: [Golden.Step] = []
        for t in 1...p.steps {
            var grad = layer
            grad.weight = 2 * (layer.weight - wt) + (0.1 * Float(t)) * ws
            grad.bias = 2 * (layer.bias - bt) + (0.1 * Float(t)) * bs
            optimizer.update(&layer, along: grad)
            out.append(.init(weight: layer.weight.scalars, bias: layer.bias.scalars))
        }
        return out
    }

    func testAdamMatchesNumpyReference() throws {
        let g = try golden()
        var adam = Adam(learningRate: g.adam.learning_rate, beta1: g.adam.beta1, beta2: g.adam.beta2, epsilon: g.adam.epsilon)
        let traj = try run(&adam, g)
        for (t, (mine, ref)) in zip(traj, g.adam.trajectory).enumerated() {
            assertClose(mine.weight, ref.weight, absolute: 1e-5, relative: 1e-4, "Adam weight at step \(t + 1)")
            assertClose(mine.bias, ref.bias, absolute: 1e-5, relative: 1e-4, "Adam bias at step \(t + 1)")
        }
        XCTAssertEqual(adam.step, 10)
    }

    func testSGDMomentumMatchesNumpyReference() throws {
        let g = try golden()
        var sgd = SGD(learningRate: g.sgd_momentum.learning_rate, momentum: g.sgd_momentum.momentum)
        let traj = try run(&sgd, g)
        for (t, (mine, ref)) in zip(traj, g.sgd_momentum.trajectory).enumerated() {
            assertClose(mine.weight, ref.weight, absolute: 1e-5, relative: 1e-4, "SGD weight at step \(t + 1)")
            assertClose(mine.bias, ref.bias, absolute: 1e-5, relative: 1e-4, "SGD bias at step \(t + 1)")
        }
    }

    func testAdamDefaultsAreThePapers() {
        let adam = Adam()
        XCTAssertEqual(adam.learningRate, 1e-3)
        XCTAssertEqual(adam.beta1, 0.9)
        XCTAssertEqual(adam.beta2, 0.999)
        XCTAssertEqual(adam.epsilon, 1e-8)
    }

    func testPlainSGDStep() throws {
        var layer = try Dense(weight: Tensor(shape: [1, 2], scalars: [1, 2]), bias: Tensor([3, 4]))
        var grad = layer
        grad.weight = try Tensor(shape: [1, 2], scalars: [10, -10])
        grad.bias = Tensor([1, 1])
        var sgd = SGD(learningRate: 0.1)
        sgd.update(&layer, along: grad)
        assertClose(layer.weight.scalars, [0, 3])
        assertClose(layer.bias.scalars, [2.9, 3.9])
    }

    func testClipByGlobalNorm() throws {
        var g = try Dense(weight: Tensor(shape: [1, 2], scalars: [3, 0]), bias: Tensor([0, 4]))
        let norm = clipByGlobalNorm(&g, maxNorm: 1)
        XCTAssertEqual(norm, 5)
        assertClose(g.weight.scalars, [0.6, 0])
        assertClose(g.bias.scalars, [0, 0.8])
        XCTAssertEqual(clipByGlobalNorm(&g, maxNorm: 10), 1, accuracy: 1e-6)
        assertClose(g.bias.scalars, [0, 0.8], "below the limit nothing changes")
    }

    func testSoftUpdateMatchesNaiveFormula() {
        var rng = testRNG(21)
        let source = MLP(sizes: [4, 5, 3], using: &rng)
        var target = MLP(sizes: [4, 5, 3], using: &rng)
        let before = target
        let tau: Float = 0.125
        softUpdate(&target, toward: source, tau: tau)
        let s = source.namedParameters(), b = before.namedParameters()
        for (name, t) in target.namedParameters() {
            let naive = tau * s[name]! + (1 - tau) * b[name]!
            assertClose(t, naive, absolute: 1e-7, relative: 1e-6, name)
        }
        softUpdate(&target, toward: source, tau: 1)
        XCTAssertEqual(target.namedParameters(), source.namedParameters(), "tau = 1 copies")
        XCTAssertEqual(before.namedParameters()["layers.0.weight"], b["layers.0.weight"], "the old copy is untouched (copy-on-write)")
    }

    /// Trains a small regressor twice from one seed: the weights must be bit-identical.
    func testSeededTrainingIsBitIdentical() {
        func train(seed: UInt64) -> [String: Tensor] {
            var rng = testRNG(seed)
            var model = MLP(sizes: [3, 16, 1], using: &rng)
            let x = Tensor(randomNormal: [32, 3], using: &rng)
            let y = x.sum(alongAxis: 1).reshaped([32, 1])
            var adam = Adam()
            var ctx = model.makeContext(), grad = model.zeroGradient(), dl = Tensor(zeros: [0])
            for _ in 0..<50 {
                model.forward(x, context: &ctx)
                MeanSquaredError.gradient(predicted: ctx.output, target: y, into: &dl)
                model.backward(
                    input: x, outputGradient: dl, context: &ctx, gradient: &grad,
                    computeParameterGradient: true, computeInputGradient: false)
                adam.update(&model, along: grad)
            }
            return model.namedParameters()
        }
        let a = train(seed: 5), b = train(seed: 5), c = train(seed: 6)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    /// Adam on a single tensor is Adam on a layer whose only parameter is that tensor (an
    /// `Embedding`'s table): the same bits at every step. Its first step is the known
    /// `p − lr · g / (|g| + ε)` (both bias-corrected moments equal `g` and `g²`), and warm
    /// steps allocate nothing.
    func testSingleTensorStepEqualsLayerStep() throws {
        var rng = testRNG(23)
        var layer = Embedding(count: 7, dimension: 5, using: &rng)
        var table = layer.weight
        let start = table
        var onLayer = Adam(learningRate: 3e-2, beta1: 0.8, beta2: 0.99, epsilon: 1e-6), onTensor = onLayer
        let gradients = (0..<6).map { _ in Tensor(randomNormal: [7, 5], using: &rng) }
        for (t, g) in gradients.enumerated() {
            var layerGradient = layer.zeroGradient()
            layerGradient.weight = g
            onLayer.update(&layer, along: layerGradient)
            onTensor.update(&table, along: g)
            XCTAssertEqual(table, layer.weight, "step \(t + 1)")
            XCTAssertEqual(onTensor.step, t + 1)
            if t == 0 {
                let expected = start - 3e-2 * gradients[0] / (gradients[0].map { abs($0) } + 1e-6)
                assertClose(table, expected, absolute: 1e-6, relative: 1e-5, "first step")
            }
        }
        XCTAssertEqual(onTensor.state.firstMoments, onLayer.state.firstMoments)
        XCTAssertEqual(onTensor.state.secondMoments, onLayer.state.secondMoments)
        let g = gradients[1]
        let allocations = try countAllocations { for _ in 0..<5 { onTensor.update(&table, along: g) } }
        XCTAssertEqual(allocations, 0, "a warm single-tensor Adam step must not allocate")
    }

    func testTrainingReducesLoss() {
        var rng = testRNG(22)
        var model = MLP(sizes: [2, 32, 1], using: &rng)
        let x = Tensor(randomUniform: [64, 2], in: -1...1, using: &rng)
        let y = x.map { $0 * $0 }.sum(alongAxis: 1).reshaped([64, 1])
        var adam = Adam(learningRate: 1e-2)
        var ctx = model.makeContext(), grad = model.zeroGradient(), dl = Tensor(zeros: [0])
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            model.forward(x, context: &ctx)
            last = MeanSquaredError.gradient(predicted: ctx.output, target: y, into: &dl)
            if step == 0 { first = last }
            model.backward(
                input: x, outputGradient: dl, context: &ctx, gradient: &grad,
                computeParameterGradient: true, computeInputGradient: false)
            adam.update(&model, along: grad)
        }
        XCTAssertLessThan(last, first * 0.05)
    }
}

/// The training step of an MLP reuses its buffers: no heap allocation once warm.
final class AllocationTests: XCTestCase {
    func testWarmTrainingStepAllocatesNothing() throws {
        var rng = testRNG(40)
        var model = MLP(sizes: [8, 32, 32, 4], hiddenActivation: .relu, outputActivation: .tanh, using: &rng)
        var target = model
        let x = Tensor(randomNormal: [16, 8], using: &rng)
        let y = Tensor(randomNormal: [16, 4], using: &rng)
        var adam = Adam(), ctx = model.makeContext(), grad = model.zeroGradient(), dl = Tensor(zeros: [0])
        func step() {
            model.forward(x, context: &ctx)
            MeanSquaredError.gradient(predicted: ctx.output, target: y, into: &dl)
            model.backward(
                input: x, outputGradient: dl, context: &ctx, gradient: &grad,
                computeParameterGradient: true, computeInputGradient: true)
            clipByGlobalNorm(&grad, maxNorm: 1)
            adam.update(&model, along: grad)
            softUpdate(&target, toward: model, tau: 0.01)
        }
        step(); step()
        let allocations = try countAllocations { for _ in 0..<10 { step() } }
        XCTAssertEqual(allocations, 0, "a warm training step must not allocate")
    }

    func testCounterSeesAllocations() throws {
        let n = try countAllocations { _ = Tensor(zeros: [1000]) }
        XCTAssertGreaterThan(n, 0, "the counter must see a tensor allocation")
    }
}
