import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLTestSupport

/// The layers' warm forward and backward passes reuse their contexts (no heap allocation),
/// and their parameters round-trip through safetensors checkpoints.
final class LayerReuseTests: XCTestCase {
    /// Runs forward + backward twice to warm up, then counts the allocations of five more.
    func assertWarmStepsAllocateNothing(_ what: String, _ step: () -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        step(); step()
        let n = try countAllocations { for _ in 0..<5 { step() } }
        XCTAssertEqual(n, 0, "\(what): a warm forward + backward must not allocate", file: file, line: line)
    }

    func assertLayerStepAllocatesNothing<L: Layer>(_ layer: L, input: Tensor, file: StaticString = #filePath, line: UInt = #line) throws {
        var ctx = layer.makeContext(), g = layer.zeroGradient()
        var rng = testRNG(1)
        let r = Tensor(randomUniform: layer(input).shape, in: -1...1, using: &rng)
        try assertWarmStepsAllocateNothing(
            "\(L.self)",
            {
                layer.forward(input, context: &ctx)
                layer.backward(
                    input: input, outputGradient: r, context: &ctx, gradient: &g,
                    computeParameterGradient: true, computeInputGradient: true)
            }, file: file, line: line)
    }

    func testWarmStepsAllocateNothing() throws {
        var rng = testRNG(70)
        let x = Tensor(randomUniform: [8, 4 * 5 * 6], in: -1...1, using: &rng)
        try assertLayerStepAllocatesNothing(LayerNorm(size: 6), input: x)
        try assertLayerStepAllocatesNothing(
            Embedding(count: 50, dimension: 4, using: &rng),
            input: Tensor(randomUniform: [8, 5], in: 0...49, using: &rng).map { $0.rounded(.down) })
        try assertLayerStepAllocatesNothing(
            try Conv2D(
                inputHeight: 4, inputWidth: 5, inChannels: 6, outChannels: 7, kernelHeight: 3,
                kernelWidth: 3, stride: 1, padding: 1, activation: .relu, using: &rng), input: x)
        let deconv = try ConvTranspose2D(
            inputHeight: 2, inputWidth: 3, inChannels: 5, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
            stride: 2, padding: 1, outputPadding: 1, activation: .tanh, using: &rng)
        try assertLayerStepAllocatesNothing(deconv, input: Tensor(randomUniform: [8, 30], in: -1...1, using: &rng))
        try assertLayerStepAllocatesNothing(GRU(inputSize: 6, hiddenSize: 5, using: &rng), input: x)
    }

    /// A GRU at DeepPage's default history shape (batch 32, 5 steps, input and hidden 32)
    /// allocates nothing per warm forward + backward with OpenBLAS on 2 threads too (its
    /// products are small enough to stay on the calling thread, see `GEMMRoutingPolicy`), and
    /// computes the same bits as on 1 thread (the same kernels serve it).
    func testWarmGRUStepAllocatesNothingOnTwoBLASThreads() throws {
        let policy = GEMMRoutingPolicy(profile: .host)
        guard policy.ownKernel != nil else { throw XCTSkip("no build of RecRL's SGEMM for this CPU: OpenBLAS serves every product") }
        let threads = BLASRuntime.threadCount, saved = BLASRuntime.gemmRoutingPolicy
        BLASRuntime.gemmRoutingPolicy = policy
        defer {
            BLASRuntime.setThreadCount(threads)
            BLASRuntime.gemmRoutingPolicy = saved
        }
        var rng = testRNG(72)
        let gru = GRU(inputSize: 32, hiddenSize: 32, using: &rng)
        let x = Tensor(randomUniform: [32, 5 * 32], in: -1...1, using: &rng)
        let r = Tensor(randomUniform: [32, 5 * 32], in: -1...1, using: &rng)
        func step(threads: Int) throws -> (Tensor, GRU, Tensor) {
            BLASRuntime.setThreadCount(threads)
            var ctx = gru.makeContext(), g = gru.zeroGradient()
            try assertWarmStepsAllocateNothing("GRU on \(threads) BLAS threads") {
                gru.forward(x, context: &ctx)
                gru.backward(
                    input: x, outputGradient: r, context: &ctx, gradient: &g, computeParameterGradient: true, computeInputGradient: true)
            }
            return (ctx.output, g, ctx.inputGradient)
        }
        let one = try step(threads: 1), two = try step(threads: 2)
        XCTAssertEqual(one.0, two.0, "output")
        XCTAssertEqual(one.1.namedParameters(), two.1.namedParameters(), "parameter gradient")
        XCTAssertEqual(one.2, two.2, "input gradient")
    }

