import Foundation

/// On-disk data set formats understood by ``DatasetLoader``.
public enum DatasetFormat: String, CaseIterable, Sendable, Codable {
    /// Detect from the files present (see ``DatasetLoader/detectFormat(directory:)``).
    case auto
    /// MovieLens 100K: `u.data` (tab-separated user, item, rating, timestamp), `u.item`, `u.user`.
    case ml100k = "ml-100k"
    /// MovieLens 1M: `ratings.dat`, `movies.dat`, `users.dat`, `::`-separated, Latin-1.
    case ml1m = "ml-1m"
    /// MovieLens latest / latest-small: `ratings.csv`, `movies.csv` (UTF-8, RFC-4180), half stars.
    case mlLatest = "ml-latest"
    /// Generic interactions CSV with a header (see ``CSVColumns``).
    case csv
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
    public init(strict: Bool = false, ratingScale: ClosedRange<Float>? = nil,
                csvColumns: CSVColumns = CSVColumns(), csvSeparator: UInt8 = UInt8(ascii: ",")) {
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
}

/// Loads MovieLens and generic CSV interaction data with validation.
///
/// Files are read whole and parsed byte by byte (no per-line `String`s), so 1M ratings load in
/// well under a second in release builds.
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
    /// Detects the format of a data directory.
    ///
    /// `u.data` → ml-100k; `ratings.dat` → ml-1m; `ratings.csv` → ml-latest; `interactions.csv` or
    /// a single `.csv` file → csv. A path to a `.csv` file is csv.
    /// - Throws: ``DataError/missingDirectory(path:)`` or ``DataError/cannotDetectFormat(directory:files:)``.
    public static func detectFormat(directory: String) throws -> DatasetFormat {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw DataError.missingDirectory(path: directory)
        }
        if !isDir.boolValue {
            if directory.lowercased().hasSuffix(".csv") { return .csv }
            throw DataError.missingDirectory(path: directory)
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let set = Set(files)
        if set.contains("u.data") { return .ml100k }
        if set.contains("ratings.dat") { return .ml1m }
        if set.contains("ratings.csv") { return .mlLatest }
        if set.contains("interactions.csv") { return .csv }
        let csvs = files.filter { $0.lowercased().hasSuffix(".csv") }
        if csvs.count == 1 { return .csv }
        throw DataError.cannotDetectFormat(directory: directory, files: files)
    }

