import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore
import RecRLEvaluation
import RecRLSimulation
import RecRLTensor
import ServiceLifecycle

/// Settings of a ``RecommendationServer``.
///
/// Deployment posture: the read routes (`/v1/recommend`, `/v2/...`, `/metrics`) are
/// public to whoever can reach the port; writes are guarded: with an ``apiKey``,
/// `/v1/feedback` and the admin routes require `Authorization: Bearer <key>` (401
/// otherwise), and the admin routes exist only when ``adminEnabled`` is set (404
/// otherwise). `/admin/reload` never reads a path from the request.
public struct ServerConfiguration: Sendable {
    /// Address to bind (default `127.0.0.1`).
    public var host: String
    /// TCP port (default 8080; 0 picks a free port).
    public var port: Int
    /// Largest accepted request body in bytes; larger bodies get 413 (default 1 MiB).
    public var maxBodyBytes: Int
    /// `k` used when a recommend request does not give one (default 10).
    public var defaultK: Int
    /// Largest accepted `k` (default 1000); `k` must be in `1...maxK`.
    public var maxK: Int
    /// The bearer token `/v1/feedback` and the admin routes require, compared in constant
    /// time (default `nil`: no authentication; only for loopback or a guarded network).
    public var apiKey: String?
    /// Whether `POST /admin/reload` is served (default `false`: 404).
    public var adminEnabled: Bool
    /// Largest batch (rows) of a KServe V2 `infer` input (default 64).
    public var maxInferBatch: Int
    /// Largest number of elements (product of the shape) of an `infer` input (default 65,536).
    public var maxInferElements: Int
    /// Ranking requests (`/v1/recommend`, `infer`) admitted at once, running or waiting
    /// for a ranking thread; more get 503 with `Retry-After: 1` (default 64).
    public var maxConcurrentRanking: Int
    /// Threads that rank, off the network event loops (default: the number of cores).
    public var rankingThreads: Int
    /// Seconds a connection may stay without traffic before it is closed, also in the
    /// middle of a request (default 30; `nil`: never).
    public var idleTimeout: Double?
    /// What happens to a reward or rating outside the engine's scale (default: reject, 422).
    public var outOfScalePolicy: OutOfScalePolicy
    /// How `/v1/recommend` draws the slate from the ranking, with every slate logged as an
    /// impression (``ImpressionRecord``) and answered with a `request_id` (default `nil`:
    /// the top `k`, no impressions logged). See ``ServingPolicy``; `.deterministic` logs
    /// propensity 1, which supports no off-policy evaluation of other policies.
    public var servingPolicy: ServingPolicy?
    /// Seed of the ``servingPolicy``'s draws (default `nil`: the system's generator).
    public var servingSeed: UInt64?

    /// A configuration; every argument has the default documented on its property.
    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20,
        defaultK: Int = 10, maxK: Int = 1000, apiKey: String? = nil, adminEnabled: Bool = false,
        maxInferBatch: Int = 64, maxInferElements: Int = 1 << 16, maxConcurrentRanking: Int = 64,
        rankingThreads: Int = ProcessInfo.processInfo.activeProcessorCount, idleTimeout: Double? = 30,
        outOfScalePolicy: OutOfScalePolicy = .reject, servingPolicy: ServingPolicy? = nil,
        servingSeed: UInt64? = nil
    ) {
        self.host = host; self.port = port; self.maxBodyBytes = maxBodyBytes
        self.defaultK = defaultK; self.maxK = maxK
        self.apiKey = apiKey; self.adminEnabled = adminEnabled
        self.maxInferBatch = maxInferBatch; self.maxInferElements = maxInferElements
        self.maxConcurrentRanking = maxConcurrentRanking; self.rankingThreads = max(1, rankingThreads)
        self.idleTimeout = idleTimeout; self.outOfScalePolicy = outOfScalePolicy
        self.servingPolicy = servingPolicy; self.servingSeed = servingSeed
    }
}

