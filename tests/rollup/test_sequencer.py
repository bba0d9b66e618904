"""The sequencer and its pool, in-process on the default genesis: what waits, what replaces, what is refused, what
goes into a block and in which order; and the database's all-or-nothing block writes.

Run: `.venv/bin/ape test tests/rollup/test_sequencer.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from node_support import CHAIN_ID, KEYS

from rollup.chain import BlockRefused, L2Chain
from rollup.genesis import Genesis
from rollup.mempool import PoolError
from rollup.node import DEFAULT_GENESIS, open_node
from rollup.sequencer import Sequencer
from rollup.store import Store, StoreError

GWEI = 10**9


def _tx(key, nonce, *, tip=10**6, fee_cap=2 * GWEI, value=1, to=None, gas=21_000) -> bytes:
    to = to or KEYS[9].address
    fields = dict(to=to, value=value, nonce=nonce, chainId=CHAIN_ID, gas=gas)
    fields.update(maxFeePerGas=fee_cap, maxPriorityFeePerGas=tip)
    return key.sign_transaction(fields).raw_transaction


@pytest.fixture
def seq() -> Sequencer:
    # A block time the test never waits for: blocks are sealed only when the test calls seal().
    return open_node(DEFAULT_GENESIS, None, block_time=60, producing=True)


def _nonce(seq: Sequencer, key) -> int:
    return seq.chain.state(seq.chain.head).get_nonce(bytes.fromhex(key.address[2:]))


def test_a_nonce_gap_waits_until_it_is_filled(seq):
    key = KEYS[0]
    later = seq.submit(_tx(key, 1))
    assert seq.seal().block.transactions == ()  # nonce 1 waits for nonce 0
    assert later in seq.pool
    first = seq.submit(_tx(key, 0))
    block = seq.seal().block
    assert [tx.hash for tx in block.transactions] == [first, later]
    assert len(seq.pool) == 0 and _nonce(seq, key) == 2


def test_replacement_needs_ten_percent_more_fee_cap_and_tip(seq):
    key = KEYS[1]
    original = seq.submit(_tx(key, 0, tip=10 * GWEI // 10, fee_cap=2 * GWEI))
    with pytest.raises(PoolError, match="replacement transaction underpriced"):
        seq.submit(_tx(key, 0, tip=10 * GWEI // 10 * 109 // 100, fee_cap=3 * GWEI, value=2))
    with pytest.raises(PoolError, match="already known"):
        seq.submit(_tx(key, 0, tip=10 * GWEI // 10, fee_cap=2 * GWEI))
    replacement = seq.submit(_tx(key, 0, tip=10 * GWEI // 10 * 110 // 100, fee_cap=2 * GWEI * 110 // 100, value=2))
    assert original not in seq.pool and replacement in seq.pool
    assert [tx.hash for tx in seq.seal().block.transactions] == [replacement]


def test_each_sender_holds_at_most_its_limit():
    seq = open_node(DEFAULT_GENESIS, None, block_time=60, producing=True)
    seq.pool.per_sender = 4
    for nonce in range(4):
        seq.submit(_tx(KEYS[2], nonce))
    with pytest.raises(PoolError, match="txpool is full"):
        seq.submit(_tx(KEYS[2], 4))
    seq.submit(_tx(KEYS[3], 0))  # another sender is not held back


def test_blocks_take_the_best_tip_first_and_each_sender_in_nonce_order(seq):
    low = seq.submit(_tx(KEYS[4], 0, tip=1))
    high_0 = seq.submit(_tx(KEYS[5], 0, tip=5 * 10**6))
    high_1 = seq.submit(_tx(KEYS[5], 1, tip=10 * 10**6))
    mid = seq.submit(_tx(KEYS[6], 0, tip=2 * 10**6))
    block = seq.seal().block
    assert [tx.hash for tx in block.transactions] == [high_0, high_1, mid, low]


def test_a_transaction_made_invalid_by_an_earlier_one_is_dropped_not_sealed(seq):
    poor = Account.create()
    seq.submit(_tx(KEYS[7], 0, value=10**18, to=poor.address))
    seq.seal()
    # Two spends of the same funds: both valid alone, only the first fits the balance.
    first = seq.submit(_tx(poor, 0, value=10**18 - 21_000 * 2 * GWEI, to=KEYS[8].address, tip=2 * 10**6))
    seq.pool.per_sender = 64
    seq.submit(_tx(poor, 1, value=1, to=KEYS[8].address))
    block = seq.seal().block
    assert [tx.hash for tx in block.transactions] == [first]
    assert len(seq.pool) == 0


def test_refusals_leave_the_pool_and_chain_unchanged(seq):
    head = seq.chain.head
    for raw, wanted in [
        (_tx(KEYS[0], 0, gas=20_000), "intrinsic gas too low"),
        (_tx(Account.create(), 0), "insufficient funds"),
        (_unprotected(KEYS[0]), "replay-protected"),
        (b"\xff\x00", "rlp"),
    ]:
        with pytest.raises(PoolError, match=wanted):
            seq.submit(raw)
    assert len(seq.pool) == 0 and seq.chain.head == head


def _unprotected(key) -> bytes:
    return key.sign_transaction(dict(to=KEYS[1].address, value=1, nonce=0, gas=21_000, gasPrice=GWEI)).raw_transaction


def test_a_fee_cap_under_the_base_fee_waits(seq):
    key = KEYS[1]
    waiting = seq.submit(_tx(key, 0, fee_cap=1, tip=1))
    assert seq.seal().block.transactions == ()
    assert waiting in seq.pool


def test_the_pool_survives_a_restart(tmp_path):
    datadir = tmp_path / "l2"
    seq = open_node(DEFAULT_GENESIS, datadir, block_time=60, producing=True)
    waiting = seq.submit(_tx(KEYS[2], 1))  # behind a gap: not sealed
    ready = seq.submit(_tx(KEYS[3], 0))
    seq.chain.store.close()
    again = open_node(DEFAULT_GENESIS, datadir, block_time=60, producing=True)
    assert waiting in again.pool and ready in again.pool
    assert [tx.hash for tx in again.seal().block.transactions] == [ready]


def test_a_failed_block_write_leaves_nothing_and_the_chain_goes_on(seq, monkeypatch):
    seq.submit(_tx(KEYS[4], 0))
    head = seq.chain.head
    rows = seq.chain.store.conn.execute("SELECT count(*) FROM kv").fetchone()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(seq.chain, "_index", boom)
    with pytest.raises(OSError):
        seq.seal()
    assert seq.chain.head == head
    assert seq.chain.store.conn.execute("SELECT count(*) FROM kv").fetchone() == rows
    monkeypatch.undo()
    assert len(seq.seal().block.transactions) == 1


def test_a_datadir_serves_one_node_and_one_chain(tmp_path):
    datadir = tmp_path / "l2"
    first = Store.open(datadir)
    with pytest.raises(StoreError, match="another node"):
        Store.open(datadir)
    L2Chain(Genesis.load(DEFAULT_GENESIS), first)
    first.close()
    other = Genesis.from_dict(_other_genesis())
    with pytest.raises(StoreError, match="another chain"):
        L2Chain(other, Store.open(datadir))


def _other_genesis() -> dict:
    raw = json.loads(DEFAULT_GENESIS.read_text())
    raw["extraData"] = "0x01"
    return raw


def test_import_refuses_a_block_not_on_the_head(seq):
    seq.submit(_tx(KEYS[5], 0))
    block = seq.seal().block
    replica = open_node(DEFAULT_GENESIS, None, block_time=0, producing=False)
    raw = seq.chain.raw_block(block.header)
    replica.import_block(raw)
    with pytest.raises(BlockRefused, match="not on top of the head"):
        replica.import_block(raw)
    assert replica.chain.head == seq.chain.head


def test_a_dev_rewind_forgets_the_blocks_after_it_and_the_chain_grows_again(seq):
    first = seq.submit(_tx(KEYS[6], 0))
    seq.seal()
    kept = seq.chain.head
    dropped = seq.submit(_tx(KEYS[6], 1))
    seq.seal()
    seq.rewind(kept.block_number)
    assert seq.chain.head == kept
    assert seq.chain.transaction_location(dropped) is None and seq.chain.transaction_location(first) is not None
    assert seq.chain.header(kept.block_number + 1) is None
    again = seq.submit(_tx(KEYS[6], 1, value=7))  # the same nonce, another transaction, at the dropped height
    seq.seal()
    assert seq.chain.head.block_number == kept.block_number + 1
    assert seq.chain.transaction_location(again) == (kept.block_number + 1, 0)
    with pytest.raises(BlockRefused):
        seq.rewind(seq.chain.head.block_number + 1)
