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

Task family (offchain/model/family.py): a `FamilyWarmupConfig` warms a GPT of the family's vocabulary (28
tokens, context 16) and of its own depth and width on a per-node task mix, so nodes can start strong on some
tasks and weak on others:

    .venv/bin/python -m offchain.swarm.warmup --out a.pt --family all --mix 0,3,0,0,0,3,1,0,0,0 --width 64

Same loop (NativeGPT, AdamW, masked cross-entropy), batches `Family.batch(step, batch_size, mix)`, a stopping
probe of `probe` train ids drawn over the same mix (`Family.questions(seed, probe, mix)`), and the checkpoint
records the family (rl.save_checkpoint's "task_kind"), so rl.load_checkpoint gives the Family back; meta has
the mix ("warmup_mix", one integer weight per family task) and held-out accuracy per task. `warmup(cfg)` and
`write_warmup(path, cfg)` take either config.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from offchain.model.family import TASK_NAMES, Family
from offchain.model.gpt import NativeGPT
from offchain.model.task import AdditionTask
from offchain.model.train import TrainConfig, build, train_step
from offchain.swarm.rl import heldout_accuracy, heldout_by_task, save_checkpoint, train_pairs

# Where a warm-up's progress lines go: True prints them, False drops them, a callable gets each line.
Log = bool | Callable[[str], None]


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


@dataclass(frozen=True)
class FamilyWarmupConfig:
    """Supervised warm-up on a task family with a node's task mix (module docstring)."""

    names: tuple[str, ...] = TASK_NAMES  # the family's tasks, in order (its global ids)
    mix: tuple[int, ...] | None = None  # integer weight per family task (Family.weights); None: uniform
    family_seed: int = 0  # the family's split and batch seed: the same for every node of a swarm
    seed: int = 0  # Philox seed of the model init and of the stopping probe (per node)
    n_layer: int = 2  # GPT depth
    n_head: int = 4  # attention heads
    width: int = 64  # GPT residual width
    steps: int = 3000  # most optimizer steps (the target usually stops it first)
    target: float = 0.3  # stop once greedy accuracy on the probe (train ids over the mix) reaches this
    batch_size: int = 64  # sequences per step
    lr: float = 3e-3  # AdamW learning rate
    weight_decay: float = 0.01  # AdamW decoupled weight decay (offchain.model.train's)
    eval_every: int = 50  # steps between probe evaluations
    probe: int = 400  # train ids in the stopping probe
    heldout: int | None = 200  # held-out ids per task measured at the end (None: all)

    def family(self) -> Family:
        return Family(tuple(self.names), self.family_seed)


def warmup(
    cfg: WarmupConfig | FamilyWarmupConfig, *, log: Log = True
) -> tuple[torch.nn.Module, torch.optim.Optimizer, AdditionTask | Family, dict[str, Any]]:
    """Train until the probe accuracy reaches `cfg.target` or `cfg.steps`; return model, optimizer, task, info.

    info: steps (taken), probe_acc, heldout_acc, seconds; for a FamilyWarmupConfig also heldout_by_task
    ({task: accuracy}) and mix (the weights used); heldout_acc is then the mean over the family's tasks.
    """
    if isinstance(cfg, FamilyWarmupConfig):
        return _warmup_family(cfg, log=log)
    model, opt, task = build(
        TrainConfig(digits=cfg.digits, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                    impl="native")
    )  # fmt: skip
    probe = train_pairs(task)[: cfg.probe]
    t0 = time.perf_counter()
    s, acc = _train_to_target(model, opt, cfg, lambda: task.accuracy(model, probe),
                              lambda step: task.batch(step, cfg.batch_size), "train-probe", log)  # fmt: skip
    info = {"steps": float(s), "probe_acc": acc, "heldout_acc": heldout_accuracy(model, task),
            "seconds": time.perf_counter() - t0}  # fmt: skip
    return model, opt, task, info


def _train_to_target(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    cfg: WarmupConfig | FamilyWarmupConfig,
    probe_accuracy: Callable[[], float],
    batch: Callable[[int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    probe_name: str,
    log: Log,
) -> tuple[int, float]:
    """Supervised steps until the probe accuracy (checked every `cfg.eval_every` steps) reaches `cfg.target` or
    `cfg.steps` are done: (last step, its probe accuracy). Progress lines go to `log` (`Log`)."""
    say = (lambda line: print(line, flush=True)) if log is True else (log or None)
    t0 = time.perf_counter()
    s, acc = 0, 0.0
    for s in range(cfg.steps + 1):
        if s % cfg.eval_every == 0 or s == cfg.steps:
            acc = probe_accuracy()
            if say:
                say(f"warmup step {s:5d}  {probe_name} acc {acc:.3f}  {time.perf_counter() - t0:.1f}s")
            if acc >= cfg.target or s == cfg.steps:
                break
        train_step(model, opt, batch(s))
    return s, acc


def _warmup_family(
    cfg: FamilyWarmupConfig, *, log: Log = True
) -> tuple[torch.nn.Module, torch.optim.Optimizer, Family, dict[str, Any]]:
    fam = cfg.family()
    mix = fam.weights(None if cfg.mix is None else list(cfg.mix))  # ValueError for a bad mix
    model = NativeGPT(fam.gpt_config(n_layer=cfg.n_layer, n_head=cfg.n_head, width=cfg.width), seed=cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    probe = torch.tensor(fam.questions(cfg.seed, cfg.probe, mix), dtype=torch.int64)
    t0 = time.perf_counter()
    s, acc = _train_to_target(model, opt, cfg, lambda: fam.accuracy(model, probe),
                              lambda step: fam.batch(step, cfg.batch_size, mix), "probe", log)  # fmt: skip
    per = heldout_by_task(model, fam, cfg.heldout)
    info: dict[str, Any] = {"steps": float(s), "probe_acc": acc, "heldout_acc": sum(per.values()) / len(per),
                            "heldout_by_task": per, "mix": mix, "seconds": time.perf_counter() - t0}  # fmt: skip
    return model, opt, fam, info


def write_warmup(
    path: str | os.PathLike[str], cfg: WarmupConfig | FamilyWarmupConfig | None = None, *, log: Log = True
) -> dict:
    """Run `warmup` (default config when None) and save the checkpoint to `path` atomically; return its info.

    A family warm-up's checkpoint records the Family (rl.load_checkpoint returns it) and, in meta,
    "warmup_mix" (the weights it was warmed on)."""
    cfg = WarmupConfig() if cfg is None else cfg
    model, opt, task, info = warmup(cfg, log=log)
    meta: dict[str, Any] = {"warmup": info, "target": cfg.target}
    if isinstance(cfg, FamilyWarmupConfig):
        meta["warmup_mix"] = info["mix"]
    save_checkpoint(path, model, task, opt, meta=meta)
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
    f = FamilyWarmupConfig()
    ap.add_argument(
        "--family",
        default=None,
        help="warm on the task family instead of addition: 'all' or comma-separated task names",
    )
    ap.add_argument("--mix", default=None, help="family: comma-separated integer weight per task (default uniform)")
    ap.add_argument("--family-seed", type=int, default=f.family_seed, help="family: split and batch seed")
    ap.add_argument("--n-layer", type=int, default=f.n_layer, help="family: GPT depth")
    ap.add_argument("--width", type=int, default=f.width, help="family: GPT width")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.family is None:
        cfg: WarmupConfig | FamilyWarmupConfig = WarmupConfig(digits=a.digits, steps=a.steps, target=a.target,
                                                              seed=a.seed)  # fmt: skip
    else:
        names = TASK_NAMES if a.family == "all" else tuple(n.strip() for n in a.family.split(","))
        mix = None if a.mix is None else tuple(int(w) for w in a.mix.split(","))
        cfg = FamilyWarmupConfig(names=names, mix=mix, family_seed=a.family_seed, seed=a.seed, n_layer=a.n_layer,
                                 width=a.width, steps=a.steps, target=a.target)  # fmt: skip
    info = write_warmup(a.out, cfg)
    print(f"wrote {a.out}: {int(info['steps'])} steps, train-probe acc {info['probe_acc']:.3f}, "
          f"held-out acc {info['heldout_acc']:.3f}")  # fmt: skip
    if "heldout_by_task" in info:
        print("held-out by task: " + ", ".join(f"{k} {v:.3f}" for k, v in info["heldout_by_task"].items()))


if __name__ == "__main__":
    main()
