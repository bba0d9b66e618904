"""Float32.sol from Python, for its tests and benchmark: the harness client and the test vectors.

contracts/libraries/Float32.sol (LibFloat32) implements IEEE-754 binary32 on bit patterns (docs/float32.md).
`Float32Harness` drives contracts/test/Float32Harness.sol over plain JSON-RPC (eth_call, so nothing is mined
and no Ape provider is involved); `vectors` builds the mixes the tests and the benchmark use: uniform bit
patterns plus edge values, subnormals, overflow and underflow boundaries and deliberately constructed
round-to-nearest-even ties. The oracle they are checked against is `offchain.float32.oracle.reference`.

    from float32_support import Float32Harness, vectors       # tests/libraries is on sys.path
    from offchain.float32.oracle import reference
    with Anvil.start() as anvil:
        harness = Float32Harness.deploy(anvil.uri, bytecode)      # bytecode: project.Float32Harness's
        a, b = vectors("add", 20_000, seed=1)
        assert (harness.many("add", a, b) == reference("add", a, b)).all()

tests/libraries/test_float32.py, benchmarks/bench_float32.py and tools/gen_float32_vectors.py import it (the
latter two put tests/libraries on sys.path). Its tests: `.venv/bin/ape test tests/libraries/test_float32.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import requests
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from offchain.float32.bits import ABS, SIGN
from offchain.float32.bits import u32 as _u32


@dataclass(frozen=True)
class OpSpec:
    """One op of the harness: its `Float32Harness.Op` code and how its 32-bit operands are read."""

    name: str  # the name used here and in the golden file
    code: int  # Float32Harness.Op value (ABI uint8)
    unary: bool  # b is ignored (sent as zeros)
    a_int: bool = False  # a holds an int32 (fromInt32RNE), not a float
    b_int: bool = False  # b holds an int32 (scalbnRNE's n)
    result_int: bool = False  # the result is an int32 (toInt32RTZ) or a 0/1 flag (comparisons)


OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec("add", 0, False),
        OpSpec("sub", 1, False),
        OpSpec("mul", 2, False),
        OpSpec("div", 3, False),
        OpSpec("sqrt", 4, True),
        OpSpec("min", 5, False),
        OpSpec("max", 6, False),
        OpSpec("eq", 7, False, result_int=True),
        OpSpec("lt", 8, False, result_int=True),
        OpSpec("le", 9, False, result_int=True),
        OpSpec("gt", 10, False, result_int=True),
        OpSpec("ge", 11, False, result_int=True),
        OpSpec("neg", 12, True),
        OpSpec("abs", 13, True),
        OpSpec("trunc", 14, True),
        OpSpec("to_int32", 15, True, result_int=True),
        OpSpec("from_int32", 16, True, a_int=True),
        OpSpec("scalbn", 17, False, b_int=True),
        OpSpec("noop", 18, True),
    )
}
BINARY_FLOAT_OPS = ("add", "sub", "mul", "div", "min", "max", "eq", "lt", "le", "gt", "ge")
CHECKED_OPS = tuple(name for name in OPS if name != "noop")  # every op the tests and the benchmark check


# ============================================================ vectors

EDGES: dict[str, int] = {
    "+0": 0x00000000,
    "-0": 0x80000000,
    "+min_subnormal": 0x00000001,
    "-min_subnormal": 0x80000001,
    "+subnormal_3": 0x00000003,
    "-half_min_normal": 0x80400000,
    "+max_subnormal": 0x007FFFFF,
    "-max_subnormal": 0x807FFFFF,
    "+min_normal": 0x00800000,
    "-min_normal": 0x80800000,
    "+min_normal_next": 0x00800001,
    "+2^-24": 0x33800000,
    "-2^-23": 0xB4000000,
    "+0.1": 0x3DCCCCCD,
    "-1/3": 0xBEAAAAAB,
    "+0.5": 0x3F000000,
    "+1_prev": 0x3F7FFFFF,
    "+1": 0x3F800000,
    "-1": 0xBF800000,
    "+1_next": 0x3F800001,
    "-1.5": 0xBFC00000,
    "+2": 0x40000000,
    "-3": 0xC0400000,
    "+sqrt2": 0x3FB504F3,
    "+2^24": 0x4B800000,
    "-(2^24+2)": 0xCB800001,
    "+2^31": 0x4F000000,
    "-2^31": 0xCF000000,
    "+2^64": 0x5F800000,
    "+2^127": 0x7F000000,
    "-max_finite_prev": 0xFF7FFFFE,
    "+max_finite": 0x7F7FFFFF,
    "-max_finite": 0xFF7FFFFF,
    "+inf": 0x7F800000,
    "-inf": 0xFF800000,
    "+qnan": 0x7FC00000,
    "-qnan": 0xFFC00000,
    "+snan_payload_1": 0x7F800001,
    "+qnan_payload": 0x7FC12345,
    "-nan_all_ones": 0xFFFFFFFF,
}
EDGE_BITS = np.array(list(EDGES.values()), dtype=np.uint32)
INT_EDGES = (0, 1, -1, 2, 3, 7, 255, -256, 2**23, 2**24 - 1, 2**24, 2**24 + 1, 2**24 + 2, 2**24 + 3, -(2**24 + 1),
             2**25 + 2, 2**25 + 6, 2**30 + 64, 2**31 - 1, -(2**31 - 1), -(2**31), 2**31 - 64, 2**31 - 65)  # fmt: skip
SCALE_EDGES = (0, 1, -1, 2, 23, 24, 25, 126, 127, 128, 149, 150, 253, 254, 255, 300, -23, -24, -25, -126, -127,
               -128, -148, -149, -150, -151, -253, -254, -300, 2**31 - 1, -(2**31))  # fmt: skip


def _pack(sign, exp, frac) -> np.ndarray:
    """Patterns from fields: sign bit, exponent field 0..255, fraction 0..2^23-1."""
    sign, exp, frac = (np.asarray(v, dtype=np.int64) for v in (sign, exp, frac))
    return (((sign & 1) << 31) | ((exp & 0xFF) << 23) | (frac & 0x7FFFFF)).astype(np.uint32)


def _uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform random 32-bit patterns (about 0.4% NaN, 0.4% subnormal, the rest normal or inf)."""
    return rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)


