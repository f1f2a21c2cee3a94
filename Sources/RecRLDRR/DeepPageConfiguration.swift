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
/// - A supervised next-page objective beside DDPG (``supervisedWeight``; not in the paper,
///   ours, as DRR's and LIRD's ``DRRConfiguration/supervisedWeight``), which also trains the
///   item-embedding table at ``DRRConfiguration/itemEmbeddingLearningRate`` of ``base``, as
///   DRR's and LIRD's supervised step (ours: DRR's 1e-4, which ranked better than the fixed
///   table on an ML-100K validation split, as for LIRD; ``paper``: 0, the pretrained table
///   stays fixed).
public struct DeepPageConfiguration: Sendable, Codable, Equatable {
    /// The shared DRR hyper-parameters (embeddings, DDPG, replay, exploration, episodes, and
    /// ``DRRConfiguration/itemEmbeddingLearningRate``, the item table's rate under the
    /// supervised next-page step). DRR's state module is not used, nor is
    /// ``DRRConfiguration/supervisedWeight`` (DeepPage's is ``supervisedWeight``);
    /// ``DRRConfiguration/supervisedTarget`` is not read either (a page's examples are always
    /// the positives that followed). Default: DRR's defaults (embeddings of 100, as DRR's)
    /// with batches of 32 (ours: the page networks cost more per row). The embedding width
    /// was 32 before; 100 was chosen by NDCG@10 on an ML-100K validation split carved from
    /// the temporal split's training part (32, 64 and 100 tried; wider ranked better), and a
    /// saved configuration keeps its own width.
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
    /// Weight λ of the supervised next-page objective beside DDPG (not in the paper; ours,
    /// the page form of DRR's and LIRD's ``DRRConfiguration/supervisedWeight``): after every
    /// DDPG update the actor takes one more step on a batch of logged examples. An example
    /// is a user's window of positive training items (the browsing history, no page shown
    /// yet: the state ``DeepPageRecommender`` ranks from), its targets the `h · w` positives
    /// that followed, row-major; each page position's embedding scores the catalogue by
    /// inner product, and the loss is `λ ·` the mean softmax cross-entropy of the positions
    /// against their targets (``NextItemSoftmax`` with `h · w` slots), back-propagated
    /// through the deconvolution actor and its state encoder. 0 is the paper's pure DDPG
    /// actor (``paper``).
    public var supervisedWeight: Float = 100
    /// α of the memory simulator's similarity (0.5, as LIRD's).
    public var similarityAlpha: Float = 0.5
    /// Logged pairs the memory simulator averages (nil: all; ours 20, as LIRD's).
    public var memoryNeighbours: Int? = 20

    /// The library's defaults: a small, fast configuration.
    public init() {
        base = DRRConfiguration()
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
    /// shared parts (explicit PMF embeddings) and a pure DDPG actor (``supervisedWeight`` 0).
    public static var paper: DeepPageConfiguration {
        var c = DeepPageConfiguration(base: .paper, rows: 2, columns: 5)
        c.simulator = .memory
        c.memoryNeighbours = nil
        c.supervisedWeight = 0
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
        guard supervisedWeight >= 0 && supervisedWeight.isFinite else {
            throw .invalidConfiguration("supervisedWeight must be a non-negative number, got \(supervisedWeight)")
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case base, rows, columns, recentPages, categoryChannels, stateSize, convolutionFilters, deconvolutionChannels
        case criticHiddenSize, positionDiscount, simulator, similarityAlpha, memoryNeighbours, supervisedWeight
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
        try c.encode(supervisedWeight, forKey: .supervisedWeight)
    }

    /// Decodes a configuration; a missing key keeps its default (`null` for
    /// `memoryNeighbours` is nil), except `supervisedWeight`: a configuration without it
    /// was saved before the supervised objective existed, so its model was trained by DDPG
    /// alone, and it decodes as 0.
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
        supervisedWeight = try c.decodeIfPresent(Float.self, forKey: .supervisedWeight) ?? 0
    }
}

extension DeepPageConfiguration {
    /// This configuration with fields set by name, as ``DRRConfiguration/applying(overrides:)``:
    /// each entry is `key=value` with a JSON value (`null` clears `memoryNeighbours`). A key
    /// naming one of DeepPage's own fields (`rows`, `columns`, `recentPages`,
    /// `categoryChannels`, `stateSize`, `convolutionFilters`, `deconvolutionChannels`,
    /// `criticHiddenSize`, `positionDiscount`, `simulator`, `similarityAlpha`,
    /// `memoryNeighbours`, `supervisedWeight`) sets it; any other key sets that field of
    /// ``base``. `supervisedWeight` is DeepPage's own (``base``'s is not read). Validated.
    ///
    /// Throws ``DRRError/invalidConfiguration(_:)`` naming an unknown key, a malformed entry
    /// or a value of the wrong type.
    public func applying(overrides: [String]) throws(DRRError) -> DeepPageConfiguration {
        guard !overrides.isEmpty else { return self }
        let own = Set(CodingKeys.allCases.map(\.stringValue)).subtracting([CodingKeys.base.stringValue])
        var mine: [(String, String)] = [], theirs: [String] = []
        for entry in overrides {
            guard let eq = entry.firstIndex(of: "=") else { throw .invalidConfiguration("expected KEY=VALUE, got '\(entry)'") }
            let key = String(entry[..<eq])
            if own.contains(key) { mine.append((key, String(entry[entry.index(after: eq)...]))) } else { theirs.append(entry) }
        }
        var result = self
        result.base = try base.applying(overrides: theirs)
        if !mine.isEmpty {
            var object: [String: Any]
            do {
                object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as? [String: Any] ?? [:]
            } catch {
                throw .invalidConfiguration("cannot encode the configuration: \(error)")
            }
            for (key, text) in mine {
                object[key] =
                    text == "null" ? NSNull() : (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) ?? text
            }
            do {
                result = try JSONDecoder().decode(DeepPageConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
            } catch let DecodingError.typeMismatch(_, context) {
                throw .invalidConfiguration(
                    "wrong type for '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
            } catch let DecodingError.valueNotFound(_, context) {
                throw .invalidConfiguration(
                    "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' cannot be null: \(context.debugDescription)")
            } catch let DecodingError.dataCorrupted(context) {
                throw .invalidConfiguration(
                    "bad value for '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
            } catch {
                throw .invalidConfiguration("\(error)")
            }
        }
        try result.validate()
        return result
    }
}
