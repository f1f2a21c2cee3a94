import ArgumentParser
import Foundation
import RecRL

/// Throughput benchmarks of the canonical training workload (WORKLOAD.md).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure GEMM rates and DDPG training throughput.",
        subcommands: [BenchGEMM.self])
}

/// One of WORKLOAD.md's configurations.
struct WorkloadConfig: Sendable {
    let name: String
    let k: Int, hidden: Int, batch: Int
    var state: Int { 3 * k }
    static let all = [
        WorkloadConfig(name: "paper", k: 100, hidden: 256, batch: 64),
        WorkloadConfig(name: "medium", k: 128, hidden: 1024, batch: 256),
        WorkloadConfig(name: "large", k: 256, hidden: 4096, batch: 1024),
    ]
    static func named(_ name: String) throws -> WorkloadConfig {
        guard let c = all.first(where: { $0.name == name }) else {
            throw ValidationError("unknown config '\(name)'; expected one of \(all.map(\.name).joined(separator: ", "))")
        }
        return c
    }
    var actorLayers: [(Int, Int)] { [(state, hidden), (hidden, hidden), (hidden, k)] }
    var criticLayers: [(Int, Int)] { [(state + k, hidden), (hidden, hidden), (hidden, 1)] }
    /// WORKLOAD.md: step FLOPs = 4·F(A) + 6·F(C), F(L) = Σ 2·B·in·out.
    var flopsPerUpdate: Double {
        func f(_ l: [(Int, Int)]) -> Double { l.reduce(0) { $0 + 2 * Double(batch * $1.0 * $1.1) } }
        return 4 * f(actorLayers) + 6 * f(criticLayers)
    }

    /// A GEMM `[m, k] · [k, n]` with transpose flags, as the step issues it.
    struct GEMM: Hashable {
        let m: Int, k: Int, n: Int, ta: Bool, tb: Bool
        var flops: Double { 2 * Double(m) * Double(k) * Double(n) }
        var label: String { "\(m)x\(k)x\(n)\(ta ? " Aᵀ" : "")\(tb ? " Bᵀ" : "")" }
    }

    /// Every GEMM of one update, with multiplicity, following WORKLOAD.md's FLOP count.
    var stepGEMMs: [GEMM: Int] {
        var out: [GEMM: Int] = [:]
        func forward(_ l: [(Int, Int)], _ times: Int) {
            for (i, o) in l { out[GEMM(m: batch, k: i, n: o, ta: false, tb: false), default: 0] += times }
        }
        func inputGrad(_ l: [(Int, Int)], _ times: Int) {
            for (i, o) in l { out[GEMM(m: batch, k: o, n: i, ta: false, tb: true), default: 0] += times }
        }
        func weightGrad(_ l: [(Int, Int)], _ times: Int) {
            for (i, o) in l { out[GEMM(m: i, k: batch, n: o, ta: true, tb: false), default: 0] += times }
        }
        forward(actorLayers, 2); inputGrad(actorLayers, 1); weightGrad(actorLayers, 1)     // target + online actor
        forward(criticLayers, 3); inputGrad(criticLayers, 2); weightGrad(criticLayers, 1)  // target, TD update, actor pass
        return out
    }
}

