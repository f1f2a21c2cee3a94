import RecRLTensor
import RecRLNN
import RecRLAgents

/// The canonical training workload of WORKLOAD.md: one DDPG update of the DRR-ave
/// actor-critic with state size `S = 3k`, hidden width `H` and batch `B`.
public struct TrainingWorkload: Sendable, Equatable, Hashable {
    /// The configuration's name.
    public let name: String
    /// Embedding (action) size `k`.
    public let k: Int
    /// Hidden width `H`.
    public let hidden: Int
    /// Batch size `B`.
    public let batch: Int
    /// State size `S = 3k`.
    public var state: Int { 3 * k }

    public init(name: String, k: Int, hidden: Int, batch: Int) {
        self.name = name
        self.k = k
        self.hidden = hidden
        self.batch = batch
    }

    /// `paper` (k 100, H 256, B 64), `medium` (128, 1024, 256), `large` (256, 4096, 1024).
    public static let standard = [
        TrainingWorkload(name: "paper", k: 100, hidden: 256, batch: 64),
        TrainingWorkload(name: "medium", k: 128, hidden: 1024, batch: 256),
        TrainingWorkload(name: "large", k: 256, hidden: 4096, batch: 1024),
    ]

    /// A tiny configuration for tests (k 4, H 8, B 5).
    public static let tiny = TrainingWorkload(name: "tiny", k: 4, hidden: 8, batch: 5)

    /// The standard configuration with this name (or `tiny`), if any.
    public static func named(_ name: String) -> TrainingWorkload? {
        name == "tiny" ? tiny : standard.first { $0.name == name }
    }

    /// Actor layers `(in, out)`: `S → H → H → k`.
    public var actorLayers: [(Int, Int)] { [(state, hidden), (hidden, hidden), (hidden, k)] }
    /// Critic layers `(in, out)`: `S + k → H → H → 1`.
    public var criticLayers: [(Int, Int)] { [(state + k, hidden), (hidden, hidden), (hidden, 1)] }

    /// WORKLOAD.md's FLOPs of one update: `4·F(A) + 6·F(C)` with `F(L) = Σ 2·B·in·out`.
    public var flopsPerUpdate: Double {
        func f(_ l: [(Int, Int)]) -> Double { l.reduce(0) { $0 + 2 * Double(batch) * Double($1.0) * Double($1.1) } }
        return 4 * f(actorLayers) + 6 * f(criticLayers)
    }

    /// One product `op(A)[m × k] · op(B)[k × n]` of the update, with its transpose flags.
    public struct GEMM: Sendable, Hashable {
        /// Rows of the product.
        public let m: Int
        /// Depth (the summed dimension).
        public let k: Int
        /// Columns of the product.
        public let n: Int
        /// Whether A is stored transposed (`[k, m]`).
        public let ta: Bool
        /// Whether B is stored transposed (`[n, k]`).
        public let tb: Bool

        /// A product of `op(A)[m × k]` and `op(B)[k × n]`, with A (`ta`) or B (`tb`) stored transposed.
        public init(m: Int, k: Int, n: Int, ta: Bool, tb: Bool) {
            self.m = m
            self.k = k
            self.n = n
            self.ta = ta
            self.tb = tb
        }

        /// `2·m·k·n`.
        public var flops: Double { 2 * Double(m) * Double(k) * Double(n) }
        /// `m x k x n`, with ` Aᵀ` / ` Bᵀ` for transposed operands.
        public var label: String { "\(m)x\(k)x\(n)\(ta ? " Aᵀ" : "")\(tb ? " Bᵀ" : "")" }
    }

    /// Every GEMM of one update as WORKLOAD.md counts it, with its multiplicity: the actor's
    /// layers forward twice (target and online), the critic's three times (target, TD update,
    /// actor pass); input gradients once for the actor and twice for the critic; weight
    /// gradients once each. Their FLOPs add up to ``flopsPerUpdate``. (RecRL's own update
    /// skips the input gradients nobody reads, so it runs fewer.)
    public var stepGEMMs: [GEMM: Int] {
        var out: [GEMM: Int] = [:]
        func forward(_ l: [(Int, Int)], _ times: Int) {
            for (i, o) in l { out[GEMM(m: batch, k: i, n: o, ta: false, tb: false), default: 0] += times }
        }
        func inputGrad(_ l: [(Int, Int)], _ times: Int) {
            for (i, o) in l { out[GEMM(m: batch, k: o, n: i, ta: false, tb: true), default: 0] += times }
        }
        func weightGrad(_ l: [(Int, Int)], _ times: Int) {
            for (i, o) in l { out[GEMM(m: i, k: batch, n: o, ta: true, tb: false), default: 0] += times }
        }
        forward(actorLayers, 2); inputGrad(actorLayers, 1); weightGrad(actorLayers, 1)  // target + online actor
        forward(criticLayers, 3); inputGrad(criticLayers, 2); weightGrad(criticLayers, 1)  // target, TD update, actor pass
        return out
    }

