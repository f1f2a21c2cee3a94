import Foundation
import Hummingbird

/// Administration, registered only when ``ServerConfiguration/adminEnabled`` is set
/// (404 otherwise) and guarded by the API key when one is configured:
/// `POST /admin/reload` `{"arm"?}` →
/// `{"status": "ok", "arm", "model", "previous_version", "model_version"}`, through
/// ``RecommendationServer/reload(arm:from:)``: an empty body reloads the only engine, or
/// control. A reload always reads the model directory the server was started with; a
/// body with a `path` is refused with 400.
///
/// A failed reload is answered with its status (422 for a model that cannot be loaded
/// or does not fit, 500 otherwise) and a message with every filesystem path replaced by
/// `<path>`; the full error is in the server log.
struct AdminRoutes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.post("/admin/reload") { request, _ in try await reload(request) }
    }

    private func reload(_ request: Request) async throws -> Response {
        try server.authorize(request, route: "/admin/reload")
        let query = try RequestValidation.reload(try await server.body(of: request))
        let result: RecommendationServer.ReloadResult
        do {
            result = try await server.reload(arm: query.arm)
        } catch let error as any ClientFacingError {
            throw RequestError(httpStatus: error.httpStatus, message: Self.withoutPaths(error.message))
        } catch {
            throw APIError(.internalServerError, "the reload failed; the served model stays (details are in the server log)")
        }
        let engine = server.engines.first { $0.arm == result.arm }!.engine
        return try JSONResponse.make(
            ReloadResponse(
                arm: result.arm, model: engine.modelName,
                previousVersion: result.previousVersion,
                modelVersion: result.modelVersion))
    }

    /// `message` with every absolute filesystem path (a `/` that starts a word, up to
    /// the next space, quote, bracket, comma, colon or semicolon) replaced by `<path>`.
    static func withoutPaths(_ message: String) -> String {
        var result = ""
        var inPath = false
        var previous: Character = " "
        for c in message {
            if inPath {
                if c.isWhitespace || "'\"`()[]{},;:".contains(c) {
                    inPath = false
                    result.append(c)
                }
            } else if c == "/" && (previous.isWhitespace || "'\"`([{=:".contains(previous)) {
                inPath = true
                result += "<path>"
            } else {
                result.append(c)
            }
            previous = c
        }
        return result
    }
}
