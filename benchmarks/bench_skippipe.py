"""SkipPipe, measured: `make bench-skippipe` (docs/skippipe.md has a run's output and plots).

    .venv/bin/python benchmarks/bench_skippipe.py [--out out/skippipe/bench] [--iterations 600] [--timed 8]

Three parts, one run:

1. Simulated, the paper's scale (bench_skippipe_sim.simulated_table): 20 nodes over the 12 regions in 6 stages, skip
   33% and 25%, SkipPipe / without collision awareness / full pipeline / full pipeline with random skips.
   `time_ratio` on the last line is SkipPipe's iteration time over the full pipeline's at 33% and 6 microbatches.
2. Measured on this machine: worker processes on 127.0.0.1 with the geo setting's link delays emulated (6 nodes
   over the first 6 regions, 4 stages), SkipPipe and the full pipeline, `--timed` iterations each; each iteration's
   measured time against the simulator's prediction from calibrated compute costs. `sim_error` is the mean of
   |measured - predicted| / measured over the SkipPipe arm's iterations after the first (which pays start-up).
3. Quality: the same two arms, each on the plan of its timed run, trained `--iterations` iterations on the same
   batches (the same tokens) without delay emulation (the bits depend on the plan, not on timing); held-out
   perplexity of each, and of each with 25% and 50% of the stages dropped at inference (mean over which stages).
   `ppl_ratio` = SkipPipe / full pipeline; `drop50_ppl_ratio` = SkipPipe's model with half its stages dropped / the
   same model whole.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time
from collections.abc import Sequence

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import torch  # noqa: E402
from bench_skippipe_sim import format_table, simulated_table  # noqa: E402

from offchain.model.gpt import RepOpsGPT  # noqa: E402
from offchain.skippipe.corpus import Corpus  # noqa: E402
from offchain.skippipe.geo import load_links, place_nodes, regions  # noqa: E402
from offchain.skippipe.model import Shape, dropped_perplexity, gpt_config  # noqa: E402
from offchain.skippipe.plots import loss_png  # noqa: E402
from offchain.skippipe.runner import Coordinator, RunConfig  # noqa: E402

SHAPE = {"stages": 4, "layers": 1, "width": 64, "n_head": 4, "context": 64}
MICROBATCHES, BATCH, SKIP, REORDER = 4, 8, 0.25, 1


def nodes(n: int) -> list[dict]:
    geo = place_nodes(n, regions(load_links()), memory=MICROBATCHES)
    return [{"name": g.name, "region": g.region, "speed": g.speed, "memory": g.memory} for g in geo]


def run(mode: str, iterations: int, delay_scale: float, n_nodes: int, out: pathlib.Path,
        plan: dict | None = None) -> tuple:  # fmt: skip
    cfg = RunConfig(nodes=nodes(n_nodes), shape=SHAPE, microbatches=MICROBATCHES, batch=BATCH, iterations=iterations,
                    mode=mode, skip_ratio=SKIP, reorder=REORDER, delay_scale=delay_scale,
                    checkpoint_every=iterations, **(plan or {}))  # fmt: skip
    lines: list[str] = []

    def echo(s: str) -> None:
        lines.append(s)
        if s.startswith(("plan", "iter")) and (not s.startswith("iter") or _every(s, iterations)):
            print(f"  [{mode}] {s}", flush=True)

    t0 = time.perf_counter()
    result = Coordinator(cfg, out=out, echo=echo).run()
    return cfg, result, time.perf_counter() - t0


def _every(line: str, iterations: int) -> bool:
    it = int(line.split()[1].split("/")[0])
    return it == 1 or it == iterations or it % max(1, iterations // 10) == 0


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/skippipe/bench")
    ap.add_argument("--iterations", type=int, default=600, help="training iterations per arm for perplexity")
    ap.add_argument("--timed", type=int, default=8, help="iterations per arm with emulated delays")
    ap.add_argument("--nodes", type=int, default=6, help="nodes of the measured runs")
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    print("1. simulated, 20 nodes over the 12 regions, 6 stages (the paper's scale)", flush=True)
    rows = simulated_table()
    print(format_table(rows), flush=True)
    sim = next(r for r in rows if r["arm"] == "skippipe" and r["skip_ratio"] == 0.33 and r["microbatches"] == 6)
    time_ratio = sim["ratio_to_full"]

    print(f"\n2. measured on this machine: {args.nodes} worker processes, emulated link delays", flush=True)
    timed = {}
    for mode in ("skippipe", "full"):
        cfg, res, wall = run(mode, args.timed, 1.0, args.nodes, out / f"timed-{mode}")
        steady = res.progress[1:] or res.progress
        meas = statistics.mean(r["time_s"] for r in steady)
        pred = res.generations[0]["predicted_s"]
        err = statistics.mean(abs(r["time_s"] - r["predicted_s"]) / r["time_s"] for r in steady)
        timed[mode] = {"measured_s": meas, "predicted_s": pred, "error": err, "paths": res.generations[0]["paths"],
                       "allocation": res.generations[0]["allocation"]}  # fmt: skip
        print(f"  {mode:<9} measured {meas:.3f} s/iteration (mean of {len(steady)}), predicted {pred:.3f} s, "
              f"error {err:.1%}, paths {res.generations[0]['paths']}", flush=True)  # fmt: skip
    measured_ratio = timed["skippipe"]["measured_s"] / timed["full"]["measured_s"]
    print(f"  measured SkipPipe / full: {measured_ratio:.3f} "
          f"(predicted {timed['skippipe']['predicted_s'] / timed['full']['predicted_s']:.3f})")  # fmt: skip

    print(f"\n3. quality: {args.iterations} iterations per arm, same batches, no delay emulation", flush=True)
    corpus = Corpus.load()
    shape = Shape(**SHAPE)
    tokens = args.iterations * MICROBATCHES * BATCH * shape.context
    quality, curves = {}, {}
    for mode in ("skippipe", "full"):
        plan = {k: timed[mode][k] for k in ("allocation", "paths")}  # the timed run's plan, trained without delays
        cfg, res, wall = run(mode, args.iterations, 0.0, args.nodes, out / f"train-{mode}", plan)
        model = RepOpsGPT(gpt_config(shape, len(corpus.vocab)), seed=cfg.seed)
        model.load_state_dict(res.state)
        ppl = {d: dropped_perplexity(model, corpus, layers=shape.layers, stages=shape.stages, drop=d)
               for d in (0, 1, 2)}  # fmt: skip
        quality[mode] = {"ppl": ppl[0], "drop25": ppl[1], "drop50": ppl[2], "train_s": wall,
                         "root": res.roots[args.iterations]}  # fmt: skip
        curves[mode] = [(r["iteration"] * MICROBATCHES * BATCH * shape.context, r["loss"]) for r in res.progress]
        print(f"  {mode:<9} {tokens} tokens in {wall:.0f} s: held-out perplexity {ppl[0]:.3f}, 25% stages "
              f"dropped {ppl[1]:.3f}, 50% dropped {ppl[2]:.3f}; root {res.roots[args.iterations][:18]}..",
              flush=True)  # fmt: skip
    loss_png({k: [(t, v) for t, v in c] for k, c in curves.items()}, out / "loss-skippipe-vs-full.png",
             title=f"training loss, SkipPipe (skip {SKIP:.0%}) vs full pipeline", xlabel="tokens")  # fmt: skip
    ppl_ratio = quality["skippipe"]["ppl"] / quality["full"]["ppl"]
    drop50 = quality["skippipe"]["drop50"] / quality["skippipe"]["ppl"]
    doc = {"simulated": rows, "timed": timed, "quality": quality, "torch": torch.__version__}
    (out / "bench.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    full_drop = quality["full"]["drop50"] / quality["full"]["ppl"]
    print(f"  full pipeline's model with 50% of its stages dropped / whole: {full_drop:.3f}")
    print(f"skippipe: time_ratio={time_ratio:.2f} sim_error={timed['skippipe']['error']:.2f} "
          f"ppl_ratio={ppl_ratio:.2f} drop50_ppl_ratio={drop50:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
