import Foundation

extension InteractionDataset {
    /// Writes rows as the generic interactions CSV that ``CSVFormat`` reads: the header
    /// `user,item,rating,timestamp`, raw ids (quoted when they hold a comma, quote or line
    /// break), ratings in their shortest exact decimal form, so that loading the file gives the
    /// same ids, ratings and timestamps back.
    /// - Parameters:
    ///   - url: the file to write (replaced atomically).
    ///   - rows: the rows to write, in this order (default: all, in row order).
    public func writeCSV(to url: URL, rows: [Int]? = nil) throws {
        var text = "user,item,rating,timestamp\n"
        text.reserveCapacity(32 * (rows?.count ?? interactionCount))
        func field(_ s: String) -> String {
            guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        let userRaw = userMap.rawIDs, itemRaw = itemMap.rawIDs
        for r in rows ?? Array(0..<interactionCount) {
            text += field(userRaw[Int(users[r])]) + "," + field(itemRaw[Int(items[r])]) + ","
            text += "\(ratings[r]),\(timestamps[r])\n"
        }
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}

/// A train/test split stored as files, so that every stage of a pipeline (training, tuning,
/// evaluation) sees the same split.
///
/// Layout of a split folder:
///
/// ```
/// DIR/interactions.csv   the training rows, then the test rows (generic interactions CSV)
/// DIR/split.json         {"strategy", "test_fraction", "train_rows", "test_rows",
///                         "rating_scale": [lower, upper], "train_fingerprint", "test_fingerprint"}
/// ```
///
/// One file holds both halves so that reading it assigns the same dense ids as loading the
/// unsplit data (``DatasetLoader`` orders ids by raw id), and the halves share their id maps as
/// every ``Split`` does. ``read(from:)`` checks the row counts and both fingerprints, so an
/// edited or truncated folder is an error rather than a silently different split.
public enum SplitFiles {
    /// The interactions file name.
    public static let interactionsFile = "interactions.csv"
    /// The description file name.
    public static let descriptionFile = "split.json"

    /// What `split.json` holds.
    public struct Description: Codable, Sendable, Equatable {
        /// ``SplitStrategy/name``.
        public var strategy: String
        /// The held-out fraction (`nil` for leave-last).
        public var testFraction: Double?
        public var trainRows: Int
        public var testRows: Int
        /// The data set's declared rating scale, `[lower, upper]`.
        public var ratingScale: [Float]
        public var trainFingerprint: String
        public var testFingerprint: String

        enum CodingKeys: String, CodingKey {
            case strategy, testFraction = "test_fraction", trainRows = "train_rows", testRows = "test_rows"
            case ratingScale = "rating_scale", trainFingerprint = "train_fingerprint", testFingerprint = "test_fingerprint"
        }
    }

    /// Writes `split` into `directory` (created if needed) and returns what `split.json` holds.
    @discardableResult
    public static func write(_ split: Split, to directory: URL) throws -> Description {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Train and test share their id maps, so the rows of both can be written from one data set.
        var both = split.train
        both.users += split.test.users
        both.items += split.test.items
        both.ratings += split.test.ratings
        both.timestamps += split.test.timestamps
        try both.writeCSV(to: directory.appendingPathComponent(interactionsFile))
        let description = Description(
            strategy: split.strategy.name, testFraction: split.strategy.testFraction,
            trainRows: split.train.interactionCount, testRows: split.test.interactionCount,
            ratingScale: [split.train.ratingScale.lowerBound, split.train.ratingScale.upperBound],
            trainFingerprint: split.train.fingerprint, testFingerprint: split.test.fingerprint)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(description).write(to: directory.appendingPathComponent(descriptionFile), options: .atomic)
        return description
    }

    /// Whether `directory` holds a split written by ``write(_:to:)``.
    public static func isSplitDirectory(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(descriptionFile).path)
    }

    /// Reads a split written by ``write(_:to:)``.
    /// - Throws: ``DataError`` when a file is missing or unreadable, or when the rows read do
    ///   not match `split.json` (count or fingerprint).
    public static func read(from directory: URL) throws -> Split {
        let descriptionURL = directory.appendingPathComponent(descriptionFile)
        guard let data = try? Data(contentsOf: descriptionURL) else { throw DataError.missingFile(path: descriptionURL.path) }
        let description: Description
        do { description = try JSONDecoder().decode(Description.self, from: data) } catch {
            throw DataError.unreadableFile(file: descriptionFile, reason: "not a split description: \(error)")
        }
        guard description.ratingScale.count == 2, description.ratingScale[0] <= description.ratingScale[1],
            description.trainRows >= 0, description.testRows >= 0
        else {
            throw DataError.unreadableFile(file: descriptionFile, reason: "bad rating_scale or row counts")
        }
        let strategy = SplitStrategy(name: description.strategy, testFraction: description.testFraction ?? 0)
        guard let strategy else {
            throw DataError.unreadableFile(file: descriptionFile, reason: "unknown strategy '\(description.strategy)'")
        }
        let loaded = try DatasetLoader.load(
            directory: directory.appendingPathComponent(interactionsFile).path, format: .csv,
            options: LoadOptions(strict: true, ratingScale: description.ratingScale[0]...description.ratingScale[1]))
        let all = loaded.dataset
        guard loaded.report.duplicatesResolved == 0, all.interactionCount == description.trainRows + description.testRows else {
            throw DataError.unreadableFile(
                file: interactionsFile,
                reason:
                    "\(all.interactionCount) distinct rows, but \(descriptionFile) lists \(description.trainRows) training and \(description.testRows) test rows"
            )
        }
        let split = Split(
            train: all.subset(rows: Array(0..<description.trainRows)),
            test: all.subset(rows: Array(description.trainRows..<all.interactionCount)), strategy: strategy)
        guard split.train.fingerprint == description.trainFingerprint, split.test.fingerprint == description.testFingerprint else {
            throw DataError.unreadableFile(file: interactionsFile, reason: "the rows do not match the fingerprints in \(descriptionFile)")
        }
        return split
    }
}
