/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seedable generator, used to seed others.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    /// The generator's whole state.
    public private(set) var state: UInt64

    /// A generator that starts from `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman & Vigna 2018): RecRL's default seedable generator.
///
/// There is no global random state in RecRL: every initialiser, sampler and
/// environment takes a generator explicitly, so a seed reproduces a run bit for bit.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Hashable {
    @usableFromInline var s0, s1, s2, s3: UInt64

    /// A generator whose 256-bit state is expanded from `seed` with SplitMix64.
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inlinable func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A new independent generator for a sub-task (e.g. one per environment),
    /// derived deterministically from this one's stream.
    public mutating func split() -> Xoshiro256StarStar { Xoshiro256StarStar(seed: next()) }
}

/// The default generator type.
public typealias RecRLRandom = Xoshiro256StarStar

extension RandomNumberGenerator {
    /// A float uniformly distributed in [0, 1), from the top 24 bits.
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A double uniformly distributed in [0, 1), from the top 53 bits.
    @inlinable
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal sample (Box–Muller on doubles).
    @inlinable
    public mutating func nextNormalFloat() -> Float {
        var u1 = nextUnitDouble()
        while u1 <= .leastNormalMagnitude { u1 = nextUnitDouble() }
        let u2 = nextUnitDouble()
        let r = (-2 * _log(u1)).squareRoot()
        return Float(r * _cos(2 * Double.pi * u2))
    }

    /// An integer uniformly distributed in `0..<upperBound` (Lemire's method).
    @inlinable
    public mutating func nextInt(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "nextInt(below:) needs a positive bound, got \(upperBound)")
        return Int(next(upperBound: UInt64(upperBound)))
    }
}
