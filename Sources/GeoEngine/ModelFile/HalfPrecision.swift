/// IEEE-754 binary16 (F16: 1 sign, 5 exponent, 10 fraction bits, bias 15) and bfloat16 (BF16:
/// 1 sign, 8 exponent, 7 fraction bits, bias 127) bit patterns, converted by hand:
/// exponent field 0 is zero or subnormal (fraction * 2^(1 - bias - fractionBits)), all ones is
/// infinity (fraction 0) or NaN, anything else (1 + fraction / 2^fractionBits) * 2^(e - bias).
/// Encoding rounds to nearest, ties to even, straight from the Double (no double rounding);
/// magnitudes from (2 - 2^-(fractionBits+1)) * 2^bias up become infinity; NaN becomes a quiet NaN
/// with the sign kept.
enum HalfPrecision {
    /// binary16 bits -> Double (exact).
    static func halfToDouble(_ bits: UInt16) -> Double { decode(UInt64(bits), exponentBits: 5, fractionBits: 10) }
    /// bfloat16 bits -> Double (exact).
    static func bfloat16ToDouble(_ bits: UInt16) -> Double { decode(UInt64(bits), exponentBits: 8, fractionBits: 7) }
    /// Double -> binary16 bits, rounded to nearest even.
    static func doubleToHalf(_ x: Double) -> UInt16 { UInt16(truncatingIfNeeded: encode(x, exponentBits: 5, fractionBits: 10)) }
    /// Double -> bfloat16 bits, rounded to nearest even.
    static func doubleToBFloat16(_ x: Double) -> UInt16 { UInt16(truncatingIfNeeded: encode(x, exponentBits: 8, fractionBits: 7)) }

    /// 2^e as a Double (e within Double's normal range).
    @inline(__always) private static func pow2(_ e: Int) -> Double { Double(sign: .plus, exponent: e, significand: 1) }

    static func decode(_ bits: UInt64, exponentBits eb: Int, fractionBits fb: Int) -> Double {
        let negative = (bits >> UInt64(eb + fb)) & 1 == 1
        let expField = Int((bits >> UInt64(fb)) & ((1 << UInt64(eb)) - 1))
        let frac = bits & ((1 << UInt64(fb)) - 1)
        let bias = (1 << (eb - 1)) - 1
        let magnitude: Double
        if expField == (1 << eb) - 1 {
            magnitude = frac == 0 ? .infinity : .nan
        } else if expField == 0 {
            magnitude = Double(frac) * pow2(1 - bias - fb)
        } else {
            magnitude = (1 + Double(frac) * pow2(-fb)) * pow2(expField - bias)
        }
        return negative ? -magnitude : magnitude
    }

    static func encode(_ x: Double, exponentBits eb: Int, fractionBits fb: Int) -> UInt64 {
        let sign: UInt64 = x.sign == .minus ? 1 << UInt64(eb + fb) : 0
        let expOnes = UInt64((1 << eb) - 1) << UInt64(fb)
        if x.isNaN { return sign | expOnes | (1 << UInt64(fb - 1)) }
        let a = abs(x)
        let bias = (1 << (eb - 1)) - 1, emin = 1 - bias
        if a >= (2 - pow2(-(fb + 1))) * pow2(bias) { return sign | expOnes }   // includes infinity
        if a < pow2(emin) {
            // Subnormal (or zero): a count of 2^(emin - fb) units; 2^fb units is the smallest normal.
            let q = (a * pow2(fb - emin)).rounded(.toNearestOrEven)
            return sign | UInt64(q)
        }
        var e = Int(a.exponent)
        var q = ((a.significand - 1) * pow2(fb)).rounded(.toNearestOrEven)
        if q == pow2(fb) { q = 0; e += 1 }
        return sign | (UInt64(e + bias) << UInt64(fb)) | UInt64(q)
    }
}
