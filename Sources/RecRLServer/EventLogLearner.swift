import Foundation
import RecRLDRR
import RecRLNN
import RecRLTensor

/// A model ``EventLogLearner`` trains and publishes: a DRR or LIRD model (``DRRModel``) or a
/// DeepPage model (``DeepPageModel``).
public enum LearnerModel: Sendable {
    /// A DRR or LIRD model, learned through ``OnlineDRR``.
    case drr(DRRModel)
    /// A DeepPage model, learned through ``OnlineDeepPage``.
    case deepPage(DeepPageModel)

    /// Loads the model folder `directory` (written by `recrl train` or a registry version),
    /// DRR, LIRD or DeepPage as its manifest's policy says.
    /// - Throws: ``DRRError/invalidModel(_:)`` for a missing, unreadable or invalid model.
    public static func load(from directory: URL) throws -> (model: LearnerModel, manifest: DRRManifest) {
        if try DRRModelStore.policy(of: directory) == DRRModelStore.deepPagePolicy {
            let (model, manifest) = try DRRModelStore.loadDeepPage(from: directory)
            return (.deepPage(model), manifest)
        }
        let (model, manifest) = try DRRModelStore.load(from: directory)
        return (.drr(model), manifest)
    }

    /// The learner's tensors (networks, targets, optimiser state) by name.
    public var checkpointTensors: [String: Tensor] {
        switch self {
        case .drr(let model): model.learner.checkpointTensors()
        case .deepPage(let model): model.learner.checkpointTensors()
        }
    }
}

/// Where ``EventLogLearner`` stores what it learned, and where it resumes from.
///
/// A publication is one new model version, written with the id of the last event it
/// learned from; with `promote` it also becomes the version the serving replicas follow.
/// ``checkpoint()`` returns the last version published (promoted or not) and its event
/// id: a learner that restarts continues from that model and that event, so no event
/// is learned twice by the model it publishes next, and none is skipped.
public protocol LearnerPublisher: Sendable {
    /// Stores `model` as a new version that learned every event up to `lastEventID`, and
    /// makes it the production version when `promote` is true.
    /// - Returns: the new version's identifier.
    func publish(model: LearnerModel, manifest: DRRManifest, lastEventID: Int64, promote: Bool) throws -> String
    /// The last published version with its event id, or `nil` before the first publication.
    func checkpoint() throws -> (model: LearnerModel, manifest: DRRManifest, lastEventID: Int64)?
    /// The current production model, or `nil` when there is none yet.
    func production() throws -> (model: LearnerModel, manifest: DRRManifest)?
}

/// The learner of the scaled-out shape (`recrl learn`): it tails a ``FeedbackEventLog``
/// that serving replicas write, learns from every event with the same code as the
/// single-process server (``OnlineDRR/observeLogged(user:item:reward:position:)`` and
/// ``OnlineDRR/learn(updates:)``: DDPG and the supervised next-item step), and publishes
/// a new version every ``Settings/publishEveryUpdates`` updates or
/// ``Settings/publishEverySeconds`` seconds.
///
/// Metric gate: before it learns a positive event (reward > 0), the learner asks both the
/// model it is training and the production model whether the event's item is in their
/// top ``Settings/gateK`` for the user's state (test-then-train: the event is new to
/// both). A version is promoted only when, over the events since the last publication,
/// at least ``Settings/gateMinimumEvents`` were gated and its hit rate is at least the
/// production model's minus ``Settings/gateTolerance``; otherwise it is published as a
/// candidate only (and the next checkpoint still continues from it).
///
/// Transitions: the learner replays each user's window from the log itself (the state
/// before an event is the window of that user's earlier positive events; a learner that
/// resumes starts with empty windows), and the action is the item's action, since the
/// replicas' actions are not logged. A LIRD model's list transitions are rebuilt from the
/// events' logged positions (``FeedbackEvent/position``; see
/// ``OnlineDRR/observeLogged(user:item:reward:position:)``): a list becomes a transition
/// once the log holds the user's feedback at every position `0..<K`.
///
/// A DeepPage model learns through ``OnlineDeepPage`` the way the serving replica learns
/// (``OnlineDeepPage/observeLogged(user:item:reward:position:requestID:)`` and
/// ``OnlineDeepPage/learn(updates:)``): its pages are rebuilt from the events' positions
/// (row-major in the page; events of one `request_id` form one page), and a page becomes a
/// transition once the log holds feedback at every cell. Its gate ranks the item by
/// ``DeepPageModel/scores(window:pages:)`` of the user's state before the event. An event
/// without a position cannot be placed in a page: it is skipped (``skippedEvents``), and
/// ``requirePositions()`` refuses a log whose next events have none.
public final class EventLogLearner {
    /// Batching, publication and gate settings.
    public struct Settings: Sendable {
        /// Events read per poll of the log (default 256).
        public var batchEvents = 256
        /// DDPG updates per event read (default 1); applied after each batch.
        public var updatesPerEvent: Double = 1
        /// Publish after this many updates (default 500)...
        public var publishEveryUpdates = 500
        /// ... or after this many seconds with at least one update (default 60).
        public var publishEverySeconds: Double = 60
        /// The gate's rank cut-off (default 10).
        public var gateK = 10
        /// Gated events needed before a version can be promoted (default 20).
        public var gateMinimumEvents = 20
        /// How much lower than production's the candidate's hit rate may be (default 0).
        public var gateTolerance: Double = 0

