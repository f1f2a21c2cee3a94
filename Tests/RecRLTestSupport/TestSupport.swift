// Shared helpers for RecRL's tests: tolerance assertions, seeded generators,
// and a finite-difference gradient checker.
import XCTest
import RecRLTensor
import RecRLNN

/// A generator for tests, always seeded.
public func testRNG(_ seed: UInt64 = 0x5EED) -> Xoshiro256StarStar { Xoshiro256StarStar(seed: seed) }

/// Asserts `|a − b| ≤ absolute + relative · |b|`.
public func assertClose(
    _ a: Float, _ b: Float, absolute: Float = 1e-5, relative: Float = 1e-5,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    let ok = abs(a - b) <= absolute + relative * abs(b)
    XCTAssert(ok, "\(a) vs \(b) (tolerance \(absolute) + \(relative)·|b|) \(message())", file: file, line: line)
}

/// Asserts two tensors have the same shape and are element-wise close.
public func assertClose(
    _ a: Tensor, _ b: Tensor, absolute: Float = 1e-5, relative: Float = 1e-5,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.shape, b.shape, "shapes differ \(message())", file: file, line: line)
    guard a.shape == b.shape else { return }
    var worst: (Int, Float, Float)?
    for i in 0..<a.count {
        let x = a[flat: i], y = b[flat: i]
        if !(abs(x - y) <= absolute + relative * abs(y)) { worst = (i, x, y); break }
    }
    if let (i, x, y) = worst {
        XCTFail("element \(i): \(x) vs \(y) (tolerance \(absolute) + \(relative)·|b|) \(message())", file: file, line: line)
    }
}

/// Asserts two float arrays are element-wise close.
public func assertClose(
    _ a: [Float], _ b: [Float], absolute: Float = 1e-5, relative: Float = 1e-5,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "lengths differ \(message())", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where !(abs(x - y) <= absolute + relative * abs(y)) {
        XCTFail("element \(i): \(x) vs \(y) (tolerance \(absolute) + \(relative)·|b|) \(message())", file: file, line: line)
        return
    }
}

/// Central finite differences of a scalar function of a tensor, in Double
/// accumulation: `(f(x + h e_i) − f(x − h e_i)) / 2h` for every element.
public func numericalGradient(of f: (Tensor) -> Double, at x: Tensor, step h: Float = 5e-3) -> Tensor {
    var g = Tensor(zeros: x.shape)
    var probe = x
    for i in 0..<x.count {
        let original = x[flat: i]
        probe[flat: i] = original + h
        let up = f(probe)
        probe[flat: i] = original - h
        let down = f(probe)
        probe[flat: i] = original
        g[flat: i] = Float((up - down) / (2 * Double(h)))
    }
    return g
}

/// `Σ output ⊙ weights` in Double: a scalar probe loss whose gradient w.r.t. the output is `weights`.
public func weightedSum(_ output: Tensor, _ weights: Tensor) -> Double {
    var s = 0.0
    for i in 0..<output.count { s += Double(output[flat: i]) * Double(weights[flat: i]) }
    return s
}

/// Checks a layer's backward pass against finite differences for both the input
/// and every parameter, with the probe loss `L = Σ layer(x) ⊙ R` for a random `R`.
///
/// Tolerance: `absolute + relative · |numeric|` per element (defaults 2e-3 and 2e-2,
/// suited to float32 forward passes and a 5e-3 central-difference step).
///
/// `inputColumns`, when given, restricts the input check to those columns of every row (for
/// inputs that carry masks: a mask column feeds a step function, not a value).
public func checkLayerGradients<L: Layer>(
    _ layer: L, input: Tensor, seed: UInt64 = 7,
    absolute: Float = 2e-3, relative: Float = 2e-2, inputColumns: [Int]? = nil,
    file: StaticString = #filePath, line: UInt = #line
) {
    var rng = testRNG(seed)
    let probeOut = layer(input)
    let r = Tensor(randomUniform: probeOut.shape, in: -1...1, using: &rng)
    let (inputGradient, parameterGradient) = layer.gradient(at: input, outputGradient: r)
    let numericInput = numericalGradient(of: { weightedSum(layer($0), r) }, at: input)
    if let inputColumns {
        for row in 0..<input.rows {
            for c in inputColumns {
                let i = row * input.columns + c
                let a = inputGradient[flat: i], n = numericInput[flat: i]
                XCTAssertLessThanOrEqual(
                    abs(a - n), absolute + relative * abs(n), "input \(row), \(c) of \(L.self)", file: file, line: line)
            }
        }
    } else {
        assertClose(inputGradient, numericInput, absolute: absolute, relative: relative, "input gradient of \(L.self)", file: file, line: line)
    }
    let analytic = parameterGradient.namedParameters()
    for (name, p) in layer.namedParameters() {
        let numeric = numericalGradient(
            of: { value in
                var l = layer
                l.visitParameters { n, q in if n == name { q = value } }
                return weightedSum(l(input), r)
            }, at: p)
        guard let a = analytic[name] else { XCTFail("no gradient for \(name)", file: file, line: line); continue }
        assertClose(a, numeric, absolute: absolute, relative: relative, "gradient of \(name) in \(L.self)", file: file, line: line)
    }
}

import CRecRLMallocCounter

/// Whether this build counts allocations (glibc without a sanitizer: a sanitizer runtime
/// defines the allocator in every executable it links).
public var allocationCountingAvailable: Bool { recrl_malloc_counter_active() != 0 }

/// Whether this is a sanitizer build (`--sanitize=thread` or `address`): the sanitizer
/// runtime owns the allocator there, so the interposer is compiled out.
public var isSanitizedBuild: Bool { recrl_malloc_counter_sanitized() != 0 }

/// Why ``countAllocations(_:)`` cannot count in this (unsanitized) build.
public struct AllocationCounterUnavailable: Error, CustomStringConvertible {
    public var description: String { "allocation counter unavailable: the malloc interposer needs glibc" }
}

/// Heap allocations performed while running `body` (all threads).
///
/// - Throws: `XCTSkip` in a sanitizer build, before running `body`, so an allocation test is
///   reported as skipped there with the reason (never failed, never silently passed); the
///   assertions a test made before counting still count. ``AllocationCounterUnavailable``
///   (a test failure) in other builds that cannot interpose the allocator (other C
///   libraries). Otherwise what `body` throws.
public func countAllocations(_ body: () throws -> Void) throws -> Int {
    if isSanitizedBuild {
        throw XCTSkip("allocation counting is compiled out of sanitizer builds (the sanitizer runtime owns the allocator)")
    }
    guard allocationCountingAvailable else { throw AllocationCounterUnavailable() }
    let before = recrl_malloc_count()
    try body()
    return recrl_malloc_count() - before
}
