import Foundation
import RecRLTensor

/// The algorithm side of online learning (``OnlineLearningLoop``): a learner that owns a
/// private copy of the served model, updates it from the experience feedback wrote, and
/// says how to recover. ``OnlineDRR`` plugs in DRR's and LIRD's ``DRRLearningStep``; another
/// model type (its own model, experience and update) plugs in the same way and gets the
/// loop's publication, non-finite check and background schedule without copying them.
protocol OnlineLearningAlgorithm: Sendable {
    /// The served model (what readers get from a publication).
    associatedtype Model: Sendable
    /// What feedback writes and updates sample (e.g. a replay buffer), behind its own lock.
    associatedtype Experience: Sendable

    /// The learner's copy of the model, published after a finite batch.
    var model: Model { get }
    /// Whether `experience` holds enough for an update (e.g. a batch).
    func isReady(_ experience: Experience) -> Bool
    /// One update of ``model``, taking `experience`'s lock only to sample and to feed
    /// results back; false when a loss is not finite (the batch then stops).
    mutating func update(experience: Locked<Experience>) -> Bool
    /// The name of a tensor of `model` that is not finite, or `nil` when all are.
    static func firstNonFiniteTensor(in model: Model) -> String?
    /// Goes back to the published `model` after a batch that was not published.
    mutating func revert(to model: Model)
    /// Continues with a reloaded `model`; returns false when the experience no longer fits
    /// it (another shape) and must be replaced by `makeExperience(for:)`.
    mutating func adopt(_ model: Model) -> Bool
    /// Empty experience shaped for `model`.
    static func makeExperience(for model: Model) -> Experience
}

/// The online learning loop every online recommender shares: the published model and its
/// version, learning in batches on the learner's private copy, publication only of finite
/// weights, reload, and background learning at a rate.
///
/// - Readers take ``published`` under a lock held only to copy a reference, so they never
///   wait for an update and never see a half-written model.
/// - ``learn(updates:)`` runs up to `updates` updates of the algorithm and publishes the
///   learner's model as the next version. A batch that left a loss or a weight non-finite
///   is never published: the learner reverts to the published model, the batch counts in
///   ``skippedPublications`` and `diagnostic` gets one line.
/// - Locks: learner, then experience; feedback takes only the experience's lock.
final class OnlineLearningLoop<Algorithm: OnlineLearningAlgorithm>: Sendable {
    /// An immutable published model.
    struct Snapshot: Sendable {
        let model: Algorithm.Model
        let version: Int
    }

    private let snapshot: Locked<Snapshot>
    private let learner: Locked<Algorithm>?
    /// What feedback writes (`nil` when the loop does not learn).
    let experience: Locked<Algorithm.Experience>?
    private let counts = Locked((updates: 0, skipped: 0))
    private let stopFlag = Locked(false)
    private let diagnostic: @Sendable (String) -> Void

    /// Publishes `model` as version 1; learns with `learner` when given (its model is
    /// `model`), else never.
    init(model: Algorithm.Model, learner: Algorithm?, diagnostic: @escaping @Sendable (String) -> Void) {
        snapshot = Locked(Snapshot(model: model, version: 1))
        self.learner = learner.map { Locked($0) }
        experience = learner.map { _ in Locked(Algorithm.makeExperience(for: model)) }
        self.diagnostic = diagnostic
    }

    /// Whether the loop learns.
    var isLearning: Bool { learner != nil }
    /// The published model and its version.
    var published: Snapshot { snapshot.withLock { $0 } }
    /// Updates applied and published so far.
    var updates: Int { counts.withLock { $0.updates } }
    /// Batches not published because a loss or weight was not finite.
    var skippedPublications: Int { counts.withLock { $0.skipped } }

    /// Applies up to `updates` updates once the experience is ready and publishes the
    /// result; returns the number applied (0 when not learning, not ready, or the batch was
    /// not finite and not published).
    @discardableResult
    func learn(updates: Int) -> Int {
        guard let learner, let experience else { return 0 }
        let applied = learner.withLock { state -> Int in
            guard updates > 0, experience.withLock({ state.isReady($0) }) else { return 0 }
            var finite = true
            for _ in 0..<updates where finite {
                finite = state.update(experience: experience)
            }
            if let bad = finite ? Algorithm.firstNonFiniteTensor(in: state.model) : "the losses" {
                let current = snapshot.withLock { $0 }
                state.revert(to: current.model)
                counts.withLock { $0.skipped += 1 }
                diagnostic(
                    "online learning: a batch of \(updates) updates made \(bad) non-finite (NaN or infinite); "
                        + "not published, kept model version \(current.version) and continue from it")
                return 0
            }
            let model = state.model
            snapshot.withLock { $0 = Snapshot(model: model, version: $0.version + 1) }
            return updates
        }
        counts.withLock { $0.updates += applied }
        return applied
    }

    /// Publishes `model` (e.g. retrained offline) as the next version; the learner adopts
    /// it, and the experience is replaced when it no longer fits.
    func reload(model: Algorithm.Model) {
        if let learner, let experience {
            learner.withLock { state in
                if !state.adopt(model) {
                    experience.withLock { $0 = Algorithm.makeExperience(for: model) }
                }
            }
        }
        snapshot.withLock { $0 = Snapshot(model: model, version: $0.version + 1) }
    }

    /// Runs ``learn(updates:)`` on a background thread, `updatesPerSecond` in batches of
    /// ten, until ``stopBackgroundLearning()``. Does nothing when the loop does not learn.
    func startBackgroundLearning(updatesPerSecond: Double) {
        guard isLearning else { return }
        stopFlag.withLock { $0 = false }
        let interval = 10 / max(updatesPerSecond, 1e-3)
        Thread.detachNewThread { [self] in
            while !stopFlag.withLock({ $0 }) {
                FloatingPointMode.withDenormalsFlushedToZero { _ = learn(updates: 10) }
                Thread.sleep(forTimeInterval: interval)
            }
        }
    }

    /// Stops background learning (the current batch of updates finishes).
    func stopBackgroundLearning() { stopFlag.withLock { $0 = true } }
}
