import Foundation
import RecRL
import RecRLReporting

/// DRR-ave against the adaptive baselines a practitioner would deploy, all learning online
/// from the same feedback stream in the drifting synthetic world (`SyntheticWorld`).
///
/// The world logs interactions under its noisy-popularity policy (the recipe of the
/// `OfflineToOnline` tutorial: 10 sessions of 10 items per user); every arm starts from that
/// log. Users are split evenly and at random (seeded) between the arms. Each round every
/// user has a session of up to ``Configuration/sessionLength`` recommendations, one at a
/// time, never an item the user has seen; the session ends early when the user leaves (the
/// world's churn). Arms:
/// - `popularity`: the static ranking of the log;
/// - `linucb`, `lints`: per-user ridge models over DRR's item embeddings (`LinearBandit`),
///   warm-started from the log, updated after every response;
/// - `knn`, `ials`: item-kNN and implicit ALS refit on the log plus all online feedback
///   every ``Configuration/refitEvery`` rounds;
/// - `drr-ave`: trained offline on the log, then `OnlineDRR`: each positive moves the
///   user's state, ``Configuration/drrUpdates`` DDPG updates after every round;
/// - `lird` (list-wise, ``listArms``, not in the default arms): LIRD trained offline on the
///   same log (``LIRDConfiguration``'s defaults, DRR-ave's episodes and embedding width),
///   then `OnlineDRR` serving its `K`-list; `deeppage` (page-wise): DeepPage trained offline
///   on the same log (``DeepPageConfiguration``'s defaults, DRR-ave's episodes and embedding width), then
///   `OnlineDeepPage` serving its `h × w` page read row-major as a slate, each known user's
///   first page from their logged history. Both learn online as the server does: every
///   shown item's reward is observed with its position in the list or page, a list or page
///   becomes one transition, and ``Configuration/drrUpdates`` DDPG updates run after every
///   round.
///
/// How a round is counted, for every arm alike: a session shows at most
/// ``Configuration/sessionLength`` items, each answered by the world one at a time
/// (`SyntheticWorld/respond(user:item:)`, so every shown item is examined and the churn
/// rule is the same); an item arm shows one item per request, a list or page arm its whole
/// slate (position 0 first) per request, requesting a new slate when the previous one is
/// exhausted and the session budget is not. A slate is cut where the budget ends or the
/// user leaves: its remaining items are not shown, get no feedback and do not count. The
/// reward of a round is the mean reward per shown item, and a user's cumulative reward is
/// the sum over every item shown to them, so every arm is measured per shown item with
/// the same budget; what differs is that a list or page arm chooses its slate from one
/// state, without the feedback on the slate's earlier items.
///
/// A run is a function of its configuration and seed (the same seed gives the same report).
public struct OnlineComparison: Sendable {
    /// The default arms, in the order they are reported by default.
    public static let knownArms = ["popularity", "linucb", "lints", "knn", "ials", "drr-ave"]
    /// The list-wise and page-wise arms, which ``Configuration/arms`` may name besides
    /// ``knownArms`` (each trains its own model offline, so they are not run by default).
    public static let listArms = ["lird", "deeppage"]
    /// Every arm a configuration may name.
    public static var allArms: [String] { knownArms + listArms }

    /// The world, the horizon and the arms' learning. The defaults are `recrl online-compare`'s.
    public struct Configuration: Sendable, Hashable {
        /// Online rounds (one session per user per round).
        public var rounds = 30
        /// Users in the world.
        public var users = 300
        /// Items in the world.
        public var items = 500
        /// Most recommendations per session.
        public var sessionLength = 5
        /// DRR-ave's (and LIRD's and DeepPage's) offline training episodes.
        public var episodes = 600
        /// DRR's (and LIRD's and DeepPage's) online DDPG updates after each round.
        public var drrUpdates = 100
        /// Rounds between refits of item-kNN and iALS.
        public var refitEvery = 5
        /// LinUCB's exploration weight.
        public var alpha = 0.5
        /// Linear Thompson sampling's posterior scale.
        public var tsScale = 0.3
        /// The arms to run (distinct names from ``OnlineComparison/allArms``).
        public var arms = OnlineComparison.knownArms

