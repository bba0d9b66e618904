"""SkipPipe on the 12-region setting, simulated at the paper's scale: iteration time of the four arms.

    .venv/bin/python benchmarks/bench_skippipe_sim.py [--out out/skippipe/] [--microbatches 6 12] [--seeds 5]

The setting (docs/skippipe.md, SkipPipe's own figures): 20 nodes dealt round-robin over the 12 regions of
offchain/skippipe/data/geo-links.csv (geo.place_nodes, NL-London typo fixed), memory 3 microbatches each,
allocated to 6 stages by geo.allocate (5,3,3,3,3,3); 0.055 s of forward per sample per layer, 8 samples per
microbatch, 4 layers per stage (1.76 s forward per stage, backward 2x), 0.35 s per hop, 128 MiB of activations
per hop (8 x 4096 x 2048 x 2 bytes), reordering bound k = 1. Skip ratios 33% and 25%: at 6 stages both round to 2
skipped stages (V = 6 - floor(6 r + 0.5) = 4 visited), so their rows are the same schedules (the `visits` column
says so). Microbatches: 6 (the paper's); 12 also fits the memory of the skipping arms but not of the full
pipeline (stages 1..5 hold 45 microbatch-visits, the full pipeline needs 60), so its ratio is left empty; 18 does
not fit stage 0 (15).

The arms: SkipPipe (schedule.schedule, collision-aware, judged by the simulator), SkipPipe without collision
awareness (schedule.no_collision_awareness), the full pipeline (DT-FM's setting, schedule.full_pipeline) and the
full pipeline with random skips (schedule.random_skips, the mean over the seeds whose draw fits in memory).
Iteration time is sim.simulate's; `schedule_ms` is the time to compute the schedule on this machine.

Writes to --out: `gantt-skippipe-r33-m<M>.png` (the SkipPipe schedule's simulated timeline per node) and
`arms.png` (iteration time of the four arms). `gantt_png` takes {node label: [(start, end, microbatch, kind)]} so
that measured timelines can be drawn the same way.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
from collections.abc import Sequence

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from offchain.skippipe import schedule as sp  # noqa: E402
from offchain.skippipe.geo import load_links, place_nodes, region_transfer, regions  # noqa: E402
from offchain.skippipe.plots import gantt_png  # noqa: E402,F401 - drawn here, and imported from here before
from offchain.skippipe.sim import SimResult, simulate  # noqa: E402

N_NODES, N_STAGES, MEMORY = 20, 6, 3
FWD_S_PER_SAMPLE_LAYER, SAMPLES, LAYERS_PER_STAGE = 0.055, 8, 4
FWD_S = [FWD_S_PER_SAMPLE_LAYER * SAMPLES * LAYERS_PER_STAGE] * N_STAGES
HOP_OVERHEAD_S = 0.35
ACT_BYTES = 8 * 4096 * 2048 * 2
REORDER = 1
SKIP_RATIOS = (0.33, 0.25)
MICROBATCHES = (6, 12)
ARMS = ("skippipe", "skippipe_unaware", "full_pipeline", "random_skips")


def paper_setting():
    """(nodes, transfer, allocation) of the benchmark: 20 nodes over the 12 regions, 6 stages."""
    links = load_links()
    nodes = place_nodes(N_NODES, regions(links), memory=MEMORY)
    return nodes, region_transfer(links), sp.allocate(nodes, N_STAGES)


def _sim(nodes, transfer, sched) -> SimResult:
    return simulate(nodes, transfer, sched, FWD_S, ACT_BYTES, hop_overhead_s=HOP_OVERHEAD_S)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000


def simulated_table(
    microbatches: Sequence[int] = MICROBATCHES, skip_ratios: Sequence[float] = SKIP_RATIOS, seeds: int = 5
) -> list[dict]:
    """One row per (skip ratio, microbatches, arm): skip_ratio, visits (stages per path), microbatches, arm,
    iteration_s (None where the arm does not fit in memory), ratio_to_full (iteration_s / the full pipeline's at the
    same microbatches, None where either is missing), schedule_ms, note."""
    nodes, transfer, alloc = paper_setting()
    rows: list[dict] = []
    for mb in microbatches:
        try:
            full, full_ms = _timed(lambda mb=mb: sp.full_pipeline(nodes, alloc, mb))
            full_s, full_note = _sim(nodes, transfer, full).iteration_s, ""
        except ValueError as e:
            full_s, full_ms, full_note = None, None, f"refused: {e}"
        for r in skip_ratios:
            visits = N_STAGES - sp.skips(r, N_STAGES)
            args = (nodes, transfer, alloc, mb, FWD_S, ACT_BYTES, r, REORDER)
            results: dict[str, tuple[float | None, float | None, str]] = {}
            for arm, fn in (
                ("skippipe", lambda args=args: sp.schedule(*args, hop_overhead_s=HOP_OVERHEAD_S)),
                ("skippipe_unaware", lambda args=args: sp.no_collision_awareness(*args)),
            ):
                try:
                    sched, ms = _timed(fn)
                    results[arm] = (_sim(nodes, transfer, sched).iteration_s, ms, "")
                except ValueError as e:
                    results[arm] = (None, None, f"refused: {e}")
            results["full_pipeline"] = (full_s, full_ms, full_note)
            times, ms_all = [], []
            for seed in range(seeds):
                try:
                    sched, ms = _timed(lambda mb=mb, r=r, seed=seed: sp.random_skips(nodes, alloc, mb, r, seed))
                except ValueError:
                    continue
                times.append(_sim(nodes, transfer, sched).iteration_s)
                ms_all.append(ms)
            results["random_skips"] = (
                statistics.mean(times) if times else None,
                statistics.mean(ms_all) if ms_all else None,
                f"mean of {len(times)} of {seeds} seeds (others over memory)"
                if len(times) < seeds
                else f"mean of {seeds} seeds",
            )
            for arm in ARMS:
                it, ms, note = results[arm]
                rows.append(
                    {
                        "skip_ratio": r,
                        "visits": visits,
                        "microbatches": mb,
                        "arm": arm,
                        "iteration_s": it,
                        "ratio_to_full": it / full_s if it is not None and full_s else None,
                        "schedule_ms": ms,
                        "note": note,
                    }
                )
    return rows


def _fmt(v, spec: str) -> str:
    if v is None:
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return "-".rjust(int(width) if width else 1)
    return format(v, spec)


def format_table(rows: Sequence[dict]) -> str:
    head = f"{'skip':>5} {'visits':>6} {'mb':>3} {'arm':<17} {'iter_s':>8} {'/full':>6} {'sched_ms':>9}  note"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['skip_ratio']:>5.2f} {r['visits']:>6} {r['microbatches']:>3} {r['arm']:<17} "
            f"{_fmt(r['iteration_s'], '8.3f')} {_fmt(r['ratio_to_full'], '6.3f')} {_fmt(r['schedule_ms'], '9.1f')}  "
            f"{r['note'][:70]}"
        )
    return "\n".join(lines)


def sim_intervals(nodes, alloc, result: SimResult) -> dict[str, list[tuple[float, float, int, str]]]:
    """A simulated timeline as gantt_png's mapping, nodes by stage then index, labelled "<index> <name> s<stage>"."""
    out = {}
    for s, members in enumerate(alloc):
        for n in members:
            out[f"{n} {nodes[n].name} s{s}"] = [(i.start, i.end, i.microbatch, i.kind) for i in result.intervals[n]]
    return out


