import RecRLDRR

extension DRREngine {
    /// Refuses a list-wise (LIRD) model: ``OnlineDRR`` ranks by one action vector per user,
    /// and a LIRD model's actor outputs one per list position, so serving it needs a list
    /// engine (not written yet). Throws ``DRRError/invalidModel(_:)`` naming the policy.
    static func checkItemWise(_ manifest: DRRManifest) throws(DRRError) {
        if let lird = manifest.lird {
            throw DRRError.invalidModel("'\(manifest.policy)' is a list-wise model (LIRD, lists of \(lird.listSize)); the DRR engine serves item-wise DRR models only")
        }
    }
}