/// An engine and the directory its model was loaded from (used by reloads that do not
/// name a path, and by SIGHUP).
public struct ServedModel: Sendable {
    /// The engine answering requests.
    public var engine: any RecommendationEngine
    /// The model directory; `nil` when the engine was not loaded from disk.
    public var directory: URL?

    /// A served engine.
    public init(engine: any RecommendationEngine, directory: URL? = nil) {
        self.engine = engine
        self.directory = directory
    }
}

/// Which engines answer requests.
public enum ServingMode: Sendable {
    /// One engine for every user; events are logged with arm `"single"`.
    case single(ServedModel)
    /// An A/B test: each user is assigned, stably, to an arm with
    /// `ABTest.arm(for: user, split: split, salt: salt)`; `split` is the treatment share.
    case abTest(control: ServedModel, treatment: ServedModel, split: Double, salt: String)
}

/// The RecRL HTTP server (Hummingbird 2): recommendations, feedback with a durable
/// event log, KServe Open Inference Protocol V2, Prometheus metrics, hot reload and
/// A/B routing.
///
/// Routes, by group (one file each under `Routes/`; a new endpoint is a new group or a
/// route in the group it belongs to):
/// - v1 JSON API (`RecommendationRoutes.swift`):
///   `POST /v1/recommend` `{"user", "k"?, "exclude"?}` → `{"user", "items": [{"item", "score"}], "model_version", "arm"}`;
///   `POST /v1/feedback` `{"user", "item", "rating" | "reward", "event_id"?}` → `{"status": "ok"}`
///   (logged before it is learned; idempotent per `event_id`; API key when configured)
/// - KServe V2 (`KServeV2Routes.swift`): `GET /v2/health/live`, `GET /v2/health/ready`,
///   `GET /v2/models/{name}`, `GET /v2/models/{name}/ready`, `POST /v2/models/{name}/infer`,
///   and the same three under `/v2/models/{name}/versions/{version}` (404 unless it is
///   the loaded version)
/// - admin (`AdminRoutes.swift`, only with ``ServerConfiguration/adminEnabled``):
///   `POST /admin/reload` `{"arm"?}` (API key when configured)
/// - metrics (`MetricsRoutes.swift`): `GET /metrics` (Prometheus text format)
///
/// Every error is answered with a 4xx/5xx status and `{"error": "..."}` that names the
/// offending field and never holds a server path or SQL text (those go to the log).
///
/// ```swift
/// let server = RecommendationServer(mode: .single(ServedModel(engine: engine, directory: dir)),
///                                   eventLog: try EventLog(path: "events.sqlite"))
/// try await server.run()          // until SIGINT/SIGTERM; SIGHUP reloads the model
/// ```
public final class RecommendationServer: Sendable {
    /// The engines and how users are split between them.
    public let mode: ServingMode
    /// Where feedback events are written (SQLite ``EventLog``, or another
    /// ``FeedbackEventLog`` such as RecRLPostgres's).
    public let eventLog: any FeedbackEventLog
    /// User sessions shared with other replicas, or `nil` (the engines' own sessions).
    public let sessions: (any SharedSessionStore)?
    /// Network and request limits.
    public let configuration: ServerConfiguration
    /// The Prometheus metrics served on `/metrics`.
    public let metrics: ServerMetrics
    let logger: Logger
    /// Model directory per arm; updated when a reload names a new path.
    let directories: Locked<[String: URL]>
    /// Reloads run one at a time, off the cooperative thread pool.
    private let reloadQueue = DispatchQueue(label: "recrl.server.reload")
    /// The ranking threads and the cap on concurrent ranking requests.
    let rankingPool: RankingPool
    /// Draws slates when ``ServerConfiguration/servingPolicy`` is set.
    let sampler: ServingSampler?

