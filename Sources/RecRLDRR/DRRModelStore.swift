import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLData

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
    /// SHA-256 (hex) of the weights file this manifest belongs to, written by
    /// ``DRRModelStore/save(_:manifest:to:)`` and verified by ``DRRModelStore/load(from:)``;
    /// nil in folders written before checksums existed (then only shapes and finiteness
    /// are checked).
    public var weightsSHA256: String?
    /// LIRD's list-wise hyper-parameters for a LIRD model (policy `lird`; its `base`
    /// equals ``configuration``); nil for DRR. The model's list size comes from it.
    public var lird: LIRDConfiguration? = nil
    /// Where the model came from (data, split, code revision, registry parent); `nil` in
    /// manifests written without it. ``ModelRegistry`` fills in the registry fields.
    public var lineage: ModelLineage?
    /// Each training user's browsing history at the end of the training data (index order
    /// of ``userIDs``): their last positive items, as item indices, oldest first
    /// (``browsingHistories(of:threshold:length:)``). DeepPage has no user embedding, so
    /// ``OnlineDeepPage`` starts a known user's first page from it; `nil` in manifests
    /// written without it (known users then start from an empty history).
    public var userHistories: [[Int]]?

    /// The format this library writes.
    public static let currentFormatVersion = 1

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", libraryVersion = "library_version", policy, configuration, seed
        case dataFingerprint = "data_fingerprint", userIDs = "user_ids", itemIDs = "item_ids"
        case rewardScale = "reward_scale", metrics, createdAt = "created_at", itemPopularity = "item_popularity"
        case weightsSHA256 = "weights_sha256", lird, lineage, userHistories = "user_histories"
    }

    /// Every user's last `length` positive items (rating above `threshold`) of `train`,
    /// oldest first, in user index order: the value of ``userHistories``.
    public static func browsingHistories(of train: InteractionDataset, threshold: Float, length: Int) -> [[Int]] {
        let histories = UserHistories(train)
        return (0..<train.userCount).map { u in
            u < histories.userCount ? Array(histories.positives(user: u, threshold: threshold).suffix(length)) : []
        }
    }

    /// A manifest stamped with this library's version and the current time.
    /// - Parameter itemPopularity: interactions per item in the training data (e.g.
    ///   `train.itemCounts()`), for ``OnlineDRR``'s cold-start fallback.
    public init(
        policy: String, configuration: DRRConfiguration, seed: UInt64, dataFingerprint: String,
        userIDs: [String], itemIDs: [String], rewardScale: RewardScale, metrics: [String: Double] = [:],
        itemPopularity: [Int]? = nil
    ) {
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

/// Saves and loads DRR models as a folder that survives a crash at any point of a save.
///
/// Layout of a model folder `DIR`:
///
/// ```
/// DIR/versions/v000001/model.safetensors   weights (embeddings, state module, actor, critic, targets)
/// DIR/versions/v000001/manifest.json       manifest, with the SHA-256 of the weights
/// DIR/current -> versions/v000001          the version a load reads
/// DIR/model.safetensors -> current/model.safetensors   (links for tools that read the files directly)
/// DIR/manifest.json -> current/manifest.json
/// ```
///
/// A save writes a complete new version directory (every file `fsync`ed, then the directory
/// renamed into `versions/`), and only then moves `current` with an atomic rename of a
/// symbolic link. A crash before that rename leaves the previous version current (and at
/// most an unfinished `versions/.tmp-*` folder, removed by a later save); after it, the
/// new one. A load resolves `current` once and reads both files from that one version, so
/// it never pairs one version's weights with another's manifest; it verifies the weights'
/// checksum, every tensor's shape and that every weight is finite.
///
/// Folders written by earlier versions (`model.safetensors` and `manifest.json` as plain
/// files, no `current`) still load, and the next save into them converts them.
public enum DRRModelStore {
    /// The weights file name.
    public static let weightsFile = "model.safetensors"
    /// The manifest file name.
    public static let manifestFile = "manifest.json"
    /// The folder of immutable versions inside a model folder.
    public static let versionsFolder = "versions"
    /// The symbolic link naming the current version.
    public static let currentLink = "current"
    /// How many versions a save keeps (the current one and the ones before it).
    public static let defaultVersionsKept = 3

    /// Writes `model` and `manifest` as a new version of the model folder `directory`
    /// (created if needed), then makes it the current version atomically. Refuses a model
    /// with a non-finite weight, and a manifest of policy ``deepPagePolicy`` (the folder
    /// would not load).
    ///
    /// - Parameters:
    ///   - keep: versions kept after the save, at least 1 (older ones are removed).
    /// - Returns: the new version's folder.
    @discardableResult
    public static func save(
        _ model: DRRModel, manifest: DRRManifest, to directory: URL,
        keep: Int = defaultVersionsKept
    ) throws -> URL {
        guard manifest.policy != deepPagePolicy else {
            throw DRRError.invalidModel("a DRR or LIRD model cannot be saved with the manifest policy \(deepPagePolicy)")
        }
        return try save(
            SafeTensors(tensors: weights(of: model), metadata: ["format": "recrl-drr", "policy": manifest.policy]),
            manifest: manifest, to: directory, keep: keep)
    }

    /// The manifest policy of a DeepPage model.
    public static let deepPagePolicy = "deeppage"

    /// Writes a DeepPage model (manifest policy ``deepPagePolicy``, its
    /// ``DRRManifest/configuration`` the model's `base`) as a new version of `directory`, with
    /// the guarantees of ``save(_:manifest:to:keep:)``. The DeepPage configuration travels in
    /// the weights' metadata (``DeepPageModel/safeTensors()``).
    @discardableResult
    public static func save(
        _ model: DeepPageModel, manifest: DRRManifest, to directory: URL,
        keep: Int = defaultVersionsKept
    ) throws -> URL {
        guard manifest.policy == deepPagePolicy, manifest.configuration == model.configuration.base else {
            throw DRRError.invalidModel("a DeepPage model needs a manifest of policy \(deepPagePolicy) and the model's base configuration")
        }
        return try save(model.safeTensors(), manifest: manifest, to: directory, keep: keep)
    }

    /// Writes `file` and `manifest` as a new version of `directory` and makes it current.
    static func save(_ file: SafeTensors, manifest: DRRManifest, to directory: URL, keep: Int) throws -> URL {
        if let bad = file.tensors.first(where: { !$0.value.isFinite })?.key {
            throw DRRError.invalidModel("refusing to save: tensor '\(bad)' has a NaN or infinite value")
        }
        let bytes = file.encoded()
        var manifest = manifest
        manifest.weightsSHA256 = SHA256.hexDigest(of: bytes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let manifestBytes = [UInt8](try encoder.encode(manifest))

        let fm = FileManager.default
        let versions = directory.appendingPathComponent(versionsFolder)
        try fm.createDirectory(at: versions, withIntermediateDirectories: true)
        removeAbandonedTemporaries(in: versions)
        let temporary = versions.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
        do {
            try DurableFiles.writeNewFile(bytes, to: temporary.appendingPathComponent(weightsFile))
            try DurableFiles.writeNewFile(manifestBytes, to: temporary.appendingPathComponent(manifestFile))
            try DurableFiles.syncDirectory(temporary)
        } catch {
            try? fm.removeItem(at: temporary)
            throw DRRError.invalidModel("cannot write the model: \(error)")
        }
        // Name the version; a concurrent saver may take a number first, so try the next one.
        var number = (versionNumbers(in: versions).max() ?? 0) + 1
        var final: URL
        while true {
            final = versions.appendingPathComponent(versionName(number))
            if !fm.fileExists(atPath: final.path) {
                do { try DurableFiles.rename(temporary, to: final); break } catch  where fm.fileExists(atPath: final.path) {
                    number += 1
                    continue
                } catch {
                    try? fm.removeItem(at: temporary)
                    throw DRRError.invalidModel("cannot publish the model: \(error)")
                }
            }
            number += 1
        }
        do {
            try DurableFiles.replaceSymbolicLink(
                directory.appendingPathComponent(currentLink),
                target: "\(versionsFolder)/\(final.lastPathComponent)")
            for file in [weightsFile, manifestFile] {
                let link = directory.appendingPathComponent(file), target = "\(currentLink)/\(file)"
                if DurableFiles.symbolicLinkTarget(link) != target { try DurableFiles.replaceSymbolicLink(link, target: target) }
            }
        } catch {
            throw DRRError.invalidModel("cannot make the new version current: \(error)")
        }
        removeOldVersions(in: versions, keep: max(1, keep), current: final.lastPathComponent)
        return final
    }

    /// The folder a load of `directory` reads: the current version, or `directory` itself for
    /// a folder in the earlier flat layout.
    public static func currentVersionDirectory(of directory: URL) -> URL {
        if let target = DurableFiles.symbolicLinkTarget(directory.appendingPathComponent(currentLink)) {
            return target.hasPrefix("/") ? URL(fileURLWithPath: target) : directory.appendingPathComponent(target)
        }
        return directory
    }

    /// Reads the current version of a model folder written by ``save(_:manifest:to:keep:)``
    /// (or a flat folder of an earlier version); throws a ``DRRError`` naming what is
    /// missing or inconsistent: an unreadable manifest, a weights checksum that does not
    /// match, a missing tensor, a wrong shape or a non-finite weight.
    public static func load(from directory: URL) throws -> (model: DRRModel, manifest: DRRManifest) {
        let (manifest, weights) = try read(from: directory)
        guard manifest.policy != deepPagePolicy else {
            throw DRRError.invalidModel("model folder '\(directory.lastPathComponent)' holds a DeepPage model: load it with loadDeepPage(from:)")
        }
        guard let users = weights.tensors["embeddings.users"], let items = weights.tensors["embeddings.items"],
            users.rank == 2, items.rank == 2
        else {
            throw DRRError.invalidModel("weights lack the embeddings")
        }
        guard users.shape[0] == manifest.userIDs.count, items.shape[0] == manifest.itemIDs.count else {
            throw DRRError.invalidModel(
                "embeddings (\(users.shape), \(items.shape)) do not match the manifest's \(manifest.userIDs.count) users and \(manifest.itemIDs.count) items")
        }
        var rng = Xoshiro256StarStar(seed: manifest.seed)
        var model = try DRRModel(
            configuration: manifest.configuration, userEmbeddings: users, itemEmbeddings: items,
            rewardScale: manifest.rewardScale, listSize: manifest.lird?.listSize ?? 1, using: &rng)
        try model.stateModule.loadParameters(from: weights.tensors, prefix: "state.")
        var actor = model.learner.actor, critic = model.learner.critics[0]
        try actor.loadParameters(from: weights.tensors, prefix: "actor.")
        try critic.loadParameters(from: weights.tensors, prefix: "critic.")
        var targetActor = actor, targetCritic = critic
        try targetActor.loadParameters(from: weights.tensors, prefix: "target_actor.")
        try targetCritic.loadParameters(from: weights.tensors, prefix: "target_critic.")
        model.learner = DDPGLearner(actor: actor, critic: critic, configuration: manifest.configuration.learnerConfiguration, seed: manifest.seed)
        model.learner.setTargets(actor: targetActor, critics: [targetCritic])
        model.installTargetProjection()
        return (model, manifest)
    }

    /// Reads the current version of a model folder holding a DeepPage model (manifest policy
    /// ``deepPagePolicy``), with the checks of ``load(from:)``.
    public static func loadDeepPage(from directory: URL) throws -> (model: DeepPageModel, manifest: DRRManifest) {
        let (manifest, weights) = try read(from: directory)
        guard manifest.policy == deepPagePolicy else {
            throw DRRError.invalidModel("model folder '\(directory.lastPathComponent)' holds no DeepPage model (policy \(manifest.policy))")
        }
        let model = try DeepPageModel(safeTensors: weights)
        guard model.configuration.base == manifest.configuration, model.itemCount == manifest.itemIDs.count else {
            throw DRRError.invalidModel(
                "the DeepPage weights (\(model.itemCount) items) do not match the manifest's \(manifest.itemIDs.count) items and configuration")
        }
        return (model, manifest)
    }

    /// The manifest and the verified weights (checksum, finiteness, item popularity) of the
    /// current version of `directory`.
    static func read(from directory: URL) throws -> (manifest: DRRManifest, weights: SafeTensors) {
        let version = currentVersionDirectory(of: directory)
        let manifestURL = version.appendingPathComponent(manifestFile)
        guard let data = try? Data(contentsOf: manifestURL) else {
            throw DRRError.invalidModel("cannot read the manifest of model folder '\(directory.lastPathComponent)'")
        }
        let manifest: DRRManifest
        do { manifest = try JSONDecoder().decode(DRRManifest.self, from: data) } catch {
            throw DRRError.invalidModel("the manifest of model folder '\(directory.lastPathComponent)' is not a DRR manifest: \(error)")
        }
        guard manifest.formatVersion <= DRRManifest.currentFormatVersion else {
            throw DRRError.invalidModel("manifest format \(manifest.formatVersion) is newer than this library's \(DRRManifest.currentFormatVersion)")
        }
        let weightsBytes: [UInt8]
        do { weightsBytes = [UInt8](try Data(contentsOf: version.appendingPathComponent(weightsFile))) } catch {
            throw DRRError.invalidModel("cannot read the weights of model folder '\(directory.lastPathComponent)'")
        }
        if let expected = manifest.weightsSHA256 {
            let actual = SHA256.hexDigest(of: weightsBytes)
            guard actual == expected else {
                throw DRRError.invalidModel("the weights' SHA-256 \(actual.prefix(12))… does not match the manifest's \(expected.prefix(12))…")
            }
        }
        let weights = try SafeTensors(bytes: weightsBytes)
        if let bad = weights.tensors.first(where: { !$0.value.isFinite })?.key {
            throw DRRError.invalidModel("tensor '\(bad)' has a NaN or infinite value")
        }
        if let popularity = manifest.itemPopularity {
            guard popularity.count == manifest.itemIDs.count, popularity.allSatisfy({ $0 >= 0 }) else {
                throw DRRError.invalidModel(
                    "item_popularity has \(popularity.count) entries (negative ones: \(popularity.filter { $0 < 0 }.count)) for \(manifest.itemIDs.count) items"
                )
            }
        }
        return (manifest, weights)
    }

    /// Every tensor a saved model holds, by name.
    static func weights(of model: DRRModel) -> [String: Tensor] {
        var tensors: [String: Tensor] = [
            "embeddings.users": model.userEmbeddings,
            "embeddings.items": model.itemEmbeddings,
        ]
        tensors.merge(model.stateModule.namedParameters(prefix: "state."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.actor.namedParameters(prefix: "actor."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.targetActor.namedParameters(prefix: "target_actor."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.critics[0].namedParameters(prefix: "critic."), uniquingKeysWith: { a, _ in a })
        tensors.merge(model.learner.targetCritics[0].namedParameters(prefix: "target_critic."), uniquingKeysWith: { a, _ in a })
        return tensors
    }

    static func versionName(_ number: Int) -> String {
        let digits = String(number)
        return "v" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    static func versionNumbers(in versions: URL) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: versions.path)) ?? []
        return names.compactMap { $0.hasPrefix("v") ? Int($0.dropFirst()) : nil }
    }

    /// Removes `.tmp-PID-*` folders whose writer is no longer running.
    static func removeAbandonedTemporaries(in versions: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: versions.path)) ?? []
        for name in names where name.hasPrefix(".tmp-") {
            let parts = name.split(separator: "-")
            if parts.count >= 3, let pid = Int32(parts[1]), !DurableFiles.processIsAlive(pid) {
                try? FileManager.default.removeItem(at: versions.appendingPathComponent(name))
            }
        }
    }

    static func removeOldVersions(in versions: URL, keep: Int, current: String) {
        let numbers = versionNumbers(in: versions).sorted(by: >)
        for n in numbers.dropFirst(keep) where versionName(n) != current {
            try? FileManager.default.removeItem(at: versions.appendingPathComponent(versionName(n)))
        }
    }
}

extension DRRModel {
    /// The name of the first weight tensor (as saved by ``DRRModelStore``) holding a NaN or
    /// an infinity, or `nil` when every weight is finite.
    public var firstNonFiniteTensor: String? {
        DRRModelStore.weights(of: self).sorted { $0.key < $1.key }.first { !$0.value.isFinite }.map { "tensor '\($0.key)'" }
    }
}