        /// The defaults documented on each property.
        public init() {}
    }

    /// The outcome of one publication.
    public struct Publication: Sendable, Equatable {
        /// The version identifier the publisher returned.
        public var version: String
        /// Whether it became the production version.
        public var promoted: Bool
        /// The last event it learned from.
        public var lastEventID: Int64
        /// Hit rates at ``Settings/gateK`` of the candidate and of production over the
        /// gated events, and how many there were.
        public var candidateHitRate: Double
        public var productionHitRate: Double
        public var gatedEvents: Int
    }

    /// The event log the learner tails.
    public let log: any FeedbackEventLog
    /// Where versions go.
    public let publisher: any LearnerPublisher
    /// The settings.
    public let settings: Settings
    /// The id of the last event learned (the checkpoint's at start).
    public private(set) var lastEventID: Int64
    /// Events read but not learned (their item is not in the catalogue, their reward is not
    /// finite, or, for a DeepPage model, they have no position), so far.
    public private(set) var skippedEvents = 0
    /// Events learned, and DDPG updates applied, since this learner started.
    public private(set) var learnedEvents = 0
    public private(set) var updates = 0
    /// Publications so far.
    public private(set) var publications: [Publication] = []

    /// The online learner the events go through: the same code as the serving replica's.
    private enum Online {
        case drr(OnlineDRR)
        case deepPage(OnlineDeepPage)
    }
    private let online: Online
    private let itemIndex: [String: Int]
    private let manifest: DRRManifest
    private var productionModel: LearnerModel
    private var updatesSincePublication = 0
    private var lastPublication = ContinuousClock.now
    private var gate = (events: 0, candidateHits: 0, productionHits: 0)

    /// A learner that resumes from the publisher's checkpoint, or starts from
    /// `initial` (the offline-trained model) before the first publication. The gate's
    /// reference is the publisher's production model, else `initial`.
    public convenience init(
        log: any FeedbackEventLog, publisher: any LearnerPublisher,
        initial: (model: DRRModel, manifest: DRRManifest), settings: Settings = Settings(), seed: UInt64 = 0
    ) throws {
        try self.init(log: log, publisher: publisher, initial: (.drr(initial.model), initial.manifest), settings: settings, seed: seed)
    }

