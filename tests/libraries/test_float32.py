"""Float32.sol (LibFloat32) against numpy float32: named edge cases, golden vectors, and bulk differential vectors.

The named cases run on Ape's `test` network; the golden file (tests/vectors/float32_edge.json) and the
bulk vectors (N_VECTORS per op: uniform bit patterns mixed with edges, subnormals, overflow and underflow
boundaries and constructed ties, see `float32_support.vectors`) run on a session anvil through the
harness's batch entry point. Any mismatch fails, listing the first vectors in hex.

    .venv/bin/ape test tests/libraries/test_float32.py -q -p no:cacheprovider
"""

from __future__ import annotations

import ape
import numpy as np
import pytest
from float32_support import BINARY_FLOAT_OPS, CHECKED_OPS, EDGE_BITS, mismatches, vectors
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.float32 import fmath
from offchain.float32.bits import CANONICAL_NAN
from offchain.float32.oracle import int_to_f32_bits, reference

N_VECTORS = 20_000  # per op, in `make test`; benchmarks/bench_float32.py runs 1,000,000
SEED = 1  # the bulk vectors' seed (each op mixes in its own code)
NAN = CANONICAL_NAN
INF, NEG_INF = 0x7F800000, 0xFF800000
NEG_ZERO = 0x80000000
MAX_FINITE = 0x7F7FFFFF
MIN_SUB = 0x00000001


def f32(x: float) -> int:
    """The binary32 pattern of x, which must be exactly representable."""
    with np.errstate(over="ignore"):
        y = np.array([x], dtype=np.float32)
    assert float(y[0]) == x, f"{x!r} is not a binary32 value"
    return int(y.view(np.uint32)[0])


def u32(v: int) -> int:
    """An int32 as its 32-bit two's complement pattern."""
    return v & 0xFFFFFFFF


# ============================================================ add / sub


def test_addRNE_halfway_ties_round_to_even(float32_harness):
    """A sum exactly halfway between two floats rounds to the one with an even significand."""
    half_ulp_of_one = f32(2.0**-24)
    assert float32_harness.add(f32(1.0), half_ulp_of_one) == f32(1.0)  # 1 is even: stays
    one_plus_ulp = f32(1.0 + 2.0**-23)
    assert float32_harness.add(one_plus_ulp, half_ulp_of_one) == f32(1.0 + 2.0**-22)  # odd: rounds up


def test_addRNE_opposite_infinities_return_canonical_nan(float32_harness):
    """inf + -inf is the canonical NaN; inf + finite is the infinity."""
    assert float32_harness.add(INF, NEG_INF) == NAN
    assert float32_harness.add(NEG_INF, f32(2.0**100)) == NEG_INF


def test_addRNE_exact_cancellation_returns_positive_zero(float32_harness):
    """x + (-x) is +0 for every finite x, whichever sign comes first."""
    for x in (f32(1.5), f32(-3.0 * 2.0**-140), MAX_FINITE):
        assert float32_harness.add(x, x ^ NEG_ZERO) == 0
        assert float32_harness.add(x ^ NEG_ZERO, x) == 0


def test_addRNE_two_negative_zeros_return_negative_zero(float32_harness):
    """-0 + -0 = -0, while -0 + +0 = +0 and x + ±0 = x exactly."""
    assert float32_harness.add(NEG_ZERO, NEG_ZERO) == NEG_ZERO
    assert float32_harness.add(NEG_ZERO, 0) == 0
    assert float32_harness.add(MIN_SUB | NEG_ZERO, 0) == MIN_SUB | NEG_ZERO


def test_addRNE_half_ulp_above_max_finite_overflows_to_inf(float32_harness):
    """MAX_FINITE + half its ulp is a tie that rounds to even, i.e. up to inf; a hair less stays finite."""
    half_ulp = f32(2.0**103)
    assert float32_harness.add(MAX_FINITE, half_ulp) == INF
    assert float32_harness.add(MAX_FINITE | NEG_ZERO, half_ulp | NEG_ZERO) == NEG_INF
    assert float32_harness.add(MAX_FINITE, f32(2.0**103 * (1 - 2.0**-24))) == MAX_FINITE


