"""Decoder-only transformer (nanoGPT layout, pre-LN, GELU-tanh MLP, no dropout, untied head) twice:
RepOpsGPT computes only with offchain.repops ops; NativeGPT is the same parameters with standard torch ops.

Both take the same state dict, initialised from the Philox stream (seed, stream 3):
weights uniform in [-a, a) with a = 0.02 * sqrt(3) (std 0.02), output projections scaled by
1/sqrt(2 * n_layer), biases 0, layer-norm weights 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import offchain.repops.functional as R
from offchain.repops import rng

F32 = torch.float32


@dataclass(frozen=True)
class GPTConfig:
    vocab: int = 12  # digits 0-9, '+', '='
    context: int = 16  # maximum sequence length (positions)
    n_layer: int = 2  # transformer blocks
    n_head: int = 4  # attention heads
    width: int = 64  # residual width C; head size C / n_head
    eps: float = 1e-5  # layer-norm epsilon, inside the sqrt


def param_shapes(cfg: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in the fixed order the init stream fills them."""
    c = cfg.width
    shapes: dict[str, tuple[int, ...]] = {"tok_emb": (cfg.vocab, c), "pos_emb": (cfg.context, c)}
    for i in range(cfg.n_layer):
        shapes |= {
            f"h{i}_ln1_w": (c,), f"h{i}_ln1_b": (c,),
            f"h{i}_qkv_w": (3 * c, c), f"h{i}_qkv_b": (3 * c,),
            f"h{i}_proj_w": (c, c), f"h{i}_proj_b": (c,),
            f"h{i}_ln2_w": (c,), f"h{i}_ln2_b": (c,),
            f"h{i}_fc_w": (4 * c, c), f"h{i}_fc_b": (4 * c,),
            f"h{i}_out_w": (c, 4 * c), f"h{i}_out_b": (c,),
        }  # fmt: skip
    shapes |= {"lnf_w": (c,), "lnf_b": (c,), "head_w": (cfg.vocab, c)}
    return shapes


def init_params(cfg: GPTConfig, *, seed: int) -> dict[str, torch.Tensor]:
    """Deterministic float32 init from Philox (seed, stream 3), filled in `param_shapes` order."""
    out: dict[str, torch.Tensor] = {}
    offset = 0
    a = torch.tensor(0.02 * math.sqrt(3.0), dtype=F32)
    proj_scale = torch.tensor(1.0 / math.sqrt(2 * cfg.n_layer), dtype=F32)
    for name, shape in param_shapes(cfg).items():
        n = math.prod(shape)
        if name.endswith("_b"):
            out[name] = torch.zeros(shape, dtype=F32)
        elif "_ln" in name or name.startswith("lnf"):
            out[name] = torch.ones(shape, dtype=F32)
        else:
            u = rng.uniform(seed=seed, stream=3, offset=offset, n=n).reshape(shape)
            w = (u * 2.0 - 1.0) * a  # exact shift, one rounding in the scale
            out[name] = w * proj_scale if name.endswith(("proj_w", "out_w")) else w
            offset += n
    return out


