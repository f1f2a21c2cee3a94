import Foundation
import RecRL

/// The `manifest.json` every pipeline stage (`ingest`, `split`, `train --in`, `tune`) writes
/// into its output folder, so that an orchestrator (or a person) can see what produced an
/// artefact: the inputs with fingerprints, the parameters, the outputs with their SHA-256,
/// metrics, timings, the library version and the git revision when known.
///
/// The git revision comes from `RECRL_GIT_REVISION` (the container image sets it at build
/// time), else from `git rev-parse HEAD` in the working directory when git is installed.
struct StageManifest: Codable {
    struct Input: Codable {
        var path: String
        /// `InteractionDataset.fingerprint` of data, or the SHA-256 of a stage's manifest.
        var fingerprint: String
    }

    struct Output: Codable {
        var path: String
        var sha256: String
    }

    var stage: String
    var libraryVersion = recrlVersion
    var gitRevision: String? = StageManifest.gitRevision
    var startedAt: String
    var seconds: Double = 0
    var inputs: [Input] = []
    var parameters: [String: String] = [:]
    var outputs: [Output] = []
    var metrics: [String: Double] = [:]

    enum CodingKeys: String, CodingKey {
        case stage, libraryVersion = "library_version", gitRevision = "git_revision", startedAt = "started_at"
        case seconds, inputs, parameters, outputs, metrics
    }

    /// The manifest's file name inside a stage folder.
    static let fileName = "manifest.json"

    private let start: Date

    init(stage: String, parameters: [String: String] = [:]) {
        self.stage = stage
        self.parameters = parameters
        start = Date()
        startedAt = ISO8601DateFormatter().string(from: start)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stage = try c.decode(String.self, forKey: .stage)
        libraryVersion = try c.decode(String.self, forKey: .libraryVersion)
        gitRevision = try c.decodeIfPresent(String.self, forKey: .gitRevision)
        startedAt = try c.decode(String.self, forKey: .startedAt)
        seconds = try c.decode(Double.self, forKey: .seconds)
        inputs = try c.decode([Input].self, forKey: .inputs)
        parameters = try c.decode([String: String].self, forKey: .parameters)
        outputs = try c.decode([Output].self, forKey: .outputs)
        metrics = try c.decode([String: Double].self, forKey: .metrics)
        start = Date()
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stage, forKey: .stage)
        try c.encode(libraryVersion, forKey: .libraryVersion)
        try c.encode(gitRevision, forKey: .gitRevision)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(metrics, forKey: .metrics)
    }

    /// Records an input stage folder by the SHA-256 of its manifest (or of its split
    /// description when it has no manifest).
    mutating func addInput(stageFolder url: URL) {
        for name in [Self.fileName, SplitFiles.descriptionFile] {
            if let data = try? Data(contentsOf: url.appendingPathComponent(name)) {
                inputs.append(Input(path: url.path, fingerprint: "sha256:" + SHA256.hexDigest(of: [UInt8](data))))
                return
            }
        }
        inputs.append(Input(path: url.path, fingerprint: "unknown"))
    }

    /// Records output files of the folder `directory` with their SHA-256.
    mutating func addOutputs(_ names: [String], in directory: URL) throws {
        for name in names {
            let bytes = try Data(contentsOf: directory.appendingPathComponent(name))
            outputs.append(Output(path: name, sha256: SHA256.hexDigest(of: [UInt8](bytes))))
        }
    }

    /// Stamps the elapsed time and writes the manifest into `directory`.
    mutating func write(to directory: URL) throws {
        seconds = Date().timeIntervalSince(start)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// The git revision of the build or working copy, when known.
    static let gitRevision: String? = {
        if let value = ProcessInfo.processInfo.environment["RECRL_GIT_REVISION"], !value.isEmpty { return value }
        let candidates = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"]
        guard let git = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: git)
        process.arguments = ["rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }()
}

/// A failure of a pipeline stage, printed by ArgumentParser as one `Error: …` line (exit status 1).
struct StageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
