import Foundation
import RecRLDRR
import RecRLServer
import Testing

/// `recrl learn` on a DeepPage model, as a process over a SQLite event log: it registers
/// the offline model, learns the logged pages and publishes a DeepPage version the
/// registry serves; a log without positions is refused with a clear message.
@Suite struct LearnDeepPageProcessTests {
    /// Runs `recrl arguments` with its output in a file; waits up to `seconds` for it to
    /// exit or for `until` to hold on its output, then kills it.
    static func run(_ arguments: [String], seconds: Double = 120, until: (String) -> Bool = { _ in false }) throws -> (
        status: Int32?, output: String
    ) {
        let process = Process()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("recrl")
        process.arguments = arguments
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("recrl-learn-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: file) }
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        var output: String { (try? String(contentsOf: file, encoding: .utf8)) ?? "" }
        while process.isRunning && Date() < deadline && !until(output) { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return (nil, output)
        }
        return (process.terminationStatus, output)
    }

    @Test func learnsADeepPageModelFromTheLogAndRefusesALogWithoutPositions() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try saveTinyDeepPageModel(in: directory, name: "deeppage", seed: 6)
        let (initial, _) = try DRRModelStore.loadDeepPage(from: model)
        for positions in [false, true] {
            let path = directory.appendingPathComponent("events-\(positions).sqlite").path
            let log = try EventLog(path: path)
            for u in 0..<12 {
                for page in 0..<2 {
                    for position in 0..<4 {
                        let item = (u * 8 + page * 4 + position) % 40
                        try await log.append(
                            FeedbackEvent(
                                user: "u\(u)", item: "i\(item)", reward: item % 3 == 0 ? 1 : -0.5, rating: nil, timestamp: Date(),
                                modelVersion: "v1", arm: "single", requestID: "r-\(u)-\(page)", position: positions ? position : nil))
                    }
                }
            }
        }
        let plainRegistry = directory.appendingPathComponent("plain")
        let refused = try Self.run([
            "learn", "--events", directory.appendingPathComponent("events-false.sqlite").path, "--model", model.path,
            "--registry", plainRegistry.path, "--log-level", "warning",
        ])
        #expect(refused.status != nil && refused.status != 0)
        #expect(refused.output.contains("have no position"), "output: \(refused.output)")

        let registry = ModelRegistry(directory: directory.appendingPathComponent("registry"))
        let learned = try Self.run(
            [
                "learn", "--events", directory.appendingPathComponent("events-true.sqlite").path, "--model", model.path,
                "--registry", registry.directory.path, "--publish-every-updates", "5", "--gate-min-events", "0",
                "--gate-tolerance", "1", "--poll-interval", "0.1", "--log-level", "warning",
            ], until: { $0.contains(#""promoted":true"#) })
        #expect(learned.output.contains(#""promoted":true"#), "output: \(learned.output)")
        let (production, manifest, version) = try registry.loadDeepPage(stage: .production)
        #expect(version != "v1", "v1 is the offline model the learner registered first")
        #expect(manifest.policy == DRRModelStore.deepPagePolicy)
        #expect(production.learner.checkpointTensors() != initial.learner.checkpointTensors())
        let page = try OnlineDeepPage(model: production, manifest: manifest, learns: false).recommend(user: "u2").items
        #expect(page.count == 4)
    }
}
