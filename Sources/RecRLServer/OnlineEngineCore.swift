import Foundation
import Logging
import RecRLDRR
import RecRLSimulation
import RecRLTensor

/// An online recommender of RecRLDRR as an engine serves it: ``OnlineDRR`` (``DRREngine``)
/// or ``OnlineDeepPage`` (``DeepPageEngine``). ``OnlineEngineCore`` needs no more of it.
protocol ServedOnlineRecommender: AnyObject, Sendable {
    /// The model it serves.
    associatedtype Model: Sendable
    /// The model kind named in reload errors, e.g. `DRR`.
    static var kindName: String { get }
    /// Loads a model folder of this kind (checksum, shapes, finiteness checked).
    static func load(from directory: URL) throws -> (model: Model, manifest: DRRManifest)
    /// Serves `model` with `manifest`'s id maps; a skipped publication goes to `diagnostic`.
    static func serving(
        _ model: Model, manifest: DRRManifest, seed: UInt64, learns: Bool, sessions: any SessionStore,
        diagnostic: @escaping @Sendable (String) -> Void
    ) -> Self
    var modelVersion: Int { get }
    var itemCount: Int { get }
    var replayCount: Int { get }
    var sessions: any SessionStore { get }
    var statistics: (observed: Int, updates: Int) { get }
    var droppedTransitions: Int { get }
    var skippedPublications: Int { get }
    func observe(user: String, item: String, reward: Float, position: Int?) throws
    func sessionItems(user: String) -> [String]
    func restoreSession(user: String, items: [String])
    @discardableResult func learn(updates: Int) -> Int
    func startBackgroundLearning(updatesPerSecond: Double)
    func stopBackgroundLearning()
}

extension OnlineDRR: ServedOnlineRecommender {
    static var kindName: String { "DRR" }
    static func load(from directory: URL) throws -> (model: DRRModel, manifest: DRRManifest) { try DRRModelStore.load(from: directory) }
    static func serving(
        _ model: DRRModel, manifest: DRRManifest, seed: UInt64, learns: Bool, sessions: any SessionStore,
        diagnostic: @escaping @Sendable (String) -> Void
    ) -> OnlineDRR {
        OnlineDRR(model: model, manifest: manifest, seed: seed, learns: learns, sessions: sessions, diagnostic: diagnostic)
    }
}

extension OnlineDeepPage: ServedOnlineRecommender {
    static var kindName: String { "DeepPage" }
    static func load(from directory: URL) throws -> (model: DeepPageModel, manifest: DRRManifest) {
        try DRRModelStore.loadDeepPage(from: directory)
    }
    static func serving(
        _ model: DeepPageModel, manifest: DRRManifest, seed: UInt64, learns: Bool, sessions: any SessionStore,
        diagnostic: @escaping @Sendable (String) -> Void
    ) -> OnlineDeepPage {
        OnlineDeepPage(model: model, manifest: manifest, seed: seed, learns: learns, sessions: sessions, diagnostic: diagnostic)
    }
}

/// What ``DRREngine`` and ``DeepPageEngine`` share, for any ``ServedOnlineRecommender``: the
/// served model and its bookkeeping (version numbers that only grow, counters summed over
/// every model served, reloads), hot reload, the background-learning switch, and the mapping
/// of ``OnlineError`` to ``RequestError``. The engines add what their model answers
/// (recommendations, `scoreState`, their gauges).
final class OnlineEngineCore<Online: ServedOnlineRecommender>: Sendable {
    /// One loaded model and the online recommender serving it; replaced whole on reload.
    struct Loaded: Sendable {
        let online: Online
        /// The weights as loaded.
        let model: Online.Model
        let manifest: DRRManifest
        /// The catalogue, for `knowsItem`.
        let items: Set<String>
        let directory: URL?
        /// 8 hex digits identifying the saved model.
        let modelID: String
        /// Added to `online.modelVersion` so that version numbers keep growing across reloads.
        let versionOffset: Int
        /// Feedback, updates, evictions, dropped transitions and skipped publications of the
        /// models served before this one.
        let previous: [String: Int]
        let reloads: Int
        /// The manifest's `item_popularity` as drift reference, when it has one.
        let popularity: TrainingPopularity?
        /// The manifest's `created_at`, when it parses as ISO 8601.
        let createdAt: Date?

