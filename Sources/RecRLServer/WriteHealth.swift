import RecRLTensor

/// The write health of an event log, shared by every ``FeedbackEventLog`` implementation.
///
/// A failed write marks the log failing (``isWritable`` false) until a write succeeds again:
/// the next successful append, or a probe write that ``probeIfDue(_:)`` runs at most once a
/// second while the log is failing. Readiness (`/v2/health/ready`) follows ``isWritable``, so
/// a server whose disk filled up stops taking feedback and recovers by itself once writes
/// succeed again.
public final class WriteHealth: Sendable {
    private let state = Locked((failing: false, lastProbe: ContinuousClock.Instant?.none))
    /// The least time between two probes while failing.
    public let probeInterval: Duration

    /// A healthy log's state; `probeInterval` bounds the probe rate while failing.
    public init(probeInterval: Duration = .seconds(1)) {
        self.probeInterval = probeInterval
    }

    /// Whether the last write succeeded.
    public var isWritable: Bool { !state.withLock { $0.failing } }

    /// Runs the write `body`: success marks the log writable, a thrown error marks it
    /// failing and is rethrown unchanged.
    public func tracking<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            state.withLock { $0.failing = false }
            return result
        } catch {
            state.withLock { $0.failing = true }
            throw error
        }
    }

    /// ``isWritable``, after running `probe` (a write that succeeds only when an event would
    /// fit) when the log is failing and no probe ran in the last ``probeInterval``. A probe
    /// that throws leaves the log failing; the next one is due after the interval.
    public func probeIfDue(_ probe: () async throws -> Void) async -> Bool {
        let due = state.withLock { state -> Bool in
            guard state.failing else { return false }
            let now = ContinuousClock.now
            if let last = state.lastProbe, now - last < probeInterval { return false }
            state.lastProbe = now
            return true
        }
        if due, (try? await probe()) != nil {
            state.withLock { $0.failing = false }
        }
        return isWritable
    }
}
