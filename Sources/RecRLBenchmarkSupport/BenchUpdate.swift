import ArgumentParser
import Foundation
import RecRLTensor

/// Times one LIRD and one DeepPage training update (``ListUpdateWorkload``).
public struct BenchUpdate: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Updates per second of a LIRD and a DeepPage training update at their default configurations.")

    @Option(help: "Updates to time (comma-separated: lird,deeppage).") var models: String = "lird,deeppage"
    @Option(
        help:
            "Cores one update may use (default: the machine's cores). 1: the sequential path; 2 or more: the two-lane path where the networks allow it (LIRD), else the sequential path (DeepPage). BLAS runs one thread throughout, as the trainers run it."
    ) var threads: Int?
    @Option(help: "Catalogue size (the target projection and LIRD's supervised softmax score every item).") var items: Int = 1682
    @Option(help: "Seconds of timed updates per model, split over the runs.") var seconds: Double = 3
    @Option(help: "Timed runs per model; the median is reported.") var runs: Int = 5
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Encodable {
        var model: String
        var shape: String
        var path: String
        var blasThreads: Int
        var updatesPerSecond: Double
        var millisecondsPerUpdate: Double
        var runs: [Double]
        var allocationsPerUpdate: Double?
        enum CodingKeys: String, CodingKey {
            case model, shape, path, runs
            case blasThreads = "blas_threads", updatesPerSecond = "updates_per_second"
            case millisecondsPerUpdate = "ms_per_update", allocationsPerUpdate = "allocations_per_update"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(shape, forKey: .shape)
            try c.encode(path, forKey: .path)
            try c.encode(blasThreads, forKey: .blasThreads)
            try c.encode(updatesPerSecond, forKey: .updatesPerSecond)
            try c.encode(millisecondsPerUpdate, forKey: .millisecondsPerUpdate)
            try c.encode(runs, forKey: .runs)
            try c.encode(allocationsPerUpdate, forKey: .allocationsPerUpdate)  // null when not counted
        }
    }

    public init() {}

    func selected() throws -> [ListUpdateWorkload] {
        do {
            return try models.split(separator: ",").map { try ListUpdateWorkload(name: String($0), items: items) }
        } catch let error as UpdateWorkloadError {
            throw ValidationError(error.description)
        }
    }

    public func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try selected()
    }

    public func run() throws {
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let blasBefore = BLASRuntime.threadCount
        defer { BLASRuntime.setThreadCount(blasBefore) }
        var results: [Result] = []
        for workload in try selected() {
            var update = try workload.make(seed: 1)
            update.parallelism = n
            let twoLane = update.usesParallelPath
            if !twoLane { update.parallelism = 1 }
            // The trainers run every update on 1-thread BLAS (the batch's GEMMs are too small
            // for OpenBLAS's threads); the two-lane path sets it itself.
            BLASRuntime.setThreadCount(1)
            // Warm-up: at least 1 s and 20 updates (steady Adam moments).
            let timing = try BenchTiming.measure(warmCalls: 20, warmSeconds: 1, seconds: seconds, runs: runs) {
                guard update.step().isFinite else { throw ValidationError("\(workload.name): the critic loss diverged") }
            }
            let median = timing.median
            results.append(
                Result(
                    model: workload.name, shape: workload.shape, path: twoLane ? "two-lane" : "sequential",
                    blasThreads: BLASRuntime.threadCount, updatesPerSecond: BenchJSON.significant(median, 4),
                    millisecondsPerUpdate: BenchJSON.significant(1000 / median, 4),
                    runs: timing.rates.map { BenchJSON.significant($0, 4) }, allocationsPerUpdate: timing.allocationsPerCall))
        }
        let note = AllocationCounting.counter == nil ? AllocationCounting.unavailableNote : nil
        if json {
            print(try BenchJSON.line(BenchThreadOutput(threads: n, blasCore: BLASRuntime.coreName, results: results, allocationsNote: note)))
        } else {
            print("BLAS core \(BLASRuntime.coreName), \(n) threads; one training update per call")
            for r in results {
                let allocations = r.allocationsPerUpdate.map { String(format: "%.1f", $0) } ?? "n/a"
                print(
                    "\(r.model.padding(toLength: 9, withPad: " ", startingAt: 0)) \(String(format: "%9.1f updates/s %8.3f ms", r.updatesPerSecond, r.millisecondsPerUpdate))  \(r.path), \(r.blasThreads)-thread BLAS, allocations/update \(allocations)  (\(r.shape))"
                )
            }
            if let note { print("allocations: \(note)") }
        }
    }
}
