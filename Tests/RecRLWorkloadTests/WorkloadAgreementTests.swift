import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLAgents
import RecRLBenchmarkSupport
import RecRLTestSupport

/// Numerical agreement with the numpy reference of the benchmark workload.
///
/// `Golden/tiny-init.safetensors` was written by `recrl bench export --config tiny`;
/// `Golden/tiny-reference.json` by
/// `python3 Benchmarks/peers/reference.py --init Golden/tiny-init.safetensors --updates 10`
/// (numpy, float64). RecRL's float32 losses must agree to 1e-4 relative over 10 updates.
final class WorkloadAgreementTests: XCTestCase {
    struct Reference: Decodable { let critic_loss: [Double]; let actor_loss: [Double] }

    let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    func testLossesAgreeWithNumpyReference() throws {
        let tensors = try SafeTensors(contentsOf: golden.appendingPathComponent("tiny-init.safetensors")).tensors
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: golden.appendingPathComponent("tiny-reference.json")))
        var (learner, batch) = try XCTUnwrap(TrainingWorkload.tiny.importTensors(tensors))
        for t in 0..<10 {
            let stats = learner.update(batch)
            let actorLoss = try XCTUnwrap(stats.actorLoss)
            XCTAssertEqual(
                Double(stats.criticLoss), reference.critic_loss[t], accuracy: 1e-4 * abs(reference.critic_loss[t]) + 1e-7,
                "critic loss at update \(t + 1)")
            XCTAssertEqual(
                Double(actorLoss), reference.actor_loss[t], accuracy: 1e-4 * abs(reference.actor_loss[t]) + 1e-7,
                "actor loss at update \(t + 1)")
        }
    }

    func testExportImportRoundTrip() throws {
        let w = TrainingWorkload.tiny
        let learner = w.makeLearner(seed: 3), batch = w.makeBatch(seed: 4)
        let tensors = TrainingWorkload.exportTensors(learner: learner, batch: batch)
        let decoded = try SafeTensors(bytes: SafeTensors(tensors: tensors).encoded()).tensors
        let (l2, b2) = try XCTUnwrap(w.importTensors(decoded))
        XCTAssertEqual(l2.actor.namedParameters(), learner.actor.namedParameters())
        XCTAssertEqual(l2.critics[0].namedParameters(), learner.critics[0].namedParameters())
        XCTAssertEqual(b2.states, batch.states)
        XCTAssertEqual(b2.discounts, batch.discounts)
        XCTAssertNil(w.importTensors([:]), "missing tensors are rejected")
    }

    func testFlopCountsMatchWorkloadDocument() {
        // WORKLOAD.md: paper 0.215 GFLOP, medium 8.06, large 429.5 per update.
        XCTAssertEqual(TrainingWorkload.named("paper")!.flopsPerUpdate / 1e9, 0.2152, accuracy: 5e-4)
        XCTAssertEqual(TrainingWorkload.named("medium")!.flopsPerUpdate / 1e9, 8.056, accuracy: 5e-3)
        XCTAssertEqual(TrainingWorkload.named("large")!.flopsPerUpdate / 1e9, 429.5, accuracy: 0.5)
    }

    /// The GEMM list that `recrl bench gemm` and the benchmark suite time adds up to the same
    /// FLOPs, and holds the products one expects of `paper` (e.g. the critic's first layer,
    /// 64 × 400 → 256, forward three times).
    func testStepGEMMsAddUpToTheFlopCount() {
        for w in TrainingWorkload.standard + [TrainingWorkload.tiny] {
            let total = w.stepGEMMs.reduce(0.0) { $0 + $1.key.flops * Double($1.value) }
            XCTAssertEqual(total, w.flopsPerUpdate, accuracy: 1e-9 * w.flopsPerUpdate, w.name)
        }
        let paper = TrainingWorkload.named("paper")!.stepGEMMs
        XCTAssertEqual(paper[TrainingWorkload.GEMM(m: 64, k: 400, n: 256, ta: false, tb: false)], 3)
        XCTAssertEqual(paper[TrainingWorkload.GEMM(m: 64, k: 256, n: 400, ta: false, tb: true)], 2)
        XCTAssertEqual(paper[TrainingWorkload.GEMM(m: 256, k: 64, n: 100, ta: true, tb: false)], 1)
        XCTAssertEqual(paper.count, 15)
        XCTAssertEqual(TrainingWorkload.GEMM(m: 64, k: 256, n: 400, ta: false, tb: true).label, "64x256x400 Bᵀ")
    }
}
