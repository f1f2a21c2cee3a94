import XCTest
import RecRLTensor
import RecRLNN
import RecRLTestSupport

/// Finite-difference checks of the sequence, image, lookup and normalisation layers, for
/// the input and every parameter (tolerance as in `GradientTests`: `2e-3 + 2e-2 · |numeric|`,
/// central differences with step 5e-3), including masks and the GRU's initial and final state.
final class LayerGradientTests: XCTestCase {
    func uniform(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = testRNG(seed)
        return Tensor(randomUniform: shape, in: -scale...scale, using: &rng)
    }

    /// Checks `analytic` parameters and input gradient of `L = loss(layer, input)` numerically.
    func check<L: Layer>(
        _ layer: L, input: Tensor, inputGradient: Tensor?, parameterGradient: L,
        loss: (L, Tensor) -> Double, file: StaticString = #filePath, line: UInt = #line
    ) {
        if let inputGradient {
            let numeric = numericalGradient(of: { loss(layer, $0) }, at: input)
            assertClose(inputGradient, numeric, absolute: 2e-3, relative: 2e-2, "input gradient of \(L.self)", file: file, line: line)
        }
        let analytic = parameterGradient.namedParameters()
        for (name, p) in layer.namedParameters() {
            let numeric = numericalGradient(
                of: { value in
                    var l = layer
                    l.visitParameters { n, q in if n == name { q = value } }
                    return loss(l, input)
                }, at: p)
            guard let a = analytic[name] else { XCTFail("no gradient for \(name)", file: file, line: line); continue }
            assertClose(a, numeric, absolute: 2e-3, relative: 2e-2, "gradient of \(name) in \(L.self)", file: file, line: line)
        }
    }

    func testLayerNormGradients() throws {
        var layer = LayerNorm(size: 5)
        layer.scale = uniform([5], seed: 1, scale: 2)
        layer.offset = uniform([5], seed: 2)
        checkLayerGradients(layer, input: uniform([3, 10], seed: 3, scale: 2))
        checkLayerGradients(layer, input: uniform([4, 5], seed: 4))
    }

