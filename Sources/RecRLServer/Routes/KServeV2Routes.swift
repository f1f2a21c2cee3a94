import Hummingbird

/// The KServe Open Inference Protocol V2 (REST):
/// - `GET /v2/health/live`, `GET /v2/health/ready` (503 unless every engine is ready
///   and the event log is writable, see ``EventLog/checkWritable()``)
/// - `GET /v2/models/{name}` (metadata), `GET /v2/models/{name}/ready` (503 when not
///   ready), `POST /v2/models/{name}/infer`
/// - the same three under `/v2/models/{name}/versions/{version}`: 404 unless `version`
///   is the loaded one.
///
/// `infer` takes exactly one input: `state` (FP32, `[batch, n]` or `[n]`, scored with
/// ``RecommendationEngine/scoreState(_:)``) or `user` (BYTES, `[batch]` or `[batch, 1]`,
/// answered with ``RecommendationEngine/recommend(user:k:exclude:)``), and the
/// parameter `k`, decoded and bounded by ``RequestValidation/infer(_:configuration:)``
/// (at most ``ServerConfiguration/maxInferBatch`` rows and
/// ``ServerConfiguration/maxInferElements`` numbers; 400 naming the field otherwise),
/// and ranks on the ranking threads like `/v1/recommend`. It returns `items` (BYTES) and `scores` (FP32), both `[batch, width]`
/// with `width` the shortest row's length, so the outputs are rectangular (a list model,
/// LIRD: `width` = its list size `K`). A page model (``RecommendationEngine/pageShape``,
/// DeepPage) answers whole pages whatever `k`: both outputs are `[batch, rows, columns]`,
/// row-major.
struct KServeV2Routes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v2/health/live") { _, _ in try JSONResponse.make(V2ServerLive(live: true)) }
        router.get("/v2/health/ready") { _, _ in
            let eventLogWritable = await server.eventLog.checkWritable()
            let ready = eventLogWritable && server.engines.allSatisfy { $0.engine.isReady }
            return try JSONResponse.make(V2ServerReady(ready: ready), status: ready ? .ok : .serviceUnavailable)
        }
        for prefix in ["/v2/models/{name}", "/v2/models/{name}/versions/{version}"] {
            router.get(RouterPath(prefix)) { _, context in try modelMetadata(context) }
            router.get(RouterPath(prefix + "/ready")) { _, context in
                let engine = try engine(named: context)
                return try JSONResponse.make(
                    V2ModelReady(name: engine.modelName, ready: engine.isReady),
                    status: engine.isReady ? .ok : .serviceUnavailable)
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in try await infer(request, context) }
        }
    }

    /// The engine the path's `{name}` (and `{version}`, when present) designate.
    /// - Throws: ``APIError`` 404 for an unknown name or a version that is not loaded.
    private func engine(named context: BasicRequestContext) throws -> any RecommendationEngine {
        let engines = server.engines
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
        let outputShape = engine.pageShape.map { [-1, $0.rows, $0.columns] } ?? [-1, -1]
        let metadata = V2ModelMetadata(
            name: engine.modelName,
            versions: [engine.modelVersion],
            platform: "recrl",
            inputs: [
                V2TensorMetadata(name: "state", datatype: "FP32", shape: [-1, -1]),
                V2TensorMetadata(name: "user", datatype: "BYTES", shape: [-1]),
            ],
            outputs: [
                V2TensorMetadata(name: "items", datatype: "BYTES", shape: outputShape),
                V2TensorMetadata(name: "scores", datatype: "FP32", shape: outputShape),
            ])
        return try JSONResponse.make(metadata)
    }

    private func infer(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let engine = try engine(named: context)
        let query = try RequestValidation.infer(try await server.body(of: request), configuration: server.configuration)
        try engine.requireReady()
        let page = engine.pageShape
        let k = page.map { $0.rows * $0.columns } ?? query.k
        let rows: [[ScoredItem]] = try await server.rank(route: "/v2/models/{name}/infer") {
            switch query.input {
            case let .states(values, batch, width):
                return try (0..<batch).map { b in
                    Array(try engine.scoreState(Array(values[(b * width)..<((b + 1) * width)])).prefix(k))
                }
            case let .users(users):
                return try users.map { try engine.recommend(user: $0, k: k, exclude: []).items }
            }
        }
        let width = rows.map(\.count).min() ?? 0
        let trimmed = rows.map { $0.prefix(width) }
        var shape = [rows.count, width]
        if let page {
            guard rows.isEmpty || width == page.rows * page.columns else {
                throw APIError(.internalServerError, "model '\(engine.modelName)' answered \(width) items for a page of \(page.rows)x\(page.columns)")
            }
            shape = [rows.count, page.rows, page.columns]
        }
        let response = V2InferResponse(
            modelName: engine.modelName, modelVersion: engine.modelVersion, id: query.id,
            outputs: [
                V2InferOutput(name: "items", datatype: "BYTES", shape: shape, strings: trimmed.flatMap { $0.map(\.item) }),
                V2InferOutput(name: "scores", datatype: "FP32", shape: shape, floats: trimmed.flatMap { $0.map(\.score) }),
            ])
        return try JSONResponse.make(response)
    }
}
