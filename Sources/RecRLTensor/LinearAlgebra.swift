import CRecRLBLAS

extension Tensor {
    /// `op(self) · op(other)` for rank-2 tensors, through single-precision GEMM.
    ///
    /// - Parameters:
    ///   - other: the right operand.
    ///   - transposeSelf: use `selfᵀ` (default false).
    ///   - transposeOther: use `otherᵀ` (default false).
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        var out = Tensor(zeros: [0, 0])
        RecRLTensor.matmul(self, other, transposeA: transposeSelf, transposeB: transposeOther, into: &out)
        return out
    }

    /// `self · x` for a rank-2 matrix and a rank-1 vector, through GEMV.
    public func matvec(_ x: Tensor, transposeSelf: Bool = false) -> Tensor {
        var out = Tensor(zeros: [0])
        RecRLTensor.matvec(self, x, transposeA: transposeSelf, into: &out)
        return out
    }
}

/// `out = alpha · op(a) · op(b) + beta · out` (single-precision GEMM).
///
/// With `beta == 0`, `out` is reshaped to the product's shape (reusing its storage,
/// allocating nothing when it already has that shape); with `beta != 0` it must
/// already have that shape. Stops with both shapes named when they do not fit.
@inlinable
public func matmul(
    _ a: Tensor, _ b: Tensor, transposeA ta: Bool = false, transposeB tb: Bool = false,
    into out: inout Tensor, alpha: Float = 1, beta: Float = 0
) {
    guard a.rank == 2, b.rank == 2 else { shapeFailure("matmul", a.shape, b.shape) }
    let m = ta ? a.shape[1] : a.shape[0]
    let k = ta ? a.shape[0] : a.shape[1]
    let kb = tb ? b.shape[1] : b.shape[0]
    let n = tb ? b.shape[0] : b.shape[1]
    guard k == kb else {
        shapeFailure("matmul(transposeA: \(ta), transposeB: \(tb))", a.shape, b.shape)
    }
    if beta == 0 {
        out.prepare(rows: m, columns: n)
    } else {
        guard out.rank == 2, out.shape[0] == m, out.shape[1] == n else { shapeFailure("matmul output", [m, n], out.shape) }
        out.makeUnique()
    }
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { out.storage.pointer.update(repeating: 0, count: m * n) } else { out *= beta }
        return
    }
    rawSgemm(
        ta, tb, m, n, k, alpha, a.storage.pointer, a.shape[1], b.storage.pointer, b.shape[1],
        beta, out.storage.pointer, n)
}

/// `out = alpha · op(a) · x + beta · out` for a rank-2 `a` and rank-1 `x` (GEMV).
@inlinable
public func matvec(_ a: Tensor, _ x: Tensor, transposeA ta: Bool = false, into out: inout Tensor, alpha: Float = 1, beta: Float = 0) {
    guard a.rank == 2, x.rank == 1 else { shapeFailure("matvec", a.shape, x.shape) }
    let rows = a.shape[0], cols = a.shape[1]
    let inLen = ta ? rows : cols, outLen = ta ? cols : rows
    guard x.count == inLen else { shapeFailure("matvec(transposed: \(ta))", a.shape, x.shape) }
    if beta == 0 {
        out.prepare(count: outLen)
    } else {
        guard out.shape == [outLen] else { shapeFailure("matvec output", [outLen], out.shape) }
        out.makeUnique()
    }
    if outLen == 0 { return }
    if inLen == 0 {
        out.storage.pointer.update(repeating: 0, count: outLen)
        return
    }
    cblas_sgemv(
        CblasRowMajor, ta ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols), alpha,
        a.storage.pointer, Int32(cols), x.storage.pointer, 1, beta, out.storage.pointer, 1)
}

/// Dense linear solvers through LAPACKE. Matrices are rank-2, row-major.
public enum LinearAlgebra {
    /// Solves `A X = B` for a symmetric positive-definite `A` (`[n, n]`) and `B`
    /// (`[n, m]` or `[n]`) by Cholesky (LAPACK `sposv`).
    /// - Throws: ``TensorError/notPositiveDefinite(minor:)`` when `A` is not SPD;
    ///   ``TensorError/shapeMismatch(operation:lhs:rhs:)`` for bad shapes.
    public static func solveSymmetricPositiveDefinite(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
        var factor = a, x = b
        try solveSymmetricPositiveDefinite(factor: &factor, solution: &x)
        return x
    }

