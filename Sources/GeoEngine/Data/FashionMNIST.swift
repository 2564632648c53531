import Synchronization

/// The Fashion-MNIST data set (Xiao, Rasul & Vollgraf 2017): 70,000 grayscale 28x28 images of
/// clothing in 10 classes, 60,000 for training and 10,000 for testing, as Debian's package
/// dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist:
///
///     train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   (60,000)
///     t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    (10,000)
///
/// (uncompressed files without the .gz suffix are accepted too; see `IDX` for the format).
///
/// Storage: the pixels stay in one compact `[UInt8]` buffer (47 MB for the training split);
/// images are produced on demand as `Vector`s of Doubles `pixel / 255` in [0, 1], row-major
/// (one image = 784 values, data shape [1, 28, 28]: C, H, W). Indices are 0-based here (the
/// Lua bindings add 1). Loaded data sets are immutable and cached per process by (directory,
/// split), so `load` reads and decompresses each split at most once.
public final class FashionMNIST: Sendable {
    /// Which half of the data set.
    public enum Split: String, Sendable, CaseIterable {
        /// 60,000 training images (files train-*).
        case train
        /// 10,000 test images (files t10k-*).
        case test

        /// Parses "train" or "test"; anything else is `.invalidArgument`.
        public init(name: String) throws {
            guard let s = Split(rawValue: name) else {
                throw GeoError.invalidArgument("unknown split '\(untrusted: name)' (expected \"train\" or \"test\")")
            }
            self = s
        }

        /// The file name prefix: "train" or "t10k".
        public var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where Debian's dataset-fashion-mnist package puts the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The class names, indexed by label 0...9.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    public let split: Split
    /// The directory the files were read from.
    public let directory: String
    /// The number of images.
    public let count: Int
    /// Image height and width in pixels (28 x 28 for Fashion-MNIST).
    public let height: Int
    public let width: Int
    /// All pixels, image after image, each row-major; 0 = black (background), 255 = white.
    public let pixels: [UInt8]
    /// All labels, 0...9, one per image.
    public let labels: [UInt8]

    /// The number of values per image, height * width (784).
    public var imageSize: Int { height * width }
    /// The shape of one image, [C, H, W] = [1, 28, 28].
    public var dataShape: [Int] { [1, height, width] }

    /// The data set from `directory`, loaded once per process and then served from a cache.
    /// Throws `GeoError.io` when the files are missing or unreadable, `GeoError.format` when
    /// they are malformed or inconsistent.
    public static func load(split: Split = .train, directory: String = defaultDirectory) throws -> FashionMNIST {
        let key = directory + "\u{0}" + split.rawValue
        return try cache.withLock { entries in
            if let hit = entries[key] { return hit }
            let loaded = try FashionMNIST(split: split, directory: directory)
            entries[key] = loaded
            return loaded
        }
    }

    private static let cache = Mutex<[String: FashionMNIST]>([:])

    /// Reads and checks the split's two files (no caching; prefer `load`).
    public init(split: Split, directory: String = defaultDirectory) throws {
        let imagesPath = try Self.locate(directory, "\(split.filePrefix)-images-idx3-ubyte")
        let labelsPath = try Self.locate(directory, "\(split.filePrefix)-labels-idx1-ubyte")
        let images = try IDX.read(imagesPath, expectedMagic: IDX.imageMagic)
        let labels = try IDX.read(labelsPath, expectedMagic: IDX.labelMagic)
        // The magic numbers guarantee 3 and 1 dimensions.
        let (n, h, w) = (images.dims[0], images.dims[1], images.dims[2])
        guard h > 0, w > 0 else {
            throw GeoError.format("\(imagesPath): images of \(h)x\(w) pixels are empty")
        }
        guard labels.dims[0] == n else {
            throw GeoError.format("Fashion-MNIST \(split.rawValue) split: \(imagesPath) has \(n) images but \(labelsPath) has \(labels.dims[0]) labels")
        }
        if let bad = labels.data.firstIndex(where: { $0 >= Self.classNames.count }) {
            throw GeoError.format("\(labelsPath): label \(labels.data[bad]) of item \(bad) is outside 0...9")
        }
        self.split = split
        self.directory = directory
        self.count = n
        self.height = h
        self.width = w
        self.pixels = images.data
        self.labels = labels.data
    }

    /// The path of `base.gz` or `base` in `directory`, or the "not found" error.
    private static func locate(_ directory: String, _ base: String) throws -> String {
        let dir = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        for candidate in ["\(dir)/\(base).gz", "\(dir)/\(base)"] where FileBytes.isFile(candidate) {
            return candidate
        }
        throw GeoError.io("Fashion-MNIST not found in \(dir): install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
    }

    // MARK: Access

    /// Image `index` (0-based) as `imageSize` Doubles in [0, 1], row-major.
    public func image(_ index: Int) throws -> Vector {
        try checkIndex(index)
        let start = index * imageSize
        return Vector(pixels[start..<(start + imageSize)].map { Self.scale[Int($0)] })
    }

    /// The label 0...9 of image `index` (0-based).
    public func label(_ index: Int) throws -> Int {
        try checkIndex(index)
        return Int(labels[index])
    }

    /// The class name of image `index` (0-based), e.g. "Ankle boot".
    public func className(_ index: Int) throws -> String {
        Self.classNames[try label(index)]
    }

    /// The images at `indices` (0-based, repeats allowed) as the rows of an
    /// [indices.count, imageSize] matrix, for training in batches.
    public func batch(_ indices: [Int]) throws -> Matrix {
        for i in indices { try checkIndex(i) }
        var values = [Double]()
        values.reserveCapacity(indices.count * imageSize)
        for i in indices {
            let start = i * imageSize
            for p in pixels[start..<(start + imageSize)] { values.append(Self.scale[Int(p)]) }
        }
        return Matrix(rows: indices.count, cols: imageSize, unchecked: values)
    }

    /// The images in `range` (0-based) as matrix rows; see `batch(_:)`.
    public func batch(_ range: Range<Int>) throws -> Matrix {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw GeoError.invalidArgument("range \(range.lowerBound)..<\(range.upperBound) is out of range: \(sizeText)")
        }
        return try batch(Array(range))
    }

    /// The labels of `indices` (0-based).
    public func labels(_ indices: [Int]) throws -> [Int] {
        try indices.map { try label($0) }
    }

    private func checkIndex(_ index: Int) throws {
        guard index >= 0, index < count else {
            throw GeoError.invalidArgument("image index \(index) is out of range: \(sizeText)")
        }
    }

    private var sizeText: String {
        "the \(split.rawValue) split has \(count) images" + (count > 0 ? " (0-based indices 0...\(count - 1))" : "")
    }

    /// byte / 255 for every byte value.
    private static let scale: [Double] = (0...255).map { Double($0) / 255 }
}
