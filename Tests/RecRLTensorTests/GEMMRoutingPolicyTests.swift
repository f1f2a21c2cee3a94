import XCTest
import Foundation
import RecRLTensor
import RecRLTestSupport

/// `GEMMRoutingPolicy`: which kernel each CPU profile gets for each shape, decided without
/// the hardware; and `BLASRuntime.gemmRoutingPolicy`, the process's policy.
final class GEMMRoutingPolicyTests: XCTestCase {
    let zen5 = CPUProfile(vendor: .amd, family: 0x1A, features: [.avx2, .fma, .avx512f])
    let zen4 = CPUProfile(vendor: .amd, family: 0x19, features: [.avx2, .fma, .avx512f])
    let intelAVX512 = CPUProfile(vendor: .intel, family: 6, features: [.avx2, .fma, .avx512f])
    let avx2Only = CPUProfile(vendor: .intel, family: 6, features: [.avx2, .fma])
    let generic = CPUProfile(vendor: .other, family: 0, features: [])

    func testEachProfileGetsItsPreset() {
        XCTAssertEqual(GEMMRoutingPolicy(profile: zen5), .recrlAVX512FullWidth)
        XCTAssertEqual(GEMMRoutingPolicy(profile: zen4), .recrlAVX512)
        XCTAssertEqual(GEMMRoutingPolicy(profile: intelAVX512), .recrlAVX512)
        XCTAssertEqual(GEMMRoutingPolicy(profile: avx2Only), .recrlAVX2)
        XCTAssertEqual(GEMMRoutingPolicy(profile: generic), .openBLASOnly)
        // AVX2 without FMA has no build; a Zen 5 family number alone does not make AVX-512.
        XCTAssertEqual(GEMMRoutingPolicy(profile: CPUProfile(vendor: .intel, family: 6, features: [.avx2])), .openBLASOnly)
        XCTAssertEqual(GEMMRoutingPolicy(profile: CPUProfile(vendor: .amd, family: 0x1A, features: [.avx2, .fma])), .recrlAVX2)
        // Full width is an AMD family fact: an Intel CPU with a large family number stays half-width.
        XCTAssertFalse(GEMMRoutingPolicy.executesAVX512AtFullWidth(CPUProfile(vendor: .intel, family: 0x1A, features: [.avx512f])))
        XCTAssertTrue(GEMMRoutingPolicy.executesAVX512AtFullWidth(CPUProfile(vendor: .amd, family: 0x1B, features: [.avx512f])))
        XCTAssertEqual(zen5.vectorWidth, 512)
        XCTAssertEqual(avx2Only.vectorWidth, 256)
        XCTAssertEqual(generic.vectorWidth, 128)
    }

    /// The shapes of WORKLOAD.md's `paper` and `large` updates that tell the rules apart.
    func testRoutingPerShapeAndProfile() {
        func route(_ p: CPUProfile, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, threads: Int = 1) -> String {
            GEMMRoutingPolicy(profile: p).kernel(transposeB: tb, m: m, n: n, k: k, blasThreads: threads).rawValue
        }
        let profiles = [zen5, zen4, intelAVX512, avx2Only, generic]
        // (transposeB, m, n, k) and the kernel for each profile, in the order above.
        let cases: [(Bool, Int, Int, Int, [String])] = [
            // 256 columns, 256-deep: every build takes it.
            (false, 64, 256, 256, ["recrl-avx512", "recrl-avx512", "recrl-avx512", "recrl-avx2", "openblas"]),
            // 100 columns: 28% padding in 32-column blocks, 12% in 16-column blocks.
            (false, 64, 100, 256, ["recrl-avx512", "openblas", "openblas", "recrl-avx2", "openblas"]),
            // B transposed at depth 100 (not a multiple of 16).
            (true, 64, 256, 100, ["recrl-avx512", "openblas", "openblas", "recrl-avx2", "openblas"]),
            // B transposed at depth 256.
            (true, 64, 400, 256, ["recrl-avx512", "recrl-avx512", "recrl-avx512", "recrl-avx2", "openblas"]),
            // Above 10⁹ multiply-adds: only the full-width AVX-512 rule takes it.
            (false, 1024, 4096, 4096, ["recrl-avx512", "openblas", "openblas", "openblas", "openblas"]),
            // Depth 1: the rank-1 kernel everywhere.
            (true, 64, 256, 1, ["rank-1", "rank-1", "rank-1", "rank-1", "rank-1"]),
            // One column (an H → 1 head), three rows, depth 4: OpenBLAS.
            (false, 64, 1, 256, ["openblas", "openblas", "openblas", "openblas", "openblas"]),
            (false, 3, 256, 256, ["openblas", "openblas", "openblas", "openblas", "openblas"]),
            (false, 64, 256, 4, ["openblas", "openblas", "openblas", "openblas", "openblas"]),
            // 16 to 31 columns: full-width AVX-512 and AVX2 only.
            (false, 64, 16, 256, ["recrl-avx512", "openblas", "openblas", "recrl-avx2", "openblas"]),
        ]
        for (tb, m, n, k, expected) in cases {
            XCTAssertEqual(profiles.map { route($0, tb, m, n, k) }, expected, "tb \(tb) m \(m) n \(n) k \(k)")
            // Multi-threaded BLAS keeps every product of depth ≥ 2 and more than 2²⁰
            // multiply-adds with OpenBLAS; below that, the threads do not change the routing
            // of these shapes (both sides of the split bound are in the next test).
            let multiThreaded = m * n * k > GEMMRoutingPolicy.singleThreadedWork ? expected.map { $0 == "rank-1" ? $0 : "openblas" } : expected
            for threads in [2, 4] {
                XCTAssertEqual(profiles.map { route($0, tb, m, n, k, threads: threads) }, multiThreaded, "tb \(tb) m \(m) n \(n) k \(k), \(threads) threads")
            }
        }
    }

