import Foundation
import XCTest
import RecRLBenchmarkSupport
import RecRLTestSupport

/// Allocation counting lives in `recrl-bench` only: the shipped `recrl` binary defines no
/// `malloc` of its own (its allocator is the system's, or a preloaded one), and its bench
/// commands say that they do not count; `recrl-bench` counts. Runs the built executables.
final class AllocationCountingTests: XCTestCase {
    /// A built executable of this package (the products directory holds the test bundle too).
    func executable(_ name: String) throws -> URL {
        let url = Bundle.main.bundleURL.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw XCTSkip("\(name) is not built next to the tests (build the package with `swift build --build-tests`)")
        }
        return url
    }

    /// Runs `url` with `arguments`; returns its exit status and standard output.
    func run(_ url: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Whether the binary's dynamic symbol table defines `malloc` (what interposition needs).
    func definesMalloc(_ binary: URL) throws -> Bool {
        let nm = URL(fileURLWithPath: "/usr/bin/nm")
        guard FileManager.default.isExecutableFile(atPath: nm.path) else { throw XCTSkip("no /usr/bin/nm") }
        let (status, output) = try run(nm, ["-D", "--defined-only", binary.path])
        XCTAssertEqual(status, 0, "nm -D \(binary.lastPathComponent)")
        return output.split(separator: "\n").contains { $0.split(separator: " ").last == "malloc" }
    }

    /// Sanitizer and non-glibc builds neither interpose nor count: each executable gets its
    /// allocator from the sanitizer runtime or the C library.
    func skipUnlessCounting() throws {
        try XCTSkipUnless(allocationCountingAvailable, "this build does not count allocations (sanitizer or non-glibc)")
    }

    func testOnlyRecrlBenchDefinesMalloc() throws {
        try skipUnlessCounting()
        XCTAssertFalse(try definesMalloc(executable("recrl")), "recrl must not interpose malloc")
        XCTAssertTrue(try definesMalloc(executable("recrl-bench")), "recrl-bench interposes malloc to count allocations")
    }

    /// `bench train` on the tiny workload, as JSON.
    func benchTrain(_ url: URL, _ prefix: [String]) throws -> [String: Any] {
        let (status, output) = try run(url, prefix + ["train", "--config", "tiny", "--threads", "1", "--seconds", "0.05", "--json"])
        XCTAssertEqual(status, 0, output)
        let line = try XCTUnwrap(output.split(separator: "\n").last)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
    }

    func testOnlyRecrlBenchReportsAllocationCounts() throws {
        try skipUnlessCounting()
        let plain = try benchTrain(executable("recrl"), ["bench"])
        XCTAssert(plain["allocations_per_update"] is NSNull, "\(plain)")
        XCTAssertEqual(plain["allocations_note"] as? String, AllocationCounting.unavailableNote)
        XCTAssertEqual(plain["config"] as? String, "tiny")
        XCTAssertEqual((plain["runs"] as? [Double])?.count, 5)

        let counted = try benchTrain(executable("recrl-bench"), [])
        let perUpdate = try XCTUnwrap(counted["allocations_per_update"] as? Double, "\(counted)")
        XCTAssertGreaterThanOrEqual(perUpdate, 0)
        XCTAssertNil(counted["allocations_note"])
        XCTAssertEqual(Set(counted.keys).subtracting(plain.keys), [], "the same fields")
    }

    /// `recrl-bench layers` times DeepPage's layers with counting: a warm forward +
    /// backward allocates nothing.
    func testBenchLayersReportsNoAllocations() throws {
        try skipUnlessCounting()
        let (status, output) = try run(executable("recrl-bench"), ["layers", "--threads", "1", "--seconds", "0.05", "--runs", "1", "--json"])
        XCTAssertEqual(status, 0, output)
        let line = try XCTUnwrap(output.split(separator: "\n").last)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.compactMap { $0["layer"] as? String }, ["conv2d", "conv2d-action", "conv-transpose2d", "gru", "gru-pages"])
        for r in results {
            XCTAssertEqual(r["allocations_per_call"] as? Double, 0, "\(r)")
            XCTAssertGreaterThan(try XCTUnwrap(r["calls_per_second"] as? Double), 0)
        }
    }

    /// `recrl-bench update` times a LIRD and a DeepPage update with counting: a warm update
    /// allocates nothing.
    func testBenchUpdateReportsNoAllocations() throws {
        try skipUnlessCounting()
        let (status, output) = try run(
            executable("recrl-bench"), ["update", "--threads", "1", "--items", "100", "--seconds", "0.05", "--runs", "1", "--json"])
        XCTAssertEqual(status, 0, output)
        let line = try XCTUnwrap(output.split(separator: "\n").last)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.compactMap { $0["model"] as? String }, ["lird", "deeppage"])
        for r in results {
            XCTAssertEqual(r["allocations_per_update"] as? Double, 0, "\(r)")
            XCTAssertEqual(r["path"] as? String, "sequential", "\(r)")
            XCTAssertGreaterThan(try XCTUnwrap(r["updates_per_second"] as? Double), 0)
        }
    }
}
