import Foundation
import Hummingbird
import NIOPosix
import RecRLTensor

/// Runs ranking work (the CPU-heavy part of `/v1/recommend` and KServe `infer`) on a
/// dedicated thread pool, off the network event loops, so that health checks, metrics
/// and feedback keep being answered while every ranking thread is busy; and admits at
/// most `limit` ranking requests at once (running or queued for a thread): one more is
/// refused right away with 503 and `Retry-After: 1` instead of queueing without bound.
final class RankingPool: Sendable {
    private let pool: NIOThreadPool
    /// Requests admitted at once.
    let limit: Int
    private let admitted = Locked(0)

    init(threads: Int, limit: Int) {
        precondition(threads >= 1 && limit >= 1, "RankingPool: threads and limit must be positive")
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        self.limit = limit
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// Ranking requests admitted right now.
    var inFlight: Int { admitted.withLock { $0 } }

    /// Runs `work` on a ranking thread once a slot is free.
    /// - Throws: ``APIError`` 503 with `Retry-After: 1` when `limit` requests are already
    ///   admitted; `work`'s error otherwise.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let admittedNow = admitted.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admittedNow else {
            throw APIError(
                .serviceUnavailable, "the server is busy: \(limit) ranking requests are in progress; retry later",
                headers: [.retryAfter: "1"], overload: true)
        }
        defer { admitted.withLock { $0 -= 1 } }
        return try await pool.runIfActive(work)
    }
}
