import Foundation

// The JSON objects the subcommands print with --json. Field names are part of the tool's
// interface (scripts and checks parse them): each type spells its keys out in `CodingKeys`
// and encodes optional fields as `null` rather than leaving them out.

/// `recrl info --json`.
struct InfoOutput: Encodable {
    var version: String
    var blasCore: String
    var gemmKernel: String
    var blasThreads: Int
    var blasConfig: String
    var blasGenericCore: Bool
    var recommendedCoretype: String?
    var openblasCoretypeEnv: String?

    enum CodingKeys: String, CodingKey {
        case version, blasCore = "blas_core", gemmKernel = "gemm_kernel", blasThreads = "blas_threads"
        case blasConfig = "blas_config", blasGenericCore = "blas_generic_core"
        case recommendedCoretype = "recommended_coretype", openblasCoretypeEnv = "openblas_coretype_env"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(blasCore, forKey: .blasCore)
        try c.encode(gemmKernel, forKey: .gemmKernel)
        try c.encode(blasThreads, forKey: .blasThreads)
        try c.encode(blasConfig, forKey: .blasConfig)
        try c.encode(blasGenericCore, forKey: .blasGenericCore)
        try c.encode(recommendedCoretype, forKey: .recommendedCoretype)
        try c.encode(openblasCoretypeEnv, forKey: .openblasCoretypeEnv)
    }
}

/// `recrl train --json`.
struct TrainOutput: Encodable {
    var policy: String
    var out: String
    var seed: UInt64
    /// The whole fit, embeddings included.
    var trainSeconds: Double
    /// The episode loop alone, and its rate.
    var trainingLoopSeconds: Double
    var episodesPerSecond: Double
    var parallelism: Int
    var precisionAt10: Double
    var ndcgAt10: Double
    var episodes: Int
    var dataFingerprint: String
    /// `test`, or `validation` with --validation.
    var evaluatedOn: String

    enum CodingKeys: String, CodingKey {
        case policy, out, seed, trainSeconds = "train_seconds", trainingLoopSeconds = "training_loop_seconds"
        case episodesPerSecond = "episodes_per_second", parallelism, precisionAt10 = "precision@10", ndcgAt10 = "ndcg@10"
        case episodes, dataFingerprint = "data_fingerprint", evaluatedOn = "evaluated_on"
    }
}

/// `recrl simulate --json`.
struct SimulateOutput: Encodable {
    /// One policy's episodes.
    struct Result: Encodable {
        var policy: String
        var meanCumulativeReward: Double
        /// Sample standard deviation of the per-episode cumulative reward.
        var std: Double
        var seconds: Double

        enum CodingKeys: String, CodingKey {
            case policy, meanCumulativeReward = "mean_cumulative_reward", std, seconds
        }
    }

    /// Always `pmf-world-model`.
    var simulation = "pmf-world-model"
    var episodes: Int
    var horizon: Int
    var seed: UInt64
    var results: [Result]
}

/// `recrl demo --json`.
struct DemoOutput: Encodable {
    var seed: UInt64
    var epochs: Int
    var finalMSE: Double
    var parameters: Int
    var seconds: Double
    var blasCore: String

    enum CodingKeys: String, CodingKey {
        case seed, epochs, finalMSE = "final_mse", parameters, seconds, blasCore = "blas_core"
    }
}

/// `recrl export-events --json`.
struct ExportEventsOutput: Encodable {
    /// The event log read.
    var events: String
    /// The CSV file written.
    var out: String
    var rows: Int
    /// The impressions file written (`impressions.jsonl` beside the CSV), when the log
    /// holds impressions.
    var impressionsOut: String?
    /// Number of impressions written.
    var impressions: Int
    enum CodingKeys: String, CodingKey { case events, out, rows, impressions, impressionsOut = "impressions_out" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(events, forKey: .events)
        try c.encode(out, forKey: .out)
        try c.encode(rows, forKey: .rows)
        try c.encode(impressions, forKey: .impressions)
        try c.encode(impressionsOut, forKey: .impressionsOut)
    }
}
