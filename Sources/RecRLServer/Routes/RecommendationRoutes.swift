import Foundation
import Hummingbird

/// The v1 JSON API:
/// - `POST /v1/recommend` `{"user", "k"?, "exclude"?}` →
///   `{"user", "items": [{"item", "score"}], "model_version", "arm"}`
/// - `POST /v1/feedback` `{"user", "item", "rating" | "reward"}` → `{"status": "ok"}`;
///   the event is in the event log before the answer is sent.
///
/// Both route the user to an arm with ``RecommendationServer/route(user:)``.
struct RecommendationRoutes: RouteGroup {
    let server: RecommendationServer

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/recommend") { request, _ in try await recommend(request) }
        router.post("/v1/feedback") { request, context in try await feedback(request, context) }
    }

    private func recommend(_ request: Request) async throws -> Response {
        let body = try await server.decodeBody(RecommendRequest.self, from: request)!
        guard !body.user.isEmpty else { throw APIError(.badRequest, "field 'user' must not be empty") }
        let k = try server.validatedK(body.k, "field 'k'")
        let (arm, engine) = server.route(user: body.user)
        try engine.requireReady()
        let recommendation = try engine.recommend(user: body.user, k: k, exclude: Set(body.exclude ?? []))
        return try JSONResponse.make(RecommendResponse(user: body.user, items: recommendation.items,
                                                       modelVersion: recommendation.modelVersion, arm: arm))
    }

    private func feedback(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await server.decodeBody(FeedbackRequest.self, from: request)!
        guard !body.user.isEmpty else { throw APIError(.badRequest, "field 'user' must not be empty") }
        guard !body.item.isEmpty else { throw APIError(.badRequest, "field 'item' must not be empty") }
        let (arm, engine) = server.route(user: body.user)
        let reward: Float
        switch (body.rating, body.reward) {
        case (nil, nil), (.some, .some):
            throw APIError(.badRequest, "give exactly one of 'rating' and 'reward'")
        case let (rating?, nil):
            guard rating.isFinite else { throw APIError(.badRequest, "field 'rating' must be a finite number") }
            reward = engine.rewardForRating(rating)
        case let (nil, value?):
            guard value.isFinite else { throw APIError(.badRequest, "field 'reward' must be a finite number") }
            reward = value
        }
        try engine.requireReady()
        let version = engine.modelVersion
        try engine.observe(user: body.user, item: body.item, reward: reward)
        server.metrics.increment("recrl_online_updates_total", [("arm", arm)])
        let event = FeedbackEvent(user: body.user, item: body.item, reward: reward, rating: body.rating,
                                  timestamp: Date(), modelVersion: version, arm: arm)
        let stored = try await server.eventLog.append(event)
        server.metrics.increment("recrl_feedback_events_total", [("arm", arm)])
        context.logger.debug("feedback", metadata: [
            "event_id": "\(stored.id ?? -1)", "user": "\(body.user)", "item": "\(body.item)",
            "reward": "\(reward)", "arm": "\(arm)", "model_version": "\(version)",
        ])
        return try JSONResponse.make(StatusResponse(status: "ok"))
    }
}
