import XCTest
import RecRLTensor
import RecRLAgents
import RecRLTestSupport

/// A transition whose every field encodes its number `i`, so a sampled row can be traced back.
private func add<B: ReplayBuffer>(_ i: Int, to buffer: inout B) {
    let f = Float(i)
    buffer.add(
        state: Tensor([f, f + 0.5]), action: Tensor([-f]), reward: f * 10,
        discount: i % 2 == 0 ? 1 : 0, nextState: Tensor([f + 1, f + 1.5]))
}

private func checkRow(_ batch: TransitionBatch, _ row: Int, isTransition i: Int, file: StaticString = #filePath, line: UInt = #line) {
    let f = Float(i)
    XCTAssertEqual(batch.states[row, 0], f, file: file, line: line)
    XCTAssertEqual(batch.states[row, 1], f + 0.5, file: file, line: line)
    XCTAssertEqual(batch.actions[row, 0], -f, file: file, line: line)
    XCTAssertEqual(batch.rewards[flat: row], f * 10, file: file, line: line)
    XCTAssertEqual(batch.discounts[flat: row], i % 2 == 0 ? 1 : 0, file: file, line: line)
    XCTAssertEqual(batch.nextStates[row, 0], f + 1, file: file, line: line)
    XCTAssertEqual(batch.nextStates[row, 1], f + 1.5, file: file, line: line)
}

final class UniformReplayBufferTests: XCTestCase {
    /// After every number of insertions around two wrap-arounds, the buffer holds exactly
    /// the most recent `capacity` transitions in their slots, and samples only those.
    func testEveryWrapAroundPosition() {
        for capacity in [1, 2, 3, 5, 8] {
            var buffer = UniformReplayBuffer(capacity: capacity, stateSize: 2, actionSize: 1)
            var batch = TransitionBatch(batchSize: 16, stateSize: 2, actionSize: 1)
            var rng = testRNG(UInt64(capacity))
            for n in 1...(2 * capacity + 1) {
                add(n - 1, to: &buffer)
                XCTAssertEqual(buffer.count, min(n, capacity), "capacity \(capacity), after \(n)")
                XCTAssertEqual(buffer.position, n % capacity)
                XCTAssertEqual(buffer.isFull, n >= capacity)
                // Slot s holds the latest transition i with i % capacity == s.
                for slot in 0..<buffer.count {
                    let newest = ((n - 1 - slot) / capacity) * capacity + slot
                    XCTAssertEqual(buffer.transition(at: slot).reward, Float(newest) * 10, "capacity \(capacity), n \(n), slot \(slot)")
                }
                buffer.sample(into: &batch, using: &rng)
                let live = Set((max(0, n - capacity)..<n))
                for row in 0..<batch.count {
                    let i = Int(batch.states[row, 0])
                    XCTAssert(live.contains(i), "sampled stale transition \(i) (capacity \(capacity), n \(n))")
                    XCTAssertEqual(batch.indices[row], i % capacity)
                    XCTAssertEqual(batch.weights[flat: row], 1)
                    checkRow(batch, row, isTransition: i)
                }
            }
        }
    }

    func testCapacityOneAlwaysReturnsTheLatest() {
        var buffer = UniformReplayBuffer(capacity: 1, stateSize: 2, actionSize: 1)
        var batch = TransitionBatch(batchSize: 4, stateSize: 2, actionSize: 1)
        var rng = testRNG()
        for i in 0..<5 {
            add(i, to: &buffer)
            buffer.sample(into: &batch, using: &rng)
            for row in 0..<4 { checkRow(batch, row, isTransition: i) }
        }
    }

    func testSamplingIsSeededAndCoversTheBuffer() {
        var buffer = UniformReplayBuffer(capacity: 10, stateSize: 2, actionSize: 1)
        for i in 0..<10 { add(i, to: &buffer) }
        var a = TransitionBatch(batchSize: 32, stateSize: 2, actionSize: 1), b = a
        var r1 = testRNG(5), r2 = testRNG(5)
        buffer.sample(into: &a, using: &r1)
        buffer.sample(into: &b, using: &r2)
        XCTAssertEqual(a, b)
        var seen = Set<Int>()
        for _ in 0..<20 { buffer.sample(into: &a, using: &r1); seen.formUnion(a.indices) }
        XCTAssertEqual(seen, Set(0..<10))
    }

    func testSamplingAllocatesNothing() throws {
        var buffer = UniformReplayBuffer(capacity: 100, stateSize: 2, actionSize: 1)
        for i in 0..<100 { add(i, to: &buffer) }
        var batch = TransitionBatch(batchSize: 32, stateSize: 2, actionSize: 1)
        var rng = testRNG()
        buffer.sample(into: &batch, using: &rng)
        let n = try countAllocations { for _ in 0..<10 { buffer.sample(into: &batch, using: &rng) } }
        XCTAssertEqual(n, 0)
    }

    func testBatchFromTensorsChecksShapes() throws {
        let s = Tensor(zeros: [4, 3]), a = Tensor(zeros: [4, 2]), r = Tensor(zeros: [4])
        let batch = try TransitionBatch(states: s, actions: a, rewards: r, nextStates: s, discounts: r)
        XCTAssertEqual(batch.count, 4)
        XCTAssertEqual(batch.weights.scalars, [1, 1, 1, 1])
        XCTAssertThrowsError(try TransitionBatch(states: s, actions: Tensor(zeros: [3, 2]), rewards: r, nextStates: s, discounts: r))
        XCTAssertThrowsError(try TransitionBatch(states: s, actions: a, rewards: Tensor(zeros: [5]), nextStates: s, discounts: r))
    }
}