def _floats(rng: np.random.Generator, n: int, lo: int = 0, hi: int = 254, *, sign=None) -> np.ndarray:
    """Finite values with exponent field uniform in lo..hi, random fraction, random sign unless given."""
    s = rng.integers(0, 2, n) if sign is None else np.full(n, sign)
    return _pack(s, rng.integers(lo, hi + 1, n), rng.integers(0, 1 << 23, n))


def _exp_of(bits: np.ndarray) -> np.ndarray:
    return ((bits >> 23) & 0xFF).astype(np.int64)


def _near(rng: np.random.Generator, a: np.ndarray, spread: int) -> np.ndarray:
    """Random values whose exponent is within `spread` of a's (alignment, cancellation, carries)."""
    e = np.clip(_exp_of(a) + rng.integers(-spread, spread + 1, a.size), 0, 254)
    return _pack(rng.integers(0, 2, a.size), e, rng.integers(0, 1 << 23, a.size))


def _neighbours(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    """a, -a, or a pattern one or two steps away (equal, opposite and adjacent values)."""
    pick = rng.integers(0, 5, a.size)
    out = np.where(pick == 0, a, a ^ SIGN)
    step = np.where(pick >= 3, 1, 2).astype(np.int64)
    near = (a.astype(np.int64) + np.where(pick == 2, -step, step)) & 0xFFFFFFFF
    return np.where(pick >= 2, near, out).astype(np.uint32)


def _odd(rng: np.random.Generator, lo_bits: int, hi_bits: int, n: int) -> np.ndarray:
    """Odd integers with a bit length between lo_bits and hi_bits."""
    length = rng.integers(lo_bits, hi_bits + 1, n)
    return ((1 << (length - 1)) | rng.integers(0, 1 << 62, n) % (1 << (length - 1).clip(1)) | 1).astype(np.int64)


def _ldexp_bits(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Patterns of the float32 m * 2^e (m < 2^24 integers; exact wherever representable)."""
    with np.errstate(all="ignore"):
        return np.ldexp(m.astype(np.float32), e.astype(np.int32)).astype(np.float32).view(np.uint32)


def _signed(bits: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Patterns with the sign bit set where sign is 1."""
    return (bits | (sign.astype(np.uint32) << np.uint32(31))).astype(np.uint32)


def ties(op: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectors built so the exact result lies (mostly) exactly halfway between two float32 values."""
    sign_a, sign_b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    if op in ("add", "sub"):
        # b's bits below a's last bit are exactly 100...0: a half-ulp tail (before any carry or cancellation).
        ea = rng.integers(2, 255, n)
        d = np.minimum(rng.integers(1, 25, n), ea - 1)  # b stays normal
        frac_a = rng.integers(0, 1 << 23, n)
        sb = (rng.integers(0, 1 << 24, n) & ~((1 << d) - 1)) | (1 << (d - 1)) | (1 << 23)
        return _pack(sign_a, ea, frac_a), _pack(sign_b, ea - d, sb & 0x7FFFFF)
    if op == "mul":
        # p * q odd with 25 bits (one bit too many: a tie at a normal result), or fewer bits placed so their
        # last bit is 2^-150 (a tie at the subnormal / zero boundary).
        p = _odd(rng, 2, 13, n)
        lo = (1 << 24) // p + 1
        hi = (1 << 25) // p
        q = (lo + rng.integers(0, 1 << 62, n) % np.maximum(hi - lo, 1)) | 1
        normal = (p * q < (1 << 25)) & (rng.random(n) < 0.7)
        q = np.where(normal, q, _odd(rng, 1, 10, n))
        q = np.where(~normal & (p * q >= 1 << 24), 1, q)
        t = np.where(normal, rng.integers(-170, 100, n), -150)  # the product's power of two
        i = np.where(normal, rng.integers(-120, 100, n), rng.integers(-149, 0, n))
        i = np.where(normal, np.clip(i, t - 100, t + 140), i)
        return _signed(_ldexp_bits(p, i), sign_a), _signed(_ldexp_bits(q, t - i), sign_b)
    if op == "div":
        # Exact quotients only tie in the subnormal range: a / b = P * 2^-150 with P odd.
        big = _odd(rng, 2, 24, n)
        q = _odd(rng, 1, 6, n)
        q = np.where(big * q < 1 << 24, q, 1)
        j = rng.integers(1, 100, n)
        return _signed(_ldexp_bits(big * q, j - 150), sign_a), _signed(_ldexp_bits(q, j), sign_b)
    if op == "from_int32":
        # An odd 25-bit integer shifted up: exactly one bit too many, dropped bits 100...0.
        v = _odd(rng, 25, 25, n) << rng.integers(0, 7, n)
        v = np.where(v >= 2**31, v >> 1, v)
        return _u32(np.where(sign_a == 1, -v, v)), np.zeros(n, np.uint32)
    if op == "scalbn":
        # An odd significand shifted down so that exactly its last bit falls off below 2^-149.
        m = _odd(rng, 2, 24, n)
        e = rng.integers(-149, 100, n)
        x = _signed(_ldexp_bits(m, e), sign_a)
        return x, _u32(-150 - e)
    if op == "sqrt":
        # Squares of midpoints (m + 1/2) * 2^k rounded to float32: roots as close to a tie as they get.
        m = rng.integers(1 << 23, 1 << 24, n).astype(np.float64) + 0.5
        k = rng.integers(-98, 40, n)
        with np.errstate(all="ignore"):
            return np.ldexp(m * m, 2 * k).astype(np.float32).view(np.uint32), np.zeros(n, np.uint32)
    raise KeyError(op)


def _split(n: int, weights: dict[str, float]) -> dict[str, int]:
    """Counts per family summing exactly to n."""
    counts = {k: int(n * w) for k, w in weights.items()}
    first = next(iter(counts))
    counts[first] += n - sum(counts.values())
    return counts


def vectors(op: str, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` seeded vectors (a, b) for `op`: uniform bit patterns mixed with edge cases, shuffled.

    The mix: uniform patterns; edge values (EDGES) against random and edge values; exponents close
    together (alignment, carries, cancellation); subnormals; operands whose result lands at the overflow or
    underflow boundary; constructed ties for the rounding ops; and ops' own specials (equal and adjacent
    values for comparisons, integers and halves for truncation, negatives for sqrt).
    """
    rng = np.random.default_rng([seed, OPS[op].code])
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    if op in ("from_int32",):
        c = _split(n, {"uniform": 0.4, "small": 0.2, "pow2": 0.2, "ties": 0.15, "edges": 0.05})
        small = rng.integers(-(1 << 25), 1 << 25, c["small"])
        pow2 = (1 << rng.integers(0, 31, c["pow2"]).astype(np.int64)) + rng.integers(-3, 4, c["pow2"])
        pow2 = np.where(rng.integers(0, 2, c["pow2"]) == 1, -pow2, pow2).clip(-(2**31), 2**31 - 1)
        a = np.concatenate([_uniform(rng, c["uniform"]), _u32(small), _u32(pow2), ties(op, rng, c["ties"])[0],
                            _u32(rng.choice(np.array(INT_EDGES), c["edges"]))])  # fmt: skip
        parts.append((a, np.zeros(n, np.uint32)))
    elif OPS[op].unary:
        c = _split(n, {"uniform": 0.3, "floats": 0.15, "subnormal": 0.1, "edges": 0.05, "special": 0.4})
        parts += [
            (_uniform(rng, c["uniform"]), None),
            (_floats(rng, c["floats"], sign=0 if op == "sqrt" else None), None),
            (_floats(rng, c["subnormal"], 0, 0, sign=0 if op == "sqrt" else None), None),
            (rng.choice(EDGE_BITS, c["edges"]), None),
            (_unary_special(op, rng, c["special"]), None),
        ]
        parts = [(a, np.zeros(a.size, np.uint32)) for a, _ in parts]
    elif op == "scalbn":
        c = _split(n, {"uniform": 0.3, "subnormal": 0.15, "edges": 0.1, "huge_n": 0.1, "ties": 0.35})
        x = np.concatenate(
            [
                _uniform(rng, c["uniform"] + c["huge_n"]),
                _floats(rng, c["subnormal"], 0, 0),
                rng.choice(EDGE_BITS, c["edges"]),
            ]
        )
        k = np.concatenate(
            [
                rng.integers(-300, 301, c["uniform"]),  # |n| in range: results overflow, underflow or not
                rng.integers(-(2**31), 2**31, c["huge_n"]),  # any int32 n: saturation
                rng.integers(-30, 300, c["subnormal"]),  # subnormals scaled up into the normal range
                rng.choice(np.array(SCALE_EDGES), c["edges"]),
            ]
        )
        parts += [(x, _u32(k)), ties(op, rng, c["ties"])]
    else:
        c = _split(n, {"uniform": 0.3, "edge_mix": 0.15, "close": 0.15, "subnormal": 0.1, "boundary": 0.1,
                       "special": 0.2})  # fmt: skip
        m = c["edge_mix"] // 3
        parts += [
            (_uniform(rng, c["uniform"]), _uniform(rng, c["uniform"])),
            (rng.choice(EDGE_BITS, m), _uniform(rng, m)),
            (_uniform(rng, m), rng.choice(EDGE_BITS, m)),
            (rng.choice(EDGE_BITS, c["edge_mix"] - 2 * m), rng.choice(EDGE_BITS, c["edge_mix"] - 2 * m)),
        ]
        a = _floats(rng, c["close"])
        parts.append((a, _near(rng, a, 30)))
        a = _floats(rng, c["subnormal"], 0, 0)
        b = np.where(rng.random(a.size) < 0.5, _floats(rng, a.size, 0, 0), _floats(rng, a.size, 0, 60))
        parts.append((a, b) if rng.random() < 0.5 else (b, a))
        parts.append(_boundary(op, rng, c["boundary"]))
        parts.append(_binary_special(op, rng, c["special"]))
    a = np.concatenate([p[0] for p in parts]).astype(np.uint32)
    b = np.concatenate([p[1] for p in parts]).astype(np.uint32)
    assert a.size == n == b.size, (op, a.size, b.size, n)
    order = rng.permutation(n)
    return a[order], b[order]


def _boundary(op: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Operand pairs whose exact result lands near the overflow threshold or in the subnormal range."""
    ea = rng.integers(1, 255, n)
    high = rng.random(n) < 0.5
    if op == "mul":
        # ea + eb - 127 is the product's exponent field (give or take one): aim at 250..258 or -25..2.
        target = np.where(high, rng.integers(250, 259, n), rng.integers(-25, 3, n))
        eb = np.clip(target + 127 - ea, 1, 254)
    elif op == "div":
        # ea - eb + 127 is the quotient's exponent field: aim at 250..258 or -25..2.
        target = np.where(high, rng.integers(250, 259, n), rng.integers(-25, 3, n))
        eb = np.clip(ea + 127 - target, 1, 254)
    else:
        # Sums near max finite, and normal pairs near the smallest normal (cancellation into subnormals).
        ea = np.where(high, rng.integers(250, 255, n), rng.integers(1, 4, n))
        eb = np.where(high, rng.integers(250, 255, n), rng.integers(0, 4, n))
    a = _pack(rng.integers(0, 2, n), ea, rng.integers(0, 1 << 23, n))
    b = _pack(rng.integers(0, 2, n), eb, rng.integers(0, 1 << 23, n))
    # Significands all ones make round-up-to-overflow likely.
    ones = rng.random(n) < 0.2
    a = np.where(ones, a | 0x7FFFFF, a).astype(np.uint32)
    return a, b


def _binary_special(op: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ties for the rounding ops; equal, opposite and adjacent values and signed zeros for the others."""
    if op in ("add", "sub"):
        # Half ties, and a power of two (or an all-ones significand) against b from just inside to just
        # outside its rounding range (exponents 20..30 apart), where the gap below a power of two halves.
        a, b = ties(op, rng, n - n // 3)
        ea = rng.integers(31, 255, n // 3)
        p = _pack(rng.integers(0, 2, ea.size), ea, np.where(rng.random(ea.size) < 0.7, 0, 0x7FFFFF))
        q = _pack(rng.integers(0, 2, ea.size), ea - rng.integers(20, 31, ea.size), rng.integers(0, 1 << 23, ea.size))
        return np.concatenate([a, p]).astype(np.uint32), np.concatenate([b, q]).astype(np.uint32)
    if op in ("mul", "div"):
        return ties(op, rng, n)
    a = np.concatenate([_floats(rng, n - n // 4), rng.choice(EDGE_BITS, n // 4)]).astype(np.uint32)
    b = _neighbours(rng, a)
    zeros = rng.random(n) < 0.1
    a = np.where(zeros, rng.choice(np.array([0, SIGN], np.uint32), n), a).astype(np.uint32)
    b = np.where(zeros, rng.choice(np.array([0, SIGN], np.uint32), n), b).astype(np.uint32)
    return a, b


def _unary_special(op: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """sqrt: perfect squares, near-tie squares and negatives; conversions: values around the int32 range and
    around integers (whole, half and next-to-whole values); neg/abs: NaNs with payloads and zeros."""
    if op == "sqrt":
        k, j = rng.integers(1, 1 << 12, n // 4), rng.integers(-60, 50, n // 4)
        with np.errstate(all="ignore"):
            squares = np.ldexp((k * k).astype(np.float32), 2 * j).astype(np.float32).view(np.uint32)
        near_tie = ties("sqrt", rng, n // 4)[0]
        # (1 + v * 2^-23) * 4^j with v small: the root is 1 + v * 2^-24 - (tiny), just below a midpoint for odd
        # v and just below a float32 for even v, the hardest cases for the last Newton step and the rounding.
        odd_e = 2 * rng.integers(0, 127, n // 4) + 1
        hard = _pack(0, odd_e, rng.integers(1, 64, odd_e.size))
        negative = _floats(rng, n - 3 * (n // 4), sign=1)
        return np.concatenate([squares, near_tie, hard, negative]).astype(np.uint32)
    if op in ("to_int32", "trunc"):
        ranged = _floats(rng, n // 2, 120, 165)
        whole = rng.integers(-(2**31), 2**31, n - n // 2).astype(np.float64)
        whole += rng.choice(np.array([0.0, 0.5, -0.5, 0.25, 0.999]), whole.size)
        return np.concatenate([ranged, whole.astype(np.float32).view(np.uint32)]).astype(np.uint32)
    # neg, abs, noop: NaNs with payloads, zeros and infinities.
    nans = _pack(rng.integers(0, 2, n), 255, rng.integers(1, 1 << 23, n))
    return np.where(rng.random(n) < 0.2, rng.choice(EDGE_BITS, n), nans).astype(np.uint32)


def typical_vectors(op: str, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Operands like a training step's: N(0, 1) times 10^U(-3, 3), so normal values of mixed magnitude.

    The gas figures use these (mul, div and sqrt cost the same for any normal operands; add's cost varies a
    little with the exponent gap). sqrt gets |x|, from_int32 uniform int32 values, scalbn n in -20..20.
    """
    rng = np.random.default_rng([seed, OPS[op].code])

    def values() -> np.ndarray:
        return (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(np.float32).view(np.uint32)

    a, b = values(), values()
    if op == "sqrt":
        a &= np.uint32(ABS)
    if op == "from_int32":
        a = _u32(rng.integers(-(2**31), 2**31, n))
    if op == "scalbn":
        b = _u32(rng.integers(-20, 21, n))
    return a, b


# ============================================================ the harness over JSON-RPC


class Float32Harness:
    """A deployed Float32Harness, called with eth_call over plain JSON-RPC (no Ape provider needed).

    Batches are split into chunks that stay well under a 30M-gas eth_call; encoding and decoding are numpy
    array operations, so a million vectors cost seconds of Python, not minutes.
    """

    MANY = function_signature_to_4byte_selector("many(uint8,uint32[],uint32[])")
    PACKED = function_signature_to_4byte_selector("packed(uint8,bytes,bytes)")
    GAS_OF = function_signature_to_4byte_selector("gasOf(uint8,uint32[],uint32[])")
    FROM_INT256 = function_signature_to_4byte_selector("fromInt256Many(int256[])")
    CALL_GAS = 30_000_000  # eth_call gas per chunk; a vector costs well under 1,500 gas including decoding

    def __init__(self, uri: str, address: str) -> None:
        self.uri = uri
        self.address = address
        self._session = requests.Session()

    @classmethod
    def deploy(cls, uri: str, bytecode: str | bytes, *, sender: str | None = None) -> Float32Harness:
        """Deploy the harness's creation `bytecode` from `sender` (default: the node's first unlocked account)."""
        harness = cls(uri, "")
        data = bytecode.hex() if isinstance(bytecode, bytes) else bytecode.removeprefix("0x")
        sender = sender or harness._rpc("eth_accounts")[0]
        tx = harness._rpc("eth_sendTransaction", [{"from": sender, "data": "0x" + data, "gas": hex(3_000_000)}])
        receipt = None
        for _ in range(200):  # anvil mines at once, but may answer the receipt a moment later
            receipt = harness._rpc("eth_getTransactionReceipt", [tx])
            if receipt:
                break
            time.sleep(0.025)
        assert receipt and int(receipt["status"], 16) == 1, f"Float32Harness deployment failed: {receipt}"
        harness.address = receipt["contractAddress"]
        return harness

    def many(self, op: str, a: np.ndarray, b: np.ndarray | None = None, *, chunk: int = 8192) -> np.ndarray:
        """`Float32Harness.many(op, a, b)`: one uint32 result per vector."""
        return self._batched(self.MANY, op, a, b, chunk, self._encode_u32_lists, self._decode_u32_list)

    def packed(self, op: str, a: np.ndarray, b: np.ndarray | None = None, *, chunk: int = 16384) -> np.ndarray:
        """`Float32Harness.packed(op, a, b)`: the same results with 4 bytes per element on the wire."""
        return self._batched(self.PACKED, op, a, b, chunk, self._encode_bytes, self._decode_bytes)

    def from_int256(self, values: list[int]) -> np.ndarray:
        """`Float32Harness.fromInt256Many(values)`: the binary32 pattern of each int256."""
        data = self.FROM_INT256 + encode(["int256[]"], [list(values)])
        return self._decode_u32_list(self._call(data))

    def gas_of(self, op: str, a: np.ndarray, b: np.ndarray | None = None, *, chunk: int = 2048) -> np.ndarray:
        """`Float32Harness.gasOf(op, a, b)`: the gas of each vector's op alone (call overhead subtracted)."""
        return self._batched(self.GAS_OF, op, a, b, chunk, self._encode_u32_lists, self._decode_u32_list)

    # ------------------------------------------------------------ encoding

    def _batched(self, selector, op, a, b, chunk, encode, decode) -> np.ndarray:
        a = np.asarray(a, dtype=np.uint32)
        b = np.zeros_like(a) if b is None else np.asarray(b, dtype=np.uint32)
        assert a.shape == b.shape and a.ndim == 1, f"operands must be equal-length vectors: {a.shape} {b.shape}"
        out = []
        for start in range(0, a.size, chunk):
            data = selector + encode(OPS[op].code, a[start : start + chunk], b[start : start + chunk])
            out.append(decode(self._call(data)))
        return np.concatenate(out) if out else np.zeros(0, np.uint32)

    @staticmethod
    def _word(v: int) -> bytes:
        return int(v).to_bytes(32, "big")

    @classmethod
    def _encode_u32_lists(cls, code: int, a: np.ndarray, b: np.ndarray) -> bytes:
        """ABI (uint8, uint32[], uint32[]): head words, then each list as length + one word per element."""
        n = a.size

        def words(x: np.ndarray) -> bytes:
            w = np.zeros((n, 8), dtype=">u4")  # 32 bytes per element, the value in the last 4
            w[:, 7] = x
            return cls._word(n) + w.tobytes()

        return cls._word(code) + cls._word(0x60) + cls._word(0x60 + 32 + 32 * n) + words(a) + words(b)

    @staticmethod
    def _decode_u32_list(raw: bytes) -> np.ndarray:
        """ABI (uint256[]) or (uint32[]) return data: offset, length, words; keep each word's low 4 bytes."""
        n = int.from_bytes(raw[32:64], "big")
        return np.frombuffer(raw[64 : 64 + 32 * n], dtype=">u4").reshape(n, 8)[:, 7].astype(np.uint32)

    @classmethod
    def _encode_bytes(cls, code: int, a: np.ndarray, b: np.ndarray) -> bytes:
        """ABI (uint8, bytes, bytes), 4 big-endian bytes per element, each list padded to whole words."""
        raw_a, raw_b = a.astype(">u4").tobytes(), b.astype(">u4").tobytes()
        padded = -(-len(raw_a) // 32) * 32

        def blob(raw: bytes) -> bytes:
            return cls._word(len(raw)) + raw + b"\x00" * (padded - len(raw))

        return cls._word(code) + cls._word(0x60) + cls._word(0x60 + 32 + padded) + blob(raw_a) + blob(raw_b)

    @staticmethod
    def _decode_bytes(raw: bytes) -> np.ndarray:
        n = int.from_bytes(raw[32:64], "big")
        return np.frombuffer(raw[64 : 64 + n], dtype=">u4").astype(np.uint32)

    # ------------------------------------------------------------ JSON-RPC

    def _call(self, data: bytes) -> bytes:
        call = {"to": self.address, "data": "0x" + data.hex(), "gas": hex(self.CALL_GAS)}
        return bytes.fromhex(self._rpc("eth_call", [call, "latest"])[2:])

    def _rpc(self, method: str, params: list | None = None):
        reply = self._session.post(
            self.uri, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        )
        reply.raise_for_status()
        body = reply.json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]


def mismatches(op: str, a: np.ndarray, b: np.ndarray, got: np.ndarray, want: np.ndarray, *, limit: int = 5) -> str:
    """A readable report of the first `limit` vectors where `got` differs from `want` (hex patterns)."""
    bad = np.flatnonzero(got != want)
    lines = [f"{op}: {bad.size} of {got.size} vectors differ"]
    for i in bad[:limit]:
        lines.append(f"  {op}({a[i]:#010x}, {b[i]:#010x}) = {got[i]:#010x}, numpy says {want[i]:#010x}")
    return "\n".join(lines)
