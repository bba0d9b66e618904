"""A whole RepOps training step (forward, loss, backward, AdamW) gives bit-identical weights across setups."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from offchain.model.train import step_root

# Two training steps, then both matmul schedules at model sizes (per-k loop: 512x64x256; index_add_: 64x512x64).
CODE = """
import hashlib, sys, torch
from offchain.model.train import step_root
from offchain.repops import prims as P
print(step_root(steps=2, threads=int(sys.argv[1])))
g = torch.Generator().manual_seed(0)
for a, b in (((512, 64), (64, 256)), ((64, 512), (512, 64))):
    y = P.matmul(torch.randn(*a, generator=g), torch.randn(*b, generator=g))
    print(hashlib.sha256(y.numpy().tobytes()).hexdigest())
"""


def _root_in_process(threads: int) -> str:
    out = subprocess.run([sys.executable, "-c", CODE, str(threads)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_train_step_one_vs_two_threads_same_root() -> None:
    """Two steps in a 1-thread process and in a 2-thread process give the same checkpoint root."""
    roots = {_root_in_process(1), _root_in_process(2)}  # each: step root and the two matmul hashes
    assert len(roots) == 1, roots
    assert next(iter(roots)).startswith("0x")


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
