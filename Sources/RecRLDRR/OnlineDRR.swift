import Foundation
import RecRLAgents
import RecRLNN
import RecRLTensor

/// Errors of the online recommender that a client caused.
public enum OnlineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The item id is not in the model's catalogue.
    case unknownItem(String)
    /// `k` is outside 1…1000.
    case invalidK(Int)
    /// A reward is not finite.
    case invalidReward(Float)
    /// A list position is negative.
    case invalidPosition(Int)

    public var description: String {
        switch self {
        case let .unknownItem(id): return "unknown item '\(id)': it is not in the model's catalogue"
        case let .invalidK(k): return "k must be in 1...1000, got \(k)"
        case let .invalidReward(r): return "reward must be a finite number, got \(r)"
        case let .invalidPosition(p): return "position must be at least 0, got \(p)"
        }
    }
}

/// A DRR model serving live traffic and learning from it.
///
/// - `recommend(user:k:exclude:)`: the user's session state (recent positive items) →
///   `a = μ(module([u | i_1 … i_n]))` → scores `E·a` by one GEMV over the contiguous item
///   matrix → partial top-K (no full sort).
/// - `observe(user:item:reward:position:)`: updates the session state (a positive reward pushes
///   the item into the window) and, when the recommender learns, writes the transition
///   straight into the bounded replay buffer (when it does not, the transition is dropped
///   and counted in ``droppedTransitions``). List models: see below.
/// - Online learning: ``learn(updates:)`` (or ``startBackgroundLearning(updatesPerSecond:)``)
///   runs the same ``DRRLearningStep`` as offline training (by default without training
///   the state module: ``learningOptions``) on a private copy and then publishes the new
///   weights atomically: a reader takes the current snapshot under a lock held only
///   to copy a reference, so it never waits for an update and never sees a half-written
///   model. The replay buffer is locked only to store a transition or to sample a batch,
///   so feedback never waits for a learning step. Weights that are not finite after a
///   batch of updates are never published: the learner goes back to the published model,
///   the batch counts in ``skippedPublications`` and the diagnostic handler is told.
///   Publication, this check, reload and the background schedule are one generic loop
///   (`OnlineLearningLoop`) over a small learner role (`OnlineLearningAlgorithm`: ready,
///   update, revert, adopt a reloaded model); DRR and LIRD plug in the same
///   ``DRRLearningStep`` learner, and another model type plugs in its own without copying
///   the loop.
///
/// List models (LIRD, ``DRRModel/listSize`` `K` > 1) are served and learn online through
/// the same session store, replay buffer, learning step and publication; only the
/// transition a feedback event builds differs:
/// - `recommend` returns the model's list, slot `j`'s item the best under the actor's
///   weight vector `w_j` among the items no earlier slot took and not excluded
///   (``ListSelection``), in list order, with its slot score `e_i · w_j`; `k` caps the
///   answer (at most `K` items). The session keeps the whole list as a ``PendingList``
///   with the state it was served in.
/// - `observe(user:item:reward:position:)` on an item of the pending list records its
///   reward discounted by its position, `Γ^position · r` (``LIRDConfiguration/positionDiscount``
///   from the manifest; `position` is where the client showed the item, by default its
///   slot in the list); a positive item enters the window as for DRR. Feedback on an item
///   outside the pending list only moves the window.
/// - The list becomes one transition, as in LIRD's training (``LIRDTrainer``): state = the
///   window it was served in, action = the list's scaled item embeddings (or the actor's
///   output, ``DRRConfiguration/replayAction``), reward = `Σ_j Γ^(position_j) r_j` over the
///   items with feedback (the others count 0), next state = the window after the feedback.
///   It is written when every item of the list has feedback, or when the user's next list
///   is served (a list without any feedback yields nothing).
/// - The supervised next-item objective is not run online for list models (its examples
///   need `K` consecutive positives); ``DRRLearningStep``'s DDPG update is.
///
/// Sessions live in a ``SessionStore`` (by default an ``InMemorySessionStore``: an LRU of
/// at most 100 000 sessions with a one-hour time to live). Memory in the steady state is
/// the model (twice while learning: the published copy and the learner's), the sessions
/// (bounded by the store) and, when learning, the replay buffer
/// (`4 · (2 · inputSize + embeddingSize + 2) + 32` bytes per transition, up to
/// ``DRRConfiguration/replayCapacity``, allocated as it fills) and the supervised examples
/// (`4 · inputSize + 4` bytes each, up to ``exampleCapacity``, only with a positive
/// ``DRRConfiguration/supervisedWeight``).
///
/// Cold start: a user the model was not trained on who has given no positive feedback
/// yet gets the most popular items of the training data (``DRRManifest/itemPopularity``,
/// scores = interaction counts); from their first positive feedback on, their state is the
/// zero user vector plus the window of items they liked, so DRR ranks for them by what
/// they consumed (content-based through the item embeddings). A manifest without
/// popularity counts gives such users the actor's population-level action instead.
/// Unknown items are rejected with ``OnlineError/unknownItem(_:)``.
public final class OnlineDRR: Sendable {
    /// What feedback writes and learning samples: the replay buffer and the live
    /// next-item examples, behind their own lock.
    struct Experience: Sendable {
        var replay: PrioritizedReplayBuffer
        /// Live next-item examples for the supervised objective: the module input before a
        /// positive item (a ring of up to ``OnlineDRR/exampleCapacity`` rows, grown on demand)
        /// and the item.
        var examples: Tensor
        var exampleItems: [Int32]
        let exampleCapacity: Int
        var exampleCount = 0
        var exampleNext = 0
        /// Scratch rows a transition is built in.
        var state: Tensor
        var nextState: Tensor
        var action: Tensor

