import Hummingbird

/// `GET /metrics`: the server's ``ServerMetrics`` in the Prometheus text format
/// (version 0.0.4). Each scrape first refreshes the engine gauges (readiness, item
/// count, version, ``RecommendationEngine/statistics``) of every arm.
struct MetricsRoutes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ in
            for (arm, engine) in server.engines { server.metrics.updateEngineGauges(arm: arm, engine: engine) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: server.metrics.render())))
        }
    }
}