def test_addRNE_subnormals_add_exactly_into_min_normal(float32_harness):
    """The largest subnormal plus the smallest one is exactly the smallest normal (no flush to zero)."""
    assert float32_harness.add(0x007FFFFF, MIN_SUB) == 0x00800000
    assert float32_harness.add(MIN_SUB, MIN_SUB) == 0x00000002


def test_subRNE_equal_operands_return_positive_zero(float32_harness):
    """x - x = +0 (also for negative x), and -0 - +0 = -0."""
    assert float32_harness.sub(f32(-7.0), f32(-7.0)) == 0
    assert float32_harness.sub(NEG_ZERO, 0) == NEG_ZERO
    # 1 - 2^-25 is the tie between 1 - 2^-24 (odd significand) and 1 (even): it rounds to 1.
    assert float32_harness.sub(f32(1.0), f32(2.0**-25)) == f32(1.0)


# ============================================================ mul


def test_mulRNE_zero_times_inf_returns_canonical_nan(float32_harness):
    """0 * inf is invalid in either order and sign: the canonical NaN."""
    for a, b in ((0, INF), (NEG_INF, 0), (NEG_ZERO, NEG_INF)):
        assert float32_harness.mul(a, b) == NAN


def test_mulRNE_signed_zero_and_inf_take_xor_of_signs(float32_harness):
    """The sign of a zero or infinite product is the xor of the operands' signs."""
    assert float32_harness.mul(NEG_ZERO, f32(3.0)) == NEG_ZERO
    assert float32_harness.mul(NEG_ZERO, f32(-3.0)) == 0
    assert float32_harness.mul(NEG_INF, MIN_SUB | NEG_ZERO) == INF


def test_mulRNE_exact_half_of_min_subnormal_rounds_to_zero(float32_harness):
    """2^-75 * 2^-75 = 2^-150 is halfway between 0 and 2^-149: ties to even give a (signed) zero."""
    x = f32(2.0**-75)
    assert float32_harness.mul(x, x) == 0
    assert float32_harness.mul(x, x | NEG_ZERO) == NEG_ZERO


def test_mulRNE_just_above_half_min_subnormal_rounds_to_min_subnormal(float32_harness):
    """A product a hair above 2^-150 rounds up to the smallest subnormal, and 3 * 2^-150 up to 2 * 2^-149."""
    assert float32_harness.mul(f32(2.0**-75), f32(2.0**-75 * (1 + 2.0**-23))) == MIN_SUB
    assert float32_harness.mul(f32(3.0 * 2.0**-76), f32(2.0**-74)) == 0x00000002


def test_mulRNE_overflow_returns_signed_inf(float32_harness):
    """A product beyond MAX_FINITE + half an ulp is ±inf."""
    assert float32_harness.mul(f32(2.0**127), f32(2.0)) == INF
    assert float32_harness.mul(f32(-(2.0**64)), f32(2.0**64)) == NEG_INF


def test_mulRNE_subnormal_operand_is_exact_when_representable(float32_harness):
    """A subnormal times a power of two is exact, into the normal range and back."""
    assert float32_harness.mul(0x00000003, f32(2.0**127)) == f32(3.0 * 2.0**-22)
    assert float32_harness.mul(f32(3.0), f32(2.0**-149)) == 0x00000003


# ============================================================ div


def test_divRNE_nonzero_by_signed_zero_returns_signed_inf(float32_harness):
    """x / ±0 = ±inf with the xor of the signs, for any non-zero x (subnormals and infinities too)."""
    assert float32_harness.div(f32(1.0), 0) == INF
    assert float32_harness.div(f32(1.0), NEG_ZERO) == NEG_INF
    assert float32_harness.div(MIN_SUB | NEG_ZERO, NEG_ZERO) == INF
    assert float32_harness.div(NEG_INF, 0) == NEG_INF


