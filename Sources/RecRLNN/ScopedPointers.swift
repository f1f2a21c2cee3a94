import RecRLTensor

extension Tensor {
    /// Calls `body` with the address of the scalars, row-major. The pointer is valid only
    /// during the call: `body` must not keep it.
    @inline(__always)
    func withBase<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Calls `body` with the mutable address of the scalars (storage made unique first);
    /// valid only during the call, as for ``withBase(_:)``.
    @inline(__always)
    mutating func withMutableBase<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}

extension Optional where Wrapped == Tensor {
    /// Calls `body` with the address of the wrapped tensor's scalars, or nil when there is
    /// none; valid only during the call.
    @inline(__always)
    func withBase<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let tensor): tensor.withBase { body($0) }
        case .none: body(nil)
        }
    }
}
