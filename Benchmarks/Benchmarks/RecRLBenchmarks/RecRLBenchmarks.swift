import Benchmark
import RecRL

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

    // The GEMM shapes of the `paper` workload's forward pass (B = 64).
    for (m, k, n) in [(64, 400, 256), (64, 256, 256), (64, 256, 100), (64, 256, 1)] {
        Benchmark("sgemm \(m)x\(k)x\(n)") { benchmark in
            var rng = Xoshiro256StarStar(seed: 2)
            let a = Tensor(randomNormal: [m, k], using: &rng)
            let b = Tensor(randomNormal: [k, n], using: &rng)
            var c = Tensor(zeros: [m, n])
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                matmul(a, b, into: &c)
                blackHole(c.count)
            }
        }
    }
}
