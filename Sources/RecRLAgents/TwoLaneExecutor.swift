import RecRLTensor
import Synchronization
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How long one phase of the two-lane update took, summed over the updates profiled
/// (``DDPGLearner/profilesPhases``). A phase has two tasks, one per lane, and ends at a
/// barrier: `wallNanoseconds` is the calling thread's time from publishing the phase to both
/// tasks done; the task times are measured by whichever lane ran each task, so a wall time
/// above the longer task is time spent waiting for the other lane or at the barrier.
public struct TwoLanePhaseTiming: Sendable, Equatable {
    /// What the phase computes: `"forward"`, `"critic backward"`, `"critic first layer"`,
    /// `"actor pass: critic forward"`, `"actor pass: critic backward"`, `"actor backward"` or
    /// `"actor first layer"`.
    public var name: String
    /// The layer the phase works on (0 for the forward phase).
    public var layer: Int
    /// Updates summed.
    public var updates: Int
    /// Calling thread's wall time of the phase, nanoseconds, summed over ``updates``.
    public var wallNanoseconds: UInt64
    /// Time of task 0 (the caller's preferred task), nanoseconds, summed.
    public var task0Nanoseconds: UInt64
    /// Time of task 1 (the worker's preferred task), nanoseconds, summed.
    public var task1Nanoseconds: UInt64
    /// Updates in which one lane ran both tasks (the other had not claimed its task in time,
    /// e.g. a descheduled worker).
    public var oneLaneRuns: Int
}

/// The work a ``TwoLaneExecutor`` runs: phases of two independent tasks each.
///
/// A phase is an `Int` code the schedule chooses (the executor only stores and compares
/// it). Task `lane` of a phase may run on either thread; both tasks of a phase finish
/// before the next phase is published.
protocol TwoLaneSchedule: AnyObject {
    /// Runs task `task` (0 or 1) of phase `phase`.
    func run(phase: Int, task: Int)
    /// Called on the calling thread after a phase in which each lane ran one task, with the
    /// tasks' times, so the schedule can move element-wise work between the lanes.
    func balance(phase: Int, task0Nanoseconds: UInt64, task1Nanoseconds: UInt64)
    /// The phase's name and layer in ``TwoLanePhaseTiming``.
    func describe(phase: Int) -> (name: String, layer: Int)
}

/// Two lanes that run phases of a ``TwoLaneSchedule``: lane 0 is the calling thread, lane 1
/// a persistent worker thread that spins briefly between phases and then parks on a
/// condition variable.
///
/// Each phase's two tasks are claimed atomically: the caller takes task 0 and the worker
/// task 1, and either lane takes the other's task when it is still unclaimed (the caller
/// runs both when the worker is descheduled, so an oversubscribed machine degrades to the
/// sequential speed instead of waiting on the scheduler); then both meet at a barrier.
///
/// The executor knows nothing of what the tasks compute. It records per-phase times when
/// ``profiling`` is on (buffers allocated once, at init, for `phaseCount` phases per
/// round); a warm round allocates nothing.
///
/// Lifetime: the owner calls ``shutdown()`` (joins the worker) before releasing the
/// schedule; the executor holds the schedule unowned, and the worker thread holds the
/// executor unretained.
final class TwoLaneExecutor: @unchecked Sendable {
    // Safety: the worker only touches shared state between claiming a task and completing
    // it, ordered by the `state`/`completed` atomics (acquire/release); one owner at a time
    // publishes phases.

