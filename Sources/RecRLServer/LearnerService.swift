import Foundation
import Hummingbird
import Logging
import RecRLDRR
import RecRLTensor
import ServiceLifecycle

/// Runs an ``EventLogLearner`` in a loop (`recrl learn`) and, with a port, serves its
/// health and metrics: `GET /v2/health/live` (200 while the process runs),
/// `GET /v2/health/ready` (200 once the last poll of the log succeeded; 503 while the log
/// is unreachable) and `GET /metrics` with
/// - `recrl_learner_last_event_id`: the last event learned (compare it with the log's
///   newest id for the learner's lag),
/// - `recrl_learner_events_total`, `recrl_learner_skipped_events_total`,
///   `recrl_learner_updates_total`,
/// - `recrl_learner_publications_total{promoted="true"|"false"}`,
/// - `recrl_learner_hit_rate{model="candidate"|"production"}` of the last publication's gate.
public final class LearnerService: Sendable {
    /// Seconds between polls once the learner has caught up with the log.
    public let pollInterval: Double
    let metrics = ServerMetrics()
    private let ready = Locked(false)
    private let logger: Logger
    /// Publications are reported here (e.g. printed as JSON lines by `recrl learn`).
    private let onPublication: @Sendable (EventLogLearner.Publication) -> Void

    /// A service polling every `pollInterval` seconds when idle.
    public init(
        pollInterval: Double = 0.5, logger: Logger = Logger(label: "recrl.learner"),
        onPublication: @escaping @Sendable (EventLogLearner.Publication) -> Void = { _ in }
    ) {
        self.pollInterval = pollInterval
        self.logger = logger
        self.onPublication = onPublication
    }

    /// Steps `learner` until the task is cancelled: a failed poll (the database is down)
    /// marks the service unready and is retried after `pollInterval`; nothing the learner
    /// learned is lost, since it resumes from its last event id.
    public func run(_ learner: sending EventLogLearner) async {
        var published = 0
        while !Task.isCancelled {
            let read: Int
            do {
                let step = try await learner.step()
                read = step.events
                ready.withLock { $0 = true }
            } catch {
                if ready.withLock({ on in
                    defer { on = false }; return on
                }) {
                    logger.error("learner step failed", metadata: ["error": "\(error)"])
                }
                read = 0
            }
            for publication in learner.publications.dropFirst(published) {
                metrics.increment("recrl_learner_publications_total", [("promoted", "\(publication.promoted)")])
                metrics.setGauge("recrl_learner_hit_rate", [("model", "candidate")], publication.candidateHitRate)
                metrics.setGauge("recrl_learner_hit_rate", [("model", "production")], publication.productionHitRate)
                logger.info(
                    "published",
                    metadata: [
                        "version": "\(publication.version)", "promoted": "\(publication.promoted)",
                        "last_event_id": "\(publication.lastEventID)", "gated_events": "\(publication.gatedEvents)",
                    ])
                onPublication(publication)
            }
            published = learner.publications.count
            metrics.setGauge("recrl_learner_last_event_id", [], Double(learner.lastEventID))
            metrics.setGauge("recrl_learner_events_total", [], Double(learner.learnedEvents))
            metrics.setGauge("recrl_learner_skipped_events_total", [], Double(learner.skippedEvents))
            metrics.setGauge("recrl_learner_updates_total", [], Double(learner.updates))
            if read == 0 { try? await Task.sleep(for: .milliseconds(Int64(pollInterval * 1000))) }
        }
    }

    /// ``run(_:)``, with the health and metrics routes on `listen` while it runs (none
    /// when `nil`).
    /// - Throws: the HTTP server's error (e.g. the port is taken).
    public func run(_ learner: sending EventLogLearner, listen: (host: String, port: Int)?) async throws {
        guard let listen else { return await run(learner) }
        let group = ServiceGroup(
            configuration: .init(
                services: [makeApplication(host: listen.host, port: listen.port)],
                gracefulShutdownSignals: [], logger: logger))
        let http = Task { try await group.run() }
        await run(learner)
        await group.triggerGracefulShutdown()
        try await http.value
    }

    /// The health and metrics routes on `host:port`.
    public func makeApplication(host: String, port: Int) -> some ApplicationProtocol {
        let router = Router()
        router.get("/v2/health/live") { _, _ in Response(status: .ok) }
        router.get("/v2/health/ready") { [self] _, _ in Response(status: self.ready.withLock { $0 } ? .ok : .serviceUnavailable) }
        router.get("/metrics") { [metrics] _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "recrl-learn"),
            logger: logger)
    }
}
