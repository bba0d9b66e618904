"""Speed of committing a training checkpoint (weights, AdamW state, RNG state) with offchain.commit.

    make bench-commit        # or: .venv/bin/python benchmarks/bench_commit.py [--repeat 3] [--sizes small,1m,10m]

For decoder-only transformers of about 0.1M, 1M and 10M parameters (width 64/128/320, vocab 32), it builds
the model, takes one AdamW step so `exp_avg`/`exp_avg_sq`/`step` exist, and times, in the same run:

* `root`: `checkpoint_root(training_state(model, opt), ...)`, the checkpoint root a solver posts;
* `commit`: `commit_checkpoint(...)`, the same root while keeping every tree for later proofs;
* `keccak-raw`: keccak256 over the raw bytes of the same tensors in one pysha3 stream, no tree (the baseline of
  the ratio);
* `save+sha256`: `torch.save` to memory, then SHA-256 of the file;
* `root 1thread`: `root` with the compiled keccak (offchain/native/keccak.cpp) held to one thread;
* `root Nproc` (only where the compiled keccak is not built, as with VERDE_NATIVE=0): `checkpoint_root(...,
  executor=ProcessPoolExecutor(N))`, the pure path's leaf hashing spread over N processes (`--workers`, default
  the CPU count; the compiled path does not use the executor).

Torch runs on one thread; the compiled keccak uses `offchain.commit.merkle.THREADS` threads (by default every CPU
the process may run on). Each time is the best of `--repeat` runs. The tree costs two keccak-f[1600]
permutations per 32 bytes (a leaf and, on average, one inner node); the raw baseline is one per 136 bytes. Last
line (the largest model), with ratio = root seconds / keccak-raw seconds (below 1: faster than the baseline):
`commit: params=<n> seconds=<x> mb_per_s=<y> ratio=<tree/baseline>`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.commit import (  # noqa: E402
    KECCAK_BACKEND,
    checkpoint_root,
    commit_checkpoint,
    merkle,  # noqa: E402
    training_state,
)
from offchain.commit.format import _keccak_256  # noqa: E402


@dataclass(frozen=True)
class ModelConfig:
    """A GPT-style decoder-only transformer's sizes."""

    name: str  # label in the table
    width: int  # model dimension d
    layers: int  # transformer blocks
    vocab: int = 32  # tokens (digits, operators, padding)
    context: int = 128  # positions


CONFIGS = {
    "small": ModelConfig("small", width=64, layers=2, context=64),
    "1m": ModelConfig("1m", width=128, layers=5),
    "10m": ModelConfig("10m", width=320, layers=8),
}


class Block(nn.Module):
    """Pre-norm attention + MLP block's parameters (the forward pass is not needed to commit)."""

    def __init__(self, d: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)


class TinyGPT(nn.Module):
    """Token and position embeddings, blocks, final norm, untied head."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab, cfg.width)
        self.pos = nn.Embedding(cfg.context, cfg.width)
        self.blocks = nn.ModuleList(Block(cfg.width) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.vocab, bias=False)


def build_state(cfg: ModelConfig) -> tuple[int, dict[str, torch.Tensor]]:
    """Parameter count and the named checkpoint tensors after one AdamW step."""
    torch.manual_seed(0)
    model = TinyGPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.randn_like(p)  # stands in for a backward pass: only the state's shapes matter
    opt.step()
    return sum(p.numel() for p in model.parameters()), training_state(model, opt)


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The fastest of `repeat` wall-clock timings of `fn()`, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def keccak_raw(state: dict[str, torch.Tensor]) -> bytes:
    """Baseline: keccak256 over every tensor's raw bytes, in name order, no tree."""
    h = _keccak_256()
    for name in sorted(state):
        h.update(state[name].detach().contiguous().numpy().tobytes())
    return h.digest()


