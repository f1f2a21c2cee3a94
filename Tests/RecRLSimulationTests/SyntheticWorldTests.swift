import Foundation
import RecRLSimulation
import RecRLTensor
import XCTest

final class SyntheticWorldTests: XCTestCase {

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for j in 0..<a.count { dot += a[j] * b[j]; na += a[j] * a[j]; nb += b[j] * b[j] }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    /// A world whose users never leave, to isolate other mechanisms.
    static func noChurn(_ c: SyntheticWorld.Configuration = .init()) -> SyntheticWorld.Configuration {
        var c = c
        c.baseLeaveProbability = 0
        c.leaveProbabilityPerMiss = 0
        return c
    }

    // MARK: Construction

    func testSameSeedSameWorldDifferentSeedDifferentWorld() {
        let config = SyntheticWorld.Configuration(users: 50, items: 200)
        let a = SyntheticWorld(configuration: config, seed: 11)
        let b = SyntheticWorld(configuration: config, seed: 11)
        let c = SyntheticWorld(configuration: config, seed: 12)
        XCTAssertEqual(a.trueItemEmbeddings.scalars, b.trueItemEmbeddings.scalars)
        XCTAssertEqual(a.categories, b.categories)
        XCTAssertEqual(a.popularity, b.popularity)
        XCTAssertEqual(a.trueTaste(user: 7), b.trueTaste(user: 7))
        XCTAssertNotEqual(a.trueItemEmbeddings.scalars, c.trueItemEmbeddings.scalars)
        XCTAssertNotEqual(a.categories, c.categories)

        // Identical responses to identical calls, items and slates.
        var wa = a, wb = b
        for step in 0..<200 {
            let user = step % 50, item = (step * 37) % 200
            XCTAssertEqual(wa.respond(user: user, item: item), wb.respond(user: user, item: item))
            XCTAssertEqual(
                wa.respond(user: user, slate: [item, (item + 1) % 200, (item + 2) % 200]),
                wb.respond(user: user, slate: [item, (item + 1) % 200, (item + 2) % 200]))
        }
        XCTAssertEqual(wa.trueTaste(user: 3), wb.trueTaste(user: 3))
        XCTAssertEqual(wa.trueFatigue(user: 3), wb.trueFatigue(user: 3))
    }

