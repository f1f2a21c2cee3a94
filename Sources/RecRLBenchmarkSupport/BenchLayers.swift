import ArgumentParser
import Foundation
import RecRLTensor
import RecRLNN
import RecRLDRR

/// The layers `bench layers` times: DeepPage's `Conv2D`, `ConvTranspose2D` and `GRU`s as
/// ``DeepPageConfiguration``'s defaults build them (``DeepPageActor``, ``DeepPageCritic``),
/// at the batch one training update feeds them (``DRRConfiguration/batchSize`` users; the
/// page CNN sees every user's ``DeepPageConfiguration/recentPages`` pages at once).
/// `Benchmarks/peers/layers_torch.py` times the same shapes in PyTorch.
public struct LayerBenchmark: Sendable {
    /// The name on the command line and in the output.
    public let name: String
    /// A one-line description of the shape.
    public let shape: String
    /// Multiply-adds ×2 of one forward + backward (parameter and input gradients), counting GEMMs only.
    public let flops: Double
    let make: @Sendable () throws -> any TimedLayer

    /// The layer with its input, buffers and gradient, ready to time (cold: the first
    /// ``TimedLayer/step()`` sizes the buffers).
    public func prepare() throws -> any TimedLayer { try make() }

    /// DeepPage's default actor and critic (fixed seed).
    @Sendable static func networks() throws -> (DeepPageActor, DeepPageCritic) {
        let shape = DeepPageConfiguration.benchmark.networkShape
        var rng = Xoshiro256StarStar(seed: 1)
        return (try DeepPageActor(shape: shape, using: &rng), try DeepPageCritic(shape: shape, using: &rng))
    }

    /// The benchmarks, in output order.
    public static var standard: [LayerBenchmark] {
        let c = DeepPageConfiguration.benchmark, shape = c.networkShape, b = c.base.batchSize
        func conv(_ name: String, _ role: String, batch: Int, _ layer: @escaping @Sendable () throws -> Conv2D) -> LayerBenchmark {
            let l = try! layer()
            let g = l.geometry
            return LayerBenchmark(
                name: name,
                shape:
                    "\(role): batch \(batch), \(g.imageHeight)x\(g.imageWidth)x\(l.inChannels) -> \(l.outputHeight)x\(l.outputWidth)x\(l.outChannels), kernel \(g.kernelHeight)x\(g.kernelWidth), stride \(g.strideHeight), padding \(g.paddingHeight), \(l.activation)",
                flops: Double(3 * 2 * batch * l.outputHeight * l.outputWidth * g.kernelHeight * g.kernelWidth * l.inChannels * l.outChannels)
            ) {
                let l = try layer()
                var rng = Xoshiro256StarStar(seed: 3)
                return Timed(layer: l, input: Tensor(randomUniform: [batch, g.imageHeight * g.imageWidth * l.inChannels], in: -1...1, using: &rng))
            }
        }
        func gru(_ name: String, _ role: String, steps: Int, _ layer: @escaping @Sendable () throws -> GRU) -> LayerBenchmark {
            let l = try! layer()
            return LayerBenchmark(
                name: name, shape: "\(role): batch \(b), \(steps) steps, input \(l.inputSize), hidden \(l.hiddenSize)",
                flops: Double(3 * 2 * b * steps * (l.inputSize + l.hiddenSize) * 3 * l.hiddenSize)
            ) {
                let l = try layer()
                var rng = Xoshiro256StarStar(seed: 3)
                return Timed(layer: l, input: Tensor(randomUniform: [b, steps * l.inputSize], in: -1...1, using: &rng))
            }
        }
        let deconvolution: @Sendable () throws -> ConvTranspose2D = { try networks().0.deconvolution }
        let d = try! deconvolution()
        let g = d.geometry
        return [
            conv("conv2d", "page CNN", batch: b * c.recentPages) { try networks().0.encoder.pageConvolution },
            conv("conv2d-action", "critic action CNN", batch: b) { try networks().1.pageConvolution },
            LayerBenchmark(
                name: "conv-transpose2d",
                shape:
                    "actor deconvolution: batch \(b), \(d.inputHeight)x\(d.inputWidth)x\(d.inChannels) -> \(d.outputHeight)x\(d.outputWidth)x\(d.outChannels), kernel \(g.kernelHeight)x\(g.kernelWidth), stride \(g.strideHeight), padding \(g.paddingHeight), \(d.activation)",
                flops: Double(3 * 2 * b * d.inputHeight * d.inputWidth * d.inChannels * g.kernelHeight * g.kernelWidth * d.outChannels)
            ) {
                let l = try deconvolution()
                var rng = Xoshiro256StarStar(seed: 3)
                return Timed(layer: l, input: Tensor(randomUniform: [b, d.inputHeight * d.inputWidth * d.inChannels], in: -1...1, using: &rng))
            },
            gru("gru", "history GRU", steps: shape.historyLength) { try networks().0.encoder.historyGRU },
            gru("gru-pages", "page GRU", steps: shape.recentPages) { try networks().0.encoder.pageGRU },
        ]
    }
}

/// A layer with its input, buffers and gradient, ready to time.
public protocol TimedLayer {
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
        abstract: "Forward + backward calls per second of Conv2D, ConvTranspose2D and GRU at DeepPage's default shapes.")

    @Option(help: "Layers to time (comma-separated: conv2d,conv2d-action,conv-transpose2d,gru,gru-pages).") var layers: String =
        "conv2d,conv2d-action,conv-transpose2d,gru,gru-pages"
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
        var results: [Result] = []
        for benchmark in try selected() {
            var timed = try benchmark.prepare()
            // Warm-up: buffers sized, caches warm.
            let timing = BenchTiming.measure(warmCalls: 3, warmSeconds: 0.3, seconds: seconds, runs: runs) { timed.step() }
            let median = timing.median
            results.append(
                Result(
                    layer: benchmark.name, shape: benchmark.shape, callsPerSecond: BenchJSON.significant(median, 4),
                    millisecondsPerCall: BenchJSON.significant(1000 / median, 4),
                    gflops: BenchJSON.significant(median * benchmark.flops / 1e9, 4),
                    runs: timing.rates.map { BenchJSON.significant($0, 4) }, allocationsPerCall: timing.allocationsPerCall))
        }
        let note = AllocationCounting.counter == nil ? AllocationCounting.unavailableNote : nil
        if json {
            print(try BenchJSON.line(BenchThreadOutput(threads: n, blasCore: BLASRuntime.coreName, results: results, allocationsNote: note)))
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

/// The JSON of one `recrl bench layers` or `recrl bench update` run at one thread count: the
/// results, the BLAS core, and why allocations are null when they were not counted.
struct BenchThreadOutput<Result: Encodable>: Encodable {
    var threads: Int
    var blasCore: String
    var results: [Result]
    var allocationsNote: String?
    enum CodingKeys: String, CodingKey {
        case threads, results
        case blasCore = "blas_core", allocationsNote = "allocations_note"
    }
}

extension DeepPageConfiguration {
    /// The DeepPage shapes `recrl bench layers` and `bench update` time and the PyTorch peers
    /// in `Benchmarks/peers` mirror: the defaults with item embeddings of 32 (the default
    /// width before DeepPage's became DRR's 100), so that the published comparisons stay
    /// like for like.
    static var benchmark: DeepPageConfiguration {
        var c = DeepPageConfiguration()
        c.base.embeddingSize = 32
        return c
    }
}
