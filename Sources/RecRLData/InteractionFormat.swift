/// An on-disk interaction data format that ``DatasetLoader`` can detect and load.
///
/// Each built-in format is one conforming type in its own file, listed in
/// ``DatasetLoader/formats``; a format that is not listed there can still be loaded with
/// ``DatasetLoader/load(directory:using:options:)``.
///
/// A format reads its files, validates rows into an ``InteractionDataset`` following
/// ``DatasetLoader``'s policy (malformed rows dropped and counted, or thrown when
/// ``LoadOptions/strict``), and attaches whatever side information it has.
public protocol InteractionFormat: Sendable {
    /// The name the format is selected by (`--format`), e.g. `ml-100k`.
    var name: String { get }

    /// Whether a path given as a file (rather than a directory) can hold this format
    /// (default `false`).
    var readsSingleFile: Bool { get }

    /// Whether `path` holds data in this format.
    /// - Parameters:
    ///   - path: the data directory or file.
    ///   - isDirectory: whether `path` is a directory.
    ///   - files: the names of the files in the directory (empty for a file).
    func detect(path: String, isDirectory: Bool, files: [String]) -> Bool

    /// Loads and validates the data at `path` (a directory, or a file when ``readsSingleFile``).
    /// - Throws: ``DataError`` for missing required files, unreadable encodings or, in strict
    ///   mode, the first malformed row.
    func load(path: String, isDirectory: Bool, options: LoadOptions) throws -> LoadedDataset
}

extension InteractionFormat {
    public var readsSingleFile: Bool { false }
}
