import RecRLTensor

/// An environment that answers a list of items per step (LIRD's environments).
///
/// An episode serves one user: ``reset()`` picks the user and their initial state window,
/// ``recommend(_:)`` shows a list and returns one reward per position (already on DRR's
/// reward scale, positive = liked); a positively rewarded item enters the window, in list
/// order. The episode ends after a fixed number of lists (``isFinished``).
public protocol ListEnvironment {
    /// The user of the current episode.
    var user: Int { get }
    /// The current state window.
    var window: StateWindow { get }
    /// Whether the episode has shown all its lists (call ``reset()`` next).
    var isFinished: Bool { get }
    /// Whether `item` may be shown now (not in the window, not shown in this episode).
    func isCandidate(_ item: Int) -> Bool
    /// Starts the next episode.
    mutating func reset()
    /// Shows `list` (distinct candidates) to the user; the reward of each position.
    mutating func recommend(_ list: [Int]) -> [Float]
}

/// DRR's ``OfflineSimulator`` answering lists: each list item is one simulator step, in
/// list order, so an episode of `T` lists of `K` is a simulator episode of `T·K` items and
/// every item gets the logged rating (or the unrated reward) exactly as in DRR.
public struct LoggedListSimulator: ListEnvironment, Sendable {
    /// The underlying item simulator (its episode length is `T·K`).
    public private(set) var simulator: OfflineSimulator
    private var finished = true

    /// Wraps `simulator`, whose ``OfflineSimulator/episodeLength`` must be a multiple of the
    /// list size the caller uses.
    public init(_ simulator: OfflineSimulator) {
        self.simulator = simulator
    }

    public var user: Int { simulator.user }
    public var window: StateWindow { simulator.window }
    public var isFinished: Bool { finished }
    public func isCandidate(_ item: Int) -> Bool { simulator.isCandidate(item) }

    public mutating func reset() {
        _ = simulator.reset()
        finished = false
    }

    public mutating func recommend(_ list: [Int]) -> [Float] {
        precondition(!finished, "LoggedListSimulator: call reset() before recommending")
        var rewards: [Float] = []
        rewards.reserveCapacity(list.count)
        for item in list {
            let step = simulator.recommend(item)
            rewards.append(step.reward)
            if step.isLast { finished = true; break }
        }
        return rewards
    }
}

/// The memory-based simulator of LIRD (Zhao et al., list-wise recommendations, section 3.1),
/// built from a rating log.
///
/// **Memory.** Each user's chronological log is cut into consecutive lists of `K` rated
/// items; each list with the user's state before it is one logged pair
/// `m_i = (s_i, a_i) → r_i`: `s_i` the concatenated embeddings of the window of the `n` most
/// recent positive items before the list (zeros for empty slots), `a_i` the concatenated
/// embeddings of the list, `r_i` the `K` ratings mapped by ``RewardScale``. Users'
/// positives then enter their window as in DRR.
///
/// **Reward.** For a state–list pair `p = (s, a)` the simulator computes
/// `sim_i = α · cos(s, s_i) + (1 − α) · cos(a, a_i)` against every memory (α =
/// ``LIRDConfiguration/similarityAlpha``) and answers, per position `j`, the
/// similarity-weighted mean `Σ_i sim_i · r_i[j] / Σ_i sim_i` over the
/// ``LIRDConfiguration/memoryNeighbours`` most similar pairs (all pairs with positive
/// similarity when nil; negative similarities weigh nothing). The paper samples a reward
/// pattern with these probabilities; the mean is its expectation, and a deterministic
/// reward keeps runs comparable. A list that matches no memory gets 0.
///
/// **Episodes.** As DRR's simulator: a user with a positive rating, whose window starts
/// with their first `n` positives; ``DRRConfiguration/episodeLength`` lists without
/// repeats; a positively rewarded item enters the window.
public struct MemoryListSimulator: ListEnvironment, Sendable {
    /// Item embeddings `[items, k]`.
    public let itemEmbeddings: Tensor
    /// The number of logged pairs.
    public var memoryCount: Int { memoryRewards.count / listSize }
    /// `K`.
    public let listSize: Int
    /// Lists per episode.
    public let episodeLength: Int
    let histories: UserHistories
    let windowSize: Int
    let alpha: Float
    let neighbours: Int?
    let midpoint: Float
    /// Unit-norm rows: memory states `[M, n·k]` and lists `[M, K·k]` (zero rows stay zero).
    let memoryStates: Tensor
    let memoryLists: Tensor
    /// `[M·K]` rewards, row-major.
    let memoryRewards: [Float]
    let users: [Int]

    public private(set) var user = -1
    public private(set) var window: StateWindow
    private var shown: Set<Int> = []
    private var steps = 0
    private var rng: Xoshiro256StarStar
    private var order: [Int] = []
    private var orderPosition = 0
    private var stateSimilarity = Tensor(zeros: [0])
    private var listSimilarity = Tensor(zeros: [0])
    private var selector = TopKSelector()

