import Foundation
import Logging

/// Process-wide logging setup for the `recrl serve` command.
public enum ServerLogging {
    /// How log records are written to standard error.
    public enum Format: String, CaseIterable, Sendable {
        /// One human-readable line per record with its metadata as `key=value` pairs.
        case text
        /// One JSON object per line (`ts`, `level`, `logger`, `message`, `source`, and the
        /// metadata as further string fields), for log collectors such as Loki or Fluent Bit.
        case json
    }

    /// Parses a swift-log level name (`trace`, `debug`, `info`, `notice`, `warning`,
    /// `error`, `critical`); `nil` for anything else.
    public static func level(named name: String) -> Logger.Level? {
        Logger.Level(rawValue: name.lowercased())
    }

    /// Sends every `Logger` to standard error at `level`, one line per record in `format`.
    /// Call once, before creating loggers (e.g. the ``RecommendationServer``).
    public static func bootstrap(level: Logger.Level, format: Format = .text) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// A `LogHandler` writing one JSON object per record to standard error (see
/// ``ServerLogging/Format/json``). Metadata values are written as strings; a metadata key
/// equal to one of the fixed fields is prefixed with `meta_`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    /// A handler for the logger `label`.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The JSON line of one record (without the newline).
    public static func line(
        timestamp: Date, level: Logger.Level, label: String, message: String, source: String,
        metadata: Logger.Metadata
    ) -> String {
        var object: [String: String] = [:]
        for (key, value) in metadata { object[key] = "\(value)" }
        for key in ["ts", "level", "logger", "message", "source"] where object[key] != nil {
            object["meta_" + key] = object.removeValue(forKey: key)
        }
        object["ts"] = ISO8601DateFormatter.string(
            from: timestamp, timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        object["level"] = level.rawValue
        object["logger"] = label
        object["message"] = message
        object["source"] = source
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided, uniquingKeysWith: { _, new in new }) }
        if let explicit = event.metadata { merged.merge(explicit, uniquingKeysWith: { _, new in new }) }
        let text =
            Self.line(
                timestamp: Date(), level: event.level, label: label, message: event.message.description, source: event.source,
                metadata: merged) + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
