// swift-tools-version: 6.1
// RecRL: deep reinforcement learning recommenders in Swift.
//
// Layers, each importing only layers listed before it:
//   1 CRecRLBLAS (system CBLAS + LAPACKE), CRecRLKernels (small C kernels)
//   2 RecRLTensor      Tensor, GEMM/GEMV, LAPACKE solves, CSR sparse matrix, top-K, seeded RNG, BLAS runtime
//   3 RecRLNN          Layer, Dense, activations, losses, optimizers, safetensors
//   4 RecRLAgents      Environment, Actor/Critic, DDPG/TD3, replay buffers, exploration, loop
//     RecRLEnvironmentTesting  conformance suite for users' environments
//   5 RecRLEmbeddings  ALS/PMF matrix factorisation
//     RecRLData        loaders, validation, splits
//     RecRLRecommenders  baselines, metrics, evaluation protocols
//     RecRLSimulation  synthetic world, A/B statistics
//     RecRLDRR         DRR state modules, offline simulator, training, online serving
//     RecRLEvaluation  off-policy evaluation: serving-policy propensities, IPS/DR/slate estimators
//   RecRL              umbrella module re-exporting all of the above
// App level (may use third-party packages):
//   RecRLServer        HTTP server (Hummingbird 2: JSON API, KServe V2, Prometheus metrics,
//                      hot reload, A/B routing), DRR engine adapter, SQLite event log (GRDB)
//   RecRLReporting     SVG line charts for the apps (Foundation only)
//   recrl              the command-line tool (train, evaluate, serve, abtest, bench, ...), Examples/
//   RecRLBenchmarkSupport  the bench commands, training workload and FMA probe; recrl-bench runs
//                      them with allocation counting (recrl itself links no malloc interposer)
//   RecRLLaunch        start-up helper of the executables (OpenBLAS core re-launch)
// The core library products (RecRL and layers 1-5) depend on no third-party
// Swift package: only RecRLServer and the apps use Hummingbird, swift-log, swift-metrics,
// swift-prometheus, GRDB and swift-argument-parser. A package that depends only on the core
// products builds none of them (SwiftPM resolves them but builds only what a product needs).
// Benchmarks/ is a separate package (package-benchmark).
import PackageDescription

