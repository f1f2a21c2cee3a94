import RecRLTensor
import RecRLNN

/// The learner's reference to its engine. The learner checks that this handle is uniquely
/// referenced (a copied learner builds its own engine); the worker thread never holds a
/// reference to it. Releasing the handle stops the worker.
final class TwoLaneHandle: @unchecked Sendable {
    // Safety: immutable; the engine is used by one learner at a time (see above).
    let engine: TwoLaneDDPGEngine
    init(_ engine: TwoLaneDDPGEngine) { self.engine = engine }
    deinit { engine.executor.shutdown() }
}

/// A tensor parked in the engine for the length of one update, so that the engine can pin
/// all of them in nested `withUnsafeMutableBufferPointer` scopes (one box per tensor keeps
/// the accesses disjoint).
final class TensorBox {
    var tensor = Tensor(zeros: [0])
}

/// One dense layer as the two-lane update sees it: sizes, activation code and, only while
/// an update runs (inside the engine's pinning scope), pointers to its weight and bias and,
/// for an online network, to their Adam moments.
struct RawDense {
    var inputs: Int
    var outputs: Int
    var activation: Int32
    var weight: UnsafeMutablePointer<Float>? = nil
    var bias: UnsafeMutablePointer<Float>? = nil
    /// First and second Adam moments of the weight, then of the bias.
    var moments: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) = (nil, nil, nil, nil)

    init(_ l: Dense) {
        inputs = l.inputSize
        outputs = l.outputSize
        activation = Int32(l.activation.rawValue)
    }

    func matches(_ l: Dense) -> Bool {
        l.inputSize == inputs && l.outputSize == outputs && Int32(l.activation.rawValue) == activation
    }
}

/// The DDPG update for ``MLPActor`` / ``MLPCritic`` (one critic, policy delay 1, no
/// target noise, no gradient clipping) as a schedule of two-task phases run by a
/// ``TwoLaneExecutor``.
///
/// The phases: the target networks' forward pass (with the target-action projection, if
/// any) beside the online ones; weight gradients beside input gradients; halves of a GEMM's
/// columns or rows; shares of Adam/soft-update ranges. Adam (with the soft target update)
/// has no phase of its own: a layer's step runs in the backward phase after the one that
/// computed its gradient (nothing reads that layer's weights any more by then), and the
/// first layer's step runs right after its weight gradient, on the rows the same lane has
/// just computed. With state gradients, the lane that owns a range of a first layer's
/// weight rows also computes the matching columns of `dL/ds` (from those rows, before its
/// Adam step moves them). The scalar parts (TD targets, losses, TD errors) are
/// ``DDPGMath``'s, shared with the sequential path.
///
/// Every buffer is allocated when the engine is built (and again only when the batch size
/// changes): a warm update allocates nothing. The GEMM split is fixed, and the Adam split,
/// which adapts to the lanes' measured speed, is element-wise (an element gets the same
/// bits whichever lane updates it), so results are deterministic; they agree with the
/// sequential path to float rounding (GEMMs split by rows or columns may round differently).
///
/// Pointers: the learner parks its tensors in ``boxes`` (``exchange(network:_:)``,
/// ``exchange(_:_:)``), then ``update(batch:…)`` pins every box in nested scopes, runs the
/// phases inside the innermost one and clears every pointer before returning; the learner
/// then exchanges the tensors back.
final class TwoLaneDDPGEngine: TwoLaneSchedule, @unchecked Sendable {
    // Safety: the worker only runs tasks between the executor's publication of a phase and
    // its barrier; the learner that owns the engine is the only caller.

    /// The networks whose tensors the engine parks.
    enum Net: Int { case actor = 0, targetActor, critic, targetCritic }
    /// The learner buffers the engine parks.
    enum Buffer: Int { case targets = 0, tdErrors, criticStateGradient, actorStateGradient }

