import Foundation
import Synchronization
import RecRLTensor
import RecRLNN
import RecRLAgents

/// Errors of the online recommender that a client caused.
public enum OnlineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The item id is not in the model's catalogue.
    case unknownItem(String)
    /// `k` is outside 1…1000.
    case invalidK(Int)
    /// A reward is not finite.
    case invalidReward(Float)

    public var description: String {
        switch self {
        case let .unknownItem(id): return "unknown item '\(id)': it is not in the model's catalogue"
        case let .invalidK(k): return "k must be in 1...1000, got \(k)"
        case let .invalidReward(r): return "reward must be a finite number, got \(r)"
        }
    }
}

/// A DRR model serving live traffic and learning from it.
///
/// - `recommend(user:k:exclude:)`: the user's session state (recent positive items) →
///   `a = μ(module([u | i_1 … i_n]))` → scores `E·a` by one GEMV over the contiguous item
///   matrix → partial top-K (no full sort).
/// - `observe(user:item:reward:)`: updates the session state (a positive reward pushes
///   the item into the window) and appends the transition to the replay buffer.
/// - Online learning: ``learn(updates:)`` (or ``startBackgroundLearning(updatesPerSecond:)``)
///   runs the same ``DRRLearningStep`` as offline training (by default without training
///   the state module: ``learningOptions``) on a private copy and then publishes the new
///   weights atomically: a reader takes the current snapshot under a lock held only
///   to copy a reference, so it never waits for an update and never sees a half-written
///   model.
///
/// Cold start: a user the model was not trained on who has given no positive feedback
/// yet gets the most popular items of the training data (``DRRManifest/itemPopularity``,
/// scores = interaction counts); from their first positive feedback on, their state is the
/// zero user vector plus the window of items they liked, so DRR ranks for them by what
/// they consumed (content-based through the item embeddings). A manifest without
/// popularity counts gives such users the actor's population-level action instead.
/// Unknown items are rejected with ``OnlineError/unknownItem(_:)``.
public final class OnlineDRR: Sendable {
    /// An immutable published model.
    struct Snapshot: Sendable {
        let model: DRRModel
        let version: Int
    }

    /// Per-user session state.
    struct Session: Sendable {
        var window: StateWindow
        var lastInput: Tensor?
        var lastAction: Tensor?
    }

    struct LearnerState: Sendable {
        var model: DRRModel
        var replay: PrioritizedReplayBuffer
        /// The learning step offline training runs too.
        var step: DRRLearningStep
        var rng: Xoshiro256StarStar
        var updates = 0
        /// Live next-item examples for the supervised objective: the module input before a
        /// positive item (a ring of ``OnlineDRR/exampleCapacity`` rows) and the item.
        var examples: Tensor
        var exampleItems: [Int32]
        var exampleCount = 0
        var exampleNext = 0
        var supervisedInputs: Tensor
        var supervisedTargets: [Int32]

        /// Stores one example, overwriting the oldest once the ring is full.
        mutating func addExample(_ input: Tensor, item: Int) {
            let width = examples.columns, row = exampleNext
            examples.withUnsafeMutableBufferPointer { dst in
                input.withUnsafeBufferPointer { src in (dst.baseAddress! + row * width).update(from: src.baseAddress!, count: width) }
            }
            exampleItems[row] = Int32(item)
            exampleNext = (exampleNext + 1) % examples.rows
            exampleCount = Swift.min(exampleCount + 1, examples.rows)
        }

        /// One supervised next-item step (``DRRLearningStep/supervisedStep(model:inputs:targets:)``)
        /// on a random batch of stored examples.
        mutating func supervisedStep() {
            let b = supervisedInputs.rows, width = examples.columns, weight = model.configuration.supervisedWeight
            guard weight > 0, exampleCount >= b else { return }
            supervisedInputs.withUnsafeMutableBufferPointer { dst in
                examples.withUnsafeBufferPointer { src in
                    for r in 0..<b {
                        let e = Int(rng.next() % UInt64(exampleCount))
                        (dst.baseAddress! + r * width).update(from: src.baseAddress! + e * width, count: width)
                        supervisedTargets[r] = exampleItems[e]
                    }
                }
            }
            step.supervisedStep(model: &model, inputs: supervisedInputs, targets: supervisedTargets)
        }
    }

    /// Rows kept for the online supervised objective (the most recent positives).
    public static let exampleCapacity = 10_000