        init(model: DRRModel) {
            let c = model.configuration, x = model.inputSize
            replay = PrioritizedReplayBuffer(capacity: c.replayCapacity, stateSize: x, actionSize: model.learner.actionSize, alpha: c.priorityAlpha)
            exampleCapacity = c.supervisedWeight > 0 && model.listSize == 1 ? OnlineDRR.exampleCapacity : 0
            examples = Tensor(zeros: [0, x])
            exampleItems = []
            state = Tensor(zeros: [1, x])
            nextState = Tensor(zeros: [1, x])
            action = Tensor(zeros: [model.learner.actionSize])
        }

        /// Writes one transition into the replay: the module inputs of `before` and `after`
        /// for user `u`, and as action the scaled embeddings of `items` in order (with
        /// `replaysItems`), else `actorAction` (zeros when it is missing or of another
        /// width). Returns false, storing nothing, when the replay was shaped for a model of
        /// another shape (a transition built from the model before a reload); on true
        /// ``state`` holds the transition's state row.
        mutating func add<C: Collection<Int>>(
            model: DRRModel, user u: Int, before: StateWindow, after: StateWindow,
            reward: Float, items: C, replaysItems: Bool, actorAction: [Float]?
        ) -> Bool {
            guard replay.stateSize == model.inputSize && replay.actionSize == model.learner.actionSize else { return false }
            model.writeInput(user: u, window: before, into: &state)
            model.writeInput(user: u, window: after, into: &nextState)
            let k = model.configuration.embeddingSize, width = model.learner.actionSize, scale = model.actionScale
            action.withUnsafeMutableBufferPointer { a in
                if replaysItems {
                    model.itemEmbeddings.withUnsafeBufferPointer { embeddings in
                        for (slot, item) in items.enumerated() {
                            for j in 0..<k { a[slot * k + j] = scale * embeddings[item * k + j] }
                        }
                    }
                } else if let stored = actorAction, stored.count == width {
                    for j in 0..<width { a[j] = stored[j] }
                } else {
                    for j in 0..<width { a[j] = 0 }
                }
            }
            replay.add(state: state, action: action, reward: reward, discount: 1, nextState: nextState)
            return true
        }

