import ArgumentParser
import Foundation
import RecRLTensor
import RecRLNN

/// The layer shapes `bench layers` times: DeepPage-sized pieces (a batch of 64 users, a
/// 3 × 5 page of 32-channel item vectors, a 10-step browsing history).
/// `Benchmarks/peers/layers_torch.py` times the same shapes in PyTorch.
public struct LayerBenchmark: Sendable {
    /// The name on the command line and in the output.
    public let name: String
    /// A one-line description of the shape.
    public let shape: String
    /// Multiply-adds ×2 of one forward + backward (parameter and input gradients), counting GEMMs only.
    public let flops: Double
    let make: @Sendable (inout Xoshiro256StarStar) throws -> any TimedLayer

    /// The benchmarks, in output order.
    public static let standard: [LayerBenchmark] = [
        LayerBenchmark(
            name: "conv2d", shape: "batch 64, 3x5x32 -> 3x5x32, kernel 3x3, stride 1, padding 1",
            flops: 3 * 2 * 64 * 15 * (9 * 32) * 32
        ) { rng in
            let layer = try Conv2D(
                inputHeight: 3, inputWidth: 5, inChannels: 32, outChannels: 32, kernelHeight: 3, kernelWidth: 3,
                stride: 1, padding: 1, using: &rng)
            return Timed(layer: layer, input: Tensor(randomUniform: [64, 3 * 5 * 32], in: -1...1, using: &rng))
        },
        LayerBenchmark(
            name: "conv-transpose2d", shape: "batch 64, 2x3x32 -> 3x5x32, kernel 3x3, stride 2, padding 1",
            flops: 3 * 2 * 64 * 6 * 32 * (9 * 32)
        ) { rng in
            let layer = try ConvTranspose2D(
                inputHeight: 2, inputWidth: 3, inChannels: 32, outChannels: 32, kernelHeight: 3,
                kernelWidth: 3, stride: 2, padding: 1, using: &rng)
            return Timed(layer: layer, input: Tensor(randomUniform: [64, 2 * 3 * 32], in: -1...1, using: &rng))
        },
        LayerBenchmark(
            name: "gru", shape: "batch 64, 10 steps, input 32, hidden 64",
            flops: 3 * 2 * 64 * 10 * (32 + 64) * 3 * 64
        ) { rng in
            let layer = GRU(inputSize: 32, hiddenSize: 64, using: &rng)
            return Timed(layer: layer, input: Tensor(randomUniform: [64, 10 * 32], in: -1...1, using: &rng))
        },
    ]
}

/// A layer with its input, buffers and gradient, ready to time.
protocol TimedLayer {
    /// One forward pass and one backward pass (parameter and input gradients).
    mutating func step()
}

struct Timed<L: Layer>: TimedLayer {
    let layer: L
    let input: Tensor
    var context: L.Context
    var gradient: L
    let outputGradient: Tensor

    init(layer: L, input: Tensor) {
        self.layer = layer
        self.input = input
        context = layer.makeContext()
        gradient = layer.zeroGradient()
        var rng = Xoshiro256StarStar(seed: 2)
        outputGradient = Tensor(randomUniform: layer(input).shape, in: -1...1, using: &rng)
    }

    mutating func step() {
        layer.forward(input, context: &context)
        layer.backward(
            input: input, outputGradient: outputGradient, context: &context, gradient: &gradient,
            computeParameterGradient: true, computeInputGradient: true)
    }
}

