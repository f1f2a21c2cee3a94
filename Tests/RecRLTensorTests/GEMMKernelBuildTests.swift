import XCTest
import Foundation
import CRecRLKernels
import RecRLTensor
import RecRLTestSupport

/// RecRL's own SGEMM (`recrl_sgemm`), called directly in each build this CPU runs: the
/// AVX2 + FMA one (6 × 16 micro-kernel) runs on every AVX2 CPU, AVX-512 ones included, so
/// both builds are checked on AVX-512 machines, and the AVX2 one on AVX2-only machines.
final class GEMMKernelBuildTests: XCTestCase {
    /// The builds this CPU should run, read from /proc/cpuinfo independently of the library.
    func expectedBuilds() -> [(name: String, kernel: Int32)] {
        var builds: [(String, Int32)] = []
        if recrlCPUHas("avx2") && recrlCPUHas("fma") { builds.append(("avx2", Int32(RECRL_SGEMM_AVX2))) }
        if recrlCPUHas("avx512f") { builds.append(("avx512", Int32(RECRL_SGEMM_AVX512))) }
        return builds
    }

    /// One product on row-major buffers with padded strides; returns C including the padding.
    func product(
        kernel: Int32, _ ta: Bool, _ tb: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
        a: [Float], lda: Int, b: [Float], ldb: Int, c: [Float], ldc: Int
    ) -> (ran: Bool, c: [Float]) {
        var c = c
        let ran = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    recrl_sgemm(
                        kernel, ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, pa.baseAddress, lda,
                        pb.baseAddress, ldb, beta, pc.baseAddress, ldc)
                }
            }
        }
        return (ran == 1, c)
    }

    /// Every transpose, partial 6-row / 8-row and 16-column / 32-column blocks, more than one
    /// 256-deep and 256- or 512-wide block, alpha and beta (beta 0 overwrites whatever C held,
    /// NaN included), and the padding columns of every row of C left untouched.
    func testEachBuildMatchesNaiveProduct() throws {
        let builds = expectedBuilds()
        #if arch(x86_64)
            XCTAssertEqual(recrl_sgemm_best_kernel(), builds.last?.kernel ?? Int32(RECRL_SGEMM_NONE))
        #endif
        var rng = testRNG(31)
        let shapes = [
            (6, 8, 16), (7, 9, 17), (13, 48, 330), (37, 272, 64), (100, 64, 160), (4, 608, 96),
            (20, 513, 224), (9, 20, 530), (64, 300, 100), (61, 40, 300),
        ]
        for (name, kernel) in builds {
            for (m, k, n) in shapes {
                for ta in [false, true] {
                    for tb in [false, true] {
                        for (alpha, beta) in [(Float(1), Float(0)), (2, -0.5), (-1.5, 1)] {
                            let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2
                            let a = (0..<(ta ? k : m) * lda).map { _ in rng.nextNormalFloat() }
                            let b = (0..<(tb ? n : k) * ldb).map { _ in rng.nextNormalFloat() }
                            let c0 = (0..<m * ldc).map { i in beta == 0 && i % 7 == 0 ? Float.nan : rng.nextNormalFloat() }
                            let (ran, c) = product(
                                kernel: kernel, ta, tb, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                a: a, lda: lda, b: b, ldb: ldb, c: c0, ldc: ldc)
                            let what = "\(name) m\(m) k\(k) n\(n) ta \(ta) tb \(tb) alpha \(alpha) beta \(beta)"
                            XCTAssertTrue(ran, what)
                            var worst = 0.0
                            for i in 0..<m {
                                for j in 0..<ldc {
                                    if j >= n {
                                        XCTAssertEqual(c[i * ldc + j].bitPattern, c0[i * ldc + j].bitPattern, "padding written: \(what)")
                                        continue
                                    }
                                    var s = 0.0
                                    for p in 0..<k {
                                        s += Double(ta ? a[p * lda + i] : a[i * lda + p]) * Double(tb ? b[j * ldb + p] : b[p * ldb + j])
                                    }
                                    let expected = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(c0[i * ldc + j]))
                                    worst = max(worst, abs(Double(c[i * ldc + j]) - expected) / (1 + abs(expected)))
                                }
                            }
                            XCTAssertLessThan(worst, 1e-5 * Double(k).squareRoot(), what)
                        }
                    }
                }
            }
        }
    }

    /// The two-lane update splits products into row and column ranges and expects the same
    /// bits as one call: each element is the same sum in the same order wherever it falls.
    func testRowAndColumnSplitsGiveTheSameBits() {
        var rng = testRNG(32)
        for (name, kernel) in expectedBuilds() {
            for (m, k, n, ta, tb) in [
                (64, 300, 256, false, false), (300, 64, 256, true, false), (64, 256, 300, false, true),
                (50, 530, 270, false, false),
            ] {
                let lda = ta ? m : k, ldb = tb ? k : n
                let a = (0..<(ta ? k : m) * lda).map { _ in rng.nextNormalFloat() }
                let b = (0..<(tb ? n : k) * ldb).map { _ in rng.nextNormalFloat() }
                let zero = [Float](repeating: 0, count: m * n)
                let whole = product(
                    kernel: kernel, ta, tb, m: m, n: n, k: k, alpha: 1, beta: 0,
                    a: a, lda: lda, b: b, ldb: ldb, c: zero, ldc: n
                ).c
                for cut in [1, 5, 6, 8, 31, m / 2] where cut < m {
                    // Rows [cut, m): op(A) starts `cut` rows later.
                    let top = product(
                        kernel: kernel, ta, tb, m: cut, n: n, k: k, alpha: 1, beta: 0,
                        a: a, lda: lda, b: b, ldb: ldb, c: zero, ldc: n
                    ).c
                    let shift = ta ? cut : cut * lda
                    let bottom = product(
                        kernel: kernel, ta, tb, m: m - cut, n: n, k: k, alpha: 1, beta: 0,
                        a: Array(a[shift...]), lda: lda, b: b, ldb: ldb, c: zero, ldc: n
                    ).c
                    let split = Array(top[0..<cut * n]) + Array(bottom[0..<(m - cut) * n])
                    XCTAssertEqual(split.map(\.bitPattern), whole.map(\.bitPattern), "\(name) rows at \(cut): m\(m) k\(k) n\(n)")
                }
                for cut in [16, 48, 112, 128] where cut < n {
                    let left = product(
                        kernel: kernel, ta, tb, m: m, n: cut, k: k, alpha: 1, beta: 0,
                        a: a, lda: lda, b: b, ldb: ldb, c: zero, ldc: n
                    ).c
                    let shift = tb ? cut * ldb : cut
                    let right = product(
                        kernel: kernel, ta, tb, m: m, n: n - cut, k: k, alpha: 1, beta: 0,
                        a: a, lda: lda, b: Array(b[shift...]), ldb: ldb, c: zero, ldc: n
                    ).c
                    var split = left
                    for i in 0..<m { for j in cut..<n { split[i * n + j] = right[i * n + j - cut] } }
                    XCTAssertEqual(split.map(\.bitPattern), whole.map(\.bitPattern), "\(name) columns at \(cut): m\(m) k\(k) n\(n)")
                }
            }
        }
    }

    /// A build the CPU lacks reports that it cannot run and leaves C alone.
    func testUnsupportedBuildDeclines() {
        var c: [Float] = [7, 7, 7, 7]
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        let kernels = [Int32(RECRL_SGEMM_NONE)] + (recrlCPUHas("avx512f") ? [] : [Int32(RECRL_SGEMM_AVX512)])
        for kernel in kernels {
            let ran = recrl_sgemm(kernel, 0, 0, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2)
            XCTAssertEqual(ran, 0, "kernel \(kernel)")
            XCTAssertEqual(c, [7, 7, 7, 7])
        }
    }
}

