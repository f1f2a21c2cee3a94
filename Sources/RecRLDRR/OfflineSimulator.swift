import RecRLTensor
import RecRLAgents

/// The DRR paper's offline simulator, built from a rating log (section 4.1).
///
/// An episode serves one user for `T` steps. Its state window starts with the user's
/// first `n` positively rated items in the log (oldest first); each step recommends
/// one item not recommended before in the episode and not in the window. The reward
/// is the user's logged rating mapped by ``RewardScale``; for an item the user did not
/// rate it is the rating predicted by the reward model (PMF), or a fixed penalty
/// (``DRRConfiguration/unratedReward``). A positive reward pushes the item into the
/// window. Episodes end by the time limit only, so every step's discount is 1 (the
/// learner applies γ), and the `.last` step keeps it (truncation, not termination).
///
/// As an ``Environment``, the action is a score vector `a` (`[k]`, in [−1, 1]) and the
/// recommended item is the best-scoring candidate `argmax dot(e_i, a)`; the observation
/// is the state module's input `[u | i_1 … i_n]`. Training code may call
/// ``recommend(_:)`` directly to apply its own exploration over the ranking.
public struct OfflineSimulator: Environment, Sendable {
    /// User embeddings `[users, k]` (the observation's `u`).
    public let userEmbeddings: Tensor
    /// Item embeddings `[items, k]` (the window's items and the ranking).
    public let itemEmbeddings: Tensor
    let histories: UserHistories
    let predictedRating: @Sendable (Int, Int) -> Float
    let scale: RewardScale
    let unratedReward: Float?
    let windowSize: Int
    /// Episode length `T`.
    public let episodeLength: Int
    /// The users episodes are drawn from (those with at least one positive rating).
    public let users: [Int]

    /// The user of the current episode.
    public private(set) var user = -1
    /// The current state window.
    public private(set) var window: StateWindow
    /// Items recommended so far in this episode.
    public private(set) var recommended: Set<Int> = []
    /// Steps taken in this episode.
    public private(set) var stepIndex = 0
    private var rng: Xoshiro256StarStar
    private var order: [Int] = []
    private var orderPosition = 0
    private var needsReset = true
    private var scores = Tensor(zeros: [0])
    private var selector = TopKSelector()

    /// - Parameters:
    ///   - histories: the log the rewards come from (the training split).
    ///   - predictedRating: the reward model for unrated items, `(user, item) → rating`.
    ///   - seed: seeds the order in which users are served.
    public init(
        userEmbeddings: Tensor, itemEmbeddings: Tensor, histories: UserHistories,
        predictedRating: @escaping @Sendable (Int, Int) -> Float, rewardScale: RewardScale,
        configuration: DRRConfiguration, seed: UInt64
    ) throws(DRRError) {
        self.userEmbeddings = userEmbeddings
        self.itemEmbeddings = itemEmbeddings
        self.histories = histories
        self.predictedRating = predictedRating
        self.scale = rewardScale
        self.unratedReward = configuration.unratedReward
        self.windowSize = configuration.windowSize
        self.episodeLength = configuration.episodeLength
        let threshold = (rewardScale.minimum + rewardScale.maximum) / 2
        users = (0..<histories.userCount).filter { !histories.positives(user: $0, threshold: threshold).isEmpty }
        guard !users.isEmpty else { throw .insufficientData("no user has a rating above the scale's midpoint \(threshold)") }
        guard itemEmbeddings.shape[0] > configuration.windowSize + configuration.episodeLength else {
            throw .insufficientData(
                "\(itemEmbeddings.shape[0]) items cannot fill a window of \(configuration.windowSize) and \(configuration.episodeLength) steps")
        }
        window = StateWindow(size: configuration.windowSize, initial: [])
        rng = Xoshiro256StarStar(seed: seed)
    }

    private var k: Int { itemEmbeddings.shape[1] }
    private var midpoint: Float { (scale.minimum + scale.maximum) / 2 }

    public var observationSpec: BoundedSpec {
        BoundedSpec(shape: [(windowSize + 1) * k], minimum: -.greatestFiniteMagnitude, maximum: .greatestFiniteMagnitude, name: "state input")
    }

    public var actionSpec: BoundedSpec { BoundedSpec(shape: [k], minimum: -1, maximum: 1, name: "action") }

    /// The observation `[u | i_1 … i_n]` of the current state.
    public var observation: Tensor {
        var x = Tensor(zeros: [(windowSize + 1) * k])
        x.withUnsafeMutableBufferPointer { dst in
            userEmbeddings.withUnsafeBufferPointer { u in
                (dst.baseAddress!).update(from: u.baseAddress! + user * k, count: k)
            }
            itemEmbeddings.withUnsafeBufferPointer { e in
                for (slot, item) in window.items.enumerated() {
                    let d = dst.baseAddress! + k * (slot + 1)
                    if item >= 0 { d.update(from: e.baseAddress! + item * k, count: k) } else { d.update(repeating: 0, count: k) }
                }
            }
        }
        return x
    }

    /// Whether `item` may be recommended now (not in the window, not recommended yet).
    public func isCandidate(_ item: Int) -> Bool { !recommended.contains(item) && !window.contains(item) }

    /// The reward the simulated user gives `item` (logged rating or the reward model's).
    public func reward(forItem item: Int) -> Float {
        if let r = histories.rating(user: user, item: item) { return scale.reward(forRating: r) }
        if let penalty = unratedReward { return penalty }
        let r = Swift.min(Swift.max(predictedRating(user, item), scale.minimum), scale.maximum)
        return scale.reward(forRating: r)
    }

    public mutating func reset() -> TimeStep {
        if orderPosition >= order.count {
            order = users
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(below: i + 1)) }
            orderPosition = 0
        }
        user = order[orderPosition]
        orderPosition += 1
        window = StateWindow(size: windowSize, initial: Array(histories.positives(user: user, threshold: midpoint).prefix(windowSize)))
        recommended.removeAll(keepingCapacity: true)
        stepIndex = 0
        needsReset = false
        return .first(observation)
    }

    public mutating func reset(seed: UInt64) -> TimeStep {
        rng = Xoshiro256StarStar(seed: seed)
        order = []
        orderPosition = 0
        return reset()
    }

    /// Recommends `item` to the current user and advances one step.
    public mutating func recommend(_ item: Int) -> TimeStep {
        if needsReset { return reset() }
        precondition(item >= 0 && item < itemEmbeddings.shape[0], "item \(item) out of range")
        let r = reward(forItem: item)
        recommended.insert(item)
        if r > 0 { window.push(item) }
        stepIndex += 1
        let last = stepIndex >= episodeLength
        if last { needsReset = true }
        return TimeStep(kind: last ? .last : .mid, reward: r, discount: 1, observation: observation)
    }

    /// The best-scoring candidate for action `a`.
    public mutating func bestCandidate(for action: Tensor) -> Int {
        matvec(itemEmbeddings, action.reshaped([k]), into: &scores)
        let excluded = recommended, win = window
        selector.select(scores, k: 1, isExcluded: { excluded.contains($0) || win.contains($0) })
        return selector.indices[0]
    }

    public mutating func step(_ action: Tensor) -> TimeStep {
        if needsReset { return reset() }
        return recommend(bestCandidate(for: action))
    }
}
