import ArgumentParser
import Foundation
import RecRLEvaluation
import RecRLServer
import RecRLTensor

/// `recrl export-events`: writes the feedback in a `recrl serve` event log as the
/// interactions CSV that `recrl train --data` reads, to retrain on what the server saw.
struct ExportEvents: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-events",
        abstract: "Export a serve event log as an interactions CSV for `recrl train --data`.",
        discussion: """
            Writes `user,item,rating,timestamp` (Unix seconds), one row per feedback event in \
            arrival order, every arm included. An event sent with a rating keeps it; an event \
            sent with a reward only gets the rating that maps to that reward on the \
            --min-rating...--max-rating scale (reward = (rating - midpoint) / half-range, the \
            DRR reward of a model trained on that scale), clamped to the scale. Repeated \
            (user, item) pairs are kept; the loader keeps the latest. With --positions a fifth \
            column `position` holds the list or page position the feedback named (empty \
            without one; `recrl train` ignores it). The file is replaced \
            atomically. Impressions (slates logged by `recrl serve --serving-policy`) are \
            written beside the CSV as impressions.jsonl, one slate per line with its \
            propensities and the rewards of the feedback that referenced its request_id \
            (the input of `recrl ope`). Example: recrl export-events --events events.sqlite --out retrain/ \
            && recrl train --data retrain --out models/next
            """)

    @Option(help: ArgumentHelp("SQLite event log written by `recrl serve --events`.", valueName: "FILE"))
    var events: String

    @Option(
        help: ArgumentHelp(
            "Output: a .csv file, or a directory that receives interactions.csv (created if needed).",
            valueName: "PATH"))
    var out: String

    @Option(help: "Lowest rating of the scale (for events that carry a reward only).")
    var minRating: Float = 1

    @Option(help: "Highest rating of the scale (for events that carry a reward only).")
    var maxRating: Float = 5

    @Flag(
        help: ArgumentHelp(
            "Add a fifth column `position`: where the client showed the item (0 first; row-major on a page), empty when the feedback had none."
        ))
    var positions = false

    @OptionGroup var output: JSONFlag
    var json: Bool { output.json }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func validate() throws {
        guard minRating.isFinite, maxRating.isFinite, minRating < maxRating else {
            throw ValidationError("--min-rating must be below --max-rating, got \(minRating) and \(maxRating)")
        }
    }

    /// The CSV file to write: `out` itself when it ends in `.csv`, else `out/interactions.csv`.
    var outputFile: URL {
        let url = URL(fileURLWithPath: out)
        return url.pathExtension.lowercased() == "csv" ? url : url.appendingPathComponent("interactions.csv")
    }

    /// The rating whose DRR reward on `minimum...maximum` is `reward`, clamped to the scale.
    static func rating(forReward reward: Float, minimum: Float, maximum: Float) -> Float {
        let mid = (minimum + maximum) / 2, half = (maximum - minimum) / 2
        return min(maximum, max(minimum, mid + half * reward))
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: events, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw Failure(description: "no event log at '\(events)'")
        }
        let file = outputFile
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let log = try EventLog(path: events)
        let minimum = minRating, maximum = maxRating
        let count = try log.exportInteractionsCSV(
            to: file, ratingFromReward: { Self.rating(forReward: $0, minimum: minimum, maximum: maximum) },
            includePositions: positions)
        let impressions = try log.loggedImpressions()
        var impressionsFile: URL?
        if !impressions.isEmpty {
            let url = file.deletingLastPathComponent().appendingPathComponent(LoggedImpression.fileName)
            try LoggedImpression.writeJSONLines(impressions, to: url)
            impressionsFile = url
        }
        if json {
            print(
                try JSONOutput.encode(
                    ExportEventsOutput(
                        events: events, out: file.path, rows: count,
                        impressionsOut: impressionsFile?.path, impressions: impressions.count)))
        } else {
            print("exported \(count) event\(count == 1 ? "" : "s") from \(events) to \(file.path)")
            if let impressionsFile { print("exported \(impressions.count) impressions to \(impressionsFile.path)") }
            if count == 0 { writeToStandardError("warning: the event log is empty; the CSV has a header only and cannot be trained on\n") }
        }
    }
}
