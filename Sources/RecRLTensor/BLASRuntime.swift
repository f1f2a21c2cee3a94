import CRecRLBLAS
import CRecRLKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The BLAS library RecRL runs its dense kernels on (OpenBLAS), and its settings.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent Intel CPUs and falls back to
/// a generic core (`Prescott`, SSE3 kernels), which runs sgemm 3–5× slower. The
/// kernel is chosen when the shared library loads, so the fix must be in the
/// environment before the process starts: `OPENBLAS_CORETYPE=SkylakeX` (CPUs with
/// AVX-512) or `Haswell` (AVX2 + FMA). RecRL's executables re-launch themselves
/// with it (``relaunchWithOptimizedCoreIfNeeded()``); libraries embedding RecRL get
/// a one-time warning through ``RecRLLog`` (``warnIfGenericCore()``).
public enum BLASRuntime {
    /// The kernel family OpenBLAS selected at load time, e.g. `SkylakeX`, `Haswell`, `Prescott`.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Which SGEMM serves mid-sized products on single-threaded BLAS: RecRL's own kernel,
    /// `recrl-avx512` (CPUs with AVX-512F) or `recrl-avx2` (AVX2 + FMA, or `RECRL_GEMM=avx2`),
    /// unless `RECRL_GEMM=openblas`; otherwise `openblas`.
    public static var gemmKernel: String {
        switch ownGEMMKernel {
        case Int32(RECRL_SGEMM_AVX512): "recrl-avx512"
        case Int32(RECRL_SGEMM_AVX2): "recrl-avx2"
        default: "openblas"
        }
    }

    /// Which kernel serves one product `op(A)[m × k] · op(B)[k × n]` at OpenBLAS's current
    /// thread count (`transposeB`: B is transposed): `rank-1` for depth 1, ``gemmKernel`` where
    /// RecRL's own SGEMM takes the shape (single-threaded BLAS only), otherwise `openblas`
    /// (e.g. the `n = 1` products of an `H → 1` head).
    public static func gemmKernel(transposeB: Bool, m: Int, n: Int, k: Int) -> String {
        if k == 1 { return "rank-1" }
        return ownGEMMEnabled && ownGEMMServes(transposeB, m, n, k) && threadCount == 1 ? gemmKernel : "openblas"
    }

    /// OpenBLAS's build configuration string.
    public static var configuration: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses for one call (at least 1).
    public static func setThreadCount(_ n: Int) {
        openblas_set_num_threads(Int32(Swift.max(1, n)))
    }

    /// Core names OpenBLAS falls back to on CPUs it does not recognise.
    public static let genericCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine", "Northwood", "Banias", "Generic", "generic", "unknown"]

    /// Whether OpenBLAS runs generic kernels that are slower than this CPU allows.
    public static var isGenericCore: Bool {
        genericCores.contains(coreName) && recommendedCoreType != nil
    }

    /// The `OPENBLAS_CORETYPE` this CPU should use: `SkylakeX` with AVX-512F,
    /// `Haswell` with AVX2 and FMA, otherwise nil (keep OpenBLAS's choice).
    public static var recommendedCoreType: String? {
        if recrl_cpu_supports("avx512f") != 0 { return "SkylakeX" }
        if recrl_cpu_supports("avx2") != 0 && recrl_cpu_supports("fma") != 0 { return "Haswell" }
        return nil
    }

    /// The environment variable that marks a process as already re-launched.
    public static let relaunchMarker = "RECRL_BLAS_RELAUNCHED"

    /// For executables: if OpenBLAS loaded a generic core on a CPU that has a better
    /// one, and the user has not set `OPENBLAS_CORETYPE`, replaces this process with
    /// itself (same arguments) with `OPENBLAS_CORETYPE` set. Call it first in `main`.
    ///
    /// Never overrides a user's `OPENBLAS_CORETYPE`, and re-launches at most once
    /// (guarded by ``relaunchMarker``). Returns normally when no re-launch is needed
    /// or the re-launch fails (then the slower kernels are used, with a warning).
    public static func relaunchWithOptimizedCoreIfNeeded() {
        guard getenv("OPENBLAS_CORETYPE") == nil, getenv(relaunchMarker) == nil,
              isGenericCore, let core = recommendedCoreType else {
            warnIfGenericCore()
            return
        }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(relaunchMarker, "1", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // Only reached when exec failed.
        RecRLLog.log(.warning, "could not re-launch with OPENBLAS_CORETYPE=\(core) (errno \(errno)); continuing with the slower \(coreName) kernels")
        unsetenv("OPENBLAS_CORETYPE")
    }

    private static let warned = Mutex(false)

    /// Logs, once per process, a warning with the remedy when OpenBLAS runs generic
    /// kernels on a CPU that has better ones. Called by the library's entry points;
    /// cheap after the first call.
    public static func warnIfGenericCore() {
        let first = warned.withLock { w -> Bool in
            defer { w = true }
            return !w
        }
        guard first, isGenericCore, let core = recommendedCoreType else { return }
        RecRLLog.log(.warning, "OpenBLAS is running its generic \(coreName) kernels on this CPU (3-5x slower). Start the process with OPENBLAS_CORETYPE=\(core) in its environment (setting it after start-up has no effect).")
    }
}

/// Floating-point environment control for training threads.
///
/// Adam's second moments for dead ReLU units decay into denormal numbers, which
/// x86 processes up to 100× slower; flushing them to zero (FTZ/DAZ) keeps
/// throughput steady. RecRL sets it only around its own work and restores the
/// caller's mode afterwards, so a host process's floating point is unchanged.
public enum FloatingPointMode {
    /// Runs `body` with flush-to-zero and denormals-are-zero on the calling thread,
    /// then restores the previous mode.
    @inlinable
    public static func withDenormalsFlushedToZero<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let saved = recrlGetFPControl()
        recrlSetFPControl(saved | recrlFTZDAZBits())
        defer { recrlSetFPControl(saved) }
        return try body()
    }

    /// Whether flush-to-zero is on for the calling thread.
    public static var flushesDenormalsToZero: Bool {
        let bits = recrl_ftz_daz_bits()
        return bits != 0 && (recrl_get_fp_control() & bits) == bits
    }
}

@usableFromInline func recrlGetFPControl() -> UInt32 { recrl_get_fp_control() }
@usableFromInline func recrlSetFPControl(_ v: UInt32) { recrl_set_fp_control(v) }
@usableFromInline func recrlFTZDAZBits() -> UInt32 { recrl_ftz_daz_bits() }

/// The library's version.
public let recrlVersion = "0.1.0"
