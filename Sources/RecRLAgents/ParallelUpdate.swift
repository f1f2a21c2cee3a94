import RecRLTensor
import RecRLNN
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How long one phase of the two-lane update took, summed over the updates profiled
/// (``DDPGLearner/profilesPhases``). A phase has two tasks, one per lane, and ends at a
/// barrier: `wallNanoseconds` is the calling thread's time from publishing the phase to both
/// tasks done; the task times are measured by whichever lane ran each task, so a wall time
/// above the longer task is time spent waiting for the other lane or at the barrier.
public struct TwoLanePhaseTiming: Sendable, Equatable {
    /// What the phase computes: `"forward"`, `"critic backward"`, `"critic first layer"`,
    /// `"actor pass: critic forward"`, `"actor pass: critic backward"`, `"actor backward"` or
    /// `"actor first layer"`.
    public var name: String
    /// The layer the phase works on (0 for the forward phase).
    public var layer: Int
    /// Updates summed.
    public var updates: Int
    /// Calling thread's wall time of the phase, nanoseconds, summed over ``updates``.
    public var wallNanoseconds: UInt64
    /// Time of task 0 (the caller's preferred task), nanoseconds, summed.
    public var task0Nanoseconds: UInt64
    /// Time of task 1 (the worker's preferred task), nanoseconds, summed.
    public var task1Nanoseconds: UInt64
    /// Updates in which one lane ran both tasks (the other had not claimed its task in time,
    /// e.g. a descheduled worker).
    public var oneLaneRuns: Int
}

/// The learner's reference to its engine. The learner checks that this handle is uniquely
/// referenced (a copied learner builds its own engine); the worker thread may hold its own
/// references to the engine, never to the handle. Releasing the handle stops the worker.
final class TwoLaneHandle: @unchecked Sendable {
    // Safety: immutable; the engine is used by one learner at a time (see above).
    let engine: TwoLaneDDPGEngine
    init(_ engine: TwoLaneDDPGEngine) { self.engine = engine }
    deinit { engine.shutdown() }
}

/// One dense layer as the two-lane update sees it: sizes, activation code, and (refreshed
/// every update) raw pointers to its weight and bias.
struct RawDense {
    var inputs: Int
    var outputs: Int
    var activation: Int32
    var weight: UnsafeMutablePointer<Float>
    var bias: UnsafeMutablePointer<Float>
}

/// The two-lane DDPG update for ``MLPActor`` / ``MLPCritic`` with plain DDPG settings.
///
/// Lane 0 is the calling thread; lane 1 is a persistent worker thread that spins briefly
/// between phases and then parks on a condition variable. Each phase has two independent
/// tasks (the target networks' forward pass beside the online ones; weight gradients
/// beside input gradients; halves of a GEMM's columns or rows; shares of Adam/soft-update
/// ranges), claimed atomically: the caller takes task 0 and the worker
/// task 1, and either lane takes the other's task when it is still unclaimed (the caller
/// runs both when the worker is descheduled, so an oversubscribed machine degrades to the
/// sequential speed instead of waiting on the scheduler); then both meet at a barrier. BLAS runs
/// single-threaded meanwhile. Adam (with the soft target update) has no phase of its own:
/// a layer's step runs in the backward phase after the one that computed its gradient
/// (nothing reads that layer's weights any more by then), and the first layer's step runs
/// right after its weight gradient, on the rows the same lane has just computed. Every buffer is allocated when the engine is built (and
/// again only when the batch size changes): a warm update allocates nothing.
///
/// The GEMM split is fixed, and the Adam split, which adapts to the lanes' measured speed,
/// is element-wise (an element gets the same bits whichever lane updates it), so results
/// are deterministic; they agree with the sequential path to float rounding (GEMMs split
/// by rows or columns may round differently).
final class TwoLaneDDPGEngine: @unchecked Sendable {
    // Safety: the worker only touches the engine's buffers between claiming a task and
    // completing it, ordered by the `state`/`completed` atomics (acquire/release); the
    // learner that owns the engine is the only caller (see `isKnownUniquelyReferenced`
    // in DDPGLearner).

