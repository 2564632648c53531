/// A dense n-dimensional array of Doubles in row-major (C) order, with PyTorch's layout
/// conventions: a linear weight is [out, in], a conv2d weight [out, in, kh, kw], a
/// conv_transpose2d weight [in, out, kh, kw]. The scalar of an empty shape `[]` is one element.
public struct Tensor: Equatable {
    /// The extent of each dimension, outermost first.
    public let shape: [Int]
    /// Row-major entries; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Double]

    /// Wraps `scalars`; throws `GeoError.dimensionMismatch` when a dimension is negative or the
    /// count is not the product of `shape`.
    public init(shape: [Int], scalars: [Double]) throws {
        guard let count = Tensor.elementCount(shape) else {
            throw GeoError.dimensionMismatch("invalid tensor shape \(shape)")
        }
        guard scalars.count == count else {
            throw GeoError.dimensionMismatch("a tensor of shape \(shape) needs \(count) entries, got \(scalars.count)")
        }
        self.shape = shape; self.scalars = scalars
    }

    /// A tensor of the given shape filled with `value` (shape already validated by the caller).
    init(shape: [Int], repeating value: Double) {
        self.shape = shape
        scalars = [Double](repeating: value, count: Tensor.elementCount(shape) ?? 0)
    }

    /// Internal unchecked initialiser for code that has established the count.
    init(shape: [Int], unchecked scalars: [Double]) {
        self.shape = shape; self.scalars = scalars
    }

    /// The number of entries.
    public var count: Int { scalars.count }

    /// The product of `shape`, or nil when a dimension is negative or the product overflows.
    public static func elementCount(_ shape: [Int]) -> Int? { MemoryBudget.product(shape) }

    /// The rule for a shape that comes from a file (its owner: every reader of shapes applies
    /// it here, before anything of that shape is allocated):
    /// - every size is non-negative;
    /// - the product of the sizes, a size 0 counted as 1, is at most `maxFeaturesPerPoint`, so
    ///   that the entry count, every product of some of the sizes (strides, group and block
    ///   sizes) and every per-axis index table of the shape are far from overflow, also for a
    ///   shape without entries ([0, 2^62] is refused, not taken for the empty tensor it is);
    /// - `copies` arrays of Doubles as long as that product (its entries; for a shape without
    ///   entries, the per-axis tables its index maps are made of) fit in the memory budget.
    /// Returns the entry count. `what` names the value ("the output", "initializer 'w'"); the
    /// errors are `GeoError.format` and `GeoError.outOfMemory`.
    @discardableResult
    static func checkedCount(_ shape: [Int], copies: Int = 1, _ what: @autoclosure () -> String) throws -> Int {
        var extent = 1, count = 1
        for d in shape {
            guard d >= 0 else { throw GeoError.format("\(what()) has shape \(shapeString(shape)), with a negative size") }
            let (e, overflow) = extent.multipliedReportingOverflow(by: max(d, 1))
            guard !overflow, e <= maxFeaturesPerPoint else {
                throw GeoError.format("\(what()) has shape \(shapeString(shape)), more than georepl's \(maxFeaturesPerPoint) entries per value"
                                      + (shape.contains(0) ? " (an axis of size 0 counting as 1)" : ""))
            }
            extent = e; count *= d
        }
        try MemoryBudget.doubles(copies, extent, for: "\(what()) (shape \(shapeString(shape)))")
        return count
    }

    /// The tensor as a rows x cols matrix sharing its storage (rows * cols must equal count).
    func matrix(rows: Int, cols: Int) -> Matrix {
        Matrix(rows: rows, cols: cols, unchecked: scalars)
    }
}

/// Formats a shape the way error messages print it: `[64,3,4,4]`; a shape of more than 8
/// dimensions (from a file) is cut: `[1,1,1,1,1,1,1,1,...(1000 dims)]`.
func shapeString(_ shape: [Int]) -> String { UntrustedText.list(shape, unit: "dims", separator: ",") }

/// Several shapes as a message lists them, `[2,3] and [4,1]`: at most 4, with a note of how
/// many there are.
func shapesString(_ shapes: [[Int]], separator: String = " and ") -> String {
    let shown = shapes.prefix(4).map(shapeString).joined(separator: separator)
    return shapes.count > 4 ? shown + "\(separator)...(\(shapes.count) shapes)" : shown
}
