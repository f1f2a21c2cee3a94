import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents

/// A page shown to a user and the reward of each position (row-major), as the state
/// encoder reads it: the feedback channel of the page grid.
public struct ShownPage: Sendable, Equatable, Codable {
    /// The items, row-major (`h · w`).
    public var items: [Int]
    /// The reward of each position, row-major (`h · w`).
    public var rewards: [Float]

    /// A shown page; `rewards` has one value per item.
    public init(items: [Int], rewards: [Float]) {
        precondition(items.count == rewards.count, "ShownPage: \(items.count) items, \(rewards.count) rewards")
        self.items = items
        self.rewards = rewards
    }
}

/// A DeepPage recommender (``DeepPageConfiguration``): pretrained item embeddings, optional
/// item categories, and the DDPG learner of ``DeepPageActor`` and ``DeepPageCritic``.
///
/// An observation (``writeObservation(window:pages:into:row:)``) holds the user's state
/// window and the most recent shown pages; the actor's action is a page of embeddings,
/// mapped to distinct real items by ``page(forAction:excluding:)``.
public struct DeepPageModel: Sendable {
    /// The hyper-parameters it was built with.
    public let configuration: DeepPageConfiguration
    /// Item embeddings `[items, k]`: pretrained on the training split, then trained by the
    /// supervised next-page step when ``DRRConfiguration/itemEmbeddingLearningRate`` of the
    /// configuration's ``DeepPageConfiguration/base`` is positive (``DeepPageTrainer``).
    public internal(set) var itemEmbeddings: Tensor
    /// Item categories `[items, categoryChannels]` (e.g. multi-hot genres), or nil when
    /// ``DeepPageConfiguration/categoryChannels`` is 0.
    public let itemCategories: Tensor?
    /// The rating → reward mapping.
    public let rewardScale: RewardScale
    /// The DDPG learner holding actor, critic and their targets.
    public var learner: DDPGLearner<DeepPageActor, DeepPageCritic>

    /// A fresh model around pretrained embeddings.
    /// - Throws: ``DRRError`` for a bad configuration, embeddings without `k` columns, a
    ///   catalogue smaller than a page, or categories of another shape.
    public init<G: RandomNumberGenerator>(
        configuration: DeepPageConfiguration, itemEmbeddings: Tensor, itemCategories: Tensor? = nil,
        rewardScale: RewardScale, using rng: inout G
    ) throws(DRRError) {
        try configuration.validate()
        let k = configuration.base.embeddingSize, c = configuration.categoryChannels
        guard itemEmbeddings.rank == 2, itemEmbeddings.columns == k else {
            throw .invalidModel("item embeddings \(itemEmbeddings.shape) do not have k = \(k) columns")
        }
        guard itemEmbeddings.rows > configuration.pageSize else {
            throw .invalidConfiguration("a page of \(configuration.pageSize) needs more than \(itemEmbeddings.rows) items")
        }
        if c > 0 {
            guard let cats = itemCategories, cats.rank == 2, cats.rows == itemEmbeddings.rows, cats.columns == c else {
                throw .invalidModel("item categories \(itemCategories?.shape ?? []) are not [\(itemEmbeddings.rows), \(c)]")
            }
        } else if itemCategories != nil {
            throw .invalidModel("item categories given but categoryChannels is 0")
        }
        self.configuration = configuration
        self.itemEmbeddings = itemEmbeddings
        self.itemCategories = c > 0 ? itemCategories : nil
        self.rewardScale = rewardScale
        let shape = configuration.networkShape
        let actor = try DeepPageActor(shape: shape, using: &rng)
        let critic = try DeepPageCritic(shape: shape, using: &rng)
        var ddpg = configuration.base.learnerConfiguration
        ddpg.computesStateGradients = false
        learner = DDPGLearner(actor: actor, critic: critic, configuration: ddpg, seed: rng.next())
        if configuration.base.projectsTargetActions {
            learner.targetActionProjection = NearestItemProjection(
                itemEmbeddings: itemEmbeddings, scale: actionScale,
                listSize: configuration.pageSize)
        }
    }

