import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLTestSupport

/// The layers against PyTorch's numbers on fixed weights: `Golden/layers.json`, written by
/// `Scripts/reference/layers.py` (PyTorch in float64, converted to RecRL's layouts). Each
/// case holds the output and the gradients of `L = Σ output ⊙ probe` for the input and every
/// parameter. Tolerance: `1e-5 + 1e-4 · |reference|` (float32 against float64).
final class GoldenLayerTests: XCTestCase {
    struct Case {
        let json: [String: Any]
        func tensor(_ object: Any?) throws -> Tensor {
            let o = try XCTUnwrap(object as? [String: Any])
            let shape = try XCTUnwrap(o["shape"] as? [Int])
            let data = try XCTUnwrap(o["data"] as? [Double])
            return try Tensor(shape: shape, scalars: data.map(Float.init))
        }
        func parameter(_ name: String) throws -> Tensor { try tensor((json["parameters"] as? [String: Any])?[name]) }
        func input(_ name: String = "input") throws -> Tensor { try tensor((json["inputs"] as? [String: Any])?[name]) }
        func gradient(_ name: String) throws -> Tensor { try tensor((json["gradients"] as? [String: Any])?[name]) }
        func output(_ i: Int = 0) throws -> Tensor { try tensor((json["outputs"] as? [Any])?[i]) }
        func probe(_ i: Int = 0) throws -> Tensor { try tensor((json["probes"] as? [Any])?[i]) }
        func mask() throws -> Tensor { try tensor(json["mask"]) }
        func geometry(_ key: String) throws -> Int { try XCTUnwrap((json["geometry"] as? [String: Any])?[key] as? Int) }
    }

    func golden(_ name: String) throws -> Case {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/layers.json")
        let all = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return Case(json: try XCTUnwrap(all[name] as? [String: Any], "no case \(name)"))
    }

    func close(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        assertClose(a.reshaped(b.shape), b, absolute: 1e-5, relative: 1e-4, what, file: file, line: line)
    }

    /// Forward and backward of a one-input layer, compared with the case.
    func compare<L: Layer>(_ layer: L, _ c: Case, inputGradient: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try c.input()
        var ctx = layer.makeContext()
        layer.forward(x, context: &ctx)
        close(ctx.output, try c.output(), "output of \(L.self)", file: file, line: line)
        var g = layer.zeroGradient()
        layer.backward(
            input: x, outputGradient: try c.probe(), context: &ctx, gradient: &g,
            computeParameterGradient: true, computeInputGradient: inputGradient)
        if inputGradient { close(ctx.inputGradient, try c.gradient("input"), "input gradient of \(L.self)", file: file, line: line) }
        for (name, p) in g.namedParameters() {
            close(p, try c.gradient(name), "gradient of \(name) in \(L.self)", file: file, line: line)
        }
    }

    func testEmbedding() throws {
        let c = try golden("embedding")
        try compare(try Embedding(weight: c.parameter("weight")), c, inputGradient: false)
    }

    func testLayerNorm() throws {
        let c = try golden("layer_norm")
        try compare(try LayerNorm(scale: c.parameter("scale"), offset: c.parameter("offset")), c)
    }

    func testAttentionPooling() throws {
        for (name, layer) in [
            ("attention_dot", { (c: Case) in try AttentionPooling(query: c.parameter("query")) }),
            (
                "attention_additive",
                { (c: Case) in
                    try AttentionPooling(weight: c.parameter("weight"), bias: c.parameter("bias"), vector: c.parameter("vector"))
                }
            ),
        ] {
            let c = try golden(name)
            let pool = try layer(c)
            let x = try c.input()
            var ctx = pool.makeContext()
            pool.forward(x, mask: try c.mask(), context: &ctx)
            close(ctx.output, try c.output(), "\(name) output")
            var g = pool.zeroGradient()
            pool.backward(
                input: x, outputGradient: try c.probe(), context: &ctx, gradient: &g,
                computeParameterGradient: true, computeInputGradient: true)
            close(ctx.inputGradient, try c.gradient("input"), "\(name) input gradient")
            for (p, t) in g.namedParameters() { close(t, try c.gradient(p), "\(name) gradient of \(p)") }
        }
    }

    func testGRU() throws {
        for name in ["gru", "gru_masked"] {
            let c = try golden(name)
            let gru = try GRU(
                inputWeight: c.parameter("inputWeight"), recurrentWeight: c.parameter("recurrentWeight"),
                inputBias: c.parameter("inputBias"), recurrentBias: c.parameter("recurrentBias"))
            let x = try c.input(), h0 = try c.input("initialState")
            let mask: Tensor? = name == "gru_masked" ? try c.mask() : nil
            var ctx = gru.makeContext()
            gru.forward(x, initialState: h0, mask: mask, context: &ctx)
            close(ctx.output, try c.output(0), "\(name) outputs")
            close(ctx.finalState, try c.output(1), "\(name) final state")
            var g = gru.zeroGradient()
            gru.backward(
                input: x, outputGradient: try c.probe(0), finalStateGradient: try c.probe(1), context: &ctx,
                gradient: &g, computeParameterGradient: true, computeInputGradient: true)
            close(ctx.inputGradient, try c.gradient("input"), "\(name) input gradient")
            close(ctx.initialStateGradient, try c.gradient("initialState"), "\(name) initial state gradient")
            for (p, t) in g.namedParameters() { close(t, try c.gradient(p), "\(name) gradient of \(p)") }
        }
    }

    func testConv2D() throws {
        let c = try golden("conv2d")
        let conv = try Conv2D(
            weight: c.parameter("weight"), bias: c.parameter("bias"),
            inputHeight: c.geometry("inputHeight"), inputWidth: c.geometry("inputWidth"),
            strideHeight: c.geometry("strideHeight"), strideWidth: c.geometry("strideWidth"),
            paddingHeight: c.geometry("paddingHeight"), paddingWidth: c.geometry("paddingWidth"), activation: .tanh)
        try compare(conv, c)
    }

    func testConvTranspose2D() throws {
        let c = try golden("conv_transpose2d")
        let deconv = try ConvTranspose2D(
            weight: c.parameter("weight"), bias: c.parameter("bias"),
            inputHeight: c.geometry("inputHeight"), inputWidth: c.geometry("inputWidth"),
            strideHeight: c.geometry("strideHeight"), strideWidth: c.geometry("strideWidth"),
            paddingHeight: c.geometry("paddingHeight"), paddingWidth: c.geometry("paddingWidth"),
            outputPaddingHeight: c.geometry("outputPaddingHeight"),
            outputPaddingWidth: c.geometry("outputPaddingWidth"), activation: .sigmoid)
        try compare(deconv, c)
    }
}
