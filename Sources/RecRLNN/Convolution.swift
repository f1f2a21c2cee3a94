import RecRLTensor

/// How a kernel slides over an image: the shared geometry of ``Conv2D`` and
/// ``ConvTranspose2D``. Images are NHWC (height, width, channels; channels fastest).
///
/// For ``Conv2D`` the image is the input and the grid of kernel positions is the output;
/// for ``ConvTranspose2D`` (the adjoint) the image is the output and the grid is the input.
public struct ConvolutionGeometry: Sendable, Equatable, Codable {
    /// The image's height.
    public var imageHeight: Int
    /// The image's width.
    public var imageWidth: Int
    /// The kernel's height.
    public var kernelHeight: Int
    /// The kernel's width.
    public var kernelWidth: Int
    /// The step between kernel positions, vertically.
    public var strideHeight: Int
    /// The step between kernel positions, horizontally.
    public var strideWidth: Int
    /// Zero rows added above and below the image.
    public var paddingHeight: Int
    /// Zero columns added left and right of the image.
    public var paddingWidth: Int

    /// The number of kernel positions vertically: `(H + 2p − k) / s + 1`.
    public var gridHeight: Int { (imageHeight + 2 * paddingHeight - kernelHeight) / strideHeight + 1 }
    /// The number of kernel positions horizontally.
    public var gridWidth: Int { (imageWidth + 2 * paddingWidth - kernelWidth) / strideWidth + 1 }

    /// Throws unless every size is positive, the padding non-negative and smaller than the
    /// kernel, and the padded image at least one kernel large.
    func validate(_ operation: String) throws(TensorError) {
        let shape = [imageHeight, imageWidth, kernelHeight, kernelWidth, strideHeight, strideWidth, paddingHeight, paddingWidth]
        guard imageHeight > 0, imageWidth > 0, kernelHeight > 0, kernelWidth > 0, strideHeight > 0, strideWidth > 0,
            paddingHeight >= 0, paddingWidth >= 0, paddingHeight < kernelHeight, paddingWidth < kernelWidth,
            imageHeight + 2 * paddingHeight >= kernelHeight, imageWidth + 2 * paddingWidth >= kernelWidth
        else {
            throw .shapeMismatch(operation: "\(operation) geometry [H, W, kh, kw, sh, sw, ph, pw]", lhs: shape, rhs: [])
        }
    }

