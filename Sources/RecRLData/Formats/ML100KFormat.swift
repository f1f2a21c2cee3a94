/// MovieLens 100K: `u.data` (tab-separated user, item, rating, timestamp; ratings 1–5), with
/// optional `u.item` (titles, 19 genre flags), `u.genre` and `u.user`.
public struct ML100KFormat: InteractionFormat {
    /// `ml-100k`.
    public static let name = "ml-100k"
    /// The 19 genre names of MovieLens 100K, in `u.item` flag order (used when `u.genre` is absent).
    public static let genres = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
        "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
        "Thriller", "War", "Western",
    ]

    public var name: String { Self.name }

    /// The format.
    public init() {}

    /// A directory with `u.data`.
    public func detect(path: String, isDirectory: Bool, files: [String]) -> Bool { files.contains("u.data") }

    public func load(path: String, isDirectory: Bool, options: LoadOptions) throws -> LoadedDataset {
        let dataFile = DatasetLoader.file("u.data", in: path), itemFile = DatasetLoader.file("u.item", in: path)
        let scale = options.ratingScale ?? 1...5
        var collector = RowCollector(file: DatasetLoader.name(of: dataFile), strict: options.strict, scale: scale, numericIDs: true)
        try DatasetLoader.parseDelimited(path: dataFile, separator: .byte(0x09), fieldCount: 4, into: &collector)
        var loaded = try collector.finish(name: name)
        var genreNames = Self.genres
        if let genres = try? readTextFile(DatasetLoader.file("u.genre", in: path)) {
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
        try DatasetLoader.attachItems(
            to: &loaded, path: itemFile, separator: .byte(UInt8(ascii: "|")), quoting: false,
            genreNames: genreNames
        ) { sc, fields, report in
            guard fields.count == 24 else {
                report.recordMetadataIssue(
                    .wrongFieldCount(
                        file: DatasetLoader.name(of: itemFile), line: sc.line,
                        expected: 24, found: fields.count))
                return nil
            }
            var g: [Int] = []
            for k in 0..<19 {
                let f = fields[5 + k]
                if f.end - f.start == 1, sc.bytes[f.start] == UInt8(ascii: "1") { g.append(k) }
            }
            return (sc.latin1String(fields[1]), g)
        }
        try DatasetLoader.attachUsers(
            to: &loaded, path: DatasetLoader.file("u.user", in: path), separator: .byte(UInt8(ascii: "|")),
            fieldCount: 5, age: 1, gender: 2, occupation: 3)
        return loaded
    }
}