        /// The defaults.
        public init() {}

        /// Throws ``ConfigurationError`` (worded with `recrl online-compare`'s flags) when a
        /// count is not positive, a weight is negative, an arm is unknown or repeated, or
        /// there are fewer than two users per arm.
        public func validate() throws {
            guard rounds > 0, users > 1, items > 1, sessionLength > 0, episodes > 0, drrUpdates >= 0, refitEvery > 0 else {
                throw ConfigurationError(
                    "--rounds, --session-length, --episodes and --refit-every must be positive, --users and --items > 1, --drr-updates ≥ 0")
            }
            guard alpha >= 0, tsScale >= 0 else { throw ConfigurationError("--alpha and --ts-scale must be ≥ 0") }
            guard !arms.isEmpty, Set(arms).count == arms.count else { throw ConfigurationError("--arms must list distinct arms") }
            for n in arms where !OnlineComparison.allArms.contains(n) {
                throw ConfigurationError("unknown arm '\(n)' (expected one of \(OnlineComparison.allArms.joined(separator: ", ")))")
            }
            guard users >= arms.count * 2 else { throw ConfigurationError("--users must be at least 2 per arm") }
        }
    }

    /// A configuration that cannot run; `description` says which setting and why.
    public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// What this comparison runs.
    public let configuration: Configuration

