import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLDRR

/// `ModelRegistry`: immutable versions with lineage, atomic stage pointers, rollback and gc.
final class ModelRegistryTests: XCTestCase {
    var directory: URL!

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func makeModel(seed: UInt64) throws -> (DRRModel, DRRManifest) {
        var c = DRRConfiguration()
        c.embeddingSize = 4
        c.windowSize = 2
        c.hiddenSize = 8
        var rng = Xoshiro256StarStar(seed: seed)
        let users = Tensor(randomNormal: [3, 4], using: &rng), items = Tensor(randomNormal: [6, 4], using: &rng)
        let scale = RewardScale(minimum: 1, maximum: 5)
        let model = try DRRModel(configuration: c, userEmbeddings: users, itemEmbeddings: items, rewardScale: scale, using: &rng)
        let manifest = DRRManifest(
            policy: "drr-ave", configuration: c, seed: seed, dataFingerprint: "f\(seed)",
            userIDs: ["a", "b", "c"], itemIDs: (0..<6).map { "i\($0)" }, rewardScale: scale,
            metrics: ["ndcg@10": Double(seed)])
        return (model, manifest)
    }

    /// A fresh (untrained) 2 × 2 DeepPage model over the catalogue of ``makeModel(seed:)``.
    func makeDeepPageModel(seed: UInt64) throws -> (DeepPageModel, DRRManifest) {
        let c = smallDeepPageConfiguration()
        var rng = Xoshiro256StarStar(seed: seed)
        let scale = RewardScale(minimum: 1, maximum: 5)
        let model = try DeepPageModel(
            configuration: c, itemEmbeddings: Tensor(randomNormal: [6, c.base.embeddingSize], using: &rng), rewardScale: scale, using: &rng)
        let manifest = DRRManifest(
            policy: DRRModelStore.deepPagePolicy, configuration: c.base, seed: seed, dataFingerprint: "p\(seed)",
            userIDs: ["a", "b", "c"], itemIDs: (0..<6).map { "i\($0)" }, rewardScale: scale, metrics: ["ndcg@4": 0.5])
        return (model, manifest)
    }

