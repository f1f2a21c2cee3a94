import ArgumentParser
import Foundation
import RecRL

/// `recrl ope-validate`: checks the off-policy estimators against the truth in the
/// synthetic world: log with one policy, estimate another off-policy, then run the other
/// online and compare.
struct OffPolicyValidation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ope-validate",
        abstract: "Check the off-policy estimators against online truth in the synthetic world (coverage and bias over seeds).",
        discussion: """
            Per seed: a SyntheticWorld (drift, boredom, churn, cascade position bias) is \
            served --rounds slates of --k items to uniformly drawn users by the logging \
            policy, epsilon-greedy (epsilon 0.3, pool 20) over a noisy-popularity ranking. \
            The target policy is epsilon-greedy (epsilon 0.1, pool 20) over the same pool \
            re-ranked by the users' initial true affinity. Every estimator estimates the \
            target's value (expected positive ratings per slate) from the log; then the \
            target serves the same world from the same start for --truth-runs runs of \
            --rounds slates, whose mean is the truth. Reports, per estimator, how many \
            seeds' intervals contain the truth, the mean bias, RMSE, interval width and \
            effective sample size. --logging-policy and --target-policy replace the two \
            serving policies (e.g. softmax:TEMPERATURE:POOL: the logging ranking's \
            scores are its noisy log-popularities, the target's the users' initial true \
            affinities). --stationary switches the world's dynamics off, so \
            that the log's rounds are independent and each position's reward depends \
            only on its item: the setting the position-based estimators assume. Besides the online \
            truth, before every logged slate the target serves --truth-runs slates to copies of the \
            world as it is at that moment (discarded afterwards): their mean is the target's value \
            on the states the log visited, which is what an estimator built on the log's rounds \
            estimates; the gap between the two truths is the part of the target's online value that \
            comes from how its own serving changes the users.
            """)

    @Option(help: "Number of seeds (worlds).") var seeds: Int = 20
    @Option(help: "Slates logged per seed (and served per online run).") var rounds: Int = 4000
    @Option(help: "Slate length.") var k: Int = 5
    @Option(help: "Users of each world.") var users: Int = 2000
    @Option(help: "Items of each world.") var items: Int = 300
    @Option(help: "Online runs of the target policy per seed, averaged for the truth.") var truthRuns: Int = 3
    @Option(help: "Bootstrap resamples per interval.") var bootstrap: Int = 200
    @Option(help: ArgumentHelp("The logging policy's serving policy.", valueName: "POLICY"))
    var loggingPolicy: String = OffPolicyValidation.logging.description
    @Option(help: ArgumentHelp("The target policy's serving policy.", valueName: "POLICY"))
    var targetPolicy: String = OffPolicyValidation.target.description
    @Flag(help: "Bootstrap the intervals over users (all of a user's rounds together) instead of over rounds.")
    var clusterBootstrap = false
    @Flag(help: "A stationary world: no drift, boredom or churn, every slate position examined (isolates the estimators from the world's dynamics).")
    var stationary = false
    @OptionGroup var output: JSONFlag

    func validate() throws {
        guard seeds >= 1, rounds >= 10, truthRuns >= 1, bootstrap >= 10 else {
            throw ValidationError("--seeds and --truth-runs must be positive, --rounds at least 10 and --bootstrap at least 10")
        }
        guard k >= 1, items >= 20, k <= 20, users >= 1 else { throw ValidationError("need 1 <= --k <= 20, --items >= 20, --users >= 1") }
        do { _ = try ServingPolicy(parsing: loggingPolicy) } catch { throw ValidationError("--logging-policy: \(error)") }
        do { _ = try ServingPolicy(parsing: targetPolicy) } catch { throw ValidationError("--target-policy: \(error)") }
    }

    static let logging = ServingPolicy.epsilonGreedy(epsilon: 0.3, pool: 20)
    static let target = ServingPolicy.epsilonGreedy(epsilon: 0.1, pool: 20)
    /// Every estimator, with cascade-ips (the harness knows the logging policy's prefix probabilities).
    static let estimators = OffPolicyEstimator.all + [.cascadeIPS]

    /// One seed's outcome.
    struct SeedResult: Encodable {
        var seed: UInt64
        var truth: Double
        var truthStandardError: Double
        /// The target's value on the states the log visited (see ``serve``): what an
        /// estimator built on the log's rounds can estimate when the target's own serving
        /// changes the world.
        var stateTruth: Double
        var loggedValue: Double
        var estimates: [OffPolicyEstimate]
        enum CodingKeys: String, CodingKey {
            case seed, truth, estimates, truthStandardError = "truth_standard_error", loggedValue = "logged_value"
            case stateTruth = "state_truth"
        }
    }

    /// One policy's ranking of every item for one user, best first, with its scores.
    struct Ranking {
        var items: [Int]
        var scores: [Double]
    }

    /// The rankings of both policies for one world: logging = noisy popularity (scored by
    /// the noisy log-popularity), target = the logging pool re-ranked by the initial true
    /// affinity (scored by the affinity).
    static func rankings(world: SyntheticWorld, seed: UInt64) -> (logging: [Ranking], target: [Ranking]) {
        var rng = Xoshiro256StarStar(seed: seed ^ 0x5EED)
        let logPopularity = world.popularity.map { log($0) }
        var logging: [Ranking] = [], target: [Ranking] = []
        for user in 0..<world.userCount {
            let scores = logPopularity.map { $0 + Double(rng.nextNormalFloat()) }
            let order = (0..<world.itemCount).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            let pool = order.prefix(20).sorted {
                let a = world.expectedAffinity(user: user, item: $0), b = world.expectedAffinity(user: user, item: $1)
                return a > b || (a == b && $0 < $1)
            }
            let targetOrder = pool + order.dropFirst(20)
            logging.append(Ranking(items: order, scores: order.map { scores[$0] }))
            target.append(Ranking(items: targetOrder, scores: targetOrder.map { Double(world.expectedAffinity(user: user, item: $0)) }))
        }
        return (logging, target)
    }

    /// Each user's slate distribution under `policy`.
    static func distributions(_ rankings: [Ranking], policy: ServingPolicy, k: Int) throws -> [SlateDistribution] {
        try rankings.map { try SlateDistribution(policy: policy, scores: $0.scores, k: k) }
    }

    /// Serves `rounds` slates with `policy` over `ranking`; returns impressions (rewards =
    /// 1 for a positive rating at that position).
    /// With a `shadow` policy, before each logged slate the shadow serves `shadowDraws`
    /// slates of its own to copies of the world as it is at that moment (the copies are
    /// discarded); their mean reward is the shadow's value on the states the log visited.
    static func serve(
        world: inout SyntheticWorld, ranking: [Ranking], distributions: [SlateDistribution], rounds: Int, k: Int,
        seed: UInt64, shadow: (ranking: [Ranking], distributions: [SlateDistribution], draws: Int)? = nil
    )
        -> (log: [LoggedImpression], shadowValue: Double?)
    {
        var rng = Xoshiro256StarStar(seed: seed)
        var shadowRNG = Xoshiro256StarStar(seed: seed ^ 0x5AD0)
        var shadowSum = 0.0
        var result: [LoggedImpression] = []
        result.reserveCapacity(rounds)
        for r in 0..<rounds {
            let user = rng.nextInt(below: world.userCount)
            if let shadow {
                for _ in 0..<shadow.draws {
                    var copy = world
                    let slate = shadow.distributions[user].sample(k: k, using: &shadowRNG)
                    let feedback = copy.respond(user: user, slate: slate.positions.map { shadow.ranking[user].items[$0] })
                    shadowSum += Double(feedback.filter(\.positive).count)
                }
            }
            let slate = distributions[user].sample(k: k, using: &rng)
            let items = slate.positions.map { ranking[user].items[$0] }
            let feedback = world.respond(user: user, slate: items)
            result.append(
                LoggedImpression(
                    requestID: "r\(r)", user: SyntheticWorld.userID(user), items: items.map(SyntheticWorld.itemID),
                    propensities: slate.propensities, slatePropensity: slate.slatePropensity,
                    rewards: feedback.map { $0.positive ? 1 : 0 }, loggingPolicy: distributions[user].policy.description,
                    modelVersion: "synthetic", timestamp: Double(r)))
        }
        return (result, shadow.map { shadowSum / Double(rounds * $0.draws) })
    }

    static func meanSlateReward(_ log: [LoggedImpression]) -> Double {
        log.reduce(0.0) { $0 + $1.rewards.reduce(0, +) } / Double(log.count)
    }

    func runSeed(_ seed: UInt64) throws -> SeedResult {
        var configuration = SyntheticWorld.Configuration()
        configuration.users = users
        configuration.items = items
        if stationary {
            configuration.driftRate = 0
            configuration.fatigueIncrement = 0
            configuration.baseLeaveProbability = 0
            configuration.leaveProbabilityPerMiss = 0
            configuration.maxLeaveProbability = 0
            configuration.continueProbability = 1
        }
        let initial = SyntheticWorld(configuration: configuration, seed: seed)
        let (loggingRanking, targetRanking) = Self.rankings(world: initial, seed: seed)
        let loggingLaws = try Self.distributions(loggingRanking, policy: ServingPolicy(parsing: loggingPolicy), k: k)
        let targetLaws = try Self.distributions(targetRanking, policy: ServingPolicy(parsing: targetPolicy), k: k)
        var world = initial
        let (log, stateTruth) = Self.serve(
            world: &world, ranking: loggingRanking, distributions: loggingLaws, rounds: rounds, k: k,
            seed: seed &+ 1, shadow: (targetRanking, targetLaws, truthRuns))
        var truths: [Double] = []
        for run in 0..<truthRuns {
            var online = initial
            truths.append(
                Self.meanSlateReward(
                    Self.serve(
                        world: &online, ranking: targetRanking, distributions: targetLaws,
                        rounds: rounds, k: k, seed: seed &+ 1000 &+ UInt64(run)
                    ).log))
        }
        let truth = truths.reduce(0, +) / Double(truths.count)
        let variance = truths.count > 1 ? truths.reduce(0) { $0 + ($1 - truth) * ($1 - truth) } / Double(truths.count - 1) : 0
        let rewardModel = PositionItemRewardModel(impressions: log)
        let rounds = log.map { x in
            let user = Int(x.user.dropFirst())!
            var round = OffPolicyRound(
                impression: x, ranking: targetRanking[user].items.map(SyntheticWorld.itemID),
                distribution: targetLaws[user], rewardModel: rewardModel)
            // The logging policy's probability of each prefix, for cascade-ips.
            let ranks = x.items.map { id in loggingRanking[user].items.firstIndex(of: Int(id.dropFirst())!) }
            round.loggingPrefixPropensities = ranks.indices.map { loggingLaws[user].slateProbability(rankIndices: Array(ranks[...$0])) }
            return round
        }
        let evaluator = OffPolicyEvaluator(bootstrapSamples: bootstrap, seed: seed)
        let clusters = clusterBootstrap ? log.map { Int($0.user.dropFirst())! } : nil
        let estimates = try Self.estimators.map { try evaluator.estimate($0, rounds: rounds, clusters: clusters) }
        return SeedResult(
            seed: seed, truth: truth, truthStandardError: (variance / Double(truths.count)).squareRoot(),
            stateTruth: stateTruth ?? truth, loggedValue: Self.meanSlateReward(log), estimates: estimates)
    }

    /// Coverage and error of one estimator over the seeds.
    struct Summary: Encodable {
        var estimator: String
        var covered: Int
        var seeds: Int
        var meanBias: Double
        var rmse: Double
        var meanWidth: Double
        var meanEffectiveSampleSize: Double
        /// Seeds whose interval contains ``SeedResult/stateTruth``, and the mean bias against it.
        var coveredStateTruth: Int
        var meanBiasStateTruth: Double
        enum CodingKeys: String, CodingKey {
            case estimator, covered, seeds, rmse
            case meanBias = "mean_bias", meanWidth = "mean_width", meanEffectiveSampleSize = "mean_effective_sample_size"
            case coveredStateTruth = "covered_state_truth", meanBiasStateTruth = "mean_bias_state_truth"
        }
    }

    struct Output: Encodable {
        var summaries: [Summary]
        var seeds: [SeedResult]
    }

    func run() throws {
        var results: [SeedResult] = []
        for s in 0..<seeds {
            results.append(try runSeed(UInt64(s + 1)))
            if !output.json { writeToStandardError("seed \(s + 1): truth \(String(format: "%.4f", results.last!.truth))\n") }
        }
        let summaries = Self.estimators.enumerated().map { index, estimator in
            let pairs = results.map { ($0.estimates[index], $0.truth) }
            let n = Double(pairs.count)
            return Summary(
                estimator: estimator.name,
                covered: pairs.filter { $0.0.lower <= $0.1 && $0.1 <= $0.0.upper }.count, seeds: pairs.count,
                meanBias: pairs.reduce(0) { $0 + $1.0.value - $1.1 } / n,
                rmse: (pairs.reduce(0) { $0 + ($1.0.value - $1.1) * ($1.0.value - $1.1) } / n).squareRoot(),
                meanWidth: pairs.reduce(0) { $0 + $1.0.upper - $1.0.lower } / n,
                meanEffectiveSampleSize: pairs.reduce(0) { $0 + $1.0.effectiveSampleSize } / n,
                coveredStateTruth: results.filter { r in
                    let e = r.estimates[index]
                    return e.lower <= r.stateTruth && r.stateTruth <= e.upper
                }.count,
                meanBiasStateTruth: results.reduce(0) { $0 + $1.estimates[index].value - $1.stateTruth } / n)
        }
        if output.json {
            print(try JSONOutput.encode(Output(summaries: summaries, seeds: results)))
            return
        }
        let meanTruth = results.reduce(0) { $0 + $1.truth } / Double(results.count)
        let meanLogged = results.reduce(0) { $0 + $1.loggedValue } / Double(results.count)
        print("logging \(loggingPolicy), target \(targetPolicy)")
        let meanStateTruth = results.reduce(0) { $0 + $1.stateTruth } / Double(results.count)
        print(
            "target value (online truth) \(String(format: "%.4f", meanTruth)), on the logged states \(String(format: "%.4f", meanStateTruth)), "
                + "logging policy \(String(format: "%.4f", meanLogged)), mean over \(results.count) seeds")
        print("| estimator | 95% CI covers truth | mean bias | RMSE | mean CI width | mean ESS | covers truth on logged states | bias there |")
        print("|---|---|---|---|---|---|---|---|")
        for s in summaries {
            print(
                "| \(s.estimator) | \(s.covered)/\(s.seeds) | \(String(format: "%+.4f", s.meanBias)) | \(String(format: "%.4f", s.rmse)) | "
                    + "\(String(format: "%.4f", s.meanWidth)) | \(String(format: "%.0f", s.meanEffectiveSampleSize)) | "
                    + "\(s.coveredStateTruth)/\(s.seeds) | \(String(format: "%+.4f", s.meanBiasStateTruth)) |")
        }
    }
}
