#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value behind a mutual-exclusion lock, shared by reference: the one lock type of the
/// package (no module uses `Synchronization.Mutex`; atomics stay `Synchronization.Atomic`).
///
/// Contract:
/// - ``withLock(_:)`` runs `body` with exclusive access to the value; it blocks while another
///   thread holds the lock. The lock is not recursive: calling `withLock` on the same instance
///   from inside `body` deadlocks. Keep `body` short and never block on other work inside it.
/// - The value goes in and out under the same region rules as `Synchronization.Mutex`
///   (`sending`), so a non-`Sendable` value can live behind the lock and the type is `Sendable`.
///
/// It is built on `pthread_mutex_t` rather than `Synchronization.Mutex` because ThreadSanitizer
/// intercepts the pthread calls and so sees their happens-before edges, while it does not model
/// the toolchain's futex-based `Mutex` on Linux and reports every contended access inside a
/// `Mutex.withLock` body as a data race. Using it unconditionally keeps one code path: the
/// sanitized test builds check the same locking the release binary runs. An uncontended
/// `pthread_mutex_lock`/`unlock` is one atomic compare-and-swap each, as for `Mutex`, plus a
/// function call; the mutex lives in its own allocation made once in `init` (a
/// `pthread_mutex_t` must not move), so locking never allocates.
package final class Locked<Value: ~Copyable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// A lock around `initialValue`.
    package init(_ initialValue: consuming sending Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed with error \(status)")
        value = initialValue
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value locked and returns its result; the lock is released when
    /// `body` returns or throws.
    package func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
