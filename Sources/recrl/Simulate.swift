import ArgumentParser
import Foundation
import RecRL

/// `recrl simulate`: the DRR paper's online evaluation against a PMF world model.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulated online evaluation: cumulative reward per episode against a PMF world model.",
        discussion: """
            Fits PMF on the whole data set and uses its predicted ratings as the simulated users \
            (the DRR paper's online setting). DRR is trained against the same simulator; greedy \
            classical policies recommend by their own scores. Every policy serves the same seeded \
            episodes (user, initial window of the user's first positive items) of --horizon steps \
            without repeats; a positive reward pushes the item into DRR's state. LIRD shows lists \
            of --list-size and DeepPage pages of --page-rows x --page-cols (read row by row, \
            each page with its feedback joining DeepPage's state) until --horizon items. This is a \
            simulation result, not a held-out one.
            """)

    @Option(help: ArgumentHelp("Data directory.", valueName: "DIR")) var data: String
    @OptionGroup var formatOption: FormatOption
    @Option(help: "Comma-separated policies: drr-n, drr-p, drr-u, drr-ave, lird, deeppage, als, popularity, random.") var policies: String =
        "drr-ave,als,popularity"
    @Option(
        name: .customLong("list-size"),
        help: "LIRD: items per list K (default 4); an episode shows --horizon items as lists of K (the last list shorter if K does not divide it).")
    var listSize: Int = 4
    @Option(help: "DeepPage: rows of a page (default 2); an episode shows --horizon items as pages read row by row.")
    var pageRows: Int = 2
    @Option(help: "DeepPage: items per page row (default 2).")
    var pageCols: Int = 2
    @Option(help: "Evaluation episodes.") var episodes: Int = 500
    @Option(help: "Steps per episode T.") var horizon: Int = 10
    @Option(help: "DRR training episodes.") var trainEpisodes: Int = 500
    @OptionGroup var seedOption: SeedOption
    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set a DRRConfiguration field for the DRR policies by its JSON name (repeatable), e.g. --set supervisedWeight=0.", valueName: "KEY=VALUE"))
    var overrides: [String] = []
    @OptionGroup var output: JSONFlag

    var format: String { formatOption.format }
    var seed: UInt64 { seedOption.seed }
    var json: Bool { output.json }

    static let known = ["drr-n", "drr-p", "drr-u", "drr-ave", "lird", "deeppage", "als", "popularity", "random"]
    var names: [String] { policies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        guard FileManager.default.fileExists(atPath: data) else { throw ValidationError("--data \(data) does not exist") }
        guard DatasetFormat(rawValue: format) != nil else { throw ValidationError("unknown format '\(format)'") }
        guard !names.isEmpty else { throw ValidationError("--policies is empty") }
        for n in names where !Self.known.contains(n) { throw ValidationError("unknown policy '\(n)' (expected one of \(Self.known.joined(separator: ", ")))") }
        guard listSize > 0 else { throw ValidationError("--list-size must be positive") }
        guard pageRows > 0, pageCols > 0 else { throw ValidationError("--page-rows and --page-cols must be positive") }
        guard episodes > 0, horizon > 0, trainEpisodes > 0 else { throw ValidationError("--episodes, --horizon and --train-episodes must be positive") }
    }

    func run() throws {
        let progress = isatty(2) != 0
        func log(_ s: String) { if progress { writeToStandardError(s + "\n") } }
        let dataset = try DatasetLoader.load(directory: data, format: DatasetFormat(rawValue: format)!).dataset
        var rng = Xoshiro256StarStar(seed: seed)
        let ratings = try SparseRatings(
            userCount: dataset.userCount, itemCount: dataset.itemCount,
            users: dataset.users, items: dataset.items, values: dataset.ratings)
        log("fitting the PMF world model on all \(dataset.interactionCount) ratings")
        let world = try MatrixFactorization.fitExplicit(ratings, configuration: .init(factors: 100, regularization: 0.1, iterations: 10), using: &rng)
        let scale = RewardScale(minimum: dataset.ratingScale.lowerBound, maximum: dataset.ratingScale.upperBound)
        func worldReward(_ u: Int, _ i: Int) -> Float {
            scale.reward(forRating: min(max(world.predict(user: u, item: i), scale.minimum), scale.maximum))
        }
        let histories = UserHistories(dataset)
        let mid = (scale.minimum + scale.maximum) / 2
        let users = (0..<dataset.userCount).filter { !histories.positives(user: $0, threshold: mid).isEmpty }
        var episodeRNG = Xoshiro256StarStar(seed: seed &+ 7)
        let episodeUsers = (0..<episodes).map { _ in users[episodeRNG.nextInt(below: users.count)] }
        var results: [(String, [Double], Double)] = []
        for name in names {
            let start = Date()
            var returns: [Double] = []
            if name == "lird" {
                var config = DRRConfiguration()
                config.embeddingMethod = .explicit
                config.unratedReward = nil
                config.embeddingRegularization = 0.1
                do { config = try config.applying(overrides: overrides) } catch { throw ValidationError("--set: \(error)") }
                config.episodes = trainEpisodes
                config.episodeLength = max(1, horizon / listSize)
                var lird = LIRDConfiguration(base: config, listSize: listSize)
                lird.base.variant = LIRDConfiguration().base.variant
                log("training lird (K = \(listSize)) against the simulator (\(trainEpisodes) episodes)")
                let model = try LIRDTrainer.run(dataset, configuration: lird, seed: seed).model
                for u in episodeUsers {
                    var window = StateWindow(size: config.windowSize, initial: Array(histories.positives(user: u, threshold: mid).prefix(config.windowSize)))
                    var used = Set<Int>(), total: Float = 0, shown = 0
                    while shown < horizon {
                        let list = model.list(user: u, window: window, excluding: { used.contains($0) || window.contains($0) })
                        for item in list.prefix(horizon - shown) {
                            used.insert(item)
                            let r = worldReward(u, item)
                            total += r
                            if r > 0 { window.push(item) }
                            shown += 1
                        }
                    }
                    returns.append(Double(total))
                }
            } else if name == "deeppage" {
                var config = DRRConfiguration()
                config.embeddingMethod = .explicit
                config.unratedReward = nil
                config.embeddingRegularization = 0.1
                do { config = try config.applying(overrides: overrides) } catch { throw ValidationError("--set: \(error)") }
                config.episodes = trainEpisodes
                var deepPage = DeepPageConfiguration(base: config, rows: pageRows, columns: pageCols)
                deepPage.base.episodeLength = max(1, horizon / deepPage.pageSize)
                try deepPage.validate()
                log("training deeppage (\(pageRows)x\(pageCols) pages) against the simulator (\(trainEpisodes) episodes)")
                let model = try DeepPageTrainer.run(dataset, configuration: deepPage, seed: seed).model
                for u in episodeUsers {
                    // The page-wise episode: each page is read row by row, every shown item
                    // rewarded by the world, and the page with its feedback joins the state.
                    var window = StateWindow(size: config.windowSize, initial: Array(histories.positives(user: u, threshold: mid).prefix(config.windowSize)))
                    var used = Set<Int>(), pages: [ShownPage] = [], total: Float = 0, shown = 0
                    while shown < horizon {
                        let page = model.page(window: window, pages: pages, excluding: { used.contains($0) || window.contains($0) }).flatMap { $0 }
                        var rewards = [Float](repeating: 0, count: page.count)
                        for (position, item) in page.enumerated() where shown < horizon && item >= 0 {
                            used.insert(item)
                            rewards[position] = worldReward(u, item)
                            total += rewards[position]
                            if rewards[position] > 0 { window.push(item) }
                            shown += 1
                        }
                        guard page.contains(where: { $0 >= 0 }) else { break }
                        pages.append(ShownPage(items: page, rewards: rewards))
                    }
                    returns.append(Double(total))
                }
            } else if name.hasPrefix("drr-") {
                var config = DRRConfiguration()
                // Trained against the world itself: PMF embeddings like the world's, and the
                // world model's predicted rating for every unrated item.
                config.embeddingMethod = .explicit
                config.unratedReward = nil
                config.embeddingRegularization = 0.1
                do { config = try config.applying(overrides: overrides) } catch { throw ValidationError("--set: \(error)") }
                config.variant = DRRStateRepresentation.Variant(rawValue: String(name.dropFirst(4)))!
                config.episodes = trainEpisodes
                config.episodeLength = horizon
                log("training \(name) against the simulator (\(trainEpisodes) episodes)")
                let model = try DRRTrainer.train(dataset, configuration: config, seed: seed).model
                for u in episodeUsers {
                    var window = StateWindow(size: config.windowSize, initial: Array(histories.positives(user: u, threshold: mid).prefix(config.windowSize)))
                    var used = Set<Int>(), total: Float = 0
                    for _ in 0..<horizon {
                        let s = model.scores(user: u, window: window)
                        var best = -1
                        for i in 0..<dataset.itemCount where !used.contains(i) && !window.contains(i) {
                            if best < 0 || s[flat: i] > s[flat: best] { best = i }
                        }
                        used.insert(best)
                        let r = worldReward(u, best)
                        total += r
                        if r > 0 { window.push(best) }
                    }
                    returns.append(Double(total))
                }
            } else {
                var recommender: any Recommender
                switch name {
                case "als": recommender = ALSRecommender(seed: seed)
                case "popularity": recommender = PopularityRecommender()
                default: recommender = RandomRecommender(seed: seed)
                }
                try recommender.fit(train: dataset)
                var scores = [Float](repeating: 0, count: dataset.itemCount)
                for u in episodeUsers {
                    recommender.scores(forUser: u, into: &scores)
                    let window = Set(histories.positives(user: u, threshold: mid).prefix(5))
                    let ranked = TopK.select(scores, k: horizon + window.count).filter { !window.contains($0) }.prefix(horizon)
                    returns.append(ranked.reduce(0.0) { $0 + Double(worldReward(u, $1)) })
                }
            }
            let seconds = Date().timeIntervalSince(start)
            results.append((name, returns, seconds))
            log("\(name): mean cumulative reward \(String(format: "%.3f", returns.reduce(0, +) / Double(returns.count)))")
        }
        func stats(_ x: [Double]) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(x.count - 1, 1))
            return (m, v.squareRoot())
        }
        if json {
            let rows = results.map { r -> SimulateOutput.Result in
                let (m, s) = stats(r.1)
                return .init(policy: r.0, meanCumulativeReward: m, std: s, seconds: r.2)
            }
            print(try JSONOutput.encode(SimulateOutput(episodes: episodes, horizon: horizon, seed: seed, results: rows)))
        } else {
            print("Simulated online evaluation (PMF world model on all data; a simulation, not a held-out result)")
            print("\(episodes) episodes of \(horizon) steps, seed \(seed)")
            for r in results {
                let (m, s) = stats(r.1)
                print(r.0.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "  mean cumulative reward %7.3f ± %.3f  (%.1f s)", m, s, r.2))
            }
        }
    }
}
