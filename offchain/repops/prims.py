"""Fast float32 primitives for RepOps: one exactly rounded torch kernel per primitive, reductions in ascending order.

Every function here follows the recipe written in docs/repops.md, which the scalar reference
(offchain/repops/reference.py) and the on-chain Float32 library follow too. The rules:

* only torch elementwise float32 add/sub/mul/div/sqrt (IEEE round-to-nearest-even, one kernel per
  primitive so nothing fuses), comparisons, selects and integer bit operations;
* a reduction runs in ascending index order, `acc = +0.0; for k: acc = acc + x[k]`, vectorised over
  every other index (on CPU via `index_add_` with an all-zero index, which adds the source rows one
  after the other; elsewhere via an explicit loop);
* exp/log/tanh are range reduction plus a Horner polynomial over those primitives, never libm;
* a NaN result is the canonical quiet NaN 0x7FC00000 (applied at each op's output: NaN-ness does not
  depend on payloads, so canonicalising once per op equals canonicalising after every primitive).

On CPU, where offchain/native's "prims" module is built, each op is one compiled pass with the same
per-element sequence (offchain/native/repops_prims.cpp; matmul as register tiles with the k loop inside); the
torch code here is the fallback, and the tests run both. On CUDA, where nvcc builds offchain/native/cuda.py's
kernels, matmul, asc_sum, asc_max, exp, log and tanh run there (one thread per output element, the same sequence);
the other ops, and every op where those kernels are missing, run the torch code below.

Run the tests with `.venv/bin/python -m pytest tests/repops -q -p no:cacheprovider`.
"""

from __future__ import annotations

import math

import torch

from offchain import native as _native
from offchain.float32.bits import CANONICAL_NAN as CANONICAL_NAN_BITS
from offchain.float32.bits import INF
from offchain.float32.bits import from_bits as f32_from_bits

# The recipes' constants (float32 bit patterns, docs/repops.md), defined once in offchain/float32/fmath.py.
from offchain.float32.fmath import (
    EXP_HI,
    EXP_LO,
    EXP_POLY,
    LN2_HI,
    LN2_LO,
    LOG2E,
    LOG_POLY,
    ROUND_MAGIC,
    SQRT2,
    TANH_POLY,
    TANH_SMALL,
    TWO_POW_23,
)
from offchain.float32.fmath import GELU_C0 as GELU_C0  # re-exported: functional.py, verde/program.py use P.GELU_C*
from offchain.float32.fmath import GELU_C1 as GELU_C1
from offchain.native import cuda as _native_cuda

torch.set_flush_denormal(False)  # subnormals are kept (docs/architecture.md, "Numbers")

F32 = torch.float32
# Use the device-generic schedules (explicit Python loops, what CUDA runs) on CPU too: the tests set it to
# check that the CPU fast path and the path other devices take give the same bits.
FORCE_GENERIC = False


# Use the compiled kernels (offchain/native) where they are built: the same bits as the torch recipes here, which
# stay as the fallback; the tests run every op both ways.
NATIVE = True


def _cpu_fast(t: torch.Tensor) -> bool:
    """True where the CPU-only schedules (index_add_) apply."""
    return t.device.type == "cpu" and not FORCE_GENERIC


def native(name: str, t: torch.Tensor):
    """The compiled module `name` ("prims" or "fused") if it applies to `t` (CPU, built, turned on), else None."""
    if not (NATIVE and _cpu_fast(t)):
        return None
    return _native.kernels(name)


def _prims(*ts: torch.Tensor):
    """The compiled prims if they apply to every operand (float32, CPU, no autograd graph wanted), else None.

    The compiled ops return plain tensors: a caller that wants autograd to trace a prim gets the torch path.
    """
    k = native("prims", ts[0])
    if k is None:
        return None
    for t in ts:
        if t.dtype != F32 or t.device.type != "cpu" or (t.requires_grad and torch.is_grad_enabled()):
            return None
    return k


def _cuda(*ts: torch.Tensor):
    """The CUDA kernels (offchain/native/cuda.py) if they apply to every operand (float32, on the same CUDA device,
    no autograd graph wanted, P.NATIVE on, built and loaded), else None: the torch loops below are the fallback."""
    if not (NATIVE and ts[0].device.type == "cuda"):
        return None
    for t in ts:
        if t.dtype != F32 or t.device != ts[0].device or (t.requires_grad and torch.is_grad_enabled()):
            return None
    return _native_cuda.kernels()