    /// On multi-threaded BLAS, products of at most 2²⁰ multiply-adds stay on the calling
    /// thread: RecRL's own SGEMM where it serves the shape, or where OpenBLAS would split the
    /// product (above 2¹⁸), and OpenBLAS (which computes it on one thread) otherwise. The
    /// shapes are DeepPage's at its default sizes and the bounds of both rules.
    func testSmallProductsStayOnOneThreadOnMultiThreadedBLAS() {
        XCTAssertEqual(GEMMRoutingPolicy.singleThreadedWork, 1_048_576)
        XCTAssertEqual(GEMMRoutingPolicy.openBLASSplitWork, 262_144)
        func route(_ p: CPUProfile, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, threads: Int) -> String {
            GEMMRoutingPolicy(profile: p).kernel(transposeB: tb, m: m, n: n, k: k, blasThreads: threads).rawValue
        }
        let profiles = [zen5, zen4, intelAVX512, avx2Only, generic]
        let own = ["recrl-avx512", "recrl-avx512", "recrl-avx512", "recrl-avx2", "openblas"]
        let fullWidthAndAVX2 = ["recrl-avx512", "openblas", "openblas", "recrl-avx2", "openblas"]
        let openBLAS = ["openblas", "openblas", "openblas", "openblas", "openblas"]
        // (transposeB, m, n, k), the kernels on single-threaded BLAS, on multi-threaded BLAS.
        let cases: [(Bool, Int, Int, Int, [String], [String])] = [
            // The history GRU (batch 32, 5 steps, input and hidden 32): input projection and
            // its input gradient (491 520 multiply-adds), one step's recurrent product.
            (false, 160, 96, 32, own, own),
            (true, 160, 32, 96, own, own),
            (false, 32, 96, 32, own, own),
            // The page CNN's 16 filters over 96 pages (811 008): above OpenBLAS's split, so
            // the own kernel takes it on several threads even where it leaves it to OpenBLAS on one.
            (false, 96 * 4, 16, 132, fullWidthAndAVX2, own),
            // The page GRU's input gradient, 16 columns (147 456): OpenBLAS keeps it on one thread.
            (true, 96, 16, 96, fullWidthAndAVX2, fullWidthAndAVX2),
            // A critic's H → 1 head stays with OpenBLAS.
            (false, 64, 1, 256, openBLAS, openBLAS),
            // 2²⁰ multiply-adds stay on one thread; one more depth goes to OpenBLAS's threads.
            (false, 64, 128, 128, own, own),
            (false, 64, 128, 129, own, openBLAS),
            // 100 columns just above and at 2¹⁸ multiply-adds.
            (false, 64, 100, 41, fullWidthAndAVX2, own),
            (false, 64, 100, 40, fullWidthAndAVX2, fullWidthAndAVX2),
            // Depth 1 stays with the rank-1 kernel.
            (false, 64, 256, 1, Array(repeating: "rank-1", count: 5), Array(repeating: "rank-1", count: 5)),
        ]
        for (tb, m, n, k, single, multi) in cases {
            XCTAssertEqual(profiles.map { route($0, tb, m, n, k, threads: 1) }, single, "tb \(tb) m \(m) n \(n) k \(k), 1 thread")
            for threads in [2, 8] {
                XCTAssertEqual(profiles.map { route($0, tb, m, n, k, threads: threads) }, multi, "tb \(tb) m \(m) n \(n) k \(k), \(threads) threads")
            }
        }
        // The explicit OpenBLAS-only policy never routes to RecRL's SGEMM.
        XCTAssertEqual(GEMMRoutingPolicy.openBLASOnly.kernel(transposeB: false, m: 160, n: 96, k: 32, blasThreads: 2), .openBLAS)
    }

