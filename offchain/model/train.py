"""Train the RepOps transformer on text addition; print progress and write a loss/accuracy PNG.

    .venv/bin/python -m offchain.model.train                       # 2-digit addition, RepOps, ~minutes on 2 cores
    .venv/bin/python -m offchain.model.train --impl native --steps 3000 --out native.png

Everything is generated (Philox init and batches); nothing is downloaded. `step_root` runs training
steps from the initial state and returns the checkpoint root (offchain/commit) of the result: the
reproducibility tests and `python -m offchain.model.cuda_check` compare it across thread counts,
memory layouts and devices.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch

from offchain.commit import commit_checkpoint, keccak256, training_state
from offchain.model.gpt import GPTConfig, NativeGPT, RepOpsGPT
from offchain.model.task import VOCAB, AdditionTask
from offchain.repops.optim import AdamW


@dataclass(frozen=True)
class TrainConfig:
    digits: int = 2  # digits per operand of the addition task
    steps: int = 2000  # optimizer steps (2-digit addition reaches 100% held-out by ~1400)
    batch_size: int = 32  # sequences per step
    lr: float = 3e-3  # AdamW learning rate (constant)
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    seed: int = 0  # Philox seed for init and batches (seed = base + rank in a swarm)
    eval_every: int = 200  # steps between held-out accuracy evaluations
    impl: str = "repops"  # "repops" (reproducible) or "native" (the torch twin)


def build(
    cfg: TrainConfig, *, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, torch.optim.Optimizer, AdditionTask]:
    """Model, optimizer and task of a run (RepOps AdamW for repops, torch AdamW for native)."""
    task = AdditionTask(digits=cfg.digits, seed=cfg.seed)
    gcfg = GPTConfig(vocab=VOCAB, context=max(16, task.seq_len))
    if cfg.impl == "repops":
        model: torch.nn.Module = RepOpsGPT(gcfg, seed=cfg.seed).to(device)
        opt: torch.optim.Optimizer = AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        model = NativeGPT(gcfg, seed=cfg.seed).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return model, opt, task


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Forward, masked cross-entropy, backward, optimizer update; returns the loss."""
    x, y, mask = batch
    loss = model.loss(x, y, mask)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def batch_hash(batch: tuple[torch.Tensor, ...]) -> bytes:
    """keccak256 of the batch tensors' bytes (contiguous, CPU), for the checkpoint."""
    return keccak256(b"".join(t.detach().cpu().contiguous().numpy().tobytes() for t in batch))


def step_root(
    *,
    steps: int = 1,
    threads: int | None = None,
    noncontiguous: bool = False,
    device: str = "cpu",
    batch_size: int = 8,
    digits: int = 1,
    seed: int = 0,
) -> str:
    """Checkpoint root (hex) after `steps` RepOps training steps from init, with the given setup."""
    if threads is not None:
        torch.set_num_threads(threads)
    cfg = TrainConfig(digits=digits, batch_size=batch_size, seed=seed, impl="repops")
    model, opt, task = build(cfg, device=device)
    h = b""
    for s in range(steps):
        batch = tuple(t.to(device) for t in task.batch(s, batch_size))
        if noncontiguous:
            batch = tuple(t.t().contiguous().t() for t in batch)  # same values, transposed strides
            assert not batch[0].is_contiguous()
        train_step(model, opt, batch)
        h = batch_hash(batch)
    state = training_state(model, opt, rng={})
    state = {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in state.items()}
    return "0x" + commit_checkpoint(state, step=steps, batch_hash=h).root.hex()


def train(cfg: TrainConfig, *, log: bool = True) -> dict[str, list[float]]:
    """Run training; return the curve {"step", "loss", "eval_step", "acc"}."""
    model, opt, task = build(cfg)
    curve: dict[str, list[float]] = {"step": [], "loss": [], "eval_step": [], "acc": []}
    t0 = time.perf_counter()
    for s in range(cfg.steps + 1):
        if s % cfg.eval_every == 0 or s == cfg.steps:
            acc = task.accuracy(model)
            curve["eval_step"].append(s)
            curve["acc"].append(acc)
            if log:
                last = curve["loss"][-1] if curve["loss"] else float("nan")
                secs = time.perf_counter() - t0
                print(f"step {s:5d}  loss {last:.4f}  held-out acc {acc:.3f}  {secs:.0f}s", flush=True)
        if s == cfg.steps:
            break
        loss = train_step(model, opt, task.batch(s, cfg.batch_size))
        curve["step"].append(s)
        curve["loss"].append(float(loss))
    return curve


def plot(curve: dict[str, list[float]], path: str, *, title: str) -> None:
    """Write the loss and accuracy curves to a PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(curve["step"], curve["loss"])
    ax[0].set(xlabel="step", ylabel="masked cross-entropy", yscale="log", title="training loss")
    ax[1].plot(curve["eval_step"], curve["acc"], marker="o")
    ax[1].set(xlabel="step", ylabel="exact match", ylim=(0, 1), title="held-out accuracy (greedy)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = TrainConfig()
    ap.add_argument("--digits", type=int, default=d.digits)
    ap.add_argument("--steps", type=int, default=d.steps)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--eval-every", type=int, default=d.eval_every)
    ap.add_argument("--impl", choices=["repops", "native"], default=d.impl)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default="training_curve.png")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = TrainConfig(digits=a.digits, steps=a.steps, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                      eval_every=a.eval_every, impl=a.impl)  # fmt: skip
    curve = train(cfg)
    plot(curve, a.out, title=f"{cfg.impl}: {cfg.digits}-digit addition, batch {cfg.batch_size}, lr {cfg.lr}")
    print(f"wrote {a.out}; final held-out accuracy {curve['acc'][-1]:.3f}")


if __name__ == "__main__":
    main()