    func testGenerativeModelInvariants() {
        let world = SyntheticWorld(configuration: .init(users: 100, items: 1000), seed: 5)
        let d = world.configuration.dimension
        XCTAssertEqual(world.trueItemEmbeddings.shape, [1000, 16])
        for i in 0..<world.itemCount {
            let v = world.trueItemVector(i)
            XCTAssertEqual(v.count, d)
            XCTAssertEqual(v.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
            XCTAssertTrue((0..<10).contains(world.categories[i]))
        }
        for u in 0..<world.userCount {
            XCTAssertEqual(world.trueTaste(user: u).reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
        XCTAssertEqual(world.popularity.reduce(0, +), 1, accuracy: 1e-9)
        // Zipf: the most popular item has prior 1/H_N with s = 1.
        let harmonic = (1...1000).reduce(0.0) { $0 + 1 / Double($1) }
        XCTAssertEqual(world.popularity.max()!, 1 / harmonic, accuracy: 1e-12)
        XCTAssertEqual(world.popularity.min()!, 1 / (1000 * harmonic), accuracy: 1e-12)
        // Bias b_i = β ln(N p_i) / ln N.
        let i = 123
        XCTAssertEqual(world.popularityBias[i], Float(0.5 * log(1000 * world.popularity[i]) / log(1000.0)), accuracy: 1e-6)
        // Every category is used.
        XCTAssertEqual(Set(world.categories).count, 10)
        // Items cluster by category: same-category pairs are much closer than others.
        var same: Float = 0, sameCount: Float = 0, other: Float = 0, otherCount: Float = 0
        for a in 0..<200 {
            for b in (a + 1)..<200 {
                let c = Self.cosine(world.trueItemVector(a), world.trueItemVector(b))
                if world.categories[a] == world.categories[b] { same += c; sameCount += 1 } else { other += c; otherCount += 1 }
            }
        }
        XCTAssertGreaterThan(same / sameCount, 0.6)
        XCTAssertLessThan(abs(other / otherCount), 0.15)
        XCTAssertEqual(world.titles[17], "Item 17 (category \(world.categories[17]))")
        XCTAssertEqual(SyntheticWorld.userID(17), "u17")
        XCTAssertEqual(SyntheticWorld.itemID(42), "i42")
    }

    // MARK: Response model

    func testRatingMappingWithoutNoise() {
        var config = Self.noChurn(.init(users: 40, items: 300))
        config.responseNoise = 0
        var world = SyntheticWorld(configuration: config, seed: 3)
        var seenRatings = Set<Int>()
        for step in 0..<2000 {
            let user = step % 40, item = (step * 7919) % 300
            let a = world.expectedAffinity(user: user, item: item)
            let expected = min(5, max(1, Int((3 + 2 * tanh(a)).rounded())))
            let feedback = world.respond(user: user, item: item)
            XCTAssertEqual(feedback.rating, expected, "affinity \(a)")
            XCTAssertEqual(feedback.positive, feedback.rating >= 4)
            XCTAssertTrue(feedback.examined)
            XCTAssertFalse(feedback.left)
            seenRatings.insert(feedback.rating)
        }
        XCTAssertEqual(seenRatings, [1, 2, 3, 4, 5], "the default scales should use the whole rating range")
    }

    func testDriftMovesTasteTowardConsumedItems() {
        var world = SyntheticWorld(configuration: .init(users: 200, items: 500), seed: 21)
        var moved = 0
        for user in 0..<200 {
            // The user's best item now (almost surely rated positively at least once).
            let item = (0..<500).max { world.expectedAffinity(user: user, item: $0) < world.expectedAffinity(user: user, item: $1) }!
            let v = world.trueItemVector(item)
            let before = Self.cosine(world.trueTaste(user: user), v)
            var positives = 0
            for _ in 0..<5 where world.respond(user: user, item: item).positive { positives += 1 }
            let after = Self.cosine(world.trueTaste(user: user), v)
            if positives > 0 {
                XCTAssertGreaterThan(after, before, "user \(user)")
                moved += 1
                // With η = 0.05 and k positives, the taste moves at most a little.
                XCTAssertLessThan(after - before, 0.5)
            } else {
                XCTAssertEqual(after, before, accuracy: 1e-6, "no positive, no drift")
            }
        }
        XCTAssertGreaterThan(moved, 150)

        // η = 0: tastes never move.
        var still = SyntheticWorld(configuration: .init(users: 20, items: 100, driftRate: 0), seed: 21)
        let taste = still.trueTaste(user: 4)
        for i in 0..<100 { _ = still.respond(user: 4, item: i) }
        XCTAssertEqual(still.trueTaste(user: 4), taste)
    }

    func testBoredomLowersRatingsOfRepeatedCategory() {
        // Users never leave here, so the only difference between the two schedules is fatigue.
        let world = SyntheticWorld(configuration: Self.noChurn(.init(users: 500, items: 1000)), seed: 8)
        var byCategory = [[Int]](repeating: [], count: 10)
        for i in 0..<world.itemCount { byCategory[world.categories[i]].append(i) }

        // Schedule A: 12 items of the favourite category. Schedule B: favourite and another
        // category alternate. Compare the ratings of favourite-category items at steps 6...11.
        var repeated = world, alternated = world
        var sumRepeated = 0.0, sumAlternated = 0.0, count = 0.0
        var earlyRepeated = 0.0, lateRepeated = 0.0
        for user in 0..<500 {
            let favourite = world.favouriteCategories[user]
            let other = (favourite + 1) % 10
            var nextFavourite = 0, nextOther = 0
            for step in 0..<12 {
                let favItem = byCategory[favourite][nextFavourite % byCategory[favourite].count]
                let ra = repeated.respond(user: user, item: favItem).rating
                if step < 2 { earlyRepeated += Double(ra) }
                if step >= 10 { lateRepeated += Double(ra) }
                if step % 2 == 0 {
                    let rb = alternated.respond(user: user, item: favItem).rating
                    if step >= 6 { sumRepeated += Double(ra); sumAlternated += Double(rb); count += 1 }
                    nextFavourite += 1
                } else {
                    _ = alternated.respond(user: user, item: byCategory[other][nextOther % byCategory[other].count])
                    nextOther += 1
                    nextFavourite += 1
                }
            }
        }
        let meanRepeated = sumRepeated / count, meanAlternated = sumAlternated / count
        XCTAssertLessThan(meanRepeated, meanAlternated - 0.3, "repeated \(meanRepeated) vs alternated \(meanAlternated)")
        // Ratings under repetition fall over the steps.
        XCTAssertLessThan(lateRepeated / 1000, earlyRepeated / 1000 - 0.5)
        // Fatigue approaches δ / (1 − γ) = 1.75 under repetition.
        let fatigue = repeated.trueFatigue(user: 0)[world.favouriteCategories[0]]
        XCTAssertEqual(fatigue, 0.35 * (1 - pow(0.8, 12)) / 0.2, accuracy: 1e-4)
        // Fatigue decays across sessions by κ = 0.3.
        repeated.startSession(user: 0)
        XCTAssertEqual(repeated.trueFatigue(user: 0)[world.favouriteCategories[0]], 0.3 * fatigue, accuracy: 1e-5)
    }

    func testPoorRecommendationsCauseChurn() {
        let world = SyntheticWorld(configuration: .init(users: 300, items: 500), seed: 13)
        var good = world, poor = world
        var goodSteps = 0, poorSteps = 0
        for user in 0..<300 {
            let scores = (0..<500).map { world.expectedAffinity(user: user, item: $0) }
            let order = (0..<500).sorted { scores[$0] > scores[$1] }
            // Good: the best items of the user's top three categories, round robin. Poor: the worst items.
            var topCategories: [Int] = []
            for i in order where !topCategories.contains(world.categories[i]) {
                topCategories.append(world.categories[i])
                if topCategories.count == 3 { break }
            }
            let perCategory = topCategories.map { c in order.filter { world.categories[$0] == c } }
            good.startSession(user: user)
            for step in 0..<30 {
                let list = perCategory[step % 3]
                goodSteps += 1
                if good.respond(user: user, item: list[(step / 3) % list.count]).left { break }
            }
            poor.startSession(user: user)
            for step in 0..<30 {
                poorSteps += 1
                if poor.respond(user: user, item: order[499 - step]).left { break }
            }
        }
        let goodMean = Double(goodSteps) / 300, poorMean = Double(poorSteps) / 300
        XCTAssertLessThan(poorMean * 3, goodMean, "session length good \(goodMean) vs poor \(poorMean)")
        XCTAssertLessThan(poorMean, 6)

        // Without churn parameters nobody leaves, whatever they are shown.
        var loyal = SyntheticWorld(configuration: Self.noChurn(.init(users: 10, items: 100)), seed: 1)
        for user in 0..<10 { for item in 0..<100 { XCTAssertFalse(loyal.respond(user: user, item: item).left) } }
    }

    func testDiversifyingBeatsStaticGreedyInTheLongRun() {
        // The point of the world: greedy on the initial scores wins the first steps but
        // bores users, who leave; rotating over liked categories earns more positives.
        let world = SyntheticWorld(configuration: .init(users: 200, items: 600), seed: 17)
        var greedyWorld = world, diverseWorld = world
        var greedyPositives = 0, diversePositives = 0, greedyFirst = 0, diverseFirst = 0
        for user in 0..<200 {
            let scores = (0..<600).map { world.expectedAffinity(user: user, item: $0) }
            let order = (0..<600).sorted { scores[$0] > scores[$1] }
            var topCategories: [Int] = []
            for i in order where !topCategories.contains(world.categories[i]) {
                topCategories.append(world.categories[i])
                if topCategories.count == 4 { break }
            }
            let perCategory = topCategories.map { c in order.filter { world.categories[$0] == c } }
            greedyWorld.startSession(user: user)
            for step in 0..<100 {
                let f = greedyWorld.respond(user: user, item: order[step])
                if f.positive { greedyPositives += 1; if step == 0 { greedyFirst += 1 } }
                if f.left { break }
            }
            diverseWorld.startSession(user: user)
            for step in 0..<100 {
                let list = perCategory[step % 4]
                let f = diverseWorld.respond(user: user, item: list[(step / 4) % list.count])
                if f.positive { diversePositives += 1; if step == 0 { diverseFirst += 1 } }
                if f.left { break }
            }
        }
        XCTAssertGreaterThan(
            Double(diversePositives), 1.4 * Double(greedyPositives),
            "diverse \(diversePositives) vs greedy \(greedyPositives)")
        // Both start with the same (best) item, so the immediate reward is the same.
        XCTAssertEqual(Double(greedyFirst), Double(diverseFirst), accuracy: 15)
    }

    // MARK: Slates

    func testSlatePositionBias() {
        var world = SyntheticWorld(configuration: Self.noChurn(.init(users: 100, items: 400)), seed: 4)
        var examined = [Int](repeating: 0, count: 6)
        let trials = 4000
        for t in 0..<trials {
            let user = t % 100
            let slate = (0..<6).map { (t * 6 + $0) % 400 }
            let feedback = world.respond(user: user, slate: slate)
            XCTAssertEqual(feedback.map(\.item), slate)
            XCTAssertTrue(feedback[0].examined)
            for (j, f) in feedback.enumerated() {
                if f.examined {
                    examined[j] += 1
                    XCTAssertTrue((1...5).contains(f.rating))
                } else {
                    XCTAssertEqual(f.rating, 0)
                    XCTAssertFalse(f.positive)
                    if j + 1 < feedback.count { XCTAssertFalse(feedback[j + 1].examined, "cascade: no gaps") }
                }
            }
        }
        for j in 0..<6 {
            let expected = pow(0.8, Double(j))
            XCTAssertEqual(Double(examined[j]) / Double(trials), expected, accuracy: 0.03, "position \(j)")
        }
    }

    func testSlateStopsWhenUserLeaves() {
        var config = SyntheticWorld.Configuration(users: 20, items: 200)
        config.baseLeaveProbability = 1  // leave after the first examined item
        config.continueProbability = 1
        var world = SyntheticWorld(configuration: config, seed: 2)
        let feedback = world.respond(user: 3, slate: [1, 2, 3, 4])
        XCTAssertEqual(feedback.map(\.examined), [true, false, false, false])
        XCTAssertTrue(feedback[0].left)
        XCTAssertFalse(world.isInSession(user: 3))
        _ = world.respond(user: 3, item: 5)  // starts a new session implicitly
        world.startSession(user: 4)
        XCTAssertTrue(world.isInSession(user: 4))
    }
}
