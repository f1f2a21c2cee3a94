import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLData
import RecRLDRR
@testable import RecRLServer
import Testing

@Suite struct ServedItemDriftTests {
    @Test func bucketsCutTheTrainingMassIntoEqualShares() throws {
        let reference = try #require(TrainingPopularity(items: ["c", "a", "e", "b", "d"], counts: [20, 40, 0, 30, 10], buckets: 4))
        // Sorted a 40, b 30, c 20, d 10, e 0: mass above = 0, 40, 70, 90, 100 of 100.
        #expect(["a", "b", "c", "d", "e"].map { reference.bucket(of: $0) } == [0, 1, 2, 3, 3])
        #expect(reference.bucket(of: "zz") == nil)
        #expect(reference.expected == [0.4, 0.3, 0.2, 0.1])
        // A head item above 1/B of the mass leaves the next bucket empty.
        let skewed = try #require(TrainingPopularity(items: ["a", "b", "c"], counts: [60, 30, 10], buckets: 4))
        #expect(["a", "b", "c"].map { skewed.bucket(of: $0) } == [0, 2, 3])
        #expect(skewed.expected == [0.6, 0, 0.3, 0.1])
    }

    @Test func noReferenceWithoutUsableCounts() {
        #expect(TrainingPopularity(items: ["a", "b"], counts: [1]) == nil)
        #expect(TrainingPopularity(items: ["a", "b"], counts: [0, 0]) == nil)
        #expect(TrainingPopularity(items: ["a", "b"], counts: [3, -1]) == nil)
        #expect(TrainingPopularity(items: [], counts: []) == nil)
    }

    @Test func stabilityIndexKnownAnswers() throws {
        let reference = try #require(TrainingPopularity(items: ["a", "b", "c", "d"], counts: [40, 30, 20, 10], buckets: 4))
        #expect(reference.stabilityIndex(counts: [8, 6, 4, 2]) == 0)
        let uniform = try #require(reference.stabilityIndex(counts: [5, 5, 5, 5]))
        #expect(abs(uniform - 0.22821740957339182) < 1e-12)
        #expect(reference.stabilityIndex(counts: [0, 0, 0, 0]) == nil)
        // Serving only an item training never saw: large, and finite thanks to the floor.
        let unseen = try #require(TrainingPopularity(items: ["a", "b"], counts: [10, 0], buckets: 2))
        let drift = try #require(unseen.stabilityIndex(counts: [0, 7]))
        #expect(abs(drift - 18.41883867587797) < 1e-9)
        // An empty bucket on both sides is left out.
        let skewed = try #require(TrainingPopularity(items: ["a", "b", "c"], counts: [60, 30, 10], buckets: 4))
        let halfTail = try #require(skewed.stabilityIndex(counts: [1, 0, 0, 1]))
        #expect(abs(halfTail - 3.0631169541913446) < 1e-12)
    }

    @Test func windowKeepsTheLastItemsOnly() throws {
        let reference = try #require(TrainingPopularity(items: ["a", "b", "c", "d"], counts: [40, 30, 20, 10], buckets: 4))
        var window = ServedItemWindow(reference: reference, capacity: 4)
        func items(_ ids: String...) -> [ScoredItem] { ids.map { ScoredItem(item: $0, score: 0) } }
        window.record(items("d", "d", "unknown"))
        #expect(window.count == 2)
        #expect(window.stabilityIndex(minimumItems: 3) == nil)
        window.record(items("a", "b", "c", "d"))
        // The ring holds a, b, c, d now (the first two d's were pushed out): the distribution
        // is uniform over the four buckets.
        #expect(window.count == 4)
        let psi = try #require(window.stabilityIndex(minimumItems: 4))
        #expect(abs(psi - 0.22821740957339182) < 1e-12)
        window.record(items("a", "a", "b", "a", "a", "b", "c", "a", "b", "c"))
        // Last four: c, a, b, c.
        let expected = try #require(reference.stabilityIndex(counts: [1, 1, 2, 0]))
        #expect(window.stabilityIndex(minimumItems: 1) == expected)
    }

    @Test func serverExportsDriftAndModelAge() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = plantedInteractions()
        let configuration = tinyConfiguration()
        var drr = DRRRecommender(configuration: configuration, seed: 3)
        try drr.fit(train: data)
        let model = try #require(drr.model)
        let manifest = DRRManifest(
            policy: drr.name, configuration: configuration, seed: 3, dataFingerprint: data.fingerprint,
            userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs, rewardScale: model.rewardScale,
            itemPopularity: data.itemCounts())
        let modelDirectory = directory.appendingPathComponent("model")
        try DRRModelStore.save(model, manifest: manifest, to: modelDirectory)
        let engine = try DRREngine(directory: modelDirectory)
        let reference = try #require(engine.trainingPopularity)
        #expect(engine.trainingPopularity === reference, "the same model keeps its reference")
        let created = try #require(engine.modelCreatedAt)
        #expect(abs(created.timeIntervalSinceNow) < 600)
        let server = RecommendationServer(
            mode: .single(ServedModel(engine: engine, directory: modelDirectory)),
            eventLog: try EventLog(path: directory.appendingPathComponent("events.sqlite").path))
        let psiSeries = #"recrl_served_items_psi{arm="single",model="drr-ave"}"#
        try await server.makeApplication().test(.router) { client in
            var counts = [Int](repeating: 0, count: reference.bucketCount)
            let requests = ServerMetrics.driftMinimumItems / 10
            for n in 0..<requests {
                let response = try await client.post("/v1/recommend", json: #"{"user": "u\#(n % 12)", "k": 10}"#)
                let items = response.recommendedItems.map(\.item)
                #expect(items.count == 10)
                for item in items { counts[try #require(reference.bucket(of: item))] += 1 }
                if n == requests - 2 {
                    let metrics = try await client.get("/metrics").text
                    #expect(metricValue(metrics, psiSeries) == nil, "not exported below the minimum sample")
                }
            }
            let metrics = try await client.get("/metrics").text
            let psi = try #require(metricValue(metrics, psiSeries), "\(metrics)")
            let expected = try #require(reference.stabilityIndex(counts: counts))
            #expect(abs(psi - expected) < 1e-9)
            let age = try #require(metricValue(metrics, #"recrl_model_age_seconds{arm="single",model="drr-ave"}"#))
            #expect(age >= 0 && age < 600)
        }
    }
}
