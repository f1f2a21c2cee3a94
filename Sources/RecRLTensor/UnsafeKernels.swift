import CRecRLBLAS
import CRecRLKernels

/// Raw-pointer entry points to the dense kernels, for hot paths in other modules that
/// schedule work themselves (e.g. a learner that splits one update over two threads).
///
/// Everything is row-major float32. No shapes are checked: the caller guarantees that
/// every pointer covers the elements its sizes and strides address.
public enum UnsafeKernels {
    /// `C = alpha · op(A) · op(B) + beta · C` for an `m × n` block `C` (row stride `ldc`),
    /// `op(A)` `m × k`, `op(B)` `k × n` (BLAS `sgemm`, row-major).
    @inlinable
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        rawSgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Adds `bias[0..<columns]` (when given) to every row of a `rows × columns` block with
    /// row stride `ld`, then applies the activation (codes: 0 identity, 1 ReLU, 2 tanh, 3 sigmoid).
    public static func biasActivation(_ y: UnsafeMutablePointer<Float>, ld: Int, bias: UnsafePointer<Float>?,
                                      rows: Int, columns: Int, activation: Int32) {
        if rows == 0 || columns == 0 { return }
        recrl_bias_activation_strided(y, ld, bias, rows, columns, activation)
    }

    /// Multiplies a `rows × columns` block of `delta` (row stride `ldDelta`) by the activation's
    /// derivative written through its output `y` (row stride `ldY`), in place.
    public static func activationBackward(_ delta: UnsafeMutablePointer<Float>, ldDelta: Int, output y: UnsafePointer<Float>,
                                          ldY: Int, rows: Int, columns: Int, activation: Int32) {
        if rows == 0 || columns == 0 || activation == 0 { return }
        recrl_activation_backward_strided(delta, ldDelta, y, ldY, rows, columns, activation)
    }

    /// `out[0..<columns] = Σ_rows x` for a contiguous `rows × columns` matrix.
    public static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        recrl_column_sums(x, rows, columns, out, 0)
    }

    /// One Adam step over `count` parameters (`lr_t`, `eps_t` carry the bias corrections, as
    /// `Adam` computes them), followed by the soft update `target = τ · param + (1 − τ) · target`
    /// when `target` is given. Element-wise: a range starting at a multiple of 4 gives bit-identical
    /// results to the whole tensor in one call.
    public static func adamStep(parameters p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
                                count: Int, beta1: Float, beta2: Float, learningRate: Float, epsilon: Float,
                                softUpdateTarget target: UnsafeMutablePointer<Float>?, tau: Float) {
        if count <= 0 { return }
        recrl_adam_soft_step(p, g, m, v, target, count, beta1, beta2, learningRate, epsilon, tau)
    }

    /// A spin-wait hint for busy-waiting threads (x86 `PAUSE`).
    public static func cpuRelax() { recrl_cpu_relax() }
}

@usableFromInline
func rawSgemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
              _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
              _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
