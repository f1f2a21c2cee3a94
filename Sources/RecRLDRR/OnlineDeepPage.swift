import Foundation
import RecRLTensor
import RecRLAgents

/// A DeepPage model (``DeepPageModel``) serving live traffic and learning from it, through
/// the same ``SessionStore`` and online learning loop (publication of finite weights only,
/// background learning, reload) as ``OnlineDRR``.
///
/// - ``recommend(user:exclude:)`` answers one page: the state is the user's browsing
///   history (the session window of items with positive feedback, empty for a new session)
///   and the pages recently shown to them with their feedback; the actor's page of
///   embeddings is mapped to `h · w` distinct items, none of them excluded or already in the
///   window (``DeepPageModel/page(forAction:excluding:)``). Items are returned row-major
///   (position `p` is row `p / w`, column `p % w`) with their position score `e_i · a_p`.
///   The session keeps the page as pending (``DRRSession/pendingList``,
///   ``DRRSession/shownPages``).
/// - ``observe(user:item:reward:position:)`` on an item of the pending page records its raw
///   reward in the page's feedback channel and `Γ^position · r` for the page reward
///   (``DeepPageConfiguration/pageReward(_:)``; `position` is the row-major index where the
///   client showed the item, by default the item's own cell). A positive reward pushes the
///   item into the history. Feedback on an item outside the pending page only moves the
///   history.
/// - The page becomes one transition, as in ``DeepPageTrainer``: state = the observation
///   the page was served from, action = the page's scaled item embeddings
///   (``DeepPageModel/pageAction(_:scale:)``), reward = the page reward over the positions
///   with feedback (the others count 0), next state = the history after the feedback and the
///   shown pages including this one. It is written when every position has feedback, or
///   when the user's next page is served (a page without any feedback yields nothing and
///   leaves the shown pages as they were).
/// - ``learn(updates:)`` runs DDPG updates (``DDPGLearner/update(_:)``) on prioritized
///   batches of those transitions on a private copy and publishes finite weights.
///
/// A known user without a session starts from their logged history, the last positive
/// items of the training data the manifest keeps (``DRRManifest/userHistories``: DeepPage
/// has no user embedding); a new user, or a known user of a manifest without histories,
/// starts from an empty history, i.e. the actor's population-level page.
public final class OnlineDeepPage: Sendable {
    /// What feedback writes and learning samples: the prioritized replay and scratch rows.
    struct Experience: Sendable {
        var replay: PrioritizedReplayBuffer
        var state: Tensor
        var nextState: Tensor

        init(model: DeepPageModel) {
            let c = model.configuration.base
            replay = PrioritizedReplayBuffer(
                capacity: c.replayCapacity, stateSize: model.observationSize, actionSize: model.actionSize, alpha: c.priorityAlpha)
            state = Tensor(zeros: [1, model.observationSize])
            nextState = Tensor(zeros: [1, model.observationSize])
        }
    }

    /// A page whose feedback is complete (or that a newer page replaced).
    struct ClosedPage: Sendable {
        var pending: PendingList
        /// The shown pages before it (oldest first).
        var before: [ShownPage]
        /// The shown pages including it, with its feedback.
        var after: [ShownPage]
        var window: StateWindow
    }

    /// The users' sessions.
    public let sessions: any SessionStore
    let loop: OnlineLearningLoop<DeepPageOnlineLearner>
    private let counters = Locked((observed: 0, dropped: 0))
    /// Raw item ids in index order.
    public let itemIDs: [String]
    private let itemIndex: [String: Int]
    /// Raw user id → index in the manifest (for ``DRRManifest/userHistories``).
    private let userIndex: [String: Int]
    /// The manifest the model was loaded with.
    public let manifest: DRRManifest