        /// Stores one example, overwriting the oldest once the ring is full.
        mutating func addExample(_ input: Tensor, item: Int) {
            guard exampleCapacity > 0 else { return }
            let width = input.count, row = exampleNext
            if row == examples.rows {
                // Grow by doubling (to at most the capacity), keeping the stored rows.
                let rows = Swift.min(exampleCapacity, Swift.max(256, 2 * examples.rows))
                var bigger = Tensor(zeros: [rows, width])
                examples.withUnsafeBufferPointer { src in
                    bigger.withUnsafeMutableBufferPointer { if src.count > 0 { $0.baseAddress!.update(from: src.baseAddress!, count: src.count) } }
                }
                examples = bigger
                exampleItems.append(contentsOf: repeatElement(0, count: rows - exampleItems.count))
            }
            examples.withUnsafeMutableBufferPointer { dst in
                input.withUnsafeBufferPointer { src in (dst.baseAddress! + row * width).update(from: src.baseAddress!, count: width) }
            }
            exampleItems[row] = Int32(item)
            exampleNext = (exampleNext + 1) % exampleCapacity
            exampleCount = Swift.min(exampleCount + 1, exampleCapacity)
        }

        /// Copies a random batch of stored examples into `inputs` and `targets`; false when
        /// fewer than a batch are stored.
        func sampleExamples<G: RandomNumberGenerator>(into inputs: inout Tensor, targets: inout [Int32], using rng: inout G) -> Bool {
            let b = inputs.rows, width = inputs.columns
            guard exampleCount >= b else { return false }
            inputs.withUnsafeMutableBufferPointer { dst in
                examples.withUnsafeBufferPointer { src in
                    for r in 0..<b {
                        let e = Int(rng.next() % UInt64(exampleCount))
                        (dst.baseAddress! + r * width).update(from: src.baseAddress! + e * width, count: width)
                        targets[r] = exampleItems[e]
                    }
                }
            }
            return true
        }
    }

    /// Counters exported by ``statistics`` and friends.
    struct Counters: Sendable {
        var observed = 0
        var dropped = 0
    }

    /// Rows kept for the online supervised objective (the most recent positives).
    public static let exampleCapacity = 10_000

    /// The users' sessions.
    public let sessions: any SessionStore
    /// Publication, learning batches and background learning (``OnlineLearningLoop``),
    /// with the DRR learning step as its algorithm.
    let loop: OnlineLearningLoop<DRROnlineLearner>
    let counters = Locked(Counters())
    /// Raw user id → user index of the model.
    public let userIndex: [String: Int]
    /// Raw item ids in index order.
    public let itemIDs: [String]
    let itemIndex: [String: Int]
    /// The manifest the model was loaded with.
    public let manifest: DRRManifest
    /// `Γ`, the position discount of a list model's list reward: the manifest's
    /// ``LIRDConfiguration/positionDiscount`` (LIRD's default without one).
    public let positionDiscount: Float
    /// Item indices by decreasing training popularity (ties: lower index first), for the
    /// cold-start fallback; empty when the manifest has no popularity counts.
    private let popularityOrder: [Int]

    /// How online learning's ``DRRLearningStep`` differs from offline training's.
    public let learningOptions: DRRLearningStep.Options

