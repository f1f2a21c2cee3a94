import Foundation

/// The timing loop `bench layers` and `bench update` share: a warm-up that also estimates the
/// call rate, then `runs` timed runs of equal length, each a rate in calls per second, and the
/// heap blocks allocated per timed call when the allocation counter is available.
struct BenchTiming {
    /// Calls per second of each timed run.
    var rates: [Double]
    /// Heap blocks allocated per timed call, nil when ``AllocationCounting/counter`` is unavailable.
    var allocationsPerCall: Double?

    /// The median of ``rates``.
    var median: Double { rates.sorted()[rates.count / 2] }

    /// Warms `step` up for at least `warmCalls` calls and `warmSeconds`, then times `runs` runs
    /// of about `seconds / runs` seconds each.
    static func measure(
        warmCalls: Int, warmSeconds: Double, seconds: Double, runs: Int, _ step: () throws -> Void
    ) rethrows -> BenchTiming {
        var calls = 0
        let warmStart = DispatchTime.now().uptimeNanoseconds
        let warmNanoseconds = UInt64(warmSeconds * 1e9)
        repeat {
            try step()
            calls += 1
        } while calls < warmCalls || DispatchTime.now().uptimeNanoseconds - warmStart < warmNanoseconds
        let estimate = Double(calls) / (Double(DispatchTime.now().uptimeNanoseconds - warmStart) / 1e9)
        let perRun = max(1, Int(estimate * seconds / Double(runs)))
        let counter = AllocationCounting.counter
        var rates: [Double] = []
        var allocations = 0
        for _ in 0..<runs {
            let before = counter?() ?? 0
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<perRun { try step() }
            let end = DispatchTime.now().uptimeNanoseconds
            allocations += (counter?() ?? 0) - before
            rates.append(Double(perRun) / (Double(end - start) / 1e9))
        }
        return BenchTiming(rates: rates, allocationsPerCall: counter.map { _ in Double(allocations) / Double(perRun * runs) })
    }
}
