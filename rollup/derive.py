"""Deposits from L1 into the L2 chain, and the sequencing window that stops a sequencer from censoring them.

Each L2 block names an L1 block, its L1 origin (its epoch): the L1-info deposit that opens the block records it in
the L1Block predeploy. The first L2 block of an epoch also carries every deposit the portal logged in that L1 block
(OP's derivation, specs/protocol/derivation.md). Everything here reads L1 over JSON-RPC (web3.py: eth_getBlock,
eth_getLogs on the portal) and the L2 through L2Chain:

    l1 = L1Deposits(w3, portal_address, start=deploy_block)
    origin, deposits = next_origin(chain, l1, timestamp)       # the sequencer: what the next block carries
    sequencer.seal(timestamp, l1_origin=origin, deposits=deposits)
    check_block(chain, header, l1)                             # a verifier: the block's deposits are L1's
    forced_origin(chain, l1, rules)                            # an epoch whose window closed: derivation's block

Sequencing window (OP's rule): the L2 blocks of epoch E must be derivable from L1 blocks [E, E + window). A sequencer
that keeps its origin behind so that the deposits of an L1 block do not reach L2 loses the choice once the L1 head
reaches E + window: `overdue_epoch` names E and `forced_origin` gives the block derivation builds in its place (the
L1-info deposit and E's deposits, no sequenced transaction; OP's empty batch). A deposit therefore reaches L2 at
most `window` L1 blocks after its own, whatever the sequencer does.

Not here: batches (the sequencer's own transactions posted to L1) are rollup/batch*.py's; deriving whole L2 blocks
from batches and deposits is the verifier's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth.abc import BlockHeaderAPI, SignedTransactionAPI

from rollup.chain import BuiltBlock, L2Chain
from rollup.deposits import (
    L1_BLOCK_ADDRESS,
    L1_BLOCK_HASH_SLOT,
    L1_BLOCK_SEQUENCE_SLOT,
    TRANSACTION_DEPOSITED,
    ZERO_HASH,
    L1Origin,
    deposit_from_log,
    is_deposit,
    l1_info_deposit,
)

# OP Mainnet's: a 3,600 L1-block (12 h) sequencing window, and L2 time at most 30 min ahead of its L1 origin (Fjord).
SEQUENCING_WINDOW = 3600
MAX_SEQUENCER_DRIFT = 1800


class DerivationError(ValueError):
    """An L2 block whose deposits are not the ones L1 holds, or an L1 that no longer holds the L2's origin."""


@dataclass(frozen=True)
class SequencingRules:
    window: int = SEQUENCING_WINDOW  # L1 blocks
    max_drift: int = MAX_SEQUENCER_DRIFT  # seconds


OP_MAINNET_RULES = SequencingRules()


@dataclass(frozen=True)
class ChainOrigin:
    """The L1 origin an L2 block recorded in L1Block, and its place in the epoch."""

    number: int
    hash: bytes
    sequence_number: int


class L1Deposits:
    """The L1 seen through web3.py: block headers as L1 origins and the portal's deposit logs, one L1 block at a
    time. `start` is the first L1 block the rollup reads (the portal's deployment block): the first epoch."""

    def __init__(self, w3: Any, portal: str | bytes, *, start: int = 0, batcher_hash: bytes = ZERO_HASH) -> None:
        self.w3 = w3
        self.portal = portal if isinstance(portal, str) else "0x" + portal.hex()
        self.start = start
        self.batcher_hash = batcher_hash

    def head_number(self) -> int:
        return self.w3.eth.block_number

    def origin(self, block: int | bytes) -> L1Origin:
        got = self.w3.eth.get_block(block if isinstance(block, int) else "0x" + block.hex())
        return L1Origin(
            number=got["number"],
            timestamp=got["timestamp"],
            basefee=got.get("baseFeePerGas") or 0,
            hash=bytes(got["hash"]),
            batcher_hash=self.batcher_hash,
        )

    def deposits(self, origin: L1Origin) -> list[SignedTransactionAPI]:
        """The deposits the portal logged in L1 block `origin`, in log order (a reverted L1 transaction logs
        nothing, so every log found is a deposit that happened)."""
        # By number, not EIP-234's blockHash (not every L1 node takes it); the hash is checked on each log.
        query = {"fromBlock": origin.number, "toBlock": origin.number, "address": self.portal}
        logs = self.w3.eth.get_logs({**query, "topics": ["0x" + TRANSACTION_DEPOSITED.hex()]})
        logs = sorted((log for log in logs if not log.get("removed")), key=lambda log: int(log["logIndex"]))
        for log in logs:
            if bytes(log["blockHash"]) != origin.hash:
                raise DerivationError(f"L1 block #{origin.number} changed while its deposits were read")
        return [deposit_from_log(log, origin.hash) for log in logs]


def chain_origin(chain: L2Chain, header: BlockHeaderAPI | None = None) -> ChainOrigin | None:
    """The L1 origin recorded by `header`'s block (default: the head), None before any block had one."""
    state = chain.state(header if header is not None else chain.head)
    recorded = state.get_storage(L1_BLOCK_ADDRESS, L1_BLOCK_HASH_SLOT).to_bytes(32, "big")
    if recorded == ZERO_HASH:
        return None
    number = state.get_storage(L1_BLOCK_ADDRESS, 0) & (2**64 - 1)  # slot 0: number (low 8 bytes), timestamp
    return ChainOrigin(number, recorded, state.get_storage(L1_BLOCK_ADDRESS, L1_BLOCK_SEQUENCE_SLOT))


