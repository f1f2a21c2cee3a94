/// MovieLens 1M: `ratings.dat` (`::`-separated user, item, rating, timestamp; ratings 1–5,
/// Latin-1), with optional `movies.dat` and `users.dat`.
public struct ML1MFormat: InteractionFormat {
    /// `ml-1m`.
    public static let name = "ml-1m"
    public var name: String { Self.name }

    /// The format.
    public init() {}

    /// A directory with `ratings.dat`.
    public func detect(path: String, isDirectory: Bool, files: [String]) -> Bool { files.contains("ratings.dat") }

    public func load(path: String, isDirectory: Bool, options: LoadOptions) throws -> LoadedDataset {
        let ratingsFile = DatasetLoader.file("ratings.dat", in: path)
        let scale = options.ratingScale ?? 1...5
        var collector = RowCollector(file: DatasetLoader.name(of: ratingsFile), strict: options.strict, scale: scale, numericIDs: true)
        try DatasetLoader.parseDelimited(path: ratingsFile, separator: .doubleColon, fieldCount: 4, into: &collector)
        var loaded = try collector.finish(name: name)
        try DatasetLoader.attachPipeGenreMovies(
            to: &loaded, path: DatasetLoader.file("movies.dat", in: path), separator: .doubleColon,
            quoting: false, utf8: false, header: false)
        try DatasetLoader.attachUsers(
            to: &loaded, path: DatasetLoader.file("users.dat", in: path), separator: .doubleColon,
            fieldCount: 5, age: 2, gender: 1, occupation: 3)
        return loaded
    }
}
