import Foundation
import Logging
import RecRLDRR

extension RecommendationServer {
    /// Keeps the engine of `arm` (default: the only engine, or control) on the version a
    /// ``ModelRegistry`` stage points at: every `interval` seconds it reads the stage pointer
    /// and, when it names a version other than the one last tried, reloads the engine from
    /// that version's folder with ``reload(arm:from:)``. Requests keep being served during a
    /// reload (the engine swaps the model atomically), so a promotion or a rollback drops none.
    ///
    /// A version that fails to load (another kind of model, e.g. DRR for a DeepPage engine, an
    /// incompatible catalogue, a bad checksum) is logged and counted in
    /// `recrl_model_reloads_total{result="error"}` by the reload; the engine keeps serving the
    /// previous one and the follower waits for the pointer to move again.
    ///
    /// Runs until the task is cancelled (e.g. by cancelling the task group that also runs
    /// ``run()``).
    /// - Parameters:
    ///   - servedVersion: the version the engine was loaded from at start, if any.
    ///   - interval: seconds between polls (> 0).
    public func follow(
        _ registry: ModelRegistry, stage: ModelRegistry.Stage, servedVersion: String?,
        arm: String? = nil, interval: Double
    ) async {
        var lastTried = servedVersion
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(max(0.01, interval) * 1e9))
            if Task.isCancelled { return }
            guard let version = registry.version(at: stage), version != lastTried else { continue }
            lastTried = version
            logger.info(
                "registry stage moved",
                metadata: [
                    "stage": "\(stage.rawValue)", "version": "\(version)", "registry": "\(registry.directory.path)",
                ])
            _ = try? await reload(arm: arm, from: registry.directory(of: version))
        }
    }
}
