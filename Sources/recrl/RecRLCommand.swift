import ArgumentParser
import Foundation
import RecRL
import RecRLBenchmarkSupport
import RecRLLaunch

/// The `recrl` tool. Asynchronous so that `recrl serve` can run its server; the other
/// subcommands are synchronous.
@main
struct RecRLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recrl",
        abstract: "Deep reinforcement learning recommenders: train, evaluate, serve.",
        version: recrlVersion,
        subcommands: [
            Info.self, Demo.self, Generate.self, Train.self, Evaluate.self, Simulate.self, Bench.self,
            Serve.self, Learn.self, ABTestCommand.self, ExportEvents.self, OffPolicyEvaluate.self,
            OffPolicyValidation.self, Ingest.self, SplitCommand.self, Tune.self, Models.self, PipelineCommand.self,
            OnlineCompare.self,
        ]
    )

    static func main() async {
        // Must run before any BLAS work: OpenBLAS picks its kernels at load time.
        Launch.relaunchWithOptimizedBLASCoreIfNeeded()
        await Self.main(nil)
    }
}

/// Prints the library version and the BLAS runtime RecRL is using.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the version and the BLAS runtime (core, threads, build).")

    @OptionGroup var output: JSONFlag

    func run() throws {
        if output.json {
            print(
                try JSONOutput.encode(
                    InfoOutput(
                        version: recrlVersion, blasCore: BLASRuntime.coreName, gemmKernel: BLASRuntime.gemmKernel,
                        blasThreads: BLASRuntime.threadCount, blasConfig: BLASRuntime.configuration,
                        blasGenericCore: BLASRuntime.isGenericCore, recommendedCoretype: BLASRuntime.recommendedCoreType,
                        openblasCoretypeEnv: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])))
        } else {
            print("RecRL \(recrlVersion)")
            print("BLAS core:    \(BLASRuntime.coreName)\(BLASRuntime.isGenericCore ? " (generic: slow kernels)" : "")")
            print("BLAS threads: \(BLASRuntime.threadCount)")
            print("BLAS build:   \(BLASRuntime.configuration)")
            print("GEMM kernel:  \(BLASRuntime.gemmKernel)")
            if let env = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
                print("OPENBLAS_CORETYPE=\(env)")
            }
        }
    }
}

/// JSON helpers for command output.
enum JSONOutput {
    /// An object with the keys in the given order, from values `JSONSerialization` accepts.
    static func object(_ fields: [(String, Any)]) throws -> String {
        let parts = try fields.map { key, value -> String in
            let data = try JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed, .withoutEscapingSlashes])
            let array = String(decoding: data, as: UTF8.self)
            return "\"\(key)\":\(array.dropFirst().dropLast())"
        }
        return "{\(parts.joined(separator: ","))}"
    }

    /// One line of compact JSON for a `Codable` result (keys sorted, `/` unescaped).
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