def test_divRNE_zero_by_zero_and_inf_by_inf_return_canonical_nan(float32_harness):
    """0 / 0 and inf / inf are invalid: the canonical NaN."""
    assert float32_harness.div(0, NEG_ZERO) == NAN
    assert float32_harness.div(INF, NEG_INF) == NAN


def test_divRNE_finite_by_inf_returns_signed_zero(float32_harness):
    """finite / ±inf is a zero with the xor of the signs; 0 / finite is a signed zero too."""
    assert float32_harness.div(f32(-5.0), INF) == NEG_ZERO
    assert float32_harness.div(NEG_ZERO, f32(-5.0)) == 0


def test_divRNE_one_by_three_rounds_to_nearest(float32_harness):
    """1 / 3 is 0x3EAAAAAB, and 2 / 3 is 0x3F2AAAAB (both rounded up)."""
    assert float32_harness.div(f32(1.0), f32(3.0)) == 0x3EAAAAAB
    assert float32_harness.div(f32(2.0), f32(3.0)) == 0x3F2AAAAB


def test_divRNE_quotient_into_subnormals_rounds_ties_to_even(float32_harness):
    """3 * 2^-149 / 2 is halfway between 2^-148 and 2^-149 * 1: ties to even give 2 * 2^-149."""
    assert float32_harness.div(0x00000003, f32(2.0)) == 0x00000002
    assert float32_harness.div(0x00000005, f32(2.0)) == 0x00000002
    assert float32_harness.div(MAX_FINITE, f32(2.0**-2)) == INF


# ============================================================ sqrt


def test_sqrtRNE_negative_values_return_canonical_nan(float32_harness):
    """The square root of any value below zero, -inf and negative subnormals included, is the canonical NaN."""
    for x in (f32(-1.0), NEG_INF, MIN_SUB | NEG_ZERO, 0xFFFFFFFF):
        assert float32_harness.sqrt(x) == NAN


def test_sqrtRNE_signed_zeros_and_inf_return_themselves(float32_harness):
    """sqrt(+0) = +0, sqrt(-0) = -0, sqrt(+inf) = +inf."""
    for x in (0, NEG_ZERO, INF):
        assert float32_harness.sqrt(x) == x


def test_sqrtRNE_perfect_squares_are_exact(float32_harness):
    """Roots of perfect squares are exact, from a subnormal square to a large one."""
    assert float32_harness.sqrt(f32(9.0)) == f32(3.0)
    assert float32_harness.sqrt(f32(2.0**-148)) == f32(2.0**-74)
    assert float32_harness.sqrt(f32(4095.0**2 * 2.0**100)) == f32(4095.0 * 2.0**50)


def test_sqrtRNE_smallest_subnormal_matches_numpy(float32_harness):
    """sqrt(2^-149) = 2^-74.5 rounded, and sqrt(MAX_FINITE), as numpy float32 has them."""
    for x in (MIN_SUB, 0x007FFFFF, MAX_FINITE, f32(2.0)):
        assert float32_harness.sqrt(x) == int(reference("sqrt", np.array([x], np.uint32))[0])


# ============================================================ NaN rule


@pytest.mark.parametrize("fn", ["add", "sub", "mul", "div", "min", "max"])
def test_binary_ops_nan_payload_operand_returns_canonical_nan(float32_harness, fn):
    """A NaN operand with any payload or sign, on either side, gives exactly 0x7FC00000."""
    call = getattr(float32_harness, fn)
    for nan in (0x7F800001, 0xFFC12345, 0xFFFFFFFF):
        assert call(nan, f32(1.0)) == NAN
        assert call(f32(-2.0), nan) == NAN