class _GPTBase(torch.nn.Module):
    """Parameters shared by both twins: one flat nn.Parameter per `param_shapes` entry, Philox init."""

    def __init__(self, cfg: GPTConfig, *, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        for name, value in init_params(cfg, seed=seed).items():
            self.register_parameter(name, torch.nn.Parameter(value))

    def p(self, name: str) -> torch.Tensor:
        """The parameter called `name`."""
        return getattr(self, name)


class RepOpsGPT(_GPTBase):
    """The transformer computed only with RepOps ops (bitwise reproducible).

    `forward` is `head(block(n-1, ... block(0, embed(idx))))`; the three parts are public so that a pipeline
    (offchain/skippipe) can run the blocks of one stage on one machine, in any order, with the same bits."""

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx)
        for i in range(self.cfg.n_layer):
            x = self.block(i, x)
        return self.head(x)

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """Token plus position embeddings, (B, T) -> (B, T, C)."""
        p = self.p
        pos = R.embedding(torch.arange(idx.shape[1], device=idx.device), p("pos_emb"))  # (T, C)
        return R.add(R.embedding(idx, p("tok_emb")), pos)  # (B, T, C)

    def block(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Transformer block i (pre-LN attention then MLP, each residual), (B, T, C) -> (B, T, C)."""
        cfg, p = self.cfg, self.p
        b, t, _ = x.shape
        hs = cfg.width // cfg.n_head
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()  # (T, T)
        scale = torch.tensor(1.0 / math.sqrt(hs), dtype=F32, device=x.device)
        neg_inf = torch.tensor(float("-inf"), dtype=F32, device=x.device)
        h = R.layer_norm(x, p(f"h{i}_ln1_w"), p(f"h{i}_ln1_b"), eps=cfg.eps)
        qkv = R.linear(h, p(f"h{i}_qkv_w"), p(f"h{i}_qkv_b"))  # (B, T, 3C)
        q, k, v = (z.reshape(b, t, cfg.n_head, hs).transpose(1, 2) for z in qkv.split(cfg.width, dim=2))
        att = R.mul(R.matmul(q, k.transpose(-2, -1)), scale)  # (B, H, T, T)
        att = R.softmax(_masked(att, causal, neg_inf))
        y = R.matmul(att, v).transpose(1, 2).reshape(b, t, cfg.width)  # (B, T, C)
        x = R.add(x, R.linear(y, p(f"h{i}_proj_w"), p(f"h{i}_proj_b")))
        h = R.layer_norm(x, p(f"h{i}_ln2_w"), p(f"h{i}_ln2_b"), eps=cfg.eps)
        h = R.gelu(R.linear(h, p(f"h{i}_fc_w"), p(f"h{i}_fc_b")))  # (B, T, 4C)
        return R.add(x, R.linear(h, p(f"h{i}_out_w"), p(f"h{i}_out_b")))

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Final layer norm and the untied output projection, (B, T, C) -> (B, T, V) logits."""
        p = self.p
        x = R.layer_norm(x, p("lnf_w"), p("lnf_b"), eps=self.cfg.eps)
        return R.linear(x, p("head_w"))  # (B, T, V)

    def loss(self, idx: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked mean cross-entropy of next-token prediction (RepOps cross_entropy)."""
        logits = self(idx)  # (B, T, V)
        v = logits.shape[-1]
        return R.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), mask.reshape(-1))


class _Masked(torch.autograd.Function):
    """select(mask, x, -inf); gradient g where mask else +0 (pure selects, exact)."""

    @staticmethod
    def forward(ctx, x, mask, fill):
        ctx.save_for_backward(mask)
        return torch.where(mask, x, fill)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return torch.where(mask, g, torch.zeros_like(g)), None, None


def _masked(x: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """select(mask, x, fill) with the exact select gradient."""
    return _Masked.apply(x, mask, fill)


class NativeGPT(_GPTBase):
    """The same model and parameters with standard torch ops (fast, not reproducible across setups)."""

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        cfg, p = self.cfg, self.p
        b, t = idx.shape
        hs = cfg.width // cfg.n_head
        x = F.embedding(idx, p("tok_emb")) + p("pos_emb")[:t]  # (B, T, C)
        for i in range(cfg.n_layer):
            h = F.layer_norm(x, (cfg.width,), p(f"h{i}_ln1_w"), p(f"h{i}_ln1_b"), cfg.eps)
            qkv = F.linear(h, p(f"h{i}_qkv_w"), p(f"h{i}_qkv_b"))  # (B, T, 3C)
            q, k, v = (z.reshape(b, t, cfg.n_head, hs).transpose(1, 2) for z in qkv.split(cfg.width, dim=2))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, H, T, T)
            causal = torch.ones(t, t, dtype=torch.bool, device=idx.device).tril()
            att = att.masked_fill(~causal, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, cfg.width)
            x = x + F.linear(y, p(f"h{i}_proj_w"), p(f"h{i}_proj_b"))
            h = F.layer_norm(x, (cfg.width,), p(f"h{i}_ln2_w"), p(f"h{i}_ln2_b"), cfg.eps)
            x = x + F.linear(F.gelu(F.linear(h, p(f"h{i}_fc_w"), p(f"h{i}_fc_b")), approximate="tanh"),
                             p(f"h{i}_out_w"), p(f"h{i}_out_b"))  # fmt: skip
        x = F.layer_norm(x, (cfg.width,), p("lnf_w"), p("lnf_b"), cfg.eps)
        return F.linear(x, p("head_w"))  # (B, T, V)

    def loss(self, idx: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked mean cross-entropy with torch ops."""
        logits = self(idx)  # (B, T, V)
        flat = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
        return (flat * mask.reshape(-1)).sum() / mask.sum()
