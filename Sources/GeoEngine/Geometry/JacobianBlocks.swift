/// Transposed Jacobians J^T (d x D, row-major) stored back to back.
struct JacobianBlocks {
    let scalars: [Double]
    let d: Int, dataDim: Int

    /// J_p^T v for the D values of `v` starting at `offset`: d entries.
    func apply(_ p: Int, _ v: [Double], offset: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d)
        let base = p * d * dataDim
        for k in 0..<d {
            var sum = 0.0
            let row = base + k * dataDim
            for c in 0..<dataDim { sum += scalars[row + c] * v[offset + c] }
            out[k] = sum
        }
        return out
    }

    /// J_p^T J_p, d x d row-major (one dgemm).
    func gram(_ p: Int) throws -> [Double] { try cross(p, p) }

    /// J_p^T J_q, d x d row-major (one dgemm).
    func cross(_ p: Int, _ q: Int) throws -> [Double] {
        var out = [Double](repeating: 0, count: d * d)
        guard d > 0, dataDim > 0 else { return out }
        try scalars.withUnsafeBufferPointer { ps in
            try out.withUnsafeMutableBufferPointer { po in
                guard let base = ps.baseAddress else { return }
                let bp = base + p * d * dataDim, bq = base + q * d * dataDim
                try dgemm(transB: true, m: d, n: d, k: dataDim, bp, lda: dataDim, bq, ldb: dataDim, po.baseAddress, ldc: d)
            }
        }
        return out
    }
}
