import CRecRLKernels

/// What RecRL knows about a CPU when it routes dense products: vendor, family, and the
/// vector instruction sets that its kernels use.
///
/// ``host`` is read from CPUID when the process starts; tests and tools build profiles of
/// other CPUs to see how ``GEMMRoutingPolicy`` would route there.
public struct CPUProfile: Sendable, Hashable, CustomStringConvertible {
    /// The CPU's vendor, as CPUID names it.
    public enum Vendor: String, Sendable, Hashable {
        case amd, intel, other
    }

    /// Instruction-set extensions RecRL's kernels are built for.
    public struct Features: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// 256-bit integer and float vectors (AVX2).
        public static let avx2 = Features(rawValue: 1 << 0)
        /// Fused multiply-add on 128- and 256-bit vectors (FMA3).
        public static let fma = Features(rawValue: 1 << 1)
        /// 512-bit vectors (AVX-512 Foundation).
        public static let avx512f = Features(rawValue: 1 << 2)
    }

    /// The vendor.
    public var vendor: Vendor
    /// The x86 family as the OS reports it (`cpu family` in /proc/cpuinfo), e.g. `0x19` for
    /// AMD Zen 3 and Zen 4 and `0x1A` for Zen 5; 0 when unknown.
    public var family: Int
    /// The extensions the CPU supports.
    public var features: Features

    /// A profile with the given facts.
    public init(vendor: Vendor, family: Int, features: Features) {
        self.vendor = vendor
        self.family = family
        self.features = features
    }

    /// The widest vector registers the features give, in bits: 512 with AVX-512F, 256 with
    /// AVX2, 128 otherwise (SSE, or a CPU RecRL has no vector kernels for).
    public var vectorWidth: Int {
        features.contains(.avx512f) ? 512 : features.contains(.avx2) ? 256 : 128
    }

    /// The CPU this process runs on.
    public static let host: CPUProfile = {
        var features: Features = []
        if recrl_cpu_supports("avx2") != 0 { features.insert(.avx2) }
        if recrl_cpu_supports("fma") != 0 { features.insert(.fma) }
        if recrl_cpu_supports("avx512f") != 0 { features.insert(.avx512f) }
        let vendor: Vendor =
            switch recrl_cpu_vendor() {
            case Int32(RECRL_CPU_VENDOR_AMD): .amd
            case Int32(RECRL_CPU_VENDOR_INTEL): .intel
            default: .other
            }
        return CPUProfile(vendor: vendor, family: Int(recrl_cpu_family()), features: features)
    }()

    public var description: String {
        let names: [(Features, String)] = [(.avx2, "avx2"), (.fma, "fma"), (.avx512f, "avx512f")]
        let present = names.filter { features.contains($0.0) }.map(\.1)
        return "\(vendor.rawValue) family 0x\(String(family, radix: 16)) [\(present.joined(separator: ", "))]"
    }
}

/// Which kernel computes each single-precision product `op(A)[m × k] · op(B)[k × n]`.
///
/// Every GEMM of the library goes through one routing decision, made from the product's
/// shape (``kernel(transposeB:m:n:k:blasThreads:)``):
/// - depth 1 (`k = 1`): the rank-1 kernel, because a general GEMM spends its time packing
///   operands that a depth-1 product reads only once;
/// - shapes the policy's ``ownKernel`` serves, on single-threaded OpenBLAS: RecRL's own
///   SGEMM (`recrl_sgemm`, single-threaded by design);
/// - on multi-threaded OpenBLAS, products of at most ``singleThreadedWork`` multiply-adds
///   (a recurrent layer's per-step products, a convolution's on a small page) stay on the
///   calling thread: RecRL's own SGEMM when it serves the shape, and also when it does not
///   but OpenBLAS would split the product over its threads (more than ``openBLASSplitWork``);
///   the rest go to OpenBLAS, which computes products that small on one thread;
/// - everything else: OpenBLAS (on several threads when it runs them).
///
/// RecRL's own SGEMM has one level of cache blocking and register blocks of 8 × 32 (AVX-512)
/// or 6 × 16 (AVX2) outputs. Where it is faster than OpenBLAS depends on the CPU, and the
/// rule for each build states why (see the presets). ``init(profile:)`` picks the preset for
/// a CPU; `BLASRuntime.gemmRoutingPolicy` holds the policy in use.
public struct GEMMRoutingPolicy: Sendable, Hashable {
    /// The kernels a product can be routed to.
    public enum Kernel: String, Sendable, Hashable, CaseIterable {
        /// The rank-1 update kernel for depth-1 products.
        case rank1 = "rank-1"
        /// RecRL's own SGEMM, AVX-512F build (8 × 32 register blocks).
        case recrlAVX512 = "recrl-avx512"
        /// RecRL's own SGEMM, AVX2 + FMA build (6 × 16 register blocks).
        case recrlAVX2 = "recrl-avx2"
        /// OpenBLAS's `cblas_sgemm`.
        case openBLAS = "openblas"
    }

