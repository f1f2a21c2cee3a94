import Foundation
import RecRLData

/// Offline evaluation protocol.
public enum EvaluationProtocol: String, Sendable, CaseIterable, Codable {
    /// Full ranking: for each test user, every item the user has not interacted with in training
    /// is a candidate. This is the protocol to compare recommenders with.
    case full
    /// The DRR paper's protocol (Liu et al. 2018): for each test user, the candidates are only the
    /// items the user rated in the test split, ranked by the recommender's scores.
    ///
    /// Its numbers are not comparable with ``full``: candidate sets are small (a few dozen items)
    /// and, with explicit ratings, most candidates are relevant (about 55% of ML-100K ratings are
    /// ≥ 4), so even a random ranking reaches a high precision@K. It measures ordering within the
    /// items the user chose to rate, not retrieval from the catalogue.
    case drr
}

/// Where intra-list diversity takes its item vectors from.
public enum DiversityFeatures: String, Sendable, Codable {
    /// Genre vectors when the data set has genres, otherwise the model's embeddings (comparable across models).
    case genresFirst
    /// The model's item embeddings when it provides them, otherwise genres.
    case embeddingsFirst
}

/// Settings of an evaluation run.
public struct EvaluationConfig: Sendable {
    /// Cut-offs K (default `[5, 10]`).
    public var ks: [Int]
    /// A test interaction is relevant if its rating is ≥ this (default 4; the same 4.0 on half-star
    /// scales; 1 on 1–5 scales makes every test interaction relevant).
    public var relevanceThreshold: Float
    /// The protocol (default `.full`).
    public var evaluationProtocol: EvaluationProtocol
    /// Source of item vectors for diversity (default `.genresFirst`).
    public var diversityFeatures: DiversityFeatures

    /// Creates a configuration; all parameters have the documented defaults.
    public init(
        ks: [Int] = [5, 10], relevanceThreshold: Float = 4, evaluationProtocol: EvaluationProtocol = .full,
        diversityFeatures: DiversityFeatures = .genresFirst
    ) {
        self.ks = ks
        self.relevanceThreshold = relevanceThreshold
        self.evaluationProtocol = evaluationProtocol
        self.diversityFeatures = diversityFeatures
    }
}

/// One policy's metrics and timings.
public struct PolicyResult: Codable, Sendable {
    /// Policy name (e.g. `popularity`).
    public var policy: String
    /// Metric name → value, e.g. `precision@10`, `coverage`, `users_evaluated`.
    public var metrics: [String: Double]
    /// Wall-clock seconds spent in `fit`.
    public var trainSeconds: Double
    /// Wall-clock seconds spent evaluating.
    public var evalSeconds: Double
    /// The validation search behind the hyper-parameters, when they were tuned (`recrl evaluate
    /// --tune`); `nil` (omitted from JSON) for defaults.
    public var tuning: TuningOutcome?

    /// Creates a result.
    public init(
        policy: String, metrics: [String: Double], trainSeconds: Double, evalSeconds: Double,
        tuning: TuningOutcome? = nil
    ) {
        self.policy = policy
        self.metrics = metrics
        self.trainSeconds = trainSeconds
        self.evalSeconds = evalSeconds
        self.tuning = tuning
    }

    enum CodingKeys: String, CodingKey {
        case policy, metrics
        case trainSeconds = "train_seconds"
        case evalSeconds = "eval_seconds"
        case tuning
    }
}

/// Computes offline metrics of recommenders on a ``Split``.
public enum Evaluator {
    /// Fits `recommender` on `split.train`, evaluates it on `split.test`, and times both.
    public static func run(
        _ recommender: inout some Recommender, split: Split,
        config: EvaluationConfig = EvaluationConfig()
    ) throws -> PolicyResult {
        let t0 = Date()
        try recommender.fit(train: split.train)
        let t1 = Date()
        let metrics = evaluate(recommender, split: split, config: config)
        let t2 = Date()
        return PolicyResult(
            policy: recommender.name, metrics: metrics,
            trainSeconds: t1.timeIntervalSince(t0), evalSeconds: t2.timeIntervalSince(t1))
    }

