/// `reshape` ({"op":"reshape","shape":[C,H,W]}) and `flatten` ({"op":"flatten"}): they relabel
/// the shape of a point and leave its row-major data unchanged (the identity map), as PyTorch's
/// view/Unflatten and Flatten(start_dim=1) do.
public final class Reshape: AffineLayer {
    public var op: String { isFlatten ? "flatten" : "reshape" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// True for `flatten` (output [product of the input shape]).
    public let isFlatten: Bool

    /// Reshapes points of `inputShape` to `shape`; one entry of `shape` may be -1 (inferred).
    public init(inputShape: [Int], shape: [Int]) throws {
        let n = inputShape.reduce(1, *)
        var resolved = shape
        let unknown = shape.indices.filter { shape[$0] == -1 }
        guard !shape.isEmpty, unknown.count <= 1, shape.allSatisfy({ $0 > 0 || $0 == -1 }) else {
            throw GeoError.format("shape \(shapeString(shape)) must be positive sizes, with at most one -1")
        }
        if let u = unknown.first {
            let known = Tensor.elementCount(shape.filter { $0 != -1 }) ?? 0
            guard known > 0, n % known == 0 else {
                throw GeoError.format("cannot reshape \(n) features to \(shapeString(shape))")
            }
            resolved[u] = n / known
        }
        guard Tensor.elementCount(resolved) == n else {
            throw GeoError.format("cannot reshape \(n) features (shape \(shapeString(inputShape))) to \(shapeString(shape))")
        }
        self.inputShape = inputShape; outputShape = resolved; isFlatten = false
    }

    /// A view of points of `inputShape` as `exact` (ONNX's shapes, a scalar's [] among them),
    /// which must have the same number of entries.
    public init(inputShape: [Int], shape: [Int], exact: [Int]) throws {
        guard Tensor.elementCount(exact) == Tensor.elementCount(inputShape) else {
            throw GeoError.format("cannot reshape \(shapeString(inputShape)) to \(shapeString(exact))")
        }
        self.inputShape = inputShape; outputShape = exact; isFlatten = false
    }

    /// `flatten`: points of `inputShape` to [product].
    public init(flattening inputShape: [Int]) {
        self.inputShape = inputShape; outputShape = [inputShape.reduce(1, *)]; isFlatten = true
    }

    public var spec: LayerSpec { isFlatten ? .flatten : .reshape(outputShape) }

    public func applyLinear(_ x: Matrix, biasRows: Int) throws -> Matrix {
        guard x.cols == inputFeatures else {
            throw GeoError.dimensionMismatch("\(op) takes \(inputFeatures) features per row, got \(x.cols)")
        }
        return x
    }

    public func applyTransposed(_ c: Matrix) throws -> Matrix {
        guard c.cols == inputFeatures else {
            throw GeoError.dimensionMismatch("\(op): cotangents have \(c.cols) columns, expected \(inputFeatures)")
        }
        return c
    }
}
