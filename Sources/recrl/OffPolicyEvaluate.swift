import ArgumentParser
import Foundation
import RecRLEvaluation
import RecRLServer
import RecRLTensor

/// `recrl ope`: estimates a candidate model's value on logged impressions, before it
/// meets users.
struct OffPolicyEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ope",
        abstract: "Estimate a candidate model's value off-policy from logged impressions (IPS, DR, slate estimators).",
        discussion: """
            --events is a `recrl serve --serving-policy` event log (SQLite), an \
            impressions.jsonl file, or a directory holding one (written by \
            `recrl export-events` or `recrl generate`). The candidate is the model in \
            --model served with --policy: its probability of each logged slate item at \
            its position comes from its ranking for the impression's user (the model's \
            state after training; the log's feedback is not replayed into it). The \
            value is the expected reward of a slate, summed over positions. The reward \
            model of dm/dr is a position mean plus a shrunk item effect fitted on the log. \
            Each estimate has a seeded bootstrap interval, the effective sample size of \
            its importance weights, and warnings when the log cannot support it (e.g. a \
            deterministic logging policy). Impressions with an empty slate (nothing was \
            left to show) cannot be weighted: they are skipped with a warning and counted \
            in skipped_impressions. Example: recrl ope --events events.sqlite \
            --model models/next --estimator all
            """)

    @Option(
        help: ArgumentHelp(
            "Logged impressions: an event log (SQLite), an impressions.jsonl file or a directory with one.",
            valueName: "DB|DIR"))
    var events: String

    @Option(help: ArgumentHelp("The candidate model directory (written by `recrl train`).", valueName: "DIR"))
    var model: String

    @Option(help: "Estimator: dm, ips, snips, dr, dr-clip, switch-dr, slate-ips, pi, or all.")
    var estimator: String = "dr"

    @Option(
        help: ArgumentHelp(
            "How the candidate would serve: epsilon-greedy:EPSILON:POOL, softmax:TEMPERATURE:POOL or deterministic.",
            valueName: "POLICY"))
    var policy: String = "deterministic"

    @Option(help: "Largest importance weight of dr-clip, and the threshold of switch-dr.")
    var clip: Double = 10

    @Option(help: "Bootstrap resamples for the confidence interval.")
    var bootstrap: Int = 200

    @Option(help: "Seed of the bootstrap.")
    var seed: UInt64 = 0

    @Option(
        help: ArgumentHelp(
            "Also write the evaluated rounds (propensities, rewards, reward-model predictions) as JSON lines, for cross-checks.",
            valueName: "FILE"))
    var exportRounds: String?

    @OptionGroup var output: JSONFlag
    var json: Bool { output.json }

    struct Failure: Error, CustomStringConvertible { var description: String }

    func validate() throws {
        guard bootstrap >= 0 && bootstrap <= 100_000 else { throw ValidationError("--bootstrap must be in 0...100000, got \(bootstrap)") }
        guard clip > 0 && clip.isFinite else { throw ValidationError("--clip must be positive, got \(clip)") }
        do { _ = try ServingPolicy(parsing: policy) } catch { throw ValidationError("--policy: \(error)") }
        if estimator != "all" {
            do { _ = try OffPolicyEstimator(name: estimator) } catch { throw ValidationError("--estimator: \(error)") }
        }
    }

    /// The impressions at `path`: an impressions.jsonl file, a directory holding one, or an event log.
    static func loadImpressions(_ path: String) throws -> [LoggedImpression] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Failure(description: "no event log or impressions at '\(path)'")
        }
        let url = URL(fileURLWithPath: path)
        if isDirectory.boolValue {
            let file = url.appendingPathComponent(LoggedImpression.fileName)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw Failure(description: "'\(path)' holds no \(LoggedImpression.fileName) (write one with `recrl export-events` or `recrl generate`)")
            }
            return try LoggedImpression.readJSONLines(from: file)
        }
        if url.pathExtension == "jsonl" { return try LoggedImpression.readJSONLines(from: url) }
        return try EventLog(path: path).loggedImpressions()
    }

    /// The estimates the options ask for, and the evaluated rounds.
    func evaluate() throws -> (output: OPEOutput, rounds: [OffPolicyRound]) {
        let logged = try Self.loadImpressions(events)
        guard !logged.isEmpty else {
            throw Failure(description: "'\(events)' holds no impressions: serve with --serving-policy (and send request_id with feedback) to log them")
        }
        // A server logs an empty slate when the ranking has nothing left to show (the user
        // has seen or excluded every item): it has no position to weight, so it is skipped.
        for x in logged {
            do { try x.validate() } catch { throw Failure(description: "'\(events)': \(error)") }
        }
        let impressions = logged.filter { !$0.items.isEmpty }
        guard !impressions.isEmpty else {
            throw Failure(description: "every one of the \(logged.count) impressions in '\(events)' has an empty slate: nothing to evaluate")
        }
        let candidate = try ServingPolicy(parsing: policy)
        let engine = try makeEngine(modelDirectory: URL(fileURLWithPath: model))
        let longest = impressions.map(\.items.count).max() ?? 1
        let depth = max(1, min(candidate.rankingDepth(k: longest), engine.itemCount, 1000))
        var rankings: [String: (items: [String], distribution: SlateDistribution)] = [:]
        let rewardModel = PositionItemRewardModel(impressions: impressions)
        var rounds: [OffPolicyRound] = []
        rounds.reserveCapacity(impressions.count)
        for x in impressions {
            let ranking: (items: [String], distribution: SlateDistribution)
            if let cached = rankings[x.user] {
                ranking = cached
            } else {
                let scored = try engine.recommend(user: x.user, k: depth, exclude: []).items
                ranking = (scored.map(\.item), try SlateDistribution(policy: candidate, scores: scored.map { Double($0.score) }, k: longest))
                rankings[x.user] = ranking
            }
            rounds.append(
                OffPolicyRound(
                    impression: x, ranking: ranking.items, distribution: ranking.distribution,
                    rewardModel: rewardModel))
        }
        let estimators =
            estimator == "all"
            ? try OffPolicyEstimator.all.map { try OffPolicyEstimator(name: $0.name, parameter: clip) }
            : [try OffPolicyEstimator(name: estimator, parameter: clip)]
        let evaluator = OffPolicyEvaluator(bootstrapSamples: bootstrap, seed: seed)
        let estimates = try estimators.map { try evaluator.estimate($0, rounds: rounds) }
        let logging = Set(impressions.map(\.loggingPolicy)).sorted()
        let loggedValue = impressions.reduce(0.0) { $0 + $1.rewards.reduce(0, +) } / Double(impressions.count)
        return (
            OPEOutput(
                events: events, model: model, policy: candidate.description, loggingPolicies: logging,
                impressions: logged.count, skippedImpressions: logged.count - impressions.count,
                loggedValue: loggedValue, estimates: estimates), rounds
        )
    }

    func run() throws {
        let (result, rounds) = try evaluate()
        if let exportRounds {
            try Self.writeRounds(rounds, to: URL(fileURLWithPath: exportRounds))
        }
        if result.skippedImpressions > 0 {
            writeToStandardError(
                "warning: skipped \(result.skippedImpressions) of \(result.impressions) impressions with an empty slate "
                    + "(nothing was left to show); the estimates and the logged value rest on the other \(result.impressions - result.skippedImpressions)\n")
        }
        if json {
            print(try JSONOutput.encode(result))
            return
        }
        let estimates = result.estimates
        print(
            "\(result.impressions) impressions logged by \(result.loggingPolicies.joined(separator: ", ")); "
                + "logged value \(fmt(result.loggedValue))")
        print("candidate \(model) served \(result.policy)")
        print("estimator   value     \(Int((estimates.first?.confidence ?? 0.95) * 100))% interval          ESS")
        for e in estimates {
            let name = e.estimator.padding(toLength: 10, withPad: " ", startingAt: 0)
            print("\(name)  \(fmt(e.value))  [\(fmt(e.lower)), \(fmt(e.upper))]  \(fmt(e.effectiveSampleSize))")
        }
        for e in estimates { for w in e.warnings { writeToStandardError("warning (\(e.estimator)): \(w)\n") } }
    }

    private func fmt(_ x: Double) -> String { String(format: "%.4f", x) }

    /// One JSON object per round with the ``OffPolicyRound`` fields in snake_case.
    static func writeRounds(_ rounds: [OffPolicyRound], to url: URL) throws {
        struct Line: Encodable {
            var logging_propensities: [Double], target_propensities: [Double]
            var logging_slate_propensity: Double, target_slate_propensity: Double
            var rewards: [Double], predicted_rewards: [Double], target_predicted_rewards: [Double]
        }
        let encoder = JSONEncoder()
        var data = Data()
        for r in rounds {
            data.append(
                try encoder.encode(
                    Line(
                        logging_propensities: r.loggingPropensities, target_propensities: r.targetPropensities,
                        logging_slate_propensity: r.loggingSlatePropensity, target_slate_propensity: r.targetSlatePropensity,
                        rewards: r.rewards, predicted_rewards: r.predictedRewards, target_predicted_rewards: r.targetPredictedRewards)))
            data.append(UInt8(ascii: "\n"))
        }
        try data.write(to: url, options: .atomic)
    }
}

/// `recrl ope --json`.
struct OPEOutput: Encodable {
    var events: String
    var model: String
    var policy: String
    var loggingPolicies: [String]
    /// Impressions in the log, evaluated or skipped.
    var impressions: Int
    /// Impressions with an empty slate, which no estimator can weight: left out of the
    /// estimates and of ``loggedValue``.
    var skippedImpressions: Int
    /// Mean slate reward the logging policy earned on the evaluated impressions.
    var loggedValue: Double
    var estimates: [OffPolicyEstimate]
    enum CodingKeys: String, CodingKey {
        case events, model, policy, impressions, estimates
        case loggingPolicies = "logging_policies", skippedImpressions = "skipped_impressions", loggedValue = "logged_value"
    }
}
