import Foundation
import RecRLTensor

/// A seeded simulator of users and items whose long-term reward differs from the
/// immediate one: users drift toward what they consume, get bored of repeated
/// categories and leave after poor recommendations.
///
/// It is RecRL's source of synthetic interaction logs (``generateLog(policy:sessionsPerUser:sessionLength:startTimestamp:using:)``),
/// an online world to serve (``respond(user:item:)``, ``respond(user:slate:)``), and a
/// reinforcement-learning ``Environment`` (one episode is one user's session; see
/// `SyntheticWorld+Environment.swift` for the observation, action and reward encoding).
///
/// ## Generative model
///
/// Notation: `d` = ``Configuration/dimension``, `K` = ``Configuration/categories``,
/// `N` = ``Configuration/items``, `normalize(x) = x / ‖x‖`, `z ~ N(0, I_d)` a fresh
/// standard normal vector each time it appears. All draws come, in a fixed order, from
/// a `Xoshiro256StarStar` seeded with the world's seed.
///
/// **Categories.** Centroids `c_k = normalize(z)`, `k = 0..<K`.
///
/// **Items.** Item `i` has category `k_i` uniform in `0..<K`, latent vector
/// `v_i = normalize(c_{k_i} + σ_item · z / √d)` (σ_item = ``Configuration/itemSpread``),
/// and a Zipf popularity prior: a random permutation gives each item a rank
/// `r_i ∈ 1...N`, `p_i = r_i^(−s) / Σ_j r_j^(−s)` (s = ``Configuration/popularityExponent``).
/// Its popularity bias is `b_i = β · ln(N · p_i) / ln N` (β = ``Configuration/popularityWeight``):
/// 0 for an item of average prior, positive for popular items.
///
/// **Users.** User `u` has a favourite category `f_u` uniform in `0..<K` and a taste
/// `t_u = normalize(c_{f_u} + σ_user · z / √d)` (σ_user = ``Configuration/tasteSpread``),
/// a fatigue `φ_u[k] = 0` for each category, and a count `m_u` of consecutive
/// non-positive responses in the current session.
///
/// **Response to an item** `i` (one *step* of user `u`):
///
///     a    = α · ⟨t_u, v_i⟩ + b_i − φ_u[k_i] + μ + σ_noise · ε,   ε ~ N(0, 1)
///     r    = clamp(round(3 + 2 · tanh(a)), 1, 5)                  (the rating)
///     pos  = r ≥ 4                                                (a click / positive)
///
/// with α = ``Configuration/affinityScale``, μ = ``Configuration/affinityOffset``,
/// σ_noise = ``Configuration/responseNoise``. Then, in this order:
///
/// 1. *boredom*: `φ_u[k] ← γ · φ_u[k]` for every `k`, then `φ_u[k_i] ← φ_u[k_i] + δ`
///    (γ = ``Configuration/fatigueDecay``, δ = ``Configuration/fatigueIncrement``);
///    every examined item counts as consumed, positive or not;
/// 2. *drift* (only if `pos`): `t_u ← normalize((1 − η) · t_u + η · v_i)`
///    (η = ``Configuration/driftRate``);
/// 3. *churn*: `m_u ← pos ? 0 : m_u + 1`; the user leaves (ends the session) with
///    probability `min(λ_max, λ_0 + λ_1 · m_u)` (λ_0 = ``Configuration/baseLeaveProbability``,
///    λ_1 = ``Configuration/leaveProbabilityPerMiss``, λ_max = ``Configuration/maxLeaveProbability``).
///
/// **Sessions.** ``startSession(user:)`` sets `m_u = 0` and scales the fatigue carried
/// over from the previous session, `φ_u ← κ · φ_u` (κ = ``Configuration/fatigueSessionCarryover``).
/// Responding to a user who is not in a session starts one first.
///
/// **Slates.** For ``respond(user:slate:)`` the user examines the slate top to bottom
/// (cascade position bias): position 0 is always examined; after examining a position
/// the user goes on to the next with probability ρ (``Configuration/continueProbability``)
/// unless they left. Without leaving, position `j` is examined with probability `ρ^j`.
/// Each examined item is one step as above; unexamined items get no rating and change
/// nothing.
///
/// Why long-term reward differs from immediate reward: a static greedy recommender
/// that keeps serving the user's top category raises that category's fatigue to about
/// `δ / (1 − γ)` (1.75 with the defaults), which drives ratings down, consecutive
/// misses up and the user out of the session; spreading recommendations over a few
/// liked categories keeps fatigue low and sessions long.
///
/// The world is a value type: copying it copies every user's state and the generator,
/// and two worlds built with the same configuration and seed respond bit-identically to
/// the same calls.
public struct SyntheticWorld: Sendable {