def test_unary_ops_nan_payload_operand_returns_canonical_nan(float32_harness):
    """sqrt, neg, abs and truncRTZ of a NaN with a payload give exactly 0x7FC00000."""
    for nan in (0x7F800001, 0xFFC12345):
        for fn in ("sqrt", "neg", "abs", "truncRTZ"):
            assert getattr(float32_harness, fn)(nan) == NAN


# ============================================================ comparisons, min, max


def test_eq_signed_zeros_are_equal(float32_harness):
    """-0 == +0 in both orders, and le/ge hold both ways while lt/gt do not."""
    assert float32_harness.eq(NEG_ZERO, 0) and float32_harness.eq(0, NEG_ZERO)
    assert float32_harness.le(NEG_ZERO, 0) and float32_harness.ge(NEG_ZERO, 0)
    assert not float32_harness.lt(NEG_ZERO, 0) and not float32_harness.gt(0, NEG_ZERO)


def test_eq_nan_is_unequal_to_itself(float32_harness):
    """A NaN is not equal to itself, even with identical bits."""
    assert not float32_harness.eq(NAN, NAN)
    assert not float32_harness.eq(0x7F800001, 0x7F800001)


def test_comparisons_with_nan_operand_are_false(float32_harness):
    """Every ordered comparison with a NaN on either side is false (NaN is unordered)."""
    for fn in ("eq", "lt", "le", "gt", "ge"):
        call = getattr(float32_harness, fn)
        assert not call(NAN, f32(1.0)) and not call(NEG_INF, 0xFFC00001)


def test_lt_orders_negative_values_infinities_and_subnormals(float32_harness):
    """-inf < -MAX < -1 < -2^-149 < +0 < 2^-149 < 1 < MAX < inf."""
    chain = [NEG_INF, MAX_FINITE | NEG_ZERO, f32(-1.0), MIN_SUB | NEG_ZERO, 0, MIN_SUB, f32(1.0), MAX_FINITE, INF]
    for lo, hi in zip(chain, chain[1:], strict=False):
        assert float32_harness.lt(lo, hi) and float32_harness.gt(hi, lo) and not float32_harness.lt(hi, lo)


def test_min_signed_zeros_return_negative_zero_in_either_order(float32_harness):
    """min(-0, +0) = min(+0, -0) = -0 (IEEE 754-2019 minimum; numpy would return its second operand)."""
    assert float32_harness.min(NEG_ZERO, 0) == NEG_ZERO
    assert float32_harness.min(0, NEG_ZERO) == NEG_ZERO


def test_max_signed_zeros_return_positive_zero_in_either_order(float32_harness):
    """max(-0, +0) = max(+0, -0) = +0."""
    assert float32_harness.max(NEG_ZERO, 0) == 0
    assert float32_harness.max(0, NEG_ZERO) == 0


def test_min_and_max_pick_by_value_across_signs(float32_harness):
    """min/max compare values, not patterns: -1 < 2^-149 and -inf < every finite value."""
    assert float32_harness.min(f32(-1.0), MIN_SUB) == f32(-1.0)
    assert float32_harness.max(f32(-1.0), MIN_SUB) == MIN_SUB
    assert float32_harness.min(MAX_FINITE, NEG_INF) == NEG_INF


# ============================================================ sign, classification, select


def test_neg_flips_the_sign_of_zeros_and_infinities(float32_harness):
    """neg(+0) = -0, neg(-inf) = +inf; abs(-0) = +0."""
    assert float32_harness.neg(0) == NEG_ZERO
    assert float32_harness.neg(NEG_INF) == INF
    assert float32_harness.abs(NEG_ZERO) == 0


def test_isNaN_isInf_isFinite_classify_edge_values(float32_harness):
    """Every edge value is exactly one of NaN, infinite or finite."""
    for x in (int(v) for v in EDGE_BITS):
        kind = (float32_harness.isNaN(x), float32_harness.isInf(x), float32_harness.isFinite(x))
        m = x & 0x7FFFFFFF
        assert kind == (m > INF, m == INF, m < INF), hex(x)