    /// Serves `model`, whose item ids are in `manifest`.
    /// - Parameters:
    ///   - learns: whether feedback is kept for learning (``learn(updates:)``); with `false`
    ///     there is no replay and no learner copy, and closed pages count in
    ///     ``droppedTransitions``.
    ///   - diagnostic: receives a line when a learning batch is not published because a
    ///     weight became NaN or infinite.
    public init(
        model: DeepPageModel, manifest: DRRManifest, seed: UInt64 = 0, learns: Bool = true,
        sessions: any SessionStore = InMemorySessionStore(),
        diagnostic: @escaping @Sendable (String) -> Void = OnlineDRR.standardErrorDiagnostic
    ) {
        self.manifest = manifest
        self.sessions = sessions
        itemIDs = manifest.itemIDs
        itemIndex = Dictionary(manifest.itemIDs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        userIndex =
            manifest.userHistories == nil
            ? [:] : Dictionary(manifest.userIDs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        loop = OnlineLearningLoop(
            model: model, learner: learns ? DeepPageOnlineLearner(model: model, seed: seed) : nil, diagnostic: diagnostic)
    }

    /// Whether feedback is kept for learning.
    public var isLearning: Bool { loop.isLearning }
    /// The published model's version (1, then +1 per publication).
    public var modelVersion: Int { loop.published.version }
    /// The published model.
    public var currentModel: DeepPageModel { loop.published.model }
    /// The number of items in the catalogue.
    public var itemCount: Int { itemIDs.count }
    /// Transitions in the replay (0 when not learning).
    public var replayCount: Int { loop.experience?.withLock { $0.replay.count } ?? 0 }
    /// Feedback events observed, and updates applied, so far.
    public var statistics: (observed: Int, updates: Int) { (counters.withLock { $0.observed }, loop.updates) }
    /// Closed pages not stored because the recommender does not learn, or whose page reward
    /// is not finite.
    public var droppedTransitions: Int { counters.withLock { $0.dropped } }
    /// Learning batches not published because a weight became non-finite.
    public var skippedPublications: Int { loop.skippedPublications }

    /// The buffers of one page, reused across calls: the pool holds one per concurrent
    /// caller, so a warm ``recommend(user:exclude:)`` allocates its result and not its buffers.
    struct PageScratch {
        /// The shape of the model the buffers were made for.
        var key: PageShape
        var observation: Tensor
        var actor: DeepPageActor.Context
        var action = Tensor(zeros: [0])
        var scores = Tensor(zeros: [0])
        var page: [Int]
        var excluded = Set<Int>()

        init(model: DeepPageModel) {
            key = PageShape(model)
            observation = Tensor(zeros: [1, model.observationSize])
            actor = model.learner.actor.makeContext()
            page = [Int](repeating: -1, count: model.configuration.pageSize)
        }
    }
    /// Observation width, page size, embedding width and catalogue size of a model.
    struct PageShape: Equatable {
        var observation: Int, positions: Int, width: Int, items: Int
        init(_ model: DeepPageModel) {
            observation = model.observationSize
            positions = model.configuration.pageSize
            width = model.configuration.base.embeddingSize
            items = model.itemCount
        }
    }
    private let scratchPool = Locked<[PageScratch]>([])

    /// The history a user without a session starts from: a known user's logged history
    /// (``DRRManifest/userHistories``), else an empty one.
    func initialWindow(user: String, size: Int) -> StateWindow {
        guard let histories = manifest.userHistories, let u = userIndex[user], u < histories.count else {
            return StateWindow(size: size, initial: [])
        }
        return StateWindow(size: size, initial: histories[u].filter { $0 >= 0 && $0 < itemIDs.count })
    }

    /// The user's page, `h · w` items row-major with their position scores (see the type's
    /// documentation), and the model version it came from.
    ///
    /// One observation write, one actor forward pass and one GEMM of the page's embeddings
    /// against the catalogue, in buffers reused across calls; the session's page and
    /// pending page are rewritten in place when the previous page got no feedback.
    /// - Throws: ``OnlineError/invalidK(_:)`` when `exclude` and the history leave fewer
    ///   than `h · w` candidates (the value is the page size); the session store's error.
    public func recommend(user: String, exclude: Set<String> = []) throws -> (items: [(id: String, score: Float)], version: Int) {
        let snap = loop.published
        let model = snap.model
        let c = model.configuration
        let key = PageShape(model)
        var scratch = scratchPool.withLock { $0.popLast() } ?? PageScratch(model: model)
        if scratch.key != key { scratch = PageScratch(model: model) }
        let window: StateWindow
        do {
            // The stored copy is released at the end of this scope, so the update below
            // mutates the session's arrays in place.
            let stored = try sessions.session(for: user)
            window = stored?.window ?? initialWindow(user: user, size: c.base.windowSize)
            // A pending page without any feedback is dropped when this page is served: it
            // is not part of the state.
            let shown = stored?.shownPages ?? []
            let dropsPending = stored?.pendingList.map { !$0.hasFeedback } ?? false
            model.writeObservation(
                window: window, pages: dropsPending && !shown.isEmpty ? shown.dropLast() : shown[...], into: &scratch.observation)
        }
        scratch.excluded.removeAll(keepingCapacity: true)
        for id in exclude { if let i = itemIndex[id] { scratch.excluded.insert(i) } }
        for i in window.items where i >= 0 { scratch.excluded.insert(i) }
        model.learner.act(scratch.observation, context: &scratch.actor)
        let k = c.base.embeddingSize, positions = c.pageSize, m = model.itemCount
        scratch.action.prepare(rows: positions, columns: k)
        scratch.actor.output.withUnsafeBufferPointer { a in
            scratch.action.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: a.baseAddress!, count: positions * k) }
        }
        matmul(scratch.action, model.itemEmbeddings, transposeB: true, into: &scratch.scores)
        let excluded = scratch.excluded
        let items = scratch.scores.withUnsafeBufferPointer { z -> [(id: String, score: Float)]? in
            ListSelection.select(
                scores: z.baseAddress!, slots: positions, items: m, isExcluded: { excluded.contains($0) }, into: &scratch.page)
            guard !scratch.page.contains(where: { $0 < 0 }) else { return nil }
            return scratch.page.enumerated().map { (id: itemIDs[$0.element], score: z[$0.offset * m + $0.element]) }
        }
        guard let items else {
            scratchPool.withLock { $0.append(scratch) }
            throw OnlineError.invalidK(positions)
        }

        let recent = c.recentPages
        let page = scratch.page
        let closed = try sessions.update(user: user) { stored -> ClosedPage? in
            if stored == nil { stored = DRRSession(window: window) }
            if stored!.shownPages == nil { stored!.shownPages = [] }
            var closed: ClosedPage?
            var reused = false
            if let pending = stored!.pendingList, !stored!.shownPages!.isEmpty {
                if pending.hasFeedback {
                    let pages = stored!.shownPages!
                    closed = ClosedPage(pending: pending, before: Array(pages.dropLast()), after: pages, window: stored!.window)
                } else if stored!.shownPages![stored!.shownPages!.count - 1].items.count == page.count {
                    // The unanswered page is replaced in place by this one.
                    let last = stored!.shownPages!.count - 1
                    for p in page.indices {
                        stored!.shownPages![last].items[p] = page[p]
                        stored!.shownPages![last].rewards[p] = 0
                    }
                    reused = true
                } else {
                    stored!.shownPages!.removeLast()
                }
            }
            if !reused {
                stored!.shownPages!.append(ShownPage(items: page, rewards: [Float](repeating: 0, count: page.count)))
                if stored!.shownPages!.count > recent + 1 { stored!.shownPages!.removeFirst(stored!.shownPages!.count - recent - 1) }
            }
            stored!.stateWindow = window
            if reused, stored!.pendingList != nil, stored!.pendingList!.items.count == page.count {
                stored!.pendingList!.stateWindow = window
                for p in page.indices {
                    stored!.pendingList!.items[p] = page[p]
                    stored!.pendingList!.discountedRewards[p] = nil
                }
            } else {
                stored!.pendingList = PendingList(stateWindow: window, items: page)
            }
            return closed
        }
        scratchPool.withLock { $0.append(scratch) }
        if let closed { store(closed, model: model) }
        return (items, snap.version)
    }