    /// The number of items.
    public var itemCount: Int { itemEmbeddings.rows }
    /// The width of an observation row.
    public var observationSize: Int { configuration.networkShape.observationSize }
    /// The width of an action, `h · w · k`.
    public var actionSize: Int { configuration.networkShape.actionSize }

    /// `1 / max |E|`: scales item embeddings into the actor's [−1, 1] range.
    public var actionScale: Float {
        let m = itemEmbeddings.maxAbs()
        return m > 0 ? 1 / m : 1
    }

    /// Writes the observation of `window` (the user's most recent positive items, the
    /// browsing history) and `pages` (shown pages, oldest first; the last
    /// ``DeepPageConfiguration/recentPages`` are used) into row `row` of `observation`.
    /// Unknown items (outside the catalogue, or −1) leave a zero embedding and are masked in
    /// the history.
    public func writeObservation<Pages: RandomAccessCollection<ShownPage>>(
        window: StateWindow, pages: Pages, into observation: inout Tensor, row: Int = 0
    ) {
        let s = configuration.networkShape, k = s.embeddingSize, c = s.categoryChannels, ch = s.pageChannels
        let width = s.observationSize, m = itemCount
        precondition(
            observation.rank == 2 && observation.columns == width && row < observation.rows,
            "observation \(observation.shape) has no row \(row) of width \(width)")
        let recent = pages.suffix(s.recentPages)
        observation.withUnsafeMutableBufferPointer { x in
            let dst = x.baseAddress! + row * width
            dst.update(repeating: 0, count: width)
            itemEmbeddings.withUnsafeBufferPointer { e in
                // History: the window's last N items, left-padded (GRU masks carry the state through padding).
                let items = window.items.suffix(s.historyLength), pad = s.historyLength - items.count
                for (j, item) in items.enumerated() where item >= 0 && item < m {
                    (dst + (pad + j) * k).update(from: e.baseAddress! + item * k, count: k)
                    dst[s.historyMaskColumns.lowerBound + pad + j] = 1
                }
                for (p, page) in recent.enumerated() {
                    precondition(page.items.count == s.positions, "a shown page of \(page.items.count) items, expected \(s.positions)")
                    let grid = dst + s.pageColumns.lowerBound + p * s.pageWidth
                    for (position, item) in page.items.enumerated() {
                        let cell = grid + position * ch
                        if item >= 0 && item < m {
                            cell.update(from: e.baseAddress! + item * k, count: k)
                            if let cats = itemCategories {
                                cats.withUnsafeBufferPointer { (cell + k).update(from: $0.baseAddress! + item * c, count: c) }
                            }
                        }
                        cell[k + c] = page.rewards[position]
                    }
                    dst[s.pageMaskColumns.lowerBound + p] = 1
                }
            }
        }
    }

    /// Writes the observation of a browsing history and no shown page into row `row` of
    /// `observation`: the same row as ``writeObservation(window:pages:into:row:)`` with a
    /// window holding `history`'s items and no pages, without building the window (no heap
    /// allocation). The last ``DeepPageShape/historyLength`` items of `history` are read,
    /// oldest first; unknown items leave a zero, masked slot.
    public func writeObservation(history: ArraySlice<Int32>, into observation: inout Tensor, row: Int = 0) {
        let s = configuration.networkShape, k = s.embeddingSize, width = s.observationSize, m = itemCount
        precondition(
            observation.rank == 2 && observation.columns == width && row < observation.rows,
            "observation \(observation.shape) has no row \(row) of width \(width)")
        let count = min(history.count, s.historyLength), pad = s.historyLength - count
        let first = history.endIndex - count
        observation.withUnsafeMutableBufferPointer { x in
            let dst = x.baseAddress! + row * width
            dst.update(repeating: 0, count: width)
            itemEmbeddings.withUnsafeBufferPointer { e in
                for j in 0..<count {
                    let item = Int(history[first + j])
                    guard item >= 0 && item < m else { continue }
                    (dst + (pad + j) * k).update(from: e.baseAddress! + item * k, count: k)
                    dst[s.historyMaskColumns.lowerBound + pad + j] = 1
                }
            }
        }
    }