    /// The padding rule, stated as a fraction, equals the integer rule it encodes for every
    /// column count up to 4096: AVX-512 `⌈n/32⌉·320 ≤ 11n`, AVX2 `⌈n/16⌉·128 ≤ 9n`.
    func testColumnPaddingRuleMatchesIntegerRule() {
        for n in 1...4096 {
            XCTAssertEqual(
                GEMMRoutingPolicy.recrlAVX512.ownKernelServes(transposeB: false, m: 64, n: n, k: 64),
                n >= 32 && (n + 31) / 32 * 320 <= n * 11, "AVX-512, n = \(n)")
            XCTAssertEqual(
                GEMMRoutingPolicy.recrlAVX2.ownKernelServes(transposeB: false, m: 64, n: n, k: 64),
                n >= 16 && (n + 15) / 16 * 128 <= n * 9, "AVX2, n = \(n)")
            XCTAssertEqual(GEMMRoutingPolicy.recrlAVX512FullWidth.ownKernelServes(transposeB: true, m: 64, n: n, k: 63), n >= 16)
            XCTAssertFalse(GEMMRoutingPolicy.openBLASOnly.ownKernelServes(transposeB: false, m: 64, n: n, k: 64))
        }
    }

    func testEnvironmentOverride() {
        XCTAssertEqual(GEMMRoutingPolicy.fromEnvironment(nil, profile: zen5).policy, .recrlAVX512FullWidth)
        XCTAssertEqual(GEMMRoutingPolicy.fromEnvironment("openblas", profile: zen5).policy, .openBLASOnly)
        XCTAssertEqual(GEMMRoutingPolicy.fromEnvironment("avx2", profile: zen5).policy, .recrlAVX2)
        XCTAssertEqual(GEMMRoutingPolicy.fromEnvironment("avx2", profile: generic).policy, .openBLASOnly, "no AVX2 build to pick")
        let unknown = GEMMRoutingPolicy.fromEnvironment("avx1024", profile: zen4)
        XCTAssertEqual(unknown.policy, .recrlAVX512)
        XCTAssertEqual(unknown.warning, "RECRL_GEMM=avx1024 is not one of openblas, avx2; using the default kernel")
        XCTAssertNil(GEMMRoutingPolicy.fromEnvironment("openblas", profile: zen4).warning)
        // An explicit policy accepts only RecRL's builds as its own kernel.
        let odd = GEMMRoutingPolicy(
            ownKernel: .openBLAS, minimumRows: 1, minimumDepth: 1, minimumColumns: 1, columnBlock: 1,
            maximumColumnPadding: .infinity, maximumWork: nil, transposedBDepthMultiple: 1)
        XCTAssertNil(odd.ownKernel)
    }

    /// The process starts with the host's policy (or RECRL_GEMM's), reports it, and takes a new
    /// one through `BLASRuntime.gemmRoutingPolicy`; products stay correct under each.
    func testRuntimePolicyCanBeReplaced() {
        let env = ProcessInfo.processInfo.environment["RECRL_GEMM"]
        let initial = BLASRuntime.gemmRoutingPolicy
        XCTAssertEqual(initial, GEMMRoutingPolicy.fromEnvironment(env, profile: .host).policy)
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer {
            BLASRuntime.gemmRoutingPolicy = initial
            BLASRuntime.setThreadCount(threads)
        }
        var rng = Xoshiro256StarStar(seed: 3)
        let a = Tensor(randomUniform: [64, 256], in: -1...1, using: &rng)
        let b = Tensor(randomUniform: [256, 256], in: -1...1, using: &rng)
        var reference = Tensor(zeros: [64, 256])
        BLASRuntime.gemmRoutingPolicy = .openBLASOnly
        XCTAssertEqual(BLASRuntime.gemmKernel, "openblas")
        XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 64, n: 256, k: 256), "openblas")
        XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 64, n: 256, k: 1), "rank-1")
        matmul(a, b, into: &reference)
        if recrlCPUHas("avx2") && recrlCPUHas("fma") {
            BLASRuntime.gemmRoutingPolicy = .recrlAVX2
            XCTAssertEqual(BLASRuntime.gemmRoutingPolicy, .recrlAVX2)
            XCTAssertEqual(BLASRuntime.gemmKernel, "recrl-avx2")
            XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 64, n: 256, k: 256), "recrl-avx2")
            var own = Tensor(zeros: [64, 256])
            matmul(a, b, into: &own)
            assertClose(own, reference, absolute: 1e-3, relative: 1e-4, "AVX2 build against OpenBLAS")
        }
        if !recrlCPUHas("avx512f") {
            // A build this CPU cannot run is reported, and served, as OpenBLAS.
            BLASRuntime.gemmRoutingPolicy = .recrlAVX512
            XCTAssertEqual(BLASRuntime.gemmKernel, "openblas")
            XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 64, n: 256, k: 256), "openblas")
        }
        // Concurrent readers and writers see one of the policies written, never a torn one.
        let policies: [GEMMRoutingPolicy] = [.openBLASOnly, .recrlAVX2, .recrlAVX512, .recrlAVX512FullWidth]
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            for j in 0..<500 {
                if i == 0 { BLASRuntime.gemmRoutingPolicy = policies[j % policies.count] } else { XCTAssert(policies.contains(BLASRuntime.gemmRoutingPolicy)) }
            }
        }
    }
}
