import Foundation

/// Hyper-parameters of DeepPage, the page-wise actor-critic of Zhao et al., "Deep
/// Reinforcement Learning for Page-wise Recommendations" (RecSys 2018, arXiv 1805.02343).
///
/// DeepPage shares DRR's machinery (``base``): the pretrained item embeddings, the DDPG
/// settings (γ, τ, learning rates, batch, replay with priorities), exploration, episodes.
/// What is page-specific lives here. The state encoder (``DeepPageStateEncoder``) runs a
/// GRU over the user's browsing history for the initial state, a CNN over each of the
/// ``recentPages`` most recent pages (a ``rows`` × ``columns`` grid of `[item embedding,
/// category, feedback]`), a GRU over the page encodings and attention over its states. The
/// actor (``DeepPageActor``) deconvolves the state into a page of embeddings, mapped to
/// distinct real items position by position, row-major (``ListSelection``, as LIRD's
/// slots); the critic (``DeepPageCritic``) encodes state and page the same way. The page
/// is LIRD's list of `h · w` items read row by row, so the page reward is
/// ``LIRDConfiguration/listReward(_:)`` with ``positionDiscount`` and the simulators are
/// LIRD's (``listConfiguration``).
///
/// Where the paper is silent (or its choice does not apply to MovieLens), the value is ours
/// and says so:
/// - Browsing history: the paper's initial state reads the user's items before the
///   session. Ours: the ``DRRConfiguration/windowSize`` most recent positive items (DRR's
///   state window), oldest first.
/// - Category channel: the paper's grid has the item's category. MovieLens ratings carry
///   none here, so ``categoryChannels`` is 0 by default (a catalogue with categories passes
///   them to ``DeepPageModel``); the feedback channel is the position's reward.
/// - Attention pools `[h_0, h_1 … h_M]`, the history state with the page states (ours: a
///   user with no page yet then gets the history state instead of a zero vector).
/// - Mapping a page of embeddings to items: inner product with the item embeddings,
///   position by position row-major, no repeats (the paper maps each generated embedding
///   to a real item without giving the rule).
/// - Network widths (``stateSize``, ``convolutionFilters``, ``deconvolutionChannels``,
///   ``criticHiddenSize``): ours, small, so that an update stays cheap on a CPU.
/// - Training environment: ``simulator`` (LIRD's environments, with a page as a list).
public struct DeepPageConfiguration: Sendable, Codable, Equatable {
    /// The shared DRR hyper-parameters (embeddings, DDPG, replay, exploration, episodes).
    /// DRR's state module and supervised objective are not used. Default: DRR's defaults
    /// with embeddings of 32 and batches of 32 (ours: the page networks cost more per row).
    public var base: DRRConfiguration
    /// `h`, rows of a page. Ours 2.
    public var rows = 2
    /// `w`, columns of a page. Ours 2 (a small page; ``paper`` uses 2 × 5).
    public var columns = 2
    /// `M`, the recent pages the state encoder reads (ours 3).
    public var recentPages = 3
    /// Category channels per item in a page grid (0: the catalogue has no categories).
    public var categoryChannels = 0
    /// Width of the GRU states and of the encoded state (ours 32).
    public var stateSize = 32
    /// Filters of the page CNNs (ours 16).
    public var convolutionFilters = 16
    /// Channels of the actor's deconvolution input grid (ours 16).
    public var deconvolutionChannels = 16
    /// Width of the critic's hidden layer (ours 64).
    public var criticHiddenSize = 64
    /// `Γ`, the discount over positions (row-major) in the page reward. Ours 0.9, as LIRD's.
    public var positionDiscount: Float = 0.9
    /// The environment DeepPage trains against (LIRD's, a page read as a list of `h · w`).
    /// Default `.logged` (ours); ``paper``: `.memory`, the memory-based simulator.
    public var simulator: LIRDConfiguration.Simulator = .logged
    /// α of the memory simulator's similarity (0.5, as LIRD's).
    public var similarityAlpha: Float = 0.5
    /// Logged pairs the memory simulator averages (nil: all; ours 20, as LIRD's).
    public var memoryNeighbours: Int? = 20

