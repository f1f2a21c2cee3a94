import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLData
import RecRLDRR
import RecRLTestSupport

/// A tiny DeepPage configuration for the supervised and item-table tests: k = 3, history 2,
/// two 2 × 3 pages, state 4, 3 filters, 2 deconvolution channels, critic hidden 5.
func tinyDeepPageConfiguration() -> DeepPageConfiguration {
    var c = DeepPageConfiguration(base: smallConfiguration(), rows: 2, columns: 3)
    c.base.embeddingSize = 3
    c.base.windowSize = 2
    c.recentPages = 2
    c.stateSize = 4
    c.convolutionFilters = 3
    c.deconvolutionChannels = 2
    c.criticHiddenSize = 5
    return c
}

/// DeepPage's supervised next-page objective (``DeepPageConfiguration/supervisedWeight``).
final class DeepPageSupervisedTests: XCTestCase {
    /// A tiny model: k = 3, history 2, two 2 × 3 pages, ten items.
    func tinyModel(weight: Float = 1, seed: UInt64 = 31) throws -> DeepPageModel {
        var c = tinyDeepPageConfiguration()
        c.base.actorLearningRate = 1e-3
        c.supervisedWeight = weight
        var rng = testRNG(seed)
        let items = Tensor(randomNormal: [10, 3], using: &rng)
        return try DeepPageModel(
            configuration: c, itemEmbeddings: items, rewardScale: RewardScale(minimum: 1, maximum: 5), using: &rng)
    }

    /// Observations of `model` for three users: a full history and one shown page, one
    /// history item and two pages, a full history and no page (the supervised examples' form).
    func observations(_ model: DeepPageModel) -> Tensor {
        var x = Tensor(zeros: [3, model.observationSize])
        let n = model.configuration.base.windowSize
        model.writeObservation(
            window: StateWindow(size: n, initial: [1, 2]), pages: [ShownPage(items: [3, 4, 5, 6, 7, 8], rewards: [1, 0, -1, 0.5, 0, 1])],
            into: &x, row: 0)
        model.writeObservation(
            window: StateWindow(size: n, initial: [9]),
            pages: [
                ShownPage(items: [0, 1, 2, 3, 4, 5], rewards: [0, 1, 1, -1, 0, 0]),
                ShownPage(items: [6, 7, 8, 9, 0, 1], rewards: [1, 1, 0, 0, -0.5, 0]),
            ], into: &x, row: 1)
        model.writeObservation(history: [4, 7], into: &x, row: 2)
        return x
    }

    /// The loss computed directly in Double from the actor's output: per row and page
    /// position, `log Σ_i exp(a · e_i) − a · e_target`, averaged, times the weight.
    func referenceLoss(_ actor: DeepPageActor, _ model: DeepPageModel, _ x: Tensor, _ targets: [Int32]) -> Double {
        let a = actor(x), e = model.itemEmbeddings, k = e.columns, slots = model.configuration.pageSize
        var total = 0.0
        for b in 0..<x.rows {
            for j in 0..<slots {
                let z = (0..<e.rows).map { i in
                    (0..<k).reduce(0.0) { $0 + Double(a[flat: b * slots * k + j * k + $1]) * Double(e[flat: i * k + $1]) }
                }
                let top = z.max()!
                total += top + log(z.reduce(0) { $0 + exp($1 - top) }) - z[Int(targets[b * slots + j])]
            }
        }
        return Double(model.configuration.supervisedWeight) * total / Double(x.rows * slots)
    }