    /// Records feedback on `item` (see the type's documentation).
    /// - Throws: ``OnlineError`` for an unknown item, a non-finite reward or a negative
    ///   position; the session store's error.
    public func observe(user: String, item: String, reward: Float, position: Int? = nil) throws {
        if let position, position < 0 { throw OnlineError.invalidPosition(position) }
        guard let i = itemIndex[item] else { throw OnlineError.unknownItem(item) }
        guard reward.isFinite else { throw OnlineError.invalidReward(reward) }
        let model = loop.published.model
        let size = model.configuration.base.windowSize, discount = model.configuration.positionDiscount
        let closed = try sessions.update(user: user) { stored -> ClosedPage? in
            if stored == nil { stored = DRRSession(window: initialWindow(user: user, size: size)) }
            if reward > 0 { stored!.window.push(i) }
            guard var pending = stored!.pendingList, var pages = stored!.shownPages, !pages.isEmpty,
                let slot = pending.items.firstIndex(of: i)
            else { return nil }
            pending.discountedRewards[slot] = OnlineDRR.positionWeight(discount, position: position ?? slot) * reward
            pages[pages.count - 1].rewards[slot] = reward
            stored!.shownPages = pages
            guard pending.isComplete else {
                stored!.pendingList = pending
                return nil
            }
            stored!.pendingList = nil
            return ClosedPage(pending: pending, before: Array(pages.dropLast()), after: pages, window: stored!.window)
        }
        counters.withLock { $0.observed += 1 }
        if let closed { store(closed, model: model) }
    }

