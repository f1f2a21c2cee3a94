import ArgumentParser
import Foundation
import RecRL

/// `--registry DIR` of the `recrl models` subcommands.
struct RegistryOption: ParsableArguments {
    @Option(help: ArgumentHelp("Model registry folder (a local path or a mounted volume).", valueName: "DIR"))
    var registry: String

    var value: ModelRegistry { ModelRegistry(directory: URL(fileURLWithPath: registry)) }
}

/// The stage named by `--stage` (`staging` or `production`).
func parseStage(_ name: String) throws -> ModelRegistry.Stage {
    guard let stage = ModelRegistry.Stage(rawValue: name) else {
        throw ValidationError("unknown stage '\(name)' (expected \(ModelRegistry.Stage.allCases.map(\.rawValue).joined(separator: " or ")))")
    }
    return stage
}

/// `recrl models`: the model registry (see `ModelRegistry`).
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage a model registry: register, list, show, promote, rollback, gc.",
        discussion: """
            A registry is a folder of immutable versions (weights + manifest with metrics and lineage) \
            of any policy (DRR, LIRD, DeepPage) and the stage pointers staging and production, moved \
            atomically. `recrl serve --registry DIR --stage production` serves the production version \
            and follows the pointer.
            """,
        subcommands: [Register.self, List.self, Show.self, Promote.self, Rollback.self, GC.self])

    /// `recrl models register`: adds a trained model folder as a new version; prints the version last.
    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a model folder written by `recrl train` (DRR, LIRD or DeepPage) as a new version (printed on the last line).")
        @OptionGroup var registry: RegistryOption
        @Option(help: ArgumentHelp("Model folder written by `recrl train`.", valueName: "DIR")) var model: String
        @Option(help: ArgumentHelp("A `recrl evaluate --json` report: the model's policy's metrics are stored with the version.", valueName: "FILE"))
        var metrics: String?

        func run() throws {
            var values: [String: Double] = [:]
            // Any kind of model folder (DRR, LIRD, DeepPage); register(modelFolder:) verifies it.
            let policy = try DRRModelStore.policy(of: URL(fileURLWithPath: model))
            if let metrics {
                let report: EvaluationReport
                do { report = try JSONDecoder().decode(EvaluationReport.self, from: Data(contentsOf: URL(fileURLWithPath: metrics))) } catch {
                    throw StageError("--metrics \(metrics) is not a `recrl evaluate --json` report: \(error.localizedDescription)")
                }
                guard let result = report.results.first(where: { $0.policy == policy }) else {
                    throw StageError("--metrics \(metrics) has no result for policy \(policy)")
                }
                for (name, value) in result.metrics { values["eval.\(name)"] = value }
            }
            let entry = try registry.value.register(modelFolder: URL(fileURLWithPath: model), metrics: values)
            print(entry.version)
        }
    }

    /// `recrl models list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the versions, newest first, with their stages and NDCG@10.")
        @OptionGroup var registry: RegistryOption
        @OptionGroup var output: JSONFlag

        func run() throws {
            let reg = registry.value
            let entries = try reg.versions().reversed().map { try reg.entry($0) }
            if output.json {
                let rows: [Any] = entries.map { e in
                    [
                        "version": e.version, "policy": e.manifest.policy, "stages": e.stages.map(\.rawValue),
                        "created_at": e.manifest.createdAt, "metrics": e.manifest.metrics,
                        "parent_version": e.manifest.lineage?.parentVersion as Any? ?? NSNull(),
                    ] as [String: Any]
                }
                print(try JSONOutput.object([("registry", registry.registry), ("versions", rows)]))
                return
            }
            if entries.isEmpty { print("no versions in \(registry.registry)"); return }
            for e in entries {
                let ndcg = (e.manifest.metrics["eval.ndcg@10"] ?? e.manifest.metrics["ndcg@10"]).map { String(format: "%.4f", $0) } ?? "-"
                let stages = e.stages.isEmpty ? "" : " [\(e.stages.map(\.rawValue).joined(separator: ", "))]"
                print("\(e.version)  \(e.manifest.policy)  ndcg@10 \(ndcg)  \(e.manifest.createdAt)\(stages)")
            }
        }
    }

    /// `recrl models show VERSION|STAGE`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a version's manifest (JSON); the argument may also be a stage name.")
        @OptionGroup var registry: RegistryOption
        @Argument(help: "A version (e.g. v000003) or a stage (staging, production).") var version: String

        func run() throws {
            let reg = registry.value
            let resolved =
                try ModelRegistry.Stage(rawValue: version).map { stage in
                    guard let v = reg.version(at: stage) else { throw StageError("no version has been promoted to \(stage.rawValue)") }
                    return v
                } ?? version
            let entry = try reg.entry(resolved)
            print(String(decoding: try Data(contentsOf: entry.directory.appendingPathComponent(DRRModelStore.manifestFile)), as: UTF8.self))
        }
    }

    /// `recrl models promote VERSION --stage S`.
    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point a stage at a version (atomically).")
        @OptionGroup var registry: RegistryOption
        @Argument(help: "The version, e.g. v000003.") var version: String
        @Option(help: "staging or production.") var stage: String = "production"

        func run() throws {
            try registry.value.promote(version, to: try parseStage(stage))
            print("\(stage) -> \(version)")
        }
    }

    /// `recrl models rollback --stage S`.
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point a stage back at the version promoted to it before the current one.")
        @OptionGroup var registry: RegistryOption
        @Option(help: "staging or production.") var stage: String = "production"

        func run() throws {
            let version = try registry.value.rollback(try parseStage(stage))
            print("\(stage) -> \(version)")
        }
    }

    /// `recrl models gc --keep N`.
    struct GC: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove all but the newest N versions (never a staged or the latest one).")
        @OptionGroup var registry: RegistryOption
        @Option(help: "Versions to keep.") var keep: Int = 5

        func validate() throws {
            guard keep >= 1 else { throw ValidationError("--keep must be at least 1, got \(keep)") }
        }

        func run() throws {
            let removed = try registry.value.garbageCollect(keep: keep)
            print(removed.isEmpty ? "nothing removed" : "removed \(removed.joined(separator: ", "))")
        }
    }
}
