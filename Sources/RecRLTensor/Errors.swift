/// Errors raised by tensor construction and linear algebra.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The number of scalars does not match the product of the shape.
    case scalarCountMismatch(shape: [Int], scalarCount: Int)
    /// A dimension is negative, or the product of the dimensions does not fit in an `Int`.
    case invalidShape([Int])
    /// Two operands' shapes do not fit the operation.
    case shapeMismatch(operation: String, lhs: [Int], rhs: [Int])
    /// A general solve met an exactly singular matrix: `U(pivot, pivot)` is zero (1-based).
    case singularMatrix(pivot: Int)
    /// A Cholesky factorisation or SPD solve met a matrix that is not positive definite:
    /// the leading minor of this order (1-based) is not positive.
    case notPositiveDefinite(minor: Int)
    /// LAPACK reported an illegal argument (a bug in RecRL if it ever happens).
    case lapackArgument(routine: String, info: Int)

    public var description: String {
        switch self {
        case let .scalarCountMismatch(shape, count):
            let needed = Tensor.elementCount(of: shape).map(String.init) ?? "too many"
            return "shape \(shape) needs \(needed) scalars, got \(count)"
        case let .invalidShape(shape):
            return "invalid shape \(shape): dimensions must be non-negative and their product must fit in an Int"
        case let .shapeMismatch(op, lhs, rhs):
            return "\(op): shapes \(lhs) and \(rhs) do not match"
        case let .singularMatrix(pivot):
            return "matrix is singular: pivot \(pivot) is exactly zero"
        case let .notPositiveDefinite(minor):
            return "matrix is not symmetric positive definite: leading minor of order \(minor) is not positive"
        case let .lapackArgument(routine, info):
            return "\(routine): illegal value in argument \(-info)"
        }
    }
}

@inline(never) @usableFromInline
func shapeFailure(_ op: String, _ lhs: [Int], _ rhs: [Int], file: StaticString = #file, line: UInt = #line) -> Never {
    preconditionFailure(TensorError.shapeMismatch(operation: op, lhs: lhs, rhs: rhs).description, file: file, line: line)
}