    /// A logged event (a learner replaying the event log, `recrl learn`): the served page is
    /// not logged, so the user's session rebuilds it from the events' positions. The event
    /// fills cell `position` (row-major) of the user's logged page with its item and raw
    /// reward (`Γ^position · r` for the page reward); events of one request (`requestID`)
    /// fill one page. An event of another request, or whose position or item is already in
    /// the page, starts a new page: the incomplete one is dropped (its items are unknown)
    /// and counted in ``droppedTransitions``. A page with every cell filled becomes one
    /// transition through the same path as a served page (state: the history before its
    /// first event and the pages logged before it; next state: the history after its last
    /// event and the pages including it). A position outside the page (`≥ h · w`) only moves
    /// the history; a positive reward pushes the item into it, as for served pages.
    /// - Returns: the user's state before the event (history and complete logged pages),
    ///   which the learner's gate ranks the item in (``DeepPageModel/scores(window:pages:)``).
    /// - Throws: ``OnlineError`` for an unknown item, a non-finite reward or a negative
    ///   position; the session store's error.
    public func observeLogged(
        user: String, item: String, reward: Float, position: Int, requestID: String? = nil
    ) throws -> (window: StateWindow, pages: [ShownPage]) {
        guard position >= 0 else { throw OnlineError.invalidPosition(position) }
        guard let i = itemIndex[item] else { throw OnlineError.unknownItem(item) }
        guard reward.isFinite else { throw OnlineError.invalidReward(reward) }
        let model = loop.published.model
        let c = model.configuration
        let size = c.base.windowSize, slots = c.pageSize, discount = c.positionDiscount, recent = c.recentPages
        typealias Outcome = (before: (window: StateWindow, pages: [ShownPage]), closed: ClosedPage?, cut: Bool)
        let outcome = try sessions.update(user: user) { stored -> Outcome in
            if stored == nil { stored = DRRSession(window: initialWindow(user: user, size: size)) }
            var pages = stored!.shownPages ?? []
            var pending = stored!.pendingList
            if pending != nil && (pending!.items.count != slots || pages.isEmpty) { pending = nil }
            let before = (window: stored!.window, pages: pending == nil ? pages : Array(pages.dropLast()))
            defer { if reward > 0 { stored!.window.push(i) } }
            guard position < slots else { return (before, nil, false) }
            var cut = false
            if let open = pending,
                open.items[position] >= 0 || open.items.contains(i) || (requestID != nil && open.requestID != requestID)
            {
                cut = true
                pending = nil
                pages.removeLast()
            }
            if pending == nil {
                pending = PendingList(stateWindow: stored!.window, items: [Int](repeating: -1, count: slots), requestID: requestID)
                pages.append(ShownPage(items: [Int](repeating: -1, count: slots), rewards: [Float](repeating: 0, count: slots)))
                if pages.count > recent + 1 { pages.removeFirst(pages.count - recent - 1) }
            }
            pending!.items[position] = i
            pending!.discountedRewards[position] = OnlineDRR.positionWeight(discount, position: position) * reward
            pages[pages.count - 1].items[position] = i
            pages[pages.count - 1].rewards[position] = reward
            stored!.shownPages = pages
            guard pending!.isComplete else {
                stored!.pendingList = pending
                return (before, nil, cut)
            }
            stored!.pendingList = nil
            var after = stored!.window
            if reward > 0 { after.push(i) }
            return (before, ClosedPage(pending: pending!, before: Array(pages.dropLast()), after: pages, window: after), cut)
        }
        counters.withLock {
            $0.observed += 1
            if outcome.cut { $0.dropped += 1 }
        }
        if let closed = outcome.closed { store(closed, model: model) }
        return outcome.before
    }

    /// Writes `closed` into the replay as one transition, or counts it as dropped.
    private func store(_ closed: ClosedPage, model: DeepPageModel) {
        guard let experience = loop.experience, closed.pending.listReward.isFinite else {
            counters.withLock { $0.dropped += 1 }
            return
        }
        let action = model.pageAction(closed.pending.items, scale: model.actionScale)
        let stored = experience.withLock { e -> Bool in
            guard e.replay.stateSize == model.observationSize && e.replay.actionSize == model.actionSize else { return false }
            model.writeObservation(window: closed.pending.stateWindow, pages: closed.before, into: &e.state)
            model.writeObservation(window: closed.window, pages: closed.after, into: &e.nextState)
            e.replay.add(state: e.state, action: action, reward: closed.pending.listReward, discount: 1, nextState: e.nextState)
            return true
        }
        if !stored { counters.withLock { $0.dropped += 1 } }
    }

    /// The user's history (items with positive feedback), oldest first.
    public func sessionItems(user: String) -> [String] {
        let window = (try? sessions.session(for: user))??.window
        return (window?.items ?? []).compactMap { $0 >= 0 ? itemIDs[$0] : nil }
    }

