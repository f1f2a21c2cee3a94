// RecRL tutorial: from a logged data set to an online recommender that keeps learning.
//
//   swift run -c release OfflineToOnline [--seed 42] [--rounds 40] [--out out/offline-to-online] [--treatment drr|lird|deeppage]
//                                        [--arms-rounds N] [--arms-seeds N] [--arms-long] [--no-arms]
//
// The story, top to bottom:
//   1. A synthetic world of users and items (drifting tastes, boredom, churn) logs
//      interactions under a noisy-popularity policy: our "production log".
//   2. We ingest and validate that log like any interactions CSV.
//   3. Offline: split it by time, train classical baselines and DRR-ave on the past,
//      and evaluate every policy on the held-out future with the same metrics.
//   4. Online: a RecRLServer starts in this process on 127.0.0.1 in A/B mode; it splits
//      users by a stable hash of their id: control gets the static popularity ranking
//      (PopularityEngine), treatment gets DRR (DRREngine), which updates each user's
//      state with every click and keeps learning from the feedback (DDPG updates
//      between rounds). With `--treatment lird` the treatment arm is LIRD (list-wise,
//      lists of 4) instead: served the same way, its users see the head of its list for
//      their session (feedback with its position, 0), and it learns online the same way
//      (each list with feedback is one list transition). With `--treatment deeppage` it is
//      DeepPage (page-wise, 2 × 2 pages, DeepPageEngine): its users see the page's first
//      cell, position 0, and each page with feedback becomes one page transition; a user
//      with fewer unseen items than a page ends their session (in both arms).
//      The same world's users are its clients: they talk to it over
//      real HTTP (POST /v1/recommend, POST /v1/feedback), and the server writes every
//      piece of feedback to its SQLite event log.
//   5. We report offline metrics, online reward per arm, and the A/B test computed from
//      the event log (Welch t-test and a bootstrap confidence interval, per user), and
//      write CSV files and an SVG plot.
//   6. Static popularity is the weakest control. The last step runs the same world again
//      with six arms learning online from the same kind of feedback, in process: static
//      popularity, LinUCB and linear Thompson sampling over DRR's item embeddings, item-kNN
//      and iALS refit every 5 rounds, and DRR-ave (`OnlineComparison`, the code behind
//      `recrl online-compare`). It reports each arm's mean reward per round (SVG), its
//      users' session retention (the world's churn) and each arm's difference to DRR with a
//      95% interval. `--arms-long` runs a longer horizon over several seeds.
import Foundation
import RecRL
import RecRLServer
import RecRLReporting
import RecRLOnlineCompare
import RecRLLaunch

Launch.relaunchWithOptimizedBLASCoreIfNeeded()  // must come first: OpenBLAS picks kernels at load time

// MARK: Options
struct Options {
    var seed: UInt64 = 42
    var rounds = 40
    var users = 500
    var items = 1000
    var episodes = 1500
    var out = "out/offline-to-online"
    var json = false
    /// The treatment arm's policy: `drr` (DRR-ave), `lird` (LIRD, lists of 4) or
    /// `deeppage` (DeepPage, 2 × 2 pages).
    var treatment = "drr"
    /// Step 6: rounds of the multi-arm comparison (nil: the same as `rounds`), its seeds
    /// (more than one: the mean over seeds with a t-interval), and whether it runs.
    var armsRounds: Int?
    var armsSeeds = 1
    var arms = true

