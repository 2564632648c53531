/// Data a model trains on: `count` points of shape `dataShape`, fetched in minibatches.
/// `FashionMNIST` is one; `MatrixTrainingSet` wraps points held in memory.
public protocol TrainingSet {
    /// The number of points.
    var count: Int { get }
    /// The shape of one point, [C, H, W] for images or [D].
    var dataShape: [Int] { get }
    /// A short description for model metadata, e.g. "fashion-mnist train".
    var trainingSetDescription: String { get }
    /// The points at `indices` (0-based) as the rows of an [indices.count, D] matrix.
    func batch(_ indices: [Int]) throws -> Matrix
}

extension FashionMNIST: TrainingSet {
    public var trainingSetDescription: String { "fashion-mnist \(split.rawValue)" }
}

/// Points held in memory, one per row of a matrix.
public struct MatrixTrainingSet: TrainingSet {
    public let points: Matrix
    public let dataShape: [Int]
    public let trainingSetDescription: String

    /// `dataShape` must have `points.cols` entries in all (default [points.cols]).
    public init(points: Matrix, dataShape: [Int]? = nil, description: String = "in-memory data") throws {
        let shape = dataShape ?? [points.cols]
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), Tensor.elementCount(shape) == points.cols else {
            throw GeoError.dimensionMismatch("data shape \(shapeString(shape)) does not fit points of \(points.cols) values")
        }
        self.points = points; self.dataShape = shape; trainingSetDescription = description
    }

    public var count: Int { points.rows }

    public func batch(_ indices: [Int]) throws -> Matrix {
        var out = [Double]()
        out.reserveCapacity(indices.count * points.cols)
        for i in indices {
            guard i >= 0, i < points.rows else {
                throw GeoError.invalidArgument("point index \(i) is out of range (0 to \(points.rows - 1))")
            }
            out.append(contentsOf: points.scalars[(i * points.cols)..<((i + 1) * points.cols)])
        }
        return Matrix(rows: indices.count, cols: points.cols, unchecked: out)
    }
}
