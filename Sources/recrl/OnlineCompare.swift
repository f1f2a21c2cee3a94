import ArgumentParser
import Foundation
import RecRL
import RecRLOnlineCompare

/// `recrl online-compare`: DRR against the adaptive baselines a practitioner would deploy,
/// all learning online in the drifting synthetic world.
struct OnlineCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "online-compare",
        abstract: "Multi-arm online comparison in the drifting synthetic world: popularity, LinUCB, linear TS, refit item-kNN and iALS, DRR-ave.",
        discussion: """
            The synthetic world logs interactions under its noisy-popularity policy; every arm starts \
            from that log. Users are split evenly and at random (seeded) between the arms. Each round \
            every user has a session of up to --session-length recommendations, one at a time, never \
            an item the user has seen; the session ends early when the user leaves (the world's churn). \
            Arms: popularity (static ranking of the log), linucb and lints (per-user ridge models over \
            DRR's item embeddings, warm-started from the log, updated after every response), knn and \
            ials (refit on the log plus all online feedback every --refit-every rounds), drr-ave \
            (trained offline on the log, then OnlineDRR: each positive moves the state, --drr-updates \
            DDPG updates after every round); on request (not in the default --arms) lird and deeppage \
            (LIRD and DeepPage trained offline on the same log, then served and learning online with each \
            shown item's position; a session shows them whole lists or pages, row-major, cut at the same \
            budget of --session-length shown items, and every arm's reward counts per shown item). Reported per arm: mean reward per recommendation per round \
            (SVG), cumulative reward per user, session retention, and each arm minus DRR on cumulative \
            reward per user (Welch test and bootstrap interval). With --seeds N > 1 the whole \
            comparison (world, log, DRR training, assignment) is repeated for seeds S, S+1, ..., \
            S+N-1 (each under DIR/seed-S) and the report gives, per arm, the mean over seeds with a \
            95% t-interval of the cumulative reward per user, of the retention, and of the \
            difference to DRR (paired by seed); the SVG then shows the per-round mean over seeds.
            """)

    /// The library's defaults, which the flags keep.
    static let defaults = OnlineComparison.Configuration()

    @Option(help: "Online rounds (one session per user per round).") var rounds: Int = OnlineCompare.defaults.rounds
    @Option(help: "Users in the world.") var users: Int = OnlineCompare.defaults.users
    @Option(help: "Items in the world.") var items: Int = OnlineCompare.defaults.items
    @Option(name: .customLong("session-length"), help: "Most recommendations per session.") var sessionLength: Int = OnlineCompare.defaults.sessionLength
    @Option(help: "DRR offline training episodes.") var episodes: Int = OnlineCompare.defaults.episodes
    @Option(name: .customLong("drr-updates"), help: "DRR online DDPG updates after each round.") var drrUpdates: Int = OnlineCompare.defaults.drrUpdates
    @Option(name: .customLong("refit-every"), help: "Rounds between refits of item-kNN and iALS.") var refitEvery: Int = OnlineCompare.defaults.refitEvery
    @Option(help: "LinUCB exploration weight alpha.") var alpha: Double = OnlineCompare.defaults.alpha
    @Option(name: .customLong("ts-scale"), help: "Linear Thompson sampling posterior scale v.") var tsScale: Double = OnlineCompare.defaults.tsScale
    @Option(help: "Comma-separated arms: popularity, linucb, lints, knn, ials, drr-ave (the default), and lird, deeppage.") var arms: String = OnlineComparison
        .knownArms.joined(separator: ",")
    @Option(help: ArgumentHelp("Where to write online-compare.svg and rounds.csv.", valueName: "DIR")) var out: String = "out/online-compare"
    @Option(help: "Independent repetitions (seeds S, S+1, ...) summarised as mean and 95% interval over seeds.") var seeds: Int = 1
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var output: JSONFlag

    var armNames: [String] { arms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    /// The comparison these flags describe.
    var comparisonConfiguration: OnlineComparison.Configuration {
        var c = OnlineComparison.Configuration()
        c.rounds = rounds
        c.users = users
        c.items = items
        c.sessionLength = sessionLength
        c.episodes = episodes
        c.drrUpdates = drrUpdates
        c.refitEvery = refitEvery
        c.alpha = alpha
        c.tsScale = tsScale
        c.arms = armNames
        return c
    }

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be positive") }
        do { try comparisonConfiguration.validate() } catch let error as OnlineComparison.ConfigurationError { throw ValidationError(error.description) }
    }

    func run() throws {
        let json = output.json
        func say(_ s: String) { if json { writeToStandardError(s + "\n") } else { print(s) } }
        let comparison = try OnlineComparison(configuration: comparisonConfiguration)
        if seeds > 1 {
            let seedList = (0..<seeds).map { seedOption.seed &+ UInt64($0) }
            let result = try comparison.run(seeds: seedList, out: URL(fileURLWithPath: out), progress: say)
            if json { print(try JSONOutput.encode(result)); return }
            result.tableLines().forEach(say)
            say("wrote \(out)/online-compare.svg and \(out)/seed-*/{online-compare.svg,rounds.csv}")
            return
        }
        let result = try compare(progress: say)
        if json { print(try JSONOutput.encode(result)); return }
        result.tableLines().forEach(say)
        say("wrote \(out)/{online-compare.svg,rounds.csv} in \(String(format: "%.1f", result.seconds)) s")
    }

    /// The comparison for ``SeedOption/seed``, written under ``out``.
    func compare(progress say: (String) -> Void) throws -> OnlineCompareOutput {
        try OnlineComparison(configuration: comparisonConfiguration).run(seed: seedOption.seed, out: URL(fileURLWithPath: out), progress: say)
    }
}