    /// The parameters of the generative model (see ``SyntheticWorld`` for the formulas).
    public struct Configuration: Sendable, Hashable, Codable {
        /// Number of users (default 500).
        public var users: Int
        /// Number of items (default 1000).
        public var items: Int
        /// Latent dimension `d` (default 16).
        public var dimension: Int
        /// Number of item categories `K` (default 10).
        public var categories: Int
        /// σ_item: spread of items around their category centroid (default 0.6).
        public var itemSpread: Float
        /// σ_user: spread of user tastes around their favourite centroid (default 1.0).
        public var tasteSpread: Float
        /// s: Zipf exponent of the popularity prior (default 1.0).
        public var popularityExponent: Double
        /// β: weight of the popularity bias in the affinity (default 0.5).
        public var popularityWeight: Float
        /// α: scale of the taste–item dot product in the affinity (default 2.5).
        public var affinityScale: Float
        /// μ: constant added to the affinity (default 0).
        public var affinityOffset: Float
        /// σ_noise: standard deviation of the response noise (default 0.3).
        public var responseNoise: Float
        /// η: taste drift toward a positively rated item (default 0.05).
        public var driftRate: Float
        /// δ: fatigue added to a category each time one of its items is consumed (default 0.35).
        public var fatigueIncrement: Float
        /// γ: geometric decay of every category's fatigue per step (default 0.8).
        public var fatigueDecay: Float
        /// κ: fraction of fatigue carried into a new session (default 0.3).
        public var fatigueSessionCarryover: Float
        /// λ_0: probability of leaving after any response (default 0.02).
        public var baseLeaveProbability: Double
        /// λ_1: extra leave probability per consecutive non-positive response (default 0.1).
        public var leaveProbabilityPerMiss: Double
        /// λ_max: cap on the leave probability (default 0.9).
        public var maxLeaveProbability: Double
        /// ρ: probability of examining the next slate position (default 0.8).
        public var continueProbability: Double

        /// A configuration; every parameter has the default documented on its property.
        public init(
            users: Int = 500, items: Int = 1000, dimension: Int = 16, categories: Int = 10,
            itemSpread: Float = 0.6, tasteSpread: Float = 1.0,
            popularityExponent: Double = 1.0, popularityWeight: Float = 0.5,
            affinityScale: Float = 2.5, affinityOffset: Float = 0, responseNoise: Float = 0.3,
            driftRate: Float = 0.05,
            fatigueIncrement: Float = 0.35, fatigueDecay: Float = 0.8, fatigueSessionCarryover: Float = 0.3,
            baseLeaveProbability: Double = 0.02, leaveProbabilityPerMiss: Double = 0.1,
            maxLeaveProbability: Double = 0.9, continueProbability: Double = 0.8
        ) {
            self.users = users; self.items = items; self.dimension = dimension; self.categories = categories
            self.itemSpread = itemSpread; self.tasteSpread = tasteSpread
            self.popularityExponent = popularityExponent; self.popularityWeight = popularityWeight
            self.affinityScale = affinityScale; self.affinityOffset = affinityOffset; self.responseNoise = responseNoise
            self.driftRate = driftRate
            self.fatigueIncrement = fatigueIncrement; self.fatigueDecay = fatigueDecay
            self.fatigueSessionCarryover = fatigueSessionCarryover
            self.baseLeaveProbability = baseLeaveProbability; self.leaveProbabilityPerMiss = leaveProbabilityPerMiss
            self.maxLeaveProbability = maxLeaveProbability; self.continueProbability = continueProbability
        }

