import RecRLAgents
import RecRLTensor

/// ``SyntheticWorld`` as a reinforcement-learning ``Environment`` (dm_env style), so the
/// library's agents and ``EnvironmentLoop`` run on it directly.
///
/// **Episode.** One episode is one session of one user: ``reset()`` draws a user
/// uniformly from the world's generator and starts a session for them
/// (``SyntheticWorld/startSession(user:)``). Users' tastes, fatigue and histories carry
/// over from episode to episode, as between sessions of the live world.
///
/// **Observation** (`[historyLength · d]`, every element in [−1, 1]): the latent vectors
/// `v_i` of the user's ``SyntheticWorld/EpisodeConfiguration/historyLength`` most recent
/// positively rated items (rating ≥ 4), most recent first, over all their episodes since
/// the last ``reset(seed:)``; zero vectors fill the slots of a shorter history. Items are
/// described by their latent vectors: the environment plays the role of an item catalogue
/// with content features, and the user's identity and taste stay hidden.
///
/// **Action** (`[d]`, each element in [−1, 1]): a direction in item space. The world
/// recommends the item with the highest score `⟨a, v_i⟩` among the items not yet
/// recommended in this episode (ties and non-finite scores: the lowest index), and the
/// user responds to it as in ``SyntheticWorld/respond(user:item:)``. Only the direction
/// of `a` matters.
///
/// **Reward** `(rating − 3) / 2` ∈ {−1, −0.5, 0, 0.5, 1}.
///
/// **End of an episode.**
/// - The user leaves (the world's churn): a `.last` step with discount 0, a true
///   termination: nothing follows in this session, so learners do not bootstrap.
/// - The time limit, ``SyntheticWorld/EpisodeConfiguration/maxEpisodeSteps`` steps (or
///   the number of items, if smaller, since an episode never recommends an item twice):
///   a `.last` step with discount 1, a truncation: the session could have gone on, so
///   learners keep bootstrapping from the last observation.
/// - Every other step is `.mid` with discount 1 (the learner applies its own γ).
///
/// **Seeds.** ``reset(seed:)`` returns every user to the state the world was built in
/// (taste, no fatigue, no history, not in a session) and reseeds the response generator
/// with `seed`; the items and users themselves (drawn from the construction seed) stay.
/// So a seed reproduces a run of episodes exactly. ``reset()`` continues the generator.
extension SyntheticWorld: Environment {
    /// How the world runs as an ``Environment``.
    public struct EpisodeConfiguration: Sendable, Hashable, Codable {
        /// Liked items in the observation (default 5, the DRR paper's state window `n`).
        public var historyLength: Int
        /// Time limit of an episode in steps (default 50); an episode also ends, by
        /// truncation, once every item has been recommended in it.
        public var maxEpisodeSteps: Int

        /// A configuration; every parameter has the default documented on its property.
        public init(historyLength: Int = 5, maxEpisodeSteps: Int = 50) {
            self.historyLength = historyLength
            self.maxEpisodeSteps = maxEpisodeSteps
        }

        /// Stops the program with a message if a parameter is out of range.
        func validate() {
            precondition(historyLength > 0, "SyntheticWorld: historyLength must be positive, got \(historyLength)")
            precondition(maxEpisodeSteps > 0, "SyntheticWorld: maxEpisodeSteps must be positive, got \(maxEpisodeSteps)")
        }
    }

    /// The ``Environment`` side's state.
    struct EpisodeState: Sendable {
        /// The user of the current episode, or −1 before the first reset.
        var user = -1
        /// Steps taken in the current episode.
        var step = 0
        /// Whether the next `step` starts a new episode (after a `.last` step, or before any reset).
        var needsReset = true
        /// Episodes started so far; `recommendedIn[i] == number` marks items recommended
        /// in the current episode without clearing the array per episode.
        var number = 0
        var recommendedIn: [Int]
        /// Per user, the item indices of the most recent likes, most recent first; −1 is empty.
        var likes: [Int]
        let historyLength: Int
        /// The feedback to the last recommendation.
        var lastFeedback: Feedback?

        init(users: Int, items: Int, historyLength: Int) {
            self.historyLength = historyLength
            recommendedIn = [Int](repeating: 0, count: items)
            likes = [Int](repeating: -1, count: users * historyLength)
        }

