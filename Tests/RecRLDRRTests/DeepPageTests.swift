import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLData
import RecRLDRR
import RecRLTestSupport

/// A DeepPage configuration small enough for tests: embeddings of 8, a 2 × 2 page, two
/// recent pages, narrow networks, episodes of 4 pages.
func smallDeepPageConfiguration() -> DeepPageConfiguration {
    var c = DeepPageConfiguration(base: smallConfiguration(), rows: 2, columns: 2)
    c.base.episodeLength = 4
    c.recentPages = 2
    c.stateSize = 12
    c.convolutionFilters = 6
    c.deconvolutionChannels = 6
    c.criticHiddenSize = 16
    return c
}

final class DeepPageTests: XCTestCase {
    /// A tiny shape: k = 3, one category channel, history 2, two 2 × 3 pages.
    let tinyShape = DeepPageShape(
        embeddingSize: 3, categoryChannels: 1, historyLength: 2, recentPages: 2, rows: 2, columns: 3,
        stateSize: 4, convolutionFilters: 3, deconvolutionChannels: 2, criticHiddenSize: 5)

    /// A random observation of `tinyShape` for two users: user 0 has a full history and one
    /// page (the second is padding), user 1 one history item (the first slot is padding) and
    /// two pages.
    func tinyObservation(_ rng: inout Xoshiro256StarStar) -> Tensor {
        let s = tinyShape
        var x = Tensor(randomUniform: [2, s.observationSize], in: -1...1, using: &rng)
        let historyMask = s.historyLength * s.embeddingSize, pageMask = historyMask + s.historyLength + s.recentPages * s.pageWidth
        let masks: [[Float]] = [[1, 1, 1, 0], [0, 1, 1, 1]]
        for r in 0..<2 {
            for j in 0..<s.historyLength { x[flat: r * s.observationSize + historyMask + j] = masks[r][j] }
            for j in 0..<s.recentPages { x[flat: r * s.observationSize + pageMask + j] = masks[r][2 + j] }
        }
        return x
    }

    /// The columns that carry values (not masks) of a `tinyShape` observation.
    func valueColumns(_ width: Int) -> [Int] {
        let s = tinyShape
        let historyMask = s.historyLength * s.embeddingSize, pages = historyMask + s.historyLength
        return (0..<width).filter { c in
            !(historyMask..<pages).contains(c) && !(pages + s.recentPages * s.pageWidth..<s.observationSize).contains(c)
        }
    }

    /// Checks `layer`'s gradients against finite differences for every parameter and every
    /// value column of the input (mask columns are inputs of a step function, not values).
    func checkGradients<L: Layer>(_ layer: L, input: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        checkLayerGradients(layer, input: input, seed: 11, inputColumns: valueColumns(input.columns), file: file, line: line)
    }

    func testActorGradientsMatchFiniteDifferences() throws {
        var rng = testRNG(21)
        let actor = try DeepPageActor(shape: tinyShape, using: &rng)
        XCTAssertEqual(actor.actionSize, 2 * 3 * 3)
        checkGradients(actor, input: tinyObservation(&rng))
    }

    func testCriticGradientsMatchFiniteDifferences() throws {
        var rng = testRNG(22)
        let critic = try DeepPageCritic(shape: tinyShape, using: &rng)
        let x = tinyObservation(&rng)
        let a = Tensor(randomUniform: [2, tinyShape.actionSize], in: -1...1, using: &rng)
        checkGradients(critic, input: Tensor.concatenateColumns(x, a))
    }

    /// Padded history slots and pages influence nothing: changing them changes no output.
    func testMaskedSlotsAreIgnored() throws {
        var rng = testRNG(23)
        let actor = try DeepPageActor(shape: tinyShape, using: &rng)
        let x = tinyObservation(&rng)
        var y = x
        let s = tinyShape
        // User 0's second page and user 1's first history slot are padding.
        let page1 = s.historyLength * (s.embeddingSize + 1) + s.pageWidth
        for j in 0..<s.pageWidth { y[flat: page1 + j] = 7 }
        for j in 0..<s.embeddingSize { y[flat: s.observationSize + j] = -7 }
        XCTAssertEqual(actor(x), actor(y))
    }

