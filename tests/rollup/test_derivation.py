"""Derivation (rollup/derivation.py): the L2 rebuilt from L1 alone — the portal's deposits and the batches in the
inbox — is the sequencer's chain, block for block; a deposit the sequencer leaves out is forced in once its
sequencing window closes; bad batches are dropped without stopping derivation; a restart resumes.

Run: `.venv/bin/ape test tests/rollup/test_derivation.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from node_support import KEYS, deploy, send, start_node, transfer, web3

from offchain.chain.anvil import Anvil
from rollup.batch import RawBlock, encode_batches
from rollup.batcher import Batcher, InboxContract, L2Source
from rollup.chain import L2Chain
from rollup.derivation import Deriver
from rollup.derive import L1Deposits, SequencingRules, chain_origin
from rollup.genesis import Genesis
from rollup.node import DEFAULT_GENESIS
from rollup.store import Store

ETH = 10**18
BATCHER = KEYS[7]


@pytest.fixture
def l1(project):
    """anvil (mining on every transaction) with the portal and the inbox; the batcher key holds BATCHER_ROLE."""
    with Anvil.start() as anvil:
        w3 = web3(anvil.uri)
        oracle, _ = deploy(w3, KEYS[0], project.L2OutputOracle, 2, 1, 0, 0, 60, 0, KEYS[0].address)
        portal, deployed = deploy(w3, KEYS[0], project.RollupPortal, oracle.address, 60)
        inbox, _ = deploy(w3, KEYS[0], project.BatchInbox, KEYS[0].address)
        send(w3, KEYS[0], inbox.functions.grantRole(inbox.functions.BATCHER_ROLE().call(), BATCHER.address))
        yield anvil, w3, portal, inbox, deployed.blockNumber


def _chain(path=None) -> L2Chain:
    return L2Chain(Genesis.load(DEFAULT_GENESIS), Store.open(path) if path else Store.memory())


def _derive_all(deriver: Deriver) -> None:
    while deriver.step():
        pass


def _deriver(chain, w3, portal, inbox, start, **kw) -> Deriver:
    return Deriver(chain, L1Deposits(w3, portal.address, start=start), InboxContract(inbox.address),
                   batcher=BATCHER.address, **kw)  # fmt: skip


def test_the_chain_derived_from_l1_is_the_sequencers(l1, tmp_path):
    anvil, w3, portal, inbox, start = l1
    args = ["--block-time", "0", "--l1-rpc", anvil.uri, "--portal", portal.address, "--l1-start", str(start)]
    with start_node(*args) as node:
        l2 = web3(node.url)
        receiver = Account.create().address
        send(w3, KEYS[4], portal.functions.depositTransaction(receiver, ETH, 100_000, False, b""), value=ETH)
        for i in range(6):
            l2.eth.send_raw_transaction(transfer(l2, KEYS[2 + i % 2], KEYS[5].address, 1 + i))
        batcher = Batcher(w3, L2Source(node.url), InboxContract(inbox.address), BATCHER, tmp_path / "batcher",
                          max_frame_bytes=400, say=lambda _: None)  # fmt: skip
        while batcher.step():
            pass
        posted = int(batcher.store.get("cursor_number"))
        assert posted >= 7

        deriver = _deriver(_chain(tmp_path / "verifier"), w3, portal, inbox, start)
        _derive_all(deriver)
        head = deriver.safe_head
        assert head.block_number >= posted and not deriver.dropped
        for number in range(head.block_number + 1):
            assert deriver.chain.header(number).hash == bytes(l2.eth.get_block(number)["hash"]), number
        assert deriver.chain.state(head).get_balance(bytes.fromhex(receiver[2:])) == ETH

        # A restart resumes where it stopped, and later batches extend the same chain.
        deriver.chain.store.close()
        l2.eth.send_raw_transaction(transfer(l2, KEYS[2], KEYS[5].address, 99))
        while batcher.step():
            pass
        again = _deriver(_chain(tmp_path / "verifier"), w3, portal, inbox, start)
        assert again.safe_head.hash == head.hash
        _derive_all(again)
        top = again.safe_head.block_number
        assert top > head.block_number
        assert again.chain.header(top).hash == bytes(l2.eth.get_block(top)["hash"])
        batcher.close()


def test_a_deposit_the_sequencer_leaves_out_is_forced_in_after_the_window(l1):
    """A censoring sequencer keeps its blocks on the first L1 origin, so the deposit made in a later L1 block never
    reaches its chain; derivation builds that epoch itself once the window closes."""
    anvil, w3, portal, inbox, start = l1
    window = 8
    censor = _chain()
    origin = L1Deposits(w3, portal.address, start=start).origin(start)
    censor.build_block([], timestamp=origin.timestamp, l1_origin=origin)
    receiver = Account.create().address
    r = send(w3, KEYS[4], portal.functions.depositTransaction(receiver, ETH, 100_000, False, b""), value=ETH)
    # The censor's batches: its own blocks, all on the old origin, posted while the window is open.
    raw = censor.raw_block(censor.head)
    # Before it, what derivation must drop and go on: bytes that are no frames, and a batch naming an L1 block
    # hash that is not L1's.
    send(w3, BATCHER, inbox.functions.submit(b"\x00not frames"))
    wrong = RawBlock.parse(raw).batch(origin.number, b"\x01" * 32)
    (data,) = encode_batches([wrong], max_tx_bytes=120_000)
    send(w3, BATCHER, inbox.functions.submit(data))
    (data,) = encode_batches([RawBlock.parse(raw).batch(origin.number, origin.hash)], max_tx_bytes=120_000)
    send(w3, BATCHER, inbox.functions.submit(data))

    deriver = _deriver(_chain(), w3, portal, inbox, start, rules=SequencingRules(window=window))
    _derive_all(deriver)
    assert deriver.safe_head.hash == censor.head.hash  # the censor's block is valid
    assert len(deriver.dropped) == 2 and "the batch says" in deriver.dropped[1]
    receiver_key = bytes.fromhex(receiver[2:])
    assert deriver.chain.state(deriver.safe_head).get_balance(receiver_key) == 0  # the window is still open
    recorded = chain_origin(deriver.chain)
    assert recorded.number == start
    while w3.eth.block_number < r.blockNumber + window:
        anvil_mine(w3)
    _derive_all(deriver)
    assert deriver.chain.state(deriver.safe_head).get_balance(receiver_key) == ETH
    forced_at = chain_origin(deriver.chain).number
    assert forced_at >= r.blockNumber  # the epoch of the deposit's L1 block was built by derivation


def anvil_mine(w3) -> None:
    w3.provider.make_request("evm_mine", [])