def test_select_returns_first_operand_when_true(float32_harness):
    """select(c, a, b) is a for true and b for false, NaN payloads untouched."""
    assert float32_harness.select(True, 0x7F800001, 5) == 0x7F800001
    assert float32_harness.select(False, 0x7F800001, 5) == 5


# ============================================================ conversions


def test_fromInt32RNE_ties_round_to_even(float32_harness):
    """2^24 + 1 rounds down to 2^24, 2^24 + 3 up to 2^24 + 4 (the even neighbours), also when negative."""
    assert float32_harness.fromInt32RNE(2**24 + 1) == f32(2.0**24)
    assert float32_harness.fromInt32RNE(2**24 + 3) == f32(2.0**24 + 4)
    assert float32_harness.fromInt32RNE(-(2**24 + 1)) == f32(-(2.0**24))
    assert float32_harness.fromInt32RNE(-(2**31)) == f32(-(2.0**31))
    assert float32_harness.fromInt32RNE(0) == 0


def test_fromInt256RNE_extremes_round_or_overflow(float32_harness):
    """2^128 - 2^103 is the tie between MAX_FINITE and 2^128, so it rounds to inf; one less stays finite."""
    assert float32_harness.fromInt256RNE(2**128 - 2**103) == INF
    assert float32_harness.fromInt256RNE(2**128 - 2**103 - 1) == MAX_FINITE
    assert float32_harness.fromInt256RNE(-(2**255)) == NEG_INF
    assert float32_harness.fromInt256RNE(2**127 + 2**103) == int_to_f32_bits(2**127 + 2**103)


def test_toInt32RTZ_fractions_truncate_toward_zero(float32_harness):
    """-1.5 -> -1, 2.75 -> 2, -0.5 -> 0, and 2^31 - 128 (the largest float below 2^31) is exact."""
    assert float32_harness.toInt32RTZ(f32(-1.5)) == -1
    assert float32_harness.toInt32RTZ(f32(2.75)) == 2
    assert float32_harness.toInt32RTZ(f32(-0.5)) == 0
    assert float32_harness.toInt32RTZ(f32(2.0**31 - 128)) == 2**31 - 128


def test_toInt32RTZ_out_of_range_saturates(float32_harness):
    """Values at or beyond 2^31 (and +inf) give int32 max; at or below -2^31 (and -inf) int32 min."""
    assert float32_harness.toInt32RTZ(f32(2.0**31)) == 2**31 - 1
    assert float32_harness.toInt32RTZ(INF) == 2**31 - 1
    assert float32_harness.toInt32RTZ(f32(-(2.0**31))) == -(2**31)
    assert float32_harness.toInt32RTZ(f32(-1.5 * 2.0**127)) == -(2**31)


def test_toInt32RTZ_nan_returns_zero(float32_harness):
    """A NaN converts to 0 (never reverts)."""
    assert float32_harness.toInt32RTZ(0xFFC12345) == 0


def test_truncRTZ_negative_fraction_returns_negative_zero(float32_harness):
    """truncRTZ(-0.5) = -0, truncRTZ(-2.5) = -2, and a large integer stays as it is."""
    assert float32_harness.truncRTZ(f32(-0.5)) == NEG_ZERO
    assert float32_harness.truncRTZ(f32(-2.5)) == f32(-2.0)
    assert float32_harness.truncRTZ(f32(2.0**23 + 1)) == f32(2.0**23 + 1)


def test_scalbnRNE_into_subnormals_rounds_ties_to_even(float32_harness):
    """3 * 2^-149 * 2^-1 ties to 2 * 2^-149; 1.5 * 2^-149 * 2^1 is exact."""
    assert float32_harness.scalbnRNE(0x00000003, -1) == 0x00000002
    assert float32_harness.scalbnRNE(f32(1.0), -150) == 0
    assert float32_harness.scalbnRNE(f32(1.5), -149) == 0x00000002


