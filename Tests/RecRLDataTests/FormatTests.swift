import Foundation
import XCTest
import RecRLData

/// A format defined outside the library: `pairs.txt`, one `user item` pair per line, rating 1.
private struct PairsFormat: InteractionFormat {
    var name: String { "pairs" }

    func detect(path: String, isDirectory: Bool, files: [String]) -> Bool { files.contains("pairs.txt") }

    func load(path: String, isDirectory: Bool, options: LoadOptions) throws -> LoadedDataset {
        let text = try String(contentsOfFile: (path as NSString).appendingPathComponent("pairs.txt"), encoding: .utf8)
        let pairs = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let users = IDMap(rawIDs: Array(Set(pairs.map { $0[0] })).sorted())
        let items = IDMap(rawIDs: Array(Set(pairs.map { $0[1] })).sorted())
        let dataset = InteractionDataset(
            name: "pairs", userMap: users, itemMap: items,
            users: pairs.map { Int32(users.index(of: $0[0])!) }, items: pairs.map { Int32(items.index(of: $0[1])!) },
            ratings: pairs.map { _ in 1 }, timestamps: pairs.map { _ in 0 }, ratingScale: 1...1)
        return LoadedDataset(dataset: dataset, report: ValidationReport(file: "pairs.txt"), format: .auto)
    }
}

final class FormatTests: XCTestCase {
    func testRegisteredFormatsAndNames() {
        XCTAssertEqual(DatasetLoader.formats.map(\.name), ["ml-100k", "ml-1m", "ml-latest", "csv"])
        XCTAssertEqual(DatasetFormat.allCases.map(\.rawValue), ["auto", "ml-100k", "ml-1m", "ml-latest", "csv"])
        XCTAssertEqual(DatasetFormat(rawValue: "ml-1m"), .ml1m)
        XCTAssertNil(DatasetFormat(rawValue: "ml-10m"), "unknown names are rejected")
        XCTAssertNil(DatasetFormat(rawValue: "pairs"), "an unregistered format has no --format name")
        XCTAssertEqual(DatasetLoader.formats.filter(\.readsSingleFile).map(\.name), ["csv"])
    }

    func testFormatNamesRoundTripThroughCodable() throws {
        let data = try JSONEncoder().encode([DatasetFormat.mlLatest, .csv])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), #"["ml-latest","csv"]"#)
        XCTAssertEqual(try JSONDecoder().decode([DatasetFormat].self, from: data), [.mlLatest, .csv])
        XCTAssertThrowsError(try JSONDecoder().decode([DatasetFormat].self, from: Data(#"["parquet"]"#.utf8)))
    }

    func testUnregisteredFormatLoadsThroughTheLoader() throws {
        let dir = try TempDir(["pairs.txt": bytes("u1 a\nu2 b\nu1 b\n")])
        let loaded = try DatasetLoader.load(directory: dir.path, using: PairsFormat())
        XCTAssertEqual(loaded.format, DatasetFormat(name: "pairs"), "the loader records the format it used")
        XCTAssertEqual(loaded.dataset.interactionCount, 3)
        XCTAssertEqual(loaded.dataset.userCount, 2)
        XCTAssertThrowsError(try DatasetLoader.load(directory: dir.file("pairs.txt"), using: PairsFormat())) { error in
            XCTAssertEqual(error as? DataError, .missingDirectory(path: dir.file("pairs.txt")), "a file path needs readsSingleFile")
        }
        // Not registered, so auto-detection does not consider it.
        XCTAssertThrowsError(try DatasetLoader.detectFormat(directory: dir.path))
    }
}