    /// The page of embeddings maps to distinct items, position by position row-major: two
    /// positions that both point at item 0 get item 0 and the next best.
    func testPageMappingIsGreedyByPositionWithoutRepeats() throws {
        var c = smallDeepPageConfiguration()
        c.base.embeddingSize = 2
        c.rows = 1
        c.columns = 3
        let items = try Tensor(shape: [4, 2], scalars: [1, 0, 0, 1, 0.9, 0.1, -1, 0])
        var rng = testRNG(1)
        let model = try DeepPageModel(
            configuration: c, itemEmbeddings: items, rewardScale: RewardScale(minimum: 1, maximum: 5),
            using: &rng)
        let action = try Tensor(shape: [6], scalars: [1, 0, 1, 0, 0, 1])
        XCTAssertEqual(model.page(forAction: action), [0, 2, 1])
        XCTAssertEqual(model.page(forAction: action, excluding: { $0 == 0 }), [2, 1, 3])
        XCTAssertEqual(model.page(forAction: action, excluding: { $0 != 1 }), [1, -1, -1], "nothing left: −1")
        XCTAssertEqual(model.pageAction([0, 1, 3], scale: 0.5).scalars, [0.5, 0, 0, 0.5, -0.5, 0])
        // The rows × columns view of a served page.
        let page = model.page(window: StateWindow(size: 3, initial: [0]), pages: [])
        XCTAssertEqual(page.count, 1)
        XCTAssertEqual(Set(page[0]).count, 3)
    }

