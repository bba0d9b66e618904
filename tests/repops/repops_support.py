"""Helpers for the RepOps tests: edge values, mixed random inputs, bit-for-bit comparison."""

from __future__ import annotations

import numpy as np
import torch

EDGE_BITS = [
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
    0x7F800000, 0xFF800000, 0x7FC00000, 0x3F800000, 0xBF800000, 0x42B17218, 0xC2CE8ED0, 0x33800000,
]  # fmt: skip


def edge_values() -> np.ndarray:
    """±0, subnormals, largest finite, ±inf, NaN, ±1, exp's overflow/underflow edges, 2^-24."""
    return np.array(EDGE_BITS, dtype=np.uint32).view(np.float32)


def mixed(rng: np.random.Generator, shape: tuple[int, ...], *, scale: float = 3.0, edges: bool = True) -> np.ndarray:
    """Random float32: normals times 2^(uniform exponent), with edge values sprinkled in."""
    x = rng.standard_normal(shape).astype(np.float32) * np.exp2(rng.integers(-6, 6, shape)).astype(np.float32)
    x = (x * np.float32(scale)).astype(np.float32)
    if edges:
        flat = x.reshape(-1)
        ev = edge_values()
        pos = rng.choice(flat.size, size=min(flat.size // 4, len(ev)), replace=False)
        flat[pos] = rng.choice(ev, size=len(pos))
    return x


def assert_bits_equal(fast: torch.Tensor, ref: np.ndarray) -> None:
    """Fast torch result and reference array agree bit for bit (shape and every float32 pattern)."""
    a = fast.detach().contiguous().numpy().view(np.uint32)
    b = np.array(ref, dtype=np.float32, order="C").view(np.uint32)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    bad = np.nonzero(a.reshape(-1) != b.reshape(-1))[0]
    first = bad[0] if bad.size else 0
    got, want = a.reshape(-1)[first], b.reshape(-1)[first]
    assert bad.size == 0, f"{bad.size} mismatches, first at {first}: {got:#010x} != {want:#010x}"


