import Foundation
import RecRLTensor

/// A/B test statistics: stable arm assignment, per-arm summaries, Welch's t-test and
/// a bootstrap confidence interval for the difference of means.
///
/// Everything here is deterministic: arm assignment hashes the user id with FNV-1a 64
/// (not Swift's `Hasher`, which is seeded randomly per process), and the bootstrap
/// draws from a generator seeded by the caller.
///
/// ```swift
/// let arm = ABTest.arm(for: "u17", salt: "ranker-v2")            // same in every process
/// let report = try ABTest.analyze(control: ratingsA, treatment: ratingsB, seed: 7)
/// print(report.pValue, report.significant)
/// ```
public enum ABTest {

    // MARK: Arm assignment

    /// One side of an A/B test.
    public enum Arm: String, Codable, Sendable, Hashable, CaseIterable {
        /// The existing behaviour.
        case control
        /// The behaviour under test.
        case treatment
    }

    /// The 64-bit FNV-1a hash of `string`'s UTF-8 bytes.
    ///
    /// `h = 0xcbf29ce484222325`; for each byte `b`: `h = (h ^ b) &* 0x100000001b3`.
    /// `fnv1a64("") == 0xcbf29ce484222325`, `fnv1a64("a") == 0xaf63dc4c8601ec8c`.
    public static func fnv1a64(_ string: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in string.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The arm of `userID`, stable across processes, machines and runs.
    ///
    /// The key `salt + ":" + userID` is hashed with ``fnv1a64(_:)``; the hash goes
    /// through the SplitMix64 finaliser (so that every bit depends on every input byte)
    /// and its top 53 bits give `u` uniform in [0, 1). The user is in the treatment arm
    /// when `u < split`, otherwise in control. Different salts give independent
    /// assignments, so one user can be in treatment for one experiment and control for
    /// another.
    /// - Parameters:
    ///   - userID: the user's identifier, e.g. `"u17"`.
    ///   - split: the fraction of users in the treatment arm, in [0, 1] (default 0.5).
    ///   - salt: the experiment's name; use a new salt for each experiment.
    public static func arm(for userID: String, split: Double = 0.5, salt: String) -> Arm {
        precondition((0...1).contains(split), "ABTest.arm: split must be in [0, 1], got \(split)")
        var z = fnv1a64(salt + ":" + userID)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = Double(z >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return u < split ? .treatment : .control
    }

    // MARK: Summaries

    /// Count, mean and sample variance of one arm's metric values.
    public struct Summary: Codable, Sendable, Hashable {
        /// Number of observations.
        public var count: Int
        /// Arithmetic mean (0 when `count == 0`).
        public var mean: Double
        /// Unbiased sample variance, `Σ(x − mean)² / (count − 1)` (0 when `count < 2`).
        public var variance: Double

        /// The sample standard deviation, `√variance`.
        public var standardDeviation: Double { variance.squareRoot() }

        /// A summary with the given statistics.
        public init(count: Int, mean: Double, variance: Double) {
            self.count = count
            self.mean = mean
            self.variance = variance
        }

        /// The summary of `values` (two-pass: mean, then squared deviations).
        public init<C: Collection>(of values: C) where C.Element == Double {
            count = values.count
            guard count > 0 else { mean = 0; variance = 0; return }
            var sum = 0.0
            for v in values { sum += v }
            mean = sum / Double(count)
            guard count > 1 else { variance = 0; return }
            var ss = 0.0
            for v in values { let d = v - mean; ss += d * d }
            variance = ss / Double(count - 1)
        }
    }

    // MARK: Welch's t-test

    /// The result of Welch's unequal-variances two-sample t-test.
    public struct WelchResult: Codable, Sendable, Hashable {
        /// `t = (mean_T − mean_C) / √(s²_T/n_T + s²_C/n_C)`.
        public var t: Double
        /// Welch–Satterthwaite degrees of freedom,
        /// `(v_T + v_C)² / (v_T²/(n_T − 1) + v_C²/(n_C − 1))` with `v = s²/n`.
        public var degreesOfFreedom: Double
        /// Two-sided p-value `P(|T_df| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2)`.
        public var pValue: Double
    }

    /// Welch's two-sample t-test of treatment against control (positive `t` means the
    /// treatment mean is higher).
    /// - Throws: ``ABTestError/tooFewObservations(arm:count:)`` when an arm has fewer
    ///   than 2 observations; ``ABTestError/zeroVariance`` when both variances are 0
    ///   (the statistic is undefined).
    public static func welchTTest(control: Summary, treatment: Summary) throws -> WelchResult {
        if control.count < 2 { throw ABTestError.tooFewObservations(arm: .control, count: control.count) }
        if treatment.count < 2 { throw ABTestError.tooFewObservations(arm: .treatment, count: treatment.count) }
        let vc = control.variance / Double(control.count)
        let vt = treatment.variance / Double(treatment.count)
        let se2 = vc + vt
        guard se2 > 0 else { throw ABTestError.zeroVariance }
        let t = (treatment.mean - control.mean) / se2.squareRoot()
        let df = se2 * se2 / (vt * vt / Double(treatment.count - 1) + vc * vc / Double(control.count - 1))
        return WelchResult(t: t, degreesOfFreedom: df, pValue: studentTTwoSidedPValue(t, degreesOfFreedom: df))
    }

    /// The two-sided tail probability `P(|T| ≥ |t|)` of Student's t distribution with
    /// `degreesOfFreedom` (> 0, not necessarily an integer) degrees of freedom.
    public static func studentTTwoSidedPValue(_ t: Double, degreesOfFreedom df: Double) -> Double {
        precondition(df > 0, "studentTTwoSidedPValue: degrees of freedom must be positive, got \(df)")
        if t.isNaN { return .nan }
        if t.isInfinite { return 0 }
        return regularizedIncompleteBeta(x: df / (df + t * t), a: df / 2, b: 0.5)
    }

    /// The cumulative distribution function `P(T ≤ t)` of Student's t distribution.
    public static func studentTCDF(_ t: Double, degreesOfFreedom df: Double) -> Double {
        let tail = studentTTwoSidedPValue(t, degreesOfFreedom: df) / 2
        return t >= 0 ? 1 - tail : tail
    }

    /// The regularized incomplete beta function
    /// `I_x(a, b) = B(x; a, b) / B(a, b)` for `x` in [0, 1], `a, b > 0`.
    ///
    /// Evaluated as in Numerical Recipes (`betai`/`betacf`): the prefactor
    /// `x^a (1−x)^b / (a B(a, b))` (through `lgamma`) times the continued fraction,
    /// evaluated by the modified Lentz method, on the side where it converges fast
    /// (`x < (a+1)/(a+b+2)`), and `1 − I_{1−x}(b, a)` otherwise. Relative accuracy
    /// about 1e-14 for moderate `a`, `b`.
    public static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        precondition(a > 0 && b > 0, "regularizedIncompleteBeta: a and b must be positive, got \(a), \(b)")
        precondition((0...1).contains(x), "regularizedIncompleteBeta: x must be in [0, 1], got \(x)")
        if x == 0 { return 0 }
        if x == 1 { return 1 }
        let lnFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        let front = exp(lnFront)
        if x < (a + 1) / (a + b + 2) {
            return front * betaContinuedFraction(x: x, a: a, b: b) / a
        } else {
            return 1 - front * betaContinuedFraction(x: 1 - x, a: b, b: a) / b
        }
    }

    /// The continued fraction of the incomplete beta function (NR `betacf`, modified Lentz).
    static func betaContinuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-15
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m), m2 = 2 * m
            // Even step.
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            // Odd step.
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return h
    }

    // MARK: Bootstrap

    /// A percentile bootstrap confidence interval for `mean(treatment) − mean(control)`.
    ///
    /// Each of `resamples` replicates draws `n_C` values from `control` and `n_T` from
    /// `treatment` with replacement and records the difference of their means; the
    /// interval is the `(1−confidence)/2` and `(1+confidence)/2` empirical quantiles
    /// (linear interpolation between order statistics, like numpy's default).
    /// - Parameters:
    ///   - control: control observations (not empty).
    ///   - treatment: treatment observations (not empty).
    ///   - confidence: coverage, in (0, 1) (default 0.95).
    ///   - resamples: bootstrap replicates (default 2000).
    ///   - rng: the generator; the same generator state gives the same interval.
    /// - Returns: `(low, high)`.
    public static func bootstrapDifferenceInterval<G: RandomNumberGenerator>(
        control: [Double], treatment: [Double], confidence: Double = 0.95,
        resamples: Int = 2000, using rng: inout G
    ) -> (low: Double, high: Double) {
        precondition(!control.isEmpty && !treatment.isEmpty, "bootstrapDifferenceInterval: both arms need observations")
        precondition(confidence > 0 && confidence < 1, "bootstrapDifferenceInterval: confidence must be in (0, 1), got \(confidence)")
        precondition(resamples > 0, "bootstrapDifferenceInterval: resamples must be positive, got \(resamples)")
        var differences = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            differences[r] = resampledMean(treatment, using: &rng) - resampledMean(control, using: &rng)
        }
        differences.sort()
        let alpha = 1 - confidence
        return (
            SampleStatistics.quantile(sorted: differences, alpha / 2),
            SampleStatistics.quantile(sorted: differences, 1 - alpha / 2)
        )
    }

    static func resampledMean<G: RandomNumberGenerator>(_ values: [Double], using rng: inout G) -> Double {
        var sum = 0.0
        for _ in 0..<values.count { sum += values[rng.nextInt(below: values.count)] }
        return sum / Double(values.count)
    }

    // MARK: Report

    /// Summaries, Welch's t-test and a bootstrap interval for one metric of an A/B test.
    /// - Parameters:
    ///   - control: the metric per control unit (e.g. per user), at least 2 values.
    ///   - treatment: the metric per treatment unit, at least 2 values.
    ///   - alpha: significance level; `significant` is `pValue < alpha` (default 0.05).
    ///   - resamples: bootstrap replicates (default 2000).
    ///   - seed: seeds the bootstrap's `Xoshiro256StarStar` (default 0), so a report is
    ///     reproducible; the interval's confidence is `1 − alpha`.
    /// - Throws: ``ABTestError`` as ``welchTTest(control:treatment:)`` does.
    public static func analyze(
        control: [Double], treatment: [Double], alpha: Double = 0.05,
        resamples: Int = 2000, seed: UInt64 = 0
    ) throws -> ABTestReport {
        precondition(alpha > 0 && alpha < 1, "ABTest.analyze: alpha must be in (0, 1), got \(alpha)")
        let c = Summary(of: control), t = Summary(of: treatment)
        let welch = try welchTTest(control: c, treatment: t)
        var rng = Xoshiro256StarStar(seed: seed)
        let ci = bootstrapDifferenceInterval(
            control: control, treatment: treatment,
            confidence: 1 - alpha, resamples: resamples, using: &rng)
        return ABTestReport(
            arms: [
                ABTestReport.ArmStatistics(name: Arm.control.rawValue, n: c.count, mean: c.mean, std: c.standardDeviation),
                ABTestReport.ArmStatistics(name: Arm.treatment.rawValue, n: t.count, mean: t.mean, std: t.standardDeviation),
            ],
            difference: t.mean - c.mean, ciLow: ci.low, ciHigh: ci.high,
            t: welch.t, df: welch.degreesOfFreedom, pValue: welch.pValue,
            significant: welch.pValue < alpha)
    }
}

