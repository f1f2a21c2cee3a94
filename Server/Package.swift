// swift-tools-version: 6.1
// RecRL's HTTP server (Hummingbird 2): JSON API, KServe Open Inference Protocol V2,
// Prometheus metrics, hot reload, A/B routing, and the durable SQLite event log.
//
// Kept in its own package for now: its dependencies (Hummingbird, GRDB, swift-prometheus,
// and async-http-client through HummingbirdTesting) take over half an hour to build in
// release on 2 cores, so it is not yet part of the root package's `make test`.
// `recrl serve` / `recrl abtest` (Sources/recrl/Serve.swift, ABTestCommand.swift) compile
// once the root's `recrl` target depends on RecRLServer.
//
//   swift test --package-path Server
import PackageDescription
import Foundation

// A path dependency's identity is its folder's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "RecRLServer",
    platforms: [.macOS(.v15)],
    products: [.library(name: "RecRLServer", targets: ["RecRLServer"])],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        .target(name: "RecRLServer", dependencies: [
            .product(name: "RecRLSimulation", package: root),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "RecRLServerTests", dependencies: [
            "RecRLServer",
            .product(name: "RecRLSimulation", package: root),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
