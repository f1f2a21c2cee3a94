import Foundation
import RecRLData

/// One point of a hyper-parameter grid: its values and a factory for the unfitted model.
public struct TuningCandidate {
    /// Hyper-parameter name → value (JSON names, e.g. `neighbours`, `learning_rate`).
    public var parameters: [String: Double]
    /// Builds the unfitted recommender with these values.
    public var make: () -> any Recommender

    /// Creates a candidate.
    public init(parameters: [String: Double], make: @escaping () -> any Recommender) {
        self.parameters = parameters
        self.make = make
    }
}

/// What validation-based tuning chose for one policy, and how every grid point scored.
public struct TuningOutcome: Codable, Sendable, Equatable {
    /// One grid point's validation score.
    public struct Trial: Codable, Sendable, Equatable {
        /// Hyper-parameter name → value.
        public var parameters: [String: Double]
        /// NDCG@10 on the validation split.
        public var validationNDCG: Double

        /// Creates a trial.
        public init(parameters: [String: Double], validationNDCG: Double) {
            self.parameters = parameters
            self.validationNDCG = validationNDCG
        }

        enum CodingKeys: String, CodingKey {
            case parameters
            case validationNDCG = "validation_ndcg@10"
        }
    }

    /// The chosen values (the best trial's parameters).
    public var chosen: [String: Double]
    /// The chosen values' validation NDCG@10.
    public var validationNDCG: Double
    /// Every grid point, in grid order.
    public var trials: [Trial]
    /// Training and validation interactions of the carved split.
    public var validationTrain: Int
    /// Validation interactions.
    public var validationTest: Int
    /// Wall-clock seconds of the whole search (every fit and validation evaluation).
    public var seconds: Double

    /// Creates an outcome.
    public init(
        chosen: [String: Double], validationNDCG: Double, trials: [Trial], validationTrain: Int, validationTest: Int,
        seconds: Double
    ) {
        self.chosen = chosen
        self.validationNDCG = validationNDCG
        self.trials = trials
        self.validationTrain = validationTrain
        self.validationTest = validationTest
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case chosen
        case validationNDCG = "validation_ndcg@10"
        case trials
        case validationTrain = "validation_train"
        case validationTest = "validation_test"
        case seconds
    }
}

