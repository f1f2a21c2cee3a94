import RecRLTensor
import RecRLNN
import RecRLAgents

/// The sizes of DeepPage's networks (``DeepPageConfiguration/networkShape``): what one
/// observation row holds and how wide each part of the encoder, actor and critic is.
///
/// An observation row is `[history | historyMask | pages | pageMask]`:
/// - `history`: ``historyLength`` item embeddings of ``embeddingSize`` (oldest first, the
///   valid ones a prefix), `historyMask` 1 for a valid slot, 0 for padding;
/// - `pages`: ``recentPages`` grids of ``rows`` × ``columns`` positions (oldest page
///   first, valid pages a prefix), each position ``pageChannels`` values
///   `[item embedding | category | feedback]` (NHWC, row-major positions), `pageMask` 1
///   for a page that was shown.
public struct DeepPageShape: Sendable, Equatable, Codable {
    /// `k`, the item embedding width.
    public var embeddingSize: Int
    /// Category channels per item (0 when the catalogue has none).
    public var categoryChannels: Int
    /// `N`, history items the initial-state GRU reads.
    public var historyLength: Int
    /// `M`, recent pages the page GRU reads.
    public var recentPages: Int
    /// `h`, rows of a page.
    public var rows: Int
    /// `w`, columns of a page.
    public var columns: Int
    /// Width of both GRUs' state and of the encoded state.
    public var stateSize: Int
    /// Filters of the page CNNs (the encoder's and the critic's).
    public var convolutionFilters: Int
    /// Channels of the actor's deconvolution input grid.
    public var deconvolutionChannels: Int
    /// Width of the critic's hidden layer.
    public var criticHiddenSize: Int

    /// A shape with every size given (see each property).
    public init(
        embeddingSize: Int, categoryChannels: Int, historyLength: Int, recentPages: Int, rows: Int, columns: Int,
        stateSize: Int, convolutionFilters: Int, deconvolutionChannels: Int, criticHiddenSize: Int
    ) {
        self.embeddingSize = embeddingSize
        self.categoryChannels = categoryChannels
        self.historyLength = historyLength
        self.recentPages = recentPages
        self.rows = rows
        self.columns = columns
        self.stateSize = stateSize
        self.convolutionFilters = convolutionFilters
        self.deconvolutionChannels = deconvolutionChannels
        self.criticHiddenSize = criticHiddenSize
    }

    /// Channels per page position: `k + categoryChannels + 1` (the feedback).
    public var pageChannels: Int { embeddingSize + categoryChannels + 1 }
    /// Positions of a page, `h · w`.
    public var positions: Int { rows * columns }
    /// Width of one page grid, `h · w · pageChannels`.
    public var pageWidth: Int { positions * pageChannels }
    /// Width of an observation row.
    public var observationSize: Int { historyLength * (embeddingSize + 1) + recentPages * (pageWidth + 1) }
    /// Width of an action: `h · w · k`, a page of embeddings, row-major positions.
    public var actionSize: Int { positions * embeddingSize }
    /// Kernel of the page CNNs: 2 × 2, or the page's size along a dimension of 1.
    var kernel: (height: Int, width: Int) { (min(2, rows), min(2, columns)) }
    /// Grid of the actor's deconvolution input: `⌈h/2⌉ × ⌈w/2⌉`.
    var seed: (height: Int, width: Int) { ((rows + 1) / 2, (columns + 1) / 2) }

    func validate() throws(DRRError) {
        let values = [
            embeddingSize, historyLength, recentPages, rows, columns, stateSize, convolutionFilters,
            deconvolutionChannels, criticHiddenSize,
        ]
        guard values.allSatisfy({ $0 >= 1 }), categoryChannels >= 0 else {
            throw .invalidConfiguration("DeepPage sizes must be positive (categories non-negative), got \(self)")
        }
    }
}

