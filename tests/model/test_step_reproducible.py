"""A whole RepOps training step (forward, loss, backward, AdamW) gives bit-identical weights across setups."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from offchain.model.train import step_root

# The root of two steps from seed 0 as the pure-torch kernels gave it before the compiled ones existed (8e1b7ab):
# the compiled kernels must not move a bit of it (Verde programs, commitment vectors and on-chain recipes rely on it).
GOLDEN_ROOT = "0xf73d75316f22962bef519bfbcd8087bb2653ec8bdb12d3eaa4b461383ed9bb95"

# Two training steps, then both matmul schedules at model sizes (per-k loop: 512x64x256; index_add_: 64x512x64).
# argv: threads, and whether every compiled loop splits over them whatever its size (the model's ops are small).
CODE = """
import hashlib, sys, torch
from offchain import native
from offchain.model.train import step_root
from offchain.repops import prims as P
if sys.argv[2] == "split":
    for k in filter(None, (native.kernels("prims"), native.kernels("fused"))):  # none where VERDE_NATIVE=0
        k.split_all(True)
print(step_root(steps=2, threads=int(sys.argv[1])))
g = torch.Generator().manual_seed(0)
for a, b in (((512, 64), (64, 256)), ((64, 512), (512, 64))):
    y = P.matmul(torch.randn(*a, generator=g), torch.randn(*b, generator=g))
    print(hashlib.sha256(y.numpy().tobytes()).hexdigest())
"""


def _root_in_process(threads: int, split: bool = False) -> str:
    args = [sys.executable, "-c", CODE, str(threads), "split" if split else "whole"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def test_train_step_one_two_four_threads_same_root() -> None:
    """Two steps in 1-, 2- and 4-thread processes (every compiled loop split) give the same, golden, root."""
    roots = {_root_in_process(1), _root_in_process(2, split=True), _root_in_process(4, split=True)}
    assert len(roots) == 1, roots  # each: step root and the two matmul hashes
    assert next(iter(roots)).split()[0] == GOLDEN_ROOT


def test_train_step_pure_torch_path_same_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-torch fallback (no compiled kernels) gives the golden root too."""
    from offchain.repops import prims

    monkeypatch.setattr(prims, "NATIVE", False)
    assert step_root(steps=2) == GOLDEN_ROOT


def test_train_step_noncontiguous_batch_same_root() -> None:
    """A transposed-then-transposed-back (non-contiguous) batch gives the same root as a contiguous one."""
    assert step_root(steps=1, noncontiguous=True) == step_root(steps=1)


def test_train_step_generic_device_path_same_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The device-generic loops (the schedule CUDA runs) give the same root as the CPU fast path."""
    from offchain.repops import prims

    fast = step_root(steps=1)
    monkeypatch.setattr(prims, "FORCE_GENERIC", True)
    assert step_root(steps=1) == fast


def test_train_step_different_seed_different_root() -> None:
    """The root commits to the run: another seed gives another root (the comparison is not vacuous)."""
    assert step_root(steps=1, seed=1) != step_root(steps=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_train_step_cpu_vs_cuda_same_root() -> None:
    """Two steps on CUDA give the same checkpoint root as on CPU."""
    assert step_root(steps=2, device="cuda") == step_root(steps=2, device="cpu")
