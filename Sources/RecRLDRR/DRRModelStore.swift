import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents

/// The JSON manifest saved beside a model's weights (`manifest.json`).
public struct DRRManifest: Codable, Sendable, Equatable {
    /// The manifest format; readers refuse versions they do not know.
    public var formatVersion: Int = DRRManifest.currentFormatVersion
    /// The library version that wrote it.
    public var libraryVersion: String = recrlVersion
    /// The policy name, e.g. `drr-ave`.
    public var policy: String
    /// The hyper-parameters.
    public var configuration: DRRConfiguration
    /// The seed of training.
    public var seed: UInt64
    /// A hash of the ingested training interactions (see `InteractionDataset.fingerprint`).
    public var dataFingerprint: String
    /// Raw user ids, in index order (the id map kept with the model).
    public var userIDs: [String]
    /// Raw item ids, in index order.
    public var itemIDs: [String]
    /// The rating scale the rewards were computed on.
    public var rewardScale: RewardScale
    /// Metrics measured at training time (e.g. validation NDCG), by name.
    public var metrics: [String: Double]
    /// ISO-8601 time of writing.
    public var createdAt: String
    /// Interactions per item (index order) in the training data, for the cold-start
    /// fallback of ``OnlineDRR``: a user it has never seen, with no feedback yet, gets
    /// the most popular items. `nil` in manifests written without it (those users then
    /// get the actor's population-level action).
    public var itemPopularity: [Int]?

    /// The format this library writes.
    public static let currentFormatVersion = 1

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", libraryVersion = "library_version", policy, configuration, seed
        case dataFingerprint = "data_fingerprint", userIDs = "user_ids", itemIDs = "item_ids"
        case rewardScale = "reward_scale", metrics, createdAt = "created_at", itemPopularity = "item_popularity"
    }

    /// A manifest stamped with this library's version and the current time.
    /// - Parameter itemPopularity: interactions per item in the training data (e.g.
    ///   `train.itemCounts()`), for ``OnlineDRR``'s cold-start fallback.
    public init(policy: String, configuration: DRRConfiguration, seed: UInt64, dataFingerprint: String,
                userIDs: [String], itemIDs: [String], rewardScale: RewardScale, metrics: [String: Double] = [:],
                itemPopularity: [Int]? = nil) {
        self.itemPopularity = itemPopularity
        self.policy = policy
        self.configuration = configuration
        self.seed = seed
        self.dataFingerprint = dataFingerprint
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.rewardScale = rewardScale
        self.metrics = metrics
        createdAt = ISO8601DateFormatter().string(from: Date())
    }
}

/// Saves and loads DRR models as a folder: `model.safetensors` (embeddings, state
/// module, actor, critic and their targets) and `manifest.json`.
public enum DRRModelStore {
    /// The weights file name.
    public static let weightsFile = "model.safetensors"
    /// The manifest file name.
    public static let manifestFile = "manifest.json"

    /// Writes `model` and `manifest` into `directory` (created if needed). The weights
    /// are written first and the manifest last, each atomically, so a reader never sees
    /// a manifest without its weights.
    public static func save(_ model: DRRModel, manifest: DRRManifest, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [
            "embeddings.users": model.userEmbeddings,
            "embeddings.items": model.itemEmbeddings,
        ]
        tensors.merge(model.stateModule.namedParameters(prefix: "state."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.actor.namedParameters(prefix: "actor."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.targetActor.namedParameters(prefix: "target_actor."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.critics[0].namedParameters(prefix: "critic."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.targetCritics[0].namedParameters(prefix: "target_critic."), uniquingKeysWith: { a, _ in a })
        try SafeTensors(tensors: tensors, metadata: ["format": "recrl-drr", "policy": manifest.policy]).write(to: directory.appendingPathComponent(weightsFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: directory.appendingPathComponent(manifestFile), options: .atomic)
    }

    /// Reads a model folder written by ``save(_:manifest:to:)``; throws a ``DRRError``
    /// naming what is missing or inconsistent.
    public static func load(from directory: URL) throws -> (model: DRRModel, manifest: DRRManifest) {
        let manifestURL = directory.appendingPathComponent(manifestFile)
        guard let data = try? Data(contentsOf: manifestURL) else {
            throw DRRError.invalidModel("cannot read \(manifestURL.path)")
        }
        let manifest: DRRManifest
        do { manifest = try JSONDecoder().decode(DRRManifest.self, from: data) } catch {
            throw DRRError.invalidModel("\(manifestURL.path) is not a DRR manifest: \(error)")
        }
        guard manifest.formatVersion <= DRRManifest.currentFormatVersion else {
            throw DRRError.invalidModel("manifest format \(manifest.formatVersion) is newer than this library's \(DRRManifest.currentFormatVersion)")
        }
        let weights = try SafeTensors(contentsOf: directory.appendingPathComponent(weightsFile))
        guard let users = weights.tensors["embeddings.users"], let items = weights.tensors["embeddings.items"] else {
            throw DRRError.invalidModel("weights lack the embeddings")
        }
        guard users.shape[0] == manifest.userIDs.count, items.shape[0] == manifest.itemIDs.count else {
            throw DRRError.invalidModel("embeddings (\(users.shape), \(items.shape)) do not match the manifest's \(manifest.userIDs.count) users and \(manifest.itemIDs.count) items")
        }
        if let popularity = manifest.itemPopularity {
            guard popularity.count == manifest.itemIDs.count, popularity.allSatisfy({ $0 >= 0 }) else {
                throw DRRError.invalidModel("item_popularity has \(popularity.count) entries (negative ones: \(popularity.filter { $0 < 0 }.count)) for \(manifest.itemIDs.count) items")
            }
        }
        var rng = Xoshiro256StarStar(seed: manifest.seed)
        var model = try DRRModel(configuration: manifest.configuration, userEmbeddings: users, itemEmbeddings: items,
                                 rewardScale: manifest.rewardScale, using: &rng)
        try model.stateModule.loadParameters(from: weights.tensors, prefix: "state.")
        var actor = model.learner.actor, critic = model.learner.critics[0]
        try actor.loadParameters(from: weights.tensors, prefix: "actor.")
        try critic.loadParameters(from: weights.tensors, prefix: "critic.")
        var targetActor = actor, targetCritic = critic
        try targetActor.loadParameters(from: weights.tensors, prefix: "target_actor.")
        try targetCritic.loadParameters(from: weights.tensors, prefix: "target_critic.")
        model.learner = DDPGLearner(actor: actor, critic: critic, configuration: manifest.configuration.learnerConfiguration, seed: manifest.seed)
        model.learner.setTargets(actor: targetActor, critics: [targetCritic])
        return (model, manifest)
    }
}
