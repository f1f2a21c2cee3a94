// swift-tools-version: 6.1
// libFuzzer targets for RecRL's parsers of untrusted input. Build and run them with
// `make fuzz` (or Scripts/fuzz.sh); each target reads bytes and must never crash, whatever
// the bytes: parsers throw errors for bad input.
//
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

let package = Package(
    name: "RecRLFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "RecRL", path: "..")],
    targets: [
        // Runs libFuzzer's driver from an executable's entry point (SwiftPM names it
        // `<target>_main` on Linux, so libFuzzer's own `main` is not linked).
        .target(name: "FuzzDriver", path: "Sources/FuzzDriver"),
        .executableTarget(name: "FuzzSafeTensors",
                          dependencies: ["FuzzDriver", .product(name: "RecRLNN", package: "RecRL")]),
        .executableTarget(name: "FuzzDatasets",
                          dependencies: ["FuzzDriver", .product(name: "RecRLData", package: "RecRL")]),
        .executableTarget(name: "FuzzManifest",
                          dependencies: ["FuzzDriver", .product(name: "RecRLDRR", package: "RecRL")]),
        // Builds RecRLServer, and so Hummingbird, NIO and GRDB, with the fuzzer sanitizer.
        .executableTarget(name: "FuzzServerRequests",
                          dependencies: ["FuzzDriver", .product(name: "RecRLServer", package: "RecRL")]),
    ],
    swiftLanguageModes: [.v6]
)
