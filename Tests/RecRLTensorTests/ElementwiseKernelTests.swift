import XCTest
import Foundation
import RecRLTensor
import RecRLTestSupport

/// The element-wise kernels behind layers and optimizers: the vectorised tanh against
/// double precision, and Adam / the soft update against their scalar formulas, bit for bit,
/// wherever a range starts (the two-lane update splits them at arbitrary points).
final class ElementwiseKernelTests: XCTestCase {
    /// The distance between `x` and the next float away from zero.
    func ulp(_ x: Float) -> Double {
        let a = abs(x)
        return a == 0 ? Double(Float.leastNonzeroMagnitude) : Double(a.nextUp) - Double(a)
    }

    func tanhKernel(_ xs: [Float]) -> [Float] {
        var out = xs
        out.withUnsafeMutableBufferPointer { p in
            UnsafeKernels.biasActivation(p.baseAddress!, ld: p.count, bias: nil, rows: 1, columns: p.count, activation: 2)
        }
        return out
    }

    func testTanhIsWithinTwoUlpOfDoublePrecision() {
        var xs: [Float] = []
        // A dense grid over the range where tanh is not yet ±1, both branches and their seam.
        for i in -120_000...120_000 { xs.append(Float(i) * 1e-4) }
        // Small magnitudes down to subnormals, and large ones up to the largest float.
        var s: Float = Float.leastNonzeroMagnitude
        while s < 1 { xs.append(s); xs.append(-s); s = max(s * 1.37, s.nextUp) }
        var l: Float = 1
        while l.isFinite { xs.append(l); xs.append(-l); l *= 1.91 }
        for seam: Float in [0.625, 9.5] {
            var x = seam
            for _ in 0..<8 { xs.append(x); xs.append(-x); x = x.nextDown }
            x = seam
            for _ in 0..<8 { x = x.nextUp; xs.append(x); xs.append(-x) }
        }
        xs += [Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude]
        let ys = tanhKernel(xs)
        var worst = 0.0, worstX: Float = 0
        for (x, y) in zip(xs, ys) {
            let exact = Foundation.tanh(Double(x))
            let error = abs(Double(y) - exact) / ulp(Float(exact))
            if error > worst { worst = error; worstX = x }
            XCTAssertEqual(y.sign, x.sign, "sign of tanh(\(x))")
            XCTAssertLessThanOrEqual(abs(y), 1, "tanh(\(x)) = \(y)")
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp at x = \(worstX)")
    }

    func testTanhSpecialValues() {
        let ys = tanhKernel([0, -0.0, .infinity, -.infinity, .nan, 20, -20])
        XCTAssertEqual(ys[0].bitPattern, Float(0).bitPattern)
        XCTAssertEqual(ys[1].bitPattern, Float(-0.0).bitPattern, "tanh(-0) = -0")
        XCTAssertEqual(ys[2], 1)
        XCTAssertEqual(ys[3], -1)
        XCTAssertTrue(ys[4].isNaN, "NaN propagates")
        XCTAssertEqual(ys[5], 1)
        XCTAssertEqual(ys[6], -1)
    }

    func testTanhDoesNotDependOnWhereARangeStarts() {
        var rng = testRNG(5)
        let xs = (0..<301).map { _ in Float.random(in: -4...4, using: &rng) }
        let whole = tanhKernel(xs)
        for split in [1, 3, 7, 8, 13, 150] {
            let parts = tanhKernel(Array(xs[..<split])) + tanhKernel(Array(xs[split...]))
            XCTAssertEqual(parts.map(\.bitPattern), whole.map(\.bitPattern), "split at \(split)")
        }
    }

    func testTanhLayerBiasIsAddedFirst() {
        var y: [Float] = [0.5, -1, 2, 0, 0, 0]
        let bias: [Float] = [0.25, 1, -2]
        y.withUnsafeMutableBufferPointer { p in
            bias.withUnsafeBufferPointer { b in
                UnsafeKernels.biasActivation(p.baseAddress!, ld: 3, bias: b.baseAddress!, rows: 2, columns: 3, activation: 2)
            }
        }
        let expected = [0.75, 0, 0, 0.25, 1, -2].map { Float(Foundation.tanh(Double($0))) }
        for (a, e) in zip(y, expected) { XCTAssertEqual(a, e, accuracy: 2 * Float(ulp(e))) }
    }

    /// Adam (and the fused soft update) over ranges of every length 0…40 starting anywhere:
    /// the same bits as the scalar formulas computed here, one rounding per operation.
    func testAdamAndSoftUpdateMatchTheScalarFormulasBitForBit() {
        var rng = testRNG(11)
        let n = 97
        func randoms(_ range: ClosedRange<Float>) -> [Float] { (0..<n).map { _ in Float.random(in: range, using: &rng) } }
        let p0 = randoms(-1...1), g = randoms(-0.1...0.1), m0 = randoms(-0.01...0.01)
        let v0 = randoms(0...0.001), t0 = randoms(-1...1)
        let b1: Float = 0.9, b2: Float = 0.999, lr: Float = 3e-3, eps: Float = 1e-7, tau: Float = 0.01
        for start in [0, 1, 3, 4, 5, 8, 17] {
            for count in 0...40 where start + count <= n {
                var p = p0, m = m0, v = v0, t = t0
                p.withUnsafeMutableBufferPointer { pp in
                    m.withUnsafeMutableBufferPointer { mp in
                        v.withUnsafeMutableBufferPointer { vp in
                            t.withUnsafeMutableBufferPointer { tp in
                                g.withUnsafeBufferPointer { gp in
                                    UnsafeKernels.adamStep(
                                        parameters: pp.baseAddress! + start, gradient: gp.baseAddress! + start,
                                        firstMoment: mp.baseAddress! + start, secondMoment: vp.baseAddress! + start,
                                        count: count, beta1: b1, beta2: b2, learningRate: lr, epsilon: eps,
                                        softUpdateTarget: tp.baseAddress! + start, tau: tau)
                                }
                            }
                        }
                    }
                }
                for i in 0..<n {
                    let inside = i >= start && i < start + count
                    var ep = p0[i], em = m0[i], ev = v0[i], et = t0[i]
                    if inside {
                        let gi = g[i]
                        let c1: Float = 1 - b1, c2: Float = 1 - b2
                        em = b1 * m0[i] + c1 * gi
                        ev = b2 * v0[i] + c2 * (gi * gi)
                        ep = p0[i] - (lr * em) / (ev.squareRoot() + eps)
                        let keep: Float = 1 - tau
                        et = tau * ep + keep * t0[i]
                    }
                    let at = "element \(i), range \(start)..<\(start + count)"
                    XCTAssertEqual(p[i].bitPattern, ep.bitPattern, "parameter, \(at)")
                    XCTAssertEqual(m[i].bitPattern, em.bitPattern, "first moment, \(at)")
                    XCTAssertEqual(v[i].bitPattern, ev.bitPattern, "second moment, \(at)")
                    XCTAssertEqual(t[i].bitPattern, et.bitPattern, "target, \(at)")
                }
            }
        }
    }
}

/// The softmax cross-entropy kernel against the same formula in double precision.
final class SoftmaxCrossEntropyKernelTests: XCTestCase {
    /// Loss and gradient in double precision, as the kernel documents them.
    func reference(_ z: [Float], rows: Int, columns: Int, targets: [Int32], scale: Double) -> (loss: Double, gradient: [Double]) {
        var loss = 0.0
        var gradient = [Double](repeating: 0, count: z.count)
        for row in 0..<rows {
            let x = z[(row * columns)..<((row + 1) * columns)].map(Double.init)
            let top = x.max()!
            let sum = x.reduce(0) { $0 + Foundation.exp($1 - top) }
            let target = Int(targets[row])
            loss -= Foundation.log(max(Foundation.exp(x[target] - top) / sum, Double(Float.leastNormalMagnitude)))
            for j in 0..<columns { gradient[row * columns + j] = scale * Foundation.exp(x[j] - top) / sum }
            gradient[row * columns + target] -= scale
        }
        return (loss, gradient)
    }