def save_sha256(state: dict[str, torch.Tensor]) -> bytes:
    """Second baseline: torch.save to memory, then SHA-256 of the bytes."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return hashlib.sha256(buf.getvalue()).digest()


def one_thread_root(state: dict[str, torch.Tensor], batch_hash: bytes) -> bytes:
    """checkpoint_root with the compiled keccak on one thread."""
    saved, merkle.THREADS = merkle.THREADS, 1
    try:
        return checkpoint_root(state, step=1, batch_hash=batch_hash)
    finally:
        merkle.THREADS = saved


def measure(state: dict[str, torch.Tensor], *, repeat: int, pool: ProcessPoolExecutor | None) -> dict[str, float]:
    """Best-of-`repeat` seconds of each way of hashing `state`."""
    batch_hash = bytes(32)
    timings = {
        "keccak-raw": best_of(repeat, lambda: keccak_raw(state)),
        "save+sha256": best_of(repeat, lambda: save_sha256(state)),
        "root": best_of(repeat, lambda: checkpoint_root(state, step=1, batch_hash=batch_hash)),
        "commit": best_of(repeat, lambda: commit_checkpoint(state, step=1, batch_hash=batch_hash)),
    }
    if merkle._kernels() is not None:
        assert one_thread_root(state, batch_hash) == checkpoint_root(state, step=1, batch_hash=batch_hash)
        timings["root 1thread"] = best_of(repeat, lambda: one_thread_root(state, batch_hash))
    elif pool is not None:
        serial = checkpoint_root(state, step=1, batch_hash=batch_hash)
        assert checkpoint_root(state, step=1, batch_hash=batch_hash, executor=pool) == serial, "pool root differs"
        timings[f"root {pool._max_workers}proc"] = best_of(
            repeat, lambda: checkpoint_root(state, step=1, batch_hash=batch_hash, executor=pool)
        )
    return timings


def backend() -> str:
    """Which keccak builds the trees, for the header line."""
    kernels = merkle._kernels()
    if kernels is None:
        return f"{KECCAK_BACKEND} (compiled keccak off or not built)"
    return f"compiled, {kernels.backends()[0]} lanes, {merkle._threads()} threads"


def main() -> int:
    parser = argparse.ArgumentParser(description="checkpoint commit speed")
    parser.add_argument("--repeat", type=int, default=3, help="timings per measurement; the best is kept")
    parser.add_argument("--sizes", default="small,1m,10m", help=f"comma-separated, from {sorted(CONFIGS)}")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the pool row")
    args = parser.parse_args()
    torch.set_num_threads(1)

    print(f"tree keccak: {backend()}; torch {torch.__version__}, one thread; best of {args.repeat}")
    header = f"{'model':>6} {'params':>10} {'tensors':>7} {'MB':>7} {'leaves':>9} {'what':>12} {'s':>8} {'MB/s':>8}"
    print(header + f" {'leaves/s':>10} {'x raw':>6}")
    last = ""
    pool = None
    if args.workers > 1 and merkle._kernels() is None:
        pool = ProcessPoolExecutor(max_workers=args.workers, mp_context=mp.get_context("fork"))
    try:
        for size in args.sizes.split(","):
            cfg = CONFIGS[size]
            params, state = build_state(cfg)
            nbytes = sum(t.numel() * t.element_size() for t in state.values())  # raw bytes, as the baseline hashes
            leaves = sum(-(-t.numel() // 8) for t in state.values())
            mb = nbytes / 1e6
            timings = measure(state, repeat=args.repeat, pool=pool)
            base = timings["keccak-raw"]
            for what, s in timings.items():
                print(
                    f"{cfg.name:>6} {params:>10,} {len(state):>7} {mb:>7.2f} {leaves:>9,} {what:>12} {s:>8.3f}"
                    f" {mb / s:>8.1f} {leaves / s:>10,.0f} {s / base:>6.1f}"
                )
            s = timings["root"]
            last = f"commit: params={params} seconds={s:.3f} mb_per_s={mb / s:.1f} ratio={s / base:.1f}"
    finally:
        if pool is not None:
            pool.shutdown()
    print(last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
