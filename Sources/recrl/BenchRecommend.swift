import ArgumentParser
import Foundation
import RecRL
import CRecRLMallocCounter

/// In-process serving latency: `OnlineDRR.recommend` (state module + actor forward,
/// GEMV over the item matrix, partial top-K) on catalogues of several sizes.
struct BenchRecommend: ParsableCommand {
    static let configuration = CommandConfiguration(
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

    func sizes() throws -> [Int] {
        try items.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n > 0 else {
                throw ValidationError("--items expects positive integers separated by commas, got '\($0)'")
            }
            return n
        }
    }

    func validate() throws {
        let s = try sizes()
        guard !s.isEmpty else { throw ValidationError("--items is empty") }
        guard s.allSatisfy({ $0 >= k }) else { throw ValidationError("every catalogue needs at least k = \(k) items") }
        guard (1...1000).contains(k) else { throw ValidationError("--k must be in 1...1000") }
        guard dim > 0, dim <= 4096 else { throw ValidationError("--dim must be in 1...4096") }
        guard requests >= 100 else { throw ValidationError("--requests must be at least 100 (a p99 needs them)") }
        guard users > 0 else { throw ValidationError("--users must be positive") }
    }

    func run() throws {
        BLASRuntime.setThreadCount(1)
        var rows: [[(String, Any)]] = []
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
            let model = try DRRModel(configuration: configuration,
                                     userEmbeddings: Tensor(randomUniform: [users, dim], in: scale, using: &rng),
                                     itemEmbeddings: Tensor(randomUniform: [n, dim], in: scale, using: &rng),
                                     rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
            let userIDs = (0..<users).map { "u\($0)" }
            let manifest = DRRManifest(policy: "drr-ave", configuration: configuration, seed: seed, dataFingerprint: "bench",
                                       userIDs: userIDs, itemIDs: (0..<n).map { "i\($0)" }, rewardScale: model.rewardScale)
            let online = OnlineDRR(model: model, manifest: manifest, seed: seed)
            for user in userIDs {
                for _ in 0..<configuration.windowSize {
                    try online.observe(user: user, item: "i\(Int(rng.next() % UInt64(n)))", reward: 1)
                }
            }
            for _ in 0..<min(200, requests) { _ = try online.recommend(user: userIDs[Int(rng.next() % UInt64(users))], k: k) }
            var latencies = [Double](repeating: 0, count: requests)
            let before = recrl_malloc_count()
            for r in 0..<requests {
                let user = userIDs[Int(rng.next() % UInt64(users))]
                let start = DispatchTime.now().uptimeNanoseconds
                let answer = try online.recommend(user: user, k: k)
                latencies[r] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                guard answer.items.count == k else { throw ValidationError("recommend returned \(answer.items.count) items, expected \(k)") }
            }
            let allocations: Any = recrl_malloc_counter_active() != 0
                ? Double(recrl_malloc_count() - before) / Double(requests) : NSNull()
            latencies.sort()
            func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] }
            let mean = latencies.reduce(0, +) / Double(latencies.count)
            let row: [(String, Any)] = [
                ("items", n), ("p50_ms", percentile(0.5)), ("p90_ms", percentile(0.9)), ("p99_ms", percentile(0.99)),
                ("max_ms", latencies.last!), ("mean_ms", mean), ("allocations_per_call", allocations),
            ]
            rows.append(row)
            let line = String(format: "%8d items: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  allocations/call %@",
                              n, percentile(0.5), percentile(0.9), percentile(0.99), latencies.last!, "\(allocations)")
            if !json { print("  " + line) } else if isatty(2) != 0 { writeToStandardError(line + "\n") }
        }
        if json {
            let objects = try rows.map { try JSONOutput.object($0) }
            print("{\"dim\":\(dim),\"k\":\(k),\"requests\":\(requests),\"users\":\(users),\"threads\":1,"
                  + "\"blas_core\":\"\(BLASRuntime.coreName)\",\"results\":[\(objects.joined(separator: ","))]}")
        }
    }
}
