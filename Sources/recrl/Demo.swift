import ArgumentParser
import Foundation
import RecRL

/// Trains a small MLP regressor on generated data: the numeric core end to end.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small MLP on generated data with Adam (a tour of the numeric core).")

    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Training epochs.") var epochs: Int = 200
    @Option(help: "Hidden width.") var hidden: Int = 64
    @OptionGroup var output: JSONFlag
    var json: Bool { output.json }

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
        guard hidden > 0 else { throw ValidationError("--hidden must be positive, got \(hidden)") }
    }

    func run() throws {
        var rng = Xoshiro256StarStar(seed: seed)
        // Target function: y = sin(x0) + x1 * x2, on 512 points in [-2, 2]^3.
        let n = 512
        let x = Tensor(randomUniform: [n, 3], in: -2...2, using: &rng)
        var y = Tensor(zeros: [n, 1])
        for i in 0..<n { y[i, 0] = sin(x[i, 0]) + x[i, 1] * x[i, 2] }
        var model = MLP(sizes: [3, hidden, hidden, 1], using: &rng)
        var optimizer = Adam(learningRate: 3e-3)
        var context = model.makeContext()
        var gradient = model.zeroGradient()
        var lossGradient = Tensor(zeros: [n, 1])
        let start = Date()
        var loss: Float = 0
        try FloatingPointMode.withDenormalsFlushedToZero {
            for epoch in 1...epochs {
                model.forward(x, context: &context)
                loss = MeanSquaredError.gradient(predicted: context.output, target: y, into: &lossGradient)
                model.backward(
                    input: x, outputGradient: lossGradient, context: &context, gradient: &gradient,
                    computeParameterGradient: true, computeInputGradient: false)
                optimizer.update(&model, along: gradient)
                if epoch == 1 || epoch % max(1, epochs / 10) == 0 || epoch == epochs {
                    let line = "epoch \(epoch)/\(epochs)  mse \(String(format: "%.5f", loss))\n"
                    if json { writeToStandardError(line) } else { print(line, terminator: "") }
                }
                guard loss.isFinite else { throw ValidationError("training diverged at epoch \(epoch)") }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        if json {
            print(
                try JSONOutput.encode(
                    DemoOutput(
                        seed: seed, epochs: epochs, finalMSE: Double(loss),
                        parameters: model.parameterCount, seconds: seconds,
                        blasCore: BLASRuntime.coreName)))
        } else {
            print("trained \(model.parameterCount) parameters in \(String(format: "%.2f", seconds)) s on BLAS core \(BLASRuntime.coreName); final mse \(loss)")
        }
    }
}