    /// A learner of a DRR, LIRD or DeepPage model (see the DRR initialiser).
    /// - Throws: the publisher's error, or ``DRRError/invalidModel(_:)`` when the checkpoint
    ///   or production model is not of `initial`'s kind.
    public init(
        log: any FeedbackEventLog, publisher: any LearnerPublisher,
        initial: (model: LearnerModel, manifest: DRRManifest), settings: Settings = Settings(), seed: UInt64 = 0
    ) throws {
        self.log = log
        self.publisher = publisher
        self.settings = settings
        let start = try publisher.checkpoint()
        let model = start?.model ?? initial.model
        manifest = start?.manifest ?? initial.manifest
        lastEventID = start?.lastEventID ?? 0
        let production = try publisher.production()?.model ?? initial.model
        switch (model, production) {
        case (.drr(let model), .drr):
            online = .drr(OnlineDRR(model: model, manifest: manifest, seed: seed))
        case (.deepPage(let model), .deepPage):
            online = .deepPage(OnlineDeepPage(model: model, manifest: manifest, seed: seed))
        default:
            throw DRRError.invalidModel(
                "the learner's checkpoint, its production model and --model must all be DeepPage models or all DRR/LIRD models")
        }
        itemIndex = Dictionary(manifest.itemIDs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        productionModel = production
    }

    /// The model being trained (published at the next publication).
    public var currentModel: LearnerModel {
        switch online {
        case .drr(let online): .drr(online.currentModel)
        case .deepPage(let online): .deepPage(online.currentModel)
        }
    }

    /// Refuses to learn a DeepPage model from a log whose next events (the next
    /// ``Settings/batchEvents`` after ``lastEventID``) all lack a position: its pages cannot
    /// be rebuilt, so it would learn nothing. Does nothing for DRR and LIRD, or when the log
    /// has no new events.
    /// - Throws: ``MissingPositions`` naming the remedy; the log's error.
    public func requirePositions() async throws {
        guard case .deepPage = online else { return }
        let events = try await log.events(after: lastEventID, limit: settings.batchEvents)
        if !events.isEmpty && events.allSatisfy({ $0.position == nil }) { throw MissingPositions(events: events.count) }
    }

    /// The error of ``requirePositions()``: a DeepPage model and logged feedback without
    /// positions.
    public struct MissingPositions: Error, CustomStringConvertible, LocalizedError {
        /// The number of events read, none with a position.
        public var events: Int
        /// What is missing and how to give it.
        public var description: String {
            "the event log's next \(events) events have no position: a DeepPage model learns from pages rebuilt from "
                + "the feedback's row-major position, so post feedback with \"position\" (and \"request_id\") to learn it "
                + "offline, or let the serving replica learn it online (`recrl serve --updates-per-second`)"
        }
        /// ``description``.
        public var errorDescription: String? { description }
    }

    /// Reads the next batch of events after ``lastEventID``, learns from them and
    /// publishes when due. Returns the number of events read (0: the learner is caught
    /// up) and the publication, if one happened.
    public func step() async throws -> (events: Int, publication: Publication?) {
        let events = try await log.events(after: lastEventID, limit: settings.batchEvents)
        var learned = 0
        for event in events {
            if let id = event.id { lastEventID = max(lastEventID, id) }
            guard let item = itemIndex[event.item], event.reward.isFinite else {
                skippedEvents += 1
                continue
            }
            switch online {
            case .drr(let online):
                let state = try online.observeLogged(user: event.user, item: event.item, reward: event.reward, position: event.position)
                if event.reward > 0, case .drr(let production) = productionModel {
                    countGated(
                        Self.ranks(item, in: online.currentModel, state: state, within: settings.gateK),
                        Self.ranks(item, in: production, state: state, within: settings.gateK))
                }
            case .deepPage(let online):
                guard let position = event.position else {
                    skippedEvents += 1
                    continue
                }
                let state = try online.observeLogged(
                    user: event.user, item: event.item, reward: event.reward, position: position, requestID: event.requestID)
                if event.reward > 0, case .deepPage(let production) = productionModel {
                    countGated(
                        Self.ranks(item, scores: online.currentModel.scores(window: state.window, pages: state.pages), within: settings.gateK),
                        Self.ranks(item, scores: production.scores(window: state.window, pages: state.pages), within: settings.gateK))
                }
            }
            learned += 1
        }
        learnedEvents += learned
        if learned > 0 {
            let count = max(1, Int((Double(learned) * settings.updatesPerEvent).rounded(.up)))
            let applied: Int
            switch online {
            case .drr(let online): applied = online.learn(updates: count)
            case .deepPage(let online): applied = online.learn(updates: count)
            }
            updates += applied
            updatesSincePublication += applied
        }
        return (events.count, try publishIfDue())
    }

    /// Counts one gated event and whether the candidate and production ranked it.
    private func countGated(_ candidateHit: Bool, _ productionHit: Bool) {
        gate.events += 1
        if candidateHit { gate.candidateHits += 1 }
        if productionHit { gate.productionHits += 1 }
    }

    /// Publishes now when ``Settings/publishEveryUpdates`` updates were applied since the
    /// last publication, or ``Settings/publishEverySeconds`` passed with at least one.
    public func publishIfDue(now: ContinuousClock.Instant = .now) throws -> Publication? {
        let elapsed = now - lastPublication
        guard
            updatesSincePublication >= settings.publishEveryUpdates
                || (updatesSincePublication > 0 && elapsed >= .milliseconds(Int64(settings.publishEverySeconds * 1000)))
        else { return nil }
        return try publish()
    }

    /// Publishes the current model now (see the type's documentation on the gate).
    @discardableResult
    public func publish() throws -> Publication {
        let candidate = currentModel
        let n = gate.events
        let candidateRate = n > 0 ? Double(gate.candidateHits) / Double(n) : 0
        let productionRate = n > 0 ? Double(gate.productionHits) / Double(n) : 0
        let promote = n >= settings.gateMinimumEvents && candidateRate >= productionRate - settings.gateTolerance
        let version = try publisher.publish(model: candidate, manifest: manifest, lastEventID: lastEventID, promote: promote)
        if promote { productionModel = candidate }
        let publication = Publication(
            version: version, promoted: promote, lastEventID: lastEventID,
            candidateHitRate: candidateRate, productionHitRate: productionRate, gatedEvents: n)
        publications.append(publication)
        gate = (0, 0, 0)
        updatesSincePublication = 0
        lastPublication = .now
        return publication
    }

    /// Whether `item` is among the `k` best-scored items of `model` for the module input
    /// `state` (`[1, inputSize]`): fewer than `k` items score strictly higher (a list model
    /// ranks its list first, ``DRRModel/scores(forInput:)``). The gate's test.
    public static func ranks(_ item: Int, in model: DRRModel, state: Tensor, within k: Int) -> Bool {
        // A list model's ranking starts with its list (DRRModel.scores(forInput:)).
        ranks(item, scores: model.scores(forInput: state), within: k)
    }

    /// Whether fewer than `k` of `scores` (one per item) are strictly higher than `item`'s.
    static func ranks(_ item: Int, scores: Tensor, within k: Int) -> Bool {
        scores.withUnsafeBufferPointer { s in
            let target = s[item]
            var better = 0
            for value in s where value > target {
                better += 1
                if better >= k { return false }
            }
            return true
        }
    }
}

/// A ``LearnerPublisher`` over a ``ModelRegistry``: each publication is registered as a new
/// version (its manifest's lineage names the production version it started from) and, when
/// the gate passes, promoted to ``ModelRegistry/Stage/production``. Serving replicas follow
/// that pointer (`recrl serve --registry DIR --stage production`), so a promotion reaches
/// them without a restart, and `recrl models rollback` undoes one.
///
/// The learner's checkpoint is `learner.json` = `{"last_event_id", "version"}` in the
/// registry's folder, written atomically after the version is registered (durable). A crash
/// between the two leaves the previous checkpoint named: the learner then relearns the same
/// events from the previous version, so nothing is counted twice. The checkpoint version
/// must survive `recrl models gc` (it is the newest registered one unless a version was
/// registered by hand since).
public struct RegistryPublisher: LearnerPublisher {
    /// The registry versions are registered in and promoted through.
    public let registry: ModelRegistry

