"""debug_getRaw* (the consensus encodings a verifier re-executes), txpool_*, and the dev methods test tools use
(evm_mine, evm_setNextBlockTimestamp, evm_increaseTime)."""

from __future__ import annotations

from typing import Any

import rlp

from rollup.chain import BlockRefused
from rollup.rpc import encode
from rollup.rpc.api import METHOD_NOT_FOUND, SERVER_ERROR, Api, method
from rollup.rpc.params import RpcError, address, arg, data, hash32, invalid, positional, quantity


def _encoded(item: Any) -> bytes:
    # Typed transactions and receipts carry their own envelope (type byte || payload); legacy ones are RLP.
    encode_ = getattr(item, "encode", None)
    return encode_() if callable(encode_) else rlp.encode(item)


@method("debug_getRawHeader")
def raw_header(api: Api, params: Any) -> str:
    (selector,) = positional(params, required=1)
    return encode.d(rlp.encode(api.block_header(selector)))


@method("debug_getRawBlock")
def raw_block(api: Api, params: Any) -> str:
    (selector,) = positional(params, required=1)
    return encode.d(api.chain.raw_block(api.block_header(selector)))


@method("debug_getRawReceipts")
def raw_receipts(api: Api, params: Any) -> list[str]:
    (selector,) = positional(params, required=1)
    return [encode.d(_encoded(r)) for r in api.chain.receipts(api.block_header(selector))]


@method("debug_getRawTransaction")
def raw_transaction(api: Api, params: Any) -> str:
    (tx_hash,) = positional(params, required=1)
    tx_hash = arg(0, hash32, tx_hash)
    location = api.chain.transaction_location(tx_hash)
    if location is None:
        pending = api.sequencer.pool.get(tx_hash)
        return "0x" if pending is None else encode.d(pending.raw)
    number, index = location
    return encode.d(_encoded(api.chain.block(api.chain.header(number)).transactions[index]))


@method("debug_importRawBlock")
def import_raw_block(api: Api, params: Any) -> str:
    """Append a block built elsewhere (a replica following the sequencer); every rule is checked."""
    (raw,) = positional(params, required=1)
    try:
        return encode.d(api.sequencer.import_block(arg(0, data, raw)).hash)
    except BlockRefused as err:
        raise RpcError(SERVER_ERROR, f"block refused: {err}") from None


# txpool_


def _grouped(entries, head_nonce) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {"pending": {}, "queued": {}}
    ready, queued = entries
    for kind, items in (("pending", ready), ("queued", queued)):
        for entry in items:
            who = encode.checksum(entry.sender)
            out[kind].setdefault(who, {})[str(entry.tx.nonce)] = encode.transaction(entry.tx, None, None)
    return out


@method("txpool_status")
def txpool_status(api: Api, params: Any) -> dict[str, str]:
    positional(params, required=0)
    ready, queued = api.sequencer.pool.split(api.chain.state(api.chain.head).get_nonce)
    return {"pending": encode.q(len(ready)), "queued": encode.q(len(queued))}


@method("txpool_content")
def txpool_content(api: Api, params: Any) -> dict[str, Any]:
    positional(params, required=0)
    return _grouped(api.sequencer.pool.split(api.chain.state(api.chain.head).get_nonce), None)


@method("txpool_contentFrom")
def txpool_content_from(api: Api, params: Any) -> dict[str, Any]:
    (who,) = positional(params, required=1)
    who = arg(0, address, who)
    content = _grouped(api.sequencer.pool.split(api.chain.state(api.chain.head).get_nonce), None)
    key = encode.checksum(who)
    return {kind: content[kind].get(key, {}) for kind in ("pending", "queued")}


# Dev methods: time travel and rewinding history, for tests and scripts (Ape's test isolation uses
# evm_snapshot/evm_revert). Only a node started with --dev answers them: a chain others follow must not rewind.


def _dev(api: Api, name: str) -> None:
    if not api.sequencer.dev:
        raise RpcError(METHOD_NOT_FOUND, f"the method {name} is only available on a node started with --dev")


@method("evm_mine")
def evm_mine(api: Api, params: Any) -> str:
    _dev(api, "evm_mine")
    (timestamp,) = positional(params, required=0, optional=1)
    if not api.sequencer.producing:
        raise RpcError(SERVER_ERROR, "this node does not produce blocks (started with --no-sequencer)")
    if timestamp is not None:
        ts = timestamp if isinstance(timestamp, int) else arg(0, quantity, timestamp)
        if ts <= api.chain.head.timestamp:
            raise invalid(f"timestamp {ts} is not after the head's {api.chain.head.timestamp}")
        api.sequencer.seal(ts)
    else:
        api.sequencer.seal()
    return "0x0"


@method("evm_setNextBlockTimestamp")
def set_next_timestamp(api: Api, params: Any) -> None:
    _dev(api, "evm_setNextBlockTimestamp")
    (timestamp,) = positional(params, required=1)
    ts = timestamp if isinstance(timestamp, int) else arg(0, quantity, timestamp)
    if ts <= api.chain.head.timestamp:
        raise invalid(f"timestamp {ts} is not after the head's {api.chain.head.timestamp}")
    api.sequencer.next_timestamp = ts
    return None


@method("evm_increaseTime")
def increase_time(api: Api, params: Any) -> str:
    _dev(api, "evm_increaseTime")
    (seconds,) = positional(params, required=1)
    delta = seconds if isinstance(seconds, int) and seconds >= 0 else arg(0, quantity, seconds)
    api.sequencer.time_offset += delta
    return encode.q(api.sequencer.time_offset)


@method("evm_snapshot")
def snapshot(api: Api, params: Any) -> str:
    """A snapshot is the head's number: reverting to it makes that block the head again."""
    _dev(api, "evm_snapshot")
    positional(params, required=0)
    return encode.q(api.chain.head.block_number)


@method("evm_revert")
def revert(api: Api, params: Any) -> bool:
    _dev(api, "evm_revert")
    (snapshot_id,) = positional(params, required=1)
    number = snapshot_id if isinstance(snapshot_id, int) else arg(0, quantity, snapshot_id)
    if number > api.chain.head.block_number:
        return False
    api.sequencer.rewind(number)
    return True


@method("debug_setHead")
def set_head(api: Api, params: Any) -> None:
    """go-ethereum's rewind, which Ape's node provider uses to restore a snapshot (a block number)."""
    _dev(api, "debug_setHead")
    (number,) = positional(params, required=1)
    number = arg(0, quantity, number)
    if number > api.chain.head.block_number:
        raise invalid(f"block {number} is after the head #{api.chain.head.block_number}")
    api.sequencer.rewind(number)
    return None
