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
    /// when `target` is given. Element-wise, one rounding per operation (no fused multiply-add),
    /// vectorised with AVX2 when the CPU has it: any sub-range gives bit-identical results to the
    /// whole tensor in one call, on every CPU.
    public static func adamStep(parameters p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
                                count: Int, beta1: Float, beta2: Float, learningRate: Float, epsilon: Float,
                                softUpdateTarget target: UnsafeMutablePointer<Float>?, tau: Float) {
        if count <= 0 { return }
        recrl_adam_soft_step(p, g, m, v, target, count, beta1, beta2, learningRate, epsilon, tau)
    }

    /// Allocates the calling thread's packing buffer for RecRL's own SGEMM now (otherwise it
    /// is allocated by the thread's first product that uses that kernel), so that a thread
    /// which must not allocate later pays for it up front. Does nothing when the kernel is
    /// not in use or the buffer exists.
    public static func prepareGEMMWorkspace() {
        if ownGEMMEnabled { _ = recrl_sgemm_prepare() }
    }

    /// A spin-wait hint for busy-waiting threads (x86 `PAUSE`).
    public static func cpuRelax() { recrl_cpu_relax() }

    /// An FMA-throughput probe for benchmarks: 12 independent chains of 8 float lanes,
    /// chain `j` starting at `start + j` and stepping `x = fma(x, multiplier, addend)`
    /// `iterations` times (AVX2 + FMA), enough independent work to keep one core's FMA units
    /// busy: `flops` over the elapsed time is the core's FP32 rate at that moment. `checksum`
    /// is the sum of the chains' final values (in chain order), which keeps the work from
    /// being optimised away. Nil on CPUs without AVX2 + FMA, or for negative `iterations`.
    public static func fmaProbe(iterations: Int, start: Float = 0, multiplier: Float = 0.5,
                                addend: Float = 1) -> (flops: Int, checksum: Float)? {
        var checksum: Float = 0
        let flops = recrl_fma_probe(iterations, start, multiplier, addend, &checksum)
        return flops >= 0 ? (flops, checksum) : nil
    }
}

