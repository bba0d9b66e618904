"""The compiled prims (offchain/native/repops_prims.cpp) give the torch path's bits where test_ops.py does not look:
matmul with K = 0, 1 and large K, sizes that are not multiples of the vector width, broadcast batch dims, transposed
and stride-0 operands; reductions over every dim with odd inner widths; the elementwise fast paths (same shape,
scalar, row broadcast) and the fallback broadcast; exp/log/tanh/sqrt over random bit patterns; AdamW over a few
steps with edge values; all on 1, 2 and 4 threads, with loops split by size and as finely as the threads allow.

Each case runs the prim with P.NATIVE off and on and compares the bits; the existing tests tie the torch path to the
scalar reference.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from repops_support import assert_bits_equal, edge_values, mixed

from offchain import native
from offchain.repops import prims as P
from offchain.repops.optim import AdamW

THREADS = (1, 2, 4)


@pytest.fixture(autouse=True)
def kernels() -> str:
    """Overrides conftest's two-way run: every test here compares both paths itself."""
    if not native.enabled():
        pytest.skip("VERDE_NATIVE=0: the compiled kernels are turned off")
    assert native.kernels("prims") is not None, "the compiled kernels 'prims' did not build (see make setup)"
    return "both"


def T(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float32))


def same(fn, *xs: torch.Tensor, monkeypatch, threads=THREADS) -> None:
    """fn(*xs) with the compiled prims (on each thread count, loops split by size and as finely as possible) has
    the torch path's bits and shape."""
    monkeypatch.setattr(P, "NATIVE", False)
    want = fn(*xs)
    assert P._prims(*xs) is None
    monkeypatch.setattr(P, "NATIVE", True)
    assert P._prims(*xs) is not None
    k = native.kernels("prims")
    before = torch.get_num_threads()
    try:
        for n, split in [(n, split) for n in threads for split in (False, True)]:
            torch.set_num_threads(n)
            k.split_all(split)
            got = fn(*xs)
            assert got.shape == want.shape, (got.shape, want.shape)
            if want.numel():  # assert_bits_equal indexes the first element
                assert_bits_equal(got, want.contiguous().numpy())
    finally:
        k.split_all(False)
        torch.set_num_threads(before)


MATMUL_SHAPES = [
    ((3, 0), (0, 5)),  # K = 0: +0 everywhere
    ((1, 1), (1, 1)),
    ((7, 1), (1, 33)),  # K = 1
    ((13, 5), (5, 17)),  # N just past one vector
    ((6, 70), (70, 31)),
    ((9, 7), (7, 8)),  # N of one vector, M past one register tile
    ((11, 9), (9, 12)),  # N of two vectors, partly padding
    ((11, 9), (9, 40)),  # the widest tile, a tail of 5 rows and a padded panel
    ((5, 700), (700, 3)),  # large K, narrow N
    ((2, 3, 7, 9), (9, 5)),  # batch dims on one side
    ((4, 1, 5, 6), (3, 6, 2)),  # broadcast batch dims on both sides
    ((1, 2, 8, 16), (3, 2, 16, 8)),
    ((0, 4, 3), (3, 2)),  # empty batch
]


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul_shapes(sa, sb, rng: np.random.Generator, monkeypatch) -> None:
    """Odd sizes, K = 0/1/large, broadcast batch dims; edge values in both operands."""
    same(P.matmul, T(mixed(rng, sa)), T(mixed(rng, sb)), monkeypatch=monkeypatch)


def test_matmul_layouts(rng: np.random.Generator, monkeypatch) -> None:
    """Transposed, sliced and stride-0 operands read the same values as contiguous ones."""
    a = T(mixed(rng, (37, 19))).t()  # (19, 37), column-major
    b = T(mixed(rng, (45, 37))).t()  # (37, 45), row stride 1
    same(P.matmul, a, b, monkeypatch=monkeypatch)
    same(P.matmul, T(mixed(rng, (19, 74)))[:, ::2], T(mixed(rng, (37, 90)))[:, 1::2], monkeypatch=monkeypatch)
    row = T(mixed(rng, (1, 37)))
    same(P.matmul, row.expand(21, 37), b, monkeypatch=monkeypatch)
    q, k = T(mixed(rng, (2, 3, 8, 16))), T(mixed(rng, (2, 3, 8, 16)))
    same(P.matmul, q, k.transpose(-2, -1), monkeypatch=monkeypatch)  # attention scores
    same(P.matmul, q.transpose(-2, -1), k, monkeypatch=monkeypatch)


def test_matmul_model_shapes_threads(rng: np.random.Generator, monkeypatch) -> None:
    """The model's linear (forward, and the weight gradient's long K = 512) split across threads."""
    x, w = T(mixed(rng, (512, 64), edges=False)), T(mixed(rng, (256, 64), edges=False))
    x[3, 5], w[7, 2] = np.inf, np.nan
    same(P.matmul, x, w.t(), monkeypatch=monkeypatch)
    g = T(mixed(rng, (512, 256), edges=False))
    same(P.matmul, g.t(), x, monkeypatch=monkeypatch)


REDUCE_SHAPES = [(7,), (3, 37, 5), (33, 17), (100, 3), (2, 3, 70), (4, 129), (1, 1), (2, 1, 3)]


