import ArgumentParser
import Foundation
import RecRL

/// `recrl generate`: writes a synthetic world's logged interactions.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic logged data set (interactions.csv, items.csv) from a seeded world.",
        discussion: """
            The world (RecRLSimulation.SyntheticWorld) has drifting user tastes, boredom with \
            repeated categories and churn; it is logged by a noisy-popularity policy (ε = 0.3) \
            for 10 sessions of up to 10 interactions per user. The CSV is the generic \
            interactions format that `recrl train` and `recrl evaluate` read. The same \
            log is written as logged bandit feedback to impressions.jsonl (one-item \
            slates with the logging policy's propensity and the reward (rating - 3) / 2), \
            the input of `recrl ope`.
            """)

    @Option(help: ArgumentHelp("Output directory.", valueName: "DIR")) var out: String
    @Option(help: "Number of users.") var users: Int = 500
    @Option(help: "Number of items.") var items: Int = 1000
    @Option(help: "Seed of the world and of the logging policy.") var seed: UInt64 = 42

    func validate() throws {
        guard users > 0 else { throw ValidationError("--users must be positive, got \(users)") }
        guard items > 10 else { throw ValidationError("--items must be more than 10, got \(items)") }
    }

    func run() throws {
        var configuration = SyntheticWorld.Configuration()
        configuration.users = users
        configuration.items = items
        var world = SyntheticWorld(configuration: configuration, seed: seed)
        var rng = Xoshiro256StarStar(seed: seed &+ 1)
        let policy = LoggingPolicy.noisyPopularity(epsilon: 0.3)
        let log = world.generateLog(policy: policy, sessionsPerUser: 10, sessionLength: 10, using: &rng)
        try log.write(toDirectory: URL(fileURLWithPath: out))
        try LoggedImpression.writeJSONLines(
            Self.impressions(of: log, policy: policy),
            to: URL(fileURLWithPath: out).appendingPathComponent(LoggedImpression.fileName))
        print(
            "wrote \(log.interactions.count) interactions of \(users) users on \(items) items to \(out)/interactions.csv, items.csv and \(LoggedImpression.fileName)"
        )
    }

    /// The log as one-item impressions: request id `r<index>`, reward `(rating − 3) / 2`
    /// (the DRR reward of a 1…5 rating), the logging policy's propensity.
    static func impressions(of log: SyntheticLog, policy: LoggingPolicy) -> [LoggedImpression] {
        let name: String
        switch policy {
        case let .noisyPopularity(epsilon, personalization):
            name = "noisy-popularity(epsilon=\(epsilon),personalization=\(personalization))"
        case .random:
            name = "random"
        }
        return log.interactions.enumerated().map { index, x in
            LoggedImpression(
                requestID: "r\(index)", user: SyntheticWorld.userID(x.user), items: [SyntheticWorld.itemID(x.item)],
                propensities: [x.propensity], slatePropensity: x.propensity,
                rewards: [(Double(x.rating) - 3) / 2], loggingPolicy: name, modelVersion: "synthetic-logging",
                timestamp: Double(x.timestamp))
        }
    }
}
