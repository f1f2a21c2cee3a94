import ArgumentParser
import Foundation
import RecRL
#if canImport(Glibc)
    import Glibc
#endif

/// The logged data of the seeded synthetic world (`recrl generate`'s world with its default
/// size), loaded through the generic CSV reader like any other data set.
func syntheticDataset(seed: UInt64) throws -> LoadedDataset {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-synthetic-\(seed)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    var world = SyntheticWorld(seed: seed)
    var rng = Xoshiro256StarStar(seed: seed &+ 1)
    let log = world.generateLog(using: &rng)
    try log.write(toDirectory: dir)
    return try DatasetLoader.load(directory: dir.path, format: .csv)
}

/// `recrl ingest`: the first pipeline stage. Loads and validates raw data and writes it
/// normalised, with the validation report.
struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and validate a data set; write normalised interactions and the validation report.",
        discussion: """
            Writes OUT/interactions.csv (the generic interactions CSV: user,item,rating,timestamp, \
            one row per user-item pair), OUT/validation.json (rows read, kept, dropped by reason, \
            examples) and OUT/manifest.json. Fails (exit status 1, one error line) when more than \
            --max-bad-fraction of the rows are bad, instead of silently dropping them; the report \
            is still written. Duplicate user-item rows are resolved (latest wins), not counted as bad.
            """)

    @Option(help: ArgumentHelp("Data directory (MovieLens or interactions CSV).", valueName: "DIR")) var data: String?
    @Flag(help: "Ingest the seeded synthetic world's logged data instead of --data (no download needed).") var synthetic = false
    @OptionGroup var formatOption: FormatOption
    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out: String
    @Option(name: .customLong("max-bad-fraction"), help: "Largest tolerated fraction of bad rows, in [0, 1].") var maxBadFraction: Double = 0.01
    @OptionGroup var seedOption: SeedOption

    func validate() throws {
        guard synthetic != (data != nil) else { throw ValidationError("give exactly one of --data DIR or --synthetic") }
        if let data, !FileManager.default.fileExists(atPath: data) { throw ValidationError("--data \(data) does not exist") }
        guard formatOption.parsed != nil else { throw ValidationError("unknown format '\(formatOption.format)'") }
        guard maxBadFraction >= 0 && maxBadFraction <= 1 else {
            throw ValidationError("--max-bad-fraction must be in [0, 1], got \(maxBadFraction)")
        }
    }

    func run() throws {
        var manifest = StageManifest(
            stage: "ingest",
            parameters: [
                "data": data ?? "synthetic(seed \(seedOption.seed))", "format": formatOption.format,
                "max_bad_fraction": "\(maxBadFraction)",
            ])
        let loaded =
            synthetic
            ? try syntheticDataset(seed: seedOption.seed)
            : try DatasetLoader.load(directory: data!, format: formatOption.parsed!)
        let report = loaded.report, dataset = loaded.dataset
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: outURL.appendingPathComponent("validation.json"), options: .atomic)
        let bad = report.droppedTotal
        let badFraction = report.rowsRead > 0 ? Double(bad) / Double(report.rowsRead) : 0
        if badFraction > maxBadFraction {
            throw StageError(
                "\(bad) of \(report.rowsRead) rows are bad (\(String(format: "%.2f", badFraction * 100))%), more than --max-bad-fraction \(maxBadFraction); see \(out)/validation.json"
            )
        }
        try dataset.writeCSV(to: outURL.appendingPathComponent(SplitFiles.interactionsFile))
        manifest.inputs.append(.init(path: data ?? "synthetic", fingerprint: dataset.fingerprint))
        manifest.parameters["format_detected"] = loaded.format.rawValue
        manifest.parameters["rating_scale"] = "\(dataset.ratingScale.lowerBound)...\(dataset.ratingScale.upperBound)"
        manifest.metrics = [
            "rows_read": Double(report.rowsRead), "rows_kept": Double(report.rowsKept),
            "rows_bad": Double(bad), "bad_fraction": badFraction,
            "duplicates_resolved": Double(report.duplicatesResolved),
            "users": Double(dataset.userCount), "items": Double(dataset.itemCount),
        ]
        try manifest.addOutputs([SplitFiles.interactionsFile, "validation.json"], in: outURL)
        try manifest.write(to: outURL)
        print("ingested \(report.rowsKept) interactions (\(dataset.userCount) users, \(dataset.itemCount) items; \(bad) bad rows dropped) into \(out)")
    }
}