        /// Stops the program with a message if a parameter is out of range.
        func validate() {
            precondition(
                users > 0 && items > 0 && dimension > 0 && categories > 0,
                "SyntheticWorld: users, items, dimension and categories must be positive, got \(users), \(items), \(dimension), \(categories)")
            precondition(itemSpread >= 0 && tasteSpread >= 0 && responseNoise >= 0, "SyntheticWorld: spreads and noise must be non-negative")
            precondition(popularityExponent >= 0, "SyntheticWorld: popularityExponent must be non-negative, got \(popularityExponent)")
            precondition((0...1).contains(driftRate), "SyntheticWorld: driftRate must be in [0, 1], got \(driftRate)")
            precondition(fatigueIncrement >= 0, "SyntheticWorld: fatigueIncrement must be non-negative, got \(fatigueIncrement)")
            precondition((0...1).contains(fatigueDecay), "SyntheticWorld: fatigueDecay must be in [0, 1], got \(fatigueDecay)")
            precondition((0...1).contains(fatigueSessionCarryover), "SyntheticWorld: fatigueSessionCarryover must be in [0, 1], got \(fatigueSessionCarryover)")
            precondition(
                (0...1).contains(baseLeaveProbability) && leaveProbabilityPerMiss >= 0 && (0...1).contains(maxLeaveProbability),
                "SyntheticWorld: leave probabilities must be in [0, 1]")
            precondition((0...1).contains(continueProbability), "SyntheticWorld: continueProbability must be in [0, 1], got \(continueProbability)")
        }
    }

    /// A user's response to one recommended item.
    public struct Feedback: Sendable, Hashable, Codable {
        /// The recommended item.
        public var item: Int
        /// Whether the user looked at the item (always true for a single item; slates
        /// may end before it).
        public var examined: Bool
        /// The rating in 1...5 if examined, 0 otherwise.
        public var rating: Int
        /// Whether the rating is ≥ 4 (a click).
        public var positive: Bool
        /// Whether the user ended the session after this item.
        public var left: Bool

        /// A feedback value.
        public init(item: Int, examined: Bool, rating: Int, positive: Bool, left: Bool) {
            self.item = item; self.examined = examined; self.rating = rating; self.positive = positive; self.left = left
        }
    }

    /// The parameters the world was built with.
    public let configuration: Configuration
    /// The seed the world was built with.
    public let seed: UInt64

    /// Category of each item, in `0..<configuration.categories`.
    public let categories: [Int]
    /// Popularity prior `p_i` of each item (sums to 1).
    public let popularity: [Double]
    /// Popularity bias `b_i` added to each item's affinity.
    public let popularityBias: [Float]

    // Latent state, row-major [count, dimension].
    let itemVectors: [Float]
    let centroids: [Float]
    var tastes: [Float]
    var fatigue: [Float]  // [users, categories]
    var misses: [Int]
    var inSession: [Bool]
    /// Favourite category of each user (the centroid their initial taste was drawn
    /// around). For tests and diagnostics only.
    public let favouriteCategories: [Int]
    var rng: Xoshiro256StarStar
    /// Every user's taste as built, restored by ``reset(seed:)``.
    let initialTastes: [Float]
    /// How episodes run when the world is used as an ``Environment``.
    public let episodeConfiguration: EpisodeConfiguration
    /// The ``Environment`` side's state: the current episode and each user's recent likes.
    var episode: EpisodeState

