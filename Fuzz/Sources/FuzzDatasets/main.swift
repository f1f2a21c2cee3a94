// Fuzzes the data set loaders (MovieLens 100K, 1M and latest, and generic CSV) on files
// made of the input: any bytes give a data set or a DataError, never a crash.
//
// Input layout: byte 0 picks the format (bits 0-1: ml-100k, ml-1m, ml-latest, csv; bit 2:
// strict mode); the rest is split at the first 0xFF byte into the ratings file and, when
// present, the format's side-information file (u.item, movies.dat, movies.csv; for csv a
// second .csv file in the directory).
import Foundation
import FuzzDriver
import RecRLData

/// One directory per process, rewritten on every input; in memory (/dev/shm) when there is
/// one, since a disk-backed temporary directory makes the file writes the bottleneck.
nonisolated(unsafe) let fuzzDirectory: String = {
    var base = NSTemporaryDirectory()
    if FileManager.default.isWritableFile(atPath: "/dev/shm") { base = "/dev/shm/" }
    let path = base + "recrl-fuzz-datasets-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

let layouts: [(format: String, ratings: String, side: String)] = [
    ("ml-100k", "u.data", "u.item"),
    ("ml-1m", "ratings.dat", "movies.dat"),
    ("ml-latest", "ratings.csv", "movies.csv"),
    ("csv", "interactions.csv", "extra.csv"),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatasets(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let layout = layouts[Int(selector & 3)]
    let rest = bytes.dropFirst()
    let split = rest.firstIndex(of: 0xFF)
    let ratings = split.map { rest[..<$0] } ?? rest[...]
    let side = split.map { rest[rest.index(after: $0)...] }
    let fm = FileManager.default
    for entry in (try? fm.contentsOfDirectory(atPath: fuzzDirectory)) ?? [] {
        try? fm.removeItem(atPath: fuzzDirectory + "/" + entry)
    }
    fm.createFile(atPath: fuzzDirectory + "/" + layout.ratings, contents: Data(ratings))
    if let side { fm.createFile(atPath: fuzzDirectory + "/" + layout.side, contents: Data(side)) }
    let options = LoadOptions(strict: selector & 4 != 0)
    if let loaded = try? DatasetLoader.load(directory: fuzzDirectory, format: DatasetFormat(name: layout.format), options: options) {
        // Whatever loaded must be internally consistent enough to use.
        let dataset = loaded.dataset
        _ = dataset.userCounts()
        _ = dataset.itemCounts()
        _ = dataset.rowsByUser()
        _ = try? loaded.report.jsonString()
    }
    return 0
}

@_cdecl("FuzzDatasets_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, test: fuzzDatasets)
}
