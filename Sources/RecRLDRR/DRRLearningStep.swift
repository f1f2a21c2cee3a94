import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents

/// One DRR learning step, shared by offline training (``DRRTrainer``) and online learning
/// (``OnlineDRR``) so both run the same update:
///
/// 1. ``learn(model:replay:using:)``: sample a batch of module inputs from the prioritized
///    replay, encode states and next states through the state module, run the DDPG update
///    (``DDPGLearner/update(_:)``), feed the TD errors back as priorities and, when
///    ``Options/trainsStateModule``, back-propagate `dL_critic/ds` (plus `dL_actor/ds` with
///    ``DRRConfiguration/actorTrainsStateModule``) into the module and take its Adam step.
/// 2. ``supervisedStep(model:inputs:targets:)``: the supervised next-item objective
///    (``DRRConfiguration/supervisedWeight``) on a batch of logged examples, through the
///    actor (``DDPGLearner/updateActor(states:loss:)``) and, when
///    ``Options/trainsStateModule``, through the module.
///
/// The module's Adam state lives in the step. Every buffer is reused across steps.
public struct DRRLearningStep: Sendable {
    /// Where offline and online learning may differ.
    public struct Options: Sendable, Equatable {
        /// Whether the state module learns (from the critic loss, optionally the actor loss,
        /// and the supervised objective; never for DRR-n, which has no module parameters to
        /// train). Offline training: true (the paper trains the module jointly). Online
        /// learning: false by default — a served model's module was trained offline on the
        /// whole log, and the item weights it would move online are shared by every
        /// user's state, so a few live updates would shift all rankings at once; online
        /// learning refines actor and critic only unless asked.
        public var trainsStateModule: Bool
        /// Whether ``supervisedStep(model:inputs:targets:)`` also trains the item-embedding
        /// table at ``DRRConfiguration/itemEmbeddingLearningRate`` (when that is positive).
        /// Default false: only offline training (``DRRTrainer`` for DRR, ``LIRDTrainer`` for
        /// LIRD) sets it, since the table is shared by every user's ranking (as the module's
        /// weights are online).
        public var trainsItemEmbeddings: Bool

        /// Options; see each property.
        public init(trainsStateModule: Bool = true, trainsItemEmbeddings: Bool = false) {
            self.trainsStateModule = trainsStateModule
            self.trainsItemEmbeddings = trainsItemEmbeddings
        }
    }

    /// The options.
    public var options: Options
    /// The replayed batch of module inputs (`[u | i_1 … i_n]` rows), `batchSize` rows.
    public private(set) var rawBatch: TransitionBatch
    /// The learner's batch: states through the module.
    public private(set) var batch: TransitionBatch
    var moduleContext: BasicContext
    var nextModuleContext: BasicContext
    var supervisedContext: BasicContext
    var moduleGradient: DRRStateRepresentation
    var moduleOptimizer: Adam
    var stateGradient = Tensor(zeros: [0])
    var logits = Tensor(zeros: [0])
    /// The item table's gradient and Adam state (empty until the first step that trains it).
    var itemStep: ItemEmbeddingStep? = ItemEmbeddingStep()

    /// A step for `model`'s shapes and ``DRRConfiguration/batchSize``.
    public init(model: DRRModel, options: Options = Options()) {
        let c = model.configuration, x = model.inputSize, s = model.stateModule.outputSize
        self.options = options
        let a = model.learner.actionSize
        rawBatch = TransitionBatch(batchSize: c.batchSize, stateSize: x, actionSize: a)
        batch = TransitionBatch(batchSize: c.batchSize, stateSize: s, actionSize: a)
        moduleContext = model.stateModule.makeContext()
        nextModuleContext = model.stateModule.makeContext()
        supervisedContext = model.stateModule.makeContext()
        moduleGradient = model.stateModule.zeroGradient()
        moduleOptimizer = Adam(learningRate: c.stateLearningRate)
    }

    /// Whether this step trains `model`'s module.
    func trainsModule(_ model: DRRModel) -> Bool {
        options.trainsStateModule && model.configuration.variant != .n
    }

    /// Step 1 (see the type): sample, encode, DDPG update, priorities, module step.
    /// The replay must hold at least a batch. When the update's TD errors are not finite
    /// (a diverged critic), the priorities are left as they were and the returned
    /// ``DDPGUpdateStatistics/criticLoss`` is not finite: callers check it
    /// (``DRRTrainer`` stops with ``DRRError/trainingDiverged(_:)``).
    @discardableResult
    public mutating func learn<G: RandomNumberGenerator>(
        model: inout DRRModel, replay: inout PrioritizedReplayBuffer,
        using rng: inout G
    ) -> DDPGUpdateStatistics {
        sample(from: &replay, using: &rng)
        let stats = update(model: &model)
        updatePriorities(of: &replay, model: model)
        return stats
    }