    /// The build of RecRL's own SGEMM this policy uses (``Kernel/recrlAVX512`` or
    /// ``Kernel/recrlAVX2``), or nil to leave every product of depth 2 or more to OpenBLAS.
    public var ownKernel: Kernel?
    /// The fewest rows (`m`) the own kernel takes: fewer rows leave most of a register block idle.
    public var minimumRows: Int
    /// The smallest depth (`k`) the own kernel takes: shallower products are dominated by
    /// packing and writing C.
    public var minimumDepth: Int
    /// The fewest columns (`n`) the own kernel takes.
    public var minimumColumns: Int
    /// The register block's width in columns; with ``maximumColumnPadding``, it bounds the
    /// work wasted on the padding of the last, partly filled block.
    public var columnBlock: Int
    /// The largest share of computed columns that may be padding: the own kernel takes `n`
    /// columns only when `columnBlock · ⌈n / columnBlock⌉ − n ≤ maximumColumnPadding · n`.
    /// `.infinity` accepts any padding.
    public var maximumColumnPadding: Double
    /// The most multiply-adds (`m · n · k`) the own kernel takes, or nil for no limit.
    public var maximumWork: Double?
    /// With B transposed, the own kernel takes only depths that are a multiple of this
    /// (1: any depth).
    public var transposedBDepthMultiple: Int

    /// A policy with explicit rules; ``ownKernel`` must be nil, ``Kernel/recrlAVX512`` or
    /// ``Kernel/recrlAVX2`` (anything else is treated as nil).
    public init(
        ownKernel: Kernel?, minimumRows: Int, minimumDepth: Int, minimumColumns: Int, columnBlock: Int,
        maximumColumnPadding: Double, maximumWork: Double?, transposedBDepthMultiple: Int
    ) {
        self.ownKernel = ownKernel == .recrlAVX512 || ownKernel == .recrlAVX2 ? ownKernel : nil
        self.minimumRows = minimumRows
        self.minimumDepth = minimumDepth
        self.minimumColumns = minimumColumns
        self.columnBlock = Swift.max(1, columnBlock)
        self.maximumColumnPadding = maximumColumnPadding
        self.maximumWork = maximumWork
        self.transposedBDepthMultiple = Swift.max(1, transposedBDepthMultiple)
    }

    /// OpenBLAS for every product of depth 2 or more (the rank-1 kernel still takes depth 1).
    public static let openBLASOnly = GEMMRoutingPolicy(
        ownKernel: nil, minimumRows: .max, minimumDepth: .max, minimumColumns: .max, columnBlock: 1,
        maximumColumnPadding: 0, maximumWork: 0, transposedBDepthMultiple: 1)

    /// The AVX2 + FMA build, for CPUs with AVX2 and FMA (and, on request, AVX-512 CPUs): at
    /// least 4 rows, 8-deep, 16 columns with at most 1/8 of the computed columns padding (so
    /// `n = 100` qualifies), any depth, at most 10⁹ multiply-adds. Its single level of cache
    /// blocking suits the mid-sized products of a training step; larger products gain more
    /// from OpenBLAS's deeper blocking.
    public static let recrlAVX2 = GEMMRoutingPolicy(
        ownKernel: .recrlAVX2, minimumRows: 4, minimumDepth: 8, minimumColumns: 16, columnBlock: 16,
        maximumColumnPadding: 0.125, maximumWork: 1e9, transposedBDepthMultiple: 1)

    /// The AVX-512F build on CPUs that execute 512-bit FMAs as two 256-bit halves (or whose
    /// width RecRL cannot tell): there its advantage over OpenBLAS is small, so it takes only
    /// what it does best: at least 4 rows, 8-deep, 32 columns with at most 1/10 of the
    /// computed columns padding (`n = 100` stays with OpenBLAS), with B transposed only depths
    /// that are a multiple of 16 (whole in-register 16 × 16 transposes), at most 10⁹ multiply-adds.
    public static let recrlAVX512 = GEMMRoutingPolicy(
        ownKernel: .recrlAVX512, minimumRows: 4, minimumDepth: 8, minimumColumns: 32, columnBlock: 32,
        maximumColumnPadding: 0.1, maximumWork: 1e9, transposedBDepthMultiple: 16)

    /// The AVX-512F build on CPUs that execute 512-bit FMAs at full width: its rate is twice
    /// the AVX2 build's there, enough to beat OpenBLAS with a partly filled last block, a
    /// transposed B of any depth and products of any size, so it takes every product of at
    /// least 4 rows, 8-deep and 16 columns.
    public static let recrlAVX512FullWidth = GEMMRoutingPolicy(
        ownKernel: .recrlAVX512, minimumRows: 4, minimumDepth: 8, minimumColumns: 16, columnBlock: 32,
        maximumColumnPadding: .infinity, maximumWork: nil, transposedBDepthMultiple: 1)

    /// The first AMD family (Zen 5) whose cores execute 512-bit FMAs at full width; earlier
    /// AMD cores with AVX-512 (Zen 4) split them into two 256-bit halves.
    public static let firstFullWidthAVX512AMDFamily = 0x1A

