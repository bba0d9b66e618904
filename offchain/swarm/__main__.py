"""`python -m offchain.swarm`: run one RL Swarm node against a JSON-RPC chain (anvil, a testnet...).

    python -m offchain.swarm --rpc http://127.0.0.1:8545 --account 1 --workdir nodes/a --init warmup.pt

`--account i` signs with Ape's test account i (local chains); on a real network use `ape run node`, which
takes any Ape account. The deployment is read from deployments/ (`ape run deploy`) unless `--deployments`
points elsewhere. Stops after `--rounds` rounds, or runs until interrupted; a restart resumes from the
workdir (same identity, same weights).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m offchain.swarm", description=__doc__.splitlines()[0])
    p.add_argument("--rpc", required=True, help="JSON-RPC URI of the chain (127.0.0.1 for local chains)")
    p.add_argument("--account", type=int, required=True, help="index of Ape's test account that signs")
    p.add_argument("--workdir", type=Path, required=True, help="identity, weights, votes and progress live here")
    p.add_argument("--init", type=Path, default=None, help="warm-up checkpoint (until the workdir has weights)")
    p.add_argument("--rounds", type=int, default=None, help="stop after this many rounds")
    p.add_argument("--bootnode", action="append", default=[], help="multiaddr; default: the coordinator's list")
    p.add_argument("--deployments", type=Path, default=None, help="folder of deployment records")
    p.add_argument("--start-round", type=int, default=None, help="play no round before this one")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: all); default 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="TCP port (default: the last run's, else a free one)")
    p.add_argument("--announce", default=None, help="host, host:port or multiaddr other machines dial")
    p.add_argument("--questions", type=int, default=8)
    p.add_argument("--completions", type=int, default=8)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.deployments is not None:
        os.environ["VERDE_DEPLOYMENTS_DIR"] = str(args.deployments)
    from offchain.chain.anvil import chain_problem

    problem = chain_problem(args.rpc)
    if problem is not None:
        # Asked first and plainly: left to Ape, a dead local URL ends in a traceback after it tries to start geth.
        print(f"error: no chain answers at {args.rpc} ({problem}); start one with `make chain`", file=sys.stderr)
        return 2

    import torch

    from offchain.chain import client
    from offchain.chain.deploy import load_deployment
    from offchain.swarm.node import NodeConfig, NodeError, SwarmNode

    torch.set_num_threads(1)
    cfg = NodeConfig(workdir=args.workdir, init_checkpoint=args.init, bootnodes=tuple(args.bootnode),
                     rounds=args.rounds, questions=args.questions, completions=args.completions,
                     start_round=args.start_round, host=args.host, port=args.port,
                     announce=args.announce)  # fmt: skip
    # quiet: the node prints its own progress; Ape's per-transaction lines are noise
    with client.connected(args.rpc, quiet=True):
        try:
            node = SwarmNode(cfg, client.test_account(args.account), load_deployment(),
                             echo=lambda m: print(m, flush=True))  # fmt: skip
            node.run()
        except NodeError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("stopped: the DHT and p2pd are down; restart with the same --workdir to resume", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
