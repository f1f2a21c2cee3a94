import Hummingbird

/// `GET /metrics`: the server's ``ServerMetrics`` in the Prometheus text format
/// (version 0.0.4). Each scrape first refreshes the engine gauges (readiness, item
/// count, version, ``RecommendationEngine/statistics``, session evictions) of every
/// arm, the ranking requests in flight and whether the event log is writable.
struct MetricsRoutes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ in
            for (arm, engine) in server.engines { server.metrics.updateEngineGauges(arm: arm, engine: engine) }
            server.metrics.setGauge("recrl_ranking_in_flight", [], Double(server.rankingPool.inFlight))
            server.metrics.setGauge("recrl_event_log_writable", [], server.eventLog.isWritable ? 1 : 0)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: server.metrics.render())))
        }
    }
}
