import RecRLDRR

extension DRREngine {
    /// A list-wise (LIRD) model is served (its lists, see ``OnlineDRR``) but never learns
    /// online, so an engine asked to run background learning refuses one: throws
    /// ``DRRError/invalidConfiguration(_:)`` naming the policy when `backgroundLearning` and
    /// the manifest is a LIRD model's.
    static func checkServable(_ manifest: DRRManifest, backgroundLearning: Bool) throws(DRRError) {
        if let lird = manifest.lird, backgroundLearning {
            throw DRRError.invalidConfiguration(
                "'\(manifest.policy)' is a list-wise model (LIRD, lists of \(lird.listSize)), which is served without online "
                + "learning; serve it without --updates-per-second and retrain it offline")
        }
    }
}
