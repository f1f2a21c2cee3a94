import ArgumentParser
import Foundation
import RecRLServer
import RecRLSimulation

/// `recrl abtest`: analyses the A/B test recorded in the event log of `recrl serve`
/// (run with `--treatment-model`): per-arm statistics, Welch's t-test and a bootstrap
/// interval for the difference of the treatment and control means.
struct ABTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abtest",
        abstract: "Compare the control and treatment arms recorded in a serve event log.",
        discussion: """
            Each user counts once (the mean of the metric over the user's events) unless
            --unit event is given. Events logged in single-engine mode are ignored.
            """)

    @Option(help: "SQLite event log written by `recrl serve --events`.")
    var events: String

    @Option(help: "Metric to compare: reward, rating (events with a rating only) or positive (reward > 0).")
    var metric: String = ABMetric.reward.rawValue

    @Option(help: "Unit of analysis: user or event.")
    var unit: String = ABUnit.user.rawValue

    @Option(help: "Significance level; the bootstrap interval has confidence 1 - alpha.")
    var alpha: Double = 0.05

    @Option(help: "Bootstrap resamples.")
    var resamples: Int = 2000

    @Option(help: "Seed of the bootstrap (reports are reproducible).")
    var seed: UInt64 = 0

    @OptionGroup var output: JSONFlag
    var json: Bool { output.json }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func validate() throws {
        guard ABMetric(rawValue: metric) != nil else {
            throw ValidationError("--metric must be one of \(ABMetric.allCases.map(\.rawValue).joined(separator: ", ")); got '\(metric)'")
        }
        guard ABUnit(rawValue: unit) != nil else {
            throw ValidationError("--unit must be one of \(ABUnit.allCases.map(\.rawValue).joined(separator: ", ")); got '\(unit)'")
        }
        guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1), got \(alpha)") }
        guard resamples > 0 else { throw ValidationError("--resamples must be positive, got \(resamples)") }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: events) else {
            throw Failure(description: "no event log at '\(events)'")
        }
        let metric = ABMetric(rawValue: metric)!, unit = ABUnit(rawValue: unit)!
        let log = try EventLog(path: events)
        let report: ABTestReport
        do {
            report = try log.abTestReport(metric: metric, unit: unit, alpha: alpha, resamples: resamples, seed: seed)
        } catch let error as ABTestError {
            throw Failure(description: "\(error) (was the server run with --treatment-model?)")
        }
        if json {
            print(try ABTestSummary.json(report, metric: metric, unit: unit, alpha: alpha))
        } else {
            print(ABTestSummary.text(report, metric: metric, unit: unit, alpha: alpha, eventLog: events))
        }
    }
}
