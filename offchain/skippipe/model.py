"""The decoder-only transformer of offchain/model (RepOpsGPT) cut into pipeline stages.

Stage s holds blocks s*L .. s*L+L-1 (L layers per stage); stage 0 also holds the embeddings, the final layer norm and
the head, since every path starts and ends there (the loss is computed where the tokens are). A path visits stage 0's
blocks first and then any other stages' blocks in its own order; a skipped stage is the identity, as the residual
stream passes it by (SkipPipe's layer skipping).

    model = RepOpsGPT(gpt_config(shape, vocab), seed=0)        # every node inits the whole model, keeps its stage
    st = Stage(model, stage=2, layers=1)
    h = st.blocks(x)                                            # (B, T, C) -> (B, T, C)
    perplexity(model, corpus, layers=1, stages=[0, 1, 3])       # held out, stage 2 dropped
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import torch

import offchain.repops.functional as R
from offchain.model.gpt import GPTConfig, RepOpsGPT, param_shapes
from offchain.skippipe.corpus import Corpus


@dataclass(frozen=True)
class Shape:
    stages: int = 4
    layers: int = 1  # transformer blocks per stage
    width: int = 64
    n_head: int = 4
    context: int = 64


def gpt_config(shape: Shape, vocab: int) -> GPTConfig:
    return GPTConfig(vocab=vocab, context=shape.context, n_layer=shape.stages * shape.layers, n_head=shape.n_head,
                     width=shape.width)  # fmt: skip


def stage_names(cfg: GPTConfig, stage: int, layers: int) -> list[str]:
    """The parameters stage `stage` holds, in `param_shapes` order."""
    blocks = {f"h{i}_" for i in range(stage * layers, (stage + 1) * layers)}
    ends = {"tok_emb", "pos_emb", "lnf_w", "lnf_b", "head_w"} if stage == 0 else set()
    return [n for n in param_shapes(cfg) if n in ends or n[: n.index("_") + 1] in blocks]


class Stage(torch.nn.Module):
    """One stage's parameters (the same Parameter objects as `model`'s) and its three computations."""

    def __init__(self, model: RepOpsGPT, stage: int, layers: int) -> None:
        super().__init__()
        self.model, self.stage, self.layers = [model], stage, layers  # a list: not a submodule, not in state_dict
        for name in stage_names(model.cfg, stage, layers):
            self.register_parameter(name, model.p(name))

    def blocks(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model[0]
        for i in range(self.stage * self.layers, (self.stage + 1) * self.layers):
            x = m.block(i, x)
        return x

    def first(self, idx: torch.Tensor) -> torch.Tensor:
        """Stage 0's forward at the start of a path: embeddings, then its blocks."""
        return self.blocks(self.model[0].embed(idx))

    def loss(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Stage 0 at the end of a path: head and mean next-token cross-entropy over every position."""
        logits = self.model[0].head(x)
        v = logits.shape[-1]
        mask = torch.ones(targets.numel(), dtype=torch.bool)
        return R.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), mask)


@torch.no_grad()
def perplexity(model: RepOpsGPT, corpus: Corpus, *, layers: int, stages: Sequence[int], limit: int | None = None,
               batch: int = 64) -> float:  # fmt: skip
    """exp(mean cross-entropy per character) over the held-out windows, through `stages` in the order given
    (stage 0 first; the others' blocks are left out)."""
    if not stages or stages[0] != 0:
        raise ValueError(f"a path starts at stage 0 (embeddings and head), got {list(stages)}")
    x, y = corpus.held_out(context=model.cfg.context, limit=limit)
    total, count = 0.0, 0
    for i in range(0, len(x), batch):
        h = model.embed(x[i : i + batch])
        for s in stages:
            for j in range(s * layers, (s + 1) * layers):
                h = model.block(j, h)
        logits = model.head(h)
        logp = torch.log_softmax(logits.double(), dim=-1)  # the metric, not a training step: float64 is fine here
        total -= logp.gather(-1, y[i : i + batch, :, None]).sum().item()
        count += y[i : i + batch].numel()
    return math.exp(total / count)


def dropped_perplexity(model: RepOpsGPT, corpus: Corpus, *, layers: int, stages: int, drop: int,
                       limit: int | None = None) -> float:  # fmt: skip
    """Mean held-out perplexity over every way of leaving out `drop` of stages 1..S-1 (stage 0 always runs)."""
    if not 0 <= drop <= stages - 1:
        raise ValueError(f"can drop 0 to {stages - 1} of {stages} stages, not {drop}")
    ways = list(combinations(range(1, stages), drop))
    vals = [perplexity(model, corpus, layers=layers, stages=[s for s in range(stages) if s not in w], limit=limit)
            for w in ways]  # fmt: skip
    return sum(vals) / len(vals)
