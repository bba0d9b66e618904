"""RepOps against native torch at the model's sizes: the whole training step and each heavy op.

    make bench-repops        # or: .venv/bin/python benchmarks/bench_repops.py [--repeat 5] [--threads 1]

In one run, on the same inputs: the training step (forward, masked cross-entropy, backward, AdamW) of
offchain/model's RepOpsGPT and of its native twin (2 layers, width 64, 4 heads, 2-digit addition,
batch 64 so T = 8 and N = B*T = 512 rows), then matmul (the linear's shape, the weight gradient's
K = 512, attention's batched 8x8 @ 8x16), linear backward, softmax, layer norm, GELU, exp,
cross-entropy forward+backward and an AdamW step over the model's weight shapes. Each time is the
median of `--repeat`.

What bounds RepOps: a reduction of length K is K dependent float32 adds in a fixed order, and a
product-sum is a rounded mul then a rounded add (no FMA). With the compiled kernels (offchain/native,
where built) a matmul is register tiles with the k loop inside, two vector instructions per term where
BLAS issues one FMA; the rest of the step is per-op Python/autograd dispatch. Without them
(VERDE_NATIVE=0) every primitive is its own torch kernel and a matmul is K elementwise passes over its
output; transcendentals cost ~20 primitives each.

Last line: `repops: step_ratio=<repops/native> matmul_ratio=<x> add_gas=<n> mul_gas=<n> div_gas=<n>`;
the gas fields come from benchmarks/bench_float32.py when that file exists, else `NA`.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import offchain.repops.functional as R  # noqa: E402
from offchain.model.train import TrainConfig, build, train_step  # noqa: E402
from offchain.repops.optim import AdamW  # noqa: E402


def timeit(fn: Callable[[], object], *, repeat: int) -> float:
    """Median seconds of `repeat` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def float32_gas() -> dict[str, str]:
    """Gas per Float32 op from benchmarks/bench_float32.py if present (its `gas_per_op()`), else NA."""
    path = pathlib.Path(__file__).with_name("bench_float32.py")
    out = {"add": "NA", "mul": "NA", "div": "NA"}
    if not path.exists():
        return out
    try:
        spec = importlib.util.spec_from_file_location("bench_float32", path)
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
        gas = mod.gas_per_op()
        return {k: str(gas.get(k, "NA")) for k in out}
    except Exception as exc:  # the contract side is merged separately; report, don't fail the benchmark
        print(f"note: bench_float32 gas unavailable ({type(exc).__name__}: {exc})")
        return out


def op_cases() -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """(repops, native) closures for each heavy op at the model's sizes (N = 512 rows, C = 64)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 64, generator=g)  # (N, C)
    w = torch.randn(256, 64, generator=g)  # (4C, C)
    h = torch.randn(512, 256, generator=g)  # (N, 4C)
    att = torch.randn(64, 4, 8, 8, generator=g)  # (B, H, T, T)
    lnw, lnb = torch.ones(64), torch.zeros(64)
    logits = torch.randn(512, 12, generator=g)  # (N, V)
    tgt = torch.randint(0, 12, (512,), generator=g)
    xg, wg, lg = x.clone().requires_grad_(), w.clone().requires_grad_(), logits.clone().requires_grad_()
    gy = torch.randn(512, 256, generator=g)
    v = torch.randn(64, 4, 8, 16, generator=g)  # (B, H, T, hs)
    # the model's weight shapes (2 layers of qkv, proj, fc, fc2): ~100k parameters, as in the training step
    shapes = [(192, 64), (64, 64), (256, 64), (64, 256)] * 2
    pr = [torch.nn.Parameter(torch.randn(s, generator=g) * 0.02) for s in shapes]
    pn = [torch.nn.Parameter(p.detach().clone()) for p in pr]
    for p, q in zip(pr, pn, strict=True):
        p.grad = torch.randn(p.shape, generator=g)
        q.grad = p.grad.clone()
    opt_r, opt_n = AdamW(pr, lr=3e-3), torch.optim.AdamW(pn, lr=3e-3)

    def lin_bwd(fn: Callable) -> Callable[[], object]:
        return lambda: torch.autograd.grad(fn(xg, wg), [xg, wg], gy)

    def ce(fn: Callable) -> Callable[[], object]:
        return lambda: torch.autograd.grad(fn(lg, tgt), [lg])

    return {
        "matmul 512x64x256": (lambda: R.matmul(x, w.t()), lambda: x @ w.t()),
        "matmul 256x512x64 g^Tx": (lambda: R.matmul(gy.t(), x), lambda: gy.t() @ x),
        "attention att@v 64x4x8": (lambda: R.matmul(att, v), lambda: att @ v),
        "linear fwd+bwd": (lin_bwd(R.linear), lin_bwd(F.linear)),
        "softmax 64x4x8x8": (lambda: R.softmax(att), lambda: att.softmax(-1)),
        "layernorm 512x64": (lambda: R.layer_norm(x, lnw, lnb), lambda: F.layer_norm(x, (64,), lnw, lnb)),
        "gelu 512x256": (lambda: R.gelu(h), lambda: F.gelu(h, approximate="tanh")),
        "exp 512x256": (lambda: R.exp(h), lambda: torch.exp(h)),
        "cross-entropy fwd+bwd": (ce(R.cross_entropy), ce(F.cross_entropy)),
        "adamw step 100k params": (opt_r.step, opt_n.step),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}; {args.threads} thread(s); median of {args.repeat}")
    print(f"{'case':<24} {'repops ms':>10} {'native ms':>10} {'ratio':>7}")

    runs = {}
    for impl in ("repops", "native"):
        model, opt, task = build(TrainConfig(digits=2, batch_size=64, impl=impl))
        batch = task.batch(0, 64)
        runs[impl] = (lambda m=model, o=opt, b=batch: train_step(m, o, b))
    t_rep = timeit(runs["repops"], repeat=args.repeat)
    t_nat = timeit(runs["native"], repeat=args.repeat)
    step_ratio = t_rep / t_nat
    print(f"{'train step (B=64,T=8)':<24} {t_rep * 1e3:>10.2f} {t_nat * 1e3:>10.2f} {step_ratio:>7.1f}")

    ratios = {}
    for name, (rep, nat) in op_cases().items():
        a, b = timeit(rep, repeat=args.repeat), timeit(nat, repeat=args.repeat)
        ratios[name] = a / b
        print(f"{name:<24} {a * 1e3:>10.3f} {b * 1e3:>10.3f} {a / b:>7.1f}")

    gas = float32_gas()
    print(
        f"repops: step_ratio={step_ratio:.2f} matmul_ratio={ratios['matmul 512x64x256']:.2f} "
        f"add_gas={gas['add']} mul_gas={gas['mul']} div_gas={gas['div']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
