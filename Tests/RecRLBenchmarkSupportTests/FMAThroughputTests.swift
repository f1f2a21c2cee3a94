import XCTest
import RecRLBenchmarkSupport
import RecRLTestSupport

/// The FMA probe behind `recrl bench cpu`: it must do the work it counts (its checksum is the
/// exactly computed recurrence), and the multi-thread measurement must report every thread.
final class FMAThroughputTests: XCTestCase {
    /// The probe's checksum, computed in Swift: chain j runs x = fma(x, m, c) from start + j.
    func expectedChecksum(iterations: Int, start: Float, m: Float, c: Float, fused: Bool = true) -> Float {
        var sum: Float = 0
        for j in 0..<12 {
            var x = start + Float(j)
            for _ in 0..<iterations {
                if fused { x = c.addingProduct(x, m) } else { let p = x * m; x = p + c }  // addingProduct: one rounding
            }
            sum += x
        }
        return sum
    }

    func testProbeComputesTheRecurrenceItCounts() throws {
        guard recrlCPUHas("avx2") && recrlCPUHas("fma") else {
            XCTAssertNil(FMAThroughput.probe(iterations: 10), "no AVX2 + FMA: the probe must decline")
            return
        }
        let cases: [(Int, Float, Float, Float)] = [
            (0, 0, 0.5, 1), (1, 0, 0.5, 1), (7, -3.25, 0.75, 0.1),
            (1000, 1, 0.999, 1e-3), (100_000, 0, 0.5, 1),
        ]
        for (iterations, start, m, c) in cases {
            let r = try XCTUnwrap(FMAThroughput.probe(iterations: iterations, start: start, multiplier: m, addend: c))
            XCTAssertEqual(r.flops, iterations * 192, "12 chains x 8 lanes x 2 FLOPs per iteration")
            let want = expectedChecksum(iterations: iterations, start: start, m: m, c: c)
            XCTAssertEqual(r.checksum.bitPattern, want.bitPattern, "\(iterations) iterations: \(r.checksum) vs \(want)")
        }
        // The cases tell a fused multiply-add from a multiply and an add rounded apart.
        XCTAssert(
            cases.contains {
                expectedChecksum(iterations: $0.0, start: $0.1, m: $0.2, c: $0.3, fused: false)
                    != expectedChecksum(iterations: $0.0, start: $0.1, m: $0.2, c: $0.3)
            })
        XCTAssertNil(FMAThroughput.probe(iterations: -1), "negative iterations are refused")
    }

    func testMeasureReportsEachThread() throws {
        guard recrlCPUHas("avx2") && recrlCPUHas("fma") else {
            XCTAssertNil(FMAThroughput.measure(threads: 2, seconds: 0.01))
            return
        }
        let two = try XCTUnwrap(FMAThroughput.measure(threads: 2, seconds: 0.05))
        XCTAssertEqual(two.count, 2)
        for r in two { XCTAssert(r.isFinite && r > 0, "rate \(r)") }
        XCTAssertEqual(try XCTUnwrap(FMAThroughput.measure(threads: 0, seconds: 0.01)).count, 1, "threads clamp to 1")
        XCTAssertEqual(try XCTUnwrap(FMAThroughput.measure(threads: 3, seconds: -1)).count, 3, "seconds clamp to 1 ms")
    }
}