    /// The threads, barriers and task claiming (created right after the engine).
    private(set) var executor: TwoLaneExecutor! = nil
    /// Task 0's share of the Adam step of each layer from 1 on (index 0 unused: the first
    /// layer's step follows its row split), adapted every update to the lanes' measured
    /// speed; element-wise, so the results do not depend on it.
    private var criticAdamShare: [Double]
    private var actorAdamShare: [Double]

    // MARK: Shapes
    let stateSize: Int
    let actionSize: Int
    /// Whether updates compute `dL/ds` of the critic loss and the actor loss.
    let computesStateGradients: Bool
    private(set) var batchSize = 0
    private(set) var actor: [RawDense]
    private(set) var critic: [RawDense]
    private(set) var targetActor: [RawDense]
    private(set) var targetCritic: [RawDense]

    // MARK: Parked tensors and their pinned addresses
    /// Parameters of the four networks, then Adam moments of actor and critic, then the
    /// learner buffers (see ``index(_:layer:bias:)``, ``momentIndex(_:layer:bias:second:)``).
    let boxes: [TensorBox]
    /// The boxes' base addresses, valid only inside ``pinned(_:_:)``; nil outside.
    private let pins: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>
    private let netOffsets: [Int]
    private let momentOffsets: [Int]
    private let bufferOffset: Int
    /// The learner's target-action projection, moved in for the length of an update.
    var projection: (any ActionProjection)? = nil
    private var projected = Tensor(zeros: [0])

    // MARK: Per-update inputs (set and cleared by `update`)
    private var states: UnsafePointer<Float>? = nil
    private var actions: UnsafePointer<Float>? = nil
    private var nextStates: UnsafePointer<Float>? = nil
    private var rewards: UnsafePointer<Float>? = nil
    private var discounts: UnsafePointer<Float>? = nil
    private var weights: UnsafePointer<Float>? = nil
    private var targets: UnsafeMutablePointer<Float>? = nil
    private var tdErrors: UnsafeMutablePointer<Float>? = nil
    private var criticStateGradient: UnsafeMutablePointer<Float>? = nil
    private var actorStateGradient: UnsafeMutablePointer<Float>? = nil
    var gamma: Float = 0
    var tau: Float = 0
    var criticStep: (learningRate: Float, epsilon: Float) = (0, 0)
    var actorStep: (learningRate: Float, epsilon: Float) = (0, 0)
    var beta1: Float = 0.9
    var beta2: Float = 0.999