        init(online: Online, model: Online.Model, manifest: DRRManifest, directory: URL?, versionOffset: Int, previous: [String: Int], reloads: Int) {
            self.online = online
            self.model = model
            self.manifest = manifest
            items = Set(manifest.itemIDs)
            self.directory = directory
            modelID = OnlineEngineCore.modelID(of: manifest)
            self.versionOffset = versionOffset
            self.previous = previous
            self.reloads = reloads
            popularity = manifest.itemPopularity.flatMap { TrainingPopularity(items: manifest.itemIDs, counts: $0) }
            createdAt = OnlineEngineCore.creationDate(of: manifest)
        }

        /// `"<model id>.<n>"` for the online recommender's version `onlineVersion`.
        func version(_ onlineVersion: Int) -> String { "\(modelID).\(versionOffset + onlineVersion)" }

        /// The counters `previous` holds, for this model plus those before it.
        var totals: [String: Int] {
            let stats = online.statistics
            let now = [
                "observed_feedback": stats.observed, "online_updates": stats.updates, "evictions": online.sessions.evictions,
                "dropped_transitions": online.droppedTransitions, "skipped_publications": online.skippedPublications,
            ]
            return now.merging(previous, uniquingKeysWith: +)
        }
    }

    /// The KServe V2 model name.
    let modelName: String
    /// Background DDPG updates per second, or `nil` when the engine does not learn online.
    let updatesPerSecond: Double?
    /// Whether feedback is kept for learning.
    let learnsOnline: Bool
    /// Whether background learning runs (until ``stopBackgroundLearning()``).
    private let learning: Locked<Bool>
    /// Seed of the replay sampling.
    private let seed: UInt64
    /// Makes the session store of each model served (the first and every reload).
    private let sessionStore: @Sendable () -> any SessionStore
    private let loaded: Locked<Loaded>
    /// Reloads run one at a time.
    private let reloadLock = Locked(())

    /// Serves `model`; the parameters are those of the engines' initialisers.
    /// - Throws: ``DRRError/invalidModel(_:)`` when the manifest lists a user or item id twice.
    init(
        model: Online.Model, manifest: DRRManifest, name: String?, directory: URL?, updatesPerSecond: Double?,
        learnsOnline: Bool, sessionStore: @escaping @Sendable () -> any SessionStore, seed: UInt64
    ) throws(DRRError) {
        try Self.checkUniqueIDs(manifest, directory: directory)
        if let updatesPerSecond {
            precondition(
                updatesPerSecond > 0 && updatesPerSecond.isFinite,
                "\(Online.kindName) engine: updatesPerSecond must be positive, got \(updatesPerSecond)")
        }
        modelName = name ?? manifest.policy
        self.updatesPerSecond = updatesPerSecond
        self.learnsOnline = learnsOnline
        learning = Locked(updatesPerSecond != nil && learnsOnline)
        self.seed = seed
        self.sessionStore = sessionStore
        let online = Self.makeOnline(model: model, manifest: manifest, seed: seed, learns: learnsOnline, sessions: sessionStore())
        loaded = Locked(
            Loaded(online: online, model: model, manifest: manifest, directory: directory, versionOffset: 0, previous: [:], reloads: 0))
        if let updatesPerSecond, learnsOnline { online.startBackgroundLearning(updatesPerSecond: updatesPerSecond) }
    }

    /// Loads the model folder `directory` (``ServedOnlineRecommender/load(from:)``) and serves it.
    /// - Throws: the ``DRRError`` of the load, naming what is missing or inconsistent.
    convenience init(
        directory: URL, name: String?, updatesPerSecond: Double?, learnsOnline: Bool,
        sessionStore: @escaping @Sendable () -> any SessionStore, seed: UInt64
    ) throws {
        let (model, manifest) = try Online.load(from: directory)
        try self.init(
            model: model, manifest: manifest, name: name, directory: directory, updatesPerSecond: updatesPerSecond,
            learnsOnline: learnsOnline, sessionStore: sessionStore, seed: seed)
    }

