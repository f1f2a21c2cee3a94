import CoreMetrics
import Foundation
import Metrics
import Prometheus
import RecRLTensor

/// The server's Prometheus metrics, recorded through swift-metrics into a private
/// registry (no global `MetricsSystem.bootstrap`, so several servers, e.g. in tests,
/// never share counters).
///
/// Exported series:
/// - `recrl_http_requests_total{route, method, status}`: requests by route pattern.
/// - `recrl_http_request_duration_seconds{route, method}`: latency histogram.
/// - `recrl_feedback_events_total{arm}`: feedback events observed and logged.
/// - `recrl_online_updates_total{arm}`: successful `observe` calls on an engine.
/// - `recrl_feedback_reward{arm}`: histogram of the rewards of logged feedback.
/// - `recrl_model_info{arm, model, version} 1`: the loaded model's version (one series
///   per arm; replaced on reload).
/// - `recrl_model_ready{arm, model}`, `recrl_model_items{arm, model}`.
/// - `recrl_model_age_seconds{arm, model}`: seconds since the served model was trained
///   (``RecommendationEngine/modelCreatedAt``), at the scrape.
/// - `recrl_served_items_psi{arm, model}`: the population stability index of the items the
///   arm recommended most recently against the served model's training popularity
///   (``RecommendationEngine/trainingPopularity``; bucketing documented there): a sliding
///   window of the last ``driftWindowCapacity`` recommended items (every item of every
///   `/v1/recommend` answer counts once), exported once it holds
///   ``driftMinimumItems``. A new model starts an empty window.
/// - `recrl_engine_<statistic>{arm, model}`: every entry of
///   ``RecommendationEngine/statistics`` (e.g. `recrl_engine_replay_size`), refreshed
///   on each scrape.
/// - `recrl_model_reloads_total{arm, result}`.
/// - `recrl_session_evictions_total{arm, model}`: sessions the engine evicted
///   (``RecommendationEngine/sessionEvictions``), refreshed on each scrape.
/// - `recrl_auth_failures_total{route}`: requests refused with 401.
/// - `recrl_overload_rejections_total{route}`: ranking requests refused with 503
///   because ``ServerConfiguration/maxConcurrentRanking`` were in progress.
/// - `recrl_ranking_in_flight`: ranking requests admitted at the scrape.
/// - `recrl_feedback_rejected_total{reason}`: feedback refused (`invalid`: bad body or
///   off-scale value; `unknown_item`; `event_log_unavailable`).
/// - `recrl_feedback_duplicates_total{arm}`: feedback whose `event_id` was already logged.
/// - `recrl_feedback_observe_failures_total{arm}`: logged feedback the engine failed to observe.
/// - `recrl_event_log_write_failures_total`, and `recrl_event_log_writable` (1 or 0).
public final class ServerMetrics: Sendable {
    /// The registry the metrics are written to.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    private struct RequestKey: Hashable { var route: String; var method: String; var status: Int }
    private struct TimerKey: Hashable { var route: String; var method: String }
    private struct GaugeKey: Hashable { var name: String; var arm: String; var model: String }

    private struct State: ~Copyable {
        var requests: [RequestKey: CoreMetrics.Counter] = [:]
        var timers: [TimerKey: CoreMetrics.Timer] = [:]
        var counters: [String: CoreMetrics.Counter] = [:]
        var gauges: [GaugeKey: CoreMetrics.Gauge] = [:]
        var plainGauges: [String: CoreMetrics.Gauge] = [:]
        var recorders: [String: CoreMetrics.Recorder] = [:]
        /// Per arm and model: the engine's eviction count at the last scrape.
        var evictions: [String: Int] = [:]
        /// Per arm: the info gauge and the version it stands for.
        var info: [String: (version: String, model: String, gauge: CoreMetrics.Gauge)] = [:]
        /// Per arm: the recently served items.
        var served: [String: ServedItemWindow] = [:]
        /// Per arm: the drift gauge and the model it is labelled with.
        var drift: [String: (model: String, gauge: CoreMetrics.Gauge)] = [:]
    }
    private let state = Locked(State())