    /// Replaces the user's history with the last ``DRRConfiguration/windowSize`` of `items`
    /// (ids outside the catalogue are skipped); an equal history leaves the session as it is.
    public func restoreSession(user: String, items: [String]) {
        let size = loop.published.model.configuration.base.windowSize
        let window = StateWindow(size: size, initial: items.compactMap { itemIndex[$0] })
        _ = try? sessions.update(user: user) { stored in
            guard stored?.window != window else { return }
            stored = DRRSession(window: window)
        }
    }

    /// Applies up to `updates` DDPG updates (once the replay holds a batch) and publishes
    /// the new weights; returns the number applied (see ``OnlineDRR/learn(updates:)``).
    @discardableResult
    public func learn(updates: Int) -> Int { loop.learn(updates: updates) }

    /// Swaps in a new model atomically; sessions are kept, and so is the replay unless the
    /// new model's observation or action width differs.
    public func reload(model: DeepPageModel) { loop.reload(model: model) }

    /// Runs ``learn(updates:)`` in the background, `updatesPerSecond` in batches of ten.
    public func startBackgroundLearning(updatesPerSecond: Double) { loop.startBackgroundLearning(updatesPerSecond: updatesPerSecond) }

    /// Stops background learning (the current batch finishes).
    public func stopBackgroundLearning() { loop.stopBackgroundLearning() }
}

extension DeepPageModel {
    /// The name of the first tensor of the learner (networks and targets) holding a NaN or
    /// an infinity, or `nil` when every one is finite.
    public var firstNonFiniteTensor: String? {
        learner.checkpointTensors().sorted { $0.key < $1.key }.first { !$0.value.isFinite }.map { "tensor '\($0.key)'" }
    }
}

/// DeepPage's online learner (``OnlineLearningAlgorithm``): DDPG updates on prioritized
/// batches, as ``DeepPageTrainer`` runs them.
struct DeepPageOnlineLearner: OnlineLearningAlgorithm {
    typealias Experience = OnlineDeepPage.Experience

    private(set) var model: DeepPageModel
    var rng: Xoshiro256StarStar
    var batch: TransitionBatch

    init(model: DeepPageModel, seed: UInt64) {
        self.model = model
        rng = Xoshiro256StarStar(seed: seed)
        batch = TransitionBatch(
            batchSize: model.configuration.base.batchSize, stateSize: model.observationSize, actionSize: model.actionSize)
    }

    func isReady(_ experience: Experience) -> Bool { experience.replay.count >= model.configuration.base.batchSize }

    mutating func update(experience: Locked<Experience>) -> Bool {
        experience.withLock { e in e.replay.sample(into: &batch, using: &rng) }
        let stats = model.learner.update(batch)
        guard stats.criticLoss.isFinite && (stats.actorLoss?.isFinite ?? true) else { return false }
        let errors = model.learner.tdErrors, indices = batch.indices
        if errors.isFinite { experience.withLock { e in e.replay.updatePriorities(indices: indices, tdErrors: errors) } }
        return true
    }

    static func firstNonFiniteTensor(in model: DeepPageModel) -> String? { model.firstNonFiniteTensor }

    mutating func revert(to model: DeepPageModel) { self.model = model }

    mutating func adopt(_ new: DeepPageModel) -> Bool {
        let fits =
            model.observationSize == new.observationSize && model.actionSize == new.actionSize
            && model.configuration.base.batchSize == new.configuration.base.batchSize
        model = new
        if !fits { self = DeepPageOnlineLearner(model: new, seed: rng.next()) }
        return fits
    }

    static func makeExperience(for model: DeepPageModel) -> Experience { Experience(model: model) }
}

extension DRRModelStore {
    /// The manifest policy of the model folder `directory` (e.g. `"drr-ave"`, `"lird"`,
    /// ``deepPagePolicy``), read without loading the weights, so a caller can choose the loader.
    /// - Throws: ``DRRError/invalidModel(_:)`` when the manifest is missing or unreadable.
    public static func policy(of directory: URL) throws -> String {
        let url = currentVersionDirectory(of: directory).appendingPathComponent(manifestFile)
        guard let data = try? Data(contentsOf: url) else {
            throw DRRError.invalidModel("cannot read the manifest of model folder '\(directory.lastPathComponent)'")
        }
        struct Policy: Decodable { var policy: String }
        do { return try JSONDecoder().decode(Policy.self, from: data).policy } catch {
            throw DRRError.invalidModel("the manifest of model folder '\(directory.lastPathComponent)' names no policy: \(error)")
        }
    }
}
