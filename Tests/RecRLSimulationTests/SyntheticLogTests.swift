import Foundation
import RecRLSimulation
import RecRLTensor
import XCTest

final class SyntheticLogTests: XCTestCase {

    static let small = SyntheticWorld.Configuration(users: 200, items: 500)

    static func log(
        worldSeed: UInt64, logSeed: UInt64, policy: LoggingPolicy = .noisyPopularity(epsilon: 0.3),
        configuration: SyntheticWorld.Configuration = small,
        sessions: Int = 5, length: Int = 10
    ) -> SyntheticLog {
        var world = SyntheticWorld(configuration: configuration, seed: worldSeed)
        var rng = Xoshiro256StarStar(seed: logSeed)
        return world.generateLog(policy: policy, sessionsPerUser: sessions, sessionLength: length, using: &rng)
    }

    func testSeededDeterminism() {
        let a = Self.log(worldSeed: 1, logSeed: 2)
        let b = Self.log(worldSeed: 1, logSeed: 2)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.interactionsCSV(), b.interactionsCSV())
        XCTAssertEqual(a.itemsCSV(), b.itemsCSV())
        let otherWorld = Self.log(worldSeed: 3, logSeed: 2)
        let otherLog = Self.log(worldSeed: 1, logSeed: 4)
        XCTAssertNotEqual(a.interactionsCSV(), otherWorld.interactionsCSV())
        XCTAssertNotEqual(a.interactionsCSV(), otherLog.interactionsCSV())
        XCTAssertNotEqual(a.itemsCSV(), otherWorld.itemsCSV())
    }

    func testLogStructure() {
        let log = Self.log(worldSeed: 5, logSeed: 6)
        XCTAssertGreaterThan(log.interactions.count, 200 * 10)
        XCTAssertLessThanOrEqual(log.interactions.count, 200 * 5 * 10)
        var previous = Int64.min
        var pairs = Set<[Int]>()
        var perUser = [Int](repeating: 0, count: 200)
        for x in log.interactions {
            XCTAssertGreaterThan(x.timestamp, previous)
            previous = x.timestamp
            XCTAssertTrue((1...5).contains(x.rating))
            XCTAssertTrue(pairs.insert([x.user, x.item]).inserted, "item repeated for a user")
            XCTAssertTrue(x.propensity > 0 && x.propensity <= 1)
            perUser[x.user] += 1
        }
        XCTAssertTrue(perUser.allSatisfy { $0 >= 5 && $0 <= 50 }, "every user has 5 sessions of 1...10 interactions")
        XCTAssertGreaterThanOrEqual(log.interactions.first!.timestamp, 1_700_000_000)
        // Sessions end with a leave or at the length cap: count sessions per user from leaves.
        let leaves = log.interactions.filter(\.left).count
        XCTAssertGreaterThan(leaves, 0)
        XCTAssertLessThanOrEqual(leaves, 200 * 5)

        // Random policy: every pick is exploration with propensity 1/unseen.
        let random = Self.log(worldSeed: 5, logSeed: 6, policy: .random)
        XCTAssertTrue(random.interactions.allSatisfy(\.explored))
        XCTAssertTrue(random.interactions.allSatisfy { $0.propensity >= 1.0 / 500 && $0.propensity <= 1.0 / 450 })
    }

    func testEpsilonFractionAndPopularityBias() {
        for epsilon in [0.0, 0.1, 0.3, 1.0] {
            let log = Self.log(worldSeed: 7, logSeed: 8, policy: .noisyPopularity(epsilon: epsilon))
            let n = Double(log.interactions.count)
            let fraction = Double(log.interactions.filter(\.explored).count) / n
            // Binomial sd ≤ √(0.25/n) ≈ 0.005 for n ≈ 5000; allow ~4 sd.
            XCTAssertEqual(fraction, epsilon, accuracy: 0.02, "epsilon \(epsilon)")
        }
        // Exploited items are far more popular than explored ones (uniform: mean prior 1/N).
        let world = SyntheticWorld(configuration: Self.small, seed: 7)
        let log = Self.log(worldSeed: 7, logSeed: 8, policy: .noisyPopularity(epsilon: 0.3))
        let exploited = log.interactions.filter { !$0.explored }.map { world.popularity[$0.item] }
        let explored = log.interactions.filter(\.explored).map { world.popularity[$0.item] }
        let meanExploited = exploited.reduce(0, +) / Double(exploited.count)
        let meanExplored = explored.reduce(0, +) / Double(explored.count)
        XCTAssertGreaterThan(meanExploited, 3 * meanExplored)
        XCTAssertEqual(meanExplored, 1.0 / 500, accuracy: 0.5 / 500)
        // Users differ: the first exploited items are not the same for everybody.
        var firstExploited = [Int: Int]()
        for x in log.interactions where !x.explored && firstExploited[x.user] == nil { firstExploited[x.user] = x.item }
        XCTAssertGreaterThan(Set(firstExploited.values).count, 10)
        // Without personalisation every user's ranking is the popularity order.
        let plain = Self.log(worldSeed: 7, logSeed: 8, policy: .noisyPopularity(epsilon: 0, personalization: 0))
        let top = world.popularity.indices.max { world.popularity[$0] < world.popularity[$1] }!
        XCTAssertTrue(plain.interactions.allSatisfy { !$0.explored && $0.propensity == 1 })
        let firsts = Dictionary(grouping: plain.interactions, by: \.user).values.map { $0[0].item }
        XCTAssertTrue(firsts.allSatisfy { $0 == top })
        // ... and each user's whole sequence is the popularity order (this exercises the
        // partial selection of the ranking's first sessions·length entries).
        let byPopularity = world.popularity.indices.sorted { world.popularity[$0] > world.popularity[$1] }
        for (_, rows) in Dictionary(grouping: plain.interactions, by: \.user) {
            XCTAssertEqual(rows.map(\.item), Array(byPopularity.prefix(rows.count)))
        }
    }

    /// A tiny RFC 4180 subset parser: comma-separated, optional double quotes.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], field = "", row: [String] = [], quoted = false
        var chars = Array(text).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = chars.next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; pending = n }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\n" {
                row.append(field); rows.append(row); row = []; field = ""
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    func testCSVRoundTrip() throws {
        let log = Self.log(worldSeed: 9, logSeed: 10)
        let world = SyntheticWorld(configuration: Self.small, seed: 9)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("recrl-sim-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: directory) }
        try log.write(toDirectory: directory)

        let interactions = Self.parseCSV(try String(contentsOf: directory.appendingPathComponent("interactions.csv"), encoding: .utf8))
        XCTAssertEqual(interactions.first, ["user", "item", "rating", "timestamp"])
        XCTAssertEqual(interactions.count - 1, log.interactions.count)
        for (row, x) in zip(interactions.dropFirst(), log.interactions) {
            XCTAssertEqual(row, ["u\(x.user)", "i\(x.item)", "\(x.rating)", "\(x.timestamp)"])
        }

        let items = Self.parseCSV(try String(contentsOf: directory.appendingPathComponent("items.csv"), encoding: .utf8))
        XCTAssertEqual(items.first, ["item", "title", "category"])
        XCTAssertEqual(items.count - 1, 500)
        for (i, row) in items.dropFirst().enumerated() {
            XCTAssertEqual(row, ["i\(i)", "Item \(i) (category \(world.categories[i]))", "\(world.categories[i])"])
        }
        // The separate writers produce the same bytes.
        let single = directory.appendingPathComponent("single.csv")
        try log.writeInteractionsCSV(to: single)
        XCTAssertEqual(try Data(contentsOf: single), log.interactionsCSV())
    }

    func testParserHandlesQuotes() {
        XCTAssertEqual(Self.parseCSV("a,\"b,c\",\"d\"\"e\"\n1,2,3\n"), [["a", "b,c", "d\"e"], ["1", "2", "3"]])
    }

    func testGenerationSpeed() {
        // 500 users × 1000 items, 10 sessions of up to 10 interactions (≈ 30k interactions).
        let start = Date()
        let (log, world) = SyntheticWorld.defaultLog()
        let csv = log.interactionsCSV()
        let seconds = Date().timeIntervalSince(start)
        print("SyntheticWorld: built world and generated \(log.interactions.count) interactions (\(csv.count) CSV bytes) in \(seconds) s")
        XCTAssertGreaterThan(log.interactions.count, 20_000)
        XCTAssertEqual(world.userCount, 500)
        XCTAssertEqual(log.itemCategories.count, 1000)
        XCTAssertEqual(Set(log.interactions.map(\.user)).count, 500)
        #if !DEBUG
            XCTAssertLessThan(seconds, 1.0)
        #endif
    }
}