    init(_ args: [String]) throws {
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw UsageError("\(args[i - 1]) needs a value") }
            return args[i]
        }
        func int(_ s: String) throws -> Int {
            guard let v = Int(s), v > 0 else { throw UsageError("expected a positive integer, got '\(s)'") }
            return v
        }
        while i < args.count {
            switch args[i] {
            case "--seed": guard let s = UInt64(try value()) else { throw UsageError("--seed needs a non-negative integer") }; seed = s
            case "--rounds": rounds = try int(try value())
            case "--users": users = try int(try value())
            case "--items": items = try int(try value())
            case "--episodes": episodes = try int(try value())
            case "--out": out = try value()
            case "--json": json = true
            case "--arms-rounds": armsRounds = try int(try value())
            case "--arms-seeds": armsSeeds = try int(try value())
            case "--arms-long": armsRounds = 100; armsSeeds = 5
            case "--no-arms": arms = false
            case "--treatment":
                treatment = try value()
                guard ["drr", "lird", "deeppage"].contains(treatment) else {
                    throw UsageError("--treatment must be drr, lird or deeppage, got '\(treatment)'")
                }
            case "--help", "-h":
                print(
                    "usage: OfflineToOnline [--seed S] [--rounds N] [--users N] [--items N] [--episodes N] [--out DIR] [--treatment drr|lird|deeppage]"
                        + " [--arms-rounds N] [--arms-seeds N] [--arms-long] [--no-arms] [--json]")
                exit(0)
            default: throw UsageError("unknown option \(args[i])")
            }
            i += 1
        }
        guard items > 30 else { throw UsageError("--items must be more than 30") }
        guard !arms || users >= 2 * OnlineComparison.knownArms.count else {
            throw UsageError("--users must be at least \(2 * OnlineComparison.knownArms.count) for step 6 (or --no-arms)")
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

let options: Options
do { options = try Options(Array(CommandLine.arguments.dropFirst())) } catch {
    writeToStandardError("OfflineToOnline: error: \(error)\n")
    exit(64)
}

func say(_ s: String) { if options.json { writeToStandardError(s + "\n") } else { print(s) } }
let started = Date()
let outDir = URL(fileURLWithPath: options.out)

do {
    try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)

    // MARK: 1. The world logs interactions under a noisy-popularity policy
    var worldConfig = SyntheticWorld.Configuration()
    worldConfig.users = options.users
    worldConfig.items = options.items
    var world = SyntheticWorld(configuration: worldConfig, seed: options.seed)
    var logRNG = Xoshiro256StarStar(seed: options.seed &+ 1)
    let log = world.generateLog(sessionsPerUser: 10, sessionLength: 10, using: &logRNG)
    let dataDir = outDir.appendingPathComponent("data")
    try log.write(toDirectory: dataDir)
    say("1. logged \(log.interactions.count) interactions of \(options.users) users on \(options.items) items -> \(dataDir.path)")

    // MARK: 2. Ingest and validate
    let loaded = try DatasetLoader.load(directory: dataDir.path, format: .csv)
    let dataset = loaded.dataset
    say("2. ingested: \(loaded.report.rowsKept) of \(loaded.report.rowsRead) rows kept, \(loaded.report.droppedTotal) dropped")

    // MARK: 3. Offline: train on the past, evaluate on the future
    var splitRNG = SplitMix64(seed: options.seed)
    let split = DatasetTransforms.split(dataset, strategy: .temporal(testFraction: 0.2), using: &splitRNG)
    var drrConfig = DRRConfiguration()
    drrConfig.episodes = options.episodes
    drrConfig.embeddingSize = 32
    let isLIRD = options.treatment == "lird", isDeepPage = options.treatment == "deeppage"
    let lirdConfig = LIRDConfiguration(base: drrConfig, listSize: 4)
    let deepPageConfig = DeepPageConfiguration(base: drrConfig, rows: 2, columns: 2)
    var drr: any Recommender =
        isDeepPage
        ? DeepPageRecommender(configuration: deepPageConfig, seed: options.seed)
        : isLIRD ? DRRRecommender(lird: lirdConfig, seed: options.seed) : DRRRecommender(configuration: drrConfig, seed: options.seed)
    let treatmentLabel = isDeepPage ? "DeepPage" : isLIRD ? "LIRD" : "DRR"
    var offline: [PolicyResult] = []
    var baselines: [any Recommender] = [PopularityRecommender(), ItemKNNRecommender(), IALSRecommender(seed: options.seed)]
    for i in baselines.indices {
        offline.append(try Evaluator.run(&baselines[i], split: split, config: EvaluationConfig(ks: [10])))
    }
    offline.append(try Evaluator.run(&drr, split: split, config: EvaluationConfig(ks: [10])))
    say("3. offline, temporal split (train on the first 80% of each user's log, rank all unseen items):")
    say("   policy        P@10     NDCG@10  train s")
    for r in offline {
        say(
            "   " + r.policy.padding(toLength: 12, withPad: " ", startingAt: 0)
                + String(format: "  %.4f   %.4f   %.1f", r.metrics["precision@10"] ?? 0, r.metrics["ndcg@10"] ?? 0, r.trainSeconds))
    }

    // MARK: 4. Online: serve both arms over HTTP, the world's users are the clients
    let trainedScale = (drr as? DeepPageRecommender)?.model?.rewardScale ?? (drr as? DRRRecommender)?.model?.rewardScale
    guard let rewardScale = trainedScale else { throw UsageError("\(treatmentLabel) produced no model") }
    var manifest = DRRManifest(
        policy: drr.name, configuration: drrConfig, seed: options.seed, dataFingerprint: split.train.fingerprint,
        userIDs: dataset.userMap.rawIDs, itemIDs: dataset.itemMap.rawIDs, rewardScale: rewardScale,
        itemPopularity: split.train.itemCounts())
    if isLIRD { manifest.lird = lirdConfig }
    if isDeepPage {
        // DeepPage has no user embedding: a known user's first page reads their logged history.
        manifest.userHistories = DRRManifest.browsingHistories(
            of: split.train, threshold: rewardScale.midpoint, length: deepPageConfig.base.windowSize)
    }
    let modelDir = outDir.appendingPathComponent("model")
    // Treatment: the DRR model through DRREngine (OnlineDRR: each click moves the user's
    // state; DDPG updates are applied explicitly between rounds, so a seed gives one run).
    // A LIRD model is served and learns the same way (its transitions are whole lists), a
    // DeepPage model through DeepPageEngine (its transitions are whole pages).
    let treatment: any RecommendationEngine
    let learnTreatment: (Int) -> Int
    if let page = (drr as? DeepPageRecommender)?.model {
        try DRRModelStore.save(page, manifest: manifest, to: modelDir)
        let engine = try DeepPageEngine(model: page, manifest: manifest, directory: modelDir, seed: options.seed)
        (treatment, learnTreatment) = (engine, { engine.learn(updates: $0) })
    } else {
        let model = (drr as! DRRRecommender).model!
        try DRRModelStore.save(model, manifest: manifest, to: modelDir)
        let engine = try DRREngine(model: model, manifest: manifest, directory: modelDir, seed: options.seed)
        (treatment, learnTreatment) = (engine, { engine.learn(updates: $0) })
    }
    // Control: the static popularity ranking of the logged data.
    let control = try PopularityEngine(
        items: dataset.itemMap.rawIDs, scores: dataset.itemCounts().map(Float.init),
        rewardScale: rewardScale)
    // Every feedback event goes to a SQLite event log before the server answers.
    let eventsPath = outDir.appendingPathComponent("events.sqlite").path
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: eventsPath + suffix) }
    let eventLog = try EventLog(path: eventsPath)
    let salt = "offline-to-online"
    let server = RecommendationServer(
        mode: .abTest(
            control: ServedModel(engine: control), treatment: ServedModel(engine: treatment, directory: modelDir),
            split: 0.5, salt: salt),
        eventLog: eventLog,
        // Both arms serve ε-greedy over the top 20 (10% exploration) and log every slate with
        // its propensity, so `recrl ope` can evaluate a next model on this log.
        configuration: ServerConfiguration(
            host: "127.0.0.1", port: 0, servingPolicy: .epsilonGreedy(epsilon: 0.1, pool: 20),
            servingSeed: options.seed))
    // Serving: one OpenBLAS thread per call; requests run in parallel on the event loops
    // (multi-threaded OpenBLAS would spend the cores spinning on these small products).
    BLASRuntime.setThreadCount(1)
    let running = try await server.start()
    let http = HTTPUsers(client: LoopbackHTTPClient(host: "127.0.0.1", port: running.port))
    say("4. serving control (popularity) and treatment (\(treatmentLabel)) on http://127.0.0.1:\(running.port), events -> \(eventsPath)")

    var seen = [Set<String>](repeating: [], count: options.users)
    for row in 0..<dataset.interactionCount {
        let raw = dataset.userMap.rawID(of: Int(dataset.users[row]))
        if let n = Int(raw.dropFirst()) { seen[n].insert(dataset.itemMap.rawID(of: Int(dataset.items[row]))) }
    }
    // A page model answers whole pages, and the server refuses (422) a request whose
    // exclusions leave less than one: a user with fewer unseen items than a page has seen all
    // the treatment can show, so their session ends, in either arm (one rule keeps the A/B
    // fair). The engine also excludes the user's history, which `seen` already holds.
    let slate = treatment.pageShape.map { $0.rows * $0.columns } ?? 1
    let catalogue = dataset.itemMap.count
    var perRound: [ABTest.Arm: [Double]] = [.control: [], .treatment: []]
    var events = "round,user,arm,item,rating,reward,model_version\n"
    var recommendations = 0
    for round in 1...options.rounds {
        var sums: [ABTest.Arm: (Double, Int)] = [.control: (0, 0), .treatment: (0, 0)]
        for user in 0..<options.users {
            let id = "u\(user)"
            world.startSession(user: user)
            // Each round is a short session: up to 5 recommendations, one at a time.
            for _ in 0..<5 {
                guard catalogue - seen[user].count >= slate else { break }  // seen everything the treatment can show
                let answer = try await http.recommend(user: id, k: 1, exclude: seen[user])
                guard let item = answer.items.first?.item, let arm = ABTest.Arm(rawValue: answer.arm) else { break }  // seen everything
                seen[user].insert(item)
                let feedback = world.respond(user: user, item: Int(item.dropFirst())!)
                // The one item shown is at position 0 of what the user saw; list and page models discount by it.
                try await http.feedback(
                    user: id, item: item, rating: feedback.rating, requestID: answer.requestID,
                    position: isLIRD || isDeepPage ? 0 : nil)
                let reward = Double(rewardScale.reward(forRating: Float(feedback.rating)))
                sums[arm]!.0 += reward; sums[arm]!.1 += 1
                recommendations += 1
                events += "\(round),\(id),\(arm),\(item),\(feedback.rating),\(reward),\(answer.modelVersion)\n"
                if feedback.left { break }
            }
        }
        _ = learnTreatment(100)  // DDPG updates from the feedback so far; publishes a new model version
        for arm in [ABTest.Arm.control, .treatment] { perRound[arm]!.append(sums[arm]!.0 / Double(max(sums[arm]!.1, 1))) }
        if round == 1 || round % 10 == 0 || round == options.rounds {
            say(
                String(
                    format: "4. round %3d: mean reward control (popularity) %+.3f, treatment (%@) %+.3f, model %@",
                    round, perRound[.control]!.last!, "\(treatmentLabel), learning", perRound[.treatment]!.last!,
                    treatment.modelVersion))
        }
    }
    let served = try await http.requestsServed()
    await http.client.shutdown()
    try await running.stop()
    try events.write(to: outDir.appendingPathComponent("events.csv"), atomically: true, encoding: .utf8)

    // MARK: 5. Report: the A/B test is computed from the server's event log
    let loggedEvents = try eventLog.count()
    let loggedImpressions = try eventLog.impressionCount()
    let report = try eventLog.abTestReport(metric: .reward, unit: .user, seed: options.seed)
    var roundsCSV = "round,control_mean_reward,treatment_mean_reward\n"
    for r in 0..<options.rounds { roundsCSV += "\(r + 1),\(perRound[.control]![r]),\(perRound[.treatment]![r])\n" }
    try roundsCSV.write(to: outDir.appendingPathComponent("online-reward.csv"), atomically: true, encoding: .utf8)
    try SVGChart.lines(
        title: "Online mean reward per round", xLabel: "round", yLabel: "mean reward",
        series: [
            .init(name: "control: popularity (static)", values: perRound[.control]!),
            .init(
                name: isDeepPage
                    ? "treatment: DeepPage (page's first cell, learning online)"
                    : isLIRD ? "treatment: LIRD (list head, learning online)" : "treatment: DRR-ave (learning online)",
                values: perRound[.treatment]!),
        ]
    ).write(to: outDir.appendingPathComponent("online-reward.svg"), atomically: true, encoding: .utf8)
    // Does the learning arm gain on the static one over time? The per-round difference,
    // averaged over each quarter of the rounds.
    let quarters: [Double] = (0..<4).compactMap { q in
        let range = (q * options.rounds / 4)..<((q + 1) * options.rounds / 4)
        guard !range.isEmpty else { return nil }
        return range.map { perRound[.treatment]![$0] - perRound[.control]![$0] }.reduce(0, +) / Double(range.count)
    }
    let seconds = Date().timeIntervalSince(started)
    say(
        String(
            format: "   HTTP: %d requests served (%d recommend, %d feedback), mean round trip %.2f ms; event log: %d events",
            served.total, served.recommend, served.feedback, http.meanMilliseconds, loggedEvents))
    say(
        String(
            format:
                "5. A/B from the event log, %d users (%d control, %d treatment), mean reward per user: %@ − popularity = %+.4f, 95%% CI [%+.4f, %+.4f], Welch p = %.3g (%@)",
            report.arms[0].n + report.arms[1].n, report.arms[0].n, report.arms[1].n, treatmentLabel, report.difference, report.ciLow, report.ciHigh,
            report.pValue,
            report.significant ? "significant" : "not significant"))
    say(
        "   \(treatmentLabel) − popularity, mean per-round reward difference by quarter of the rounds: "
            + quarters.map { String(format: "%+.3f", $0) }.joined(separator: ", "))
    say(
        "   (`recrl abtest --events \(eventsPath)` gives the same analysis; "
            + "`recrl ope --events \(eventsPath) --model \(modelDir.path) --estimator all` estimates a model off-policy on its \(loggedImpressions) impressions)"
    )
    say("   wrote \(outDir.path)/{online-reward.csv,online-reward.svg,events.csv,events.sqlite,model/} in \(String(format: "%.1f", seconds)) s")

    // MARK: 6. The same world, six arms learning online: DRR against adaptive baselines
    var armsJSON = "null"
    if options.arms {
        var armsConfig = OnlineComparison.Configuration()
        armsConfig.users = options.users
        armsConfig.items = options.items
        armsConfig.episodes = options.episodes
        armsConfig.rounds = options.armsRounds ?? options.rounds
        let comparison = try OnlineComparison(configuration: armsConfig)
        let armsDir = outDir.appendingPathComponent("online-compare")
        let armsStarted = Date()
        say(
            "6. multi-arm comparison in the same drifting world, \(armsConfig.rounds) rounds, \(options.armsSeeds) seed(s): "
                + OnlineComparison.knownArms.joined(separator: ", ") + " (arm − DRR: cumulative reward per user)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines: [String]
        if options.armsSeeds > 1 {
            let seeds = (0..<options.armsSeeds).map { options.seed &+ UInt64($0) }
            let result = try comparison.run(seeds: seeds, out: armsDir, progress: { say("   " + $0) })
            lines = result.tableLines()
            armsJSON = String(decoding: try encoder.encode(result), as: UTF8.self)
        } else {
            let result = try comparison.run(seed: options.seed, out: armsDir, progress: { say("   " + $0) })
            lines = result.tableLines()
            armsJSON = String(decoding: try encoder.encode(result), as: UTF8.self)
        }
        lines.forEach { say("   " + $0) }
        say(String(format: "   wrote %@/online-compare.svg in %.1f s", armsDir.path, Date().timeIntervalSince(armsStarted)))
    }
    if options.json {
        let offlineJSON = offline.map {
            "{\"policy\":\"\($0.policy)\",\"precision@10\":\($0.metrics["precision@10"] ?? 0),\"ndcg@10\":\($0.metrics["ndcg@10"] ?? 0)}"
        }
        print(
            "{\"seed\":\(options.seed),\"rounds\":\(options.rounds),\"treatment\":\"\(drr.name)\",\"offline\":[\(offlineJSON.joined(separator: ","))],"
                + "\"online\":{\"control_mean\":\(report.arms[0].mean),\"treatment_mean\":\(report.arms[1].mean),\"difference\":\(report.difference),"
                + "\"ci_low\":\(report.ciLow),\"ci_high\":\(report.ciHigh),\"p_value\":\(report.pValue),\"unit\":\"user\","
                + "\"difference_by_quarter\":[\(quarters.map { "\($0)" }.joined(separator: ","))],"
                + "\"control_users\":\(report.arms[0].n),\"treatment_users\":\(report.arms[1].n),\"recommendations\":\(recommendations)},"
                + "\"http\":{\"requests\":\(served.total),\"recommend\":\(served.recommend),\"feedback\":\(served.feedback),"
                + "\"client_requests\":\(http.requests),\"mean_ms\":\(http.meanMilliseconds)},"
                + "\"event_log\":{\"events\":\(loggedEvents),\"impressions\":\(loggedImpressions)},\"seconds\":\(seconds),"
                + "\"arms\":\(armsJSON)}")
    }
} catch {
    writeToStandardError("OfflineToOnline: error: \(error)\n")
    exit(1)
}