    /// In-place SPD solve for hot loops (e.g. ALS): on return `factor` holds the
    /// Cholesky factor and `solution` (which holds `B` on entry) holds `X`.
    public static func solveSymmetricPositiveDefinite(factor a: inout Tensor, solution b: inout Tensor) throws(TensorError) {
        let (n, nrhs) = try checkSquare("solveSymmetricPositiveDefinite", a, b)
        if n == 0 { return }
        let info = a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                LAPACKE_sposv(
                    LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), Int32(nrhs),
                    pa.baseAddress, Int32(n), pb.baseAddress, Int32(nrhs))
            }
        }
        if info > 0 { throw .notPositiveDefinite(minor: Int(info)) }
        if info < 0 { throw .lapackArgument(routine: "sposv", info: Int(info)) }
    }

    /// Solves `A X = B` for a general square `A` by LU with partial pivoting (LAPACK `sgesv`).
    /// - Throws: ``TensorError/singularMatrix(pivot:)`` when `A` is exactly singular.
    public static func solve(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
        var lu = a, x = b
        let (n, nrhs) = try checkSquare("solve", a, b)
        if n == 0 { return x }
        var pivots = [Int32](repeating: 0, count: n)
        let info = lu.withUnsafeMutableBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { pb in
                LAPACKE_sgesv(
                    LAPACK_ROW_MAJOR, Int32(n), Int32(nrhs), pa.baseAddress, Int32(n),
                    &pivots, pb.baseAddress, Int32(nrhs))
            }
        }
        if info > 0 { throw .singularMatrix(pivot: Int(info)) }
        if info < 0 { throw .lapackArgument(routine: "sgesv", info: Int(info)) }
        return x
    }

    /// The lower-triangular Cholesky factor `L` with `A = L Lᵀ` (LAPACK `spotrf`).
    /// - Throws: ``TensorError/notPositiveDefinite(minor:)`` when `A` is not SPD.
    public static func cholesky(_ a: Tensor) throws(TensorError) -> Tensor {
        guard a.rank == 2, a.shape[0] == a.shape[1] else {
            throw .shapeMismatch(operation: "cholesky (needs a square matrix)", lhs: a.shape, rhs: a.shape)
        }
        let n = a.shape[0]
        var l = a
        if n == 0 { return l }
        let info = l.withUnsafeMutableBufferPointer { p in
            LAPACKE_spotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), p.baseAddress, Int32(n))
        }
        if info > 0 { throw .notPositiveDefinite(minor: Int(info)) }
        if info < 0 { throw .lapackArgument(routine: "spotrf", info: Int(info)) }
        l.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for j in (i + 1)..<n { p[i * n + j] = 0 } }
        }
        return l
    }

    /// Replaces a symmetric positive-definite `A` (`[n, n]`, only its lower triangle is read)
    /// by its inverse, in place, through Cholesky: LAPACK `spotrf` then `spotri`; the upper
    /// triangle is filled from the lower so the result is the full symmetric inverse.
    ///
    /// Works in the tensor's own storage (no second `n × n` buffer), for large Gram matrices
    /// such as EASE's item-item matrix.
    /// - Throws: ``TensorError/notPositiveDefinite(minor:)`` when `A` is not SPD (then `a`
    ///   holds a partial factorisation); ``TensorError/shapeMismatch(operation:lhs:rhs:)``
    ///   when `a` is not square.
    public static func invertSymmetricPositiveDefinite(_ a: inout Tensor) throws(TensorError) {
        guard a.rank == 2, a.shape[0] == a.shape[1] else {
            throw .shapeMismatch(operation: "invertSymmetricPositiveDefinite (needs a square matrix)", lhs: a.shape, rhs: a.shape)
        }
        let n = a.shape[0]
        if n == 0 { return }
        let lower = Int8(UInt8(ascii: "L"))
        let (factorInfo, inverseInfo) = a.withUnsafeMutableBufferPointer { p -> (Int32, Int32) in
            let f = LAPACKE_spotrf(LAPACK_ROW_MAJOR, lower, Int32(n), p.baseAddress, Int32(n))
            guard f == 0 else { return (f, 0) }
            let i = LAPACKE_spotri(LAPACK_ROW_MAJOR, lower, Int32(n), p.baseAddress, Int32(n))
            if i == 0 { for r in 0..<n { for c in (r + 1)..<n { p[r * n + c] = p[c * n + r] } } }
            return (f, i)
        }
        if factorInfo > 0 { throw .notPositiveDefinite(minor: Int(factorInfo)) }
        if factorInfo < 0 { throw .lapackArgument(routine: "spotrf", info: Int(factorInfo)) }
        // spotri fails only on a zero diagonal of the factor, which spotrf has ruled out.
        if inverseInfo > 0 { throw .notPositiveDefinite(minor: Int(inverseInfo)) }
        if inverseInfo < 0 { throw .lapackArgument(routine: "spotri", info: Int(inverseInfo)) }
    }

    private static func checkSquare(_ op: String, _ a: Tensor, _ b: Tensor) throws(TensorError) -> (Int, Int) {
        guard a.rank == 2, a.shape[0] == a.shape[1], b.rank == 1 || b.rank == 2, b.shape[0] == a.shape[0] else {
            throw .shapeMismatch(operation: op, lhs: a.shape, rhs: b.shape)
        }
        return (a.shape[0], b.rank == 1 ? 1 : b.shape[1])
    }
}
