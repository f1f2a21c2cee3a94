import Foundation

/// A generic interactions CSV with a header naming the columns (``LoadOptions/csvColumns``,
/// separator ``LoadOptions/csvSeparator``); ids are arbitrary strings.
///
/// The data is a `.csv` file given directly, or in a directory `interactions.csv` or else its
/// only `.csv` file. The data set is named after the file (without extension).
public struct CSVFormat: InteractionFormat {
    /// `csv`.
    public static let name = "csv"
    public var name: String { Self.name }
    public var readsSingleFile: Bool { true }

    /// The format.
    public init() {}

    /// A `.csv` file, or a directory with `interactions.csv` or exactly one `.csv` file.
    public func detect(path: String, isDirectory: Bool, files: [String]) -> Bool {
        if !isDirectory { return path.lowercased().hasSuffix(".csv") }
        return files.contains("interactions.csv") || files.filter { $0.lowercased().hasSuffix(".csv") }.count == 1
    }

    public func load(path: String, isDirectory: Bool, options: LoadOptions) throws -> LoadedDataset {
        let csvPath: String
        let interactions = DatasetLoader.file("interactions.csv", in: path)
        if !isDirectory {
            csvPath = path
        } else if FileManager.default.fileExists(atPath: interactions) {
            csvPath = interactions
        } else {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            let csvs = files.filter { $0.lowercased().hasSuffix(".csv") }
            guard csvs.count == 1 else { throw DataError.missingFile(path: interactions) }
            csvPath = DatasetLoader.file(csvs[0], in: path)
        }
        var collector = RowCollector(
            file: DatasetLoader.name(of: csvPath), strict: options.strict,
            scale: options.ratingScale, numericIDs: false)
        try DatasetLoader.parseCSV(
            path: csvPath, separator: options.csvSeparator, columns: options.csvColumns,
            requireTimestamp: false, into: &collector)
        return try collector.finish(name: ((csvPath as NSString).lastPathComponent as NSString).deletingPathExtension)
    }
}
