import Foundation
import RecRLSimulation
import RecRLTensor
import XCTest

final class ABTestingTests: XCTestCase {

    // MARK: Hashing and arm assignment

    func testFNV1a64KnownVectors() {
        // Reference vectors of the FNV specification (offset basis, "a", "foobar").
        XCTAssertEqual(ABTest.fnv1a64(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(ABTest.fnv1a64("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(ABTest.fnv1a64("foobar"), 0x8594_4171_f739_67e8)
        // UTF-8 bytes, not Unicode scalars or UTF-16: "u17" computed independently in Python.
        XCTAssertEqual(ABTest.fnv1a64("u17"), 0x4d24_d219_3e7e_f20c)
    }

    func testArmAssignmentMatchesIndependentImplementation() {
        // Computed with an independent Python implementation of the documented scheme:
        //   z = fnv1a64(salt + ":" + id); SplitMix64 finaliser; u = (z >> 11) / 2^53;
        //   treatment iff u < split. ids u0...u15, salt "ranker-v2", split 0.5.
        let expected = "ttcccccttcccctcc"
        let actual = String((0..<16).map { ABTest.arm(for: "u\($0)", salt: "ranker-v2") == .treatment ? "t" : "c" })
        XCTAssertEqual(actual, expected)
        // Python: 5026 of u0...u9999 are in treatment.
        let treated = (0..<10_000).filter { ABTest.arm(for: "u\($0)", salt: "ranker-v2") == .treatment }.count
        XCTAssertEqual(treated, 5026)
    }

    func testSplitFractions() {
        let ids = (0..<10_000).map { "user-\($0)" }
        for split in [0.5, 0.2, 0.9] {
            let fraction = Double(ids.filter { ABTest.arm(for: $0, split: split, salt: "exp-a") == .treatment }.count) / 10_000
            // Binomial sd ≤ 0.005; allow 4 sd.
            XCTAssertEqual(fraction, split, accuracy: 0.02, "split \(split)")
        }
        XCTAssertTrue(ids.allSatisfy { ABTest.arm(for: $0, split: 0, salt: "s") == .control })
        XCTAssertTrue(ids.allSatisfy { ABTest.arm(for: $0, split: 1, salt: "s") == .treatment })
        // Repeated calls agree; different salts give (nearly) independent assignments.
        XCTAssertTrue(ids.prefix(100).allSatisfy { ABTest.arm(for: $0, salt: "x") == ABTest.arm(for: $0, salt: "x") })
        let agreement = Double(ids.filter { ABTest.arm(for: $0, salt: "exp-a") == ABTest.arm(for: $0, salt: "exp-b") }.count) / 10_000
        XCTAssertEqual(agreement, 0.5, accuracy: 0.03)
    }

    // MARK: Special functions

    func testRegularizedIncompleteBetaAgainstScipy() {
        // python3 -c "from scipy import special; print(special.betainc(a, b, x))"
        let cases: [(x: Double, a: Double, b: Double, expected: Double)] = [
            (0.3, 2.5, 1.5, 0.08894372317066562),
            (0.9, 0.5, 0.5, 0.7951672353008665),
            (0.8, 10, 3, 0.5583457484800002),
            (0.42, 1, 1, 0.42),
            (0.55, 50, 40, 0.45479521086387),
            (0.02, 0.3, 7, 0.5920975055927976),
        ]
        for c in cases {
            let value = ABTest.regularizedIncompleteBeta(x: c.x, a: c.a, b: c.b)
            XCTAssertEqual(value, c.expected, accuracy: 1e-12 * max(1, c.expected), "I_\(c.x)(\(c.a), \(c.b))")
        }
        XCTAssertEqual(ABTest.regularizedIncompleteBeta(x: 0, a: 2, b: 3), 0)
        XCTAssertEqual(ABTest.regularizedIncompleteBeta(x: 1, a: 2, b: 3), 1)
        // Symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
        XCTAssertEqual(
            ABTest.regularizedIncompleteBeta(x: 0.37, a: 3.2, b: 1.7),
            1 - ABTest.regularizedIncompleteBeta(x: 0.63, a: 1.7, b: 3.2), accuracy: 1e-13)
    }

    func testStudentTAgainstScipy() {
        // python3 -c "from scipy import stats; print(stats.t.sf(2.0, 10)*2)"  -> 0.07338803477074037
        XCTAssertEqual(ABTest.studentTTwoSidedPValue(2.0, degreesOfFreedom: 10), 0.07338803477074037, accuracy: 1e-13)
        XCTAssertEqual(ABTest.studentTTwoSidedPValue(-2.0, degreesOfFreedom: 10), 0.07338803477074037, accuracy: 1e-13)
        // stats.t.sf(3.5, 2.5)*2, stats.t.sf(0.1, 150)*2
        XCTAssertEqual(ABTest.studentTTwoSidedPValue(3.5, degreesOfFreedom: 2.5), 0.052345546960320344, accuracy: 1e-13)
        XCTAssertEqual(ABTest.studentTTwoSidedPValue(0.1, degreesOfFreedom: 150), 0.9204778530899708, accuracy: 1e-13)
        // stats.t.cdf(1.5, 3.7), stats.t.cdf(-0.8, 25.3), stats.t.cdf(-2.2, 7)
        XCTAssertEqual(ABTest.studentTCDF(1.5, degreesOfFreedom: 3.7), 0.8932009153989933, accuracy: 1e-13)
        XCTAssertEqual(ABTest.studentTCDF(-0.8, degreesOfFreedom: 25.3), 0.21557939346411434, accuracy: 1e-13)
        XCTAssertEqual(ABTest.studentTCDF(-2.2, degreesOfFreedom: 7), 0.03186550765131839, accuracy: 1e-13)
        XCTAssertEqual(ABTest.studentTTwoSidedPValue(0, degreesOfFreedom: 4), 1)
        XCTAssertEqual(ABTest.studentTTwoSidedPValue(.infinity, degreesOfFreedom: 4), 0)
    }

    // MARK: Welch's t-test

    func testWelchAgainstScipy() throws {
        let control = [3.1, 2.9, 3.5, 4.0, 3.3, 2.7, 3.8, 3.6]
        let treatment = [3.9, 4.2, 3.7, 4.8, 4.4, 3.5, 4.1, 4.6, 4.0, 4.3]
        // python3 -c "from scipy import stats; r = stats.ttest_ind(treatment, control, equal_var=False);
        //             print(r.statistic, r.pvalue, r.df)"
        // -> 3.898179927308389 0.0015609760746488827 14.237650862379313
        let c = ABTest.Summary(of: control), t = ABTest.Summary(of: treatment)
        XCTAssertEqual(c.count, 8)
        XCTAssertEqual(c.mean, 3.3625, accuracy: 1e-12)
        XCTAssertEqual(c.variance, 0.19982142857142854, accuracy: 1e-12)  // np.var(ddof=1)
        XCTAssertEqual(t.mean, 4.15, accuracy: 1e-12)
        XCTAssertEqual(t.variance, 0.15833333333333327, accuracy: 1e-12)
        let result = try ABTest.welchTTest(control: c, treatment: t)
        XCTAssertEqual(result.t, 3.898179927308389, accuracy: 1e-10)
        XCTAssertEqual(result.degreesOfFreedom, 14.237650862379313, accuracy: 1e-9)
        XCTAssertEqual(result.pValue, 0.0015609760746488827, accuracy: 1e-12)

        let report = try ABTest.analyze(control: control, treatment: treatment, seed: 1)
        XCTAssertTrue(report.significant)
        XCTAssertEqual(report.difference, 4.15 - 3.3625, accuracy: 1e-12)
        XCTAssertEqual(report.arms.map(\.name), ["control", "treatment"])
        XCTAssertEqual(report.arms[0].std, 0.19982142857142854.squareRoot(), accuracy: 1e-12)
        XCTAssertLessThan(report.ciLow, report.difference)
        XCTAssertGreaterThan(report.ciHigh, report.difference)
        XCTAssertGreaterThan(report.ciLow, 0)  // significant difference: interval excludes 0
    }

    func testWelchUnequalSizesAgainstScipy() throws {
        // numpy.random.default_rng(3): a = round(normal(10, 2, 12), 2), b = round(normal(11, 5, 30), 2);
        // stats.ttest_ind(b, a, equal_var=False) -> 1.0314847186822191 0.31032688333196623 30.872911440059212
        let a = [14.08, 4.89, 10.84, 8.86, 9.09, 9.57, 5.96, 9.54, 8.27, 16.65, 10.45, 9.29]
        let b = [
            9.59, 7.66, 5.72, 9.05, 13.41, 9.81, 15.79, 10.0, 11.12, 18.73, 13.73, 8.47, 10.09, 13.7, 20.68,
            9.65, 9.78, 16.01, 6.57, 9.54, 15.41, 13.9, 11.46, 14.35, -3.14, 16.11, 6.2, 2.66, 12.38, 14.5,
        ]
        let report = try ABTest.analyze(control: a, treatment: b, seed: 3)
        XCTAssertEqual(report.t, 1.0314847186822191, accuracy: 1e-10)
        XCTAssertEqual(report.df, 30.872911440059212, accuracy: 1e-9)
        XCTAssertEqual(report.pValue, 0.31032688333196623, accuracy: 1e-12)
        XCTAssertFalse(report.significant)
        XCTAssertLessThan(report.ciLow, 0)
        XCTAssertGreaterThan(report.ciHigh, 0)
    }

    func testWelchErrors() {
        XCTAssertThrowsError(try ABTest.analyze(control: [1], treatment: [1, 2, 3])) { error in
            XCTAssertEqual(error as? ABTestError, .tooFewObservations(arm: .control, count: 1))
        }
        XCTAssertThrowsError(try ABTest.analyze(control: [1, 2], treatment: [])) { error in
            XCTAssertEqual(error as? ABTestError, .tooFewObservations(arm: .treatment, count: 0))
        }
        XCTAssertThrowsError(try ABTest.analyze(control: [2, 2, 2], treatment: [3, 3])) { error in
            XCTAssertEqual(error as? ABTestError, .zeroVariance)
        }
    }

    // MARK: Bootstrap

    func testBootstrapIntervalCoversTrueDifferenceAndIsReproducible() throws {
        // 60 synthetic experiments, control ~ N(1, 1), treatment ~ N(1.3, 1.5²), 80 units each;
        // the 95% percentile interval should cover 0.3 in about 95% of them.
        var data = Xoshiro256StarStar(seed: 2024)
        var covered = 0
        let experiments = 60
        for e in 0..<experiments {
            let control = (0..<80).map { _ in 1 + Double(data.nextNormalFloat()) }
            let treatment = (0..<80).map { _ in 1.3 + 1.5 * Double(data.nextNormalFloat()) }
            var rng = Xoshiro256StarStar(seed: UInt64(e))
            let ci = ABTest.bootstrapDifferenceInterval(
                control: control, treatment: treatment,
                resamples: 400, using: &rng)
            XCTAssertLessThan(ci.low, ci.high)
            if ci.low <= 0.3 && 0.3 <= ci.high { covered += 1 }
        }
        // Binomial(60, 0.95): P(covered < 51) ≈ 0.2%.
        XCTAssertGreaterThanOrEqual(covered, 51, "coverage \(covered)/\(experiments)")
        XCTAssertLessThan(covered, experiments + 1)

        // Large sample: the interval is narrow around the true difference.
        let control = (0..<2000).map { _ in Double(data.nextNormalFloat()) }
        let treatment = (0..<2000).map { _ in 0.5 + Double(data.nextNormalFloat()) }
        let report = try ABTest.analyze(control: control, treatment: treatment, resamples: 500, seed: 9)
        XCTAssertLessThan(report.ciLow, 0.5)
        XCTAssertGreaterThan(report.ciHigh, 0.5)
        XCTAssertLessThan(report.ciHigh - report.ciLow, 0.2)
        // Bootstrap interval ≈ normal-theory interval difference ± 1.96·se.
        let se = (report.arms[0].std * report.arms[0].std / 2000 + report.arms[1].std * report.arms[1].std / 2000).squareRoot()
        XCTAssertEqual(report.ciHigh - report.ciLow, 2 * 1.96 * se, accuracy: 0.25 * 2 * 1.96 * se)

        // Same seed → identical report; another seed → another interval.
        let again = try ABTest.analyze(control: control, treatment: treatment, resamples: 500, seed: 9)
        XCTAssertEqual(again, report)
        let other = try ABTest.analyze(control: control, treatment: treatment, resamples: 500, seed: 10)
        XCTAssertNotEqual(other.ciLow, report.ciLow)
        XCTAssertEqual(other.t, report.t)
    }

    func testReportJSONKeysAndRoundTrip() throws {
        let report = try ABTest.analyze(control: [1, 2, 3, 4], treatment: [2, 3, 4, 6], resamples: 200, seed: 5)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        for key in [
            "\"arms\"", "\"ci_high\"", "\"ci_low\"", "\"df\"", "\"difference\"", "\"p_value\"", "\"significant\"",
            "\"t\"", "\"name\"", "\"n\"", "\"mean\"", "\"std\"",
        ] {
            XCTAssertTrue(json.contains(key), "missing \(key) in \(json)")
        }
        XCTAssertEqual(try JSONDecoder().decode(ABTestReport.self, from: Data(json.utf8)), report)
    }
}