    /// A comparison of `configuration`, which must be valid (``Configuration/validate()``).
    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
    }

    /// Runs the comparison for `seed`, writes `online-compare.svg` (mean reward per
    /// recommendation per round and arm) and `rounds.csv` under `outDir`, and returns the
    /// report; `progress` receives one line per stage and every tenth round.
    public func run(seed: UInt64, out outDir: URL, progress say: (String) -> Void) throws -> OnlineCompareOutput {
        let c = configuration
        let started = Date()
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)

        // The world and its log (the same recipe as the tutorial).
        var worldConfig = SyntheticWorld.Configuration()
        worldConfig.users = c.users
        worldConfig.items = c.items
        var world = SyntheticWorld(configuration: worldConfig, seed: seed)
        var logRNG = Xoshiro256StarStar(seed: seed &+ 1)
        let log = world.generateLog(sessionsPerUser: 10, sessionLength: 10, using: &logRNG)
        let dataDir = outDir.appendingPathComponent("data")
        try log.write(toDirectory: dataDir)
        let dataset = try DatasetLoader.load(directory: dataDir.path, format: .csv).dataset
        say("logged \(dataset.interactionCount) interactions of \(dataset.userCount) users on \(dataset.itemCount) items")

        // DRR-ave, trained offline on the whole log; its item embeddings are the bandits' features.
        var drrConfig = DRRConfiguration()
        drrConfig.episodes = c.episodes
        drrConfig.embeddingSize = 32
        var drr = DRRRecommender(configuration: drrConfig, seed: seed)
        try drr.fit(train: dataset)
        guard let model = drr.model else { throw ConfigurationError("DRR produced no model") }
        let scale = model.rewardScale
        let manifest = DRRManifest(
            policy: "drr-ave", configuration: drrConfig, seed: seed, dataFingerprint: dataset.fingerprint,
            userIDs: dataset.userMap.rawIDs, itemIDs: dataset.itemMap.rawIDs, rewardScale: scale,
            itemPopularity: dataset.itemCounts())
        let dimension = model.itemEmbeddings.shape[1]
        let features = (0..<dataset.itemCount * dimension).map { model.itemEmbeddings[flat: $0] }
        say(String(format: "trained drr-ave offline (%d episodes) in %.1f s", c.episodes, Date().timeIntervalSince(started)))

        // Index maps: world item/user ↔ dataset index.
        let worldItem = dataset.itemMap.rawIDs.map { Int($0.dropFirst())! }
        var datasetUser = [Int?](repeating: nil, count: c.users)
        for (index, raw) in dataset.userMap.rawIDs.enumerated() { datasetUser[Int(raw.dropFirst())!] = index }

        // Seeded, balanced assignment of users to arms.
        let names = c.arms
        var assignRNG = Xoshiro256StarStar(seed: seed &+ 2)
        var order = Array(0..<c.users)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, assignRNG.nextInt(below: i + 1)) }
        var armOf = [Int](repeating: 0, count: c.users)
        for (position, user) in order.enumerated() { armOf[user] = position % names.count }

        var policies = try names.map { name -> OnlineArm in
            switch name {
            case "popularity": return .popularity(dataset.itemCounts().map(Float.init))
            case "linucb", "lints":
                var bandit = try LinearBandit(
                    itemFeatures: features, dimension: dimension, userCount: dataset.userCount,
                    strategy: name == "linucb" ? .ucb(alpha: c.alpha) : .thompson(scale: c.tsScale), seed: seed)
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
            case "lird":
                let trainingStarted = Date()
                var lird = LIRDConfiguration()
                lird.base.episodes = c.episodes
                lird.base.embeddingSize = drrConfig.embeddingSize
                var recommender = DRRRecommender(lird: lird, seed: seed)
                try recommender.fit(train: dataset)
                guard let model = recommender.model else { throw ConfigurationError("LIRD produced no model") }
                var manifest = DRRManifest(
                    policy: "lird", configuration: lird.base, seed: seed, dataFingerprint: dataset.fingerprint,
                    userIDs: dataset.userMap.rawIDs, itemIDs: dataset.itemMap.rawIDs, rewardScale: model.rewardScale,
                    itemPopularity: dataset.itemCounts())
                manifest.lird = lird
                say(
                    String(format: "trained lird offline (%d episodes, K = %d) in %.1f s", c.episodes, lird.listSize, Date().timeIntervalSince(trainingStarted))
                )
                return .list(OnlineDRR(model: model, manifest: manifest, seed: seed, diagnostic: { _ in }), size: lird.listSize)
            case "deeppage":
                let trainingStarted = Date()
                var configuration = DeepPageConfiguration()
                configuration.base.episodes = c.episodes
                configuration.base.embeddingSize = drrConfig.embeddingSize
                var recommender = DeepPageRecommender(configuration: configuration, seed: seed)
                try recommender.fit(train: dataset)
                guard let model = recommender.model else { throw ConfigurationError("DeepPage produced no model") }
                var manifest = DRRManifest(
                    policy: DRRModelStore.deepPagePolicy, configuration: configuration.base, seed: seed,
                    dataFingerprint: dataset.fingerprint, userIDs: dataset.userMap.rawIDs, itemIDs: dataset.itemMap.rawIDs,
                    rewardScale: model.rewardScale, itemPopularity: dataset.itemCounts())
                manifest.userHistories = DRRManifest.browsingHistories(
                    of: dataset, threshold: model.rewardScale.midpoint, length: configuration.base.windowSize)
                say(
                    String(
                        format: "trained deeppage offline (%d episodes, %d × %d pages) in %.1f s", c.episodes, configuration.rows,
                        configuration.columns, Date().timeIntervalSince(trainingStarted)))
                return .page(OnlineDeepPage(model: model, manifest: manifest, seed: seed, diagnostic: { _ in }))
            default:
                return .drr(OnlineDRR(model: model, manifest: manifest, seed: seed, diagnostic: { _ in }))
            }
        }

        var seen = [Set<Int>](repeating: [], count: dataset.userCount)
        for row in 0..<dataset.interactionCount { seen[Int(dataset.users[row])].insert(Int(dataset.items[row])) }
        var grown = dataset
        var perRound = [[Double]](repeating: [], count: names.count)
        var userTotals = [Double](repeating: 0, count: c.users)
        var sessions = [Int](repeating: 0, count: names.count), completed = [Int](repeating: 0, count: names.count)
        var recommendations = [Int](repeating: 0, count: names.count)
        var scratch = [Float](repeating: 0, count: dataset.itemCount)
        let timestamp0 = (dataset.timestamps.max() ?? 0) + 1
        for round in 1...c.rounds {
            var sums = [Double](repeating: 0, count: names.count), counts = [Int](repeating: 0, count: names.count)
            for user in 0..<c.users {
                guard let u = datasetUser[user] else { continue }
                let a = armOf[user]
                world.startSession(user: user)
                sessions[a] += 1
                var left = false, steps = 0
                // Slates (one item for the item arms) until the session's budget of shown
                // items is spent or the user leaves; see the type's documentation.
                session: while steps < c.sessionLength {
                    let slate = try policies[a].next(user: u, seen: seen[u], scratch: &scratch, itemMap: dataset.itemMap)
                    guard !slate.isEmpty else { break }
                    for (position, item) in slate.enumerated() {
                        guard steps < c.sessionLength else { break session }
                        seen[u].insert(item)
                        let feedback = world.respond(user: user, item: worldItem[item])
                        let reward = scale.reward(forRating: Float(feedback.rating))
                        try policies[a].observe(
                            user: u, item: item, reward: reward, position: position, userID: dataset.userMap.rawIDs[u],
                            itemIDs: dataset.itemMap.rawIDs)
                        grown.users.append(Int32(u)); grown.items.append(Int32(item))
                        grown.ratings.append(Float(feedback.rating)); grown.timestamps.append(timestamp0 + Int64(round))
                        sums[a] += Double(reward); counts[a] += 1; userTotals[user] += Double(reward)
                        recommendations[a] += 1; steps += 1
                        if feedback.left { left = true; break session }
                    }
                }
                if !left && steps == c.sessionLength { completed[a] += 1 }
            }
            for a in names.indices {
                perRound[a].append(sums[a] / Double(max(counts[a], 1)))
                try policies[a].endOfRound(round: round, refitEvery: c.refitEvery, grown: grown, drrUpdates: c.drrUpdates)
            }
            if round == 1 || round % 10 == 0 || round == c.rounds {
                say("round \(round): " + names.indices.map { names[$0] + String(format: " %+.3f", perRound[$0].last!) }.joined(separator: ", "))
            }
        }

        // Per-user cumulative reward, pairwise against DRR.
        var perUser = [[Double]](repeating: [], count: names.count)
        for user in 0..<c.users where datasetUser[user] != nil { perUser[armOf[user]].append(userTotals[user]) }
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
                    meanReward: perRound[a].reduce(0, +) / Double(c.rounds),
                    lastQuarterMeanReward: Self.tailMean(perRound[a]),
                    cumulativeRewardPerUser: summary.mean, cumulativeRewardStd: summary.standardDeviation,
                    sessionRetention: Double(completed[a]) / Double(max(sessions[a], 1)),
                    minusDRR: versus, rewardPerRound: perRound[a], onlineUpdates: policies[a].onlineUpdates))
        }
        var csv = "round," + names.joined(separator: ",") + "\n"
        for r in 0..<c.rounds { csv += "\(r + 1)," + names.indices.map { String(perRound[$0][r]) }.joined(separator: ",") + "\n" }
        try csv.write(to: outDir.appendingPathComponent("rounds.csv"), atomically: true, encoding: .utf8)
        try Self.writeChart(
            title: "Online mean reward per recommendation, per round", names: names, curves: perRound,
            to: outDir.appendingPathComponent("online-compare.svg"))
        return OnlineCompareOutput(
            seed: seed, rounds: c.rounds, users: c.users, items: c.items, sessionLength: c.sessionLength,
            seconds: Date().timeIntervalSince(started), arms: rows)
    }

    /// Runs the comparison once per seed (each under `outDir/seed-S`), writes the per-round
    /// mean over seeds as `outDir/online-compare.svg`, and returns, per arm, the mean over
    /// seeds with a 95% t-interval of the cumulative reward per user, of the retention and of
    /// the difference to DRR (paired by seed).
    public func run(seeds: [UInt64], out outDir: URL, progress say: (String) -> Void) throws -> OnlineCompareSeedsOutput {
        guard !seeds.isEmpty else { throw ConfigurationError("--seeds must be positive") }
        var runs: [OnlineCompareOutput] = []
        for (s, seed) in seeds.enumerated() {
            say("seed \(seed) (\(s + 1) of \(seeds.count))")
            runs.append(try run(seed: seed, out: outDir.appendingPathComponent("seed-\(seed)"), progress: say))
        }
        let names = configuration.arms
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
            (0..<configuration.rounds).map { r in runs.reduce(0) { $0 + $1.arms[a].rewardPerRound[r] } / Double(runs.count) }
        }
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        try Self.writeChart(
            title: "Online mean reward per recommendation, per round (mean over \(seeds.count) seeds)", names: names,
            curves: meanCurves, to: outDir.appendingPathComponent("online-compare.svg"))
        return OnlineCompareSeedsOutput(
            seeds: seeds, rounds: configuration.rounds, users: configuration.users, items: configuration.items,
            arms: summaries, runs: runs)
    }

    /// The per-round curves of `names` as an ``SVGChart`` line chart at `url`.
    static func writeChart(title: String, names: [String], curves: [[Double]], to url: URL) throws {
        try SVGChart.lines(
            title: title, xLabel: "round", yLabel: "mean reward",
            series: names.indices.map { .init(name: names[$0], values: curves[$0]) }
        )
        .write(to: url, atomically: true, encoding: .utf8)
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
    /// LIRD: `OnlineDRR` of a list model, answering lists of `size` items.
    case list(OnlineDRR, size: Int)
    /// DeepPage: `OnlineDeepPage`, answering pages read row-major.
    case page(OnlineDeepPage)

    /// The arm's next slate for dataset user `u`, in position order, never an item in
    /// `seen`: one item for the item arms, the list or page for the list and page arms;
    /// empty when no item (or no full page) is left.
    mutating func next(user u: Int, seen: Set<Int>, scratch: inout [Float], itemMap: IDMap) throws -> [Int] {
        switch self {
        case .popularity(let scores):
            return Self.best(scores, excluding: seen).map { [$0] } ?? []
        case .bandit(var bandit):
            self = .popularity([])  // release the payload so the update below is in place
            defer { self = .bandit(bandit) }
            return try bandit.recommend(user: u, scratch: &scratch, excluding: { seen.contains($0) }).map { [$0] } ?? []
        case .refit(let recommender):
            recommender.scores(forUser: u, into: &scratch)
            return Self.best(scratch, excluding: seen).map { [$0] } ?? []
        case .drr(let online):
            let exclude = Set(seen.map { itemMap.rawID(of: $0) })
            let answer = try online.recommend(user: online.manifest.userIDs[u], k: 1, exclude: exclude)
            return answer.items.first.flatMap { itemMap.index(of: $0.id) }.map { [$0] } ?? []
        case .list(let online, let size):
            let exclude = Set(seen.map { itemMap.rawID(of: $0) })
            let answer = try online.recommend(user: online.manifest.userIDs[u], k: size, exclude: exclude)
            return answer.items.compactMap { itemMap.index(of: $0.id) }
        case .page(let online):
            let exclude = Set(seen.map { itemMap.rawID(of: $0) })
            do {
                return try online.recommend(user: online.manifest.userIDs[u], exclude: exclude).items.compactMap { itemMap.index(of: $0.id) }
            } catch OnlineError.invalidK {
                return []  // fewer unseen items than a page
            }
        }
    }

    /// Feeds the response to the item shown at `position` of its slate back to the arms
    /// that learn after every response (the list and page arms with its position).
    mutating func observe(user u: Int, item: Int, reward: Float, position: Int, userID: String, itemIDs: [String]) throws {
        switch self {
        case .bandit(var bandit):
            self = .popularity([])
            defer { self = .bandit(bandit) }
            try bandit.update(user: u, item: item, reward: Double(reward))
        case .drr(let online):
            try online.observe(user: userID, item: itemIDs[item], reward: reward)
        case .list(let online, _):
            try online.observe(user: userID, item: itemIDs[item], reward: reward, position: position)
        case .page(let online):
            try online.observe(user: userID, item: itemIDs[item], reward: reward, position: position)
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
        case .drr(let online), .list(let online, _):
            if drrUpdates > 0 { _ = online.learn(updates: drrUpdates) }
        case .page(let online):
            if drrUpdates > 0 { _ = online.learn(updates: drrUpdates) }
        default:
            break
        }
    }

    /// The DDPG updates applied online so far (nil for the arms without).
    var onlineUpdates: Int? {
        switch self {
        case .drr(let online), .list(let online, _): return online.statistics.updates
        case .page(let online): return online.statistics.updates
        default: return nil
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