    func kernel(_ z: inout [Float], rows: Int, columns: Int, targets: [Int32], scale: Float) -> Float {
        z.withUnsafeMutableBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                UnsafeKernels.softmaxCrossEntropy(
                    p.baseAddress!, rows: rows, columns: columns, ld: columns,
                    targets: t.baseAddress!, scale: scale)
            }
        }
    }

    func testMatchesDoublePrecisionAtEveryWidth() {
        var rng = Xoshiro256StarStar(seed: 7)
        // Widths below, at and around the 16-lane blocks, and a catalogue-sized row.
        for columns in [1, 3, 15, 16, 17, 33, 100, 1682] {
            let rows = 5
            var z = (0..<(rows * columns)).map { _ in Float(rng.nextUnitDouble() * 24 - 12) }
            let targets = (0..<rows).map { _ in Int32(rng.next() % UInt64(columns)) }
            let expected = reference(z, rows: rows, columns: columns, targets: targets, scale: 0.25)
            let loss = kernel(&z, rows: rows, columns: columns, targets: targets, scale: 0.25)
            XCTAssertEqual(Double(loss), expected.loss, accuracy: 1e-5 * max(1, abs(expected.loss)), "loss, \(columns) columns")
            for (got, want) in zip(z, expected.gradient) {
                XCTAssertEqual(Double(got), want, accuracy: 2e-7 + 1e-5 * abs(want), "gradient, \(columns) columns")
            }
        }
    }

    func testRowsAreIndependentOfTheirNeighbours() {
        var rng = Xoshiro256StarStar(seed: 11)
        let rows = 4, columns = 37
        let z = (0..<(rows * columns)).map { _ in Float(rng.nextUnitDouble() * 10 - 5) }
        let targets: [Int32] = [0, 36, 5, 17]
        var whole = z
        _ = kernel(&whole, rows: rows, columns: columns, targets: targets, scale: 1)
        for row in 0..<rows {
            var one = Array(z[(row * columns)..<((row + 1) * columns)])
            _ = kernel(&one, rows: 1, columns: columns, targets: [targets[row]], scale: 1)
            XCTAssertEqual(one.map(\.bitPattern), whole[(row * columns)..<((row + 1) * columns)].map(\.bitPattern))
        }
    }

    func testExtremeLogitsStayFiniteAndNaNPropagates() {
        // A target 200 below the top: its probability underflows and is floored, the loss stays finite.
        var z: [Float] = [200, 0, -1e30, 199]
        let loss = kernel(&z, rows: 1, columns: 4, targets: [1], scale: 1)
        XCTAssertEqual(Double(loss), -Foundation.log(Double(Float.leastNormalMagnitude)), accuracy: 1e-3)
        XCTAssertEqual(z[2], 0, "e^(-huge) is 0")
        XCTAssertEqual(Double(z[0]), 1 / (1 + Foundation.exp(-1.0)), accuracy: 1e-6)
        XCTAssertEqual(z[1], -1, "the target's gradient is p - 1 with p = 0")
        var bad: [Float] = [1, .nan, 2]
        XCTAssertTrue(kernel(&bad, rows: 1, columns: 3, targets: [0], scale: 1).isNaN)
    }
}