/// Row-major `c = alpha · op(a) · op(b) + beta · c` through CBLAS: every GEMM of the
/// library goes through here.
///
/// OpenBLAS's AVX-512 small-matrix kernels (the SkylakeX and Cooperlake cores, chosen for
/// products of at most 100³ multiply-adds) `malloc` a packing buffer on every call when
/// the column-major M (our `n`) leaves 1…8 columns after its 16-wide blocks, e.g. a
/// critic's `H → 1` head. Those calls would break the hot path's promise of no heap
/// allocation, so their last `n mod 16` columns are computed with one GEMV each instead
/// (same product, summed in another order).
///
/// On x86-64 CPUs with AVX2 + FMA or AVX-512F, mid-sized products on single-threaded OpenBLAS
/// (what the training paths use) go to RecRL's own SGEMM instead (`recrl_sgemm` in
/// CRecRLKernels: 8 × 32 register blocks with AVX-512F, 6 × 16 with AVX2; B packed once per
/// block), which is faster than OpenBLAS's kernels on most of the workload's shapes (see
/// `ownGEMMServes`). `RECRL_GEMM=openblas` in the environment turns it off, `RECRL_GEMM=avx2`
/// picks the AVX2 build on an AVX-512 CPU.
@usableFromInline
func rawSgemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
              _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
              _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if k == 1 {
        // A depth-1 product (e.g. the input gradient of a critic's H → 1 head): OpenBLAS runs
        // these at 1-2 GFLOP/s through its packing path; op(A)[i][0] is a[i·lda] (or a[i]
        // when transposed), op(B)[0][j] is b[j] (or b[j·ldb]).
        recrl_outer_product(m, n, alpha, a, ta ? 1 : lda, b, tb ? ldb : 1, beta, c, ldc)
        return
    }
    if ownGEMMEnabled && ownGEMMServes(tb, m, n, k) && openblas_get_num_threads() == 1
        && recrl_sgemm(ownGEMMKernel, ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 1 {
        return
    }
    let tail = n % 16
    if tail >= 1 && tail <= 8 && Double(m) * Double(n) * Double(k) <= 1e6 {
        let head = n - tail
        if head > 0 {
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(head), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
        // Column j of the product is op(a) · (column j of op(b)).
        let rows = ta ? k : m, columns = ta ? m : k
        for j in head..<n {
            let x = tb ? b + j * ldb : b + j
            cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, Int32(rows), Int32(columns), alpha,
                        a, Int32(lda), x, Int32(tb ? 1 : ldb), beta, c + j, Int32(ldc))
        }
        return
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The build of RecRL's own SGEMM that `rawSgemm` uses: the best this CPU runs
/// (`RECRL_SGEMM_AVX512`, `RECRL_SGEMM_AVX2`), the AVX2 one with `RECRL_GEMM=avx2`, or
/// `RECRL_SGEMM_NONE` (OpenBLAS only) with `RECRL_GEMM=openblas` or on other CPUs.
@usableFromInline
let ownGEMMKernel: Int32 = {
    let best = recrl_sgemm_best_kernel()
    guard let v = getenv("RECRL_GEMM") else { return best }
    switch String(cString: v) {
    case "openblas": return Int32(RECRL_SGEMM_NONE)
    case "avx2": return best == Int32(RECRL_SGEMM_NONE) ? best : Int32(RECRL_SGEMM_AVX2)
    case let other:
        RecRLLog.log(.warning, "RECRL_GEMM=\(other) is not one of openblas, avx2; using the default kernel")
        return best
    }
}()

/// Whether `rawSgemm` may use RecRL's own SGEMM at all.
@usableFromInline
let ownGEMMEnabled: Bool = ownGEMMKernel != Int32(RECRL_SGEMM_NONE)

/// The shapes RecRL's kernel serves faster than OpenBLAS (`recrl bench gemm --threads 1`
/// with and without `RECRL_GEMM=openblas`): at least 4 rows and 8-deep; on CPUs with
/// full-width AVX-512 (`ownGEMMFullWidthAVX512`) every such shape of at least 16 columns,
/// whatever its size; elsewhere at most `ownGEMMMaximumWork` multiply-adds and, with AVX-512,
/// 32 columns with at most 10% of the last 32-column block wasted (`n = 100` stays with
/// OpenBLAS) and, when B is transposed, a depth that is a multiple of 16 (whole in-register
/// transposes); with AVX2, 16 columns with at most 12.5% of the last 16-column block wasted
/// (`n = 100` included) and any depth.
@inline(__always) @usableFromInline
func ownGEMMServes(_ tb: Bool, _ m: Int, _ n: Int, _ k: Int) -> Bool {
    guard m >= 4 && k >= 8 else { return false }
    if ownGEMMKernel == Int32(RECRL_SGEMM_AVX512) && ownGEMMFullWidthAVX512 { return n >= 16 }
    guard Double(m) * Double(n) * Double(k) <= ownGEMMMaximumWork else { return false }
    if ownGEMMKernel == Int32(RECRL_SGEMM_AVX512) {
        return n >= 32 && (n + 31) / 32 * 320 <= n * 11 && (!tb || k % 16 == 0)
    }
    return n >= 16 && (n + 15) / 16 * 128 <= n * 9
}

/// Whether the AVX-512 build runs at twice the AVX2 build's rate here, so that a partly
/// filled last 32-column block or a transposed B of depth not divisible by 16 still beats
/// OpenBLAS: AMD Zen 5 (family 0x1A) and later, whose cores execute 512-bit FMAs at full
/// width. Measured on a 2-core Zen 5 VM (`recrl bench gemm --config paper --threads 1`): the
/// `paper` shapes with 100 columns or depth 100 at 172–225 GFLOP/s in RecRL's kernel
/// against 102–112 in OpenBLAS, and with `--config large` the `large` shapes (above
/// `ownGEMMMaximumWork`) at 213–243 against 115–125. (That OpenBLAS ran its Haswell kernels,
/// which that machine's environment selects with `OPENBLAS_CORETYPE=Haswell`; its SkylakeX
/// kernels run the same `paper` and `large` shapes at 180–228 and 211–241 there, about level
/// with RecRL's kernel, which does not depend on the core OpenBLAS was given.) Zen 4 executes
/// 512-bit FMAs as two 256-bit halves; there the AVX-512 build ran about level with OpenBLAS
/// and the narrower rule was measured.
@usableFromInline
let ownGEMMFullWidthAVX512: Bool = recrl_cpu_amd_family() >= 0x1A

/// Above this many multiply-adds (m·n·k) products stay with OpenBLAS, except on CPUs with
/// full-width AVX-512: RecRL's kernel has one level of cache blocking, tuned on the `paper`
/// and `medium` shapes, and did not beat OpenBLAS on the `large` workload's products in a
/// first measurement on Zen 4.
@usableFromInline
let ownGEMMMaximumWork = 1e9
