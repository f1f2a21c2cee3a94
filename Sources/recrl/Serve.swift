import ArgumentParser
import Foundation
import RecRLDRR
import RecRLEvaluation
import RecRLPostgres
import RecRLServer
import RecRLTensor

/// `recrl serve`: serves a trained model over HTTP — recommendations, feedback with a
/// durable SQLite event log, the KServe Open Inference Protocol V2, Prometheus metrics
/// on `/metrics`, hot reload (`POST /admin/reload` or SIGHUP) and optional A/B routing.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a trained model over HTTP (recommend, feedback, KServe V2, metrics, hot reload).",
        discussion: """
            Routes: POST /v1/recommend, POST /v1/feedback, GET /v2/health/{live,ready},
            GET /v2/models/{name}[/ready], POST /v2/models/{name}/infer, GET /metrics,
            POST /admin/reload (only with --admin). SIGHUP reloads the model(s) from
            their directories; SIGINT/SIGTERM shut down gracefully.

            Deployment posture: recommend, the KServe V2 routes and /metrics are public
            to whoever can reach the port (put /metrics behind your network if it
            matters). Writes are guarded: with --api-key (or RECRL_API_KEY, which keeps
            the key out of the process list) POST /v1/feedback and the admin routes
            require `Authorization: Bearer <key>` (401 otherwise); without a key they
            are open, so keep the default loopback address or a guarded network. The
            admin routes are off unless --admin is given (404), and /admin/reload only
            reloads the directories given here (a request with a "path" gets 400). Error
            bodies never hold server paths or SQL text; the details are in the server
            log.

            Untrusted input: bodies over --max-body-bytes get 413; KServe infer inputs
            are capped at --max-infer-batch rows and --max-infer-elements numbers (400
            naming the field); rewards outside [-1, 1] and ratings outside the model's
            rating scale get 422 (--clip-feedback clamps them instead). At most
            --max-concurrent-ranking ranking requests run or wait at once (more: 503
            with Retry-After: 1); ranking runs on --ranking-threads threads off the
            network event loops, so the health routes keep answering under load. Idle
            connections close after --idle-timeout.

            Feedback is written to the event log first, then learned; an optional
            "event_id" makes retries idempotent (a repeat gets 200 with "duplicate":
            true and is not learned twice). When the log cannot be written, feedback
            gets 503 and /v2/health/ready turns false until writes succeed again.

            The model is a folder written by `recrl train` (a DRR, LIRD or DeepPage model;
            list and page feedback may say where the item was shown, "position", 0 first,
            row-major on a page). A DeepPage model answers whole pages: /v1/recommend adds
            "page" (rows of item ids) and KServe V2 infer is [batch, rows, cols]. Feedback always
            updates the user's session state; with --updates-per-second the model also
            keeps learning from it (DDPG updates in the background from a replay buffer
            of the model's replay_capacity transitions, allocated as it fills; each
            publication changes model_version; a batch that leaves a NaN or infinite
            weight is not published). Without it there is no replay buffer: transitions
            are dropped and counted (recrl_engine_dropped_transitions). A reload must
            keep the item catalogue.

            Memory is bounded: at most --max-sessions user sessions are kept (least
            recently used first out), each for --session-ttl seconds after its last use;
            evictions are counted in recrl_session_evictions_total.

            Impressions for off-policy evaluation (`recrl ope`): with --serving-policy \
            every recommendation is drawn by that policy from the top of the ranking, \
            logged with its propensities before it is answered, and answered with a \
            "request_id" that feedback should echo. epsilon-greedy:EPSILON:POOL shows \
            the top k with probability 1-EPSILON, otherwise k items drawn uniformly \
            from the top POOL; softmax:TEMPERATURE:POOL draws the slate without \
            replacement from a softmax over the top POOL scores (Plackett-Luce; each \
            item logged with its marginal probability at its position, the slate with \
            its exact probability); deterministic logs propensity 1 (no other policy \
            can be evaluated on such a log).
            """)

    @Option(help: "Model directory to serve (also what SIGHUP and POST /admin/reload reload from).")
    var model: String?

    @Option(
        help: ArgumentHelp(
            "Serve a model registry's stage instead of --model (a DRR, LIRD or DeepPage version, by its manifest), and reload whenever the stage pointer moves (promote, rollback) to a version of the same kind and catalogue.",
            valueName: "DIR"))
    var registry: String?

    @Option(help: "The registry stage to serve and follow: production or staging (with --registry).")
    var stage: String = "production"

    @Option(name: .customLong("poll-interval"), help: "Seconds between reads of the registry's stage pointer (with --registry).")
    var pollInterval: Double = 5

    @Option(help: "TCP port to listen on.")
    var port: Int = 8080

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(
        help: ArgumentHelp(
            "Event log of feedback: a SQLite file (created if missing; WAL, synchronous=FULL), or a PostgreSQL URL postgres://user[:password]@host[:port]/db shared by serving replicas (migrated on start; RECRL_EVENTS overrides the default and keeps a password out of the process list).",
            valueName: "PATH|URL"))
    var events: String = ProcessInfo.processInfo.environment["RECRL_EVENTS"].flatMap { $0.isEmpty ? nil : $0 } ?? "events.sqlite"

    @Option(help: "A second model directory: run an A/B test with --model as control and this as treatment.")
    var treatmentModel: String?

    @Option(help: "Share of users in the treatment arm (with --treatment-model).")
    var split: Double = 0.5

    @Option(help: "Experiment name, hashed with the user id to choose the arm (use a new one per experiment).")
    var salt: String = "recrl-ab"

    @Option(help: "Largest accepted request body in bytes (larger: 413).")
    var maxBodyBytes: Int = 1 << 20

    @Option(
        help: ArgumentHelp(
            "Bearer token required on POST /v1/feedback and the admin routes (default: the RECRL_API_KEY environment variable; none: no authentication).",
            valueName: "KEY"))
    var apiKey: String?

    @Flag(help: "Serve the admin routes (POST /admin/reload); off by default.")
    var admin = false

    @Option(help: "Largest batch (rows) of a KServe V2 infer input.")
    var maxInferBatch: Int = 64

    @Option(help: "Largest number of elements of a KServe V2 infer input.")
    var maxInferElements: Int = 1 << 16

    @Option(help: "Ranking requests admitted at once, running or waiting (more get 503 with Retry-After).")
    var maxConcurrentRanking: Int = 64

    @Option(help: ArgumentHelp("Threads that rank, off the network event loops (default: the number of cores).", valueName: "N"))
    var rankingThreads: Int?

    @Option(help: "Seconds a connection may stay without traffic before it is closed (0: never).")
    var idleTimeout: Double = 30

    @Flag(help: "Clamp rewards and ratings outside the model's scale instead of refusing them with 422.")
    var clipFeedback = false

    @Option(
        help: ArgumentHelp(
            "Draw slates with this policy and log them as impressions: epsilon-greedy:EPSILON:POOL, softmax:TEMPERATURE:POOL or deterministic (default: top k, no impressions).",
            valueName: "POLICY"))
    var servingPolicy: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: "Log format: text (one line with key=value metadata) or json (one JSON object per line).")
    var logFormat: String = "text"

    @Option(
        help: ArgumentHelp(
            "Learn online from feedback: DDPG updates per second in the background (default: off).",
            valueName: "N"))
    var updatesPerSecond: Double?

    @Option(help: "Most user sessions kept in memory (least recently used evicted first).")
    var maxSessions: Int = InMemorySessionStore.defaultCapacity

    @Option(help: ArgumentHelp("Seconds a user session is kept after its last request.", valueName: "SECONDS"))
    var sessionTtl: Double = InMemorySessionStore.defaultTimeToLive

    @Option(
        help: ArgumentHelp(
            "OpenBLAS threads per BLAS call (default 1: requests rank in parallel on the ranking threads, and multi-threaded OpenBLAS spends the cores spinning on small products).",
            valueName: "N"))
    var blasThreads: Int = 1

    @Flag(help: "Keep user sessions in the PostgreSQL database of --events, shared with the other replicas (no session state in this process).")
    var sharedSessions = false

    func validate() throws {
        guard (model == nil) != (registry == nil) else { throw ValidationError("give exactly one of --model DIR or --registry DIR") }
        if registry != nil {
            _ = try parseStage(stage)
            guard pollInterval.isFinite && pollInterval > 0 else {
                throw ValidationError("--poll-interval must be a positive number of seconds, got \(pollInterval)")
            }
        }
        if sharedSessions && !PostgresSettings.isPostgresURL(events) {
            throw ValidationError("--shared-sessions needs a PostgreSQL event log (--events postgres://...)")
        }
        guard blasThreads >= 1 && blasThreads <= 256 else { throw ValidationError("--blas-threads must be in 1...256, got \(blasThreads)") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        guard (0...1).contains(split) else { throw ValidationError("--split must be in [0, 1], got \(split)") }
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive, got \(maxBodyBytes)") }
        guard maxInferBatch > 0 else { throw ValidationError("--max-infer-batch must be positive, got \(maxInferBatch)") }
        guard maxInferElements > 0 else { throw ValidationError("--max-infer-elements must be positive, got \(maxInferElements)") }
        guard maxConcurrentRanking > 0 else { throw ValidationError("--max-concurrent-ranking must be positive, got \(maxConcurrentRanking)") }
        if let rankingThreads, !(1...1024).contains(rankingThreads) {
            throw ValidationError("--ranking-threads must be in 1...1024, got \(rankingThreads)")
        }
        guard idleTimeout.isFinite && idleTimeout >= 0 else { throw ValidationError("--idle-timeout must be a number of seconds >= 0, got \(idleTimeout)") }
        if let key = resolvedAPIKey, key.isEmpty || key.contains(where: { $0.isWhitespace }) {
            throw ValidationError("the API key (--api-key or RECRL_API_KEY) must be non-empty and hold no whitespace")
        }
        if let updatesPerSecond, !(updatesPerSecond > 0 && updatesPerSecond <= 100_000) {
            throw ValidationError("--updates-per-second must be in (0, 100000], got \(updatesPerSecond)")
        }
        if let servingPolicy {
            do { _ = try ServingPolicy(parsing: servingPolicy) } catch { throw ValidationError("--serving-policy: \(error)") }
        }
        guard ServerLogging.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text or json, got '\(logFormat)'")
        }
        guard (1...100_000_000).contains(maxSessions) else { throw ValidationError("--max-sessions must be in 1...100000000, got \(maxSessions)") }
        guard sessionTtl.isFinite && sessionTtl > 0 else { throw ValidationError("--session-ttl must be a positive number of seconds, got \(sessionTtl)") }
        guard ServerLogging.level(named: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'")
        }
    }

    /// `--api-key`, else `RECRL_API_KEY` (an empty variable counts as unset).
    var resolvedAPIKey: String? {
        apiKey ?? ProcessInfo.processInfo.environment["RECRL_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The server settings the options describe.
    var serverConfiguration: ServerConfiguration {
        ServerConfiguration(
            host: host, port: port, maxBodyBytes: maxBodyBytes, apiKey: resolvedAPIKey,
            adminEnabled: admin, maxInferBatch: maxInferBatch, maxInferElements: maxInferElements,
            maxConcurrentRanking: maxConcurrentRanking,
            rankingThreads: rankingThreads ?? ProcessInfo.processInfo.activeProcessorCount,
            idleTimeout: idleTimeout > 0 ? idleTimeout : nil,
            outOfScalePolicy: clipFeedback ? .clip : .reject,
            servingPolicy: servingPolicy.flatMap { try? ServingPolicy(parsing: $0) })
    }

    func run() async throws {
        ServerLogging.bootstrap(
            level: ServerLogging.level(named: logLevel) ?? .info,
            format: ServerLogging.Format(rawValue: logFormat) ?? .text)
        BLASRuntime.setThreadCount(blasThreads)
        if serverConfiguration.servingPolicy == .deterministic {
            writeToStandardError(
                "warning: --serving-policy deterministic logs propensity 1: off-policy evaluation of any other policy cannot work on this log\n")
        }
        let followed = try registry.map { path -> (ModelRegistry, ModelRegistry.Stage, String) in
            let registry = ModelRegistry(directory: URL(fileURLWithPath: path)), stage = try parseStage(stage)
            guard let version = registry.version(at: stage) else {
                throw ValidationError("no version has been promoted to \(stage.rawValue) in \(path) (see `recrl models promote`)")
            }
            return (registry, stage, version)
        }
        let modelURL = followed.map { $0.0.directory(of: $0.2) } ?? URL(fileURLWithPath: model!)
        let (capacity, ttl) = (maxSessions, sessionTtl)
        let sessionStore: @Sendable () -> any SessionStore = { InMemorySessionStore(capacity: capacity, timeToLive: ttl) }
        let learns = updatesPerSecond != nil
        let control = ServedModel(
            engine: try makeEngine(
                modelDirectory: modelURL, updatesPerSecond: updatesPerSecond,
                learnsOnline: learns, sessionStore: sessionStore),
            directory: modelURL)
        let mode: ServingMode
        if let treatmentModel {
            let treatmentURL = URL(fileURLWithPath: treatmentModel)
            let policy = try DRRModelStore.policy(of: treatmentURL)
            // The KServe routes find a model by name: keep the two arms' names apart.
            let name = policy == control.engine.modelName ? "\(policy)-treatment" : policy
            let engine = try makeEngine(
                modelDirectory: treatmentURL, name: name, updatesPerSecond: updatesPerSecond,
                learnsOnline: learns, sessionStore: sessionStore)
            let treatment = ServedModel(engine: engine, directory: treatmentURL)
            mode = .abTest(control: control, treatment: treatment, split: split, salt: salt)
        } else {
            mode = .single(control)
        }
        let eventLog = try await openEventLog(events)
        var sessions: PostgresSessionStore?
        if sharedSessions, let log = eventLog as? PostgresEventLog {
            sessions = try await PostgresSessionStore(database: log.database, ttl: sessionTtl, capacity: maxSessions)
        }
        let server = RecommendationServer(
            mode: mode,
            eventLog: eventLog,
            sessions: sessions,
            configuration: serverConfiguration)
        let evicting = sessions.map { store in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(30))
                    _ = try? await store.evict()
                }
            }
        }
        defer { evicting?.cancel() }
        // Stop online learning before the process exits (see DRREngine.stopBackgroundLearning()).
        defer {
            for (_, engine) in server.engines {
                (engine as? DRREngine)?.stopBackgroundLearning()
                (engine as? DeepPageEngine)?.stopBackgroundLearning()
            }
        }
        guard let (registry, stage, version) = followed else { return try await server.run() }
        let interval = pollInterval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask { await server.follow(registry, stage: stage, servedVersion: version, interval: interval) }
            // The server returning (shutdown) ends the follower too.
            try await group.next()
            group.cancelAll()
        }
    }
}

/// The event log `location` names: a PostgreSQL URL (``PostgresEventLog``, migrated now)
/// or a SQLite file (``EventLog``).
func openEventLog(_ location: String) async throws -> any FeedbackEventLog {
    if PostgresSettings.isPostgresURL(location) {
        return try await PostgresEventLog(url: location)
    }
    return try EventLog(path: location)
}
