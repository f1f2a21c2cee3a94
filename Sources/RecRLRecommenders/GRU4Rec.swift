import Foundation
import RecRLData
import RecRLNN
import RecRLTensor

/// Settings of ``GRU4RecRecommender``.
///
/// Training is next-item prediction over each user's chronological training sequence with
/// the session-parallel mini-batches of Hidasi et al. (ICLR 2016, §3.1.1), cut into
/// truncated back-propagation windows: ``batchSize`` lanes each hold one user's sequence,
/// every mini-batch advances each lane by up to ``truncation`` steps (item `t` is the input,
/// item `t + 1` the target), the recurrent state carries over to the lane's next mini-batch
/// without a gradient across the boundary, and a lane whose sequence ends takes the next
/// user from a zero state. Users are drawn in a new random order every epoch.
///
/// The loss is the cross-entropy of a softmax over the **whole catalogue** at every step
/// (``SoftmaxCrossEntropy``, averaged over the mini-batch's steps), not the paper's sampled
/// TOP1/BPR losses: on catalogues of thousands to tens of thousands of items the full softmax
/// is one `[steps, hiddenSize] × [hiddenSize, items]` GEMM per mini-batch, it has no
/// sampling noise, and it is the objective later GRU4Rec work found strongest. Its cost
/// grows with `items · hiddenSize` per step, so catalogues of millions of items would need
/// sampled negatives instead.
public struct GRU4RecConfiguration: Sendable, Equatable {
    /// Width of the input item embeddings (default 64).
    public var embeddingSize: Int
    /// Width of the GRU state (default 100, the paper's size on its smaller data set).
    public var hiddenSize: Int
    /// Adam's step size (default 0.002).
    public var learningRate: Float
    /// Passes over every training sequence (default 10).
    public var epochs: Int
    /// Parallel sequences per mini-batch (default 32).
    public var batchSize: Int
    /// Steps per mini-batch: the back-propagation-through-time window (default 20).
    public var truncation: Int
    /// The gradient's global norm over all parameters is clipped to this (default 5).
    public var maxGradientNorm: Float

    /// Creates a configuration; every parameter has the documented default.
    public init(
        embeddingSize: Int = 64, hiddenSize: Int = 100, learningRate: Float = 0.002, epochs: Int = 10,
        batchSize: Int = 32, truncation: Int = 20, maxGradientNorm: Float = 5
    ) {
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.learningRate = learningRate
        self.epochs = epochs
        self.batchSize = batchSize
        self.truncation = truncation
        self.maxGradientNorm = maxGradientNorm
    }

    /// Throws ``RecommenderError/invalidParameter(_:)`` naming the first value out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw RecommenderError.invalidParameter("GRU4Rec " + message()) }
        }
        try check(embeddingSize > 0, "embeddingSize must be positive, got \(embeddingSize)")
        try check(hiddenSize > 0, "hiddenSize must be positive, got \(hiddenSize)")
        try check(learningRate > 0 && learningRate.isFinite, "learningRate must be a positive number, got \(learningRate)")
        try check(epochs >= 0, "epochs must be non-negative, got \(epochs)")
        try check(batchSize > 0, "batchSize must be positive, got \(batchSize)")
        try check(truncation > 0, "truncation must be positive, got \(truncation)")
        try check(maxGradientNorm > 0 && maxGradientNorm.isFinite, "maxGradientNorm must be a positive number, got \(maxGradientNorm)")
    }
}

/// GRU4Rec (Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks",
/// ICLR 2016) as a next-item model over each user's training history: an item
/// ``Embedding``, one ``GRU`` layer and a ``Dense`` output layer giving one logit per item.
///
/// ``fit(train:)`` trains it as ``GRU4RecConfiguration`` describes, then runs every user's
/// whole training sequence (all interactions in time order, whatever their rating: each is
/// an event, like a click in the paper) through the GRU once and keeps the final state. A
/// user's scores are the output layer's logits at that state: the predicted distribution of
/// the user's next item. Users without training interactions get the output bias alone.
/// Everything random (initialisation, the per-epoch user order) comes from ``seed``.
public struct GRU4RecRecommender: Recommender, Sendable {
    /// `gru4rec`.
    public var name: String { "gru4rec" }
    /// The hyper-parameters.
    public var configuration: GRU4RecConfiguration
    /// Seed of the initialisation and the user order.
    public var seed: UInt64
    /// Mean training loss (cross-entropy per predicted step) of each epoch of the last fit.
    public private(set) var epochLosses: [Float] = []

    private var embedding: Embedding?
    private var gru: GRU?
    private var output: Dense?
    /// The state after each user's training sequence, `[users, hiddenSize]`.
    private var userStates = Tensor(zeros: [0, 0])

    /// Creates an unfitted model.
    public init(configuration: GRU4RecConfiguration = GRU4RecConfiguration(), seed: UInt64 = 0) {
        self.configuration = configuration
        self.seed = seed
    }

