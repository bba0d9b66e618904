"""Scalar reference for RepOps: every composite op element by element on the numpy float32 oracle.

This is the referee's reading of docs/repops.md: plain loops over elements, one primitive at a time, no torch.
The primitives and exp/log/tanh are offchain.float32's (`oracle`: the NaN and min/max rules; `fmath`: the
transcendental recipes and their constants), so no float rule is coded here; this module adds the composite
ops' primitive orders (ascending reductions, matmul, softmax, layer norm, the optimizers). The fast kernels
(offchain/repops/prims.py, functional.py, optim.py) must agree with it bit for bit; the tests in tests/repops
compare them on random and edge inputs. Slow: keep shapes tiny.

    from offchain.repops import reference as ref
    y = ref.exp(np.array([1.0], dtype=np.float32))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from offchain.float32.bits import from_bits
from offchain.float32.fmath import GELU_C0, GELU_C1, exp, log, tanh
from offchain.float32.oracle import add, canon, div, maximum, mul, neg, sqrt, sub
from offchain.float32.oracle import minimum as minimum  # re-exported: tests compare prims.minimum with it

f32 = np.float32


# ---------------------------------------------------------------- array helpers (loops over elements)


def _map(fn: Callable[..., np.float32], *arrays: np.ndarray) -> np.ndarray:
    """Apply a scalar function element by element over broadcast float32 arrays."""
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float32) for a in arrays])
    out = np.empty(arrays[0].shape, dtype=np.float32)
    for idx in np.ndindex(out.shape):
        out[idx] = fn(*[a[idx] for a in arrays])
    return out


def asc_sum(x: np.ndarray, axis: int, *, keepdims: bool = False) -> np.ndarray:
    """acc = +0; for k ascending: acc = acc + x[k], for every other index."""
    x = np.moveaxis(np.asarray(x, dtype=np.float32), axis, 0)
    out = np.empty(x.shape[1:], dtype=np.float32)
    for idx in np.ndindex(out.shape):
        acc = f32(0.0)
        for k in range(x.shape[0]):
            acc = add(acc, x[(k, *idx)])
        out[idx] = acc
    return np.expand_dims(out, axis) if keepdims else out


def asc_max(x: np.ndarray, axis: int, *, keepdims: bool = False) -> np.ndarray:
    """m = x[0]; for k ascending: m = max(m, x[k])."""
    x = np.moveaxis(np.asarray(x, dtype=np.float32), axis, 0)
    out = np.empty(x.shape[1:], dtype=np.float32)
    for idx in np.ndindex(out.shape):
        m = x[(0, *idx)]
        for k in range(1, x.shape[0]):
            m = maximum(m, x[(k, *idx)])
        out[idx] = canon(m)
    return np.expand_dims(out, axis) if keepdims else out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., M, K) @ (..., K, N), each output +0 + a0*b0 + a1*b1 + ... in ascending k."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out = np.empty(batch + (m, n), dtype=np.float32)
    for bi in np.ndindex(batch):
        for i in range(m):
            for j in range(n):
                acc = f32(0.0)
                for t in range(k):
                    acc = add(acc, mul(a[(*bi, i, t)], b[(*bi, t, j)]))
                out[(*bi, i, j)] = acc
    return out


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Extra leading dims first (outermost first), then size-1 dims ascending."""
    while g.ndim > len(shape):
        g = asc_sum(g, 0)
    for d, s in enumerate(shape):
        if s == 1 and g.shape[d] != 1:
            g = asc_sum(g, d, keepdims=True)
    return g


# ---------------------------------------------------------------- ops: forward and backward


def relu(x: np.ndarray) -> np.ndarray:
    return _map(lambda v: v if (v > 0 or v != v) else f32(0.0), x)


