import XCTest
import RecRLTensor
import RecRLTestSupport

final class TensorTests: XCTestCase {
    func testInitialisersAndShapeErrors() throws {
        let t = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertEqual(t[1, 2], 6)
        XCTAssertEqual(Tensor(zeros: [4]).scalars, [0, 0, 0, 0])
        XCTAssertEqual(Tensor(shape: [2], repeating: 3).scalars, [3, 3])
        XCTAssertThrowsError(try Tensor(shape: [2, 3], scalars: [1, 2])) { error in
            XCTAssertEqual(error as? TensorError, .scalarCountMismatch(shape: [2, 3], scalarCount: 2))
            XCTAssertEqual("\(error)", "shape [2, 3] needs 6 scalars, got 2")
        }
        XCTAssertThrowsError(try Tensor(shape: [-1], scalars: []))
        XCTAssertThrowsError(try Tensor(rows: [[1, 2], [3]]))
        XCTAssertEqual(try Tensor(rows: [[1, 2], [3, 4]]).scalars, [1, 2, 3, 4])
    }

    func testElementCountsThatOverflowAreErrors() {
        XCTAssertEqual(Tensor.elementCount(of: [2, 3, 4]), 24)
        XCTAssertEqual(Tensor.elementCount(of: []), 1)
        XCTAssertEqual(Tensor.elementCount(of: [0, Int.max]), 0)
        XCTAssertNil(Tensor.elementCount(of: [4294967296, 4294967296]))
        XCTAssertNil(Tensor.elementCount(of: [3, -1]))
        XCTAssertThrowsError(try Tensor(shape: [4294967296, 4294967296], scalars: [1])) { error in
            XCTAssertEqual(error as? TensorError, .invalidShape([4294967296, 4294967296]))
        }
        XCTAssertEqual(
            TensorError.scalarCountMismatch(shape: [Int.max, 2], scalarCount: 1).description,
            "shape [\(Int.max), 2] needs too many scalars, got 1")
    }

    func testCopyOnWrite() {
        var a = Tensor(zeros: [3])
        let b = a
        a[flat: 0] = 5
        XCTAssertEqual(a.scalars, [5, 0, 0])
        XCTAssertEqual(b.scalars, [0, 0, 0], "a copy must not see the other's writes")
        var c = b
        c.fill(2)
        XCTAssertEqual(b.scalars, [0, 0, 0])
        XCTAssertEqual(c.scalars, [2, 2, 2])
    }