    func testLayerNormNormalises() throws {
        let x = try Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])
        let y = LayerNorm(size: 4, epsilon: 0)(x)
        // mean 2.5, biased variance 1.25
        let s = 1 / Float(1.25).squareRoot()
        assertClose(y.scalars, [-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s])
    }

    func testEmbeddingLookupAndSparseGradient() throws {
        var rng = testRNG(10)
        let layer = Embedding(count: 6, dimension: 3, using: &rng)
        let indices = try Tensor(shape: [2, 3], scalars: [1, 4, 1, 0, 5, 4])
        var ctx = layer.makeContext()
        layer.forward(indices, context: &ctx)
        XCTAssertEqual(ctx.output.shape, [2, 9])
        XCTAssertEqual(Array(ctx.output.scalars[3..<6]), layer.weight.row(4).scalars)
        let r = uniform([2, 9], seed: 11)
        var g = layer.zeroGradient()
        layer.backward(
            input: indices, outputGradient: r, context: &ctx, gradient: &g,
            computeParameterGradient: true, computeInputGradient: true)
        XCTAssertEqual(Array(g.touchedRows), [1, 4, 0, 5])
        XCTAssertEqual(ctx.inputGradient, Tensor(zeros: [2, 3]))
        let numeric = numericalGradient(
            of: { w in
                var l = layer
                l.weight = w
                return weightedSum(l(indices), r)
            }, at: layer.weight)
        assertClose(g.weight, numeric, absolute: 2e-3, relative: 2e-2)
        // A second backward with other indices clears the rows of the first one.
        let other = try Tensor(shape: [1, 2], scalars: [2, 2])
        layer.forward(other, context: &ctx)
        layer.backward(
            input: other, outputGradient: Tensor(shape: [1, 6], repeating: 1), context: &ctx, gradient: &g,
            computeParameterGradient: true, computeInputGradient: false)
        XCTAssertEqual(Array(g.touchedRows), [2])
        var expected = Tensor(zeros: [6, 3])
        for j in 0..<3 { expected[2, j] = 2 }
        XCTAssertEqual(g.weight, expected)
    }

    func testEmbeddingValidatesIndices() throws {
        var rng = testRNG(12)
        let layer = Embedding(count: 4, dimension: 2, using: &rng)
        XCTAssertNoThrow(try layer.validate(indices: Tensor([0, 3, 2])))
        XCTAssertThrowsError(try layer.validate(indices: Tensor([0, 4])))
        XCTAssertThrowsError(try layer.validate(indices: Tensor([-1])))
        XCTAssertThrowsError(try layer.validate(indices: Tensor([1.5])))
        XCTAssertThrowsError(try Embedding(weight: Tensor([1, 2])))
    }

    func testAttentionPoolingGradientsWithMask() throws {
        var rng = testRNG(20)
        let layers = [
            AttentionPooling(dotProductOfSize: 4, using: &rng),
            AttentionPooling(additiveOfSize: 4, attentionSize: 3, using: &rng),
        ]
        let x = uniform([3, 20], seed: 21, scale: 1.5)
        let mask = try Tensor(shape: [3, 5], scalars: [1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0])
        let r = uniform([3, 4], seed: 22)
        for layer in layers {
            checkLayerGradients(layer, input: x)
            var ctx = layer.makeContext()
            layer.forward(x, mask: mask, context: &ctx)
            var g = layer.zeroGradient()
            layer.backward(input: x, outputGradient: r, context: &ctx, gradient: &g, computeParameterGradient: true, computeInputGradient: true)
            check(layer, input: x, inputGradient: ctx.inputGradient, parameterGradient: g) { l, input in
                var c = l.makeContext()
                l.forward(input, mask: mask, context: &c)
                return weightedSum(c.output, r)
            }
            // Masked steps get weight 0, the single valid step of row 2 weight 1.
            XCTAssertEqual(ctx.weights[1, 1], 0)
            XCTAssertEqual(ctx.weights[1, 3], 0)
            XCTAssertEqual(ctx.weights[2, 0], 1)
            assertClose(Array(ctx.output.scalars[8..<12]), Array(x.scalars[40..<44]))
        }
    }

    func testAttentionPoolingOfFullyMaskedRowIsZero() throws {
        var rng = testRNG(23)
        let layer = AttentionPooling(dotProductOfSize: 2, using: &rng)
        let x = uniform([1, 6], seed: 24)
        var ctx = layer.makeContext()
        layer.forward(x, mask: Tensor(zeros: [1, 3]), context: &ctx)
        XCTAssertEqual(ctx.output, Tensor(zeros: [1, 2]))
    }

    func testGRUGradientsThroughTime() throws {
        var rng = testRNG(30)
        let gru = GRU(inputSize: 3, hiddenSize: 4, using: &rng)
        checkLayerGradients(gru, input: uniform([2, 12], seed: 31))
    }

    func testGRUGradientsWithMaskInitialAndFinalState() throws {
        var rng = testRNG(32)
        let gru = GRU(inputSize: 3, hiddenSize: 4, using: &rng)
        let x = uniform([3, 12], seed: 33)
        let h0 = uniform([3, 4], seed: 34)
        let mask = try Tensor(shape: [3, 4], scalars: [1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1])
        let r = uniform([3, 16], seed: 35), rT = uniform([3, 4], seed: 36)
        func loss(_ l: GRU, _ input: Tensor, _ initial: Tensor) -> Double {
            var c = l.makeContext()
            l.forward(input, initialState: initial, mask: mask, context: &c)
            return weightedSum(c.output, r) + weightedSum(c.finalState, rT)
        }
        var ctx = gru.makeContext()
        gru.forward(x, initialState: h0, mask: mask, context: &ctx)
        var g = gru.zeroGradient()
        gru.backward(
            input: x, outputGradient: r, finalStateGradient: rT, context: &ctx, gradient: &g,
            computeParameterGradient: true, computeInputGradient: true)
        check(gru, input: x, inputGradient: ctx.inputGradient, parameterGradient: g) { l, input in loss(l, input, h0) }
        let numericH0 = numericalGradient(of: { loss(gru, x, $0) }, at: h0)
        assertClose(ctx.initialStateGradient, numericH0, absolute: 2e-3, relative: 2e-2, "initial state gradient")
        // Padded steps output 0 and carry the state: row 1 ends in its step-1 state.
        XCTAssertEqual(Array(ctx.output.scalars[16 + 8..<16 + 16]), [Float](repeating: 0, count: 8))
        XCTAssertEqual(Array(ctx.finalState.scalars[4..<8]), Array(ctx.output.scalars[16 + 4..<16 + 8]))
        // Padded input steps get no gradient.
        XCTAssertEqual(Array(ctx.inputGradient.scalars[12 + 6..<12 + 12]), [Float](repeating: 0, count: 6))
    }

    func testConv2DGradients() throws {
        var rng = testRNG(40)
        for (stride, padding, activation) in [(1, 0, Activation.identity), (2, 1, .tanh), (1, 1, .sigmoid)] {
            let conv = try Conv2D(
                inputHeight: 4, inputWidth: 5, inChannels: 2, outChannels: 3, kernelHeight: 3, kernelWidth: 2,
                stride: stride, padding: padding, activation: activation, using: &rng)
            checkLayerGradients(conv, input: uniform([2, 40], seed: UInt64(41 + stride)))
        }
        let pointwise = try Conv2D(
            inputHeight: 2, inputWidth: 3, inChannels: 4, outChannels: 2, kernelHeight: 1, kernelWidth: 1,
            activation: .sigmoid, using: &rng)
        checkLayerGradients(pointwise, input: uniform([3, 24], seed: 45))
    }

    func testConvTranspose2DGradients() throws {
        var rng = testRNG(50)
        for (stride, padding, outputPadding) in [(1, 0, 0), (2, 1, 1), (2, 0, 0), (3, 1, 2)] {
            let deconv = try ConvTranspose2D(
                inputHeight: 2, inputWidth: 3, inChannels: 3, outChannels: 2, kernelHeight: 3,
                kernelWidth: 3, stride: stride, padding: padding, outputPadding: outputPadding,
                activation: .tanh, using: &rng)
            XCTAssertEqual(deconv.outputHeight, (2 - 1) * stride - 2 * padding + 3 + outputPadding)
            checkLayerGradients(deconv, input: uniform([2, 18], seed: UInt64(51 + stride)))
        }
    }

    /// Transposed convolution is the adjoint of convolution: ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ with the same kernel.
    func testConvTransposeIsAdjointOfConv() throws {
        var rng = testRNG(55)
        let conv = try Conv2D(
            inputHeight: 5, inputWidth: 4, inChannels: 2, outChannels: 3, kernelHeight: 3, kernelWidth: 3,
            stride: 2, padding: 1, using: &rng)
        // Conv weight [kh, kw, in, out] -> transposed conv weight [in', kh, kw, out'] with in' = 3, out' = 2.
        var w = Tensor(zeros: [3, 3, 3, 2])
        for ky in 0..<3 {
            for kx in 0..<3 {
                for ci in 0..<2 {
                    for co in 0..<3 {
                        w[flat: ((co * 3 + ky) * 3 + kx) * 2 + ci] = conv.weight[flat: ((ky * 3 + kx) * 2 + ci) * 3 + co]
                    }
                }
            }
        }
        let deconv = try ConvTranspose2D(
            weight: w, bias: Tensor(zeros: [2]), inputHeight: conv.outputHeight, inputWidth: conv.outputWidth,
            strideHeight: 2, strideWidth: 2, paddingHeight: 1, paddingWidth: 1)
        XCTAssertEqual([deconv.outputHeight, deconv.outputWidth], [5, 3], "without output padding the width comes back one short")
        let deconvFull = try ConvTranspose2D(
            weight: w, bias: Tensor(zeros: [2]), inputHeight: conv.outputHeight, inputWidth: conv.outputWidth,
            strideHeight: 2, strideWidth: 2, paddingHeight: 1, paddingWidth: 1,
            outputPaddingHeight: 0, outputPaddingWidth: 1)
        let x = uniform([2, 40], seed: 56), y = uniform([2, conv.outputHeight * conv.outputWidth * 3], seed: 57)
        assertClose(Float(weightedSum(conv(x), y)), Float(weightedSum(x, deconvFull(y))), absolute: 1e-4, relative: 1e-4)
    }

    func testBadGeometryThrows() {
        var rng = testRNG(60)
        XCTAssertThrowsError(try Conv2D(inputHeight: 2, inputWidth: 2, inChannels: 1, outChannels: 1, kernelHeight: 3, kernelWidth: 3, using: &rng))
        XCTAssertThrowsError(
            try Conv2D(
                inputHeight: 4, inputWidth: 4, inChannels: 1, outChannels: 1, kernelHeight: 3, kernelWidth: 3,
                stride: 0, using: &rng))
        XCTAssertThrowsError(
            try ConvTranspose2D(
                inputHeight: 2, inputWidth: 2, inChannels: 1, outChannels: 1, kernelHeight: 3,
                kernelWidth: 3, stride: 2, outputPadding: 2, using: &rng))
        XCTAssertThrowsError(try Conv2D(weight: Tensor(zeros: [3, 3, 1, 2]), bias: Tensor(zeros: [3]), inputHeight: 4, inputWidth: 4))
        XCTAssertThrowsError(
            try GRU(
                inputWeight: Tensor(zeros: [2, 6]), recurrentWeight: Tensor(zeros: [2, 5]),
                inputBias: Tensor(zeros: [6]), recurrentBias: Tensor(zeros: [6])))
        XCTAssertThrowsError(try LayerNorm(scale: Tensor(zeros: [3]), offset: Tensor(zeros: [4])))
        XCTAssertThrowsError(try AttentionPooling(weight: Tensor(zeros: [3, 2]), bias: Tensor(zeros: [2]), vector: Tensor(zeros: [3])))
    }
}