/// Measures sgemm GFLOP/s for the workload's shapes and square sizes.
struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of every GEMM shape in the workload, square sizes, and the sgemm-bound update limit.")

    @Option(help: "Configurations to measure (comma-separated: paper,medium,large).")
    var config: String = "paper,medium"
    @Option(help: "OpenBLAS threads (default: the machine's cores).")
    var threads: Int?
    @Option(help: "Seconds to time each shape.")
    var seconds: Double = 0.3
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        for name in config.split(separator: ",") { _ = try WorkloadConfig.named(String(name)) }
    }

    func run() throws {
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        BLASRuntime.setThreadCount(n)
        var rng = Xoshiro256StarStar(seed: 1)
        var results: [(String, [(String, Double, Int)], Double, Double)] = []
        var square: [(Int, Double)] = []
        for size in [256, 512, 1024, 2048] {
            square.append((size, rate(WorkloadConfig.GEMM(m: size, k: size, n: size, ta: false, tb: false), &rng)))
            progress("square \(size): \(String(format: "%.1f", square.last!.1)) GFLOP/s")
        }
        for name in config.split(separator: ",") {
            let c = try WorkloadConfig.named(String(name))
            var rows: [(String, Double, Int)] = []
            var seconds = 0.0
            for (g, times) in c.stepGEMMs.sorted(by: { $0.key.flops > $1.key.flops }) {
                let r = rate(g, &rng)
                rows.append((g.label, r, times))
                seconds += Double(times) * g.flops / (r * 1e9)
                progress("\(c.name) \(g.label) ×\(times): \(String(format: "%.1f", r)) GFLOP/s")
            }
            results.append((c.name, rows, 1 / seconds, c.flopsPerUpdate))
        }
        if json {
            var configs: [String] = []
            for (name, rows, limit, flops) in results {
                let shapes = rows.map { "{\"shape\":\"\($0.0)\",\"gflops\":\(fmt($0.1)),\"per_update\":\($0.2)}" }
                configs.append("{\"config\":\"\(name)\",\"gflop_per_update\":\(fmt(flops / 1e9)),\"sgemm_bound_updates_per_second\":\(fmt(limit)),\"shapes\":[\(shapes.joined(separator: ","))]}")
            }
            let sq = square.map { "{\"n\":\($0.0),\"gflops\":\(fmt($0.1))}" }
            print("{\"blas_core\":\"\(BLASRuntime.coreName)\",\"threads\":\(n),\"square\":[\(sq.joined(separator: ","))],\"configs\":[\(configs.joined(separator: ","))]}")
        } else {
            print("BLAS core \(BLASRuntime.coreName), \(n) threads")
            for (size, r) in square { print(String(format: "square %5d: %8.1f GFLOP/s", size, r)) }
            for (name, rows, limit, flops) in results {
                print("\n\(name): \(String(format: "%.4f", flops / 1e9)) GFLOP/update; sgemm-bound limit \(String(format: "%.1f", limit)) updates/s")
                for (label, r, times) in rows {
                    let padded = label.padding(toLength: 24, withPad: " ", startingAt: 0)
                    print("  \(padded) ×\(times)  " + String(format: "%8.1f GFLOP/s", r))
                }
            }
        }
    }

    private func fmt(_ x: Double) -> String { String(format: "%.4g", x) }

    /// Median GFLOP/s of timed batches of calls after a warm-up.
    private func rate(_ g: WorkloadConfig.GEMM, _ rng: inout Xoshiro256StarStar) -> Double {
        let a = Tensor(randomUniform: g.ta ? [g.k, g.m] : [g.m, g.k], in: -1...1, using: &rng)
        let b = Tensor(randomUniform: g.tb ? [g.n, g.k] : [g.k, g.n], in: -1...1, using: &rng)
        var c = Tensor(zeros: [g.m, g.n])
        for _ in 0..<3 { matmul(a, b, transposeA: g.ta, transposeB: g.tb, into: &c) }
        var samples: [Double] = []
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let start = DispatchTime.now().uptimeNanoseconds
            var reps = 0
            repeat {
                matmul(a, b, transposeA: g.ta, transposeB: g.tb, into: &c)
                reps += 1
            } while DispatchTime.now().uptimeNanoseconds - start < 20_000_000
            let ns = Double(DispatchTime.now().uptimeNanoseconds - start)
            samples.append(Double(reps) * g.flops / ns)
        } while Date() < deadline || samples.count < 3
        samples.sort()
        return samples[samples.count / 2]
    }

    private func progress(_ s: String) {
        if isatty(2) != 0 { writeToStandardError(s + "\n") }
    }
}