    /// A server for `mode` that logs feedback to `eventLog` and, with `sessions`, keeps
    /// user sessions in a store shared with other replicas.
    public init(
        mode: ServingMode, eventLog: any FeedbackEventLog, sessions: (any SharedSessionStore)? = nil,
        configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = Logger(label: "recrl.server")
    ) {
        if case let .abTest(_, _, split, _) = mode {
            precondition((0...1).contains(split), "RecommendationServer: split must be in [0, 1], got \(split)")
        }
        self.mode = mode
        self.eventLog = eventLog
        self.sessions = sessions
        self.configuration = configuration
        self.metrics = ServerMetrics()
        self.logger = logger
        self.rankingPool = RankingPool(threads: configuration.rankingThreads, limit: configuration.maxConcurrentRanking)
        self.sampler = configuration.servingPolicy.map { ServingSampler(policy: $0, seed: configuration.servingSeed) }
        var directories: [String: URL] = [:]
        for (arm, model) in Self.models(of: mode) { directories[arm] = model.directory }
        self.directories = Locked(directories)
    }

    private static func models(of mode: ServingMode) -> [(arm: String, model: ServedModel)] {
        switch mode {
        case let .single(model): return [("single", model)]
        case let .abTest(control, treatment, _, _):
            return [(ABTest.Arm.control.rawValue, control), (ABTest.Arm.treatment.rawValue, treatment)]
        }
    }

    /// The served engines by arm name (`"single"`, or `"control"` and `"treatment"`).
    public var engines: [(arm: String, engine: any RecommendationEngine)] {
        Self.models(of: mode).map { ($0.arm, $0.model.engine) }
    }

    /// The arm name and engine that serve `user`.
    public func route(user: String) -> (arm: String, engine: any RecommendationEngine) {
        switch mode {
        case let .single(model):
            return ("single", model.engine)
        case let .abTest(control, treatment, split, salt):
            let arm = ABTest.arm(for: user, split: split, salt: salt)
            return (arm.rawValue, arm == .treatment ? treatment.engine : control.engine)
        }
    }

    // MARK: Reload

    /// The outcome of a reload.
    public struct ReloadResult: Sendable {
        /// The arm whose engine was reloaded.
        public var arm: String
        /// Version before the reload.
        public var previousVersion: String
        /// Version after the reload.
        public var modelVersion: String
    }

    /// Reloads the engine of `arm` (default: the only engine, or control) from `directory`
    /// (default: the directory it was last loaded from). Requests keep being served
    /// during the reload; the engine swaps the model atomically. Reloads run one at a
    /// time on a dedicated queue.
    /// - Throws: ``RequestError`` (400/404) for an unknown arm or a missing directory;
    ///   the engine's error when loading fails (the old model stays).
    public func reload(arm: String? = nil, from directory: URL? = nil) async throws -> ReloadResult {
        let models = Self.models(of: mode)
        let armName = arm ?? models[0].arm
        guard let served = models.first(where: { $0.arm == armName })?.model else {
            throw RequestError.notFound("unknown arm '\(armName)'; this server has \(models.map { "'\($0.arm)'" }.joined(separator: ", "))")
        }
        guard let url = directory ?? directories.withLock({ $0[armName] }) else {
            throw RequestError.badRequest("no model path given and the \(armName) engine has no model directory")
        }
        let engine = served.engine
        let previous = engine.modelVersion
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                reloadQueue.async {
                    do {
                        try engine.reload(from: url)
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } catch {
            metrics.increment("recrl_model_reloads_total", [("arm", armName), ("result", "error")])
            logger.error("model reload failed", metadata: ["arm": "\(armName)", "path": "\(url.path)", "error": "\(error)"])
            throw error
        }
        directories.withLock { $0[armName] = url }
        metrics.increment("recrl_model_reloads_total", [("arm", armName), ("result", "ok")])
        let result = ReloadResult(arm: armName, previousVersion: previous, modelVersion: engine.modelVersion)
        logger.info(
            "model reloaded",
            metadata: [
                "arm": "\(armName)", "path": "\(url.path)",
                "previous_version": "\(previous)", "model_version": "\(result.modelVersion)",
            ])
        return result
    }

    /// Reloads every engine that has a model directory (what SIGHUP does); errors are
    /// logged, not thrown, and leave that engine on its old model.
    public func reloadAll() async {
        for (arm, _) in Self.models(of: mode) where directories.withLock({ $0[arm] }) != nil {
            _ = try? await reload(arm: arm)
        }
    }

    // MARK: Application

    /// The router: the error/metrics middleware, then every route group (one file
    /// each under `Routes/`): the v1 JSON API, KServe V2, metrics, and admin when
    /// ``ServerConfiguration/adminEnabled`` is set.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ServerMiddleware(metrics: metrics, logger: logger))
        var groups: [any RouteGroup] = [
            RecommendationRoutes(server: self),
            KServeV2Routes(server: self),
            MetricsRoutes(server: self),
        ]
        if configuration.adminEnabled { groups.append(AdminRoutes(server: self)) }
        for group in groups { group.register(on: router) }
        return router
    }

