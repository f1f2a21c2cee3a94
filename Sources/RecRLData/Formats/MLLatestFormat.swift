/// MovieLens latest / latest-small: `ratings.csv` (`userId,movieId,rating,timestamp`, UTF-8,
/// RFC-4180; half stars 0.5–5), with optional `movies.csv`.
public struct MLLatestFormat: InteractionFormat {
    /// `ml-latest`.
    public static let name = "ml-latest"
    public var name: String { Self.name }

    /// The format.
    public init() {}

    /// A directory with `ratings.csv`.
    public func detect(path: String, isDirectory: Bool, files: [String]) -> Bool { files.contains("ratings.csv") }

    public func load(path: String, isDirectory: Bool, options: LoadOptions) throws -> LoadedDataset {
        let ratingsFile = DatasetLoader.file("ratings.csv", in: path)
        let scale = options.ratingScale ?? 0.5...5
        var collector = RowCollector(file: DatasetLoader.name(of: ratingsFile), strict: options.strict, scale: scale, numericIDs: true)
        let columns = CSVColumns(user: "userId", item: "movieId", rating: "rating", timestamp: "timestamp")
        try DatasetLoader.parseCSV(
            path: ratingsFile, separator: UInt8(ascii: ","), columns: columns, requireTimestamp: true,
            into: &collector)
        var loaded = try collector.finish(name: name)
        try DatasetLoader.attachPipeGenreMovies(
            to: &loaded, path: DatasetLoader.file("movies.csv", in: path),
            separator: .byte(UInt8(ascii: ",")), quoting: true, utf8: true, header: true)
        return loaded
    }
}