    unowned(unsafe) let schedule: any TwoLaneSchedule
    /// `generation << 2 | claimed tasks` (bit 0 task 0, bit 1 task 1) of the current phase.
    /// Starts at generation 0 with both tasks taken (nothing to run).
    private let state = Atomic<Int>(3)
    /// Tasks of the current phase finished by lane 1.
    private let completed = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    /// Set by lane 1 once it runs (after preparing its GEMM buffers).
    private let workerReady = Atomic<Int>(0)
    private var generation = 0
    private var phase = 0
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var thread: pthread_t? = nil
    /// Spins (PAUSE) before lane 1 parks, and before lane 0 starts yielding its core.
    private let workerSpins = 20_000
    private let callerSpins = 2_000
    /// How long task 0 and task 1 of the current phase took (ns), each written by the lane
    /// that ran it before it reports completion.
    private let taskNanoseconds = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)

    // MARK: Profiling
    /// Whether ``run(_:)`` records every phase's times.
    var profiling = false
    /// Phases one round runs (the timing slots).
    let phaseCount: Int
    /// Per phase ordinal: code, wall, task 0, task 1 (ns, summed) and one-lane runs.
    private let profileCodes: UnsafeMutablePointer<Int>
    private let profileTimes: UnsafeMutablePointer<UInt64>
    private let profileOneLane: UnsafeMutablePointer<Int>
    private var profiledRounds = 0
    private var phaseOrdinal = 0

    /// An executor for `schedule`, with timing slots for `phaseCount` phases per round.
    init(schedule: any TwoLaneSchedule, phaseCount: Int) {
        self.schedule = schedule
        self.phaseCount = phaseCount
        profileCodes = .allocate(capacity: phaseCount)
        profileCodes.initialize(repeating: 0, count: phaseCount)
        profileTimes = .allocate(capacity: 3 * phaseCount)
        profileTimes.initialize(repeating: 0, count: 3 * phaseCount)
        profileOneLane = .allocate(capacity: phaseCount)
        profileOneLane.initialize(repeating: 0, count: phaseCount)
        taskNanoseconds.initialize(repeating: 0, count: 2)
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        shutdown()
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(condition)
        mutex.deallocate()
        condition.deallocate()
        taskNanoseconds.deallocate()
        profileCodes.deallocate()
        profileTimes.deallocate()
        profileOneLane.deallocate()
    }

    /// Starts lane 1 (once) and waits until it has allocated its per-thread GEMM buffers,
    /// so that both lanes' one-time allocations happen here, not in a later round.
    func start() {
        guard thread == nil else { return }
        UnsafeKernels.prepareGEMMWorkspace()
        var t = pthread_t()
        let context = Unmanaged.passUnretained(self).toOpaque()
        let rc = pthread_create(
            &t, nil,
            { raw in
                guard let raw else { return nil }
                // Unretained: shutdown() joins this thread before the executor goes away.
                Unmanaged<TwoLaneExecutor>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.workerLoop() }
                return nil
            }, context)
        precondition(rc == 0, "TwoLaneExecutor: pthread_create failed (\(rc))")
        thread = t
        while workerReady.load(ordering: .acquiring) == 0 { sched_yield() }
    }

    /// Stops and joins the worker thread (idempotent).
    func shutdown() {
        if let thread {
            phase = -1  // the worker claims a task of this phase and exits
            post()
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    /// Publishes a new phase whose two tasks are up for grabs.
    private func post() {
        completed.store(0, ordering: .relaxed)
        generation += 1
        state.store(generation << 2, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) != 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_signal(condition)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Claims a task of the phase in `observed` (a `state` value), `preferred` first; nil
    /// when both are taken. The caller prefers task 0 and the worker task 1, so each lane
    /// runs the same share of every phase in every round (a fixed lane-to-data mapping);
    /// either lane still takes the other's task when that one has not been claimed.
    @inline(__always)
    private func claim(_ observed: Int, preferred: Int) -> Int? {
        var s = observed
        while s & 3 != 3 && s >> 2 == observed >> 2 {
            let task = s & (1 << preferred) == 0 ? preferred : 1 - preferred
            let (exchanged, current) = state.compareExchange(expected: s, desired: s | (1 << task), ordering: .acquiringAndReleasing)
            if exchanged { return task }
            s = current
        }
        return nil
    }

    private func workerLoop() {
        UnsafeKernels.prepareGEMMWorkspace()
        workerReady.store(1, ordering: .releasing)
        FloatingPointMode.withDenormalsFlushedToZero {
            while true {
                var s = state.load(ordering: .acquiring)
                if let task = claim(s, preferred: 1) {
                    let p = phase
                    if p < 0 { return }
                    timedRun(phase: p, task: task)
                    completed.add(1, ordering: .releasing)
                    continue
                }
                // Nothing to take: spin until the state moves on, then park.
                s = state.load(ordering: .acquiring)
                var spins = 0
                var current = s
                while current == s && current & 3 == 3 && spins < workerSpins {
                    UnsafeKernels.cpuRelax()
                    spins += 1
                    current = state.load(ordering: .acquiring)
                }
                if current == s && current & 3 == 3 {
                    pthread_mutex_lock(mutex)
                    sleeping.store(1, ordering: .sequentiallyConsistent)
                    while state.load(ordering: .sequentiallyConsistent) == s {
                        pthread_cond_wait(condition, mutex)
                    }
                    sleeping.store(0, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                }
            }
        }
    }

    /// Starts a round of phases (resets the profiling ordinal).
    func beginRound() { phaseOrdinal = 0 }

    /// Ends a round (counts it when profiling).
    func endRound() { if profiling { profiledRounds += 1 } }

    /// Runs both tasks of phase `p` (on whichever lanes take them) and returns when both are
    /// done. Lane 0 takes whatever lane 1 has not claimed, so a descheduled worker costs no waiting.
    func run(_ p: Int) {
        let wallStart = profiling ? monotonicNanoseconds() : 0
        phase = p
        post()
        var mine = 0
        while let task = claim(state.load(ordering: .acquiring), preferred: 0) {
            timedRun(phase: p, task: task)
            mine += 1
        }
        var spins = 0
        while completed.load(ordering: .acquiring) != 2 - mine {
            if spins < callerSpins { UnsafeKernels.cpuRelax(); spins += 1 } else { sched_yield() }
        }
        if mine == 1 { schedule.balance(phase: p, task0Nanoseconds: taskNanoseconds[0], task1Nanoseconds: taskNanoseconds[1]) }
        if profiling && phaseOrdinal < phaseCount {
            let o = phaseOrdinal
            profileCodes[o] = p
            profileTimes[3 * o] &+= monotonicNanoseconds() &- wallStart
            profileTimes[3 * o + 1] &+= taskNanoseconds[0]
            profileTimes[3 * o + 2] &+= taskNanoseconds[1]
            if mine != 1 { profileOneLane[o] += 1 }
            phaseOrdinal += 1
        }
    }

    /// The phases' times summed over the rounds profiled since the last reset, in the order
    /// a round runs them (empty before the first profiled round).
    func phaseTimings() -> [TwoLanePhaseTiming] {
        guard profiledRounds > 0 else { return [] }
        return (0..<phaseCount).map { o in
            let (name, layer) = schedule.describe(phase: profileCodes[o])
            return TwoLanePhaseTiming(
                name: name, layer: layer, updates: profiledRounds,
                wallNanoseconds: profileTimes[3 * o], task0Nanoseconds: profileTimes[3 * o + 1],
                task1Nanoseconds: profileTimes[3 * o + 2], oneLaneRuns: profileOneLane[o])
        }
    }

    /// Zeroes the phase timings.
    func resetPhaseTimings() {
        profiledRounds = 0
        profileTimes.update(repeating: 0, count: 3 * phaseCount)
        profileOneLane.update(repeating: 0, count: phaseCount)
    }

    private func timedRun(phase p: Int, task: Int) {
        let start = monotonicNanoseconds()
        schedule.run(phase: p, task: task)
        taskNanoseconds[task] = monotonicNanoseconds() &- start
    }

    @inline(__always)
    private func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }
}
