/// Selects the `k` largest scores without sorting everything: a size-`k` min-heap
/// over one pass, O(n log k). Reusable: a selector keeps its buffers, so ranking a
/// catalogue in a hot loop allocates nothing once warm.
public struct TopKSelector: Sendable {
    private var heapIndices: [Int32] = []
    private var heapScores: [Float] = []
    /// Buffers holding the selection in their first ``count`` entries, best first
    /// (allocation-free access; see ``selectedIndices`` / ``selectedScores``).
    public private(set) var indices: [Int] = []
    /// Scores matching ``indices``.
    public private(set) var scores: [Float] = []

    public init() {}

    /// Selects the `k` best-scoring positions of `values`, skipping positions for which
    /// `isExcluded` returns true and NaN scores. Ties go to the lower index. Fewer than
    /// `k` results when fewer positions are eligible.
    public mutating func select(_ values: UnsafeBufferPointer<Float>, k: Int, isExcluded: (Int) -> Bool = { _ in false }) {
        precondition(k >= 0, "top-K needs k >= 0, got \(k)")
        let capacity = Swift.min(k, values.count)
        if heapScores.count < capacity {
            heapScores = [Float](repeating: 0, count: capacity)
            heapIndices = [Int32](repeating: 0, count: capacity)
            indices = [Int](repeating: 0, count: capacity)
            scores = [Float](repeating: 0, count: capacity)
        }
        var size = 0
        heapScores.withUnsafeMutableBufferPointer { hs in
            heapIndices.withUnsafeMutableBufferPointer { hi in
                let s = hs.baseAddress!, ix = hi.baseAddress!
                if capacity > 0 {
                    for i in 0..<values.count {
                        let v = values[i]
                        if v.isNaN { continue }
                        if size == capacity {
                            // s[0] is the worst kept; a later index must beat it strictly.
                            if !(v > s[0]) || isExcluded(i) { continue }
                            s[0] = v
                            ix[0] = Int32(i)
                            Self.siftDown(s, ix, size, 0)
                        } else {
                            if isExcluded(i) { continue }
                            s[size] = v
                            ix[size] = Int32(i)
                            size += 1
                            Self.siftUp(s, ix, size - 1)
                        }
                    }
                }
                // Pop worst-first into positions size-1 … 0 of the output: best first.
                indices.withUnsafeMutableBufferPointer { oi in
                    scores.withUnsafeMutableBufferPointer { os in
                        var remaining = size
                        while remaining > 0 {
                            oi[remaining - 1] = Int(ix[0])
                            os[remaining - 1] = s[0]
                            remaining -= 1
                            s[0] = s[remaining]
                            ix[0] = ix[remaining]
                            if remaining > 0 { Self.siftDown(s, ix, remaining, 0) }
                        }
                    }
                }
            }
        }
        resultCount = size
    }

    private var resultCount = 0

    /// The number of selected entries (≤ k).
    public var count: Int { resultCount }

    /// Selects the `k` best entries of a rank-1 tensor (see ``select(_:k:isExcluded:)``).
    public mutating func select(_ values: Tensor, k: Int, isExcluded: (Int) -> Bool = { _ in false }) {
        values.withUnsafeBufferPointer { select($0, k: k, isExcluded: isExcluded) }
    }

    /// The selected indices as an array, best first.
    public var selectedIndices: [Int] { Array(indices.prefix(resultCount)) }
    /// The selected scores as an array, best first.
    public var selectedScores: [Float] { Array(scores.prefix(resultCount)) }

    /// `a` is worse than `b`: lower score, or equal score and higher index.
    @inline(__always)
    private static func worse(_ s: UnsafeMutablePointer<Float>, _ ix: UnsafeMutablePointer<Int32>, _ a: Int, _ b: Int) -> Bool {
        s[a] < s[b] || (s[a] == s[b] && ix[a] > ix[b])
    }

    @inline(__always)
    private static func swap(_ s: UnsafeMutablePointer<Float>, _ ix: UnsafeMutablePointer<Int32>, _ a: Int, _ b: Int) {
        let t = s[a]; s[a] = s[b]; s[b] = t
        let u = ix[a]; ix[a] = ix[b]; ix[b] = u
    }

    private static func siftUp(_ s: UnsafeMutablePointer<Float>, _ ix: UnsafeMutablePointer<Int32>, _ start: Int) {
        var c = start
        while c > 0 {
            let p = (c - 1) / 2
            guard worse(s, ix, c, p) else { return }
            swap(s, ix, c, p)
            c = p
        }
    }

    private static func siftDown(_ s: UnsafeMutablePointer<Float>, _ ix: UnsafeMutablePointer<Int32>, _ n: Int, _ start: Int) {
        var p = start
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < n && worse(s, ix, l, m) { m = l }
            if r < n && worse(s, ix, r, m) { m = r }
            if m == p { return }
            swap(s, ix, p, m)
            p = m
        }
    }
}
