"""binary32 bit patterns: the landmark constants, bits <-> numpy float32, the canonical NaN, int32 patterns.

Every value the project hands between Python, torch and the chain is a 32-bit pattern (an int in [0, 2^32), or
a numpy uint32 array): float32 bits for floats, two's complement for int32. This module is the one place that
says what those patterns mean; docs/float32.md has the format table.

    from offchain.float32.bits import CANONICAL_NAN, canon_bits, from_bits, to_bits
    to_bits(from_bits(0x3F800000)) == 0x3F800000; canon_bits(0xFFC00001) == CANONICAL_NAN
"""

from __future__ import annotations

import numpy as np

# Landmarks (Float32.sol exports the same: NAN, POS_INF, NEG_INF, POS_ZERO, NEG_ZERO, ONE, MAX_FINITE, ...).
CANONICAL_NAN = 0x7FC00000  # the only NaN pattern any op returns (docs/float32.md "NaN", docs/repops.md "NaN rule")
SIGN = 0x80000000  # the sign bit; also -0
ABS = 0x7FFFFFFF  # everything but the sign bit
INF = 0x7F800000  # +inf; a pattern whose ABS part is above it is a NaN
NEG_INF = 0xFF800000
ONE = 0x3F800000
MAX_FINITE = 0x7F7FFFFF  # (2^24 - 1) * 2^104
MIN_NORMAL = 0x00800000  # 2^-126
MIN_SUBNORMAL = 0x00000001  # 2^-149


def is_nan_bits(bits):
    """True where the pattern (an int or a uint32 array) is a NaN, whatever its payload, sign or quiet bit."""
    return (bits & ABS) > INF


def canon_bits(bits: int) -> int:
    """A pattern with any NaN replaced by CANONICAL_NAN (int version of `canonical`)."""
    return CANONICAL_NAN if is_nan_bits(bits) else bits


def canonical(bits: np.ndarray) -> np.ndarray:
    """Patterns (uint32 array) with every NaN replaced by CANONICAL_NAN (numpy keeps payloads and signs)."""
    bits = np.asarray(bits, dtype=np.uint32)
    return np.where(is_nan_bits(bits), np.uint32(CANONICAL_NAN), bits).astype(np.uint32)


def from_bits(bits: int) -> np.float32:
    """The numpy float32 scalar whose pattern is the low 32 bits of `bits`."""
    return np.array([bits & 0xFFFFFFFF], dtype=np.uint32).view(np.float32)[0]


def to_bits(x) -> int:
    """The pattern of a float32 scalar, as an int in [0, 2^32) (no canonicalisation)."""
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


def floats(bits) -> np.ndarray:
    """A uint32 array of patterns viewed as float32 (no copy when it already is uint32)."""
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def patterns(x) -> np.ndarray:
    """A float32 array viewed as its uint32 patterns (no copy when it already is float32)."""
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def i32(bits: int) -> int:
    """The int32 a 32-bit two's complement pattern stands for."""
    bits &= 0xFFFFFFFF
    return bits - (1 << 32) if bits >> 31 else bits


def u32(v):
    """int32 value(s) as 32-bit two's complement patterns: an int for an int, a uint32 array for an array."""
    if isinstance(v, int):
        return v & 0xFFFFFFFF
    return np.asarray(v, dtype=np.int64).astype(np.uint32)