final class PrioritizedReplayBufferTests: XCTestCase {
    func testSumTreeSumsMinimaAndSearch() {
        var tree = SumTree(capacity: 5)
        for (i, v) in [1.0, 2, 0, 4, 3].enumerated() { tree.set(i, to: v) }
        XCTAssertEqual(tree.total, 10)
        XCTAssertEqual(tree.minimum, 0)
        XCTAssertEqual(tree.find(prefix: 0), 0)
        XCTAssertEqual(tree.find(prefix: 0.999), 0)
        XCTAssertEqual(tree.find(prefix: 1), 1)
        XCTAssertEqual(tree.find(prefix: 2.999), 1)
        XCTAssertEqual(tree.find(prefix: 3), 3, "the zero leaf is skipped")
        XCTAssertEqual(tree.find(prefix: 7), 4)
        XCTAssertEqual(tree.find(prefix: 10), 4, "a prefix at the total gives the last positive leaf")
        tree.set(2, to: 5)
        XCTAssertEqual(tree.total, 15)
        XCTAssertEqual(tree.minimum, 1)
    }

    /// Sampling frequencies match `p^α / Σ p^α` (chi-square over 64 000 draws, seeded).
    func testSamplingFrequenciesMatchPriorities() {
        let n = 8, alpha = 0.7
        var buffer = PrioritizedReplayBuffer(capacity: n, stateSize: 2, actionSize: 1, alpha: alpha)
        for i in 0..<n { add(i, to: &buffer) }
        let errors: [Float] = [0.1, 0.5, 1, 2, 3, 0.05, 4, 1.5]
        buffer.updatePriorities(indices: Array(0..<n), tdErrors: Tensor(errors))
        let raw = errors.map { pow(Double($0) + 1e-6, alpha) }
        let expected = raw.map { $0 / raw.reduce(0, +) }
        for i in 0..<n { XCTAssertEqual(buffer.probability(ofSlot: i), expected[i], accuracy: 1e-6) }

        var batch = TransitionBatch(batchSize: 64, stateSize: 2, actionSize: 1)
        var rng = testRNG(11)
        var counts = [Int](repeating: 0, count: n)
        let draws = 1000
        for _ in 0..<draws {
            buffer.sample(into: &batch, using: &rng)
            for row in 0..<batch.count {
                counts[batch.indices[row]] += 1
                checkRow(batch, row, isTransition: batch.indices[row])
            }
        }
        let total = Double(draws * batch.count)
        let chi2 = (0..<n).reduce(0.0) { s, i in
            let e = expected[i] * total
            return s + (Double(counts[i]) - e) * (Double(counts[i]) - e) / e
        }
        // 7 degrees of freedom: P(χ² > 24.32) = 0.001.
        XCTAssertLessThan(chi2, 24.32, "counts \(counts), expected \(expected.map { $0 * total })")
    }

    func testImportanceWeightsAndBetaAnnealing() {
        let n = 4
        var buffer = PrioritizedReplayBuffer(
            capacity: n, stateSize: 2, actionSize: 1, alpha: 1,
            beta: .linear(from: 0.5, to: 1, steps: 2), epsilon: 1e-6)
        for i in 0..<n { add(i, to: &buffer) }
        buffer.updatePriorities(indices: [0, 1, 2, 3], tdErrors: Tensor([1, 2, 3, 4]))
        var batch = TransitionBatch(batchSize: 8, stateSize: 2, actionSize: 1)
        var rng = testRNG()
        for beta in [0.5, 0.75, 1.0, 1.0] {
            buffer.sample(into: &batch, using: &rng)
            // w_i = (N P_i)^−β / max_j (N P_j)^−β = (p_min / p_i)^β with p = |δ| + ε.
            for row in 0..<batch.count {
                let p = Double(batch.indices[row] + 1) + 1e-6
                XCTAssertEqual(Double(batch.weights[flat: row]), pow((1 + 1e-6) / p, beta), accuracy: 1e-5)
            }
        }
        XCTAssertEqual(buffer.samplesDrawn, 4)
    }

    func testNewTransitionsGetTheMaxPriority() {
        var buffer = PrioritizedReplayBuffer(capacity: 4, stateSize: 2, actionSize: 1, alpha: 1)
        add(0, to: &buffer)
        buffer.updatePriorities(indices: [0], tdErrors: Tensor([-3]))
        XCTAssertEqual(buffer.maxPriority, 3 + 1e-6, accuracy: 1e-6)
        add(1, to: &buffer)
        XCTAssertEqual(buffer.probability(ofSlot: 1), 0.5, accuracy: 1e-6)
    }

    func testWrapAroundAndCapacityOne() {
        var buffer = PrioritizedReplayBuffer(capacity: 1, stateSize: 2, actionSize: 1)
        var batch = TransitionBatch(batchSize: 3, stateSize: 2, actionSize: 1)
        var rng = testRNG()
        for i in 0..<4 {
            add(i, to: &buffer)
            buffer.sample(into: &batch, using: &rng)
            for row in 0..<3 { checkRow(batch, row, isTransition: i); XCTAssertEqual(batch.weights[flat: row], 1, accuracy: 1e-6) }
        }
        var three = PrioritizedReplayBuffer(capacity: 3, stateSize: 2, actionSize: 1)
        for i in 0..<7 {
            add(i, to: &three)
            three.sample(into: &batch, using: &rng)
            for row in 0..<3 {
                let j = Int(batch.states[row, 0])
                XCTAssert(j > i - 3 && j <= i, "stale transition \(j) after \(i)")
                checkRow(batch, row, isTransition: j)
            }
        }
    }
}
