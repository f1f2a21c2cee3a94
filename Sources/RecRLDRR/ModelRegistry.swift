import Foundation
import RecRLNN

/// Where a model came from, kept in its manifest (``DRRManifest/lineage``).
public struct ModelLineage: Codable, Sendable, Equatable {
    /// The training data: a data folder, a split folder or a description such as
    /// `synthetic(seed 0)`. The data's content is identified by ``DRRManifest/dataFingerprint``.
    public var data: String?
    /// The split the model was trained on (`SplitStrategy.name`).
    public var split: String?
    /// The git revision of the code that trained it, when known.
    public var gitRevision: String?
    /// The registry version that was in production when this one was registered (its parent
    /// in the registry's history); set by ``ModelRegistry/register(_:manifest:metrics:)``.
    public var parentVersion: String?
    /// ISO-8601 time of registration; set by the registry.
    public var registeredAt: String?

    /// A lineage record.
    public init(
        data: String? = nil, split: String? = nil, gitRevision: String? = nil,
        parentVersion: String? = nil, registeredAt: String? = nil
    ) {
        self.data = data
        self.split = split
        self.gitRevision = gitRevision
        self.parentVersion = parentVersion
        self.registeredAt = registeredAt
    }

    enum CodingKeys: String, CodingKey {
        case data, split, gitRevision = "git_revision", parentVersion = "parent_version", registeredAt = "registered_at"
    }
}

/// A model registry on a filesystem path (a local folder, a mounted volume or an object-store
/// mount): immutable model versions and stage pointers that move atomically.
///
/// Layout (a ``DRRModelStore`` model folder plus stage pointers):
///
/// ```
/// REG/versions/v000001/{model.safetensors, manifest.json}   immutable versions (weights + manifest
///                                                           with metrics and lineage, SHA-256 checked)
/// REG/current -> versions/v000007                           the latest registered version
/// REG/staging -> versions/v000007                           stage pointers (symbolic links)
/// REG/production -> versions/v000005
/// REG/stages/production.history                             the versions promoted to a stage, oldest first
/// ```
///
/// A version holds any model ``DRRModelStore`` saves: DRR and LIRD models (``load(version:)``)
/// or DeepPage models (manifest policy ``DRRModelStore/deepPagePolicy``,
/// ``loadDeepPage(version:)``); one registry may hold both kinds, and each load refuses a
/// version of the other kind.
///
/// Registering writes a new version with ``DRRModelStore/save(_:manifest:to:keep:)`` (so a
/// crash leaves either no new version or a complete one) and keeps every older version;
/// ``garbageCollect(keep:)`` removes old ones. A stage pointer is a symbolic link replaced by an
/// atomic rename, the same mechanism as the model store's `current`: a reader resolving it
/// sees the old version or the new one, never a mixture. ``load(stage:)`` resolves the pointer
/// once and reads both files from that version folder.
///
/// Readers (serving replicas following `production`, ``version(at:)`` polls) may run
/// concurrently with one writer. Version numbering is safe against concurrent registrations;
/// promotions and rollbacks should come from one process at a time (a pipeline step or an
/// operator), since two concurrent promotions of the same stage may each record their version
/// in the stage's history with only one of the records kept.
public struct ModelRegistry: Sendable {
    /// A stage a version can be promoted to.
    public enum Stage: String, CaseIterable, Sendable, Codable {
        case staging, production
    }

    /// A registered version.
    public struct Entry: Sendable {
        /// The version name, e.g. `v000003`.
        public var version: String
        /// Its folder.
        public var directory: URL
        /// Its manifest (policy, configuration, metrics, lineage, weights checksum).
        public var manifest: DRRManifest
        /// The stages that point at it now.
        public var stages: [Stage]
    }

    /// The registry's root folder.
    public let directory: URL

    /// The folder that stores each stage's promotion history.
    public static let stagesFolder = "stages"

    /// A registry rooted at `directory` (created on first registration).
    public init(directory: URL) {
        self.directory = directory
    }

    // MARK: Reading

    /// The registered versions, oldest first.
    public func versions() -> [String] {
        DRRModelStore.versionNumbers(in: versionsURL).sorted().map(DRRModelStore.versionName)
    }

    /// The folder of `version`.
    public func directory(of version: String) -> URL { versionsURL.appendingPathComponent(version) }

    /// The version `stage` points at, or `nil` if nothing was promoted to it.
    public func version(at stage: Stage) -> String? {
        guard let target = DurableFiles.symbolicLinkTarget(directory.appendingPathComponent(stage.rawValue)) else { return nil }
        return (target as NSString).lastPathComponent
    }

