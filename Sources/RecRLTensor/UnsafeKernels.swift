import CRecRLBLAS
import CRecRLKernels
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raw-pointer entry points to the dense kernels, for hot paths in other modules that
/// schedule work themselves (e.g. a learner that splits one update over two threads).
///
/// Everything is row-major float32. No shapes are checked: the caller guarantees that
/// every pointer covers the elements its sizes and strides address.
public enum UnsafeKernels {
    /// `C = alpha · op(A) · op(B) + beta · C` for an `m × n` block `C` (row stride `ldc`),
    /// `op(A)` `m × k`, `op(B)` `k × n` (BLAS `sgemm`, row-major).
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        rawSgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Adds `bias[0..<columns]` (when given) to every row of a `rows × columns` block with
    /// row stride `ld`, then applies the activation (codes: 0 identity, 1 ReLU, 2 tanh, 3 sigmoid).
    public static func biasActivation(
        _ y: UnsafeMutablePointer<Float>, ld: Int, bias: UnsafePointer<Float>?,
        rows: Int, columns: Int, activation: Int32
    ) {
        if rows == 0 || columns == 0 { return }
        recrl_bias_activation_strided(y, ld, bias, rows, columns, activation)
    }

    /// Multiplies a `rows × columns` block of `delta` (row stride `ldDelta`) by the activation's
    /// derivative written through its output `y` (row stride `ldY`), in place.
    public static func activationBackward(
        _ delta: UnsafeMutablePointer<Float>, ldDelta: Int, output y: UnsafePointer<Float>,
        ldY: Int, rows: Int, columns: Int, activation: Int32
    ) {
        if rows == 0 || columns == 0 || activation == 0 { return }
        recrl_activation_backward_strided(delta, ldDelta, y, ldY, rows, columns, activation)
    }

    /// Softmax cross-entropy of each row of a `rows × columns` block of logits `z` (row stride
    /// `ld`) against one target column per row, in place: returns `Σ_rows −log softmax(z_row)[target]`
    /// (the probability floored at the smallest normal float) and leaves
    /// `scale · (softmax(z_row) − onehot(target))` in `z`, the gradient of `scale` times that sum.
    /// Vectorised with a fixed summation order: the same bits on every CPU. Every target must
    /// lie in `0..<columns` (not checked here).
    public static func softmaxCrossEntropy(
        _ z: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ld: Int,
        targets: UnsafePointer<Int32>, scale: Float
    ) -> Float {
        if rows == 0 || columns == 0 { return 0 }
        return recrl_softmax_cross_entropy(z, rows, columns, ld, targets, scale)
    }

    /// `out[0..<columns] = Σ_rows x` for a contiguous `rows × columns` matrix.
    public static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        recrl_column_sums(x, rows, columns, out, 0)
    }

    /// One Adam step over `count` parameters (`lr_t`, `eps_t` carry the bias corrections, as
    /// `Adam` computes them), followed by the soft update `target = τ · param + (1 − τ) · target`
    /// when `target` is given. Element-wise, one rounding per operation (no fused multiply-add),
    /// vectorised with AVX2 when the CPU has it: any sub-range gives bit-identical results to the
    /// whole tensor in one call, on every CPU.
    public static func adamStep(
        parameters p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
        count: Int, beta1: Float, beta2: Float, learningRate: Float, epsilon: Float,
        softUpdateTarget target: UnsafeMutablePointer<Float>?, tau: Float
    ) {
        if count <= 0 { return }
        recrl_adam_soft_step(p, g, m, v, target, count, beta1, beta2, learningRate, epsilon, tau)
    }

    /// Allocates the calling thread's packing buffer for RecRL's own SGEMM now (otherwise it
    /// is allocated by the thread's first product that uses that kernel), so that a thread
    /// which must not allocate later pays for it up front. Does nothing when the kernel is
    /// not in use or the buffer exists.
    public static func prepareGEMMWorkspace() {
        if BLASRuntime.gemmRoutingPolicy.ownKernel != nil { _ = recrl_sgemm_prepare() }
    }

    /// A spin-wait hint for busy-waiting threads (x86 `PAUSE`).
    public static func cpuRelax() { recrl_cpu_relax() }
}

/// Row-major `c = alpha · op(a) · op(b) + beta · c`: every GEMM of the library goes
/// through here, to the kernel `BLASRuntime.gemmRoutingPolicy` picks for the shape (the
/// rank-1 kernel, RecRL's own SGEMM `recrl_sgemm` in CRecRLKernels, or OpenBLAS through CBLAS).
///
/// OpenBLAS's AVX-512 small-matrix kernels (the SkylakeX and Cooperlake cores, chosen for
/// products of at most 100³ multiply-adds) `malloc` a packing buffer on every call when
/// the column-major M (our `n`) leaves 1…8 columns after its 16-wide blocks, e.g. a
/// critic's `H → 1` head. Those calls would break the hot path's promise of no heap
/// allocation, so their last `n mod 16` columns are computed with one GEMV each instead
/// (same product, summed in another order).
@usableFromInline
func rawSgemm(
    _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
) {
    switch GEMMRouting.servingKernel(transposeB: tb, m: m, n: n, k: k, blasThreads: Int(openblas_get_num_threads())) {
    case .rank1:
        // op(A)[i][0] is a[i·lda] (or a[i] when transposed), op(B)[0][j] is b[j] (or b[j·ldb]).
        recrl_outer_product(m, n, alpha, a, ta ? 1 : lda, b, tb ? ldb : 1, beta, c, ldc)
        return
    case let own where own == .recrlAVX512 || own == .recrlAVX2:
        let build = Int32(own == .recrlAVX512 ? RECRL_SGEMM_AVX512 : RECRL_SGEMM_AVX2)
        // 0 when the thread's packing buffer cannot be allocated: OpenBLAS computes it then.
        if recrl_sgemm(build, ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 1 { return }
    default:
        break
    }
    let tail = n % 16
    if tail >= 1 && tail <= 8 && Double(m) * Double(n) * Double(k) <= 1e6 {
        let head = n - tail
        if head > 0 {
            cblas_sgemm(
                CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(head), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
        // Column j of the product is op(a) · (column j of op(b)).
        let rows = ta ? k : m, columns = ta ? m : k
        for j in head..<n {
            let x = tb ? b + j * ldb : b + j
            cblas_sgemv(
                CblasRowMajor, ta ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns), alpha,
                a, Int32(lda), x, Int32(tb ? 1 : ldb), beta, c + j, Int32(ldc))
        }
        return
    }
    cblas_sgemm(
        CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
