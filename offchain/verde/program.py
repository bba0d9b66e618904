"""One training step of a Verde job as a straight-line op program, and a fast executor of such programs.

`build_program(job)` writes the step of offchain/verde/job.py (RepOpsGPT forward, the autograd backward of
offchain/repops/functional.py, offchain/repops/optim.py AdamW, the checkpoint tree and header) as the ops of
docs/verde-trace.md, op for op in the order and with the primitives the autograd trainer uses, so that
`run_program` gives the trainer's new state and checkpoint root bit for bit. Views (reshape of a contiguous
tensor, transpose, broadcast, slice) are operand strides; only a reshape torch must copy is a COPY.

Operand order where the table leaves it open follows the formula (offchain/verde/recipes.py reads it so):
WHERE is (c, a, b), SCATTER (idx, x), GATHER (x, idx), EQCOORD (idx).

    program = build_program(job)                                # tuple[ir.Op, ...], G ops
    values = run_program(program, state, job.batch(t), step=t)  # one value per slot
    new_state = state_after(program, values); values[-1]        # the checkpoint root of step t

Run the tests with `.venv/bin/python -m pytest tests/verde/test_trace.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import torch
from eth_abi import decode as abi_decode

from offchain.commit import tensor_root
from offchain.commit.format import ZERO_HASHES, checkpoint_root_from, named_tensor_leaf, node_hash
from offchain.commit.state import model_key, optim_key
from offchain.float32.bits import NEG_INF
from offchain.repops import prims as P
from offchain.verde import ir
from offchain.verde.job import OPTIM_KEYS, Batch, State, VerdeJob, f32_bits

F32, I32 = torch.float32, torch.int32
ONE, HALF, THREE, ZERO_F = 0x3F800000, 0x3F000000, 0x40400000, 0
Value = torch.Tensor | bytes  # a slot's value: a tensor (tensor ops, LOAD, BATCH) or a hash


# ---------------------------------------------------------------- views and the builder


@dataclass(frozen=True)
class View:
    """A strided view of a slot's (row-major) tensor, the program-side twin of a torch view."""

    slot: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int = 0
    dtype: int = ir.FLOAT32

    def transpose(self, d0: int, d1: int) -> View:
        sh, st = list(self.shape), list(self.strides)
        d0, d1 = d0 % len(sh), d1 % len(sh)
        sh[d0], sh[d1], st[d0], st[d1] = sh[d1], sh[d0], st[d1], st[d0]
        return replace(self, shape=tuple(sh), strides=tuple(st))

    def narrow(self, dim: int, start: int, length: int) -> View:
        sh = list(self.shape)
        sh[dim] = length
        return replace(self, shape=tuple(sh), offset=self.offset + start * self.strides[dim])

    def view_as(self, shape: Sequence[int]) -> View | None:
        """The same elements reshaped without a copy, or None where torch would have to copy."""
        span = 1 + sum((d - 1) * s for d, s in zip(self.shape, self.strides, strict=True) if d > 0)
        probe = torch.empty(max(span, 1), dtype=torch.uint8).as_strided(self.shape, self.strides)
        try:
            v = probe.view(tuple(shape))
        except RuntimeError:
            return None
        return replace(self, shape=tuple(v.shape), strides=tuple(v.stride()))


@dataclass(frozen=True)
class Const:
    """A constant operand (32 bits), broadcast to any shape."""

    bits: int


Arg = View | Const


def _contig(shape: Sequence[int]) -> tuple[int, ...]:
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= d
    return tuple(reversed(out))


def _bcast_strides(x: View, shape: Sequence[int]) -> tuple[int, ...]:
    """x's strides broadcast (numpy rules, right-aligned) to `shape`."""
    lead = len(shape) - len(x.shape)
    assert lead >= 0, f"cannot broadcast {x.shape} to {tuple(shape)}"
    out = [0] * lead
    for d, (n, s) in enumerate(zip(x.shape, x.strides, strict=True)):
        assert n in (1, shape[lead + d]), f"cannot broadcast {x.shape} to {tuple(shape)}"
        out.append(s if n == shape[lead + d] and n != 1 else 0)
    return tuple(out)