    /// Serves `model`, whose id maps are in `manifest`.
    ///
    /// - Parameters:
    ///   - learns: whether feedback is kept for learning (``learn(updates:)``). With
    ///     `false` there is no replay buffer and no learner copy of the model at all:
    ///     feedback only updates the sessions, its transitions are dropped (counted in
    ///     ``droppedTransitions``) and ``learn(updates:)`` does nothing.
    ///   - sessions: where the users' sessions are kept (default: an
    ///     ``InMemorySessionStore`` with its default limits).
    ///   - learningOptions: options of the online ``DRRLearningStep``; the default
    ///     leaves the state module as trained offline (see
    ///     ``DRRLearningStep/Options/trainsStateModule``).
    ///   - diagnostic: receives a line when a learning batch is not published because a
    ///     weight became NaN or infinite (default: standard error).
    public init(
        model: DRRModel, manifest: DRRManifest, seed: UInt64 = 0, learns: Bool = true,
        sessions: any SessionStore = InMemorySessionStore(),
        learningOptions: DRRLearningStep.Options = .init(trainsStateModule: false),
        diagnostic: @escaping @Sendable (String) -> Void = OnlineDRR.standardErrorDiagnostic
    ) {
        self.manifest = manifest
        positionDiscount = manifest.lird?.positionDiscount ?? LIRDConfiguration().positionDiscount
        self.learningOptions = learningOptions
        self.sessions = sessions
        userIndex = Dictionary(uniqueKeysWithValues: manifest.userIDs.enumerated().map { ($1, $0) })
        itemIDs = manifest.itemIDs
        itemIndex = Dictionary(uniqueKeysWithValues: manifest.itemIDs.enumerated().map { ($1, $0) })
        if let counts = manifest.itemPopularity, counts.count == manifest.itemIDs.count {
            popularityOrder = counts.indices.sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
        } else {
            popularityOrder = []
        }
        loop = OnlineLearningLoop(
            model: model, learner: learns ? DRROnlineLearner(model: model, seed: seed, options: learningOptions) : nil,
            diagnostic: diagnostic)
    }