@pytest.mark.parametrize("shape", REDUCE_SHAPES)
@pytest.mark.parametrize("op", ["asc_sum", "asc_max"])
def test_reductions_every_dim(shape, op: str, rng: np.random.Generator, monkeypatch) -> None:
    """Every dim, keepdim or not, with ±0, NaN and ±inf among the values."""
    x = mixed(rng, shape)
    x.reshape(-1)[::5] = -0.0
    for dim in range(-len(shape), len(shape)):
        for keepdim in (False, True):
            same(lambda t, d=dim, kd=keepdim: getattr(P, op)(t, d, keepdim=kd), T(x), monkeypatch=monkeypatch)


def test_reductions_empty_noncontiguous_threads(rng: np.random.Generator, monkeypatch) -> None:
    """A sum over an empty dim is +0; transposed inputs; large enough to split over threads."""
    monkeypatch.setattr(P, "NATIVE", True)  # the torch path cannot reshape an empty dim: the spec's +0 directly
    assert_bits_equal(P.asc_sum(T(np.zeros((5, 0, 3))), 1), np.zeros((5, 3), dtype=np.float32))
    x = T(mixed(rng, (40, 3000)))
    for op in (P.asc_sum, P.asc_max):
        for dim in (0, 1):
            same(lambda t, f=op, d=dim: f(t, d), x, monkeypatch=monkeypatch)
            same(lambda t, f=op, d=dim: f(t, d), x.t(), monkeypatch=monkeypatch)
    z = T(np.array([[-0.0, 0.0], [-0.0, -0.0], [0.0, -0.0]]))  # max(-0, +0) = +0 in either order
    same(lambda t: P.asc_max(t, 1), z, monkeypatch=monkeypatch)
    same(lambda t: P.asc_max(t, 0), z, monkeypatch=monkeypatch)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_broadcast_forms(op: str, rng: np.random.Generator, monkeypatch) -> None:
    """Same shape, scalar either side, row broadcast either side, general broadcast, transposed; edge pairs."""
    f = getattr(P, op)
    ev = edge_values()
    a, b = T(np.repeat(ev, len(ev))), T(np.tile(ev, len(ev)))
    same(f, a, b, monkeypatch=monkeypatch)
    x = T(mixed(rng, (37, 19)))
    for other in (T(mixed(rng, (37, 19))), T(np.float32(-0.0)), T(np.array([np.nan])), T(mixed(rng, (19,))),
                  T(mixed(rng, (1, 19))), T(mixed(rng, (37, 1))), T(mixed(rng, (2, 1, 19)))):  # fmt: skip
        same(f, x, other, monkeypatch=monkeypatch)
        same(f, other, x, monkeypatch=monkeypatch)
    same(f, x.t(), T(mixed(rng, (19, 37))), monkeypatch=monkeypatch)
    same(f, T(np.float32(3.0)), T(np.float32(0.0)), monkeypatch=monkeypatch)
    big = T(mixed(rng, (70000,)))
    same(f, big, T(mixed(rng, (70000,))), monkeypatch=monkeypatch)


@pytest.mark.parametrize("op", ["canon", "neg", "sqrt", "exp", "log", "tanh"])
def test_unary_bit_patterns(op: str, rng: np.random.Generator, monkeypatch) -> None:
    """Random bit patterns (every exponent, NaN payloads, subnormals) plus edges, odd length, transposed, threads."""
    bits = rng.integers(0, 2**32, 70001, dtype=np.uint64).astype(np.uint32)
    bits[:16] = np.array(edge_values()).view(np.uint32)
    bits[16:20] = [0x7F800001, 0xFFC00001, 0x7FFFFFFF, 0x80000000]  # NaN payloads and signs, -0
    x = T(bits.view(np.float32))
    same(getattr(P, op), x, monkeypatch=monkeypatch)
    same(getattr(P, op), x[: 7 * 1000].reshape(7, 1000).t(), monkeypatch=monkeypatch)


def test_prims_keep_autograd_when_asked(monkeypatch) -> None:
    """A prim called on a tensor that requires grad (grad mode on) stays the traced torch op."""
    monkeypatch.setattr(P, "NATIVE", True)
    a = torch.ones(3, requires_grad=True)
    assert P.mul(a, a).grad_fn is not None
    with torch.no_grad():
        assert P.mul(a, a).grad_fn is None


def _adamw_run(native_on: bool, params: list[np.ndarray], grads: list[list[np.ndarray]], monkeypatch):
    monkeypatch.setattr(P, "NATIVE", native_on)
    ps = [torch.nn.Parameter(T(p)) for p in params]
    opt = AdamW(ps, lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    for step in grads:
        for p, g in zip(ps, step, strict=True):
            p.grad = T(g)
        opt.step()
    out = []
    for p in ps:
        st = opt.state[p]
        out += [p.detach(), st["exp_avg"], st["exp_avg_sq"], st["b1p"], st["b2p"]]
    return out


def test_adamw_matches_torch_path(rng: np.random.Generator, monkeypatch) -> None:
    """Three steps on parameters with edge values and NaN/inf/±0 gradients; odd sizes; 1, 2 and 4 threads."""
    params = [mixed(rng, (37, 19)), mixed(rng, (5,)), mixed(rng, (70001,), edges=False)]
    grads = [[mixed(rng, p.shape) for p in params] for _ in range(3)]
    want = _adamw_run(False, params, grads, monkeypatch)
    k = native.kernels("prims")
    before = torch.get_num_threads()
    try:
        for n, split in [(n, split) for n in THREADS for split in (False, True)]:
            torch.set_num_threads(n)
            k.split_all(split)
            got = _adamw_run(True, params, grads, monkeypatch)
            for g, w in zip(got, want, strict=True):
                assert_bits_equal(g, w.contiguous().numpy())
    finally:
        k.split_all(False)
        torch.set_num_threads(before)
