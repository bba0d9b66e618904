"""RepOps autograd functions: forward and backward of every model op as fixed sequences of prims.

Each function's recipe (forward and backward) is written down in docs/repops.md; the scalar
reference in offchain/repops/reference.py follows the same sequence element by element.
Pure data movement (view, reshape, permute, split, index_select, cat) is exact and is left to torch.
On CPU, where offchain/native built them, the composite ops (GELU, ReLU, softmax, log-softmax, cross-entropy,
layer norm, the exp/log/tanh gradients, the embedding backward) run as one compiled kernel each
(offchain/native/repops_fused.cpp) with the same op sequence, so the same bits; the torch code is the fallback.

    import offchain.repops.functional as R
    y = R.linear(x, w, b)             # (N, Cout) = x (N, Cin) @ w.T (Cin, Cout) + b
    loss = R.cross_entropy(logits, targets, mask)

Run the tests with `.venv/bin/python -m pytest tests/repops -q -p no:cacheprovider`.
"""

from __future__ import annotations

import torch

from offchain.repops import prims as P

F32 = torch.float32


def _fused(x: torch.Tensor):
    """The compiled fused kernels (offchain/native/repops_fused.cpp) when they apply to float32 `x`, else None.

    They compute whole rows with this file's op sequences, so both paths give the same bits; the torch code below
    each dispatch is the fallback (other devices, VERDE_NATIVE=0, no compiler) and what the kernels are tested on.
    """
    return P.native("fused", x) if x.dtype == F32 else None


def _c(value: float, like: torch.Tensor) -> torch.Tensor:
    """A 0-d float32 constant (value rounded to float32 once) on `like`'s device."""
    return torch.tensor(value, dtype=F32, device=like.device)


def unbroadcast(g: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Sum `g` down to `shape`: extra leading dims first (outermost first), then size-1 dims ascending."""
    while g.dim() > len(shape):
        g = P.asc_sum(g, 0)
    for d, s in enumerate(shape):
        if s == 1 and g.shape[d] != 1:
            g = P.asc_sum(g, d, keepdim=True)
    return g


class _Add(torch.autograd.Function):
    """a + b; gradients unbroadcast."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.sa, ctx.sb = a.shape, b.shape
        return P.add(a, b)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.sa), unbroadcast(g, ctx.sb)


class _Sub(torch.autograd.Function):
    """a - b; gradients g and neg(g), unbroadcast."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.sa, ctx.sb = a.shape, b.shape
        return P.sub(a, b)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.sa), unbroadcast(P.neg(g), ctx.sb)


class _Mul(torch.autograd.Function):
    """a * b; gradients g*b and g*a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return P.mul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return unbroadcast(P.mul(g, b), a.shape), unbroadcast(P.mul(g, a), b.shape)


