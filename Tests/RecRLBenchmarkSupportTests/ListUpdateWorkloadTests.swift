import XCTest
import RecRLTensor
import RecRLBenchmarkSupport
import RecRLTestSupport

/// The LIRD and DeepPage training updates `bench update` times: they run, learn something
/// on their fixed batch, and allocate nothing once warm.
final class ListUpdateWorkloadTests: XCTestCase {
    /// Warm updates on 1-thread BLAS (OpenBLAS itself mallocs a job array for every GEMM it
    /// splits across threads): no heap allocation, sequentially and, for LIRD, on two lanes.
    func testWarmUpdatesAllocateNothing() throws {
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        for (name, lanes) in [("deeppage", 1), ("lird", 1), ("lird", 2)] {
            var update = try ListUpdateWorkload(name: name, items: 200).make(seed: 1)
            update.parallelism = lanes
            XCTAssertEqual(update.usesParallelPath, lanes == 2, name)
            update.step()
            update.step()
            let n = try countAllocations { for _ in 0..<3 { update.step() } }
            XCTAssertEqual(n, 0, "a warm \(name) update (\(lanes) lane(s)) must not allocate")
        }
    }

    /// Repeated updates on one batch fit it: the critic loss falls.
    func testUpdatesReduceTheCriticLossOnTheirBatch() throws {
        for name in ListUpdateWorkload.names {
            var update = try ListUpdateWorkload(name: name, items: 50).make(seed: 2)
            let first = update.step()
            var last = first
            for _ in 0..<60 { last = update.step() }
            XCTAssert(first.isFinite && last.isFinite, name)
            XCTAssertLessThan(last, first * 0.5, "\(name): critic loss \(first) -> \(last)")
        }
    }

    func testUnknownNamesAndTinyCataloguesAreRejected() {
        XCTAssertThrowsError(try ListUpdateWorkload(name: "drr"))
        XCTAssertThrowsError(try ListUpdateWorkload(name: "lird", items: 4))
    }
}
