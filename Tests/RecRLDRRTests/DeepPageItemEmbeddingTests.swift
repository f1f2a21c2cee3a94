import XCTest
import Foundation
import RecRLTensor
import RecRLAgents
import RecRLNN
import RecRLData
@testable import RecRLDRR
import RecRLTestSupport

/// DeepPage's item-embedding table trained by its supervised next-page step
/// (``DRRConfiguration/itemEmbeddingLearningRate`` of ``DeepPageConfiguration/base``), as
/// DRR's (``ItemEmbeddingTrainingTests``).
final class DeepPageItemEmbeddingTests: XCTestCase {
    /// A tiny model (k = 3, 2 × 3 pages, ten items) at table learning rate `rate`, three
    /// observations and a page of targets per row.
    func tinyModel(rate: Float) throws -> (DeepPageModel, Tensor, [Int32]) {
        var c = tinyDeepPageConfiguration()
        c.supervisedWeight = 1
        c.base.itemEmbeddingLearningRate = rate
        var rng = testRNG(41)
        let model = try DeepPageModel(
            configuration: c, itemEmbeddings: Tensor(randomNormal: [10, 3], using: &rng),
            rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
        var x = Tensor(zeros: [3, model.observationSize])
        model.writeObservation(history: [1, 2], into: &x, row: 0)
        model.writeObservation(history: [9], into: &x, row: 1)
        model.writeObservation(
            window: StateWindow(size: 2, initial: [4, 7]), pages: [ShownPage(items: [3, 4, 5, 6, 7, 8], rewards: [1, 0, -1, 0.5, 0, 1])],
            into: &x, row: 2)
        let targets: [Int32] = [0, 3, 5, 7, 9, 1, 2, 2, 4, 6, 8, 0, 9, 8, 7, 6, 5, 4]
        return (model, x, targets)
    }

    /// With an item step and a positive rate the table takes Adam's first step along the
    /// page loss's `dL/dE` (each entry whose gradient is well above ε moves by the rate
    /// against the gradient's sign); without the step, at rate 0, or through the public
    /// actor-only step, it stays fixed.
    func testSupervisedStepTrainsTheTableOnlyWhenAsked() throws {
        let rate: Float = 1e-2
        for (trains, learningRate) in [(true, rate), (false, rate), (true, Float(0))] {
            var (model, x, targets) = try tinyModel(rate: learningRate)
            let before = model.itemEmbeddings
            let actions = model.learner.actor(x)
            var logits = Tensor(zeros: [0]), g = Tensor(zeros: [0]), dE = Tensor(zeros: [0])
            _ = NextItemSoftmax.lossAndGradient(
                actions: actions, itemEmbeddings: before, targets: targets, weight: model.configuration.supervisedWeight,
                slots: model.configuration.pageSize, logits: &logits, gradient: &g)
            NextItemSoftmax.embeddingGradient(actions: actions, logitGradient: logits, slots: model.configuration.pageSize, into: &dE)
            var step: ItemEmbeddingStep? = trains ? ItemEmbeddingStep() : nil
            model.supervisedStep(observations: x, targets: targets, logits: &logits, itemStep: &step)
            guard trains && learningRate > 0 else {
                XCTAssertEqual(model.itemEmbeddings, before, "trains \(trains), rate \(learningRate)")
                continue
            }
            var checked = 0
            for i in 0..<before.count where abs(dE[flat: i]) > 1e-3 {
                let moved = model.itemEmbeddings[flat: i] - before[flat: i]
                assertClose(moved, dE[flat: i] > 0 ? -rate : rate, absolute: 1e-4, relative: 1e-2, "entry \(i)")
                checked += 1
            }
            XCTAssertGreaterThan(checked, before.count / 2)
        }
        var (model, x, targets) = try tinyModel(rate: rate)
        let before = model.itemEmbeddings
        var logits = Tensor(zeros: [0])
        model.supervisedStep(observations: x, targets: targets, logits: &logits)
        XCTAssertEqual(model.itemEmbeddings, before, "the public step trains the actor only")
    }

    /// Warm supervised steps that train the table allocate nothing.
    func testWarmStepWithTableTrainingAllocatesNothing() throws {
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        var (model, x, targets) = try tinyModel(rate: 1e-3)
        var logits = Tensor(zeros: [0]), step: ItemEmbeddingStep? = ItemEmbeddingStep()
        for _ in 0..<2 { model.supervisedStep(observations: x, targets: targets, logits: &logits, itemStep: &step) }
        let n = try countAllocations {
            for _ in 0..<3 { model.supervisedStep(observations: x, targets: targets, logits: &logits, itemStep: &step) }
        }
        XCTAssertEqual(n, 0, "a warm supervised page step that trains the item table must not allocate")
    }

    /// Offline training with a positive rate moves the pretrained table (rate 0 keeps it),
    /// the trained table survives a save and load and pages are served from it; a saved
    /// configuration whose base has no rate (from before the field) decodes to a fixed table,
    /// the paper preset keeps it fixed, and a bad rate is a clear error.
    func testTrainedTableIsSavedAndLoaded() throws {
        let data = successorDataset()
        var c = smallDeepPageConfiguration()
        c.base.episodes = 80  // 160 pages: past the replay's warm-up, so that steps are taken
        c.base.episodeLength = 2  // pages of 4 from 16 items
        c.base.itemEmbeddingLearningRate = 1e-2
        var fixed = c
        fixed.base.itemEmbeddingLearningRate = 0
        let trained = try DeepPageTrainer.run(data, configuration: c, seed: 3).model
        let pretrained = try DeepPageTrainer.run(data, configuration: fixed, seed: 3).model
        XCTAssertEqual(trained.itemEmbeddings.shape, pretrained.itemEmbeddings.shape)
        XCTAssertNotEqual(trained.itemEmbeddings, pretrained.itemEmbeddings, "the supervised steps moved the table")

        let loaded = try DeepPageModel(safeTensors: SafeTensors(bytes: trained.safeTensors().encoded()))
        XCTAssertEqual(loaded.itemEmbeddings, trained.itemEmbeddings)
        XCTAssertEqual(loaded.configuration.base.itemEmbeddingLearningRate, 1e-2)
        let window = StateWindow(size: c.base.windowSize, initial: [1, 2, 3])
        XCTAssertEqual(loaded.page(window: window, pages: []), trained.page(window: window, pages: []))

        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any])
        var base = try XCTUnwrap(object["base"] as? [String: Any])
        base.removeValue(forKey: "itemEmbeddingLearningRate")
        object["base"] = base
        let old = try JSONDecoder().decode(DeepPageConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.base.itemEmbeddingLearningRate, 0, "a model saved before the field trained a fixed table")
        XCTAssertEqual(DeepPageConfiguration.paper.base.itemEmbeddingLearningRate, 0)
        XCTAssertThrowsError(try DeepPageConfiguration().applying(overrides: ["itemEmbeddingLearningRate=-1"]))
        XCTAssertEqual(
            try DeepPageConfiguration().applying(overrides: ["itemEmbeddingLearningRate=0.003"]).base.itemEmbeddingLearningRate, 0.003)
    }
}
