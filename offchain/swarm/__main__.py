"""`python -m offchain.swarm`: run one RL Swarm node against a JSON-RPC chain given by its URI (anvil, a testnet...).

    python -m offchain.swarm --rpc http://127.0.0.1:8545 --account 1 --workdir nodes/a --init warmup.pt

`--account i` signs with Ape's test account i (local chains: what `make swarm` starts); on a real network use
`ape run node`, which takes any Ape account. Every other option is the node's own, shared with `ape run node`
(offchain/swarm/cli.py). Stops after `--rounds` rounds, or runs until interrupted; a restart resumes from the
workdir (same identity, same weights).
"""

from __future__ import annotations

import logging

import click

from offchain.swarm.cli import node_options, run_node


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rpc", required=True, help="JSON-RPC URI of the chain (127.0.0.1 for local chains)")
@click.option("--account", "account_index", type=click.IntRange(0), required=True,
              help="index of Ape's test account that signs")  # fmt: skip
@node_options
def main(rpc: str, account_index: int, **options) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from offchain.chain.anvil import chain_problem

    problem = chain_problem(rpc)
    if problem is not None:
        # Asked first and plainly: left to Ape, a dead local URL ends in a traceback after it tries to start geth.
        raise click.ClickException(f"no chain answers at {rpc} ({problem}); start one with `make chain`")

    from offchain.chain import client

    with client.connected(rpc, quiet=True):  # the node prints its own progress; Ape's per-transaction lines not
        run_node(client.test_account(account_index), **options)


if __name__ == "__main__":
    main(prog_name="python -m offchain.swarm")
