import Foundation
import Logging
import RecRLDRR
import RecRLSimulation
import RecRLTensor

/// Serves a DRR model (a folder written by `recrl train` / ``DRRModelStore``) through
/// ``OnlineDRR``: recommendations from each user's session state, learning from feedback,
/// and hot reload.
///
/// - ``recommend(user:k:exclude:)`` and ``observe(user:item:reward:)`` delegate to
///   ``OnlineDRR``. A user the model was not trained on gets OnlineDRR's documented
///   cold-start fallback (the zero user vector and an empty window, i.e. the actor's
///   population-level action) and adapts with the user's positive feedback. Feedback on
///   an item outside the model's catalogue is a 404 ``RequestError``.
/// - With `updatesPerSecond`, OnlineDRR's background learner applies DDPG updates from
///   the feedback's replay buffer and publishes new weights; each publication changes
///   ``modelVersion``. With `learnsOnline: false` there is no replay buffer at all
///   (feedback only moves the sessions; its transitions are dropped and counted).
/// - Sessions live in the ``SessionStore`` that `sessionStore` makes (by default an
///   ``InMemorySessionStore``: bounded LRU with a time to live); its evictions are
///   ``sessionEvictions``.
/// - ``reload(from:)`` loads the new folder completely, then swaps a new ``OnlineDRR``
///   in under a lock: a request that started on the old model finishes on it, later
///   requests see the new one. The new model starts with empty sessions and an empty
///   replay buffer (the old transitions hold the old model's embeddings). A model whose
///   item catalogue differs from the served one is rejected (422) and the old model
///   stays: item ids in clients, in the event log and in A/B analyses must keep their
///   meaning while the server runs; restart the server to change the catalogue.
///
/// A LIRD model folder (`recrl train --policy lird`) is served the same way: each answer
/// is the model's list of `K` distinct items in position order, and it learns online from
/// feedback per item with its position (``observe(user:item:reward:position:)``; the list
/// transitions of ``OnlineDRR``), with the same background learning and publication.
///
/// ``modelVersion`` is `"<model id>.<n>"`: the model id is 8 hex digits identifying the
/// saved model (a hash of its manifest's policy, data fingerprint, seed and creation
/// time) and `n` counts publications (the load, every online publication, every
/// reload) and only grows, across reloads too.
///
/// ```swift
/// let engine = try DRREngine(directory: URL(fileURLWithPath: "models/drr-ave"), updatesPerSecond: 50)
/// let server = RecommendationServer(mode: .single(ServedModel(engine: engine, directory: engine.directory)),
///                                   eventLog: try EventLog(path: "events.sqlite"))
/// ```
public final class DRREngine: RecommendationEngine {
    /// One loaded model and the online recommender serving it; replaced whole on reload.
    private struct Loaded: Sendable {
        let online: OnlineDRR
        /// The weights as loaded (``scoreState(_:)`` ranks with them).
        let model: DRRModel
        let manifest: DRRManifest
        /// The catalogue, for ``knowsItem(_:)``.
        let items: Set<String>
        let directory: URL?
        /// 8 hex digits identifying the saved model.
        let modelID: String
        /// Added to `online.modelVersion` so that version numbers keep growing across reloads.
        let versionOffset: Int
        /// Feedback and updates of the models served before this one.
        let previousObserved: Int
        let previousUpdates: Int
        let previousEvictions: Int
        let previousDropped: Int
        let previousSkipped: Int
        let reloads: Int
        /// The manifest's `item_popularity` as drift reference, when it has one.
        let popularity: TrainingPopularity?
        /// The manifest's `created_at`, when it parses as ISO 8601.
        let createdAt: Date?

        func version(_ onlineVersion: Int) -> String { "\(modelID).\(versionOffset + onlineVersion)" }
    }

