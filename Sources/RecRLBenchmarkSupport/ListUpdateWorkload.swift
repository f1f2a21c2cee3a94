import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLDRR

/// One training update of LIRD or DeepPage at the library's default configuration, on a
/// fixed synthetic batch: what `bench update` times, the package benchmarks run and
/// `Benchmarks/peers/list_update_torch.py` mirrors in PyTorch.
///
/// - `lird`: ``LIRDConfiguration``'s defaults (DRR-ave state module, `K` = 4, `k` = 100,
///   hidden 256, batch 64) over a catalogue of ``items`` items: ``DRRLearningStep``'s
///   update (module encoding, DDPG update with the target actor's list projected on real
///   items, soft target updates, module step) and its supervised next-item step, as
///   ``LIRDTrainer`` runs them after every environment step.
/// - `deeppage`: ``DeepPageConfiguration``'s defaults (a 2 × 2 page, three recent pages,
///   batch 32): the DDPG update of ``DeepPageModel/learner`` (target page projected on real
///   items, soft target updates) and the supervised next-page step
///   (``DeepPageModel/supervisedStep(observations:targets:logits:)``, on observations with
///   a history and no page), as ``DeepPageTrainer`` runs them after every environment step.
///
/// The batch: item-like embeddings, random actions in the actor's range, rewards in
/// [−1, 1], discount 1, IS weights 1. DeepPage's observations have a full history and
/// `r mod (M + 1)` recent pages in row `r` (the rest masked), so masked and unmasked paths
/// both run.
public struct ListUpdateWorkload: Sendable {
    /// `lird` or `deeppage`.
    public let name: String
    /// Catalogue size (MovieLens 100K's 1,682 by default).
    public let items: Int

    /// The workload names, in output order.
    public static let names = ["lird", "deeppage"]

    /// The workload `name` over `items` items.
    /// - Throws: `UpdateWorkloadError` for an unknown name or a catalogue smaller than a list.
    public init(name: String, items: Int = 1682) throws {
        guard Self.names.contains(name) else {
            throw UpdateWorkloadError("unknown update '\(name)'; expected one of \(Self.names.joined(separator: ", "))")
        }
        guard items > 10 else { throw UpdateWorkloadError("the catalogue needs more than 10 items, got \(items)") }
        self.name = name
        self.items = items
    }

    /// A one-line description of the shapes.
    public var shape: String {
        switch name {
        case "lird":
            let c = LIRDConfiguration(), b = c.base
            return
                "batch \(b.batchSize), DRR-\(b.variant.rawValue) window \(b.windowSize), k \(b.embeddingSize), K \(c.listSize), hidden \(b.hiddenSize), \(items) items, supervised weight \(String(format: "%g", Double(b.supervisedWeight)))"
        default:
            let c = DeepPageConfiguration.benchmark
            return
                "batch \(c.base.batchSize), page \(c.rows)x\(c.columns), k \(c.base.embeddingSize), history \(c.base.windowSize), \(c.recentPages) pages, state \(c.stateSize), filters \(c.convolutionFilters), deconvolution \(c.deconvolutionChannels), critic hidden \(c.criticHiddenSize), \(items) items, supervised weight \(String(format: "%g", Double(c.supervisedWeight)))"
        }
    }

    /// A fresh, warmed-up update (two updates run) seeded by `seed`.
    public func make(seed: UInt64) throws -> ListUpdate {
        var rng = Xoshiro256StarStar(seed: seed)
        let embeddings =
            Tensor(
                randomNormal: [items, name == "lird" ? LIRDConfiguration().base.embeddingSize : DeepPageConfiguration.benchmark.base.embeddingSize], using: &rng
            )
            * 0.3
        var update: ListUpdate
        if name == "lird" {
            let c = LIRDConfiguration()
            let users = Tensor(randomNormal: [64, c.base.embeddingSize], using: &rng) * 0.3
            let model = try DRRModel(
                configuration: c.base, userEmbeddings: users, itemEmbeddings: embeddings,
                rewardScale: RewardScale(minimum: 1, maximum: 5), listSize: c.listSize, using: &rng)
            update = .lird(LIRDUpdate(model: model, using: &rng))
        } else {
            let model = try DeepPageModel(
                configuration: DeepPageConfiguration.benchmark, itemEmbeddings: embeddings,
                rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
            update = .deepPage(DeepPageUpdate(model: model, using: &rng))
        }
        update.step()
        update.step()
        return update
    }
}

/// A bad ``ListUpdateWorkload`` request.
public struct UpdateWorkloadError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// A ready-to-time update of ``ListUpdateWorkload``.
public struct ListUpdate {
    var lird: LIRDUpdate?
    var deepPage: DeepPageUpdate?

    static func lird(_ u: LIRDUpdate) -> ListUpdate { ListUpdate(lird: u) }
    static func deepPage(_ u: DeepPageUpdate) -> ListUpdate { ListUpdate(deepPage: u) }

    /// One update; returns the critic loss.
    @discardableResult
    public mutating func step() -> Float {
        if lird != nil { return lird!.step() }
        return deepPage!.step()
    }
}

/// LIRD's update: ``DRRLearningStep/update(model:)`` then
/// ``DRRLearningStep/supervisedStep(model:inputs:targets:)``, on fixed batches.
struct LIRDUpdate {
    var model: DRRModel
    var learning: DRRLearningStep
    let inputs: Tensor
    let targets: [Int32]

