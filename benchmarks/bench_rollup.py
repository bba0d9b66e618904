"""What settling our L2 on L1 costs and how long it takes: L1 gas per L2 transaction posted, deposit latency, the
output dispute's moves and gas, and how long the verifier takes to catch a wrong output.

    make bench-rollup    # or: .venv/bin/python benchmarks/bench_rollup.py [--peers 50] [--deposits 11] [--catches 5]

Batches. Our L2 node (`--block-time 0 --dev`, a block per transaction) and an anvil with the L2's chain id and the
same funded accounts run the same signed transactions, byte for byte: IdentityRegistry and SwarmCoordinator
deployed, `--peers` peers registered and joined by two owners (not measured), 100 simple transfers, then each peer's
`commitVote` and, in the next round's reveal window, its `revealVote`. The L2 blocks (debug_getRawBlock) of the first
1, 10 and 100 transfers, and of 1, 10 and 100 vote blocks straddling the commit/reveal boundary (half commits, half
reveals; 1: a reveal), are encoded as one channel each, with and without zlib (rollup/batch.py `encode_batches`),
and posted by `measure_l1_gas` (rollup/batcher.py) to a real BatchInbox (`submit`, as our batcher does) and to a
plain inbox address (OP's way) on that anvil; `l1_gas_for`'s estimate for the address is shown beside. The batches
carry epoch 0 (the node follows no L1 here), so the figures leave out one 32-byte epoch hash per L1 block. The
baseline is the same transactions executed on L1: each one's gas on the anvil (21,000 a transfer, the
SwarmCoordinator call's gas for a vote).

Deposits. anvil mining a block every second with L2OutputOracle and RollupPortal, and `python -m rollup.node
--block-time 0 --l1-rpc ... --portal ...` following it. Each deposit (`depositTransaction`, 1 to 5 s apart at
random) is timed from its L1 receipt appearing to its L2 receipt appearing (both polled every 10 ms): seconds, and
L1 blocks (the L1 head when the L2 had it, less the deposit's L1 block; 0: before the next L1 block).

Dispute. anvil (a block per transaction, 12 s apart as Ethereum's slots) with the real L2OutputOracle (an output
every 1,024 L2 blocks) and OutputDispute; the proposer's output is wrong from transaction 3 of block 700 (5
transactions in it), the challenger plays the honest chain and wins by the committee's verdict
(rollup/dispute_play.py, the toy L2 the dispute tests play). Moves as the contract counts them; gas of every call
from the opening to the verdict.

Verifier. anvil (deployed at once, then a block a second) with the oracle (an output every 16 L2 blocks), portal,
BatchInbox and OutputDispute; a node following it, `python -m rollup.batcher` and `python -m rollup.verifier` (its
defaults: 1 s poll, no confirmations) with the challenger's key, all processes. Once the verifier has derived the
blocks from L1 (the steady state: a proposer posts only what is on L1), the proposer posts `--catches` wrong output
roots one after another, each timed from its L1 receipt appearing to the verifier's dispute against it appearing
(`disputeOfOutput`, polled every 10 ms): seconds, and L1 blocks between the two transactions.

Prints a progress line per measurement, writes out/bench-rollup.json and out/bench-rollup.png (L1 gas per L2
transaction by batch size), and as its last line:
`rollup: l1_gas_per_tx=<x> deposit_blocks=<d> dispute_moves=<m> dispute_gas=<g>`, x the L1 gas per transfer of 100
zlib-compressed transfers through BatchInbox, d the median deposit latency in L1 blocks.
"""

from __future__ import annotations

import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_utils import keccak  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.exceptions import TransactionNotFound  # noqa: E402
from web3.logs import DISCARD  # noqa: E402

from offchain.chain.anvil import Anvil, free_port  # noqa: E402
from rollup.batch import batch_from_raw_block, encode_batches, l1_gas_for  # noqa: E402
from rollup.batcher import Inbox, InboxContract, measure_l1_gas  # noqa: E402
from rollup.conformance import NodeProcess  # noqa: E402
from rollup.deposits import deposit_from_log  # noqa: E402
from rollup.dispute_play import COMMITTEE, HONEST, THRESHOLD, Party, ToyL2, Web3Game, transact  # noqa: E402

