import ArgumentParser
import Foundation
import Logging
import Testing
@testable import RecRLServer
@testable import recrl

/// `recrl serve --log-format json`: one parseable JSON object per record.
@Suite struct LoggingTests {
    @Test func jsonLinesCarryTheFixedFieldsAndTheMetadata() throws {
        let line = JSONLogHandler.line(
            timestamp: Date(timeIntervalSince1970: 0), level: .warning, label: "recrl.server",
            message: "model reloaded", source: "RecRLServer",
            metadata: ["arm": "single", "level": "spoofed", "path": "/registry/versions/v000002"])
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["ts"] == "1970-01-01T00:00:00.000Z")
        #expect(object["level"] == "warning")
        #expect(object["meta_level"] == "spoofed")
        #expect(object["logger"] == "recrl.server")
        #expect(object["message"] == "model reloaded")
        #expect(object["arm"] == "single")
        #expect(object["path"] == "/registry/versions/v000002")
    }

    @Test func serveTakesTheLogFormatAndTheRegistryOptions() throws {
        func message(_ arguments: [String]) -> String {
            do { _ = try Serve.parseAsRoot(arguments); return "parsed" } catch { return Serve.message(for: error) }
        }
        #expect(message(["--model", "m", "--log-format", "json"]) == "parsed")
        #expect(message(["--model", "m", "--log-format", "xml"]) == "--log-format must be text or json, got 'xml'")
        #expect(message(["--registry", "r", "--stage", "production"]) == "parsed")
        #expect(message(["--registry", "r", "--stage", "canary"]) == "unknown stage 'canary' (expected staging or production)")
        #expect(message(["--registry", "r", "--model", "m"]) == "give exactly one of --model DIR or --registry DIR")
        #expect(message(["--registry", "r", "--poll-interval", "0"]) == "--poll-interval must be a positive number of seconds, got 0.0")
    }
}