        /// Puts `item` first in `user`'s likes, dropping the oldest.
        mutating func recordLike(user: Int, item: Int) {
            let base = user * historyLength
            for slot in stride(from: historyLength - 1, to: 0, by: -1) { likes[base + slot] = likes[base + slot - 1] }
            likes[base] = item
        }
    }

    public var observationSpec: BoundedSpec {
        BoundedSpec(
            shape: [episodeConfiguration.historyLength * configuration.dimension], minimum: -1, maximum: 1,
            name: "observation")
    }

    public var actionSpec: BoundedSpec {
        BoundedSpec(shape: [configuration.dimension], minimum: -1, maximum: 1, name: "action")
    }

    /// The user of the current episode (`nil` before the first reset).
    public var episodeUser: Int? { episode.user >= 0 ? episode.user : nil }

    /// The user's response to the last recommendation of an environment step (`nil`
    /// after a reset): which item the action chose, its rating, whether the user left.
    public var lastFeedback: Feedback? { episode.lastFeedback }

    /// Starts an episode: a session of a user drawn uniformly from the world's generator.
    public mutating func reset() -> TimeStep {
        let user = rng.nextInt(below: configuration.users)
        startSession(user: user)
        episode.user = user
        episode.step = 0
        episode.number += 1
        episode.needsReset = false
        episode.lastFeedback = nil
        return .first(observation(user: user))
    }

    /// Returns every user to the state the world was built in, reseeds the response
    /// generator with `seed`, then starts an episode (see the extension's documentation).
    public mutating func reset(seed: UInt64) -> TimeStep {
        tastes = initialTastes
        for i in fatigue.indices { fatigue[i] = 0 }
        for i in misses.indices { misses[i] = 0 }
        for i in inSession.indices { inSession[i] = false }
        for i in episode.likes.indices { episode.likes[i] = -1 }
        rng = Xoshiro256StarStar(seed: seed)
        return reset()
    }

    /// Recommends the best-scoring item not yet recommended in the episode for `action`
    /// (`actionSpec.count` scalars) and returns the user's response; after a `.last` step
    /// (or before any reset) it starts a new episode instead, ignoring the action.
    public mutating func step(_ action: Tensor) -> TimeStep {
        if episode.needsReset { return reset() }
        let d = configuration.dimension
        precondition(action.count == d, "SyntheticWorld takes an action of \(d) scalars (a direction in item space), got shape \(action.shape)")
        let user = episode.user, number = episode.number
        var best = -1
        var bestScore = -Float.infinity
        action.withUnsafeBufferPointer { a in
            itemVectors.withUnsafeBufferPointer { v in
                for item in 0..<configuration.items where episode.recommendedIn[item] != number {
                    var score: Float = 0
                    for j in 0..<d { score += a[j] * v[item * d + j] }
                    if best < 0 || score > bestScore { best = item; bestScore = score.isNaN ? -.infinity : score }
                }
            }
        }
        episode.recommendedIn[best] = number
        let feedback = self.step(user: user, item: best)
        if feedback.positive { episode.recordLike(user: user, item: best) }
        episode.step += 1
        episode.lastFeedback = feedback
        let truncated = episode.step >= min(episodeConfiguration.maxEpisodeSteps, configuration.items)
        let last = feedback.left || truncated
        if last {
            episode.needsReset = true
            // A truncated session is closed too, so the next reset starts a fresh one.
            inSession[user] = false
        }
        return TimeStep(
            kind: last ? .last : .mid, reward: Float(feedback.rating - 3) / 2,
            discount: feedback.left ? 0 : 1, observation: observation(user: user))
    }

    /// The observation of `user`: their liked items' vectors, most recent first.
    func observation(user: Int) -> Tensor {
        let d = configuration.dimension, h = episodeConfiguration.historyLength
        var values = [Float](repeating: 0, count: h * d)
        for slot in 0..<h {
            let item = episode.likes[user * h + slot]
            guard item >= 0 else { continue }
            // Unit vectors: the clamp only absorbs rounding, so the spec's bounds hold exactly.
            for j in 0..<d { values[slot * d + j] = min(max(itemVectors[item * d + j], -1), 1) }
        }
        return Tensor(values)
    }
}