def next_origin(chain: L2Chain, l1: L1Deposits, timestamp: int) -> tuple[L1Origin, list[SignedTransactionAPI]]:
    """The L1 origin of the next L2 block (at `timestamp`) and the deposits it must carry (those of the origin when
    the block starts its epoch), as an honest sequencer picks them: the next L1 block as soon as L2 time reaches
    its time (OP's origin selector; an L2 block is never older than its origin), at most one L1 block per L2 block.
    A first block starts at `l1.start`.

    DerivationError if the L1 no longer holds the L2's current origin (an L1 reorganisation: the L2 must be
    rebuilt from the first block that named the lost L1 block)."""
    current = chain_origin(chain)
    if current is None:
        origin = l1.origin(l1.start)
        return origin, l1.deposits(origin)
    origin = _on_l1(l1, current)
    if current.number + 1 <= l1.head_number():
        following = l1.origin(current.number + 1)
        if following.timestamp <= timestamp:
            return following, l1.deposits(following)
    return origin, []


def overdue_epoch(chain: L2Chain, l1: L1Deposits, rules: SequencingRules = OP_MAINNET_RULES) -> int | None:
    """The L1 block E after the L2 head's origin whose sequencing window has closed (the L1 head is at or past
    E + window): a sequencer that kept its origin behind so long is censoring E's deposits, and derivation takes
    the epoch out of its hands (`forced_origin`). None while the sequencer is in time."""
    current = chain_origin(chain)
    first = current.number + 1 if current is not None else l1.start
    return first if l1.head_number() >= first + rules.window else None


def forced_origin(
    chain: L2Chain, l1: L1Deposits, rules: SequencingRules = OP_MAINNET_RULES
) -> tuple[L1Origin, list[SignedTransactionAPI]] | None:
    """What derivation puts in the next L2 block when the sequencer let an epoch's window close (OP's empty batch:
    the L1-info deposit and the epoch's deposits, no sequenced transaction): the overdue L1 origin and its
    deposits; None if no epoch is overdue."""
    number = overdue_epoch(chain, l1, rules)
    if number is None:
        return None
    current = chain_origin(chain)
    if current is not None:
        _on_l1(l1, current)
    origin = l1.origin(number)
    return origin, l1.deposits(origin)


def _on_l1(l1: L1Deposits, recorded: ChainOrigin) -> L1Origin:
    origin = l1.origin(recorded.number)
    if origin.hash != recorded.hash:
        raise DerivationError(
            f"L1 block #{recorded.number} is now 0x{origin.hash.hex()}, the L2 recorded 0x{recorded.hash.hex()}"
        )
    return origin


def expected_deposits(chain: L2Chain, header: BlockHeaderAPI, l1: L1Deposits) -> list[SignedTransactionAPI]:
    """The deposits block `header` must open with, from L1 alone: the L1-info deposit of the origin it recorded,
    then (first block of its epoch) that L1 block's deposits. Empty for a block with no L1 origin."""
    recorded = chain_origin(chain, header)
    if recorded is None:
        return []
    origin = _on_l1(l1, recorded)
    expected = [l1_info_deposit(origin, recorded.sequence_number)]
    if recorded.sequence_number == 0:
        expected += l1.deposits(origin)
    return expected


def check_block(chain: L2Chain, header: BlockHeaderAPI, l1: L1Deposits) -> None:
    """DerivationError unless block `header` carries exactly the deposits L1 holds for it (no deposit invented,
    changed, reordered or left out), in front of its other transactions."""
    parent = chain.header(header.block_number - 1)
    before = chain_origin(chain, parent) if parent is not None else None
    after = chain_origin(chain, header)
    got = [tx for tx in chain.block(header).transactions if is_deposit(tx)]
    if after is not None and after == before:
        # The origin did not move and no L1-info deposit ran: the block has none.
        expected: Sequence[SignedTransactionAPI] = []
    else:
        expected = expected_deposits(chain, header, l1)
    if after is not None and after != before:
        if before is not None and after.number not in (before.number, before.number + 1):
            raise DerivationError(
                f"block {header.block_number}: L1 origin moved from #{before.number} to #{after.number} (one at most)"
            )
        same_epoch = before is not None and before.hash == after.hash
        want = before.sequence_number + 1 if same_epoch else 0
        if after.sequence_number != want:
            raise DerivationError(
                f"block {header.block_number}: sequence number {after.sequence_number}, expected {want}"
            )
        if l1.origin(after.number).timestamp > header.timestamp:
            raise DerivationError(f"block {header.block_number}: its L1 origin #{after.number} is later than it")
    if [tx.hash for tx in got] != [tx.hash for tx in expected]:
        raise DerivationError(
            f"block {header.block_number}: deposits {[tx.hash.hex()[:12] for tx in got]} are not L1's "
            f"{[tx.hash.hex()[:12] for tx in expected]}"
        )


def build_forced_block(
    chain: L2Chain, l1: L1Deposits, rules: SequencingRules, fee_recipient: bytes
) -> tuple[BuiltBlock, L1Origin] | None:
    """Build the block derivation puts in for the next overdue epoch (`forced_origin`), with its origin; None when no
    epoch is overdue. The sequencer and the verifier both build it, so they agree on it."""
    forced = forced_origin(chain, l1, rules)
    if forced is None:
        return None
    origin, deposits = forced
    built = chain.build_block(
        [],
        timestamp=forced_timestamp(chain.head, origin),
        fee_recipient=fee_recipient,
        l1_origin=origin,
        deposits=deposits,
    )
    return built, origin


def forced_timestamp(parent: BlockHeaderAPI, origin: L1Origin) -> int:
    """The time of the block derivation builds for an overdue epoch: the first second after its parent that is not
    before its L1 origin. The sequencer and every verifier compute the same, so they agree on its hash."""
    return max(parent.timestamp + 1, origin.timestamp)
