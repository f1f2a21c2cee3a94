import ArgumentParser
import Foundation
import RecRLTensor
import RecRLDRR

/// In-process serving latency: `OnlineDRR.recommend` (state module + actor forward,
/// GEMV over the item matrix, partial top-K) on catalogues of several sizes.
public struct BenchRecommend: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Latency percentiles of OnlineDRR.recommend for catalogues of several sizes (random weights).",
        discussion: """
            Builds an untrained DRR-ave model with random item and user embeddings for each \
            catalogue size (training does not change the cost of a ranking), gives every user a \
            full window of positive items, then times single-threaded recommend(user:k:) calls \
            for random users after a warm-up. Reports p50/p90/p99/max and the heap allocations \
            per call.
            """)

    @Option(help: "Catalogue sizes (comma-separated).") var items: String = "10000,100000,1000000"
    @Option(help: "Embedding dimension k.") var dim: Int = 100
    @Option(help: "Items returned per call (1...1000).") var k: Int = 10
    @Option(help: "Timed calls per catalogue size.") var requests: Int = 2000
    @Option(help: "Distinct users.") var users: Int = 1000
    @Option(help: "Seed for the random weights and the user sequence.") var seed: UInt64 = 0
    @Flag(help: "Print one JSON object.") var json = false

    /// The JSON output: one row per catalogue size. `allocations_per_call` is `null` (with
    /// `allocations_note`) when nothing counts allocations.
    struct RecommendResult: Encodable {
        struct Row: Encodable {
            var items: Int
            var p50: Double, p90: Double, p99: Double, max: Double, mean: Double
            var allocationsPerCall: Double?
            enum CodingKeys: String, CodingKey {
                case items, p50 = "p50_ms", p90 = "p90_ms", p99 = "p99_ms", max = "max_ms", mean = "mean_ms"
                case allocationsPerCall = "allocations_per_call"
            }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(items, forKey: .items)
                try c.encode(p50, forKey: .p50)
                try c.encode(p90, forKey: .p90)
                try c.encode(p99, forKey: .p99)
                try c.encode(max, forKey: .max)
                try c.encode(mean, forKey: .mean)
                try c.encode(allocationsPerCall, forKey: .allocationsPerCall)  // null when not counted
            }
        }
        var dim: Int, k: Int, requests: Int, users: Int, threads: Int
        var blasCore: String
        var results: [Row]
        enum CodingKeys: String, CodingKey {
            case dim, k, requests, users, threads, results, blasCore = "blas_core", allocationsNote = "allocations_note"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(dim, forKey: .dim)
            try c.encode(k, forKey: .k)
            try c.encode(requests, forKey: .requests)
            try c.encode(users, forKey: .users)
            try c.encode(threads, forKey: .threads)
            try c.encode(blasCore, forKey: .blasCore)
            try c.encode(results, forKey: .results)
            if results.contains(where: { $0.allocationsPerCall == nil }) {
                try c.encode(AllocationCounting.unavailableNote, forKey: .allocationsNote)
            }
        }
    }

    public init() {}

    func sizes() throws -> [Int] {
        try items.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n > 0 else {
                throw ValidationError("--items expects positive integers separated by commas, got '\($0)'")
            }
            return n
        }
    }

    public func validate() throws {
        let s = try sizes()
        guard !s.isEmpty else { throw ValidationError("--items is empty") }
        guard s.allSatisfy({ $0 >= k }) else { throw ValidationError("every catalogue needs at least k = \(k) items") }
        guard (1...1000).contains(k) else { throw ValidationError("--k must be in 1...1000") }
        guard dim > 0, dim <= 4096 else { throw ValidationError("--dim must be in 1...4096") }
        guard requests >= 100 else { throw ValidationError("--requests must be at least 100 (a p99 needs them)") }
        guard users > 0 else { throw ValidationError("--users must be positive") }
    }

    public func run() throws {
        BLASRuntime.setThreadCount(1)
        var rows: [RecommendResult.Row] = []
        if !json {
            print("recommend latency (1 thread, k = \(k), dimension \(dim), \(requests) calls per size, BLAS core \(BLASRuntime.coreName)):")
        }
        for n in try sizes() {
            var rng = Xoshiro256StarStar(seed: seed)
            var configuration = DRRConfiguration()
            configuration.embeddingSize = dim
            configuration.projectsTargetActions = false  // serving only: no target projection copy
            configuration.replayCapacity = 1024
            let scale: ClosedRange<Float> = -0.1...0.1
            let model = try DRRModel(
                configuration: configuration,
                userEmbeddings: Tensor(randomUniform: [users, dim], in: scale, using: &rng),
                itemEmbeddings: Tensor(randomUniform: [n, dim], in: scale, using: &rng),
                rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
            let userIDs = (0..<users).map { "u\($0)" }
            let manifest = DRRManifest(
                policy: "drr-ave", configuration: configuration, seed: seed, dataFingerprint: "bench",
                userIDs: userIDs, itemIDs: (0..<n).map { "i\($0)" }, rewardScale: model.rewardScale)
            let online = OnlineDRR(model: model, manifest: manifest, seed: seed)
            for user in userIDs {
                for _ in 0..<configuration.windowSize {
                    try online.observe(user: user, item: "i\(Int(rng.next() % UInt64(n)))", reward: 1)
                }
            }
            for _ in 0..<min(200, requests) { _ = try online.recommend(user: userIDs[Int(rng.next() % UInt64(users))], k: k) }
            var latencies = [Double](repeating: 0, count: requests)
            let counter = AllocationCounting.counter
            let before = counter?() ?? 0
            for r in 0..<requests {
                let user = userIDs[Int(rng.next() % UInt64(users))]
                let start = DispatchTime.now().uptimeNanoseconds
                let answer = try online.recommend(user: user, k: k)
                latencies[r] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                guard answer.items.count == k else { throw ValidationError("recommend returned \(answer.items.count) items, expected \(k)") }
            }
            let allocations = counter.map { Double($0() - before) / Double(requests) }
            latencies.sort()
            func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] }
            let mean = latencies.reduce(0, +) / Double(latencies.count)
            rows.append(
                RecommendResult.Row(
                    items: n, p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99),
                    max: latencies.last!, mean: mean, allocationsPerCall: allocations))
            let line = String(
                format: "%8d items: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  allocations/call %@",
                n, percentile(0.5), percentile(0.9), percentile(0.99), latencies.last!, allocations.map { "\($0)" } ?? "n/a")
            if !json { print("  " + line) } else if isatty(2) != 0 { writeToStandardError(line + "\n") }
        }
        if json {
            print(
                try BenchJSON.line(
                    RecommendResult(
                        dim: dim, k: k, requests: requests, users: users, threads: 1,
                        blasCore: BLASRuntime.coreName, results: rows)))
        } else if AllocationCounting.counter == nil {
            print("  (allocations: \(AllocationCounting.unavailableNote))")
        }
    }
}