def test_scalbnRNE_huge_exponents_saturate(float32_harness):
    """Any power of two, up to ±2^255, saturates to a signed zero or inf without reverting."""
    assert float32_harness.scalbnRNE(MIN_SUB, 2**255 - 1) == INF
    assert float32_harness.scalbnRNE(MAX_FINITE | NEG_ZERO, -(2**255)) == NEG_ZERO
    assert float32_harness.scalbnRNE(MIN_SUB, 276) == f32(2.0**127)
    assert float32_harness.scalbnRNE(MIN_SUB, 277) == INF  # 2^128 is past MAX_FINITE + half an ulp


# ============================================================ the harness


def test_many_length_mismatch_reverts(float32_harness):
    """Batches with operand lists of different lengths revert with the two lengths."""
    with ape.reverts(float32_harness.Float32HarnessLengthMismatch, aLength=2, bLength=1):
        float32_harness.many(0, [1, 2], [3])


def test_packed_batches_match_many(float32_bulk):
    """The packed (4 bytes per element) batch entry point gives the same results as `many`, for every op."""
    for op in CHECKED_OPS:
        a, b = vectors(op, 600, seed=7)
        assert np.array_equal(float32_bulk.packed(op, a, b, chunk=256), float32_bulk.many(op, a, b)), op


# ============================================================ golden vectors


def _check(op: str, got: np.ndarray, want: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    assert np.array_equal(got, want), mismatches(op, a, b, got, want)


def _hex(words: str) -> np.ndarray:
    return np.array([int(w, 16) for w in words.split()], dtype=np.uint32)


def test_golden_file_records_its_provenance(float32_golden):
    """The golden file names its generator, numpy version and seed."""
    p = float32_golden["provenance"]
    assert p["generator"] == "tools/gen_float32_vectors.py" and p["numpy"] and isinstance(p["seed"], int)


@pytest.mark.parametrize("op", BINARY_FLOAT_OPS)
def test_golden_edge_grid_matches_harness_and_numpy(float32_bulk, float32_golden, op):
    """Every pair of edge values gives the golden result on chain, and numpy still agrees with the file."""
    edges = np.array([int(v, 16) for v in float32_golden["edges"].values()], dtype=np.uint32)
    a, b = np.repeat(edges, edges.size), np.tile(edges, edges.size)
    want = _hex(" ".join(float32_golden["grid"][op]))
    _check(op, reference(op, a, b), want, a, b)
    _check(op, float32_bulk.many(op, a, b), want, a, b)


def test_golden_unary_and_conversion_edges_match_harness(float32_bulk, float32_golden):
    """Unary ops over the edge values, int32 edges, scalbn over edges x scales and int256 edges match the file."""
    edges = np.array([int(v, 16) for v in float32_golden["edges"].values()], dtype=np.uint32)
    for op, words in float32_golden["unary"].items():
        _check(op, float32_bulk.many(op, edges), _hex(words), edges, np.zeros_like(edges))
    ints = np.array(float32_golden["int_edges"], dtype=np.int64).astype(np.uint32)
    _check("from_int32", float32_bulk.many("from_int32", ints), _hex(float32_golden["from_int32"]), ints, 0 * ints)
    scales = np.array(float32_golden["scale_edges"], dtype=np.int64).astype(np.uint32)
    a, b = np.repeat(edges, scales.size), np.tile(scales, edges.size)
    _check("scalbn", float32_bulk.many("scalbn", a, b), _hex(" ".join(float32_golden["scalbn"])), a, b)
    values = [int(v) for v, _ in float32_golden["from_int256"]]
    want = np.array([int(r, 16) for _, r in float32_golden["from_int256"]], dtype=np.uint32)
    assert [int_to_f32_bits(v) for v in values] == want.tolist()
    got = float32_bulk.from_int256(values)
    assert np.array_equal(got, want), [
        (v, hex(g), hex(w)) for v, g, w in zip(values, got, want, strict=True) if g != w
    ]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "sqrt", "from_int32", "scalbn"])