    private let snapshot: Mutex<Snapshot>
    private let sessions = Mutex<[String: Session]>([:])
    private let pending = Mutex<[(Tensor, Tensor, Float, Tensor, Int)]>([])
    private let learner: Mutex<LearnerState>
    private let stopFlag = Mutex(false)
    private let counters = Mutex((observed: 0, updates: 0))
    /// Raw user id → user index of the model.
    public let userIndex: [String: Int]
    /// Raw item ids in index order.
    public let itemIDs: [String]
    private let itemIndex: [String: Int]
    /// The manifest the model was loaded with.
    public let manifest: DRRManifest
    /// Item indices by decreasing training popularity (ties: lower index first), for the
    /// cold-start fallback; empty when the manifest has no popularity counts.
    private let popularityOrder: [Int]

    /// How online learning's ``DRRLearningStep`` differs from offline training's.
    public let learningOptions: DRRLearningStep.Options

    /// Serves `model`, whose id maps are in `manifest`.
    ///
    /// - Parameter learningOptions: options of the online ``DRRLearningStep``; the default
    ///   leaves the state module as trained offline (see
    ///   ``DRRLearningStep/Options/trainsStateModule``).
    public init(model: DRRModel, manifest: DRRManifest, seed: UInt64 = 0,
                learningOptions: DRRLearningStep.Options = .init(trainsStateModule: false)) {
        self.manifest = manifest
        self.learningOptions = learningOptions
        userIndex = Dictionary(uniqueKeysWithValues: manifest.userIDs.enumerated().map { ($1, $0) })
        itemIDs = manifest.itemIDs
        itemIndex = Dictionary(uniqueKeysWithValues: manifest.itemIDs.enumerated().map { ($1, $0) })
        if let counts = manifest.itemPopularity, counts.count == manifest.itemIDs.count {
            popularityOrder = counts.indices.sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
        } else {
            popularityOrder = []
        }
        snapshot = Mutex(Snapshot(model: model, version: 1))
        learner = Mutex(Self.learnerState(for: model, seed: seed, options: learningOptions))
    }

    /// Fresh learner buffers (replay, batches, supervised examples) shaped for `model`.
    static func learnerState(for model: DRRModel, seed: UInt64, options: DRRLearningStep.Options) -> LearnerState {
        let c = model.configuration
        return LearnerState(
            model: model,
            replay: PrioritizedReplayBuffer(capacity: c.replayCapacity, stateSize: model.inputSize, actionSize: c.embeddingSize,
                                            alpha: c.priorityAlpha),
            step: DRRLearningStep(model: model, options: options),
            rng: Xoshiro256StarStar(seed: seed),
            examples: Tensor(zeros: [c.supervisedWeight > 0 ? Self.exampleCapacity : 1, model.inputSize]),
            exampleItems: [Int32](repeating: 0, count: c.supervisedWeight > 0 ? Self.exampleCapacity : 1),
            supervisedInputs: Tensor(zeros: [c.batchSize, model.inputSize]),
            supervisedTargets: [Int32](repeating: 0, count: c.batchSize))
    }

    /// Loads a model folder written by `recrl train`.
    public convenience init(directory: URL, seed: UInt64 = 0,
                            learningOptions: DRRLearningStep.Options = .init(trainsStateModule: false)) throws {
        let (model, manifest) = try DRRModelStore.load(from: directory)
        self.init(model: model, manifest: manifest, seed: seed, learningOptions: learningOptions)
    }

    /// The published model's version (1, then +1 per publication).
    public var modelVersion: Int { snapshot.withLock { $0.version } }

    /// The number of items in the catalogue.
    public var itemCount: Int { itemIDs.count }

    /// The published model (the weights ``recommend(user:k:exclude:)`` uses now,
    /// including what was learned online).
    public var currentModel: DRRModel { snapshot.withLock { $0.model } }

    /// Transitions in the replay buffer (feedback queued since the last
    /// ``learn(updates:)`` is not counted yet).
    public var replayCount: Int { learner.withLock { $0.replay.count } }

    /// Transitions observed, and updates applied, so far.
    public var statistics: (observed: Int, updates: Int) { counters.withLock { $0 } }

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
    private let scratchPool = Mutex<[RankingScratch]>([])
    /// Input width, hidden width and k of a model.
    struct ModelShape: Equatable { var input: Int, hidden: Int, k: Int }

