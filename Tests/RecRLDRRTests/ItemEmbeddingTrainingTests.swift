import XCTest
import Foundation
import RecRLTensor
import RecRLAgents
import RecRLDRR
import RecRLTestSupport

/// The item-embedding table trained by the supervised next-item step
/// (``DRRConfiguration/itemEmbeddingLearningRate``).
final class ItemEmbeddingTrainingTests: XCTestCase {
    /// `dL/dE` of the next-item softmax against central finite differences of the loss as a
    /// function of the table, for DRR (one slot), a two-slot list actor and a four-position
    /// page (LIRD's and DeepPage's default `K = h · w = 4`).
    func testEmbeddingGradientMatchesFiniteDifferences() {
        for slots in [1, 2, 4] {
            var rng = testRNG(31 + UInt64(slots))
            let b = 3, k = 4, m = 7
            let actions = Tensor(randomUniform: [b, slots * k], in: -1...1, using: &rng)
            let items = Tensor(randomNormal: [m, k], using: &rng)
            let targets: [Int32] = (0..<(b * slots)).map { Int32(($0 * 5 + 2) % m) }
            let weight: Float = 1.5
            func direct(_ e: Tensor) -> Double {
                var total = 0.0
                for v in 0..<(b * slots) {
                    let row = v / slots, offset = (v % slots) * k
                    let z = (0..<m).map { j in
                        (0..<k).reduce(0.0) { $0 + Double(actions[row, offset + $1]) * Double(e[j, $1]) }
                    }
                    let top = z.max()!
                    total += log(z.reduce(0.0) { $0 + exp($1 - top) }) + top - z[Int(targets[v])]
                }
                return Double(weight) * total / Double(b * slots)
            }
            var logits = Tensor(zeros: [0]), actionGradient = Tensor(zeros: [0]), itemGradient = Tensor(zeros: [0])
            let loss = NextItemSoftmax.lossAndGradient(
                actions: actions, itemEmbeddings: items, targets: targets, weight: weight, slots: slots,
                logits: &logits, gradient: &actionGradient)
            XCTAssertEqual(Double(loss), direct(items), accuracy: 1e-4, "slots \(slots)")
            NextItemSoftmax.embeddingGradient(actions: actions, logitGradient: logits, slots: slots, into: &itemGradient)
            XCTAssertEqual(itemGradient.shape, [m, k])
            assertClose(itemGradient, numericalGradient(of: direct, at: items), absolute: 2e-3, relative: 2e-2, "slots \(slots)")
        }
    }

