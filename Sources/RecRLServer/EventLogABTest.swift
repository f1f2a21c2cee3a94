import Foundation
import RecRLSimulation

/// Which value of a feedback event an A/B analysis compares.
public enum ABMetric: String, Sendable, CaseIterable, Codable {
    /// The normalised reward of every event.
    case reward
    /// The explicit rating; events without a rating are skipped.
    case rating
    /// 1 when the reward is positive, else 0 (a "like rate").
    case positive

    func value(of event: FeedbackEvent) -> Double? {
        switch self {
        case .reward: return Double(event.reward)
        case .rating: return event.rating.map(Double.init)
        case .positive: return event.reward > 0 ? 1 : 0
        }
    }
}

/// The unit of an A/B analysis: one value per user (the mean over the user's events)
/// or one value per event.
public enum ABUnit: String, Sendable, CaseIterable, Codable {
    /// One observation per user: the mean of the metric over that user's events. Users
    /// are the randomised unit, so this is the statistically sound default.
    case user
    /// One observation per event (treats events of one user as independent).
    case event
}

extension EventLog {
    /// The per-unit metric values of one arm (users in first-seen order).
    public func metricValues(arm: ABTest.Arm, metric: ABMetric = .reward, unit: ABUnit = .user) throws -> [Double] {
        let events = try events(arm: arm.rawValue)
        switch unit {
        case .event:
            return events.compactMap(metric.value(of:))
        case .user:
            var order: [String] = []
            var sums: [String: (sum: Double, count: Int)] = [:]
            for event in events {
                guard let value = metric.value(of: event) else { continue }
                if sums[event.user] == nil { order.append(event.user) }
                let current = sums[event.user] ?? (0, 0)
                sums[event.user] = (current.sum + value, current.count + 1)
            }
            return order.map { user in
                let s = sums[user]!
                return s.sum / Double(s.count)
            }
        }
    }

    /// Compares the `treatment` arm with `control` on `metric` with
    /// ``ABTest/analyze(control:treatment:alpha:resamples:seed:)`` (Welch's t-test and a
    /// seeded bootstrap interval). Events logged in single-engine mode (arm `"single"`)
    /// are ignored.
    /// - Throws: ``ABTestError`` when an arm has fewer than 2 units or both arms have
    ///   zero variance.
    public func abTestReport(
        metric: ABMetric = .reward, unit: ABUnit = .user, alpha: Double = 0.05,
        resamples: Int = 2000, seed: UInt64 = 0
    ) throws -> ABTestReport {
        let control = try metricValues(arm: .control, metric: metric, unit: unit)
        let treatment = try metricValues(arm: .treatment, metric: metric, unit: unit)
        return try ABTest.analyze(
            control: control, treatment: treatment, alpha: alpha,
            resamples: resamples, seed: seed)
    }
}