    deinit {
        loaded.withLock { $0.online.stopBackgroundLearning() }
    }

    /// The online recommender serving one model; a skipped (non-finite) publication is logged as an error.
    private static func makeOnline(
        model: Online.Model, manifest: DRRManifest, seed: UInt64, learns: Bool, sessions: any SessionStore
    ) -> Online {
        let logger = Logger(label: "recrl.online")
        return Online.serving(model, manifest: manifest, seed: seed, learns: learns, sessions: sessions, diagnostic: { logger.error("\($0)") })
    }

    /// The served model now.
    var current: Loaded { loaded.withLock { $0 } }

    /// `"<model id>.<n>"` of the published model.
    var modelVersion: String {
        let state = current
        return state.version(state.online.modelVersion)
    }

    /// `body`'s answer on the served recommender as a ``Recommendation``; an ``OnlineError``
    /// it throws becomes a ``RequestError`` (``requestError(_:)``).
    func recommend(_ body: (Online) throws -> (items: [(id: String, score: Float)], version: Int)) throws -> Recommendation {
        let state = current
        do {
            let result = try body(state.online)
            return Recommendation(
                items: result.items.map { ScoredItem(item: $0.id, score: $0.score) }, modelVersion: state.version(result.version))
        } catch let error as OnlineError {
            throw Self.requestError(error)
        }
    }

    /// The served recommender's `observe`, its ``OnlineError`` as ``RequestError``.
    func observe(user: String, item: String, reward: Float, position: Int?) throws {
        do {
            try current.online.observe(user: user, item: item, reward: reward, position: position)
        } catch let error as OnlineError {
            throw Self.requestError(error)
        }
    }

    /// User sessions evicted, over every model served so far.
    var sessionEvictions: Int { current.totals["evictions"] ?? 0 }

    /// Loads the model in `directory` and swaps it in atomically; background learning, if on,
    /// moves to the new model, which starts with empty sessions and replay.
    /// - Throws: ``RequestError`` 422 when the folder holds no loadable model of this kind or
    ///   one with another item catalogue; the served model stays in both cases.
    func reload(from directory: URL) throws {
        try reloadLock.withLock { _ in
            let (model, manifest): (Online.Model, DRRManifest)
            do {
                (model, manifest) = try Online.load(from: directory)
                try Self.checkUniqueIDs(manifest, directory: directory)
            } catch {
                throw RequestError.unprocessable(
                    "cannot load a \(Online.kindName) model from \(directory.path): \(error); kept version \(modelVersion)")
            }
            if let refusal = Self.incompatibleCatalogue(
                served: current.manifest.itemIDs, candidate: manifest.itemIDs, directory: directory, version: modelVersion)
            {
                throw refusal
            }
            // The old model's replay and sessions are released with it; the new one starts
            // empty and grows on demand, so a reload holds two models' weights, not two replays.
            let online = Self.makeOnline(model: model, manifest: manifest, seed: seed, learns: learnsOnline, sessions: sessionStore())
            loaded.withLock { state in
                // Stop the old learner first: it publishes at most once more, so the
                // new numbering starts above anything the old model can still report.
                state.online.stopBackgroundLearning()
                state = Loaded(
                    online: online, model: model, manifest: manifest, directory: directory,
                    versionOffset: state.versionOffset + state.online.modelVersion + 1, previous: state.totals,
                    reloads: state.reloads + 1)
            }
            if let updatesPerSecond, learning.withLock({ $0 }) { online.startBackgroundLearning(updatesPerSecond: updatesPerSecond) }
        }
    }

