/// The scalar parts of the DDPG update (TD targets, critic loss with its gradient and TD
/// errors, actor loss), written once on raw rows and used by both the sequential and the
/// two-lane schedule of ``DDPGLearner``, so the two cannot drift apart.
enum DDPGMath {
    /// `y[k] = r[k] + γ · d[k] · Q'(k)` with `Q' = min(q1, q2)` when `q2` is given (TD3's
    /// clipped double-Q), else `q1`.
    static func tdTargets(
        rewards r: UnsafePointer<Float>, discounts d: UnsafePointer<Float>, q1: UnsafePointer<Float>,
        q2: UnsafePointer<Float>?, gamma: Float, into y: UnsafeMutablePointer<Float>, count b: Int
    ) {
        if let q2 {
            for k in 0..<b { y[k] = r[k] + gamma * d[k] * Swift.min(q1[k], q2[k]) }
        } else {
            for k in 0..<b { y[k] = r[k] + gamma * d[k] * q1[k] }
        }
    }

    /// The importance-weighted critic loss `mean_k w[k] (q[k] − y[k])²`; writes its gradient
    /// `dL/dq[k] = 2 w[k] (q[k] − y[k]) / B` into `outputGradient` and, when given, the TD
    /// errors `δ[k] = y[k] − q[k]` into `tdErrors`.
    static func criticLoss(
        q: UnsafePointer<Float>, targets y: UnsafePointer<Float>, weights w: UnsafePointer<Float>,
        outputGradient g: UnsafeMutablePointer<Float>, tdErrors: UnsafeMutablePointer<Float>?,
        count b: Int
    ) -> Float {
        guard b > 0 else { return 0 }
        let scale = 2 / Float(b)
        var s: Float = 0
        for k in 0..<b {
            let d = q[k] - y[k], wk = w[k]
            s += wk * d * d
            g[k] = scale * wk * d
        }
        if let tdErrors { for k in 0..<b { tdErrors[k] = y[k] - q[k] } }
        return s / Float(b)
    }

    /// The actor loss `−mean_k q[k]` (summed in double precision).
    static func actorLoss(q: UnsafePointer<Float>, count b: Int) -> Float {
        guard b > 0 else { return 0 }
        var sum = 0.0
        for k in 0..<b { sum += Double(q[k]) }
        return -Float(Double(Float(sum)) / Double(b))
    }

    /// The gradient of the actor loss with respect to each `q[k]`: `−1 / B`.
    static func actorLossGradient(count b: Int) -> Float { -1 / Float(b) }
}