    /// Builds a world by drawing its items and users from `seed`.
    /// - Parameters:
    ///   - configuration: the model's parameters (default `Configuration()`: 500 users,
    ///     1000 items, dimension 16, 10 categories; every default is documented on its
    ///     ``Configuration`` property).
    ///   - episodeConfiguration: how the world runs as an ``Environment`` (default
    ///     `EpisodeConfiguration()`: a history of 5 liked items, at most 50 steps).
    ///   - seed: seeds every random draw of the world, at construction and in responses.
    public init(
        configuration: Configuration = Configuration(), episodeConfiguration: EpisodeConfiguration = EpisodeConfiguration(),
        seed: UInt64
    ) {
        configuration.validate()
        episodeConfiguration.validate()
        self.episodeConfiguration = episodeConfiguration
        self.configuration = configuration
        self.seed = seed
        let n = configuration.items, u = configuration.users, d = configuration.dimension, k = configuration.categories
        var rng = Xoshiro256StarStar(seed: seed)
        let invSqrtD = 1 / Float(d).squareRoot()

        var centroids = [Float](repeating: 0, count: k * d)
        for c in 0..<k {
            for j in 0..<d { centroids[c * d + j] = rng.nextNormalFloat() }
            Self.normalize(&centroids, row: c, dimension: d)
        }

        var categories = [Int](repeating: 0, count: n)
        var items = [Float](repeating: 0, count: n * d)
        for i in 0..<n {
            let c = rng.nextInt(below: k)
            categories[i] = c
            for j in 0..<d {
                items[i * d + j] = centroids[c * d + j] + configuration.itemSpread * invSqrtD * rng.nextNormalFloat()
            }
            Self.normalize(&items, row: i, dimension: d)
        }

        // Zipf prior over a random permutation of ranks (Fisher–Yates).
        var ranks = Array(1...n)
        for i in stride(from: n - 1, to: 0, by: -1) { ranks.swapAt(i, rng.nextInt(below: i + 1)) }
        var weights = ranks.map { pow(Double($0), -configuration.popularityExponent) }
        let total = weights.reduce(0, +)
        for i in 0..<n { weights[i] /= total }
        let logN = n > 1 ? log(Double(n)) : 1
        popularityBias = weights.map { configuration.popularityWeight * Float(log(Double(n) * $0) / logN) }
        popularity = weights

        var favourites = [Int](repeating: 0, count: u)
        var tastes = [Float](repeating: 0, count: u * d)
        for user in 0..<u {
            let c = rng.nextInt(below: k)
            favourites[user] = c
            for j in 0..<d {
                tastes[user * d + j] = centroids[c * d + j] + configuration.tasteSpread * invSqrtD * rng.nextNormalFloat()
            }
            Self.normalize(&tastes, row: user, dimension: d)
        }

        self.categories = categories
        self.itemVectors = items
        self.centroids = centroids
        self.tastes = tastes
        self.initialTastes = tastes
        self.episode = EpisodeState(users: u, items: n, historyLength: episodeConfiguration.historyLength)
        self.favouriteCategories = favourites
        self.fatigue = [Float](repeating: 0, count: u * k)
        self.misses = [Int](repeating: 0, count: u)
        self.inSession = [Bool](repeating: false, count: u)
        self.rng = rng
    }

    static func normalize(_ x: inout [Float], row: Int, dimension d: Int) {
        var ss: Float = 0
        for j in 0..<d { ss += x[row * d + j] * x[row * d + j] }
        let norm = ss.squareRoot()
        guard norm > 0 else { return }
        for j in 0..<d { x[row * d + j] /= norm }
    }

    // MARK: Metadata

    /// Number of users.
    public var userCount: Int { configuration.users }
    /// Number of items.
    public var itemCount: Int { configuration.items }

    /// Display titles, `"Item 17 (category 3)"`.
    public var titles: [String] { (0..<itemCount).map { Self.title(item: $0, category: categories[$0]) } }

    /// The display title of an item with the given index and category.
    public static func title(item: Int, category: Int) -> String { "Item \(item) (category \(category))" }

    /// The external id of user index `user`, `"u17"`.
    public static func userID(_ user: Int) -> String { "u\(user)" }
    /// The external id of item index `item`, `"i42"`.
    public static func itemID(_ item: Int) -> String { "i\(item)" }

    // MARK: Ground truth (tests and diagnostics only)

    /// The true item latent vectors as a `[items, dimension]` tensor.
    ///
    /// For tests and diagnostics only: a recommender that reads it is cheating.
    public var trueItemEmbeddings: Tensor { Tensor(itemVectors).reshaped([itemCount, configuration.dimension]) }

    /// The true latent vector of `item` (unit norm). For tests and diagnostics only.
    public func trueItemVector(_ item: Int) -> [Float] {
        let d = configuration.dimension
        return Array(itemVectors[item * d..<(item + 1) * d])
    }

    /// The current taste vector of `user` (unit norm). For tests and diagnostics only.
    public func trueTaste(user: Int) -> [Float] {
        let d = configuration.dimension
        return Array(tastes[user * d..<(user + 1) * d])
    }

    /// The current fatigue of `user` for each category. For tests and diagnostics only.
    public func trueFatigue(user: Int) -> [Float] {
        let k = configuration.categories
        return Array(fatigue[user * k..<(user + 1) * k])
    }

