import ArgumentParser
import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents

/// `bench`: throughput benchmarks of the canonical training workload (WORKLOAD.md), GEMM
/// rates, the CPU's FMA throughput and serving latency. `recrl bench` and `recrl-bench` run
/// the same subcommands; only `recrl-bench` counts heap allocations (see ``AllocationCounting``).
public struct Bench: ParsableCommand {
    /// The subcommands, for executables that offer them under another root command.
    public static let subcommandTypes: [any ParsableCommand.Type] = [
        BenchTrain.self, BenchGEMM.self, BenchCPU.self, BenchRecommend.self, BenchExport.self, BenchLayers.self, BenchUpdate.self,
    ]

    public static let configuration = CommandConfiguration(
        abstract: "Measure GEMM rates and DDPG training throughput.",
        subcommands: subcommandTypes)

    public init() {}

    /// Updates per second for the tables: one decimal from 10 up, more below, so that `large`
    /// (below one update per second) keeps three significant digits.
    static func rate(_ x: Double) -> String {
        String(format: x >= 10 ? "%.1f" : x >= 1 ? "%.2f" : "%.3f", x)
    }
}

extension TrainingWorkload {
    /// The configuration named `name`, or a validation error that lists the names.
    static func parse(_ name: String) throws -> TrainingWorkload {
        guard let c = TrainingWorkload.named(name) else {
            throw ValidationError("unknown config '\(name)'; expected one of \(TrainingWorkload.standard.map(\.name).joined(separator: ", "))")
        }
        return c
    }
}

/// Measures the FMA throughput the machine gives right now: one thread alone, then N at once.
public struct BenchCPU: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cpu",
        abstract: "Measure the CPU's FP32 FMA throughput now: 1 thread, then N threads at once.",
        discussion: """
            On a virtual machine the throughput of N threads at once is not always N times one \
            thread's (the host may run two vCPUs on one core's two hardware threads). `scaling` \
            (N threads' total over one thread's rate) says which level the machine is on; \
            Benchmarks/peers/compare.sh records it beside every contender's run.
            """)

    @Option(help: "Threads that run at once (default: the machine's cores).") var threads: Int?
    @Option(help: "Seconds for each of the two measurements.") var seconds: Double = 0.5
    @Flag(help: "Print one JSON object.") var json = false

    /// The JSON output.
    struct CPUResult: Encodable {
        var threads: Int
        var singleThreadGFLOPS: Double
        var perThreadGFLOPS: [Double]
        var gflops: Double
        var scaling: Double

        enum CodingKeys: String, CodingKey {
            case threads, gflops, scaling
            case singleThreadGFLOPS = "single_thread_gflops", perThreadGFLOPS = "per_thread_gflops"
        }
    }

    public init() {}

    public func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be in 1...256") }
    }

    public func run() throws {
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard let one = FMAThroughput.measure(threads: 1, seconds: seconds)?.first,
            let many = n == 1 ? [one] : FMAThroughput.measure(threads: n, seconds: seconds)
        else {
            throw BenchError("bench cpu: this CPU has no AVX2 + FMA, which the probe needs")
        }
        let total = many.reduce(0, +)
        let f = { (x: Double) in String(format: "%.2f", x) }
        if json {
            print(
                try BenchJSON.line(
                    CPUResult(
                        threads: n, singleThreadGFLOPS: BenchJSON.fixed(one, 2),
                        perThreadGFLOPS: many.map { BenchJSON.fixed($0, 2) },
                        gflops: BenchJSON.fixed(total, 2), scaling: BenchJSON.fixed(total / one, 3))))
        } else {
            print("FMA throughput (FP32, AVX2 + FMA), \(seconds) s each")
            print("  1 thread:   \(f(one)) GFLOP/s")
            if n > 1 {
                print("  \(n) threads: \(f(total)) GFLOP/s (\(many.map(f).joined(separator: " + "))), \(String(format: "%.2f", total / one))x one thread")
            }
        }
    }
}

/// Measures sgemm GFLOP/s for the workload's shapes and square sizes.
public struct BenchGEMM: ParsableCommand {
    public static let configuration = CommandConfiguration(
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

    /// The JSON output.
    struct GEMMResult: Encodable {
        struct Square: Encodable {
            var n: Int
            var gflops: Double
        }
        struct Shape: Encodable {
            var shape: String
            var gflops: Double
            var perUpdate: Int
            var kernel: String
            enum CodingKeys: String, CodingKey { case shape, gflops, kernel, perUpdate = "per_update" }
        }
        struct Configuration: Encodable {
            var config: String
            var gflopPerUpdate: Double
            var sgemmBoundUpdatesPerSecond: Double
            var shapes: [Shape]
            enum CodingKeys: String, CodingKey {
                case config, shapes
                case gflopPerUpdate = "gflop_per_update", sgemmBoundUpdatesPerSecond = "sgemm_bound_updates_per_second"
            }
        }
        var blasCore: String
        var gemmKernel: String
        var threads: Int
        var square: [Square]
        var configs: [Configuration]
        enum CodingKeys: String, CodingKey {
            case threads, square, configs
            case blasCore = "blas_core", gemmKernel = "gemm_kernel"
        }
    }

    public init() {}

    public func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        for name in config.split(separator: ",") { _ = try TrainingWorkload.parse(String(name)) }
    }

