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
