import ArgumentParser
import Foundation
import RecRLData
import RecRLServer
import Testing
@testable import recrl

/// Runs `type` with `arguments` as the root command; `nil` on success, else the message
/// the tool would print after `Error: `.
func commandMessage<C: ParsableCommand>(_ type: C.Type, _ arguments: [String]) -> String? {
    do {
        var command = try type.parseAsRoot(arguments)
        try command.run()
        return nil
    } catch {
        return type.message(for: error)
    }
}

@Suite struct CommandTests {
    @Test func serveAbtestAndExportAreSubcommandsOfAnAsyncRoot() throws {
        let names = RecRLCommand.configuration.subcommands.map { $0._commandName }
        #expect(names.contains("serve"))
        #expect(names.contains("abtest"))
        #expect(names.contains("export-events"))
        let parsed = try RecRLCommand.parseAsRoot(["serve", "--model", "m", "--updates-per-second", "20", "--port", "0"])
        let serve = try #require(parsed as? Serve)
        #expect(serve.updatesPerSecond == 20)
        #expect(serve.port == 0)
        #expect(parsed is any AsyncParsableCommand)
    }

    @Test func serveRejectsBadOptions() {
        func message(_ arguments: [String]) -> String {
            do {
                _ = try Serve.parseAsRoot(arguments)
                return "parsed"
            } catch {
                return Serve.message(for: error)
            }
        }
        #expect(message(["--model", "m", "--updates-per-second", "0"]) == "--updates-per-second must be in (0, 100000], got 0.0")
        #expect(message(["--model", "m", "--port", "70000"]) == "--port must be in 0...65535, got 70000")
        #expect(message(["--model", "m", "--split", "1.5"]) == "--split must be in [0, 1], got 1.5")
        #expect(message(["--model", "m", "--blas-threads", "0"]) == "--blas-threads must be in 1...256, got 0")
        #expect(message(["--model", "m", "--blas-threads", "2"]) == "parsed")
        #expect(message(["--model", "m", "--max-concurrent-ranking", "0"]) == "--max-concurrent-ranking must be positive, got 0")
        #expect(message(["--model", "m", "--max-infer-batch", "0"]) == "--max-infer-batch must be positive, got 0")
        #expect(
            message(["--model", "m", "--api-key", "two words"])
                == "the API key (--api-key or RECRL_API_KEY) must be non-empty and hold no whitespace")
    }

    @Test func serveHardeningOptionsReachTheServerConfiguration() throws {
        let serve =
            try Serve.parseAsRoot([
                "--model", "m", "--api-key", "k3y", "--admin", "--max-infer-batch", "8",
                "--max-infer-elements", "512", "--max-concurrent-ranking", "4",
                "--ranking-threads", "2", "--idle-timeout", "0", "--clip-feedback",
            ]) as! Serve
        let configuration = serve.serverConfiguration
        #expect(configuration.apiKey == "k3y")
        #expect(configuration.adminEnabled)
        #expect(configuration.maxInferBatch == 8 && configuration.maxInferElements == 512)
        #expect(configuration.maxConcurrentRanking == 4 && configuration.rankingThreads == 2)
        #expect(configuration.idleTimeout == nil)
        #expect(configuration.outOfScalePolicy == .clip)
        let defaults = (try Serve.parseAsRoot(["--model", "m"]) as! Serve).serverConfiguration
        #expect(!defaults.adminEnabled)
        #expect(defaults.idleTimeout == 30 && defaults.outOfScalePolicy == .reject)
    }

    /// Feedback through the server → `recrl export-events` → the CSV loader, as `recrl
    /// train --data` reads it.
    @Test func exportedEventsLoadAsAnInteractionsDataset() async throws {
        let fixture = try Fixture()
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            for body in [
                #"{"user": "alice", "item": "i1", "rating": 5}"#,
                #"{"user": "alice", "item": "i2", "reward": -0.5}"#,
                #"{"user": "bob, jr", "item": "i1", "rating": 2}"#,
                #"{"user": "bob, jr", "item": "i3", "reward": 1}"#,
                #"{"user": "carol", "item": "i2", "rating": 4}"#,
            ] {
                let response = try await client.post("/v1/feedback", json: body)
                #expect(response.status == .ok, "\(response.text)")
            }
        }
        let out = fixture.directory.appendingPathComponent("retrain", isDirectory: true)
        #expect(commandMessage(ExportEvents.self, ["--events", fixture.eventLogPath, "--out", out.path]) == nil)
        let loaded = try DatasetLoader.load(directory: out.path, format: .csv, options: LoadOptions(strict: true))
        #expect(loaded.report.droppedTotal == 0)
        let data = loaded.dataset
        #expect(data.userMap.rawIDs == ["alice", "bob, jr", "carol"])
        #expect(data.itemMap.rawIDs == ["i1", "i2", "i3"])
        var ratings: [String: Float] = [:]
        for row in 0..<data.interactionCount {
            ratings["\(data.userMap.rawIDs[Int(data.users[row])])/\(data.itemMap.rawIDs[Int(data.items[row])])"] = data.ratings[row]
        }
        // Ratings are kept; reward-only events get the rating of that reward on 1…5.
        #expect(ratings == ["alice/i1": 5, "alice/i2": 2, "bob, jr/i1": 2, "bob, jr/i3": 5, "carol/i2": 4])
        // The loader infers a CSV's scale from the ratings it sees (`recrl train` has no option to declare it).
        #expect(data.ratingScale == 2...5)

        // A .csv path is written as is, with the reward mapping of another scale.
        let file = fixture.directory.appendingPathComponent("half-stars.csv")
        #expect(
            commandMessage(
                ExportEvents.self,
                [
                    "--events", fixture.eventLogPath, "--out", file.path,
                    "--min-rating", "0.5", "--max-rating", "5",
                ]) == nil)
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines[0] == "user,item,rating,timestamp")
        #expect(lines[2].hasPrefix("alice,i2,1.625,"))
        #expect(lines[4].hasPrefix("\"bob, jr\",i3,5.0,"))
        #expect(try DatasetLoader.load(directory: file.path).dataset.interactionCount == 5)
    }

    @Test func exportRejectsAMissingLogAndABadScale() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("none.sqlite").path
        #expect(commandMessage(ExportEvents.self, ["--events", missing, "--out", directory.path]) == "no event log at '\(missing)'")
        #expect(!FileManager.default.fileExists(atPath: missing), "no empty log is created")
        #expect(
            commandMessage(ExportEvents.self, ["--events", missing, "--out", directory.path, "--min-rating", "5"])
                == "--min-rating must be below --max-rating, got 5.0 and 5.0")
        #expect(ExportEvents.rating(forReward: 0, minimum: 1, maximum: 5) == 3)
        #expect(ExportEvents.rating(forReward: 0.5, minimum: 1, maximum: 5) == EventLog.defaultRatingFromReward(0.5))
        #expect(ExportEvents.rating(forReward: -3, minimum: 1, maximum: 5) == 1)
    }

    @Test func abtestAnalysesBothArmsAndExplainsASingleArmLog() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.sqlite").path
        let log = try EventLog(path: path)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        try await log.append(FeedbackEvent(user: "s1", item: "i1", reward: 1, rating: nil, timestamp: t0, modelVersion: "v", arm: "single"))
        let single = commandMessage(ABTestCommand.self, ["--events", path])
        #expect(single == "A/B test: the control arm has 0 observation(s); at least 2 are needed (was the server run with --treatment-model?)")
        for (n, reward) in [0.1, 0.3, -0.2, 0.0].enumerated() {
            try await log.append(FeedbackEvent(user: "c\(n)", item: "i1", reward: Float(reward), rating: nil, timestamp: t0, modelVersion: "v", arm: "control"))
            try await log.append(
                FeedbackEvent(user: "t\(n)", item: "i1", reward: Float(reward + 0.5), rating: nil, timestamp: t0, modelVersion: "v", arm: "treatment"))
        }
        #expect(commandMessage(ABTestCommand.self, ["--events", path, "--json"]) == nil)
        #expect(
            commandMessage(ABTestCommand.self, ["--events", path, "--metric", "clicks"])
                == "--metric must be one of reward, rating, positive; got 'clicks'")
        let missing = directory.appendingPathComponent("none.sqlite").path
        #expect(commandMessage(ABTestCommand.self, ["--events", missing]) == "no event log at '\(missing)'")
    }
}