class _Builder:
    """Appends ops; every method returns the View of the slot it wrote."""

    def __init__(self) -> None:
        self.ops: list[ir.Op] = []
        self.phase = ""

    def emit(self, opcode: int, dtype: int, shape: Sequence[int], operands: Sequence[ir.Operand], note: str, *,
             k: int = 0, attrs: bytes = b"") -> View:  # fmt: skip
        self.ops.append(ir.Op(opcode, dtype, tuple(shape), k, tuple(operands), attrs, note=f"{self.phase} {note}"))
        return View(len(self.ops) - 1, tuple(shape), _contig(shape), 0, dtype)

    @staticmethod
    def operand(x: Arg, shape: Sequence[int], k_stride: int | None = None) -> ir.Operand:
        if isinstance(x, Const):
            return ir.const(x.bits)
        st = _bcast_strides(x, shape)
        return ir.Operand(x.slot, x.offset, st if k_stride is None else (*st, k_stride))

    def ew(self, opcode: int, *xs: Arg, note: str) -> View:
        """An elementwise float op over the broadcast shape of its operands."""
        shape = tuple(torch.broadcast_shapes(*(x.shape for x in xs if isinstance(x, View))))
        return self.emit(opcode, ir.FLOAT32, shape, [self.operand(x, shape) for x in xs], note)

    def where(self, c: View, a: Arg, b: Arg, *, shape: Sequence[int], note: str) -> View:
        return self.emit(ir.WHERE, ir.FLOAT32, shape, [self.operand(x, shape) for x in (c, a, b)], note)

    def reduce(self, opcode: int, x: View, dim: int, *, keepdim: bool, note: str) -> View:
        """SUM or MAXR of x over `dim` (ascending k)."""
        dim %= len(x.shape)
        shape = tuple(1 if d == dim else x.shape[d] for d in range(len(x.shape)) if keepdim or d != dim)
        strides = tuple(0 if d == dim else x.strides[d] for d in range(len(x.shape)) if keepdim or d != dim)
        op = ir.Operand(x.slot, x.offset, (*strides, x.strides[dim]))
        return self.emit(opcode, ir.FLOAT32, shape, [op], note, k=x.shape[dim])

    def dot(self, a: View, b: View, *, note: str) -> View:
        """Batched matmul (..., M, K) @ (..., K, N): DOT with broadcast-stride views."""
        assert a.shape[-1] == b.shape[-2], f"dot: {a.shape} x {b.shape}"
        batch = tuple(torch.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
        ab = _bcast_strides(View(a.slot, a.shape[:-2], a.strides[:-2]), batch)
        bb = _bcast_strides(View(b.slot, b.shape[:-2], b.strides[:-2]), batch)
        oa = ir.Operand(a.slot, a.offset, (*ab, a.strides[-2], 0, a.strides[-1]))
        ob = ir.Operand(b.slot, b.offset, (*bb, 0, b.strides[-1], b.strides[-2]))
        return self.emit(ir.DOT, ir.FLOAT32, (*batch, m, n), [oa, ob], note, k=k)

    def reshape(self, x: View, shape: Sequence[int], *, note: str) -> View:
        """torch's reshape: a view where one exists, else a COPY (then a view of the copy)."""
        v = x.view_as(shape)
        if v is not None:
            return v
        c = self.emit(ir.COPY, x.dtype, x.shape, [ir.Operand(x.slot, x.offset, x.strides)], note)
        v = c.view_as(shape)
        assert v is not None
        return v

    def gather_rows(self, idx: View, table: View, *, note: str) -> View:
        """table[idx] (embedding forward): out idx.shape + (C,)."""
        shape = (*idx.shape, table.shape[1])
        ox = ir.Operand(table.slot, table.offset, (0,) * len(idx.shape) + (table.strides[1],))
        oi = ir.Operand(idx.slot, idx.offset, (*idx.strides, 0))
        return self.emit(ir.GATHER, ir.FLOAT32, shape, [ox, oi], note, attrs=ir.attrs_int64(table.strides[0]))

    def scatter_rows(self, rows: int, idx: View, src: View, *, note: str) -> View:
        """out (rows, C) = +0; for n ascending: out[idx[n]] += src[n] (embedding backward)."""
        oi = ir.Operand(idx.slot, idx.offset, (0, 0, idx.strides[0]))
        ox = ir.Operand(src.slot, src.offset, (0, src.strides[1], src.strides[0]))
        return self.emit(ir.SCATTER, ir.FLOAT32, (rows, src.shape[1]), [oi, ox], note, k=src.shape[0],
                         attrs=ir.attrs_uint8(0))  # fmt: skip


# ---------------------------------------------------------------- the model's ops (functional.py, op for op)


def _layer_norm(b: _Builder, x: View, w: View, bias: View, eps: int, name: str) -> tuple[View, tuple]:
    """_LayerNorm.forward; returns y and what backward needs (xhat, rstd, w)."""
    c = Const(f32_bits(float(x.shape[-1])))
    mean = b.ew(ir.DIV, b.reduce(ir.SUM, x, -1, keepdim=True, note=f"{name} sum x"), c, note=f"{name} mean")
    d = b.ew(ir.SUB, x, mean, note=f"{name} x - mean")
    s2 = b.reduce(ir.SUM, b.ew(ir.MUL, d, d, note=f"{name} d*d"), -1, keepdim=True, note=f"{name} sum d*d")
    var = b.ew(ir.DIV, s2, c, note=f"{name} var")
    sq = b.ew(ir.SQRT, b.ew(ir.ADD, var, Const(eps), note=f"{name} var + eps"), note=f"{name} sqrt")
    rstd = b.ew(ir.DIV, Const(ONE), sq, note=f"{name} rstd")
    xhat = b.ew(ir.MUL, d, rstd, note=f"{name} xhat")
    y = b.ew(ir.ADD, b.ew(ir.MUL, xhat, w, note=f"{name} xhat*w"), bias, note=f"{name} + b")
    return y, (xhat, rstd, w)


def _layer_norm_bwd(b: _Builder, g: View, saved: tuple, name: str) -> tuple[View, View, View]:
    """_LayerNorm.backward: (dx, gw, gb)."""
    xhat, rstd, w = saved
    n_c = g.shape[-1]
    c = Const(f32_bits(float(n_c)))
    rows_g = b.reshape(g, (-1, n_c), note=f"{name} g rows")
    rows_x = b.reshape(xhat, (-1, n_c), note=f"{name} xhat rows")
    gw = b.reduce(ir.SUM, b.ew(ir.MUL, rows_g, rows_x, note=f"{name} g*xhat"), 0, keepdim=False, note=f"{name} gw")
    gb = b.reduce(ir.SUM, rows_g, 0, keepdim=False, note=f"{name} gb")
    dxhat = b.ew(ir.MUL, g, w, note=f"{name} dxhat")
    a = b.ew(ir.DIV, b.reduce(ir.SUM, dxhat, -1, keepdim=True, note=f"{name} sum dxhat"), c, note=f"{name} a")
    s = b.reduce(ir.SUM, b.ew(ir.MUL, dxhat, xhat, note=f"{name} dxhat*xhat"), -1, keepdim=True,
                 note=f"{name} sum dxhat*xhat")  # fmt: skip
    bb = b.ew(ir.DIV, s, c, note=f"{name} b")
    t = b.ew(ir.SUB, b.ew(ir.SUB, dxhat, a, note=f"{name} dxhat - a"),
             b.ew(ir.MUL, xhat, bb, note=f"{name} xhat*b"), note=f"{name} (dxhat - a) - xhat*b")  # fmt: skip
    dx = b.ew(ir.MUL, t, rstd, note=f"{name} dx")
    return dx, gw, gb


def _linear(b: _Builder, x: View, w: View, bias: View | None, name: str) -> View:
    """_Linear.forward: rows of x times w.T, then + bias; shape x.shape[:-1] + (Cout,)."""
    x2 = b.reshape(x, (-1, x.shape[-1]), note=f"{name} x rows")
    y = b.dot(x2, w.transpose(0, 1), note=f"{name} x @ w.T")
    if bias is not None:
        y = b.ew(ir.ADD, y, bias, note=f"{name} + b")
    return b.reshape(y, (*x.shape[:-1], w.shape[0]), note=f"{name} out")


def _linear_bwd(b: _Builder, g: View, x: View, w: View, has_bias: bool, name: str) -> tuple[View, View, View | None]:
    """_Linear.backward: (gx, gw, gb)."""
    g2 = b.reshape(g, (-1, g.shape[-1]), note=f"{name} g rows")
    x2 = b.reshape(x, (-1, x.shape[-1]), note=f"{name} x rows")
    gx = b.reshape(b.dot(g2, w, note=f"{name} gx = g @ w"), x.shape, note=f"{name} gx")
    gw = b.dot(g2.transpose(0, 1), x2, note=f"{name} gw = g.T @ x")
    gb = b.reduce(ir.SUM, g2, 0, keepdim=False, note=f"{name} gb") if has_bias else None
    return gx, gw, gb


def _softmax(b: _Builder, x: View, name: str) -> View:
    m = b.reduce(ir.MAXR, x, -1, keepdim=True, note=f"{name} max")
    e = b.ew(ir.EXP, b.ew(ir.SUB, x, m, note=f"{name} x - max"), note=f"{name} exp")
    return b.ew(ir.DIV, e, b.reduce(ir.SUM, e, -1, keepdim=True, note=f"{name} sum"), note=f"{name} y")


def _softmax_bwd(b: _Builder, g: View, y: View, name: str) -> View:
    dot = b.reduce(ir.SUM, b.ew(ir.MUL, g, y, note=f"{name} g*y"), -1, keepdim=True, note=f"{name} sum g*y")
    return b.ew(ir.MUL, y, b.ew(ir.SUB, g, dot, note=f"{name} g - sum"), note=f"{name} gx")


def _gelu(b: _Builder, x: View, name: str) -> tuple[View, tuple]:
    x2 = b.ew(ir.MUL, x, x, note=f"{name} x*x")
    c1x3 = b.ew(ir.MUL, Const(P.GELU_C1), b.ew(ir.MUL, x2, x, note=f"{name} x2*x"), note=f"{name} C1*x3")
    inner = b.ew(ir.ADD, x, c1x3, note=f"{name} inner")
    t = b.ew(ir.TANH, b.ew(ir.MUL, Const(P.GELU_C0), inner, note=f"{name} u"), note=f"{name} tanh")
    hx = b.ew(ir.MUL, Const(HALF), x, note=f"{name} 0.5*x")
    y = b.ew(ir.MUL, hx, b.ew(ir.ADD, Const(ONE), t, note=f"{name} 1 + t"), note=f"{name} y")
    return y, (x, x2, t)


def _gelu_bwd(b: _Builder, g: View, saved: tuple, name: str) -> View:
    x, x2, t = saved
    left = b.ew(ir.MUL, Const(HALF), b.ew(ir.ADD, Const(ONE), t, note=f"{name} 1 + t"), note=f"{name} left")
    sech2 = b.ew(ir.SUB, Const(ONE), b.ew(ir.MUL, t, t, note=f"{name} t*t"), note=f"{name} 1 - t*t")
    c1x2 = b.ew(ir.MUL, Const(P.GELU_C1), x2, note=f"{name} C1*x2")
    p1 = b.ew(ir.ADD, Const(ONE), b.ew(ir.MUL, Const(THREE), c1x2, note=f"{name} 3*C1x2"), note=f"{name} 1 + 3C1x2")
    du = b.ew(ir.MUL, Const(P.GELU_C0), p1, note=f"{name} du")
    r1 = b.ew(ir.MUL, b.ew(ir.MUL, Const(HALF), x, note=f"{name} 0.5*x"), sech2, note=f"{name} 0.5x*sech2")
    right = b.ew(ir.MUL, r1, du, note=f"{name} right")
    return b.ew(ir.MUL, g, b.ew(ir.ADD, left, right, note=f"{name} left + right"), note=f"{name} gx")


# ---------------------------------------------------------------- the program


@functools.lru_cache(maxsize=8)
def op_hashes(job: VerdeJob) -> tuple[bytes, ...]:
    """The descriptor hash of every op of the job's program (once per job: they are what the program tree,
    every trace and every dispute agent commit to)."""
    return tuple(op.hash for op in build_program(job))


@functools.lru_cache(maxsize=8)
def build_program(job: VerdeJob) -> tuple[ir.Op, ...]:
    """One training step of `job` as ops: LOAD, BATCH, forward, backward, AdamW, NAMED, NODE tree, HEADER.

    The result is the same for every step of the job (the step enters through BATCH and HEADER), and it is built
    once per job (a VerdeJob is frozen): the trainer, the posted Program and every check share it.
    """
    cfg = job.gpt
    bsz, t_len, c, n_head, vocab = job.batch_size, job.seq, cfg.width, cfg.n_head, cfg.vocab
    hs = c // n_head
    ln_eps = f32_bits(cfg.eps)
    shapes = job.state_shapes()
    b = _Builder()

    # LOAD every state tensor (checkpoint leaf order), BATCH the step's data
    b.phase = "load"
    st: dict[str, View] = {}
    for name, shape in shapes.items():
        st[name] = b.emit(ir.LOAD, ir.FLOAT32, shape, [], name, attrs=ir.attrs_string(name))
    xs = [b.emit(ir.BATCH, ir.INT32, (bsz, t_len), [], w, attrs=ir.attrs_uint8(i))
          for i, w in enumerate(("inputs", "targets", "mask"))]  # fmt: skip
    inputs, targets, mask = xs
    p = {n: st[model_key(n)] for n in job.param_shapes}

    # FORWARD (RepOpsGPT.forward, then the loss)
    b.phase = "fwd"
    pos_idx = b.emit(ir.ARANGE, ir.INT32, (t_len,), [], "pos ids")
    pos = b.gather_rows(pos_idx, p["pos_emb"], note="pos emb")  # (T, C)
    tok = b.gather_rows(inputs, p["tok_emb"], note="tok emb")  # (B, T, C)
    x = b.ew(ir.ADD, tok, pos, note="tok + pos")  # (B, T, C)
    causal = b.emit(ir.TRIL, ir.INT32, (t_len, t_len), [], "causal mask")
    scale = Const(f32_bits(1.0 / math.sqrt(hs)))
    saved_layers = []
    for i in range(cfg.n_layer):
        h, ln1 = _layer_norm(b, x, p[f"h{i}_ln1_w"], p[f"h{i}_ln1_b"], ln_eps, f"h{i}.ln1")
        qkv = _linear(b, h, p[f"h{i}_qkv_w"], p[f"h{i}_qkv_b"], f"h{i}.qkv")  # (B, T, 3C)
        q, k, v = (qkv.narrow(2, j * c, c).view_as((bsz, t_len, n_head, hs)).transpose(1, 2) for j in range(3))
        att = b.dot(q, k.transpose(-2, -1), note=f"h{i}.attn q @ k.T")  # (B, H, T, T)
        att = b.ew(ir.MUL, att, scale, note=f"h{i}.attn * scale")
        att_m = b.where(causal, att, Const(NEG_INF), shape=att.shape, note=f"h{i}.attn causal")
        att_s = _softmax(b, att_m, f"h{i}.softmax")
        y = b.dot(att_s, v, note=f"h{i}.attn att @ v")  # (B, H, T, hs)
        y2 = b.reshape(y.transpose(1, 2), (bsz, t_len, c), note=f"h{i}.attn merge heads")  # (B, T, C)
        x1 = b.ew(ir.ADD, x, _linear(b, y2, p[f"h{i}_proj_w"], p[f"h{i}_proj_b"], f"h{i}.proj"), note=f"h{i} res1")
        h2, ln2 = _layer_norm(b, x1, p[f"h{i}_ln2_w"], p[f"h{i}_ln2_b"], ln_eps, f"h{i}.ln2")
        fc = _linear(b, h2, p[f"h{i}_fc_w"], p[f"h{i}_fc_b"], f"h{i}.fc")  # (B, T, 4C)
        hg, gelu = _gelu(b, fc, f"h{i}.gelu")
        x2 = b.ew(ir.ADD, x1, _linear(b, hg, p[f"h{i}_out_w"], p[f"h{i}_out_b"], f"h{i}.out"), note=f"h{i} res2")
        saved_layers.append((h, ln1, q, k, v, att, att_s, y2, h2, ln2, fc, hg, gelu))
        x = x2
    xf, lnf = _layer_norm(b, x, p["lnf_w"], p["lnf_b"], ln_eps, "lnf")
    logits = _linear(b, xf, p["head_w"], None, "head")  # (B, T, V)
    # _CrossEntropy.forward over rows n = (b, t)
    lg = b.reshape(logits, (-1, vocab), note="ce logits rows")  # (N, V)
    tg, mk = b.reshape(targets, (-1,), note="ce targets"), b.reshape(mask, (-1,), note="ce mask")  # (N,)
    m = b.reduce(ir.MAXR, lg, -1, keepdim=True, note="ce max")
    z = b.ew(ir.SUB, lg, m, note="ce z")
    lse = b.reduce(ir.SUM, b.ew(ir.EXP, z, note="ce exp z"), -1, keepdim=True, note="ce sum exp")
    logp = b.ew(ir.SUB, z, b.ew(ir.LOG, lse, note="ce log"), note="ce logp")  # (N, V)
    pick = b.emit(ir.GATHER, ir.FLOAT32, tg.shape, [b.operand(View(logp.slot, (tg.shape[0],), (vocab,)), tg.shape),
                  b.operand(tg, tg.shape)], "ce logp[target]", attrs=ir.attrs_int64(1))  # fmt: skip
    nll = b.where(mk, b.ew(ir.NEG, pick, note="ce nll"), Const(ZERO_F), shape=tg.shape, note="ce masked nll")
    ones = b.where(mk, Const(ONE), Const(ZERO_F), shape=tg.shape, note="ce mask as float")
    count = b.reduce(ir.SUM, ones, 0, keepdim=False, note="ce count")  # float32(mask.sum()), exact
    b.ew(ir.DIV, b.reduce(ir.SUM, nll, 0, keepdim=False, note="ce sum nll"), count, note="ce loss")

    # BACKWARD (the autograd Functions in reverse; d loss = 1.0)
    b.phase = "bwd"
    grads: dict[str, View] = {}
    gi = b.ew(ir.DIV, Const(ONE), count, note="ce g / count")
    pexp = b.ew(ir.EXP, logp, note="ce exp logp")
    onehot = b.emit(ir.EQCOORD, ir.FLOAT32, lg.shape, [b.operand(tg.view_as((tg.shape[0], 1)), lg.shape)],
                    "ce onehot", attrs=ir.attrs_uint8(1))  # fmt: skip
    d = b.ew(ir.MUL, b.ew(ir.SUB, pexp, onehot, note="ce p - onehot"), gi, note="ce d")
    mk2 = mk.view_as((tg.shape[0], 1))
    g_lg = b.where(mk2, d, Const(ZERO_F), shape=lg.shape, note="ce g logits")  # (N, V)
    g_logits = b.reshape(g_lg, logits.shape, note="g logits")
    g, grads["head_w"], _ = _linear_bwd(b, g_logits, xf, p["head_w"], False, "head")
    g, grads["lnf_w"], grads["lnf_b"] = _layer_norm_bwd(b, g, lnf, "lnf")
    for i in reversed(range(cfg.n_layer)):
        h, ln1, q, k, v, att, att_s, y2, h2, ln2, fc, hg, gelu = saved_layers[i]
        g_x2 = g  # res2 = x1 + out: both get g
        g_h, grads[f"h{i}_out_w"], grads[f"h{i}_out_b"] = _linear_bwd(b, g_x2, hg, p[f"h{i}_out_w"], True, f"h{i}.out")
        g_fc = _gelu_bwd(b, g_h, gelu, f"h{i}.gelu")
        g_h2, grads[f"h{i}_fc_w"], grads[f"h{i}_fc_b"] = _linear_bwd(b, g_fc, h2, p[f"h{i}_fc_w"], True, f"h{i}.fc")
        g_ln2, grads[f"h{i}_ln2_w"], grads[f"h{i}_ln2_b"] = _layer_norm_bwd(b, g_h2, ln2, f"h{i}.ln2")
        g_x1 = b.ew(ir.ADD, g_x2, g_ln2, note=f"h{i} res2 grad accumulate")
        g_y2, grads[f"h{i}_proj_w"], grads[f"h{i}_proj_b"] = _linear_bwd(b, g_x1, y2, p[f"h{i}_proj_w"], True,
                                                                         f"h{i}.proj")  # fmt: skip
        g_y = b.reshape(g_y2, (bsz, t_len, n_head, hs), note=f"h{i}.attn split heads").transpose(1, 2)  # (B,H,T,hs)
        g_att_s = b.dot(g_y, v.transpose(-1, -2), note=f"h{i}.attn g_att = g @ v.T")
        g_v = b.dot(att_s.transpose(-1, -2), g_y, note=f"h{i}.attn g_v = att.T @ g")
        g_att_m = _softmax_bwd(b, g_att_s, att_s, f"h{i}.softmax")
        g_att = b.where(causal, g_att_m, Const(ZERO_F), shape=g_att_m.shape, note=f"h{i}.attn causal grad")
        g_qk = b.ew(ir.MUL, g_att, scale, note=f"h{i}.attn g * scale")
        g_q = b.dot(g_qk, k, note=f"h{i}.attn g_q = g @ k")  # (B, H, T, hs)
        g_kt = b.dot(q.transpose(-1, -2), g_qk, note=f"h{i}.attn g_kT = q.T @ g")  # (B, H, hs, T)
        parts = [g_q.transpose(1, 2), g_kt.transpose(-2, -1).transpose(1, 2), g_v.transpose(1, 2)]  # (B,T,H,hs)
        cat_shape = (bsz, t_len, 3 * n_head, hs)
        ops = [ir.Operand(v_.slot, v_.offset - j * n_head * v_.strides[2], v_.strides) for j, v_ in enumerate(parts)]
        g_qkv4 = b.emit(ir.CAT, ir.FLOAT32, cat_shape, ops, f"h{i}.qkv split grad", attrs=ir.attrs_cat(2, n_head))
        g_qkv = b.reshape(g_qkv4, (bsz, t_len, 3 * c), note=f"h{i}.qkv g")
        g_h, grads[f"h{i}_qkv_w"], grads[f"h{i}_qkv_b"] = _linear_bwd(b, g_qkv, h, p[f"h{i}_qkv_w"], True, f"h{i}.qkv")
        g_ln1, grads[f"h{i}_ln1_w"], grads[f"h{i}_ln1_b"] = _layer_norm_bwd(b, g_h, ln1, f"h{i}.ln1")
        g = b.ew(ir.ADD, g_x1, g_ln1, note=f"h{i} res1 grad accumulate")
    g_pos = b.reduce(ir.SUM, g, 0, keepdim=False, note="pos grad unbroadcast")  # (T, C)
    g_rows = b.reshape(g, (-1, c), note="tok grad rows")
    grads["tok_emb"] = b.scatter_rows(vocab, b.reshape(inputs, (-1,), note="ids"), g_rows, note="tok emb grad")
    grads["pos_emb"] = b.scatter_rows(cfg.context, pos_idx, g_pos, note="pos emb grad")

    # ADAMW (optim.py, parameters in the model's order)
    b.phase = "adamw"
    lr, wd, eps = Const(f32_bits(job.lr)), Const(f32_bits(job.weight_decay)), Const(f32_bits(job.eps))
    b1, b2 = Const(f32_bits(job.betas[0])), Const(f32_bits(job.betas[1]))
    lrwd = b.ew(ir.MUL, lr, wd, note="lr*wd")
    omb1 = b.ew(ir.SUB, Const(ONE), b1, note="1 - b1")
    omb2 = b.ew(ir.SUB, Const(ONE), b2, note="1 - b2")
    new: dict[str, View] = {}
    for n in job.param_shapes:
        pv, gv = p[n], grads[n]
        assert gv.shape == pv.shape, f"{n}: grad {gv.shape} vs param {pv.shape}"
        b1p = b.ew(ir.MUL, st[optim_key(n, "b1p")], b1, note=f"{n} b1p")
        b2p = b.ew(ir.MUL, st[optim_key(n, "b2p")], b2, note=f"{n} b2p")
        p1 = b.ew(ir.SUB, pv, b.ew(ir.MUL, lrwd, pv, note=f"{n} lr*wd*p"), note=f"{n} p decayed")
        mt = b.ew(ir.ADD, b.ew(ir.MUL, b1, st[optim_key(n, "exp_avg")], note=f"{n} b1*m"),
                  b.ew(ir.MUL, omb1, gv, note=f"{n} (1-b1)*g"), note=f"{n} m")  # fmt: skip
        gg = b.ew(ir.MUL, gv, gv, note=f"{n} g*g")
        vt = b.ew(ir.ADD, b.ew(ir.MUL, b2, st[optim_key(n, "exp_avg_sq")], note=f"{n} b2*v"),
                  b.ew(ir.MUL, omb2, gg, note=f"{n} (1-b2)*g*g"), note=f"{n} v")  # fmt: skip
        mhat = b.ew(ir.DIV, mt, b.ew(ir.SUB, Const(ONE), b1p, note=f"{n} 1 - b1p"), note=f"{n} mhat")
        vhat = b.ew(ir.DIV, vt, b.ew(ir.SUB, Const(ONE), b2p, note=f"{n} 1 - b2p"), note=f"{n} vhat")
        den = b.ew(ir.ADD, b.ew(ir.SQRT, vhat, note=f"{n} sqrt vhat"), eps, note=f"{n} denom")
        upd = b.ew(ir.MUL, lr, b.ew(ir.DIV, mhat, den, note=f"{n} mhat/denom"), note=f"{n} lr*step")
        new[model_key(n)] = b.ew(ir.SUB, p1, upd, note=f"{n} p new")
        new |= {optim_key(n, k): v for k, v in zip(OPTIM_KEYS, (mt, vt, b1p, b2p), strict=True)}

    # COMMIT: NAMED leaves in name order, the tensors tree (merkle.build_levels), the header
    b.phase = "commit"
    level: list[View | bytes] = [b.emit(ir.NAMED, ir.NO_DTYPE, (), [ir.Operand(new[n].slot, 0, ())], n,
                                        attrs=ir.attrs_string(n)) for n in shapes]  # fmt: skip
    height = 0
    while len(level) > 1:
        if len(level) % 2:
            level.append(ZERO_HASHES[height])
        nxt: list[View | bytes] = []
        for j in range(0, len(level), 2):
            sides = level[j : j + 2]
            ops_ = [ir.Operand(ir.CONST, 0, ()) if isinstance(s, bytes) else ir.Operand(s.slot, 0, ()) for s in sides]
            consts = [s if isinstance(s, bytes) else ir.ZERO for s in sides]
            attrs = ir.attrs_node(*consts) if any(isinstance(s, bytes) for s in sides) else b""
            nxt.append(b.emit(ir.NODE, ir.NO_DTYPE, (), ops_, f"tensors tree h{height + 1} #{j // 2}", attrs=attrs))
        level, height = nxt, height + 1
    root = level[0]
    assert isinstance(root, View)
    hdr = [ir.Operand(s.slot, 0, ()) for s in (root, inputs, targets, mask)]
    b.emit(ir.HEADER, ir.NO_DTYPE, (), hdr, "checkpoint root", attrs=ir.attrs_uint256(len(shapes)))
    return tuple(b.ops)


def program_stats(program: Sequence[ir.Op]) -> dict[str, Counter]:
    """Op counts per phase (the first word of each note) and per opcode name, plus totals under "all"."""
    out: dict[str, Counter] = {}
    for op in program:
        phase = op.note.split(" ", 1)[0]
        for key in (phase, "all"):
            out.setdefault(key, Counter())[ir.NAMES[op.opcode]] += 1
    return out


# ---------------------------------------------------------------- the executor


def _const(bits: int, dtype: int) -> torch.Tensor:
    bits &= 0xFFFFFFFF
    t = torch.tensor([bits - (1 << 32) if bits >> 31 else bits], dtype=I32)
    return (t.view(F32) if dtype == ir.FLOAT32 else t).reshape(())


def _view(values: Sequence[Value], o: ir.Operand, shape: Sequence[int], *, k: int | None = None,
          dtype: int = ir.FLOAT32) -> torch.Tensor:  # fmt: skip
    """The operand as a strided torch view of its slot (a 0-d tensor for a CONST)."""
    if o.is_const:
        return _const(o.offset, dtype)
    base = values[o.slot]
    assert isinstance(base, torch.Tensor), f"operand slot {o.slot} holds a hash, not a tensor"
    full = tuple(shape) if k is None else (*shape, k)
    assert len(o.strides) == len(full), f"operand of slot {o.slot}: {len(o.strides)} strides for rank {len(full)}"
    flat = base.reshape(-1)
    return flat.as_strided(full, o.strides, flat.storage_offset() + o.offset)


def _coord(shape: Sequence[int], dim: int, extra: int = 0) -> torch.Tensor:
    """c[dim] as an int tensor broadcastable to shape (+ `extra` trailing size-1 dims)."""
    sh = [1] * (len(shape) + extra)
    sh[dim] = shape[dim]
    return torch.arange(shape[dim], dtype=I32).reshape(sh)


_UNARY = {ir.NEG: P.neg, ir.SQRT: P.sqrt, ir.EXP: P.exp, ir.LOG: P.log, ir.TANH: P.tanh}
_BINARY = {ir.ADD: P.add, ir.SUB: P.sub, ir.MUL: P.mul, ir.DIV: P.div, ir.MAX: P.maximum}


def _root(v: Value) -> bytes:
    return v if isinstance(v, bytes) else tensor_root(v)


def _execute(op: ir.Op, values: Sequence[Value], state: Mapping[str, torch.Tensor], batch: Batch, step: int,
             roots: dict[int, bytes]) -> Value:  # fmt: skip
    code, shape = op.opcode, op.shape

    def opnd(i: int, *, k: bool = False, dtype: int = ir.FLOAT32) -> torch.Tensor:
        return _view(values, op.operands[i], shape, k=op.k if k else None, dtype=dtype)

    def root(i: int) -> bytes:
        s = op.operands[i].slot
        if s not in roots:
            roots[s] = _root(values[s])
        return roots[s]

    if code in _UNARY:
        out = _UNARY[code](opnd(0))
    elif code in _BINARY:
        out = _BINARY[code](opnd(0), opnd(1))
    elif code == ir.WHERE:
        out = P.canon(torch.where(opnd(0, dtype=ir.INT32) != 0, opnd(1), opnd(2)))
    elif code == ir.SUM:
        out = P.asc_sum(opnd(0, k=True), -1)
    elif code == ir.DOT:
        out = P.asc_sum(torch.mul(opnd(0, k=True), opnd(1, k=True)), -1)  # one rounding per product, then ascending
    elif code == ir.MAXR:
        # SAFETY: max(-inf, x0) is x0 bit for bit (-0 and NaN included), so folding from x[0] equals the spec's -inf
        out = P.asc_max(opnd(0, k=True), -1)
    elif code == ir.SCATTER:
        (dim,) = abi_decode(["uint8"], op.attrs)
        hit = opnd(0, k=True, dtype=ir.INT32) == _coord(shape, dim, extra=1)
        # SAFETY: acc starts at +0 and so is never -0: adding +0 for a missed term is the same as skipping it
        out = P.asc_sum(torch.where(hit, opnd(1, k=True), _const(ZERO_F, ir.FLOAT32)), -1)
    elif code == ir.COPY:
        out = opnd(0, dtype=op.dtype).clone()
    elif code == ir.GATHER:
        (gstride,) = abi_decode(["int64"], op.attrs)
        x = op.operands[0]
        src = values[x.slot]
        assert isinstance(src, torch.Tensor)
        addr = torch.arange(src.numel(), dtype=torch.int64).as_strided(shape, x.strides, x.offset)
        addr = addr + opnd(1, dtype=ir.INT32).to(torch.int64) * gstride
        out = src.reshape(-1)[addr]
    elif code == ir.EQCOORD:
        (dim,) = abi_decode(["uint8"], op.attrs)
        hit = opnd(0, dtype=ir.INT32) == _coord(shape, dim)
        out = torch.where(hit, _const(ONE, ir.FLOAT32), _const(ZERO_F, ir.FLOAT32))
    elif code == ir.ARANGE:
        out = torch.arange(op.numel, dtype=I32).reshape(shape)
    elif code == ir.TRIL:
        out = (_coord(shape, 1) <= _coord(shape, 0)).to(I32)
    elif code == ir.CAT:
        dim, width = abi_decode(["uint8", "uint64"], op.attrs)
        parts = []
        for j, o in enumerate(op.operands):
            sh = list(shape)
            sh[dim] = width
            sub = ir.Operand(o.slot, o.offset + j * width * o.strides[dim], o.strides)
            parts.append(_view(values, sub, sh, dtype=op.dtype))
        out = torch.cat(parts, dim)
    elif code == ir.LOAD:
        (name,) = abi_decode(["string"], op.attrs)
        out = state[name].detach().to("cpu").clone()
        assert out.dtype == F32 and tuple(out.shape) == shape, f"LOAD {name}: {out.dtype} {tuple(out.shape)}"
    elif code == ir.BATCH:
        (which,) = abi_decode(["uint8"], op.attrs)
        out = batch[which].detach().to("cpu").clone()
        assert out.dtype == I32 and tuple(out.shape) == shape, f"BATCH {which}: {out.dtype} {tuple(out.shape)}"
    elif code == ir.NAMED:
        (name,) = abi_decode(["string"], op.attrs)
        return named_tensor_leaf(name, root(0))
    elif code == ir.NODE:
        consts = abi_decode(["bytes32", "bytes32"], op.attrs) if op.attrs else (ir.ZERO, ir.ZERO)
        sides = [consts[i] if o.is_const else root(i) for i, o in enumerate(op.operands)]
        return node_hash(sides[0], sides[1])
    elif code == ir.HEADER:
        (count,) = abi_decode(["uint256"], op.attrs)
        bh = ir.batch_leaf(root(1), root(2), root(3))
        return checkpoint_root_from(root(0), count, step, bh)
    else:
        raise AssertionError(f"unknown opcode {code}")
    return torch.broadcast_to(out, shape).contiguous().clone()


class Execution:
    """The program run op by op: the values so far (one per slot) and the roots of those read as hashes.

    `run_program` pushes what every op computes; verde/adversary.py pushes something else where a cheater would.
    """

    def __init__(self, state: Mapping[str, torch.Tensor], batch: Batch, *, step: int) -> None:
        self.state, self.batch, self.step = state, batch, step
        self.values: list[Value] = []
        self._roots: dict[int, bytes] = {}

    def compute(self, op: ir.Op) -> Value:
        """What `op` writes, from the values pushed so far."""
        return _execute(op, self.values, self.state, self.batch, self.step, self._roots)

    def push(self, value: Value) -> None:
        self.values.append(value)


def run_program(program: Sequence[ir.Op], state: Mapping[str, torch.Tensor], batch: Batch, *,
                step: int) -> list[Value]:  # fmt: skip
    """Execute the program on the state before step `step` and its batch; one value per slot.

    Parameters
    ----------
    program
        The ops (build_program).
    state
        Checkpoint name -> float32 tensor, the state before the step (what LOAD reads).
    batch
        (inputs, targets, mask) int32 of the step (what BATCH reads).
    step
        The step number the HEADER binds (the checkpoint of the state after the step).

    Returns
    -------
    list
        Tensors for tensor ops, LOAD and BATCH (the data their root describes); 32-byte hashes for NAMED, NODE
        and HEADER. The last value is the checkpoint root of the step.
    """
    run = Execution(state, batch, step=step)
    for op in program:
        run.push(run.compute(op))
    return run.values


def new_state_slots(program: Sequence[ir.Op]) -> dict[str, int]:
    """Checkpoint name -> the slot holding its tensor after the step (the NAMED ops' operands)."""
    out = {}
    for op in program:
        if op.opcode == ir.NAMED:
            out[abi_decode(["string"], op.attrs)[0]] = op.operands[0].slot
    return out


def load_slots(program: Sequence[ir.Op]) -> dict[str, int]:
    """Checkpoint name -> the LOAD slot of its tensor before the step."""
    return {abi_decode(["string"], op.attrs)[0]: i for i, op in enumerate(program) if op.opcode == ir.LOAD}


def state_after(program: Sequence[ir.Op], values: Sequence[Value]) -> State:
    """The state after the step: the tensors the NAMED leaves commit."""
    out = {}
    for n, s in new_state_slots(program).items():
        v = values[s]
        assert isinstance(v, torch.Tensor)
        out[n] = v.clone()
    return out