def test_golden_constructed_ties_match_harness_and_numpy(float32_bulk, float32_golden, op):
    """The file's deliberately constructed round-to-nearest-even ties give numpy's result on chain."""
    rows = np.array([[int(w, 16) for w in row.split()] for row in float32_golden["ties"][op]], dtype=np.uint32)
    a, b, want = rows[:, 0], rows[:, 1], rows[:, 2]
    _check(op, reference(op, a, b), want, a, b)
    _check(op, float32_bulk.many(op, a, b), want, a, b)


# ============================================================ bulk differential vectors


@pytest.mark.parametrize("op", CHECKED_OPS)
def test_many_20000_mixed_vectors_match_numpy(float32_bulk, op):
    """20,000 seeded vectors per op (uniform patterns plus edges, boundaries and ties) all match numpy float32."""
    a, b = vectors(op, N_VECTORS, seed=SEED)
    _check(op, float32_bulk.many(op, a, b), reference(op, a, b), a, b)


def test_from_int256_random_magnitudes_match_exact_rounding(float32_bulk):
    """int256 values of every magnitude, ties included, round like exact integer arithmetic says."""
    rng = np.random.default_rng(SEED)
    values = [
        int(m) << int(s) for m, s in zip(rng.integers(-(2**62), 2**62, 2000), rng.integers(0, 193, 2000), strict=True)
    ]
    values += [((1 << 24) | 1) << int(s) for s in range(0, 200, 7)]  # exact ties
    got = float32_bulk.from_int256(values)
    want = [int_to_f32_bits(v) for v in values]
    bad = [(v, hex(g), hex(w)) for v, g, w in zip(values, got.tolist(), want, strict=True) if g != w]
    assert not bad, bad[:5]


_patterns = st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([int(v) for v in EDGE_BITS]))


@settings(max_examples=25, deadline=None)
@given(pairs=st.lists(st.tuples(_patterns, _patterns), min_size=1, max_size=64))
def test_fuzz_binary_ops_match_numpy(float32_bulk, pairs):
    """Hypothesis-chosen operand pairs (raw patterns and edges) give numpy's result for every binary op."""
    a = np.array([p[0] for p in pairs], dtype=np.uint32)
    b = np.array([p[1] for p in pairs], dtype=np.uint32)
    for op in BINARY_FLOAT_OPS + ("sqrt",):
        _check(op, float32_bulk.many(op, a, b), reference(op, a, b), a, b)


# ============================================================ Float32Math: the special values of its table

# Float32Math.sol's table, row by row: NaN, -inf, a negative, -0, +0, +inf, and the outputs the recipes give.
MATH_SPECIALS = [NAN, NEG_INF, f32(-2.5), NEG_ZERO, 0, INF]
MATH_TABLE = {
    0: ("exp", [NAN, 0, None, f32(1.0), f32(1.0), INF]),  # None: not a special value, checked against fmath
    1: ("log", [NAN, NAN, NAN, NEG_INF, NEG_INF, INF]),
    2: ("tanh", [NAN, f32(-1.0), None, 0, 0, f32(1.0)]),  # tanh(-0) = +0: -0 + (z*x)*q = -0 + +0
}


@pytest.mark.parametrize("which", sorted(MATH_TABLE), ids=[v[0] for _, v in sorted(MATH_TABLE.items())])
def test_float32_math_special_values(project, deployer, which):
    """Float32Math.exp/log/tanh on chain give the table of its NatSpec, and the numpy oracle's bits."""
    name, table = MATH_TABLE[which]
    harness = project.Float32MathHarness.deploy(sender=deployer)
    got = [int(v) for v in harness.batch(which, MATH_SPECIALS)]
    oracle = getattr(fmath, name)(np.array(MATH_SPECIALS, dtype=np.uint32).view(np.float32)).view(np.uint32)
    assert got == oracle.tolist()
    assert [w is None or g == w for g, w in zip(got, table, strict=True)] == [True] * len(table), [hex(g) for g in got]
