"""Counter-based RNG: Philox-4x32-10 (Salmon et al., SC'11, Random123) in integer tensor ops.

A draw depends only on (seed, counter): block i of stream (seed, stream) is
Philox4x32-10(key = (seed lo32, seed hi32), counter = (i lo32, i hi32, stream lo32, stream hi32)),
so no thread count, device or call order changes it. 32-bit words are held in int64 tensors and
multiplied as 16-bit halves, so torch and numpy give the same words on any backend.

    from offchain.repops.rng import philox_words, uniform
    u = uniform(seed=7, stream=1, offset=0, n=1000)     # float32 in [0, 1): (w >> 8) * 2^-24, exact

Known answers (Random123 kat_vectors) are checked in tests/repops/test_rng.py.
"""

from __future__ import annotations

import torch

M32 = 0xFFFFFFFF
PHILOX_M0 = 0xD2511F53  # round multipliers
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9  # key schedule increments (golden ratio, sqrt(3)-1)
PHILOX_W1 = 0xBB67AE85
ROUNDS = 10


def _mulhilo(a: torch.Tensor, b: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(hi, lo) 32-bit words of the 64-bit product of uint32 `a` (int64 tensor) and the constant `b`."""
    al, ah = a & 0xFFFF, a >> 16
    bl, bh = b & 0xFFFF, b >> 16
    p0, p1, p2, p3 = al * bl, ah * bl, al * bh, ah * bh
    mid = p1 + p2 + (p0 >> 16)  # < 2^34: fits int64
    lo = ((mid & 0xFFFF) << 16) | (p0 & 0xFFFF)
    hi = p3 + (mid >> 16)
    return hi & M32, lo & M32


def philox4x32(ctr: tuple[torch.Tensor, ...], key: tuple[int, int]) -> tuple[torch.Tensor, ...]:
    """Philox-4x32-10 on counters (four int64 tensors of uint32 words) under a 64-bit key."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(ROUNDS):
        if r:
            k0, k1 = (k0 + PHILOX_W0) & M32, (k1 + PHILOX_W1) & M32
        hi0, lo0 = _mulhilo(c0, PHILOX_M0)
        hi1, lo1 = _mulhilo(c2, PHILOX_M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def philox_words(*, seed: int, stream: int, offset: int, n: int, device: str | torch.device = "cpu") -> torch.Tensor:
    """n uint32 words (int64 tensor) of stream (seed, stream) from word `offset` on: 4 words per counter block."""
    first, last = offset // 4, (offset + n + 3) // 4
    i = torch.arange(first, last, dtype=torch.int64, device=device)  # block counters
    zero = torch.zeros_like(i)
    ctr = (i & M32, (i >> 32) & M32, zero + (stream & M32), zero + ((stream >> 32) & M32))
    words = torch.stack(philox4x32(ctr, (seed & M32, (seed >> 32) & M32)), dim=1).reshape(-1)  # (4 * blocks,)
    start = offset - first * 4
    return words[start : start + n]


def uniform(*, seed: int, stream: int, offset: int, n: int, device: str | torch.device = "cpu") -> torch.Tensor:
    """n float32 in [0, 1): the top 24 bits of each word times 2^-24 (exact)."""
    w = philox_words(seed=seed, stream=stream, offset=offset, n=n, device=device)
    return (w >> 8).to(torch.float32) * torch.tensor(2.0**-24, dtype=torch.float32, device=device)


def randint(
    *, seed: int, stream: int, offset: int, n: int, high: int, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """n int64 in [0, high) as word mod high (a bias below high / 2^32, irrelevant here)."""
    return philox_words(seed=seed, stream=stream, offset=offset, n=n, device=device) % high
