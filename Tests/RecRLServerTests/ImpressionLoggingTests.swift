import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import RecRLEvaluation
@testable import RecRLServer
import Testing
@testable import recrl

@Suite struct ImpressionLoggingTests {
    @Test func stochasticServingLogsTheSlateWithItsPropensities() async throws {
        let policy = ServingPolicy.epsilonGreedy(epsilon: 0.5, pool: 6)
        let fixture = try Fixture(configuration: ServerConfiguration(servingPolicy: policy, servingSeed: 3))
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            var requestIDs: [String] = []
            for _ in 0..<20 {
                let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 3, "exclude": ["i0"]}"#)
                #expect(response.status == .ok)
                let ids = try #require(response.object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
                #expect(ids.count == 3 && Set(ids).count == 3)
                requestIDs.append(try #require(response.object["request_id"] as? String))
            }
            let ranking = try fixture.engine.recommend(user: "u1", k: 6, exclude: ["i0"]).items.map(\.item)
            let stored = try fixture.eventLog.impressions()
            #expect(stored.map(\.requestID) == requestIDs)
            var explored = 0
            for impression in stored {
                #expect(impression.servingPolicy == policy.description && impression.arm == "single" && impression.modelVersion == "v1")
                let ranks = impression.items.map { ranking.firstIndex(of: $0) }
                #expect(ranks.allSatisfy { $0 != nil }, "slates come from the top 6")
                for (j, r) in ranks.enumerated() {
                    #expect(impression.propensities[j] == policy.positionProbability(rankIndex: r, position: j, rankingCount: 6))
                }
                #expect(impression.slatePropensity == policy.slateProbability(rankIndices: ranks, rankingCount: 6))
                if impression.items != Array(ranking.prefix(3)) { explored += 1 }
            }
            #expect(explored > 0 && explored < 20, "ε = 0.5 explores some slates, not all")

            // Feedback names the slate; the logged bandit feedback joins it by request id and item.
            let first = stored[0]
            let body = #"{"user": "u1", "item": "\#(first.items[1])", "reward": 0.5, "request_id": "\#(first.requestID)"}"#
            #expect(try await client.post("/v1/feedback", json: body).status == .ok)
            #expect(try await client.post("/v1/feedback", json: #"{"user": "u1", "item": "i3", "reward": 1}"#).status == .ok)
            let logged = try fixture.eventLog.loggedImpressions()
            #expect(logged[0].rewards == [0, 0.5, 0])
            #expect(logged.dropFirst().allSatisfy { $0.rewards == [0, 0, 0] })
            #expect(try fixture.eventLog.events().map(\.requestID) == [first.requestID, nil])
            let tooLong = #"{"user": "u1", "item": "i3", "reward": 1, "request_id": "\#(String(repeating: "r", count: 300))"}"#
            #expect(try await client.post("/v1/feedback", json: tooLong).status == .badRequest)
        }
    }

    @Test func softmaxServingLogsPlackettLucePropensities() async throws {
        let policy = ServingPolicy.softmax(temperature: 0.05, pool: 5)
        let fixture = try Fixture(configuration: ServerConfiguration(servingPolicy: policy, servingSeed: 9))
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            for _ in 0..<5 {
                #expect(try await client.post("/v1/recommend", json: #"{"user": "u2", "k": 2}"#).status == .ok)
            }
            let ranking = try fixture.engine.recommend(user: "u2", k: 5, exclude: []).items
            let law = try SlateDistribution(policy: policy, scores: ranking.map { Double($0.score) }, k: 2)
            for impression in try fixture.eventLog.impressions() {
                #expect(impression.servingPolicy == "softmax(temperature=0.05,pool=5)")
                let ranks = impression.items.map { item in ranking.firstIndex { $0.item == item } }
                #expect(ranks.allSatisfy { $0 != nil }, "slates come from the top 5")
                for (j, r) in ranks.enumerated() {
                    #expect(abs(impression.propensities[j] - law.positionProbability(rankIndex: r, position: j)) < 1e-12)
                }
                #expect(abs(impression.slatePropensity - law.slateProbability(rankIndices: ranks)) < 1e-12)
            }
        }
    }

    @Test func withoutAServingPolicyNothingChanges() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            let response = try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 3}"#)
            #expect(response.status == .ok)
            #expect(response.object["request_id"] == nil)
        }
        #expect(try fixture.eventLog.impressionCount() == 0)
    }

    @Test func aFullLogRefusesTheRecommendationItCannotRecord() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(servingPolicy: .deterministic))
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            #expect(try await client.post("/v1/recommend", json: #"{"user": "u1", "k": 3}"#).status == .ok)
            let pageCount = try await DatabaseQueue(path: fixture.eventLogPath).read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") }
            let pages = try #require(pageCount)
            try fixture.eventLog.executeOnWriter("PRAGMA max_page_count = \(pages)")
            var refused: TestResponse?
            var answered = 1
            for n in 0..<5000 {
                let user = "user-\(n)-" + String(repeating: "x", count: 200)
                let response = try await client.post("/v1/recommend", json: #"{"user": "\#(user)", "k": 3}"#)
                if response.status == .ok { answered += 1 } else { refused = response; break }
            }
            let failure = try #require(refused, "the log never filled up")
            #expect(failure.status == .serviceUnavailable)
            #expect(failure.errorMessage == "the event log cannot be written; the recommendation was not logged, retry later")
            #expect(try fixture.eventLog.impressionCount() == answered, "every answered slate is in the log")
        }
    }

    @Test func aLogWrittenBeforeImpressionsMigrates() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        // The schema of the first two migrations, as an older server left it.
        let queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, item TEXT NOT NULL,
                        reward REAL NOT NULL, rating REAL, timestamp REAL NOT NULL, model_version TEXT NOT NULL, arm TEXT NOT NULL);
                    CREATE INDEX events_arm ON events(arm);
                    INSERT INTO events (user, item, reward, rating, timestamp, model_version, arm) VALUES ('u1', 'i1', 0.5, NULL, 1, 'v1', 'single');
                    """)
        }
        migrator.registerMigration("v2-event-id") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN event_id TEXT; CREATE UNIQUE INDEX events_event_id ON events(event_id);")
        }
        try migrator.migrate(queue)
        try queue.close()
        let log = try EventLog(path: path)
        let events = try log.events()
        #expect(events.count == 1 && events[0].user == "u1" && events[0].requestID == nil)
        #expect(try log.impressionCount() == 0)
    }

    /// Serving a DRR model ε-greedily, then evaluating that same model and policy on the
    /// log: every importance weight is 1, so IPS, SNIPS, slate IPS and PI equal the logged
    /// mean reward exactly. The exported impressions give the same estimates.
    @Test func evaluatingTheLoggingPolicyOnItsOwnLogGivesTheLoggedValue() async throws {
        let policy = ServingPolicy.epsilonGreedy(epsilon: 0.3, pool: 10)
        let fixture = try DRRFixture(configuration: ServerConfiguration(servingPolicy: policy, servingSeed: 9))
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            for n in 0..<60 {
                let user = "u\(n % 12)"
                let answer = try await client.post("/v1/recommend", json: #"{"user": "\#(user)", "k": 2}"#)
                #expect(answer.status == .ok)
                let items = try #require(answer.object["items"] as? [[String: Any]]).compactMap { $0["item"] as? String }
                let requestID = try #require(answer.object["request_id"] as? String)
                // Non-positive rewards leave the users' states (and so the rankings) unchanged.
                let reward = n % 3 == 0 ? -1.0 : 0.0
                let body = #"{"user": "\#(user)", "item": "\#(items[n % 2])", "reward": \#(reward), "request_id": "\#(requestID)"}"#
                #expect(try await client.post("/v1/feedback", json: body).status == .ok)
            }
        }
        let logged = try fixture.eventLog.loggedImpressions()
        let loggedValue = logged.reduce(0.0) { $0 + $1.rewards.reduce(0, +) } / Double(logged.count)
        #expect(loggedValue == -1.0 * 20 / 60)
        let command =
            try OffPolicyEvaluate.parseAsRoot([
                "--events", fixture.eventLog.path, "--model", fixture.modelDirectory.path,
                "--policy", "epsilon-greedy:0.3:10", "--estimator", "all",
            ]) as! OffPolicyEvaluate
        let (result, rounds) = try command.evaluate()
        #expect(result.impressions == 60 && result.loggedValue == loggedValue)
        #expect(rounds.allSatisfy { $0.targetPropensities == $0.loggingPropensities })
        for estimate in result.estimates where ["ips", "snips", "slate-ips", "pi"].contains(estimate.estimator) {
            #expect(abs(estimate.value - loggedValue) < 1e-12, "\(estimate.estimator): \(estimate.value)")
            #expect(estimate.lower <= loggedValue && loggedValue <= estimate.upper)
        }

        let out = fixture.directory.appendingPathComponent("export", isDirectory: true)
        #expect(commandMessage(ExportEvents.self, ["--events", fixture.eventLog.path, "--out", out.path]) == nil)
        #expect(try LoggedImpression.readJSONLines(from: out.appendingPathComponent("impressions.jsonl")) == logged)
        let fromFile =
            try OffPolicyEvaluate.parseAsRoot([
                "--events", out.path, "--model", fixture.modelDirectory.path,
                "--policy", "epsilon-greedy:0.3:10", "--estimator", "all",
            ]) as! OffPolicyEvaluate
        #expect(try fromFile.evaluate().output.estimates == result.estimates)
        // A deterministic candidate on this log: IPS-type estimates work, with fewer matches.
        #expect(commandMessage(OffPolicyEvaluate.self, ["--events", out.path, "--model", fixture.modelDirectory.path]) == nil)
        #expect(
            commandMessage(OffPolicyEvaluate.self, ["--events", out.path, "--model", fixture.modelDirectory.path, "--estimator", "magic"])?
                .contains("unknown estimator 'magic'") == true)
        let empty = fixture.directory.appendingPathComponent("empty", isDirectory: true)
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(
            commandMessage(OffPolicyEvaluate.self, ["--events", empty.path, "--model", fixture.modelDirectory.path])?
                .contains("holds no impressions.jsonl") == true)
    }

    /// A log whose slates differ in length, with an empty slate (the server logs one when a
    /// user has seen or excluded every item): `recrl ope` skips the empty one, counts it,
    /// and evaluates the rest, from the event log and from its export alike.
    @Test func emptyAndShortSlatesAreEvaluatedOrSkipped() async throws {
        let fixture = try DRRFixture()
        defer { fixture.cleanUp() }
        let policy = "epsilon-greedy:0.5:4"
        let log = [
            LoggedImpression(
                requestID: "r1", user: "u1", items: ["i3", "i5"], propensities: [0.5, 0.25], slatePropensity: 0.125,
                rewards: [1, 0], loggingPolicy: policy, modelVersion: "v1"),
            LoggedImpression(
                requestID: "r2", user: "u2", items: [], propensities: [], slatePropensity: 1,
                rewards: [], loggingPolicy: policy, modelVersion: "v1"),
            LoggedImpression(
                requestID: "r3", user: "u2", items: ["i7"], propensities: [0.5], slatePropensity: 0.5,
                rewards: [0.5], loggingPolicy: policy, modelVersion: "v1"),
        ]
        for x in log {
            try await fixture.eventLog.recordImpression(
                ImpressionRecord(
                    requestID: x.requestID, user: x.user, items: x.items, propensities: x.propensities,
                    slatePropensity: x.slatePropensity, servingPolicy: policy, modelVersion: "v1", arm: "single",
                    timestamp: Date()))
        }
        let exported = fixture.directory.appendingPathComponent("export", isDirectory: true)
        try FileManager.default.createDirectory(at: exported, withIntermediateDirectories: true)
        try LoggedImpression.writeJSONLines(log, to: exported.appendingPathComponent(LoggedImpression.fileName))
        var results: [OPEOutput] = []
        for events in [fixture.eventLog.path, exported.path] {
            let command =
                try OffPolicyEvaluate.parseAsRoot([
                    "--events", events, "--model", fixture.modelDirectory.path, "--policy", policy, "--estimator", "all",
                ]) as! OffPolicyEvaluate
            let (result, rounds) = try command.evaluate()
            #expect(result.impressions == 3 && result.skippedImpressions == 1)
            #expect(rounds.map(\.length) == [2, 1])
            #expect(result.estimates.count == OffPolicyEstimator.all.count && result.estimates.allSatisfy { $0.rounds == 2 })
            #expect(result.estimates.allSatisfy { $0.value.isFinite })
            results.append(result)
        }
        #expect(results[1].loggedValue == 0.75)  // (1 + 0.5) / 2; the event log holds no feedback, so 0 there
        #expect(results[0].loggedValue == 0)
        let onlyEmpty = fixture.directory.appendingPathComponent("only-empty.jsonl")
        try LoggedImpression.writeJSONLines([log[1]], to: onlyEmpty)
        #expect(
            commandMessage(OffPolicyEvaluate.self, ["--events", onlyEmpty.path, "--model", fixture.modelDirectory.path])?
                .contains("has an empty slate: nothing to evaluate") == true)
    }
}