    /// Metrics in a new, empty registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        ]
        factory.valueHistogramBuckets["recrl_feedback_reward"] = Self.rewardBuckets
        self.factory = factory
    }

    /// Recommended items in an arm's drift window (one byte each).
    public static let driftWindowCapacity = 10_000
    /// Items the drift window must hold before `recrl_served_items_psi` is exported
    /// (100 per bucket of the default 10: the index of a smaller sample is biased upwards).
    public static let driftMinimumItems = 1_000

    /// Upper bounds of the `recrl_feedback_reward` buckets (rewards lie in [-1, 1]).
    static let rewardBuckets: [Double] = [-1, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1]

    /// Records the reward of one feedback event of `arm` in the histogram
    /// `recrl_feedback_reward{arm}` (its `_sum / _count` is the arm's mean reward).
    func recordReward(arm: String, _ reward: Float) {
        let key = "recrl_feedback_reward|arm=\(arm)"
        let recorder = state.withLock { state -> CoreMetrics.Recorder in
            let recorder =
                state.recorders[key]
                ?? CoreMetrics.Recorder(
                    label: "recrl_feedback_reward", dimensions: [("arm", arm)],
                    aggregate: true, factory: factory)
            state.recorders[key] = recorder
            return recorder
        }
        recorder.record(Double(reward))
    }

    /// Adds the items `engine` recommended on `arm` to the arm's drift window (nothing
    /// when the engine has no ``RecommendationEngine/trainingPopularity``).
    func recordServed(arm: String, engine: any RecommendationEngine, items: [ScoredItem]) {
        guard let reference = engine.trainingPopularity else { return }
        state.withLock { state in
            if state.served[arm]?.reference !== reference {
                state.served[arm] = ServedItemWindow(reference: reference, capacity: Self.driftWindowCapacity)
            }
            state.served[arm]!.record(items)
        }
    }

    /// Sets `recrl_served_items_psi{arm, model}` from the arm's window, or removes it while
    /// the window is too small or belongs to another model.
    private func updateDriftGauge(arm: String, model: String, engine: any RecommendationEngine) {
        let reference = engine.trainingPopularity
        let (gauge, stale, psi) = state.withLock { state -> (CoreMetrics.Gauge?, CoreMetrics.Gauge?, Double?) in
            let window = state.served[arm]
            let psi = window != nil && window!.reference === reference ? window!.stabilityIndex(minimumItems: Self.driftMinimumItems) : nil
            let current = state.drift[arm]
            guard let psi else {
                state.drift[arm] = nil
                return (nil, current?.gauge, nil)
            }
            if let current, current.model == model { return (current.gauge, nil, psi) }
            let gauge = CoreMetrics.Gauge(label: "recrl_served_items_psi", dimensions: [("arm", arm), ("model", model)], factory: factory)
            state.drift[arm] = (model, gauge)
            return (gauge, current?.gauge, psi)
        }
        stale?.destroy()
        if let gauge, let psi { gauge.record(psi) }
    }

    /// Counts one request and records its latency.
    public func recordRequest(route: String, method: String, status: Int, nanoseconds: UInt64) {
        let (counter, timer) = state.withLock { state -> (CoreMetrics.Counter, CoreMetrics.Timer) in
            let rk = RequestKey(route: route, method: method, status: status)
            let counter =
                state.requests[rk]
                ?? CoreMetrics.Counter(
                    label: "recrl_http_requests_total",
                    dimensions: [("route", route), ("method", method), ("status", String(status))],
                    factory: factory)
            state.requests[rk] = counter
            let tk = TimerKey(route: route, method: method)
            let timer =
                state.timers[tk]
                ?? CoreMetrics.Timer(
                    label: "recrl_http_request_duration_seconds",
                    dimensions: [("route", route), ("method", method)],
                    factory: factory)
            state.timers[tk] = timer
            return (counter, timer)
        }
        counter.increment()
        timer.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// Increments the counter `name{labels}` by one.
    func increment(_ name: String, _ labels: [(String, String)]) {
        let key = name + "|" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let counter = state.withLock { state -> CoreMetrics.Counter in
            let counter = state.counters[key] ?? CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
            state.counters[key] = counter
            return counter
        }
        counter.increment()
    }

    private func setGauge(_ name: String, arm: String, model: String, _ value: Double) {
        let gauge = state.withLock { state -> CoreMetrics.Gauge in
            let key = GaugeKey(name: name, arm: arm, model: model)
            let gauge = state.gauges[key] ?? CoreMetrics.Gauge(label: name, dimensions: [("arm", arm), ("model", model)], factory: factory)
            state.gauges[key] = gauge
            return gauge
        }
        gauge.record(value)
    }

    /// Sets the gauge `name{labels}` to `value`.
    func setGauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        let key = name + "|" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let gauge = state.withLock { state -> CoreMetrics.Gauge in
            let gauge = state.plainGauges[key] ?? CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory)
            state.plainGauges[key] = gauge
            return gauge
        }
        gauge.record(value)
    }

    /// Refreshes the model and engine gauges of one arm from `engine`.
    func updateEngineGauges(arm: String, engine: any RecommendationEngine) {
        let model = engine.modelName
        let version = engine.modelVersion
        let stale: CoreMetrics.Gauge? = state.withLock { state -> CoreMetrics.Gauge? in
            if let current = state.info[arm], current.version == version, current.model == model { return nil }
            let old = state.info[arm]?.gauge
            let gauge = CoreMetrics.Gauge(
                label: "recrl_model_info",
                dimensions: [("arm", arm), ("model", model), ("version", version)],
                factory: factory)
            gauge.record(1)
            state.info[arm] = (version, model, gauge)
            return old
        }
        stale?.destroy()
        setGauge("recrl_model_ready", arm: arm, model: model, engine.isReady ? 1 : 0)
        setGauge("recrl_model_items", arm: arm, model: model, Double(engine.itemCount))
        if let created = engine.modelCreatedAt {
            setGauge("recrl_model_age_seconds", arm: arm, model: model, max(0, Date().timeIntervalSince(created)))
        }
        updateDriftGauge(arm: arm, model: model, engine: engine)
        for (key, value) in engine.statistics {
            setGauge("recrl_engine_" + Self.sanitize(key), arm: arm, model: model, value)
        }
        recordSessionEvictions(arm: arm, model: model, total: engine.sessionEvictions)
    }

    /// Advances `recrl_session_evictions_total{arm, model}` to the engine's running total
    /// (a total that went down, e.g. a new engine, counts from its new value on).
    func recordSessionEvictions(arm: String, model: String, total: Int) {
        let labels = [("arm", arm), ("model", model)]
        let key = "recrl_session_evictions_total|arm=\(arm),model=\(model)"
        let (counter, delta) = state.withLock { state -> (CoreMetrics.Counter, Int) in
            let counter =
                state.counters[key]
                ?? CoreMetrics.Counter(
                    label: "recrl_session_evictions_total",
                    dimensions: labels, factory: factory)
            state.counters[key] = counter
            let previous = state.evictions[key] ?? 0
            state.evictions[key] = total
            return (counter, total >= previous ? total - previous : total)
        }
        counter.increment(by: Int64(delta))
    }

    /// The registry in the Prometheus text exposition format.
    public func render() -> String {
        registry.emitToString()
    }

    /// Lower-cases `name` and replaces every character outside `[a-z0-9_]` with `_`.
    static func sanitize(_ name: String) -> String {
        String(
            name.lowercased().map { c -> Character in
                (c.isASCII && (c.isLetter || c.isNumber)) || c == "_" ? c : "_"
            })
    }
}