CHAIN_ID = 685686
MNEMONIC = "test test test test test test test test test test test junk"
Account.enable_unaudited_hdwallet_features()
KEYS = [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(10)]
DEPLOYER, OWNER_A, OWNER_B, SENDER, DEPOSITOR = KEYS[:5]
BATCHER, INBOX_ADMIN = KEYS[8], KEYS[9]  # never in the mirrored workload, so its nonces match on both chains
PLAIN_INBOX = "0xfF00000000000000000000000000000000685686"
FEE = {"maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**6}
STAGES = [3600, 3600, 3600]  # one long round: the workload's blocks all fit in its first stage
SIZES = (1, 10, 100)
TRANSFERS = max(SIZES)
L1_BLOCK = "0x4200000000000000000000000000000000000015"
INTERVAL = 1_024
VERIFIER_INTERVAL = 16  # L2 blocks per output where the verifier is timed: short, so the blocks exist in seconds
BAD = (700, 3)
CHALLENGER_BOND, PROPOSER_BOND, CLOCK = 10**17, 10**18, 3_600
OUT = ROOT / "out"


def say(line: str) -> None:
    click.echo(line)


@cache
def _types() -> dict[str, Any]:
    from ape import project

    names = ("IdentityRegistry", "SwarmCoordinator", "BatchInbox", "L2OutputOracle", "RollupPortal", "OutputDispute")
    return {name: getattr(project, name).contract_type for name in names}


def _abi(name: str) -> list:
    return [item.model_dump(mode="json", by_alias=True) for item in _types()[name].abi]


def _web3(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))


def _at(w3: Web3, name: str, address: str) -> Any:
    # decode_tuples: structs read by field name (the dispute's `d.phase`).
    return w3.eth.contract(address=address, abi=_abi(name), decode_tuples=True)


def deploy(w3: Web3, key: Any, name: str, *args: Any) -> tuple[Any, Any]:
    factory = w3.eth.contract(abi=_abi(name), bytecode=_types()[name].deployment_bytecode.bytecode)
    tx = factory.constructor(*args).build_transaction(
        {"from": key.address, "nonce": w3.eth.get_transaction_count(key.address), "gas": 8_000_000}
    )
    tx_hash = w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1, f"deploying {name} failed"
    return _at(w3, name, receipt.contractAddress), receipt


# ---------------------------------------------------------------- batches


class Twin:
    """Signs once and sends the same bytes to the L2 and to the L1 mirror, so the baseline is exactly the L2's
    transactions executed on L1 (same chain id, accounts, nonces, hence the same contract addresses)."""

    def __init__(self, l2: Web3, l1: Web3) -> None:
        self.l2, self.l1 = l2, l1
        self.nonces: dict[str, int] = {}

    def send(self, key: Any, tx: dict) -> bytes:
        if key.address not in self.nonces:
            self.nonces[key.address] = self.l2.eth.get_transaction_count(key.address)
            assert self.l1.eth.get_transaction_count(key.address) == self.nonces[key.address]
        raw = key.sign_transaction({"chainId": CHAIN_ID, "nonce": self.nonces[key.address], **FEE, **tx})
        self.nonces[key.address] += 1
        for w3 in (self.l2, self.l1):
            w3.eth.send_raw_transaction(raw.raw_transaction)
        return bytes(raw.hash)

    def call(self, key: Any, fn: Any, gas: int) -> bytes:
        return self.send(key, {"to": fn.address, "data": fn._encode_transaction_data(), "gas": gas})

    def receipts(self, hashes: list[bytes]) -> list[tuple[Any, Any]]:
        out = []
        for h in hashes:
            pair = tuple(w3.eth.wait_for_transaction_receipt(h, timeout=60) for w3 in (self.l2, self.l1))
            assert all(r.status == 1 for r in pair), f"0x{h.hex()} failed: {pair}"
            out.append(pair)
        return out

    def deploy(self, key: Any, name: str, *args: Any) -> Any:
        data = self.l2.eth.contract(abi=_abi(name), bytecode=_types()[name].deployment_bytecode.bytecode)
        ((on_l2, on_l1),) = self.receipts([self.send(key, {"data": data.constructor(*args).data_in_transaction,
                                                           "gas": 8_000_000})])  # fmt: skip
        assert on_l2.contractAddress == on_l1.contractAddress
        return _at(self.l2, name, on_l2.contractAddress), on_l2, on_l1