    func testObservationLayout() throws {
        var c = smallDeepPageConfiguration()
        c.base.embeddingSize = 2
        c.base.windowSize = 2
        c.rows = 1
        c.columns = 2
        c.recentPages = 2
        c.categoryChannels = 1
        let items = try Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let categories = try Tensor(shape: [3, 1], scalars: [10, 20, 30])
        var rng = testRNG(1)
        let model = try DeepPageModel(
            configuration: c, itemEmbeddings: items, itemCategories: categories,
            rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
        var x = Tensor(zeros: [1, model.observationSize])
        // Three pages shown: only the last two are read, oldest first.
        let pages = [
            ShownPage(items: [0, 0], rewards: [9, 9]), ShownPage(items: [2, 1], rewards: [1, -1]),
            ShownPage(items: [0, 2], rewards: [0.5, 0]),
        ]
        model.writeObservation(window: StateWindow(size: 2, initial: [1]), pages: pages, into: &x)
        XCTAssertEqual(
            x.scalars,
            [
                0, 0, 3, 4, 0, 1,
                5, 6, 30, 1, 3, 4, 20, -1,
                1, 2, 10, 0.5, 5, 6, 30, 0,
                1, 1,
            ])
        XCTAssertThrowsError(
            try DeepPageModel(configuration: c, itemEmbeddings: items, rewardScale: model.rewardScale, using: &rng),
            "categoryChannels 1 needs categories")
    }

    func testConfigurationPresetsValidationAndCoding() throws {
        let paper = DeepPageConfiguration.paper
        XCTAssertEqual(paper.rows * paper.columns, 10)
        XCTAssertEqual(paper.simulator, .memory)
        XCTAssertNil(paper.memoryNeighbours)
        XCTAssertEqual(paper.listConfiguration.listSize, 10)
        XCTAssertNoThrow(try DeepPageConfiguration().validate())
        var bad = DeepPageConfiguration()
        bad.rows = 0
        XCTAssertThrowsError(try bad.validate())
        bad = DeepPageConfiguration()
        bad.positionDiscount = 2
        XCTAssertThrowsError(try bad.validate())
        let decoded = try JSONDecoder().decode(DeepPageConfiguration.self, from: JSONEncoder().encode(paper))
        XCTAssertEqual(decoded, paper)
        XCTAssertEqual(DeepPageConfiguration().pageReward([1, 1, -1, 0]), 1 + 0.9 - 0.81, accuracy: 1e-6)
    }

    /// Training on the planted log (items 0..<10 liked by everyone) fills pages with them far
    /// more often than chance, is reproducible from its seed, and the model round-trips
    /// through safetensors.
    func testTrainingLearnsPlantedPreferenceIsSeededAndRoundTrips() throws {
        var c = smallDeepPageConfiguration()
        c.base.episodes = 120
        let data = plantedDataset()
        let a = try DeepPageTrainer.run(data, configuration: c, seed: 5, curveEvery: 40)
        let b = try DeepPageTrainer.run(data, configuration: c, seed: 5, curveEvery: 40)
        XCTAssertEqual(a.curve, b.curve)
        XCTAssertEqual(a.model.learner.checkpointTensors(), b.model.learner.checkpointTensors())
        XCTAssertGreaterThan(a.curve.last!.meanCriticLoss, 0, "the critic was trained")
        XCTAssertGreaterThan(a.curve.last!.meanEpisodeReward, a.curve.first!.meanEpisodeReward + 1)

        let model = a.model
        let histories = UserHistories(data)
        var hits = 0, total = 0
        for u in 0..<data.userCount {
            let window = StateWindow(size: c.base.windowSize, initial: histories.positives(user: u, threshold: 3))
            let page = model.page(window: window, pages: []).flatMap { $0 }
            XCTAssertEqual(Set(page).count, 4)
            hits += page.filter { $0 < 10 }.count
            total += page.count
        }
        // Chance is 10/60 ≈ 0.17.
        XCTAssertGreaterThan(Double(hits) / Double(total), 0.4)

        let bytes = model.safeTensors().encoded()
        let loaded = try DeepPageModel(safeTensors: SafeTensors(bytes: bytes))
        XCTAssertEqual(loaded.configuration, model.configuration)
        XCTAssertEqual(loaded.learner.checkpointTensors(), model.learner.checkpointTensors())
        let window = StateWindow(size: c.base.windowSize, initial: [3, 1])
        let shown = [ShownPage(items: [4, 5, 6, 7], rewards: [1, 0, -1, 0])]
        XCTAssertEqual(loaded.page(window: window, pages: shown), model.page(window: window, pages: shown))
        var file = model.safeTensors()
        file.metadata = [:]
        XCTAssertThrowsError(try DeepPageModel(safeTensors: file))

        // Through the model store: a versioned folder that loadDeepPage reads back and
        // load (DRR's) refuses.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deeppage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = DRRManifest(
            policy: DRRModelStore.deepPagePolicy, configuration: c.base, seed: 5,
            dataFingerprint: data.fingerprint, userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs,
            rewardScale: model.rewardScale)
        try DRRModelStore.save(model, manifest: manifest, to: dir)
        let (stored, storedManifest) = try DRRModelStore.loadDeepPage(from: dir)
        XCTAssertEqual(storedManifest.policy, "deeppage")
        XCTAssertEqual(stored.page(window: window, pages: shown), model.page(window: window, pages: shown))
        XCTAssertThrowsError(try DRRModelStore.load(from: dir)) { XCTAssertTrue("\($0)".contains("DeepPage"), "\($0)") }
        var wrong = manifest
        wrong.policy = "drr-ave"
        XCTAssertThrowsError(try DRRModelStore.save(model, manifest: wrong, to: dir))
    }

    /// Against the memory-based page simulator (a page read as LIRD's list): the critic's
    /// loss falls once learning starts and the page rewards of the last episodes exceed those
    /// of the first.
    func testMemorySimulatorTrainingRaisesReward() throws {
        var c = smallDeepPageConfiguration()
        c.simulator = .memory
        c.base.episodes = 40
        let result = try DeepPageTrainer.run(plantedDataset(users: 12), configuration: c, seed: 3, curveEvery: 10)
        XCTAssertEqual(result.curve.count, 4)
        // Learning starts in the third block (warm-up of 100 transitions); the critic's loss
        // then falls and the page rewards rise above the first block's.
        let trained = result.curve[2], last = result.curve[3]
        XCTAssertGreaterThan(trained.meanCriticLoss, 0)
        XCTAssertLessThan(last.meanCriticLoss, trained.meanCriticLoss)
        XCTAssertGreaterThan(last.meanEpisodeReward, result.curve[0].meanEpisodeReward)
    }
}
