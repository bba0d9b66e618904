"""The numpy float32 oracle: the canonical float semantics (docs/architecture.md "Numbers") stated once, in numpy.

numpy float32 arithmetic is IEEE-754 binary32 with round-to-nearest-even and no flush-to-zero (numpy never sets
FTZ/DAZ). The project's semantics add three rules, each coded here and nowhere else in Python:

* every NaN result is the canonical quiet NaN 0x7FC00000 (`canon`, on top of `bits.canonical`);
* `minimum` / `maximum` are IEEE 754-2019 minimum / maximum: NaN if either operand is NaN, and -0 < +0
  (numpy's own return their second operand for a pair of zeros);
* `neg` / `absolute` flip / clear the sign bit and canonicalise a NaN.

Two interfaces over the same functions:

* values: `add(a, b)`, `maximum(a, b)`, `sqrt(a)`, `exp(x)` (offchain/float32/fmath.py) ... take float32 scalars
  or arrays (anything numpy turns into float32) and return the same kind, canonical;
* patterns: `reference(op, a, b)` takes uint32 arrays of bit patterns and answers in the encoding of
  contracts/test/Float32Harness.sol (int32 results as two's complement, comparisons as 0/1), which is what
  the Float32.sol tests and tools/gen_float32_vectors.py compare against.

    from offchain.float32 import oracle as F
    F.add(np.float32(1), np.float32(2 ** -24)) == 1.0        # ties to even
    F.reference("min", np.array([0x80000000], np.uint32), np.array([0], np.uint32))   # [0x80000000]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from offchain.float32.bits import ABS, CANONICAL_NAN, INF, SIGN, canonical, floats, from_bits, patterns

NAN = from_bits(CANONICAL_NAN)


def _f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def _like(x, r: np.ndarray):
    """r as a numpy float32 scalar when x was a scalar (or a 0-d array), else as an array."""
    return r if np.ndim(x) else np.float32(r[()])


def canon(x):
    """Replace every NaN by the canonical quiet NaN 0x7FC00000 (the NaN rule, on values)."""
    if isinstance(x, np.floating):  # a scalar: the same rule without the array round trip (the scalar loops)
        return NAN if x != x else np.float32(x)
    return _like(x, floats(canonical(patterns(x))))


def add(a, b):
    """fl(a + b)."""
    with np.errstate(all="ignore"):
        return canon(np.add(_f32(a), _f32(b)))


def sub(a, b):
    """fl(a - b)."""
    with np.errstate(all="ignore"):
        return canon(np.subtract(_f32(a), _f32(b)))


def mul(a, b):
    """fl(a * b)."""
    with np.errstate(all="ignore"):
        return canon(np.multiply(_f32(a), _f32(b)))


def div(a, b):
    """fl(a / b)."""
    with np.errstate(all="ignore"):
        return canon(np.divide(_f32(a), _f32(b)))


def sqrt(a):
    """fl(sqrt(a)); NaN below zero (-0 gives -0)."""
    with np.errstate(all="ignore"):
        return canon(np.sqrt(_f32(a)))


def neg(a):
    """Flip the sign bit (exact); a NaN gives the canonical NaN."""
    return canon(_like(a, floats(patterns(a) ^ np.uint32(SIGN))))


def absolute(a):
    """Clear the sign bit (exact); a NaN gives the canonical NaN."""
    return canon(_like(a, floats(patterns(a) & np.uint32(ABS))))


def _zeros(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    return ((pa | pb) & np.uint32(ABS)) == 0


def minimum(a, b):
    """IEEE 754-2019 minimum: NaN if either is NaN, else the smaller value, -0 below +0 (min(-0, +0) = -0)."""
    a, b = _f32(a), _f32(b)
    pa, pb = patterns(a), patterns(b)
    r = np.where(_zeros(pa, pb), floats(pa | pb), np.minimum(a, b))  # two zeros: -0 if either is -0
    return canon(_like(a, np.asarray(r, dtype=np.float32)))


def maximum(a, b):
    """IEEE 754-2019 maximum: NaN if either is NaN, else the larger value, +0 above -0 (max(-0, +0) = +0)."""
    a, b = _f32(a), _f32(b)
    pa, pb = patterns(a), patterns(b)
    r = np.where(_zeros(pa, pb), floats(pa & pb), np.maximum(a, b))  # two zeros: +0 unless both are -0
    return canon(_like(a, np.asarray(r, dtype=np.float32)))


def trunc(a):
    """C truncf: the integer part toward zero, as a float (exact)."""
    return canon(np.trunc(_f32(a)))


# ============================================================ bit-pattern interface (Float32Harness's encoding


def reference(op: str, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """What the oracle gives for `op` on bit patterns a, b (uint32 arrays), in Float32Harness's encoding.

    Float results are canonical patterns; comparisons (IEEE: false with a NaN, -0 == +0) are 1 / 0;
    `to_int32` truncates toward zero and saturates (NaN -> 0) and answers two's complement bits; `from_int32`
    reads a as int32; `scalbn` reads b as an int32 n; `noop` returns a unchanged.
    """
    a = np.asarray(a, dtype=np.uint32)
    b = np.zeros_like(a) if b is None else np.asarray(b, dtype=np.uint32)
    fa, fb = floats(a), floats(b)
    with np.errstate(all="ignore"):
        if op in _FLOAT_RESULT:
            return patterns(_FLOAT_RESULT[op](fa, fb)).copy()
        if op in _COMPARE:
            return _COMPARE[op](fa, fb).astype(np.uint32)
        if op == "to_int32":
            f = fa.astype(np.float64)
            t = np.where(np.isnan(f), 0.0, np.clip(np.trunc(f), -(2.0**31), 2.0**31 - 1))
            return t.astype(np.int64).astype(np.uint32)  # two's complement bits
        if op == "from_int32":
            return canonical(a.view(np.int32).astype(np.float32).view(np.uint32))
        if op == "scalbn":
            return canonical(np.ldexp(fa, b.view(np.int32)).astype(np.float32).view(np.uint32))
        if op == "noop":
            return a.copy()
    raise KeyError(f"unknown op {op!r}")


_FLOAT_RESULT: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "sqrt": lambda x, _: sqrt(x),
    "min": minimum,
    "max": maximum,
    "neg": lambda x, _: neg(x),
    "abs": lambda x, _: absolute(x),
    "trunc": lambda x, _: trunc(x),
}
_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "eq": np.equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}


def int_to_f32_bits(v: int) -> int:
    """Any Python int as binary32 bits, rounded to nearest, ties to even, by exact integer arithmetic.

    The oracle for `fromInt256RNE` (numpy cannot convert integers beyond int64 without a double rounding).
    """
    if v == 0:
        return 0
    sign = SIGN if v < 0 else 0
    m = abs(v)
    lsb = m.bit_length() - 24  # the power of two of the last of 24 significant bits
    if lsb <= 0:
        kept = m << -lsb  # exact
    else:
        kept, rem, half = m >> lsb, m & ((1 << lsb) - 1), 1 << (lsb - 1)
        kept += rem > half or (rem == half and kept & 1)  # ties to even; 2^24 carries into the exponent
    bits = ((lsb + 149) << 23) + kept  # kept has its hidden bit, which adds the 1 the biased exponent needs
    return sign | min(bits, INF)