    // MARK: Synchronisation
    /// `generation << 2 | claimed tasks` (bit 0 task 0, bit 1 task 1) of the current phase.
    /// Starts at generation 0 with both tasks taken (nothing to run).
    private let state = Atomic<Int>(3)
    /// Tasks of the current phase finished by lane 1.
    private let completed = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    /// Set by lane 1 once it runs (after preparing its GEMM buffers).
    private let workerReady = Atomic<Int>(0)
    private var generation = 0
    private var phase = 0
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var thread: pthread_t? = nil
    /// Spins (PAUSE) before lane 1 parks, and before lane 0 starts yielding its core.
    private let workerSpins = 20_000
    private let callerSpins = 2_000
    /// How long task 0 and task 1 of the current phase took (ns), each written by the lane
    /// that ran it before it reports completion.
    private let taskNanoseconds = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
    /// Task 0's share of the Adam step of each layer from 1 on (index 0 unused: the first
    /// layer's step follows its row split), adapted every update to the lanes' measured
    /// speed; element-wise, so the results do not depend on it.
    private var criticAdamShare: [Double]
    private var actorAdamShare: [Double]

    // MARK: Profiling (off unless `profiling`; buffers allocated once, at init)
    /// Whether `parallel` records every phase's times (set by the learner before each update).
    var profiling = false
    /// Phases one update runs: 11 for two hidden layers in each network.
    let phaseCount: Int
    /// Per phase ordinal: code, wall, task 0, task 1 (ns, summed) and one-lane runs.
    private let profileCodes: UnsafeMutablePointer<Int>
    private let profileTimes: UnsafeMutablePointer<UInt64>
    private let profileOneLane: UnsafeMutablePointer<Int>
    private var profiledUpdates = 0
    private var phaseOrdinal = 0

    // MARK: Shapes
    let stateSize: Int
    let actionSize: Int
    private(set) var batchSize = 0
    var actor: [RawDense]
    var critic: [RawDense]
    var targetActor: [RawDense]
    var targetCritic: [RawDense]

