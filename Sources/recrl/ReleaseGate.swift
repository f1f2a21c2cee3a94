import Foundation
import RecRL

/// A release gate of `recrl evaluate --gate`: `METRIC OP [FACTOR *] REFERENCE`, where the
/// reference is a policy evaluated in the same run (`ndcg@10 >= 1.0 * itemknn`) or a constant
/// (`ndcg@10 > 0.05`), and OP is one of `>=`, `>`, `<=`, `<`.
struct ReleaseGate: Equatable {
    /// What the candidate's metric is compared with.
    enum Reference: Equatable {
        case policy(String)
        case constant(Double)
    }

    /// The comparison operator.
    enum Comparison: String, CaseIterable {
        case greaterOrEqual = ">=", greater = ">", lessOrEqual = "<=", less = "<"

        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .greaterOrEqual: return a >= b
            case .greater: return a > b
            case .lessOrEqual: return a <= b
            case .less: return a < b
            }
        }
    }

    /// A gate expression that does not parse, or names a metric or policy the run lacks.
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The result of checking a gate.
    struct Outcome {
        var passed: Bool
        /// One line, e.g. `gate passed: drr-ave ndcg@10 0.1234 >= 1.0 * itemknn 0.1100 (= 0.1100)`.
        var summary: String
    }

    /// The exit status of `recrl evaluate` when the gate does not pass.
    static let failedExitCode: Int32 = 3

    var metric: String
    var comparison: Comparison
    var factor: Double
    var reference: Reference

    /// Parses `METRIC OP [FACTOR *] REFERENCE` (spaces optional around OP and `*`).
    init(parsing text: String) throws {
        let expression = text.trimmingCharacters(in: .whitespaces)
        // Two-character operators first, so `>=` is not read as `>`.
        guard let op = [Comparison.greaterOrEqual, .lessOrEqual, .greater, .less].first(where: { expression.contains($0.rawValue) }),
            let range = expression.range(of: op.rawValue)
        else {
            throw Failure(description: "gate '\(text)' has no comparison (expected METRIC >= [FACTOR *] BASELINE, e.g. 'ndcg@10 >= 1.0 * itemknn')")
        }
        let metric = expression[..<range.lowerBound].trimmingCharacters(in: .whitespaces).lowercased()
        let right = expression[range.upperBound...].trimmingCharacters(in: .whitespaces)
        guard !metric.isEmpty, !metric.contains(" ") else { throw Failure(description: "gate '\(text)' must start with one metric name, e.g. ndcg@10") }
        var factor = 1.0
        var referenceText = right
        if let star = right.firstIndex(of: "*") {
            let factorText = right[..<star].trimmingCharacters(in: .whitespaces)
            guard let value = Double(factorText), value.isFinite else { throw Failure(description: "gate '\(text)': '\(factorText)' is not a number") }
            factor = value
            referenceText = right[right.index(after: star)...].trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard !referenceText.isEmpty, !referenceText.contains(" ") else {
            throw Failure(description: "gate '\(text)' must end with one baseline policy or a number")
        }
        self.metric = metric
        comparison = op
        self.factor = factor
        if let value = Double(referenceText), value.isFinite { reference = .constant(value) } else { reference = .policy(referenceText.lowercased()) }
    }

    /// Checks the gate on `results` (one run's ``PolicyResult``s) for the policy `candidate`.
    func check(candidate: String, results: [PolicyResult]) throws -> Outcome {
        func value(_ policy: String) throws -> Double {
            guard let result = results.first(where: { $0.policy == policy }) else {
                throw Failure(description: "the gate needs policy \(policy), which was not evaluated")
            }
            guard let v = result.metrics[metric] else {
                throw Failure(description: "the gate's metric \(metric) is not among \(policy)'s (\(result.metrics.keys.sorted().joined(separator: ", ")))")
            }
            return v
        }
        let candidateValue = try value(candidate)
        let threshold: Double
        let referenceText: String
        switch reference {
        case let .constant(c):
            threshold = factor * c
            referenceText = factor == 1 ? "\(c)" : "\(factor) * \(c)"
        case let .policy(name):
            let v = try value(name)
            threshold = factor * v
            referenceText = "\(factor) * \(name) \(String(format: "%.4f", v))"
        }
        let passed = comparison.holds(candidateValue, threshold)
        return Outcome(
            passed: passed,
            summary:
                "gate \(passed ? "passed" : "FAILED"): \(candidate) \(metric) \(String(format: "%.4f", candidateValue)) \(comparison.rawValue) \(referenceText) (= \(String(format: "%.4f", threshold)))"
        )
    }
}