    public func run() throws {
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        BLASRuntime.setThreadCount(n)
        // RecRL's own kernel serves mid-sized products only on single-threaded BLAS (and small
        // ones at any thread count, see `GEMMRoutingPolicy`); each shape also reports the
        // kernel that actually served it.
        let kernel = n == 1 ? BLASRuntime.gemmKernel : "openblas"
        var rng = Xoshiro256StarStar(seed: 1)
        var results: [(String, [(String, Double, Int, String)], Double, Double)] = []
        var square: [(Int, Double)] = []
        for size in [256, 512, 1024, 2048] {
            square.append((size, rate(TrainingWorkload.GEMM(m: size, k: size, n: size, ta: false, tb: false), &rng)))
            progress("square \(size): \(String(format: "%.1f", square.last!.1)) GFLOP/s")
        }
        for name in config.split(separator: ",") {
            let c = try TrainingWorkload.parse(String(name))
            var rows: [(String, Double, Int, String)] = []
            var seconds = 0.0
            for (g, times) in c.stepGEMMs.sorted(by: { $0.key.flops > $1.key.flops }) {
                let r = rate(g, &rng)
                let served = BLASRuntime.gemmKernel(transposeB: g.tb, m: g.m, n: g.n, k: g.k)
                rows.append((g.label, r, times, served))
                seconds += Double(times) * g.flops / (r * 1e9)
                progress("\(c.name) \(g.label) ×\(times): \(String(format: "%.1f", r)) GFLOP/s")
            }
            results.append((c.name, rows, 1 / seconds, c.flopsPerUpdate))
        }
        if json {
            let configs = results.map { name, rows, limit, flops in
                GEMMResult.Configuration(
                    config: name, gflopPerUpdate: BenchJSON.significant(flops / 1e9, 4),
                    sgemmBoundUpdatesPerSecond: BenchJSON.significant(limit, 4),
                    shapes: rows.map { .init(shape: $0.0, gflops: BenchJSON.significant($0.1, 4), perUpdate: $0.2, kernel: $0.3) })
            }
            print(
                try BenchJSON.line(
                    GEMMResult(
                        blasCore: BLASRuntime.coreName, gemmKernel: kernel, threads: n,
                        square: square.map { .init(n: $0.0, gflops: BenchJSON.significant($0.1, 4)) }, configs: configs)))
        } else {
            print("BLAS core \(BLASRuntime.coreName), \(n) threads, GEMM kernel \(kernel)")
            for (size, r) in square { print(String(format: "square %5d: %8.1f GFLOP/s", size, r)) }
            for (name, rows, limit, flops) in results {
                print("\n\(name): \(String(format: "%.4f", flops / 1e9)) GFLOP/update; sgemm-bound limit \(Bench.rate(limit)) updates/s")
                for (label, r, times, served) in rows {
                    let padded = label.padding(toLength: 24, withPad: " ", startingAt: 0)
                    print("  \(padded) ×\(times)  " + String(format: "%8.1f GFLOP/s", r) + (served == kernel ? "" : "  (\(served))"))
                }
            }
        }
    }

