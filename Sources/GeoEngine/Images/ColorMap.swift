/// A colour map: evenly spaced control colours over t in [0, 1], linearly interpolated in
/// sRGB between neighbours. t = 0 is the first stop, t = 1 the last; t outside [0, 1] is
/// clamped.
public struct ColorMap: Equatable {
    public let name: String
    /// Control colours at t = k / (stops.count - 1).
    public let stops: [RGB]

    /// A map from at least two stops; fewer is `.invalidArgument`.
    public init(name: String, stops: [RGB]) throws {
        guard stops.count >= 2 else {
            throw GeoError.invalidArgument("colour map '\(untrusted: name)' needs at least 2 colours, got \(stops.count)")
        }
        self.name = name; self.stops = stops
    }

    private init(unchecked name: String, _ hex: [UInt32]) {
        self.name = name
        stops = hex.map { RGB(UInt8(($0 >> 16) & 0xff), UInt8(($0 >> 8) & 0xff), UInt8($0 & 0xff)) }
    }

    /// The colour at t (clamped to [0, 1]; NaN gives the first stop).
    public func color(_ t: Double) -> RGB {
        let n = stops.count - 1
        let s = t > 0 ? min(t, 1) * Double(n) : 0
        let k = min(Int(s), n - 1)
        let f = s - Double(k)
        let a = stops[k], b = stops[k + 1]
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 {
            UInt8((Double(x) + (Double(y) - Double(x)) * f).rounded())
        }
        return RGB(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
    }

    /// Viridis (matplotlib's perceptually uniform default, dark purple -> yellow), 9 stops.
    public static let viridis = ColorMap(unchecked: "viridis", [
        0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21908C, 0x27AD81, 0x5DC863, 0xAADC32, 0xFDE725])
    /// Magma (black -> purple -> orange -> pale yellow), 9 stops.
    public static let magma = ColorMap(unchecked: "magma", [
        0x000004, 0x1D1147, 0x51127C, 0x822681, 0xB63679, 0xE65164, 0xFB8861, 0xFEC287, 0xFCFDBF])
    /// Gray: black -> white.
    public static let gray = ColorMap(unchecked: "gray", [0x000000, 0xFFFFFF])

    /// The built-in maps.
    public static let builtIn: [ColorMap] = [viridis, magma, gray]

    /// A built-in map by name ("viridis", "magma", "gray"); others are `.invalidArgument`.
    public static func named(_ name: String) throws -> ColorMap {
        guard let m = builtIn.first(where: { $0.name == name.lowercased() }) else {
            throw GeoError.invalidArgument("unknown colour map '\(untrusted: name)' (known: \(builtIn.map(\.name).joined(separator: ", ")))")
        }
        return m
    }
}
