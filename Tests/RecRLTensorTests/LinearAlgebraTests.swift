import Foundation
import RecRLTensor
import RecRLTestSupport
import XCTest

final class LinearAlgebraTests: XCTestCase {
    /// The reference product, a naive triple loop in Double.
    func naive(_ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool) -> Tensor {
        let ae = ta ? a.transposed() : a, be = tb ? b.transposed() : b
        let m = ae.shape[0], k = ae.shape[1], n = be.shape[1]
        var out = Tensor(zeros: [m, n])
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(ae[i, p]) * Double(be[p, j]) }
                out[i, j] = Float(s)
            }
        }
        return out
    }

    func testMatmulAllTransposesOddShapes() {
        var rng = testRNG(11)
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 7, 1), (1, 1, 13), (13, 1, 1), (7, 11, 13), (17, 3, 1), (2, 31, 5), (64, 37, 29)]
        for (m, k, n) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = Tensor(randomNormal: ta ? [k, m] : [m, k], using: &rng)
                    let b = Tensor(randomNormal: tb ? [n, k] : [k, n], using: &rng)
                    var out = Tensor(zeros: [0])
                    matmul(a, b, transposeA: ta, transposeB: tb, into: &out)
                    assertClose(out, naive(a, ta, b, tb), absolute: 1e-4, relative: 1e-4, "m\(m) k\(k) n\(n) ta \(ta) tb \(tb)")
                    XCTAssertEqual(a.matmul(b, transposeSelf: ta, transposeOther: tb).shape, [m, n])
                }
            }
        }
    }

    /// Products whose output width leaves 1…8 columns after 16-wide blocks take the
    /// GEMM + GEMV path (see `rawSgemm`): same answers, alpha and beta included.
    func testMatmulNarrowTailColumnsAllTransposes() {
        checkAllTransposesAgainstNaive(
            [(64, 256, 1), (16, 32, 4), (9, 40, 20), (5, 33, 24), (3, 64, 8), (7, 50, 9), (31, 17, 17)],
            seed: 12)
    }

    /// `matmul` against the naive product for each shape `(m, k, n)` and transpose: into a
    /// NaN-filled C (beta 0 must overwrite, not scale), then with alpha 2 and beta −0.5.
    func checkAllTransposesAgainstNaive(_ shapes: [(Int, Int, Int)], seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = testRNG(seed)
        for (m, k, n) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = Tensor(randomNormal: ta ? [k, m] : [m, k], using: &rng)
                    let b = Tensor(randomNormal: tb ? [n, k] : [k, n], using: &rng)
                    var out = Tensor(shape: [m, n], repeating: .nan)
                    matmul(a, b, transposeA: ta, transposeB: tb, into: &out)
                    let reference = naive(a, ta, b, tb)
                    assertClose(out, reference, absolute: 1e-4, relative: 1e-4, "m\(m) k\(k) n\(n) ta \(ta) tb \(tb)", file: file, line: line)
                    var c = Tensor(shape: [m, n], repeating: 1)
                    matmul(a, b, transposeA: ta, transposeB: tb, into: &c, alpha: 2, beta: -0.5)
                    var expected = reference
                    for i in 0..<expected.count { expected[flat: i] = 2 * reference[flat: i] - 0.5 }
                    assertClose(
                        c, expected, absolute: 2e-4, relative: 1e-4, "alpha/beta m\(m) k\(k) n\(n) ta \(ta) tb \(tb)",
                        file: file, line: line)
                }
            }
        }
    }

    /// A warm GEMM on 1-thread OpenBLAS (what the training paths use) allocates nothing,
    /// whichever kernel serves it (the critic head's `[64, 256] · [256, 1]` allocates inside
    /// OpenBLAS's AVX-512 small-matrix kernel when called directly; multi-threaded OpenBLAS
    /// allocates in every GEMM it splits, which is why the learner does not use it).
    func testWarmMatmulAllocatesNothing() throws {
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        var rng = testRNG(13)
        let cases: [(Int, Int, Int, Bool, Bool)] = [
            (64, 256, 1, false, false), (256, 64, 1, true, false), (16, 32, 4, false, true),
            (64, 256, 256, false, false), (64, 300, 256, false, true),
        ]
        for (m, k, n, ta, tb) in cases {
            let a = Tensor(randomNormal: ta ? [k, m] : [m, k], using: &rng)
            let b = Tensor(randomNormal: tb ? [n, k] : [k, n], using: &rng)
            var out = Tensor(zeros: [m, n])
            matmul(a, b, transposeA: ta, transposeB: tb, into: &out)
            let allocations = try countAllocations {
                for _ in 0..<5 { matmul(a, b, transposeA: ta, transposeB: tb, into: &out) }
            }
            XCTAssertEqual(allocations, 0, "m\(m) k\(k) n\(n) ta \(ta) tb \(tb) on BLAS core \(BLASRuntime.coreName)")
        }
    }

    /// On single-threaded BLAS, most products with at least one micro-panel of output columns
    /// go to RecRL's own SGEMM where the CPU has AVX2 or AVX-512 (`BLASRuntime.gemmKernel`, `GEMMRoutingPolicy`):
    /// it must give the naive product for every transpose, partial 8-row and 32-column
    /// blocks, several 256-deep and 512-wide blocks, alpha and beta, and beta 0 must
    /// overwrite (not scale) what C held.
    func testSingleThreadedGEMMKernelMatchesNaiveProduct() {
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        if ProcessInfo.processInfo.environment["RECRL_GEMM"] == nil {
            let expected = recrlCPUHas("avx512f") ? "recrl-avx512" : recrlCPUHas("avx2") && recrlCPUHas("fma") ? "recrl-avx2" : "openblas"
            XCTAssertEqual(BLASRuntime.gemmKernel, expected)
        }
        // Which kernel each shape gets (what `recrl bench gemm --threads 1` reports per shape).
        XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: true, m: 64, n: 256, k: 1), "rank-1")
        XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 64, n: 1, k: 256), "openblas")
        XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 64, n: 256, k: 256), BLASRuntime.gemmKernel)
        // (m, k, n): partial 8-row blocks, a 10-column and an 18-column last block, more than one
        // 256-deep and 512-wide block, depths that are not multiples of 16 (B transposed: OpenBLAS).
        checkAllTransposesAgainstNaive(
            [
                (8, 16, 32), (13, 48, 330), (37, 272, 64), (100, 64, 160), (4, 608, 96),
                (20, 513, 224), (9, 20, 530), (64, 300, 100),
            ], seed: 14)
    }

    /// Depth-1 products (a rank-1 update; the input gradient of an `H → 1` head) take their own
    /// path: every transpose, alpha and beta, and strided operands (every `lda`-th element of
    /// a column of A, every `ldb`-th of a row of B^T) written into a block of a larger C.
    func testDepthOneProductsMatchNaive() {
        checkAllTransposesAgainstNaive([(64, 1, 256), (5, 1, 33), (1, 1, 1), (256, 1, 1024)], seed: 16)
        let a: [Float] = (0..<21).map { Float($0) - 10 }, b: [Float] = (0..<36).map { 0.5 * Float($0) - 3 }
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for (alpha, beta) in [(Float(1), Float(0)), (-2, 0.5)] {
                // op(A) is 7 x 1: a[3i] (A is 7 x 1 with lda 3), or a[i] (A^T is 1 x 7, lda 21).
                // op(B) is 1 x 9: b[j] (B is 1 x 9, ldb 36), or b[4j] (B^T is 9 x 1 with ldb 4).
                let lda = ta ? 21 : 3, ldb = tb ? 4 : 36
                var c = [Float](repeating: 9, count: 10 * 12)
                c.withUnsafeMutableBufferPointer { pc in
                    UnsafeKernels.gemm(
                        transposeA: ta, transposeB: tb, m: 7, n: 9, k: 1, alpha: alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: pc.baseAddress! + 12 + 2, ldc: 12)
                }
                for r in 0..<10 {
                    for col in 0..<12 {
                        let i = r - 1, j = col - 2
                        if (0..<7).contains(i) && (0..<9).contains(j) {
                            let x = ta ? a[i] : a[3 * i], y = tb ? b[4 * j] : b[j]
                            XCTAssertEqual(c[r * 12 + col], alpha * x * y + beta * 9, "ta \(ta) tb \(tb) [\(i), \(j)]")
                        } else {
                            XCTAssertEqual(c[r * 12 + col], 9, "[\(r), \(col)] outside the block was written")
                        }
                    }
                }
            }
        }
    }

    /// Sub-blocks with row strides wider than the block (how the learner addresses the column
    /// halves of a layer), written into the middle of a larger C that must stay untouched
    /// elsewhere; and two threads at once (each has its own packing buffer).
    func testSingleThreadedGEMMOnStridedBlocksAndConcurrently() throws {
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        var rng = testRNG(15)
        let (m, k, n) = (45, 70, 96)
        let big = Tensor(randomNormal: [100, 200], using: &rng), other = Tensor(randomNormal: [150, 250], using: &rng)
        // op(A) = big[3..<3+m, 5..<5+k], op(B) = other[7..<7+k, 11..<11+n]
        var a = Tensor(zeros: [m, k]), b = Tensor(zeros: [k, n])
        for i in 0..<m { for p in 0..<k { a[i, p] = big[3 + i, 5 + p] } }
        for p in 0..<k { for j in 0..<n { b[p, j] = other[7 + p, 11 + j] } }
        let reference = naive(a, false, b, false)
        var c = [Float](repeating: -7, count: 80 * 130)
        big.withUnsafeBufferPointer { pa in
            other.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    UnsafeKernels.gemm(
                        transposeA: false, transposeB: false, m: m, n: n, k: k,
                        a: pa.baseAddress! + 3 * 200 + 5, lda: 200, b: pb.baseAddress! + 7 * 250 + 11, ldb: 250,
                        c: pc.baseAddress! + 2 * 130 + 9, ldc: 130)
                }
            }
        }
        for r in 0..<80 {
            for col in 0..<130 {
                let v = c[r * 130 + col]
                if (2..<2 + m).contains(r) && (9..<9 + n).contains(col) {
                    XCTAssertEqual(v, reference[r - 2, col - 9], accuracy: 1e-3, "[\(r), \(col)]")
                } else {
                    XCTAssertEqual(v, -7, "[\(r), \(col)] outside the block was written")
                }
            }
        }
        let x = Tensor(randomNormal: [64, 300], using: &rng), w = Tensor(randomNormal: [300, 256], using: &rng)
        let expected = naive(x, false, w, false)
        let results = Locked([Tensor](repeating: Tensor(zeros: [0]), count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            var out = Tensor(zeros: [64, 256])
            for _ in 0..<20 { matmul(x, w, into: &out) }
            results.withLock { $0[i] = out }
        }
        for out in results.withLock({ $0 }) { assertClose(out, expected, absolute: 1e-3, relative: 1e-4) }
    }

    func testMatmulAlphaBetaAccumulates() throws {
        let a = try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let id = try Tensor(shape: [2, 2], scalars: [1, 0, 0, 1])
        var c = try Tensor(shape: [2, 2], scalars: [1, 1, 1, 1])
        matmul(a, id, into: &c, alpha: 2, beta: 3)
        XCTAssertEqual(c.scalars, [5, 7, 9, 11])
    }

    func testMatmulInnerDimensionZero() {
        let a = Tensor(zeros: [3, 0]), b = Tensor(zeros: [0, 2])
        XCTAssertEqual(a.matmul(b), Tensor(zeros: [3, 2]))
    }

    func testMatvec() throws {
        var rng = testRNG(12)
        let a = Tensor(randomNormal: [5, 7], using: &rng)
        let x = Tensor(randomNormal: [7], using: &rng)
        let y = a.matvec(x)
        assertClose(y, naive(a, false, x.reshaped([7, 1]), false).reshaped([5]), absolute: 1e-4)
        let z = Tensor(randomNormal: [5], using: &rng)
        assertClose(a.matvec(z, transposeSelf: true), naive(a, true, z.reshaped([5, 1]), false).reshaped([7]), absolute: 1e-4)
    }

    func testSolveSPDKnownAnswer() throws {
        // A = [[4, 2], [2, 3]], x = [1, -1]  =>  b = [2, -1]
        let a = try Tensor(shape: [2, 2], scalars: [4, 2, 2, 3])
        let x = try LinearAlgebra.solveSymmetricPositiveDefinite(a, Tensor([2, -1]))
        assertClose(x.scalars, [1, -1], absolute: 1e-5)
        let l = try LinearAlgebra.cholesky(a)
        // L = [[2, 0], [1, sqrt(2)]]
        assertClose(l.scalars, [2, 0, 1, 2.0.squareRoot().float], absolute: 1e-5)
        assertClose(l.matmul(l, transposeOther: true), a, absolute: 1e-5)
    }

    func testSolveGeneralKnownAnswer() throws {
        // A = [[0, 2, 1], [1, 1, 1], [2, 1, 0]] (needs pivoting), X = [[1, 2], [2, 0], [3, -1]]
        let a = try Tensor(shape: [3, 3], scalars: [0, 2, 1, 1, 1, 1, 2, 1, 0])
        let xTrue = try Tensor(shape: [3, 2], scalars: [1, 2, 2, 0, 3, -1])
        let b = a.matmul(xTrue)
        let x = try LinearAlgebra.solve(a, b)
        assertClose(x, xTrue, absolute: 1e-5)
    }

    func testSolveRandomSPD() throws {
        var rng = testRNG(13)
        let m = Tensor(randomNormal: [20, 20], using: &rng)
        var a = m.matmul(m, transposeSelf: true)
        for i in 0..<20 { a[i, i] += 1 }
        let xTrue = Tensor(randomNormal: [20, 3], using: &rng)
        let x = try LinearAlgebra.solveSymmetricPositiveDefinite(a, a.matmul(xTrue))
        assertClose(x, xTrue, absolute: 2e-3, relative: 2e-3)
    }

    func testInvertSPDKnownAnswerAndRandom() throws {
        // [[4, 2], [2, 3]]⁻¹ = [[3, −2], [−2, 4]] / 8; the upper triangle is read from nowhere:
        // put garbage there to show only the lower one is used.
        var a = try Tensor(shape: [2, 2], scalars: [4, 99, 2, 3])
        try LinearAlgebra.invertSymmetricPositiveDefinite(&a)
        assertClose(a.scalars, [0.375, -0.25, -0.25, 0.5], absolute: 1e-6)

        var rng = testRNG(17)
        let m = Tensor(randomNormal: [12, 12], using: &rng)
        var g = m.matmul(m, transposeSelf: true)
        for i in 0..<12 { g[i, i] += 2 }
        var inverse = g
        try LinearAlgebra.invertSymmetricPositiveDefinite(&inverse)
        var identity = Tensor(zeros: [12, 12])
        for i in 0..<12 { identity[i, i] = 1 }
        assertClose(g.matmul(inverse), identity, absolute: 1e-3)

        var indefinite = try Tensor(shape: [2, 2], scalars: [1, 2, 2, 1])
        XCTAssertThrowsError(try LinearAlgebra.invertSymmetricPositiveDefinite(&indefinite)) { error in
            XCTAssertEqual(error as? TensorError, .notPositiveDefinite(minor: 2))
        }
        var rectangular = Tensor(zeros: [2, 3])
        XCTAssertThrowsError(try LinearAlgebra.invertSymmetricPositiveDefinite(&rectangular))
    }

    func testSingularAndNonSPDErrors() throws {
        let singular = try Tensor(shape: [2, 2], scalars: [1, 2, 2, 4])
        XCTAssertThrowsError(try LinearAlgebra.solve(singular, Tensor([1, 1]))) { error in
            XCTAssertEqual(error as? TensorError, .singularMatrix(pivot: 2))
            XCTAssertTrue("\(error)".contains("singular"))
        }
        let indefinite = try Tensor(shape: [2, 2], scalars: [1, 2, 2, 1])
        XCTAssertThrowsError(try LinearAlgebra.solveSymmetricPositiveDefinite(indefinite, Tensor([1, 1]))) { error in
            XCTAssertEqual(error as? TensorError, .notPositiveDefinite(minor: 2))
            XCTAssertTrue("\(error)".contains("not symmetric positive definite"))
        }
        XCTAssertThrowsError(try LinearAlgebra.cholesky(indefinite)) { error in
            XCTAssertEqual(error as? TensorError, .notPositiveDefinite(minor: 2))
        }
        XCTAssertThrowsError(try LinearAlgebra.solve(singular, Tensor([1, 1, 1]))) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(operation: "solve", lhs: [2, 2], rhs: [3]))
        }
    }

    func testBLASRuntimeQueries() {
        XCTAssertFalse(BLASRuntime.coreName.isEmpty)
        XCTAssertTrue(BLASRuntime.configuration.contains("OpenBLAS"))
        let before = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        XCTAssertEqual(BLASRuntime.threadCount, 1)
        BLASRuntime.setThreadCount(before)
        XCTAssertEqual(BLASRuntime.threadCount, before)
    }

    func testFlushToZeroIsScopedAndRestored() {
        let before = FloatingPointMode.flushesDenormalsToZero
        // Operands live in tensor storage so the optimiser cannot fold the product.
        let tiny = Tensor([.leastNormalMagnitude]), quarter = Tensor([0.25])
        let inside = FloatingPointMode.withDenormalsFlushedToZero { () -> (Bool, Float) in
            let x = tiny * quarter  // would be denormal
            return (FloatingPointMode.flushesDenormalsToZero, x[flat: 0])
        }
        #if arch(x86_64)
            XCTAssertTrue(inside.0)
            XCTAssertEqual(inside.1, 0, "denormal results flush to zero inside the scope")
        #endif
        XCTAssertEqual(FloatingPointMode.flushesDenormalsToZero, before, "the caller's mode is restored")
    }
}

extension Double { var float: Float { Float(self) } }
