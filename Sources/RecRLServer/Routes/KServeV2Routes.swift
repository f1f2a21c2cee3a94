import Hummingbird

/// The KServe Open Inference Protocol V2 (REST):
/// - `GET /v2/health/live`, `GET /v2/health/ready` (503 unless every engine is ready)
/// - `GET /v2/models/{name}` (metadata), `GET /v2/models/{name}/ready` (503 when not
///   ready), `POST /v2/models/{name}/infer`
/// - the same three under `/v2/models/{name}/versions/{version}`: 404 unless `version`
///   is the loaded one.
///
/// `infer` takes exactly one input: `state` (FP32, `[batch, n]` or `[n]`, scored with
/// ``RecommendationEngine/scoreState(_:)``) or `user` (BYTES, `[batch]` or `[batch, 1]`,
/// answered with ``RecommendationEngine/recommend(user:k:exclude:)``), and the
/// parameter `k`. It returns `items` (BYTES) and `scores` (FP32), both `[batch, width]`
/// with `width` the shortest row's length, so the outputs are rectangular.
struct KServeV2Routes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v2/health/live") { _, _ in try JSONResponse.make(V2ServerLive(live: true)) }
        router.get("/v2/health/ready") { _, _ in
            let ready = server.engines.allSatisfy { $0.engine.isReady }
            return try JSONResponse.make(V2ServerReady(ready: ready), status: ready ? .ok : .serviceUnavailable)
        }
        for prefix in ["/v2/models/{name}", "/v2/models/{name}/versions/{version}"] {
            router.get(RouterPath(prefix)) { _, context in try modelMetadata(context) }
            router.get(RouterPath(prefix + "/ready")) { _, context in
                let engine = try engine(named: context)
                return try JSONResponse.make(V2ModelReady(name: engine.modelName, ready: engine.isReady),
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
        let body = try await server.decodeBody(V2InferRequest.self, from: request)!
        guard body.inputs.count == 1, let input = body.inputs.first else {
            throw APIError(.badRequest, "expected exactly one input tensor ('state' FP32 or 'user' BYTES), got \(body.inputs.count)")
        }
        let k = try server.validatedK(body.parameters?.k, "parameter 'k'")
        try engine.requireReady()
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
}
