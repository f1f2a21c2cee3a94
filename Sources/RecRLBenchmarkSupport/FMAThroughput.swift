import CRecRLBenchmarkProbes
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The FP32 multiply-add throughput the CPU gives at this moment, one figure per thread.
///
/// Benchmarks on shared or virtual machines see the machine's speed change under them: a
/// 2-vCPU VM may get two cores' throughput at one moment and one core's at the next (for
/// example when the host runs both vCPUs on the two hardware threads of one core). A
/// throughput ratio between two programs measured at different moments then says more about
/// the host than about the programs. `measure(threads:seconds:)` runs
/// ``probe(iterations:start:multiplier:addend:)`` on `threads` threads at once and reports each thread's GFLOP/s,
/// so a benchmark run can record which level the machine was on (`recrl bench cpu`).
public enum FMAThroughput {
    /// The FMA-throughput probe: 12 independent chains of 8 float lanes, chain `j` starting at
    /// `start + j` and stepping `x = fma(x, multiplier, addend)` `iterations` times (AVX2 + FMA),
    /// enough independent work to keep one core's FMA units busy: `flops` over the elapsed time
    /// is the core's FP32 rate at that moment. `checksum` is the sum of the chains' final values
    /// (in chain order), which keeps the work from being optimised away. Nil on CPUs without
    /// AVX2 + FMA, or for negative `iterations`.
    public static func probe(
        iterations: Int, start: Float = 0, multiplier: Float = 0.5,
        addend: Float = 1
    ) -> (flops: Int, checksum: Float)? {
        var checksum: Float = 0
        let flops = recrl_fma_probe(iterations, start, multiplier, addend, &checksum)
        return flops >= 0 ? (flops, checksum) : nil
    }

    /// GFLOP/s of each of `threads` threads running the FMA probe at the same time for about
    /// `seconds` (the calling thread is thread 0). Nil on CPUs without AVX2 + FMA. Threads is
    /// clamped to 1...256 and seconds to at least 1 ms.
    public static func measure(threads: Int, seconds: Double) -> [Double]? {
        guard probe(iterations: 0) != nil else { return nil }
        let n = Swift.min(256, Swift.max(1, threads))
        let deadline = monotonicSeconds() + Swift.max(0.001, seconds)
        let slots = UnsafeMutablePointer<ProbeSlot>.allocate(capacity: n)
        slots.initialize(repeating: ProbeSlot(deadline: deadline, gflops: 0), count: n)
        defer { slots.deallocate() }
        var workers: [pthread_t] = []
        for i in 1..<n {
            if let t = spawnProbe(slots + i) { workers.append(t) } else { slots[i].gflops = .nan }
        }
        runProbe(slots)
        for t in workers { pthread_join(t, nil) }
        let rates = (0..<n).map { slots[$0].gflops }
        return rates.contains { $0.isNaN } ? nil : rates
    }

    fileprivate struct ProbeSlot {
        var deadline: Double
        var gflops: Double
    }

    /// Starts a thread that runs `runProbe(slot)`; nil when no thread could be created.
    private static func spawnProbe(_ slot: UnsafeMutablePointer<ProbeSlot>) -> pthread_t? {
        var t = pthread_t()
        let rc = pthread_create(&t, nil, probeThreadMain, UnsafeMutableRawPointer(slot))
        return rc == 0 ? t : nil
    }

    /// Runs the probe in ~0.2 ms chunks until the slot's deadline; stores the thread's rate.
    fileprivate static func runProbe(_ slot: UnsafeMutablePointer<ProbeSlot>) {
        let start = monotonicSeconds()
        var flops = 0
        var now = start
        repeat {
            // The C probe writes its checksum out, so its work cannot be dropped.
            guard let r = probe(iterations: 100_000) else { break }
            flops += r.flops
            now = monotonicSeconds()
        } while now < slot.pointee.deadline
        slot.pointee.gflops = now > start ? Double(flops) / (now - start) / 1e9 : 0
    }

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// A probe thread's entry point: `raw` points at its slot.
private func probeThreadMain(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    if let raw { FMAThroughput.runProbeThread(raw) }
    return nil
}

extension FMAThroughput {
    fileprivate static func runProbeThread(_ raw: UnsafeMutableRawPointer) {
        runProbe(raw.assumingMemoryBound(to: ProbeSlot.self))
    }
}