    /// The supervised next-page loss of ``DeepPageConfiguration/supervisedWeight`` on a
    /// batch, and its gradient with respect to every actor parameter (no step is taken):
    /// what ``supervisedStep(observations:targets:logits:)`` descends. `observations` is
    /// `[B, observationSize]`, `targets` `B · h · w` items (row `b`'s page of targets,
    /// row-major). Builds its buffers per call: for tests and inspection.
    public func supervisedLossAndGradient(observations: Tensor, targets: [Int32]) -> (loss: Float, gradient: DeepPageActor) {
        let actor = learner.actor
        var context = actor.makeContext()
        actor.forward(observations, context: &context)
        var logits = Tensor(zeros: [0]), actionGradient = Tensor(zeros: [0])
        let loss = NextItemSoftmax.lossAndGradient(
            actions: context.output, itemEmbeddings: itemEmbeddings, targets: targets,
            weight: configuration.supervisedWeight, slots: configuration.pageSize, logits: &logits,
            gradient: &actionGradient)
        var gradient = actor.zeroGradient()
        actor.backward(
            input: observations, outputGradient: actionGradient, context: &context, gradient: &gradient,
            computeParameterGradient: true, computeInputGradient: false)
        return (loss, gradient)
    }

    /// One actor step (its Adam, shared with DDPG's actor loss) on the supervised next-page
    /// objective of ``DeepPageConfiguration/supervisedWeight``: each of the `h · w` positions
    /// of the actor's page for row `b` of `observations` scores the catalogue by inner
    /// product with the item embeddings, and the loss is the weight times the mean softmax
    /// cross-entropy of the positions against their targets (``NextItemSoftmax``), back-
    /// propagated through the deconvolution, the projection and the actor's state encoder.
    /// `targets` holds `B · h · w` items, row `b`'s page row-major. `logits` is scratch
    /// (`[B · h · w, items]`), reused across calls: a warm step allocates nothing. Returns
    /// the loss before the step. The item table stays fixed here; ``DeepPageTrainer``'s step
    /// also trains it (``supervisedStep(observations:targets:logits:itemStep:)``).
    @discardableResult
    public mutating func supervisedStep(observations: Tensor, targets: [Int32], logits: inout Tensor) -> Float {
        var fixed: ItemEmbeddingStep? = nil
        return supervisedStep(observations: observations, targets: targets, logits: &logits, itemStep: &fixed)
    }

    /// ``supervisedStep(observations:targets:logits:)`` that, when `itemStep` is non-nil and
    /// ``DRRConfiguration/itemEmbeddingLearningRate`` of ``DeepPageConfiguration/base`` is
    /// positive, also takes one Adam step on ``itemEmbeddings`` along the same loss's `dL/dE`
    /// (``NextItemSoftmax/embeddingGradient(actions:logitGradient:slots:into:)``), computed
    /// with the table as it was before the step: DRR's item-table step
    /// (``DRRLearningStep/Options/trainsItemEmbeddings``) with a page's positions as slots.
    @discardableResult
    mutating func supervisedStep(
        observations: Tensor, targets: [Int32], logits: inout Tensor, itemStep: inout ItemEmbeddingStep?
    ) -> Float {
        ItemEmbeddingStep.supervisedActorStep(
            learner: &learner, states: observations, table: &itemEmbeddings, targets: targets,
            weight: configuration.supervisedWeight, slots: configuration.pageSize, logits: &logits, itemStep: &itemStep,
            learningRate: configuration.base.itemEmbeddingLearningRate)
    }

    /// The actor's page of embeddings for one observation row (no exploration), `[h · w · k]`.
    public func action(forObservation observation: Tensor) -> Tensor {
        learner.actor(observation).reshaped([actionSize])
    }

    /// The items of a page of embeddings, row-major: position by position, the item with the
    /// highest inner product with the position's embedding among those `isExcluded` rejects
    /// not and no earlier position took (``ListSelection``). −1 where nothing is left.
    public func page(forAction action: Tensor, excluding isExcluded: (Int) -> Bool = { _ in false }) -> [Int] {
        let k = configuration.base.embeddingSize, slots = configuration.pageSize
        precondition(action.count == slots * k, "an action of \(action.count) values for a page of \(slots) × \(k)")
        let scores = action.reshaped([slots, k]).matmul(itemEmbeddings, transposeOther: true)
        var items = [Int](repeating: 0, count: slots)
        scores.withUnsafeBufferPointer { z in
            ListSelection.select(scores: z.baseAddress!, slots: slots, items: itemCount, isExcluded: isExcluded, into: &items)
        }
        return items
    }