# Op codes of the compiled `binary` and `unary` (offchain/native/repops_prims.cpp).
_ADD, _SUB, _MUL, _DIV = 0, 1, 2, 3
_CANON, _NEG, _SQRT, _EXP, _LOG, _TANH = 0, 1, 2, 3, 4, 5


def const(bits: int, like: torch.Tensor) -> torch.Tensor:
    """A 0-d float32 tensor with bit pattern `bits`, on `like`'s device."""
    return torch.tensor(f32_from_bits(bits), dtype=F32, device=like.device)


def canon(x: torch.Tensor) -> torch.Tensor:
    """Replace every NaN by the canonical quiet NaN 0x7FC00000."""
    if k := _prims(x):
        return k.unary(x, _CANON)
    return torch.where(x != x, const(CANONICAL_NAN_BITS, x), x)


def add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """fl(a + b), broadcasting."""
    if k := _prims(a, b):
        return k.binary(a, b, _ADD)
    return canon(torch.add(a, b))


def sub(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """fl(a - b), broadcasting."""
    if k := _prims(a, b):
        return k.binary(a, b, _SUB)
    return canon(torch.sub(a, b))


def mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """fl(a * b), broadcasting."""
    if k := _prims(a, b):
        return k.binary(a, b, _MUL)
    return canon(torch.mul(a, b))


def div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """fl(a / b), broadcasting."""
    if k := _prims(a, b):
        return k.binary(a, b, _DIV)
    return canon(torch.div(a, b))


def sqrt(a: torch.Tensor) -> torch.Tensor:
    """fl(sqrt(a)); sqrt(-0) = -0, sqrt(x < 0) = NaN.

    SAFETY: torch's CPU float32 sqrt kernel is not correctly rounded (measured: ~17% of inputs off
    by one ulp), so the root is taken in float64 and rounded once to float32; float64 has
    53 >= 2*24 + 2 bits, so this double rounding gives the correctly rounded float32 root.
    """
    if k := _prims(a):
        return k.unary(a, _SQRT)  # the IEEE sqrt instruction: correctly rounded
    return canon(torch.sqrt(a.to(torch.float64)).to(F32))


def neg(a: torch.Tensor) -> torch.Tensor:
    """Flip the sign bit (NaN stays canonical)."""
    if k := _prims(a):
        return k.unary(a, _NEG)
    return canon(torch.neg(a))


def signbit(a: torch.Tensor) -> torch.Tensor:
    """True where the sign bit is set (so for -0 too)."""
    return a.view(torch.int32) < 0 if a.is_contiguous() else a.contiguous().view(torch.int32) < 0


def maximum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """max: NaN if either is NaN; max(-0, +0) = +0; else the larger."""
    a, b = torch.broadcast_tensors(a, b)
    eq = torch.where(signbit(a), b, a)
    out = torch.where(a > b, a, torch.where(b > a, b, eq))
    return canon(torch.where((a != a) | (b != b), const(CANONICAL_NAN_BITS, a), out))


def minimum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """min: NaN if either is NaN; min(-0, +0) = -0; else the smaller."""
    a, b = torch.broadcast_tensors(a, b)
    eq = torch.where(signbit(a), a, b)
    out = torch.where(a < b, a, torch.where(b < a, b, eq))
    return canon(torch.where((a != a) | (b != b), const(CANONICAL_NAN_BITS, a), out))


def asc_sum(x: torch.Tensor, dim: int, *, keepdim: bool = False) -> torch.Tensor:
    """Sum over `dim` in ascending index order: acc = +0; for k: acc = fl(acc + x[k])."""
    if k := _prims(x):
        return k.asc_sum(x, dim, keepdim)
    if x.dim() and (k := _cuda(x)):
        return k.asc_sum(x, dim, keepdim)
    dim = dim % x.dim()
    k = x.shape[dim]
    rest = x.shape[:dim] + x.shape[dim + 1 :]
    if _cpu_fast(x):
        rows = x.movedim(dim, 0).reshape(k, -1)  # (K, W)
        acc = torch.zeros(1, rows.shape[1], dtype=F32)  # (1, W)
        # index_add_ on CPU adds source row 0, then row 1, ... into acc: the ascending loop, one kernel per row
        acc.index_add_(0, torch.zeros(k, dtype=torch.long), rows)
        out = acc.view(rest)
    else:
        out = torch.zeros(rest, dtype=F32, device=x.device)
        for i in range(k):
            out = out + x.select(dim, i)
    out = canon(out)
    return out.unsqueeze(dim) if keepdim else out


def asc_max(x: torch.Tensor, dim: int, *, keepdim: bool = False) -> torch.Tensor:
    """Max over `dim`, folding in ascending index order from x[0] (the rule of `maximum`)."""
    if k := _prims(x):
        return k.asc_max(x, dim, keepdim)
    if x.dim() and (k := _cuda(x)):
        return k.asc_max(x, dim, keepdim)
    dim = dim % x.dim()
    m = x.select(dim, 0)
    for i in range(1, x.shape[dim]):
        m = maximum(m, x.select(dim, i))
    m = canon(m)
    return m.unsqueeze(dim) if keepdim else m


CHUNK_ELEMS = 1 << 20  # products materialised per index_add_ chunk (4 MiB): keeps the chunk near cache
LOOP_MIN_OUT = 1 << 16  # outputs at least this wide use the per-k loop (kernel work beats call overhead)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., M, K) x (..., K, N) -> (..., M, N): out[m, n] = +0 + a[m,0]*b[0,n] + a[m,1]*b[1,n] + ... in order.

    Two schedules of the same sequence: narrow outputs (CPU) materialise a chunk of products
    (k, ..., M, N) in one kernel and let `index_add_` add them row after row (ascending k) into
    the accumulator; wide outputs (or non-CPU devices) loop over k with one mul and one add kernel.
    """
    assert a.shape[-1] == b.shape[-2], f"matmul: inner sizes differ, {tuple(a.shape)} x {tuple(b.shape)}"
    if k := _prims(a, b):
        return k.matmul(a, b)  # register tiles over n (and m), the k loop inside: the same sequence per element
    if k := _cuda(a, b):
        return k.matmul(a, b)  # one thread per output element, the k loop inside: the same sequence
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out_shape = (*batch, m, n)
    width = math.prod(out_shape)
    if _cpu_fast(a) and width < LOOP_MIN_OUT and k > 1:
        kc = max(1, min(k, CHUNK_ELEMS // max(width, 1)))
        acc = torch.zeros(1, width, dtype=F32)  # (1, W)
        buf = torch.empty(kc, *out_shape, dtype=F32)  # (kc, ..., M, N)
        at = a.expand(*batch, m, k).movedim(-1, 0).unsqueeze(-1)  # (K, ..., M, 1)
        bt = b.expand(*batch, k, n).movedim(-2, 0).unsqueeze(-2)  # (K, ..., 1, N)
        idx = torch.zeros(kc, dtype=torch.long)
        for s in range(0, k, kc):
            e = min(k, s + kc)
            torch.mul(at[s:e], bt[s:e], out=buf[: e - s])  # one rounding per product
            acc.index_add_(0, idx[: e - s], buf[: e - s].view(e - s, width))  # ascending k, one rounding per add
        return canon(acc.view(out_shape))
    at = a.transpose(-1, -2).contiguous().unsqueeze(-1)  # (..., K, M, 1): column k contiguous
    bc = b.contiguous().unsqueeze(-2)  # (..., K, 1, N): row k contiguous
    acc = torch.zeros(out_shape, dtype=F32, device=a.device)  # (..., M, N)
    tmp = torch.empty_like(acc)  # (..., M, N)
    for i in range(k):
        torch.mul(at[..., i, :, :], bc[..., i, :, :], out=tmp)  # one rounding per product
        acc.add_(tmp)  # one rounding per addition, k ascending
    return canon(acc)


def _pow2(k: torch.Tensor) -> torch.Tensor:
    """2^k as float32 for int32 k in [-126, 127], built from the exponent bits."""
    return ((k + 127) << 23).to(torch.int32).view(F32)


def exp(x: torch.Tensor) -> torch.Tensor:
    """exp(x): n = round(x/ln2), r = (x - n*LN2_HI) - n*LN2_LO, p = Horner(r), result p * 2^(n>>1) * 2^(n-(n>>1))."""
    if k := _prims(x):
        return k.unary(x, _EXP)  # offchain/native/fmath.h: the same recipe, one pass
    if k := _cuda(x):
        return k.unary(x, _EXP)
    x = torch.where(x > const(EXP_HI, x), const(EXP_HI, x), x)
    x = torch.where(x < const(EXP_LO, x), const(EXP_LO, x), x)  # NaN passes both selects unchanged
    magic = const(ROUND_MAGIC, x)
    n = torch.sub(torch.add(torch.mul(x, const(LOG2E, x)), magic), magic)  # round(x * log2e), ties to even
    r = torch.sub(torch.sub(x, torch.mul(n, const(LN2_HI, x))), torch.mul(n, const(LN2_LO, x)))
    p = const(EXP_POLY[0], x).expand_as(r)
    for c in EXP_POLY[1:]:
        p = torch.add(torch.mul(p, r), const(c, x))
    ni = torch.where(n == n, n, torch.zeros_like(n)).to(torch.int32)
    n1 = ni >> 1  # floor(n/2): both halves stay in the normal exponent range
    y = torch.mul(torch.mul(p, _pow2(n1)), _pow2(ni - n1))  # first product exact, second rounds once
    return canon(torch.where(x != x, x, y))


def log(x: torch.Tensor) -> torch.Tensor:
    """log(x): x = 2^e * m, m in [sqrt2/2, sqrt2], s = (m-1)/(m+1), log = e*LN2_HI + (e*LN2_LO + s*P(s*s))."""
    if k := _prims(x):
        return k.unary(x, _LOG)
    if k := _cuda(x):
        return k.unary(x, _LOG)
    sub_n = (x < const(0x00800000, x)) & (x > 0)  # positive subnormal: scale by 2^23 (exact)
    xs = torch.where(sub_n, torch.mul(x, const(TWO_POW_23, x)), x).contiguous()
    bits = xs.view(torch.int32)
    e = ((bits >> 23) & 0xFF) - 127 - torch.where(sub_n, 23, 0).to(torch.int32)
    m = ((bits & 0x7FFFFF) | 0x3F800000).view(F32)  # [1, 2)
    big = m > const(SQRT2, x)
    m = torch.where(big, torch.mul(m, const(0x3F000000, x)), m)  # halve (exact)
    e = e + big.to(torch.int32)
    one = const(0x3F800000, x)
    s = torch.div(torch.sub(m, one), torch.add(m, one))
    z = torch.mul(s, s)
    p = const(LOG_POLY[0], x).expand_as(z)
    for c in LOG_POLY[1:]:
        p = torch.add(torch.mul(p, z), const(c, x))
    logm = torch.mul(s, p)
    ef = e.to(F32)
    y = torch.add(torch.mul(ef, const(LN2_HI, x)), torch.add(torch.mul(ef, const(LN2_LO, x)), logm))
    inf = const(INF, x)
    y = torch.where(x == inf, inf, y)
    y = torch.where(x == 0, -inf, y)
    y = torch.where((x < 0) | (x != x), const(CANONICAL_NAN_BITS, x), y)
    return canon(y)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x): |x| < 0.3: x + x^3*Q(x^2); else sign(x) * (1 - 2/(exp(2|x|) + 1))."""
    if k := _prims(x):
        return k.unary(x, _TANH)
    if k := _cuda(x):
        return k.unary(x, _TANH)
    z = torch.mul(x, x)
    q = const(TANH_POLY[0], x).expand_as(z)
    for c in TANH_POLY[1:]:
        q = torch.add(torch.mul(q, z), const(c, x))
    small = torch.add(x, torch.mul(torch.mul(z, x), q))
    ax = torch.abs(x)
    one = const(0x3F800000, x)
    two = const(0x40000000, x)
    e = exp(torch.mul(ax, two))
    big = torch.sub(one, torch.div(two, torch.add(e, one)))
    big = torch.where(x < 0, torch.neg(big), big)
    return canon(torch.where(ax < const(TANH_SMALL, x), small, big))
