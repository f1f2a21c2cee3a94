import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents

/// A trained (or training) DRR recommender: PMF embeddings, the state module, and
/// the DDPG actor-critic.
///
/// An item's score for a state is `dot(e_item, a)` with `a = μ(module([u | i_1 … i_n]))`.
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

    /// A fresh model around pretrained embeddings.
    public init<G: RandomNumberGenerator>(configuration: DRRConfiguration, userEmbeddings: Tensor, itemEmbeddings: Tensor,
                                          rewardScale: RewardScale, using rng: inout G) throws(DRRError) {
        try configuration.validate()
        let k = configuration.embeddingSize
        guard userEmbeddings.rank == 2, itemEmbeddings.rank == 2, userEmbeddings.shape[1] == k, itemEmbeddings.shape[1] == k else {
            throw .invalidModel("embeddings \(userEmbeddings.shape) / \(itemEmbeddings.shape) do not have k = \(k) columns")
        }
        self.configuration = configuration
        self.userEmbeddings = userEmbeddings
        self.itemEmbeddings = itemEmbeddings
        self.rewardScale = rewardScale
        stateModule = DRRStateRepresentation(variant: configuration.variant, embeddingSize: k, windowSize: configuration.windowSize)
        let s = stateModule.outputSize, h = configuration.hiddenSize
        let actor = MLPActor(stateSize: s, actionSize: k, hiddenSizes: [h, h], using: &rng)
        let critic = MLPCritic(stateSize: s, actionSize: k, hiddenSizes: [h, h], using: &rng)
        learner = DDPGLearner(actor: actor, critic: critic, configuration: configuration.learnerConfiguration, seed: rng.next())
        if configuration.projectsTargetActions {
            learner.targetActionProjection = NearestItemProjection(itemEmbeddings: itemEmbeddings, scale: actionScale)
        }
    }

    /// The number of items.
    public var itemCount: Int { itemEmbeddings.shape[0] }

    /// `1 / max |E|`: scales item embeddings into the actor's [−1, 1] action range.
    public var actionScale: Float {
        let m = itemEmbeddings.maxAbs()
        return m > 0 ? 1 / m : 1
    }

    /// The action that stands for recommending `item`: its embedding scaled by ``actionScale``.
    public func itemAction(_ item: Int, scale: Float) -> Tensor {
        let k = configuration.embeddingSize
        var a = Tensor(zeros: [k])
        itemEmbeddings.withUnsafeBufferPointer { e in
            a.withUnsafeMutableBufferPointer { dst in for j in 0..<k { dst[j] = scale * e[item * k + j] } }
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

    /// Scores of every item for a state: `E · a`, `[items]`.
    public func scores(user: Int, window: StateWindow) -> Tensor {
        var input = Tensor(zeros: [1, inputSize])
        writeInput(user: user, window: window, into: &input)
        let a = action(forInput: input).reshaped([configuration.embeddingSize])
        return itemEmbeddings.matvec(a)
    }
}

/// Maps each action row `a` to the scaled embedding `scale · e_i` of the item with the
/// highest score `e_i · a` (ties: the lower index): the action a recommender executes.
public struct NearestItemProjection: ActionProjection {
    /// The candidate actions, `[items, k]` (item embeddings times the scale).
    public let items: Tensor
    private var scores = Tensor(zeros: [0])

    /// A projection onto `scale · itemEmbeddings`' rows.
    public init(itemEmbeddings: Tensor, scale: Float) {
        precondition(itemEmbeddings.rank == 2 && itemEmbeddings.rows > 0, "NearestItemProjection needs a non-empty [items, k] matrix, got \(itemEmbeddings.shape)")
        items = itemEmbeddings * scale
    }

    public mutating func project(_ actions: inout Tensor) {
        precondition(actions.rank == 2 && actions.columns == items.columns,
                     "NearestItemProjection: actions \(actions.shape) do not have k = \(items.columns) columns")
        let b = actions.rows, m = items.rows, k = items.columns
        matmul(actions, items, transposeB: true, into: &scores)
        scores.withUnsafeBufferPointer { z in
            items.withUnsafeBufferPointer { e in
                actions.withUnsafeMutableBufferPointer { a in
                    for row in 0..<b {
                        let r = z.baseAddress! + row * m
                        var best = 0
                        for j in 1..<m where r[j] > r[best] { best = j }
                        (a.baseAddress! + row * k).update(from: e.baseAddress! + best * k, count: k)
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
    public func encode(_ raw: TransitionBatch, into batch: inout TransitionBatch,
                       context: inout BasicContext, nextContext: inout BasicContext) {
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
