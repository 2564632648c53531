/// The optional variance section of a model file (an extension of SPEC "Model files"): the
/// decoder's fitted standard deviation sigma(z) as an RBF precision network
/// (`RBFPrecisionNetwork`, `UncertaintyMetric`), so that `geo.uncertainty(m)` needs no data:
///
///     "georepl.variance": {"kind": "rbf", "centers": T, "lambdas": T, "weights": T, "floor": 0.001}
///
/// with tensors centers [K, latent_dim], lambdas [K] (each > 0), weights [data_dim, K] (each
/// >= 0), floor > 0 (zeta). Written as "variance.centers", "variance.lambdas",
/// "variance.weights".
enum VarianceJSON {
    /// The variance network a georepl.variance text describes.
    static func parse(_ text: String, tensors: [String: Tensor], latentDim: Int, dataShape: [Int]) throws -> RBFPrecisionNetwork {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch let e as GeoError {
            throw GeoError.format("georepl.variance is not valid JSON: \(e.description)")
        }
        guard json.objectPairs != nil else { throw GeoError.format("georepl.variance is \(json.kindName), expected a JSON object") }
        guard json["kind"]?.stringValue == "rbf" else {
            throw GeoError.format("georepl.variance: 'kind' must be \"rbf\"")
        }
        let known: Set<String> = ["kind", "centers", "lambdas", "weights", "floor"]
        if let extra = json.objectPairs?.first(where: { !known.contains($0.key) }) {
            throw GeoError.format("georepl.variance: unknown key '\(untrusted: extra.key)'")
        }
        func tensor(_ role: String, _ shape: [Int]) throws -> Tensor {
            guard let name = json[role]?.stringValue else { throw GeoError.format("georepl.variance: '\(role)' must name a tensor") }
            guard let t = tensors[name] else { throw GeoError.format("georepl.variance: tensor '\(untrusted: name)' (\(role)) is not in the file") }
            guard t.shape == shape else {
                throw GeoError.format("georepl.variance: tensor '\(untrusted: name)' (\(role)) has shape \(shapeString(t.shape)), expected \(shapeString(shape))")
            }
            return t
        }
        guard let lambdaName = json["lambdas"]?.stringValue, let lt = tensors[lambdaName], lt.shape.count == 1, lt.shape[0] > 0 else {
            throw GeoError.format("georepl.variance: 'lambdas' must name a 1-d tensor in the file")
        }
        let k = lt.shape[0]
        guard let dd = Tensor.elementCount(dataShape) else { throw GeoError.format("georepl.variance: data_shape is too large") }
        let centers = try tensor("centers", [k, latentDim]), weights = try tensor("weights", [dd, k])
        guard let floor = json["floor"]?.doubleValue else { throw GeoError.format("georepl.variance: 'floor' must be a number") }
        do {
            return try RBFPrecisionNetwork(centers: try Matrix(rows: k, cols: latentDim, scalars: centers.scalars), lambdas: lt.scalars,
                                           weights: try Matrix(rows: dd, cols: k, scalars: weights.scalars), floor: floor, dataShape: dataShape)
        } catch let e as GeoError {
            throw GeoError.format("georepl.variance: \(e.description)")
        }
    }

    /// The georepl.variance text for `sigma`; its tensors are appended to `tensors`.
    static func object(_ sigma: RBFPrecisionNetwork, tensors: inout [(name: String, tensor: Tensor)]) throws -> String {
        tensors.append(("variance.centers", try Tensor(shape: [sigma.count, sigma.latentDim], scalars: sigma.centers.scalars)))
        tensors.append(("variance.lambdas", try Tensor(shape: [sigma.count], scalars: sigma.lambdas)))
        tensors.append(("variance.weights", try Tensor(shape: [sigma.dataDim, sigma.count], scalars: sigma.weights.scalars)))
        return try JSONValue.object([("kind", .string("rbf")), ("centers", .string("variance.centers")),
                                     ("lambdas", .string("variance.lambdas")), ("weights", .string("variance.weights")),
                                     ("floor", .double(sigma.floor))]).serialized()
    }
}