    /// Loads and validates a data set.
    /// - Parameters:
    ///   - path: the data directory (or, for csv, a `.csv` file).
    ///   - format: the format, or `.auto` (default) to detect it.
    ///   - options: validation options (default: lenient, format's rating scale).
    /// - Throws: ``DataError`` for fatal problems (see the type's policy).
    public static func load(directory path: String, format: DatasetFormat = .auto,
                            options: LoadOptions = LoadOptions()) throws -> LoadedDataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError.missingDirectory(path: path)
        }
        let resolved = format == .auto ? try detectFormat(directory: path) : format
        if !isDir.boolValue && resolved != .csv { throw DataError.missingDirectory(path: path) }
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        switch resolved {
        case .auto:
            throw DataError.unknownFormat("auto")
        case .ml100k:
            return try loadML100K(dataFile: file("u.data"), itemFile: file("u.item"), userFile: file("u.user"),
                                  genreFile: file("u.genre"), options: options)
        case .ml1m:
            return try loadML1M(ratingsFile: file("ratings.dat"), moviesFile: file("movies.dat"),
                                usersFile: file("users.dat"), options: options)
        case .mlLatest:
            return try loadMLLatest(ratingsFile: file("ratings.csv"), moviesFile: file("movies.csv"), options: options)
        case .csv:
            let csvPath: String
            if !isDir.boolValue {
                csvPath = path
            } else if FileManager.default.fileExists(atPath: file("interactions.csv")) {
                csvPath = file("interactions.csv")
            } else {
                let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                let csvs = files.filter { $0.lowercased().hasSuffix(".csv") }
                guard csvs.count == 1 else { throw DataError.missingFile(path: file("interactions.csv")) }
                csvPath = file(csvs[0])
            }
            return try loadCSV(file: csvPath, options: options)
        }
    }

    // MARK: - MovieLens 100K

    /// The 19 genre names of MovieLens 100K, in `u.item` flag order.
    public static let ml100kGenres = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
        "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
        "Thriller", "War", "Western",
    ]

    static func loadML100K(dataFile: String, itemFile: String, userFile: String, genreFile: String,
                           options: LoadOptions) throws -> LoadedDataset {
        let scale = options.ratingScale ?? 1...5
        var collector = RowCollector(file: name(of: dataFile), strict: options.strict, scale: scale, numericIDs: true)
        try parseDelimited(path: dataFile, separator: .byte(0x09), fieldCount: 4, into: &collector)
        var loaded = try collector.finish(name: "ml-100k")
        var genreNames = ml100kGenres
        if let genres = try? readTextFile(genreFile) {
            var names: [(Int, String)] = []
            genres.bytes.withUnsafeBufferPointer { buf in
                var sc = RecordScanner(bytes: buf, separator: .byte(UInt8(ascii: "|")), quoting: false, start: genres.start)
                while sc.next() {
                    guard sc.fields.count == 2, let idx = sc.int64(sc.fields[1]) else { continue }
                    names.append((Int(idx), sc.latin1String(sc.fields[0])))
                }
            }
            names.sort { $0.0 < $1.0 }
            if names.count == 19, names.enumerated().allSatisfy({ $0.offset == $0.element.0 }) { genreNames = names.map(\.1) }
        }
        try attachItems(to: &loaded, path: itemFile, separator: .byte(UInt8(ascii: "|")), quoting: false,
                        genreNames: genreNames) { sc, fields, report in
            guard fields.count == 24 else {
                report.recordMetadataIssue(.wrongFieldCount(file: name(of: itemFile), line: sc.line, expected: 24, found: fields.count))
                return nil
            }
            var g: [Int] = []
            for k in 0..<19 {
                let f = fields[5 + k]
                if f.end - f.start == 1, sc.bytes[f.start] == UInt8(ascii: "1") { g.append(k) }
            }
            return (sc.latin1String(fields[1]), g)
        }
        try attachUsers(to: &loaded, path: userFile, separator: .byte(UInt8(ascii: "|")), fieldCount: 5,
                        age: 1, gender: 2, occupation: 3)
        return loaded
    }

    // MARK: - MovieLens 1M

    static func loadML1M(ratingsFile: String, moviesFile: String, usersFile: String,
                         options: LoadOptions) throws -> LoadedDataset {
        let scale = options.ratingScale ?? 1...5
        var collector = RowCollector(file: name(of: ratingsFile), strict: options.strict, scale: scale, numericIDs: true)
        try parseDelimited(path: ratingsFile, separator: .doubleColon, fieldCount: 4, into: &collector)
        var loaded = try collector.finish(name: "ml-1m")
        try attachPipeGenreMovies(to: &loaded, path: moviesFile, separator: .doubleColon, quoting: false,
                                  utf8: false, header: false)
        try attachUsers(to: &loaded, path: usersFile, separator: .doubleColon, fieldCount: 5,
                        age: 2, gender: 1, occupation: 3)
        return loaded
    }

    // MARK: - MovieLens latest

    static func loadMLLatest(ratingsFile: String, moviesFile: String, options: LoadOptions) throws -> LoadedDataset {
        let scale = options.ratingScale ?? 0.5...5
        var collector = RowCollector(file: name(of: ratingsFile), strict: options.strict, scale: scale, numericIDs: true)
        let columns = CSVColumns(user: "userId", item: "movieId", rating: "rating", timestamp: "timestamp")
        try parseCSV(path: ratingsFile, separator: UInt8(ascii: ","), columns: columns, requireTimestamp: true, into: &collector)
        var loaded = try collector.finish(name: "ml-latest")
        try attachPipeGenreMovies(to: &loaded, path: moviesFile, separator: .byte(UInt8(ascii: ",")), quoting: true,
                                  utf8: true, header: true)
        return loaded
    }

    // MARK: - Generic CSV

    static func loadCSV(file: String, options: LoadOptions) throws -> LoadedDataset {
        var collector = RowCollector(file: name(of: file), strict: options.strict,
                                     scale: options.ratingScale, numericIDs: false)
        try parseCSV(path: file, separator: options.csvSeparator, columns: options.csvColumns,
                     requireTimestamp: false, into: &collector)
        return try collector.finish(name: ((file as NSString).lastPathComponent as NSString).deletingPathExtension)
    }

    // MARK: - Shared parsing

    static func name(of path: String) -> String { (path as NSString).lastPathComponent }

    /// Parses a header-less delimited interactions file with fields user, item, rating, timestamp.
    static func parseDelimited(path: String, separator: FieldSeparator, fieldCount: Int,
                               into collector: inout RowCollector) throws {
        let (bytes, start) = try readTextFile(path)
        try bytes.withUnsafeBufferPointer { buf in
            var sc = RecordScanner(bytes: buf, separator: separator, quoting: false, start: start)
            while sc.next() {
                try collector.add(scanner: sc, user: 0, item: 1, rating: 2, timestamp: 3, expectedFields: fieldCount)
            }
        }
    }

    /// Parses an RFC-4180 CSV interactions file with a header naming the columns.
    static func parseCSV(path: String, separator: UInt8, columns: CSVColumns, requireTimestamp: Bool,
                         into collector: inout RowCollector) throws {
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
    static func attachPipeGenreMovies(to loaded: inout LoadedDataset, path: String, separator: FieldSeparator,
                                      quoting: Bool, utf8: Bool, header: Bool) throws {
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
    static func attachUsers(to loaded: inout LoadedDataset, path: String, separator: FieldSeparator, fieldCount: Int,
                            age: Int, gender: Int, occupation: Int) throws {
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