/// Column ranges of an observation row.
extension DeepPageShape {
    var historyColumns: Range<Int> { 0..<historyLength * embeddingSize }
    var historyMaskColumns: Range<Int> { historyColumns.upperBound..<historyColumns.upperBound + historyLength }
    var pageColumns: Range<Int> { historyMaskColumns.upperBound..<historyMaskColumns.upperBound + recentPages * pageWidth }
    var pageMaskColumns: Range<Int> { pageColumns.upperBound..<pageColumns.upperBound + recentPages }
}

/// `dst[r, 0..<w] = src[r, columns]` for every row, with `dst` made `[rows · w / width, width]`:
/// a row-major `[rows, w]` block viewed as rows of `width` (`width` divides `w`), without
/// building a new shape array when `dst` already has that shape.
func gatherColumns(_ src: Tensor, _ columns: Range<Int>, into dst: inout Tensor, width: Int) {
    let c = src.columns, w = columns.count, rows = src.rows
    dst.prepare(rows: rows * w / width, columns: width)
    src.withUnsafeBufferPointer { s in
        dst.withUnsafeMutableBufferPointer { d in
            for r in 0..<rows {
                (d.baseAddress! + r * w).update(from: s.baseAddress! + r * c + columns.lowerBound, count: w)
            }
        }
    }
}

/// `dst[r, columns] = src[r, 0..<w]` for every row (`src` holds `rows · w` scalars).
func placeColumns(_ src: Tensor, into dst: inout Tensor, _ columns: Range<Int>) {
    let c = dst.columns, w = columns.count, rows = dst.rows
    src.withUnsafeBufferPointer { s in
        dst.withUnsafeMutableBufferPointer { d in
            for r in 0..<rows {
                (d.baseAddress! + r * c + columns.lowerBound).update(from: s.baseAddress! + r * w, count: w)
            }
        }
    }
}

/// DeepPage's state encoder (Zhao et al., page-wise recommendations, section 2.2): a GRU
/// over the user's browsing history gives the initial state `h_0`; a CNN encodes each
/// recent page's grid of `[item embedding, category, feedback]`; a GRU started from
/// `h_0` runs over the page encodings; additive attention pools `[h_0, h_1 … h_M]` into
/// the state `s`. Pooling `h_0` with the page states (ours) gives a user who has seen no
/// page yet the history state instead of the zero vector.
///
/// The input is `[batch, observationSize]` (``DeepPageShape``), the output `[batch,
/// stateSize]`. Masked history slots and pages influence nothing; the mask columns get a
/// zero input gradient.
public struct DeepPageStateEncoder: Layer {
    /// The sizes.
    public let shape: DeepPageShape
    /// GRU over the history's item embeddings (`k → stateSize`).
    public var historyGRU: GRU
    /// CNN over one page's grid (`h × w × pageChannels → filters`, ReLU).
    public var pageConvolution: Conv2D
    /// GRU over the page encodings (`→ stateSize`), started from `h_0`.
    public var pageGRU: GRU
    /// Additive attention over `[h_0, h_1 … h_M]`.
    public var attention: AttentionPooling

    /// An encoder of `shape` with freshly initialised weights.
    public init<G: RandomNumberGenerator>(shape: DeepPageShape, using rng: inout G) throws(DRRError) {
        try shape.validate()
        self.shape = shape
        let h = shape.stateSize
        historyGRU = GRU(inputSize: shape.embeddingSize, hiddenSize: h, using: &rng)
        do {
            pageConvolution = try Conv2D(
                inputHeight: shape.rows, inputWidth: shape.columns, inChannels: shape.pageChannels,
                outChannels: shape.convolutionFilters, kernelHeight: shape.kernel.height,
                kernelWidth: shape.kernel.width, activation: .relu, using: &rng)
        } catch {
            throw .invalidConfiguration("DeepPage page CNN: \(error)")
        }
        let encoded = pageConvolution.outputHeight * pageConvolution.outputWidth * shape.convolutionFilters
        pageGRU = GRU(inputSize: encoded, hiddenSize: h, using: &rng)
        attention = AttentionPooling(additiveOfSize: h, attentionSize: h, using: &rng)
    }

