// swift run -c release PendulumDDPG --algo ddpg|td3 --seed S --steps N [--json]
//
// Trains DDPG or TD3 on Pendulum-v1 (Gymnasium's dynamics, 200-step episodes) and
// prints a progress line per episode. With --json, progress goes to stderr and the
// last line on stdout is one JSON object:
//   {"algo":"td3","seed":1,"steps":20000,"episodes":100,"mean_return_last10":-160.2,"seconds":14.1}
// The algorithm itself, written out step by step, is in Training.swift (read it first);
// this file is the command line around it. The hyper-parameters are
// `PendulumTrainingOptions`' defaults, each documented with its source.
import ArgumentParser
import RecRLTensor
import RecRLAgents
import RecRLLaunch
import Foundation

// First thing: re-exec with OpenBLAS's optimised kernels when it picked a generic core.
Launch.relaunchWithOptimizedBLASCoreIfNeeded()

extension PendulumAlgorithm: ExpressibleByArgument {}

/// Trains DDPG or TD3 on Pendulum-v1 and reports the mean return of the last 10 episodes.
struct PendulumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "PendulumDDPG",
        abstract: "Train DDPG or TD3 on the Pendulum-v1 swing-up task.")

    @Option(help: "The algorithm: ddpg or td3.")
    var algo: PendulumAlgorithm = .ddpg

    @Option(help: "The seed of every random choice.")
    var seed: UInt64 = 0

    @Option(help: "Environment steps to train for.")
    var steps: Int = 20_000

    @Flag(help: "Print one JSON object as the last line (progress goes to stderr).")
    var json = false

    @Option(help: "Hidden widths of actor and critic, comma-separated (default 64,64).")
    var hiddenSizes: String?

    @Option(help: "Batch size (default 128).")
    var batchSize: Int?

    @Option(help: "Discount gamma (default 0.98).")
    var gamma: Float?

    @Option(help: "Random-action steps before learning starts (default 1000).")
    var learningStarts: Int?

    @Option(help: "Gaussian exploration sigma relative to the torque range (default 0.1).")
    var noise: Float?

    func options() throws -> PendulumTrainingOptions {
        var options = PendulumTrainingOptions(algorithm: algo, seed: seed, steps: steps)
        if let hiddenSizes {
            let sizes = hiddenSizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--hidden-sizes must be positive integers separated by commas, got '\(hiddenSizes)'")
            }
            options.hiddenSizes = sizes.map { $0! }
        }
        if let batchSize { options.batchSize = batchSize }
        if let gamma { options.gamma = gamma }
        if let learningStarts { options.learningStarts = learningStarts }
        if let noise { options.explorationNoise = noise }
        return options
    }

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive, got \(steps)") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        if let gamma, !(gamma >= 0 && gamma <= 1) { throw ValidationError("--gamma must be in [0, 1], got \(gamma)") }
        if let learningStarts, learningStarts < 0 { throw ValidationError("--learning-starts must be non-negative, got \(learningStarts)") }
        if let noise, !(noise >= 0) { throw ValidationError("--noise must be non-negative, got \(noise)") }
        _ = try options()
    }

    func run() throws {
        let options = try options()
        let result = trainPendulum(options) { stats in
            let line =
                "episode \(stats.episode)  steps \(stats.totalSteps)  return \(String(format: "%.1f", stats.episodeReturn))  "
                + "\(String(format: "%.1f", stats.seconds)) s\n"
            if json { FileHandle.standardError.write(Data(line.utf8)) } else { print(line, terminator: "") }
        }
        if json {
            print(result.json)
        } else {
            print(
                "\(algo.rawValue) seed \(seed): mean return of the last 10 episodes \(result.meanReturnLast10) after \(steps) steps, \(String(format: "%.1f", result.seconds)) s"
            )
        }
    }
}

// Parse and run; a bad flag prints one error line to stderr and exits non-zero
// (ArgumentParser's default adds the usage lines; `--help` still prints the help).
do {
    var command = try PendulumCommand.parseAsRoot()
    try command.run()
} catch {
    let code = PendulumCommand.exitCode(for: error)
    if code.isSuccess {
        print(PendulumCommand.fullMessage(for: error))
    } else {
        FileHandle.standardError.write(Data("error: \(PendulumCommand.message(for: error))\n".utf8))
    }
    exit(code.rawValue)
}
