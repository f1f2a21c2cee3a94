import CRecRLBLAS
import CRecRLKernels
import Synchronization
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The BLAS library RecRL runs its dense kernels on (OpenBLAS), its settings, and which
/// kernel serves each GEMM.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent Intel CPUs and falls back to
/// a generic core (`Prescott`, SSE3 kernels), which runs sgemm several times slower. The
/// kernel is chosen when the shared library loads, so the fix must be in the
/// environment before the process starts: `OPENBLAS_CORETYPE=SkylakeX` (CPUs with
/// AVX-512) or `Haswell` (AVX2 + FMA). RecRL's executables re-launch themselves with it;
/// libraries embedding RecRL get a one-time warning through ``RecRLLog``
/// (``warnIfGenericCore()``).
public enum BLASRuntime {
    /// The kernel family OpenBLAS selected at load time, e.g. `SkylakeX`, `Haswell`, `Prescott`.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The routing of every GEMM of the process (see ``GEMMRoutingPolicy``). Starts as the
    /// policy for ``CPUProfile/host``, or what the `RECRL_GEMM` environment variable asks for
    /// (`openblas`: OpenBLAS only; `avx2`: RecRL's AVX2 build; other values are ignored with a
    /// warning). Setting it takes effect for every thread's next product; reads and writes are
    /// thread-safe. A policy naming a build of RecRL's SGEMM this CPU cannot run routes those
    /// products to OpenBLAS.
    public static var gemmRoutingPolicy: GEMMRoutingPolicy {
        get { GEMMRouting.policy }
        set { GEMMRouting.install(newValue) }
    }

    /// Which SGEMM serves mid-sized products on single-threaded BLAS (and small ones at any
    /// thread count): RecRL's own kernel, `recrl-avx512` or `recrl-avx2`, when the routing
    /// policy uses one this CPU runs; otherwise `openblas`.
    public static var gemmKernel: String {
        if let own = GEMMRouting.policy.ownKernel, GEMMRouting.runsHere(own) { return own.rawValue }
        return GEMMRoutingPolicy.Kernel.openBLAS.rawValue
    }

    /// Which kernel serves one product `op(A)[m × k] · op(B)[k × n]` at OpenBLAS's current
    /// thread count (`transposeB`: B is transposed) under ``gemmRoutingPolicy``: `rank-1` for
    /// depth 1, ``gemmKernel`` where RecRL's own SGEMM takes the shape (on multi-threaded
    /// BLAS only products of at most ``GEMMRoutingPolicy/singleThreadedWork`` multiply-adds),
    /// otherwise `openblas` (e.g. the `n = 1` products of an `H → 1` head).
    public static func gemmKernel(transposeB: Bool, m: Int, n: Int, k: Int) -> String {
        GEMMRouting.servingKernel(transposeB: transposeB, m: m, n: n, k: k, blasThreads: threadCount).rawValue
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
    public static let genericCores: Set<String> = [
        "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine", "Northwood", "Banias", "Generic", "generic", "unknown",
    ]

    /// Whether OpenBLAS runs generic kernels that are slower than this CPU allows.
    public static var isGenericCore: Bool {
        genericCores.contains(coreName) && recommendedCoreType != nil
    }

    /// The `OPENBLAS_CORETYPE` this CPU should use: `SkylakeX` with AVX-512F,
    /// `Haswell` with AVX2 and FMA, otherwise nil (keep OpenBLAS's choice).
    public static var recommendedCoreType: String? {
        let features = CPUProfile.host.features
        if features.contains(.avx512f) { return "SkylakeX" }
        if features.isSuperset(of: [.avx2, .fma]) { return "Haswell" }
        return nil
    }

    private static let warned = Locked(false)

    /// Logs, once per process, a warning with the remedy when OpenBLAS runs generic
    /// kernels on a CPU that has better ones. Called by the library's entry points;
    /// cheap after the first call.
    public static func warnIfGenericCore() {
        let first = warned.withLock { w -> Bool in
            defer { w = true }
            return !w
        }
        guard first, isGenericCore, let core = recommendedCoreType else { return }
        RecRLLog.log(
            .warning,
            "OpenBLAS is running its generic \(coreName) kernels on this CPU (several times slower). Start the process with OPENBLAS_CORETYPE=\(core) in its environment (setting it after start-up has no effect)."
        )
    }
}

/// The process's GEMM routing policy, read by every product.
///
/// The policy is published as a pointer to an immutable copy, so that a product reads it
/// with one atomic load and no lock or reference counting (two lanes of a training step
/// read it at once). Replaced copies are kept, never freed: a thread may still be reading
/// one, and there are only as many as assignments to `BLASRuntime.gemmRoutingPolicy`.
enum GEMMRouting {
    /// The policy at start-up: the host's, or `RECRL_GEMM`'s (a bad value is logged once).
    static let initial: GEMMRoutingPolicy = {
        let value = getenv("RECRL_GEMM").map { String(cString: $0) }
        let (policy, warning) = GEMMRoutingPolicy.fromEnvironment(value, profile: .host)
        if let warning { RecRLLog.log(.warning, warning) }
        return policy
    }()

    /// The address of the current policy's copy (an integer, because pointers are not `Sendable`).
    private static let current = Atomic<Int>(Int(bitPattern: copy(of: initial)))
    private static let replaced = Locked<[Int]>([])

    private static func copy(of policy: GEMMRoutingPolicy) -> UnsafeMutablePointer<GEMMRoutingPolicy> {
        let p = UnsafeMutablePointer<GEMMRoutingPolicy>.allocate(capacity: 1)
        p.initialize(to: policy)
        return p
    }

    static var policy: GEMMRoutingPolicy {
        UnsafePointer<GEMMRoutingPolicy>(bitPattern: current.load(ordering: .acquiring)).unsafelyUnwrapped.pointee
    }

    static func install(_ policy: GEMMRoutingPolicy) {
        let old = current.exchange(Int(bitPattern: copy(of: policy)), ordering: .acquiringAndReleasing)
        replaced.withLock { $0.append(old) }
    }

    /// Whether this CPU runs a build of RecRL's SGEMM (AVX-512F CPUs also run the AVX2 build).
    static func runsHere(_ kernel: GEMMRoutingPolicy.Kernel) -> Bool {
        let best = recrl_sgemm_best_kernel()
        switch kernel {
        case .recrlAVX512: return best == Int32(RECRL_SGEMM_AVX512)
        case .recrlAVX2: return best != Int32(RECRL_SGEMM_NONE)
        case .rank1, .openBLAS: return true
        }
    }

    /// The kernel that computes the product: the policy's choice, with builds of RecRL's
    /// SGEMM this CPU cannot run replaced by OpenBLAS.
    static func servingKernel(transposeB: Bool, m: Int, n: Int, k: Int, blasThreads: Int) -> GEMMRoutingPolicy.Kernel {
        let kernel = policy.kernel(transposeB: transposeB, m: m, n: n, k: k, blasThreads: blasThreads)
        return runsHere(kernel) ? kernel : .openBLAS
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
public let recrlVersion = "0.2.0"
