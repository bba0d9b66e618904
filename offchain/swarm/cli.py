"""The node's command line, defined once: `ape run node` (scripts/node.py, any Ape account on any network) and
`python -m offchain.swarm` (a test account on a chain given by its JSON-RPC URI, what `make swarm` starts) take
the same node options and run the same `run_node`; only how they reach the chain and the wallet differs.

    @click.command(cls=ChainCommand)
    @signer("The node's wallet ...")
    @node_options
    def cli(account, **options):
        run_node(account, **options)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def parse_mix(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> dict[str, int] | None:
    """`--mix add2=3,sub2=1` as {"add2": 3, "sub2": 1}; whether the tasks are the checkpoint's family is the
    node's check (it needs the checkpoint), made before anything is sent to the chain."""
    if value is None:
        return None
    out: dict[str, int] = {}
    for part in value.split(","):
        name, eq, weight = part.strip().partition("=")
        if not eq or not name or not weight.strip().isdigit():
            raise click.BadParameter(f"{part.strip()!r} is not task=weight with a whole number weight "
                                     "(e.g. add2=3,sub2=1)")  # fmt: skip
        if name in out:
            raise click.BadParameter(f"task {name!r} given twice")
        out[name] = int(weight)
    return out


def node_options(f: Callable) -> Callable:
    """Every option that says what the node does (as opposed to which chain and wallet it uses)."""
    options = [
        click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
                     help="identity, weights, votes and progress live here (reuse it to resume)"),
        click.option("--init", "init", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="warm-up checkpoint (used until the workdir has weights)"),
        click.option("--rounds", type=click.IntRange(1), default=None,
                     help="stop after this many rounds (default: run until stopped)"),
        click.option("--bootnode", multiple=True, help="multiaddr to join through (besides the chain's lists)"),
        click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: all)"),
        click.option("--port", type=click.IntRange(0, 65535), default=None,
                     help="TCP port to listen on [default: the last run's, else a free one]"),
        click.option("--announce", default=None,
                     help="host, host:port or multiaddr other machines dial to reach this node"),
        click.option("--start-round", type=click.IntRange(0), default=None,
                     help="play no round before this one (a swarm started together)"),
        click.option("--questions", type=click.IntRange(1), default=8, show_default=True,
                     help="questions per round (every node of a swarm must use the same)"),
        click.option("--completions", type=click.IntRange(1), default=8, show_default=True,
                     help="completions sampled per question"),
        click.option("--local-groups", type=click.IntRange(0), default=4, show_default=True,
                     help="SAPO's I: own question groups per training step"),
        click.option("--external-groups", type=click.IntRange(0), default=4, show_default=True,
                     help="SAPO's J: peers' question groups per training step"),
        click.option("--mix", callback=parse_mix, default=None, metavar="TASK=W,...",
                     help="a task-family node's question weights, e.g. add2=3,sub2=1 (other tasks 0) "
                          "[default: the checkpoint's warm-up mix, else uniform]"),
        click.option("--weighting", type=click.Choice(["uniform", "critique"]), default="uniform", show_default=True,
                     help="how peers' groups are drawn for training: SAPO's uniform draw, or by their authors' "
                          "critique with the peer this node votes for first"),
        click.option("--impl", type=click.Choice(["repops", "native"]), default="repops", show_default=True,
                     help="what trains: RepOpsGPT with RepOps AdamW (the same bits on every machine, so a round's "
                          "training can be re-run and disputed) or the native torch twin (faster, not reproducible)"),
        click.option("--deployments", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="folder of deployment records [default: $VERDE_DEPLOYMENTS_DIR, else ./deployments]"),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def run_node(account: Any, *, workdir: Path, init: Path | None, rounds: int | None, bootnode: tuple[str, ...],
             host: str, port: int | None, announce: str | None, start_round: int | None, questions: int,
             completions: int, deployments: Path | None, impl: str = "repops", mix: dict[str, int] | None = None,
             weighting: str = "uniform", local_groups: int = 4, external_groups: int = 4) -> None:  # fmt: skip
    """Run one node until its rounds are played or it is stopped; any refusal is one line (click's `Error:`)."""
    import torch

    from offchain.chain.deploy import load_deployment_for_cli
    from offchain.swarm.node import NodeConfig, NodeError, SwarmNode

    if deployments is not None:
        os.environ["VERDE_DEPLOYMENTS_DIR"] = str(deployments)
    torch.set_num_threads(1)
    cfg = NodeConfig(workdir=workdir, init_checkpoint=init, rounds=rounds, bootnodes=bootnode, host=host, port=port,
                     announce=announce, start_round=start_round, questions=questions,
                     completions=completions, impl=impl, mix=mix, weighting=weighting,
                     local_groups=local_groups, external_groups=external_groups)  # fmt: skip
    try:
        SwarmNode(cfg, account, load_deployment_for_cli(), echo=lambda m: click.echo(m)).run()
    except NodeError as err:
        raise click.ClickException(str(err)) from None
    except KeyboardInterrupt:
        click.echo("stopped: the DHT and p2pd are down; restart with the same --workdir to resume")
