import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLDRR
import RecRLPostgres
import RecRLServer
import Testing

/// Shared sessions in PostgreSQL (skipped without `RECRL_TEST_POSTGRES_URL` unless `CI`
/// is set: then they fail).
@Suite(.enabled(if: PostgresTest.enabled)) struct PostgresSessionStoreTests {
    @Test func keepsTheLastItemsOfEachWindowAndExpiresAndEvictsSessions() async throws {
        try await PostgresTest.withScratchDatabase { url in
            let database = try PostgresTest.pool(url)
            defer { database.close() }
            let store = try await PostgresSessionStore(database: database, ttl: 60, capacity: 2)
            #expect(try await store.window(user: "u1") == [])
            #expect(try await store.push(user: "u1", item: "a", size: 3) == [])
            #expect(try await store.push(user: "u1", item: "b", size: 3) == ["a"])
            #expect(try await store.push(user: "u1", item: "c", size: 3) == ["a", "b"])
            #expect(try await store.push(user: "u1", item: "d", size: 3) == ["a", "b", "c"])
            #expect(try await store.window(user: "u1") == ["b", "c", "d"])
            // Pushes from many connections at once all land.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<20 { group.addTask { _ = try await store.push(user: "many", item: "i\(n)", size: 100) } }
                try await group.waitForAll()
            }
            #expect(Set(try await store.window(user: "many")) == Set((0..<20).map { "i\($0)" }))
            // Capacity 2: the least recently updated of three sessions goes.
            _ = try await store.push(user: "u3", item: "x", size: 3)
            #expect(try await store.evict() == 1)
            #expect(try await store.window(user: "u1") == [], "u1 was updated least recently")
            #expect(try await store.window(user: "u3") == ["x"])
            // A second replica's store sees the same sessions; a version is migrated once.
            #expect(try await database.migrate(PostgresSessionStore.migrations).isEmpty)

            let ttl = TestTiming.seconds(0.3)
            let short = try await PostgresSessionStore(database: database, ttl: ttl, capacity: 10)
            _ = try await short.push(user: "t", item: "a", size: 3)
            #expect(try await short.window(user: "t") == ["a"])
            try await Task.sleep(for: .seconds(ttl * 1.5))
            #expect(try await short.window(user: "t") == [], "expired")
            #expect(try await short.push(user: "t", item: "b", size: 3) == [])
            #expect(try await short.window(user: "t") == ["b"], "an expired window restarts empty")
        }
    }

    /// Two servers (replicas) on one log and one session store: positive feedback given
    /// to one changes what the other recommends to that user.
    @Test func feedbackOnOneReplicaChangesTheNextRecommendationOnTheOther() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = try saveTinyModel(in: directory, name: "model", seed: 1)
        try await PostgresTest.withScratchDatabase { url in
            let database = try PostgresTest.pool(url)
            defer { database.close() }
            let log = try await PostgresEventLog(database: database)
            let sessions = try await PostgresSessionStore(database: database)
            func replica() throws -> RecommendationServer {
                RecommendationServer(
                    mode: .single(ServedModel(engine: try DRREngine(directory: modelDirectory), directory: modelDirectory)),
                    eventLog: log, sessions: sessions)
            }
            let a = try replica(), b = try replica()
            try await a.makeApplication().test(.router) { clientA in
                try await b.makeApplication().test(.router) { clientB in
                    let before = try await clientB.post("/v1/recommend", json: #"{"user": "u3", "k": 5}"#).recommendedItems.map(\.item)
                    let liked = before[0]
                    let feedback = try await clientA.post("/v1/feedback", json: #"{"user": "u3", "item": "\#(liked)", "reward": 1}"#)
                    #expect(feedback.status == .ok)
                    #expect(try await sessions.window(user: "u3") == [liked])
                    let after = try await clientB.post("/v1/recommend", json: #"{"user": "u3", "k": 5}"#).recommendedItems.map(\.item)
                    #expect(!after.contains(liked), "B ranks from the window A updated (window items are not recommended)")
                    #expect(after != before)
                    // Feedback the other way round, and a user the model has never seen.
                    _ = try await clientB.post("/v1/feedback", json: #"{"user": "new-user", "item": "i5", "reward": 1}"#)
                    #expect(try await sessions.window(user: "new-user") == ["i5"])
                    let cold = try await clientA.post("/v1/recommend", json: #"{"user": "new-user", "k": 5}"#).recommendedItems.map(\.item)
                    #expect(!cold.contains("i5"))
                }
            }
            #expect(try await log.count() == 2)
        }
    }
}
