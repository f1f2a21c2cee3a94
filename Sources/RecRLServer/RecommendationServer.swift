import Dispatch
import Foundation
import Hummingbird
import Logging
import RecRLSimulation
import ServiceLifecycle
import Synchronization

/// Settings of a ``RecommendationServer``.
public struct ServerConfiguration: Sendable {
    /// Address to bind (default `127.0.0.1`; the admin routes have no authentication,
    /// so bind to loopback or put the server behind a proxy).
    public var host: String
    /// TCP port (default 8080; 0 picks a free port).
    public var port: Int
    /// Largest accepted request body in bytes; larger bodies get 413 (default 1 MiB).
    public var maxBodyBytes: Int
    /// `k` used when a recommend request does not give one (default 10).
    public var defaultK: Int
    /// Largest accepted `k` (default 1000); `k` must be in `1...maxK`.
    public var maxK: Int

    /// A configuration; every argument has the default documented on its property.
    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20,
                defaultK: Int = 10, maxK: Int = 1000) {
        self.host = host; self.port = port; self.maxBodyBytes = maxBodyBytes
        self.defaultK = defaultK; self.maxK = maxK
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
/// Routes:
/// - `POST /v1/recommend` `{"user", "k"?, "exclude"?}` → `{"user", "items": [{"item", "score"}], "model_version", "arm"}`
/// - `POST /v1/feedback` `{"user", "item", "rating" | "reward"}` → `{"status": "ok"}` (logged before the answer)
/// - `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2/models/{name}`,
///   `GET /v2/models/{name}/ready`, `POST /v2/models/{name}/infer`, and the same three
///   under `/v2/models/{name}/versions/{version}` (404 unless it is the loaded version)
/// - `GET /metrics` (Prometheus text format), `POST /admin/reload` `{"path"?, "arm"?}`
///
/// Every error is answered with a 4xx/5xx status and `{"error": "..."}`.
///
/// ```swift
/// let server = RecommendationServer(mode: .single(ServedModel(engine: engine, directory: dir)),
///                                   eventLog: try EventLog(path: "events.sqlite"))
/// try await server.run()          // until SIGINT/SIGTERM; SIGHUP reloads the model
/// ```
public final class RecommendationServer: Sendable {
    /// The engines and how users are split between them.
    public let mode: ServingMode
    /// Where feedback events are written.
    public let eventLog: EventLog
    /// Network and request limits.
    public let configuration: ServerConfiguration
    /// The Prometheus metrics served on `/metrics`.
    public let metrics: ServerMetrics
    let logger: Logger
    /// Model directory per arm; updated when a reload names a new path.
    private let directories: Mutex<[String: URL]>
    /// Reloads run one at a time, off the cooperative thread pool.
    private let reloadQueue = DispatchQueue(label: "recrl.server.reload")

    /// A server for `mode` that logs feedback to `eventLog`.
    public init(mode: ServingMode, eventLog: EventLog, configuration: ServerConfiguration = ServerConfiguration(),
                logger: Logger = Logger(label: "recrl.server")) {
        if case let .abTest(_, _, split, _) = mode {
            precondition((0...1).contains(split), "RecommendationServer: split must be in [0, 1], got \(split)")
        }
        self.mode = mode
        self.eventLog = eventLog
        self.configuration = configuration
        self.metrics = ServerMetrics()
        self.logger = logger
        var directories: [String: URL] = [:]
        for (arm, model) in Self.models(of: mode) { directories[arm] = model.directory }
        self.directories = Mutex(directories)
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
        logger.info("model reloaded", metadata: [
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

    /// The router with every route and the error/metrics middleware.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ServerMiddleware(metrics: metrics, logger: logger))
        router.post("/v1/recommend") { request, context in try await self.recommend(request, context) }
        router.post("/v1/feedback") { request, context in try await self.feedback(request, context) }
        router.get("/v2/health/live") { _, _ in try JSONResponse.make(V2ServerLive(live: true)) }
        router.get("/v2/health/ready") { _, _ in
            let ready = self.engines.allSatisfy { $0.engine.isReady }
            return try JSONResponse.make(V2ServerReady(ready: ready), status: ready ? .ok : .serviceUnavailable)
        }
        for prefix in ["/v2/models/{name}", "/v2/models/{name}/versions/{version}"] {
            router.get(RouterPath(prefix)) { _, context in try self.modelMetadata(context) }
            router.get(RouterPath(prefix + "/ready")) { _, context in
                let engine = try self.engine(named: context)
                return try JSONResponse.make(V2ModelReady(name: engine.modelName, ready: engine.isReady),
                                             status: engine.isReady ? .ok : .serviceUnavailable)
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in try await self.infer(request, context) }
        }
        router.get("/metrics") { _, _ in
            for (arm, engine) in self.engines { self.metrics.updateEngineGauges(arm: arm, engine: engine) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.render())))
        }
        router.post("/admin/reload") { request, context in try await self.adminReload(request, context) }
        return router
    }

    /// A Hummingbird application serving ``makeRouter()`` on the configured address.
    /// - Parameter onServerRunning: called once the server listens, with the bound TCP
    ///   port (the port the kernel picked when ``ServerConfiguration/port`` is 0).
    public func makeApplication(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<RouterResponder<BasicRequestContext>> {
        for (arm, engine) in engines { metrics.updateEngineGauges(arm: arm, engine: engine) }
        return Application(
            router: makeRouter(),
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
        logger.info("serving", metadata: [
            "address": "\(configuration.host):\(configuration.port)",
            "models": "\(engines.map { "\($0.arm)=\($0.engine.modelName)@\($0.engine.modelVersion)" }.joined(separator: ","))",
            "events": "\(eventLog.path)",
        ])
        try await makeApplication().runService()
    }

    // MARK: Handlers

    private func decode<T: Decodable>(_ type: T.Type, from request: Request, allowEmpty: Bool = false) async throws -> T? {
        var request = request
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > configuration.maxBodyBytes {
            throw APIError(.contentTooLarge, "request body of \(length) bytes is over the limit of \(configuration.maxBodyBytes) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body is over the limit of \(configuration.maxBodyBytes) bytes")
        }
        if buffer.readableBytes == 0 {
            if allowEmpty { return nil }
            throw APIError(.badRequest, "request body is empty; expected a JSON object")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError(.badRequest, Self.describe(error))
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = (codingPath + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .keyNotFound(key, context):
            return "missing field '\(path(context.codingPath, key))'"
        case let .typeMismatch(type, context):
            return "field '\(path(context.codingPath))' has the wrong type (expected \(type))"
        case let .valueNotFound(type, context):
            return "field '\(path(context.codingPath))' is null (expected \(type))"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty { return "malformed JSON body" }
            return "field '\(path(context.codingPath))' is invalid: \(context.debugDescription)"
        @unknown default:
            return "malformed JSON body"
        }
    }

    private func recommend(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await decode(RecommendRequest.self, from: request)!
        guard !body.user.isEmpty else { throw APIError(.badRequest, "field 'user' must not be empty") }
        let k = body.k ?? configuration.defaultK
        guard (1...configuration.maxK).contains(k) else {
            throw APIError(.badRequest, "field 'k' must be in 1...\(configuration.maxK), got \(k)")
        }
        let (arm, engine) = route(user: body.user)
        guard engine.isReady else { throw APIError(.serviceUnavailable, "model '\(engine.modelName)' is not ready") }
        let recommendation = try engine.recommend(user: body.user, k: k, exclude: Set(body.exclude ?? []))
        return try JSONResponse.make(RecommendResponse(user: body.user, items: recommendation.items,
                                                       modelVersion: recommendation.modelVersion, arm: arm))
    }

    private func feedback(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await decode(FeedbackRequest.self, from: request)!
        guard !body.user.isEmpty else { throw APIError(.badRequest, "field 'user' must not be empty") }
        guard !body.item.isEmpty else { throw APIError(.badRequest, "field 'item' must not be empty") }
        let (arm, engine) = route(user: body.user)
        let reward: Float
        switch (body.rating, body.reward) {
        case (nil, nil), (.some, .some):
            throw APIError(.badRequest, "give exactly one of 'rating' and 'reward'")
        case let (rating?, nil):
            guard rating.isFinite else { throw APIError(.badRequest, "field 'rating' must be a finite number") }
            reward = engine.rewardForRating(rating)
        case let (nil, value?):
            guard value.isFinite else { throw APIError(.badRequest, "field 'reward' must be a finite number") }
            reward = value
        }
        guard engine.isReady else { throw APIError(.serviceUnavailable, "model '\(engine.modelName)' is not ready") }
        let version = engine.modelVersion
        try engine.observe(user: body.user, item: body.item, reward: reward)
        metrics.increment("recrl_online_updates_total", [("arm", arm)])
        let event = FeedbackEvent(user: body.user, item: body.item, reward: reward, rating: body.rating,
                                  timestamp: Date(), modelVersion: version, arm: arm)
        let stored = try await eventLog.append(event)
        metrics.increment("recrl_feedback_events_total", [("arm", arm)])
        context.logger.debug("feedback", metadata: [
            "event_id": "\(stored.id ?? -1)", "user": "\(body.user)", "item": "\(body.item)",
            "reward": "\(reward)", "arm": "\(arm)", "model_version": "\(version)",
        ])
        return try JSONResponse.make(StatusResponse(status: "ok"))
    }

    private func engine(named context: BasicRequestContext) throws -> any RecommendationEngine {
        let name = try context.parameters.require("name")
        guard let engine = engines.first(where: { $0.engine.modelName == name })?.engine else {
            throw APIError(.notFound, "unknown model '\(name)'; available: \(engines.map { "'\($0.engine.modelName)'" }.joined(separator: ", "))")
        }
        if let version = context.parameters.get("version"), version != engine.modelVersion {
            throw APIError(.notFound, "model '\(name)' has no version '\(version)'; the loaded version is '\(engine.modelVersion)'")
        }
        return engine
    }

    private func modelMetadata(_ context: BasicRequestContext) throws -> Response {
        let engine = try engine(named: context)
        let metadata = V2ModelMetadata(
            name: engine.modelName,
            versions: [engine.modelVersion],
            platform: "recrl",
            inputs: [V2TensorMetadata(name: "state", datatype: "FP32", shape: [-1, -1]),
                     V2TensorMetadata(name: "user", datatype: "BYTES", shape: [-1])],
            outputs: [V2TensorMetadata(name: "items", datatype: "BYTES", shape: [-1, -1]),
                      V2TensorMetadata(name: "scores", datatype: "FP32", shape: [-1, -1])])
        return try JSONResponse.make(metadata)
    }

    private func infer(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let engine = try engine(named: context)
        let body = try await decode(V2InferRequest.self, from: request)!
        guard body.inputs.count == 1, let input = body.inputs.first else {
            throw APIError(.badRequest, "expected exactly one input tensor ('state' FP32 or 'user' BYTES), got \(body.inputs.count)")
        }
        let k = body.parameters?.k ?? configuration.defaultK
        guard (1...configuration.maxK).contains(k) else {
            throw APIError(.badRequest, "parameter 'k' must be in 1...\(configuration.maxK), got \(k)")
        }
        guard engine.isReady else { throw APIError(.serviceUnavailable, "model '\(engine.modelName)' is not ready") }
        guard input.shape.allSatisfy({ $0 >= 0 }) else {
            throw APIError(.badRequest, "input '\(input.name)': shape \(input.shape) has a negative dimension")
        }
        let elementCount = input.shape.reduce(1, *)
        var rows: [[ScoredItem]] = []
        switch (input.name, input.datatype) {
        case ("state", "FP32"):
            guard input.shape.count == 2 || input.shape.count == 1 else {
                throw APIError(.badRequest, "input 'state': shape must be [batch, n] or [n], got \(input.shape)")
            }
            guard input.data.strings.isEmpty, input.data.numbers.count == elementCount else {
                throw APIError(.badRequest, "input 'state': shape \(input.shape) needs \(elementCount) numbers, got \(input.data.numbers.count) numbers and \(input.data.strings.count) strings")
            }
            let batch = input.shape.count == 2 ? input.shape[0] : 1
            let width = input.shape.last!
            for b in 0..<batch {
                let state = input.data.numbers[(b * width)..<((b + 1) * width)].map { Float($0) }
                rows.append(Array(try engine.scoreState(state).prefix(k)))
            }
        case ("user", "BYTES"):
            guard input.shape.count == 1 || (input.shape.count == 2 && input.shape[1] == 1) else {
                throw APIError(.badRequest, "input 'user': shape must be [batch] or [batch, 1], got \(input.shape)")
            }
            guard input.data.numbers.isEmpty, input.data.strings.count == elementCount else {
                throw APIError(.badRequest, "input 'user': shape \(input.shape) needs \(elementCount) strings, got \(input.data.strings.count) strings and \(input.data.numbers.count) numbers")
            }
            for user in input.data.strings {
                rows.append(try engine.recommend(user: user, k: k, exclude: []).items)
            }
        case ("state", _), ("user", _):
            throw APIError(.badRequest, "input '\(input.name)' must have datatype \(input.name == "state" ? "FP32" : "BYTES"), got '\(input.datatype)'")
        default:
            throw APIError(.badRequest, "unknown input '\(input.name)'; expected 'state' (FP32) or 'user' (BYTES)")
        }
        let width = rows.map(\.count).min() ?? 0
        let trimmed = rows.map { $0.prefix(width) }
        let shape = [rows.count, width]
        let response = V2InferResponse(
            modelName: engine.modelName, modelVersion: engine.modelVersion, id: body.id,
            outputs: [V2InferOutput(name: "items", datatype: "BYTES", shape: shape, strings: trimmed.flatMap { $0.map(\.item) }),
                      V2InferOutput(name: "scores", datatype: "FP32", shape: shape, floats: trimmed.flatMap { $0.map(\.score) })])
        return try JSONResponse.make(response)
    }

    private func adminReload(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await decode(ReloadRequest.self, from: request, allowEmpty: true)
        let result = try await reload(arm: body?.arm, from: body?.path.map { URL(fileURLWithPath: $0) })
        let engine = engines.first { $0.arm == result.arm }!.engine
        return try JSONResponse.make(ReloadResponse(arm: result.arm, model: engine.modelName,
                                                    previousVersion: result.previousVersion,
                                                    modelVersion: result.modelVersion))
    }
}

// MARK: - Errors and responses

/// An error answered with `status` and `{"error": message}`.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        // Encoding a struct of one string cannot fail.
        (try? make(ErrorBody(error: message), status: status))
            ?? Response(status: status, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"internal error\"}")))
    }
}

/// Turns every error into a JSON error response and records request metrics.
struct ServerMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.response(for: error, request: request, context: context)
        }
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: Int(response.status.code),
                              nanoseconds: DispatchTime.now().uptimeNanoseconds &- start)
        return response
    }

    static func response(for error: any Error, request: Request, context: Context) -> Response {
        switch error {
        case let error as APIError:
            return JSONResponse.error(error.message, status: error.status)
        case let error as any ClientFacingError:
            let status = (400...599).contains(error.httpStatus) ? error.httpStatus : 400
            return JSONResponse.error(error.message, status: HTTPResponse.Status(code: status))
        case let error as HTTPError:
            let message = error.body ?? (error.status == .notFound
                ? "no route for \(request.method.rawValue) \(request.uri.path)"
                : error.status.reasonPhrase)
            return JSONResponse.error(message, status: error.status)
        case let error as any HTTPResponseError:
            return JSONResponse.error(error.status.reasonPhrase, status: error.status)
        default:
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return JSONResponse.error("internal error: \(error)", status: .internalServerError)
        }
    }
}