/// `CPUProfile.host` (from which the GEMM routing policy is derived) reads the same vendor,
/// family and features as /proc/cpuinfo, and the process's policy is the one for that profile.
final class CPUFamilyTests: XCTestCase {
    func testHostProfileMatchesProcCPUInfo() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        func field(_ name: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(name) }?
                .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
        }
        let vendor = try XCTUnwrap(field("vendor_id"))
        let family = try XCTUnwrap(field("cpu family").flatMap { Int($0) })
        let host = CPUProfile.host
        XCTAssertEqual(host.vendor, vendor == "AuthenticAMD" ? .amd : vendor == "GenuineIntel" ? .intel : .other, "\(vendor)")
        XCTAssertEqual(
            Int(recrl_cpu_vendor()),
            vendor == "AuthenticAMD"
                ? Int(RECRL_CPU_VENDOR_AMD)
                : vendor == "GenuineIntel" ? Int(RECRL_CPU_VENDOR_INTEL) : Int(RECRL_CPU_VENDOR_OTHER))
        XCTAssertEqual(host.family, family, "\(vendor) family \(family)")
        XCTAssertEqual(host.features.contains(.avx2), recrlCPUHas("avx2"))
        XCTAssertEqual(host.features.contains(.fma), recrlCPUHas("fma"))
        XCTAssertEqual(host.features.contains(.avx512f), recrlCPUHas("avx512f"))
        // Zen 5 and later take every AVX-512 shape of at least 16 columns; other CPUs leave
        // the 100-column products of `paper` and the products of `large` to OpenBLAS.
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        if BLASRuntime.gemmKernel == "recrl-avx512" && ProcessInfo.processInfo.environment["RECRL_GEMM"] == nil {
            let wide = vendor == "AuthenticAMD" && family >= 0x1A
            XCTAssertEqual(BLASRuntime.gemmRoutingPolicy, wide ? .recrlAVX512FullWidth : .recrlAVX512)
            XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 64, n: 100, k: 256), wide ? "recrl-avx512" : "openblas")
            XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: true, m: 64, n: 256, k: 100), wide ? "recrl-avx512" : "openblas")
            XCTAssertEqual(BLASRuntime.gemmKernel(transposeB: false, m: 1024, n: 4096, k: 4096), wide ? "recrl-avx512" : "openblas")
        }
    }
}