    /// The entry of `version`.
    /// - Throws: ``DRRError/invalidModel(_:)`` for an unknown version or an unreadable manifest.
    public func entry(_ version: String) throws -> Entry {
        let folder = try existingFolder(of: version)
        let data: Data
        do { data = try Data(contentsOf: folder.appendingPathComponent(DRRModelStore.manifestFile)) } catch {
            throw DRRError.invalidModel("cannot read the manifest of version \(version)")
        }
        let manifest: DRRManifest
        do { manifest = try JSONDecoder().decode(DRRManifest.self, from: data) } catch {
            throw DRRError.invalidModel("the manifest of version \(version) is not a DRR manifest: \(error)")
        }
        return Entry(
            version: version, directory: folder, manifest: manifest,
            stages: Stage.allCases.filter { self.version(at: $0) == version })
    }

    /// Loads the DRR or LIRD model of `version` (checksum, shapes and finiteness verified by
    /// ``DRRModelStore/load(from:)``).
    /// - Throws: ``DRRError/invalidModel(_:)`` for an unknown version, a version holding a
    ///   DeepPage model (load it with ``loadDeepPage(version:)``) or a failed check.
    public func load(version: String) throws -> (model: DRRModel, manifest: DRRManifest) {
        try DRRModelStore.load(from: try existingFolder(of: version))
    }

    /// Loads the DRR or LIRD model of the version `stage` points at, resolving the pointer once.
    /// - Returns: the model, its manifest and its version name.
    /// - Throws: ``DRRError/invalidModel(_:)`` when nothing was promoted to `stage`, or as
    ///   ``load(version:)``.
    public func load(stage: Stage) throws -> (model: DRRModel, manifest: DRRManifest, version: String) {
        try loadPromoted(stage, load(version:))
    }

    /// Loads the DeepPage model of `version` (checksum, shapes and finiteness verified by
    /// ``DRRModelStore/loadDeepPage(from:)``).
    /// - Throws: ``DRRError/invalidModel(_:)`` for an unknown version, a version holding a
    ///   DRR or LIRD model (load it with ``load(version:)``) or a failed check.
    public func loadDeepPage(version: String) throws -> (model: DeepPageModel, manifest: DRRManifest) {
        try DRRModelStore.loadDeepPage(from: try existingFolder(of: version))
    }

    /// Loads the DeepPage model of the version `stage` points at, resolving the pointer once.
    /// - Returns: the model, its manifest and its version name.
    /// - Throws: ``DRRError/invalidModel(_:)`` when nothing was promoted to `stage`, or as
    ///   ``loadDeepPage(version:)``.
    public func loadDeepPage(stage: Stage) throws -> (model: DeepPageModel, manifest: DRRManifest, version: String) {
        try loadPromoted(stage, loadDeepPage(version:))
    }

