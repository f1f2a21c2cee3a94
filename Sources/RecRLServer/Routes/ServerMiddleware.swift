import Dispatch
import Hummingbird
import Logging

/// Turns every error into a JSON error response and records request metrics
/// (`recrl_http_requests_total` and the latency histogram, by route pattern).
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
        metrics.recordRequest(
            route: route, method: request.method.rawValue, status: Int(response.status.code),
            nanoseconds: DispatchTime.now().uptimeNanoseconds &- start)
        return response
    }

    /// The status and `{"error": ...}` body for `error`: the status an ``APIError`` or
    /// ``ClientFacingError`` carries, Hummingbird's own status for its errors (404 for an
    /// unknown route), 500 for anything else: logged with its details, answered with a
    /// bare "internal error" (an error's description may hold server paths or SQL text).
    static func response(for error: any Error, request: Request, context: Context) -> Response {
        switch error {
        case let error as APIError:
            return JSONResponse.error(error.message, status: error.status, headers: error.headers)
        case let error as any ClientFacingError:
            let status = (400...599).contains(error.httpStatus) ? error.httpStatus : 400
            return JSONResponse.error(error.message, status: HTTPResponse.Status(code: status))
        case let error as HTTPError:
            let message =
                error.body
                ?? (error.status == .notFound
                    ? "no route for \(request.method.rawValue) \(request.uri.path)"
                    : error.status.reasonPhrase)
            return JSONResponse.error(message, status: error.status)
        case let error as any HTTPResponseError:
            return JSONResponse.error(error.status.reasonPhrase, status: error.status)
        default:
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return JSONResponse.error("internal error (details are in the server log)", status: .internalServerError)
        }
    }
}
