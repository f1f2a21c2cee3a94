// swift-tools-version: 6.1
// RecRL's benchmarks (ordo-one/package-benchmark), kept in their own package so that
// the library's users never resolve the benchmark dependencies.
//
//   cd Benchmarks && swift package benchmark --no-progress
import PackageDescription
import Foundation

// A path dependency's identity is its folder's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "RecRLBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RecRLBenchmarks",
            dependencies: [
                .product(name: "RecRL", package: root),
                .product(name: "RecRLBenchmarkSupport", package: root),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RecRLBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
