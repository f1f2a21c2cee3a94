/// The severity of a library log message.
public enum LogLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case debug, info, warning, error
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["debug", "info", "warning", "error"][rawValue] }
}

/// RecRL's logging hook. The library never prints by itself: messages go to the
/// handler, which by default writes warnings and errors to standard error.
///
/// Bridge it to swift-log or your service's logger with ``setHandler(_:)``.
public enum RecRLLog {
    /// A function that receives every library message.
    public typealias Handler = @Sendable (_ level: LogLevel, _ message: String) -> Void

    /// Writes warnings and errors to standard error as `recrl: warning: …`.
    public static let standardError: Handler = { level, message in
        guard level >= .warning else { return }
        writeToStandardError("recrl: \(level): \(message)\n")
    }

    private static let handler = Locked<Handler>(standardError)

    /// Replaces the handler (thread-safe).
    public static func setHandler(_ newHandler: @escaping Handler) {
        handler.withLock { $0 = newHandler }
    }

    /// Sends a message to the current handler.
    public static func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        let h = handler.withLock { $0 }
        h(level, message())
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a string to file descriptor 2, unbuffered.
public func writeToStandardError(_ s: String) {
    var s = s
    s.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
}
