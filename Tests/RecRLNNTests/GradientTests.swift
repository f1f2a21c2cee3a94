import XCTest
import RecRLTensor
import RecRLNN
import RecRLTestSupport

/// Finite-difference gradient checks. Tolerance for every check: per element
/// `|analytic − numeric| ≤ 2e-3 + 2e-2 · |numeric|`, central differences with step 5e-3.
final class GradientTests: XCTestCase {
    func input(_ rows: Int, _ cols: Int, seed: UInt64 = 1) -> Tensor {
        var rng = testRNG(seed)
        // Keep pre-activations away from ReLU's kink relative to the FD step.
        return Tensor(randomUniform: [rows, cols], in: -1...1, using: &rng)
    }

    func testDenseGradientsForEveryActivation() {
        for activation in Activation.allCases {
            var rng = testRNG(UInt64(activation.rawValue) + 100)
            var layer = Dense(inputSize: 5, outputSize: 4, activation: activation, using: &rng)
            layer.bias = Tensor(randomUniform: [4], in: -0.5...0.5, using: &rng)
            checkLayerGradients(layer, input: input(3, 5))
        }
    }

    func testActivationLayerGradients() {
        let x = input(4, 6, seed: 2)
        checkLayerGradients(ReLU(), input: x)
        checkLayerGradients(Tanh(), input: x)
        checkLayerGradients(Sigmoid(), input: x)
        checkLayerGradients(Identity(), input: x)
    }

    func testActivationValues() throws {
        let x = try Tensor(shape: [1, 3], scalars: [-1, 0, 2])
        XCTAssertEqual(ReLU()(x).scalars, [0, 0, 2])
        assertClose(Tanh()(x).scalars, [-0.7615942, 0, 0.9640276])
        assertClose(Sigmoid()(x).scalars, [0.26894142, 0.5, 0.8807971])
        XCTAssertEqual(Identity()(x), x)
    }

    func testSequentialGradients() {
        var rng = testRNG(3)
        let model = Sequential(
            Dense(inputSize: 4, outputSize: 6, using: &rng),
            Sequential(Tanh(), Dense(inputSize: 6, outputSize: 2, activation: .sigmoid, using: &rng)))
        checkLayerGradients(model, input: input(5, 4, seed: 3))
        var names: [String] = []
        model.forEachParameter { n, _ in names.append(n) }
        XCTAssertEqual(names, ["0.weight", "0.bias", "1.1.weight", "1.1.bias"])
    }