def _workload(twin: Twin, peers_n: int) -> dict[str, list[tuple[Any, Any]]]:
    """Runs the transfers and votes on both chains; each one's (L2 receipt, L1 receipt)."""
    from offchain.identity import PeerIdentity

    say(f"[batches] {peers_n} peer keys, IdentityRegistry and SwarmCoordinator on both chains ...")
    peers = [PeerIdentity.generate() for _ in range(peers_n)]
    registry, _, _ = twin.deploy(DEPLOYER, "IdentityRegistry")
    swarm, on_l2, on_l1 = twin.deploy(DEPLOYER, "SwarmCoordinator", registry.address, DEPLOYER.address, STAGES,
                                      10**15, 8)  # fmt: skip
    owners = [OWNER_A, OWNER_B]  # a vote must go to another owner's peer: even peers vote for odd ones and back
    setup = []
    for i, peer in enumerate(peers):
        owner = owners[i % 2]
        message = bytes(registry.functions.bindingMessage(owner.address, peer.peer_id_digest).call())
        register = registry.functions.registerPeer(peer.public_key_bytes, peer.sign(message))
        setup.append(twin.call(owner, register, 1_000_000))
        setup.append(twin.call(owner, swarm.functions.joinRound(peer.peer_id_digest), 300_000))
    twin.receipts(setup)

    say(f"[batches] {TRANSFERS} transfers, {peers_n} vote commits and {peers_n} reveals on both chains ...")
    to = Account.create().address
    transfers = twin.receipts([twin.send(SENDER, {"to": to, "value": 1, "gas": 21_000}) for _ in range(TRANSFERS)])
    votes, hashes = [], []
    for i, peer in enumerate(peers):
        owner, candidate, salt = owners[i % 2], peers[(i + 1) % peers_n].peer_id_digest, secrets.token_bytes(32)
        commitment = swarm.functions.voteCommitment(0, peer.peer_id_digest, candidate, salt).call()
        hashes.append(twin.call(owner, swarm.functions.commitVote(peer.peer_id_digest, commitment), 200_000))
        votes.append((owner, peer.peer_id_digest, candidate, salt))
    commits = twin.receipts(hashes)
    # Round 1 starts one round after each chain's deployment block; reveals are valid in its first stage only.
    for w3, deployed in ((twin.l2, on_l2), (twin.l1, on_l1)):
        start = w3.eth.get_block(deployed.blockNumber).timestamp + sum(STAGES)
        reply = w3.provider.make_request("evm_setNextBlockTimestamp", [start])
        assert "error" not in reply, reply
    reveals = twin.receipts([twin.call(o, swarm.functions.revealVote(p, 0, c, s), 300_000) for o, p, c, s in votes])
    return {"transfers": transfers, "votes": commits + reveals}


def _raw_block(w3: Web3, number: int) -> bytes:
    reply = w3.provider.make_request("debug_getRawBlock", [hex(number)])
    return bytes.fromhex(reply["result"][2:])


