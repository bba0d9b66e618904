"""Fast RepOps kernels agree bit for bit with the scalar reference, forward and backward, on random and edge inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from repops_support import assert_bits_equal, edge_values, mixed

import offchain.repops.functional as R
from offchain.float32 import fmath
from offchain.repops import prims as P
from offchain.repops import reference as ref


def T(a: np.ndarray, *, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float32), requires_grad=grad)


def _grads(fn, inputs: list[np.ndarray], g: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor]]:
    ts = [T(a, grad=True) for a in inputs]
    y = fn(*ts)
    grads = torch.autograd.grad(y, ts, T(g))
    return y, list(grads)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_edge_pairs_match_reference(name: str, rng: np.random.Generator) -> None:
    """Every pair of edge values plus random pairs gives the reference's bits, forward and backward."""
    ev = edge_values()
    a = np.concatenate([np.repeat(ev, len(ev)), mixed(rng, (64,))]).astype(np.float32)
    b = np.concatenate([np.tile(ev, len(ev)), mixed(rng, (64,))]).astype(np.float32)
    g = mixed(rng, a.shape, edges=False)
    y, (ga, gb) = _grads(getattr(R, name), [a, b], g)
    s = getattr(ref, name)
    assert_bits_equal(y, ref._map(s, a, b))
    if name == "add":
        ra, rb = g, g
    elif name == "sub":
        ra, rb = g, ref._map(ref.neg, g)
    elif name == "mul":
        ra, rb = ref._map(ref.mul, g, b), ref._map(ref.mul, g, a)
    else:
        ra = ref._map(ref.div, g, b)
        rb = ref._map(lambda q, yy: ref.neg(ref.mul(q, yy)), ra, ref._map(ref.div, a, b))
    assert_bits_equal(ga, ra)
    assert_bits_equal(gb, rb)


def test_add_broadcast_backward_sums_ascending(rng: np.random.Generator) -> None:
    """A broadcast operand's gradient is the ascending sum over the broadcast dims."""
    a, b, g = mixed(rng, (3, 4, 5)), mixed(rng, (4, 1)), mixed(rng, (3, 4, 5))
    _, (ga, gb) = _grads(R.add, [a, b], g)
    assert_bits_equal(gb, ref.unbroadcast(g, (4, 1)))


@pytest.mark.parametrize("name", ["minimum", "maximum"])
def test_minmax_edge_pairs_match_reference(name: str) -> None:
    """min/max follow the NaN and signed-zero rule of the reference on every edge pair."""
    ev = edge_values()
    a, b = np.repeat(ev, len(ev)), np.tile(ev, len(ev))
    assert_bits_equal(getattr(P, name)(T(a), T(b)), ref._map(getattr(ref, name), a, b))
    z = P.maximum(T(np.array([-0.0])), T(np.array([0.0])))
    assert z.numpy().view(np.uint32)[0] == 0


def test_sqrt_edge_values_match_reference(rng: np.random.Generator) -> None:
    """sqrt agrees with the reference, including sqrt(-0) = -0 and canonical NaN for negatives."""
    x = np.concatenate([edge_values(), mixed(rng, (64,))])
    assert_bits_equal(P.sqrt(T(x)), ref._map(ref.sqrt, x))


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
def test_transcendental_random_and_edges_match_reference(name: str, rng: np.random.Generator) -> None:
    """exp, log and tanh agree with the reference on edges, subnormals, huge and tiny inputs, and backward."""
    sweep = np.linspace(-110, 100, 300, dtype=np.float32)
    tiny = (rng.random(40) * 1e-38).astype(np.float32)
    x = np.concatenate([edge_values(), mixed(rng, (200,)), sweep, tiny, -tiny])
    g = mixed(rng, x.shape, edges=False)
    y, (gx,) = _grads(getattr(R, name), [x], g)
    ry = getattr(ref, name)(x)
    assert_bits_equal(y, ry)
    if name == "exp":
        assert_bits_equal(gx, ref._map(ref.mul, g, ry))
    elif name == "log":
        assert_bits_equal(gx, ref._map(ref.div, g, x))
    else:
        assert_bits_equal(gx, ref._map(lambda gg, yy: ref.mul(gg, ref.sub(np.float32(1), ref.mul(yy, yy))), g, ry))


