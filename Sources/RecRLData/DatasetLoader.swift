import Foundation

/// The name of an on-disk data set format understood by ``DatasetLoader`` (the `--format`
/// value of the command-line tool).
///
/// The known names are `auto` and the ``InteractionFormat/name`` of every format in
/// ``DatasetLoader/formats``; ``init(rawValue:)`` rejects any other name.
public struct DatasetFormat: RawRepresentable, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The format's name, e.g. `ml-100k`.
    public let rawValue: String

    /// The format named `rawValue`, or `nil` if it is neither `auto` nor a registered format.
    public init?(rawValue: String) {
        guard rawValue == "auto" || DatasetLoader.formats.contains(where: { $0.name == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    /// The name of any format, registered or not (for an ``InteractionFormat`` passed to
    /// ``DatasetLoader/load(directory:using:options:)``).
    public init(name: String) { rawValue = name }

    /// Detect from the files present (see ``DatasetLoader/detectFormat(directory:)``).
    public static let auto = DatasetFormat(name: "auto")
    /// MovieLens 100K: `u.data` (tab-separated user, item, rating, timestamp), `u.item`, `u.user`.
    public static let ml100k = DatasetFormat(name: ML100KFormat.name)
    /// MovieLens 1M: `ratings.dat`, `movies.dat`, `users.dat`, `::`-separated, Latin-1.
    public static let ml1m = DatasetFormat(name: ML1MFormat.name)
    /// MovieLens latest / latest-small: `ratings.csv`, `movies.csv` (UTF-8, RFC-4180), half stars.
    public static let mlLatest = DatasetFormat(name: MLLatestFormat.name)
    /// Generic interactions CSV with a header (see ``CSVColumns``).
    public static let csv = DatasetFormat(name: CSVFormat.name)

    /// `auto`, then the registered formats in detection order.
    public static var allCases: [DatasetFormat] { [.auto] + DatasetLoader.formats.map { DatasetFormat(name: $0.name) } }

    public var description: String { rawValue }
}

/// Column names of a generic interactions CSV file.
public struct CSVColumns: Sendable, Equatable {
    /// User id column (default `user`).
    public var user: String
    /// Item id column (default `item`).
    public var item: String
    /// Rating column (default `rating`).
    public var rating: String
    /// Optional timestamp column (default `timestamp`; used only if present in the header).
    public var timestamp: String?

    /// Creates a column specification.
    public init(user: String = "user", item: String = "item", rating: String = "rating", timestamp: String? = "timestamp") {
        self.user = user
        self.item = item
        self.rating = rating
        self.timestamp = timestamp
    }
}

/// Options controlling loading and validation.
public struct LoadOptions: Sendable {
    /// If `true`, the first malformed row throws its ``DataError`` instead of being dropped and counted.
    public var strict: Bool
    /// Declared rating scale. `nil` uses the format's scale (1...5 for ML-100K/1M, 0.5...5 for
    /// ML-latest); for generic CSV `nil` accepts any finite rating and uses the observed min...max.
    public var ratingScale: ClosedRange<Float>?
    /// Column names for ``DatasetFormat/csv``.
    public var csvColumns: CSVColumns
    /// Field separator byte for ``DatasetFormat/csv`` (default `,`).
    public var csvSeparator: UInt8

    /// Creates options; all parameters have the documented defaults.
    public init(
        strict: Bool = false, ratingScale: ClosedRange<Float>? = nil,
        csvColumns: CSVColumns = CSVColumns(), csvSeparator: UInt8 = UInt8(ascii: ",")
    ) {
        self.strict = strict
        self.ratingScale = ratingScale
        self.csvColumns = csvColumns
        self.csvSeparator = csvSeparator
    }
}

/// The result of loading: the validated data set, what validation did, and the resolved format.
public struct LoadedDataset: Sendable {
    /// The interactions (one row per (user, item) pair) with side information.
    public var dataset: InteractionDataset
    /// Counts of rows read, kept, dropped by reason and de-duplicated.
    public var report: ValidationReport
    /// The concrete format that was loaded (never `.auto`).
    public var format: DatasetFormat

    /// A loading result; ``DatasetLoader`` sets ``format`` to the format it loaded with.
    public init(dataset: InteractionDataset, report: ValidationReport, format: DatasetFormat) {
        self.dataset = dataset
        self.report = report
        self.format = format
    }
}

/// Loads MovieLens and generic CSV interaction data with validation.
///
/// Each format is an ``InteractionFormat`` (one file per format, listed in ``formats``). Files
/// are read whole and parsed byte by byte, without a `String` per line, so loading costs time
/// linear in the file size and few allocations.
///
/// Policy:
/// - A missing directory or required file, an empty file, an unreadable encoding (UTF-16 BOM,
///   NUL bytes) or a CSV header without a required column always throws a ``DataError``.
/// - Malformed rows (wrong field count, bad id, non-numeric or out-of-scale rating, bad timestamp,
///   invalid UTF-8 in a CSV id, blank line) are dropped and counted by reason in the
///   ``ValidationReport``, unless ``LoadOptions/strict`` is set, when the first one throws.
/// - Duplicate (user, item) pairs keep the latest timestamp; on equal timestamps the later row wins.
/// - Side-information files (`u.item`, `movies.dat`, ...) are optional; their bad rows never drop
///   interactions and are counted as `metadata_issues`.
/// - Dense indices follow ascending raw id (numeric order when all ids are integers).
public enum DatasetLoader {
    /// The registered formats, in detection order: the first whose
    /// ``InteractionFormat/detect(path:isDirectory:files:)`` accepts a path is used for `auto`.
    /// A new built-in format is a new file conforming to ``InteractionFormat`` plus its entry here.
    public static let formats: [any InteractionFormat] = [ML100KFormat(), ML1MFormat(), MLLatestFormat(), CSVFormat()]

    /// Detects the format of a data directory.
    ///
    /// `u.data` → ml-100k; `ratings.dat` → ml-1m; `ratings.csv` → ml-latest; `interactions.csv` or
    /// a single `.csv` file → csv. A path to a `.csv` file is csv.
    /// - Throws: ``DataError/missingDirectory(path:)`` or ``DataError/cannotDetectFormat(directory:files:)``.
    public static func detectFormat(directory: String) throws -> DatasetFormat {
        DatasetFormat(name: try detect(path: directory).name)
    }

    /// The registered format of `path`.
    static func detect(path: String) throws -> any InteractionFormat {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError.missingDirectory(path: path)
        }
        let files = isDir.boolValue ? (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] : []
        if let format = formats.first(where: { $0.detect(path: path, isDirectory: isDir.boolValue, files: files) }) {
            return format
        }
        if !isDir.boolValue { throw DataError.missingDirectory(path: path) }
        throw DataError.cannotDetectFormat(directory: path, files: files)
    }

    /// Loads and validates a data set.
    /// - Parameters:
    ///   - path: the data directory (or, for csv, a `.csv` file).
    ///   - format: the format, or `.auto` (default) to detect it.
    ///   - options: validation options (default: lenient, format's rating scale).
    /// - Throws: ``DataError`` for fatal problems (see the type's policy).
    public static func load(
        directory path: String, format: DatasetFormat = .auto,
        options: LoadOptions = LoadOptions()
    ) throws -> LoadedDataset {
        let resolved: any InteractionFormat
        if format == .auto {
            resolved = try detect(path: path)
        } else {
            guard let registered = formats.first(where: { $0.name == format.rawValue }) else {
                throw DataError.unknownFormat(format.rawValue)
            }
            resolved = registered
        }
        return try load(directory: path, using: resolved, options: options)
    }

    /// Loads and validates a data set in `format`, registered in ``formats`` or not.
    /// - Throws: ``DataError/missingDirectory(path:)`` when `path` does not exist, or is a file
    ///   and `format` does not read single files; otherwise what `format` throws.
    public static func load(
        directory path: String, using format: any InteractionFormat,
        options: LoadOptions = LoadOptions()
    ) throws -> LoadedDataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError.missingDirectory(path: path)
        }
        if !isDir.boolValue && !format.readsSingleFile { throw DataError.missingDirectory(path: path) }
        var loaded = try format.load(path: path, isDirectory: isDir.boolValue, options: options)
        loaded.format = DatasetFormat(name: format.name)
        return loaded
    }

    /// The 19 genre names of MovieLens 100K, in `u.item` flag order (``ML100KFormat/genres``).
    public static var ml100kGenres: [String] { ML100KFormat.genres }

    /// `name` inside the directory `path`.
    static func file(_ name: String, in path: String) -> String { (path as NSString).appendingPathComponent(name) }

    // MARK: - Shared parsing

    static func name(of path: String) -> String { (path as NSString).lastPathComponent }

    /// Parses a header-less delimited interactions file with fields user, item, rating, timestamp.
    static func parseDelimited(
        path: String, separator: FieldSeparator, fieldCount: Int,
        into collector: inout RowCollector
    ) throws {
        let (bytes, start) = try readTextFile(path)
        try bytes.withUnsafeBufferPointer { buf in
            var sc = RecordScanner(bytes: buf, separator: separator, quoting: false, start: start)
            while sc.next() {
                try collector.add(scanner: sc, user: 0, item: 1, rating: 2, timestamp: 3, expectedFields: fieldCount)
            }
        }
    }

    /// Parses an RFC-4180 CSV interactions file with a header naming the columns.
    static func parseCSV(
        path: String, separator: UInt8, columns: CSVColumns, requireTimestamp: Bool,
        into collector: inout RowCollector
    ) throws {
        let (bytes, start) = try readTextFile(path)
        let file = name(of: path)
        try bytes.withUnsafeBufferPointer { buf in
            var sc = RecordScanner(bytes: buf, separator: .byte(separator), quoting: true, start: start)
            var header: [String] = []
            while header.isEmpty, sc.next() {
                header = sc.fields.map { (sc.utf8String($0) ?? sc.latin1String($0)).trimmingCharacters(in: .whitespaces) }
            }
            func column(_ name: String) throws -> Int {
                guard let i = header.firstIndex(of: name) else {
                    throw DataError.missingColumn(file: file, column: name, header: header)
                }
                return i
            }
            let u = try column(columns.user), i = try column(columns.item), r = try column(columns.rating)
            var t: Int? = nil
            if let tName = columns.timestamp {
                if requireTimestamp { t = try column(tName) } else { t = header.firstIndex(of: tName) }
            }
            var any = false
            while sc.next() {
                any = true
                try collector.add(scanner: sc, user: u, item: i, rating: r, timestamp: t, expectedFields: header.count)
            }
            if !any { throw DataError.emptyFile(file: file) }
        }
    }

    /// Attaches `movies.dat` / `movies.csv` (id, title, "A|B" genres) if the file exists.
    static func attachPipeGenreMovies(
        to loaded: inout LoadedDataset, path: String, separator: FieldSeparator,
        quoting: Bool, utf8: Bool, header: Bool
    ) throws {
        // First pass collects genre names so their indices are sorted and stable.
        var rows: [(Int, String, [String])] = []  // item index, title, genre names
        let file = name(of: path)
        guard FileManager.default.fileExists(atPath: path) else {
            loaded.report.notes.append("\(file) not found: no item titles or genres")
            return
        }
        let (bytes, start) = try readTextFile(path)
        let itemMap = loaded.dataset.itemMap
        var report = loaded.report
        var latin1Fallbacks = 0
        bytes.withUnsafeBufferPointer { buf in
            var sc = RecordScanner(bytes: buf, separator: separator, quoting: quoting, start: start)
            var skippedHeader = !header
            while sc.next() {
                let fields = sc.fields
                if fields.isEmpty { continue }
                if !skippedHeader { skippedHeader = true; continue }
                guard fields.count == 3 else {
                    report.recordMetadataIssue(.wrongFieldCount(file: file, line: sc.line, expected: 3, found: fields.count))
                    continue
                }
                guard let id = sc.int64(fields[0]) else {
                    report.recordMetadataIssue(.nonNumericID(file: file, line: sc.line, field: "item", value: sc.excerpt(fields[0])))
                    continue
                }
                guard let index = itemMap.index(of: String(id)) else { continue }  // item without ratings
                var title: String
                if utf8, let s = sc.utf8String(fields[1]) {
                    title = s
                } else {
                    if utf8 { latin1Fallbacks += 1 }
                    title = sc.latin1String(fields[1])
                }
                title = title.trimmingCharacters(in: .whitespaces)
                let g = sc.latin1String(fields[2])
                let names = g == "(no genres listed)" || g.isEmpty ? [] : g.split(separator: "|").map(String.init)
                rows.append((index, title, names))
            }
        }
        if latin1Fallbacks > 0 {
            report.notes.append("\(file): \(latin1Fallbacks) titles were not valid UTF-8 and were decoded as Latin-1")
        }
        loaded.report = report
        let genreNames = Array(Set(rows.flatMap(\.2))).sorted()
        let genreIndex = Dictionary(uniqueKeysWithValues: genreNames.enumerated().map { ($1, $0) })
        var info = ItemInfo(itemCount: itemMap.count)
        info.genreNames = genreNames
        for (index, title, names) in rows {
            info.titles[index] = title
            info.genres[index] = names.compactMap { genreIndex[$0] }.sorted()
        }
        noteMissingItems(info: info, loaded: &loaded, file: file, covered: Set(rows.map(\.0)))
        loaded.dataset.itemInfo = info
    }

    /// Attaches a header-less item file whose row parser returns (title, genre indices).
    static func attachItems(
        to loaded: inout LoadedDataset, path: String, separator: FieldSeparator, quoting: Bool, genreNames: [String],
        parse: (RecordScanner, [FieldRange], inout ValidationReport) -> (String, [Int])?
    ) throws {
        let file = name(of: path)
        guard FileManager.default.fileExists(atPath: path) else {
            loaded.report.notes.append("\(file) not found: no item titles or genres")
            return
        }
        let (bytes, start) = try readTextFile(path)
        let itemMap = loaded.dataset.itemMap
        var info = ItemInfo(itemCount: itemMap.count)
        info.genreNames = genreNames
        var report = loaded.report
        var covered = Set<Int>()
        bytes.withUnsafeBufferPointer { buf in
            var sc = RecordScanner(bytes: buf, separator: separator, quoting: quoting, start: start)
            while sc.next() {
                let fields = sc.fields
                if fields.isEmpty { continue }
                guard let id = sc.int64(fields[0]) else {
                    report.recordMetadataIssue(.nonNumericID(file: file, line: sc.line, field: "item", value: sc.excerpt(fields[0])))
                    continue
                }
                guard let (title, genres) = parse(sc, fields, &report) else { continue }
                guard let index = itemMap.index(of: String(id)) else { continue }
                info.titles[index] = title
                info.genres[index] = genres
                covered.insert(index)
            }
        }
        loaded.report = report
        noteMissingItems(info: info, loaded: &loaded, file: file, covered: covered)
        loaded.dataset.itemInfo = info
    }

    static func noteMissingItems(info: ItemInfo, loaded: inout LoadedDataset, file: String, covered: Set<Int>) {
        let missing = info.titles.count - covered.count
        if missing > 0 {
            loaded.report.notes.append("\(file): \(missing) rated items have no metadata row")
        }
    }

    /// Attaches a header-less user file (`u.user`, `users.dat`) if it exists.
    static func attachUsers(
        to loaded: inout LoadedDataset, path: String, separator: FieldSeparator, fieldCount: Int,
        age: Int, gender: Int, occupation: Int
    ) throws {
        let file = name(of: path)
        guard FileManager.default.fileExists(atPath: path) else {
            loaded.report.notes.append("\(file) not found: no user attributes")
            return
        }
        let (bytes, start) = try readTextFile(path)
        let userMap = loaded.dataset.userMap
        var info = UserInfo(userCount: userMap.count)
        var report = loaded.report
        bytes.withUnsafeBufferPointer { buf in
            var sc = RecordScanner(bytes: buf, separator: separator, quoting: false, start: start)
            while sc.next() {
                let fields = sc.fields
                if fields.isEmpty { continue }
                guard fields.count == fieldCount else {
                    report.recordMetadataIssue(.wrongFieldCount(file: file, line: sc.line, expected: fieldCount, found: fields.count))
                    continue
                }
                guard let id = sc.int64(fields[0]) else {
                    report.recordMetadataIssue(.nonNumericID(file: file, line: sc.line, field: "user", value: sc.excerpt(fields[0])))
                    continue
                }
                guard let index = userMap.index(of: String(id)) else { continue }
                info.ages[index] = sc.int64(fields[age]).map { Int($0) } ?? -1
                info.genders[index] = sc.latin1String(fields[gender])
                info.occupations[index] = sc.latin1String(fields[occupation])
            }
        }
        loaded.report = report
        loaded.dataset.userInfo = info
    }
}

/// User side information indexed by user index (MovieLens `u.user` / `users.dat`).
public struct UserInfo: Sendable, Equatable {
    /// Age (ML-100K) or age bucket code (ML-1M); -1 when unknown.
    public var ages: [Int]
    /// Gender code (`M`/`F`), "" when unknown.
    public var genders: [String]
    /// Occupation name (ML-100K) or code (ML-1M), "" when unknown.
    public var occupations: [String]

    /// Creates empty user information for `userCount` users.
    public init(userCount: Int) {
        ages = Array(repeating: -1, count: userCount)
        genders = Array(repeating: "", count: userCount)
        occupations = Array(repeating: "", count: userCount)
    }
}