    /// Stops background learning for good (reloads do not restart it) and returns once no
    /// update is in progress; the learner's thread ends after its current pause.
    func stopBackgroundLearning() {
        reloadLock.withLock { _ in
            guard
                learning.withLock({ on in
                    defer { on = false }; return on
                })
            else { return }
            let online = current.online
            online.stopBackgroundLearning()
            // `learn` takes the learner's lock: this waits for a batch in progress. A
            // learner that checked the flag just before it was set starts one more
            // batch right away; wait for that one too.
            online.learn(updates: 0)
            Thread.sleep(forTimeInterval: 0.05)
            online.learn(updates: 0)
        }
    }

    /// The gauges every engine exports (see ``DRREngine/statistics``), with `extra` added.
    func statistics(adding extra: [String: Double]) -> [String: Double] {
        let state = current
        let totals = state.totals
        return [
            "observed_feedback": Double(totals["observed_feedback"] ?? 0),
            "online_updates": Double(totals["online_updates"] ?? 0),
            "model_version": Double(state.versionOffset + state.online.modelVersion),
            "reloads": Double(state.reloads),
            "replay_size": Double(state.online.replayCount),
            "sessions": Double(state.online.sessions.count),
            "dropped_transitions": Double(totals["dropped_transitions"] ?? 0),
            "skipped_publications": Double(totals["skipped_publications"] ?? 0),
            "background_updates_per_second": learning.withLock { $0 } ? updatesPerSecond ?? 0 : 0,
        ].merging(extra, uniquingKeysWith: { _, new in new })
    }
}

// MARK: Manifest checks and error mapping

extension OnlineEngineCore {
    /// OnlineDRR indexes users and items by id: a manifest with a repeated id is unusable.
    static func checkUniqueIDs(_ manifest: DRRManifest, directory: URL?) throws(DRRError) {
        for (kind, ids) in [("user", manifest.userIDs), ("item", manifest.itemIDs)] where Set(ids).count != ids.count {
            var seen = Set<String>()
            let repeated = ids.first { !seen.insert($0).inserted } ?? ""
            throw DRRError.invalidModel("the manifest\(directory.map { " in \($0.path)" } ?? "") lists \(kind) id '\(repeated)' more than once")
        }
    }

    /// 8 lowercase hex digits of a hash of the manifest's policy, data fingerprint, seed
    /// and creation time.
    static func modelID(of manifest: DRRManifest) -> String {
        let hash = ABTest.fnv1a64("\(manifest.policy)|\(manifest.dataFingerprint)|\(manifest.seed)|\(manifest.createdAt)")
        let hex = String(hash >> 32, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The manifest's `created_at` (ISO 8601, with or without fractional seconds).
    static func creationDate(of manifest: DRRManifest) -> Date? {
        if let date = ISO8601DateFormatter().date(from: manifest.createdAt) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: manifest.createdAt)
    }

    /// The answer to a client's mistake the online recommender reports: 404 for an item
    /// outside the catalogue, else 422.
    static func requestError(_ error: OnlineError) -> RequestError {
        switch error {
        case .unknownItem: return .notFound(error.description)
        case .invalidK, .invalidReward, .invalidPosition: return .unprocessable(error.description)
        }
    }

    /// The reason a reload was refused; answered as 422 by the server.
    static func incompatibleCatalogue(served: [String], candidate: [String], directory: URL, version: String) -> RequestError? {
        let servedSet = Set(served), candidateSet = Set(candidate)
        guard servedSet != candidateSet else { return nil }
        let missing = served.filter { !candidateSet.contains($0) }
        let added = candidate.filter { !servedSet.contains($0) }
        func sample(_ ids: [String]) -> String {
            ids.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (ids.count > 3 ? ", …" : "")
        }
        var details: [String] = []
        if !missing.isEmpty { details.append("\(missing.count) served item(s) missing (\(sample(missing)))") }
        if !added.isEmpty { details.append("\(added.count) new item(s) (\(sample(added)))") }
        return .unprocessable(
            "the model in \(directory.path) has a different item catalogue (\(candidate.count) items against \(served.count) served: "
                + details.joined(separator: ", ")
                + "); kept version \(version). Restart the server to serve a new catalogue.")
    }
}
