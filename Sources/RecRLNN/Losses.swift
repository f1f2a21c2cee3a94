import RecRLTensor

/// Mean squared error `L = mean(w_i · (p_i − y_i)²)` over all scalars, with optional
/// per-row weights `w` (e.g. importance-sampling weights of prioritized replay).
public enum MeanSquaredError {
    /// The loss value.
    public static func value(predicted: Tensor, target: Tensor, rowWeights: Tensor? = nil) -> Float {
        check(predicted, target, rowWeights)
        let n = predicted.count, cols = predicted.columns
        var s = 0.0
        predicted.withUnsafeBufferPointer { p in
            target.withUnsafeBufferPointer { y in
                for i in 0..<n {
                    let d = Double(p[i] - y[i])
                    let w = rowWeights.map { Double($0[flat: i / cols]) } ?? 1
                    s += w * d * d
                }
            }
        }
        return n == 0 ? 0 : Float(s / Double(n))
    }

    /// Writes dL/d(predicted) `= 2 w_i (p_i − y_i) / n` into `gradient` and returns the loss.
    @discardableResult
    public static func gradient(predicted: Tensor, target: Tensor, rowWeights: Tensor? = nil, into gradient: inout Tensor) -> Float {
        check(predicted, target, rowWeights)
        gradient.prepare(shape: predicted.shape)
        let n = predicted.count, cols = predicted.columns
        let scale = n == 0 ? 0 : 2 / Float(n)
        var s: Float = 0
        predicted.withUnsafeBufferPointer { p in
            target.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { g in
                    if let w = rowWeights {
                        w.withUnsafeBufferPointer { w in
                            for i in 0..<n {
                                let d = p[i] - y[i], wi = w[i / cols]
                                s += wi * d * d
                                g[i] = scale * wi * d
                            }
                        }
                    } else {
                        for i in 0..<n {
                            let d = p[i] - y[i]
                            s += d * d
                            g[i] = scale * d
                        }
                    }
                }
            }
        }
        return n == 0 ? 0 : s / Float(n)
    }

    static func check(_ p: Tensor, _ y: Tensor, _ w: Tensor?) {
        precondition(p.shape == y.shape, TensorError.shapeMismatch(operation: "MeanSquaredError", lhs: p.shape, rhs: y.shape).description)
        if let w { precondition(w.count == p.rows, "MeanSquaredError: \(w.count) row weights for predictions of shape \(p.shape)") }
    }
}

/// Huber loss (smooth L1) with threshold `delta`, averaged over all scalars:
/// `½ d²` when `|d| ≤ delta`, else `delta · (|d| − ½ delta)`, with `d = p − y`.
public enum HuberLoss {
    /// The loss value.
    public static func value(predicted: Tensor, target: Tensor, delta: Float = 1) -> Float {
        var g = Tensor(zeros: [0])
        return gradient(predicted: predicted, target: target, delta: delta, into: &g)
    }

    /// Writes dL/d(predicted) into `gradient` and returns the loss.
    @discardableResult
    public static func gradient(predicted: Tensor, target: Tensor, delta: Float = 1, into gradient: inout Tensor) -> Float {
        precondition(predicted.shape == target.shape, TensorError.shapeMismatch(operation: "HuberLoss", lhs: predicted.shape, rhs: target.shape).description)
        precondition(delta > 0, "HuberLoss needs delta > 0, got \(delta)")
        gradient.prepare(shape: predicted.shape)
        let n = predicted.count
        let inv = n == 0 ? 0 : 1 / Float(n)
        var s: Float = 0
        predicted.withUnsafeBufferPointer { p in
            target.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { g in
                    for i in 0..<n {
                        let d = p[i] - y[i], a = abs(d)
                        if a <= delta {
                            s += 0.5 * d * d
                            g[i] = d * inv
                        } else {
                            s += delta * (a - 0.5 * delta)
                            g[i] = (d > 0 ? delta : -delta) * inv
                        }
                    }
                }
            }
        }
        return s * inv
    }
}

/// Softmax cross-entropy of rows of logits against one target class per row:
/// `Σ_rows −log softmax(z_row)[target_row]`, the loss of next-item models trained over the
/// whole catalogue.
public enum SoftmaxCrossEntropy {
    /// Replaces each row of `logits` (`[rows, classes]`) by the gradient of
    /// `scale · Σ_rows −log softmax(z_row)[target_row]` with respect to it,
    /// `scale · (softmax(z_row) − onehot(target_row))`, and returns the unscaled sum
    /// `Σ_rows −log softmax(z_row)[target_row]`.
    ///
    /// A row whose target is negative is ignored: its gradient is 0 and it adds nothing to the
    /// loss (padding). The rows go through ``UnsafeKernels/softmaxCrossEntropy(_:rows:columns:ld:targets:scale:)``
    /// (each row's maximum subtracted first; a probability that underflows counts as the smallest
    /// normal float).
    /// - Parameters:
    ///   - logits: `[rows, classes]`, overwritten with the gradient.
    ///   - targets: at least `rows` entries; entry `r` is row `r`'s class in `0..<classes`, or negative.
    ///   - scale: the factor of the gradient (e.g. `1 / rows` for a mean).
    @discardableResult
    public static func replaceWithGradient(_ logits: inout Tensor, targets: [Int32], scale: Float) -> Float {
        let rows = logits.rows, m = logits.columns
        precondition(targets.count >= rows, "SoftmaxCrossEntropy: \(targets.count) targets for logits \(logits.shape)")
        for row in 0..<rows {
            precondition(Int(targets[row]) < m, "SoftmaxCrossEntropy: target \(targets[row]) outside 0..<\(m)")
        }
        var loss: Float = 0
        logits.withUnsafeMutableBufferPointer { z in
            targets.withUnsafeBufferPointer { t in
                // Runs of rows with a target go through the kernel in one call; ignored rows become 0.
                var row = 0
                while row < rows {
                    if t[row] < 0 {
                        (z.baseAddress! + row * m).update(repeating: 0, count: m)
                        row += 1
                        continue
                    }
                    var end = row + 1
                    while end < rows && t[end] >= 0 { end += 1 }
                    loss += UnsafeKernels.softmaxCrossEntropy(
                        z.baseAddress! + row * m, rows: end - row, columns: m, ld: m,
                        targets: t.baseAddress! + row, scale: scale)
                    row = end
                }
            }
        }
        return loss
    }
}
