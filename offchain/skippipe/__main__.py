"""SkipPipe from the command line (docs/skippipe.md).

    python -m offchain.skippipe run --nodes 4 --stages 4 --iterations 20          # coordinator + 4 local workers
    python -m offchain.skippipe run --nodes 4 --no-spawn --host 10.0.0.1 ...      # coordinator only, workers join
    python -m offchain.skippipe worker --coordinator HOST:PORT --node-id 2         # one worker, on any machine
    torchrun --nnodes 2 --nproc-per-node 2 ... -m offchain.skippipe worker --coordinator HOST:PORT   # RANK = node
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from offchain.skippipe.geo import load_links, place_nodes, regions
from offchain.skippipe.model import Shape
from offchain.skippipe.runner import MODES, Coordinator, RunConfig, Worker


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """SkipPipe: pipeline training with partial, reordered paths over far-apart nodes."""


@cli.command()
@click.option("--nodes", type=click.IntRange(1), default=4, show_default=True, help="Workers, one per node.")
@click.option("--regions", "region_list", default=None, metavar="A,B,..",
              help="Regions dealt round-robin to the nodes (default: all 12 of the geo setting, by name).")
@click.option("--stages", type=click.IntRange(1), default=4, show_default=True)
@click.option("--layers", type=click.IntRange(1), default=1, show_default=True, help="Transformer blocks per stage.")
@click.option("--width", type=click.IntRange(8), default=64, show_default=True)
@click.option("--context", type=click.IntRange(2), default=64, show_default=True, help="Characters per sequence.")
@click.option("--microbatches", type=click.IntRange(1), default=4, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True, help="Sequences per microbatch.")
@click.option("--iterations", type=click.IntRange(1), default=20, show_default=True)
@click.option("--mode", type=click.Choice(MODES), default="skippipe", show_default=True,
              help="skippipe: collision-aware skips; full: every stage in order; random: random skips.")
@click.option("--skip-ratio", type=click.FloatRange(0, 1, max_open=True), default=0.25, show_default=True)
@click.option("--reorder", type=click.IntRange(0), default=1, show_default=True, help="Reordering bound k.")
@click.option("--memory", type=click.IntRange(1), default=None, help="Microbatches a node holds (default: all).")
@click.option("--delay-scale", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Emulated link delay factor (0: no emulation, e.g. over real machines).")
@click.option("--hop-overhead", type=click.FloatRange(0), default=0.0, show_default=True, help="Seconds per hop.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=3e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(1), default=5, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="out/skippipe/run", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the coordinator's store listens on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: any free port.")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False), default=None, metavar="FILE",
              help="Replay the first plan (allocation and paths) of an earlier run's plans.json.")
@click.option("--write-spec", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Only write this run's config as a job spec (for `ape run skippipe post`) and exit.")
@click.option("--spawn/--no-spawn", default=True, show_default=True, help="Start the workers on this machine.")
@click.option("--kill-node", type=click.IntRange(0), default=None, help="SIGKILL this worker (a failure drill).")
@click.option("--kill-after", type=click.IntRange(1), default=2, show_default=True,
              help="... once this many iterations are done, --kill-delay seconds into the next.")
@click.option("--kill-delay", type=click.FloatRange(0), default=0.05, show_default=True)
def run(nodes, region_list, stages, layers, width, context, microbatches, batch, iterations, mode, skip_ratio, reorder,
        memory, delay_scale, hop_overhead, lr, seed, checkpoint_every, out, host, port, plan_file, write_spec, spawn,
        kill_node, kill_after, kill_delay) -> None:  # fmt: skip
    """Coordinate a run (and start its workers unless --no-spawn)."""
    known = regions(load_links())
    names = known if region_list is None else [r.strip() for r in region_list.split(",") if r.strip()]
    if unknown := [r for r in names if r not in known]:
        raise click.BadParameter(f"unknown regions {unknown}; known: {', '.join(known)}", param_hint="--regions")
    if nodes < stages:
        raise click.BadParameter(f"{nodes} nodes cannot hold {stages} stages", param_hint="--nodes")
    if kill_node is not None and not (spawn and kill_node < nodes):
        raise click.BadParameter("needs --spawn and a node id below --nodes", param_hint="--kill-node")
    geo = place_nodes(nodes, names, memory=memory or microbatches)
    fixed = {}
    if plan_file is not None:
        try:
            first = json.loads(Path(plan_file).read_text())["generations"][0]
            fixed = {"allocation": first["allocation"], "paths": first["paths"]}
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise click.BadParameter(f"not a plans.json of a run ({err!r})", param_hint="--plan") from None
    try:
        cfg = RunConfig(
            nodes=[{"name": n.name, "region": n.region, "speed": n.speed, "memory": n.memory} for n in geo],
            shape={**Shape().__dict__, "stages": stages, "layers": layers, "width": width, "context": context},
            microbatches=microbatches, batch=batch, iterations=iterations, lr=lr, seed=seed, mode=mode,
            skip_ratio=skip_ratio, reorder=reorder, delay_scale=delay_scale, hop_overhead_s=hop_overhead,
            checkpoint_every=checkpoint_every, **fixed,
        )  # fmt: skip
        if write_spec is not None:
            from offchain.skippipe.job import spec_json

            Path(write_spec).write_text(spec_json(cfg))
            click.echo(f"wrote {write_spec}: the spec of this run (ape run skippipe post --spec {write_spec})")
            return
        coord = Coordinator(cfg, host=host, port=port, out=out)
        if kill_node is not None:
            coord.kill_at = (kill_node, kill_after, kill_delay)
        result = coord.run(spawn=spawn)
    except (ValueError, RuntimeError) as err:
        raise click.ClickException(str(err)) from None
    last = max(result.roots)
    click.echo(f"done: {len(result.progress)} iterations, final loss {result.progress[-1]['loss']:.4f}, "
               f"root at step {last} {result.roots[last]}; outputs in {out}/")  # fmt: skip


@cli.command()
@click.option("--coordinator", default=lambda: os.environ.get("SKIPPIPE_COORDINATOR"), metavar="HOST:PORT",
              help="The coordinator's store (default: $SKIPPIPE_COORDINATOR).")
@click.option("--node-id", type=click.IntRange(0), default=lambda: os.environ.get("RANK"),
              help="This worker's node (default: $RANK, as torchrun sets it).")
def worker(coordinator, node_id) -> None:
    """One node: join the coordinator's run and train its stage until the run ends."""
    if coordinator is None:
        raise click.BadParameter("give HOST:PORT or set SKIPPIPE_COORDINATOR", param_hint="--coordinator")
    if node_id is None:
        raise click.BadParameter("give --node-id or run under torchrun (RANK)", param_hint="--node-id")
    import torch

    torch.set_num_threads(1)
    host, port = _address(coordinator)
    try:
        code = Worker(host, port, int(node_id), echo=lambda s: click.echo(s, err=True)).run()
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    except torch.distributed.DistNetworkError:
        click.echo(f"node {node_id}: the coordinator at {coordinator} is gone; stopping", err=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # gloo waits of an aborted generation may still hold threads; they end with the process


if __name__ == "__main__":
    cli()