    /// DeepPage versions sit beside DRR ones: registered (from a model or a model folder) with
    /// metrics, lineage and checksum, promoted and rolled back like any version, loaded only
    /// as their own kind, and a tampered version fails its checksum.
    func testDeepPageVersionsRegisterPromoteAndLoadAsTheirKind() throws {
        let registry = ModelRegistry(directory: directory)
        let (drr, drrManifest) = try makeModel(seed: 1)
        try registry.promote(try registry.register(drr, manifest: drrManifest).version, to: .production)
        let (page, pageManifest) = try makeDeepPageModel(seed: 2)
        let e2 = try registry.register(page, manifest: pageManifest, metrics: ["eval.ndcg@4": 0.25])
        XCTAssertEqual(e2.version, "v000002")
        XCTAssertEqual(e2.manifest.policy, DRRModelStore.deepPagePolicy)
        XCTAssertEqual(e2.manifest.metrics, ["ndcg@4": 0.5, "eval.ndcg@4": 0.25])
        XCTAssertEqual(e2.manifest.lineage?.parentVersion, "v000001")
        XCTAssertNotNil(e2.manifest.weightsSHA256)

        // Promotion serves it; the loaded model is the registered one.
        try registry.promote(e2.version, to: .production)
        let served = try registry.loadDeepPage(stage: .production)
        XCTAssertEqual(served.version, "v000002")
        XCTAssertEqual(served.model.configuration, page.configuration)
        XCTAssertEqual(served.model.learner.checkpointTensors(), page.learner.checkpointTensors())
        let window = StateWindow(size: page.configuration.base.windowSize, initial: [1])
        XCTAssertEqual(served.model.page(window: window, pages: []), page.page(window: window, pages: []))

        // Each load takes only its own kind.
        XCTAssertThrowsError(try registry.load(stage: .production)) { error in
            XCTAssertTrue("\(error)".contains("holds a DeepPage model"), "\(error)")
        }
        XCTAssertThrowsError(try registry.loadDeepPage(version: "v000001")) { error in
            XCTAssertTrue("\(error)".contains("holds no DeepPage model (policy drr-ave)"), "\(error)")
        }
        XCTAssertThrowsError(try registry.loadDeepPage(version: "v000009"))
        XCTAssertThrowsError(try registry.loadDeepPage(stage: .staging))
        // A manifest of the other kind is refused before anything is written.
        var wrong = pageManifest
        wrong.policy = "drr-ave"
        XCTAssertThrowsError(try registry.register(page, manifest: wrong))
        XCTAssertThrowsError(try registry.register(drr, manifest: pageManifest))
        XCTAssertEqual(registry.versions(), ["v000001", "v000002"])

        // A DeepPage model folder registers as a DeepPage version; rollback crosses kinds.
        let folder = directory.appendingPathComponent("folder")
        try DRRModelStore.save(page, manifest: pageManifest, to: folder)
        let e3 = try registry.register(modelFolder: folder)
        XCTAssertEqual(e3.version, "v000003")
        try registry.promote(e3.version, to: .production)
        XCTAssertEqual(try registry.loadDeepPage(stage: .production).manifest.seed, 2)
        XCTAssertEqual(try registry.rollback(), "v000002")
        XCTAssertEqual(try registry.rollback(), "v000001")
        XCTAssertEqual(try registry.load(stage: .production).manifest.seed, 1)

        // The weights are checked against the manifest's SHA-256.
        let weights = registry.directory(of: "v000002").appendingPathComponent(DRRModelStore.weightsFile)
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: weights)
        XCTAssertThrowsError(try registry.loadDeepPage(version: "v000002")) { error in
            XCTAssertTrue("\(error)".contains("SHA-256"), "\(error)")
        }
    }

    func testRegisterPromoteRollbackAndLineage() throws {
        let registry = ModelRegistry(directory: directory)
        XCTAssertEqual(registry.versions(), [])
        XCTAssertNil(registry.version(at: .production))
        XCTAssertThrowsError(try registry.load(stage: .production))
        XCTAssertThrowsError(try registry.rollback(.production))

        let (m1, f1) = try makeModel(seed: 1)
        var withLineage = f1
        withLineage.lineage = ModelLineage(data: "/data/splits", split: "global-time", gitRevision: "abc123")
        let e1 = try registry.register(m1, manifest: withLineage, metrics: ["eval.ndcg@10": 0.25])
        XCTAssertEqual(e1.version, "v000001")
        XCTAssertEqual(e1.stages, [])
        XCTAssertEqual(e1.manifest.metrics["eval.ndcg@10"], 0.25)
        XCTAssertEqual(e1.manifest.metrics["ndcg@10"], 1)
        XCTAssertEqual(e1.manifest.lineage?.gitRevision, "abc123")
        XCTAssertNil(e1.manifest.lineage?.parentVersion)
        XCTAssertNotNil(e1.manifest.lineage?.registeredAt)
        try registry.promote("v000001", to: .production)

        let (m2, f2) = try makeModel(seed: 2)
        let e2 = try registry.register(m2, manifest: f2)
        XCTAssertEqual(e2.manifest.lineage?.parentVersion, "v000001", "the parent is the production version at registration")
        try registry.promote(e2.version, to: .staging)
        XCTAssertEqual(try registry.entry("v000002").stages, [.staging])
        try registry.promote(e2.version, to: .production)
        let served = try registry.load(stage: .production)
        XCTAssertEqual(served.version, "v000002")
        XCTAssertEqual(served.manifest.seed, 2)
        XCTAssertEqual(registry.history(of: .production), ["v000001", "v000002"])

        // Rollback returns to the previous production version and forgets the rolled-back one.
        XCTAssertEqual(try registry.rollback(.production), "v000001")
        XCTAssertEqual(registry.version(at: .production), "v000001")
        XCTAssertEqual(try registry.load(stage: .production).manifest.seed, 1)
        XCTAssertEqual(registry.history(of: .production), ["v000001"])
        XCTAssertThrowsError(try registry.rollback(.production), "no earlier version is left")
        // Versions are immutable: both are still there, unchanged.
        XCTAssertEqual(registry.versions(), ["v000001", "v000002"])
        XCTAssertThrowsError(try registry.promote("v000009", to: .production))
        XCTAssertThrowsError(try registry.promote("../x", to: .production))
    }

    func testGarbageCollectionKeepsNewestAndStagedVersions() throws {
        let registry = ModelRegistry(directory: directory)
        for seed in 1...5 {
            let (m, f) = try makeModel(seed: UInt64(seed))
            try registry.register(m, manifest: f)
        }
        try registry.promote("v000001", to: .production)
        try registry.promote("v000002", to: .staging)
        XCTAssertThrowsError(try registry.garbageCollect(keep: 0))
        XCTAssertEqual(try registry.garbageCollect(keep: 2), ["v000003"])
        XCTAssertEqual(registry.versions(), ["v000001", "v000002", "v000004", "v000005"])
        // A new registration after gc never reuses a removed number.
        let (m, f) = try makeModel(seed: 6)
        XCTAssertEqual(try registry.register(m, manifest: f).version, "v000006")
        XCTAssertEqual(try registry.load(version: "v000001").manifest.seed, 1)
    }

    /// A rollback skips versions that were garbage-collected.
    func testRollbackSkipsRemovedVersions() throws {
        let registry = ModelRegistry(directory: directory)
        for seed in 1...4 {
            let (m, f) = try makeModel(seed: UInt64(seed))
            let e = try registry.register(m, manifest: f)
            if seed <= 3 { try registry.promote(e.version, to: .production) }
        }
        try FileManager.default.removeItem(at: registry.directory(of: "v000002"))
        XCTAssertEqual(try registry.rollback(), "v000001")
    }
}
