import ArgumentParser
import CRecRLMallocCounter
import RecRLBenchmarkSupport
import RecRLLaunch
import RecRLTensor

/// `recrl-bench`: the `recrl bench` subcommands (same names, flags and output) in a process
/// that counts heap allocations, by linking the malloc interposer `CRecRLMallocCounter`.
/// The counts appear as `allocations_per_update` (`train`) and `allocations_per_call`
/// (`recommend`). `recrl` itself links no interposer, so its allocator is the system's (or
/// a preloaded one) and those fields are `null` there.
@main
struct RecRLBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recrl-bench",
        abstract: "RecRL's benchmarks with heap-allocation counts (the `recrl bench` commands).",
        version: recrlVersion,
        subcommands: Bench.subcommandTypes)

    static func main() {
        // Must run before any BLAS work: OpenBLAS picks its kernels at load time.
        Launch.relaunchWithOptimizedBLASCoreIfNeeded()
        if recrl_malloc_counter_active() != 0 {
            AllocationCounting.install { recrl_malloc_count() }
        }
        Self.main(nil)
    }
}
