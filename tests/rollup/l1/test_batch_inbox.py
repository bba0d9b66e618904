"""BatchInbox: batchers post frames as calldata; each batch emits BatchSubmitted (nonce, hash, length) and derivation
reads the frames back from the transaction's input.

Run: `.venv/bin/ape test tests/rollup/l1/test_batch_inbox.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
from eth_utils import keccak

FRAMES = bytes(range(256)) * 4


def test_submit_emits_the_batch_and_derivation_reads_its_calldata(inbox, carol, chain):
    """A batch's event carries batcher, nonce, hash and length; the frames come back from the transaction's
    input, found by the event (as derivation finds them)."""
    first = inbox.submit(FRAMES, sender=carol)
    second = inbox.submit(b"\x00\x01", sender=carol)
    assert first.events == [inbox.BatchSubmitted(batcher=carol, nonce=0, dataHash=keccak(FRAMES), length=len(FRAMES))]
    assert second.events == [inbox.BatchSubmitted(batcher=carol, nonce=1, dataHash=keccak(b"\x00\x01"), length=2)]
    assert inbox.nextNonce() == 2
    logs = list(inbox.BatchSubmitted.range(first.block_number, second.block_number + 1))
    assert [log.nonce for log in logs] == [0, 1]
    tx = chain.provider.web3.eth.get_transaction(logs[0].transaction_hash)
    assert tx["to"] == inbox.address
    (frames,) = inbox.submit.decode_input(bytes(tx["input"]))[1].values()
    assert frames == FRAMES and keccak(frames) == logs[0].dataHash


def test_submit_by_non_batcher_reverts(inbox, eve):
    """Only BATCHER_ROLE holders post batches, so derivation reads only the chain's batchers."""
    with ape.reverts(inbox.AccessControlUnauthorizedAccount, account=eve, neededRole=inbox.BATCHER_ROLE()):
        inbox.submit(FRAMES, sender=eve)


def test_submit_empty_batch_reverts(inbox, carol):
    """An empty batch carries nothing and is refused."""
    with ape.reverts(inbox.InboxEmptyBatch):
        inbox.submit(b"", sender=carol)
