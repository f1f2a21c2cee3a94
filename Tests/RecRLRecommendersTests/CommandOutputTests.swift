import ArgumentParser
import Foundation
import XCTest
@testable import recrl
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The --json objects keep the field names and structure scripts parse: each output type's
/// encoding has the same keys, nesting and JSON value kinds as the command printed before the
/// `Codable` types existed (fixtures: that build's output; export-events written from its field list).
final class CommandOutputTests: XCTestCase {
    /// The shape of a JSON value: object keys with their shapes, array element shapes, or the scalar kind.
    indirect enum Shape: Equatable, Decodable {
        case object([String: Shape])
        case array([Shape])
        case string, number, bool, null

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if (try? c.decode(Bool.self)) != nil {
                self = .bool
            } else if (try? c.decode(Double.self)) != nil {
                self = .number
            } else if (try? c.decode(String.self)) != nil {
                self = .string
            } else if let a = try? c.decode([Shape].self) {
                self = .array(a)
            } else {
                self = .object(try c.decode([String: Shape].self))
            }
        }
    }

    func shape(ofJSON text: String) throws -> Shape { try JSONDecoder().decode(Shape.self, from: Data(text.utf8)) }

    func assertSameShape<T: Encodable>(_ value: T, asFixture fixture: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let encoded = try JSONOutput.encode(value)
        XCTAssertFalse(encoded.contains("\n"), "one line", file: file, line: line)
        XCTAssertEqual(try shape(ofJSON: encoded), try shape(ofJSON: fixture), encoded, file: file, line: line)
    }

    func testInfo() throws {
        let fixture =
            #"{"version":"0.1.0","blas_core":"SkylakeX","gemm_kernel":"recrl-avx512","blas_threads":2,"blas_config":"OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64","blas_generic_core":false,"recommended_coretype":"SkylakeX","openblas_coretype_env":"SkylakeX"}"#
        try assertSameShape(
            InfoOutput(
                version: "0.1.0", blasCore: "SkylakeX", gemmKernel: "recrl-avx512", blasThreads: 2,
                blasConfig: "OpenBLAS", blasGenericCore: false, recommendedCoretype: "SkylakeX",
                openblasCoretypeEnv: "SkylakeX"), asFixture: fixture)
        // Unknown values are null, not missing.
        let nulls = try JSONOutput.encode(
            InfoOutput(
                version: "0", blasCore: "", gemmKernel: "", blasThreads: 1, blasConfig: "",
                blasGenericCore: true, recommendedCoretype: nil, openblasCoretypeEnv: nil))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(nulls.utf8)) as? [String: Any])
        XCTAssertTrue(object["recommended_coretype"] is NSNull)
        XCTAssertTrue(object["openblas_coretype_env"] is NSNull)
    }

    func testTrain() throws {
        let fixture =
            #"{"policy":"drr-ave","out":"/tmp/data-eval/model-before","seed":0,"train_seconds":4.752238750457764,"training_loop_seconds":2.5,"episodes_per_second":1.2,"parallelism":2,"precision@10":0.004872881355932205,"ndcg@10":0.009464270804645052,"episodes":3,"data_fingerprint":"3f5b157778ababf0","evaluated_on":"test"}"#
        let output = TrainOutput(
            policy: "drr-ave", out: "/tmp/m", seed: 0, trainSeconds: 1.5, trainingLoopSeconds: 1,
            episodesPerSecond: 3, parallelism: 2, precisionAt10: 0.1, ndcgAt10: 0.2,
            episodes: 3, dataFingerprint: "3f5b157778ababf0", evaluatedOn: "test")
        try assertSameShape(output, asFixture: fixture)
        XCTAssertTrue(try JSONOutput.encode(output).contains(#""out":"/tmp/m""#), "slashes are not escaped")
    }

    func testSimulate() throws {
        let fixture =
            #"{"simulation":"pmf-world-model","episodes":20,"horizon":10,"seed":0,"results":[{"policy":"als","mean_cumulative_reward":6.590700715780258,"std":1.0807941176641631,"seconds":1.4336034059524536},{"policy":"popularity","mean_cumulative_reward":0.14099752604961396,"std":1.1396062658469421,"seconds":0.01730179786682129}]}"#
        try assertSameShape(
            SimulateOutput(
                episodes: 20, horizon: 10, seed: 0,
                results: [
                    .init(policy: "als", meanCumulativeReward: 6.5, std: 1, seconds: 1.4),
                    .init(policy: "popularity", meanCumulativeReward: 0.1, std: 1.1, seconds: 0.02),
                ]), asFixture: fixture)
    }

    func testDemo() throws {
        let fixture = #"{"seed":42,"epochs":3,"final_mse":1.936415195465088,"parameters":4481,"seconds":0.2759963274002075,"blas_core":"SkylakeX"}"#
        try assertSameShape(
            DemoOutput(seed: 42, epochs: 3, finalMSE: 1.9, parameters: 4481, seconds: 0.3, blasCore: "SkylakeX"),
            asFixture: fixture)
    }

    func testExportEvents() throws {
        let fixture =
            #"{"events":"/tmp/events.sqlite","out":"/tmp/out/interactions.csv","rows":12,"impressions":3,"impressions_out":"/tmp/out/impressions.jsonl"}"#
        try assertSameShape(
            ExportEventsOutput(events: "/tmp/e.sqlite", out: "/tmp/o.csv", rows: 0, impressionsOut: "/tmp/i.jsonl", impressions: 0),
            asFixture: fixture)
    }

    /// The last line a command prints with `args`.
    func lastLine<C: ParsableCommand>(of type: C.Type, _ args: [String]) throws -> String {
        let text = try capturingStandardOutput {
            var command = try type.parseAsRoot(args)
            try command.run()
        }
        return String(text.split(separator: "\n").last ?? "")
    }

    func testCommandsPrintTheFixtureShapes() throws {
        let info = try lastLine(of: Info.self, ["--json"])
        XCTAssertEqual(
            try keys(info),
            [
                "version", "blas_core", "gemm_kernel", "blas_threads", "blas_config", "blas_generic_core",
                "recommended_coretype", "openblas_coretype_env",
            ].sorted())

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-output-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try capturingStandardOutput {
            var generate = try Generate.parseAsRoot(["--out", dir.path, "--users", "40", "--items", "50"])
            try generate.run()
        }
        let simulate = try lastLine(of: Simulate.self, ["--data", dir.path, "--policies", "als,popularity", "--episodes", "5", "--json"])
        XCTAssertEqual(
            try shape(ofJSON: simulate),
            try shape(
                ofJSON:
                    #"{"simulation":"pmf-world-model","episodes":20,"horizon":10,"seed":0,"results":[{"policy":"als","mean_cumulative_reward":6.590700715780258,"std":1.0807941176641631,"seconds":1.4336034059524536},{"policy":"popularity","mean_cumulative_reward":0.14099752604961396,"std":1.1396062658469421,"seconds":0.01730179786682129}]}"#
            ))
    }

    /// `recrl simulate --policies deeppage` on the synthetic world: DeepPage is trained
    /// against it and evaluated page by page with the other policies on the same episodes.
    func testSimulateServesDeepPagePagesOnTheSyntheticWorld() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-simulate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try capturingStandardOutput {
            var generate = try Generate.parseAsRoot(["--out", dir.path, "--users", "40", "--items", "50"])
            try generate.run()
        }
        let line = try lastLine(
            of: Simulate.self,
            [
                "--data", dir.path, "--policies", "deeppage,random", "--episodes", "4", "--horizon", "5", "--train-episodes", "3",
                "--page-rows", "1", "--page-cols", "3", "--json",
            ])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let results = try XCTUnwrap(object["results"] as? [[String: Any]])
        XCTAssertEqual(results.compactMap { $0["policy"] as? String }, ["deeppage", "random"])
        let means = results.compactMap { $0["mean_cumulative_reward"] as? Double }
        XCTAssertEqual(means.count, 2)
        // A horizon of 5 on 1 × 3 pages: each episode's reward sums 5 world rewards in [-1, 1].
        XCTAssertTrue(means.allSatisfy { $0.isFinite && abs($0) <= 5 }, "\(means)")
    }

    func keys(_ json: String) throws -> [String] {
        guard case let .object(fields) = try shape(ofJSON: json) else { return [] }
        return fields.keys.sorted()
    }

    /// The shape comparison itself tells a renamed key and a changed kind apart.
    func testShapeDetectsRenamedKeysAndKinds() throws {
        XCTAssertNotEqual(try shape(ofJSON: #"{"a":1}"#), try shape(ofJSON: #"{"b":1}"#))
        XCTAssertNotEqual(try shape(ofJSON: #"{"a":1}"#), try shape(ofJSON: #"{"a":"1"}"#))
        XCTAssertNotEqual(try shape(ofJSON: #"{"a":true}"#), try shape(ofJSON: #"{"a":1}"#))
    }
}