def test_transcendental_accuracy_within_few_ulp() -> None:
    """exp, log and tanh stay within 3 ulp of float64 on a dense sweep (accuracy, not reproducibility)."""
    x = torch.linspace(-80, 80, 200001, dtype=torch.float32)
    pos = torch.linspace(1e-30, 1e4, 200001, dtype=torch.float32)
    for fast, true, inp in ((P.exp, torch.exp, x), (P.tanh, torch.tanh, x), (P.log, torch.log, pos)):
        t = true(inp.double())
        ulp = torch.clamp(t.abs().float(), min=1e-38).double() * 2.0**-23
        err = ((fast(inp).double() - t).abs() / ulp).max().item()
        assert err < 3.0, f"{fast.__name__}: {err} ulp"


def test_transcendental_worst_cases_and_signed_zero() -> None:
    """The exhaustive sweep's worst inputs (docs/repops.md, tools/sweep_ulp.py) keep their error; tanh(-0) = +0."""
    worst = {"exp": (0x426D0F97, 1.2206), "log": (0x3F90DEC1, 2.8446), "tanh": (0x3E9AEA95, 2.4747)}
    for name, (bits, ulps) in worst.items():
        x = np.array([bits], dtype=np.uint32).view(np.float32)
        y = getattr(fmath, name)(x)
        assert_bits_equal(getattr(P, name)(T(x)), y)
        true = float(getattr(np, name)(x.astype(np.float64))[0])
        ulp = 2.0 ** (np.frexp(true)[1] - 24)
        assert abs(abs(float(y[0]) - true) / ulp - ulps) < 1e-4, name
    for fast, oracle in ((P.tanh, fmath.tanh), (P.exp, fmath.exp), (P.log, fmath.log)):
        z = np.array([-0.0, 0.0], dtype=np.float32)
        assert_bits_equal(fast(T(z)), oracle(z))
    assert fmath.tanh(np.array([-0.0], dtype=np.float32)).view(np.uint32).tolist() == [0]  # +0, not -0


@pytest.mark.parametrize("name", ["relu", "gelu"])
def test_activation_random_and_edges_match_reference(name: str, rng: np.random.Generator) -> None:
    """relu and gelu (tanh form) agree with the reference forward and backward."""
    x = np.concatenate([edge_values(), mixed(rng, (200,), scale=1.0)])
    g = mixed(rng, x.shape, edges=False)
    y, (gx,) = _grads(getattr(R, name), [x], g)
    assert_bits_equal(y, getattr(ref, name)(x))
    assert_bits_equal(gx, getattr(ref, f"{name}_bwd")(x, g))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sum_mean_max_over_dim_match_reference(dim: int, rng: np.random.Generator) -> None:
    """sum, mean and max over a dim follow the ascending reference, with edges in the data."""
    x = mixed(rng, (5, 6, 7))
    assert_bits_equal(R.sum(T(x), dim), ref.asc_sum(x, dim))
    n = np.float32(x.shape[dim])
    assert_bits_equal(R.mean(T(x), dim), ref._map(lambda v: ref.div(v, n), ref.asc_sum(x, dim)))
    assert_bits_equal(R.max(T(x), dim), ref.asc_max(x, dim))


def test_sum_cancellation_order_matters_matches_reference() -> None:
    """A sum whose value depends on order (1e8 + 1 - 1e8 ...) gives exactly the ascending result."""
    x = np.array([[1e8, 1.0, -1e8, 1.0, 3.0, -0.0]], dtype=np.float32).repeat(3, 0)
    assert_bits_equal(R.sum(T(x), 1), ref.asc_sum(x, 1))
    assert R.sum(T(x), 1)[0].item() == 4.0


