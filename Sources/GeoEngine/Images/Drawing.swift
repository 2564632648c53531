/// Simple raster drawing (no anti-aliasing) in continuous pixel coordinates: (u, v) with u to
/// the right and v downwards, pixel (x, y) covering [x, x+1) x [y, y+1), its centre at
/// (x + 0.5, y + 0.5). Everything is clipped to the image.
extension PixelImage {
    /// Sets every pixel whose centre lies within `radius` of (u, v).
    public mutating func fillDisc(u: Double, v: Double, radius: Double, _ color: RGB) {
        guard u.isFinite, v.isFinite, radius.isFinite, radius >= 0 else { return }
        let r2 = radius * radius
        // Clamp the scan box to the image before converting to Int (u, v may be far outside).
        let x0 = Int(max(0, min(Double(width), (u - radius).rounded(.down))))
        let x1 = Int(max(-1, min(Double(width - 1), (u + radius).rounded(.up))))
        let y0 = Int(max(0, min(Double(height), (v - radius).rounded(.down))))
        let y1 = Int(max(-1, min(Double(height - 1), (v + radius).rounded(.up))))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            let dy = Double(y) + 0.5 - v
            for x in x0...x1 {
                let dx = Double(x) + 0.5 - u
                if dx * dx + dy * dy <= r2 { set(x: x, y: y, color) }
            }
        }
    }

    /// A segment of `lineWidth` pixels from (u0, v0) to (u1, v1): discs of radius
    /// lineWidth / 2 + 0.25 (so a width of 1 always covers a pixel) stamped every half pixel
    /// along the part of the segment that is inside the image (Liang–Barsky clipping), so the
    /// work is bounded by the image size whatever the coordinates.
    public mutating func drawSegment(u0: Double, v0: Double, u1: Double, v1: Double, lineWidth: Double, _ color: RGB) {
        guard u0.isFinite, v0.isFinite, u1.isFinite, v1.isFinite, lineWidth.isFinite, lineWidth > 0 else { return }
        let radius = lineWidth / 2 + 0.25
        let margin = radius + 1
        guard let (a, b) = Self.clip(u0, v0, u1, v1, minU: -margin, maxU: Double(width) + margin,
                                     minV: -margin, maxV: Double(height) + margin) else { return }
        let du = b.0 - a.0, dv = b.1 - a.1
        let length = (du * du + dv * dv).squareRoot()
        let steps = Int((length / 0.5).rounded(.up))
        for k in 0...steps {
            let t = steps == 0 ? 0 : Double(k) / Double(steps)
            fillDisc(u: a.0 + t * du, v: a.1 + t * dv, radius: radius, color)
        }
    }

    /// The part of a segment inside a rectangle, or nil when none is.
    static func clip(_ u0: Double, _ v0: Double, _ u1: Double, _ v1: Double,
                     minU: Double, maxU: Double, minV: Double, maxV: Double) -> ((Double, Double), (Double, Double))? {
        var t0 = 0.0, t1 = 1.0
        let du = u1 - u0, dv = v1 - v0
        guard du.isFinite, dv.isFinite else { return nil }
        for (p, q) in [(-du, u0 - minU), (du, maxU - u0), (-dv, v0 - minV), (dv, maxV - v0)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let r = q / p
                if p < 0 { if r > t1 { return nil }; t0 = max(t0, r) } else { if r < t0 { return nil }; t1 = min(t1, r) }
            }
        }
        return ((u0 + t0 * du, v0 + t0 * dv), (u0 + t1 * du, v0 + t1 * dv))
    }
}