    init<G: RandomNumberGenerator>(model: DRRModel, using rng: inout G) {
        let c = model.configuration, b = c.batchSize, x = model.inputSize, a = model.learner.actionSize
        var replay = PrioritizedReplayBuffer(capacity: b, stateSize: x, actionSize: a)
        for _ in 0..<b {
            replay.add(
                state: moduleInput(model, using: &rng), action: Tensor(randomUniform: [a], in: -1...1, using: &rng),
                reward: Float.random(in: -1...1, using: &rng), discount: 1, nextState: moduleInput(model, using: &rng))
        }
        learning = DRRLearningStep(model: model)
        learning.sample(from: &replay, using: &rng)
        var inputs = Tensor(zeros: [b, x])
        for r in 0..<b {
            let row = moduleInput(model, using: &rng)
            for j in 0..<x { inputs[flat: r * x + j] = row[flat: j] }
        }
        self.inputs = inputs
        targets = (0..<b * model.listSize).map { _ in Int32(Int.random(in: 0..<model.itemCount, using: &rng)) }
        self.model = model
    }

    mutating func step() -> Float {
        let stats = learning.update(model: &model)
        learning.supervisedStep(model: &model, inputs: inputs, targets: targets)
        return stats.criticLoss
    }
}

/// `[u | i_1 … i_n]`: a random user row and `n` catalogue items.
private func moduleInput<G: RandomNumberGenerator>(_ model: DRRModel, using rng: inout G) -> Tensor {
    let k = model.configuration.embeddingSize, n = model.configuration.windowSize
    var row = Tensor(zeros: [(n + 1) * k])
    let u = Int.random(in: 0..<model.userCount, using: &rng)
    for j in 0..<k { row[flat: j] = model.userEmbeddings[flat: u * k + j] }
    for slot in 0..<n {
        let i = Int.random(in: 0..<model.itemCount, using: &rng)
        for j in 0..<k { row[flat: (slot + 1) * k + j] = model.itemEmbeddings[flat: i * k + j] }
    }
    return row
}

/// DeepPage's update: ``DeepPageModel/learner``'s DDPG update, then
/// ``DeepPageModel/supervisedStep(observations:targets:logits:)`` (with a positive
/// ``DeepPageConfiguration/supervisedWeight``), on fixed batches.
struct DeepPageUpdate {
    var model: DeepPageModel
    var batch: TransitionBatch
    let supervisedObservations: Tensor
    let supervisedTargets: [Int32]
    var logits = Tensor(zeros: [0])

    init<G: RandomNumberGenerator>(model: DeepPageModel, using rng: inout G) {
        let c = model.configuration, b = c.base.batchSize, shape = c.networkShape
        batch = TransitionBatch(batchSize: b, stateSize: shape.observationSize, actionSize: shape.actionSize)
        batch.states = Self.observations(model, rows: b, using: &rng)
        batch.nextStates = Self.observations(model, rows: b, using: &rng)
        batch.actions = Tensor(randomUniform: [b, shape.actionSize], in: -1...1, using: &rng)
        batch.rewards = Tensor(randomUniform: [b], in: -1...1, using: &rng)
        batch.discounts.fill(1)
        batch.weights.fill(1)
        batch.indices = Array(0..<b)
        var supervised = Tensor(zeros: [b, shape.observationSize])
        for r in 0..<b {
            let history = (0..<c.base.windowSize).map { _ in Int32.random(in: 0..<Int32(model.itemCount), using: &rng) }
            model.writeObservation(history: history[...], into: &supervised, row: r)
        }
        supervisedObservations = supervised
        supervisedTargets = (0..<b * c.pageSize).map { _ in Int32.random(in: 0..<Int32(model.itemCount), using: &rng) }
        self.model = model
    }

    /// Observation rows written by ``DeepPageModel/writeObservation(window:pages:into:row:)``:
    /// a full history, `r mod (M + 1)` shown pages with random feedback.
    static func observations<G: RandomNumberGenerator>(_ model: DeepPageModel, rows: Int, using rng: inout G) -> Tensor {
        let c = model.configuration
        var x = Tensor(zeros: [rows, c.networkShape.observationSize])
        for r in 0..<rows {
            let history = (0..<c.base.windowSize).map { _ in Int.random(in: 0..<model.itemCount, using: &rng) }
            let pages = (0..<r % (c.recentPages + 1)).map { _ in
                ShownPage(
                    items: (0..<c.pageSize).map { _ in Int.random(in: 0..<model.itemCount, using: &rng) },
                    rewards: (0..<c.pageSize).map { _ in Float.random(in: -1...1, using: &rng) })
            }
            model.writeObservation(
                window: StateWindow(size: c.base.windowSize, initial: history), pages: pages, into: &x, row: r)
        }
        return x
    }

    mutating func step() -> Float {
        let loss = model.learner.update(batch).criticLoss
        if model.configuration.supervisedWeight > 0 {
            model.supervisedStep(observations: supervisedObservations, targets: supervisedTargets, logits: &logits)
        }
        return loss
    }
}

extension ListUpdate {
    /// Threads of one update: the learner's ``DDPGLearner/parallelism`` (2 or more takes
    /// the two-lane path where the networks allow it: LIRD's MLPs; DeepPage's always run
    /// the sequential path).
    public var parallelism: Int {
        get { lird?.model.learner.parallelism ?? deepPage!.model.learner.parallelism }
        set {
            if lird != nil { lird!.model.learner.parallelism = newValue } else { deepPage!.model.learner.parallelism = newValue }
        }
    }

    /// Whether an update runs the two-lane path.
    public var usesParallelPath: Bool { lird?.model.learner.usesParallelPath ?? deepPage!.model.learner.usesParallelPath }
}