@pytest.mark.parametrize("schedule", ["index_add", "loop"])
def test_matmul_batched_matches_reference(
    schedule: str, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batched matmul (broadcast batch dims) agrees with the ascending reference under both schedules."""
    monkeypatch.setattr(P, "LOOP_MIN_OUT", 0 if schedule == "loop" else 1 << 40)
    a, b, g = mixed(rng, (2, 3, 4, 5)), mixed(rng, (3, 5, 6)), mixed(rng, (2, 3, 4, 6), edges=False)
    y, (ga, gb) = _grads(R.matmul, [a, b], g)
    assert_bits_equal(y, ref.matmul(a, b))
    assert_bits_equal(ga, ref.matmul(g, np.swapaxes(b, -1, -2)))
    assert_bits_equal(gb, ref.unbroadcast(ref.matmul(np.swapaxes(a, -1, -2), g), b.shape))


def test_linear_random_matches_reference(rng: np.random.Generator) -> None:
    """linear (x @ w.T + b) agrees with the reference, forward and all three gradients."""
    x, w, b, g = mixed(rng, (7, 5)), mixed(rng, (4, 5)), mixed(rng, (4,)), mixed(rng, (7, 4), edges=False)
    y, (gx, gw, gb) = _grads(R.linear, [x, w, b], g)
    assert_bits_equal(y, ref.linear(x, w, b))
    rx, rw, rb = ref.linear_bwd(x, w, g)
    assert_bits_equal(gx, rx)
    assert_bits_equal(gw, rw)
    assert_bits_equal(gb, rb)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_random_matches_reference(name: str, rng: np.random.Generator) -> None:
    """softmax and log-softmax agree with the reference, including -inf (masked) entries."""
    x = mixed(rng, (4, 9), scale=2.0, edges=False)
    x[1, 3] = -np.inf
    x[2, 0] = np.float32(1e-40)
    g = mixed(rng, x.shape, edges=False)
    y, (gx,) = _grads(getattr(R, name), [x], g)
    ry = getattr(ref, name)(x)
    assert_bits_equal(y, ry)
    assert_bits_equal(gx, getattr(ref, f"{name}_bwd")(ry, g))


def test_cross_entropy_masked_matches_reference(rng: np.random.Generator) -> None:
    """Masked mean cross-entropy and its logits gradient agree with the reference."""
    logits = mixed(rng, (6, 5), scale=2.0, edges=False)
    targets = rng.integers(0, 5, 6)
    mask = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    lt = T(logits, grad=True)
    loss = R.cross_entropy(lt, torch.tensor(targets), torch.tensor(mask))
    (gl,) = torch.autograd.grad(loss, [lt])
    rloss, rgrad = ref.cross_entropy(logits, targets, mask)
    assert_bits_equal(loss, np.array(rloss))
    assert_bits_equal(gl, rgrad)


def test_layer_norm_random_matches_reference(rng: np.random.Generator) -> None:
    """Layer norm agrees with the reference, forward and the gradients of x, weight and bias."""
    x, w, b = mixed(rng, (2, 3, 8), edges=False), mixed(rng, (8,), edges=False), mixed(rng, (8,), edges=False)
    g = mixed(rng, x.shape, edges=False)
    y, (gx, gw, gb) = _grads(lambda a, ww, bb: R.layer_norm(a, ww, bb, eps=1e-5), [x, w, b], g)
    ry, xhat, rstd = ref.layer_norm(x, w, b, 1e-5)
    assert_bits_equal(y, ry)
    rx, rw, rb = ref.layer_norm_bwd(xhat, rstd, w, g)
    assert_bits_equal(gx, rx)
    assert_bits_equal(gw, rw)
    assert_bits_equal(gb, rb)


def test_embedding_repeated_indices_scatter_adds_ascending(rng: np.random.Generator) -> None:
    """Embedding backward adds repeated rows in ascending position order, as the reference does."""
    wt = mixed(rng, (5, 4), edges=False)
    idx = np.array([[3, 1, 3], [0, 3, 1]])
    g = mixed(rng, (2, 3, 4))
    w = T(wt, grad=True)
    y = R.embedding(torch.tensor(idx), w)
    assert_bits_equal(y, wt[idx])
    (gw,) = torch.autograd.grad(y, [w], T(g))
    assert_bits_equal(gw, ref.embedding_bwd(5, idx.reshape(-1), g.reshape(-1, 4)))


def test_adamw_two_steps_match_reference(rng: np.random.Generator) -> None:
    """Two AdamW steps give the reference's parameters and moments bit for bit."""
    from offchain.repops.optim import AdamW

    p0 = mixed(rng, (3, 4), edges=False)
    grads = [mixed(rng, (3, 4), edges=False) for _ in range(2)]
    p = torch.nn.Parameter(T(p0))
    opt = AdamW([p], lr=3e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.1)
    rp, m, v, b1p, b2p = p0, np.zeros_like(p0), np.zeros_like(p0), np.float32(1), np.float32(1)
    for g in grads:
        p.grad = T(g)
        opt.step()
        rp, m, v, b1p, b2p = ref.adamw(rp, g, m, v, b1p, b2p, lr=3e-3, b1=0.9, b2=0.98, eps=1e-8, wd=0.1)
    assert_bits_equal(p, rp)
    assert_bits_equal(opt.state[p]["exp_avg"], m)
    assert_bits_equal(opt.state[p]["exp_avg_sq"], v)


def test_sgd_momentum_two_steps_match_reference(rng: np.random.Generator) -> None:
    """Two SGD steps with momentum and weight decay give the reference's parameters."""
    from offchain.repops.optim import SGD

    p0 = mixed(rng, (3, 4), edges=False)
    p = torch.nn.Parameter(T(p0))
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    rp, buf = p0, None
    for _ in range(2):
        g = mixed(rng, (3, 4), edges=False)
        p.grad = T(g)
        opt.step()
        rp, buf = ref.sgd(rp, g, buf, lr=0.1, momentum=0.9, wd=0.01)
    assert_bits_equal(p, rp)


def test_ops_noncontiguous_inputs_same_bits(rng: np.random.Generator) -> None:
    """matmul, softmax and layer norm give the same bits on a transposed-back non-contiguous copy."""
    x = T(mixed(rng, (6, 8), edges=False))
    nc = x.t().contiguous().t()
    assert not nc.is_contiguous()
    w = T(mixed(rng, (8, 5), edges=False))
    for f in (lambda a: R.matmul(a, w), R.softmax, lambda a: R.layer_norm(a, torch.ones(8), torch.zeros(8))):
        assert torch.equal(f(x).view(torch.int32), f(nc).contiguous().view(torch.int32))


def test_matmul_schedules_model_size_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-k loop and the chunked index_add_ schedules give identical bits at the model's sizes."""
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(512, 64, generator=g), torch.randn(64, 192, generator=g)
    outs = []
    for lm in (0, 1 << 40):
        monkeypatch.setattr(P, "LOOP_MIN_OUT", lm)
        outs.append(P.matmul(a, b).view(torch.int32))
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("threads", [1, 2])
def test_sum_long_reduction_cpu_path_equals_generic_loop(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 3000-long cancellation-heavy ascending sum via index_add_ equals the explicit loop, on 1 and 2 threads."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3000, 70, generator=g) * torch.exp2(torch.randint(-20, 20, (3000, 70), generator=g).float())
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fast = P.asc_sum(x, 0)
        monkeypatch.setattr(P, "FORCE_GENERIC", True)
        loop = P.asc_sum(x, 0)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(fast.view(torch.int32), loop.view(torch.int32))
