"""The fused compiled kernels (offchain/native/repops_fused.cpp) give the torch path's bits where test_ops.py does not
look: odd row widths and width 1, rows of -inf, NaN or one repeated value, masked-out cross-entropy rows,
non-contiguous inputs, 1, 2 and 4 threads, and fmath.h's exp/log/tanh over a dense sweep of bit patterns.

Each case runs the op (forward and backward) with P.NATIVE off and on and compares every output bit for bit; the
existing tests tie the torch path to the scalar reference.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from repops_support import edge_values, mixed

import offchain.repops.functional as R
from offchain import native
from offchain.repops import prims as P


@pytest.fixture(autouse=True)
def kernels() -> str:
    """Overrides conftest's two-way run: every test here compares both paths itself."""
    if not native.enabled():
        pytest.skip("VERDE_NATIVE=0: the compiled kernels are turned off")
    assert native.kernels("fused") is not None, "the compiled kernels 'fused' did not build (see make setup)"
    return "both"


def T(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float32))


def _bits(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy().view(np.uint32)


def _run(fn, xs: list[torch.Tensor], g: torch.Tensor | None, native_on: bool, monkeypatch) -> list[torch.Tensor]:
    """fn(*xs) and the gradients of its float inputs for upstream g, with the fused kernels on or off."""
    monkeypatch.setattr(P, "NATIVE", native_on)
    ts = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in xs]
    # keep each input's layout (strides) as given: clone() preserves them, and non-contiguous cases need that
    y = fn(*ts)
    if g is None:
        return [y]
    diff = [t for t in ts if t.requires_grad]
    return [y, *torch.autograd.grad(y, diff, g)]


def assert_same(fn, xs: list[torch.Tensor], g: torch.Tensor | None, monkeypatch, *, threads=(1,)) -> None:
    """Native (on each thread count) and torch give the same bits for every output and gradient."""
    want = [_bits(t) for t in _run(fn, xs, g, False, monkeypatch)]
    assert P.native("fused", xs[0]) is None  # the torch path really ran
    before = torch.get_num_threads()
    k = native.kernels("fused")
    try:
        for n, split in [(t, s) for t in threads for s in ((False, True) if t > 1 else (False,))]:
            torch.set_num_threads(n)
            k.split_all(split)  # also cut every loop as finely as n threads allow, whatever the grain
            got = [_bits(t) for t in _run(fn, xs, g, True, monkeypatch)]
            assert P.native("fused", xs[0]) is not None  # ... and the kernels here
            for i, (a, b) in enumerate(zip(got, want, strict=True)):
                assert a.shape == b.shape
                bad = np.nonzero(a.reshape(-1) != b.reshape(-1))[0]
                assert bad.size == 0, (
                    f"output {i}, {n} thread(s): {bad.size} mismatches, first at {bad[0]}: "
                    f"native {a.reshape(-1)[bad[0]]:#010x} != torch {b.reshape(-1)[bad[0]]:#010x}"
                )
    finally:
        k.split_all(False)
        torch.set_num_threads(before)


