import XCTest
import RecRLTensor
import RecRLNN
import RecRLDRR
import RecRLTestSupport

final class StateRepresentationTests: XCTestCase {
    func testGradientsOfEveryVariant() {
        for variant in DRRStateRepresentation.Variant.allCases {
            var rng = testRNG(50)
            var module = DRRStateRepresentation(variant: variant, embeddingSize: 4, windowSize: 3)
            module.itemWeights = Tensor(randomUniform: [3], in: 0.5...1.5, using: &rng)
            let x = Tensor(randomUniform: [2, module.inputSize], in: -1...1, using: &rng)
            XCTAssertEqual(module(x).shape, [2, module.outputSize])
            checkLayerGradients(module, input: x)
        }
    }

    func testOutputWidthsFollowThePaper() {
        let k = 100, n = 5
        XCTAssertEqual(DRRStateRepresentation(variant: .n, embeddingSize: k, windowSize: n).outputSize, 500)
        XCTAssertEqual(DRRStateRepresentation(variant: .p, embeddingSize: k, windowSize: n).outputSize, 1500)
        XCTAssertEqual(DRRStateRepresentation(variant: .u, embeddingSize: k, windowSize: n).outputSize, 1500)
        XCTAssertEqual(DRRStateRepresentation(variant: .ave, embeddingSize: k, windowSize: n).outputSize, 300)
        XCTAssertEqual(DRRStateRepresentation(variant: .n, embeddingSize: k, windowSize: n).parameterCount, 0)
        XCTAssertEqual(DRRStateRepresentation(variant: .ave, embeddingSize: k, windowSize: n).parameterCount, 5)
    }

    /// Hand-computed DRR-ave and DRR-u on k = 2, n = 2.
    func testKnownValues() throws {
        // u = (1, 2), i1 = (3, 4), i2 = (5, 6)
        let x = try Tensor(shape: [1, 6], scalars: [1, 2, 3, 4, 5, 6])
        var ave = DRRStateRepresentation(variant: .ave, embeddingSize: 2, windowSize: 2)
        ave.itemWeights = Tensor([1, 2])
        // v = (1·(3,4) + 2·(5,6)) / 2 = (6.5, 8); s = [u, u⊙v, v]
        XCTAssertEqual(ave(x).scalars, [1, 2, 6.5, 16, 6.5, 8])
        var u = DRRStateRepresentation(variant: .u, embeddingSize: 2, windowSize: 2)
        u.itemWeights = Tensor([1, 2])
        // [u⊙i1, u⊙2·i2, (i1)⊙(2·i2)]
        XCTAssertEqual(u(x).scalars, [3, 8, 10, 24, 30, 48])
        let p = DRRStateRepresentation(variant: .p, embeddingSize: 2, windowSize: 2)
        XCTAssertEqual(p(x).scalars, [3, 4, 5, 6, 15, 24])
        let n = DRRStateRepresentation(variant: .n, embeddingSize: 2, windowSize: 2)
        XCTAssertEqual(n(x).scalars, [3, 4, 5, 6])
    }
}
