import Foundation
import Hummingbird

/// Administration: `POST /admin/reload` `{"path"?, "arm"?}` →
/// `{"status": "ok", "arm", "model", "previous_version", "model_version"}`, through
/// ``RecommendationServer/reload(arm:from:)`` (an empty body reloads the only engine,
/// or control, from its last directory).
///
/// These routes have no authentication: bind to loopback (the default) or put the
/// server behind a proxy that guards `/admin/`.
struct AdminRoutes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.post("/admin/reload") { request, _ in try await reload(request) }
    }

    private func reload(_ request: Request) async throws -> Response {
        let body = try await server.decodeBody(ReloadRequest.self, from: request, allowEmpty: true)
        let result = try await server.reload(arm: body?.arm, from: body?.path.map { URL(fileURLWithPath: $0) })
        let engine = server.engines.first { $0.arm == result.arm }!.engine
        return try JSONResponse.make(ReloadResponse(arm: result.arm, model: engine.modelName,
                                                    previousVersion: result.previousVersion,
                                                    modelVersion: result.modelVersion))
    }
}
