import RecRLTensor
import RecRLAgents

/// One way an environment breaks the ``Environment`` contract.
public struct ConformanceViolation: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The check that failed, e.g. `"first step"`.
    public var check: String
    /// What went wrong.
    public var message: String

    /// A violation of `check`.
    public init(check: String, message: String) {
        self.check = check
        self.message = message
    }

    public var description: String { "[\(check)] \(message)" }
}

/// A conformance suite for ``Environment`` implementations, in the spirit of dm_env's
/// `EnvironmentTestMixin`: run it on your own environment and assert that the result
/// is empty.
///
/// ```swift
/// XCTAssertEqual(EnvironmentConformance.check(MySimulator(seed: 1)), [])
/// ```
///
/// It checks that
/// - `reset` and `reset(seed:)` return a `.first` step with reward 0, discount 1 and an
///   observation within `observationSpec`;
/// - stepping with actions drawn from `actionSpec` returns `.mid` or `.last` steps with
///   finite rewards, discounts in [0, 1] and observations within the spec, and an
///   episode ends within `maxEpisodeSteps`;
/// - stepping after a `.last` step starts a new episode with a `.first` step;
/// - two `reset(seed:)` with the same seed, followed by the same actions, reproduce the
///   same time steps exactly.
public enum EnvironmentConformance {
    /// Runs every check on a copy of `environment` and returns the violations found
    /// (empty when the environment conforms). Stops a check at its first violation.
    ///
    /// - Parameters:
    ///   - environment: the environment under test (a value type is copied; a class is used in place).
    ///   - seed: seeds the environment resets and the random actions (default 0).
    ///   - episodes: episodes to run with random actions (default 3).
    ///   - maxEpisodeSteps: a step budget per episode; an episode that has not ended by
    ///     then is a violation (default 10 000).
    public static func check<E: Environment>(
        _ environment: E, seed: UInt64 = 0, episodes: Int = 3,
        maxEpisodeSteps: Int = 10_000
    ) -> [ConformanceViolation] {
        var env = environment
        var violations: [ConformanceViolation] = []
        var rng = Xoshiro256StarStar(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        let observationSpec = env.observationSpec, actionSpec = env.actionSpec

        if observationSpec.count == 0 { violations.append(.init(check: "specs", message: "observationSpec has no elements")) }
        if actionSpec.count == 0 { violations.append(.init(check: "specs", message: "actionSpec has no elements")) }
        if !violations.isEmpty { return violations }

        func checkFirst(_ step: TimeStep, _ context: String) -> ConformanceViolation? {
            if step.kind != .first { return .init(check: "first step", message: "\(context) returned kind \(step.kind), expected .first") }
            if step.reward != 0 {
                return .init(check: "first step", message: "\(context) returned reward \(step.reward), expected 0 (no reward on a first step)")
            }
            if step.discount != 1 { return .init(check: "first step", message: "\(context) returned discount \(step.discount), expected 1") }
            do { try observationSpec.validate(step.observation) } catch {
                return .init(check: "observation spec", message: "\(context): \(error)")
            }
            return nil
        }

        // Resets.
        if let v = checkFirst(env.reset(seed: seed), "reset(seed:)") { violations.append(v) }
        if let v = checkFirst(env.reset(), "reset()") { violations.append(v) }

        // Episodes with random actions, and stepping past the end.
        var timeStep = env.reset(seed: seed)
        episodeLoop: for episode in 0..<episodes {
            var steps = 0
            while true {
                let action = actionSpec.sample(using: &rng)
                do { try actionSpec.validate(action) } catch {
                    violations.append(.init(check: "action spec", message: "a value sampled from actionSpec does not fit it: \(error)"))
                    break episodeLoop
                }
                timeStep = env.step(action)
                steps += 1
                let context = "episode \(episode + 1), step \(steps)"
                if timeStep.kind == .first {
                    violations.append(.init(check: "step kinds", message: "\(context): step returned .first in the middle of an episode"))
                    break episodeLoop
                }
                if !timeStep.reward.isFinite {
                    violations.append(.init(check: "reward", message: "\(context): reward \(timeStep.reward) is not finite"))
                    break episodeLoop
                }
                if !(timeStep.discount >= 0 && timeStep.discount <= 1) {
                    violations.append(.init(check: "discount", message: "\(context): discount \(timeStep.discount) is outside [0, 1]"))
                    break episodeLoop
                }
                do { try observationSpec.validate(timeStep.observation) } catch {
                    violations.append(.init(check: "observation spec", message: "\(context): \(error)"))
                    break episodeLoop
                }
                if timeStep.isLast { break }
                if steps >= maxEpisodeSteps {
                    violations.append(.init(check: "episode end", message: "episode \(episode + 1) did not end within \(maxEpisodeSteps) steps"))
                    break episodeLoop
                }
            }
            let restart = env.step(actionSpec.sample(using: &rng))
            if let v = checkFirst(restart, "step after .last (episode \(episode + 1))") {
                violations.append(.init(check: "restart after last", message: v.message))
                break
            }
        }

        // Seeded reproducibility.
        let actions = (0..<Swift.min(maxEpisodeSteps, 50)).map { _ in actionSpec.sample(using: &rng) }
        func trajectory() -> [TimeStep] {
            var out = [env.reset(seed: seed &+ 1)]
            for a in actions {
                let t = env.step(a)
                out.append(t)
                if t.isLast { break }
            }
            return out
        }
        let first = trajectory(), second = trajectory()
        if first != second {
            let index = zip(first, second).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? Swift.min(first.count, second.count)
            violations.append(.init(check: "seeded reset", message: "two reset(seed: \(seed &+ 1)) runs with the same actions differ at step \(index)"))
        }
        return violations
    }
}
