"""Print the checkpoint root of two RepOps training steps on CPU and on CUDA (they must be equal).

    .venv/bin/python -m offchain.model.cuda_check

Says plainly when no CUDA device is present (then only the CPU root is printed) and exits 0;
exits 1 when both ran and the roots differ.
"""

from __future__ import annotations

import sys

import torch

from offchain.model.train import step_root


def main() -> int:
    cpu = step_root(steps=2, device="cpu")
    print(f"cpu  root: {cpu}")
    if not torch.cuda.is_available():
        print("cuda root: CUDA is not available on this machine; nothing to compare")
        return 0
    cuda = step_root(steps=2, device="cuda")
    print(f"cuda root: {cuda}  ({torch.cuda.get_device_name()})")
    same = cpu == cuda
    print("MATCH" if same else "MISMATCH")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
