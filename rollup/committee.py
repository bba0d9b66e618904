"""The output dispute committee: judges the sealed disputes of the L1 OutputDispute game by replaying the pinned step
of the L2 block (rollup/replay.py) and signs the verdict with the members' keys it holds.

    python -m rollup.committee --l1-rpc http://127.0.0.1:8545 --game 0x... \\
        --key-file member1.key --key-file member2.key       # or --account ALIAS (Ape), both repeatable

Every pass reads the game's new `RecordSealed` events; for each sealed dispute still waiting for its committee it
reads, from L1 logs alone, the dispute's `BlockRevealed` (the header, the transaction count), `TransactionPinned`
(the step, the agreed pre-state root) and both `EvidencePosted`, checks that they hash to the sealed record, runs
`replay.judge`, signs `committeeDigest(disputeId, winner)` (EIP-191) with each of its keys that belongs to the
dispute's committee (`committeeOf`), and sends `resolveByCommittee` from its first key once it holds the
committee's threshold of signatures. With fewer, it logs its signatures for the other members to add theirs.

Kind.Block disputes (`disputeBlock`: the challenger agrees with the block's state root and disputes the rest of the
block) are not judged by this tool: judging them means deriving the block from L1, which it does not do. It logs
them and leaves them to expire; when the committee's clock runs out, `timeout` (anyone) expires the dispute and the
contract deletes the output (its bond back to the proposer, the challenger's bond back to the challenger).

A bad record (a header this genesis does not decode, logs that do not hash to the record, a replay that fails on
something it should have decided) is logged and skipped, and the process goes on; no verdict from here means the
dispute expires, which deletes the output. A dispute is acted on once: one this process finished with, or that
`disputeOf` shows resolved by anyone, is not resolved again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from eth_abi import encode as abi_encode
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from rollup.abi import contract_abi
from rollup.cli import load_key, setup_logging
from rollup.dispute import game_logs
from rollup.dispute_play import Kind, Party, Phase
from rollup.genesis import Genesis, GenesisError
from rollup.node import DEFAULT_GENESIS
from rollup.replay import Evidence, ReplayError, decode_header, judge

log = logging.getLogger("rollup.committee")

# IOutputDispute's enums, as the contract numbers them.
# RecordSealed's record: keccak256(abi.encode(kind, l2Block, txIndex, txCount, blockHash, preRoot, defenderPostRoot,
# challengerPostRoot, defenderEvidence, challengerEvidence)).
RECORD_TYPES = ["uint8", "uint64", "uint32", "uint32", *["bytes32"] * 6]


class BadRecord(ValueError):
    """A sealed dispute whose L1 logs this tool cannot judge from."""


@dataclass(frozen=True)
class Sealed:
    dispute_id: int
    kind: int
    record: bytes
    l1_block: int


@dataclass(frozen=True)
class Case:
    """Everything `judge` needs, read from a dispute's logs."""

    header: Any
    step: int
    tx_count: int
    pre_root: bytes
    defender: Evidence
    challenger: Evidence


