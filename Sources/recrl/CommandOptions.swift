import ArgumentParser
import RecRL

// Option groups shared by several subcommands (`@OptionGroup`), so a flag has one name,
// one default and one help text everywhere it appears. Validation messages stay with the
// commands, which word them for their own context.

/// `--format`: the data set format of `--data`.
struct FormatOption: ParsableArguments {
    @Option(help: "Data format: auto, ml-100k, ml-1m, ml-latest or csv.")
    var format: String = "auto"

    /// The format named by `--format` (case-insensitive), or `nil` if it is unknown.
    var parsed: DatasetFormat? { DatasetFormat(rawValue: format.lowercased()) }
}

/// `--test-fraction`: the held-out fraction of a split.
struct TestFractionOption: ParsableArguments {
    @Option(name: .customLong("test-fraction"), help: "Fraction of interactions held out, in (0, 1).")
    var testFraction: Double = 0.2
}

/// `--seed` of the commands that split data and train models (default 0).
struct SeedOption: ParsableArguments {
    @Option(help: "Seed for the split, the models and exploration.")
    var seed: UInt64 = 0
}

/// `--json`: machine-readable output.
struct JSONFlag: ParsableArguments {
    @Flag(help: "Print exactly one JSON object on stdout.")
    var json = false
}