def relu_bwd(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    return _map(lambda v, gg: gg if v > 0 else f32(0.0), x, g)


def _gelu_t(v: np.float32) -> tuple[np.float32, np.float32]:
    """(x*x, tanh(C0*(x + C1*(x*x*x))))."""
    x2 = mul(v, v)
    inner = add(v, mul(from_bits(GELU_C1), mul(x2, v)))
    return x2, tanh(mul(from_bits(GELU_C0), inner))


def gelu(x: np.ndarray) -> np.ndarray:
    def one(v):
        _, t = _gelu_t(v)
        return mul(mul(f32(0.5), v), add(f32(1), t))

    return _map(one, x)


def gelu_bwd(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    def one(v, gg):
        x2, t = _gelu_t(v)
        left = mul(f32(0.5), add(f32(1), t))
        sech2 = sub(f32(1), mul(t, t))
        du = mul(from_bits(GELU_C0), add(f32(1), mul(f32(3), mul(from_bits(GELU_C1), x2))))
        right = mul(mul(mul(f32(0.5), v), sech2), du)
        return mul(gg, add(left, right))

    return _map(one, x, g)


def softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    e = _map(exp, _map(sub, x, asc_max(x, -1, keepdims=True)))
    return _map(div, e, asc_sum(e, -1, keepdims=True))


def softmax_bwd(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    dot = asc_sum(_map(mul, g, y), -1, keepdims=True)
    return _map(mul, y, _map(sub, g, dot))


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    z = _map(sub, x, asc_max(x, -1, keepdims=True))
    return _map(sub, z, _map(log, asc_sum(_map(exp, z), -1, keepdims=True)))


def log_softmax_bwd(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    return _map(sub, g, _map(mul, _map(exp, y), asc_sum(g, -1, keepdims=True)))


def cross_entropy(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> tuple[np.float32, np.ndarray]:
    """(loss, dlogits for upstream gradient 1.0)."""
    logp = log_softmax(logits)
    n = logp.shape[0]
    nll = np.array([neg(logp[i, targets[i]]) if mask[i] else f32(0) for i in range(n)], dtype=np.float32)
    count = f32(int(np.sum(mask)))
    loss = div(asc_sum(nll, 0), count)
    gi = div(f32(1.0), count)
    d = np.zeros_like(logp)
    for i in range(n):
        for v in range(logp.shape[1]):
            if mask[i]:
                d[i, v] = mul(sub(exp(logp[i, v]), f32(1.0 if v == targets[i] else 0.0)), gi)
    return loss, d


def layer_norm(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, xhat, rstd) over the last dim."""
    x = np.asarray(x, dtype=np.float32)
    c = f32(x.shape[-1])
    mean = _map(div, asc_sum(x, -1, keepdims=True), c)
    d = _map(sub, x, mean)
    var = _map(div, asc_sum(_map(mul, d, d), -1, keepdims=True), c)
    rstd = _map(lambda v: div(f32(1), sqrt(add(v, f32(eps)))), var)
    xhat = _map(mul, d, rstd)
    return _map(add, _map(mul, xhat, w), b), xhat, rstd


def layer_norm_bwd(
    xhat: np.ndarray, rstd: np.ndarray, w: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gx, gw, gb)."""
    cdim = xhat.shape[-1]
    c = f32(cdim)
    gw = asc_sum(_map(mul, g.reshape(-1, cdim), xhat.reshape(-1, cdim)), 0)
    gb = asc_sum(g.reshape(-1, cdim), 0)
    dxhat = _map(mul, g, w)
    a = _map(div, asc_sum(dxhat, -1, keepdims=True), c)
    bb = _map(div, asc_sum(_map(mul, dxhat, xhat), -1, keepdims=True), c)
    dx = _map(mul, _map(sub, _map(sub, dxhat, a), _map(mul, xhat, bb)), rstd)
    return dx, gw, gb


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """x @ w.T, then + b."""
    y = matmul(x, np.ascontiguousarray(w.T))
    return y if b is None else _map(add, y, b)


def linear_bwd(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gx, gw, gb)."""
    return matmul(g, w), matmul(np.ascontiguousarray(g.T), x), asc_sum(g, 0)


def embedding_bwd(rows: int, idx: np.ndarray, g: np.ndarray) -> np.ndarray:
    """+0, then rows added at their index in ascending position order."""
    out = np.zeros((rows, g.shape[1]), dtype=np.float32)
    for i in range(len(idx)):
        for c in range(g.shape[1]):
            out[idx[i], c] = add(out[idx[i], c], g[i, c])
    return out


def adamw(
    p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, b1p: np.float32, b2p: np.float32,
    *, lr: float, b1: float, b2: float, eps: float, wd: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.float32, np.float32]:
    """One AdamW step on arrays; returns (p, m, v, b1p, b2p)."""
    lr, b1, b2, eps, wd = f32(lr), f32(b1), f32(b2), f32(eps), f32(wd)
    b1p, b2p = mul(b1p, b1), mul(b2p, b2)
    out_p, out_m, out_v = np.empty_like(p), np.empty_like(p), np.empty_like(p)
    for i in np.ndindex(p.shape):
        q = sub(p[i], mul(mul(lr, wd), p[i]))
        mm = add(mul(b1, m[i]), mul(sub(f32(1), b1), g[i]))
        vv = add(mul(b2, v[i]), mul(sub(f32(1), b2), mul(g[i], g[i])))
        mhat = div(mm, sub(f32(1), b1p))
        denom = add(sqrt(div(vv, sub(f32(1), b2p))), eps)
        out_p[i], out_m[i], out_v[i] = sub(q, mul(lr, div(mhat, denom))), mm, vv
    return out_p, out_m, out_v, b1p, b2p


def sgd(
    p: np.ndarray, g: np.ndarray, buf: np.ndarray | None, *, lr: float, momentum: float, wd: float
) -> tuple[np.ndarray, np.ndarray]:
    """One SGD step on arrays; returns (p, buf)."""
    out_p, out_b = np.empty_like(p), np.empty_like(p)
    for i in np.ndindex(p.shape):
        gg = g[i]
        if wd != 0:
            gg = add(gg, mul(f32(wd), p[i]))
        if momentum != 0:
            gg = gg if buf is None else add(mul(f32(momentum), buf[i]), gg)
        out_b[i] = gg
        out_p[i] = sub(p[i], mul(f32(lr), gg))
    return out_p, out_b