    /// Writes `message` to standard error, prefixed with `recrl: `.
    public static let standardErrorDiagnostic: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data(("recrl: " + message + "\n").utf8))
    }

    /// Loads a model folder written by `recrl train`.
    public convenience init(
        directory: URL, seed: UInt64 = 0, learns: Bool = true,
        sessions: any SessionStore = InMemorySessionStore(),
        learningOptions: DRRLearningStep.Options = .init(trainsStateModule: false)
    ) throws {
        let (model, manifest) = try DRRModelStore.load(from: directory)
        self.init(model: model, manifest: manifest, seed: seed, learns: learns, sessions: sessions, learningOptions: learningOptions)
    }

    /// Whether feedback is kept for learning (see ``init(model:manifest:seed:learns:sessions:learningOptions:diagnostic:)``).
    public var isLearning: Bool { loop.isLearning }

    /// The published model's version (1, then +1 per publication).
    public var modelVersion: Int { loop.published.version }

    /// The number of items in the catalogue.
    public var itemCount: Int { itemIDs.count }

    /// The published model (the weights ``recommend(user:k:exclude:)`` uses now,
    /// including what was learned online).
    public var currentModel: DRRModel { loop.published.model }

    /// Transitions in the replay buffer (0 when not learning).
    public var replayCount: Int { loop.experience?.withLock { $0.replay.count } ?? 0 }

    /// Feedback events observed, and updates applied, so far.
    public var statistics: (observed: Int, updates: Int) { (counters.withLock { $0.observed }, loop.updates) }

    /// Transitions dropped because the recommender does not learn (``isLearning``), and
    /// list transitions whose list reward overflowed to infinity.
    public var droppedTransitions: Int { counters.withLock { $0.dropped } }

    /// Learning batches whose weights were not finite and were therefore not published.
    public var skippedPublications: Int { loop.skippedPublications }

    /// The buffers of one ranking, reused across calls: the pool holds one per concurrent
    /// caller, so a warm `recommend` allocates only its result.
    struct RankingScratch {
        /// The shape of the model the buffers were made for.
        var key: ModelShape
        var input = Tensor(zeros: [0])
        var module = BasicContext()
        var actor: MLPActor.Context
        var action = Tensor(zeros: [0])
        var scores = Tensor(zeros: [0])
        var selector = TopKSelector()
        var excluded = Set<Int>()
    }
    private let scratchPool = Locked<[RankingScratch]>([])
    /// Input width, hidden width and k of a model.
    struct ModelShape: Equatable { var input: Int, hidden: Int, k: Int }

    /// The top `k` items for `user`, best first, skipping `exclude` and the items in the
    /// user's current window. Throws ``OnlineError/invalidK(_:)`` for k outside 1…1000.
    /// For a list model (LIRD) the items are its list in list order (position 0 first),
    /// at most ``DRRModel/listSize`` of them (`k` caps the list).
    ///
    /// One state-module and actor forward pass, one GEMV over the item matrix and a
    /// partial top-K selection (no sort of the catalogue), in buffers reused across calls.
    public func recommend(user: String, k requested: Int, exclude: Set<String> = []) throws -> (items: [(id: String, score: Float)], version: Int) {
        guard (1...1000).contains(requested) else { throw OnlineError.invalidK(requested) }
        let snap = loop.published
        let model = snap.model
        let slots = model.listSize
        let k = Swift.min(requested, slots > 1 ? slots : requested)
        let u = userIndex[user] ?? -1
        let window = try sessions.session(for: user)?.window ?? StateWindow(size: model.configuration.windowSize, initial: [])
        if u < 0 && !popularityOrder.isEmpty && !window.items.contains(where: { $0 >= 0 }),
            let counts = manifest.itemPopularity
        {
            // Cold start: a new user with no positive feedback yet gets the popular items.
            var items: [(id: String, score: Float)] = []
            items.reserveCapacity(k)
            for i in popularityOrder where !exclude.contains(itemIDs[i]) {
                items.append((id: itemIDs[i], score: Float(counts[i])))
                if items.count == k { break }
            }
            return (items, snap.version)
        }
        let key = ModelShape(input: model.inputSize, hidden: model.configuration.hiddenSize, k: model.learner.actionSize)
        var scratch = scratchPool.withLock { $0.popLast() } ?? RankingScratch(key: key, actor: model.learner.actor.makeContext())
        if scratch.key != key { scratch = RankingScratch(key: key, actor: model.learner.actor.makeContext()) }

        scratch.input.prepare(rows: 1, columns: model.inputSize)
        model.writeInput(user: u, window: window, into: &scratch.input)
        model.stateModule.forward(scratch.input, context: &scratch.module)
        model.learner.act(scratch.module.output, context: &scratch.actor)
        let width = model.configuration.embeddingSize
        if slots > 1 { scratch.action.prepare(rows: slots, columns: width) } else { scratch.action.prepare(count: width) }
        scratch.actor.output.withUnsafeBufferPointer { a in
            scratch.action.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: a.baseAddress!, count: slots * width) }
        }
        scratch.excluded.removeAll(keepingCapacity: true)
        for id in exclude { if let i = itemIndex[id] { scratch.excluded.insert(i) } }
        for i in window.items where i >= 0 { scratch.excluded.insert(i) }
        let excluded = scratch.excluded
        let items: [(id: String, score: Float)]
        var list: [Int] = []
        if slots > 1 {
            // LIRD: one GEMM scores the catalogue under each slot's weight vector, then
            // slot by slot the best item no earlier slot took (ListSelection).
            matmul(scratch.action, model.itemEmbeddings, transposeB: true, into: &scratch.scores)
            list = [Int](repeating: -1, count: slots)
            let m = model.itemCount
            items = scratch.scores.withUnsafeBufferPointer { z in
                ListSelection.select(scores: z.baseAddress!, slots: slots, items: m, isExcluded: { excluded.contains($0) }, into: &list)
                return list.prefix(k).enumerated().filter { $0.element >= 0 }.map { (id: itemIDs[$0.element], score: z[$0.offset * m + $0.element]) }
            }
        } else {
            matvec(model.itemEmbeddings, scratch.action, into: &scratch.scores)
            scratch.selector.select(scratch.scores, k: k, isExcluded: { excluded.contains($0) })
            let selector = scratch.selector
            items = (0..<selector.count).map { (id: itemIDs[selector.indices[$0]], score: selector.scores[$0]) }
        }

        // The state (its window) and action this ranking came from, for the feedback that follows.
        // A list model's session keeps the whole list; serving a new one closes the previous list.
        let keepsAction = model.configuration.replayAction != .itemEmbedding
        let actor = scratch.actor
        let served = list
        let closed = try sessions.update(user: user) { stored -> ClosedList? in
            if stored == nil { stored = DRRSession(window: window) }
            stored!.stateWindow = window
            var closed: ClosedList?
            if slots > 1 {
                if let pending = stored!.pendingList, pending.hasFeedback {
                    closed = ClosedList(list: pending, action: stored!.lastAction, after: stored!.window)
                }
                stored!.pendingList = served.contains { $0 < 0 } ? nil : PendingList(stateWindow: window, items: served)
            }
            if keepsAction {
                actor.output.withUnsafeBufferPointer { a in
                    if stored!.lastAction?.count == a.count {
                        for j in 0..<a.count { stored!.lastAction![j] = a[j] }
                    } else {
                        stored!.lastAction = Array(a)
                    }
                }
            }
            return closed
        }
        scratchPool.withLock { $0.append(scratch) }
        if let closed { storeList(closed, user: user, model: model) }
        return (items, snap.version)
    }

    /// Records feedback: updates the user's window and, when the recommender learns,
    /// stores the transition from the user's previous state (their last ranking, or their
    /// last feedback after it) in the replay buffer. Feedback before any ranking of the
    /// user only updates the window.
    ///
    /// For a list model (LIRD) the feedback counts for the item's slot in the user's
    /// pending list, discounted by `position` (where the item was shown, 0 first; default:
    /// its slot), and the list becomes a transition once complete (see the type's
    /// documentation). DRR ignores `position`.
    /// - Throws: ``OnlineError`` for an unknown item, a non-finite reward or a negative
    ///   position; the session store's error if it fails.
    public func observe(user: String, item: String, reward: Float, position: Int? = nil) throws {
        if let position, position < 0 { throw OnlineError.invalidPosition(position) }
        _ = try record(user: user, item: item, reward: reward, position: position, logged: false)
    }

    /// Records a logged feedback event whose ranking this instance did not serve (a
    /// learner process replaying the event log that serving replicas wrote): like
    /// ``observe(user:item:reward:position:)``, but every event yields a transition, whose state is
    /// the module input of the user's window before the event (or of the state after the
    /// user's previous event) and whose action is the item's action
    /// ``DRRModel/itemAction(_:scale:)`` (the actor's action is not logged).
    ///
    /// A list model (LIRD) rebuilds its list transitions from the logged positions (see
    /// ``recordLoggedListFeedback(user:item:reward:position:model:)``): the user's
    /// consecutive events with positions fill a list slot by slot, and a list with an event
    /// at every position `0..<K` becomes one transition (action: the items' scaled
    /// embeddings in position order). A logged event without a position, or a list that a
    /// repeated position or item cut off before it was complete, moves the window only and
    /// counts in ``droppedTransitions``.
    /// - Returns: that state, `[1, inputSize]` (a learner's metric gate ranks with it).
    @discardableResult
    public func observeLogged(user: String, item: String, reward: Float, position: Int? = nil) throws -> Tensor {
        if let position, position < 0 { throw OnlineError.invalidPosition(position) }
        let before = try record(user: user, item: item, reward: reward, position: position, logged: true)
        let model = loop.published.model
        var input = Tensor(zeros: [1, model.inputSize])
        model.writeInput(user: userIndex[user] ?? -1, window: before ?? StateWindow(size: model.configuration.windowSize, initial: []), into: &input)
        return input
    }

    /// The session update and transition of ``observe(user:item:reward:position:)`` and
    /// ``observeLogged(user:item:reward:position:)``; returns the transition's state window, if any.
    private func record(user: String, item: String, reward: Float, position: Int?, logged: Bool) throws -> StateWindow? {
        guard let i = itemIndex[item] else { throw OnlineError.unknownItem(item) }
        guard reward.isFinite else { throw OnlineError.invalidReward(reward) }
        let model = loop.published.model
        if model.listSize > 1 && !logged {
            try recordListFeedback(user: user, item: i, reward: reward, position: position, model: model)
            return nil
        }
        if model.listSize > 1, let position {
            return try recordLoggedListFeedback(user: user, item: i, reward: reward, position: position, model: model)
        }
        let u = userIndex[user] ?? -1
        let transition = try sessions.update(user: user) { stored -> (before: StateWindow, action: [Float]?, after: StateWindow)? in
            if stored == nil { stored = DRRSession(window: StateWindow(size: model.configuration.windowSize, initial: [])) }
            let before: StateWindow
            if let state = stored!.stateWindow {
                before = state
            } else if logged {
                before = stored!.window
            } else {
                if reward > 0 { stored!.window.push(i) }
                return nil
            }
            if reward > 0 { stored!.window.push(i) }
            stored!.stateWindow = stored!.window
            return (before, logged ? nil : stored!.lastAction, stored!.window)
        }
        counters.withLock { $0.observed += 1 }
        guard let transition else { return nil }
        guard let experience = loop.experience, model.listSize == 1 else {
            counters.withLock { $0.dropped += 1 }
            return transition.before
        }
        let replaysItem = logged || model.configuration.replayAction == .itemEmbedding
        let supervised = model.configuration.supervisedWeight > 0
        experience.withLock { e in
            guard
                e.add(
                    model: model, user: u, before: transition.before, after: transition.after, reward: reward,
                    items: CollectionOfOne(i), replaysItems: replaysItem, actorAction: transition.action)
            else { return }
            if supervised && reward > 0 { e.addExample(e.state, item: i) }
        }
        return transition.before
    }

    /// The user's window of recent positive items, oldest first (empty for a user
    /// without a session, or when the session store cannot be read).
    public func sessionItems(user: String) -> [String] {
        let window = (try? sessions.session(for: user))??.window
        return (window?.items ?? []).compactMap { $0 >= 0 ? itemIDs[$0] : nil }
    }

    /// Replaces the user's window with the last ``DRRConfiguration/windowSize`` of
    /// `items` (oldest first; ids outside the catalogue are skipped), e.g. the window a
    /// shared session store holds when several replicas serve the same users. A window
    /// equal to the current one leaves the session as it is; a failing session store
    /// leaves it too (the next request reads the shared window again).
    public func restoreSession(user: String, items: [String]) {
        let size = loop.published.model.configuration.windowSize
        let window = StateWindow(size: size, initial: items.compactMap { itemIndex[$0] })
        _ = try? sessions.update(user: user) { stored in
            guard stored?.window != window else { return }
            stored = DRRSession(window: window)
        }
    }

    /// Applies up to `updates` DDPG updates (once the replay holds a batch), each followed
    /// by a step of the supervised next-item objective on recent positives when the model's
    /// ``DRRConfiguration/supervisedWeight`` is positive, and publishes the new weights.
    /// Returns the number of updates applied: 0 when the recommender does not learn, when
    /// the replay holds less than a batch, and when the batch left a non-finite weight
    /// (then nothing is published: the learner continues from the published model, the
    /// batch counts in ``skippedPublications`` and the diagnostic handler is told).
    @discardableResult
    public func learn(updates: Int) -> Int { loop.learn(updates: updates) }

    /// Swaps in a new model (e.g. retrained offline) atomically; sessions are kept, and
    /// so is the replay unless the new model's state or action width differs (then the
    /// learner starts from empty buffers shaped for it).
    public func reload(model: DRRModel) { loop.reload(model: model) }

    /// Runs ``learn(updates:)`` on a background thread, `updatesPerSecond` in batches of
    /// ten, until ``stopBackgroundLearning()``. Does nothing when the recommender does not
    /// learn.
    public func startBackgroundLearning(updatesPerSecond: Double) { loop.startBackgroundLearning(updatesPerSecond: updatesPerSecond) }

    /// Stops background learning (the current batch of updates finishes).
    public func stopBackgroundLearning() { loop.stopBackgroundLearning() }
}

