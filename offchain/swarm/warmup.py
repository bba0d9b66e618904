"""Supervised warm-up checkpoint for the swarm's RL: train the addition GPT until it is middling, then stop.

    .venv/bin/python -m offchain.swarm.warmup --out out/swarm/warmup.pt            # 2-digit, ~5 s on one core
    .venv/bin/python -m offchain.swarm.warmup --out ckpt.pt --digits 3 --target 0.5 --steps 6000

The loop is offchain.model.train's (Philox init and batches, masked cross-entropy, AdamW) on the NativeGPT
twin: the checkpoint is a file every node starts from, not a step anyone re-runs, so it need not be RepOps
(RL itself trains RepOpsGPT, offchain/swarm/rl.py; the state dict loads into either twin). It stops at the
first evaluation where greedy accuracy on a fixed probe of TRAIN pairs reaches `--target` (or after
`--steps`), so RL starts with room to improve: 2-digit addition goes from ~0% to ~100% between steps 500 and
1100, hence the early stop rather than a step count. The held-out set is only measured, never used to stop.
Nothing is downloaded; the file is written atomically (rl.save_checkpoint) with the weights, the optimizer
state and the warm-up's numbers in `meta`.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import torch

from offchain.model.task import AdditionTask
from offchain.model.train import TrainConfig, build, train_step
from offchain.swarm.rl import heldout_accuracy, save_checkpoint, train_pairs


@dataclass(frozen=True)
class WarmupConfig:
    digits: int = 2  # digits per operand
    steps: int = 3000  # most optimizer steps (the target usually stops it first)
    target: float = 0.3  # stop once greedy accuracy on the train probe reaches this
    batch_size: int = 32  # sequences per step
    lr: float = 3e-3  # AdamW learning rate (offchain.model.train's)
    seed: int = 0  # Philox seed of init, batches and the task split
    eval_every: int = 25  # steps between probe evaluations
    probe: int = 500  # train pairs in the stopping probe (the first of the train split)


def warmup(
    cfg: WarmupConfig, *, log: bool = True
) -> tuple[torch.nn.Module, torch.optim.Optimizer, AdditionTask, dict[str, float]]:
    """Train until the probe accuracy reaches `cfg.target` or `cfg.steps`; return model, optimizer, task, info.

    info: steps (taken), probe_acc, heldout_acc, seconds.
    """
    model, opt, task = build(
        TrainConfig(digits=cfg.digits, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                    impl="native")
    )  # fmt: skip
    probe = train_pairs(task)[: cfg.probe]
    t0 = time.perf_counter()
    s, acc = 0, 0.0
    for s in range(cfg.steps + 1):
        if s % cfg.eval_every == 0 or s == cfg.steps:
            acc = task.accuracy(model, probe)
            if log:
                print(f"warmup step {s:5d}  train-probe acc {acc:.3f}  {time.perf_counter() - t0:.1f}s", flush=True)
            if acc >= cfg.target or s == cfg.steps:
                break
        train_step(model, opt, task.batch(s, cfg.batch_size))
    info = {"steps": float(s), "probe_acc": acc, "heldout_acc": heldout_accuracy(model, task),
            "seconds": time.perf_counter() - t0}  # fmt: skip
    return model, opt, task, info


def write_warmup(path: str | os.PathLike[str], cfg: WarmupConfig | None = None, *, log: bool = True) -> dict:
    """Run `warmup` (default config when None) and save the checkpoint to `path` atomically; return its info."""
    cfg = WarmupConfig() if cfg is None else cfg
    model, opt, task, info = warmup(cfg, log=log)
    save_checkpoint(path, model, task, opt, meta={"warmup": info, "target": cfg.target})
    return info


def tiny_checkpoint(path: str | os.PathLike[str]) -> dict:
    """A checkpoint in ~1 s for tests: 1-digit addition, at most 150 steps, target 0.2."""
    return write_warmup(path, WarmupConfig(digits=1, steps=150, target=0.2, eval_every=25, probe=60), log=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = WarmupConfig()
    ap.add_argument("--out", required=True, help="checkpoint path (written atomically)")
    ap.add_argument("--steps", type=int, default=d.steps)
    ap.add_argument("--digits", type=int, default=d.digits)
    ap.add_argument("--target", type=float, default=d.target)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    info = write_warmup(a.out, WarmupConfig(digits=a.digits, steps=a.steps, target=a.target, seed=a.seed))
    print(f"wrote {a.out}: {int(info['steps'])} steps, train-probe acc {info['probe_acc']:.3f}, "
          f"held-out acc {info['heldout_acc']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
