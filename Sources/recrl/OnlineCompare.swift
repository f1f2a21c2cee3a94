import ArgumentParser
import Foundation
import RecRL
import RecRLReporting

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
            DDPG updates after every round). Reported per arm: mean reward per recommendation per round \
            (SVG), cumulative reward per user, session retention, and each arm minus DRR on cumulative \
            reward per user (Welch test and bootstrap interval). With --seeds N > 1 the whole \
            comparison (world, log, DRR training, assignment) is repeated for seeds S, S+1, ..., \
            S+N-1 (each under DIR/seed-S) and the report gives, per arm, the mean over seeds with a \
            95% t-interval of the cumulative reward per user, of the retention, and of the \
            difference to DRR (paired by seed); the SVG then shows the per-round mean over seeds.
            """)

    @Option(help: "Online rounds (one session per user per round).") var rounds: Int = 30
    @Option(help: "Users in the world.") var users: Int = 300
    @Option(help: "Items in the world.") var items: Int = 500
    @Option(name: .customLong("session-length"), help: "Most recommendations per session.") var sessionLength: Int = 5
    @Option(help: "DRR offline training episodes.") var episodes: Int = 600
    @Option(name: .customLong("drr-updates"), help: "DRR online DDPG updates after each round.") var drrUpdates: Int = 100
    @Option(name: .customLong("refit-every"), help: "Rounds between refits of item-kNN and iALS.") var refitEvery: Int = 5
    @Option(help: "LinUCB exploration weight alpha.") var alpha: Double = 0.5
    @Option(name: .customLong("ts-scale"), help: "Linear Thompson sampling posterior scale v.") var tsScale: Double = 0.3
    @Option(help: "Comma-separated arms: popularity, linucb, lints, knn, ials, drr-ave.") var arms: String = "popularity,linucb,lints,knn,ials,drr-ave"
    @Option(help: ArgumentHelp("Where to write online-compare.svg and rounds.csv.", valueName: "DIR")) var out: String = "out/online-compare"
    @Option(help: "Independent repetitions (seeds S, S+1, ...) summarised as mean and 95% interval over seeds.") var seeds: Int = 1
    @OptionGroup var seedOption: SeedOption
    @OptionGroup var output: JSONFlag

    static let known = ["popularity", "linucb", "lints", "knn", "ials", "drr-ave"]
    var armNames: [String] { arms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be positive") }
        guard rounds > 0, users > 1, items > 1, sessionLength > 0, episodes > 0, drrUpdates >= 0, refitEvery > 0 else {
            throw ValidationError("--rounds, --session-length, --episodes and --refit-every must be positive, --users and --items > 1, --drr-updates ≥ 0")
        }
        guard alpha >= 0, tsScale >= 0 else { throw ValidationError("--alpha and --ts-scale must be ≥ 0") }
        let names = armNames
        guard !names.isEmpty, Set(names).count == names.count else { throw ValidationError("--arms must list distinct arms") }
        for n in names where !Self.known.contains(n) { throw ValidationError("unknown arm '\(n)' (expected one of \(Self.known.joined(separator: ", ")))") }
        guard users >= names.count * 2 else { throw ValidationError("--users must be at least 2 per arm") }
    }

    func run() throws {
        let json = output.json
        func say(_ s: String) { if json { writeToStandardError(s + "\n") } else { print(s) } }
        if seeds > 1 {
            try runSeeds(json: json, say: say)
            return
        }
        let result = try compare(seed: seedOption.seed, out: URL(fileURLWithPath: out), progress: say)
        if json {
            print(try JSONOutput.encode(result))
        } else {
            say("arm         users  mean reward  last-quarter  cum. reward/user  retention  arm − DRR (95% CI, p)")
            for r in result.arms {
                let v = r.minusDRR.map { String(format: "%+.3f [%+.3f, %+.3f] p=%.3g", $0.difference, $0.ciLow, $0.ciHigh, $0.pValue) } ?? "—"
                say(
                    r.arm.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + String(
                            format: "  %5d  %+11.4f  %+12.4f  %16.3f  %9.3f  ", r.users, r.meanReward, r.lastQuarterMeanReward,
                            r.cumulativeRewardPerUser, r.sessionRetention) + v)
            }
            say("wrote \(out)/{online-compare.svg,rounds.csv} in \(String(format: "%.1f", result.seconds)) s")
        }
    }

    /// `--seeds N`: the comparison for each seed, then the mean over seeds with 95% t-intervals.
    func runSeeds(json: Bool, say: (String) -> Void) throws {
        var runs: [OnlineCompareOutput] = []
        for s in 0..<seeds {
            let seed = seedOption.seed &+ UInt64(s)
            say("seed \(seed) (\(s + 1) of \(seeds))")
            runs.append(try compare(seed: seed, out: URL(fileURLWithPath: out).appendingPathComponent("seed-\(seed)"), progress: say))
        }
        let names = armNames
        let drrIndex = names.firstIndex(of: "drr-ave")
        let summaries = names.indices.map { a in
            OnlineCompareSeedsOutput.Arm(
                arm: names[a],
                cumulativeRewardPerUser: .init(runs.map { $0.arms[a].cumulativeRewardPerUser }),
                meanReward: .init(runs.map { $0.arms[a].meanReward }),
                sessionRetention: .init(runs.map { $0.arms[a].sessionRetention }),
                minusDRR: drrIndex.flatMap { d in
                    d == a ? nil : .init(runs.map { $0.arms[a].cumulativeRewardPerUser - $0.arms[d].cumulativeRewardPerUser })
                },
                seedsBeatingDRR: drrIndex.flatMap { d in
                    d == a ? nil : runs.filter { $0.arms[a].cumulativeRewardPerUser > $0.arms[d].cumulativeRewardPerUser }.count
                })
        }
        let meanCurves = names.indices.map { a in
            (0..<rounds).map { r in runs.reduce(0) { $0 + $1.arms[a].rewardPerRound[r] } / Double(runs.count) }
        }
        let outDir = URL(fileURLWithPath: out)
        try SVGChart.lines(
            title: "Online mean reward per recommendation, per round (mean over \(seeds) seeds)", xLabel: "round",
            yLabel: "mean reward", series: names.indices.map { .init(name: names[$0], values: meanCurves[$0]) }
        )
        .write(to: outDir.appendingPathComponent("online-compare.svg"), atomically: true, encoding: .utf8)
        let result = OnlineCompareSeedsOutput(
            seeds: runs.map(\.seed), rounds: rounds, users: users, items: items,
            arms: summaries, runs: runs)
        if json {
            print(try JSONOutput.encode(result))
            return
        }
        func interval(_ m: OnlineCompareSeedsOutput.MeanInterval, _ format: String) -> String {
            String(format: "\(format) [\(format), \(format)]", m.mean, m.low, m.high)
        }
        say("mean over \(seeds) seeds, 95% t-interval over seeds")
        say("arm         cum. reward/user            retention                arm − DRR (paired by seed)     seeds > DRR")
        for r in summaries {
            say(
                r.arm.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                    + interval(r.cumulativeRewardPerUser, "%.3f").padding(toLength: 26, withPad: " ", startingAt: 0) + "  "
                    + interval(r.sessionRetention, "%.3f").padding(toLength: 23, withPad: " ", startingAt: 0) + "  "
                    + (r.minusDRR.map { interval($0, "%+.3f") } ?? "—").padding(toLength: 29, withPad: " ", startingAt: 0) + "  "
                    + (r.seedsBeatingDRR.map { "\($0)/\(seeds)" } ?? "—"))
        }
        say("wrote \(out)/online-compare.svg and \(out)/seed-*/{online-compare.svg,rounds.csv}")
    }

    /// The comparison for ``SeedOption/seed``, written under ``out``.
    func compare(progress say: (String) -> Void) throws -> OnlineCompareOutput {
        try compare(seed: seedOption.seed, out: URL(fileURLWithPath: out), progress: say)
    }

    /// Runs the comparison for `seed`, writes the SVG and CSV under `outDir`, and returns
    /// the report; `progress` receives one line per stage and every tenth round.
    func compare(seed: UInt64, out outDir: URL, progress say: (String) -> Void) throws -> OnlineCompareOutput {
        let started = Date()
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)

        // The world and its log (the same recipe as the tutorial).
        var worldConfig = SyntheticWorld.Configuration()
        worldConfig.users = users
        worldConfig.items = items
        var world = SyntheticWorld(configuration: worldConfig, seed: seed)
        var logRNG = Xoshiro256StarStar(seed: seed &+ 1)
        let log = world.generateLog(sessionsPerUser: 10, sessionLength: 10, using: &logRNG)
        let dataDir = outDir.appendingPathComponent("data")
        try log.write(toDirectory: dataDir)
        let dataset = try DatasetLoader.load(directory: dataDir.path, format: .csv).dataset
        say("logged \(dataset.interactionCount) interactions of \(dataset.userCount) users on \(dataset.itemCount) items")

        // DRR-ave, trained offline on the whole log; its item embeddings are the bandits' features.
        var drrConfig = DRRConfiguration()
        drrConfig.episodes = episodes
        drrConfig.embeddingSize = 32
        var drr = DRRRecommender(configuration: drrConfig, seed: seed)
        try drr.fit(train: dataset)
        guard let model = drr.model else { throw ValidationError("DRR produced no model") }
        let scale = model.rewardScale
        let manifest = DRRManifest(
            policy: "drr-ave", configuration: drrConfig, seed: seed, dataFingerprint: dataset.fingerprint,
            userIDs: dataset.userMap.rawIDs, itemIDs: dataset.itemMap.rawIDs, rewardScale: scale,
            itemPopularity: dataset.itemCounts())
        let dimension = model.itemEmbeddings.shape[1]
        let features = (0..<dataset.itemCount * dimension).map { model.itemEmbeddings[flat: $0] }
        say(String(format: "trained drr-ave offline (%d episodes) in %.1f s", episodes, Date().timeIntervalSince(started)))

        // Index maps: world item/user ↔ dataset index.
        let worldItem = dataset.itemMap.rawIDs.map { Int($0.dropFirst())! }
        var datasetUser = [Int?](repeating: nil, count: users)
        for (index, raw) in dataset.userMap.rawIDs.enumerated() { datasetUser[Int(raw.dropFirst())!] = index }

        // Seeded, balanced assignment of users to arms.
        let names = armNames
        var assignRNG = Xoshiro256StarStar(seed: seed &+ 2)
        var order = Array(0..<users)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, assignRNG.nextInt(below: i + 1)) }
        var armOf = [Int](repeating: 0, count: users)
        for (position, user) in order.enumerated() { armOf[user] = position % names.count }

        var policies = try names.map { name -> OnlineArm in
            switch name {
            case "popularity": return .popularity(dataset.itemCounts().map(Float.init))
            case "linucb", "lints":
                var bandit = try LinearBandit(
                    itemFeatures: features, dimension: dimension, userCount: dataset.userCount,
                    strategy: name == "linucb" ? .ucb(alpha: alpha) : .thompson(scale: tsScale), seed: seed)
                for row in 0..<dataset.interactionCount {
                    try bandit.update(
                        user: Int(dataset.users[row]), item: Int(dataset.items[row]),
                        reward: Double(scale.reward(forRating: dataset.ratings[row])))
                }
                return .bandit(bandit)
            case "knn", "ials":
                var recommender: any Recommender = name == "knn" ? ItemKNNRecommender() : IALSRecommender(seed: seed)
                try recommender.fit(train: dataset)
                return .refit(recommender)
            default:
                return .drr(OnlineDRR(model: model, manifest: manifest, seed: seed, diagnostic: { _ in }))
            }
        }

        var seen = [Set<Int>](repeating: [], count: dataset.userCount)
        for row in 0..<dataset.interactionCount { seen[Int(dataset.users[row])].insert(Int(dataset.items[row])) }
        var grown = dataset
        var perRound = [[Double]](repeating: [], count: names.count)
        var userTotals = [Double](repeating: 0, count: users)
        var sessions = [Int](repeating: 0, count: names.count), completed = [Int](repeating: 0, count: names.count)
        var recommendations = [Int](repeating: 0, count: names.count)
        var scratch = [Float](repeating: 0, count: dataset.itemCount)
        let timestamp0 = (dataset.timestamps.max() ?? 0) + 1
        for round in 1...rounds {
            var sums = [Double](repeating: 0, count: names.count), counts = [Int](repeating: 0, count: names.count)
            for user in 0..<users {
                guard let u = datasetUser[user] else { continue }
                let a = armOf[user]
                world.startSession(user: user)
                sessions[a] += 1
                var left = false, steps = 0
                for _ in 0..<sessionLength {
                    guard let item = try policies[a].next(user: u, seen: seen[u], scratch: &scratch, itemMap: dataset.itemMap) else { break }
                    seen[u].insert(item)
                    let feedback = world.respond(user: user, item: worldItem[item])
                    let reward = scale.reward(forRating: Float(feedback.rating))
                    try policies[a].observe(user: u, item: item, reward: reward, userID: dataset.userMap.rawIDs[u], itemIDs: dataset.itemMap.rawIDs)
                    grown.users.append(Int32(u)); grown.items.append(Int32(item))
                    grown.ratings.append(Float(feedback.rating)); grown.timestamps.append(timestamp0 + Int64(round))
                    sums[a] += Double(reward); counts[a] += 1; userTotals[user] += Double(reward)
                    recommendations[a] += 1; steps += 1
                    if feedback.left { left = true; break }
                }
                if !left && steps == sessionLength { completed[a] += 1 }
            }
            for a in names.indices {
                perRound[a].append(sums[a] / Double(max(counts[a], 1)))
                try policies[a].endOfRound(round: round, refitEvery: refitEvery, grown: grown, drrUpdates: drrUpdates)
            }
            if round == 1 || round % 10 == 0 || round == rounds {
                say("round \(round): " + names.indices.map { names[$0] + String(format: " %+.3f", perRound[$0].last!) }.joined(separator: ", "))
            }
        }

        // Per-user cumulative reward, pairwise against DRR.
        var perUser = [[Double]](repeating: [], count: names.count)
        for user in 0..<users where datasetUser[user] != nil { perUser[armOf[user]].append(userTotals[user]) }
        let drrIndex = names.firstIndex(of: "drr-ave")
        var rows: [OnlineCompareOutput.Arm] = []
        for a in names.indices {
            var versus: OnlineCompareOutput.Versus? = nil
            if let d = drrIndex, d != a, let r = try? ABTest.analyze(control: perUser[d], treatment: perUser[a], seed: seed) {
                versus = .init(difference: r.difference, ciLow: r.ciLow, ciHigh: r.ciHigh, pValue: r.pValue, significant: r.significant)
            }
            let summary = ABTest.Summary(of: perUser[a])
            rows.append(
                .init(
                    arm: names[a], users: summary.count, recommendations: recommendations[a],
                    meanReward: perRound[a].reduce(0, +) / Double(rounds),
                    lastQuarterMeanReward: Self.tailMean(perRound[a]),
                    cumulativeRewardPerUser: summary.mean, cumulativeRewardStd: summary.standardDeviation,
                    sessionRetention: Double(completed[a]) / Double(max(sessions[a], 1)),
                    minusDRR: versus, rewardPerRound: perRound[a]))
        }
        var csv = "round," + names.joined(separator: ",") + "\n"
        for r in 0..<rounds { csv += "\(r + 1)," + names.indices.map { String(perRound[$0][r]) }.joined(separator: ",") + "\n" }
        try csv.write(to: outDir.appendingPathComponent("rounds.csv"), atomically: true, encoding: .utf8)
        try SVGChart.lines(
            title: "Online mean reward per recommendation, per round", xLabel: "round", yLabel: "mean reward",
            series: names.indices.map { .init(name: names[$0], values: perRound[$0]) }
        )
        .write(to: outDir.appendingPathComponent("online-compare.svg"), atomically: true, encoding: .utf8)
        return OnlineCompareOutput(
            seed: seed, rounds: rounds, users: users, items: items, sessionLength: sessionLength,
            seconds: Date().timeIntervalSince(started), arms: rows)
    }

    /// The mean of the last quarter (at least one) of `values`.
    static func tailMean(_ values: [Double]) -> Double {
        let n = max(1, values.count / 4)
        return values.suffix(n).reduce(0, +) / Double(n)
    }
}

/// One arm's policy and its online learning.
enum OnlineArm {
    case popularity([Float])
    case bandit(LinearBandit)
    case refit(any Recommender)
    case drr(OnlineDRR)

    /// The arm's next item for dataset user `u`, never one in `seen`; nil when none is left.
    mutating func next(user u: Int, seen: Set<Int>, scratch: inout [Float], itemMap: IDMap) throws -> Int? {
        switch self {
        case .popularity(let scores):
            return Self.best(scores, excluding: seen)
        case .bandit(var bandit):
            self = .popularity([])  // release the payload so the update below is in place
            defer { self = .bandit(bandit) }
            return try bandit.recommend(user: u, scratch: &scratch, excluding: { seen.contains($0) })
        case .refit(let recommender):
            recommender.scores(forUser: u, into: &scratch)
            return Self.best(scratch, excluding: seen)
        case .drr(let online):
            let exclude = Set(seen.map { itemMap.rawID(of: $0) })
            let answer = try online.recommend(user: online.manifest.userIDs[u], k: 1, exclude: exclude)
            return answer.items.first.flatMap { itemMap.index(of: $0.id) }
        }
    }

    /// Feeds the response back to the arms that learn after every response.
    mutating func observe(user u: Int, item: Int, reward: Float, userID: String, itemIDs: [String]) throws {
        switch self {
        case .bandit(var bandit):
            self = .popularity([])
            defer { self = .bandit(bandit) }
            try bandit.update(user: u, item: item, reward: Double(reward))
        case .drr(let online):
            try online.observe(user: userID, item: itemIDs[item], reward: reward)
        case .popularity, .refit:
            break
        }
    }

    /// Between rounds: the refit arms refit every `refitEvery` rounds; DRR runs its updates.
    mutating func endOfRound(round: Int, refitEvery: Int, grown: InteractionDataset, drrUpdates: Int) throws {
        switch self {
        case .refit(var recommender) where round % refitEvery == 0:
            try recommender.fit(train: grown)
            self = .refit(recommender)
        case .drr(let online):
            if drrUpdates > 0 { _ = online.learn(updates: drrUpdates) }
        default:
            break
        }
    }

    static func best(_ scores: [Float], excluding seen: Set<Int>) -> Int? {
        var best: Int? = nil
        for i in scores.indices where !seen.contains(i) {
            if let b = best { if scores[i] > scores[b] { best = i } } else { best = i }
        }
        return best
    }
}

/// `recrl online-compare --json`.
struct OnlineCompareOutput: Codable {
    struct Versus: Codable {
        var difference: Double
        var ciLow: Double
        var ciHigh: Double
        var pValue: Double
        var significant: Bool
        enum CodingKeys: String, CodingKey {
            case difference, significant, ciLow = "ci_low", ciHigh = "ci_high", pValue = "p_value"
        }
    }
    struct Arm: Codable {
        var arm: String
        var users: Int
        var recommendations: Int
        var meanReward: Double
        var lastQuarterMeanReward: Double
        var cumulativeRewardPerUser: Double
        var cumulativeRewardStd: Double
        var sessionRetention: Double
        var minusDRR: Versus?
        var rewardPerRound: [Double]
        enum CodingKeys: String, CodingKey {
            case arm, users, recommendations
            case meanReward = "mean_reward", lastQuarterMeanReward = "last_quarter_mean_reward"
            case cumulativeRewardPerUser = "cumulative_reward_per_user", cumulativeRewardStd = "cumulative_reward_std"
            case sessionRetention = "session_retention", minusDRR = "minus_drr", rewardPerRound = "reward_per_round"
        }
    }
    var seed: UInt64
    var rounds: Int
    var users: Int
    var items: Int
    var sessionLength: Int
    var seconds: Double
    var arms: [Arm]
    enum CodingKeys: String, CodingKey {
        case seed, rounds, users, items, seconds, arms, sessionLength = "session_length"
    }
}

/// `recrl online-compare --seeds N --json` (N > 1).
struct OnlineCompareSeedsOutput: Encodable {
    /// A mean over seeds with its 95% t-interval (`mean ± t·sd/√n`; the mean alone for one seed).
    struct MeanInterval: Encodable {
        var mean: Double
        var low: Double
        var high: Double

        init(_ values: [Double]) {
            let summary = ABTest.Summary(of: values)
            mean = summary.mean
            let half =
                values.count > 1
                ? Self.tQuantile975(degreesOfFreedom: Double(values.count - 1)) * summary.standardDeviation / Double(values.count).squareRoot()
                : 0
            low = mean - half
            high = mean + half
        }

        /// The 0.975 quantile of Student's t, by bisection on ``ABTest/studentTCDF(_:degreesOfFreedom:)``.
        static func tQuantile975(degreesOfFreedom df: Double) -> Double {
            var low = 0.0, high = 1000.0
            for _ in 0..<100 {
                let mid = (low + high) / 2
                if ABTest.studentTCDF(mid, degreesOfFreedom: df) < 0.975 { low = mid } else { high = mid }
            }
            return (low + high) / 2
        }
    }
    struct Arm: Encodable {
        var arm: String
        var cumulativeRewardPerUser: MeanInterval
        var meanReward: MeanInterval
        var sessionRetention: MeanInterval
        /// This arm's cumulative reward per user minus DRR's, paired by seed.
        var minusDRR: MeanInterval?
        var seedsBeatingDRR: Int?
        enum CodingKeys: String, CodingKey {
            case arm
            case cumulativeRewardPerUser = "cumulative_reward_per_user", meanReward = "mean_reward"
            case sessionRetention = "session_retention", minusDRR = "minus_drr", seedsBeatingDRR = "seeds_beating_drr"
        }
    }
    var seeds: [UInt64]
    var rounds: Int
    var users: Int
    var items: Int
    var arms: [Arm]
    var runs: [OnlineCompareOutput]
}