    /// Draws the next batch of ``learn(model:replay:using:)`` from `replay` into ``rawBatch``
    /// (for callers that hold the replay only while sampling, like ``OnlineDRR``).
    public mutating func sample<G: RandomNumberGenerator>(from replay: inout PrioritizedReplayBuffer, using rng: inout G) {
        replay.sample(into: &rawBatch, using: &rng)
    }

    /// Feeds the last update's TD errors back as the priorities of ``rawBatch``'s slots,
    /// unless one is not finite.
    public func updatePriorities(of replay: inout PrioritizedReplayBuffer, model: DRRModel) {
        let errors = model.learner.tdErrors
        guard errors.isFinite else { return }
        replay.updatePriorities(indices: rawBatch.indices, tdErrors: errors)
    }

    /// The update of ``learn(model:replay:using:)`` on the batch in ``rawBatch``: encode,
    /// DDPG update and, when the step trains the module, its gradient step.
    @discardableResult
    public mutating func update(model: inout DRRModel) -> DDPGUpdateStatistics {
        model.encode(rawBatch, into: &batch, context: &moduleContext, nextContext: &nextModuleContext)
        let stats = model.learner.update(batch)
        if trainsModule(model) {
            stateGradient.assign(model.learner.criticStateGradient)
            if stats.actorLoss != nil && model.configuration.actorTrainsStateModule {
                stateGradient += model.learner.actorStateGradient
            }
            model.stateModule.backward(
                input: rawBatch.states, outputGradient: stateGradient, context: &moduleContext,
                gradient: &moduleGradient, computeParameterGradient: true, computeInputGradient: false)
            moduleOptimizer.update(&model.stateModule, along: moduleGradient)
        }
        return stats
    }

    /// Step 2 (see the type): one step of `weight · cross-entropy(softmax(E · μ(module(x))), target)`
    /// (``NextItemSoftmax``, weight ``DRRConfiguration/supervisedWeight``) on the module
    /// inputs `inputs` (`[B, (n + 1)·k]`) and their next items `targets`. Returns the loss.
    ///
    /// For a list model (``DRRModel/listSize`` `K` > 1, LIRD) `targets` holds `B·K` items,
    /// row `b`'s next `K` positive items in order, and slot `j`'s weight vector `w_j` is
    /// trained towards the `j`-th: the same softmax on each slot, each with the full weight
    /// (``NextItemSoftmax`` at weight `K · λ`, whose mean runs over the `B · K` slots), so
    /// that a slot is pulled towards its target as hard as DRR's single action is and the
    /// objective keeps its balance with the DDPG actor loss whatever `K`. (With the weight
    /// divided by `K` instead, LIRD's first slot, whose target is DRR's, ranked clearly worse
    /// than DRR's action on a validation split.)
    ///
    /// With ``Options/trainsItemEmbeddings`` and a positive
    /// ``DRRConfiguration/itemEmbeddingLearningRate`` the step also takes one Adam step on
    /// ``DRRModel/itemEmbeddings`` along the same loss's `dL/dE`
    /// (``NextItemSoftmax/embeddingGradient(actions:logitGradient:slots:into:)``), computed
    /// with the table as it was before the step.
    @discardableResult
    public mutating func supervisedStep(model: inout DRRModel, inputs: Tensor, targets: [Int32]) -> Float {
        model.stateModule.forward(inputs, context: &supervisedContext)
        let slots = model.listSize
        let loss = ItemEmbeddingStep.supervisedActorStep(
            learner: &model.learner, states: supervisedContext.output, table: &model.itemEmbeddings, targets: targets,
            weight: model.configuration.supervisedWeight * Float(slots), slots: slots, logits: &logits, itemStep: &itemStep,
            learningRate: options.trainsItemEmbeddings ? model.configuration.itemEmbeddingLearningRate : 0)
        if trainsModule(model) {
            model.stateModule.backward(
                input: inputs, outputGradient: model.learner.actorStateGradient,
                context: &supervisedContext, gradient: &moduleGradient,
                computeParameterGradient: true, computeInputGradient: false)
            moduleOptimizer.update(&model.stateModule, along: moduleGradient)
        }
        return loss
    }
}
