import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents

/// A trained (or training) DRR recommender: PMF embeddings, the state module, and
/// the DDPG actor-critic.
///
/// An item's score for a state is `dot(e_item, a)` with `a = μ(module([u | i_1 … i_n]))`.
///
/// With ``listSize`` `K` > 1 the same model is LIRD's list actor (Zhao et al., list-wise
/// recommendations; see ``LIRDConfiguration``): the actor outputs `K` weight vectors
/// `a = [w_1 | … | w_K]` (`K·k` wide), slot `j`'s item is the best-scoring item under `w_j`
/// that no earlier slot took (``ListSelection``), and the critic scores the state with the
/// `K·k` action.
public struct DRRModel: Sendable {
    /// The hyper-parameters it was built with.
    public let configuration: DRRConfiguration
    /// User embeddings `[users, k]` (PMF on the training split).
    public var userEmbeddings: Tensor
    /// Item embeddings `[items, k]` (PMF on the training split).
    public var itemEmbeddings: Tensor
    /// The state representation module.
    public var stateModule: DRRStateRepresentation
    /// The DDPG learner holding actor, critic and their targets.
    public var learner: DDPGLearner<MLPActor, MLPCritic>
    /// The rating → reward mapping.
    public let rewardScale: RewardScale
    /// Items per recommendation: 1 for DRR (one item per step), `K` for LIRD (one list of
    /// `K` distinct items per step, one actor weight vector per list position).
    public let listSize: Int

    /// A fresh model around pretrained embeddings.
    /// - Parameter listSize: items per step (1: DRR; `K` > 1: LIRD's list actor and critic,
    ///   whose action is `K·k` wide).
    public init<G: RandomNumberGenerator>(
        configuration: DRRConfiguration, userEmbeddings: Tensor, itemEmbeddings: Tensor,
        rewardScale: RewardScale, listSize: Int = 1, using rng: inout G
    ) throws(DRRError) {
        try configuration.validate()
        guard listSize >= 1, listSize < itemEmbeddings.shape.first ?? 0 else {
            throw .invalidConfiguration("listSize must be in 1..<\(itemEmbeddings.shape.first ?? 0) (the catalogue size), got \(listSize)")
        }
        let k = configuration.embeddingSize
        guard userEmbeddings.rank == 2, itemEmbeddings.rank == 2, userEmbeddings.shape[1] == k, itemEmbeddings.shape[1] == k else {
            throw .invalidModel("embeddings \(userEmbeddings.shape) / \(itemEmbeddings.shape) do not have k = \(k) columns")
        }
        self.configuration = configuration
        self.userEmbeddings = userEmbeddings
        self.itemEmbeddings = itemEmbeddings
        self.rewardScale = rewardScale
        self.listSize = listSize
        stateModule = DRRStateRepresentation(variant: configuration.variant, embeddingSize: k, windowSize: configuration.windowSize)
        let s = stateModule.outputSize, h = configuration.hiddenSize
        let actor = MLPActor(stateSize: s, actionSize: k * listSize, hiddenSizes: [h, h], using: &rng)
        let critic = MLPCritic(stateSize: s, actionSize: k * listSize, hiddenSizes: [h, h], using: &rng)
        learner = DDPGLearner(actor: actor, critic: critic, configuration: configuration.learnerConfiguration, seed: rng.next())
        installTargetProjection()
    }

    /// Sets the learner's target-action projection (``DRRConfiguration/projectsTargetActions``):
    /// the items the target actor would recommend, ``listSize`` distinct ones per row.
    mutating func installTargetProjection() {
        learner.targetActionProjection =
            configuration.projectsTargetActions
            ? NearestItemProjection(itemEmbeddings: itemEmbeddings, scale: actionScale, listSize: listSize) : nil
    }

    /// The number of items.
    public var itemCount: Int { itemEmbeddings.shape[0] }

    /// `1 / max |E|`: scales item embeddings into the actor's [−1, 1] action range.
    public var actionScale: Float {
        let m = itemEmbeddings.maxAbs()
        return m > 0 ? 1 / m : 1
    }

    /// The action that stands for recommending `item`: its embedding scaled by ``actionScale``.
    public func itemAction(_ item: Int, scale: Float) -> Tensor { listAction([item], scale: scale) }

    /// The action that stands for recommending the list `items` (``listSize`` of them): their
    /// embeddings scaled by ``actionScale``, concatenated in list order, `[K·k]`.
    public func listAction(_ items: [Int], scale: Float) -> Tensor {
        let k = configuration.embeddingSize
        precondition(items.count == listSize, "listAction: \(items.count) items for a list of \(listSize)")
        var a = Tensor(zeros: [k * items.count])
        itemEmbeddings.withUnsafeBufferPointer { e in
            a.withUnsafeMutableBufferPointer { dst in
                for (slot, item) in items.enumerated() {
                    for j in 0..<k { dst[slot * k + j] = scale * e[item * k + j] }
                }
            }
        }
        return a
    }
    /// The number of users.
    public var userCount: Int { userEmbeddings.shape[0] }
    /// The width of a module input row, `(n + 1)·k`.
    public var inputSize: Int { stateModule.inputSize }