    /// The gradient of the supervised loss with respect to every actor parameter — the
    /// deconvolution, the projection and the state encoder (both GRUs, the page CNN, the
    /// attention) — against central finite differences of the directly computed loss.
    func testSupervisedGradientMatchesFiniteDifferences() throws {
        let model = try tinyModel(weight: 2)
        let x = observations(model)
        let targets: [Int32] = [0, 3, 5, 7, 9, 1, 2, 2, 4, 6, 8, 0, 9, 8, 7, 6, 5, 4]
        let (loss, gradient) = model.supervisedLossAndGradient(observations: x, targets: targets)
        let actor = model.learner.actor
        assertClose(loss, Float(referenceLoss(actor, model, x, targets)), absolute: 1e-4, relative: 1e-4, "loss")
        let analytic = gradient.namedParameters()
        var reached = Set<String>()
        for (name, p) in actor.namedParameters() {
            let numeric = numericalGradient(
                of: { value in
                    var a = actor
                    a.visitParameters { n, q in if n == name { q = value } }
                    return referenceLoss(a, model, x, targets)
                }, at: p)
            guard let g = analytic[name] else {
                XCTFail("no gradient for \(name)")
                continue
            }
            assertClose(g, numeric, absolute: 2e-3, relative: 2e-2, "gradient of \(name)")
            if g.maxAbs() > 0 { reached.insert(String(name.prefix { $0 != "." })) }
        }
        XCTAssertEqual(reached, ["encoder", "projection", "deconvolution"], "the loss reaches every part of the actor")
        for part in ["encoder.history_gru", "encoder.page_cnn", "encoder.page_gru", "encoder.attention"] {
            XCTAssert(analytic.contains { $0.key.hasPrefix(part) && $0.value.maxAbs() > 0 }, "\(part) gets a gradient")
        }
    }

