// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice An IEEE-754 binary32 value, held as its 32-bit pattern (the bits `float.view(uint32)` gives).
type Float32 is uint32;

using LibFloat32 for Float32 global;

/// @title LibFloat32
/// @notice IEEE-754 binary32 arithmetic on bit patterns, bit for bit what numpy float32 computes (round to
/// nearest even, no flush-to-zero), so a contract can recompute one disputed element of a training step
/// (docs/float32.md, docs/architecture.md "Numbers"). An add, mul, div or sqrt costs 600 to 850 gas on normal operands.
///
/// Bit layout of a `Float32`:
///
/// | bits   | 31   | 30..23                | 22..0          |
/// |--------|------|-----------------------|----------------|
/// | field  | sign | exponent e (bias 127) | fraction f     |
///
/// | e      | f    | value                                   |
/// |--------|------|-----------------------------------------|
/// | 0      | 0    | +0 or -0 (signed zero)                  |
/// | 0      | != 0 | subnormal: (-1)^sign * f * 2^-149       |
/// | 1..254 | any  | normal: (-1)^sign * (2^23 + f) * 2^(e-150) |
/// | 255    | 0    | +inf or -inf                            |
/// | 255    | != 0 | NaN (any payload, either sign)          |
///
/// Every arithmetic result is the exact real result rounded once to binary32 with round-to-nearest,
/// ties-to-even (RNE, the `RNE` in the names); nothing is fused (no FMA), nothing is flushed to zero.
///
/// Special values:
/// - NaN: any NaN operand (quiet or signalling, any payload or sign) gives NaN, and every NaN this library
///   returns is the canonical quiet NaN 0x7FC00000 (`NAN`), so results have exactly one encoding.
///   Invalid operations give NaN too: inf - inf, 0 * inf, 0 / 0, inf / inf, sqrt(x < 0).
/// - Infinities: an exact result beyond the largest finite value rounds to inf when it is at least
///   MAX_FINITE + half an ulp (2^128 - 2^103, a tie that rounds to even, i.e. up); x / ±0 = ±inf for x != 0.
/// - Signed zeros: the sign of a zero result follows IEEE (x - x = +0, -0 + -0 = -0, the product or
///   quotient of zeros takes the xor of the signs, sqrt(-0) = -0); -0 == +0 in every comparison.
/// - Subnormals are operands and results like any other value; a result below half the smallest
///   subnormal (2^-150, a tie that rounds to even, i.e. to 0) is a signed zero.
///
/// Comparisons (`eq`, `lt`, `le`, `gt`, `ge`) are IEEE: NaN is unordered (every comparison with a NaN is
/// false, also `eq(NaN, NaN)`), and -0 equals +0. `min` / `max` are IEEE 754-2019 `minimum` / `maximum`:
/// NaN if either operand is NaN, and -0 is taken as smaller than +0, so min(-0, +0) = -0 and
/// max(-0, +0) = +0 in either order.
///
/// NOTE: `neg` and `abs` also return the canonical NaN for a NaN operand (IEEE lets them keep the payload);
/// this keeps the one-NaN-encoding rule for every function here.
/// NOTE: `toInt32RTZ` saturates like Java / Rust / WebAssembly `trunc_sat`: NaN -> 0, values at or beyond
/// the int32 range -> type(int32).min / type(int32).max. It never reverts, so a recipe that uses it
/// cannot be made to revert on chain.
/// WARNING: numpy's `minimum` / `maximum` return the second operand for (-0, +0); `min` / `max` here do not
/// (see above). Off-chain code must use the same rule (docs/float32.md).
library LibFloat32 {
    // ============================================================ constants

    /// @dev The sign bit.
    uint256 private constant _SIGN = 0x80000000;
    /// @dev Everything but the sign bit: `x & _ABS` is |x|, and for non-negative patterns the integer order
    /// is the order of the magnitudes (also for inf, and NaN sorts above inf).
    uint256 private constant _ABS = 0x7FFFFFFF;
    /// @dev The pattern of +inf, and the mask of the exponent field.
    uint256 private constant _INF = 0x7F800000;
    /// @dev The fraction field.
    uint256 private constant _FRAC = 0x007FFFFF;
    /// @dev The hidden leading bit of a normal number's 24-bit significand.
    uint256 private constant _HIDDEN = 0x00800000;
    /// @dev The canonical quiet NaN.
    uint256 private constant _QNAN = 0x7FC00000;

    /// @notice The canonical quiet NaN, the only NaN this library returns.
    Float32 internal constant NAN = Float32.wrap(0x7FC00000);
    /// @notice +inf.
    Float32 internal constant POS_INF = Float32.wrap(0x7F800000);
    /// @notice -inf.
    Float32 internal constant NEG_INF = Float32.wrap(0xFF800000);
    /// @notice +0.
    Float32 internal constant POS_ZERO = Float32.wrap(0x00000000);
    /// @notice -0.
    Float32 internal constant NEG_ZERO = Float32.wrap(0x80000000);
    /// @notice 1.0.
    Float32 internal constant ONE = Float32.wrap(0x3F800000);
    /// @notice The largest finite value, (2^24 - 1) * 2^104 ~ 3.4028235e38.
    Float32 internal constant MAX_FINITE = Float32.wrap(0x7F7FFFFF);
    /// @notice The smallest positive normal value, 2^-126.
    Float32 internal constant MIN_NORMAL = Float32.wrap(0x00800000);
    /// @notice The smallest positive subnormal value, 2^-149.
    Float32 internal constant MIN_SUBNORMAL = Float32.wrap(0x00000001);

    // ============================================================ arithmetic

    /// @notice a + b, rounded to nearest, ties to even.
    /// @dev Exact cancellation gives +0 (RNE); -0 + -0 = -0; inf + -inf = NaN.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The rounded sum.
    function addRNE(Float32 _a, Float32 _b) internal pure returns (Float32 r_) {
        uint256 sign;
        int256 pow2;
        uint256 sig;
        uint256 n;
        bool done;
        assembly ("memory-safe") {
            let a := and(_a, 0xffffffff) // a Float32 on the stack may carry dirty high bits
            let b := and(_b, 0xffffffff)
            let ma := and(a, _ABS)
            let mb := and(b, _ABS)
            // Make `a` the operand of larger magnitude: the result then takes a's sign (or is +0) and only b's
            // significand needs aligning. Patterns of non-negative floats order like their magnitudes.
            if lt(ma, mb) {
                let t := a
                a := b
                b := t
                t := ma
                ma := mb
                mb := t
            }
            // One pass through this block; `break` is an early return with r_ final.
            for {} 1 {} {
                if iszero(lt(ma, _INF)) {
                    // a is inf or NaN, and b is no larger: NaN if a is NaN, or for inf - inf; else a's inf.
                    r_ := a
                    if or(gt(ma, _INF), and(eq(mb, _INF), iszero(eq(a, b)))) { r_ := _QNAN }
                    done := 1
                    break
                }
                if iszero(mb) {
                    // x + 0 = x exactly; 0 + 0 is -0 only when both are -0, which `a & b` says in one step.
                    r_ := a
                    if iszero(ma) { r_ := and(a, b) }
                    done := 1
                    break
                }
                let ea := shr(23, ma)
                let eb := shr(23, mb)
                // Significands with the hidden bit: a subnormal (e = 0) has none and counts as exponent 1.
                let sa := or(and(ma, _FRAC), shl(23, gt(ea, 0)))
                let sb := or(and(mb, _FRAC), shl(23, gt(eb, 0)))
                eb := add(eb, iszero(eb))
                // |a| >= |b| gives ea >= eb, so the difference is not negative.
                let d := sub(add(ea, iszero(ea)), eb)
                // SAFETY: with d >= 26, |b| < 2^24 * 2^(eb-150) <= ulp(a) / 4, which is less than half the gap
                // around a on either side (the gap below a power of two is ulp(a) / 2), so a +- |b| rounds to a.
                if gt(d, 25) {
                    r_ := a
                    done := 1
                    break
                }
                // Align a to b's last bit, with two spare low bits so the sum has at least 26 bits (see
                // `_roundPack`): sa < 2^24 and d <= 25, so this is exact and below 2^51; the exact result is
                // then sig * 2^(eb - 152).
                sa := shl(add(d, 2), sa)
                sb := shl(2, sb)
                sign := and(a, _SIGN)
                pow2 := sub(eb, 152)
                switch shr(31, xor(a, b))
                case 0 {
                    // Same signs: add the magnitudes. A normal a has 26 + d bits here, so the sum has 26 + d or
                    // 27 + d (n = 0 for a subnormal a: count the bits later).
                    sig := add(sa, sb)
                    let k := add(26, d)
                    n := mul(gt(ea, 0), add(k, gt(sig, sub(shl(k, 1), 1))))
                }
                default {
                    // Different signs: subtract the smaller (sa << d >= sb as |a| >= |b|). Exact cancellation
                    // is +0 under round-to-nearest, whatever the signs.
                    sig := sub(sa, sb)
                    if iszero(sig) {
                        r_ := 0
                        done := 1
                        break
                    }
                    // With d >= 2 at most one leading bit cancels: sig > 2^(25+d) - 2^26 >= 2^(24+d), so it has
                    // 25 + d or 26 + d bits. Closer exponents may cancel many bits: count them later (n = 0).
                    let k := add(25, d)
                    n := mul(gt(d, 1), add(k, gt(sig, sub(shl(k, 1), 1))))
                }
                break
            }
        }
        if (done) return r_;
        return _roundPack(sign, pow2, sig, n);
    }

    /// @notice a - b, rounded to nearest, ties to even: a + (-b).
    /// @dev x - x = +0; -0 - +0 = -0; inf - inf = NaN.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The rounded difference.
    function subRNE(Float32 _a, Float32 _b) internal pure returns (Float32 r_) {
        // Flipping b's sign is exact, and a NaN b stays NaN (its sign does not matter, the result is canonical).
        return addRNE(_a, Float32.wrap(Float32.unwrap(_b) ^ uint32(_SIGN)));
    }

    /// @notice a * b, rounded to nearest, ties to even.
    /// @dev 0 * inf = NaN; the sign of any non-NaN result (zeros and infinities included) is sign(a) xor sign(b).
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The rounded product.
    function mulRNE(Float32 _a, Float32 _b) internal pure returns (Float32 r_) {
        uint256 sign;
        int256 pow2;
        uint256 sig;
        uint256 n;
        bool done;
        assembly ("memory-safe") {
            let a := and(_a, 0xffffffff) // a Float32 on the stack may carry dirty high bits
            let b := and(_b, 0xffffffff)
            let ma := and(a, _ABS)
            let mb := and(b, _ABS)
            sign := and(xor(a, b), _SIGN)
            // One test for the rare operands: m - 1 wraps to a huge value for m = 0, so this catches zeros,
            // infinities and NaNs of either operand.
            if or(gt(sub(ma, 1), sub(_INF, 2)), gt(sub(mb, 1), sub(_INF, 2))) {
                done := 1
                switch or(gt(ma, _INF), gt(mb, _INF))
                case 1 { r_ := _QNAN }
                default {
                    switch or(eq(ma, _INF), eq(mb, _INF))
                    // inf * 0 is NaN, inf * non-zero is a signed inf.
                    case 1 { r_ := or(sign, _INF) if or(iszero(ma), iszero(mb)) { r_ := _QNAN } }
                    default { r_ := sign } // zero * finite is a signed zero
                }
            }
            // (The arithmetic below also runs for those cases; its result is then ignored.)
            let ea := shr(23, ma)
            let eb := shr(23, mb)
            // Significands with the hidden bit (none for a subnormal, which counts as exponent 1).
            let sa := or(and(ma, _FRAC), shl(23, gt(ea, 0)))
            let sb := or(and(mb, _FRAC), shl(23, gt(eb, 0)))
            // The exact product: two 24-bit integers, below 2^48.
            sig := mul(sa, sb)
            // a * b = sig * 2^((ea - 150) + (eb - 150)); with exponents 1..254 this is in -298..208.
            pow2 := sub(add(add(ea, iszero(ea)), add(eb, iszero(eb))), 300)
            // Two normal significands (each in [2^23, 2^24)) multiply to 47 or 48 bits; with a subnormal
            // operand n = 0 asks for a count.
            n := mul(and(gt(ea, 0), gt(eb, 0)), add(47, gt(sig, 0x7fffffffffff)))
        }
        if (done) return r_;
        return _roundPack(sign, pow2, sig, n);
    }

    /// @notice a / b, rounded to nearest, ties to even.
    /// @dev x / ±0 = ±inf for x != 0 (sign xor); 0 / 0 = inf / inf = NaN; finite / inf = signed 0.
    /// @param _a The dividend.
    /// @param _b The divisor.
    /// @return r_ The rounded quotient.
    function divRNE(Float32 _a, Float32 _b) internal pure returns (Float32 r_) {
        uint256 sign;
        int256 pow2;
        uint256 sig;
        uint256 n;
        bool done;
        assembly ("memory-safe") {
            let a := and(_a, 0xffffffff) // a Float32 on the stack may carry dirty high bits
            let b := and(_b, 0xffffffff)
            let ma := and(a, _ABS)
            let mb := and(b, _ABS)
            sign := and(xor(a, b), _SIGN)
            // Zeros, infinities and NaNs in one test (m - 1 wraps for m = 0), as in mulRNE.
            if or(gt(sub(ma, 1), sub(_INF, 2)), gt(sub(mb, 1), sub(_INF, 2))) {
                done := 1
                for {} 1 {} {
                    r_ := _QNAN
                    if or(gt(ma, _INF), gt(mb, _INF)) { break } // NaN operand
                    if eq(ma, _INF) {
                        if lt(mb, _INF) { r_ := or(sign, _INF) } // inf / finite; inf / inf stays NaN
                        break
                    }
                    r_ := sign
                    if eq(mb, _INF) { break } // finite / inf = signed 0
                    if iszero(mb) {
                        r_ := or(sign, _INF) // non-zero / 0 = signed inf
                        if iszero(ma) { r_ := _QNAN } // 0 / 0
                    }
                    break // (else 0 / non-zero: signed 0)
                }
            }
            let ea := shr(23, ma)
            let eb := shr(23, mb)
            let sa := or(and(ma, _FRAC), shl(23, gt(ea, 0)))
            let sb := or(and(mb, _FRAC), shl(23, gt(eb, 0)))
            // Scale the dividend by 2^64 so the integer quotient keeps at least 41 bits (sa >= 1, sb < 2^24):
            // 24 for the result, the rest to round with.
            let x := shl(64, sa)
            // sb = 0 only when b is a zero, a case already finished above (EVM div by 0 gives 0, no fault).
            sig := div(x, sb)
            // Sticky bit: a non-zero remainder means the true quotient lies strictly above sig; or-ing it into
            // bit 0 keeps the rounding decision exact because at least 17 bits are dropped. (With 64 extra bits
            // a quotient of 24-bit integers never comes close enough to a midpoint for it to change the result,
            // but it keeps the rounding argument local for 15 gas.)
            sig := or(sig, gt(mod(x, sb), 0))
            // a / b = sig * 2^((ea - 150) - (eb - 150) - 64); this is in -317..189.
            pow2 := sub(sub(add(ea, iszero(ea)), add(eb, iszero(eb))), 64)
            // Two normal significands: sa / sb lies in (1/2, 2), so sig in [2^63, 2^65) has 64 or 65 bits.
            n := mul(and(gt(ea, 0), gt(eb, 0)), add(64, gt(sig, 0xffffffffffffffff)))
        }
        if (done) return r_;
        return _roundPack(sign, pow2, sig, n);
    }

    /// @notice The square root of a, rounded to nearest, ties to even.
    /// @dev sqrt(±0) = ±0, sqrt(+inf) = +inf, sqrt(x < 0) = NaN (also -inf). A tie cannot occur: the square
    /// root of a binary32 value is never exactly halfway between two binary32 values.
    /// @param _a The operand.
    /// @return r_ The rounded square root.
    function sqrtRNE(Float32 _a) internal pure returns (Float32 r_) {
        uint256 sa;
        int256 ea;
        bool done;
        assembly ("memory-safe") {
            let a := and(_a, 0xffffffff) // a Float32 on the stack may carry dirty high bits
            // Zeros, +inf, NaNs and every negative value (a set sign bit puts the pattern above _INF) in one
            // test (a - 1 wraps for a = 0): ±0 and +inf are their own roots, the rest NaN.
            if gt(sub(a, 1), sub(_INF, 2)) {
                done := 1
                r_ := _QNAN
                if or(or(iszero(a), eq(a, _SIGN)), eq(a, _INF)) { r_ := a }
            }
            ea := shr(23, a)
            sa := or(and(a, _FRAC), _HIDDEN)
        }
        if (done) return r_;
        if (ea == 0) {
            // A subnormal: no hidden bit; shift the fraction up to 24 bits and lower the exponent to match.
            sa ^= _HIDDEN;
            uint256 shift = 24 - _bitLength(sa);
            sa <<= shift;
            ea = 1 - int256(shift);
        }
        int256 pow2;
        uint256 sig;
        uint256 n;
        assembly ("memory-safe") {
            // a = sa * 2^e with sa in [2^23, 2^24) and e = ea - 150 (any integer from -172 to 104).
            let e := sub(ea, 150)
            // Scale by 2^k with e - k even, so the root of 2^(e-k) is exact: k = 30 or 31, and
            // x = sa * 2^k lies in [2^53, 2^55), its square root in [2^26.5, 2^27.5).
            let k := add(30, and(e, 1))
            let x := shl(k, sa)
            // Start at the arithmetic mean of 2^27 and x / 2^27, which is at least sqrt(x) (AM-GM) and at
            // most 6.1% above it on this range.
            let y := add(shr(28, x), shl(26, 1))
            // Three Newton steps y <- (y + x / y) / 2: the relative error goes 6.1% -> 1.8e-3 -> 1.6e-6
            // -> 1.2e-12, i.e. below one unit of y; the integer steps never drop below floor(sqrt(x)).
            y := shr(1, add(y, div(x, y)))
            y := shr(1, add(y, div(x, y)))
            y := shr(1, add(y, div(x, y)))
            // Guard: y is floor(sqrt(x)), or one more if the last step overshot, then step down. (By the bound
            // above it never fires: stopping one high would need an error near 2^-13.5 before the last step.)
            y := sub(y, gt(mul(y, y), x))
            // Sticky bit for an inexact root (at least 3 bits are dropped below the 24 kept).
            sig := or(y, iszero(eq(mul(y, y), x)))
            // sqrt(a) = sqrt(x) * 2^((e - k) / 2); e - k is even, so the arithmetic shift is exact.
            pow2 := sar(1, sub(e, k))
            // y has 27 bits, or 28 from 2^27 up.
            n := add(27, gt(y, 0x7ffffff))
        }
        return _roundPack(0, pow2, sig, n);
    }

    /// @notice x * 2^n, rounded to nearest, ties to even (C's `scalbnf` / `ldexpf`).
    /// @dev Exact unless the result overflows (to ±inf) or lands in the subnormal range (rounded). NaN gives
    /// NaN; ±inf and ±0 are returned as they are.
    /// @param _x The value.
    /// @param _n The power of two, any int256.
    /// @return r_ The rounded x * 2^n.
    function scalbnRNE(Float32 _x, int256 _n) internal pure returns (Float32 r_) {
        uint256 x = Float32.unwrap(_x);
        uint256 m = x & _ABS;
        if (m > _INF) return NAN;
        if (m == _INF || m == 0) return _x;
        uint256 e = m >> 23;
        uint256 s = e == 0 ? m : (m & _FRAC) | _HIDDEN;
        // SAFETY: |x| >= 2^-149, so any n > 300 overflows exactly like n = 300; clamping first keeps the
        // exponent sum far from int256's limits.
        if (_n > 300) _n = 300;
        if (_n < -600) _n = -600;
        int256 pow2;
        unchecked {
            // x = s * 2^(max(e,1) - 150); e <= 254 and |n| <= 600, so nothing wraps.
            pow2 = int256(e == 0 ? 1 : e) - 150 + _n;
        }
        // SAFETY: s < 2^24, so below 2^-360 the value is under 2^-336, far below half the smallest subnormal.
        // This also keeps `_roundPack`'s exponent precondition.
        if (pow2 < -360) return Float32.wrap(uint32(x & _SIGN));
        // A normal x has 24 significant bits; two more zero bits meet `_roundPack`'s 26-bit minimum.
        return e == 0 ? _roundPack(x & _SIGN, pow2, s, 0) : _roundPack(x & _SIGN, pow2 - 2, s << 2, 26);
    }

    // ============================================================ sign

    /// @notice -x: the sign bit flipped (exact); NaN gives the canonical NaN.
    /// @param _x The operand.
    /// @return r_ -x.
    function neg(Float32 _x) internal pure returns (Float32 r_) {
        assembly ("memory-safe") {
            let x := and(_x, 0xffffffff) // a Float32 on the stack may carry dirty high bits
            r_ := xor(x, _SIGN)
            if gt(and(x, _ABS), _INF) { r_ := _QNAN }
        }
    }

    /// @notice |x|: the sign bit cleared (exact); NaN gives the canonical NaN.
    /// @param _x The operand.
    /// @return r_ |x|.
    function abs(Float32 _x) internal pure returns (Float32 r_) {
        assembly ("memory-safe") {
            r_ := and(_x, _ABS) // also clears any dirty high bits
            if gt(r_, _INF) { r_ := _QNAN }
        }
    }

    // ============================================================ comparisons

    /// @notice Whether x is a NaN (any payload, either sign).
    /// @param _x The value.
    /// @return Whether x is NaN.
    function isNaN(Float32 _x) internal pure returns (bool) {
        return Float32.unwrap(_x) & _ABS > _INF;
    }

    /// @notice Whether x is +inf or -inf.
    /// @param _x The value.
    /// @return Whether x is infinite.
    function isInf(Float32 _x) internal pure returns (bool) {
        return Float32.unwrap(_x) & _ABS == _INF;
    }

    /// @notice Whether x is finite (zero, subnormal or normal).
    /// @param _x The value.
    /// @return Whether x is finite.
    function isFinite(Float32 _x) internal pure returns (bool) {
        return Float32.unwrap(_x) & _ABS < _INF;
    }

    /// @notice IEEE equality: false if either is NaN (also NaN == NaN), true for -0 == +0.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The comparison's result.
    function eq(Float32 _a, Float32 _b) internal pure returns (bool r_) {
        assembly ("memory-safe") {
            let a := and(_a, 0xffffffff) // a Float32 on the stack may carry dirty high bits
            let b := and(_b, 0xffffffff)
            // Equal patterns that are not NaN, or two zeros of any signs.
            r_ := or(and(eq(a, b), lt(and(a, _ABS), add(_INF, 1))), iszero(and(or(a, b), _ABS)))
        }
    }

    /// @notice IEEE a < b: false if either is NaN; -0 < +0 is false.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The comparison's result.
    function lt(Float32 _a, Float32 _b) internal pure returns (bool r_) {
        assembly ("memory-safe") {
            let ma := and(_a, _ABS)
            let mb := and(_b, _ABS)
            // Order keys: sign-magnitude to two's complement (-m for a negative value, m otherwise), so the
            // signed integer order is the real order and -0, +0 both map to 0. sa is all ones for a negative a.
            let sa := sub(0, and(shr(31, _a), 1))
            let sb := sub(0, and(shr(31, _b), 1))
            // (m xor s) - s is m for s = 0 and ~m + 1 = -m for s = all ones. Neither may be NaN.
            r_ := and(slt(sub(xor(ma, sa), sa), sub(xor(mb, sb), sb)), iszero(or(gt(ma, _INF), gt(mb, _INF))))
        }
    }

    /// @notice IEEE a <= b: false if either is NaN; -0 <= +0 and +0 <= -0 are true.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The comparison's result.
    function le(Float32 _a, Float32 _b) internal pure returns (bool r_) {
        assembly ("memory-safe") {
            let ma := and(_a, _ABS)
            let mb := and(_b, _ABS)
            // Order keys as in `lt`.
            let sa := sub(0, and(shr(31, _a), 1))
            let sb := sub(0, and(shr(31, _b), 1))
            r_ := and(iszero(sgt(sub(xor(ma, sa), sa), sub(xor(mb, sb), sb))), iszero(or(gt(ma, _INF), gt(mb, _INF))))
        }
    }

    /// @notice IEEE a > b (b < a): false if either is NaN; +0 > -0 is false.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The comparison's result.
    function gt(Float32 _a, Float32 _b) internal pure returns (bool r_) {
        r_ = lt(_b, _a);
    }

    /// @notice IEEE a >= b (b <= a): false if either is NaN; -0 >= +0 and +0 >= -0 are true.
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The comparison's result.
    function ge(Float32 _a, Float32 _b) internal pure returns (bool r_) {
        r_ = le(_b, _a);
    }

    /// @notice IEEE 754-2019 minimum: NaN if either is NaN, else the smaller, with -0 < +0.
    /// @dev min(-0, +0) = min(+0, -0) = -0, unlike numpy's `minimum` (which returns its second operand).
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The smaller value, or the canonical NaN.
    function min(Float32 _a, Float32 _b) internal pure returns (Float32 r_) {
        assembly ("memory-safe") {
            let a := and(_a, 0xffffffff) // a Float32 on the stack may carry dirty high bits
            let b := and(_b, 0xffffffff)
            let ma := and(a, _ABS)
            let mb := and(b, _ABS)
            let sa := sub(0, shr(31, a))
            let sb := sub(0, shr(31, b))
            let ka := sub(xor(ma, sa), sa) // order keys as in `lt`
            let kb := sub(xor(mb, sb), sb)
            // Equal keys are identical patterns or the two zeros, where a set sign bit (-0) wins: a | b.
            r_ := or(a, b)
            if slt(ka, kb) { r_ := a }
            if slt(kb, ka) { r_ := b }
            if or(gt(ma, _INF), gt(mb, _INF)) { r_ := _QNAN } // a NaN in either operand
        }
    }

    /// @notice IEEE 754-2019 maximum: NaN if either is NaN, else the larger, with -0 < +0.
    /// @dev max(-0, +0) = max(+0, -0) = +0, unlike numpy's `maximum` (which returns its second operand).
    /// @param _a The left operand.
    /// @param _b The right operand.
    /// @return r_ The larger value, or the canonical NaN.
    function max(Float32 _a, Float32 _b) internal pure returns (Float32 r_) {
        assembly ("memory-safe") {
            let a := and(_a, 0xffffffff)
            let b := and(_b, 0xffffffff)
            let ma := and(a, _ABS)
            let mb := and(b, _ABS)
            let sa := sub(0, shr(31, a))
            let sb := sub(0, shr(31, b))
            let ka := sub(xor(ma, sa), sa)
            let kb := sub(xor(mb, sb), sb)
            // Equal keys: identical patterns, or the two zeros, where a clear sign bit (+0) wins: a & b.
            r_ := and(a, b)
            if sgt(ka, kb) { r_ := a }
            if sgt(kb, ka) { r_ := b }
            if or(gt(ma, _INF), gt(mb, _INF)) { r_ := _QNAN }
        }
    }

    /// @notice `_c ? _a : _b`, the select primitive of the op recipes (no arithmetic, NaNs pass unchanged).
    /// @param _c The condition.
    /// @param _a The value for true.
    /// @param _b The value for false.
    /// @return The chosen value.
    function select(bool _c, Float32 _a, Float32 _b) internal pure returns (Float32) {
        return _c ? _a : _b;
    }

    // ============================================================ conversions

    /// @notice The int32 `_v` as binary32, rounded to nearest, ties to even (exact when |v| <= 2^24).
    /// @param _v The integer.
    /// @return The nearest binary32.
    function fromInt32RNE(int32 _v) internal pure returns (Float32) {
        return fromInt256RNE(_v);
    }

    /// @notice The int256 `_v` as binary32, rounded to nearest, ties to even; |v| >= 2^128 - 2^103 gives ±inf.
    /// @dev 0 gives +0.
    /// @param _v The integer.
    /// @return The nearest binary32, or ±inf.
    function fromInt256RNE(int256 _v) internal pure returns (Float32) {
        if (_v == 0) return POS_ZERO;
        uint256 mag;
        unchecked {
            // |v| as uint256; for type(int256).min the negation wraps to itself, whose uint256 value 2^255 is right.
            mag = _v < 0 ? uint256(-_v) : uint256(_v);
        }
        return _roundPack(_v < 0 ? _SIGN : 0, 0, mag, 0);
    }

    /// @notice x truncated toward zero to an int32, saturating: NaN -> 0, x >= 2^31 (and +inf) ->
    /// type(int32).max, x <= -2^31 (and -inf) -> type(int32).min. Never reverts.
    /// @param _x The value.
    /// @return The truncated, saturated integer.
    function toInt32RTZ(Float32 _x) internal pure returns (int32) {
        uint256 x = Float32.unwrap(_x);
        uint256 m = x & _ABS;
        if (m > _INF) return 0;
        uint256 e = m >> 23;
        if (e < 127) return 0; // |x| < 1, zeros and subnormals included
        if (e >= 158) return x & _SIGN == 0 ? type(int32).max : type(int32).min; // |x| >= 2^31, inf included
        uint256 s = (m & _FRAC) | _HIDDEN;
        // |x| = s * 2^(e - 150); with e in 127..157 the integer part has 1 to 31 bits.
        uint256 i = e >= 150 ? s << (e - 150) : s >> (150 - e);
        unchecked {
            // i < 2^31, so int32(i) and its negation cannot wrap.
            return x & _SIGN == 0 ? int32(int256(i)) : -int32(int256(i));
        }
    }

    /// @notice x with its fraction dropped, toward zero (C's `truncf`), as a binary32 (exact).
    /// @dev trunc(-0.5) = -0; integers, ±inf and ±0 are returned as they are; NaN gives the canonical NaN.
    /// @param _x The value.
    /// @return x without its fraction.
    function truncRTZ(Float32 _x) internal pure returns (Float32) {
        uint256 x = Float32.unwrap(_x);
        uint256 m = x & _ABS;
        if (m > _INF) return NAN;
        uint256 e = m >> 23;
        if (e >= 150) return _x; // |x| >= 2^23: no fraction bits (inf included)
        if (e < 127) return Float32.wrap(uint32(x & _SIGN)); // |x| < 1
        // Clear the 150 - e fraction bits that lie below 2^0.
        return Float32.wrap(uint32(x & ~((uint256(1) << (150 - e)) - 1)));
    }

    // ============================================================ internal

    /// @dev Round sig * 2^pow2 to binary32 (nearest, ties to even), with sign `_sign` (0 or 1 << 31).
    /// Preconditions: 0 < sig <= 2^255; n is sig's bit length, at least 26, or 0 to have it counted here;
    /// pow2 >= -360 (so, even after a short sig is shifted up by 25 bits, at most 236 bits are dropped); a sig
    /// that stands for an inexact value has a sticky 1 in bit 0 and at least two bits more than are kept, so
    /// that bit lies strictly below the half-ulp position.
    /// @param _sign The sign bit of the result.
    /// @param _pow2 The power of two of sig's bit 0.
    /// @param _sig The significand, exact or with a sticky bit.
    /// @param _n The bit length of sig when the caller knows it (>= 26), else 0.
    /// @return r_ The rounded value, ±inf on overflow.
    function _roundPack(uint256 _sign, int256 _pow2, uint256 _sig, uint256 _n) private pure returns (Float32 r_) {
        if (_n == 0) {
            _n = _bitLength(_sig);
            if (_n < 26) {
                // Give a short (exact) sig 26 bits, so at least two are always dropped below: no shift-up case.
                unchecked {
                    _sig <<= 26 - _n;
                    _pow2 -= int256(26 - _n);
                }
                _n = 26;
            }
        }
        assembly ("memory-safe") {
            // The power of two of the result's last kept bit: 24 significant bits for a normal result,
            // but never below 2^-149, where the subnormals keep fewer.
            let lsb := sub(add(_pow2, _n), 24)
            if slt(lsb, sub(0, 149)) { lsb := sub(0, 149) }
            // Bits of sig to drop: s >= n - 24 >= 2.
            let s := sub(lsb, _pow2)
            // Round to nearest, ties to even, in one shift: adding half - 1 carries into the kept bits exactly
            // when the dropped part exceeds half; adding the kept part's last bit as well makes an exact half
            // carry only into an odd kept part. sig + 2^(s-1) cannot wrap (sig <= 2^255, s <= 236).
            let m := shr(s, add(add(_sig, sub(shl(sub(s, 1), 1), 1)), and(shr(s, _sig), 1)))
            // Encode: for a normal result m is in [2^23, 2^24] and the biased exponent is lsb + 150, so the
            // pattern is ((lsb + 149) << 23) + m; the hidden bit of m adds the missing 1 to the exponent.
            // A subnormal (lsb = -149, m < 2^23) gets exponent field 0, the same formula. Rounding up to
            // m = 2^24 (or a subnormal to 2^23) carries into the exponent, which is the right value too.
            let bits := add(shl(23, add(lsb, 149)), m)
            // Anything at or past the pattern of inf is an overflow, rounded to inf.
            if gt(bits, _INF) { bits := _INF }
            r_ := or(_sign, bits)
        }
    }

    /// @dev The number of significant bits of x (0 for 0): a binary search down to 4 bits, then a table.
    function _bitLength(uint256 _x) private pure returns (uint256 n_) {
        assembly ("memory-safe") {
            // Each step: if the part of x above bit n is still at least 2^k, move n up by k.
            n_ := shl(7, gt(_x, 0xffffffffffffffffffffffffffffffff))
            n_ := or(n_, shl(6, gt(shr(n_, _x), 0xffffffffffffffff)))
            n_ := or(n_, shl(5, gt(shr(n_, _x), 0xffffffff)))
            n_ := or(n_, shl(4, gt(shr(n_, _x), 0xffff)))
            n_ := or(n_, shl(3, gt(shr(n_, _x), 0xff)))
            n_ := or(n_, shl(2, gt(shr(n_, _x), 0xf)))
            // x >> n is now below 16: byte v of this word is the bit length of v (0,1,2,2,3,3,3,3,4,...).
            n_ := add(n_, byte(shr(n_, _x), 0x0001020203030303040404040404040400000000000000000000000000000000))
        }
    }
}
