"""Our L2 node against anvil in the same run: throughput, block import (re-execution) speed, database size.

    make bench-l2        # or: .venv/bin/python benchmarks/bench_l2.py [--transfers 400] [--votes 100]

Both chains run the same genesis accounts (the test mnemonic), chain id and Prague rules, each sealing one block
per transaction as it arrives (ours `--block-time 0`, anvil's automine), with our node on an SQLite datadir.
On each, IdentityRegistry and SwarmCoordinator are deployed and `--votes` peers registered and joined to the
round (not timed); then one client sends, one after another as fast as it can, pre-signed simple transfers and
then pre-signed SwarmCoordinator.commitVote transactions (one per peer), and the last receipt is awaited.
Transactions per second = transactions / wall time, for each workload and over both.

Replay: every block of our chain is fetched raw (debug_getRawBlock) and imported by a second, empty node
in-process (rollup.chain.L2Chain on its own datadir), every transaction re-executed and every root checked:
blocks and gas per second. Database size: our datadir's bytes per 1,000 blocks, for the blocks above and for
1,000 empty blocks sealed after them.

Last line: `l2: tps=<ours> anvil_tps=<anvil> ratio=<ours/anvil> replay_mgas_s=<x>`. Plot: out/bench-l2.png.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from web3 import Web3  # noqa: E402

from offchain.chain.anvil import Anvil  # noqa: E402
from rollup.chain import L2Chain  # noqa: E402
from rollup.conformance import NodeProcess  # noqa: E402
from rollup.genesis import Genesis  # noqa: E402
from rollup.node import DEFAULT_GENESIS  # noqa: E402
from rollup.store import Store  # noqa: E402

CHAIN_ID = 685686
MNEMONIC = "test test test test test test test test test test test junk"
STAGES = [3600, 3600, 3600]  # one long round: every commit lands in it
FEE = {"maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**6}
OUT = ROOT / "out"


def _keys() -> list:
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(3)]


def _artifacts() -> dict[str, tuple[list, str]]:
    from ape import project

    out = {}
    for name in ("IdentityRegistry", "SwarmCoordinator"):
        ct = getattr(project, name).contract_type
        out[name] = ([i.model_dump(mode="json", by_alias=True) for i in ct.abi], ct.deployment_bytecode.bytecode)
    return out


class Client:
    """One sender on one chain: signs locally, sends raw, tracks its nonce."""

    def __init__(self, url: str, key) -> None:
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        self.key = key
        self.nonce = self.w3.eth.get_transaction_count(key.address)

    def sign(self, tx: dict) -> bytes:
        tx = {"chainId": CHAIN_ID, "nonce": self.nonce, **FEE, **tx}
        self.nonce += 1
        return self.key.sign_transaction(tx).raw_transaction

    def send_and_wait(self, tx: dict):
        return self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_raw_transaction(self.sign(tx)))

    def deploy(self, abi, bytecode, *args):
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        data = factory.constructor(*args).data_in_transaction
        receipt = self.send_and_wait({"data": data, "gas": 8_000_000})
        return self.w3.eth.contract(address=receipt.contractAddress, abi=abi)


def _setup_swarm(client: Client, artifacts, peers) -> object:
    from offchain.identity import PeerIdentity  # noqa: F401  (peers are PeerIdentity objects)

    registry = client.deploy(*artifacts["IdentityRegistry"])
    swarm = client.deploy(*artifacts["SwarmCoordinator"], registry.address, client.key.address, STAGES, 10**15, 8)
    owner = client.key.address
    for peer in peers:
        message = registry.functions.bindingMessage(owner, peer.peer_id_digest).call()
        data = registry.functions.registerPeer(
            peer.public_key_bytes, peer.sign(bytes(message))
        )._encode_transaction_data()
        assert client.send_and_wait({"to": registry.address, "data": data, "gas": 1_000_000}).status == 1
        data = swarm.functions.joinRound(peer.peer_id_digest)._encode_transaction_data()
        assert client.send_and_wait({"to": swarm.address, "data": data, "gas": 300_000}).status == 1
    return swarm


def _timed(client: Client, raws: list[bytes]) -> float:
    w3 = client.w3
    started = time.perf_counter()
    last = None
    for raw in raws:
        last = w3.eth.send_raw_transaction(raw)
    receipt = w3.eth.wait_for_transaction_receipt(last, poll_latency=0.01)
    elapsed = time.perf_counter() - started
    assert receipt.status == 1
    return elapsed


def _workloads(url: str, label: str, artifacts, peers, transfers: int) -> dict[str, float]:
    keys = _keys()
    deployer, sender = Client(url, keys[0]), Client(url, keys[1])
    click.echo(f"[{label}] deploying and registering {len(peers)} peers ...")
    swarm = _setup_swarm(deployer, artifacts, peers)
    to = Account.create().address
    transfer_raws = [sender.sign({"to": to, "value": 1, "gas": 21_000}) for _ in range(transfers)]
    r = swarm.functions.currentRound().call()
    vote_raws = []
    for i, peer in enumerate(peers):
        candidate = peers[(i + 1) % len(peers)].peer_id_digest
        commitment = swarm.functions.voteCommitment(r, peer.peer_id_digest, candidate, secrets.token_bytes(32)).call()
        data = swarm.functions.commitVote(peer.peer_id_digest, commitment)._encode_transaction_data()
        vote_raws.append(deployer.sign({"to": swarm.address, "data": data, "gas": 200_000}))
    click.echo(f"[{label}] {transfers} transfers ...")
    t_transfer = _timed(sender, transfer_raws)
    click.echo(f"[{label}] {len(vote_raws)} vote commits ...")
    t_vote = _timed(deployer, vote_raws)
    out = {
        "transfer_tps": transfers / t_transfer,
        "vote_tps": len(vote_raws) / t_vote,
        "tps": (transfers + len(vote_raws)) / (t_transfer + t_vote),
    }
    click.echo(f"[{label}] transfers {out['transfer_tps']:.1f} tx/s, votes {out['vote_tps']:.1f} tx/s")
    return out


def _replay(url: str, workdir: Path) -> dict[str, float]:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    head = w3.eth.block_number
    click.echo(f"[replay] fetching {head} raw blocks ...")
    raws = []
    for n in range(1, head + 1):
        reply = w3.provider.make_request("debug_getRawBlock", [hex(n)])
        raws.append(bytes.fromhex(reply["result"][2:]))
    gas = sum(w3.eth.get_block(n).gasUsed for n in range(1, head + 1))
    chain = L2Chain(Genesis.load(DEFAULT_GENESIS), Store.open(workdir / "replica"))
    click.echo(f"[replay] importing {head} blocks ({gas:,} gas) into an empty node ...")
    started = time.perf_counter()
    for raw in raws:
        chain.import_raw_block(raw)
    elapsed = time.perf_counter() - started
    assert chain.head.hash == bytes(w3.eth.get_block("latest").hash), "the replica disagrees with the sequencer"
    chain.store.close()
    return {"blocks": head, "gas": gas, "blocks_s": head / elapsed, "mgas_s": gas / elapsed / 1e6}


def _plot(ours: dict, anvil: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["transfers", "vote commits", "both"]
    keys = ["transfer_tps", "vote_tps", "tps"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], [ours[k] for k in keys], width=0.4, label="our L2 node (py-evm, SQLite)")
    ax.bar([x + 0.2 for x in xs], [anvil[k] for k in keys], width=0.4, label="anvil (revm, memory)")
    ax.set_xticks(list(xs), labels)
    ax.set_ylabel("transactions / s (one client)")
    ax.set_ylim(0, max(max(ours[k], anvil[k]) for k in keys) * 1.35)  # room for the legend above the bars
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("One block per transaction, one client sending")
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=120)


@click.command()
@click.option("--transfers", type=click.IntRange(10), default=400, show_default=True)
@click.option("--votes", type=click.IntRange(2), default=60, show_default=True, help="Peers, one vote commit each.")
@click.option("--empty-blocks", type=click.IntRange(0), default=1000, show_default=True)
def main(transfers: int, votes: int, empty_blocks: int) -> None:
    from offchain.identity import PeerIdentity

    click.echo(f"generating {votes} peer keys ...")
    peers = [PeerIdentity.generate() for _ in range(votes)]
    artifacts = _artifacts()
    with tempfile.TemporaryDirectory(prefix="bench-l2-") as tmp:
        workdir = Path(tmp)
        datadir = workdir / "sequencer"
        launch = ["--port", "0", "--block-time", "0", "--datadir", str(datadir), "--dev"]
        with NodeProcess.launch(launch) as node:
            ours = _workloads(node.url, "ours", artifacts, peers, transfers)
            replay = _replay(node.url, workdir)
            blocks = Web3(Web3.HTTPProvider(node.url)).eth.block_number
        # Sizes after a clean stop: SQLite folds its write-ahead log into the database file on close.
        size = _datadir_bytes(datadir)
        click.echo(f"[db] {blocks} blocks: {size / 1e6:.1f} MB, {size / blocks * 1000 / 1e6:.1f} MB per 1,000")
        empty_per_1000 = None
        if empty_blocks:
            click.echo(f"[db] sealing {empty_blocks} empty blocks ...")
            with NodeProcess.launch(launch) as node:
                w3 = Web3(Web3.HTTPProvider(node.url))
                for _ in range(empty_blocks):
                    w3.provider.make_request("evm_mine", [])
            empty_per_1000 = (_datadir_bytes(datadir) - size) / empty_blocks * 1000
            click.echo(f"[db] {empty_per_1000 / 1e6:.3f} MB per 1,000 empty blocks")
        with Anvil.start(chain_id=CHAIN_ID) as anvil:
            theirs = _workloads(anvil.uri, "anvil", artifacts, peers, transfers)
    _plot(ours, theirs, OUT / "bench-l2.png")
    click.echo("")
    click.echo(f"{'workload':<14}{'ours tx/s':>12}{'anvil tx/s':>12}{'ratio':>8}")
    for key, label in (("transfer_tps", "transfers"), ("vote_tps", "vote commits"), ("tps", "both")):
        click.echo(f"{label:<14}{ours[key]:>12.1f}{theirs[key]:>12.1f}{ours[key] / theirs[key]:>8.3f}")
    seconds = replay["blocks"] / replay["blocks_s"]
    click.echo(f"replay: {replay['blocks']} blocks, {replay['gas']:,} gas in {seconds:.1f} s: "
               f"{replay['blocks_s']:.1f} blocks/s, {replay['mgas_s']:.2f} Mgas/s")  # fmt: skip
    if empty_per_1000 is not None:
        click.echo(f"database: {size / blocks * 1000 / 1e6:.1f} MB per 1,000 blocks of this workload, "
                   f"{empty_per_1000 / 1e6:.3f} MB per 1,000 empty blocks")  # fmt: skip
    click.echo("plot: out/bench-l2.png")
    ratio = ours["tps"] / theirs["tps"]
    click.echo(f"l2: tps={ours['tps']:.1f} anvil_tps={theirs['tps']:.1f} ratio={ratio:.3f} "
               f"replay_mgas_s={replay['mgas_s']:.2f}")  # fmt: skip


def _datadir_bytes(datadir: Path) -> int:
    return sum(p.stat().st_size for p in datadir.iterdir() if p.is_file())


if __name__ == "__main__":
    main()
