import Foundation
import Hummingbird
import RecRLEvaluation

/// The v1 JSON API:
/// - `POST /v1/recommend` `{"user", "k"?, "exclude"?}` →
///   `{"user", "items": [{"item", "score"}], "model_version", "arm"}` (a page model,
///   ``RecommendationEngine/pageShape``, answers a whole page: `items` row-major and
///   `"page"`, its rows of item ids; feedback `position` is then the row-major index
///   `row · columns + column`); ranked on the
///   ranking threads (503 with `Retry-After` when
///   ``ServerConfiguration/maxConcurrentRanking`` requests are in progress). With a
///   ``ServerConfiguration/servingPolicy`` the slate is drawn from the top of the ranking
///   by that policy, committed to the event log as an impression (503 when that write
///   fails: an answered slate is always logged), and the answer adds `"request_id"`.
/// - `POST /v1/feedback` `{"user", "item", "rating" | "reward", "event_id"?, "request_id"?, "position"?}` →
///   `{"status": "ok"}` (plus `"duplicate": true|false` and the `event_id` when one is given);
///   requires the API key when one is configured.
///
/// Feedback is logged before it is learned, exactly once per `event_id`:
/// 1. the body is validated (``RequestValidation/feedback(_:policy:scale:)``: a reward or
///    rating off the engine's scale is 422, or clipped under ``OutOfScalePolicy/clip``)
///    and the item checked against the catalogue (404);
/// 2. the event is appended durably to the event log; when that fails the answer is
///    503 (nothing learned; the details go to the server log, never to the client);
/// 3. a duplicate `event_id` is acknowledged (200, `"duplicate": true`) and not learned
///    again; otherwise the engine observes the event. Should observing fail after the
///    event was logged, the event stays logged (the log is the record; the model's
///    learning is best effort), the failure is logged and counted, and the answer is 200.
/// 4. With a ``SharedSessionStore``, recommend first reads the user's shared window (503
///    when the store cannot be read), and logged positive feedback is appended to it
///    before the engine observes it (a failed append is counted, logged and answered 200:
///    the event itself is logged).
///
/// Both route the user to an arm with ``RecommendationServer/route(user:)``.
struct RecommendationRoutes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/recommend") { request, context in try await recommend(request, context) }
        router.post("/v1/feedback") { request, context in try await feedback(request, context) }
    }

    private func recommend(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let query = try RequestValidation.recommend(try await server.body(of: request), configuration: server.configuration)
        let (arm, engine) = server.route(user: query.user)
        try engine.requireReady()
        if let sessions = server.sessions {
            do {
                engine.restoreSession(user: query.user, items: try await sessions.window(user: query.user))
            } catch {
                server.metrics.increment("recrl_session_store_failures_total", [("operation", "read")])
                server.logger.error("session store read failed", metadata: ["error": "\(error)", "sessions": "\(sessions.location)"])
                throw APIError(.serviceUnavailable, "the session store cannot be read, retry later", headers: [.retryAfter: "1"])
            }
        }
        guard let sampler = server.sampler else {
            let recommendation = try await server.rank(route: "/v1/recommend") {
                try engine.recommend(user: query.user, k: query.k, exclude: Set(query.exclude))
            }
            server.metrics.recordServed(arm: arm, engine: engine, items: recommendation.items)
            return try JSONResponse.make(
                RecommendResponse(
                    user: query.user, items: recommendation.items,
                    modelVersion: recommendation.modelVersion, arm: arm,
                    page: engine.pageShape?.rows(of: recommendation.items.map(\.item))))
        }
        // Rank the exploration pool, draw the slate, and commit the impression before answering.
        let policy = sampler.policy
        let depth = max(1, min(policy.rankingDepth(k: query.k), engine.itemCount, server.configuration.maxK))
        let ranking = try await server.rank(route: "/v1/recommend") {
            try engine.recommend(user: query.user, k: depth, exclude: Set(query.exclude))
        }
        let slate: (positions: [Int], propensities: [Double], slatePropensity: Double)
        do {
            slate = try sampler.sample(scores: ranking.items.map { Double($0.score) }, k: query.k)
        } catch {
            throw APIError(.internalServerError, "the serving policy cannot draw a slate from this ranking: \(error)")
        }
        let items = slate.positions.map { ranking.items[$0] }
        server.metrics.recordServed(arm: arm, engine: engine, items: items)
        let impression = ImpressionRecord(
            requestID: UUID().uuidString, user: query.user, items: items.map(\.item),
            propensities: slate.propensities, slatePropensity: slate.slatePropensity,
            servingPolicy: policy.description, modelVersion: ranking.modelVersion, arm: arm,
            timestamp: Date())
        do {
            try await server.eventLog.recordImpression(impression)
        } catch {
            server.metrics.increment("recrl_event_log_write_failures_total", [])
            context.logger.error("impression log write failed", metadata: ["error": "\(error)", "events": "\(server.eventLog.location)"])
            throw APIError(
                .serviceUnavailable, "the event log cannot be written; the recommendation was not logged, retry later",
                headers: [.retryAfter: "1"])
        }
        return try JSONResponse.make(
            RecommendResponse(
                user: query.user, items: items, modelVersion: ranking.modelVersion,
                arm: arm, requestID: impression.requestID, page: engine.pageShape?.rows(of: items.map(\.item))))
    }

    private func feedback(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try server.authorize(request, route: "/v1/feedback")
        let body = try await server.body(of: request)
        let submission: FeedbackSubmission
        do {
            submission = try RequestValidation.feedback(body, policy: server.configuration.outOfScalePolicy) { user in
                server.route(user: user).engine.feedbackScale
            }
        } catch {
            server.metrics.increment("recrl_feedback_rejected_total", [("reason", "invalid")])
            throw error
        }
        let (arm, engine) = server.route(user: submission.user)
        try engine.requireReady()
        guard engine.knowsItem(submission.item) else {
            server.metrics.increment("recrl_feedback_rejected_total", [("reason", "unknown_item")])
            throw APIError(.notFound, "unknown item '\(submission.item)': it is not in the model's catalogue")
        }
        let reward = submission.reward ?? engine.rewardForRating(submission.rating ?? 0)
        let version = engine.modelVersion
        let event = FeedbackEvent(
            user: submission.user, item: submission.item, reward: reward,
            rating: submission.rating, timestamp: Date(), modelVersion: version, arm: arm,
            eventID: submission.eventID, requestID: submission.requestID, position: submission.position)
        let recorded: RecordedEvent
        do {
            recorded = try await server.eventLog.record(event)
        } catch {
            server.metrics.increment("recrl_event_log_write_failures_total", [])
            server.metrics.increment("recrl_feedback_rejected_total", [("reason", "event_log_unavailable")])
            context.logger.error("event log write failed", metadata: ["error": "\(error)", "events": "\(server.eventLog.location)"])
            throw APIError(
                .serviceUnavailable, "the event log cannot be written; the feedback was not recorded, retry later",
                headers: [.retryAfter: "1"])
        }
        if recorded.duplicate {
            server.metrics.increment("recrl_feedback_duplicates_total", [("arm", arm)])
            return try JSONResponse.make(StatusResponse(status: "ok", duplicate: true, eventID: submission.eventID))
        }
        server.metrics.increment("recrl_feedback_events_total", [("arm", arm)])
        server.metrics.recordReward(arm: arm, reward)
        if let sessions = server.sessions, reward > 0, engine.sessionWindowSize > 0 {
            // The event is logged: a failure here loses nothing the learner needs; the
            // user's shared window misses this item (counted and logged).
            do {
                let before = try await sessions.push(user: submission.user, item: submission.item, size: engine.sessionWindowSize)
                engine.restoreSession(user: submission.user, items: before)
            } catch {
                server.metrics.increment("recrl_session_store_failures_total", [("operation", "push")])
                context.logger.error("session store update failed", metadata: ["error": "\(error)", "row_id": "\(recorded.event.id ?? -1)"])
            }
        }
        do {
            try engine.observe(user: submission.user, item: submission.item, reward: reward, position: submission.position)
            server.metrics.increment("recrl_online_updates_total", [("arm", arm)])
        } catch {
            server.metrics.increment("recrl_feedback_observe_failures_total", [("arm", arm)])
            context.logger.error(
                "logged feedback could not be observed",
                metadata: [
                    "row_id": "\(recorded.event.id ?? -1)", "error": "\(error)",
                ])
        }
        context.logger.debug(
            "feedback",
            metadata: [
                "row_id": "\(recorded.event.id ?? -1)", "user": "\(submission.user)", "item": "\(submission.item)",
                "reward": "\(reward)", "arm": "\(arm)", "model_version": "\(version)",
            ])
        return try JSONResponse.make(
            StatusResponse(
                status: "ok", duplicate: submission.eventID == nil ? nil : false,
                eventID: submission.eventID))
    }
}
