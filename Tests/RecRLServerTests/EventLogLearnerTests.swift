import Foundation
import RecRLDRR
import RecRLServer
import RecRLTensor
import Testing

/// `recrl learn`'s learner on a SQLite log (the same code runs on the PostgreSQL log).
@Suite struct EventLogLearnerTests {
    /// Appends `count` events of the planted world (positive for items i0…i7).
    static func appendEvents(_ log: EventLog, count: Int, from start: Int = 0) async throws {
        for n in start..<(start + count) {
            let positive = n % 3 != 2
            try await log.append(
                FeedbackEvent(
                    user: "u\(n % 12)", item: positive ? "i\(n % 8)" : "i\(8 + n % 30)",
                    reward: positive ? 1 : -0.5, rating: nil, timestamp: Date(),
                    modelVersion: "v", arm: "single", eventID: "e\(n)"))
        }
    }

    static func drain(_ learner: EventLogLearner) async throws {
        while try await learner.step().events > 0 {}
    }

    @Test func learnsEveryEventOnceAndResumesFromItsCheckpoint() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let initial = try DRRModelStore.load(from: try saveTinyModel(in: directory, name: "initial", seed: 1))
        let log = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        try await Self.appendEvents(log, count: 60)
        try await log.append(
            FeedbackEvent(
                user: "u1", item: "not-in-the-catalogue", reward: 1, rating: nil,
                timestamp: Date(), modelVersion: "v", arm: "single"))
        let registry = ModelRegistry(directory: directory.appendingPathComponent("registry"))
        let publisher = RegistryPublisher(registry: registry)
        var settings = EventLogLearner.Settings()
        settings.batchEvents = 16
        settings.publishEveryUpdates = 20
        settings.gateMinimumEvents = 1
        settings.gateTolerance = 1  // promote every version with gated events
        let learner = try EventLogLearner(log: log, publisher: publisher, initial: initial, settings: settings)
        #expect(learner.lastEventID == 0)
        try await Self.drain(learner)
        #expect(learner.learnedEvents == 60)
        #expect(learner.skippedEvents == 1)
        #expect(learner.lastEventID == 61)
        #expect(learner.updates >= 60)
        let publications = learner.publications
        #expect(publications.count >= 2)
        #expect(publications.allSatisfy { $0.promoted })
        #expect(publications.map(\.gatedEvents).reduce(0, +) <= 40, "only positive events are gated")
        let checkpoint = try #require(try publisher.checkpoint())
        #expect(checkpoint.lastEventID == publications.last?.lastEventID)
        let production = try publisher.production()
        #expect(production != nil)
        #expect(registry.versions().count == publications.count)
        #expect(registry.version(at: .production) == publications.last?.version)
        #expect(registry.history(of: .production) == publications.map(\.version))

        // A restarted learner continues from the checkpoint: the events after it, and
        // the new ones, are learned once; none before it is read again.
        try await Self.appendEvents(log, count: 10, from: 100)
        let resumed = try EventLogLearner(log: log, publisher: publisher, initial: initial, settings: settings)
        #expect(resumed.lastEventID == checkpoint.lastEventID)
        try await Self.drain(resumed)
        let unknownAfterCheckpoint = checkpoint.lastEventID < 61 ? 1 : 0
        #expect(resumed.learnedEvents == 71 - Int(checkpoint.lastEventID) - unknownAfterCheckpoint)
        #expect(resumed.lastEventID == 71)
    }

    @Test func theGateKeepsAVersionWithTooLittleEvidenceOutOfProduction() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let initial = try DRRModelStore.load(from: try saveTinyModel(in: directory, name: "initial", seed: 1))
        let log = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        try await Self.appendEvents(log, count: 30)
        let registry = ModelRegistry(directory: directory.appendingPathComponent("registry"))
        let publisher = RegistryPublisher(registry: registry)
        var settings = EventLogLearner.Settings()
        settings.publishEveryUpdates = 10
        settings.gateMinimumEvents = 1000
        let learner = try EventLogLearner(log: log, publisher: publisher, initial: initial, settings: settings)
        try await Self.drain(learner)
        let publication = try #require(learner.publications.first)
        #expect(!publication.promoted)
        #expect(publication.gatedEvents == 20)
        let production = try publisher.production()
        #expect(production == nil)
        #expect(registry.versions() == [publication.version])
        #expect(registry.version(at: .production) == nil)
        #expect(try publisher.checkpoint()?.lastEventID == 30, "an unpromoted version is still the checkpoint")
    }

    @Test func theGateRanksAnItemByHowManyItemsScoreHigher() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (model, _) = try DRRModelStore.load(from: try saveTinyModel(in: directory, name: "m", seed: 1))
        var state = Tensor(zeros: [1, model.inputSize])
        model.writeInput(user: 0, window: StateWindow(size: model.configuration.windowSize, initial: []), into: &state)
        let scores = model.scores(user: 0, window: StateWindow(size: model.configuration.windowSize, initial: []))
        let values = scores.withUnsafeBufferPointer { Array($0) }
        let order = values.indices.sorted { values[$0] > values[$1] }
        #expect(EventLogLearner.ranks(order[0], in: model, state: state, within: 1))
        #expect(!EventLogLearner.ranks(order[1], in: model, state: state, within: 1))
        #expect(EventLogLearner.ranks(order[9], in: model, state: state, within: 10))
        #expect(!EventLogLearner.ranks(order[10], in: model, state: state, within: 10))
    }
}
