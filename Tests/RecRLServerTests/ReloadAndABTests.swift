import Foundation
import Hummingbird
import HummingbirdTesting
import RecRLServer
import RecRLSimulation
import RecRLTensor
import Testing

/// Shared progress of the concurrent requests in the reload test.
final class RequestProgress: Sendable {
    let state = Locked((requests: 0, reloaded: false))
}

@Suite struct ReloadTests {
    @Test func reloadSwitchesVersionWhileConcurrentRequestsKeepSucceeding() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(adminEnabled: true), reloadDelay: 0.2)
        defer { fixture.cleanUp() }
        try await fixture.server.makeApplication().test(.router) { client in
            // Four tasks keep recommending before, during and after the reload.
            let progress = RequestProgress()
            let versions = try await withThrowingTaskGroup(of: [String].self) { group in
                for t in 0..<4 {
                    group.addTask {
                        var seen: [String] = []
                        var afterReload = 0
                        while afterReload < 5 {
                            let reloaded = progress.state.withLock { $0.reloaded }
                            let response = try await client.post("/v1/recommend", json: #"{"user": "u\#(t)", "k": 3}"#)
                            #expect(response.status == .ok)
                            seen.append(response.object["model_version"] as? String ?? "?")
                            progress.state.withLock { $0.requests += 1 }
                            if reloaded { afterReload += 1 }
                            try await Task.sleep(for: .milliseconds(5))
                        }
                        return seen
                    }
                }
                // Start the reload once requests are flowing.
                while progress.state.withLock({ $0.requests }) < 8 { try await Task.sleep(for: .milliseconds(5)) }
                // A training job replaces the served directory's model, then asks for a reload.
                try Data("v2".utf8).write(to: fixture.directory.appendingPathComponent("model-v1/version.txt"))
                let reload = try await client.post("/admin/reload", json: "{}")
                #expect(reload.status == .ok, "\(reload.text)")
                #expect(reload.object["previous_version"] as? String == "v1")
                #expect(reload.object["model_version"] as? String == "v2")
                #expect(reload.object["arm"] as? String == "single")
                progress.state.withLock { $0.reloaded = true }
                var all: [[String]] = []
                for try await seen in group { all.append(seen) }
                return all
            }
            #expect(versions.flatMap { $0 }.count >= 8 + 20)
            #expect(versions.flatMap { $0 }.filter { $0 == "v1" }.count >= 8)  // answered by the old model
            for seen in versions {
                #expect(Set(seen).isSubset(of: ["v1", "v2"]))
                #expect(seen.last == "v2")
                // Never back to the old model after the new one answered.
                if let firstNew = seen.firstIndex(of: "v2") { #expect(!seen[firstNew...].contains("v1")) }
            }
            let after = try await client.post("/v1/recommend", json: #"{"user": "u1"}"#)
            #expect(after.object["model_version"] as? String == "v2")
            let metadata = try await client.get("/v2/models/test-engine")
            #expect(metadata.object["versions"] as? [String] == ["v2"])
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"recrl_model_info{arm="single",model="test-engine",version="v2"} 1"#))
            #expect(!metrics.contains(#"version="v1""#))
            #expect(metrics.contains(#"recrl_model_reloads_total{arm="single",result="ok"} 1"#))
        }
    }

    @Test func reloadWithoutBodyUsesTheConfiguredDirectory() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(adminEnabled: true))
        defer { fixture.cleanUp() }
        // Overwrite the configured model directory in place, as a training job would.
        try Data("v1b".utf8).write(to: fixture.directory.appendingPathComponent("model-v1/version.txt"))
        try await fixture.server.makeApplication().test(.router) { client in
            let reload = try await client.execute(uri: "/admin/reload", method: .post)
            #expect(reload.status == .ok, "\(reload.text)")
            #expect(reload.object["model_version"] as? String == "v1b")
        }
        // What SIGHUP does.
        try Data("v1c".utf8).write(to: fixture.directory.appendingPathComponent("model-v1/version.txt"))
        await fixture.server.reloadAll()
        #expect(fixture.engine.modelVersion == "v1c")
    }

    @Test func failedReloadKeepsTheOldModelAndHidesServerPaths() async throws {
        let fixture = try Fixture(configuration: ServerConfiguration(adminEnabled: true))
        defer { fixture.cleanUp() }
        try FileManager.default.removeItem(at: fixture.directory.appendingPathComponent("model-v1/version.txt"))
        try await fixture.server.makeApplication().test(.router) { client in
            let reload = try await client.post("/admin/reload", json: "{}")
            #expect(reload.status == .internalServerError)
            #expect(reload.errorMessage == "the reload failed; the served model stays (details are in the server log)")
            #expect(!reload.text.contains(fixture.directory.path))
            let unknownArm = try await client.post("/admin/reload", json: #"{"arm": "treatment"}"#)
            #expect(unknownArm.status == .notFound)
            #expect(unknownArm.errorMessage == "unknown arm 'treatment'; this server has 'single'")
            let after = try await client.post("/v1/recommend", json: #"{"user": "u1"}"#)
            #expect(after.object["model_version"] as? String == "v1")
        }
    }
}

@Suite struct ABRoutingTests {
    @Test func armsAreStickyMatchABTestAndAreRecordedWithEvents() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let control = TestEngine(name: "ranker", version: "control-v1")
        let treatment = TestEngine(name: "ranker", version: "treatment-v1")
        let log = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        let server = RecommendationServer(
            mode: .abTest(
                control: ServedModel(engine: control), treatment: ServedModel(engine: treatment),
                split: 0.5, salt: "exp-1"),
            eventLog: log)
        let users = (0..<40).map { "user-\($0)" }
        try await server.makeApplication().test(.router) { client in
            for user in users {
                let expected = ABTest.arm(for: user, split: 0.5, salt: "exp-1").rawValue
                for _ in 0..<3 {  // sticky: the same arm every time
                    let response = try await client.post("/v1/recommend", json: #"{"user": "\#(user)", "k": 2}"#)
                    #expect(response.object["arm"] as? String == expected)
                    #expect(response.object["model_version"] as? String == "\(expected)-v1")
                }
                let feedback = try await client.post("/v1/feedback", json: #"{"user": "\#(user)", "item": "i1", "rating": 5}"#)
                #expect(feedback.status == .ok)
            }
        }
        let events = try log.events()
        #expect(events.count == users.count)
        for event in events {
            let arm = ABTest.arm(for: event.user, split: 0.5, salt: "exp-1").rawValue
            #expect(event.arm == arm)
            #expect(event.modelVersion == "\(arm)-v1")
        }
        let treated = events.filter { $0.arm == "treatment" }.count
        #expect(treated > 5 && treated < 35)
        #expect(control.statistics["online_updates"]! + treatment.statistics["online_updates"]! == Double(users.count))
        #expect(treatment.statistics["online_updates"] == Double(treated))
    }

    @Test func abTestReportOnASeededSyntheticLog() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try EventLog(path: directory.appendingPathComponent("events.sqlite").path)
        // 200 users, 5 events each; treatment users get rewards 0.2 higher on average.
        var rng = SplitMix64Generator(seed: 11)
        var expected: [ABTest.Arm: [Double]] = [.control: [], .treatment: []]
        for u in 0..<200 {
            let user = "u\(u)"
            let arm = ABTest.arm(for: user, salt: "synthetic")
            var sum = 0.0
            for e in 0..<5 {
                let noise = Double.random(in: -0.5...0.5, using: &rng)
                let reward = Float((arm == .treatment ? 0.2 : 0) + noise)
                sum += Double(reward)
                try await log.append(
                    FeedbackEvent(
                        user: user, item: "i\(e)", reward: reward, rating: nil,
                        timestamp: Date(timeIntervalSince1970: Double(u * 10 + e)),
                        modelVersion: "\(arm.rawValue)-v1", arm: arm.rawValue))
            }
            expected[arm]!.append(sum / 5)
        }
        // A single-engine event is ignored by the analysis.
        try await log.append(
            FeedbackEvent(
                user: "x", item: "i0", reward: 100, rating: nil, timestamp: Date(),
                modelVersion: "v0", arm: "single"))

        let report = try log.abTestReport(metric: .reward, unit: .user, seed: 3)
        let direct = try ABTest.analyze(control: expected[.control]!, treatment: expected[.treatment]!, seed: 3)
        #expect(report.arms.map(\.n) == [expected[.control]!.count, expected[.treatment]!.count])
        #expect(report.arms[0].n + report.arms[1].n == 200)
        #expect(abs(report.difference - direct.difference) < 1e-6)
        #expect(abs(report.pValue - direct.pValue) < 1e-6)
        #expect(report.difference > 0.1 && report.difference < 0.3)
        #expect(report.significant)
        #expect(report.ciLow > 0)

        let perEvent = try log.abTestReport(metric: .reward, unit: .event)
        #expect(perEvent.arms[0].n + perEvent.arms[1].n == 1000)

        let text = ABTestSummary.text(report, metric: .reward, unit: .user, eventLog: log.path)
        #expect(text.contains("control"))
        #expect(text.contains("treatment"))
        #expect(text.contains("significant at alpha = 0.05: yes"))
        let json = try ABTestSummary.json(report, metric: .reward, unit: .user)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["metric"] as? String == "reward")
        #expect(object["unit"] as? String == "user")
        #expect(object["alpha"] as? Double == 0.05)
        #expect(object["significant"] as? Bool == true)
        #expect((object["p_value"] as? Double).map { abs($0 - report.pValue) < 1e-12 } == true)
        #expect((object["arms"] as? [[String: Any]])?.map { $0["name"] as? String } == ["control", "treatment"])

        // Ratings are missing: too few observations is a clear error.
        #expect(throws: ABTestError.tooFewObservations(arm: .control, count: 0)) {
            try log.abTestReport(metric: .rating)
        }
    }
}
