import ArgumentParser
import Foundation
import RecRLDRR
import RecRLServer
import RecRLTensor

/// `recrl serve`: serves a trained model over HTTP — recommendations, feedback with a
/// durable SQLite event log, the KServe Open Inference Protocol V2, Prometheus metrics
/// on `/metrics`, hot reload (`POST /admin/reload` or SIGHUP) and optional A/B routing.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a trained model over HTTP (recommend, feedback, KServe V2, metrics, hot reload).",
        discussion: """
            Routes: POST /v1/recommend, POST /v1/feedback, GET /v2/health/{live,ready},
            GET /v2/models/{name}[/ready], POST /v2/models/{name}/infer, GET /metrics,
            POST /admin/reload. SIGHUP reloads the model(s) from their directories;
            SIGINT/SIGTERM shut down gracefully. The admin route is not authenticated:
            keep the default loopback address or put the server behind a proxy.

            The model is a folder written by `recrl train` (a DRR model). Feedback always
            updates the user's session state; with --updates-per-second the model also
            keeps learning from it (DDPG updates in the background, each publication
            changes model_version). A reload must keep the item catalogue.
            """)

    @Option(help: "Model directory to serve (also what SIGHUP and POST /admin/reload reload from).")
    var model: String

    @Option(help: "TCP port to listen on.")
    var port: Int = 8080

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "SQLite event log of feedback (created if missing; WAL, synchronous=FULL).")
    var events: String = "events.sqlite"

    @Option(help: "A second model directory: run an A/B test with --model as control and this as treatment.")
    var treatmentModel: String?

    @Option(help: "Share of users in the treatment arm (with --treatment-model).")
    var split: Double = 0.5

    @Option(help: "Experiment name, hashed with the user id to choose the arm (use a new one per experiment).")
    var salt: String = "recrl-ab"

    @Option(help: "Largest accepted request body in bytes (larger: 413).")
    var maxBodyBytes: Int = 1 << 20

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: ArgumentHelp("Learn online from feedback: DDPG updates per second in the background (default: off).",
                               valueName: "N"))
    var updatesPerSecond: Double?

    @Option(help: ArgumentHelp("OpenBLAS threads per BLAS call (default 1: requests run in parallel on the event loops, and multi-threaded OpenBLAS spends the cores spinning on small products).",
                               valueName: "N"))
    var blasThreads: Int = 1

    func validate() throws {
        guard blasThreads >= 1 && blasThreads <= 256 else { throw ValidationError("--blas-threads must be in 1...256, got \(blasThreads)") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        guard (0...1).contains(split) else { throw ValidationError("--split must be in [0, 1], got \(split)") }
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive, got \(maxBodyBytes)") }
        if let updatesPerSecond, !(updatesPerSecond > 0 && updatesPerSecond <= 100_000) {
            throw ValidationError("--updates-per-second must be in (0, 100000], got \(updatesPerSecond)")
        }
        guard ServerLogging.level(named: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'")
        }
    }

    func run() async throws {
        ServerLogging.bootstrap(level: ServerLogging.level(named: logLevel) ?? .info)
        BLASRuntime.setThreadCount(blasThreads)
        let modelURL = URL(fileURLWithPath: model)
        let control = ServedModel(engine: try makeEngine(modelDirectory: modelURL, updatesPerSecond: updatesPerSecond),
                                  directory: modelURL)
        let mode: ServingMode
        if let treatmentModel {
            let treatmentURL = URL(fileURLWithPath: treatmentModel)
            let (model, manifest) = try DRRModelStore.load(from: treatmentURL)
            // The KServe routes find a model by name: keep the two arms' names apart.
            let name = manifest.policy == control.engine.modelName ? "\(manifest.policy)-treatment" : manifest.policy
            let engine = try DRREngine(model: model, manifest: manifest, name: name, directory: treatmentURL,
                                       updatesPerSecond: updatesPerSecond)
            let treatment = ServedModel(engine: engine, directory: treatmentURL)
            mode = .abTest(control: control, treatment: treatment, split: split, salt: salt)
        } else {
            mode = .single(control)
        }
        let server = RecommendationServer(
            mode: mode,
            eventLog: try EventLog(path: events),
            configuration: ServerConfiguration(host: host, port: port, maxBodyBytes: maxBodyBytes))
        // Stop online learning before the process exits (see DRREngine.stopBackgroundLearning()).
        defer { for (_, engine) in server.engines { (engine as? DRREngine)?.stopBackgroundLearning() } }
        try await server.run()
    }
}
