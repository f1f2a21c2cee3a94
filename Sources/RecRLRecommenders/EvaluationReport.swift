import Foundation
import RecRLData

/// The machine-readable result of an evaluation run (the `recrl evaluate --json` output).
///
/// JSON shape: `{"dataset": {"users", "items", "interactions", "train", "test"}, "split", "protocol",
/// "seed", "relevance_threshold", "validation": {...}, "results": [{"policy", "metrics", "train_seconds",
/// "eval_seconds"}]}`.
public struct EvaluationReport: Codable, Sendable {
    /// Sizes of the data set and its split.
    public struct DatasetSummary: Codable, Sendable, Equatable {
        /// Users in the id map.
        public var users: Int
        /// Items in the id map.
        public var items: Int
        /// Interactions after validation.
        public var interactions: Int
        /// Training interactions.
        public var train: Int
        /// Test interactions.
        public var test: Int

        /// Creates a summary.
        public init(users: Int, items: Int, interactions: Int, train: Int, test: Int) {
            self.users = users
            self.items = items
            self.interactions = interactions
            self.train = train
            self.test = test
        }

        /// Summarises a data set and its split.
        public init(dataset: InteractionDataset, split: Split) {
            self.init(
                users: dataset.userCount, items: dataset.itemCount, interactions: dataset.interactionCount,
                train: split.train.interactionCount, test: split.test.interactionCount)
        }
    }

    /// Data set sizes.
    public var dataset: DatasetSummary
    /// Split name (`temporal`, `random`, `leave-last`).
    public var split: String
    /// Protocol name (`full`, `drr`).
    public var evaluationProtocol: String
    /// Seed used for the split and seeded policies.
    public var seed: UInt64
    /// Relevance threshold on ratings.
    public var relevanceThreshold: Double
    /// Validation report of the loaded data.
    public var validation: ValidationReport
    /// One entry per policy, in the order run.
    public var results: [PolicyResult]

    /// Creates a report.
    public init(
        dataset: DatasetSummary, split: String, evaluationProtocol: String, seed: UInt64,
        relevanceThreshold: Double, validation: ValidationReport, results: [PolicyResult]
    ) {
        self.dataset = dataset
        self.split = split
        self.evaluationProtocol = evaluationProtocol
        self.seed = seed
        self.relevanceThreshold = relevanceThreshold
        self.validation = validation
        self.results = results
    }

    enum CodingKeys: String, CodingKey {
        case dataset, split
        case evaluationProtocol = "protocol"
        case seed
        case relevanceThreshold = "relevance_threshold"
        case validation, results
    }

    /// The report as one compact JSON object with sorted keys.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
