import Foundation
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
    private typealias Core = OnlineEngineCore<OnlineDeepPage>
    private let core: Core

    /// The KServe V2 model name: the manifest's policy (`deeppage`) unless another was given.
    public var modelName: String { core.modelName }
    /// Background DDPG updates per second, or `nil` when the engine does not learn online.
    public var updatesPerSecond: Double? { core.updatesPerSecond }
    /// Whether feedback is kept for learning.
    public var learnsOnline: Bool { core.learnsOnline }

    /// Serves `model` with the id maps and reward scale of `manifest`; the parameters are
    /// ``DRREngine``'s.
    /// - Throws: ``DRRError/invalidModel(_:)`` when the manifest lists an id twice.
    public init(
        model: DeepPageModel, manifest: DRRManifest, name: String? = nil, directory: URL? = nil,
        updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
        sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() },
        seed: UInt64 = 0
    ) throws(DRRError) {
        core = try Core(
            model: model, manifest: manifest, name: name, directory: directory, updatesPerSecond: updatesPerSecond,
            learnsOnline: learnsOnline, sessionStore: sessionStore, seed: seed)
    }

    /// Loads the DeepPage model folder `directory` (``DRRModelStore/loadDeepPage(from:)``) and serves it.
    public init(
        directory: URL, name: String? = nil, updatesPerSecond: Double? = nil, learnsOnline: Bool = true,
        sessionStore: @escaping @Sendable () -> any SessionStore = { InMemorySessionStore() },
        seed: UInt64 = 0
    ) throws {
        core = try Core(
            directory: directory, name: name, updatesPerSecond: updatesPerSecond, learnsOnline: learnsOnline,
            sessionStore: sessionStore, seed: seed)
    }

    /// The served manifest.
    public var manifest: DRRManifest { core.current.manifest }
    /// The folder the served model was loaded from.
    public var directory: URL? { core.current.directory }
    /// `"<model id>.<n>"`, as ``DRREngine/modelVersion``.
    public var modelVersion: String { core.modelVersion }
    /// Always `true`: an engine exists only once its model is loaded.
    public var isReady: Bool { true }
    public var itemCount: Int { core.current.online.itemCount }
    public var trainingPopularity: TrainingPopularity? { core.current.popularity }
    public var modelCreatedAt: Date? { core.current.createdAt }
    /// The served model's ``DeepPageConfiguration/rows`` × ``DeepPageConfiguration/columns``.
    public var pageShape: PageShape? {
        let c = core.current.model.configuration
        return PageShape(rows: c.rows, columns: c.columns)
    }

    /// The user's page (see the type's documentation).
    /// - Throws: ``RequestError`` 422 when `k` is outside 1…1000 or when `exclude` and the
    ///   user's history leave no full page.
    public func recommend(user: String, k: Int, exclude: Set<String>) throws -> Recommendation {
        guard (1...1000).contains(k) else { throw Core.requestError(.invalidK(k)) }
        return try core.recommend { online in
            do {
                return try online.recommend(user: user, exclude: exclude)
            } catch OnlineError.invalidK(let size) {
                throw RequestError.unprocessable(
                    "the excluded items and the user's history leave fewer than \(size) items, a full page of model '\(modelName)'")
            }
        }
    }

    /// ``observe(user:item:reward:position:)`` without a position.
    public func observe(user: String, item: String, reward: Float) throws {
        try core.observe(user: user, item: item, reward: reward, position: nil)
    }

    /// ``OnlineDeepPage/observe(user:item:reward:position:)``; `position` is row-major.
    /// - Throws: ``RequestError`` 404 for an unknown item, 422 for a non-finite reward or a
    ///   negative position.
    public func observe(user: String, item: String, reward: Float, position: Int?) throws {
        try core.observe(user: user, item: item, reward: reward, position: position)
    }

    /// The reward scale's mapping, clamped to [−1, 1] (as ``DRREngine/rewardForRating(_:)``).
    public func rewardForRating(_ rating: Float) -> Float {
        min(1, max(-1, core.current.model.rewardScale.reward(forRating: rating)))
    }

    public var ratingRange: ClosedRange<Float>? {
        let scale = core.current.model.rewardScale
        return scale.minimum < scale.maximum ? scale.minimum...scale.maximum : nil
    }

    public func knowsItem(_ item: String) -> Bool { core.current.items.contains(item) }
    public func sessionItems(user: String) -> [String] { core.current.online.sessionItems(user: user) }
    public func restoreSession(user: String, items: [String]) { core.current.online.restoreSession(user: user, items: items) }
    /// The history length the model reads (``DRRConfiguration/windowSize``).
    public var sessionWindowSize: Int { core.current.model.configuration.base.windowSize }
    public var sessionEvictions: Int { core.sessionEvictions }

    /// The page for DeepPage's observation row (`observationSize` values, see the type's
    /// documentation), row-major, with its position scores.
    /// - Throws: ``RequestError`` 422 for another length or a non-finite value.
    public func scoreState(_ state: [Float]) throws -> [ScoredItem] {
        let online = core.current.online
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
    public func reload(from directory: URL) throws { try core.reload(from: directory) }

    /// Stops background learning for good and waits for a batch in progress (see
    /// ``DRREngine/stopBackgroundLearning()``).
    public func stopBackgroundLearning() { core.stopBackgroundLearning() }

    /// Applies up to `updates` DDPG updates now and publishes them (for tests and engines
    /// without background learning); returns the number applied.
    @discardableResult
    public func learn(updates: Int) -> Int { core.current.online.learn(updates: updates) }

    /// The gauges of ``DRREngine/statistics`` (`list_size` is the page's `rows · columns`),
    /// plus `page_rows` and `page_columns`.
    public var statistics: [String: Double] {
        let c = core.current.model.configuration
        return core.statistics(adding: ["list_size": Double(c.pageSize), "page_rows": Double(c.rows), "page_columns": Double(c.columns)])
    }
}