    func testMLPGradientsAndNames() {
        var rng = testRNG(4)
        let mlp = MLP(sizes: [6, 8, 8, 3], hiddenActivation: .relu, outputActivation: .tanh, using: &rng)
        checkLayerGradients(mlp, input: input(4, 6, seed: 4))
        XCTAssertEqual(mlp.parameterCount, 6 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3)
        XCTAssertEqual(
            Array(mlp.namedParameters().keys).sorted(),
            ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight", "layers.2.bias", "layers.2.weight"])
    }

    func testMLPMatchesManualComposition() {
        var rng = testRNG(5)
        let mlp = MLP(sizes: [3, 4, 2], using: &rng)
        let x = input(2, 3, seed: 5)
        let manual = mlp.layers[1](mlp.layers[0](x))
        XCTAssertEqual(mlp(x), manual)
        XCTAssertEqual(mlp.layers[0].activation, .relu)
        XCTAssertEqual(mlp.layers[1].activation, .identity)
    }

    func testFrozenParametersAndSkippedInputGradient() {
        var rng = testRNG(6)
        let mlp = MLP(sizes: [3, 4, 2], using: &rng)
        let x = input(2, 3, seed: 6)
        var ctx = mlp.makeContext()
        mlp.forward(x, context: &ctx)
        var g = mlp.zeroGradient()
        mlp.backward(
            input: x, outputGradient: Tensor(shape: [2, 2], repeating: 1), context: &ctx, gradient: &g,
            computeParameterGradient: false, computeInputGradient: true)
        XCTAssertEqual(g.globalNorm, 0, "frozen weights get no gradient")
        let reference = mlp.gradient(at: x, outputGradient: Tensor(shape: [2, 2], repeating: 1)).input
        XCTAssertEqual(ctx.inputGradient, reference)
    }

    func testColumnConcatenationGradientSplit() throws {
        var rng = testRNG(7)
        let critic = MLP(sizes: [5, 6, 1], using: &rng)
        let s = input(3, 3, seed: 7), a = input(3, 2, seed: 8)
        var cat = ColumnConcatenation()
        let joined = cat.join(s, a)
        let r = Tensor(shape: [3, 1], repeating: 1)
        let g = critic.gradient(at: joined, outputGradient: r).input
        cat.split(g)
        let numericA = numericalGradient(of: { weightedSum(critic(Tensor.concatenateColumns(s, $0)), r) }, at: a)
        assertClose(cat.secondGradient, numericA, absolute: 2e-3, relative: 2e-2)
        XCTAssertEqual(cat.firstGradient.shape, [3, 3])
    }

    func testMeanSquaredErrorValueAndGradient() throws {
        let p = try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let y = try Tensor(shape: [2, 2], scalars: [0, 2, 5, 4])
        XCTAssertEqual(MeanSquaredError.value(predicted: p, target: y), 5.0 / 4.0)
        var g = Tensor(zeros: [0])
        let loss = MeanSquaredError.gradient(predicted: p, target: y, into: &g)
        XCTAssertEqual(loss, 1.25)
        let numeric = numericalGradient(of: { Double(MeanSquaredError.value(predicted: $0, target: y)) }, at: p)
        assertClose(g, numeric, absolute: 1e-3, relative: 1e-2)
        let w = Tensor([2, 0.5])
        XCTAssertEqual(MeanSquaredError.value(predicted: p, target: y, rowWeights: w), (2 * 1 + 0.5 * 4) / 4)
        let numericW = numericalGradient(of: { Double(MeanSquaredError.value(predicted: $0, target: y, rowWeights: w)) }, at: p)
        MeanSquaredError.gradient(predicted: p, target: y, rowWeights: w, into: &g)
        assertClose(g, numericW, absolute: 1e-3, relative: 1e-2)
    }

    func testHuberValueAndGradient() throws {
        let p = try Tensor(shape: [1, 4], scalars: [0.2, -3, 1.4, 0])
        let y = Tensor(zeros: [1, 4])
        // d = 0.2 -> 0.02; d = -3 -> 1*(3 - 0.5) = 2.5; d = 1.4 -> 0.9; d = 0 -> 0
        assertClose(HuberLoss.value(predicted: p, target: y, delta: 1), (0.02 + 2.5 + 0.9) / 4)
        var g = Tensor(zeros: [0])
        HuberLoss.gradient(predicted: p, target: y, delta: 1, into: &g)
        let numeric = numericalGradient(of: { Double(HuberLoss.value(predicted: $0, target: y, delta: 1)) }, at: p)
        assertClose(g, numeric, absolute: 1e-3, relative: 1e-2)
    }

    func testSoftmaxCrossEntropyKnownAnswerAndIgnoredRows() throws {
        // Row 0: logits (0, ln 3), target 1 -> softmax (1/4, 3/4), loss −ln(3/4), gradient scale · (1/4, −1/4).
        // Row 1: target −1 -> ignored. Row 2: logits (1000, 1000) (shifted by the max), target 0 -> ln 2.
        var z = try Tensor(shape: [3, 2], scalars: [0, Float(log(3.0)), 5, -2, 1000, 1000])
        let loss = SoftmaxCrossEntropy.replaceWithGradient(&z, targets: [1, -1, 0], scale: 0.5)
        XCTAssertEqual(Double(loss), -log(0.75) + log(2), accuracy: 1e-5)
        let want: [Float] = [0.125, -0.125, 0, 0, -0.25, 0.25]
        for (got, w) in zip(z.scalars, want) { XCTAssertEqual(got, w, accuracy: 1e-6) }
        // Against finite differences of the loss on random logits.
        var rng = testRNG(4)
        let logits = Tensor(randomUniform: [2, 5], in: -2...2, using: &rng)
        var g = logits
        SoftmaxCrossEntropy.replaceWithGradient(&g, targets: [3, 0], scale: 1)
        let numeric = numericalGradient(
            of: { x in
                var copy = x
                return Double(SoftmaxCrossEntropy.replaceWithGradient(&copy, targets: [3, 0], scale: 1))
            }, at: logits)
        assertClose(g, numeric, absolute: 1e-3, relative: 1e-2)
    }
}