    /// Builds the memory from `histories` (the training split).
    /// - Throws: ``DRRError/insufficientData(_:)`` when the log yields no list of `K` or no
    ///   user has a positive rating.
    public init(
        itemEmbeddings: Tensor, histories: UserHistories, rewardScale: RewardScale,
        configuration: LIRDConfiguration, seed: UInt64
    ) throws(DRRError) {
        try configuration.validate()
        let k = itemEmbeddings.columns, n = configuration.base.windowSize, K = configuration.listSize
        guard itemEmbeddings.rank == 2, itemEmbeddings.rows > n + K * configuration.base.episodeLength else {
            throw .insufficientData("\(itemEmbeddings.rows) items cannot fill a window of \(n) and \(configuration.base.episodeLength) lists of \(K)")
        }
        self.itemEmbeddings = itemEmbeddings
        self.histories = histories
        listSize = K
        windowSize = n
        episodeLength = configuration.base.episodeLength
        alpha = configuration.similarityAlpha
        neighbours = configuration.memoryNeighbours
        midpoint = rewardScale.midpoint
        var states: [Float] = [], lists: [Float] = [], rewards: [Float] = []
        var stateRow = [Float](repeating: 0, count: n * k), listRow = [Float](repeating: 0, count: K * k)
        itemEmbeddings.withUnsafeBufferPointer { e in
            func embed(_ items: [Int], into row: inout [Float]) {
                for j in row.indices { row[j] = 0 }
                for (slot, item) in items.enumerated() where item >= 0 {
                    for d in 0..<k { row[slot * k + d] = e[item * k + d] }
                }
            }
            for u in 0..<histories.userCount {
                let items = histories.items[u], ratings = histories.ratings[u]
                var w = StateWindow(size: n, initial: [])
                var start = 0
                while start + K <= items.count {
                    let list = (start..<start + K).map { Int(items[$0]) }
                    embed(w.items, into: &stateRow)
                    embed(list, into: &listRow)
                    states += Self.normalized(stateRow)
                    lists += Self.normalized(listRow)
                    for j in 0..<K { rewards.append(rewardScale.reward(forRating: ratings[start + j])) }
                    for j in 0..<K where ratings[start + j] > rewardScale.midpoint { w.push(list[j]) }
                    start += K
                }
            }
        }
        guard !rewards.isEmpty else { throw .insufficientData("no user has \(K) ratings to form a logged list") }
        memoryRewards = rewards
        memoryStates = Tensor(states).reshaped([rewards.count / K, n * k])
        memoryLists = Tensor(lists).reshaped([rewards.count / K, K * k])
        let mid = rewardScale.midpoint
        users = (0..<histories.userCount).filter { !histories.positives(user: $0, threshold: mid).isEmpty }
        guard !users.isEmpty else { throw .insufficientData("no user has a rating above the scale's midpoint \(mid)") }
        window = StateWindow(size: n, initial: [])
        rng = Xoshiro256StarStar(seed: seed)
    }

    static func normalized(_ x: [Float]) -> [Float] {
        var s: Float = 0
        for v in x { s += v * v }
        guard s > 0 else { return x }
        let inv = 1 / s.squareRoot()
        return x.map { $0 * inv }
    }

    public var isFinished: Bool { user < 0 || steps >= episodeLength }
    public func isCandidate(_ item: Int) -> Bool { !shown.contains(item) && !window.contains(item) }

    public mutating func reset() {
        if orderPosition >= order.count {
            order = users
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(below: i + 1)) }
            orderPosition = 0
        }
        user = order[orderPosition]
        orderPosition += 1
        window = StateWindow(size: windowSize, initial: Array(histories.positives(user: user, threshold: midpoint).prefix(windowSize)))
        shown.removeAll(keepingCapacity: true)
        steps = 0
    }

    /// The per-position rewards the memory gives `list` in state `window` (no side effects).
    public mutating func rewards(window: StateWindow, list: [Int]) -> [Float] {
        precondition(list.count == listSize, "MemoryListSimulator: a list of \(list.count) items, expected \(listSize)")
        let k = itemEmbeddings.columns
        var s = [Float](repeating: 0, count: windowSize * k), a = [Float](repeating: 0, count: listSize * k)
        itemEmbeddings.withUnsafeBufferPointer { e in
            for (slot, item) in window.items.enumerated() where item >= 0 {
                for d in 0..<k { s[slot * k + d] = e[item * k + d] }
            }
            for (slot, item) in list.enumerated() {
                for d in 0..<k { a[slot * k + d] = e[item * k + d] }
            }
        }
        matvec(memoryStates, Tensor(Self.normalized(s)), into: &stateSimilarity)
        matvec(memoryLists, Tensor(Self.normalized(a)), into: &listSimilarity)
        let m = memoryCount, K = listSize, alpha = alpha
        stateSimilarity.withUnsafeMutableBufferPointer { z in
            listSimilarity.withUnsafeBufferPointer { y in
                for i in 0..<m { z[i] = alpha * z[i] + (1 - alpha) * y[i] }
            }
        }
        var out = [Float](repeating: 0, count: K), total: Float = 0
        func add(_ i: Int, _ w: Float) {
            guard w > 0 else { return }
            total += w
            for j in 0..<K { out[j] += w * memoryRewards[i * K + j] }
        }
        stateSimilarity.withUnsafeBufferPointer { z in
            if let neighbours {
                selector.select(z, k: neighbours)
                for r in 0..<selector.count { add(selector.indices[r], selector.scores[r]) }
            } else {
                for i in 0..<m { add(i, z[i]) }
            }
        }
        if total > 0 { for j in 0..<K { out[j] /= total } }
        return out
    }

    public mutating func recommend(_ list: [Int]) -> [Float] {
        precondition(!isFinished, "MemoryListSimulator: call reset() before recommending")
        let r = rewards(window: window, list: list)
        for (item, reward) in zip(list, r) {
            shown.insert(item)
            if reward > 0 { window.push(item) }
        }
        steps += 1
        return r
    }
}
