import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import RecRLServer
import Testing

@Suite struct FeedbackAndEventLogTests {
    @Test func feedbackIsObservedAndPersistedBeforeTheResponse() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let rated = try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i2", "rating": 4}"#)
            #expect(rated.status == .ok)
            #expect(rated.object["status"] as? String == "ok")
            // Acknowledged means stored: visible through another connection right away.
            #expect(try EventLog(path: fixture.eventLogPath).count() == 1)
            let rewarded = try await client.post("/v1/feedback", json: #"{"user": "u2", "item": "i5", "reward": -0.25}"#)
            #expect(rewarded.status == .ok)
        }
        #expect(fixture.engine.statistics["online_updates"] == 2)

        // Reopen the SQLite file with a separate GRDB connection and read the rows back.
        let queue = try DatabaseQueue(path: fixture.eventLogPath)
        let rows = try queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY id") }
        #expect(rows.count == 2)
        #expect(rows[0]["user"] as String == "u1")
        #expect(rows[0]["item"] as String == "i2")
        #expect(rows[0]["rating"] as Double? == 4)
        #expect(rows[0]["reward"] as Double == 0.5)  // (4 − 3) / 2
        #expect(rows[0]["model_version"] as String == "v1")
        #expect(rows[0]["arm"] as String == "single")
        #expect(rows[1]["rating"] as Double? == nil)
        #expect(rows[1]["reward"] as Double == -0.25)
        let now = Date().timeIntervalSince1970
        #expect(abs((rows[1]["timestamp"] as Double) - now) < 60)

        let journal = try await queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let durability = try fixture.eventLog.durabilitySettings()
        #expect(durability.journalMode == "wal")
        #expect(durability.synchronous == 2)  // FULL: a commit is fsynced before append returns
    }

    @Test(arguments: [
        (#"{"user": "u1", "item": "i2", "rating": 4, "reward": 0.5}"#, 400, "give exactly one of 'rating' and 'reward'"),
        (#"{"user": "u1", "item": "i2"}"#, 400, "give exactly one of 'rating' and 'reward'"),
        (#"{"user": "u1", "rating": 4}"#, 400, "missing field 'item'"),
        (#"{"item": "i1", "rating": 4}"#, 400, "missing field 'user'"),
        (#"{"user": "u1", "item": "i2", "rating": "four"}"#, 400, "field 'rating' has the wrong type"),
        (#"{"user": "u1", "item": "nope", "rating": 4}"#, 404, "unknown item 'nope'"),
        ("[1, 2", 400, "malformed JSON body"),
    ])
    func badFeedbackIsRejectedAndNotLogged(body: String, status: Int, message: String) async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/feedback", json: body)
            #expect(Int(response.status.code) == status)
            let error = try #require(response.errorMessage)
            #expect(error.hasPrefix(message), "got: \(error)")
        }
        #expect(try fixture.eventLog.count() == 0)
    }

    @Test func csvExportRoundTrip() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000.75)
        try await log.append(FeedbackEvent(user: "u1", item: "i1", reward: 0.5, rating: 4, timestamp: t0, modelVersion: "v1", arm: "single"))
        try await log.append(FeedbackEvent(user: "u2", item: "i9", reward: -1, rating: nil, timestamp: t0 + 10, modelVersion: "v1", arm: "single"))
        try await log.append(FeedbackEvent(user: "odd,\"user\"", item: "i3", reward: 0.25, rating: nil, timestamp: t0 + 20, modelVersion: "v2", arm: "single"))
        let csv = directory.appendingPathComponent("interactions.csv")
        #expect(try log.exportInteractionsCSV(to: csv) == 3)
        let text = try String(contentsOf: csv, encoding: .utf8)
        #expect(
            text == #"""
                user,item,rating,timestamp
                u1,i1,4.0,1700000000
                u2,i9,1.0,1700000010
                "odd,""user""",i3,3.5,1700000020

                """#)
        // Exporting again replaces the file; a custom mapping applies to reward-only rows.
        #expect(try log.exportInteractionsCSV(to: csv, ratingFromReward: { $0 }) == 3)
        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[2] == "u2,i9,-1.0,1700000010")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                == ["events.sqlite", "events.sqlite-shm", "events.sqlite-wal", "interactions.csv"])
        // Reading back: ids increase, fields survive.
        let events = try log.events()
        #expect(events.map(\.id) == [1, 2, 3])
        #expect(events[2].user == "odd,\"user\"")
        #expect(events[0].timestamp == t0)
        // The documented mapping inverts (rating − 3) / 2 and clamps to 1…5.
        #expect(EventLog.defaultRatingFromReward(0) == 3)
        #expect(EventLog.defaultRatingFromReward(0.5) == 4)
        #expect(EventLog.defaultRatingFromReward(7) == 5)
        #expect(EventLog.defaultRatingFromReward(-7) == 1)
    }
}
