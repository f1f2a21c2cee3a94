import Foundation

/// What validation did to the interaction rows of a data set.
///
/// Nothing is dropped silently: every dropped row is counted under a reason key
/// (``DataError/reason``), and the first few messages are kept as examples.
public struct ValidationReport: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The interactions file that was validated (last path component).
    public var file: String
    /// Data rows read (header and trailing blank line excluded).
    public var rowsRead: Int
    /// Rows kept after validation and de-duplication.
    public var rowsKept: Int
    /// Dropped rows, by reason key (e.g. `"rating_out_of_scale": 3`).
    public var dropped: [String: Int]
    /// Duplicate (user, item) rows removed by keeping the latest timestamp (ties: the later row).
    public var duplicatesResolved: Int
    /// Up to ``maxExamples`` messages such as `u.data:17: rating 7 outside 1...5`.
    public var examples: [String]
    /// Problems in side-information files (item/user metadata), which never drop interactions.
    public var metadataIssues: Int
    /// Free-form notes (e.g. a metadata file that was absent).
    public var notes: [String]

    /// Maximum number of example messages kept.
    public static let maxExamples = 5

    /// Creates an empty report for `file`.
    public init(file: String) {
        self.file = file
        self.rowsRead = 0
        self.rowsKept = 0
        self.dropped = [:]
        self.duplicatesResolved = 0
        self.examples = []
        self.metadataIssues = 0
        self.notes = []
    }

    /// Total rows dropped for any reason (duplicates excluded).
    public var droppedTotal: Int { dropped.values.reduce(0, +) }

    /// Records one dropped row.
    public mutating func recordDrop(_ error: DataError) {
        dropped[error.reason, default: 0] += 1
        if examples.count < Self.maxExamples { examples.append(error.description) }
    }

    /// Records one problem in a metadata file.
    public mutating func recordMetadataIssue(_ error: DataError) {
        metadataIssues += 1
        if examples.count < Self.maxExamples { examples.append(error.description) }
    }

    enum CodingKeys: String, CodingKey {
        case file
        case rowsRead = "rows_read"
        case rowsKept = "rows_kept"
        case dropped
        case duplicatesResolved = "duplicates_resolved"
        case examples
        case metadataIssues = "metadata_issues"
        case notes
    }

    /// A multi-line human-readable summary.
    public var description: String {
        var lines = ["\(file): \(rowsRead) rows read, \(rowsKept) kept, \(droppedTotal) dropped, \(duplicatesResolved) duplicates resolved"]
        for (reason, count) in dropped.sorted(by: { $0.key < $1.key }) {
            lines.append("  dropped \(reason): \(count)")
        }
        if metadataIssues > 0 { lines.append("  metadata issues: \(metadataIssues)") }
        for example in examples { lines.append("  e.g. \(example)") }
        for note in notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }

    /// The report as a compact JSON object with sorted keys.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