/// Validation-based hyper-parameter search for the classical baselines.
///
/// The protocol: carve a validation split out of the **training** set with the same strategy
/// as the outer split (``DatasetTransforms/validationSplit(of:strategy:using:)``), fit every grid
/// point on the rest of training, score it by NDCG@10 on the validation split, and keep the
/// best (ties: the earlier grid point). The caller then refits the chosen model on all of
/// training and evaluates it once on test. ``tune(_:train:strategy:config:using:)`` takes the
/// training set only, so it cannot read the test split.
public enum BaselineTuning {
    /// The documented grids (the `recrl evaluate --tune` search space); `nil` for policies
    /// without hyper-parameters (`random`, `popularity`) and those not tuned here (DRR, whose
    /// grid, `DRRTuning` in RecRLDRR, is searched by the same ``tune(_:train:strategy:config:using:)``).
    ///
    /// - `itemknn`: neighbours {50, 100, 200, 400} × shrinkage {0, 10, 50, 100} (16 points).
    /// - `ease`: λ {10, 50, 100, 200, 300, 500, 1000, 2000} (8).
    /// - `ials`: factors {32, 64, 128} × regularisation {1, 10, 50} × confidence α {1, 5, 20}
    ///   (27; 10 sweeps each).
    /// - `als`: factors {16, 32, 64} × weighted-λ {0.05, 0.15, 0.5} (9).
    /// - `bpr`: learning rate {0.01, 0.05, 0.1} × epochs {30, 60, 120} (9; 64 factors).
    /// - `gru4rec`: hidden size {64, 128} × learning rate {0.001, 0.003} × epochs {10, 20} (8; the
    ///   other ``GRU4RecConfiguration`` values at their defaults).
    /// - Parameter seed: seed of the seeded models (iALS, ALS, BPR, GRU4Rec).
    public static func grid(for policy: String, seed: UInt64) -> [TuningCandidate]? {
        switch policy {
        case "itemknn":
            return product([50, 100, 200, 400], [0, 10, 50, 100]).map { k, s in
                TuningCandidate(parameters: ["neighbours": k, "shrinkage": s]) {
                    ItemKNNRecommender(neighbours: Int(k), shrinkage: Float(s))
                }
            }
        case "ease":
            return [10, 50, 100, 200, 300, 500, 1000, 2000].map { (l: Double) in
                TuningCandidate(parameters: ["regularization": l]) { EASERecommender(regularization: Float(l)) }
            }
        case "ials":
            return product([32, 64, 128], [1, 10, 50]).flatMap { f, r in
                [1.0, 5, 20].map { a in
                    TuningCandidate(parameters: ["factors": f, "regularization": r, "alpha": a]) {
                        IALSRecommender(factors: Int(f), regularization: Float(r), alpha: Float(a), seed: seed)
                    }
                }
            }
        case "als":
            return product([16, 32, 64], [0.05, 0.15, 0.5]).map { f, r in
                TuningCandidate(parameters: ["factors": f, "regularization": r]) {
                    ALSRecommender(factors: Int(f), regularization: Float(r), seed: seed)
                }
            }
        case "bpr":
            return product([0.01, 0.05, 0.1], [30, 60, 120]).map { lr, e in
                TuningCandidate(parameters: ["learning_rate": lr, "epochs": e]) {
                    BPRRecommender(epochs: Int(e), learningRate: Float(lr), seed: seed)
                }
            }
        case "gru4rec":
            return product([64, 128], [0.001, 0.003]).flatMap { h, lr in
                [10.0, 20].map { e in
                    TuningCandidate(parameters: ["hidden_size": h, "learning_rate": lr, "epochs": e]) {
                        GRU4RecRecommender(
                            configuration: GRU4RecConfiguration(hiddenSize: Int(h), learningRate: Float(lr), epochs: Int(e)),
                            seed: seed)
                    }
                }
            }
        default:
            return nil
        }
    }

    /// Scores every candidate on a validation split carved from `train` and returns the index
    /// of the best with the outcome.
    /// - Parameters:
    ///   - candidates: the grid (at least one point).
    ///   - train: the outer split's training set (the only data read).
    ///   - strategy: how to carve the validation split (the outer split's strategy).
    ///   - config: evaluation settings; the validation score is always NDCG@10 under its protocol.
    ///   - rng: randomness for a random validation split.
    /// - Throws: ``RecommenderError/invalidParameter(_:)`` for an empty grid; any fitting error.
    public static func tune(
        _ candidates: [TuningCandidate], train: InteractionDataset, strategy: SplitStrategy,
        config: EvaluationConfig, using rng: inout some RandomNumberGenerator
    ) throws -> (best: Int, outcome: TuningOutcome) {
        guard !candidates.isEmpty else { throw RecommenderError.invalidParameter("tuning needs at least one grid point") }
        let start = Date()
        let validation = DatasetTransforms.validationSplit(of: train, strategy: strategy, using: &rng)
        var validationConfig = config
        validationConfig.ks = [10]
        var trials: [TuningOutcome.Trial] = []
        var best = 0
        for (index, candidate) in candidates.enumerated() {
            var model = candidate.make()
            try model.fit(train: validation.train)
            let ndcg = Evaluator.evaluate(model, split: validation, config: validationConfig)["ndcg@10"] ?? 0
            trials.append(.init(parameters: candidate.parameters, validationNDCG: ndcg))
            if ndcg > trials[best].validationNDCG { best = index }
        }
        let outcome = TuningOutcome(
            chosen: candidates[best].parameters, validationNDCG: trials[best].validationNDCG,
            trials: trials, validationTrain: validation.train.interactionCount,
            validationTest: validation.test.interactionCount,
            seconds: Date().timeIntervalSince(start))
        return (best, outcome)
    }

    private static func product(_ a: [Double], _ b: [Double]) -> [(Double, Double)] {
        a.flatMap { x in b.map { y in (x, y) } }
    }
}