    /// The top `k` items for `user`, best first, skipping `exclude` and the items in the
    /// user's current window. Throws ``OnlineError/invalidK(_:)`` for k outside 1…1000.
    ///
    /// One state-module and actor forward pass, one GEMV over the item matrix and a
    /// partial top-K selection (no sort of the catalogue), in buffers reused across calls.
    public func recommend(user: String, k: Int, exclude: Set<String> = []) throws -> (items: [(id: String, score: Float)], version: Int) {
        guard (1...1000).contains(k) else { throw OnlineError.invalidK(k) }
        let snap = snapshot.withLock { $0 }
        let model = snap.model
        let u = userIndex[user] ?? -1
        let window = sessions.withLock { $0[user]?.window } ?? StateWindow(size: model.configuration.windowSize, initial: [])
        if u < 0 && !popularityOrder.isEmpty && !window.items.contains(where: { $0 >= 0 }),
           let counts = manifest.itemPopularity {
            // Cold start: a new user with no positive feedback yet gets the popular items.
            var items: [(id: String, score: Float)] = []
            items.reserveCapacity(k)
            for i in popularityOrder where !exclude.contains(itemIDs[i]) {
                items.append((id: itemIDs[i], score: Float(counts[i])))
                if items.count == k { break }
            }
            return (items, snap.version)
        }
        let key = ModelShape(input: model.inputSize, hidden: model.configuration.hiddenSize, k: model.configuration.embeddingSize)
        var scratch = scratchPool.withLock { $0.popLast() } ?? RankingScratch(key: key, actor: model.learner.actor.makeContext())
        if scratch.key != key { scratch = RankingScratch(key: key, actor: model.learner.actor.makeContext()) }

        scratch.input.prepare(rows: 1, columns: model.inputSize)
        model.writeInput(user: u, window: window, into: &scratch.input)
        model.stateModule.forward(scratch.input, context: &scratch.module)
        model.learner.act(scratch.module.output, context: &scratch.actor)
        let width = model.configuration.embeddingSize
        scratch.action.prepare(count: width)
        scratch.actor.output.withUnsafeBufferPointer { a in
            scratch.action.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: a.baseAddress!, count: width) }
        }
        matvec(model.itemEmbeddings, scratch.action, into: &scratch.scores)
        scratch.excluded.removeAll(keepingCapacity: true)
        for id in exclude { if let i = itemIndex[id] { scratch.excluded.insert(i) } }
        for i in window.items where i >= 0 { scratch.excluded.insert(i) }
        let excluded = scratch.excluded
        scratch.selector.select(scratch.scores, k: k, isExcluded: { excluded.contains($0) })
        let selector = scratch.selector
        let items = (0..<selector.count).map { (id: itemIDs[selector.indices[$0]], score: selector.scores[$0]) }

        // The state and action this ranking came from, for the feedback that follows
        // (written in place into the session's tensors once it has them).
        sessions.withLock { all in
            if all[user] == nil { all[user] = Session(window: window) }
            if all[user]!.lastInput == nil { all[user]!.lastInput = Tensor(zeros: [0]) }
            if all[user]!.lastAction == nil { all[user]!.lastAction = Tensor(zeros: [0]) }
            all[user]!.lastInput!.assign(scratch.input)
            all[user]!.lastAction!.assign(scratch.actor.output)
        }
        scratchPool.withLock { $0.append(scratch) }
        return (items, snap.version)
    }

    /// Records feedback: updates the user's window and queues the transition for learning.
    public func observe(user: String, item: String, reward: Float) throws {
        _ = try record(user: user, item: item, reward: reward, logged: false)
    }

    /// Records a logged feedback event whose ranking this instance did not serve (a
    /// learner process replaying the event log that serving replicas wrote): like
    /// ``observe(user:item:reward:)``, but every event yields a transition, whose state is
    /// the module input of the user's window before the event and whose action is the
    /// item's action ``DRRModel/itemAction(_:scale:)`` (the actor's action is not logged).
    /// - Returns: that state, `[1, inputSize]` (a learner's metric gate ranks with it).
    @discardableResult
    public func observeLogged(user: String, item: String, reward: Float) throws -> Tensor {
        try record(user: user, item: item, reward: reward, logged: true)!
    }

    /// The session update and transition of ``observe(user:item:reward:)`` and
    /// ``observeLogged(user:item:reward:)``; returns the transition's state, if any.
    private func record(user: String, item: String, reward: Float, logged: Bool) throws -> Tensor? {
        guard let i = itemIndex[item] else { throw OnlineError.unknownItem(item) }
        guard reward.isFinite else { throw OnlineError.invalidReward(reward) }
        let model = snapshot.withLock { $0.model }
        let u = userIndex[user] ?? -1
        let transition: (Tensor, Tensor, Float, Tensor, Int)? = sessions.withLock { all in
            var session = all[user] ?? Session(window: StateWindow(size: model.configuration.windowSize, initial: []))
            var before = session.lastInput
            var action = session.lastAction
            if logged {
                if before == nil {
                    var input = Tensor(zeros: [1, model.inputSize])
                    model.writeInput(user: u, window: session.window, into: &input)
                    before = input
                }
                action = model.itemAction(i, scale: model.actionScale)
            }
            if reward > 0 { session.window.push(i) }
            var after = Tensor(zeros: [1, model.inputSize])
            model.writeInput(user: u, window: session.window, into: &after)
            session.lastInput = after
            all[user] = session
            guard let before, let action else { return nil }
            let stored = model.configuration.replayAction == .itemEmbedding ? model.itemAction(i, scale: model.actionScale) : action
            return (before, stored, reward, after, i)
        }
        if let transition { pending.withLock { $0.append(transition) } }
        counters.withLock { $0.observed += 1 }
        return transition?.0
    }

    /// The user's window of recent positive items, oldest first (empty for a user
    /// without a session).
    public func sessionItems(user: String) -> [String] {
        (sessions.withLock { $0[user]?.window.items } ?? []).compactMap { $0 >= 0 ? itemIDs[$0] : nil }
    }

    /// Replaces the user's window with the last ``DRRConfiguration/windowSize`` of
    /// `items` (oldest first; ids outside the catalogue are skipped), e.g. the window a
    /// shared session store holds when several replicas serve the same users. A window
    /// equal to the current one leaves the session as it is.
    public func restoreSession(user: String, items: [String]) {
        let size = snapshot.withLock { $0.model.configuration.windowSize }
        let window = StateWindow(size: size, initial: items.compactMap { itemIndex[$0] })
        sessions.withLock { all in
            guard all[user]?.window != window else { return }
            all[user] = Session(window: window)
        }
    }

    /// Moves queued feedback into the replay buffer, applies up to `updates` DDPG
    /// updates (once the replay holds a batch), each followed by a step of the supervised
    /// next-item objective on recent positives when the model's
    /// ``DRRConfiguration/supervisedWeight`` is positive, and publishes the new weights.
    /// Returns the number of updates applied.
    @discardableResult
    public func learn(updates: Int) -> Int {
        let queued = pending.withLock { q -> [(Tensor, Tensor, Float, Tensor, Int)] in defer { q.removeAll() }; return q }
        let applied = learner.withLock { state -> Int in
            let supervised = state.model.configuration.supervisedWeight > 0
            for (s, a, r, s2, item) in queued {
                state.replay.add(state: s, action: a, reward: r, discount: 1, nextState: s2)
                if supervised && r > 0 { state.addExample(s, item: item) }
            }
            guard state.replay.count >= state.model.configuration.batchSize, updates > 0 else { return 0 }
            for _ in 0..<updates {
                state.step.learn(model: &state.model, replay: &state.replay, using: &state.rng)
                if supervised { state.supervisedStep() }
                state.updates += 1
            }
            let published = state.model
            snapshot.withLock { $0 = Snapshot(model: published, version: $0.version + 1) }
            return updates
        }
        counters.withLock { $0.updates += applied }
        return applied
    }

    /// Swaps in a new model (e.g. retrained offline) atomically; sessions are kept, and
    /// so is the replay unless the new model's state or action width differs (then the
    /// learner starts from empty buffers shaped for it).
    public func reload(model: DRRModel) {
        learner.withLock { state in
            let old = state.model
            if old.inputSize == model.inputSize && old.configuration.embeddingSize == model.configuration.embeddingSize
                && old.configuration.batchSize == model.configuration.batchSize
                && (old.configuration.supervisedWeight > 0) == (model.configuration.supervisedWeight > 0) {
                state.model = model
            } else {
                state = Self.learnerState(for: model, seed: state.rng.next(), options: learningOptions)
            }
        }
        snapshot.withLock { $0 = Snapshot(model: model, version: $0.version + 1) }
    }

    /// Runs ``learn(updates:)`` on a background thread, `updatesPerSecond` in batches of
    /// ten, until ``stopBackgroundLearning()``.
    public func startBackgroundLearning(updatesPerSecond: Double) {
        stopFlag.withLock { $0 = false }
        let interval = 10 / max(updatesPerSecond, 1e-3)
        Thread.detachNewThread { [self] in
            while !stopFlag.withLock({ $0 }) {
                FloatingPointMode.withDenormalsFlushedToZero { _ = learn(updates: 10) }
                Thread.sleep(forTimeInterval: interval)
            }
        }
    }

    /// Stops background learning (the current batch of updates finishes).
    public func stopBackgroundLearning() { stopFlag.withLock { $0 = true } }
}