    // MARK: Per-update inputs (pointers refreshed every update)
    var states: UnsafePointer<Float>! = nil
    var actions: UnsafePointer<Float>! = nil
    var nextStates: UnsafePointer<Float>! = nil
    var rewards: UnsafePointer<Float>! = nil
    var discounts: UnsafePointer<Float>! = nil
    var targets: UnsafeMutablePointer<Float>! = nil
    var gamma: Float = 0
    var tau: Float = 0
    var criticMoments: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)]
    var actorMoments: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)]
    var criticStep: (learningRate: Float, epsilon: Float) = (0, 0)
    var actorStep: (learningRate: Float, epsilon: Float) = (0, 0)
    var beta1: Float = 0.9
    var beta2: Float = 0.999

    // MARK: Buffers (owned)
    /// `[s' | μ'(s')]`, `[s | a]`, `[s | μ(s)]`, each `[B, S + A]`.
    private(set) var targetJoined: UnsafeMutablePointer<Float>
    private(set) var joined: UnsafeMutablePointer<Float>
    private(set) var policyJoined: UnsafeMutablePointer<Float>
    /// Layer outputs: target actor, target critic, critic on `[s | a]`, actor on `s`, critic on `[s | μ(s)]`.
    private(set) var targetActorOut: [UnsafeMutablePointer<Float>] = []
    private(set) var targetCriticOut: [UnsafeMutablePointer<Float>] = []
    private(set) var criticOut: [UnsafeMutablePointer<Float>] = []
    private(set) var actorOut: [UnsafeMutablePointer<Float>] = []
    private(set) var policyCriticOut: [UnsafeMutablePointer<Float>] = []
    /// Deltas (dL/d pre-activation) per layer.
    private(set) var criticDelta: [UnsafeMutablePointer<Float>] = []
    private(set) var actorDelta: [UnsafeMutablePointer<Float>] = []
    private(set) var policyCriticDelta: [UnsafeMutablePointer<Float>] = []
    /// Parameter gradients (weight, bias) per layer.
    private(set) var criticGradient: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)] = []
    private(set) var actorGradient: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)] = []
    private var owned: [UnsafeMutablePointer<Float>] = []

    init(actor: MLP, critic: MLP, stateSize: Int, actionSize: Int) {
        self.stateSize = stateSize
        self.actionSize = actionSize
        func raw(_ m: MLP) -> [RawDense] {
            m.layers.map { l in
                RawDense(inputs: l.inputSize, outputs: l.outputSize, activation: Int32(l.activation.rawValue),
                         weight: UnsafeMutablePointer(bitPattern: 64)!, bias: UnsafeMutablePointer(bitPattern: 64)!)
            }
        }
        self.actor = raw(actor)
        self.critic = raw(critic)
        self.targetActor = self.actor
        self.targetCritic = self.critic
        let dummy = UnsafeMutablePointer<Float>(bitPattern: 64)!
        criticMoments = Array(repeating: (dummy, dummy), count: 2 * critic.layers.count)
        criticAdamShare = Array(repeating: 0.5, count: critic.layers.count)
        actorAdamShare = Array(repeating: 0.5, count: actor.layers.count)
        let n = critic.layers.count
        phaseCount = 1 + n + (n >= 2 ? 2 * (n - 1) : 2) + actor.layers.count
        profileCodes = .allocate(capacity: phaseCount)
        profileCodes.initialize(repeating: 0, count: phaseCount)
        profileTimes = .allocate(capacity: 3 * phaseCount)
        profileTimes.initialize(repeating: 0, count: 3 * phaseCount)
        profileOneLane = .allocate(capacity: phaseCount)
        profileOneLane.initialize(repeating: 0, count: phaseCount)
        taskNanoseconds.initialize(repeating: 0, count: 2)
        actorMoments = Array(repeating: (dummy, dummy), count: 2 * actor.layers.count)
        targetJoined = dummy
        joined = dummy
        policyJoined = dummy
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for l in self.critic { criticGradient.append((allocate(l.inputs * l.outputs), allocate(l.outputs))) }
        for l in self.actor { actorGradient.append((allocate(l.inputs * l.outputs), allocate(l.outputs))) }
    }

    /// Stops and joins the worker thread (called by the owning ``TwoLaneHandle``).
    func shutdown() {
        if let thread {
            phase = -1   // the worker claims a task of this phase and exits
            post()
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    deinit {
        shutdown()
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(condition)
        mutex.deallocate()
        condition.deallocate()
        taskNanoseconds.deallocate()
        profileCodes.deallocate()
        profileTimes.deallocate()
        profileOneLane.deallocate()
        for p in owned { p.deallocate() }
    }

    private func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(n, 1) + 16)
        p.initialize(repeating: 0, count: Swift.max(n, 1) + 16)
        owned.append(p)
        return p
    }

    /// Sizes the batch buffers for `b` rows (allocates only when `b` changes).
    func prepare(batchSize b: Int) {
        guard b != batchSize else { return }
        let keep = 2 * (critic.count + actor.count)   // the gradient buffers stay
        for p in owned[keep...] { p.deallocate() }
        owned.removeSubrange(keep...)
        batchSize = b
        let w = stateSize + actionSize
        targetJoined = allocate(b * w)
        joined = allocate(b * w)
        policyJoined = allocate(b * w)
        targetActorOut = actor.map { allocate(b * $0.outputs) }
        actorOut = actor.map { allocate(b * $0.outputs) }
        actorDelta = actor.map { allocate(b * $0.outputs) }
        targetCriticOut = critic.map { allocate(b * $0.outputs) }
        criticOut = critic.map { allocate(b * $0.outputs) }
        policyCriticOut = critic.map { allocate(b * $0.outputs) }
        criticDelta = critic.map { allocate(b * $0.outputs) }
        policyCriticDelta = critic.map { allocate(b * $0.outputs) }
    }

    // MARK: Lanes

    /// Starts lane 1 (once) and waits until it has allocated its per-thread GEMM buffers,
    /// so that both lanes' one-time allocations happen here, not in a later update.
    func start() {
        guard thread == nil else { return }
        UnsafeKernels.prepareGEMMWorkspace()
        var t = pthread_t()
        let context = Unmanaged.passUnretained(self).toOpaque()
        let rc = pthread_create(&t, nil, { raw in
            guard let raw else { return nil }
            // Unretained: the learner's reference must stay the only one (the learner checks
            // uniqueness), and deinit joins this thread before the engine goes away.
            Unmanaged<TwoLaneDDPGEngine>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.workerLoop() }
            return nil
        }, context)
        precondition(rc == 0, "TwoLaneDDPGEngine: pthread_create failed (\(rc))")
        thread = t
        while workerReady.load(ordering: .acquiring) == 0 { sched_yield() }
    }

    /// Publishes a new phase whose two tasks are up for grabs.
    private func post() {
        completed.store(0, ordering: .relaxed)
        generation += 1
        state.store(generation << 2, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) != 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_signal(condition)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Claims a task of the phase in `observed` (a `state` value), `preferred` first; nil
    /// when both are taken. The caller prefers task 0 and the worker task 1, so that each
    /// lane runs the same share of every phase in every update (no speed change measured;
    /// it keeps the lane-to-data mapping fixed); either lane still takes the other's task
    /// when that one has not been claimed.
    @inline(__always)
    private func claim(_ observed: Int, preferred: Int) -> Int? {
        var s = observed
        while s & 3 != 3 && s >> 2 == observed >> 2 {
            let task = s & (1 << preferred) == 0 ? preferred : 1 - preferred
            let (exchanged, current) = state.compareExchange(expected: s, desired: s | (1 << task), ordering: .acquiringAndReleasing)
            if exchanged { return task }
            s = current
        }
        return nil
    }

    private func workerLoop() {
        UnsafeKernels.prepareGEMMWorkspace()
        workerReady.store(1, ordering: .releasing)
        FloatingPointMode.withDenormalsFlushedToZero {
            while true {
                var s = state.load(ordering: .acquiring)
                if let task = claim(s, preferred: 1) {
                    let p = phase
                    if p < 0 { return }
                    timedRun(phase: p, task: task)
                    completed.add(1, ordering: .releasing)
                    continue
                }
                // Nothing to take: spin until the state moves on, then park.
                s = state.load(ordering: .acquiring)
                var spins = 0
                var current = s
                while current == s && current & 3 == 3 && spins < workerSpins {
                    UnsafeKernels.cpuRelax()
                    spins += 1
                    current = state.load(ordering: .acquiring)
                }
                if current == s && current & 3 == 3 {
                    pthread_mutex_lock(mutex)
                    sleeping.store(1, ordering: .sequentiallyConsistent)
                    while state.load(ordering: .sequentiallyConsistent) == s {
                        pthread_cond_wait(condition, mutex)
                    }
                    sleeping.store(0, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                }
            }
        }
    }

    /// Runs both tasks of `phase` (on whichever lanes take them) and returns when both are done.
    /// Lane 0 takes whatever lane 1 has not claimed, so a descheduled worker costs no waiting.
    private func parallel(_ p: Int) {
        let wallStart = profiling ? monotonicNanoseconds() : 0
        phase = p
        post()
        var mine = 0
        while let task = claim(state.load(ordering: .acquiring), preferred: 0) {
            timedRun(phase: p, task: task)
            mine += 1
        }
        var spins = 0
        while completed.load(ordering: .acquiring) != 2 - mine {
            if spins < callerSpins { UnsafeKernels.cpuRelax(); spins += 1 } else { sched_yield() }
        }
        // Each lane ran one task: move Adam work from the slower task to the faster one.
        if mine == 1 { rebalance(phase: p) }
        if profiling && phaseOrdinal < phaseCount {
            let o = phaseOrdinal
            profileCodes[o] = p
            profileTimes[3 * o] &+= monotonicNanoseconds() &- wallStart
            profileTimes[3 * o + 1] &+= taskNanoseconds[0]
            profileTimes[3 * o + 2] &+= taskNanoseconds[1]
            if mine != 1 { profileOneLane[o] += 1 }
            phaseOrdinal += 1
        }
    }

    /// The phases' times summed over the updates profiled since the last reset, in the order
    /// an update runs them (empty before the first profiled update).
    func phaseTimings() -> [TwoLanePhaseTiming] {
        guard profiledUpdates > 0 else { return [] }
        return (0..<phaseCount).map { o in
            let p = profileCodes[o]
            return TwoLanePhaseTiming(name: Kind(rawValue: p >> 16)?.name ?? "?", layer: p & 0xFFFF, updates: profiledUpdates,
                                      wallNanoseconds: profileTimes[3 * o], task0Nanoseconds: profileTimes[3 * o + 1],
                                      task1Nanoseconds: profileTimes[3 * o + 2], oneLaneRuns: profileOneLane[o])
        }
    }

    /// Zeroes the phase timings.
    func resetPhaseTimings() {
        profiledUpdates = 0
        profileTimes.update(repeating: 0, count: 3 * phaseCount)
        profileOneLane.update(repeating: 0, count: phaseCount)
    }

    private func timedRun(phase p: Int, task: Int) {
        let start = monotonicNanoseconds()
        run(phase: p, lane: task)
        taskNanoseconds[task] = monotonicNanoseconds() &- start
    }

    @inline(__always)
    private func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    /// After a phase that holds a layer's Adam step, shifts task 0's share of it by a
    /// quarter of the two tasks' relative time difference (kept within 5–95%). The lanes'
    /// speeds differ on these VMs (lane 1 ran Adam up to 1.7× slower than lane 0 in the
    /// same phase, whichever half it had), and Adam is the only work of a phase that can
    /// move between them without changing a single bit of the results.
    private func rebalance(phase p: Int) {
        let layer = p & 0xFFFF
        let (t0, t1) = (Double(taskNanoseconds[0]), Double(taskNanoseconds[1]))
        guard t0 + t1 > 0 else { return }
        let step = 0.25 * (t1 - t0) / (t0 + t1)
        func shifted(_ f: Double) -> Double { Swift.min(0.95, Swift.max(0.05, f + step)) }
        switch Kind(rawValue: p >> 16)! {
        case .criticBackward where layer + 1 < critic.count: criticAdamShare[layer + 1] = shifted(criticAdamShare[layer + 1])
        case .criticFirstLayer where critic.count > 1: criticAdamShare[1] = shifted(criticAdamShare[1])
        case .actorBackward where layer + 1 < actor.count: actorAdamShare[layer + 1] = shifted(actorAdamShare[layer + 1])
        case .actorFirstLayer where actor.count > 1: actorAdamShare[1] = shifted(actorAdamShare[1])
        default: break
        }
    }

    // MARK: The update

    /// Phase codes: high byte = kind, low bits = layer index.
    private enum Kind: Int {
        case forward = 1          // task 1 targets; task 0 critic on [s|a] and actor on s
        case criticBackward       // layer i: task 0 input gradient, task 1 weight gradient; Adam on layer i + 1, adaptive split
        case criticFirstLayer     // layer 0 weight gradient and Adam, rows split; Adam on layer 1, adaptive split
        case policyForward        // critic layer i on [s | μ(s)], columns split (last hidden layer: + the head's backward)
        case policyBackward       // critic layer i input gradient, columns split (layer 0: action columns;
                                  // last hidden layer: task 0 also runs the head's forward)
        case actorBackward        // layer i: task 0 input gradient, task 1 weight gradient; Adam on layer i + 1, adaptive split
        case actorFirstLayer      // layer 0 weight gradient and Adam, rows split; Adam on layer 1, adaptive split

        /// The phase's name in ``TwoLanePhaseTiming``.
        var name: String {
            switch self {
            case .forward: "forward"
            case .criticBackward: "critic backward"
            case .criticFirstLayer: "critic first layer"
            case .policyForward: "actor pass: critic forward"
            case .policyBackward: "actor pass: critic backward"
            case .actorBackward: "actor backward"
            case .actorFirstLayer: "actor first layer"
            }
        }
    }

    private func code(_ k: Kind, _ layer: Int = 0) -> Int { k.rawValue << 16 | layer }

    /// One update; the learner has refreshed every pointer. Returns the critic and actor losses.
    func update(criticOutputGradient dq: UnsafeMutablePointer<Float>, tdErrors: UnsafeMutablePointer<Float>,
                weights: UnsafePointer<Float>) -> (Float, Float) {
        let b = batchSize
        phaseOrdinal = 0
        parallel(code(.forward))
        // Loss, dL/dQ and TD errors, exactly as MeanSquaredError.gradient computes them.
        let q = criticOut[critic.count - 1]
        let scale = 2 / Float(b)
        var s: Float = 0
        for i in 0..<b {
            let d = q[i] - targets[i], wi = weights[i]
            s += wi * d * d
            dq[i] = scale * wi * d
            tdErrors[i] = targets[i] - q[i]
        }
        let criticLoss = s / Float(b)
        criticDelta[critic.count - 1].update(from: dq, count: b)
        for i in stride(from: critic.count - 1, through: 1, by: -1) { parallel(code(.criticBackward, i)) }
        parallel(code(.criticFirstLayer))
        // The actor pass. The critic's head is linear and dL/dQ = −1/B, so the head's backward
        // needs no forward output: it runs in the phase of the last hidden layer's forward, on
        // the columns that task has just computed, and the head's forward (only the loss needs
        // it) runs beside the next backward phase. Two barriers fewer than layer by layer.
        let n = critic.count
        policyCriticDelta[n - 1].update(repeating: -1 / Float(b), count: b)
        if n >= 2 {
            for i in 0..<(n - 1) { parallel(code(.policyForward, i)) }
            for i in stride(from: n - 2, through: 0, by: -1) { parallel(code(.policyBackward, i)) }
        } else {
            parallel(code(.policyForward, 0))
            parallel(code(.policyBackward, 0))
        }
        // −mean Q(s, μ(s)), as Tensor.mean computes it.
        let qp = policyCriticOut[n - 1]
        var sum = 0.0
        for i in 0..<b { sum += Double(qp[i]) }
        let actorLoss = -Float(Double(Float(sum)) / Double(b))
        for i in stride(from: actor.count - 1, through: 1, by: -1) { parallel(code(.actorBackward, i)) }
        parallel(code(.actorFirstLayer))
        if profiling { profiledUpdates += 1 }
        return (criticLoss, actorLoss)
    }

    /// The split point of `n` items between the lanes, rounded to a multiple of `align`.
    @inline(__always)
    private func split(_ n: Int, align: Int) -> Int {
        let half = (n / 2 + align - 1) / align * align
        return Swift.min(half, n)
    }

    private func run(phase p: Int, lane: Int) {
        let layer = p & 0xFFFF
        switch Kind(rawValue: p >> 16)! {
        case .forward:
            if lane == 1 { forwardTargets() } else { forwardOnline() }
        case .criticBackward:
            backwardLayer(critic[layer], input: layer == 0 ? joined : criticOut[layer - 1], delta: criticDelta[layer],
                          gradient: criticGradient[layer], inputDelta: criticDelta[layer == 0 ? 0 : layer - 1],
                          previous: layer == 0 ? nil : (criticOut[layer - 1], critic[layer - 1].activation), lane: lane)
            if layer + 1 < critic.count { adam(.critic, layer + 1, lane: lane) }
        case .criticFirstLayer:
            firstLayerGradient(critic[0], input: joined, delta: criticDelta[0], gradient: criticGradient[0], lane: lane)
            adamFirstLayer(.critic, lane: lane)
            if critic.count > 1 { adam(.critic, 1, lane: lane) }
        case .policyForward:
            let l = critic[layer]
            let cut = split(l.outputs, align: 16)
            let range = lane == 0 ? 0..<cut : cut..<l.outputs
            dense(l, input: layer == 0 ? policyJoined : policyCriticOut[layer - 1], output: policyCriticOut[layer], columns: range)
            // The head's backward reads only these columns of this layer's output (same split).
            if layer == critic.count - 2 { policyBackward(layer + 1, lane: lane) }
        case .policyBackward:
            if lane == 0 && layer == critic.count - 2 {
                let head = critic[layer + 1]
                dense(head, input: policyCriticOut[layer], output: policyCriticOut[layer + 1], columns: 0..<head.outputs)
            }
            policyBackward(layer, lane: lane)
        case .actorBackward:
            backwardLayer(actor[layer], input: actorOut[layer - 1], delta: actorDelta[layer], gradient: actorGradient[layer],
                          inputDelta: actorDelta[layer - 1], previous: (actorOut[layer - 1], actor[layer - 1].activation), lane: lane)
            if layer + 1 < actor.count { adam(.actor, layer + 1, lane: lane) }
        case .actorFirstLayer:
            firstLayerGradient(actor[0], input: states, delta: actorDelta[0], gradient: actorGradient[0], lane: lane)
            adamFirstLayer(.actor, lane: lane)
            if actor.count > 1 { adam(.actor, 1, lane: lane) }
        }
    }

    /// `output[:, columns] = f(input · W[:, columns] + b[columns])`.
    @inline(__always)
    private func dense(_ l: RawDense, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        let c0 = columns.lowerBound
        UnsafeKernels.gemm(transposeA: false, transposeB: false, m: batchSize, n: columns.count, k: l.inputs,
                           a: input, lda: l.inputs, b: l.weight + c0, ldb: l.outputs, c: output + c0, ldc: l.outputs)
        UnsafeKernels.biasActivation(output + c0, ld: l.outputs, bias: l.bias + c0, rows: batchSize, columns: columns.count,
                                     activation: l.activation)
    }

    private func join(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let s = stateSize, k = actionSize, w = s + k
        for r in 0..<batchSize {
            (out + r * w).update(from: a + r * s, count: s)
            (out + r * w + s).update(from: b + r * k, count: k)
        }
    }

    private func forwardTargets() {
        for i in targetActor.indices {
            let l = targetActor[i]
            dense(l, input: i == 0 ? nextStates : UnsafePointer(targetActorOut[i - 1]), output: targetActorOut[i], columns: 0..<l.outputs)
        }
        join(nextStates, targetActorOut[targetActor.count - 1], into: targetJoined)
        for i in targetCritic.indices {
            let l = targetCritic[i]
            dense(l, input: UnsafePointer(i == 0 ? targetJoined : targetCriticOut[i - 1]), output: targetCriticOut[i], columns: 0..<l.outputs)
        }
        let q = targetCriticOut[targetCritic.count - 1], g = gamma
        for k in 0..<batchSize { targets[k] = rewards[k] + g * discounts[k] * q[k] }
    }

    private func forwardOnline() {
        join(states, actions, into: joined)
        for i in critic.indices {
            let l = critic[i]
            dense(l, input: UnsafePointer(i == 0 ? joined : criticOut[i - 1]), output: criticOut[i], columns: 0..<l.outputs)
        }
        for i in actor.indices {
            let l = actor[i]
            dense(l, input: i == 0 ? states : UnsafePointer(actorOut[i - 1]), output: actorOut[i], columns: 0..<l.outputs)
        }
        join(states, actorOut[actor.count - 1], into: policyJoined)
    }

    /// Lane 0: `inputDelta = (delta · Wᵀ) ⊙ f'(previous)`; lane 1: `dW = inputᵀ · delta`, `db = Σ delta`.
    private func backwardLayer(_ l: RawDense, input: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                               gradient: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>),
                               inputDelta: UnsafeMutablePointer<Float>,
                               previous: (UnsafeMutablePointer<Float>, Int32)?, lane: Int) {
        let b = batchSize
        if lane == 0 {
            guard let previous else { return }
            UnsafeKernels.gemm(transposeA: false, transposeB: true, m: b, n: l.inputs, k: l.outputs,
                               a: delta, lda: l.outputs, b: l.weight, ldb: l.outputs, c: inputDelta, ldc: l.inputs)
            UnsafeKernels.activationBackward(inputDelta, ldDelta: l.inputs, output: previous.0, ldY: l.inputs,
                                             rows: b, columns: l.inputs, activation: previous.1)
        } else {
            UnsafeKernels.gemm(transposeA: true, transposeB: false, m: l.inputs, n: l.outputs, k: b,
                               a: input, lda: l.inputs, b: delta, ldb: l.outputs, c: gradient.0, ldc: l.outputs)
            UnsafeKernels.columnSums(delta, rows: b, columns: l.outputs, into: gradient.1)
        }
    }

    /// `dW[rows] = input[:, rows]ᵀ · delta`, rows split between the lanes; lane 1 also `db`.
    private func firstLayerGradient(_ l: RawDense, input: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                    gradient: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>), lane: Int) {
        let b = batchSize
        let (r0, r1) = firstLayerRows(l, lane: lane)
        if r1 > r0 {
            UnsafeKernels.gemm(transposeA: true, transposeB: false, m: r1 - r0, n: l.outputs, k: b,
                               a: input + r0, lda: l.inputs, b: delta, ldb: l.outputs,
                               c: gradient.0 + r0 * l.outputs, ldc: l.outputs)
        }
        if lane == 1 { UnsafeKernels.columnSums(delta, rows: b, columns: l.outputs, into: gradient.1) }
    }

    /// The rows of the first layer's weight gradient (and of its Adam step) that `lane` owns.
    @inline(__always)
    private func firstLayerRows(_ l: RawDense, lane: Int) -> (Int, Int) {
        let cut = split(l.inputs, align: 8)
        return lane == 0 ? (0, cut) : (cut, l.inputs)
    }

    private enum Network { case critic, actor }

    /// Adam and the soft target update of `count` parameters from `offset` of layer `i`'s
    /// weight (`bias == false`) or bias. Element-wise, so any split gives the same bits.
    @inline(__always)
    private func adamRange(_ net: Network, _ i: Int, bias: Bool, offset: Int, count: Int) {
        guard count > 0 else { return }
        let isCritic = net == .critic
        let l = isCritic ? critic[i] : actor[i], t = isCritic ? targetCritic[i] : targetActor[i]
        let g = isCritic ? criticGradient[i] : actorGradient[i]
        let (m, v) = isCritic ? criticMoments[2 * i + (bias ? 1 : 0)] : actorMoments[2 * i + (bias ? 1 : 0)]
        let step = isCritic ? criticStep : actorStep
        let p = bias ? l.bias : l.weight, target = bias ? t.bias : t.weight, gradient = bias ? g.1 : g.0
        UnsafeKernels.adamStep(parameters: p + offset, gradient: gradient + offset, firstMoment: m + offset,
                               secondMoment: v + offset, count: count, beta1: beta1, beta2: beta2,
                               learningRate: step.learningRate, epsilon: step.epsilon,
                               softUpdateTarget: target + offset, tau: tau)
    }

    /// Adam on layer `i` of `net` (weight and bias), split between the lanes by the layer's
    /// adaptive share.
    private func adam(_ net: Network, _ i: Int, lane: Int) {
        let l = net == .critic ? critic[i] : actor[i]
        let share = net == .critic ? criticAdamShare[i] : actorAdamShare[i]
        func cut(_ n: Int) -> Int { Swift.min(n, Int((share * Double(n) / 16).rounded()) * 16) }
        let weights = l.inputs * l.outputs, weightCut = cut(weights), biasCut = cut(l.outputs)
        if lane == 0 {
            adamRange(net, i, bias: false, offset: 0, count: weightCut)
            adamRange(net, i, bias: true, offset: 0, count: biasCut)
        } else {
            adamRange(net, i, bias: false, offset: weightCut, count: weights - weightCut)
            adamRange(net, i, bias: true, offset: biasCut, count: l.outputs - biasCut)
        }
    }

    /// Adam on the first layer: the weight rows whose gradient this lane has just computed,
    /// and (lane 1, which computed it) the bias.
    private func adamFirstLayer(_ net: Network, lane: Int) {
        let l = net == .critic ? critic[0] : actor[0]
        let (r0, r1) = firstLayerRows(l, lane: lane)
        adamRange(net, 0, bias: false, offset: r0 * l.outputs, count: (r1 - r0) * l.outputs)
        if lane == 1 { adamRange(net, 0, bias: true, offset: 0, count: l.outputs) }
    }

    /// Critic layer `i`'s input gradient in the actor pass (weights frozen), columns split;
    /// for layer 0 only the action columns, into the actor's output delta (times tanh').
    private func policyBackward(_ i: Int, lane: Int) {
        let l = critic[i], b = batchSize
        let delta = policyCriticDelta[i]
        if i > 0 {
            let cut = split(l.inputs, align: 16)
            let c0 = lane == 0 ? 0 : cut, c1 = lane == 0 ? cut : l.inputs
            guard c1 > c0 else { return }
            let out = policyCriticDelta[i - 1]
            UnsafeKernels.gemm(transposeA: false, transposeB: true, m: b, n: c1 - c0, k: l.outputs,
                               a: delta, lda: l.outputs, b: l.weight + c0 * l.outputs, ldb: l.outputs, c: out + c0, ldc: l.inputs)
            UnsafeKernels.activationBackward(out + c0, ldDelta: l.inputs, output: policyCriticOut[i - 1] + c0, ldY: l.inputs,
                                             rows: b, columns: c1 - c0, activation: critic[i - 1].activation)
        } else {
            let k = actionSize, s = stateSize
            let cut = split(k, align: 16)
            let c0 = lane == 0 ? 0 : cut, c1 = lane == 0 ? cut : k
            guard c1 > c0 else { return }
            let top = actor.count - 1
            let out = actorDelta[top]
            UnsafeKernels.gemm(transposeA: false, transposeB: true, m: b, n: c1 - c0, k: l.outputs,
                               a: delta, lda: l.outputs, b: l.weight + (s + c0) * l.outputs, ldb: l.outputs, c: out + c0, ldc: k)
            UnsafeKernels.activationBackward(out + c0, ldDelta: k, output: actorOut[top] + c0, ldY: k,
                                             rows: b, columns: c1 - c0, activation: actor[top].activation)
        }
    }
}