    /// The recommended page for a state, as `h` rows of `w` distinct items.
    public func page(window: StateWindow, pages: [ShownPage], excluding isExcluded: (Int) -> Bool = { _ in false }) -> [[Int]] {
        var observation = Tensor(zeros: [1, observationSize])
        writeObservation(window: window, pages: pages, into: &observation)
        let items = page(forAction: action(forObservation: observation), excluding: isExcluded)
        let w = configuration.columns
        return (0..<configuration.rows).map { Array(items[$0 * w..<($0 + 1) * w]) }
    }

    /// Scores of every item for a state, `[items]`, such that a ranking by them starts with
    /// the page ``page(window:pages:excluding:)`` recommends (nothing excluded), read row by
    /// row (``ListSelection/rankingScores(_:)``).
    public func scores(window: StateWindow, pages: [ShownPage]) -> Tensor {
        var observation = Tensor(zeros: [1, observationSize])
        writeObservation(window: window, pages: pages, into: &observation)
        let k = configuration.base.embeddingSize
        let action = action(forObservation: observation).reshaped([configuration.pageSize, k])
        return ListSelection.rankingScores(action.matmul(itemEmbeddings, transposeOther: true))
    }

    /// The action that stands for showing `items` (row-major): their embeddings scaled by
    /// ``actionScale``, `[h · w · k]`.
    public func pageAction(_ items: [Int], scale: Float) -> Tensor {
        let k = configuration.base.embeddingSize
        precondition(items.count == configuration.pageSize, "pageAction: \(items.count) items for a page of \(configuration.pageSize)")
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
}

extension DeepPageModel {
    /// The metadata key holding the configuration (JSON) in a saved model.
    static let configurationKey = "recrl.deeppage.configuration"

    /// The model as safetensors: the learner's checkpoint (networks, targets, Adam state),
    /// `item_embeddings`, `item_categories` when present, and the configuration and reward
    /// scale as metadata.
    public func safeTensors() -> SafeTensors {
        var tensors = learner.checkpointTensors()
        tensors["item_embeddings"] = itemEmbeddings
        if let itemCategories { tensors["item_categories"] = itemCategories }
        let json = (try? JSONEncoder().encode(configuration)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return SafeTensors(
            tensors: tensors,
            metadata: [
                Self.configurationKey: json, "recrl.reward.minimum": "\(rewardScale.minimum)",
                "recrl.reward.maximum": "\(rewardScale.maximum)",
            ])
    }

    /// Restores a model from ``safeTensors()``'s output.
    /// - Throws: ``DRRError/invalidModel(_:)`` when metadata or a tensor is missing or misshapen.
    public init(safeTensors file: SafeTensors) throws(DRRError) {
        guard let json = file.metadata[Self.configurationKey], let data = json.data(using: .utf8),
            let configuration = try? JSONDecoder().decode(DeepPageConfiguration.self, from: data)
        else {
            throw .invalidModel("no DeepPage configuration in the file's metadata")
        }
        guard let lo = file.metadata["recrl.reward.minimum"].flatMap(Float.init),
            let hi = file.metadata["recrl.reward.maximum"].flatMap(Float.init)
        else {
            throw .invalidModel("no reward scale in the file's metadata")
        }
        guard let embeddings = file.tensors["item_embeddings"] else { throw .invalidModel("no item_embeddings tensor") }
        var rng = Xoshiro256StarStar(seed: 0)
        try self.init(
            configuration: configuration, itemEmbeddings: embeddings, itemCategories: file.tensors["item_categories"],
            rewardScale: RewardScale(minimum: lo, maximum: hi), using: &rng)
        do {
            try learner.restore(fromCheckpoint: file.tensors)
        } catch {
            throw .invalidModel("DeepPage networks: \(error)")
        }
    }
}