    /// Copies every kernel window of `batch` images (`[batch, H, W, channels]`) into the
    /// rows of `columns` (`[batch · gridHeight · gridWidth, kh · kw · channels]`, row order
    /// batch, grid row, grid column; column order kernel row, kernel column, channel),
    /// with zeros where the window covers padding.
    func imageToColumns(_ image: UnsafePointer<Float>, batch: Int, channels c: Int, into columns: UnsafeMutablePointer<Float>) {
        let gh = gridHeight, gw = gridWidth, k = kernelHeight * kernelWidth * c
        for b in 0..<batch {
            let src = image + b * imageHeight * imageWidth * c
            for oy in 0..<gh {
                for ox in 0..<gw {
                    var dst = columns + ((b * gh + oy) * gw + ox) * k
                    for ky in 0..<kernelHeight {
                        let iy = oy * strideHeight - paddingHeight + ky
                        if iy < 0 || iy >= imageHeight {
                            dst.update(repeating: 0, count: kernelWidth * c)
                            dst += kernelWidth * c
                            continue
                        }
                        for kx in 0..<kernelWidth {
                            let ix = ox * strideWidth - paddingWidth + kx
                            if ix < 0 || ix >= imageWidth {
                                dst.update(repeating: 0, count: c)
                            } else {
                                dst.update(from: src + (iy * imageWidth + ix) * c, count: c)
                            }
                            dst += c
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of ``imageToColumns(_:batch:channels:into:)``: sets `image` to zero, then
    /// adds every row of `columns` back into the window it came from (overlaps accumulate).
    func columnsToImage(_ columns: UnsafePointer<Float>, batch: Int, channels c: Int, into image: UnsafeMutablePointer<Float>) {
        let gh = gridHeight, gw = gridWidth, k = kernelHeight * kernelWidth * c
        image.update(repeating: 0, count: batch * imageHeight * imageWidth * c)
        for b in 0..<batch {
            let dstImage = image + b * imageHeight * imageWidth * c
            for oy in 0..<gh {
                for ox in 0..<gw {
                    var src = columns + ((b * gh + oy) * gw + ox) * k
                    for ky in 0..<kernelHeight {
                        let iy = oy * strideHeight - paddingHeight + ky
                        if iy < 0 || iy >= imageHeight { src += kernelWidth * c; continue }
                        for kx in 0..<kernelWidth {
                            let ix = ox * strideWidth - paddingWidth + kx
                            if ix >= 0 && ix < imageWidth {
                                let dst = dstImage + (iy * imageWidth + ix) * c
                                for j in 0..<c { dst[j] += src[j] }
                            }
                            src += c
                        }
                    }
                }
            }
        }
    }

    /// Writes the product `a · op(b)` (`positions × k`, a row of window values per kernel
    /// position, `inner` the shared dimension) into `image` through
    /// ``columnsToImage(_:batch:channels:into:)``, with `columns` as the scratch for the rows;
    /// straight into `image` when the geometry is pointwise (the rows are then the image).
    func productToImage(
        positions: Int, k: Int, inner: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        transposeB: Bool, ldb: Int, batch: Int, channels: Int, columns: inout Tensor,
        into image: UnsafeMutablePointer<Float>
    ) {
        if isPointwise {
            UnsafeKernels.gemm(
                transposeA: false, transposeB: transposeB, m: positions, n: k, k: inner,
                a: a, lda: lda, b: b, ldb: ldb, c: image, ldc: k)
            return
        }
        columns.prepare(rows: positions, columns: k)
        columns.withMutableBase { c in
            UnsafeKernels.gemm(
                transposeA: false, transposeB: transposeB, m: positions, n: k, k: inner,
                a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: k)
            columnsToImage(c, batch: batch, channels: channels, into: image)
        }
    }

    /// True when every window is exactly one pixel (1×1 kernel, stride 1, no padding): the
    /// columns are then the image itself.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && paddingHeight == 0 && paddingWidth == 0
    }
}

/// A 2-D convolution (cross-correlation, as in PyTorch and TensorFlow) over NHWC images,
/// `y = f(conv(x, W) + b)` with a fused bias and activation.
///
/// The input is `[batch, H · W · inChannels]` (each row an NHWC image, channels fastest);
/// the output is `[batch, gridHeight · gridWidth · outChannels]`, also NHWC. ``weight`` is
/// `[kh, kw, inChannels, outChannels]` (TensorFlow's HWIO; PyTorch's `[out, in, kh, kw]`
/// permuted by `(2, 3, 1, 0)`). The whole batch's windows are copied into one matrix
/// (im2col), so the forward pass is one GEMM and the backward pass two, and the input
/// gradient is put back with the adjoint copy (col2im).
public struct Conv2D: Layer {
    /// `[kh, kw, inChannels, outChannels]`.
    public var weight: Tensor
    /// `[outChannels]`.
    public var bias: Tensor
    /// The activation applied after the bias.
    public var activation: Activation
    /// The input image size, kernel, stride and padding.
    public let geometry: ConvolutionGeometry

    /// The input's channels.
    public var inChannels: Int { weight.shape[2] }
    /// The output's channels.
    public var outChannels: Int { weight.shape[3] }
    /// The output's height.
    public var outputHeight: Int { geometry.gridHeight }
    /// The output's width.
    public var outputWidth: Int { geometry.gridWidth }

    /// A layer for `inputHeight × inputWidth` images, Glorot-uniform weights
    /// (fan-in `kh·kw·inChannels`, fan-out `kh·kw·outChannels`) and zero bias.
    public init<G: RandomNumberGenerator>(
        inputHeight: Int, inputWidth: Int, inChannels: Int, outChannels: Int,
        kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0,
        activation: Activation = .identity, using rng: inout G
    ) throws(TensorError) {
        let geometry = ConvolutionGeometry(
            imageHeight: inputHeight, imageWidth: inputWidth, kernelHeight: kernelHeight,
            kernelWidth: kernelWidth, strideHeight: stride, strideWidth: stride,
            paddingHeight: padding, paddingWidth: padding)
        try geometry.validate("Conv2D")
        guard inChannels > 0, outChannels > 0 else { throw .invalidShape([inChannels, outChannels]) }
        self.weight = glorotKernel(
            [kernelHeight, kernelWidth, inChannels, outChannels], area: kernelHeight * kernelWidth,
            inChannels: inChannels, outChannels: outChannels, using: &rng)
        self.bias = Tensor(zeros: [outChannels])
        self.activation = activation
        self.geometry = geometry
    }

    /// A layer with the given weight `[kh, kw, inChannels, outChannels]` and bias
    /// `[outChannels]`; throws when the shapes or the geometry do not fit.
    public init(
        weight: Tensor, bias: Tensor, inputHeight: Int, inputWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
        paddingHeight: Int = 0, paddingWidth: Int = 0, activation: Activation = .identity
    ) throws(TensorError) {
        guard weight.rank == 4, weight.count > 0, bias.shape == [weight.shape[3]] else {
            throw .shapeMismatch(operation: "Conv2D(weight:bias:)", lhs: weight.shape, rhs: bias.shape)
        }
        let geometry = ConvolutionGeometry(
            imageHeight: inputHeight, imageWidth: inputWidth, kernelHeight: weight.shape[0],
            kernelWidth: weight.shape[1], strideHeight: strideHeight, strideWidth: strideWidth,
            paddingHeight: paddingHeight, paddingWidth: paddingWidth)
        try geometry.validate("Conv2D")
        self.weight = weight
        self.bias = bias
        self.activation = activation
        self.geometry = geometry
    }

    /// Buffers for one batch.
    public struct Context: LayerContext {
        public internal(set) var output = Tensor(zeros: [0])
        public internal(set) var inputGradient = Tensor(zeros: [0])
        var columns = Tensor(zeros: [0])
        var columnGradient = Tensor(zeros: [0])
        var delta = Tensor(zeros: [0])
    }

    public func makeContext() -> Context { Context() }

    public func forward(_ input: Tensor, context: inout Context) {
        let g = geometry, cin = inChannels, cout = outChannels
        let pixels = g.imageHeight * g.imageWidth * cin
        precondition(
            input.rank == 2 && input.columns == pixels,
            "Conv2D(\(g.imageHeight)x\(g.imageWidth)x\(cin)) needs input [batch, \(pixels)], got \(input.shape)")
        let batch = input.rows, positions = batch * g.gridHeight * g.gridWidth, k = g.kernelHeight * g.kernelWidth * cin
        let a: Tensor
        if g.isPointwise {
            a = input
        } else {
            context.columns.prepare(rows: positions, columns: k)
            input.withBase { x in
                context.columns.withMutableBase { columns in g.imageToColumns(x, batch: batch, channels: cin, into: columns) }
            }
            a = context.columns
        }
        context.output.prepare(rows: batch, columns: g.gridHeight * g.gridWidth * cout)
        let act = Int32(activation.rawValue)
        a.withBase { a in
            weight.withBase { w in
                bias.withBase { b in
                    context.output.withMutableBase { y in
                        UnsafeKernels.gemm(
                            transposeA: false, transposeB: false, m: positions, n: cout, k: k,
                            a: a, lda: k, b: w, ldb: cout, c: y, ldc: cout)
                        UnsafeKernels.biasActivation(y, ld: cout, bias: b, rows: positions, columns: cout, activation: act)
                    }
                }
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout Conv2D,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        precondition(
            outputGradient.count == context.output.count,
            "Conv2D backward: output gradient \(outputGradient.shape) does not match output \(context.output.shape)")
        let g = geometry, cin = inChannels, cout = outChannels
        let batch = context.output.rows, positions = batch * g.gridHeight * g.gridWidth, k = g.kernelHeight * g.kernelWidth * cin
        let delta = activationDelta(outputGradient, output: context.output, activation: activation, into: &context.delta)
        if computeParameterGradient {
            gradient.weight.prepare(shape: weight.shape)
            gradient.bias.prepare(count: cout)
            let a = g.isPointwise ? input : context.columns
            a.withBase { a in
                delta.withBase { delta in
                    gradient.weight.withMutableBase { dw in
                        UnsafeKernels.gemm(
                            transposeA: true, transposeB: false, m: k, n: cout, k: positions,
                            a: a, lda: k, b: delta, ldb: cout, c: dw, ldc: cout)
                    }
                    gradient.bias.withMutableBase { db in UnsafeKernels.columnSums(delta, rows: positions, columns: cout, into: db) }
                }
            }
        }
        if computeInputGradient {
            context.inputGradient.prepare(rows: batch, columns: g.imageHeight * g.imageWidth * cin)
            delta.withBase { delta in
                weight.withBase { w in
                    context.inputGradient.withMutableBase { dx in
                        g.productToImage(
                            positions: positions, k: k, inner: cout, a: delta, lda: cout, b: w, transposeB: true,
                            ldb: cout, batch: batch, channels: cin, columns: &context.columnGradient, into: dx)
                    }
                }
            }
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try body("weight", &weight)
        try body("bias", &bias)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try body("weight", weight)
        try body("bias", bias)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        body(&weight); body(&bias)
    }

    public mutating func updateParameters(pairedWith other: Conv2D, _ body: (inout Tensor, Tensor) -> Void) {
        body(&weight, other.weight); body(&bias, other.bias)
    }
}

/// A transposed 2-D convolution ("deconvolution"): the adjoint of ``Conv2D`` with the same
/// kernel, stride and padding, which scatters each input pixel through the kernel into a
/// larger output, `y = f(convᵀ(x, W) + b)` with a fused bias and activation. As PyTorch's
/// `nn.ConvTranspose2d`, the output is
/// `H_out = (H − 1) · stride − 2 · padding + kh + outputPadding` (likewise the width).
///
/// The input is `[batch, H · W · inChannels]` and the output `[batch, H_out · W_out · outChannels]`,
/// both NHWC. ``weight`` is `[inChannels, kh, kw, outChannels]` (PyTorch's
/// `[in, out, kh, kw]` permuted by `(0, 2, 3, 1)`). The forward pass is one GEMM (every
/// input pixel times the kernel) and the adjoint copy col2im; the backward pass is im2col
/// of the output gradient and two GEMMs.
public struct ConvTranspose2D: Layer {
    /// `[inChannels, kh, kw, outChannels]`.
    public var weight: Tensor
    /// `[outChannels]`.
    public var bias: Tensor
    /// The activation applied after the bias.
    public var activation: Activation
    /// The geometry of the adjoint convolution: its image is this layer's output, its grid
    /// this layer's input.
    public let geometry: ConvolutionGeometry

    /// The input's channels.
    public var inChannels: Int { weight.shape[0] }
    /// The output's channels.
    public var outChannels: Int { weight.shape[3] }
    /// The input's height.
    public var inputHeight: Int { geometry.gridHeight }
    /// The input's width.
    public var inputWidth: Int { geometry.gridWidth }
    /// The output's height.
    public var outputHeight: Int { geometry.imageHeight }
    /// The output's width.
    public var outputWidth: Int { geometry.imageWidth }

    static func geometry(
        inputHeight: Int, inputWidth: Int, kernelHeight: Int, kernelWidth: Int,
        strideHeight: Int, strideWidth: Int, paddingHeight: Int, paddingWidth: Int,
        outputPaddingHeight: Int, outputPaddingWidth: Int
    ) throws(TensorError) -> ConvolutionGeometry {
        guard inputHeight > 0, inputWidth > 0, outputPaddingHeight >= 0, outputPaddingWidth >= 0,
            outputPaddingHeight < strideHeight, outputPaddingWidth < strideWidth
        else {
            throw .shapeMismatch(
                operation: "ConvTranspose2D input and output padding (must be below the stride)",
                lhs: [inputHeight, inputWidth], rhs: [outputPaddingHeight, outputPaddingWidth])
        }
        let g = ConvolutionGeometry(
            imageHeight: (inputHeight - 1) * strideHeight - 2 * paddingHeight + kernelHeight + outputPaddingHeight,
            imageWidth: (inputWidth - 1) * strideWidth - 2 * paddingWidth + kernelWidth + outputPaddingWidth,
            kernelHeight: kernelHeight, kernelWidth: kernelWidth, strideHeight: strideHeight, strideWidth: strideWidth,
            paddingHeight: paddingHeight, paddingWidth: paddingWidth)
        try g.validate("ConvTranspose2D")
        guard g.gridHeight == inputHeight, g.gridWidth == inputWidth else {
            throw .shapeMismatch(operation: "ConvTranspose2D geometry", lhs: [inputHeight, inputWidth], rhs: [g.gridHeight, g.gridWidth])
        }
        return g
    }

    /// A layer for `inputHeight × inputWidth` inputs, Glorot-uniform weights (fan-in
    /// `kh·kw·inChannels`, fan-out `kh·kw·outChannels`) and zero bias.
    public init<G: RandomNumberGenerator>(
        inputHeight: Int, inputWidth: Int, inChannels: Int, outChannels: Int,
        kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0,
        outputPadding: Int = 0, activation: Activation = .identity,
        using rng: inout G
    ) throws(TensorError) {
        geometry = try Self.geometry(
            inputHeight: inputHeight, inputWidth: inputWidth, kernelHeight: kernelHeight,
            kernelWidth: kernelWidth, strideHeight: stride, strideWidth: stride,
            paddingHeight: padding, paddingWidth: padding,
            outputPaddingHeight: outputPadding, outputPaddingWidth: outputPadding)
        guard inChannels > 0, outChannels > 0 else { throw .invalidShape([inChannels, outChannels]) }
        weight = glorotKernel(
            [inChannels, kernelHeight, kernelWidth, outChannels], area: kernelHeight * kernelWidth,
            inChannels: inChannels, outChannels: outChannels, using: &rng)
        bias = Tensor(zeros: [outChannels])
        self.activation = activation
    }

    /// A layer with the given weight `[inChannels, kh, kw, outChannels]` and bias
    /// `[outChannels]`; throws when the shapes or the geometry do not fit.
    public init(
        weight: Tensor, bias: Tensor, inputHeight: Int, inputWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
        paddingHeight: Int = 0, paddingWidth: Int = 0, outputPaddingHeight: Int = 0, outputPaddingWidth: Int = 0,
        activation: Activation = .identity
    ) throws(TensorError) {
        guard weight.rank == 4, weight.count > 0, bias.shape == [weight.shape[3]] else {
            throw .shapeMismatch(operation: "ConvTranspose2D(weight:bias:)", lhs: weight.shape, rhs: bias.shape)
        }
        geometry = try Self.geometry(
            inputHeight: inputHeight, inputWidth: inputWidth, kernelHeight: weight.shape[1],
            kernelWidth: weight.shape[2], strideHeight: strideHeight, strideWidth: strideWidth,
            paddingHeight: paddingHeight, paddingWidth: paddingWidth,
            outputPaddingHeight: outputPaddingHeight, outputPaddingWidth: outputPaddingWidth)
        self.weight = weight
        self.bias = bias
        self.activation = activation
    }

    /// Buffers for one batch.
    public struct Context: LayerContext {
        public internal(set) var output = Tensor(zeros: [0])
        public internal(set) var inputGradient = Tensor(zeros: [0])
        var columns = Tensor(zeros: [0])
        var delta = Tensor(zeros: [0])
    }

    public func makeContext() -> Context { Context() }

    public func forward(_ input: Tensor, context: inout Context) {
        let g = geometry, cin = inChannels, cout = outChannels
        let pixels = g.gridHeight * g.gridWidth * cin
        precondition(
            input.rank == 2 && input.columns == pixels,
            "ConvTranspose2D(\(g.gridHeight)x\(g.gridWidth)x\(cin)) needs input [batch, \(pixels)], got \(input.shape)")
        let batch = input.rows, positions = batch * g.gridHeight * g.gridWidth, k = g.kernelHeight * g.kernelWidth * cout
        context.output.prepare(rows: batch, columns: g.imageHeight * g.imageWidth * cout)
        let act = Int32(activation.rawValue)
        input.withBase { x in
            weight.withBase { w in
                bias.withBase { b in
                    context.output.withMutableBase { y in
                        g.productToImage(
                            positions: positions, k: k, inner: cin, a: x, lda: cin, b: w, transposeB: false,
                            ldb: k, batch: batch, channels: cout, columns: &context.columns, into: y)
                        UnsafeKernels.biasActivation(
                            y, ld: cout, bias: b, rows: batch * g.imageHeight * g.imageWidth,
                            columns: cout, activation: act)
                    }
                }
            }
        }
    }

    public func backward(
        input: Tensor, outputGradient: Tensor, context: inout Context, gradient: inout ConvTranspose2D,
        computeParameterGradient: Bool, computeInputGradient: Bool
    ) {
        precondition(
            outputGradient.count == context.output.count,
            "ConvTranspose2D backward: output gradient \(outputGradient.shape) does not match output \(context.output.shape)")
        let g = geometry, cin = inChannels, cout = outChannels
        let batch = context.output.rows, positions = batch * g.gridHeight * g.gridWidth, k = g.kernelHeight * g.kernelWidth * cout
        let delta = activationDelta(outputGradient, output: context.output, activation: activation, into: &context.delta)
        let dcol: Tensor
        if g.isPointwise {
            dcol = delta
        } else {
            context.columns.prepare(rows: positions, columns: k)
            delta.withBase { delta in
                context.columns.withMutableBase { columns in g.imageToColumns(delta, batch: batch, channels: cout, into: columns) }
            }
            dcol = context.columns
        }
        if computeParameterGradient {
            gradient.weight.prepare(shape: weight.shape)
            gradient.bias.prepare(count: cout)
            input.withBase { x in
                dcol.withBase { dcol in
                    gradient.weight.withMutableBase { dw in
                        UnsafeKernels.gemm(
                            transposeA: true, transposeB: false, m: cin, n: k, k: positions,
                            a: x, lda: cin, b: dcol, ldb: k, c: dw, ldc: k)
                    }
                }
            }
            delta.withBase { delta in
                gradient.bias.withMutableBase { db in
                    UnsafeKernels.columnSums(delta, rows: batch * g.imageHeight * g.imageWidth, columns: cout, into: db)
                }
            }
        }
        if computeInputGradient {
            context.inputGradient.prepare(rows: batch, columns: g.gridHeight * g.gridWidth * cin)
            dcol.withBase { dcol in
                weight.withBase { w in
                    context.inputGradient.withMutableBase { dx in
                        UnsafeKernels.gemm(
                            transposeA: false, transposeB: true, m: positions, n: cin, k: k,
                            a: dcol, lda: k, b: w, ldb: k, c: dx, ldc: cin)
                    }
                }
            }
        }
    }

    public mutating func visitParameters(_ body: (String, inout Tensor) throws -> Void) rethrows {
        try body("weight", &weight)
        try body("bias", &bias)
    }

    public func forEachParameter(_ body: (String, Tensor) throws -> Void) rethrows {
        try body("weight", weight)
        try body("bias", bias)
    }

    public mutating func updateParameters(_ body: (inout Tensor) -> Void) {
        body(&weight); body(&bias)
    }

    public mutating func updateParameters(pairedWith other: ConvTranspose2D, _ body: (inout Tensor, Tensor) -> Void) {
        body(&weight, other.weight); body(&bias, other.bias)
    }
}

/// dL/d(pre-activation) for a fused activation: `outputGradient` itself for the identity,
/// else `outputGradient ⊙ f'` (written through the output) in `buffer`. Returns that tensor,
/// sharing its storage.
func activationDelta(_ outputGradient: Tensor, output: Tensor, activation: Activation, into buffer: inout Tensor) -> Tensor {
    if activation == .identity { return outputGradient }
    buffer.prepare(rows: output.rows, columns: output.columns)
    let n = output.count, act = Int32(activation.rawValue)
    outputGradient.withBase { dy in
        output.withBase { y in
            buffer.withMutableBase { d in
                d.update(from: dy, count: n)
                UnsafeKernels.activationBackward(d, ldDelta: n, output: y, ldY: n, rows: 1, columns: n, activation: act)
            }
        }
    }
    return buffer
}

/// A convolution kernel of `shape` drawn Glorot-uniform with fan-in `area · inChannels` and
/// fan-out `area · outChannels` (what Keras and PyTorch's `xavier_uniform_` use for kernels).
func glorotKernel<G: RandomNumberGenerator>(
    _ shape: [Int], area: Int, inChannels: Int, outChannels: Int,
    using rng: inout G
) -> Tensor {
    let limit = (6 / Float(area * (inChannels + outChannels))).squareRoot()
    return Tensor(randomUniform: shape, in: -limit...limit, using: &rng)
}
