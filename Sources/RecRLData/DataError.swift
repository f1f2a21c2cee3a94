/// An error raised while locating, reading or validating a data set.
///
/// Every case that concerns a particular row names the file (last path component)
/// and the 1-based line number, so `description` reads like `u.data:17: rating 7 outside 1...5`.
///
/// Policy (see ``LoadOptions``): problems with a whole file (missing directory or file,
/// empty file, unreadable encoding, missing header column) always throw. Problems with a
/// single row are dropped and counted in a ``ValidationReport`` unless `strict` is set, in
/// which case the first bad row throws its ``DataError``.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The data directory does not exist (or is not a directory).
    case missingDirectory(path: String)
    /// A required file is absent.
    case missingFile(path: String)
    /// A file exists but holds no records.
    case emptyFile(file: String)
    /// A file could not be read at all (I/O error).
    case unreadableFile(file: String, reason: String)
    /// A file is not in the expected text encoding (e.g. UTF-16, NUL bytes, invalid UTF-8 in an id).
    case unreadableEncoding(file: String, line: Int, detail: String)
    /// A row has the wrong number of fields.
    case wrongFieldCount(file: String, line: Int, expected: Int, found: Int)
    /// A user or item id is not of the expected form (non-numeric for MovieLens, empty for CSV).
    case nonNumericID(file: String, line: Int, field: String, value: String)
    /// A rating is not a number.
    case nonNumericRating(file: String, line: Int, value: String)
    /// A rating is outside the declared rating scale.
    case ratingOutOfScale(file: String, line: Int, value: Float, scale: ClosedRange<Float>)
    /// A timestamp is not a non-negative integer number of seconds.
    case badTimestamp(file: String, line: Int, value: String)
    /// A CSV header lacks a required column.
    case missingColumn(file: String, column: String, header: [String])
    /// The format name is not one of the known formats.
    case unknownFormat(String)
    /// `auto` detection found no recognisable file in the directory.
    case cannotDetectFormat(directory: String, files: [String])
    /// After validation nothing usable remained.
    case noInteractions(file: String)

    /// A stable short key used in ``ValidationReport/dropped``.
    public var reason: String {
        switch self {
        case .missingDirectory: return "missing_directory"
        case .missingFile: return "missing_file"
        case .emptyFile: return "empty_file"
        case .unreadableFile: return "unreadable_file"
        case .unreadableEncoding: return "bad_encoding"
        case .wrongFieldCount: return "wrong_field_count"
        case .nonNumericID: return "bad_id"
        case .nonNumericRating: return "non_numeric_rating"
        case .ratingOutOfScale: return "rating_out_of_scale"
        case .badTimestamp: return "bad_timestamp"
        case .missingColumn: return "missing_column"
        case .unknownFormat: return "unknown_format"
        case .cannotDetectFormat: return "cannot_detect_format"
        case .noInteractions: return "no_interactions"
        }
    }

    public var description: String {
        switch self {
        case let .missingDirectory(path):
            return "data directory not found: \(path)"
        case let .missingFile(path):
            return "required file not found: \(path)"
        case let .emptyFile(file):
            return "\(file): file is empty"
        case let .unreadableFile(file, reason):
            return "\(file): cannot read file (\(reason))"
        case let .unreadableEncoding(file, line, detail):
            return "\(file):\(line): unreadable encoding (\(detail))"
        case let .wrongFieldCount(file, line, expected, found):
            return "\(file):\(line): expected \(expected) fields, found \(found)"
        case let .nonNumericID(file, line, field, value):
            return "\(file):\(line): invalid \(field) id '\(value)'"
        case let .nonNumericRating(file, line, value):
            return "\(file):\(line): rating '\(value)' is not a number"
        case let .ratingOutOfScale(file, line, value, scale):
            return "\(file):\(line): rating \(formatNumber(value)) outside \(formatNumber(scale.lowerBound))...\(formatNumber(scale.upperBound))"
        case let .badTimestamp(file, line, value):
            return "\(file):\(line): bad timestamp '\(value)'"
        case let .missingColumn(file, column, header):
            return "\(file):1: missing column '\(column)' in header [\(header.joined(separator: ", "))]"
        case let .unknownFormat(name):
            return "unknown data format '\(name)' (expected one of: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .cannotDetectFormat(directory, files):
            let listed = files.isEmpty ? "no files" : files.sorted().prefix(8).joined(separator: ", ")
            return
                "cannot detect data format in \(directory) (found: \(listed)); expected u.data, ratings.dat, ratings.csv, interactions.csv or a single .csv file"
        case let .noInteractions(file):
            return "\(file): no valid interactions after validation"
        }
    }
}

/// Formats a number without a trailing ".0" for integral values (7 → "7", 4.5 → "4.5").
@usableFromInline
func formatNumber(_ x: Float) -> String {
    if x.isFinite, x == x.rounded(), abs(x) < 1e9 {
        return String(Int64(x))
    }
    return String(x)
}
