import ArgumentParser
import Dispatch
import Foundation
import RecRLDRR
import RecRLServer
import RecRLTensor

/// `recrl learn`: the learner of the scaled-out shape. Serving replicas (`recrl serve
/// --events postgres://...`) write feedback to one event log; this process tails it,
/// learns, and publishes model versions that the replicas follow.
struct Learn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn from the shared event log and publish model versions (the learner beside serving replicas).",
        discussion: """
            Tails the event log (--events: a PostgreSQL URL, or a SQLite file) from the id
            of the last event its checkpoint learned, learns each event with the same DDPG
            and supervised steps as `recrl serve --updates-per-second`, and every
            --publish-every-updates updates (or --publish-every-seconds with at least one
            update) registers a new version in the model registry --registry (see
            `recrl models`) and, when the metric gate passes, promotes it to production.
            Replicas serve and follow the production pointer with `recrl serve --registry
            DIR --stage production`. The learner's checkpoint (the last version it
            registered, with the last event id) is DIR/learner.json. When the registry has
            no production version yet, the learner registers --model and promotes it first,
            so replicas can start.

            Models: DRR, LIRD and DeepPage. LIRD lists and DeepPage pages are rebuilt from the
            feedback's logged `position` (row-major in a page; a DeepPage page is the events of
            one `request_id`), and become transitions once every position has feedback. A
            DeepPage model refuses a log whose next events carry no position, and skips
            events without one.

            Gate: before learning a positive event, the learner checks whether its item is
            in the top --gate-k of the model being trained and of the production model
            (test-then-train); a version is promoted when at least --gate-min-events were
            gated since the last publication and its hit rate is at least production's
            minus --gate-tolerance. A restart resumes from the checkpoint: no event is
            learned twice by the next published version, and none is skipped.

            Prints one JSON line per publication. With --port, serves
            /v2/health/live, /v2/health/ready (503 while the log is unreachable) and
            /metrics (recrl_learner_*). Run one learner per event log.
            """)

    @Option(
        help: ArgumentHelp(
            "Event log: a PostgreSQL URL or a SQLite file (default: RECRL_EVENTS, which keeps a password out of the process list).",
            valueName: "URL|PATH"))
    var events: String?

    /// `--events`, else a non-empty `RECRL_EVENTS`.
    private var eventLogLocation: String? {
        events ?? ProcessInfo.processInfo.environment["RECRL_EVENTS"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Option(help: "The model to start from before the first publication (a folder written by `recrl train`).")
    var model: String

    @Option(
        help: ArgumentHelp(
            "The model registry versions are registered in and promoted through (created when missing).",
            valueName: "DIR"))
    var registry: String

    @Option(help: "Events read per poll of the log.")
    var batchEvents = 256

    @Option(help: "DDPG updates per event read.")
    var updatesPerEvent = 1.0

    @Option(help: "Publish after this many updates.")
    var publishEveryUpdates = 500

    @Option(help: "Publish after this many seconds with at least one update.")
    var publishEverySeconds = 60.0

    @Option(help: "Rank cut-off of the metric gate.")
    var gateK = 10

    @Option(help: "Gated events needed before a version can be promoted.")
    var gateMinEvents = 20

    @Option(help: "How much lower than production's the candidate's hit rate may be and still be promoted.")
    var gateTolerance = 0.0

    @Option(help: "Seconds between polls once the learner has caught up.")
    var pollInterval = 0.5

    @Option(help: "Address of the health and metrics routes (with --port).")
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("Serve /v2/health/{live,ready} and /metrics on this port (default: none).", valueName: "PORT"))
    var port: Int?

    @Option(help: "Seed of the replay sampling.")
    var seed: UInt64 = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard eventLogLocation != nil else { throw ValidationError("give the event log with --events (or RECRL_EVENTS)") }
        guard batchEvents > 0 else { throw ValidationError("--batch-events must be positive, got \(batchEvents)") }
        guard updatesPerEvent >= 0 && updatesPerEvent.isFinite else { throw ValidationError("--updates-per-event must be >= 0, got \(updatesPerEvent)") }
        guard publishEveryUpdates > 0 else { throw ValidationError("--publish-every-updates must be positive, got \(publishEveryUpdates)") }
        guard publishEverySeconds > 0 && publishEverySeconds.isFinite else {
            throw ValidationError("--publish-every-seconds must be positive, got \(publishEverySeconds)")
        }
        guard gateK > 0 else { throw ValidationError("--gate-k must be positive, got \(gateK)") }
        guard gateMinEvents >= 0 else { throw ValidationError("--gate-min-events must be >= 0, got \(gateMinEvents)") }
        guard gateTolerance >= 0 && gateTolerance.isFinite else { throw ValidationError("--gate-tolerance must be >= 0, got \(gateTolerance)") }
        guard pollInterval > 0 && pollInterval.isFinite else { throw ValidationError("--poll-interval must be positive, got \(pollInterval)") }
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535, got \(port)") }
        guard ServerLogging.level(named: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'")
        }
    }

    var settings: EventLogLearner.Settings {
        var settings = EventLogLearner.Settings()
        settings.batchEvents = batchEvents
        settings.updatesPerEvent = updatesPerEvent
        settings.publishEveryUpdates = publishEveryUpdates
        settings.publishEverySeconds = publishEverySeconds
        settings.gateK = gateK
        settings.gateMinimumEvents = gateMinEvents
        settings.gateTolerance = gateTolerance
        return settings
    }

    func run() async throws {
        ServerLogging.bootstrap(level: ServerLogging.level(named: logLevel) ?? .info)
        BLASRuntime.setThreadCount(1)
        let log = try await openEventLog(eventLogLocation ?? "")
        let modelURL = URL(fileURLWithPath: model)
        let initial = try LearnerModel.load(from: modelURL)
        let registry = ModelRegistry(directory: URL(fileURLWithPath: self.registry))
        if registry.version(at: .production) == nil {
            let entry = try registry.register(initial.model, manifest: initial.manifest)
            try registry.promote(entry.version, to: .production)
        }
        let publisher = RegistryPublisher(registry: registry)
        let service = LearnerService(pollInterval: pollInterval) { publication in
            let line = try? JSONOutput.object([
                ("version", publication.version), ("promoted", publication.promoted),
                ("last_event_id", publication.lastEventID), ("candidate_hit_rate", publication.candidateHitRate),
                ("production_hit_rate", publication.productionHitRate), ("gated_events", publication.gatedEvents),
            ])
            if let line { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        }
        let listen = port.map { (host: host, port: $0) }
        let settings = self.settings, seed = self.seed
        let learning = Task {
            let learner = try EventLogLearner(log: log, publisher: publisher, initial: initial, settings: settings, seed: seed)
            try await learner.requirePositions()
            try await service.run(learner, listen: listen)
        }
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { learning.cancel() }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        try await learning.value
    }
}
