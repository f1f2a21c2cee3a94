import CRecRLKernels

@usableFromInline
func recrlColumnSums(_ x: UnsafePointer<Float>, _ rows: Int, _ cols: Int, _ out: UnsafeMutablePointer<Float>, _ beta: Float) {
    recrl_column_sums(x, rows, cols, out, beta)
}
