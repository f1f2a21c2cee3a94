import XCTest
import RecRLTensor
import RecRLNN
import RecRLTestSupport

/// The layers chained as DeepPage's state encoder chains them: a CNN over each page's grid,
/// a GRU over the pages (padded histories masked), attention pooling over the GRU's outputs.
/// The pullbacks compose by reshaping `[batch · pages, features]` ⇄ `[batch, pages · features]`
/// (the same scalars), and the chain's gradient matches finite differences.
final class PageEncoderCompositionTests: XCTestCase {
    struct Encoder {
        var conv: Conv2D
        var gru: GRU
        var pool: AttentionPooling
        let pages: Int

        struct Buffers {
            var conv: Conv2D.Context
            var gru: GRU.Context
            var pool: AttentionPooling.Context
        }

        func makeBuffers() -> Buffers { Buffers(conv: conv.makeContext(), gru: gru.makeContext(), pool: pool.makeContext()) }

        /// `grids` is `[batch · pages, h · w · channels]`; returns `[batch, gru.hiddenSize]`.
        func forward(_ grids: Tensor, mask: Tensor, _ b: inout Buffers) -> Tensor {
            conv.forward(grids, context: &b.conv)
            let batch = grids.rows / pages
            let sequence = b.conv.output.reshaped([batch, pages * conv.outputHeight * conv.outputWidth * conv.outChannels])
            gru.forward(sequence, initialState: nil, mask: mask, context: &b.gru)
            pool.forward(b.gru.output, mask: mask, context: &b.pool)
            return b.pool.output
        }

        /// dL/d(grids) for dL/d(encoding) = `r`, and the conv weight's gradient.
        func backward(_ grids: Tensor, _ r: Tensor, _ b: inout Buffers) -> (grids: Tensor, convWeight: Tensor) {
            var gp = pool.zeroGradient(), gg = gru.zeroGradient(), gc = conv.zeroGradient()
            pool.backward(
                input: b.gru.output, outputGradient: r, context: &b.pool, gradient: &gp,
                computeParameterGradient: true, computeInputGradient: true)
            let sequence = b.conv.output.reshaped([grids.rows / pages, pages * b.conv.output.columns])
            gru.backward(
                input: sequence, outputGradient: b.pool.inputGradient, finalStateGradient: nil, context: &b.gru,
                gradient: &gg, computeParameterGradient: true, computeInputGradient: true)
            conv.backward(
                input: grids, outputGradient: b.gru.inputGradient.reshaped(b.conv.output.shape), context: &b.conv,
                gradient: &gc, computeParameterGradient: true, computeInputGradient: true)
            return (b.conv.inputGradient, gc.weight)
        }
    }

    func testChainedGradientMatchesFiniteDifferences() throws {
        var rng = testRNG(100)
        let pages = 3
        let encoder = Encoder(
            conv: try Conv2D(
                inputHeight: 2, inputWidth: 3, inChannels: 4, outChannels: 5, kernelHeight: 2, kernelWidth: 2,
                activation: .tanh, using: &rng),
            gru: GRU(inputSize: 1 * 2 * 5, hiddenSize: 6, using: &rng),
            pool: AttentionPooling(additiveOfSize: 6, attentionSize: 4, using: &rng),
            pages: pages)
        let grids = Tensor(randomUniform: [2 * pages, 24], in: -1...1, using: &rng)
        // User 0 saw three pages, user 1 two (its last page is padding).
        let mask = try Tensor(shape: [2, pages], scalars: [1, 1, 1, 1, 1, 0])
        let r = Tensor(randomUniform: [2, 6], in: -1...1, using: &rng)
        var buffers = encoder.makeBuffers()
        _ = encoder.forward(grids, mask: mask, &buffers)
        let (dGrids, dWeight) = encoder.backward(grids, r, &buffers)

        func loss(_ e: Encoder, _ x: Tensor) -> Double {
            var b = e.makeBuffers()
            return weightedSum(e.forward(x, mask: mask, &b), r)
        }
        assertClose(dGrids, numericalGradient(of: { loss(encoder, $0) }, at: grids), absolute: 2e-3, relative: 2e-2, "page grids")
        assertClose(
            dWeight,
            numericalGradient(
                of: { w in
                    var e = encoder
                    e.conv.weight = w
                    return loss(e, grids)
                }, at: encoder.conv.weight), absolute: 2e-3, relative: 2e-2, "conv weight")
        // The padded page influences nothing.
        XCTAssertEqual(Array(dGrids.scalars[5 * 24..<6 * 24]), [Float](repeating: 0, count: 24))
    }
}
