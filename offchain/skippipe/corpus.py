"""The text SkipPipe's runner trains on: Bierce's Devil's Dictionary (public domain, data/README.md), characters
as tokens, the last tenth held out.

    text = Corpus.load()
    x, y = text.batch(seed=0, iteration=3, microbatch=1, size=8, context=64)   # (8, 64) token ids, y = x shifted
    xs, ys = text.held_out(context=64)                                         # every full window of the held-out part

Batches are a pure function of (seed, iteration, microbatch): window starts come from the Philox stream
(offchain.repops.rng, stream 5), so every node of a pipeline, and anyone replaying a checkpoint, draws the same.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from offchain.repops import rng

DEFAULT_TEXT = Path(__file__).parent / "data" / "devils-dictionary.txt"
HELD_OUT = 0.1  # the last tenth of the text, by characters
BATCH_STREAM = 5  # Philox stream of batch window starts (the model's init uses stream 3)


@dataclass(frozen=True)
class Corpus:
    vocab: str  # every character of the text, sorted; token i is vocab[i]
    train: torch.Tensor  # int64 token ids of the first 90%
    held: torch.Tensor  # int64 token ids of the last 10%

    @classmethod
    def load(cls, path: str | Path = DEFAULT_TEXT) -> Corpus:
        # Runs of spaces (the verse's and the title page's indentation) become one: a model that spends its
        # capacity on counting columns learns little of the language.
        text = re.sub(r"(?m)^ +| +$", "", re.sub(r" {2,}", " ", Path(path).read_text(encoding="ascii")))
        vocab = "".join(sorted(set(text)))
        table = torch.zeros(128, dtype=torch.int64)
        table[torch.tensor([ord(c) for c in vocab])] = torch.arange(len(vocab))
        tokens = table[torch.frombuffer(bytearray(text.encode("ascii")), dtype=torch.uint8).long()]
        cut = len(tokens) - math.ceil(len(tokens) * HELD_OUT)
        return cls(vocab=vocab, train=tokens[:cut], held=tokens[cut:])

    def decode(self, ids: torch.Tensor) -> str:
        return "".join(self.vocab[i] for i in ids.tolist())

    def batch(self, *, seed: int, iteration: int, microbatch: int, size: int,
              context: int) -> tuple[torch.Tensor, ...]:  # fmt: skip
        """`size` training windows of `context` tokens and their next-token targets, drawn from Philox at
        offset (iteration, microbatch): a window may start anywhere a full window fits."""
        span = len(self.train) - context
        if span < 1:
            raise ValueError(f"context {context} does not fit the {len(self.train)} training tokens")
        offset = (iteration * 1_000_003 + microbatch) * size  # disjoint per (iteration, microbatch) for size <= 1e6
        u = rng.uniform(seed=seed, stream=BATCH_STREAM, offset=offset, n=size)
        starts = (u.double() * span).long().clamp_(max=span - 1)
        idx = starts[:, None] + torch.arange(context + 1)
        w = self.train[idx]
        return w[:, :-1].contiguous(), w[:, 1:].contiguous()

    def held_out(self, *, context: int, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Non-overlapping held-out windows (the first `limit` of them if given) and their targets."""
        n = (len(self.held) - 1) // context
        if limit is not None:
            n = min(n, limit)
        if n < 1:
            raise ValueError(f"context {context} does not fit the {len(self.held)} held-out tokens")
        x = self.held[: n * context].reshape(n, context)
        y = self.held[1 : n * context + 1].reshape(n, context)
        return x, y