/// Times forward + backward of the layers DeepPage needs.
public struct BenchLayers: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "Forward + backward calls per second of Conv2D, ConvTranspose2D and GRU at DeepPage shapes.")

    @Option(help: "Layers to time (comma-separated: conv2d,conv-transpose2d,gru).") var layers: String = "conv2d,conv-transpose2d,gru"
    @Option(help: "OpenBLAS threads (default: the machine's cores).") var threads: Int?
    @Option(help: "Seconds of timed calls per layer, split over the runs.") var seconds: Double = 2
    @Option(help: "Timed runs per layer; the median is reported.") var runs: Int = 5
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Encodable {
        var layer: String
        var shape: String
        var callsPerSecond: Double
        var millisecondsPerCall: Double
        var gflops: Double
        var runs: [Double]
        var allocationsPerCall: Double?
        enum CodingKeys: String, CodingKey {
            case layer, shape, gflops, runs
            case callsPerSecond = "calls_per_second", millisecondsPerCall = "ms_per_call", allocationsPerCall = "allocations_per_call"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(layer, forKey: .layer)
            try c.encode(shape, forKey: .shape)
            try c.encode(callsPerSecond, forKey: .callsPerSecond)
            try c.encode(millisecondsPerCall, forKey: .millisecondsPerCall)
            try c.encode(gflops, forKey: .gflops)
            try c.encode(runs, forKey: .runs)
            try c.encode(allocationsPerCall, forKey: .allocationsPerCall)  // null when not counted
        }
    }

    struct Output: Encodable {
        var threads: Int
        var blasCore: String
        var results: [Result]
        var allocationsNote: String?
        enum CodingKeys: String, CodingKey {
            case threads, results
            case blasCore = "blas_core", allocationsNote = "allocations_note"
        }
    }

    public init() {}

    func selected() throws -> [LayerBenchmark] {
        try layers.split(separator: ",").map { name in
            guard let b = LayerBenchmark.standard.first(where: { $0.name == name }) else {
                throw ValidationError("unknown layer '\(name)'; expected one of \(LayerBenchmark.standard.map(\.name).joined(separator: ", "))")
            }
            return b
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
        BLASRuntime.setThreadCount(n)
        var rng = Xoshiro256StarStar(seed: 1)
        var results: [Result] = []
        for benchmark in try selected() {
            var timed = try benchmark.make(&rng)
            // Warm-up: buffers sized, caches warm, and a rate estimate for the run length.
            var calls = 0
            let warmStart = DispatchTime.now().uptimeNanoseconds
            repeat { timed.step(); calls += 1 } while calls < 3 || DispatchTime.now().uptimeNanoseconds - warmStart < 300_000_000
            let estimate = Double(calls) / (Double(DispatchTime.now().uptimeNanoseconds - warmStart) / 1e9)
            let perRun = max(1, Int(estimate * seconds / Double(runs)))
            var rates: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<perRun { timed.step() }
                rates.append(Double(perRun) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            }
            var allocations: Double?
            if let counter = AllocationCounting.counter {
                let before = counter()
                for _ in 0..<10 { timed.step() }
                allocations = Double(counter() - before) / 10
            }
            let median = rates.sorted()[rates.count / 2]
            results.append(
                Result(
                    layer: benchmark.name, shape: benchmark.shape, callsPerSecond: BenchJSON.significant(median, 4),
                    millisecondsPerCall: BenchJSON.significant(1000 / median, 4),
                    gflops: BenchJSON.significant(median * benchmark.flops / 1e9, 4),
                    runs: rates.map { BenchJSON.significant($0, 4) }, allocationsPerCall: allocations))
        }
        let note = AllocationCounting.counter == nil ? AllocationCounting.unavailableNote : nil
        if json {
            print(try BenchJSON.line(Output(threads: n, blasCore: BLASRuntime.coreName, results: results, allocationsNote: note)))
        } else {
            print("BLAS core \(BLASRuntime.coreName), \(n) threads; forward + backward (parameter and input gradients) per call")
            for r in results {
                let name = r.layer.padding(toLength: 18, withPad: " ", startingAt: 0)
                let allocations = r.allocationsPerCall.map { String(format: "%.1f", $0) } ?? "n/a"
                print(
                    "\(name) \(String(format: "%9.1f calls/s %8.3f ms %7.1f GFLOP/s", r.callsPerSecond, r.millisecondsPerCall, r.gflops))  allocations/call \(allocations)  (\(r.shape))"
                )
            }
            if let note { print("allocations: \(note)") }
        }
    }
}
