import Foundation
import RecRLSimulation

/// Renders an ``ABTestReport`` computed from an event log, for `recrl abtest`.
public enum ABTestSummary {
    /// A readable multi-line summary: per-arm counts, means and standard deviations,
    /// the difference with its bootstrap interval, Welch's test and the verdict.
    public static func text(
        _ report: ABTestReport, metric: ABMetric, unit: ABUnit, alpha: Double = 0.05,
        eventLog: String
    ) -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
        var lines = [
            "A/B test of '\(metric.rawValue)' per \(unit.rawValue) (event log: \(eventLog))",
            pad("arm", 11) + pad("n", 9) + pad("mean", 11) + "std",
        ]
        for arm in report.arms {
            lines.append(pad(arm.name, 11) + pad(String(arm.n), 9) + pad(f(arm.mean), 11) + f(arm.std))
        }
        let confidence = String(format: "%g", (1 - alpha) * 100)
        lines.append("difference (treatment − control): \(f(report.difference)), \(confidence)% bootstrap CI [\(f(report.ciLow)), \(f(report.ciHigh))]")
        lines.append("Welch's t = \(f(report.t)), df = \(String(format: "%.1f", report.df)), p = \(String(format: "%.4g", report.pValue))")
        lines.append("significant at alpha = \(String(format: "%g", alpha)): \(report.significant ? "yes" : "no")")
        return lines.joined(separator: "\n")
    }

    /// One JSON object: `metric`, `unit`, `alpha` and the report's fields (`arms`,
    /// `difference`, `ci_low`, `ci_high`, `t`, `df`, `p_value`, `significant`), keys sorted.
    public static func json(_ report: ABTestReport, metric: ABMetric, unit: ABUnit, alpha: Double = 0.05) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Output(report: report, metric: metric, unit: unit, alpha: alpha))
        return String(decoding: data, as: UTF8.self)
    }

    private struct Output: Encodable {
        var report: ABTestReport
        var metric: ABMetric
        var unit: ABUnit
        var alpha: Double
        enum CodingKeys: String, CodingKey { case metric, unit, alpha }
        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(metric, forKey: .metric)
            try container.encode(unit, forKey: .unit)
            try container.encode(alpha, forKey: .alpha)
        }
    }
}