let package = Package(
    name: "RecRL",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RecRL", targets: ["RecRL"]),
        .library(name: "RecRLTensor", targets: ["RecRLTensor"]),
        .library(name: "RecRLNN", targets: ["RecRLNN"]),
        .library(name: "RecRLAgents", targets: ["RecRLAgents"]),
        .library(name: "RecRLEnvironmentTesting", targets: ["RecRLEnvironmentTesting"]),
        .library(name: "RecRLEmbeddings", targets: ["RecRLEmbeddings"]),
        .library(name: "RecRLSimulation", targets: ["RecRLSimulation"]),
        .library(name: "RecRLData", targets: ["RecRLData"]),
        .library(name: "RecRLRecommenders", targets: ["RecRLRecommenders"]),
        .library(name: "RecRLDRR", targets: ["RecRLDRR"]),
        .library(name: "RecRLEvaluation", targets: ["RecRLEvaluation"]),
        .library(name: "RecRLServer", targets: ["RecRLServer"]),
        .executable(name: "recrl", targets: ["recrl"]),
        // Benchmarks and diagnostics (app level, not in the RecRL umbrella): the `recrl bench`
        // commands, the training workload, the FMA probe; `recrl-bench` also counts allocations.
        .library(name: "RecRLBenchmarkSupport", targets: ["RecRLBenchmarkSupport"]),
        .executable(name: "recrl-bench", targets: ["recrl-bench"]),
        .executable(name: "PendulumDDPG", targets: ["PendulumDDPG"]),
        .executable(name: "OfflineToOnline", targets: ["OfflineToOnline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // RecRLServer only:
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // RecRLServer's LoopbackHTTPClient (the NIO Hummingbird already builds):
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        // RecRLPostgres only (the scaled-out shape: event log, sessions, learner offsets):
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Documentation only (`swift package generate-documentation --target RecRL`):
        // a command plugin, built only when it runs.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: System and C layer (no stable API; use the Swift types)
        .systemLibrary(
            name: "CRecRLBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev", "pkg-config"])]
        ),
        .target(name: "CRecRLKernels"),
        // Allocation counting for tests and benchmarks only (interposes malloc).
        .target(name: "CRecRLMallocCounter"),

        // MARK: Public library layers
        .target(name: "RecRLTensor", dependencies: ["CRecRLBLAS", "CRecRLKernels"]),
        .target(name: "RecRLNN", dependencies: ["RecRLTensor", "CRecRLKernels"]),
        .target(name: "RecRLAgents", dependencies: ["RecRLTensor", "RecRLNN"]),
        .target(name: "RecRLEnvironmentTesting", dependencies: ["RecRLAgents", "RecRLTensor"]),
        .target(name: "RecRLEmbeddings", dependencies: ["RecRLTensor"]),
        .target(name: "RecRLData", dependencies: ["RecRLTensor"]),
        .target(name: "RecRLRecommenders", dependencies: ["RecRLTensor", "RecRLNN", "RecRLData", "RecRLEmbeddings"]),
        .target(name: "RecRLSimulation", dependencies: ["RecRLTensor", "RecRLAgents"]),
        .target(name: "RecRLDRR", dependencies: ["RecRLTensor", "RecRLNN", "RecRLEmbeddings", "RecRLData", "RecRLAgents", "RecRLRecommenders"]),
        .target(name: "RecRLEvaluation", dependencies: ["RecRLTensor"]),
        .target(
            name: "RecRL",
            dependencies: [
                "RecRLTensor", "RecRLNN", "RecRLAgents", "RecRLEmbeddings", "RecRLData", "RecRLRecommenders", "RecRLSimulation", "RecRLDRR",
                "RecRLEvaluation",
            ]),

        // MARK: App level
        // Reporting helpers for the apps (SVG charts); Foundation only, not in the RecRL umbrella.
        .target(name: "RecRLReporting"),
        // The multi-arm online comparison (DRR-ave against bandits and refit CF models in the
        // drifting world) behind `recrl online-compare` and the tutorial's last step.
        .target(name: "RecRLOnlineCompare", dependencies: ["RecRL", "RecRLReporting"]),
        .target(
            name: "RecRLServer",
            dependencies: [
                "RecRLTensor", "RecRLNN", "RecRLDRR", "RecRLSimulation", "RecRLEvaluation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // PostgreSQL-backed event log, shared sessions and learner state for serving replicas
        // and `recrl learn` (postgres-nio); SQLite stays the embedded default in RecRLServer.
        .target(
            name: "RecRLPostgres",
            dependencies: [
                "RecRLServer", "RecRLDRR", "RecRLTensor",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "recrl",
            dependencies: [
                "RecRL", "RecRLData", "RecRLRecommenders", "RecRLServer", "RecRLPostgres", "RecRLReporting", "RecRLOnlineCompare", "RecRLBenchmarkSupport",
                "RecRLLaunch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Executables' start-up, benchmarks and diagnostics (app level)
        // RecRLLaunch: the OpenBLAS core re-launch every executable calls first in main.
        .target(name: "RecRLLaunch", dependencies: ["RecRLTensor"]),
        // The FMA probe behind `bench cpu`.
        .target(name: "CRecRLBenchmarkProbes"),
        // The `bench` commands, TrainingWorkload (WORKLOAD.md) and FMAThroughput. Counts no
        // allocations itself: `recrl-bench` links the interposer and installs its counter.
        .target(
            name: "RecRLBenchmarkSupport",
            dependencies: [
                "RecRLTensor", "RecRLNN", "RecRLAgents", "RecRLDRR", "CRecRLBenchmarkProbes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // `recrl bench` with allocation counting: the only executable that interposes malloc.
        .executableTarget(
            name: "recrl-bench",
            dependencies: [
                "RecRLBenchmarkSupport", "RecRLLaunch", "CRecRLMallocCounter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .executableTarget(
            name: "PendulumDDPG",
            dependencies: ["RecRLAgents", "RecRLNN", "RecRLTensor", "RecRLLaunch", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/PendulumDDPG"
        ),

        // The tutorial serves its models with RecRLServer and plays the simulated users
        // through RecRLServer's LoopbackHTTPClient (SwiftNIO, one keep-alive connection),
        // so it builds no TLS or HTTP-client stack (HummingbirdTesting is test-only).
        .executableTarget(
            name: "OfflineToOnline",
            dependencies: ["RecRL", "RecRLServer", "RecRLReporting", "RecRLOnlineCompare", "RecRLLaunch"],
            path: "Examples/OfflineToOnline"),

        // MARK: Tests
        .target(name: "RecRLTestSupport", dependencies: ["RecRLTensor", "RecRLNN", "CRecRLMallocCounter"], path: "Tests/RecRLTestSupport"),
        .testTarget(name: "RecRLTensorTests", dependencies: ["RecRLTensor", "RecRLTestSupport", "CRecRLKernels"]),
        .testTarget(name: "RecRLEmbeddingsTests", dependencies: ["RecRLEmbeddings", "RecRLTestSupport"]),
        .testTarget(name: "RecRLSimulationTests", dependencies: ["RecRLSimulation", "RecRLTensor", "RecRLAgents", "RecRLEnvironmentTesting"]),
        .testTarget(
            name: "RecRLDRRTests",
            dependencies: [
                "RecRLDRR", "RecRLEnvironmentTesting", "RecRLTestSupport", "OfflineToOnline",
                "RecRLModelSaver",
            ]),
        // Saves models in a loop for the crash-safety test, which kills it (not a product).
        .executableTarget(name: "RecRLModelSaver", dependencies: ["RecRLDRR", "RecRLTensor"], path: "Tests/RecRLModelSaver"),
        .testTarget(
            name: "RecRLAgentsTests",
            dependencies: [
                "RecRLAgents", "RecRLEnvironmentTesting", "RecRLTestSupport", "PendulumDDPG", "RecRLTensor", "RecRLNN",
                "RecRLBenchmarkSupport",
            ]),
        .testTarget(name: "RecRLWorkloadTests", dependencies: ["RecRLAgents", "RecRLBenchmarkSupport", "RecRLTestSupport"], exclude: ["Golden"]),
        .testTarget(name: "RecRLDataTests", dependencies: ["RecRLData", "RecRLTensor"]),
        .testTarget(
            name: "RecRLRecommendersTests",
            dependencies: ["RecRLData", "RecRLRecommenders", "RecRLEmbeddings", "RecRLTensor", "RecRLDRR", "RecRLOnlineCompare", "recrl"]),
        .testTarget(name: "RecRLNNTests", dependencies: ["RecRLNN", "RecRLTestSupport"], exclude: ["Golden"]),
        .testTarget(name: "RecRLReportingTests", dependencies: ["RecRLReporting"]),
        .testTarget(name: "RecRLEvaluationTests", dependencies: ["RecRLEvaluation", "RecRLTensor"]),
        // The bench commands, the FMA probe, and which executables count allocations (runs the
        // built `recrl` and `recrl-bench` from the products directory).
        .testTarget(
            name: "RecRLBenchmarkSupportTests",
            dependencies: [
                "RecRLBenchmarkSupport", "RecRLTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "RecRLServerTests",
            dependencies: [
                "RecRLServer", "RecRLPostgres", "RecRLDRR", "RecRLData", "RecRLSimulation", "RecRLTensor", "recrl",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
