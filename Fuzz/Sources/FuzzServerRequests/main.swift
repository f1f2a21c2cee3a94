// Fuzzes the server's request decoding and validation (RecRLServer's RequestValidation, the
// functions the routes call on every body): any bytes give a validated request or a
// RequestError with a 4xx status, never a crash; a validated request respects the limits.
import Foundation
import FuzzDriver
import RecRLServer

let configuration = ServerConfiguration(maxInferBatch: 64, maxInferElements: 1 << 16)
let scale = FeedbackScale(rewardRange: -1...1, ratingRange: 1...5)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerRequests(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Data(fuzzBytes(data, size))
    func check4xx(_ error: RequestError) {
        precondition((400...499).contains(error.httpStatus), "a validation error must be a 4xx, got \(error)")
    }
    do {
        let query = try RequestValidation.recommend(body, configuration: configuration)
        precondition((1...configuration.maxK).contains(query.k) && !query.user.isEmpty)
    } catch { check4xx(error) }
    do {
        let submission = try RequestValidation.feedback(body, policy: .reject) { _ in scale }
        if let reward = submission.reward { precondition(scale.rewardRange.contains(reward)) }
        if let rating = submission.rating { precondition(scale.ratingRange!.contains(rating)) }
        precondition((submission.reward == nil) != (submission.rating == nil))
        let clipped = try RequestValidation.feedback(body, policy: .clip) { _ in scale }
        precondition(clipped.user == submission.user)
    } catch { check4xx(error) }
    do {
        let query = try RequestValidation.infer(body, configuration: configuration)
        switch query.input {
        case let .states(values, batch, width):
            precondition(batch <= configuration.maxInferBatch && values.count == batch * width)
            precondition(values.allSatisfy(\.isFinite))
        case let .users(users):
            precondition(users.count <= configuration.maxInferBatch)
        }
    } catch { check4xx(error) }
    do {
        _ = try RequestValidation.reload(body)
    } catch { check4xx(error) }
    return 0
}

@_cdecl("FuzzServerRequests_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, test: fuzzServerRequests)
}