def arms_png(rows: Sequence[dict], path: str | pathlib.Path) -> pathlib.Path:
    """Bar chart: iteration time of the four arms per (skip ratio, microbatches); a missing arm is left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    groups = sorted({(r["skip_ratio"], r["microbatches"]) for r in rows}, key=lambda g: (g[1], -g[0]))
    fig, ax = plt.subplots(figsize=(2.6 * len(groups) + 2, 4.5))
    width = 0.8 / len(ARMS)
    for a, arm in enumerate(ARMS):
        xs, ys = [], []
        for g, (r, mb) in enumerate(groups):
            row = next(x for x in rows if (x["skip_ratio"], x["microbatches"], x["arm"]) == (r, mb, arm))
            if row["iteration_s"] is not None:
                xs.append(g + (a - (len(ARMS) - 1) / 2) * width)
                ys.append(row["iteration_s"])
        bars = ax.bar(xs, ys, width, label=arm)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"skip {r:.0%}, {mb} mb" for r, mb in groups])
    ax.set_ylabel("simulated iteration (s)")
    ax.set_title(f"SkipPipe, {N_NODES} nodes over 12 regions, {N_STAGES} stages (simulated)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/skippipe/", help="folder for the PNGs")
    ap.add_argument("--microbatches", type=int, nargs="+", default=list(MICROBATCHES))
    ap.add_argument("--seeds", type=int, default=5, help="random-skips seeds to average")
    args = ap.parse_args(argv)
    rows = simulated_table(args.microbatches, SKIP_RATIOS, args.seeds)
    print(format_table(rows))
    out = pathlib.Path(args.out)
    nodes, transfer, alloc = paper_setting()
    for mb in args.microbatches:
        try:
            sched = sp.schedule(
                nodes, transfer, alloc, mb, FWD_S, ACT_BYTES, 0.33, REORDER, hop_overhead_s=HOP_OVERHEAD_S
            )
        except ValueError as e:
            print(f"no SkipPipe schedule for {mb} microbatches: {e}")
            continue
        res = _sim(nodes, transfer, sched)
        png = gantt_png(
            sim_intervals(nodes, alloc, res),
            out / f"gantt-skippipe-r33-m{mb}.png",
            f"SkipPipe schedule, {N_NODES} nodes / {N_STAGES} stages, skip 33%, {mb} microbatches: "
            f"simulated iteration {res.iteration_s:.3f} s",
        )
        print(f"wrote {png}")
    print(f"wrote {arms_png(rows, out / 'arms.png')}")
    for mb in args.microbatches:
        get = {r["arm"]: r for r in rows if r["microbatches"] == mb and r["skip_ratio"] == SKIP_RATIOS[0]}
        ratio = get["skippipe"]["ratio_to_full"]
        print(
            f"skippipe-sim: microbatches={mb} skip=0.33 skippipe_s={_fmt(get['skippipe']['iteration_s'], '.3f')} "
            f"full_s={_fmt(get['full_pipeline']['iteration_s'], '.3f')} time_ratio={_fmt(ratio, '.3f')}"
        )


if __name__ == "__main__":
    main()
