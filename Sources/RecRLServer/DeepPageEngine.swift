import Foundation
import Logging
import RecRLDRR
import RecRLTensor

/// Serves a DeepPage model (a folder written by `recrl train --policy deeppage`) through
/// ``OnlineDeepPage``: every recommendation is one page of `rows × columns` distinct items
/// (``pageShape``; `k` is validated but does not shorten a page), learning from feedback per
/// item with its position, and hot reload.
///
/// - ``recommend(user:k:exclude:)`` returns the page row-major (position `p` is row
///   `p / columns`, column `p % columns`); `POST /v1/recommend` adds it as `"page"`, rows of
///   item ids. Excluding so many items that no full page is left is a 422.
/// - ``observe(user:item:reward:position:)``: `position` is the row-major index where the
///   client showed the item (default: the item's own cell); the page's feedback closes into
///   one DDPG transition (see ``OnlineDeepPage``). With `updatesPerSecond` a background
///   learner applies DDPG updates and publishes new weights, each publication changing
///   ``modelVersion``; with `learnsOnline: false` feedback only moves the sessions.
/// - ``scoreState(_:)`` takes DeepPage's observation row
///   (``DeepPageModel/writeObservation(window:pages:into:row:)``,
///   ``DeepPageModel/observationSize`` values) and answers its page, so KServe V2 `infer`
///   is `[batch, rows, columns]`.
/// - ``reload(from:)`` and ``modelVersion`` behave as ``DRREngine``'s: the new folder must
///   hold a DeepPage model over the same item catalogue (else 422, the old model stays),
///   sessions and replay start empty, and the version number only grows.
public final class DeepPageEngine: RecommendationEngine {
    private struct Loaded: Sendable {
        let online: OnlineDeepPage
        let manifest: DRRManifest
        let items: Set<String>
        let directory: URL?
        let modelID: String
        let versionOffset: Int
        /// Feedback, updates, evictions, dropped transitions and skipped publications of the
        /// models served before this one.
        let previous: [String: Int]
        let reloads: Int
        let popularity: TrainingPopularity?
        let createdAt: Date?

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

    /// The KServe V2 model name: the manifest's policy (`deeppage`) unless another was given.
    public let modelName: String
    /// Background DDPG updates per second, or `nil` when the engine does not learn online.
    public let updatesPerSecond: Double?
    /// Whether feedback is kept for learning.
    public let learnsOnline: Bool
    private let learning: Locked<Bool>
    private let seed: UInt64
    private let sessionStore: @Sendable () -> any SessionStore
    private let loaded: Locked<Loaded>
    private let reloadLock = Locked(())

    /// Serves `model` with the id maps and reward scale of `manifest`; the parameters are
    /// ``DRREngine``'s.
    /// - Throws: ``DRRError/invalidModel(_:)`` when the manifest lists an id twice.
    public init(
        model: DeepPageModel, manifest: DRRManifest, name: String? = nil, directory: URL? = nil,
        updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
        sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() },
        seed: UInt64 = 0
    ) throws(DRRError) {
        try DRREngine.checkUniqueIDs(manifest, directory: directory)
        if let updatesPerSecond {
            precondition(updatesPerSecond > 0 && updatesPerSecond.isFinite, "DeepPageEngine: updatesPerSecond must be positive")
        }
        modelName = name ?? manifest.policy
        self.updatesPerSecond = updatesPerSecond
        self.learnsOnline = learnsOnline
        learning = Locked(updatesPerSecond != nil && learnsOnline)
        self.seed = seed
        self.sessionStore = sessionStore
        let online = Self.makeOnline(model: model, manifest: manifest, seed: seed, learns: learnsOnline, sessions: sessionStore())
        loaded = Locked(
            Self.loaded(online: online, manifest: manifest, directory: directory, versionOffset: 0, previous: [:], reloads: 0))
        if let updatesPerSecond, learnsOnline { online.startBackgroundLearning(updatesPerSecond: updatesPerSecond) }
    }

