import RecRLTensor

extension Tensor {
    /// The address of the scalars, for the kernels of this module's layers.
    ///
    /// Valid while this tensor's storage stays the same: until it is prepared to a larger
    /// shape, assigned, or released. Callers take it after every `prepare` of the step and
    /// keep the tensor alive meanwhile (a parameter, a stored property of a context).
    @inline(__always)
    var unsafeBase: UnsafePointer<Float> { withUnsafeBufferPointer { UnsafePointer($0.baseAddress!) } }

    /// The mutable address of the scalars (storage made unique first); same validity as ``unsafeBase``.
    @inline(__always)
    mutating func unsafeMutableBase() -> UnsafeMutablePointer<Float> {
        withUnsafeMutableBufferPointer { $0.baseAddress! }
    }
}