    /// Evaluates an already-fitted recommender.
    ///
    /// Averages over test users with at least one relevant test item (`users_evaluated`).
    /// `full` reports, per K: `precision@K`, `recall@K`, `ndcg@K`, `map@K`, `hit@K`; and at the
    /// largest K: `coverage` (fraction of catalogue items in any list), `diversity` (mean intra-list
    /// diversity; omitted without genres or embeddings) and `novelty` (mean −log2(pop(i)/#train users)
    /// of recommended items, pop clipped to ≥ 1). `drr` reports `precision@K` and `ndcg@K`.
    /// Both add `rmse` and `mae` over all test interactions when the model predicts ratings.
    public static func evaluate(
        _ recommender: some Recommender, split: Split,
        config: EvaluationConfig = EvaluationConfig()
    ) -> [String: Double] {
        let ks = Array(Set(config.ks.filter { $0 > 0 })).sorted()
        var metrics: [String: Double] = [:]
        guard let maxK = ks.last else { return metrics }
        let train = split.train, test = split.test
        let trainUI = train.userItemMatrix()
        let itemCount = train.itemCount

        // Test items per user: all, and relevant ones.
        var testItems = [[Int]](repeating: [], count: test.userCount)
        var testRatings = [[Int: Float]](repeating: [:], count: test.userCount)
        var relevant = [Set<Int>](repeating: [], count: test.userCount)
        for r in 0..<test.interactionCount {
            let u = Int(test.users[r]), i = Int(test.items[r])
            testItems[u].append(i)
            testRatings[u][i] = test.ratings[r]
            if test.ratings[r] >= config.relevanceThreshold { relevant[u].insert(i) }
        }
        let evalUsers = (0..<test.userCount).filter { !relevant[$0].isEmpty }

        var sums = [String: Double]()
        var scores = [Float](repeating: 0, count: itemCount)
        var recommended = [Bool](repeating: false, count: itemCount)
        let pop = train.itemCounts()
        let trainUsers = max(1, trainUI.rowStart.indices.dropLast().reduce(0) { $0 + (trainUI.rowCount($1) > 0 ? 1 : 0) })
        var noveltySum = 0.0, noveltyLists = 0
        var diversitySum = 0.0, diversityLists = 0
        let similarity = diversitySimilarity(train: train, recommender: recommender, source: config.diversityFeatures)

        for u in evalUsers {
            recommender.scores(forUser: u, into: &scores)
            let ranked: [Int]
            switch config.evaluationProtocol {
            case .full:
                ranked = TopK.select(scores, k: maxK, excluding: u < trainUI.rows ? trainUI.columns(ofRow: u) : [])
            case .drr where recommender is any SequentialRecommender:
                let sequential = recommender as! any SequentialRecommender
                let ratings = testRatings[u]
                ranked = sequential.rankSequentially(user: u, candidates: testItems[u], rating: { ratings[$0] })
            case .drr:
                ranked = testItems[u].sorted { a, b in
                    let sa = scores[a].isNaN ? -Float.infinity : scores[a]
                    let sb = scores[b].isNaN ? -Float.infinity : scores[b]
                    return sa != sb ? sa > sb : a < b
                }
            }
            let rel = relevant[u]
            for k in ks {
                sums["precision@\(k)", default: 0] += RankingMetrics.precision(ranked: ranked, relevant: rel, k: k)
                sums["ndcg@\(k)", default: 0] += RankingMetrics.ndcg(ranked: ranked, relevant: rel, k: k)
                if config.evaluationProtocol == .full {
                    sums["recall@\(k)", default: 0] += RankingMetrics.recall(ranked: ranked, relevant: rel, k: k)
                    sums["map@\(k)", default: 0] += RankingMetrics.averagePrecision(ranked: ranked, relevant: rel, k: k)
                    sums["hit@\(k)", default: 0] += RankingMetrics.hit(ranked: ranked, relevant: rel, k: k)
                }
            }
            if config.evaluationProtocol == .full {
                let list = Array(ranked.prefix(maxK))
                for i in list { recommended[i] = true }
                if !list.isEmpty {
                    var s = 0.0
                    for i in list { s += -log2(Double(max(pop[i], 1)) / Double(trainUsers)) }
                    noveltySum += s / Double(list.count)
                    noveltyLists += 1
                }
                if let similarity, let d = RankingMetrics.intraListDiversity(list, similarity: similarity) {
                    diversitySum += d
                    diversityLists += 1
                }
            }
        }
        let n = Double(evalUsers.count)
        for (key, value) in sums { metrics[key] = n > 0 ? value / n : 0 }
        for k in ks {
            for name in config.evaluationProtocol == .full ? ["precision", "recall", "ndcg", "map", "hit"] : ["precision", "ndcg"] {
                metrics["\(name)@\(k)", default: 0] += 0
            }
        }
        if config.evaluationProtocol == .full {
            metrics["coverage"] = itemCount > 0 ? Double(recommended.filter { $0 }.count) / Double(itemCount) : 0
            metrics["novelty"] = noveltyLists > 0 ? noveltySum / Double(noveltyLists) : 0
            if similarity != nil { metrics["diversity"] = diversityLists > 0 ? diversitySum / Double(diversityLists) : 0 }
        }
        metrics["users_evaluated"] = n
        if let errors = ratingErrors(recommender, test: test) {
            metrics["rmse"] = errors.rmse
            metrics["mae"] = errors.mae
        }
        return metrics
    }

    /// RMSE and MAE of `predictRating` over all test interactions, or `nil` if the model does not
    /// predict ratings (its first prediction is `nil`) or the test set is empty.
    public static func ratingErrors(_ recommender: some Recommender, test: InteractionDataset) -> (rmse: Double, mae: Double)? {
        guard test.interactionCount > 0,
            recommender.predictRating(user: Int(test.users[0]), item: Int(test.items[0])) != nil
        else { return nil }
        var se = 0.0, ae = 0.0, n = 0
        for r in 0..<test.interactionCount {
            guard let p = recommender.predictRating(user: Int(test.users[r]), item: Int(test.items[r])) else { continue }
            let e = Double(p) - Double(test.ratings[r])
            se += e * e
            ae += abs(e)
            n += 1
        }
        guard n > 0 else { return nil }
        return ((se / Double(n)).squareRoot(), ae / Double(n))
    }

    static func diversitySimilarity(
        train: InteractionDataset, recommender: some Recommender,
        source: DiversityFeatures
    ) -> ((Int, Int) -> Double)? {
        let genres = train.itemInfo.genres
        let genreSim: ((Int, Int) -> Double)? =
            train.itemInfo.hasGenres
            ? { a, b in RankingMetrics.setCosine(genres[a], genres[b]) } : nil
        var embeddingSim: ((Int, Int) -> Double)? = nil
        if let emb = recommender.itemEmbeddings, emb.count == train.itemCount {
            embeddingSim = { a, b in RankingMetrics.vectorCosine(emb[a], emb[b]) }
        }
        switch source {
        case .genresFirst: return genreSim ?? embeddingSim
        case .embeddingsFirst: return embeddingSim ?? genreSim
        }
    }
}
