import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLDRR

/// The crash-safety contract of `DRRModelStore`: versions, the `current` link, checksums,
/// finiteness, the earlier flat layout, and saves killed at random points.
final class ModelStoreTests: XCTestCase {
    var directory: URL!

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
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
            userIDs: ["a", "b", "c"], itemIDs: (0..<6).map { "i\($0)" }, rewardScale: scale)
        return (model, manifest)
    }

    func testSavesAreVersionsBehindAnAtomicCurrentLink() throws {
        let (m1, f1) = try makeModel(seed: 1), (m2, f2) = try makeModel(seed: 2)
        let v1 = try DRRModelStore.save(m1, manifest: f1, to: directory)
        XCTAssertEqual(v1.lastPathComponent, "v000001")
        XCTAssertEqual(try DRRModelStore.load(from: directory).manifest.seed, 1)
        let v2 = try DRRModelStore.save(m2, manifest: f2, to: directory)
        XCTAssertEqual(v2.lastPathComponent, "v000002")
        XCTAssertEqual(DurableFiles.symbolicLinkTarget(directory.appendingPathComponent("current")), "versions/v000002")
        let loaded = try DRRModelStore.load(from: directory)
        XCTAssertEqual(loaded.manifest.seed, 2)
        XCTAssertEqual(loaded.model.learner.actor.namedParameters(), m2.learner.actor.namedParameters())
        XCTAssertEqual(loaded.manifest.weightsSHA256?.count, 64)
        // The top-level names follow the current version, for tools that read the files.
        let manifestData = try Data(contentsOf: directory.appendingPathComponent(DRRModelStore.manifestFile))
        XCTAssertEqual(try JSONDecoder().decode(DRRManifest.self, from: manifestData).seed, 2)
        // Only `keep` versions stay.
        for seed in 3...5 { try DRRModelStore.save(m1, manifest: try makeModel(seed: UInt64(seed)).1, to: directory, keep: 2) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("versions").path).sorted()
        XCTAssertEqual(names, ["v000004", "v000005"])
    }

    func testChecksumMismatchAndNonFiniteWeightsAreRefused() throws {
        let (m, f) = try makeModel(seed: 1)
        let version = try DRRModelStore.save(m, manifest: f, to: directory)
        // Flip one byte of the weights: the checksum no longer matches.
        let weightsURL = version.appendingPathComponent(DRRModelStore.weightsFile)
        var bytes = [UInt8](try Data(contentsOf: weightsURL))
        bytes[bytes.count - 1] ^= 0x01
        try Data(bytes).write(to: weightsURL)
        XCTAssertThrowsError(try DRRModelStore.load(from: directory)) { error in
            XCTAssertTrue("\(error)".contains("SHA-256"), "\(error)")
            XCTAssertFalse("\(error)".contains(self.directory.path), "errors name no server paths: \(error)")
        }
        // A NaN weight is refused on save, and on load of a folder without a checksum.
        var broken = m
        broken.itemEmbeddings[flat: 0] = .nan
        XCTAssertThrowsError(try DRRModelStore.save(broken, manifest: f, to: directory)) { error in
            XCTAssertTrue("\(error)".contains("NaN"), "\(error)")
        }
        let flat = directory.appendingPathComponent("flat")
        try FileManager.default.createDirectory(at: flat, withIntermediateDirectories: true)
        var tensors = try SafeTensors(contentsOf: directory.appendingPathComponent("versions/v000001/model.safetensors")).tensors
        tensors["embeddings.items"]![flat: 3] = .infinity
        try SafeTensors(tensors: tensors).write(to: flat.appendingPathComponent(DRRModelStore.weightsFile))
        try JSONEncoder().encode(f).write(to: flat.appendingPathComponent(DRRModelStore.manifestFile))
        XCTAssertThrowsError(try DRRModelStore.load(from: flat)) { error in
            XCTAssertTrue("\(error)".contains("NaN or infinite"), "\(error)")
        }
    }

    func testFlatFoldersOfEarlierVersionsLoadAndConvertOnSave() throws {
        let (m, f) = try makeModel(seed: 7)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try m.learner.actor.saveCheckpoint(to: directory.appendingPathComponent("unrelated.safetensors"))
        // The flat layout: weights and manifest side by side, no checksum.
        let version = try DRRModelStore.save(m, manifest: f, to: directory.appendingPathComponent("staging"))
        for file in [DRRModelStore.weightsFile, DRRModelStore.manifestFile] {
            try FileManager.default.copyItem(at: version.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        XCTAssertEqual(try DRRModelStore.load(from: directory).manifest.seed, 7)
        let (m2, f2) = try makeModel(seed: 8)
        try DRRModelStore.save(m2, manifest: f2, to: directory)
        XCTAssertEqual(try DRRModelStore.load(from: directory).manifest.seed, 8)
        XCTAssertEqual(
            DurableFiles.symbolicLinkTarget(directory.appendingPathComponent(DRRModelStore.weightsFile)),
            "current/model.safetensors")
    }

    /// A saving process killed with SIGKILL at random points: every load afterwards gives
    /// the complete old or the complete new model.
    func testSaveKilledAtRandomPointsLeavesOldOrNewModel() throws {
        let saver = Bundle.main.bundleURL.appendingPathComponent("RecRLModelSaver")
        guard FileManager.default.isExecutableFile(atPath: saver.path) else {
            return XCTFail("the RecRLModelSaver helper was not built at \(saver.path)")
        }
        func run(_ arguments: [String]) throws {
            let p = Process()
            p.executableURL = saver
            p.arguments = arguments
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
        }
        // Reference models, each saved alone.
        let references = directory.appendingPathComponent("references")
        try run([references.appendingPathComponent("11").path, "11"])
        try run([references.appendingPathComponent("12").path, "12"])
        var expected: [UInt64: [String: Tensor]] = [:]
        for seed: UInt64 in [11, 12] {
            let m = try DRRModelStore.load(from: references.appendingPathComponent("\(seed)")).model
            expected[seed] = m.learner.actor.namedParameters().merging(m.learner.critics[0].namedParameters()) { a, _ in a }
        }
        let target = directory.appendingPathComponent("model")
        try run([target.path, "11"])
        var rng = SplitMix64(seed: 99)
        var seen = Set<UInt64>()
        for _ in 0..<12 {
            let p = Process()
            p.executableURL = saver
            p.arguments = [target.path, "11", "12"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            _ = pipe.fileHandleForReading.availableData  // "saving": the loop has started
            usleep(UInt32(1_000 + rng.next() % 60_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let loaded = try DRRModelStore.load(from: target)
            let seed = loaded.manifest.seed
            seen.insert(seed)
            let weights = loaded.model.learner.actor.namedParameters()
                .merging(loaded.model.learner.critics[0].namedParameters()) { a, _ in a }
            XCTAssertEqual(weights, expected[seed], "the weights of the current version are not model \(seed)'s")
        }
        XCTAssertFalse(seen.isEmpty)
        // Killed writers leave at most temporaries, which the next save removes.
        try run([target.path, "12"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: target.appendingPathComponent("versions").path)
            .filter { $0.hasPrefix(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }
}