    /// Writes the module input `[u | i_1 … i_n]` for `user` and `window` into row `row` of `input`.
    public func writeInput(user: Int, window: StateWindow, into input: inout Tensor, row: Int = 0) {
        let k = configuration.embeddingSize, width = inputSize
        precondition(input.rank == 2 && input.shape[1] == width && row < input.shape[0], "input \(input.shape) has no row \(row) of width \(width)")
        input.withUnsafeMutableBufferPointer { x in
            let dst = x.baseAddress! + row * width
            userEmbeddings.withUnsafeBufferPointer { u in
                if user >= 0 && user < userCount {
                    dst.update(from: u.baseAddress! + user * k, count: k)
                } else {
                    dst.update(repeating: 0, count: k)
                }
            }
            itemEmbeddings.withUnsafeBufferPointer { e in
                for (slot, item) in window.items.enumerated() {
                    let d = dst + k * (slot + 1)
                    if item >= 0 { d.update(from: e.baseAddress! + item * k, count: k) } else { d.update(repeating: 0, count: k) }
                }
            }
        }
    }

    /// The actor's action for one module input row (no exploration).
    public func action(forInput input: Tensor) -> Tensor {
        learner.actor(stateModule(input))
    }

    /// Scores of every item for a state, `[items]`. DRR (``listSize`` 1): `E · a`. LIRD: the
    /// items of the list ``list(user:window:excluding:)`` (nothing excluded) score above
    /// every other item, in list order; the others score `max_j e_i · w_j` (their best slot),
    /// so a ranking by these scores starts with the recommended list.
    public func scores(user: Int, window: StateWindow) -> Tensor {
        var input = Tensor(zeros: [1, inputSize])
        writeInput(user: user, window: window, into: &input)
        return scores(forInput: input)
    }

    /// ``scores(user:window:)`` for a module input row `[1, inputSize]` (`[u | i_1 … i_n]`).
    public func scores(forInput input: Tensor) -> Tensor {
        let k = configuration.embeddingSize
        let a = action(forInput: input)
        if listSize == 1 { return itemEmbeddings.matvec(a.reshaped([k])) }
        return ListSelection.rankingScores(a.reshaped([listSize, k]).matmul(itemEmbeddings, transposeOther: true))
    }

    /// LIRD's list for a state: ``listSize`` distinct items, slot `j`'s item the best under
    /// weight vector `w_j` among items `isExcluded` rejects not and no earlier slot took
    /// (``ListSelection``). For DRR, the single best item.
    public func list(user: Int, window: StateWindow, excluding isExcluded: (Int) -> Bool = { _ in false }) -> [Int] {
        var input = Tensor(zeros: [1, inputSize])
        writeInput(user: user, window: window, into: &input)
        return list(forAction: action(forInput: input), excluding: isExcluded)
    }

    /// The list an action `[w_1 | … | w_K]` (`K·k` values) selects (see ``ListSelection``).
    public func list(forAction action: Tensor, excluding isExcluded: (Int) -> Bool = { _ in false }) -> [Int] {
        let k = configuration.embeddingSize
        precondition(action.count == listSize * k, "an action of \(action.count) values for a list of \(listSize) × \(k)")
        let slotScores = action.reshaped([listSize, k]).matmul(itemEmbeddings, transposeOther: true)
        var list = [Int](repeating: 0, count: listSize)
        slotScores.withUnsafeBufferPointer { z in
            ListSelection.select(scores: z.baseAddress!, slots: listSize, items: itemCount, isExcluded: isExcluded, into: &list)
        }
        return list
    }
}

/// LIRD's item selection (Zhao et al., list-wise recommendations, Algorithm 1): slot by
/// slot, the item with the highest score under that slot's weight vector among those not
/// excluded and not taken by an earlier slot. With one slot it is the plain arg-max.
public enum ListSelection {
    /// Fills `list[0..<slots]`: `scores` holds `slots` rows of `items` scores (row `j` =
    /// slot `j`). Ties go to the lower index. A slot with no eligible item gets −1.
    public static func select(
        scores: UnsafePointer<Float>, slots: Int, items m: Int, isExcluded: (Int) -> Bool,
        into list: inout [Int]
    ) {
        precondition(list.count >= slots, "ListSelection: room for \(list.count) of \(slots) items")
        for j in 0..<slots {
            let row = scores + j * m
            var best = -1
            for i in 0..<m where best < 0 || row[i] > row[best] {
                if isExcluded(i) { continue }
                var taken = false
                for e in 0..<j where list[e] == i { taken = true; break }
                if !taken { best = i }
            }
            list[j] = best
        }
    }