    /// The noise-free affinity `α⟨t_u, v_i⟩ + b_i − φ_u[k_i] + μ` of `user` for `item`
    /// right now. For tests and diagnostics only.
    public func expectedAffinity(user: Int, item: Int) -> Float {
        checkUser(user); checkItem(item)
        let d = configuration.dimension
        var dot: Float = 0
        for j in 0..<d { dot += tastes[user * d + j] * itemVectors[item * d + j] }
        return configuration.affinityScale * dot + popularityBias[item]
            - fatigue[user * configuration.categories + categories[item]] + configuration.affinityOffset
    }

    /// Whether `user` is in a session (started and not left).
    public func isInSession(user: Int) -> Bool { checkUser(user); return inSession[user] }

    // MARK: Interaction

    /// Starts a new session for `user`: resets the consecutive-miss count and scales the
    /// carried-over fatigue by κ (``Configuration/fatigueSessionCarryover``).
    public mutating func startSession(user: Int) {
        checkUser(user)
        let k = configuration.categories
        for c in 0..<k { fatigue[user * k + c] *= configuration.fatigueSessionCarryover }
        misses[user] = 0
        inSession[user] = true
    }

    /// The response of `user` to one recommended `item` (one step of the model): a
    /// rating, whether it is positive, and whether the user left. Updates the user's
    /// fatigue, taste and session state. Starts a session if the user is not in one.
    public mutating func respond(user: Int, item: Int) -> Feedback {
        checkUser(user); checkItem(item)
        if !inSession[user] { startSession(user: user) }
        return step(user: user, item: item)
    }

    /// The responses of `user` to a ranked slate, examined top to bottom with cascade
    /// position bias (see ``SyntheticWorld``); one ``Feedback`` per slate entry, in order.
    /// Unexamined entries have `examined == false`, rating 0. Starts a session if needed.
    public mutating func respond(user: Int, slate: [Int]) -> [Feedback] {
        checkUser(user)
        for item in slate { checkItem(item) }
        if !inSession[user] { startSession(user: user) }
        var feedback: [Feedback] = []
        feedback.reserveCapacity(slate.count)
        var examining = true
        for (position, item) in slate.enumerated() {
            if examining && position > 0 && rng.nextUnitDouble() >= configuration.continueProbability {
                examining = false
            }
            guard examining else {
                feedback.append(Feedback(item: item, examined: false, rating: 0, positive: false, left: false))
                continue
            }
            let f = step(user: user, item: item)
            feedback.append(f)
            if f.left { examining = false }
        }
        return feedback
    }

    /// One step of the response model; the caller has checked indices and the session.
    mutating func step(user: Int, item: Int) -> Feedback {
        let cfg = configuration
        let d = cfg.dimension, k = cfg.categories
        let a = expectedAffinity(user: user, item: item) + cfg.responseNoise * rng.nextNormalFloat()
        let rating = min(5, max(1, Int((3 + 2 * tanh(a)).rounded(.toNearestOrAwayFromZero))))
        let positive = rating >= 4

        // 1. Boredom.
        for c in 0..<k { fatigue[user * k + c] *= cfg.fatigueDecay }
        fatigue[user * k + categories[item]] += cfg.fatigueIncrement

        // 2. Drift toward a positively rated item.
        if positive && cfg.driftRate > 0 {
            for j in 0..<d {
                tastes[user * d + j] = (1 - cfg.driftRate) * tastes[user * d + j] + cfg.driftRate * itemVectors[item * d + j]
            }
            Self.normalize(&tastes, row: user, dimension: d)
        }

        // 3. Churn.
        misses[user] = positive ? 0 : misses[user] + 1
        let leaveProbability = min(
            cfg.maxLeaveProbability,
            cfg.baseLeaveProbability + cfg.leaveProbabilityPerMiss * Double(misses[user]))
        let left = rng.nextUnitDouble() < leaveProbability
        if left { inSession[user] = false }
        return Feedback(item: item, examined: true, rating: rating, positive: positive, left: left)
    }

    func checkUser(_ user: Int) {
        precondition(user >= 0 && user < configuration.users, "SyntheticWorld: user \(user) out of range 0..<\(configuration.users)")
    }

    func checkItem(_ item: Int) {
        precondition(item >= 0 && item < configuration.items, "SyntheticWorld: item \(item) out of range 0..<\(configuration.items)")
    }
}
