import Foundation
import RecRLData
import RecRLRecommenders
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Builds a data set from (user, item, rating, timestamp) tuples with raw ids "u<n>" / "i<n>".
func dataset(_ rows: [(Int, Int, Float, Int64)], users: Int, items: Int, genres: [[Int]]? = nil) -> InteractionDataset {
    var d = InteractionDataset(
        name: "test", userMap: IDMap(rawIDs: (0..<users).map { "u\($0)" }), itemMap: IDMap(rawIDs: (0..<items).map { "i\($0)" }),
        users: rows.map { Int32($0.0) }, items: rows.map { Int32($0.1) }, ratings: rows.map(\.2), timestamps: rows.map(\.3),
        ratingScale: 1...5)
    if let genres { d.itemInfo = ItemInfo(titles: Array(repeating: "", count: items), genres: genres, genreNames: ["a", "b", "c"]) }
    return d
}

/// A recommender with fixed scores per user and optional fixed rating predictions.
struct FixedScores: Recommender {
    var name: String { "fixed" }
    var table: [[Float]]
    var ratings: [[Float]]?
    mutating func fit(train: InteractionDataset) throws {}
    func scores(forUser user: Int, into scores: inout [Float]) { scores = table[user] }
    func predictRating(user: Int, item: Int) -> Float? { ratings.map { $0[user][item] } }
}

/// Per-user AUC of a fitted model on held-out positives against items the user never interacted with.
/// - Parameter isNegative: optional extra filter on (user, item) candidate negatives.
func meanAUC(
    _ model: some Recommender, train: InteractionDataset, test: InteractionDataset,
    isNegative: (Int, Int) -> Bool = { _, _ in true }
) -> Double {
    let trainUI = train.userItemMatrix(), testUI = test.userItemMatrix()
    var total = 0.0, users = 0
    var scores: [Float] = []
    for u in 0..<train.userCount where testUI.rowCount(u) > 0 {
        model.scores(forUser: u, into: &scores)
        let positives = testUI.columns(ofRow: u).map(Int.init)
        let negatives = (0..<train.itemCount).filter {
            !trainUI.contains(row: u, column: Int32($0)) && !testUI.contains(row: u, column: Int32($0)) && isNegative(u, $0)
        }
        var correct = 0.0
        for p in positives { for n in negatives { correct += scores[p] > scores[n] ? 1 : (scores[p] == scores[n] ? 0.5 : 0) } }
        total += correct / Double(positives.count * negatives.count)
        users += 1
    }
    return total / Double(users)
}

/// What `body` writes to standard output (file descriptor 1).
func capturingStandardOutput(_ body: () throws -> Void) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-stdout-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: url) }
    FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    fflush(nil)
    let saved = dup(1)
    dup2(handle.fileDescriptor, 1)
    defer {
        fflush(nil)
        dup2(saved, 1)
        close(saved)
        try? handle.close()
    }
    try body()
    fflush(nil)
    return try String(contentsOf: url, encoding: .utf8)
}