    func testPrepareReusesStorageAndAssign() {
        var a = Tensor(zeros: [4, 4])
        a.prepare(rows: 2, columns: 3)
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.count, 6)
        var b = Tensor(zeros: [1])
        b.assign(Tensor([1, 2, 3]))
        XCTAssertEqual(b.scalars, [1, 2, 3])
    }

    func testSeededRandomInitialisersAreReproducible() {
        var r1 = testRNG(1), r2 = testRNG(1), r3 = testRNG(2)
        let a = Tensor(randomNormal: [10, 10], using: &r1)
        let b = Tensor(randomNormal: [10, 10], using: &r2)
        let c = Tensor(randomNormal: [10, 10], using: &r3)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testRandomDistributions() {
        var rng = testRNG(3)
        let u = Tensor(randomUniform: [20000], in: -2...4, using: &rng)
        XCTAssertGreaterThanOrEqual(u.scalars.min()!, -2)
        XCTAssertLessThanOrEqual(u.scalars.max()!, 4)
        assertClose(u.mean(), 1, absolute: 0.05)
        let n = Tensor(randomNormal: [20000], mean: 1, standardDeviation: 2, using: &rng)
        assertClose(n.mean(), 1, absolute: 0.05)
        let variance = (n - n.mean()).squaredNorm() / Float(n.count)
        assertClose(variance, 4, absolute: 0.15)
        let g = Tensor(glorotUniform: [30, 70], using: &rng)
        let limit = (6 / Float(100)).squareRoot()
        XCTAssertLessThanOrEqual(g.maxAbs(), limit)
        XCTAssertGreaterThan(g.maxAbs(), 0.9 * limit)
    }

    func testXoshiroReferenceSequence() {
        // xoshiro256** from state (1, 2, 3, 4): first outputs from the reference C code.
        var sm = SplitMix64(seed: 0)
        // SplitMix64(0) reference outputs (Vigna's splitmix64.c).
        XCTAssertEqual(sm.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(sm.next(), 0x6E78_9E6A_A1B9_65F4)
        var rng = Xoshiro256StarStar(seed: 0)
        var again = Xoshiro256StarStar(seed: 0)
        for _ in 0..<100 { XCTAssertEqual(rng.next(), again.next()) }
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 { counts[rng.nextInt(below: 5)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
    }

    func testElementwiseAndBroadcast() throws {
        let a = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let row = Tensor([10, 20, 30])
        XCTAssertEqual((a + row).scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((a * row).scalars, [10, 40, 90, 40, 100, 180])
        XCTAssertEqual((a - a).scalars, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual((a / a).scalars, [1, 1, 1, 1, 1, 1])
        XCTAssertEqual((2 * a).scalars, [2, 4, 6, 8, 10, 12])
        XCTAssertEqual((a + 1).scalars, [2, 3, 4, 5, 6, 7])
        XCTAssertEqual((-a).scalars, [-1, -2, -3, -4, -5, -6])
        var b = a
        b += row
        XCTAssertEqual(b.scalars, [11, 22, 33, 14, 25, 36])
        var out = Tensor(zeros: [0])
        a.add(row, into: &out)
        XCTAssertEqual(out, b)
        var c = a
        c.addScaled(a, by: -0.5)
        XCTAssertEqual(c.scalars, [0.5, 1, 1.5, 2, 2.5, 3])
    }

    func testReductions() throws {
        let a = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(a.sum(), 21)
        XCTAssertEqual(a.mean(), 3.5)
        XCTAssertEqual(a.sum(alongAxis: 0).scalars, [5, 7, 9])
        XCTAssertEqual(a.sum(alongAxis: 1).scalars, [6, 15])
        XCTAssertEqual(a.mean(alongAxis: 0).scalars, [2.5, 3.5, 4.5])
        XCTAssertEqual(a.mean(alongAxis: 1).scalars, [2, 5])
        var s = Tensor(zeros: [0])
        a.sumRows(into: &s)
        XCTAssertEqual(s.scalars, [5, 7, 9])
        a.sumRows(into: &s, beta: 1)
        XCTAssertEqual(s.scalars, [10, 14, 18])
        XCTAssertEqual(a.transposed().scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(a.squaredNorm(), 91)
        XCTAssertEqual(a.maxAbs(), 6)
    }

    func testGatherScatterConcat() throws {
        let table = try Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let g = table.gatherRows([2, 0, 2])
        XCTAssertEqual(g.scalars, [5, 6, 1, 2, 5, 6])
        var acc = Tensor(zeros: [3, 2])
        acc.scatterAddRows([2, 0, 2], from: g)
        XCTAssertEqual(acc.scalars, [1, 2, 0, 0, 10, 12], "repeated indices accumulate")
        let left = try Tensor(shape: [2, 1], scalars: [7, 8])
        let right = try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let joined = Tensor.concatenateColumns(left, right)
        XCTAssertEqual(joined.shape, [2, 3])
        XCTAssertEqual(joined.scalars, [7, 1, 2, 8, 3, 4])
        XCTAssertEqual(joined.sliceColumns(1..<3), right)
        XCTAssertEqual(joined.sliceColumns(0..<1), left)
        XCTAssertEqual(table.sliceRows(1..<3).scalars, [3, 4, 5, 6])
        XCTAssertEqual(table.row(1).scalars, [3, 4])
    }

    /// The scatter-add is the adjoint of the gather: <gather(T), G> == <T, scatter(G)>.
    func testScatterIsAdjointOfGather() {
        var rng = testRNG(9)
        let table = Tensor(randomNormal: [5, 4], using: &rng)
        let idx = [4, 1, 1, 0, 3, 4, 2]
        let g = Tensor(randomNormal: [idx.count, 4], using: &rng)
        var scattered = Tensor(zeros: [5, 4])
        scattered.scatterAddRows(idx, from: g)
        assertClose(Float(weightedSum(table.gatherRows(idx), g)), Float(weightedSum(table, scattered)), absolute: 1e-4)
    }

    func testShapeMismatchErrorNamesBothShapes() {
        let e = TensorError.shapeMismatch(operation: "matmul", lhs: [2, 3], rhs: [4, 5])
        XCTAssertEqual(e.description, "matmul: shapes [2, 3] and [4, 5] do not match")
    }
}