@dataclass
class Committee:
    l1: Web3
    game_address: str
    genesis: Genesis
    keys: Sequence[Any]  # eth_account LocalAccounts; the first also sends the verdicts
    l1_start: int = 0  # the first L1 block to read the game's events from (its deployment)
    finished: set[int] = field(default_factory=set)  # disputes this process is done with
    sealed: dict[int, Sealed] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("the committee tool needs at least one key")
        self.game = self.l1.eth.contract(address=Web3.to_checksum_address(self.game_address),
                                         abi=contract_abi("OutputDispute"))  # fmt: skip
        outputs = next(a for a in self.game.abi if a.get("name") == "disputeOf")["outputs"][0]["components"]
        self._phase_at = [c["name"] for c in outputs].index("phase")
        self._cursor = self.l1_start

    def step(self) -> list[str]:
        """One pass: read the records sealed since the last pass, then act on every sealed dispute not finished
        (those whose handling failed on the L1 node are tried again next pass). Returns what it did."""
        head = self.l1.eth.block_number
        for entry in self._logs("RecordSealed", None, self._cursor, head):
            args = entry["args"]
            self.sealed.setdefault(
                args["disputeId"], Sealed(args["disputeId"], args["kind"], bytes(args["record"]), entry["blockNumber"])
            )
        self._cursor = max(self._cursor, head + 1)
        news = []
        for dispute_id in sorted(self.sealed.keys() - self.finished):
            try:
                news.append(f"dispute {dispute_id}: {self._handle(self.sealed[dispute_id])}")
            except Exception as err:  # the L1 node, mostly: this dispute is tried again next pass, the others go on
                log.warning("dispute %d: %s: %s", dispute_id, type(err).__name__, err)
                news.append(f"dispute {dispute_id}: trying again next pass after {type(err).__name__}: {err}")
        return news

    def _handle(self, sealed: Sealed) -> str:
        dispute_id = sealed.dispute_id
        phase = self.game.functions.disputeOf(dispute_id).call()[self._phase_at]
        if phase != Phase.COMMITTEE:
            self.finished.add(dispute_id)
            return "already resolved" if phase == Phase.RESOLVED else f"not waiting for the committee (phase {phase})"
        if sealed.kind == Kind.BLOCK:
            self.finished.add(dispute_id)
            return (
                "Kind.Block (the challenger disputes the block, not its execution) is not judged by this tool: "
                "left to expire, and the contract deletes the output on expiry"
            )
        if sealed.kind != Kind.TRANSACTION:
            self.finished.add(dispute_id)
            return f"a record of kind {sealed.kind}, which this tool does not know: skipped"
        deadline = self.game.functions.moveDeadline(dispute_id).call()
        if self.l1.eth.get_block("latest")["timestamp"] > deadline:
            self.finished.add(dispute_id)
            return f"the committee's clock ran out at {deadline}: only `timeout` (expiry) is left"
        logs = self._fetch(sealed)  # everything read from L1 first: an L1 error here means try again
        try:
            case = self._case(sealed, *logs)
            winner = judge(self.genesis, case.header, case.pre_root, case.step, case.tx_count, case.defender,
                           case.challenger)  # fmt: skip
        except (BadRecord, ReplayError) as err:
            self.finished.add(dispute_id)
            log.warning("dispute %d: bad record, skipped: %s", dispute_id, err)
            return f"bad record, skipped: {err}"
        except Exception as err:  # the replay failed where it should have decided: no verdict from here
            self.finished.add(dispute_id)
            log.exception("dispute %d: the replay failed", dispute_id)
            return f"the replay failed ({type(err).__name__}: {err}): no verdict, skipped"
        return self._resolve(dispute_id, winner, case)

    def _resolve(self, dispute_id: int, winner: Party, case: Case) -> str:
        verdict = f"{winner.name.title()} wins (step {case.step} of block {case.header.block_number})"
        members, threshold = self.game.functions.committeeOf(dispute_id).call()
        if threshold == 0:
            self.finished.add(dispute_id)
            return f"{verdict}; no committee was in force when the dispute opened: it can only expire"
        ours = [k for k in self.keys if k.address in {Web3.to_checksum_address(m) for m in members}]
        digest = bytes(self.game.functions.committeeDigest(dispute_id, int(winner)).call())
        signatures = [bytes(k.sign_message(encode_defunct(primitive=digest)).signature) for k in ours]
        if len(signatures) < threshold:
            self.finished.add(dispute_id)
            listed = ", ".join(f"{k.address}: 0x{s.hex()}" for k, s in zip(ours, signatures, strict=True))
            return (
                f"{verdict}; {len(signatures)} of the {threshold} signatures needed are held here, not sent "
                f"(signatures: {listed or 'none'})"
            )
        sender = self.keys[0]
        call = self.game.functions.resolveByCommittee(dispute_id, int(winner), signatures[:threshold])
        try:
            gas = call.estimate_gas({"from": sender.address})
            tx = call.build_transaction({
                "from": sender.address,
                "nonce": self.l1.eth.get_transaction_count(sender.address, "pending"),
                "chainId": self.l1.eth.chain_id,
                # The estimate is exact for the block it ran in; the oracle's bookkeeping in the next may cost more.
                "gas": gas * 5 // 4 + 20_000,
            })  # fmt: skip
        except (ContractCustomError, ContractLogicError) as err:  # resolved by others meanwhile, or out of time
            self.finished.add(dispute_id)
            return f"{verdict}; the game refuses the verdict: {err}"
        tx_hash = self.l1.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        receipt = self.l1.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        self.finished.add(dispute_id)
        if receipt["status"] != 1:
            return f"{verdict}; resolveByCommittee failed (0x{bytes(tx_hash).hex()})"
        return f"{verdict}: resolved (0x{bytes(tx_hash).hex()}, L1 block {receipt['blockNumber']})"

    def _fetch(self, sealed: Sealed) -> tuple[list[Any], list[Any], list[Any]]:
        """The dispute's BlockRevealed, TransactionPinned and EvidencePosted events (their arguments)."""
        return tuple(
            [e["args"] for e in self._logs(event, sealed.dispute_id, self.l1_start, sealed.l1_block)]
            for event in ("BlockRevealed", "TransactionPinned", "EvidencePosted")
        )

    def _case(self, sealed: Sealed, revealed: list[Any], pinned: list[Any], posted: list[Any]) -> Case:
        """What the judge needs, from the logs; BadRecord unless they are one reveal, one pinned step and one
        evidence of each side that hash to the sealed record."""
        if len(revealed) != 1 or len(pinned) != 1 or len(posted) != 2:
            raise BadRecord(f"{len(revealed)} reveals, {len(pinned)} pinned steps, {len(posted)} evidence posts")
        (revealed,), (pinned,) = revealed, pinned
        posted = {e["party"]: e for e in posted}
        if set(posted) != {Party.CHALLENGER, Party.DEFENDER}:
            raise BadRecord("the evidence posted is not one of each side")
        raw_header = bytes(revealed["header"])
        header = decode_header(self.genesis, raw_header)
        if not header.block_number == revealed["l2Block"] == pinned["l2Block"]:
            raise BadRecord(f"the header is block {header.block_number}, the dispute's block {revealed['l2Block']}")
        evidence = {
            party: Evidence(bytes(e["postRoot"]), bytes(e["transaction"]), bytes(e["witness"]))
            for party, e in posted.items()
        }
        defender, challenger = evidence[Party.DEFENDER], evidence[Party.CHALLENGER]
        record = keccak(
            abi_encode(
                RECORD_TYPES,
                [sealed.kind, revealed["l2Block"], pinned["txIndex"], revealed["txCount"], keccak(raw_header),
                 bytes(pinned["preStateRoot"]), defender.post_root, challenger.post_root, _evidence_hash(defender),
                 _evidence_hash(challenger)],
            ),
        )  # fmt: skip
        if record != sealed.record:
            raise BadRecord("the dispute's logs do not hash to its sealed record")
        return Case(header, pinned["txIndex"], revealed["txCount"], bytes(pinned["preStateRoot"]), defender,
                    challenger)  # fmt: skip

    def _logs(self, event: str, dispute_id: int | None, first: int, last: int) -> list[Any]:
        return game_logs(self.game, event, first, last, dispute_id)


