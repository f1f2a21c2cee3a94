import Foundation
import RecRL

/// One run of ``OnlineComparison`` (one seed): `recrl online-compare --json`.
public struct OnlineCompareOutput: Codable, Sendable {
    /// An arm minus DRR-ave in cumulative reward per user: difference, 95% bootstrap
    /// interval, Welch p-value and whether it is significant at 5%.
    public struct Versus: Codable, Sendable {
        public var difference: Double
        public var ciLow: Double
        public var ciHigh: Double
        public var pValue: Double
        public var significant: Bool
        enum CodingKeys: String, CodingKey {
            case difference, significant, ciLow = "ci_low", ciHigh = "ci_high", pValue = "p_value"
        }
    }
    /// One arm's figures over the run.
    public struct Arm: Codable, Sendable {
        public var arm: String
        public var users: Int
        public var recommendations: Int
        public var meanReward: Double
        public var lastQuarterMeanReward: Double
        public var cumulativeRewardPerUser: Double
        public var cumulativeRewardStd: Double
        public var sessionRetention: Double
        public var minusDRR: Versus?
        public var rewardPerRound: [Double]
        /// DDPG updates the arm applied online (`drr-ave`, `lird`, `deeppage`); nil for the
        /// arms without online DDPG.
        public var onlineUpdates: Int? = nil
        enum CodingKeys: String, CodingKey {
            case arm, users, recommendations, onlineUpdates = "online_updates"
            case meanReward = "mean_reward", lastQuarterMeanReward = "last_quarter_mean_reward"
            case cumulativeRewardPerUser = "cumulative_reward_per_user", cumulativeRewardStd = "cumulative_reward_std"
            case sessionRetention = "session_retention", minusDRR = "minus_drr", rewardPerRound = "reward_per_round"
        }
    }
    public var seed: UInt64
    public var rounds: Int
    public var users: Int
    public var items: Int
    public var sessionLength: Int
    public var seconds: Double
    public var arms: [Arm]
    enum CodingKeys: String, CodingKey {
        case seed, rounds, users, items, seconds, arms, sessionLength = "session_length"
    }
    /// The report as a table, one line per arm under a header line.
    public func tableLines() -> [String] {
        var lines = ["arm         users  mean reward  last-quarter  cum. reward/user  retention  arm − DRR (95% CI, p)"]
        for r in arms {
            let v = r.minusDRR.map { String(format: "%+.3f [%+.3f, %+.3f] p=%.3g", $0.difference, $0.ciLow, $0.ciHigh, $0.pValue) } ?? "—"
            lines.append(
                r.arm.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(
                        format: "  %5d  %+11.4f  %+12.4f  %16.3f  %9.3f  ", r.users, r.meanReward, r.lastQuarterMeanReward,
                        r.cumulativeRewardPerUser, r.sessionRetention) + v)
        }
        return lines
    }
}

/// ``OnlineComparison`` over several seeds: `recrl online-compare --seeds N --json` (N > 1).
public struct OnlineCompareSeedsOutput: Encodable, Sendable {
    /// A mean over seeds with its 95% t-interval (`mean ± t·sd/√n`; the mean alone for one seed).
    public struct MeanInterval: Encodable, Sendable {
        public var mean: Double
        public var low: Double
        public var high: Double

        /// The mean of `values` (at least one) and its 95% t-interval.
        public init(_ values: [Double]) {
            let summary = ABTest.Summary(of: values)
            mean = summary.mean
            let half =
                values.count > 1
                ? Self.tQuantile975(degreesOfFreedom: Double(values.count - 1)) * summary.standardDeviation / Double(values.count).squareRoot()
                : 0
            low = mean - half
            high = mean + half
        }

        /// The 0.975 quantile of Student's t, by bisection on ``ABTest/studentTCDF(_:degreesOfFreedom:)``.
        public static func tQuantile975(degreesOfFreedom df: Double) -> Double {
            var low = 0.0, high = 1000.0
            for _ in 0..<100 {
                let mid = (low + high) / 2
                if ABTest.studentTCDF(mid, degreesOfFreedom: df) < 0.975 { low = mid } else { high = mid }
            }
            return (low + high) / 2
        }
    }
    /// One arm's figures, each a mean over seeds with its interval.
    public struct Arm: Encodable, Sendable {
        public var arm: String
        public var cumulativeRewardPerUser: MeanInterval
        public var meanReward: MeanInterval
        public var sessionRetention: MeanInterval
        /// This arm's cumulative reward per user minus DRR's, paired by seed.
        public var minusDRR: MeanInterval?
        public var seedsBeatingDRR: Int?
        enum CodingKeys: String, CodingKey {
            case arm
            case cumulativeRewardPerUser = "cumulative_reward_per_user", meanReward = "mean_reward"
            case sessionRetention = "session_retention", minusDRR = "minus_drr", seedsBeatingDRR = "seeds_beating_drr"
        }
    }
    public var seeds: [UInt64]
    public var rounds: Int
    public var users: Int
    public var items: Int
    public var arms: [Arm]
    public var runs: [OnlineCompareOutput]

    /// The summary as a table (mean over seeds, 95% t-interval), one line per arm under two header lines.
    public func tableLines() -> [String] {
        func interval(_ m: MeanInterval, _ format: String) -> String {
            String(format: "\(format) [\(format), \(format)]", m.mean, m.low, m.high)
        }
        var lines = [
            "mean over \(seeds.count) seeds, 95% t-interval over seeds",
            "arm         cum. reward/user            retention                arm − DRR (paired by seed)     seeds > DRR",
        ]
        for r in arms {
            lines.append(
                r.arm.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                    + interval(r.cumulativeRewardPerUser, "%.3f").padding(toLength: 26, withPad: " ", startingAt: 0) + "  "
                    + interval(r.sessionRetention, "%.3f").padding(toLength: 23, withPad: " ", startingAt: 0) + "  "
                    + (r.minusDRR.map { interval($0, "%+.3f") } ?? "—").padding(toLength: 29, withPad: " ", startingAt: 0) + "  "
                    + (r.seedsBeatingDRR.map { "\($0)/\(seeds.count)" } ?? "—"))
        }
        return lines
    }
}