    /// A fresh DRR-ave model with random embeddings, and a batch of supervised examples.
    func makeModel(learningRate: Float, seed: UInt64 = 7) throws -> (DRRModel, Tensor, [Int32]) {
        var c = smallConfiguration()
        c.batchSize = 16
        c.itemEmbeddingLearningRate = learningRate
        var rng = testRNG(seed)
        let model = try DRRModel(
            configuration: c, userEmbeddings: Tensor(randomNormal: [6, c.embeddingSize], using: &rng),
            itemEmbeddings: Tensor(randomNormal: [20, c.embeddingSize], using: &rng),
            rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
        let inputs = Tensor(randomNormal: [16, model.inputSize], using: &rng)
        let targets = (0..<16).map { Int32(($0 * 3) % 20) }
        return (model, inputs, targets)
    }

    /// The table moves only with the option on and a positive rate, and Adam's first step
    /// moves every entry whose gradient is well above ε by the learning rate against the
    /// gradient's sign (the bias-corrected first step is `lr · g / |g|`).
    func testSupervisedStepTrainsTheTableOnlyWhenAsked() throws {
        let rate: Float = 1e-2
        for (trains, learningRate) in [(true, rate), (false, rate), (true, Float(0))] {
            var (model, inputs, targets) = try makeModel(learningRate: learningRate)
            let before = model.itemEmbeddings
            var step = DRRLearningStep(model: model, options: .init(trainsItemEmbeddings: trains))
            // The gradient the step will follow, from the actor's actions before the step.
            let actions = model.learner.actor(model.stateModule(inputs))
            var logits = Tensor(zeros: [0]), g = Tensor(zeros: [0]), dE = Tensor(zeros: [0])
            _ = NextItemSoftmax.lossAndGradient(
                actions: actions, itemEmbeddings: before, targets: targets, weight: model.configuration.supervisedWeight,
                logits: &logits, gradient: &g)
            NextItemSoftmax.embeddingGradient(actions: actions, logitGradient: logits, into: &dE)
            step.supervisedStep(model: &model, inputs: inputs, targets: targets)
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
    }

    /// Warm supervised steps that train the table allocate nothing (the moments and the
    /// gradient are made by the first step).
    func testWarmSupervisedStepWithTableTrainingAllocatesNothing() throws {
        let threads = BLASRuntime.threadCount
        BLASRuntime.setThreadCount(1)
        defer { BLASRuntime.setThreadCount(threads) }
        var (model, inputs, targets) = try makeModel(learningRate: 1e-3)
        var step = DRRLearningStep(model: model, options: .init(trainsItemEmbeddings: true))
        step.supervisedStep(model: &model, inputs: inputs, targets: targets)
        step.supervisedStep(model: &model, inputs: inputs, targets: targets)
        let n = try countAllocations {
            for _ in 0..<3 { step.supervisedStep(model: &model, inputs: inputs, targets: targets) }
        }
        XCTAssertEqual(n, 0, "a warm supervised step that trains the item table must not allocate")
    }

    /// Offline DRR and LIRD training with a positive rate changes the pretrained table, the
    /// trained table survives a save and load, and serving scores with it; a
    /// manifest written before the field existed decodes to a fixed table.
    func testTrainedTableIsSavedAndServed() throws {
        let data = successorDataset()
        var c = smallConfiguration()
        c.episodes = 30
        c.itemEmbeddingLearningRate = 1e-2
        var fixed = c
        fixed.itemEmbeddingLearningRate = 0
        let trained = try DRRTrainer.train(data, configuration: c, seed: 3).model
        let pretrained = try DRRTrainer.train(data, configuration: fixed, seed: 3).model
        XCTAssertEqual(trained.itemEmbeddings.shape, pretrained.itemEmbeddings.shape)
        XCTAssertNotEqual(trained.itemEmbeddings, pretrained.itemEmbeddings, "the supervised steps moved the table")
        XCTAssertEqual(trained.userEmbeddings, pretrained.userEmbeddings, "user embeddings stay fixed")

        // Two items a step: shorter episodes, so that the 16 items fill them.
        var lirdBase = c, lirdFixedBase = fixed
        lirdBase.episodeLength = 4
        lirdFixedBase.episodeLength = 4
        let lird = try LIRDTrainer.run(data, configuration: LIRDConfiguration(base: lirdBase, listSize: 2), seed: 3).model
        let lirdFixed = try LIRDTrainer.run(data, configuration: LIRDConfiguration(base: lirdFixedBase, listSize: 2), seed: 3).model
        XCTAssertNotEqual(lird.itemEmbeddings, lirdFixed.itemEmbeddings, "LIRD trains its table as DRR does")
        XCTAssertEqual(lird.itemEmbeddings.shape, lirdFixed.itemEmbeddings.shape)

        let manifest = DRRManifest(
            policy: "drr-ave", configuration: c, seed: 3, dataFingerprint: data.fingerprint,
            userIDs: data.userMap.rawIDs, itemIDs: data.itemMap.rawIDs, rewardScale: trained.rewardScale)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("item-table-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try DRRModelStore.save(trained, manifest: manifest, to: directory)
        let (loaded, loadedManifest) = try DRRModelStore.load(from: directory)
        XCTAssertEqual(loaded.itemEmbeddings, trained.itemEmbeddings)
        XCTAssertEqual(loadedManifest.configuration.itemEmbeddingLearningRate, c.itemEmbeddingLearningRate)
        let window = StateWindow(size: c.windowSize, initial: [1, 2, 3])
        XCTAssertEqual(loaded.scores(user: 4, window: window), trained.scores(user: 4, window: window))

        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any])
        object.removeValue(forKey: "itemEmbeddingLearningRate")
        let old = try JSONDecoder().decode(DRRConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.itemEmbeddingLearningRate, 0, "a model saved before the field trained a fixed table")
        XCTAssertThrowsError(try DRRConfiguration().applying(overrides: ["itemEmbeddingLearningRate=-1"]))
        XCTAssertEqual(try DRRConfiguration().applying(overrides: ["itemEmbeddingLearningRate=0.003"]).itemEmbeddingLearningRate, 0.003)
    }

    /// A list model's supervised step weighs every slot with the full ``DRRConfiguration/supervisedWeight``
    /// (`NextItemSoftmax` at `K · λ` over the `B · K` slots), as DRR's single action is weighed.
    func testListSupervisedStepWeighsEverySlotFully() throws {
        var c = smallConfiguration()
        c.batchSize = 4
        var rng = testRNG(17)
        var model = try DRRModel(
            configuration: c, userEmbeddings: Tensor(randomNormal: [6, c.embeddingSize], using: &rng),
            itemEmbeddings: Tensor(randomNormal: [20, c.embeddingSize], using: &rng),
            rewardScale: RewardScale(minimum: 1, maximum: 5), listSize: 3, using: &rng)
        let inputs = Tensor(randomNormal: [4, model.inputSize], using: &rng)
        let targets = (0..<12).map { Int32(($0 * 7) % 20) }
        var logits = Tensor(zeros: [0]), g = Tensor(zeros: [0])
        let expected = NextItemSoftmax.lossAndGradient(
            actions: model.learner.actor(model.stateModule(inputs)), itemEmbeddings: model.itemEmbeddings, targets: targets,
            weight: 3 * c.supervisedWeight, slots: 3, logits: &logits, gradient: &g)
        var step = DRRLearningStep(model: model)
        let loss = step.supervisedStep(model: &model, inputs: inputs, targets: targets)
        assertClose(loss, expected, absolute: 1e-4, relative: 1e-5, "K = 3 slots at the full weight each")
    }
}