    /// The workload's learner: WORKLOAD.md's networks and DDPG settings (γ 0.9, τ 0.001,
    /// Adam 1e-4 actor / 1e-3 critic), Glorot-uniform weights from `seed`.
    public func makeLearner(seed: UInt64 = 0) -> DDPGLearner<MLPActor, MLPCritic> {
        DDPGLearner(stateSize: state, actionSize: k, hiddenSizes: [hidden, hidden], batchSize: batch, seed: seed)
    }

    /// A batch with `s, s', a, r ~ U[−1, 1]` and `done ~ Bernoulli(0.1)` (discount `1 − done`), weights 1.
    public func makeBatch(seed: UInt64 = 1) -> TransitionBatch {
        var rng = Xoshiro256StarStar(seed: seed)
        var b = TransitionBatch(batchSize: batch, stateSize: state, actionSize: k)
        b.states = Tensor(randomUniform: [batch, state], in: -1...1, using: &rng)
        b.actions = Tensor(randomUniform: [batch, k], in: -1...1, using: &rng)
        b.rewards = Tensor(randomUniform: [batch, 1], in: -1...1, using: &rng).reshaped(b.rewards.shape)
        b.nextStates = Tensor(randomUniform: [batch, state], in: -1...1, using: &rng)
        var discounts = Tensor(zeros: b.discounts.shape)
        for i in 0..<batch { discounts[flat: i] = rng.nextUnitFloat() < 0.1 ? 0 : 1 }
        b.discounts = discounts
        return b
    }

    /// Weights and batch as named tensors, in the contract Benchmarks/peers reads:
    /// `actor.layers.<i>.{weight,bias}`, `critic.layers.<i>.{weight,bias}` (weights
    /// `[in, out]`), and `batch.{state,action,reward,next_state,done}`.
    public static func exportTensors(learner: DDPGLearner<MLPActor, MLPCritic>, batch: TransitionBatch) -> [String: Tensor] {
        var t = learner.actor.namedParameters(prefix: "actor.")
        t.merge(learner.critics[0].namedParameters(prefix: "critic."), uniquingKeysWith: { a, _ in a })
        let b = batch.count
        t["batch.state"] = batch.states
        t["batch.action"] = batch.actions
        t["batch.reward"] = batch.rewards.reshaped([b, 1])
        t["batch.next_state"] = batch.nextStates
        t["batch.done"] = (1 - batch.discounts).reshaped([b, 1])
        return t
    }

    /// A learner and batch from tensors in the ``exportTensors(learner:batch:)`` contract
    /// (targets start as copies); nil when a tensor is missing or has the wrong shape.
    public func importTensors(_ tensors: [String: Tensor], seed: UInt64 = 0) -> (DDPGLearner<MLPActor, MLPCritic>, TransitionBatch)? {
        var rng = Xoshiro256StarStar(seed: seed)
        var actor = MLPActor(stateSize: state, actionSize: k, hiddenSizes: [hidden, hidden], using: &rng)
        var critic = MLPCritic(stateSize: state, actionSize: k, hiddenSizes: [hidden, hidden], using: &rng)
        do {
            try actor.loadParameters(from: tensors, prefix: "actor.")
            try critic.loadParameters(from: tensors, prefix: "critic.")
        } catch { return nil }
        guard let s = tensors["batch.state"], s.shape == [batch, state],
            let a = tensors["batch.action"], a.shape == [batch, k],
            let r = tensors["batch.reward"], r.count == batch,
            let s2 = tensors["batch.next_state"], s2.shape == [batch, state],
            let done = tensors["batch.done"], done.count == batch
        else { return nil }
        var b = TransitionBatch(batchSize: batch, stateSize: state, actionSize: k)
        b.states = s
        b.actions = a
        b.rewards = r.reshaped(b.rewards.shape)
        b.nextStates = s2
        b.discounts = (1 - done).reshaped(b.discounts.shape)
        var learner = DDPGLearner(actor: actor, critic: critic, configuration: .ddpg, seed: seed)
        learner.reserve(batchSize: batch)
        return (learner, b)
    }
}