    // MARK: Buffers (owned)
    /// `[s' | μ'(s')]`, `[s | a]`, `[s | μ(s)]`, each `[B, S + A]`.
    private var targetJoined: UnsafeMutablePointer<Float>
    private var joined: UnsafeMutablePointer<Float>
    private var policyJoined: UnsafeMutablePointer<Float>
    /// Layer outputs: target actor, target critic, critic on `[s | a]`, actor on `s`, critic on `[s | μ(s)]`.
    private var targetActorOut: [UnsafeMutablePointer<Float>] = []
    private var targetCriticOut: [UnsafeMutablePointer<Float>] = []
    private var criticOut: [UnsafeMutablePointer<Float>] = []
    private var actorOut: [UnsafeMutablePointer<Float>] = []
    private var policyCriticOut: [UnsafeMutablePointer<Float>] = []
    /// Deltas (dL/d pre-activation) per layer.
    private var criticDelta: [UnsafeMutablePointer<Float>] = []
    private var actorDelta: [UnsafeMutablePointer<Float>] = []
    private var policyCriticDelta: [UnsafeMutablePointer<Float>] = []
    /// Parameter gradients (weight, bias) per layer.
    private var criticGradient: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)] = []
    private var actorGradient: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)] = []
    private var owned: [UnsafeMutablePointer<Float>] = []

    init(actor: MLP, critic: MLP, stateSize: Int, actionSize: Int, computesStateGradients: Bool) {
        self.stateSize = stateSize
        self.actionSize = actionSize
        self.computesStateGradients = computesStateGradients
        self.actor = actor.layers.map(RawDense.init)
        self.critic = critic.layers.map(RawDense.init)
        self.targetActor = self.actor
        self.targetCritic = self.critic
        criticAdamShare = Array(repeating: 0.5, count: critic.layers.count)
        actorAdamShare = Array(repeating: 0.5, count: actor.layers.count)
        let la = actor.layers.count, lc = critic.layers.count
        netOffsets = [0, 2 * la, 4 * la, 4 * la + 2 * lc]
        momentOffsets = [4 * la + 4 * lc, 8 * la + 4 * lc]  // actor, critic: 4 tensors per layer
        bufferOffset = 8 * la + 8 * lc
        let slots = bufferOffset + 4
        boxes = (0..<slots).map { _ in TensorBox() }
        pins = .allocate(capacity: slots)
        pins.initialize(repeating: nil, count: slots)
        let dummy = UnsafeMutablePointer<Float>(bitPattern: 64)!
        targetJoined = dummy
        joined = dummy
        policyJoined = dummy
        for l in self.critic { criticGradient.append((allocate(l.inputs * l.outputs), allocate(l.outputs))) }
        for l in self.actor { actorGradient.append((allocate(l.inputs * l.outputs), allocate(l.outputs))) }
        let n = lc
        let phaseCount = 1 + n + (n >= 2 ? 2 * (n - 1) : 2) + la
        executor = TwoLaneExecutor(schedule: self, phaseCount: phaseCount)
    }

    deinit {
        executor.shutdown()
        pins.deallocate()
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
        let keep = 2 * (critic.count + actor.count)  // the gradient buffers stay
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
        projected.prepare(rows: b, columns: actionSize)
    }

    // MARK: Parking and pinning

    private func layers(_ net: Net) -> [RawDense] {
        switch net {
        case .actor: actor
        case .targetActor: targetActor
        case .critic: critic
        case .targetCritic: targetCritic
        }
    }

    /// The box of layer `layer`'s weight (or bias) of `net`.
    private func index(_ net: Net, layer: Int, bias: Bool) -> Int { netOffsets[net.rawValue] + 2 * layer + (bias ? 1 : 0) }

    /// The box of a first (or second) Adam moment of `net` (``Net/actor`` or ``Net/critic``).
    private func momentIndex(_ net: Net, layer: Int, bias: Bool, second: Bool) -> Int {
        momentOffsets[net == .actor ? 0 : 1] + 4 * layer + (bias ? 2 : 0) + (second ? 1 : 0)
    }

    /// Whether `network` has the layer shapes the engine was built for as `net`.
    func matches(_ network: MLP, _ net: Net) -> Bool {
        let raw = layers(net)
        guard network.layers.count == raw.count else { return false }
        for i in raw.indices where !raw[i].matches(network.layers[i]) { return false }
        return true
    }

    /// Swaps `network`'s parameters with the boxes of `net` (call again to swap them back).
    func exchange(network: inout MLP, _ net: Net) {
        for i in network.layers.indices {
            swap(&network.layers[i].weight, &boxes[index(net, layer: i, bias: false)].tensor)
            swap(&network.layers[i].bias, &boxes[index(net, layer: i, bias: true)].tensor)
        }
    }

    /// Swaps Adam's moment tensors (in ``Layer/updateParameters(pairedWith:_:)`` order:
    /// weight, bias per layer) with the boxes of `net`.
    func exchange(firstMoments: inout [Tensor], secondMoments: inout [Tensor], _ net: Net) {
        for j in firstMoments.indices {
            swap(&firstMoments[j], &boxes[momentIndex(net, layer: j / 2, bias: j % 2 == 1, second: false)].tensor)
            swap(&secondMoments[j], &boxes[momentIndex(net, layer: j / 2, bias: j % 2 == 1, second: true)].tensor)
        }
    }

    /// Swaps a learner buffer with its box.
    func exchange(_ tensor: inout Tensor, _ buffer: Buffer) {
        swap(&tensor, &boxes[bufferOffset + buffer.rawValue].tensor)
    }

    /// Runs `body` with every box pinned (`pins[k]` = box k's base address), then clears the pins.
    private func pinned(_ k: Int, _ body: () -> Void) {
        if k == boxes.count {
            body()
            return
        }
        boxes[k].tensor.withUnsafeMutableBufferPointer { p in
            pins[k] = p.baseAddress
            pinned(k + 1, body)
            pins[k] = nil
        }
    }

    /// Points every layer (and moment) at its pinned tensor; `clear` sets them to nil.
    private func bindLayers(clear: Bool) {
        func bind(_ raw: inout [RawDense], _ net: Net, moments: Bool) {
            for i in raw.indices {
                raw[i].weight = clear ? nil : pins[index(net, layer: i, bias: false)]
                raw[i].bias = clear ? nil : pins[index(net, layer: i, bias: true)]
                if moments {
                    raw[i].moments =
                        clear
                        ? (nil, nil, nil, nil)
                        : (
                            pins[momentIndex(net, layer: i, bias: false, second: false)], pins[momentIndex(net, layer: i, bias: false, second: true)],
                            pins[momentIndex(net, layer: i, bias: true, second: false)], pins[momentIndex(net, layer: i, bias: true, second: true)]
                        )
                }
            }
        }
        bind(&actor, .actor, moments: true)
        bind(&targetActor, .targetActor, moments: false)
        bind(&critic, .critic, moments: true)
        bind(&targetCritic, .targetCritic, moments: false)
        targets = clear ? nil : pins[bufferOffset + Buffer.targets.rawValue]
        tdErrors = clear ? nil : pins[bufferOffset + Buffer.tdErrors.rawValue]
        criticStateGradient = clear || !computesStateGradients ? nil : pins[bufferOffset + Buffer.criticStateGradient.rawValue]
        actorStateGradient = clear || !computesStateGradients ? nil : pins[bufferOffset + Buffer.actorStateGradient.rawValue]
    }

    // MARK: The update

    /// Phase codes: kind << 16 | layer index.
    private enum Kind: Int {
        case forward = 1  // task 1 targets; task 0 critic on [s|a] and actor on s
        case criticBackward  // layer i: task 0 input gradient, task 1 weight gradient; Adam on layer i + 1, adaptive split
        case criticFirstLayer  // layer 0 weight gradient (and dL/ds columns) and Adam, rows split; Adam on layer 1, adaptive split
        case policyForward  // critic layer i on [s | μ(s)], columns split (last hidden layer: + the head's backward)
        case policyBackward  // critic layer i input gradient, columns split (layer 0: action columns, and state columns
        // with state gradients; last hidden layer: task 0 also runs the head's forward)
        case actorBackward  // layer i: task 0 input gradient, task 1 weight gradient; Adam on layer i + 1, adaptive split
        case actorFirstLayer  // layer 0 weight gradient (and dL/ds columns) and Adam, rows split; Adam on layer 1, adaptive split

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

    func describe(phase: Int) -> (name: String, layer: Int) {
        (Kind(rawValue: phase >> 16)?.name ?? "?", phase & 0xFFFF)
    }

    /// One update on a batch of `batchSize` rows (given as raw rows, valid for the call),
    /// with the learner's tensors parked in ``boxes``. Returns the critic and actor losses.
    func update(
        states: UnsafePointer<Float>, actions: UnsafePointer<Float>, nextStates: UnsafePointer<Float>,
        rewards: UnsafePointer<Float>, discounts: UnsafePointer<Float>, weights: UnsafePointer<Float>
    ) -> (Float, Float) {
        self.states = states
        self.actions = actions
        self.nextStates = nextStates
        self.rewards = rewards
        self.discounts = discounts
        self.weights = weights
        var losses: (Float, Float) = (0, 0)
        pinned(0) {
            bindLayers(clear: false)
            losses = runPhases()
            bindLayers(clear: true)
        }
        self.states = nil
        self.actions = nil
        self.nextStates = nil
        self.rewards = nil
        self.discounts = nil
        self.weights = nil
        return losses
    }

    private func runPhases() -> (Float, Float) {
        let b = batchSize, n = critic.count
        executor.start()
        executor.beginRound()
        executor.run(code(.forward))
        let criticLoss = DDPGMath.criticLoss(
            q: criticOut[n - 1], targets: targets!, weights: weights!,
            outputGradient: criticDelta[n - 1], tdErrors: tdErrors, count: b)
        for i in stride(from: n - 1, through: 1, by: -1) { executor.run(code(.criticBackward, i)) }
        executor.run(code(.criticFirstLayer))
        // The actor pass. The critic's head is linear and dL/dQ = −1/B, so the head's backward
        // needs no forward output: it runs in the phase of the last hidden layer's forward, on
        // the columns that task has just computed, and the head's forward (only the loss needs
        // it) runs beside the next backward phase. Two barriers fewer than layer by layer.
        policyCriticDelta[n - 1].update(repeating: DDPGMath.actorLossGradient(count: b), count: b)
        if n >= 2 {
            for i in 0..<(n - 1) { executor.run(code(.policyForward, i)) }
            for i in stride(from: n - 2, through: 0, by: -1) { executor.run(code(.policyBackward, i)) }
        } else {
            executor.run(code(.policyForward, 0))
            executor.run(code(.policyBackward, 0))
        }
        let actorLoss = DDPGMath.actorLoss(q: policyCriticOut[n - 1], count: b)
        for i in stride(from: actor.count - 1, through: 1, by: -1) { executor.run(code(.actorBackward, i)) }
        executor.run(code(.actorFirstLayer))
        executor.endRound()
        return (criticLoss, actorLoss)
    }

    /// The split point of `n` items between the lanes, rounded to a multiple of `align`.
    @inline(__always)
    private func split(_ n: Int, align: Int) -> Int {
        let half = (n / 2 + align - 1) / align * align
        return Swift.min(half, n)
    }

    func run(phase p: Int, task lane: Int) {
        let layer = p & 0xFFFF
        switch Kind(rawValue: p >> 16)! {
        case .forward:
            if lane == 1 { forwardTargets() } else { forwardOnline() }
        case .criticBackward:
            backwardLayer(
                critic[layer], input: layer == 0 ? joined : criticOut[layer - 1], delta: criticDelta[layer],
                gradient: criticGradient[layer], inputDelta: criticDelta[layer == 0 ? 0 : layer - 1],
                previous: layer == 0 ? nil : (criticOut[layer - 1], critic[layer - 1].activation), lane: lane)
            if layer + 1 < critic.count { adam(.critic, layer + 1, lane: lane) }
        case .criticFirstLayer:
            firstLayer(
                critic[0], input: joined, delta: criticDelta[0], gradient: criticGradient[0],
                stateGradient: criticStateGradient, accumulate: false, lane: lane)
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
            backwardLayer(
                actor[layer], input: actorOut[layer - 1], delta: actorDelta[layer], gradient: actorGradient[layer],
                inputDelta: actorDelta[layer - 1], previous: (actorOut[layer - 1], actor[layer - 1].activation), lane: lane)
            if layer + 1 < actor.count { adam(.actor, layer + 1, lane: lane) }
        case .actorFirstLayer:
            firstLayer(
                actor[0], input: states!, delta: actorDelta[0], gradient: actorGradient[0],
                stateGradient: actorStateGradient, accumulate: true, lane: lane)
            adamFirstLayer(.actor, lane: lane)
            if actor.count > 1 { adam(.actor, 1, lane: lane) }
        }
    }

    /// After a phase that holds a layer's Adam step, shifts task 0's share of it by a
    /// quarter of the two tasks' relative time difference (kept within 5–95%): the lanes'
    /// speeds can differ, and Adam is the only work of a phase that can move between them
    /// without changing a single bit of the results.
    func balance(phase p: Int, task0Nanoseconds: UInt64, task1Nanoseconds: UInt64) {
        let layer = p & 0xFFFF
        let (t0, t1) = (Double(task0Nanoseconds), Double(task1Nanoseconds))
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

    /// `output[:, columns] = f(input · W[:, columns] + b[columns])`.
    @inline(__always)
    private func dense(_ l: RawDense, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        let c0 = columns.lowerBound
        UnsafeKernels.gemm(
            transposeA: false, transposeB: false, m: batchSize, n: columns.count, k: l.inputs,
            a: input, lda: l.inputs, b: l.weight! + c0, ldb: l.outputs, c: output + c0, ldc: l.outputs)
        UnsafeKernels.biasActivation(
            output + c0, ld: l.outputs, bias: l.bias! + c0, rows: batchSize, columns: columns.count,
            activation: l.activation)
    }

    private func join(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let s = stateSize, k = actionSize, w = s + k
        for r in 0..<batchSize {
            (out + r * w).update(from: a + r * s, count: s)
            (out + r * w + s).update(from: b + r * k, count: k)
        }
    }

    /// Lane 1 of the forward phase: `μ'(s')`, its projection (if any), `Q'(s', ·)` and the TD targets.
    private func forwardTargets() {
        let nextStates = nextStates!
        for i in targetActor.indices {
            let l = targetActor[i]
            dense(l, input: i == 0 ? nextStates : UnsafePointer(targetActorOut[i - 1]), output: targetActorOut[i], columns: 0..<l.outputs)
        }
        let top = targetActorOut[targetActor.count - 1]
        if projection != nil {
            let count = batchSize * actionSize
            projected.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: top, count: count) }
            projection!.project(&projected)
            projected.withUnsafeBufferPointer { join(nextStates, $0.baseAddress!, into: targetJoined) }
        } else {
            join(nextStates, top, into: targetJoined)
        }
        for i in targetCritic.indices {
            let l = targetCritic[i]
            dense(l, input: UnsafePointer(i == 0 ? targetJoined : targetCriticOut[i - 1]), output: targetCriticOut[i], columns: 0..<l.outputs)
        }
        DDPGMath.tdTargets(
            rewards: rewards!, discounts: discounts!, q1: targetCriticOut[targetCritic.count - 1], q2: nil,
            gamma: gamma, into: targets!, count: batchSize)
    }

    private func forwardOnline() {
        let states = states!
        join(states, actions!, into: joined)
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
    private func backwardLayer(
        _ l: RawDense, input: UnsafePointer<Float>, delta: UnsafePointer<Float>,
        gradient: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>),
        inputDelta: UnsafeMutablePointer<Float>,
        previous: (UnsafeMutablePointer<Float>, Int32)?, lane: Int
    ) {
        let b = batchSize
        if lane == 0 {
            guard let previous else { return }
            UnsafeKernels.gemm(
                transposeA: false, transposeB: true, m: b, n: l.inputs, k: l.outputs,
                a: delta, lda: l.outputs, b: l.weight!, ldb: l.outputs, c: inputDelta, ldc: l.inputs)
            UnsafeKernels.activationBackward(
                inputDelta, ldDelta: l.inputs, output: previous.0, ldY: l.inputs,
                rows: b, columns: l.inputs, activation: previous.1)
        } else {
            UnsafeKernels.gemm(
                transposeA: true, transposeB: false, m: l.inputs, n: l.outputs, k: b,
                a: input, lda: l.inputs, b: delta, ldb: l.outputs, c: gradient.0, ldc: l.outputs)
            UnsafeKernels.columnSums(delta, rows: b, columns: l.outputs, into: gradient.1)
        }
    }

    /// A first layer's backward on the lane's rows of `W`: `dW[rows] = input[:, rows]ᵀ · delta`
    /// (lane 1 also `db`) and, with `stateGradient`, its columns `rows ∩ [0, S)` of
    /// `dL/ds = delta · W[0..<S]ᵀ` (added to what `stateGradient` holds when `accumulate`),
    /// both read before the lane's Adam step moves those rows.
    private func firstLayer(
        _ l: RawDense, input: UnsafePointer<Float>, delta: UnsafePointer<Float>,
        gradient: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>),
        stateGradient: UnsafeMutablePointer<Float>?, accumulate: Bool, lane: Int
    ) {
        let b = batchSize
        let (r0, r1) = firstLayerRows(l, lane: lane)
        if r1 > r0 {
            UnsafeKernels.gemm(
                transposeA: true, transposeB: false, m: r1 - r0, n: l.outputs, k: b,
                a: input + r0, lda: l.inputs, b: delta, ldb: l.outputs,
                c: gradient.0 + r0 * l.outputs, ldc: l.outputs)
        }
        if lane == 1 { UnsafeKernels.columnSums(delta, rows: b, columns: l.outputs, into: gradient.1) }
        let s = stateSize, c1 = Swift.min(r1, s)
        if let stateGradient, c1 > r0 {
            UnsafeKernels.gemm(
                transposeA: false, transposeB: true, m: b, n: c1 - r0, k: l.outputs,
                a: delta, lda: l.outputs, b: l.weight! + r0 * l.outputs, ldb: l.outputs,
                beta: accumulate ? 1 : 0, c: stateGradient + r0, ldc: s)
        }
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
        let m = bias ? l.moments.2! : l.moments.0!, v = bias ? l.moments.3! : l.moments.1!
        let step = isCritic ? criticStep : actorStep
        let p = bias ? l.bias! : l.weight!, target = bias ? t.bias! : t.weight!, gradient = bias ? g.1 : g.0
        UnsafeKernels.adamStep(
            parameters: p + offset, gradient: gradient + offset, firstMoment: m + offset,
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
    /// for layer 0 the action columns, into the actor's output delta (times tanh'), and with
    /// state gradients the state columns, into `dL_actor/ds`.
    private func policyBackward(_ i: Int, lane: Int) {
        let l = critic[i], b = batchSize
        let delta = policyCriticDelta[i]
        if i > 0 {
            let cut = split(l.inputs, align: 16)
            let c0 = lane == 0 ? 0 : cut, c1 = lane == 0 ? cut : l.inputs
            guard c1 > c0 else { return }
            let out = policyCriticDelta[i - 1]
            UnsafeKernels.gemm(
                transposeA: false, transposeB: true, m: b, n: c1 - c0, k: l.outputs,
                a: delta, lda: l.outputs, b: l.weight! + c0 * l.outputs, ldb: l.outputs, c: out + c0, ldc: l.inputs)
            UnsafeKernels.activationBackward(
                out + c0, ldDelta: l.inputs, output: policyCriticOut[i - 1] + c0, ldY: l.inputs,
                rows: b, columns: c1 - c0, activation: critic[i - 1].activation)
        } else {
            let k = actionSize, s = stateSize
            if let stateGradient = actorStateGradient {
                let cut = split(s, align: 16)
                let c0 = lane == 0 ? 0 : cut, c1 = lane == 0 ? cut : s
                if c1 > c0 {
                    UnsafeKernels.gemm(
                        transposeA: false, transposeB: true, m: b, n: c1 - c0, k: l.outputs,
                        a: delta, lda: l.outputs, b: l.weight! + c0 * l.outputs, ldb: l.outputs,
                        c: stateGradient + c0, ldc: s)
                }
            }
            let cut = split(k, align: 16)
            let c0 = lane == 0 ? 0 : cut, c1 = lane == 0 ? cut : k
            guard c1 > c0 else { return }
            let top = actor.count - 1
            let out = actorDelta[top]
            UnsafeKernels.gemm(
                transposeA: false, transposeB: true, m: b, n: c1 - c0, k: l.outputs,
                a: delta, lda: l.outputs, b: l.weight! + (s + c0) * l.outputs, ldb: l.outputs, c: out + c0, ldc: k)
            UnsafeKernels.activationBackward(
                out + c0, ldDelta: k, output: actorOut[top] + c0, ldY: k,
                rows: b, columns: c1 - c0, activation: actor[top].activation)
        }
    }
}