    /// A publisher into `registry` (its folder is created on the first registration).
    public init(registry: ModelRegistry) {
        self.registry = registry
    }

    var checkpointFile: URL { registry.directory.appendingPathComponent("learner.json") }

    struct Checkpoint: Codable {
        var lastEventID: Int64
        var version: String
        enum CodingKeys: String, CodingKey { case lastEventID = "last_event_id", version }
    }

    public func publish(model: LearnerModel, manifest: DRRManifest, lastEventID: Int64, promote: Bool) throws -> String {
        let version = try registry.register(model, manifest: manifest).version
        let bytes = [UInt8](try JSONEncoder().encode(Checkpoint(lastEventID: lastEventID, version: version)))
        let temporary = registry.directory.appendingPathComponent(".learner-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json")
        try DurableFiles.writeNewFile(bytes, to: temporary)
        try DurableFiles.rename(temporary, to: checkpointFile)
        try DurableFiles.syncDirectory(registry.directory)
        if promote { try registry.promote(version, to: .production) }
        return version
    }

    public func checkpoint() throws -> (model: LearnerModel, manifest: DRRManifest, lastEventID: Int64)? {
        guard let data = FileManager.default.contents(atPath: checkpointFile.path) else { return nil }
        let checkpoint: Checkpoint
        do { checkpoint = try JSONDecoder().decode(Checkpoint.self, from: data) } catch {
            throw DRRError.invalidModel("the learner checkpoint \(checkpointFile.path) is unreadable: \(error)")
        }
        let (model, manifest) = try load(version: checkpoint.version)
        return (model, manifest, checkpoint.lastEventID)
    }

    public func production() throws -> (model: LearnerModel, manifest: DRRManifest)? {
        guard let version = registry.version(at: .production) else { return nil }
        return try load(version: version)
    }

    /// Loads `version`, DRR, LIRD or DeepPage as its manifest says (verified as the
    /// registry's loaders verify it).
    private func load(version: String) throws -> (model: LearnerModel, manifest: DRRManifest) {
        if try DRRModelStore.policy(of: registry.directory(of: version)) == DRRModelStore.deepPagePolicy {
            let (model, manifest) = try registry.loadDeepPage(version: version)
            return (.deepPage(model), manifest)
        }
        let (model, manifest) = try registry.load(version: version)
        return (.drr(model), manifest)
    }
}

extension ModelRegistry {
    /// Adds `model` (DRR, LIRD or DeepPage) as a new immutable version (its DRR and DeepPage
    /// overloads).
    public func register(_ model: LearnerModel, manifest: DRRManifest, metrics: [String: Double] = [:]) throws -> Entry {
        switch model {
        case .drr(let model): try register(model, manifest: manifest, metrics: metrics)
        case .deepPage(let model): try register(model, manifest: manifest, metrics: metrics)
        }
    }
}