    /// Buffers for one batch.
    public struct Context: LayerContext {
        public internal(set) var output = Tensor(zeros: [0])
        public internal(set) var inputGradient = Tensor(zeros: [0])
        var history = Tensor(zeros: [0]), historyMask = Tensor(zeros: [0])
        var pages = Tensor(zeros: [0]), pageMask = Tensor(zeros: [0])
        var sequence = Tensor(zeros: [0]), sequenceMask = Tensor(zeros: [0])
        var pageSteps = Tensor(zeros: [0])
        var historyGRU: GRU.Context, convolution: Conv2D.Context, pageGRU: GRU.Context
        var attention: AttentionPooling.Context
        var initialGradient = Tensor(zeros: [0]), stepGradient = Tensor(zeros: [0]), gridGradient = Tensor(zeros: [0])
    }

    public func makeContext() -> Context {
        Context(
            historyGRU: historyGRU.makeContext(), convolution: pageConvolution.makeContext(), pageGRU: pageGRU.makeContext(),
            attention: attention.makeContext())
    }

    public func forward(_ input: Tensor, context c: inout Context) {
        let s = shape, b = input.rows, m = s.recentPages
        precondition(
            input.rank == 2 && input.columns == s.observationSize,
            "DeepPageStateEncoder needs [batch, \(s.observationSize)], got \(input.shape)")
        input.sliceColumns(s.historyColumns, into: &c.history)
        input.sliceColumns(s.historyMaskColumns, into: &c.historyMask)
        // [b, M · pageWidth] row-major is [b · M, pageWidth]: one convolution over every page.
        gatherColumns(input, s.pageColumns, into: &c.pages, width: s.pageWidth)
        input.sliceColumns(s.pageMaskColumns, into: &c.pageMask)
        historyGRU.forward(c.history, initialState: nil, mask: c.historyMask, context: &c.historyGRU)
        pageConvolution.forward(c.pages, context: &c.convolution)
        c.pageSteps.prepare(rows: b, columns: m * c.convolution.output.columns)
        c.pageSteps.withUnsafeMutableBufferPointer { d in
            c.convolution.output.withUnsafeBufferPointer { d.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        }
        pageGRU.forward(c.pageSteps, initialState: c.historyGRU.finalState, mask: c.pageMask, context: &c.pageGRU)
        Tensor.concatenateColumns(c.historyGRU.finalState, c.pageGRU.output, into: &c.sequence)
        c.sequenceMask.prepare(rows: b, columns: m + 1)
        c.sequenceMask.withUnsafeMutableBufferPointer { d in
            c.pageMask.withUnsafeBufferPointer { p in
                for r in 0..<b {
                    d[r * (m + 1)] = 1
                    for j in 0..<m { d[r * (m + 1) + 1 + j] = p[r * m + j] }
                }
            }
        }
        attention.forward(c.sequence, mask: c.sequenceMask, context: &c.attention)
        c.output.assign(c.attention.output)
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context c: inout Context, gradient g: inout DeepPageStateEncoder,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        let s = shape, b = c.output.rows, h = s.stateSize, m = s.recentPages
        attention.backward(
            input: c.sequence, outputGradient: outputGradient, context: &c.attention, gradient: &g.attention,
            computeParameterGradient: computeParameterGradient, computeInputGradient: true)
        c.attention.inputGradient.sliceColumns(0..<h, into: &c.initialGradient)
        c.attention.inputGradient.sliceColumns(h..<(m + 1) * h, into: &c.stepGradient)
        pageGRU.backward(
            input: c.pageSteps, outputGradient: c.stepGradient, finalStateGradient: nil, context: &c.pageGRU,
            gradient: &g.pageGRU, computeParameterGradient: computeParameterGradient, computeInputGradient: true)
        c.initialGradient.addScaled(c.pageGRU.initialStateGradient, by: 1)
        c.gridGradient.prepare(rows: b * m, columns: c.convolution.output.columns)
        c.gridGradient.withUnsafeMutableBufferPointer { d in
            c.pageGRU.inputGradient.withUnsafeBufferPointer { d.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        }
        pageConvolution.backward(
            input: c.pages, outputGradient: c.gridGradient, context: &c.convolution,
            gradient: &g.pageConvolution, computeParameterGradient: computeParameterGradient,
            computeInputGradient: computeInputGradient)
        historyGRU.backward(
            input: c.history, outputGradient: nil, finalStateGradient: c.initialGradient,
            context: &c.historyGRU, gradient: &g.historyGRU,
            computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
        guard computeInputGradient else { return }
        c.inputGradient.prepare(rows: b, columns: s.observationSize)
        c.inputGradient.fill(0)
        placeColumns(c.historyGRU.inputGradient, into: &c.inputGradient, s.historyColumns)
        placeColumns(c.convolution.inputGradient, into: &c.inputGradient, s.pageColumns)
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try historyGRU.visitParameters { try body("history_gru." + $0, &$1) }
        try pageConvolution.visitParameters { try body("page_cnn." + $0, &$1) }
        try pageGRU.visitParameters { try body("page_gru." + $0, &$1) }
        try attention.visitParameters { try body("attention." + $0, &$1) }
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try historyGRU.forEachParameter { try body("history_gru." + $0, $1) }
        try pageConvolution.forEachParameter { try body("page_cnn." + $0, $1) }
        try pageGRU.forEachParameter { try body("page_gru." + $0, $1) }
        try attention.forEachParameter { try body("attention." + $0, $1) }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        historyGRU.updateParameters(body)
        pageConvolution.updateParameters(body)
        pageGRU.updateParameters(body)
        attention.updateParameters(body)
    }

    public mutating func updateParameters(pairedWith other: DeepPageStateEncoder, _ body: (inout Tensor, Tensor) -> Void) {
        historyGRU.updateParameters(pairedWith: other.historyGRU, body)
        pageConvolution.updateParameters(pairedWith: other.pageConvolution, body)
        pageGRU.updateParameters(pairedWith: other.pageGRU, body)
        attention.updateParameters(pairedWith: other.attention, body)
    }
}

/// DeepPage's actor (section 2.3): the state encoder, a dense layer to a `⌈h/2⌉ × ⌈w/2⌉`
/// grid of ``DeepPageShape/deconvolutionChannels`` (ReLU), and a transposed convolution
/// (kernel `⌊h/2⌋+1 × ⌊w/2⌋+1`, stride 1) to the `h × w` page of `k`-wide embeddings
/// (tanh). The action is `[batch, h · w · k]`, positions row-major; ``DeepPageModel``
/// maps it to distinct real items.
public struct DeepPageActor: Actor {
    /// The state encoder.
    public var encoder: DeepPageStateEncoder
    /// State → seed grid (ReLU).
    public var projection: Dense
    /// Seed grid → page of embeddings (tanh).
    public var deconvolution: ConvTranspose2D

    /// An actor of `shape` with freshly initialised weights.
    public init<G: RandomNumberGenerator>(shape: DeepPageShape, using rng: inout G) throws(DRRError) {
        encoder = try DeepPageStateEncoder(shape: shape, using: &rng)
        let seed = shape.seed, d = shape.deconvolutionChannels
        projection = Dense(inputSize: shape.stateSize, outputSize: seed.height * seed.width * d, activation: .relu, using: &rng)
        do {
            deconvolution = try ConvTranspose2D(
                inputHeight: seed.height, inputWidth: seed.width, inChannels: d, outChannels: shape.embeddingSize,
                kernelHeight: shape.rows - seed.height + 1, kernelWidth: shape.columns - seed.width + 1,
                activation: .tanh, using: &rng)
        } catch {
            throw .invalidConfiguration("DeepPage deconvolution: \(error)")
        }
    }

    public var stateSize: Int { encoder.shape.observationSize }
    public var actionSize: Int { encoder.shape.actionSize }
    public var actionSpec: BoundedSpec { BoundedSpec(shape: [actionSize], minimum: -1, maximum: 1, name: "page") }

    /// Buffers for one batch.
    public struct Context: LayerContext {
        var encoder: DeepPageStateEncoder.Context, projection: Dense.Context, deconvolution: ConvTranspose2D.Context
        /// The pages of embeddings of the most recent forward pass.
        public var output: Tensor { deconvolution.output }
        /// dL/d(observation) of the most recent backward pass with `computeInputGradient`.
        public var inputGradient: Tensor { encoder.inputGradient }
    }

    public func makeContext() -> Context {
        Context(encoder: encoder.makeContext(), projection: projection.makeContext(), deconvolution: deconvolution.makeContext())
    }

    public func forward(_ input: Tensor, context c: inout Context) {
        encoder.forward(input, context: &c.encoder)
        projection.forward(c.encoder.output, context: &c.projection)
        deconvolution.forward(c.projection.output, context: &c.deconvolution)
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context c: inout Context, gradient g: inout DeepPageActor,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        deconvolution.backward(
            input: c.projection.output, outputGradient: outputGradient, context: &c.deconvolution,
            gradient: &g.deconvolution, computeParameterGradient: computeParameterGradient,
            computeInputGradient: true)
        projection.backward(
            input: c.encoder.output, outputGradient: c.deconvolution.inputGradient, context: &c.projection,
            gradient: &g.projection, computeParameterGradient: computeParameterGradient, computeInputGradient: true)
        encoder.backward(
            input: input, outputGradient: c.projection.inputGradient, context: &c.encoder, gradient: &g.encoder,
            computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try encoder.visitParameters { try body("encoder." + $0, &$1) }
        try projection.visitParameters { try body("projection." + $0, &$1) }
        try deconvolution.visitParameters { try body("deconvolution." + $0, &$1) }
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try encoder.forEachParameter { try body("encoder." + $0, $1) }
        try projection.forEachParameter { try body("projection." + $0, $1) }
        try deconvolution.forEachParameter { try body("deconvolution." + $0, $1) }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        encoder.updateParameters(body)
        projection.updateParameters(body)
        deconvolution.updateParameters(body)
    }

    public mutating func updateParameters(pairedWith other: DeepPageActor, _ body: (inout Tensor, Tensor) -> Void) {
        encoder.updateParameters(pairedWith: other.encoder, body)
        projection.updateParameters(pairedWith: other.projection, body)
        deconvolution.updateParameters(pairedWith: other.deconvolution, body)
    }
}

/// DeepPage's critic (section 2.4): the observation through its own state encoder, the
/// page of embeddings through a CNN of the same kernel (ReLU), the two concatenated, then
/// a hidden layer (ReLU) and a linear output `Q(s, a)`. The input is `[observation |
/// action]`, as ``Critic`` requires.
public struct DeepPageCritic: Critic {
    /// The state encoder (the critic's own).
    public var encoder: DeepPageStateEncoder
    /// CNN over the action page (`h × w × k → filters`, ReLU).
    public var pageConvolution: Conv2D
    /// `[state | page encoding] → hidden` (ReLU).
    public var hidden: Dense
    /// `hidden → Q`.
    public var output: Dense

    /// A critic of `shape` with freshly initialised weights.
    public init<G: RandomNumberGenerator>(shape: DeepPageShape, using rng: inout G) throws(DRRError) {
        encoder = try DeepPageStateEncoder(shape: shape, using: &rng)
        do {
            pageConvolution = try Conv2D(
                inputHeight: shape.rows, inputWidth: shape.columns, inChannels: shape.embeddingSize,
                outChannels: shape.convolutionFilters, kernelHeight: shape.kernel.height,
                kernelWidth: shape.kernel.width, activation: .relu, using: &rng)
        } catch {
            throw .invalidConfiguration("DeepPage critic CNN: \(error)")
        }
        let encoded = pageConvolution.outputHeight * pageConvolution.outputWidth * shape.convolutionFilters
        hidden = Dense(inputSize: shape.stateSize + encoded, outputSize: shape.criticHiddenSize, activation: .relu, using: &rng)
        output = Dense(inputSize: shape.criticHiddenSize, outputSize: 1, using: &rng)
    }

    public var stateSize: Int { encoder.shape.observationSize }
    public var actionSize: Int { encoder.shape.actionSize }

    /// Buffers for one batch.
    public struct Context: LayerContext {
        var observation = Tensor(zeros: [0]), action = Tensor(zeros: [0])
        var encoder: DeepPageStateEncoder.Context, convolution: Conv2D.Context
        var join = ColumnConcatenation()
        var hidden: Dense.Context, value: Dense.Context
        var gradient = Tensor(zeros: [0])
        /// `Q` of the most recent forward pass, `[batch, 1]`.
        public var output: Tensor { value.output }
        /// dL/d[observation | action] of the most recent backward pass.
        public var inputGradient: Tensor { gradient }
    }

    public func makeContext() -> Context {
        Context(
            encoder: encoder.makeContext(), convolution: pageConvolution.makeContext(), hidden: hidden.makeContext(),
            value: output.makeContext())
    }

    public func forward(_ input: Tensor, context c: inout Context) {
        let s = stateSize
        precondition(
            input.rank == 2 && input.columns == s + actionSize,
            "DeepPageCritic needs [batch, \(s + actionSize)], got \(input.shape)")
        input.sliceColumns(0..<s, into: &c.observation)
        input.sliceColumns(s..<s + actionSize, into: &c.action)
        encoder.forward(c.observation, context: &c.encoder)
        pageConvolution.forward(c.action, context: &c.convolution)
        c.join.join(c.encoder.output, c.convolution.output)
        hidden.forward(c.join.joined, context: &c.hidden)
        output.forward(c.hidden.output, context: &c.value)
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context c: inout Context, gradient g: inout DeepPageCritic,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        output.backward(
            input: c.hidden.output, outputGradient: outputGradient, context: &c.value, gradient: &g.output,
            computeParameterGradient: computeParameterGradient, computeInputGradient: true)
        hidden.backward(
            input: c.join.joined, outputGradient: c.value.inputGradient, context: &c.hidden, gradient: &g.hidden,
            computeParameterGradient: computeParameterGradient, computeInputGradient: true)
        c.join.split(c.hidden.inputGradient, first: true, second: true)
        pageConvolution.backward(
            input: c.action, outputGradient: c.join.secondGradient, context: &c.convolution,
            gradient: &g.pageConvolution, computeParameterGradient: computeParameterGradient,
            computeInputGradient: computeInputGradient)
        // The encoder's parameters need its backward pass; its input gradient only when asked.
        if computeParameterGradient || computeInputGradient {
            encoder.backward(
                input: c.observation, outputGradient: c.join.firstGradient, context: &c.encoder, gradient: &g.encoder,
                computeParameterGradient: computeParameterGradient, computeInputGradient: computeInputGradient)
        }
        guard computeInputGradient else { return }
        Tensor.concatenateColumns(c.encoder.inputGradient, c.convolution.inputGradient, into: &c.gradient)
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try encoder.visitParameters { try body("encoder." + $0, &$1) }
        try pageConvolution.visitParameters { try body("page_cnn." + $0, &$1) }
        try hidden.visitParameters { try body("hidden." + $0, &$1) }
        try output.visitParameters { try body("output." + $0, &$1) }
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try encoder.forEachParameter { try body("encoder." + $0, $1) }
        try pageConvolution.forEachParameter { try body("page_cnn." + $0, $1) }
        try hidden.forEachParameter { try body("hidden." + $0, $1) }
        try output.forEachParameter { try body("output." + $0, $1) }
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        encoder.updateParameters(body)
        pageConvolution.updateParameters(body)
        hidden.updateParameters(body)
        output.updateParameters(body)
    }

    public mutating func updateParameters(pairedWith other: DeepPageCritic, _ body: (inout Tensor, Tensor) -> Void) {
        encoder.updateParameters(pairedWith: other.encoder, body)
        pageConvolution.updateParameters(pairedWith: other.pageConvolution, body)
        hidden.updateParameters(pairedWith: other.hidden, body)
        output.updateParameters(pairedWith: other.output, body)
    }
}
