import Foundation
import RecRLDRR
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
    private let core: OnlineEngineCore<OnlineDRR>

    /// The KServe V2 model name: the manifest's policy (e.g. `"drr-ave"`) unless another
    /// name was given; it stays the same across reloads.
    public var modelName: String { core.modelName }
    /// Background DDPG updates per second, or `nil` when the engine does not learn online.
    public var updatesPerSecond: Double? { core.updatesPerSecond }
    /// Whether feedback is kept for learning (OnlineDRR's `learns`).
    public var learnsOnline: Bool { core.learnsOnline }

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
        core = try OnlineEngineCore(
            model: model, manifest: manifest, name: name, directory: directory, updatesPerSecond: updatesPerSecond,
            learnsOnline: learnsOnline, sessionStore: sessionStore, seed: seed)
    }

    /// Loads the model folder `directory` (see ``DRRModelStore/load(from:)``) and serves it.
    /// - Throws: the ``DRRError`` of the load, naming what is missing or inconsistent.
    public init(
        directory: URL, name: String? = nil, updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
        sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() },
        seed: UInt64 = 0
    ) throws {
        core = try OnlineEngineCore(
            directory: directory, name: name, updatesPerSecond: updatesPerSecond, learnsOnline: learnsOnline,
            sessionStore: sessionStore, seed: seed)
    }

    /// The manifest's `item_popularity` bucketed for the drift gauge (`nil` without it);
    /// the same instance for as long as the same model is served.
    public var trainingPopularity: TrainingPopularity? { core.current.popularity }
    /// The served manifest's `created_at`.
    public var modelCreatedAt: Date? { core.current.createdAt }
    /// The manifest of the served model.
    public var manifest: DRRManifest { core.current.manifest }
    /// The folder the served model was loaded from (`nil` when it was passed in memory).
    public var directory: URL? { core.current.directory }
    /// `"<model id>.<n>"` (see the type's documentation).
    public var modelVersion: String { core.modelVersion }
    /// Always `true`: an engine exists only once its model is loaded.
    public var isReady: Bool { true }
    /// The number of items in the catalogue.
    public var itemCount: Int { core.current.online.itemCount }

    /// The top `k` items for `user` from ``OnlineDRR/recommend(user:k:exclude:)``: never an
    /// item of `exclude` (unknown ids there are ignored) nor one in the user's current
    /// window. Unknown users get the cold-start fallback.
    /// - Throws: ``RequestError`` 422 when `k` is outside 1…1000.
    public func recommend(user: String, k: Int, exclude: Set<String>) throws -> Recommendation {
        try core.recommend { try $0.recommend(user: user, k: k, exclude: exclude) }
    }

    /// ``observe(user:item:reward:position:)`` without a position.
    public func observe(user: String, item: String, reward: Float) throws {
        try core.observe(user: user, item: item, reward: reward, position: nil)
    }

    /// Records feedback with ``OnlineDRR/observe(user:item:reward:position:)``: a positive
    /// reward pushes the item into the user's window, and the transition joins the replay
    /// buffer (for a LIRD model, once the item's list is complete; `position` is where the
    /// item was shown).
    /// - Throws: ``RequestError`` 404 for an item outside the catalogue, 422 for a
    ///   non-finite reward or a negative position.
    public func observe(user: String, item: String, reward: Float, position: Int?) throws {
        try core.observe(user: user, item: item, reward: reward, position: position)
    }

    /// The user's window in the served ``OnlineDRR``.
    public func sessionItems(user: String) -> [String] { core.current.online.sessionItems(user: user) }

    /// ``OnlineDRR/restoreSession(user:items:)`` on the served model.
    public func restoreSession(user: String, items: [String]) { core.current.online.restoreSession(user: user, items: items) }

    /// The model's ``DRRConfiguration/windowSize``.
    public var sessionWindowSize: Int { core.current.model.configuration.windowSize }

    /// The served model's ``RewardScale`` mapping, `(rating − midpoint) / half-range`,
    /// clamped to [−1, 1] (a rating outside the scale counts as its nearest end).
    public func rewardForRating(_ rating: Float) -> Float {
        min(1, max(-1, core.current.model.rewardScale.reward(forRating: rating)))
    }

    /// DRR rewards lie in [−1, 1] (``rewardForRating(_:)``'s range).
    public var rewardRange: ClosedRange<Float> { -1...1 }

    /// The served model's rating scale, `minimum...maximum` of its ``RewardScale``.
    public var ratingRange: ClosedRange<Float>? {
        let scale = core.current.model.rewardScale
        return scale.minimum < scale.maximum ? scale.minimum...scale.maximum : nil
    }

    /// Whether `item` is in the served catalogue.
    public func knowsItem(_ item: String) -> Bool { core.current.items.contains(item) }

    /// Loads the model in `directory` and swaps it in atomically (see the type's
    /// documentation). Background learning, if on, moves to the new model.
    /// - Throws: ``RequestError`` 422 when the folder holds no loadable DRR model or one
    ///   with a different item catalogue; the served model stays in both cases.
    public func reload(from directory: URL) throws { try core.reload(from: directory) }

    /// Stops background learning for good (reloads do not restart it) and returns once
    /// no update is in progress; the learner's thread ends after its current pause.
    /// Call it before the process exits: OpenBLAS's exit-time shutdown can deadlock
    /// when a multi-threaded BLAS call is still running on another thread.
    public func stopBackgroundLearning() { core.stopBackgroundLearning() }

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
        let snapshot = core.current
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
        core.statistics(adding: ["list_size": Double(core.current.model.listSize)])
    }

    /// User sessions evicted by the session stores' limits (size or age), over every model
    /// served so far.
    public var sessionEvictions: Int { core.sessionEvictions }

    /// Applies up to `updates` DDPG updates now from the feedback received so far and
    /// publishes the new weights (``OnlineDRR/learn(updates:)``); for engines without
    /// background learning, and for tests. Returns the number applied (0 until the
    /// replay buffer holds a batch).
    @discardableResult
    public func learn(updates: Int) -> Int { core.current.online.learn(updates: updates) }
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