/// The simulated users' side of the HTTP API: JSON over one keep-alive HTTP/1.1
/// connection (RecRLServer's `LoopbackHTTPClient`), timing every round trip.
@MainActor final class HTTPUsers {
    struct RecommendBody: Encodable { var user: String; var k: Int; var exclude: [String] }
    struct FeedbackBody: Encodable {
        var user: String; var item: String; var rating: Int; var requestID: String?; var position: Int?
        enum CodingKeys: String, CodingKey { case user, item, rating, position, requestID = "request_id" }
    }
    struct Item: Decodable { var item: String; var score: Float }
    struct Answer: Decodable {
        var items: [Item]; var arm: String; var modelVersion: String; var requestID: String?
        enum CodingKeys: String, CodingKey { case items, arm, modelVersion = "model_version", requestID = "request_id" }
    }
    struct Status: Decodable { var status: String }

    let client: LoopbackHTTPClient
    private(set) var requests = 0
    private var nanoseconds: UInt64 = 0
    init(client: LoopbackHTTPClient) { self.client = client }

    var meanMilliseconds: Double { requests == 0 ? 0 : Double(nanoseconds) / Double(requests) / 1e6 }

    /// `POST path` with a JSON body; a status other than 2xx throws with the server's
    /// `{"error": ...}` text.
    private func post<T: Decodable & Sendable>(_ path: String, _ body: some Encodable & Sendable, as type: T.Type) async throws -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { nanoseconds += DispatchTime.now().uptimeNanoseconds - start; requests += 1 }
        return try await client.postJSON(path, body, as: type)
    }

    /// `POST /v1/recommend`; items are sorted so the request body is reproducible.
    func recommend(user: String, k: Int, exclude: Set<String>) async throws -> Answer {
        try await post("/v1/recommend", RecommendBody(user: user, k: k, exclude: exclude.sorted()), as: Answer.self)
    }

    /// `POST /v1/feedback` with an explicit rating (the server maps it to a reward), naming
    /// the recommendation it answers and, when given, where the item was shown (`position`
    /// is left out of the body when nil).
    func feedback(user: String, item: String, rating: Int, requestID: String?, position: Int?) async throws {
        _ = try await post(
            "/v1/feedback", FeedbackBody(user: user, item: item, rating: rating, requestID: requestID, position: position),
            as: Status.self)
    }

    /// The server's own count of answered requests, from `GET /metrics`
    /// (`recrl_http_requests_total`, summed over statuses).
    func requestsServed() async throws -> (total: Int, recommend: Int, feedback: Int) {
        let text = try await client.get("/metrics").text
        var total = 0, recommend = 0, feedback = 0
        for line in text.split(separator: "\n") where line.hasPrefix("recrl_http_requests_total{") {
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            let n = Int(value)
            total += n
            if line.contains("route=\"/v1/recommend\"") { recommend += n }
            if line.contains("route=\"/v1/feedback\"") { feedback += n }
        }
        return (total, recommend, feedback)
    }
}