/// Why an A/B test could not be analysed.
public enum ABTestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An arm has fewer than 2 observations, so its variance is undefined.
    case tooFewObservations(arm: ABTest.Arm, count: Int)
    /// Both arms have zero variance, so the t statistic is undefined.
    case zeroVariance

    /// A readable explanation.
    public var description: String {
        switch self {
        case let .tooFewObservations(arm, count):
            return "A/B test: the \(arm.rawValue) arm has \(count) observation(s); at least 2 are needed"
        case .zeroVariance:
            return "A/B test: both arms have zero variance; the t statistic is undefined"
        }
    }
}

/// The outcome of an A/B test on one metric; JSON keys are snake_case
/// (`arms`, `difference`, `ci_low`, `ci_high`, `t`, `df`, `p_value`, `significant`).
public struct ABTestReport: Codable, Sendable, Hashable {
    /// One arm's statistics.
    public struct ArmStatistics: Codable, Sendable, Hashable {
        /// `"control"` or `"treatment"`.
        public var name: String
        /// Number of observations.
        public var n: Int
        /// Mean of the metric.
        public var mean: Double
        /// Sample standard deviation (n − 1 denominator).
        public var std: Double

        /// An arm's statistics.
        public init(name: String, n: Int, mean: Double, std: Double) {
            self.name = name; self.n = n; self.mean = mean; self.std = std
        }
    }

    /// Control first, then treatment.
    public var arms: [ArmStatistics]
    /// `mean(treatment) − mean(control)`.
    public var difference: Double
    /// Lower end of the percentile bootstrap interval for `difference` (confidence 1 − alpha).
    public var ciLow: Double
    /// Upper end of the bootstrap interval.
    public var ciHigh: Double
    /// Welch's t statistic.
    public var t: Double
    /// Welch–Satterthwaite degrees of freedom.
    public var df: Double
    /// Two-sided p-value of Welch's test.
    public var pValue: Double
    /// Whether `pValue < alpha`.
    public var significant: Bool

    /// A report with the given fields.
    public init(
        arms: [ArmStatistics], difference: Double, ciLow: Double, ciHigh: Double,
        t: Double, df: Double, pValue: Double, significant: Bool
    ) {
        self.arms = arms; self.difference = difference; self.ciLow = ciLow; self.ciHigh = ciHigh
        self.t = t; self.df = df; self.pValue = pValue; self.significant = significant
    }

    enum CodingKeys: String, CodingKey {
        case arms, difference, t, df, significant
        case ciLow = "ci_low", ciHigh = "ci_high", pValue = "p_value"
    }
}
