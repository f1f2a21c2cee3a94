import RecRLTensor
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Start-up helpers for RecRL's executables (`recrl`, `recrl-bench`, the examples). Not part
/// of the library: a library must not replace its host process.
public enum Launch {
    /// The environment variable that marks a process as already re-launched.
    public static let relaunchMarker = "RECRL_BLAS_RELAUNCHED"

    /// If OpenBLAS loaded a generic core on a CPU that has a better one
    /// (`BLASRuntime.isGenericCore`), and the user has not set `OPENBLAS_CORETYPE`, replaces
    /// this process with itself (same arguments) with `OPENBLAS_CORETYPE` set to
    /// `BLASRuntime.recommendedCoreType`. Call it first in `main`: OpenBLAS picks its kernels
    /// when it loads, so the variable must be in the environment before the process starts.
    ///
    /// Never overrides a user's `OPENBLAS_CORETYPE`, and re-launches at most once (guarded by
    /// ``relaunchMarker``). Returns normally when no re-launch is needed or the re-launch fails
    /// (then the slower kernels are used, with a warning).
    public static func relaunchWithOptimizedBLASCoreIfNeeded() {
        guard getenv("OPENBLAS_CORETYPE") == nil, getenv(relaunchMarker) == nil,
            BLASRuntime.isGenericCore, let core = BLASRuntime.recommendedCoreType
        else {
            BLASRuntime.warnIfGenericCore()
            return
        }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(relaunchMarker, "1", 1)
        var cargs: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // Only reached when exec failed.
        RecRLLog.log(
            .warning, "could not re-launch with OPENBLAS_CORETYPE=\(core) (errno \(errno)); continuing with the slower \(BLASRuntime.coreName) kernels")
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(relaunchMarker)
    }
}
