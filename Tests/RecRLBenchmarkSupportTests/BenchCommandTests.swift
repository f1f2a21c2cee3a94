import ArgumentParser
import Foundation
import XCTest
import RecRLBenchmarkSupport

/// The `bench` commands (as `recrl bench` and `recrl-bench` run them) reject bad input with
/// one clear message, and short runs complete.
final class BenchCommandTests: XCTestCase {
    func message<C: ParsableCommand>(_ type: C.Type, _ args: [String]) -> String? {
        do {
            var command = try type.parseAsRoot(args)
            try command.run()
            return nil
        } catch {
            return type.message(for: error)
        }
    }

    func testBenchRejectsBadInput() {
        XCTAssertEqual(message(BenchTrain.self, ["--config", "huge"]), "unknown config 'huge'; expected one of paper, medium, large")
        XCTAssertEqual(message(BenchTrain.self, ["--runs", "2"]), "--runs must be at least 5")
        let profileNeedsTwoLanes = "--profile times the two-lane update's phases: it needs --threads 2 or more, without --sequential"
        XCTAssertEqual(message(BenchTrain.self, ["--threads", "1", "--profile"]), profileNeedsTwoLanes)
        XCTAssertEqual(message(BenchTrain.self, ["--threads", "2", "--sequential", "--profile"]), profileNeedsTwoLanes)
        XCTAssertEqual(message(BenchRecommend.self, ["--items", "10,x"]), "--items expects positive integers separated by commas, got 'x'")
        XCTAssertEqual(message(BenchRecommend.self, ["--items", "5", "--k", "10"]), "every catalogue needs at least k = 10 items")
        XCTAssertEqual(message(BenchRecommend.self, ["--k", "0"]), "--k must be in 1...1000")
        XCTAssertEqual(message(BenchRecommend.self, ["--requests", "10"]), "--requests must be at least 100 (a p99 needs them)")
        XCTAssertEqual(message(BenchRecommend.self, ["--dim", "0"]), "--dim must be in 1...4096")
        XCTAssertEqual(
            message(BenchLayers.self, ["--layers", "conv2d,lstm"]),
            "unknown layer 'lstm'; expected one of conv2d, conv2d-action, conv-transpose2d, gru, gru-pages")
        XCTAssertEqual(message(BenchLayers.self, ["--runs", "0"]), "--runs must be at least 1")
    }

    /// A short profiled training benchmark completes (two lanes, the phase table in JSON).
    func testBenchTrainProfileRuns() {
        XCTAssertNil(message(BenchTrain.self, ["--config", "paper", "--threads", "2", "--seconds", "0.5", "--profile", "--json"]))
    }

    /// A small latency run completes (it checks that every call returns k items).
    func testBenchRecommendRunsOnASmallCatalogue() {
        XCTAssertNil(message(BenchRecommend.self, ["--items", "300,600", "--dim", "8", "--requests", "100", "--users", "20", "--json"]))
    }
}
