import Logging

/// Process-wide logging setup for the `recrl serve` command.
public enum ServerLogging {
    /// Parses a swift-log level name (`trace`, `debug`, `info`, `notice`, `warning`,
    /// `error`, `critical`); `nil` for anything else.
    public static func level(named name: String) -> Logger.Level? {
        Logger.Level(rawValue: name.lowercased())
    }

    /// Sends every `Logger` to standard error at `level`, as one line per record with
    /// its metadata as `key=value` pairs. Call once, before creating loggers (e.g. the
    /// ``RecommendationServer``).
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