    /// Median GFLOP/s of timed batches of calls after a warm-up.
    private func rate(_ g: TrainingWorkload.GEMM, _ rng: inout Xoshiro256StarStar) -> Double {
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

/// Times WORKLOAD.md's DDPG update with RecRL's learner.
public struct BenchTrain: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Updates per second of the canonical DDPG update (WORKLOAD.md).")

    @Option(help: "Configuration: paper, medium or large.") var config: String = "paper"
    @Option(
        help:
            "Cores one update uses (default: the machine's cores). 1: the sequential path on 1-thread BLAS; 2 or more: the learner's two-lane path (calling thread + one worker, 1-thread BLAS calls)."
    ) var threads: Int?
    @Flag(help: "Run the sequential learner with --threads OpenBLAS threads instead of the two-lane path.") var sequential = false
    @Option(help: "Seconds of timed updates, split over the runs.") var seconds: Double = 5
    @Option(help: "Timed runs; the median is reported (at least 5).") var runs: Int = 5
    @Option(help: "Start from weights and a batch in a safetensors file (see `recrl bench export`).") var initFile: String?
    @Flag(help: "Also time every phase of the two-lane update over the timed runs (a table; with --json, a \"phases\" array).") var profile = false
    @Flag(help: "Print one JSON object.") var json = false

    /// The JSON output. `allocations_per_update` is `null` (with `allocations_note`) when
    /// nothing counts allocations; `phases` is present with `--profile`.
    struct TrainResult: Encodable {
        struct Phase: Encodable {
            var name: String
            var layer: Int
            var updates: Int
            var wallMicroseconds: Double
            var task0Microseconds: Double
            var task1Microseconds: Double
            var oneLaneRuns: Int
            enum CodingKeys: String, CodingKey {
                case name, layer, updates
                case wallMicroseconds = "wall_us", task0Microseconds = "task0_us", task1Microseconds = "task1_us"
                case oneLaneRuns = "one_lane_runs"
            }
        }
        var config: String
        var updatesPerSecond: Double
        var gflops: Double
        var runs: [Double]
        var blasCore: String
        var gemmKernel: String
        var threads: Int
        var path: String
        var blasThreads: Int
        var allocationsPerUpdate: Double?
        var gflopPerUpdate: Double
        var warmupUpdates: Int
        var phases: [Phase]?

        enum CodingKeys: String, CodingKey {
            case config, gflops, runs, threads, path, phases
            case updatesPerSecond = "updates_per_second", blasCore = "blas_core", gemmKernel = "gemm_kernel"
            case blasThreads = "blas_threads", allocationsPerUpdate = "allocations_per_update"
            case allocationsNote = "allocations_note", gflopPerUpdate = "gflop_per_update", warmupUpdates = "warmup_updates"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(config, forKey: .config)
            try c.encode(updatesPerSecond, forKey: .updatesPerSecond)
            try c.encode(gflops, forKey: .gflops)
            try c.encode(runs, forKey: .runs)
            try c.encode(blasCore, forKey: .blasCore)
            try c.encode(gemmKernel, forKey: .gemmKernel)
            try c.encode(threads, forKey: .threads)
            try c.encode(path, forKey: .path)
            try c.encode(blasThreads, forKey: .blasThreads)
            try c.encode(allocationsPerUpdate, forKey: .allocationsPerUpdate)  // null when not counted
            if allocationsPerUpdate == nil { try c.encode(AllocationCounting.unavailableNote, forKey: .allocationsNote) }
            try c.encode(gflopPerUpdate, forKey: .gflopPerUpdate)
            try c.encode(warmupUpdates, forKey: .warmupUpdates)
            try c.encodeIfPresent(phases, forKey: .phases)
        }
    }

    public init() {}

    public func validate() throws {
        _ = try TrainingWorkload.parse(config)
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        if profile && (sequential || threads == 1) {
            throw ValidationError("--profile times the two-lane update's phases: it needs --threads 2 or more, without --sequential")
        }
        guard runs >= 5 else { throw ValidationError("--runs must be at least 5") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    public func run() throws {
        let workload = try TrainingWorkload.parse(config)
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let lanes = sequential ? 1 : n
        BLASRuntime.setThreadCount(sequential ? n : 1)
        var learner = workload.makeLearner(seed: 0)
        var batch = workload.makeBatch(seed: 1)
        if let initFile {
            let tensors = try SafeTensors(contentsOf: URL(fileURLWithPath: initFile)).tensors
            guard let (l, b) = workload.importTensors(tensors) else {
                throw ValidationError("\(initFile) does not hold the \(workload.name) weights and batch")
            }
            learner = l
            batch = b
        }
        learner.parallelism = lanes
        let path = learner.usesParallelPath ? "two-lane" : "sequential"
        if profile {
            guard learner.usesParallelPath else {
                throw ValidationError("--profile needs the two-lane path (this machine has \(n) core(s): pass --threads 2)")
            }
            learner.profilesPhases = true
        }
        // Warm-up: at least 1 s or 20 updates (also reaches steady Adam moments).
        let warmStart = DispatchTime.now().uptimeNanoseconds
        var warm = 0
        while warm < 20 || DispatchTime.now().uptimeNanoseconds - warmStart < 1_000_000_000 {
            learner.update(batch)
            warm += 1
        }
        learner.resetPhaseTimings()
        var rates: [Double] = []
        let counter = AllocationCounting.counter
        var allocations = 0, counted = 0
        let perRun = seconds / Double(runs)
        for r in 0..<runs {
            let before = counter?() ?? 0
            let start = DispatchTime.now().uptimeNanoseconds
            var updates = 0
            var loss: Float = 0
            repeat {
                loss += learner.update(batch).criticLoss
                updates += 1
            } while Double(DispatchTime.now().uptimeNanoseconds - start) < perRun * 1e9
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            allocations += (counter?() ?? 0) - before
            counted += updates
            rates.append(Double(updates) / elapsed)
            guard loss.isFinite else { throw ValidationError("the critic loss diverged") }
            if !json || isatty(2) != 0 {
                writeToStandardError("run \(r + 1)/\(runs): \(Bench.rate(rates.last!)) updates/s\n")
            }
        }
        let sorted = rates.sorted()
        let median = sorted[sorted.count / 2]
        let gflops = median * workload.flopsPerUpdate / 1e9
        let allocPerUpdate = counter.map { _ in Double(allocations) / Double(max(counted, 1)) }
        let phases = learner.phaseTimings
        if json {
            let perUpdate = Self.microsecondsPerUpdate
            let result = TrainResult(
                config: workload.name, updatesPerSecond: median, gflops: gflops, runs: rates,
                blasCore: BLASRuntime.coreName, gemmKernel: BLASRuntime.gemmKernel, threads: n, path: path,
                blasThreads: BLASRuntime.threadCount, allocationsPerUpdate: allocPerUpdate,
                gflopPerUpdate: workload.flopsPerUpdate / 1e9, warmupUpdates: warm,
                phases: !profile
                    ? nil
                    : phases.map {
                        .init(
                            name: $0.name, layer: $0.layer, updates: $0.updates, wallMicroseconds: perUpdate($0.wallNanoseconds, $0),
                            task0Microseconds: perUpdate($0.task0Nanoseconds, $0), task1Microseconds: perUpdate($0.task1Nanoseconds, $0),
                            oneLaneRuns: $0.oneLaneRuns)
                    })
            print(try BenchJSON.line(result))
        } else {
            print(
                "\(workload.name): \(Bench.rate(median)) updates/s (median of \(runs)), \(String(format: "%.1f", gflops)) GFLOP/s, \(n) threads (\(path) path, \(BLASRuntime.threadCount)-thread BLAS), BLAS core \(BLASRuntime.coreName), allocations/update \(allocPerUpdate.map { "\($0)" } ?? "n/a (\(AllocationCounting.unavailableNote))")"
            )
            if profile { print(Self.phaseTable(phases)) }
        }
    }

    /// `ns` (summed over `t`'s updates) in microseconds per update.
    static func microsecondsPerUpdate(_ ns: UInt64, _ t: TwoLanePhaseTiming) -> Double {
        Double(ns) / Double(max(t.updates, 1)) / 1000
    }

    /// The phase timings as a text table, microseconds per update.
    static func phaseTable(_ phases: [TwoLanePhaseTiming]) -> String {
        func us(_ ns: UInt64, _ t: TwoLanePhaseTiming) -> String { String(format: "%8.1f", microsecondsPerUpdate(ns, t)) }
        var lines = [
            "phases of the two-lane update, µs per update over \(phases.first?.updates ?? 0) updates (wall: the caller's time from publishing the phase to both tasks done)",
            "  phase                              layer     wall   task 0   task 1  one-lane runs",
        ]
        var wall: UInt64 = 0
        for t in phases {
            wall &+= t.wallNanoseconds
            lines.append(
                "  " + t.name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%6d", t.layer) + " "
                    + us(t.wallNanoseconds, t) + " " + us(t.task0Nanoseconds, t) + " " + us(t.task1Nanoseconds, t)
                    + String(format: "%15d", t.oneLaneRuns))
        }
        if let first = phases.first {
            lines.append("  all phases                               " + us(wall, first))
        }
        return lines.joined(separator: "\n")
    }
}

/// Writes a workload's initial weights and batch for the peer frameworks.
public struct BenchExport: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the workload's initial weights and batch (safetensors) for Benchmarks/peers.")

    @Option(help: "Configuration: tiny, paper, medium or large.") var config: String = "paper"
    @Option(help: "Output file.") var out: String
    @Option(help: "Weight seed.") var seed: UInt64 = 0

    public init() {}

    public func validate() throws {
        guard TrainingWorkload.named(config) != nil else { throw ValidationError("unknown config '\(config)'") }
    }

    public func run() throws {
        let w = TrainingWorkload.named(config)!
        let tensors = TrainingWorkload.exportTensors(learner: w.makeLearner(seed: seed), batch: w.makeBatch(seed: seed &+ 1))
        try SafeTensors(tensors: tensors, metadata: ["config": w.name, "k": "\(w.k)", "hidden": "\(w.hidden)", "batch": "\(w.batch)"])
            .write(to: URL(fileURLWithPath: out))
        print("wrote \(out)")
    }
}