class _Div(torch.autograd.Function):
    """a / b; gradients g/b and neg((g/b)*y)."""

    @staticmethod
    def forward(ctx, a, b):
        y = P.div(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        ga = P.div(g, b)  # g / b
        gb = P.neg(P.mul(ga, y))  # -(g / b) * y
        return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


class _Sum(torch.autograd.Function):
    """Ascending sum over a dim; gradient copied."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim % x.dim(), keepdim
        return P.asc_sum(x, dim, keepdim=keepdim)

    @staticmethod
    def backward(ctx, g):
        g = g if ctx.keepdim else g.unsqueeze(ctx.dim)
        return g.expand(ctx.shape).contiguous(), None, None


class _Mean(torch.autograd.Function):
    """Ascending sum / float32(n); gradient g/n copied."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim % x.dim(), keepdim
        return P.div(P.asc_sum(x, dim, keepdim=keepdim), _c(float(x.shape[dim]), x))

    @staticmethod
    def backward(ctx, g):
        g = P.div(g, _c(float(ctx.shape[ctx.dim]), g))
        g = g if ctx.keepdim else g.unsqueeze(ctx.dim)
        return g.expand(ctx.shape).contiguous(), None, None


class _Max(torch.autograd.Function):
    """Max reduction; gradient to the first index holding it."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        dim = dim % x.dim()
        m = P.asc_max(x, dim, keepdim=True)
        # gradient goes to the first index (ascending) whose value equals the max bit for bit
        hit = (x.contiguous().view(torch.int32) == m.contiguous().view(torch.int32)).to(torch.int32)
        first = hit & ((torch.cumsum(hit, dim) == 1).to(torch.int32))
        ctx.save_for_backward(first.bool())
        ctx.dim, ctx.keepdim = dim, keepdim
        return m if keepdim else m.squeeze(dim)

    @staticmethod
    def backward(ctx, g):
        (first,) = ctx.saved_tensors
        g = g if ctx.keepdim else g.unsqueeze(ctx.dim)
        return torch.where(first, g, torch.zeros_like(g)), None, None


class _ReLU(torch.autograd.Function):
    """select(x > 0 or NaN, x, +0); gradient select(x > 0, g, +0)."""

    @staticmethod
    def forward(ctx, x):
        k = _fused(x)
        ctx.native = k is not None
        if k is not None:
            ctx.save_for_backward(x)  # the kernel's backward tests x > 0 itself
            return k.relu_fwd(x)
        pos = x > 0
        ctx.save_for_backward(pos)
        return P.canon(torch.where(pos | (x != x), x, torch.zeros_like(x)))  # relu(NaN) = NaN, relu(-0) = +0

    @staticmethod
    def backward(ctx, g):
        (saved,) = ctx.saved_tensors
        if ctx.native:
            k = _fused(g)
            if k is not None and g.shape == saved.shape:
                return k.relu_bwd(g, saved)
            saved = saved > 0
        return torch.where(saved, g, torch.zeros_like(g))


def _gelu_parts(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x2 = x*x, u = C0*(x + C1*(x2*x)), t = tanh(u) (shared by gelu's forward and backward)."""
    x2 = torch.mul(x, x)
    inner = torch.add(x, torch.mul(P.const(P.GELU_C1, x), torch.mul(x2, x)))
    t = P.tanh(torch.mul(P.const(P.GELU_C0, x), inner))
    return x2, inner, t


class _GELU(torch.autograd.Function):
    """GELU tanh form (docs/repops.md table for both directions)."""

    @staticmethod
    def forward(ctx, x):
        k = _fused(x)
        if k is not None:
            y, x2, t = k.gelu_fwd(x)
            ctx.save_for_backward(x, x2, t)
            return y
        x2, _, t = _gelu_parts(x)
        ctx.save_for_backward(x, x2, t)  # backward reuses x*x and tanh(u) (the same bits, no recompute)
        half = _c(0.5, x)
        return P.canon(torch.mul(torch.mul(half, x), torch.add(_c(1.0, x), t)))  # (0.5*x) * (1 + t)

    @staticmethod
    def backward(ctx, g):
        x, x2, t = ctx.saved_tensors
        k = _fused(g)
        if k is not None and g.shape == x.shape:
            return k.gelu_bwd(g, x, x2, t)
        half, one = _c(0.5, x), _c(1.0, x)
        left = torch.mul(half, torch.add(one, t))  # 0.5*(1+t)
        sech2 = torch.sub(one, torch.mul(t, t))  # 1 - t*t
        c1x2 = torch.mul(P.const(P.GELU_C1, x), x2)  # C1*x^2
        du = torch.mul(P.const(P.GELU_C0, x), torch.add(one, torch.mul(_c(3.0, x), c1x2)))  # C0*(1 + 3*(C1*x^2))
        right = torch.mul(torch.mul(torch.mul(half, x), sech2), du)  # 0.5*x*(1-t^2)*C0*(1 + 3*C1*x^2)
        return P.canon(torch.mul(g, torch.add(left, right)))


class _Exp(torch.autograd.Function):
    """exp; gradient g * y."""

    @staticmethod
    def forward(ctx, x):
        y = P.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        k = _fused(g)
        if k is not None and g.shape == y.shape:
            return k.unary_bwd(g, y, 0)
        return P.canon(torch.mul(g, y))


class _Log(torch.autograd.Function):
    """log; gradient g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return P.canon(P.log(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        k = _fused(g)
        if k is not None and g.shape == x.shape:
            return k.unary_bwd(g, x, 1)
        return P.canon(torch.div(g, x))


class _Tanh(torch.autograd.Function):
    """tanh; gradient g * (1 - y*y)."""

    @staticmethod
    def forward(ctx, x):
        y = P.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        k = _fused(g)
        if k is not None and g.shape == y.shape:
            return k.unary_bwd(g, y, 2)
        return P.canon(torch.mul(g, torch.sub(_c(1.0, y), torch.mul(y, y))))


def softmax_fwd(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim: m = max, e = exp(x - m), y = e / sum(e)."""
    k = _fused(x)
    if k is not None:
        return k.softmax_fwd(x)
    m = P.asc_max(x, -1, keepdim=True)
    e = P.exp(torch.sub(x, m))
    return P.canon(torch.div(e, P.asc_sum(e, -1, keepdim=True)))


class _Softmax(torch.autograd.Function):
    """Softmax over the last dim; gradient y * (g - sum(g*y))."""

    @staticmethod
    def forward(ctx, x):
        y = softmax_fwd(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        k = _fused(g)
        if k is not None and g.shape == y.shape:
            return k.softmax_bwd(g, y)
        dot = P.asc_sum(torch.mul(g, y), -1, keepdim=True)
        return P.canon(torch.mul(y, torch.sub(g, dot)))  # y * (g - sum(g*y))


def log_softmax_fwd(x: torch.Tensor) -> torch.Tensor:
    """Log-softmax over the last dim: z = x - max, y = z - log(sum(exp(z)))."""
    k = _fused(x)
    if k is not None:
        return k.log_softmax_fwd(x)
    z = torch.sub(x, P.asc_max(x, -1, keepdim=True))
    return P.canon(torch.sub(z, P.log(P.asc_sum(P.exp(z), -1, keepdim=True))))


class _LogSoftmax(torch.autograd.Function):
    """Log-softmax over the last dim; gradient g - exp(y) * sum(g)."""

    @staticmethod
    def forward(ctx, x):
        y = log_softmax_fwd(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        k = _fused(g)
        if k is not None and g.shape == y.shape:
            return k.log_softmax_bwd(g, y)
        return P.canon(torch.sub(g, torch.mul(P.exp(y), P.asc_sum(g, -1, keepdim=True))))  # g - exp(y) * sum(g)


class _CrossEntropy(torch.autograd.Function):
    """Masked mean NLL of log-softmax; gradient (exp(lp) - onehot) * (g / count) on masked-in rows."""

    @staticmethod
    def forward(ctx, logits, targets, mask):
        # logits (N, V), targets (N,) int64, mask (N,) bool: loss = sum_{mask} -logp[t] (ascending n) / count
        k = _fused(logits)
        if k is not None and targets.dtype == torch.int64 and mask.dtype == torch.bool and logits.dim() == 2:
            loss, logp, count = k.cross_entropy_fwd(logits, targets, mask)
            ctx.save_for_backward(logp, targets, mask, count)
            return loss
        logp = log_softmax_fwd(logits)  # (N, V)
        nll = torch.neg(logp.gather(1, targets[:, None])[:, 0])  # (N,)
        nll = torch.where(mask, nll, torch.zeros_like(nll))
        count = _c(float(int(mask.sum())), logits)
        ctx.save_for_backward(logp, targets, mask, count)
        return P.canon(torch.div(P.asc_sum(nll, 0), count))

    @staticmethod
    def backward(ctx, g):
        logp, targets, mask, count = ctx.saved_tensors
        k = _fused(g)
        if k is not None and targets.dtype == torch.int64 and mask.dtype == torch.bool:
            return k.cross_entropy_bwd(g, logp, targets, mask, count), None, None
        gi = torch.div(g, count)  # d loss / d nll_n for a masked-in row
        p = P.exp(logp)  # (N, V)
        onehot = torch.zeros_like(p).scatter_(1, targets[:, None], 1.0)
        d = torch.mul(torch.sub(p, onehot), gi)  # (p - onehot) * (g / count)
        return P.canon(torch.where(mask[:, None], d, torch.zeros_like(d))), None, None


class _LayerNorm(torch.autograd.Function):
    """Layer norm over the last dim (recipe and gradients in docs/repops.md)."""

    @staticmethod
    def forward(ctx, x, w, b, eps):
        # x (..., C), w (C,), b (C,)
        k = _fused(x)
        if k is not None and w.shape == b.shape == x.shape[-1:]:
            y, xhat, rstd = k.layer_norm_fwd(x, w, b, eps)
            ctx.save_for_backward(xhat, rstd, w)
            return y
        c = _c(float(x.shape[-1]), x)
        mean = torch.div(P.asc_sum(x, -1, keepdim=True), c)
        d = torch.sub(x, mean)
        var = torch.div(P.asc_sum(torch.mul(d, d), -1, keepdim=True), c)
        rstd = torch.div(_c(1.0, x), P.sqrt(torch.add(var, _c(eps, x))))
        xhat = torch.mul(d, rstd)
        ctx.save_for_backward(xhat, rstd, w)
        return P.canon(torch.add(torch.mul(xhat, w), b))

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, w = ctx.saved_tensors
        k = _fused(g)
        if k is not None and g.shape == xhat.shape and w.shape == xhat.shape[-1:]:
            dx, gw, gb = k.layer_norm_bwd(g, xhat, rstd, w)
            return dx, gw, gb, None
        c = _c(float(xhat.shape[-1]), xhat)
        rows_g = g.reshape(-1, g.shape[-1])  # (N, C)
        gw = P.asc_sum(torch.mul(rows_g, xhat.reshape(-1, g.shape[-1])), 0)  # sum over rows n ascending
        gb = P.asc_sum(rows_g, 0)
        dxhat = torch.mul(g, w)
        a = torch.div(P.asc_sum(dxhat, -1, keepdim=True), c)
        bb = torch.div(P.asc_sum(torch.mul(dxhat, xhat), -1, keepdim=True), c)
        dx = torch.mul(torch.sub(torch.sub(dxhat, a), torch.mul(xhat, bb)), rstd)  # ((dxhat - a) - xhat*b) * rstd
        return P.canon(dx), P.canon(gw), P.canon(gb), None


class _Linear(torch.autograd.Function):
    """x @ W.T + b with rows flattened; gradients as three ascending matmuls."""

    @staticmethod
    def forward(ctx, x, w, b):
        # x (..., Cin), w (Cout, Cin), b (Cout,) or None
        ctx.save_for_backward(x, w)
        ctx.has_b = b is not None
        y = P.matmul(x.reshape(-1, x.shape[-1]), w.t())  # (N, Cout)
        if b is not None:
            y = P.add(y, b)
        return y.reshape(*x.shape[:-1], w.shape[0])

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        g2 = g.reshape(-1, g.shape[-1])  # (N, Cout)
        x2 = x.reshape(-1, x.shape[-1])  # (N, Cin)
        gx = P.matmul(g2, w).reshape(x.shape)  # sum over Cout ascending
        gw = P.matmul(g2.t(), x2)  # (Cout, Cin): sum over rows n ascending
        gb = P.asc_sum(g2, 0) if ctx.has_b else None
        return gx, gw, gb


class _Matmul(torch.autograd.Function):
    """Batched ascending-k matmul; gradients g @ b^T and a^T @ g, unbroadcast."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return P.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = P.matmul(g, b.transpose(-1, -2))  # sum over N ascending
        gb = P.matmul(a.transpose(-1, -2), g)  # sum over M ascending
        return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


def scatter_add_rows(rows: int, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """out (rows, C) = +0; for i ascending: out[index[i]] += src[i] (src (N, C), index (N,) int64)."""
    k = _fused(src)
    if k is not None and index.dtype == torch.int64:
        return k.scatter_add_rows(rows, index, src)
    out = torch.zeros(rows, src.shape[1], dtype=F32, device=src.device)
    if P._cpu_fast(src):
        out.index_add_(0, index, src.contiguous())  # CPU: one row after the other, ascending i
    else:
        for i in range(src.shape[0]):
            out[index[i]] += src[i]
    return P.canon(out)


class _Embedding(torch.autograd.Function):
    """Row gather; gradient scatter-added in ascending position order."""

    @staticmethod
    def forward(ctx, idx, weight):
        ctx.save_for_backward(idx)
        ctx.rows = weight.shape[0]
        return weight.index_select(0, idx.reshape(-1)).reshape(*idx.shape, weight.shape[1])

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return None, scatter_add_rows(ctx.rows, idx.reshape(-1), g.reshape(-1, g.shape[-1]))


def add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b with broadcasting."""
    return _Add.apply(a, b)


def sub(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a - b with broadcasting."""
    return _Sub.apply(a, b)


def mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a * b with broadcasting."""
    return _Mul.apply(a, b)


def div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a / b with broadcasting."""
    return _Div.apply(a, b)


def sum(x: torch.Tensor, dim: int, *, keepdim: bool = False) -> torch.Tensor:  # noqa: A001
    """Sum over `dim`, ascending."""
    return _Sum.apply(x, dim, keepdim)


def mean(x: torch.Tensor, dim: int, *, keepdim: bool = False) -> torch.Tensor:
    """Ascending sum over `dim` divided by its size."""
    return _Mean.apply(x, dim, keepdim)


def max(x: torch.Tensor, dim: int, *, keepdim: bool = False) -> torch.Tensor:  # noqa: A001
    """Max over `dim`; the gradient goes to the first index holding it."""
    return _Max.apply(x, dim, keepdim)


def relu(x: torch.Tensor) -> torch.Tensor:
    """max(x, +0) with relu(NaN) = NaN; gradient g where x > 0 else +0."""
    return _ReLU.apply(x)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU, tanh form: 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))."""
    return _GELU.apply(x)


def exp(x: torch.Tensor) -> torch.Tensor:
    """exp by range reduction and polynomial."""
    return _Exp.apply(x)


def log(x: torch.Tensor) -> torch.Tensor:
    """Natural log by exponent extraction and polynomial."""
    return _Log.apply(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh: odd polynomial near 0, exp form elsewhere."""
    return _Tanh.apply(x)


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim."""
    return _Softmax.apply(x)


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Log-softmax over the last dim."""
    return _LogSoftmax.apply(x)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean negative log-likelihood over the rows where `mask` is set (all rows when None)."""
    if mask is None:
        mask = torch.ones(targets.shape, dtype=torch.bool, device=targets.device)
    return _CrossEntropy.apply(logits, targets, mask)


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, *, eps: float = 1e-5) -> torch.Tensor:
    """Layer norm over the last dim, biased variance, eps inside the sqrt."""
    return _LayerNorm.apply(x, weight, bias, eps)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T (+ bias after the ascending sum)."""
    return _Linear.apply(x, weight, bias)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched (..., M, K) @ (..., K, N)."""
    return _Matmul.apply(a, b)


def embedding(idx: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """weight[idx]; backward scatter-adds rows in ascending flattened position order."""
    return _Embedding.apply(idx, weight)