    func testMaskedSequenceStepsAllocateNothing() throws {
        var rng = testRNG(71)
        let x = Tensor(randomUniform: [8, 20], in: -1...1, using: &rng)
        let mask = Tensor(randomUniform: [8, 5], in: 0...1, using: &rng).map { $0 < 0.7 ? 1 : 0 }
        let h0 = Tensor(randomUniform: [8, 6], in: -1...1, using: &rng)
        let gru = GRU(inputSize: 4, hiddenSize: 6, using: &rng)
        var gctx = gru.makeContext(), gg = gru.zeroGradient()
        let r = Tensor(randomUniform: [8, 30], in: -1...1, using: &rng), rT = Tensor(randomUniform: [8, 6], in: -1...1, using: &rng)
        try assertWarmStepsAllocateNothing("GRU with mask and states") {
            gru.forward(x, initialState: h0, mask: mask, context: &gctx)
            gru.backward(
                input: x, outputGradient: r, finalStateGradient: rT, context: &gctx, gradient: &gg,
                computeParameterGradient: true, computeInputGradient: true)
        }
        for pool in [AttentionPooling(dotProductOfSize: 4, using: &rng), AttentionPooling(additiveOfSize: 4, attentionSize: 8, using: &rng)] {
            var ctx = pool.makeContext(), g = pool.zeroGradient()
            let dy = Tensor(randomUniform: [8, 4], in: -1...1, using: &rng)
            try assertWarmStepsAllocateNothing("AttentionPooling(\(pool.scoring))") {
                pool.forward(x, mask: mask, context: &ctx)
                pool.backward(
                    input: x, outputGradient: dy, context: &ctx, gradient: &g,
                    computeParameterGradient: true, computeInputGradient: true)
            }
        }
    }

    func roundTrip<L: Layer>(_ layer: L, _ fresh: L, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-test-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try layer.saveCheckpoint(to: url)
        var other = fresh
        XCTAssertNotEqual(other.namedParameters(), layer.namedParameters(), file: file, line: line)
        try other.loadCheckpoint(from: url)
        XCTAssertEqual(other.namedParameters(), layer.namedParameters(), file: file, line: line)
    }

    func testCheckpointRoundTrips() throws {
        var a = testRNG(80), b = testRNG(81)
        try roundTrip(Embedding(count: 7, dimension: 3, using: &a), Embedding(count: 7, dimension: 3, using: &b))
        var norm = LayerNorm(size: 4)
        norm.scale = Tensor([1, 2, 3, 4])
        try roundTrip(norm, LayerNorm(size: 4))
        try roundTrip(AttentionPooling(dotProductOfSize: 3, using: &a), AttentionPooling(dotProductOfSize: 3, using: &b))
        try roundTrip(
            AttentionPooling(additiveOfSize: 3, attentionSize: 2, using: &a),
            AttentionPooling(additiveOfSize: 3, attentionSize: 2, using: &b))
        try roundTrip(GRU(inputSize: 3, hiddenSize: 2, using: &a), GRU(inputSize: 3, hiddenSize: 2, using: &b))
        try roundTrip(
            try Conv2D(inputHeight: 3, inputWidth: 3, inChannels: 2, outChannels: 2, kernelHeight: 2, kernelWidth: 2, using: &a),
            try Conv2D(inputHeight: 3, inputWidth: 3, inChannels: 2, outChannels: 2, kernelHeight: 2, kernelWidth: 2, using: &b))
        try roundTrip(
            try ConvTranspose2D(
                inputHeight: 2, inputWidth: 2, inChannels: 2, outChannels: 3, kernelHeight: 2, kernelWidth: 2,
                stride: 2, using: &a),
            try ConvTranspose2D(
                inputHeight: 2, inputWidth: 2, inChannels: 2, outChannels: 3, kernelHeight: 2, kernelWidth: 2,
                stride: 2, using: &b))
        // A checkpoint of another shape is refused, naming the tensor.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-test-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try GRU(inputSize: 3, hiddenSize: 2, using: &a).saveCheckpoint(to: url)
        var other = GRU(inputSize: 4, hiddenSize: 2, using: &b)
        XCTAssertThrowsError(try other.loadCheckpoint(from: url)) { error in
            XCTAssertEqual(error as? CheckpointError, .shapeMismatch(name: "inputWeight", expected: [4, 6], found: [3, 6]))
        }
    }

    /// Layers compose with `Sequential` (a page encoder: conv, then a dense head).
    func testConvolutionComposesWithDense() throws {
        var rng = testRNG(90)
        let model = Sequential(
            try Conv2D(
                inputHeight: 3, inputWidth: 4, inChannels: 2, outChannels: 3, kernelHeight: 2, kernelWidth: 2,
                activation: .relu, using: &rng),
            Dense(inputSize: 2 * 3 * 3, outputSize: 2, using: &rng))
        var x = Tensor(randomUniform: [2, 24], in: -1...1, using: &rng)
        x[flat: 0] = 0.3
        checkLayerGradients(model, input: x)
    }
}