    /// Loads the DeepPage model folder `directory` (``DRRModelStore/loadDeepPage(from:)``) and serves it.
    public convenience init(
        directory: URL, name: String? = nil, updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
        sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() },
        seed: UInt64 = 0
    ) throws {
        let (model, manifest) = try DRRModelStore.loadDeepPage(from: directory)
        try self.init(
            model: model, manifest: manifest, name: name, directory: directory, updatesPerSecond: updatesPerSecond,
            learnsOnline: learnsOnline, sessionStore: sessionStore, seed: seed)
    }

    deinit { loaded.withLock { $0.online.stopBackgroundLearning() } }

    private static func makeOnline(
        model: DeepPageModel, manifest: DRRManifest, seed: UInt64, learns: Bool, sessions: any SessionStore
    ) -> OnlineDeepPage {
        let logger = Logger(label: "recrl.online")
        return OnlineDeepPage(
            model: model, manifest: manifest, seed: seed, learns: learns, sessions: sessions,
            diagnostic: { logger.error("\($0)") })
    }

    private static func loaded(
        online: OnlineDeepPage, manifest: DRRManifest, directory: URL?, versionOffset: Int, previous: [String: Int], reloads: Int
    ) -> Loaded {
        Loaded(
            online: online, manifest: manifest, items: Set(manifest.itemIDs), directory: directory,
            modelID: DRREngine.modelID(of: manifest), versionOffset: versionOffset, previous: previous, reloads: reloads,
            popularity: DRREngine.trainingPopularity(of: manifest), createdAt: DRREngine.creationDate(of: manifest))
    }

    private var current: Loaded { loaded.withLock { $0 } }

    /// The served manifest.
    public var manifest: DRRManifest { current.manifest }
    /// The folder the served model was loaded from.
    public var directory: URL? { current.directory }
    /// `"<model id>.<n>"`, as ``DRREngine/modelVersion``.
    public var modelVersion: String {
        let state = current
        return state.version(state.online.modelVersion)
    }
    /// Always `true`: an engine exists only once its model is loaded.
    public var isReady: Bool { true }
    public var itemCount: Int { current.online.itemCount }
    public var trainingPopularity: TrainingPopularity? { current.popularity }
    public var modelCreatedAt: Date? { current.createdAt }
    /// The served model's ``DeepPageConfiguration/rows`` × ``DeepPageConfiguration/columns``.
    public var pageShape: PageShape? {
        let c = current.online.currentModel.configuration
        return PageShape(rows: c.rows, columns: c.columns)
    }

    /// The user's page (see the type's documentation).
    /// - Throws: ``RequestError`` 422 when `k` is outside 1…1000 or when `exclude` and the
    ///   user's history leave no full page.
    public func recommend(user: String, k: Int, exclude: Set<String>) throws -> Recommendation {
        guard (1...1000).contains(k) else { throw DRREngine.requestError(.invalidK(k)) }
        let state = current
        do {
            let result = try state.online.recommend(user: user, exclude: exclude)
            return Recommendation(
                items: result.items.map { ScoredItem(item: $0.id, score: $0.score) }, modelVersion: state.version(result.version))
        } catch OnlineError.invalidK(let size) {
            throw RequestError.unprocessable(
                "the excluded items and the user's history leave fewer than \(size) items, a full page of model '\(modelName)'")
        } catch let error as OnlineError {
            throw DRREngine.requestError(error)
        }
    }

    /// ``observe(user:item:reward:position:)`` without a position.
    public func observe(user: String, item: String, reward: Float) throws {
        try observe(user: user, item: item, reward: reward, position: nil)
    }

    /// ``OnlineDeepPage/observe(user:item:reward:position:)``; `position` is row-major.
    /// - Throws: ``RequestError`` 404 for an unknown item, 422 for a non-finite reward or a
    ///   negative position.
    public func observe(user: String, item: String, reward: Float, position: Int?) throws {
        do {
            try current.online.observe(user: user, item: item, reward: reward, position: position)
        } catch let error as OnlineError {
            throw DRREngine.requestError(error)
        }
    }

    /// The reward scale's mapping, clamped to [−1, 1] (as ``DRREngine/rewardForRating(_:)``).
    public func rewardForRating(_ rating: Float) -> Float {
        min(1, max(-1, current.online.currentModel.rewardScale.reward(forRating: rating)))
    }

    public var ratingRange: ClosedRange<Float>? {
        let scale = current.online.currentModel.rewardScale
        return scale.minimum < scale.maximum ? scale.minimum...scale.maximum : nil
    }

    public func knowsItem(_ item: String) -> Bool { current.items.contains(item) }
    public func sessionItems(user: String) -> [String] { current.online.sessionItems(user: user) }
    public func restoreSession(user: String, items: [String]) { current.online.restoreSession(user: user, items: items) }
    /// The history length the model reads (``DRRConfiguration/windowSize``).
    public var sessionWindowSize: Int { current.online.currentModel.configuration.base.windowSize }
    public var sessionEvictions: Int { current.totals["evictions"] ?? 0 }

    /// The page for DeepPage's observation row (`observationSize` values, see the type's
    /// documentation), row-major, with its position scores.
    /// - Throws: ``RequestError`` 422 for another length or a non-finite value.
    public func scoreState(_ state: [Float]) throws -> [ScoredItem] {
        let online = current.online
        let model = online.currentModel
        guard state.count == model.observationSize else {
            throw RequestError.unprocessable(
                "state has \(state.count) values; model '\(modelName)' takes its observation row (\(model.observationSize) values: history, pages and masks)"
            )
        }
        guard state.allSatisfy(\.isFinite) else { throw RequestError.unprocessable("state values must be finite numbers") }
        let observation = Tensor(state).reshaped([1, state.count])
        let action = model.action(forObservation: observation)
        let page = model.page(forAction: action)
        let scores = action.reshaped([model.configuration.pageSize, model.configuration.base.embeddingSize])
            .matmul(model.itemEmbeddings, transposeOther: true)
        return page.enumerated().filter { $0.element >= 0 }.map {
            ScoredItem(item: online.itemIDs[$0.element], score: scores[$0.offset, $0.element])
        }
    }

    /// Loads the DeepPage model in `directory` and swaps it in atomically.
    /// - Throws: ``RequestError`` 422 when the folder holds no loadable DeepPage model or one
    ///   with another item catalogue; the served model stays.
    public func reload(from directory: URL) throws {
        try reloadLock.withLock { _ in
            let (model, manifest): (DeepPageModel, DRRManifest)
            do {
                (model, manifest) = try DRRModelStore.loadDeepPage(from: directory)
                try DRREngine.checkUniqueIDs(manifest, directory: directory)
            } catch {
                throw RequestError.unprocessable("cannot load a DeepPage model from \(directory.path): \(error); kept version \(modelVersion)")
            }
            if let refusal = DRREngine.incompatibleCatalogue(
                served: current.manifest.itemIDs, candidate: manifest.itemIDs, directory: directory, version: modelVersion)
            {
                throw refusal
            }
            let online = Self.makeOnline(model: model, manifest: manifest, seed: seed, learns: learnsOnline, sessions: sessionStore())
            loaded.withLock { state in
                state.online.stopBackgroundLearning()
                state = Self.loaded(
                    online: online, manifest: manifest, directory: directory,
                    versionOffset: state.versionOffset + state.online.modelVersion + 1, previous: state.totals,
                    reloads: state.reloads + 1)
            }
            if let updatesPerSecond, learning.withLock({ $0 }) { online.startBackgroundLearning(updatesPerSecond: updatesPerSecond) }
        }
    }

    /// Stops background learning for good and waits for a batch in progress (see
    /// ``DRREngine/stopBackgroundLearning()``).
    public func stopBackgroundLearning() {
        reloadLock.withLock { _ in
            guard
                learning.withLock({ on in
                    defer { on = false }; return on
                })
            else { return }
            let online = current.online
            online.stopBackgroundLearning()
            online.learn(updates: 0)
            Thread.sleep(forTimeInterval: 0.05)
            online.learn(updates: 0)
        }
    }

    /// Applies up to `updates` DDPG updates now and publishes them (for tests and engines
    /// without background learning); returns the number applied.
    @discardableResult
    public func learn(updates: Int) -> Int { current.online.learn(updates: updates) }

    /// The gauges of ``DRREngine/statistics`` (`list_size` is the page's `rows · columns`),
    /// plus `page_rows` and `page_columns`.
    public var statistics: [String: Double] {
        let state = current
        let totals = state.totals
        let c = state.online.currentModel.configuration
        return [
            "observed_feedback": Double(totals["observed_feedback"] ?? 0),
            "online_updates": Double(totals["online_updates"] ?? 0),
            "model_version": Double(state.versionOffset + state.online.modelVersion),
            "reloads": Double(state.reloads),
            "replay_size": Double(state.online.replayCount),
            "sessions": Double(state.online.sessions.count),
            "dropped_transitions": Double(totals["dropped_transitions"] ?? 0),
            "skipped_publications": Double(totals["skipped_publications"] ?? 0),
            "list_size": Double(c.pageSize),
            "page_rows": Double(c.rows),
            "page_columns": Double(c.columns),
            "background_updates_per_second": learning.withLock { $0 } ? updatesPerSecond ?? 0 : 0,
        ]
    }
}