/// DRR's and LIRD's online learner (``OnlineLearningAlgorithm``): the model's private copy
/// and the ``DRRLearningStep`` offline training runs too, with its own replay sampling.
struct DRROnlineLearner: OnlineLearningAlgorithm {
    typealias Experience = OnlineDRR.Experience

    private(set) var model: DRRModel
    /// The learning step offline training runs too.
    var step: DRRLearningStep
    var rng: Xoshiro256StarStar
    var supervisedInputs: Tensor
    var supervisedTargets: [Int32]
    let options: DRRLearningStep.Options

    /// A fresh learner (step, batches) shaped for `model`.
    init(model: DRRModel, seed: UInt64, options: DRRLearningStep.Options) {
        let c = model.configuration
        self.model = model
        step = DRRLearningStep(model: model, options: options)
        rng = Xoshiro256StarStar(seed: seed)
        supervisedInputs = Tensor(zeros: [c.batchSize, model.inputSize])
        supervisedTargets = [Int32](repeating: 0, count: c.batchSize)
        self.options = options
    }

    /// Once the replay holds a batch.
    func isReady(_ experience: Experience) -> Bool { experience.replay.count >= model.configuration.batchSize }

    /// A DDPG update on a batch sampled from the replay (``DRRLearningStep``), its TD errors
    /// fed back as priorities and, for DRR with a positive
    /// ``DRRConfiguration/supervisedWeight``, a supervised step on recent positives.
    mutating func update(experience: Locked<Experience>) -> Bool {
        experience.withLock { e in step.sample(from: &e.replay, using: &rng) }
        let stats = step.update(model: &model)
        guard stats.criticLoss.isFinite && (stats.actorLoss?.isFinite ?? true) else { return false }
        experience.withLock { e in step.updatePriorities(of: &e.replay, model: model) }
        if model.configuration.supervisedWeight > 0 && model.listSize == 1 {
            let sampled = experience.withLock { e in
                e.sampleExamples(into: &supervisedInputs, targets: &supervisedTargets, using: &rng)
            }
            if sampled { step.supervisedStep(model: &model, inputs: supervisedInputs, targets: supervisedTargets) }
        }
        return true
    }

    static func firstNonFiniteTensor(in model: DRRModel) -> String? { model.firstNonFiniteTensor }

    /// The published weights, and a fresh step (its Adam state may hold the bad batch).
    mutating func revert(to model: DRRModel) {
        self.model = model
        step = DRRLearningStep(model: model, options: options)
    }

    /// Keeps step and replay when the new model has the same input, action and batch
    /// shapes and supervised setting; otherwise starts afresh for it.
    mutating func adopt(_ new: DRRModel) -> Bool {
        let old = model
        if old.inputSize == new.inputSize && old.learner.actionSize == new.learner.actionSize
            && old.configuration.batchSize == new.configuration.batchSize
            && (old.configuration.supervisedWeight > 0) == (new.configuration.supervisedWeight > 0)
        {
            model = new
            return true
        }
        self = DRROnlineLearner(model: new, seed: rng.next(), options: options)
        return false
    }

    static func makeExperience(for model: DRRModel) -> Experience { Experience(model: model) }
}