/// `recrl split`: writes a train/test split as files (``SplitFiles``) so that every later
/// stage sees the same one.
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split ingested interactions into training and test sets, written as files.",
        discussion: """
            Reads IN (a `recrl ingest` output, or any data folder) and writes OUT/interactions.csv \
            (training rows, then test rows), OUT/split.json and OUT/manifest.json; `recrl train --in OUT`, \
            `recrl evaluate --in OUT` and `recrl tune --in OUT` read it. Splits: temporal (each user's \
            latest fraction), global-time (one cut-off time for all users: nothing from the future in \
            training), random, leave-last (each user's last interaction).
            """)

    @Option(name: .customLong("in"), help: ArgumentHelp("Input folder (a `recrl ingest` output).", valueName: "DIR")) var input: String
    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out: String
    @Option(help: "Split: temporal, global-time, random or leave-last.") var split: String = "global-time"
    @OptionGroup var testFractionOption: TestFractionOption
    @OptionGroup var seedOption: SeedOption

    var strategy: SplitStrategy? { SplitStrategy(name: split, testFraction: testFractionOption.testFraction) }

    func validate() throws {
        guard FileManager.default.fileExists(atPath: input) else { throw ValidationError("--in \(input) does not exist") }
        guard strategy != nil else { throw ValidationError("unknown split '\(split)' (expected \(SplitStrategy.names.joined(separator: ", ")))") }
        let f = testFractionOption.testFraction
        guard f > 0 && f < 1 else { throw ValidationError("--test-fraction must be in (0, 1), got \(f)") }
    }

    func run() throws {
        var manifest = StageManifest(
            stage: "split",
            parameters: [
                "split": split, "test_fraction": "\(testFractionOption.testFraction)", "seed": "\(seedOption.seed)",
            ])
        let inURL = URL(fileURLWithPath: input)
        let scale = ingestedRatingScale(of: inURL)
        let dataset = try DatasetLoader.load(
            directory: input, format: .auto,
            options: LoadOptions(ratingScale: scale)
        ).dataset
        var rng = SplitMix64(seed: seedOption.seed)
        let parts = DatasetTransforms.split(dataset, strategy: strategy!, using: &rng)
        guard parts.train.interactionCount > 0, parts.test.interactionCount > 0 else {
            throw StageError(
                "the \(split) split of \(dataset.interactionCount) interactions leaves \(parts.train.interactionCount) for training and \(parts.test.interactionCount) for test; both must be non-empty"
            )
        }
        let outURL = URL(fileURLWithPath: out)
        let description = try SplitFiles.write(parts, to: outURL)
        manifest.addInput(stageFolder: inURL)
        manifest.metrics = ["train_rows": Double(description.trainRows), "test_rows": Double(description.testRows)]
        if case .globalTime = strategy!, let last = parts.train.timestamps.max() {
            manifest.metrics["cutoff_timestamp"] = Double(last)
        }
        try manifest.addOutputs([SplitFiles.interactionsFile, SplitFiles.descriptionFile], in: outURL)
        try manifest.write(to: outURL)
        print("split \(dataset.interactionCount) interactions (\(split)): \(description.trainRows) training, \(description.testRows) test, into \(out)")
    }
}

/// The rating scale an ingest folder's manifest records (`rating_scale` = `LO...HI`), so that
/// later stages keep the source's declared scale rather than the range the ratings happen to
/// span; `nil` for other folders.
func ingestedRatingScale(of folder: URL) -> ClosedRange<Float>? {
    guard let data = try? Data(contentsOf: folder.appendingPathComponent(StageManifest.fileName)),
        let manifest = try? JSONDecoder().decode(StageManifest.self, from: data),
        let text = manifest.parameters["rating_scale"]
    else { return nil }
    let parts = text.components(separatedBy: "...")
    guard parts.count == 2, let lo = Float(parts[0]), let hi = Float(parts[1]), lo <= hi else { return nil }
    return lo...hi
}