    /// The KServe V2 model name: the manifest's policy (e.g. `"drr-ave"`) unless another
    /// name was given; it stays the same across reloads.
    public let modelName: String
    /// Background DDPG updates per second, or `nil` when the engine does not learn online.
    public let updatesPerSecond: Double?
    /// Whether background learning runs (until ``stopBackgroundLearning()``).
    private let learning: Locked<Bool>
    /// Seed of OnlineDRR's replay sampling.
    private let seed: UInt64
    /// Whether feedback is kept for learning (OnlineDRR's `learns`).
    public let learnsOnline: Bool
    /// Makes the session store of each model served (the first and every reload).
    private let sessionStore: @Sendable () -> any SessionStore
    private let loaded: Locked<Loaded>
    /// Reloads run one at a time.
    private let reloadLock = Locked(())

    /// Serves `model` (with the id maps and reward scale of `manifest`).
    /// - Parameters:
    ///   - name: the KServe V2 model name (default: `manifest.policy`).
    ///   - directory: where the model was loaded from, if anywhere (informational).
    ///   - updatesPerSecond: start OnlineDRR's background learning at this rate
    ///     (`nil`, the default: learn nothing; feedback still updates the sessions).
    ///   - learnsOnline: keep feedback for learning (a replay buffer; ``learn(updates:)``);
    ///     default: true. `recrl serve` passes true only with `--updates-per-second`.
    ///   - sessionStore: makes the users' session store, once per model served (default: an
    ///     ``InMemorySessionStore`` with its default limits).
    ///   - seed: seed of the replay sampling.
    /// - Throws: ``DRRError/invalidModel(_:)`` when the manifest lists a user or item id twice.
    public init(
        model: DRRModel, manifest: DRRManifest, name: String? = nil, directory: URL? = nil,
        updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
        sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() },
        seed: UInt64 = 0
    ) throws(DRRError) {
        try Self.checkUniqueIDs(manifest, directory: directory)
        if let updatesPerSecond {
            precondition(
                updatesPerSecond > 0 && updatesPerSecond.isFinite,
                "DRREngine: updatesPerSecond must be positive, got \(updatesPerSecond)")
        }
        modelName = name ?? manifest.policy
        self.updatesPerSecond = updatesPerSecond
        learning = Locked(updatesPerSecond != nil && learnsOnline)
        self.seed = seed
        self.learnsOnline = learnsOnline
        self.sessionStore = sessionStore
        let online = Self.makeOnline(model: model, manifest: manifest, seed: seed, learns: learnsOnline, sessions: sessionStore())
        loaded = Locked(
            Loaded(
                online: online, model: model, manifest: manifest, items: Set(manifest.itemIDs), directory: directory,
                modelID: Self.modelID(of: manifest), versionOffset: 0,
                previousObserved: 0, previousUpdates: 0, previousEvictions: 0, previousDropped: 0,
                previousSkipped: 0, reloads: 0,
                popularity: Self.trainingPopularity(of: manifest), createdAt: Self.creationDate(of: manifest)))
        if let updatesPerSecond, learnsOnline { online.startBackgroundLearning(updatesPerSecond: updatesPerSecond) }
    }

    /// Loads the model folder `directory` (see ``DRRModelStore/load(from:)``) and serves it.
    /// - Throws: the ``DRRError`` of the load, naming what is missing or inconsistent.
    public convenience init(
        directory: URL, name: String? = nil, updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
        sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() },
        seed: UInt64 = 0
    ) throws {
        let (model, manifest) = try DRRModelStore.load(from: directory)
        try self.init(
            model: model, manifest: manifest, name: name, directory: directory,
            updatesPerSecond: updatesPerSecond, learnsOnline: learnsOnline, sessionStore: sessionStore, seed: seed)
    }

    /// The OnlineDRR serving one model; a skipped (non-finite) publication is logged as an error.
    static func makeOnline(
        model: DRRModel, manifest: DRRManifest, seed: UInt64, learns: Bool,
        sessions: any SessionStore
    ) -> OnlineDRR {
        let logger = Logger(label: "recrl.online")
        return OnlineDRR(
            model: model, manifest: manifest, seed: seed, learns: learns, sessions: sessions,
            diagnostic: { logger.error("\($0)") })
    }

    deinit {
        loaded.withLock { $0.online.stopBackgroundLearning() }
    }

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

    private var current: Loaded { loaded.withLock { $0 } }

    /// The manifest's `item_popularity` bucketed for the drift gauge (`nil` without it).
    static func trainingPopularity(of manifest: DRRManifest) -> TrainingPopularity? {
        manifest.itemPopularity.flatMap { TrainingPopularity(items: manifest.itemIDs, counts: $0) }
    }

    /// The manifest's `created_at` (ISO 8601, with or without fractional seconds).
    static func creationDate(of manifest: DRRManifest) -> Date? {
        if let date = ISO8601DateFormatter().date(from: manifest.createdAt) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: manifest.createdAt)
    }

    /// The served manifest's `item_popularity`, bucketed (see ``TrainingPopularity``);
    /// `nil` for a manifest without it.
    public var trainingPopularity: TrainingPopularity? { current.popularity }

    /// The served manifest's `created_at`.
    public var modelCreatedAt: Date? { current.createdAt }

    /// The manifest of the served model.
    public var manifest: DRRManifest { current.manifest }

    /// The folder the served model was loaded from (`nil` when it was passed in memory).
    public var directory: URL? { current.directory }

    /// `"<model id>.<n>"` (see the type's documentation).
    public var modelVersion: String {
        let state = current
        return state.version(state.online.modelVersion)
    }

    /// Always `true`: an engine exists only once its model is loaded.
    public var isReady: Bool { true }

    /// The number of items in the catalogue.
    public var itemCount: Int { current.online.itemCount }

    /// The top `k` items for `user` from ``OnlineDRR/recommend(user:k:exclude:)``: never an
    /// item of `exclude` (unknown ids there are ignored) nor one in the user's current
    /// window. Unknown users get the cold-start fallback.
    /// - Throws: ``RequestError`` 422 when `k` is outside 1…1000.
    public func recommend(user: String, k: Int, exclude: Set<String>) throws -> Recommendation {
        let state = current
        do {
            let result = try state.online.recommend(user: user, k: k, exclude: exclude)
            return Recommendation(
                items: result.items.map { ScoredItem(item: $0.id, score: $0.score) },
                modelVersion: state.version(result.version))
        } catch let error as OnlineError {
            throw Self.requestError(error)
        }
    }

    /// ``observe(user:item:reward:position:)`` without a position.
    public func observe(user: String, item: String, reward: Float) throws {
        try observe(user: user, item: item, reward: reward, position: nil)
    }

    /// Records feedback with ``OnlineDRR/observe(user:item:reward:position:)``: a positive
    /// reward pushes the item into the user's window, and the transition joins the replay
    /// buffer (for a LIRD model, once the item's list is complete; `position` is where the
    /// item was shown).
    /// - Throws: ``RequestError`` 404 for an item outside the catalogue, 422 for a
    ///   non-finite reward or a negative position.
    public func observe(user: String, item: String, reward: Float, position: Int?) throws {
        do {
            try current.online.observe(user: user, item: item, reward: reward, position: position)
        } catch let error as OnlineError {
            throw Self.requestError(error)
        }
    }

    /// The user's window in the served ``OnlineDRR``.
    public func sessionItems(user: String) -> [String] { current.online.sessionItems(user: user) }

    /// ``OnlineDRR/restoreSession(user:items:)`` on the served model.
    public func restoreSession(user: String, items: [String]) { current.online.restoreSession(user: user, items: items) }

    /// The model's ``DRRConfiguration/windowSize``.
    public var sessionWindowSize: Int { current.model.configuration.windowSize }

    static func requestError(_ error: OnlineError) -> RequestError {
        switch error {
        case .unknownItem: return .notFound(error.description)
        case .invalidK, .invalidReward, .invalidPosition: return .unprocessable(error.description)
        }
    }

    /// The served model's ``RewardScale`` mapping, `(rating − midpoint) / half-range`,
    /// clamped to [−1, 1] (a rating outside the scale counts as its nearest end).
    public func rewardForRating(_ rating: Float) -> Float {
        min(1, max(-1, current.model.rewardScale.reward(forRating: rating)))
    }

    /// DRR rewards lie in [−1, 1] (``rewardForRating(_:)``'s range).
    public var rewardRange: ClosedRange<Float> { -1...1 }

    /// The served model's rating scale, `minimum...maximum` of its ``RewardScale``.
    public var ratingRange: ClosedRange<Float>? {
        let scale = current.model.rewardScale
        return scale.minimum < scale.maximum ? scale.minimum...scale.maximum : nil
    }

    /// Whether `item` is in the served catalogue.
    public func knowsItem(_ item: String) -> Bool { current.items.contains(item) }

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

    /// Loads the model in `directory` and swaps it in atomically (see the type's
    /// documentation). Background learning, if on, moves to the new model.
    /// - Throws: ``RequestError`` 422 when the folder holds no loadable DRR model or one
    ///   with a different item catalogue; the served model stays in both cases.
    public func reload(from directory: URL) throws {
        try reloadLock.withLock { _ in
            let (model, manifest): (DRRModel, DRRManifest)
            do {
                (model, manifest) = try DRRModelStore.load(from: directory)
                try Self.checkUniqueIDs(manifest, directory: directory)
            } catch {
                throw RequestError.unprocessable("cannot load a DRR model from \(directory.path): \(error); kept version \(modelVersion)")
            }
            let old = current
            if let refusal = Self.incompatibleCatalogue(
                served: old.manifest.itemIDs, candidate: manifest.itemIDs,
                directory: directory, version: modelVersion)
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
                let statistics = state.online.statistics
                state = Loaded(
                    online: online, model: model, manifest: manifest, items: Set(manifest.itemIDs), directory: directory,
                    modelID: Self.modelID(of: manifest),
                    versionOffset: state.versionOffset + state.online.modelVersion + 1,
                    previousObserved: state.previousObserved + statistics.observed,
                    previousUpdates: state.previousUpdates + statistics.updates,
                    previousEvictions: state.previousEvictions + state.online.sessions.evictions,
                    previousDropped: state.previousDropped + state.online.droppedTransitions,
                    previousSkipped: state.previousSkipped + state.online.skippedPublications,
                    reloads: state.reloads + 1,
                    popularity: Self.trainingPopularity(of: manifest), createdAt: Self.creationDate(of: manifest))
            }
            if let updatesPerSecond, learning.withLock({ $0 }) {
                online.startBackgroundLearning(updatesPerSecond: updatesPerSecond)
            }
        }
    }

    /// Stops background learning for good (reloads do not restart it) and returns once
    /// no update is in progress; the learner's thread ends after its current pause.
    /// Call it before the process exits: OpenBLAS's exit-time shutdown can deadlock
    /// when a multi-threaded BLAS call is still running on another thread.
    public func stopBackgroundLearning() {
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

    /// Ranks the whole catalogue, best first, for a state given as either
    /// - the state module's input `[u | i_1 … i_n]`: `(n + 1)·k` numbers (user embedding,
    ///   then the embeddings of the window's `n` items, oldest first, zeros for empty
    ///   slots), or
    /// - a user embedding alone: `k` numbers, read as `[u | 0 … 0]` (an empty window);
    ///
    /// with scores `E · μ(module(input))`, the same as ``recommend(user:k:exclude:)``.
    /// It uses the currently published weights, including what was learned online.
    /// A list model (LIRD) answers only its list, in list order, with the scores of
    /// ``DRRModel/scores(forInput:)`` (so KServe V2 `infer` on states is `[batch, K]`).
    /// - Throws: ``RequestError`` 422 for any other length or a non-finite value.
    public func scoreState(_ state: [Float]) throws -> [ScoredItem] {
        let snapshot = current
        let model = snapshot.online.currentModel
        let k = model.configuration.embeddingSize, width = model.inputSize
        guard state.count == width || state.count == k else {
            throw RequestError.unprocessable(
                "state has \(state.count) values; model '\(modelName)' takes its module input [u | i_1 … i_n] (\(width) values) or a user embedding (\(k) values)"
            )
        }
        guard state.allSatisfy(\.isFinite) else { throw RequestError.unprocessable("state values must be finite numbers") }
        var input = Tensor(zeros: [1, width])
        input.withUnsafeMutableBufferPointer { x in
            for (j, value) in state.enumerated() { x[j] = value }
        }
        let values = model.scores(forInput: input).withUnsafeBufferPointer { Array($0) }
        let ids = snapshot.online.itemIDs
        let order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        // A list model answers its list (the first listSize of the ranking, see DRRModel.scores).
        return order.prefix(model.listSize > 1 ? model.listSize : order.count).map { ScoredItem(item: ids[$0], score: values[$0]) }
    }

    /// Exported as `recrl_engine_<name>` gauges:
    /// - `observed_feedback`: feedback events observed (over every model served so far),
    /// - `online_updates`: DDPG updates applied online (idem),
    /// - `model_version`: the `n` of ``modelVersion``,
    /// - `reloads`: successful reloads,
    /// - `background_updates_per_second`: the background learning rate (0: off or stopped),
    /// - `replay_size`: transitions in the current model's replay buffer,
    /// - `sessions`: user sessions held now,
    /// - `dropped_transitions`: feedback transitions dropped because the engine does not
    ///   learn online (over every model served so far),
    /// - `skipped_publications`: online learning batches not published because a weight
    ///   became non-finite (idem),
    /// - `list_size`: items per recommendation of the served model (1: DRR; `K`: LIRD).
    public var statistics: [String: Double] {
        let state = current
        let stats = state.online.statistics
        return [
            "observed_feedback": Double(state.previousObserved + stats.observed),
            "online_updates": Double(state.previousUpdates + stats.updates),
            "model_version": Double(state.versionOffset + state.online.modelVersion),
            "reloads": Double(state.reloads),
            "replay_size": Double(state.online.replayCount),
            "sessions": Double(state.online.sessions.count),
            "dropped_transitions": Double(state.previousDropped + state.online.droppedTransitions),
            "skipped_publications": Double(state.previousSkipped + state.online.skippedPublications),
            "list_size": Double(state.model.listSize),
            "background_updates_per_second": learning.withLock { $0 } ? updatesPerSecond ?? 0 : 0,
        ]
    }

    /// User sessions evicted by the session stores' limits (size or age), over every model
    /// served so far.
    public var sessionEvictions: Int {
        let state = current
        return state.previousEvictions + state.online.sessions.evictions
    }

    /// Applies up to `updates` DDPG updates now from the feedback received so far and
    /// publishes the new weights (``OnlineDRR/learn(updates:)``); for engines without
    /// background learning, and for tests. Returns the number applied (0 until the
    /// replay buffer holds a batch).
    @discardableResult
    public func learn(updates: Int) -> Int {
        current.online.learn(updates: updates)
    }
}

/// The engine for the model saved in `modelDirectory`, chosen by its manifest's policy: a
/// ``DeepPageEngine`` for a DeepPage model (`deeppage`), else a ``DRREngine`` (DRR and
/// LIRD), named `name` or after the policy (without background learning unless
/// `updatesPerSecond` is given; `learnsOnline` and `sessionStore` as in
/// ``DRREngine/init(model:manifest:name:directory:updatesPerSecond:learnsOnline:sessionStore:seed:)``).
/// `recrl serve` uses it.
/// - Throws: the ``DRRError`` of the load when the folder holds no loadable model.
public func makeEngine(
    modelDirectory: URL, name: String? = nil, updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
    sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() }
) throws -> any RecommendationEngine {
    if try DRRModelStore.policy(of: modelDirectory) == DRRModelStore.deepPagePolicy {
        return try DeepPageEngine(
            directory: modelDirectory, name: name, updatesPerSecond: updatesPerSecond, learnsOnline: learnsOnline,
            sessionStore: sessionStore)
    }
    return try DRREngine(
        directory: modelDirectory, name: name, updatesPerSecond: updatesPerSecond, learnsOnline: learnsOnline,
        sessionStore: sessionStore)
}