    /// A Hummingbird application serving ``makeRouter()`` on the configured address.
    /// - Parameter onServerRunning: called once the server listens, with the bound TCP
    ///   port (the port the kernel picked when ``ServerConfiguration/port`` is 0).
    public func makeApplication(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<RouterResponder<BasicRequestContext>> {
        for (arm, engine) in engines { metrics.updateEngineGauges(arm: arm, engine: engine) }
        let idleTimeout = configuration.idleTimeout.map { TimeAmount.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return Application(
            router: makeRouter(),
            server: .http1(configuration: .init(idleTimeout: idleTimeout)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "recrl"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? -1) },
            logger: logger)
    }

    /// A server started in the background of this process by ``start()``.
    public final class Running: Sendable {
        /// The TCP port the server listens on.
        public let port: Int
        private let group: ServiceGroup
        private let task: Task<Void, any Error>

        init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
            self.port = port; self.group = group; self.task = task
        }

        /// Shuts the server down gracefully (in-flight requests finish) and returns once
        /// it has stopped.
        /// - Throws: the error the server stopped with, if any.
        public func stop() async throws {
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }

    /// Starts serving in the background of this process (no signal handling, unlike
    /// ``run()``) and returns once the server listens; for examples, tests and
    /// simulations that talk to the server over HTTP from the same process. Call
    /// ``Running/stop()`` when done.
    ///
    /// ```swift
    /// let server = RecommendationServer(mode: mode, eventLog: log,
    ///                                   configuration: ServerConfiguration(port: 0))
    /// let running = try await server.start()   // running.port: the port picked
    /// // ... POST http://127.0.0.1:\(running.port)/v1/recommend ...
    /// try await running.stop()
    /// ```
    /// - Throws: the server's error when it cannot listen (e.g. the port is taken).
    public func start() async throws -> Running {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = makeApplication(onServerRunning: { port in
            continuation.yield(port)
            continuation.finish()
        })
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var port: Int?
        for await p in ports { port = p }
        guard let port, port > 0 else {
            try await task.value  // throws the server's error
            throw RequestError(httpStatus: 500, message: "the server stopped before it listened")
        }
        return Running(port: port, group: group, task: task)
    }

    /// Serves until SIGINT or SIGTERM (graceful shutdown: in-flight requests finish).
    /// SIGHUP reloads every engine from its model directory.
    public func run() async throws {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in
            logger.info("SIGHUP: reloading models")
            Task { await self.reloadAll() }
        }
        source.resume()
        defer { source.cancel() }
        logger.info(
            "serving",
            metadata: [
                "address": "\(configuration.host):\(configuration.port)",
                "models": "\(engines.map { "\($0.arm)=\($0.engine.modelName)@\($0.engine.modelVersion)" }.joined(separator: ","))",
                "events": "\(eventLog.location)",
            ])
        try await makeApplication().runService()
    }
}
