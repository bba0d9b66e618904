"""The batch codec (rollup/batch.py): real blocks of an in-process node round-trip through channels, frames and
calldata; every malformed input is refused with its BatchError; the compression ratio and L1 gas are printed."""

from __future__ import annotations

import random
import zlib
from functools import cache
from pathlib import Path

import pytest
import rlp
from node_support import CHAIN_ID, KEYS

from rollup.batch import (
    DEFAULT_MAX_TX_BYTES,
    MAX_RLP_BYTES_PER_CHANNEL,
    BatchError,
    ChannelBank,
    ChannelTooLarge,
    Frame,
    RawBlock,
    SingularBatch,
    assemble_channel,
    batch_from_raw_block,
    calldata_gas,
    channel_rlp,
    decode_calldata,
    decode_channel,
    encode_batches,
    encode_calldata,
    encode_channel,
    group_batches,
    l1_gas_for,
    read_batches,
    split_channel,
)
from rollup.node import open_node

GENESIS = Path(__file__).resolve().parents[2] / "rollup" / "genesis.json"
CID = bytes(range(16))


def _tx(key, nonce: int, **fields) -> bytes:
    tx = {"to": KEYS[9].address, "value": 1, "nonce": nonce, "chainId": CHAIN_ID, "gas": 21_000, **fields}
    if "gasPrice" not in tx:
        tx |= {"maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**6}
    return bytes(key.sign_transaction(tx).raw_transaction)


@cache
def chain() -> tuple[list[bytes], list[list[bytes]]]:
    """Raw blocks 1.. of a node (one per transaction, a few empty ones, one with several transactions of every
    kind) and, for each, its transactions as the node serves them (debug_getRawTransaction)."""
    seq = open_node(GENESIS, None, block_time=0, producing=True)
    try:
        seq.submit(_tx(KEYS[1], 0))
        seq.submit(_tx(KEYS[1], 1, gasPrice=2 * 10**9))  # legacy, EIP-155
        seq.submit(_tx(KEYS[1], 2, gasPrice=2 * 10**9, accessList=[], type=1))  # EIP-2930
        seq.seal()  # empty
        seq.submit(_tx(KEYS[1], 3, to=None, data="0x600160005500", gas=100_000))  # a creation
        seq.producing = False  # gather, then seal several transactions in one block
        for i in range(5):
            seq.submit(_tx(KEYS[2], i, data="0x" + "ab" * 40 * i, gas=30_000))
        seq.producing = True
        seq.seal()
        seq.seal()
        chain = seq.chain
        raws = [chain.raw_block(chain.header(n)) for n in range(1, chain.head.block_number + 1)]
        txs = [[t.encode() if t.type_id else rlp.encode(t) for t in chain.block(chain.header(n)).transactions]
               for n in range(1, chain.head.block_number + 1)]  # fmt: skip
        return raws, txs
    finally:
        seq.chain.store.close()


@cache
def transfers(n: int, per_block: bool = True) -> list[bytes]:
    """Raw blocks holding n plain transfers: one block each, or all in one block."""
    seq = open_node(GENESIS, None, block_time=0, producing=per_block)
    try:
        for i in range(n):
            seq.submit(_tx(KEYS[3 + i % 5], i // 5))
        if not per_block:
            seq.seal()
        chain = seq.chain
        return [chain.raw_block(chain.header(k)) for k in range(1, chain.head.block_number + 1)]
    finally:
        seq.chain.store.close()


def batches() -> list[SingularBatch]:
    return [batch_from_raw_block(raw) for raw in chain()[0]]


# Round trips


def test_batches_carry_each_block_exactly():
    raws, txs = chain()
    parsed = [RawBlock.parse(raw) for raw in raws]
    assert [b.number for b in parsed] == list(range(1, len(raws) + 1))
    assert [len(t) for t in txs] == [1, 1, 1, 0, 1, 5, 0]
    for block, batch, block_txs in zip(parsed, batches(), txs, strict=True):
        assert batch.transactions == tuple(block_txs)
        assert (batch.parent_hash, batch.timestamp, batch.epoch_number) == (block.parent_hash, block.timestamp, 0)
    for parent, child in zip(parsed, parsed[1:], strict=False):
        assert child.parent_hash == parent.hash
    kinds = {tx[0] for t in txs for tx in t}
    assert {0x02, 0x01} <= kinds and any(k >= 0xC0 for k in kinds)  # typed and legacy (an RLP list)


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_through_calldata(compress):
    data = encode_batches(batches(), compress=compress)
    assert len(data) == 1 and data[0][0] == 0
    assert read_batches(data) == batches()
    assert SingularBatch.decode(batches()[5].encode()) == batches()[5]


@pytest.mark.parametrize("compress", [True, False])
def test_many_frames_any_order(compress):
    """A channel cut into small frames, posted out of order and interleaved with another channel."""
    first = encode_batches(batches()[:4], compress=compress, max_tx_bytes=60, channel_id=b"\x01" * 16)
    second = encode_batches(batches()[4:], compress=compress, max_tx_bytes=60, channel_id=b"\x02" * 16)
    assert len(first) > 5 and all(len(d) <= 60 for d in first + second)
    mixed = first[1:] + second[:3] + [first[0]] + second[3:]
    random.Random(7).shuffle(second)
    assert read_batches(mixed) == batches()
    assert read_batches(first[::-1] + second) == batches()
    # Several frames in one transaction are fine too.
    frames = [f for d in first for f in decode_calldata(d)]
    assert read_batches([encode_calldata(frames[::-1])]) == batches()[:4]


def test_groups_respect_the_channel_limit():
    groups = group_batches(batches(), max_rlp_bytes=400)
    assert [b for g in groups for b in g] == batches() and len(groups) > 1
    for group in groups:
        assert len(channel_rlp(group)) <= 400 or len(group) == 1


def test_deposits_are_left_out():
    raw = chain()[0][0]
    header, txs, *rest = rlp.decode(raw)
    deposit = b"\x7e" + rlp.encode([b"\x11" * 32, b"\x22" * 20, b"\x33" * 20, 0, 1, 100_000, False, b""])
    with_deposit = rlp.encode([header, [deposit, *txs], *rest])
    block = RawBlock.parse(with_deposit)
    assert block.transactions[0] == deposit and len(block.transactions) == 2
    assert block.batch().transactions == batches()[0].transactions
    carrying = SingularBatch(block.parent_hash, 0, b"\x00" * 32, 1, (deposit,)).encode()
    with pytest.raises(BatchError, match="deposit"):
        SingularBatch.decode(carrying)


# Malformed input


def _frame_bytes(data=b"abc", number=0, is_last=1, cid=CID) -> bytes:
    return cid + number.to_bytes(2, "big") + len(data).to_bytes(4, "big") + data + bytes([is_last])


@pytest.mark.parametrize(
    "calldata, error",
    [
        (b"", "empty"),
        (b"\x01" + _frame_bytes(), "unknown derivation version 0x01"),
        (b"\x00", "no frames"),
        (b"\x00" + _frame_bytes()[:20], "truncated"),
        (b"\x00" + _frame_bytes()[:-2], "frame_data_length says 3 bytes but only 1"),
        (b"\x00" + CID + b"\x00\x00" + (4).to_bytes(4, "big") + b"abc\x01", "says 4 bytes but only 3 remain"),
        (b"\x00" + CID + b"\x00\x00" + (2).to_bytes(4, "big") + b"abc\x01", "is_last byte is 0x63"),
        (b"\x00" + _frame_bytes(is_last=2), "is_last byte is 0x02"),
        (b"\x00" + CID + b"\x00\x00" + (1_000_001).to_bytes(4, "big") + b"x" * 1_000_001 + b"\x01", "cap"),
        (b"\x00" + _frame_bytes(is_last=0) + _frame_bytes(b"de"), "duplicate frame 0"),
        (b"\x00" + _frame_bytes() + b"\x00" * 5, "frame 1 .*truncated"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_calldata_is_refused(calldata, error):
    with pytest.raises(BatchError, match=error):
        decode_calldata(calldata)
    with pytest.raises(BatchError):
        read_batches([calldata])


@pytest.mark.parametrize(
    "frames, error",
    [
        ([Frame(CID, 0, b"a", False)], "not closed"),
        ([Frame(CID, 0, b"a", False), Frame(CID, 2, b"c", True)], r"lacks frames \[1\]"),
        ([Frame(CID, 0, b"a", False), Frame(CID, 0, b"a", True)], "duplicate frame 0"),
        ([Frame(CID, 0, b"a", True), Frame(CID, 1, b"b", True)], "closed twice"),
        ([Frame(CID, 0, b"a", True), Frame(CID, 1, b"b", False)], "after the closing frame"),
        ([Frame(CID, 0, b"a", False), Frame(b"\x09" * 16, 1, b"b", True)], "several channels"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_broken_channels_are_refused(frames, error):
    with pytest.raises(BatchError, match=error):
        assemble_channel(frames)


def _batch_rlp(*fields) -> bytes:
    return rlp.encode(b"\x00" + rlp.encode(list(fields)))


GOOD = [b"\x01" * 32, 5, b"\x02" * 32, 100, [b"\x02abc"]]


@pytest.mark.parametrize(
    "channel, error",
    [
        (b"", "empty channel"),
        (b"\x07" + channel_rlp([]), "unknown channel compression byte 0x07"),
        (b"\x01" + b"brotli", "brotli"),
        (b"\x78\x9c" + b"garbage", "not a valid zlib stream"),
        (zlib.compress(_batch_rlp(*GOOD))[:-6], "truncated"),
        (zlib.compress(_batch_rlp(*GOOD)) + b"junk", "4 bytes after"),
        (b"\x00" + rlp.encode(b"\x01" + rlp.encode([b"x"])), "span batches"),
        (b"\x00" + rlp.encode(b"\x05" + rlp.encode([b"x"])), "batch version 5"),
        (b"\x00" + rlp.encode(b""), "empty batch"),
        (b"\x00" + rlp.encode(b"\x00" + b"\xff\xff"), "not RLP"),
        (b"\x00" + _batch_rlp(b"\x01" * 31, 5, b"\x02" * 32, 100, []), "not RLP"),
        (b"\x00" + _batch_rlp(b"\x01" * 32, b"\x00\x05", b"\x02" * 32, 100, []), "not RLP"),  # non-canonical int
        (b"\x00" + _batch_rlp(*GOOD[:4]), "not RLP"),
        (b"\x00" + _batch_rlp(*GOOD) + b"\x00", "not RLP"),
        (b"\x00" + _batch_rlp(*GOOD[:4], [b""]), "transaction 0 is empty"),
        (b"\x00" + _batch_rlp(b"\x01" * 32, 2**64, b"\x02" * 32, 100, []), "over 64 bits"),
        (b"\x00" + rlp.encode([b"a list"]), "RLP list where a batch"),
        (b"\x00" + _batch_rlp(*GOOD)[:-3], "runs past the channel's end"),
        (b"\x00" + b"\xb9\x00\x05" + b"x" * 5, "bad RLP prefix"),  # a length with a leading zero byte
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_channels_are_refused(channel, error):
    with pytest.raises(BatchError, match=error):
        decode_channel(channel)


def test_batches_before_a_fault_still_count():
    """As OP's channel reader, which hands each batch on as it reads it: a bad batch loses the rest only."""
    good = _batch_rlp(*GOOD)
    with pytest.raises(BatchError, match="channel byte 158: batch version 5") as caught:
        decode_channel(b"\x00" + good * 2 + rlp.encode(b"\x05") + good)
    assert len(caught.value.batches) == 2
    calldata = encode_calldata(split_channel(CID, zlib.compress(good + b"\xc0" + good), 1000))
    bank = ChannelBank(strict=False)
    assert bank.add_calldata(calldata) == [SingularBatch.decode(good[2:])]
    assert bank.add_calldata(b"\x01junk") == []
    assert "RLP list where a batch" in bank.dropped[0] and "unknown derivation version" in bank.dropped[1]
    with pytest.raises(BatchError):
        read_batches([calldata])


def test_trailing_garbage_after_a_batch_in_its_string_is_refused():
    inner = b"\x00" + rlp.encode(GOOD) + b"\x00"
    with pytest.raises(BatchError, match="not RLP"):
        decode_channel(b"\x00" + rlp.encode(inner))


def test_zip_bomb_stops_at_the_limit():
    good = _batch_rlp(*GOOD)
    bomb = zlib.compress(good * 2 + b"\x00" * MAX_RLP_BYTES_PER_CHANNEL, 9)
    assert len(bomb) < 20_000
    with pytest.raises(ChannelTooLarge, match="more than 10,000,000 bytes") as caught:
        decode_channel(bomb)
    assert len(caught.value.batches) == 2  # as OP: the batches within the limit still count
    with pytest.raises(ChannelTooLarge):
        decode_channel(b"\x00" + b"\x00" * 101, limit=100)
    with pytest.raises(BatchError, match="over MAX_RLP_BYTES_PER_CHANNEL"):
        encode_channel([SingularBatch(b"\x00" * 32, 0, b"\x00" * 32, 0, (b"\x02" + b"x" * 5_000_000,))] * 2)


def test_frame_encoding_limits():
    with pytest.raises(BatchError, match="channel id"):
        Frame(b"short", 0, b"", True).encode()
    with pytest.raises(BatchError, match="uint16"):
        Frame(CID, 70_000, b"", True).encode()
    with pytest.raises(BatchError, match="no room"):
        encode_batches(batches(), max_tx_bytes=24)
    with pytest.raises(BatchError, match="uint16"):
        split_channel(CID, b"x" * 70_000, 1)
    assert split_channel(CID, b"", 10) == [Frame(CID, 0, b"", True)]


def test_channel_bank_drops_what_op_drops():
    data = encode_calldata(split_channel(CID, encode_channel(batches()[:2]), 50))[1:]
    frames = decode_calldata(b"\x00" + data)
    bank = ChannelBank(channel_timeout=10)
    assert bank.add_calldata(encode_calldata([frames[0]]), l1_block=100) == []
    assert bank.add_calldata(encode_calldata([frames[0]]), l1_block=101) == []  # duplicate: dropped
    assert bank.add_calldata(encode_calldata(frames[1:]), l1_block=105) == batches()[:2]
    assert bank.dropped == [f"duplicate frame 0 of channel 0x{CID.hex()}"]
    late = ChannelBank(channel_timeout=10)
    late.add_calldata(encode_calldata([frames[0]]), l1_block=100)
    assert late.add_calldata(encode_calldata(frames[1:]), l1_block=111) == []  # after the channel timed out
    assert "timed out" in late.dropped[0] and len(late.dropped) == len(frames)
    assert read_batches([(100, encode_calldata(frames[:1])), (110, encode_calldata(frames[1:]))], channel_timeout=10)


# Cost


def test_l1_gas_estimate():
    assert calldata_gas(b"") == 21_000
    assert calldata_gas(b"\x00\x01") == 21_000 + 10 * (1 + 4)  # EIP-7623's floor
    assert calldata_gas(b"\x00\x01", execution_gas=1_000) == 21_000 + 4 + 16 + 1_000
    raws = transfers(100)
    assert l1_gas_for(raws, True) == sum(calldata_gas(d) for d in encode_batches(
        [batch_from_raw_block(r) for r in raws], channel_id=bytes(range(1, 17))))  # fmt: skip
    assert l1_gas_for(raws, True) < l1_gas_for(raws, False)


def test_compression_ratio(capsys):
    lines = []
    for per_block in (True, False):
        for n in (1, 10, 100):
            raws = transfers(n, per_block)
            group = [batch_from_raw_block(r) for r in raws]
            assert sum(len(b.transactions) for b in group) == n
            raw_rlp = len(channel_rlp(group))
            sizes = {c: sum(len(d) for d in encode_batches(group, compress=c)) for c in (True, False)}
            gas = {c: l1_gas_for(raws, c) for c in (True, False)}
            lines.append(
                f"{n:>3} transfers {'one block each' if per_block else 'in one block  '}: batch RLP {raw_rlp:>6} B; "
                f"calldata/tx {sizes[True] / n:7.1f} B zlib, {sizes[False] / n:7.1f} B plain "
                f"(ratio {sizes[True] / sizes[False]:.2f}); "
                f"L1 gas/tx {gas[True] / n:8.0f} zlib, {gas[False] / n:8.0f} plain"
            )
            assert sizes[True] <= DEFAULT_MAX_TX_BYTES
    with capsys.disabled():
        print("\n" + "\n".join(lines))
