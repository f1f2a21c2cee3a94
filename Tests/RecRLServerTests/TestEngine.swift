import Foundation
import RecRLServer
import RecRLSimulation
import RecRLTensor

/// A deterministic engine for tests: a fixed catalogue `i0…i(n-1)`, scores that depend
/// only on (user, item, version), 4-dimensional item embeddings for `scoreState`, and a
/// reload that reads `version.txt` from the model directory.
final class TestEngine: RecommendationEngine {
    struct Model: Sendable {
        var version: String
        /// Added to every score, so that two versions rank differently.
        var offset: Float
    }

    let modelName: String
    let items: [String]
    static let stateDimension = 4
    private let model: Locked<Model>
    private let counters = Locked((updates: 0, replay: 0))
    /// Seconds a reload takes (to overlap reloads with requests in tests).
    let reloadDelay: Double

    init(name: String = "test-engine", version: String = "v1", itemCount: Int = 20, reloadDelay: Double = 0) {
        modelName = name
        items = (0..<itemCount).map { "i\($0)" }
        model = Locked(Model(version: version, offset: 0))
        self.reloadDelay = reloadDelay
    }

    var modelVersion: String { model.withLock { $0.version } }
    var isReady: Bool { true }
    var itemCount: Int { items.count }

    static func score(user: String, item: String, offset: Float) -> Float {
        let hash: UInt64 = ABTest.fnv1a64(user + "|" + item) % 1000
        return Float(hash) / 1000 + offset
    }

    static func embedding(ofItemAt index: Int) -> [Float] {
        (0..<stateDimension).map { d in Float((index * 7 + d * 3) % 11) / 10 - 0.5 }
    }

    func recommend(user: String, k: Int, exclude: Set<String>) throws -> Recommendation {
        while holdRecommends.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.005) }
        let snapshot = model.withLock { $0 }  // a request works on one model from start to end
        let candidates: [String] = items.filter { !exclude.contains($0) }
        let scored: [ScoredItem] = candidates.map { item in
            ScoredItem(item: item, score: Self.score(user: user, item: item, offset: snapshot.offset))
        }
        let ranked = scored.sorted(by: Self.ranksBefore)
        return Recommendation(items: Array(ranked.prefix(k)), modelVersion: snapshot.version)
    }

    static func ranksBefore(_ a: ScoredItem, _ b: ScoredItem) -> Bool {
        a.score > b.score || (a.score == b.score && a.item < b.item)
    }

    func observe(user: String, item: String, reward: Float) throws {
        guard items.contains(item) else { throw RequestError.notFound("unknown item '\(item)'") }
        counters.withLock {
            $0.updates += 1; $0.replay = min($0.replay + 1, 100)
        }
    }

    func rewardForRating(_ rating: Float) -> Float { (rating - 3) / 2 }

    func knowsItem(_ item: String) -> Bool { items.contains(item) }

    var ratingRange: ClosedRange<Float>? { 1...5 }

    var sessionEvictions: Int { evictions.withLock { $0 } }
    /// What ``sessionEvictions`` reports (tests set it).
    let evictions = Locked(0)

    /// While true, every recommend blocks its thread until a test sets it back to false
    /// (to saturate the ranking threads for as long as a test needs).
    let holdRecommends = Locked(false)

    struct ReloadError: Error, CustomStringConvertible {
        var description: String
    }

    func reload(from directory: URL) throws {
        if reloadDelay > 0 { Thread.sleep(forTimeInterval: reloadDelay) }
        let file = directory.appendingPathComponent("version.txt")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw ReloadError(description: "no model at \(directory.path): cannot read version.txt")
        }
        let version = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let next = Model(version: version, offset: Float(version.count))
        model.withLock { $0 = next }
    }

    func scoreState(_ state: [Float]) throws -> [ScoredItem] {
        guard state.count == Self.stateDimension else {
            throw RequestError.unprocessable("state has \(state.count) values; this model needs \(Self.stateDimension)")
        }
        return items.enumerated().map { index, item in
            let e = Self.embedding(ofItemAt: index)
            return ScoredItem(item: item, score: zip(state, e).map(*).reduce(0, +))
        }.sorted(by: Self.ranksBefore)
    }

    var statistics: [String: Double] {
        counters.withLock { ["online_updates": Double($0.updates), "replay_size": Double($0.replay)] }
    }
}
