import RecRLTensor
import RecRLNN

/// Something that learns a policy from batches of transitions (acme's learner role), beside
/// ``Actor`` and ``Critic``: an ``Agent`` samples its replay, calls ``update(_:)`` and feeds
/// ``tdErrors`` back as priorities, and acts with ``actor``. ``DDPGLearner`` is one;
/// another algorithm (e.g. a list-wise actor-critic) conforms without copying it.
public protocol Learner: Sendable {
    /// The policy network.
    associatedtype Policy: Actor
    /// What one update reports (losses).
    associatedtype Statistics: Sendable

    /// The current policy (what an agent acts with).
    var actor: Policy { get }
    /// The state width S.
    var stateSize: Int { get }
    /// The action width A.
    var actionSize: Int { get }
    /// Per-sample TD errors of the most recent update, `[B]`, for
    /// ``ReplayBuffer/updatePriorities(indices:tdErrors:)``; a learner without them leaves it
    /// empty and the priorities are not changed.
    var tdErrors: Tensor { get }

    /// One learning step on `batch`.
    @discardableResult
    mutating func update(_ batch: TransitionBatch) -> Statistics

    /// Everything a resumed run needs (networks, targets, optimizer state, counters) as
    /// named tensors, e.g. for ``SafeTensors``.
    func checkpointTensors() -> [String: Tensor]

    /// Restores what ``checkpointTensors()`` returned (from a learner of the same shapes).
    /// Throws, leaving the learner unchanged, when a tensor is missing or has another shape.
    mutating func restore(fromCheckpoint tensors: [String: Tensor]) throws(CheckpointError)
}
