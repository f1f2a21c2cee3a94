import Foundation

/// Hyper-parameters of LIRD, the list-wise actor-critic of Zhao et al., "Deep Reinforcement
/// Learning for List-wise Recommendations" (arXiv 1801.00209, 2017/2019).
///
/// LIRD shares DRR's machinery (``base``): the pretrained embeddings, the state module, the
/// networks' widths, DDPG with prioritized replay (``DRRLearningStep``), exploration and the
/// optional supervised objective. What is list-specific lives here. The actor outputs
/// ``listSize`` weight vectors `w_1 … w_K`; slot `j` recommends the item with the highest
/// `e_i · w_j` that no earlier slot took (``ListSelection``); the critic scores the state
/// with the `K·k` vector of the list's item embeddings; the reward of a list is
/// `Σ_j Γ^(j−1) r_j` (``positionDiscount``).
///
/// Where the paper is silent (or its choice does not apply to MovieLens), the value is ours
/// and says so:
/// - State: the paper's state is the embeddings of the user's `N` most recent clicked or
///   ordered items. Here it is DRR's state module over the `n` most recent positive items
///   (``DRRConfiguration/windowSize``) and, for DRR-ave, the user embedding (ours, default
///   `.ave`, so LIRD and DRR-ave differ only in the list); ``paper`` uses DRR-n, the plain
///   concatenation of the window's item embeddings.
/// - Item embeddings: the paper's come from item information on JD.com; ours are ALS
///   factors of the training split, as DRR's (``DRRConfiguration/embeddingMethod``), and, as
///   DRR's, the supervised next-item step also trains the table at
///   ``DRRConfiguration/itemEmbeddingLearningRate`` (ours: DRR's 1e-4, which ranked better
///   than the fixed table on an ML-100K validation split carved from the temporal split's
///   training part; a higher rate was not adopted on one split's evidence, since the field
///   is shared with DRR, whose validation over seeds and splits chose 1e-4). ``paper``: 0,
///   the pretrained table stays fixed.
/// - Episodes: ``DRRConfiguration/episodeLength`` lists per episode (ours: 10).
/// - Exploration: the paper adds noise to the actor's output. Ours adds that
///   (``DRRConfiguration/actionNoise``) and, per list position, DRR's ε-greedy
///   (``DRRConfiguration/epsilonStart``): with probability ε the slot's item is a random
///   candidate instead.
/// - The replayed action and the TD target follow DRR's defaults
///   (``DRRConfiguration/replayAction``, ``DRRConfiguration/projectsTargetActions``): the
///   list's scaled item embeddings, and the target actor's list projected on real items.
/// - Training environment: ``simulator``.
/// - Supervised next-item objective (``DRRConfiguration/supervisedWeight``, ours, as DRR's):
///   slot `j` is trained towards the `j`-th positive that followed, each slot with the full
///   weight (``DRRLearningStep/supervisedStep(model:inputs:targets:)``), not the weight
///   divided among the `K` slots, which left the first slot's ranking clearly below DRR's
///   single action on a validation split.
public struct LIRDConfiguration: Sendable, Codable, Equatable {
    /// The shared DRR hyper-parameters (embeddings, state module, network width, DDPG,
    /// replay, exploration, supervised objective). Default: DRR's defaults.
    public var base: DRRConfiguration
    /// `K`, items per recommended list (paper: 4).
    public var listSize = 4
    /// `Γ`, the discount over list positions in the list reward `Σ_j Γ^(j−1) r_j`. The paper
    /// discounts positions but gives no value; ours 0.9 (the DRR paper's γ).
    public var positionDiscount: Float = 0.9
    /// The environment LIRD trains against. Default `.logged` (ours): DRR's offline simulator
    /// applied to each item of the list (the logged rating, else
    /// ``DRRConfiguration/unratedReward``), so LIRD and DRR see the same rewards and differ
    /// only in the list. ``paper``: `.memory`, the paper's memory-based simulator.
    public var simulator: Simulator = .logged
    /// α of the memory simulator's similarity `α · cos(s, s_i) + (1 − α) · cos(a, a_i)`
    /// between a state–list pair and a logged one (paper: 0.5).
    public var similarityAlpha: Float = 0.5
    /// How many of the most similar logged pairs the memory simulator averages. nil: all
    /// of them with a positive similarity (the paper: every memory, weighted by
    /// similarity). Ours 20: with tens of thousands of logged pairs the all-memory average
    /// is nearly the same for every list, which rewards nothing in particular.
    public var memoryNeighbours: Int? = 20