    /// Trains on `train` (see the type) and encodes every user's training sequence.
    /// - Throws: ``RecommenderError/invalidParameter(_:)`` for a bad configuration, or a
    ///   catalogue too large for indices held exactly as float32 (2²⁴ items).
    public mutating func fit(train: InteractionDataset) throws {
        try configuration.validate()
        let items = train.itemCount
        guard items > 0, items < 1 << 24 else {
            throw RecommenderError.invalidParameter("GRU4Rec needs between 1 and 2^24 items, got \(items)")
        }
        let c = configuration
        var rng = SplitMix64(seed: seed)
        var embedding = Embedding(count: items, dimension: c.embeddingSize, standardDeviation: 0.1, using: &rng)
        var gru = GRU(inputSize: c.embeddingSize, hiddenSize: c.hiddenSize, using: &rng)
        var output = Dense(inputSize: c.hiddenSize, outputSize: items, using: &rng)
        let sequences = DatasetTransforms.chronologicalRowsByUser(train).map { rows in rows.map { train.items[$0] } }

        let trainable = sequences.indices.filter { sequences[$0].count >= 2 }
        // No more lanes than sequences and no longer windows than the longest sequence: the
        // rest would be padding only (the same model, less work on small data sets).
        let longest = sequences.map(\.count).max() ?? 1
        var buffers = SequenceBatch(
            lanes: max(1, min(c.batchSize, trainable.count)), steps: max(1, min(c.truncation, longest)),
            hidden: c.hiddenSize)
        var embeddingContext = embedding.makeContext(), gruContext = gru.makeContext(), outputContext = output.makeContext()
        var embeddingGradient = embedding.zeroGradient(), gruGradient = gru.zeroGradient(), outputGradient = output.zeroGradient()
        var embeddingOptimizer = Adam(learningRate: c.learningRate), gruOptimizer = Adam(learningRate: c.learningRate)
        var outputOptimizer = Adam(learningRate: c.learningRate)
        var logits = Tensor(zeros: [0, 0])
        epochLosses = []
        for _ in 0..<c.epochs {
            var order = trainable
            order.shuffle(using: &rng)
            var lossSum = 0.0, predicted = 0
            buffers.start(order: order)
            while buffers.next(sequences: sequences, predicting: true) {
                embedding.forward(buffers.indices, context: &embeddingContext)
                gru.forward(embeddingContext.output, initialState: buffers.state, mask: buffers.mask, context: &gruContext)
                let hidden = gruContext.output.reshaped([buffers.lanes * buffers.steps, c.hiddenSize])
                output.forward(hidden, context: &outputContext)
                logits.assign(outputContext.output)
                let loss = SoftmaxCrossEntropy.replaceWithGradient(
                    &logits, targets: buffers.targets,
                    scale: 1 / Float(buffers.validSteps))
                lossSum += Double(loss)
                predicted += buffers.validSteps
                output.backward(
                    input: hidden, outputGradient: logits, context: &outputContext, gradient: &outputGradient,
                    computeParameterGradient: true, computeInputGradient: true)
                gru.backward(
                    input: embeddingContext.output, outputGradient: outputContext.inputGradient, finalStateGradient: nil,
                    context: &gruContext, gradient: &gruGradient, computeParameterGradient: true, computeInputGradient: true)
                embedding.backward(
                    input: buffers.indices, outputGradient: gruContext.inputGradient, context: &embeddingContext,
                    gradient: &embeddingGradient, computeParameterGradient: true, computeInputGradient: false)
                let norm =
                    (embeddingGradient.globalNorm.squared + gruGradient.globalNorm.squared
                    + outputGradient.globalNorm.squared).squareRoot()
                if norm > c.maxGradientNorm {
                    let factor = c.maxGradientNorm / norm
                    embeddingGradient.scaleParameters(by: factor)
                    gruGradient.scaleParameters(by: factor)
                    outputGradient.scaleParameters(by: factor)
                }
                embeddingOptimizer.update(&embedding, along: embeddingGradient)
                gruOptimizer.update(&gru, along: gruGradient)
                outputOptimizer.update(&output, along: outputGradient)
                buffers.carry(finalState: gruContext.finalState)
            }
            epochLosses.append(predicted > 0 ? Float(lossSum / Double(predicted)) : 0)
        }

        // Encode: each user's whole training sequence, from a zero state.
        userStates = Tensor(zeros: [train.userCount, c.hiddenSize])
        buffers.start(order: sequences.indices.filter { !sequences[$0].isEmpty })
        while buffers.next(sequences: sequences, predicting: false) {
            embedding.forward(buffers.indices, context: &embeddingContext)
            gru.forward(embeddingContext.output, initialState: buffers.state, mask: buffers.mask, context: &gruContext)
            buffers.carry(
                finalState: gruContext.finalState,
                finished: { user, state in
                    userStates.withUnsafeMutableBufferPointer { s in
                        (s.baseAddress! + user * c.hiddenSize).update(from: state, count: c.hiddenSize)
                    }
                })
        }
        self.embedding = embedding
        self.gru = gru
        self.output = output
    }