    /// Scores of every item from `slotScores` `[K, items]` (row `j` = slot `j`'s scores) such
    /// that a ranking by them starts with the list ``select(scores:slots:items:isExcluded:into:)``
    /// picks (nothing excluded), in slot order; every other item scores `max_j` of its slot
    /// scores (its best slot). `[items]`.
    public static func rankingScores(_ slotScores: Tensor) -> Tensor {
        let slots = slotScores.rows, m = slotScores.columns
        var list = [Int](repeating: 0, count: slots)
        var out = Tensor(zeros: [m])
        slotScores.withUnsafeBufferPointer { z in
            select(scores: z.baseAddress!, slots: slots, items: m, isExcluded: { _ in false }, into: &list)
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<m {
                    var best = z[i]
                    for j in 1..<slots { best = Swift.max(best, z[j * m + i]) }
                    o[i] = best
                }
                let top = o.max() ?? 0
                for (position, item) in list.enumerated() where item >= 0 { o[item] = top + Float(slots - position) }
            }
        }
        return out
    }
}

/// Maps each action row `a` to the scaled embedding `scale · e_i` of the item with the
/// highest score `e_i · a` (ties: the lower index): the action a recommender executes.
/// With a list size `K` > 1 (LIRD) a row is `K` weight vectors and becomes the scaled
/// embeddings of the `K` distinct items ``ListSelection`` picks for them.
public struct NearestItemProjection: ActionProjection {
    /// The candidate actions, `[items, k]` (item embeddings times the scale).
    public let items: Tensor
    /// Items per action row.
    public let listSize: Int
    private var scores = Tensor(zeros: [0])
    private var list: [Int]

    /// A projection onto `scale · itemEmbeddings`' rows, `listSize` distinct ones per action.
    public init(itemEmbeddings: Tensor, scale: Float, listSize: Int = 1) {
        precondition(
            itemEmbeddings.rank == 2 && itemEmbeddings.rows >= listSize && listSize >= 1,
            "NearestItemProjection needs a [items, k] matrix of at least \(listSize) items, got \(itemEmbeddings.shape)")
        items = itemEmbeddings * scale
        self.listSize = listSize
        list = [Int](repeating: 0, count: listSize)
    }

    public mutating func project(_ actions: inout Tensor) {
        let k = items.columns, width = k * listSize
        precondition(
            actions.rank == 2 && actions.columns == width,
            "NearestItemProjection: actions \(actions.shape) do not have K·k = \(width) columns")
        let b = actions.rows, m = items.rows, slots = listSize
        // [B, K·k] row-major is [B·K, k]: one GEMM scores every slot of every row, into
        // `scores` [B·K, items]. Raw pointers, so that no reshaped view (a new shape array) is built.
        scores.prepare(rows: b * slots, columns: m)
        // The list moves out of `self` while the closures below use it, so that it stays
        // uniquely referenced (no copy on write).
        var list = self.list
        self.list = []
        defer { self.list = list }
        scores.withUnsafeMutableBufferPointer { z in
            items.withUnsafeBufferPointer { e in
                actions.withUnsafeMutableBufferPointer { a in
                    UnsafeKernels.gemm(
                        transposeA: false, transposeB: true, m: b * slots, n: m, k: k,
                        a: a.baseAddress!, lda: k, b: e.baseAddress!, ldb: k, c: z.baseAddress!, ldc: m)
                    for row in 0..<b {
                        ListSelection.select(
                            scores: z.baseAddress! + row * slots * m, slots: slots, items: m,
                            isExcluded: { _ in false }, into: &list)
                        for slot in 0..<slots {
                            (a.baseAddress! + row * width + slot * k).update(from: e.baseAddress! + list[slot] * k, count: k)
                        }
                    }
                }
            }
        }
    }
}

extension DRRModel {
    /// Turns a replayed batch of module inputs (`[u | i_1 … i_n]` rows) into the learner's
    /// batch of states: `batch.states = module(raw.states)`, `batch.nextStates =
    /// module(raw.nextStates)`, and the actions, rewards, discounts, weights and slots
    /// copied. The contexts keep the module's activations for its backward pass.
    public func encode(
        _ raw: TransitionBatch, into batch: inout TransitionBatch,
        context: inout BasicContext, nextContext: inout BasicContext
    ) {
        stateModule.forward(raw.states, context: &context)
        stateModule.forward(raw.nextStates, context: &nextContext)
        batch.states.assign(context.output)
        batch.nextStates.assign(nextContext.output)
        batch.actions.assign(raw.actions)
        batch.rewards.assign(raw.rewards)
        batch.discounts.assign(raw.discounts)
        batch.weights.assign(raw.weights)
        batch.indices = raw.indices
    }
}