    /// The environments of ``simulator``.
    public enum Simulator: String, Sendable, Codable, CaseIterable {
        /// DRR's ``OfflineSimulator``, item by item through the list.
        case logged
        /// The paper's memory-based simulator (``MemoryListSimulator``).
        case memory
    }

    /// The library's defaults.
    public init() {
        base = DRRConfiguration()
    }

    /// A configuration around `base` with the other values at their defaults.
    public init(base: DRRConfiguration, listSize: Int = 4) {
        self.base = base
        self.listSize = listSize
    }

    /// The paper's choices where it states them: `K` = 4, the memory-based simulator over
    /// all logged pairs with α = 0.5, a state of concatenated item embeddings (DRR-n), and
    /// DRR's ``DRRConfiguration/paper`` for the shared parts (a pure DDPG actor, TD targets
    /// on the raw target action, explicit PMF embeddings).
    public static var paper: LIRDConfiguration {
        var c = LIRDConfiguration(base: .paper)
        c.base.variant = .n
        c.simulator = .memory
        c.memoryNeighbours = nil
        return c
    }

    /// Checks every value (and ``base``'s); throws a message naming the bad one.
    public func validate() throws(DRRError) {
        try base.validate()
        guard listSize >= 1 else { throw .invalidConfiguration("listSize must be positive, got \(listSize)") }
        guard positionDiscount >= 0 && positionDiscount <= 1 else {
            throw .invalidConfiguration("positionDiscount must be in [0, 1], got \(positionDiscount)")
        }
        guard similarityAlpha >= 0 && similarityAlpha <= 1 else {
            throw .invalidConfiguration("similarityAlpha must be in [0, 1], got \(similarityAlpha)")
        }
        if let m = memoryNeighbours, m < 1 { throw .invalidConfiguration("memoryNeighbours must be positive, got \(m)") }
    }

    /// `Σ_j Γ^j r_j` over the list's per-position rewards (position 0 first).
    public func listReward(_ rewards: [Float]) -> Float {
        var total: Float = 0, weight: Float = 1
        for r in rewards {
            total += weight * r
            weight *= positionDiscount
        }
        return total
    }

    enum CodingKeys: String, CodingKey {
        case base, listSize, positionDiscount, simulator, similarityAlpha, memoryNeighbours
    }

    /// Encodes every field; a nil `memoryNeighbours` as `null`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(base, forKey: .base)
        try c.encode(listSize, forKey: .listSize)
        try c.encode(positionDiscount, forKey: .positionDiscount)
        try c.encode(simulator, forKey: .simulator)
        try c.encode(similarityAlpha, forKey: .similarityAlpha)
        try c.encode(memoryNeighbours, forKey: .memoryNeighbours)
    }

    /// Decodes a configuration; a missing key keeps its default (`null` for
    /// `memoryNeighbours` is nil).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        base = try c.decodeIfPresent(DRRConfiguration.self, forKey: .base) ?? DRRConfiguration()
        if let v = try c.decodeIfPresent(Int.self, forKey: .listSize) { listSize = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .positionDiscount) { positionDiscount = v }
        if let v = try c.decodeIfPresent(Simulator.self, forKey: .simulator) { simulator = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .similarityAlpha) { similarityAlpha = v }
        if c.contains(.memoryNeighbours) { memoryNeighbours = try c.decodeIfPresent(Int.self, forKey: .memoryNeighbours) }
    }
}