    /// ``DeepPageModel/supervisedStep(observations:targets:logits:)`` takes the actor's Adam
    /// step along that gradient (the first step of a fresh Adam moves each parameter by the
    /// learning rate against the gradient's sign), leaves the critic alone, and repeated
    /// steps lower the loss on their batch.
    func testSupervisedStepDescendsTheGradient() throws {
        var model = try tinyModel(weight: 1)
        let x = observations(model)
        let targets: [Int32] = [0, 3, 5, 7, 9, 1, 2, 2, 4, 6, 8, 0, 9, 8, 7, 6, 5, 4]
        let (before, gradient) = model.supervisedLossAndGradient(observations: x, targets: targets)
        let old = model.learner.actor.namedParameters(), critic = model.learner.critics[0].namedParameters()
        let lr = model.configuration.base.actorLearningRate
        var logits = Tensor(zeros: [0])
        let reported = model.supervisedStep(observations: x, targets: targets, logits: &logits)
        assertClose(reported, before, absolute: 1e-6, relative: 1e-6, "the step returns the loss before it")
        let new = model.learner.actor.namedParameters(), g = gradient.namedParameters()
        var checked = 0
        for (name, p) in old {
            for i in 0..<p.count where abs(g[name]![flat: i]) > 1e-3 {
                let moved = new[name]![flat: i] - p[flat: i]
                assertClose(moved, g[name]![flat: i] > 0 ? -lr : lr, absolute: lr * 0.01, relative: 0, "\(name)[\(i)]")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20)
        XCTAssertEqual(model.learner.critics[0].namedParameters(), critic, "the critic is not trained by the supervised step")
        for _ in 0..<300 { model.supervisedStep(observations: x, targets: targets, logits: &logits) }
        let after = model.supervisedLossAndGradient(observations: x, targets: targets).loss
        XCTAssertLessThan(after, before * 0.95, "loss \(before) -> \(after)")
    }

    /// ``DeepPageModel/writeObservation(history:into:row:)`` writes the row
    /// ``DeepPageModel/writeObservation(window:pages:into:row:)`` writes for that window and no
    /// page: short and long histories, an item outside the catalogue.
    func testHistoryObservationMatchesTheWindowObservation() throws {
        let model = try tinyModel()
        let n = model.configuration.base.windowSize
        var rng = testRNG(1)
        for history in [[], [3], [3, 4], [1, 2, 3, 4], [11, 2]] as [[Int]] {
            var a = Tensor(randomUniform: [2, model.observationSize], in: -1...1, using: &rng)
            var b = a
            model.writeObservation(history: history.map { Int32($0) }[...], into: &a, row: 1)
            model.writeObservation(window: StateWindow(size: n, initial: history), pages: [], into: &b, row: 1)
            XCTAssertEqual(a, b, "history \(history)")
        }
    }

    /// The weight: validated, 0 in the paper preset, a saved configuration without it (from
    /// before the objective existed) decodes as 0, and `--set`-style overrides reach
    /// DeepPage's own fields and its base.
    func testSupervisedWeightConfiguration() throws {
        XCTAssertEqual(DeepPageConfiguration.paper.supervisedWeight, 0)
        XCTAssertGreaterThan(DeepPageConfiguration().supervisedWeight, 0)
        var bad = DeepPageConfiguration()
        bad.supervisedWeight = -1
        XCTAssertThrowsError(try bad.validate())
        bad.supervisedWeight = .nan
        XCTAssertThrowsError(try bad.validate())

        let json = try JSONEncoder().encode(DeepPageConfiguration())
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        XCTAssertNotNil(object["supervisedWeight"])
        object.removeValue(forKey: "supervisedWeight")
        let old = try JSONDecoder().decode(DeepPageConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.supervisedWeight, 0)
        var expected = DeepPageConfiguration()
        expected.supervisedWeight = 0
        XCTAssertEqual(old, expected)

        let set = try DeepPageConfiguration().applying(overrides: [
            "supervisedWeight=7", "stateSize=24", "embeddingSize=16", "memoryNeighbours=null", "simulator=memory",
        ])
        XCTAssertEqual(set.supervisedWeight, 7)
        XCTAssertEqual(set.stateSize, 24)
        XCTAssertEqual(set.base.embeddingSize, 16)
        XCTAssertEqual(set.base.supervisedWeight, DeepPageConfiguration().base.supervisedWeight, "base's weight is not DeepPage's")
        XCTAssertNil(set.memoryNeighbours)
        XCTAssertEqual(set.simulator, .memory)
        XCTAssertEqual(try DeepPageConfiguration().applying(overrides: []), DeepPageConfiguration())
        XCTAssertThrowsError(try DeepPageConfiguration().applying(overrides: ["noSuchField=1"]))
        XCTAssertThrowsError(try DeepPageConfiguration().applying(overrides: ["rows"]))
        XCTAssertThrowsError(try DeepPageConfiguration().applying(overrides: ["rows=0"]))
        XCTAssertThrowsError(try DeepPageConfiguration().applying(overrides: ["supervisedWeight=\"much\""]))
    }

    /// With the objective DeepPage learns "what follows": ranked from the end of a user's run
    /// in the successor world, the page's positions (row-major) hold the next items of the
    /// cycle far more often than by chance (1/8 per position) and than by DDPG alone.
    func testSupervisedObjectiveLearnsSuccessorPages() throws {
        let data = successorDataset()
        func hitRate(weight: Float) throws -> Double {
            var c = smallDeepPageConfiguration()
            c.base.embeddingSize = 16
            c.base.episodes = 120
            c.base.episodeLength = 2
            c.base.actorLearningRate = 1e-3
            c.supervisedWeight = weight
            var recommender = DeepPageRecommender(configuration: c, seed: 2)
            try recommender.fit(train: data)
            let model = try XCTUnwrap(recommender.model)
            let histories = UserHistories(data)
            var hits = 0, total = 0
            for u in 0..<data.userCount {
                let seen = Set(histories.items[u].map(Int.init)), last = Int(histories.items[u].last!)
                let page = model.page(window: recommender.finalWindow(user: u), pages: [], excluding: { seen.contains($0) }).flatMap { $0 }
                for (j, item) in page.enumerated() where item == (last + 1 + j) % data.itemCount { hits += 1 }
                total += page.count
            }
            return Double(hits) / Double(total)
        }
        let supervised = try hitRate(weight: 100)
        let pure = try hitRate(weight: 0)
        print("successor page hit rate: supervised \(supervised), pure DDPG \(pure)")
        XCTAssertGreaterThan(supervised, 0.3, "pure DDPG: \(pure)")
        XCTAssertGreaterThan(supervised, pure + 0.2)
    }
}