    /// The output layer's logits at the user's encoded state (the output bias for a user
    /// without training interactions; zeros before fitting).
    public func scores(forUser user: Int, into scores: inout [Float]) {
        guard let output else {
            scores = []
            return
        }
        let items = output.outputSize, h = output.inputSize
        if scores.count != items { scores = Array(repeating: 0, count: items) }
        output.bias.withUnsafeBufferPointer { b in
            scores.withUnsafeMutableBufferPointer { s in
                s.baseAddress!.update(from: b.baseAddress!, count: items)
                guard user >= 0, user < userStates.rows else { return }
                userStates.withUnsafeBufferPointer { states in
                    output.weight.withUnsafeBufferPointer { w in
                        let state = states.baseAddress! + user * h
                        for k in 0..<h {
                            let x = state[k], row = w.baseAddress! + k * items
                            for j in 0..<items { s[j] += x * row[j] }
                        }
                    }
                }
            }
        }
    }
}

private extension Float {
    var squared: Float { self * self }
}

/// The session-parallel mini-batches of ``GRU4RecRecommender``: `batchSize` lanes, each
/// walking one user's sequence `truncation` steps at a time, with the inputs, mask, targets
/// and carried states of the current mini-batch in reused buffers.
private struct SequenceBatch {
    let lanes: Int, steps: Int, hidden: Int
    /// `[lanes, steps]` item indices (0 at padded steps).
    var indices: Tensor
    /// `[lanes, steps]`, 1 at valid steps.
    var mask: Tensor
    /// `lanes · steps` next items, −1 at padded steps (and everywhere when encoding).
    var targets: [Int32]
    /// `[lanes, hidden]` state each lane starts the mini-batch from.
    var state: Tensor
    /// Valid steps of the current mini-batch.
    private(set) var validSteps = 0
    private var laneUser: [Int]
    private var lanePosition: [Int]
    private var laneEnds: [Bool]
    private var order: [Int] = []
    private var nextInOrder = 0

    init(lanes: Int, steps: Int, hidden: Int) {
        self.lanes = lanes
        self.steps = steps
        self.hidden = hidden
        indices = Tensor(zeros: [lanes, steps])
        mask = Tensor(zeros: [lanes, steps])
        targets = [Int32](repeating: -1, count: lanes * steps)
        state = Tensor(zeros: [lanes, hidden])
        laneUser = [Int](repeating: -1, count: lanes)
        lanePosition = [Int](repeating: 0, count: lanes)
        laneEnds = [Bool](repeating: false, count: lanes)
    }

    /// Starts a pass over the users in `order` (each with at least one input step), all lanes idle.
    mutating func start(order: [Int]) {
        self.order = order
        nextInOrder = 0
        for l in 0..<lanes { laneUser[l] = -1; lanePosition[l] = 0; laneEnds[l] = false }
        state.fill(0)
    }

    /// Fills the next mini-batch; false when every sequence is done. With `predicting`, a
    /// sequence of `n` items gives `n − 1` input steps, each with the following item as
    /// target; without, all `n` items are inputs and there are no targets.
    mutating func next(sequences: [[Int32]], predicting: Bool) -> Bool {
        let shorten = predicting ? 1 : 0
        for l in 0..<lanes where laneUser[l] < 0 && nextInOrder < order.count {
            laneUser[l] = order[nextInOrder]
            lanePosition[l] = 0
            nextInOrder += 1
        }
        validSteps = 0
        indices.withUnsafeMutableBufferPointer { x in
            mask.withUnsafeMutableBufferPointer { m in
                for l in 0..<lanes {
                    let row = l * steps
                    var valid = 0
                    if laneUser[l] >= 0 {
                        let sequence = sequences[laneUser[l]], start = lanePosition[l]
                        let length = sequence.count - shorten
                        valid = min(steps, length - start)
                        for t in 0..<valid {
                            x[row + t] = Float(sequence[start + t])
                            m[row + t] = 1
                            targets[row + t] = predicting ? sequence[start + t + 1] : -1
                        }
                        lanePosition[l] = start + valid
                        laneEnds[l] = start + valid >= length
                    }
                    for t in valid..<steps {
                        x[row + t] = 0
                        m[row + t] = 0
                        targets[row + t] = -1
                    }
                    validSteps += valid
                }
            }
        }
        return validSteps > 0
    }

    /// Takes each lane's state after the mini-batch as its next start; a lane whose sequence
    /// ended reports its user and final state to `finished`, then goes idle from a zero state.
    mutating func carry(finalState: Tensor, finished: (Int, UnsafePointer<Float>) -> Void = { _, _ in }) {
        state.assign(finalState)
        state.withUnsafeMutableBufferPointer { s in
            for l in 0..<lanes where laneUser[l] >= 0 && laneEnds[l] {
                let row = s.baseAddress! + l * hidden
                finished(laneUser[l], UnsafePointer(row))
                row.update(repeating: 0, count: hidden)
                laneUser[l] = -1
            }
        }
    }
}