    /// The versions promoted to `stage`, oldest first (repeats included: a version promoted
    /// twice appears twice).
    public func history(of stage: Stage) -> [String] {
        guard let text = try? String(contentsOf: historyURL(stage), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    // MARK: Writing

    /// Adds the DRR or LIRD `model` as a new immutable version. The manifest's
    /// ``DRRManifest/lineage`` gains the registration time and, as parent, the version in
    /// production now; `metrics` are merged into ``DRRManifest/metrics`` (overriding equal
    /// names). Older versions are kept.
    /// - Returns: the new entry (on no stage yet).
    /// - Throws: ``DRRError/invalidModel(_:)`` for a manifest of the DeepPage policy or a
    ///   non-finite weight; nothing is registered then.
    @discardableResult
    public func register(_ model: DRRModel, manifest: DRRManifest, metrics: [String: Double] = [:]) throws -> Entry {
        try add(manifest, metrics: metrics) { try DRRModelStore.save(model, manifest: $0, to: directory, keep: Int.max) }
    }

    /// Adds the DeepPage `model` as a new immutable version, with the metrics and lineage of
    /// the DRR overload of `register(_:manifest:metrics:)`. Serving replicas that
    /// follow a stage (`recrl serve --registry`) serve its pages once it is promoted.
    /// - Throws: ``DRRError/invalidModel(_:)`` unless `manifest` is of policy
    ///   ``DRRModelStore/deepPagePolicy`` with the model's base configuration, or for a
    ///   non-finite weight; nothing is registered then.
    @discardableResult
    public func register(_ model: DeepPageModel, manifest: DRRManifest, metrics: [String: Double] = [:]) throws -> Entry {
        try add(manifest, metrics: metrics) { try DRRModelStore.save(model, manifest: $0, to: directory, keep: Int.max) }
    }

    /// Adds the current version of the model folder `modelFolder` (written by
    /// ``DRRModelStore/save(_:manifest:to:keep:)``: DRR, LIRD or DeepPage, told apart by its
    /// manifest's policy), verified on loading, as a new version.
    @discardableResult
    public func register(modelFolder: URL, metrics: [String: Double] = [:]) throws -> Entry {
        if try DRRModelStore.policy(of: modelFolder) == DRRModelStore.deepPagePolicy {
            let (model, manifest) = try DRRModelStore.loadDeepPage(from: modelFolder)
            return try register(model, manifest: manifest, metrics: metrics)
        }
        let (model, manifest) = try DRRModelStore.load(from: modelFolder)
        return try register(model, manifest: manifest, metrics: metrics)
    }

    /// Points `stage` at `version` (atomically) and records it in the stage's history.
    /// - Throws: ``DRRError/invalidModel(_:)`` for an unknown version or an I/O failure.
    public func promote(_ version: String, to stage: Stage) throws {
        _ = try existingFolder(of: version)
        try movePointer(stage, to: version)
        try writeHistory(history(of: stage) + [version], of: stage)
    }

    /// Points `stage` back at the version promoted to it before the current one (skipping
    /// versions that were garbage-collected or equal to the current one) and drops the current
    /// one from the stage's history.
    /// - Returns: the version `stage` points at now.
    /// - Throws: ``DRRError/invalidModel(_:)`` when there is no earlier version to return to.
    @discardableResult
    public func rollback(_ stage: Stage = .production) throws -> String {
        guard let current = version(at: stage) else {
            throw DRRError.invalidModel("nothing to roll back: no version has been promoted to \(stage.rawValue)")
        }
        var history = history(of: stage)
        while let last = history.last, !FileManager.default.fileExists(atPath: directory(of: last).path) || last == current {
            history.removeLast()
        }
        guard let previous = history.last else {
            throw DRRError.invalidModel("nothing to roll back to: \(current) is the only version promoted to \(stage.rawValue) that still exists")
        }
        try movePointer(stage, to: previous)
        try writeHistory(history, of: stage)
        return previous
    }

    /// Removes all but the `keep` newest versions, never a version a stage points at nor the
    /// latest registered one.
    /// - Returns: the removed versions, oldest first.
    @discardableResult
    public func garbageCollect(keep: Int) throws -> [String] {
        guard keep >= 1 else { throw DRRError.invalidModel("gc must keep at least 1 version, got \(keep)") }
        let all = versions()
        let protected = Set(Stage.allCases.compactMap { version(at: $0) } + [all.last].compactMap { $0 })
        var removed: [String] = []
        for version in all.dropLast(keep) where !protected.contains(version) {
            do { try FileManager.default.removeItem(at: directory(of: version)) } catch {
                throw DRRError.invalidModel("cannot remove version \(version): \(error)")
            }
            removed.append(version)
        }
        return removed
    }

    // MARK: Internals

    private var versionsURL: URL { directory.appendingPathComponent(DRRModelStore.versionsFolder) }

    /// Registers a version: fills in `manifest`'s metrics and lineage, then `save`s it into
    /// the registry (returning the new version's folder).
    private func add(_ manifest: DRRManifest, metrics: [String: Double], save: (DRRManifest) throws -> URL) throws -> Entry {
        var manifest = manifest
        manifest.metrics.merge(metrics, uniquingKeysWith: { _, new in new })
        var lineage = manifest.lineage ?? ModelLineage()
        lineage.parentVersion = version(at: .production)
        lineage.registeredAt = ISO8601DateFormatter().string(from: Date())
        manifest.lineage = lineage
        return try entry(try save(manifest).lastPathComponent)
    }

    /// `load` of the version `stage` points at (the pointer resolved once), with that version.
    /// - Throws: ``DRRError/invalidModel(_:)`` when nothing was promoted to `stage`, or what
    ///   `load` throws.
    private func loadPromoted<Model>(
        _ stage: Stage, _ load: (String) throws -> (model: Model, manifest: DRRManifest)
    ) throws -> (model: Model, manifest: DRRManifest, version: String) {
        guard let version = version(at: stage) else {
            throw DRRError.invalidModel("no version has been promoted to \(stage.rawValue) in registry \(directory.path)")
        }
        let (model, manifest) = try load(version)
        return (model, manifest, version)
    }

    private func historyURL(_ stage: Stage) -> URL {
        directory.appendingPathComponent(Self.stagesFolder).appendingPathComponent("\(stage.rawValue).history")
    }

    private func existingFolder(of version: String) throws -> URL {
        let valid = version.hasPrefix("v") && !version.dropFirst().isEmpty && version.dropFirst().allSatisfy(\.isNumber)
        let folder = directory(of: version)
        guard valid, FileManager.default.fileExists(atPath: folder.path) else {
            throw DRRError.invalidModel("no version '\(version)' in registry \(directory.path) (versions: \(versions().joined(separator: ", ")))")
        }
        return folder
    }

    private func movePointer(_ stage: Stage, to version: String) throws {
        do {
            try DurableFiles.replaceSymbolicLink(
                directory.appendingPathComponent(stage.rawValue),
                target: "\(DRRModelStore.versionsFolder)/\(version)")
        } catch {
            throw DRRError.invalidModel("cannot move \(stage.rawValue) to \(version): \(error)")
        }
    }

    private func writeHistory(_ versions: [String], of stage: Stage) throws {
        let url = historyURL(stage)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(versions.map { $0 + "\n" }.joined().utf8).write(to: url, options: .atomic)
        } catch {
            throw DRRError.invalidModel("cannot record the \(stage.rawValue) history: \(error)")
        }
    }
}
