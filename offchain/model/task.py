"""The task: d-digit + d-digit addition written as text, answer digits reversed, e.g. "12+34=640".

Vocabulary: digits 0-9, '+' (10), '=' (11). A sample is a(d) '+' b(d) '=' reversed(a+b, d+1 digits);
the model reads tokens[:-1], predicts tokens[1:], and the loss counts only the d+1 answer tokens.
The held-out set is a fixed Philox-chosen subset of all pairs, never trained on.
Accuracy = exact match of greedy decoding of all answer digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from offchain.repops import rng

PLUS, EQUALS, VOCAB = 10, 11, 12


@dataclass(frozen=True)
class AdditionTask:
    """d-digit addition as text with a fixed Philox train/test split (see the module docstring)."""

    digits: int = 2  # digits per operand
    seed: int = 0  # Philox seed for the train/test split and batch sampling
    test_size: int = 500  # held-out pairs

    @property
    def seq_len(self) -> int:
        """Tokens per sample: 2d operands, '+', '=', d+1 answer digits."""
        return 2 * self.digits + 2 + self.digits + 1

    def _split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(train pair ids, held-out pair ids): a Philox permutation of all pairs, the first `test` held out."""
        n = (10**self.digits) ** 2
        keys = rng.philox_words(seed=self.seed, stream=1, offset=0, n=n)
        order = torch.argsort(keys * n + torch.arange(n), stable=True)  # a Philox permutation of all pairs
        test = min(self.test_size, n // 5)
        return order[test:], order[:test]

    def encode(self, pairs: torch.Tensor) -> torch.Tensor:
        """Pair ids (a * 10^d + b) -> token rows (N, seq_len) int64."""
        base = 10**self.digits
        a, b = pairs // base, pairs % base
        s = a + b
        cols = []
        for i in reversed(range(self.digits)):
            cols.append((a // 10**i) % 10)
        cols.append(torch.full_like(a, PLUS))
        for i in reversed(range(self.digits)):
            cols.append((b // 10**i) % 10)
        cols.append(torch.full_like(a, EQUALS))
        for i in range(self.digits + 1):
            cols.append((s // 10**i) % 10)
        return torch.stack(cols, dim=1)  # (N, L)

    def batch(self, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training batch of `step`: (inputs (B, L-1), targets (B, L-1), loss mask (B, L-1) bool)."""
        train, _ = self._split()
        pick = rng.randint(seed=self.seed, stream=2, offset=step * batch_size, n=batch_size, high=len(train))
        return self.tensors(train[pick])

    def tensors(self, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs (N, L-1), next-token targets (N, L-1), answer mask (N, L-1) bool) for pair ids."""
        tok = self.encode(pairs)
        x, y = tok[:, :-1].contiguous(), tok[:, 1:].contiguous()
        mask = torch.zeros_like(y, dtype=torch.bool)
        mask[:, -(self.digits + 1) :] = True
        return x, y, mask

    def test_pairs(self) -> torch.Tensor:
        """The held-out pair ids (never in a training batch)."""
        return self._split()[1]

    @torch.no_grad()
    def accuracy(self, model: torch.nn.Module, pairs: torch.Tensor | None = None) -> float:
        """Exact-match accuracy of greedy decoding on `pairs` (default: the held-out set)."""
        pairs = self.test_pairs() if pairs is None else pairs
        tok = self.encode(pairs)
        prompt = 2 * self.digits + 2
        seq = tok[:, :prompt]
        for _ in range(self.digits + 1):
            logits = model(seq)  # (N, T, V)
            nxt = torch.argmax(logits[:, -1, :], dim=-1)  # ties: first index (exact compare)
            seq = torch.cat([seq, nxt[:, None]], dim=1)
        return float((seq[:, prompt:] == tok[:, prompt:]).all(dim=1).float().mean())