def _batches(peers_n: int) -> dict[str, Any]:
    started = time.perf_counter()
    with (
        Anvil.start(chain_id=CHAIN_ID) as anvil,
        NodeProcess.launch(["--port", "0", "--block-time", "0", "--dev"], timeout=60) as node,
    ):
        l1, l2 = _web3(anvil.uri), _web3(node.url)
        twin = Twin(l2, l1)
        runs = _workload(twin, peers_n)
        # py-evm (ours) and revm (anvil) must agree on every transaction's gas, or the baseline is not the L2's.
        differing = sum(a.gasUsed != b.gasUsed for run in runs.values() for a, b in run)
        say(f"[batches] workload done in {time.perf_counter() - started:.1f} s; "
            f"L2 and L1 gas differ on {differing} of {sum(map(len, runs.values()))} transactions")  # fmt: skip

        inbox_contract, _ = deploy(l1, INBOX_ADMIN, "BatchInbox", INBOX_ADMIN.address)
        role = inbox_contract.functions.BATCHER_ROLE().call()
        transact(inbox_contract, "grantRole", role, BATCHER.address, sender=INBOX_ADMIN)
        inboxes = {"inbox": InboxContract(inbox_contract.address), "address": Inbox(PLAIN_INBOX)}
        # A batcher's first submit sets the inbox's nonce from zero (17,100 gas more than any later one): pay it
        # here so every row is the steady state.
        measure_l1_gas([b"\x00"], l1, inboxes["inbox"], BATCHER)

        rows = []
        say("")
        # ratio: through BatchInbox against the same transactions executed on L1.
        say(f"{'':<33}{'L1 gas per L2 transaction':-^45}")
        say(f"{'workload':<10}{'txs':>5}{'channel':>8}{'bytes/tx':>10}{'BatchInbox':>12}{'address':>9}"
            f"{'estimate':>10}{'on L1':>9}{'ratio':>7}")  # fmt: skip
        for workload, run in runs.items():
            half = len(run) // 2
            for n in SIZES:
                # Votes: the n blocks around the commit/reveal boundary, so a batch holds both kinds.
                window = run[:n] if workload == "transfers" else run[half - n // 2 : half - n // 2 + n]
                raws = [_raw_block(l2, l2r.blockNumber) for l2r, _ in window]
                baseline = sum(l1r.gasUsed for _, l1r in window)
                for compress in (True, False):
                    datas = encode_batches([batch_from_raw_block(r) for r in raws], compress=compress)
                    gas = {k: sum(measure_l1_gas(datas, l1, inbox, BATCHER)) for k, inbox in inboxes.items()}
                    row = {
                        "workload": workload,
                        "txs": n,
                        "compressed": compress,
                        "l1_transactions": len(datas),
                        "frame_bytes": sum(map(len, datas)),
                        "l1_gas_inbox": gas["inbox"],
                        "l1_gas_address": gas["address"],
                        "l1_gas_address_estimate": l1_gas_for(raws, compress),
                        "baseline_l1_gas": baseline,
                    }
                    rows.append(row)
                    say(f"{workload:<10}{n:>5}{'zlib' if compress else 'plain':>8}{row['frame_bytes'] / n:>10.0f}"
                        f"{gas['inbox'] / n:>12,.0f}{gas['address'] / n:>9,.0f}"
                        f"{row['l1_gas_address_estimate'] / n:>10,.0f}{baseline / n:>9,.0f}"
                        f"{gas['inbox'] / baseline:>7.3f}")  # fmt: skip
        say("")
    return {"rows": rows, "gas_mismatches": differing, "seconds": time.perf_counter() - started}


# ---------------------------------------------------------------- deposits


def _deposits(samples: int) -> dict[str, Any]:
    started = time.perf_counter()
    with Anvil.start(block_time=1) as anvil:
        l1 = _web3(anvil.uri)
        say("[deposits] L2OutputOracle and RollupPortal on anvil (a block every 1 s) ...")
        oracle, _ = deploy(l1, DEPLOYER, "L2OutputOracle", 10, 1, 0, 0, 60, 0, DEPLOYER.address)
        portal, deployed = deploy(l1, DEPLOYER, "RollupPortal", oracle.address, 60)
        args = ["--port", "0", "--block-time", "0", "--l1-rpc", anvil.uri, "--portal", portal.address,
                "--l1-start", str(deployed.blockNumber)]  # fmt: skip
        with NodeProcess.launch(args, timeout=60) as node:
            l2 = _web3(node.url)
            origin = keccak(b"number()")[:4]
            # Deposits are timed only once the node has caught up with the L1 blocks mined while it started.
            while int.from_bytes(l2.eth.call({"to": L1_BLOCK, "data": origin}), "big") < l1.eth.block_number - 1:
                time.sleep(0.1)
            say(f"[deposits] the node follows L1 (#{l1.eth.block_number}); {samples} deposits ...")
            out = []
            for i in range(samples):
                # The latency is the wait for the node's next L1 poll after the L1 block, and the poll's period
                # (1 s plus its work) drifts against anvil's 1 s blocks by a few tens of ms per block: spacing the
                # deposits over ~30 s samples the whole cycle rather than one phase of it.
                time.sleep(random.uniform(1, 5))
                fn = portal.functions.depositTransaction(Account.create().address, 10**15, 100_000, False, b"")
                tx = fn.build_transaction({"from": DEPOSITOR.address, "value": 10**15, "gas": 200_000,
                                           "nonce": l1.eth.get_transaction_count(DEPOSITOR.address)})  # fmt: skip
                l1_hash = l1.eth.send_raw_transaction(DEPOSITOR.sign_transaction(tx).raw_transaction)
                l1_receipt = _poll(lambda h=l1_hash: l1.eth.get_transaction_receipt(h))
                seen_l1 = time.perf_counter()
                l2_hash = deposit_from_log(l1_receipt.logs[0]).hash
                l2_receipt = _poll(lambda h=l2_hash: l2.eth.get_transaction_receipt(h))
                seen_l2 = time.perf_counter()
                head = l1.eth.block_number
                sample = {
                    "l1_block": l1_receipt.blockNumber,
                    "l1_head_when_on_l2": head,
                    "blocks": head - l1_receipt.blockNumber,
                    "seconds": seen_l2 - seen_l1,
                    "l2_block": l2_receipt.blockNumber,
                }
                out.append(sample)
                say(f"[deposits] {i + 1}/{samples}: L1 #{sample['l1_block']} -> L2 #{sample['l2_block']} after "
                    f"{sample['seconds']:.2f} s, {sample['blocks']} L1 blocks")  # fmt: skip
    blocks = [s["blocks"] for s in out]
    seconds = [s["seconds"] for s in out]
    return {
        "samples": out,
        "median_blocks": statistics.median(blocks),
        "max_blocks": max(blocks),
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
        "seconds": time.perf_counter() - started,
    }


def _poll(get, timeout: float = 30.0, every: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = get()
        except TransactionNotFound:
            got = None
        if got is not None:
            return got
        time.sleep(every)
    raise TimeoutError(f"nothing after {timeout} s")


# ---------------------------------------------------------------- dispute


def _dispute() -> dict[str, Any]:
    started = time.perf_counter()
    admin, proposer, challenger = KEYS[0], KEYS[1], KEYS[2]
    with Anvil.start() as anvil:
        l1 = _web3(anvil.uri)
        say(f"[dispute] L2OutputOracle (an output every {INTERVAL:,} blocks) and OutputDispute on anvil ...")
        oracle, _ = deploy(l1, admin, "L2OutputOracle", INTERVAL, 1, 0, 0, 3600, PROPOSER_BOND, admin.address)
        transact(oracle, "grantRole", oracle.functions.PROPOSER_ROLE().call(), proposer.address, sender=admin)
        game, _ = deploy(l1, admin, "OutputDispute", oracle.address, admin.address, HONEST.output_root(0),
                         CHALLENGER_BOND, CLOCK, 16, 16)  # fmt: skip
        transact(oracle, "grantRole", oracle.functions.DISPUTE_ROLE().call(), game.address, sender=admin)
        transact(game, "setCommittee", [m.address for m in COMMITTEE], THRESHOLD, sender=admin)
        liar = ToyL2(bad=BAD)
        for k in (1, 2):
            transact(oracle, "proposeL2Output", liar.output_root(k * INTERVAL), k * INTERVAL, sender=proposer,
                     value=PROPOSER_BOND)  # fmt: skip
        say(f"[dispute] output 0 wrong from transaction {BAD[1]} of block {BAD[0]}; playing ...")
        # Each move in its own 12 s slot, as on Ethereum: each spends its side's clock, a stored value that then
        # changes (anvil would otherwise mine moves in the same second and leave it as it was, 2,800 gas less).
        l1.provider.make_request("anvil_setBlockTimestampInterval", [12])
        opening = transact(game, "openDispute", 0, sender=challenger, value=CHALLENGER_BOND)
        (opened,) = game.events.DisputeOpened().process_receipt(opening, errors=DISCARD)
        play = Web3Game(game, opened.args.disputeId, challenger, proposer, HONEST, liar)
        play.play_to_committee()
        d = play.d
        assert (d.l2Block, d.txIndex) == BAD, (d.l2Block, d.txIndex)
        play.verdict(Party.CHALLENGER)
        d = play.d
        assert oracle.functions.nextOutputIndex().call() == 0, "the wrong output was not deleted"
        calls = [("openDispute", opening.gasUsed)] + [
            (m, r.gasUsed) for m, r in zip(play.methods, play.receipts, strict=True)
        ]
    for name, gas in calls:
        say(f"[dispute]   {name:<20}{gas:>10,}")
    total = sum(g for _, g in calls)
    say(f"[dispute] {d.moves} moves, {len(calls)} calls, {total:,} gas")
    return {
        "blocks": INTERVAL,
        "bad": list(BAD),
        "moves": d.moves,
        "calls": [{"method": m, "gas": g} for m, g in calls],
        "gas": total,
        "seconds": time.perf_counter() - started,
    }


# ---------------------------------------------------------------- verifier


def _verifier_catch(samples: int) -> dict[str, Any]:
    """Seconds and L1 blocks from a wrong output's L1 receipt to the verifier's `openDispute` against it."""
    from rollup.chain import L2Chain
    from rollup.genesis import Genesis
    from rollup.node import DEFAULT_GENESIS
    from rollup.output import output_at
    from rollup.store import Store
    from rollup.system import Service

    started = time.perf_counter()
    admin, proposer, sender, challenger, batcher = KEYS[0], KEYS[1], KEYS[2], KEYS[6], KEYS[7]
    l2_blocks = VERIFIER_INTERVAL * samples
    with Anvil.start() as anvil, tempfile.TemporaryDirectory(prefix="bench-rollup-") as tmp:
        workdir, l1 = Path(tmp), _web3(anvil.uri)
        say("[verifier] the L1 contracts, a node following L1, python -m rollup.batcher and python -m rollup.verifier")
        oracle, _ = deploy(l1, admin, "L2OutputOracle", VERIFIER_INTERVAL, 1, 0, 0, 3600, PROPOSER_BOND, admin.address)
        portal, deployed = deploy(l1, admin, "RollupPortal", oracle.address, 60)
        inbox, _ = deploy(l1, admin, "BatchInbox", admin.address)
        genesis = L2Chain(Genesis.load(DEFAULT_GENESIS), Store.memory())
        agreed = output_at(genesis, genesis.head).root  # the game's starting root: the L2 genesis output
        genesis.store.close()
        game, _ = deploy(l1, admin, "OutputDispute", oracle.address, admin.address, agreed, CHALLENGER_BOND, CLOCK,
                         16, 16)  # fmt: skip
        transact(oracle, "grantRole", oracle.functions.PROPOSER_ROLE().call(), proposer.address, sender=admin)
        transact(oracle, "grantRole", oracle.functions.DISPUTE_ROLE().call(), game.address, sender=admin)
        transact(inbox, "grantRole", inbox.functions.BATCHER_ROLE().call(), batcher.address, sender=admin)
        transact(game, "setCommittee", [m.address for m in COMMITTEE], THRESHOLD, sender=admin)
        # Deployed at once (automine); from here a block a second, as the deposits' L1.
        anvil.rpc("evm_setIntervalMining", [1])
        for name, key in (("batcher", batcher), ("challenger", challenger)):
            path = workdir / f"{name}.key"
            path.touch(mode=0o600)
            path.write_text(key.key.hex() + "\n")
        start = str(deployed.blockNumber)
        node_args = ["--port", "0", "--block-time", "0", "--l1-rpc", anvil.uri, "--portal", portal.address,
                     "--l1-start", start]  # fmt: skip
        with NodeProcess.launch(node_args, timeout=60) as node:
            l2 = _web3(node.url)
            nonce = l2.eth.get_transaction_count(sender.address)
            while l2.eth.block_number < l2_blocks:  # a transfer a block, so the outputs' blocks exist in seconds
                tx = {"chainId": CHAIN_ID, "nonce": nonce, "to": admin.address, "value": 1, "gas": 21_000, **FEE}
                l2.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
                nonce += 1
            verifier_url = f"http://127.0.0.1:{free_port()}"
            services = [
                Service("batcher", ["rollup.batcher", "--l1-rpc", anvil.uri, "--l2-rpc", node.url, "--inbox",
                                    inbox.address, "--datadir", str(workdir / "batcher"), "--key-file",
                                    str(workdir / "batcher.key"), "--poll-seconds", "0.5"],
                        workdir / "batcher.log"),
                Service("verifier", ["rollup.verifier", "--l1-rpc", anvil.uri, "--portal", portal.address,
                                     "--inbox", inbox.address, "--batcher", batcher.address, "--oracle",
                                     oracle.address, "--game", game.address, "--l1-start", start, "--port",
                                     verifier_url.rsplit(":", 1)[1], "--key-file", str(workdir / "challenger.key")],
                        workdir / "verifier.log", verifier_url),
            ]  # fmt: skip
            try:
                for service in services:
                    service.start(120)
                derived = _web3(verifier_url)
                # Steady state: the verifier has derived the blocks before their outputs are posted, as it has
                # when the proposer posts only what is on L1.
                _poll(lambda: derived.eth.block_number >= l2_blocks or None, timeout=120, every=0.2)
                say(f"[verifier] derived #{derived.eth.block_number} from L1; {samples} wrong outputs ...")
                out = []
                for i in range(samples):
                    time.sleep(random.uniform(1, 4))  # every phase of the L1 slot and of the verifier's 1 s poll
                    block = VERIFIER_INTERVAL * (i + 1)
                    fn = oracle.functions.proposeL2Output(keccak(b"a wrong output %d" % i), block)
                    tx = fn.build_transaction({"from": proposer.address, "value": PROPOSER_BOND, "gas": 500_000,
                                               "nonce": l1.eth.get_transaction_count(proposer.address)})  # fmt: skip
                    posted = l1.eth.send_raw_transaction(proposer.sign_transaction(tx).raw_transaction)
                    receipt = _poll(lambda h=posted: l1.eth.get_transaction_receipt(h))
                    seen_posted = time.perf_counter()
                    assert receipt.status == 1, "the wrong output was refused"
                    _poll(lambda i=i: game.functions.disputeOfOutput(i).call() or None, timeout=60)
                    seen_disputed = time.perf_counter()
                    (opened,) = game.events.DisputeOpened().get_logs(
                        from_block=receipt.blockNumber, argument_filters={"outputIndex": i}
                    )
                    sample = {
                        "output": i,
                        "l2_block": block,
                        "l1_block": receipt.blockNumber,
                        "dispute_l1_block": opened.blockNumber,
                        "blocks": opened.blockNumber - receipt.blockNumber,
                        "seconds": seen_disputed - seen_posted,
                    }
                    out.append(sample)
                    say(f"[verifier] {i + 1}/{samples}: output {i} (L2 #{block}) posted in L1 #{sample['l1_block']}, "
                        f"disputed in #{sample['dispute_l1_block']}: {sample['seconds']:.2f} s, "
                        f"{sample['blocks']} L1 blocks")  # fmt: skip
            finally:
                for service in services:
                    service.stop()
    seconds = [s["seconds"] for s in out]
    return {
        "samples": out,
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
        "median_blocks": statistics.median(s["blocks"] for s in out),
        "seconds": time.perf_counter() - started,
    }


# ---------------------------------------------------------------- report


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = {"transfers": "tab:blue", "votes": "tab:orange"}
    for workload, color in colors.items():
        for compress, style in ((True, "-o"), (False, "--s")):
            pts = [r for r in rows if r["workload"] == workload and r["compressed"] == compress]
            label = f"{workload}, {'zlib' if compress else 'uncompressed'} (BatchInbox)"
            ax.plot([r["txs"] for r in pts], [r["l1_gas_inbox"] / r["txs"] for r in pts], style, color=color,
                    label=label, alpha=1 if compress else 0.6)  # fmt: skip
        pts = [r for r in rows if r["workload"] == workload and r["compressed"]]
        ax.plot([r["txs"] for r in pts], [r["baseline_l1_gas"] / r["txs"] for r in pts], ":", color=color,
                label=f"{workload} executed on L1 (baseline)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(SIZES), [str(s) for s in SIZES])
    ax.set_xlabel("L2 transactions in the channel (one block each)")
    ax.set_ylabel("L1 gas per L2 transaction")
    ax.set_title("Posting L2 transactions to L1 (anvil, Prague)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=120)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


@click.command()
@click.option(
    "--peers",
    type=click.IntRange(2),
    default=50,
    show_default=True,
    help="Swarm peers, each one vote commit and one reveal (even, at least 50 for a batch of 100 votes).",
)
@click.option("--deposits", type=click.IntRange(1), default=11, show_default=True, help="Deposits timed.")
@click.option(
    "--catches", type=click.IntRange(1), default=5, show_default=True, help="Wrong outputs the verifier meets."
)
def main(peers: int, deposits: int, catches: int) -> None:
    if peers % 2 or 2 * peers < max(SIZES):
        raise click.BadParameter(f"an even number of at least {max(SIZES) // 2}", param_hint="--peers")
    started = time.perf_counter()
    _types()  # Ape's import and the artifacts once, before anything is timed
    batches = _batches(peers)
    deposit = _deposits(deposits)
    dispute = _dispute()
    verifier = _verifier_catch(catches)

    rows = batches["rows"]
    best = next(r for r in rows if r["workload"] == "transfers" and r["txs"] == 100 and r["compressed"])
    x = best["l1_gas_inbox"] / best["txs"]
    base = best["baseline_l1_gas"] / best["txs"]
    votes = next(r for r in rows if r["workload"] == "votes" and r["txs"] == 100 and r["compressed"])
    elapsed = time.perf_counter() - started
    summary = {
        "l1_gas_per_tx": round(x),
        "baseline_l1_gas_per_tx": base,
        "ratio": x / base,
        "votes_l1_gas_per_tx": round(votes["l1_gas_inbox"] / votes["txs"]),
        "votes_ratio": votes["l1_gas_inbox"] / votes["baseline_l1_gas"],
        "deposit_blocks": deposit["median_blocks"],
        "deposit_seconds": deposit["median_seconds"],
        "dispute_moves": dispute["moves"],
        "dispute_gas": dispute["gas"],
        "verifier_catch_seconds": verifier["median_seconds"],
        "verifier_catch_blocks": verifier["median_blocks"],
    }
    OUT.mkdir(exist_ok=True)
    report = {"summary": summary, "batches": batches, "deposits": deposit, "dispute": dispute,
              "verifier": verifier, "seconds": elapsed}  # fmt: skip
    (OUT / "bench-rollup.json").write_text(json.dumps(report, indent=2) + "\n")
    _plot(rows, OUT / "bench-rollup.png")
    say(f"deposits: median {_fmt(deposit['median_blocks'])} L1 blocks ({deposit['median_seconds']:.2f} s), "
        f"at most {deposit['max_blocks']} ({deposit['max_seconds']:.2f} s), over {deposits}")  # fmt: skip
    say(f"verifier: a wrong output disputed a median {verifier['median_seconds']:.2f} s "
        f"({_fmt(verifier['median_blocks'])} L1 blocks) after it landed, at most {verifier['max_seconds']:.2f} s, "
        f"over {catches}")  # fmt: skip
    say(f"votes: 100 in one zlib channel cost {votes['l1_gas_inbox'] / 100:,.0f} L1 gas each against "
        f"{votes['baseline_l1_gas'] / 100:,.0f} executed on L1: ratio {summary['votes_ratio']:.3f}")  # fmt: skip
    say(f"baseline: 100 transfers in one zlib channel cost {x:,.0f} L1 gas each against {base:,.0f} as plain L1 "
        f"transfers: ratio {x / base:.3f} ({base / x:.1f}x cheaper)")  # fmt: skip
    say(f"wrote out/bench-rollup.json and out/bench-rollup.png in {elapsed:.0f} s")
    say(f"rollup: l1_gas_per_tx={round(x)} deposit_blocks={_fmt(deposit['median_blocks'])} "
        f"dispute_moves={dispute['moves']} dispute_gas={dispute['gas']}")  # fmt: skip


if __name__ == "__main__":
    main()