    /// The library's defaults: a small, fast configuration.
    public init() {
        base = DRRConfiguration()
        base.embeddingSize = 32
        base.batchSize = 32
    }

    /// A configuration around `base` with a `rows × columns` page, the rest at the defaults.
    public init(base: DRRConfiguration, rows: Int = 2, columns: Int = 2) {
        self.base = base
        self.rows = rows
        self.columns = columns
    }

    /// The paper's choices where it states them or where we read it so: a 2 × 5 page, the
    /// memory-based simulator over all logged pairs, DRR's ``DRRConfiguration/paper`` for the
    /// shared parts (explicit PMF embeddings, a pure DDPG actor).
    public static var paper: DeepPageConfiguration {
        var c = DeepPageConfiguration(base: .paper, rows: 2, columns: 5)
        c.simulator = .memory
        c.memoryNeighbours = nil
        return c
    }

    /// A page as LIRD's list of `h · w` items: the simulators and the page reward.
    public var listConfiguration: LIRDConfiguration {
        var c = LIRDConfiguration(base: base, listSize: rows * columns)
        c.positionDiscount = positionDiscount
        c.simulator = simulator
        c.similarityAlpha = similarityAlpha
        c.memoryNeighbours = memoryNeighbours
        return c
    }

    /// The networks' sizes.
    public var networkShape: DeepPageShape {
        DeepPageShape(
            embeddingSize: base.embeddingSize, categoryChannels: categoryChannels, historyLength: base.windowSize,
            recentPages: recentPages, rows: rows, columns: columns, stateSize: stateSize,
            convolutionFilters: convolutionFilters, deconvolutionChannels: deconvolutionChannels,
            criticHiddenSize: criticHiddenSize)
    }

    /// Items per page, `h · w`.
    public var pageSize: Int { rows * columns }

    /// `Σ_j Γ^j r_j` over the page's rewards read row by row.
    public func pageReward(_ rewards: [Float]) -> Float { listConfiguration.listReward(rewards) }

    /// Checks every value (and ``base``'s); throws a message naming the bad one.
    public func validate() throws(DRRError) {
        try listConfiguration.validate()
        try networkShape.validate()
    }

    enum CodingKeys: String, CodingKey {
        case base, rows, columns, recentPages, categoryChannels, stateSize, convolutionFilters, deconvolutionChannels
        case criticHiddenSize, positionDiscount, simulator, similarityAlpha, memoryNeighbours
    }

    /// Encodes every field; a nil `memoryNeighbours` as `null`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(base, forKey: .base)
        try c.encode(rows, forKey: .rows)
        try c.encode(columns, forKey: .columns)
        try c.encode(recentPages, forKey: .recentPages)
        try c.encode(categoryChannels, forKey: .categoryChannels)
        try c.encode(stateSize, forKey: .stateSize)
        try c.encode(convolutionFilters, forKey: .convolutionFilters)
        try c.encode(deconvolutionChannels, forKey: .deconvolutionChannels)
        try c.encode(criticHiddenSize, forKey: .criticHiddenSize)
        try c.encode(positionDiscount, forKey: .positionDiscount)
        try c.encode(simulator, forKey: .simulator)
        try c.encode(similarityAlpha, forKey: .similarityAlpha)
        try c.encode(memoryNeighbours, forKey: .memoryNeighbours)
    }

    /// Decodes a configuration; a missing key keeps its default (`null` for
    /// `memoryNeighbours` is nil).
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(DRRConfiguration.self, forKey: .base) { base = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .rows) { rows = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .columns) { columns = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .recentPages) { recentPages = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .categoryChannels) { categoryChannels = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .stateSize) { stateSize = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .convolutionFilters) { convolutionFilters = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .deconvolutionChannels) { deconvolutionChannels = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .criticHiddenSize) { criticHiddenSize = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .positionDiscount) { positionDiscount = v }
        if let v = try c.decodeIfPresent(LIRDConfiguration.Simulator.self, forKey: .simulator) { simulator = v }
        if let v = try c.decodeIfPresent(Float.self, forKey: .similarityAlpha) { similarityAlpha = v }
        if c.contains(.memoryNeighbours) { memoryNeighbours = try c.decodeIfPresent(Int.self, forKey: .memoryNeighbours) }
    }
}