def _rows(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """(n, c) random rows with edge values, plus special rows: all -inf, all equal, a NaN, ±0 only, +inf, tiny."""
    x = mixed(rng, (n, c), scale=2.0)
    special = [
        np.full(c, -np.inf),
        np.full(c, 1.5),
        np.where(np.arange(c) == c // 2, np.nan, 0.25),
        np.where(np.arange(c) % 2 == 0, -0.0, 0.0),
        np.where(np.arange(c) == c - 1, np.inf, -3.0),
        np.full(c, 1e-40),
        np.where(np.arange(c) == 0, 0.0, -np.inf),
    ]
    for i, row in enumerate(special[: n // 2]):
        x[2 * i] = row
    return x.astype(np.float32)


WIDTHS = [1, 2, 7, 9, 31, 33, 64, 100]


@pytest.mark.parametrize("c", WIDTHS)
def test_softmax_family_odd_widths_and_special_rows(c: int, rng: np.random.Generator, monkeypatch) -> None:
    """softmax and log-softmax, forward and backward, at widths around the vector sizes and on special rows."""
    x = T(_rows(rng, 37, c))  # 37 rows: a full tile of 32 and a partial one
    g = T(mixed(rng, (37, c)))
    assert_same(R.softmax, [x], g, monkeypatch)
    assert_same(R.log_softmax, [x], g, monkeypatch)


@pytest.mark.parametrize("c", WIDTHS)
def test_layer_norm_odd_widths_and_special_rows(c: int, rng: np.random.Generator, monkeypatch) -> None:
    """Layer norm forward and all three gradients, special rows included (NaN and inf rows poison gw, gb)."""
    x = T(_rows(rng, 37, c).reshape(37, 1, c))
    w, b = T(mixed(rng, (c,), edges=False)), T(mixed(rng, (c,), edges=False))
    g = T(mixed(rng, (37, 1, c), edges=False))

    def ln(a, ww, bb):
        return R.layer_norm(a, ww, bb, eps=1e-5)

    assert_same(ln, [x, w, b], g, monkeypatch)
    finite = T(mixed(rng, (37, c), edges=False))  # gw, gb stay finite: their ascending sums are compared too
    assert_same(ln, [finite, w, b], T(mixed(rng, (37, c), edges=False)), monkeypatch)


@pytest.mark.parametrize("c", [1, 5, 12, 33])
def test_cross_entropy_masked_rows_and_edges(c: int, rng: np.random.Generator, monkeypatch) -> None:
    """Masked-out rows (even NaN ones) add +0 and get a +0 gradient; targets at both ends; all rows masked out."""
    n = 41
    x = _rows(rng, n, c)
    targets = torch.tensor(rng.integers(0, c, n))
    targets[0], targets[1] = 0, c - 1
    mask = torch.tensor(rng.random(n) < 0.7)
    mask[4] = False  # the NaN row
    for m in (mask, torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)):
        assert_same(lambda a, t=targets, mm=m: R.cross_entropy(a, t, mm), [T(x)], torch.tensor(1.0), monkeypatch)
    finite = T(mixed(rng, (n, c), edges=False))
    assert_same(lambda a: R.cross_entropy(a, targets, mask), [finite], torch.tensor(0.75), monkeypatch)


@pytest.mark.parametrize("name", ["gelu", "relu", "exp", "log", "tanh"])
def test_elementwise_forward_backward_edges(name: str, rng: np.random.Generator, monkeypatch) -> None:
    """GELU and ReLU forward and backward, and the exp/log/tanh gradients, on every edge value and random ones."""
    ev = edge_values()
    x = np.concatenate([ev, -ev, mixed(rng, (1000,), scale=1.0), mixed(rng, (1001,), scale=30.0)])
    g = np.concatenate([mixed(rng, (x.size - 2 * ev.size,)), np.repeat(ev, 2)])
    rng.shuffle(g)
    assert_same(getattr(R, name), [T(x)], T(g), monkeypatch)


def test_threads_1_2_4_same_bits(rng: np.random.Generator, monkeypatch) -> None:
    """Sizes above the kernels' parallel grain (tiles of rows, elements, columns of layer norm's gw/gb and of the
    embedding backward) give the 1-thread bits on 2 and 4 threads."""
    t = (1, 2, 4)
    x = T(_rows(rng, 1100, 67))  # 35 tiles of 32 rows, grain 15 tiles at width 67
    g = T(mixed(rng, (1100, 67), edges=False))
    assert_same(R.softmax, [x], g, monkeypatch, threads=t)
    assert_same(R.log_softmax, [x], g, monkeypatch, threads=t)
    targets, mask = torch.tensor(rng.integers(0, 67, 1100)), torch.tensor(rng.random(1100) < 0.5)
    assert_same(lambda a: R.cross_entropy(a, targets, mask), [x], torch.tensor(1.0), monkeypatch, threads=t)
    wide = T(mixed(rng, (64, 1100), edges=False))  # 2 row tiles; gw, gb: 1100 columns, grain 512
    gw = T(mixed(rng, (64, 1100), edges=False))
    w, b = T(mixed(rng, (1100,), edges=False)), T(mixed(rng, (1100,), edges=False))
    assert_same(lambda a, ww, bb: R.layer_norm(a, ww, bb, eps=1e-5), [wide, w, b], gw, monkeypatch, threads=t)
    idx = torch.tensor(rng.integers(0, 7, 64))  # 1100 columns, grain 512
    assert_same(lambda i, ww: R.embedding(i, ww), [idx, T(mixed(rng, (7, 1100)))], gw, monkeypatch, threads=t)
    h = T(mixed(rng, (70000,), scale=1.0))  # grain 32768 elements
    assert_same(R.gelu, [h], T(mixed(rng, (70000,))), monkeypatch, threads=t)


def test_noncontiguous_and_expanded_inputs(rng: np.random.Generator, monkeypatch) -> None:
    """Transposed and broadcast (stride 0) inputs: the kernels see the same values as the torch ops."""
    x = T(mixed(rng, (9, 13))).t()  # (13, 9) transposed view
    g = T(mixed(rng, (9, 13), edges=False)).t()
    assert not x.is_contiguous()
    for fn in (R.softmax, R.log_softmax, R.gelu, R.relu, R.exp, R.tanh):
        assert_same(fn, [x], g, monkeypatch)
    w, b = T(mixed(rng, (18,), edges=False)), T(mixed(rng, (9,), edges=False))
    assert_same(lambda a, ww, bb: R.layer_norm(a, ww[::2], bb, eps=1e-5), [x, w, b], g, monkeypatch)
    row = T(mixed(rng, (1, 9)))  # forward only: expand's backward is torch's own (unordered) sum, not a RepOps op
    assert_same(lambda a: R.softmax(a.expand(13, 9)), [row], None, monkeypatch)
    assert_same(lambda a: R.gelu(a.expand(13, 9)), [row], None, monkeypatch)
    targets = torch.tensor(rng.integers(0, 9, 13))
    assert_same(lambda a: R.cross_entropy(a, targets), [x], torch.tensor(2.0), monkeypatch)


def test_embedding_backward_repeated_indices(rng: np.random.Generator, monkeypatch) -> None:
    """Ascending scatter-add: many repeats of few rows, -0 and NaN gradients, rows never hit stay +0."""
    idx = torch.tensor(rng.integers(0, 6, (40, 5)))
    idx[0, 0] = 9  # row 9 hit once, rows 6..8 and 10 never
    weight = T(mixed(rng, (11, 19), edges=False))
    g = mixed(rng, (40, 5, 19))
    g[1, 2, :3] = -0.0
    assert_same(lambda i, w: R.embedding(i, w), [idx, weight], T(g), monkeypatch)


@pytest.mark.parametrize("which, name", [(0, "exp"), (1, "log"), (2, "tanh")])
def test_fmath_header_dense_sweep(which: int, name: str, monkeypatch) -> None:
    """fmath.h's exp/log/tanh equal prims' torch recipes on every 4099th float32 bit pattern (~1M inputs)."""
    monkeypatch.setattr(P, "NATIVE", False)
    x = torch.from_numpy(np.arange(0, 1 << 32, 4099, dtype=np.uint64).astype(np.uint32).view(np.float32))
    got = native.kernels("fused").fmath_unary(x, which)
    want = getattr(P, name)(x)
    bad = torch.nonzero(got.view(torch.int32) != want.view(torch.int32))
    assert bad.numel() == 0, f"{name}: {bad.numel()} mismatches, first at bits {x[bad[0]].view(torch.int32).item():#x}"
