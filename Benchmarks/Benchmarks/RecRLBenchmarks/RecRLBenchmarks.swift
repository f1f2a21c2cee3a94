import Benchmark
import RecRL
import RecRLBenchmarkSupport

/// Benchmarks of RecRL's hot paths. Run: `cd Benchmarks && swift package benchmark --no-progress`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 3,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 10_000
    )

    // Top-K ranking of a catalogue: one GEMV (scores = E · a) and a partial top-K.
    for items in [100_000, 1_000_000] {
        Benchmark("rank top-100 of \(items) items (k = 100)") { benchmark in
            var rng = Xoshiro256StarStar(seed: 1)
            let embeddings = Tensor(randomNormal: [items, 100], using: &rng)
            let action = Tensor(randomNormal: [100], using: &rng)
            var scores = Tensor(zeros: [items])
            var selector = TopKSelector()
            matvec(embeddings, action, into: &scores)
            selector.select(scores, k: 100)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                matvec(embeddings, action, into: &scores)
                selector.select(scores, k: 100)
                blackHole(selector.count)
            }
        }
    }

    // One DDPG update of WORKLOAD.md's workload per configuration: the two-lane update on
    // single-threaded BLAS, as `recrl bench train --threads 2` runs it (throughput is updates/s).
    // The learner is built and warmed up once, in the setup hook.
    for workload in TrainingWorkload.standard {
        let big = workload.name == "large"
        let state = SetupState<(learner: DDPGLearner<MLPActor, MLPCritic>, batch: TransitionBatch)>()
        Benchmark(
            "DDPG update \(workload.name)",
            configuration: .init(
                warmupIterations: big ? 1 : 20, maxDuration: .seconds(big ? 10 : 3),
                maxIterations: big ? 8 : 10_000),
            closure: { benchmark in
                guard var (learner, batch) = state.value else { return }
                state.value = nil  // keep the learner's storage uniquely referenced
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(learner.update(batch).criticLoss)
                }
                benchmark.stopMeasurement()
                state.value = (learner, batch)
            },
            setup: {
                state.singleThreadedBLAS()
                var learner = workload.makeLearner(seed: 0)
                learner.parallelism = 2
                let batch = workload.makeBatch(seed: 1)
                for _ in 0..<(big ? 2 : 20) { _ = learner.update(batch) }
                state.value = (learner, batch)
            },
            teardown: { state.tearDown() })
    }

    // Forward + backward (parameter and input gradients) of DeepPage's layers at its default
    // shapes (`LayerBenchmark.standard`, as `recrl bench layers --threads 1` times them), and one
    // LIRD and one DeepPage training update at their default configurations
    // (`ListUpdateWorkload`, as `recrl bench update --threads 1`), on single-threaded BLAS.
    for layer in LayerBenchmark.standard {
        let state = SetupState<any TimedLayer>()
        Benchmark(
            "layer \(layer.name) forward+backward",
            configuration: .init(maxDuration: .seconds(1)),
            closure: { benchmark in
                guard var timed = state.value else { return }
                state.value = nil  // keep the buffers uniquely referenced
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { timed.step() }
                benchmark.stopMeasurement()
                state.value = timed
            },
            setup: {
                state.singleThreadedBLAS()
                // The standard shapes are valid by construction; nil would skip the benchmark.
                guard var timed = try? layer.prepare() else { return }
                for _ in 0..<3 { timed.step() }
                state.value = timed
            },
            teardown: { state.tearDown() })
    }
    for name in ListUpdateWorkload.names {
        let state = SetupState<ListUpdate>()
        Benchmark(
            "\(name) update",
            configuration: .init(warmupIterations: 10, maxDuration: .seconds(3)),
            closure: { benchmark in
                guard var update = state.value else { return }
                state.value = nil  // keep the model's storage uniquely referenced
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { blackHole(update.step()) }
                benchmark.stopMeasurement()
                state.value = update
            },
            setup: {
                state.singleThreadedBLAS()
                state.value = try? ListUpdateWorkload(name: name).make(seed: 1)  // nil skips (cannot happen for the standard names)
            },
            teardown: { state.tearDown() })
    }

    // Every GEMM shape the workload's update produces (`TrainingWorkload.stepGEMMs`, as
    // `recrl bench gemm --threads 1` times them), on single-threaded BLAS: RecRL's own SGEMM
    // where it serves the shape, OpenBLAS elsewhere. Operands are made once, in the setup hook.
    for workload in TrainingWorkload.standard {
        let shapes = workload.stepGEMMs.keys.sorted { ($0.flops, $0.label) > ($1.flops, $1.label) }
        for g in shapes {
            let state = SetupState<(a: Tensor, b: Tensor, c: Tensor)>()
            Benchmark(
                "sgemm \(workload.name) \(g.label)",
                configuration: .init(maxDuration: .seconds(workload.name == "large" ? 3 : 1)),
                closure: { benchmark in
                    guard var (a, b, c) = state.value else { return }
                    state.value = nil  // keep c's storage uniquely referenced
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        matmul(a, b, transposeA: g.ta, transposeB: g.tb, into: &c)
                        blackHole(c.count)
                    }
                    benchmark.stopMeasurement()
                    state.value = (a, b, c)
                },
                setup: {
                    state.singleThreadedBLAS()
                    var rng = Xoshiro256StarStar(seed: 2)
                    let a = Tensor(randomNormal: g.ta ? [g.k, g.m] : [g.m, g.k], using: &rng)
                    let b = Tensor(randomNormal: g.tb ? [g.n, g.k] : [g.k, g.n], using: &rng)
                    var c = Tensor(zeros: [g.m, g.n])
                    matmul(a, b, transposeA: g.ta, transposeB: g.tb, into: &c)
                    state.value = (a, b, c)
                },
                teardown: { state.tearDown() })
        }
    }
}

/// What a benchmark's setup hook prepares for its iterations, and the BLAS thread count to
/// restore afterwards (package-benchmark runs a benchmark's hooks and iterations one after
/// another on one thread, hence the unchecked `Sendable`).
final class SetupState<Value>: @unchecked Sendable {
    var value: Value?
    private var threads = 1

    /// Sets OpenBLAS to one thread (what the training lanes use), remembering the old count.
    func singleThreadedBLAS() {
        threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
    }

    /// Drops the value and restores OpenBLAS's thread count.
    func tearDown() {
        value = nil
        BLASRuntime.setThreadCount(threads)
    }
}
