import ArgumentParser
import Foundation
import RecRL

/// `recrl pipeline`: the production loop without a cluster.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run the production loop (ingest, split, tune, train, evaluate + gate, register, promote) locally.",
        subcommands: [Run.self])

    /// `recrl pipeline run --local`.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the stages of deploy/kubeflow/pipeline.py in order, each as a `recrl` process.",
            discussion: """
                The same commands and arguments as the Kubeflow pipeline's container steps: \
                ingest -> split -> [tune] -> train -> evaluate --gate -> (gate passed) models register -> \
                models promote. Each stage writes its folder under --work. When the gate fails, the \
                candidate is not registered and the command exits with status 3; the registry's \
                production version is unchanged. Serve the result with \
                `recrl serve --registry REGISTRY --stage production`.
                """)

        @Flag(help: "Run on this machine (the only mode; the cluster mode is the KFP pipeline).") var local = false
        @Option(help: ArgumentHelp("Data directory (default: the seeded synthetic world's logged data).", valueName: "DIR")) var data: String?
        @OptionGroup var formatOption: FormatOption
        @Option(help: ArgumentHelp("Folder for the stages' outputs.", valueName: "DIR")) var work: String = ".pipeline"
        @Option(help: ArgumentHelp("Model registry folder (default: WORK/registry).", valueName: "DIR")) var registry: String?
        @Option(name: .customLong("max-bad-fraction"), help: "Ingest: largest tolerated fraction of bad rows.") var maxBadFraction: Double = 0.01
        @Option(help: "Split: temporal, global-time, random or leave-last.") var split: String = "global-time"
        @OptionGroup var testFractionOption: TestFractionOption
        @OptionGroup var seedOption: SeedOption
        @Option(
            help:
                "The candidate policy: drr-n, drr-p, drr-u, drr-ave, lird or deeppage (trained and registered) or a baseline (evaluated only; a baseline candidate is never registered)."
        ) var policy: String = "drr-ave"
        @Option(help: "Training episodes.") var episodes: Int = 500
        @Option(
            name: .customLong("set"),
            help: ArgumentHelp(
                "Train: set a configuration field, as `recrl train --set` (repeatable; after the tuned values).",
                valueName: "KEY=VALUE")) var settings: [String] = []
        @Flag(help: "Tune before training (recrl tune with --space; DRR policies only).") var tune = false
        @Option(help: ArgumentHelp("Search space of the tuning.", valueName: "FILE")) var space: String = "deploy/kubeflow/tune-space.json"
        @Option(help: "Tuning: configurations drawn.") var trials: Int = 8
        @Option(help: "Tuning: episodes of a full trial.") var budget: Int = 200
        @Option(help: "Comma-separated baselines evaluated beside the candidate.") var baselines: String = "itemknn,popularity"
        @Option(help: "The release gate (see `recrl evaluate --gate`).") var gate: String = "ndcg@10 >= 1.0 * itemknn"
        @Option(help: "The stage to promote a registered candidate to.") var stage: String = "production"

        func validate() throws {
            guard local else { throw ValidationError("only --local is supported here; on a cluster, run deploy/kubeflow/pipeline.yaml") }
            _ = try parseStage(stage)
            guard episodes >= 1 else { throw ValidationError("--episodes must be positive") }
            if tune && Self.isTrained(policy) && !policy.hasPrefix("drr-") {
                throw ValidationError("--tune tunes DRR policies only (drr-n, drr-p, drr-u, drr-ave), not \(policy)")
            }
        }

        /// Whether the train stage trains `policy` (DRR, LIRD or DeepPage) and the pipeline
        /// registers it; any other policy is a baseline, evaluated only.
        static func isTrained(_ policy: String) -> Bool { policy.hasPrefix("drr-") || policy == "lird" || policy == "deeppage" }

        /// The `recrl` executable running now, which runs every stage.
        static var executable: URL {
            URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        }

        func run() throws {
            let workURL = URL(fileURLWithPath: work)
            try FileManager.default.createDirectory(at: workURL, withIntermediateDirectories: true)
            func path(_ name: String) -> String { workURL.appendingPathComponent(name).path }
            let registryPath = registry ?? path("registry")
            let seed = "\(seedOption.seed)"
            let isDRR = policy.hasPrefix("drr-"), isTrained = Self.isTrained(policy)

            var ingest = ["ingest", "--out", path("ingest"), "--max-bad-fraction", "\(maxBadFraction)", "--seed", seed]
            ingest += data.map { ["--data", $0, "--format", formatOption.format] } ?? ["--synthetic"]
            try runStage("ingest", ingest)
            try runStage(
                "split",
                [
                    "split", "--in", path("ingest"), "--out", path("split"), "--split", split,
                    "--test-fraction", "\(testFractionOption.testFraction)", "--seed", seed,
                ])
            var overrides: [String] = []
            if tune && isDRR {
                try runStage(
                    "tune",
                    [
                        "tune", "--in", path("split"), "--policy", policy, "--space", space, "--trials", "\(trials)",
                        "--budget", "\(budget)", "--out", path("tune"), "--seed", seed,
                    ])
                let text = try String(contentsOf: workURL.appendingPathComponent("tune/best-overrides.txt"), encoding: .utf8)
                overrides = text.split(separator: "\n").flatMap { ["--set", String($0)] }
            }
            if isTrained {
                try runStage(
                    "train",
                    [
                        "train", "--in", path("split"), "--policy", policy, "--episodes", "\(episodes)",
                        "--seed", seed, "--out", path("model"),
                    ] + overrides + settings.flatMap { ["--set", $0] })
            }
            var evaluate = [
                "evaluate", "--in", path("split"), "--policies", ([policy] + baselines.split(separator: ",").map(String.init)).joined(separator: ","),
                "--gate", gate, "--seed", seed, "--json",
            ]
            if isTrained { evaluate += ["--model", path("model")] }
            let status = try runStage("evaluate + gate", evaluate, stdout: path("report.json"), allowed: [ReleaseGate.failedExitCode])
            if status == ReleaseGate.failedExitCode || !isTrained {
                writeToStandardError(
                    "pipeline: the candidate \(policy) was not registered (\(status == ReleaseGate.failedExitCode ? "the gate failed" : "a baseline, not a trained model")); \(stage) is unchanged\n"
                )
                throw ExitCode(ReleaseGate.failedExitCode)
            }
            try runStage(
                "register", ["models", "register", "--registry", registryPath, "--model", path("model"), "--metrics", path("report.json")],
                stdout: path("version.txt"))
            let version =
                try String(contentsOf: workURL.appendingPathComponent("version.txt"), encoding: .utf8)
                .split(separator: "\n").last.map(String.init) ?? ""
            try runStage("promote", ["models", "promote", version, "--stage", stage, "--registry", registryPath])
            print("pipeline: \(version) is in \(stage) in \(registryPath); serve it with: recrl serve --registry \(registryPath) --stage \(stage)")
        }

        /// Runs `recrl ARGUMENTS`; throws unless it exits 0 or with an `allowed` status.
        @discardableResult
        func runStage(_ name: String, _ arguments: [String], stdout: String? = nil, allowed: Set<Int32> = []) throws -> Int32 {
            writeToStandardError("pipeline: \(name): recrl \(arguments.joined(separator: " "))\n")
            let process = Process()
            process.executableURL = Self.executable
            process.arguments = arguments
            if let stdout {
                guard FileManager.default.createFile(atPath: stdout, contents: nil) else {
                    throw StageError("pipeline stage \(name): cannot create \(stdout)")
                }
                process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
            }
            try process.run()
            process.waitUntilExit()
            let status = process.terminationStatus
            guard status == 0 || allowed.contains(status) else {
                throw StageError("pipeline stage \(name) failed with exit status \(status)")
            }
            return status
        }
    }
}
