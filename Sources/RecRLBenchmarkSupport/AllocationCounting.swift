import Foundation
import RecRLTensor

/// Heap-allocation counting for the bench commands.
///
/// The library and the `recrl` tool never interpose the allocator (that would put a global
/// atomic on every `malloc` of every thread and defeat a preloaded allocator). An executable
/// built for measuring, such as `recrl-bench`, links an interposer and installs its counter
/// here before running a command; the commands then report allocations per update or per
/// call. Without a counter they report `null` and ``unavailableNote``.
public enum AllocationCounting {
    /// Returns the number of allocation calls so far in the process (all threads).
    public typealias Counter = @Sendable () -> Int

    private static let installed = Locked<Counter?>(nil)

    /// Installs the process's allocation counter (nil removes it).
    public static func install(_ counter: Counter?) {
        installed.withLock { $0 = counter }
    }

    /// The installed counter, if any.
    public static var counter: Counter? { installed.withLock { $0 } }

    /// What the commands report beside a `null` allocation count.
    public static let unavailableNote = "this executable does not count allocations; recrl-bench runs the same benchmark with counting"
}

/// A bench command's failure, printed by ArgumentParser as one `Error: …` line (exit code 1).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The bench commands' JSON: one line, keys sorted, slashes unescaped.
enum BenchJSON {
    static func line<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// `x` with `digits` significant digits (what `%.*g` prints), so that the JSON keeps no
    /// more precision than a timing carries.
    static func significant(_ x: Double, _ digits: Int) -> Double {
        Double(String(format: "%.\(digits)g", x)) ?? x
    }

    /// `x` with `decimals` digits after the point.
    static func fixed(_ x: Double, _ decimals: Int) -> Double {
        Double(String(format: "%.\(decimals)f", x)) ?? x
    }
}