def _evidence_hash(evidence: Evidence) -> bytes:
    return keccak(abi_encode(["bytes32", "bytes32"], [keccak(evidence.transaction), keccak(evidence.witness)]))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--l1-rpc", required=True, help="The L1 node's JSON-RPC URL.")
@click.option("--game", required=True, help="The OutputDispute game's address on L1.")
@click.option("--genesis", "genesis_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_GENESIS, show_default=True, help="The L2's genesis.json.")  # fmt: skip
@click.option("--key-file", "key_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file holding a committee member's hex private key (repeatable).")  # fmt: skip
@click.option("--account", "accounts", multiple=True,
              help="An Ape account alias (or TEST::N) of a member (repeatable).")  # fmt: skip
@click.option("--l1-start", type=click.IntRange(0), default=0, show_default=True,
              help="The first L1 block to read the game's events from (its deployment block).")  # fmt: skip
@click.option("--poll", "--poll-seconds", "poll", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("-v", "--verbose", is_flag=True)
def main(
    l1_rpc: str,
    game: str,
    genesis_path: Path,
    key_files: tuple[Path, ...],
    accounts: tuple[str, ...],
    l1_start: int,
    poll: float,
    once: bool,
    verbose: bool,
) -> None:
    """Judge the game's sealed disputes and send the committee's verdicts."""
    setup_logging(verbose)
    if not Web3.is_address(game):
        raise click.ClickException(f"--game {game!r} is not an address")
    keys = [load_key(account, None, what="committee") for account in accounts] + [
        load_key(None, path, what="committee") for path in key_files
    ]
    if not keys:
        raise click.ClickException("no committee key: pass --key-file FILE or --account ALIAS (repeatable)")
    try:
        genesis = Genesis.load(genesis_path)
    except GenesisError as err:
        raise click.ClickException(str(err)) from None
    l1 = Web3(Web3.HTTPProvider(l1_rpc, request_kwargs={"timeout": 30}))
    if not l1.is_connected():
        raise click.ClickException(f"no L1 node answers at {l1_rpc}")
    committee = Committee(l1, game, genesis, keys, l1_start=l1_start)
    click.echo(f"committee: {', '.join(k.address for k in keys)} judging game {game} from L1 block {l1_start}")
    while True:
        try:
            for line in committee.step():
                click.echo(line)
        except Exception as err:  # an L1 node briefly away: say so and try again
            click.echo(f"retrying after: {type(err).__name__}: {err}", err=True)
        if once:
            return
        time.sleep(poll)


if __name__ == "__main__":
    main()
