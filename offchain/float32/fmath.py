"""exp, log and tanh as the fixed primitive sequences of docs/repops.md, in numpy float32, vectorised.

These are the recipes contracts/libraries/Float32Math.sol runs on chain and offchain/repops/prims.py runs in
torch: range reduction, a Horner polynomial over correctly rounded float32 add/sub/mul/div, and a scaling by
powers of two built from exponent bits. The constants are defined here once (prims.py imports them; the
Solidity library copies them from docs/repops.md). Each step below is one primitive in the order the spec
gives; a NaN is canonicalised once, at the output (NaN-ness never depends on a payload, so that equals
canonicalising after every primitive).

    from offchain.float32 import fmath
    fmath.exp(np.float32(1.0))                 # a float32 scalar; arrays of any shape work the same way
    fmath.log(np.arange(1, 5, dtype=np.float32))

Accuracy (not part of the spec): tools/sweep_ulp.py measures every float32 input against float64.
"""

from __future__ import annotations

import numpy as np

from offchain.float32.bits import CANONICAL_NAN, floats, from_bits, patterns
from offchain.float32.oracle import _f32, _like, canon

# Polynomial and range-reduction constants, as float32 bit patterns (docs/repops.md lists them too).
LOG2E = 0x3FB8AA3B  # 1/ln 2 rounded to float32
LN2_HI = 0x3F317200  # high 16 bits of ln 2: n * LN2_HI is exact for |n| < 256
LN2_LO = 0x35BFBE8E  # ln 2 - LN2_HI rounded to float32
ROUND_MAGIC = 0x4B400000  # 1.5 * 2^23: (t + M) - M rounds t to an integer, ties to even
EXP_HI = 0x42B20000  # 89.0: above it exp overflows to +inf (x is clamped here first)
EXP_LO = 0xC2D00000  # -104.0: below it exp underflows to +0 (x is clamped here first)
# exp(r) on |r| <= ln2/2: Taylor coefficients 1/k!, k = 7 .. 0 (Horner order)
EXP_POLY = (0x39500D01, 0x3AB60B61, 0x3C088889, 0x3D2AAAAB, 0x3E2AAAAB, 0x3F000000, 0x3F800000, 0x3F800000)
SQRT2 = 0x3FB504F3  # sqrt(2) rounded to float32: mantissas above it are halved
TWO_POW_23 = 0x4B000000  # 2^23: scales subnormals to normals before the exponent is read
# log(m) = s * P(s^2), s = (m-1)/(m+1): P = 2/9, 2/7, 2/5, 2/3, 2 (Horner order)
LOG_POLY = (0x3E638E39, 0x3E924925, 0x3ECCCCCD, 0x3F2AAAAB, 0x40000000)
TANH_SMALL = 0x3E99999A  # 0.3: below it tanh uses its odd Taylor polynomial
# tanh(x) = x + x^3 * Q(x^2) for |x| < 0.3: Q = 21844/6081075, -1382/155925, 62/2835, -17/315, 2/15, -1/3
TANH_POLY = (0x3B6B69E8, 0xBC11371B, 0x3CB327A4, 0xBD5D0DD1, 0x3E088889, 0xBEAAAAAB)
GELU_C0 = 0x3F4C422A  # sqrt(2/pi)
GELU_C1 = 0x3D372713  # 0.044715

_C = from_bits
_ONE, _TWO, _HALF = np.float32(1.0), np.float32(2.0), np.float32(0.5)
_NAN = from_bits(CANONICAL_NAN)


def _pow2(k: np.ndarray) -> np.ndarray:
    """2^k for integer k in the normal range, built from its bits (k + 127) << 23."""
    return floats(((k + 127) << 23).astype(np.uint32))


def _horner(coeffs: tuple[int, ...], t: np.ndarray) -> np.ndarray:
    """p = c0; p = p*t + c1; ...: one mul and one add per coefficient."""
    p = np.full_like(t, _C(coeffs[0]))
    for c in coeffs[1:]:
        p = p * t + _C(c)  # float32 array times float32: two separately rounded primitives
    return p


def _exp(x: np.ndarray) -> np.ndarray:
    """The exp recipe on a float32 array, NaN not yet canonical (errors ignored by the caller)."""
    x = np.where(x > _C(EXP_HI), _C(EXP_HI), x)  # NaN passes both clamps
    x = np.where(x < _C(EXP_LO), _C(EXP_LO), x)
    magic = _C(ROUND_MAGIC)
    n = (x * _C(LOG2E) + magic) - magic  # rounds x / ln 2 to an integer, ties to even
    r = (x - n * _C(LN2_HI)) - n * _C(LN2_LO)
    p = _horner(EXP_POLY, r)
    ni = np.where(n == n, n, 0).astype(np.int32)  # exact: n is an integer in [-150, 129] (0 for a NaN lane)
    n1 = ni >> 1  # floor(n / 2)
    return (p * _pow2(n1)) * _pow2(ni - n1)  # the first product exact, the second rounds once


def exp(x):
    """e^x by the recipe of docs/repops.md ("exp"): NaN -> NaN, -inf -> +0, +inf -> +inf."""
    a = _f32(x)
    with np.errstate(all="ignore"):
        return canon(_like(x, np.asarray(_exp(a), dtype=np.float32)))


def log(x):
    """ln x by the recipe of docs/repops.md ("log"): NaN and x < 0 -> NaN, ±0 -> -inf, +inf -> +inf."""
    a = _f32(x)
    with np.errstate(all="ignore"):
        sub = (a > 0) & (a < _C(0x00800000))  # subnormal: scale to a normal by 2^23 (exact), 23 off the exponent
        v = np.where(sub, a * _C(TWO_POW_23), a)
        b = patterns(v).astype(np.int32)
        e = ((b >> 23) & 0xFF) - 127 - np.where(sub, 23, 0)
        m = floats(((b & 0x7FFFFF) | 0x3F800000).astype(np.uint32))  # the significand, in [1, 2)
        big = m > _C(SQRT2)
        m = np.where(big, m * _HALF, m)
        e = e + big
        s = (m - _ONE) / (m + _ONE)
        z = s * s
        logm = s * _horner(LOG_POLY, z)
        ef = e.astype(np.float32)  # exact: |e| <= 150
        y = ef * _C(LN2_HI) + (ef * _C(LN2_LO) + logm)
        y = np.where(a == 0, np.float32(-np.inf), y)
        y = np.where(a == np.inf, np.float32(np.inf), y)
        y = np.where((a != a) | (a < 0), _NAN, y)
        return canon(_like(x, np.asarray(y, dtype=np.float32)))


def tanh(x):
    """tanh x by the recipe of docs/repops.md ("tanh"): NaN -> NaN, ±inf -> ±1, ±0 -> +0."""
    a = _f32(x)
    with np.errstate(all="ignore"):
        ax = floats(patterns(a) & np.uint32(0x7FFFFFFF))
        z = a * a
        small = a + (z * a) * _horner(TANH_POLY, z)
        t = _ONE - _TWO / (_exp(ax * _TWO) + _ONE)
        t = np.where(a < 0, -t, t)  # neg: flips the sign bit (t is never NaN here unless a is)
        y = np.where(ax < _C(TANH_SMALL), small, t)
        return canon(_like(x, np.asarray(y, dtype=np.float32)))