    /// Whether `profile` describes a CPU that executes 512-bit FMAs at full width, as far as
    /// RecRL can tell: AMD from ``firstFullWidthAVX512AMDFamily`` on. Other AVX-512 CPUs are
    /// treated as half-width, the rule that is safe on both.
    public static func executesAVX512AtFullWidth(_ profile: CPUProfile) -> Bool {
        profile.features.contains(.avx512f) && profile.vendor == .amd && profile.family >= firstFullWidthAVX512AMDFamily
    }

    /// The policy for a CPU: ``recrlAVX512FullWidth`` or ``recrlAVX512`` with AVX-512F
    /// (``executesAVX512AtFullWidth(_:)`` decides), ``recrlAVX2`` with AVX2 and FMA,
    /// otherwise ``openBLASOnly``.
    public init(profile: CPUProfile) {
        if profile.features.contains(.avx512f) {
            self = Self.executesAVX512AtFullWidth(profile) ? .recrlAVX512FullWidth : .recrlAVX512
        } else if profile.features.isSuperset(of: [.avx2, .fma]) {
            self = .recrlAVX2
        } else {
            self = .openBLASOnly
        }
    }

    /// The most multiply-adds (`m · n · k`, 2²⁰) of a product that stays on one thread when
    /// OpenBLAS runs several. Splitting a product costs a fixed price (waking OpenBLAS's
    /// workers, joining them, and a heap allocation of its job table on some paths), while
    /// the second thread saves at most half the product's time; a product of 2²⁰ multiply-adds
    /// takes a single core only a few times that fixed price, so below it the split gains
    /// little or nothing and breaks the promise of no heap allocation in a warm step. Every
    /// product of DeepPage's GRU, convolution and deconvolution layers at its default sizes
    /// falls below it (the largest is the history GRU's input projection and its gradients,
    /// `batch · steps × 3·hidden × input`); the hidden Dense products of DRR and LIRD at
    /// their default sizes (batch 64, layers at least 100 wide) are larger and keep OpenBLAS's threads.
    public static let singleThreadedWork = 1 << 20

    /// The fewest multiply-adds above which OpenBLAS splits a GEMM over its threads (2¹⁸:
    /// 65 536 × its default `GEMM_MULTITHREAD_THRESHOLD` of 4); it computes smaller products
    /// on the calling thread.
    public static let openBLASSplitWork = 1 << 18

    /// The kernel for one product `op(A)[m × k] · op(B)[k × n]` (`transposeB`: B is stored
    /// transposed) when OpenBLAS runs `blasThreads` threads per call.
    ///
    /// With `blasThreads > 1`, a product of at most ``singleThreadedWork`` multiply-adds is
    /// computed on the calling thread: by ``ownKernel`` when it serves the shape or when
    /// OpenBLAS would split the product (more than ``openBLASSplitWork``; the own kernel is
    /// correct for every shape, its rules only say where it is fastest), otherwise by OpenBLAS,
    /// which does not split products that small. Policies without an own kernel route every
    /// product of depth 2 or more to OpenBLAS.
    @inlinable
    public func kernel(transposeB: Bool, m: Int, n: Int, k: Int, blasThreads: Int) -> Kernel {
        if k == 1 { return .rank1 }
        guard let own = ownKernel else { return .openBLAS }
        if blasThreads <= 1 { return ownKernelServes(transposeB: transposeB, m: m, n: n, k: k) ? own : .openBLAS }
        let work = Double(m) * Double(n) * Double(k)
        guard work <= Double(Self.singleThreadedWork) else { return .openBLAS }
        if work > Double(Self.openBLASSplitWork) || ownKernelServes(transposeB: transposeB, m: m, n: n, k: k) { return own }
        return .openBLAS
    }

    /// Whether the shape is one ``ownKernel`` takes (whatever the thread count).
    @inlinable
    public func ownKernelServes(transposeB: Bool, m: Int, n: Int, k: Int) -> Bool {
        guard ownKernel != nil, m >= minimumRows, k >= minimumDepth, n >= minimumColumns else { return false }
        if let maximumWork, Double(m) * Double(n) * Double(k) > maximumWork { return false }
        if maximumColumnPadding.isFinite {
            let padding = (n + columnBlock - 1) / columnBlock * columnBlock - n
            guard Double(padding) <= maximumColumnPadding * Double(n) else { return false }
        }
        return !transposeB || k % transposedBDepthMultiple == 0
    }

    /// The policy `RECRL_GEMM` asks for on `profile`: `openblas` gives ``openBLASOnly``, `avx2`
    /// gives ``recrlAVX2`` on CPUs that run it (otherwise ``openBLASOnly``), nil (unset) gives
    /// ``init(profile:)``. Any other value gives ``init(profile:)`` and a warning to log.
    public static func fromEnvironment(_ value: String?, profile: CPUProfile) -> (policy: GEMMRoutingPolicy, warning: String?) {
        let standard = GEMMRoutingPolicy(profile: profile)
        switch value {
        case nil: return (standard, nil)
        case "openblas": return (.openBLASOnly, nil)
        case "avx2": return (standard.ownKernel == nil ? .openBLASOnly : .recrlAVX2, nil)
        case let other?:
            return (standard, "RECRL_GEMM=\(other) is not one of openblas, avx2; using the default kernel")
        }
    }
}
