"""eth_getLogs and the polling filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter,
eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter) that web3.py and Ape poll for events.

Logs are found through the database's log index (address and first topic), then read from the receipts."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from rollup.rpc import encode
from rollup.rpc.api import Api, method
from rollup.rpc.params import RpcError, address, arg, hash32, invalid, positional, quantity

MAX_BLOCK_RANGE = 10_000  # a wider eth_getLogs query is refused rather than left to run for minutes
MAX_RESULTS = 10_000
FILTER_TIMEOUT_S = 300  # go-ethereum drops a filter nobody polled for five minutes
MAX_FILTERS = 1_000


@dataclass(frozen=True)
class LogFilter:
    first: int | None  # None: the head at query time
    last: int | None
    block_hash: bytes | None
    addresses: tuple[bytes, ...]
    topics: tuple[tuple[bytes, ...] | None, ...]  # per position: any of these, or None for any


def parse_filter(value: Any, api: Api) -> LogFilter:
    if not isinstance(value, dict):
        raise invalid("invalid argument 0: filter object expected")
    block_hash = value.get("blockHash")
    if block_hash is not None and (value.get("fromBlock") is not None or value.get("toBlock") is not None):
        raise invalid(
            "invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
        )
    raw_addresses = value.get("address")
    if raw_addresses is None:
        addresses: tuple[bytes, ...] = ()
    elif isinstance(raw_addresses, list):
        addresses = tuple(arg(0, address, a) for a in raw_addresses)
    else:
        addresses = (arg(0, address, raw_addresses),)
    raw_topics = value.get("topics") or []
    if not isinstance(raw_topics, list) or len(raw_topics) > 4:
        raise invalid("invalid argument 0: topics must be an array of at most 4 entries")
    topics: list[tuple[bytes, ...] | None] = []
    for entry in raw_topics:
        if entry is None:
            topics.append(None)
        elif isinstance(entry, list):
            topics.append(None if not entry else tuple(arg(0, hash32, t) for t in entry if t is not None) or None)
        else:
            topics.append((arg(0, hash32, entry),))
    if block_hash is not None:
        return LogFilter(None, None, arg(0, hash32, block_hash), addresses, tuple(topics))
    return LogFilter(
        _bound(value.get("fromBlock"), api), _bound(value.get("toBlock"), api), None, addresses, tuple(topics)
    )


def _bound(value: Any, api: Api) -> int | None:
    if value is None or value in ("latest", "pending"):
        return None
    if value in ("safe", "finalized"):
        return api.chain.head.block_number
    if value == "earliest":
        return 0
    return arg(0, lambda v: quantity(v, "block number"), value)


def find_logs(api: Api, flt: LogFilter, first: int | None = None) -> list[dict[str, Any]]:
    """The matching logs, in chain order; `first` overrides the filter's start (a filter's next poll)."""
    head = api.chain.head.block_number
    if flt.block_hash is not None:
        header = api.chain.header_by_hash(flt.block_hash)
        if header is None:
            raise RpcError(-32000, "unknown block")
        lo = hi = header.block_number
    else:
        lo = flt.first if flt.first is not None else head
        hi = flt.last if flt.last is not None else head
        if first is not None:
            lo = max(lo, first)
        if flt.first is not None and flt.last is not None and flt.first > flt.last:
            raise invalid("invalid block range params")
        if hi > head or lo > head:
            if first is not None:
                return []
            raise invalid("block range extends beyond current head block")
        if lo > hi:
            return []
        if hi - lo >= MAX_BLOCK_RANGE:
            raise RpcError(-32005, f"query exceeds max block range {MAX_BLOCK_RANGE}")
    topic0 = flt.topics[0] if flt.topics and flt.topics[0] is not None else ()
    rows = api.chain.log_rows(lo, hi, flt.addresses, topic0)
    out: list[dict[str, Any]] = []
    cache: dict[int, Any] = {}
    for number, log_index, tx_index in rows:
        if number not in cache:
            header = api.chain.header(number)
            cache[number] = (header, api.chain.block(header), api.chain.receipts(header), _offsets(api, header))
        header, blk, receipts, offsets = cache[number]
        entry = receipts[tx_index].logs[log_index - offsets[tx_index]]
        topics = [t.to_bytes(32, "big") for t in entry.topics]
        if not _topics_match(topics, flt.topics):
            continue
        out.append(encode.log(entry, blk.transactions[tx_index].hash, header, tx_index, log_index))
        if len(out) > MAX_RESULTS:
            raise RpcError(-32005, f"query returned more than {MAX_RESULTS} results")
    return out


def _offsets(api: Api, header) -> list[int]:
    offsets, total = [], 0
    for receipt in api.chain.receipts(header):
        offsets.append(total)
        total += len(receipt.logs)
    return offsets


def _topics_match(topics: list[bytes], wanted: tuple[tuple[bytes, ...] | None, ...]) -> bool:
    if len(wanted) > len(topics):
        return False
    return all(choice is None or topics[i] in choice for i, choice in enumerate(wanted))


@method("eth_getLogs")
def get_logs(api: Api, params: Any) -> list[dict[str, Any]]:
    (flt,) = positional(params, required=1)
    return find_logs(api, parse_filter(flt, api))


# Polling filters


@dataclass
class Installed:
    kind: str  # "logs", "blocks", "pending"
    log_filter: LogFilter | None
    next_block: int  # the first block the next poll reports
    last_poll: float = field(default_factory=time.monotonic)
    pending_seen: set[bytes] = field(default_factory=set)


def _install(api: Api, item: Installed) -> str:
    now = time.monotonic()
    for key, old in list(api.filters.items()):
        if now - old.last_poll > FILTER_TIMEOUT_S:
            del api.filters[key]
    if len(api.filters) >= MAX_FILTERS:
        raise RpcError(-32000, f"too many filters installed (at most {MAX_FILTERS})")
    key = "0x" + os.urandom(16).hex()
    api.filters[key] = item
    return key


def _installed(api: Api, key: Any) -> Installed:
    if not isinstance(key, str) or key not in api.filters:
        raise RpcError(-32000, "filter not found")
    item = api.filters[key]
    item.last_poll = time.monotonic()
    return item


@method("eth_newFilter")
def new_filter(api: Api, params: Any) -> str:
    (flt,) = positional(params, required=1)
    parsed = parse_filter(flt, api)
    start = parsed.first if parsed.first is not None else api.chain.head.block_number + 1
    return _install(api, Installed("logs", parsed, start))


@method("eth_newBlockFilter")
def new_block_filter(api: Api, params: Any) -> str:
    positional(params, required=0)
    return _install(api, Installed("blocks", None, api.chain.head.block_number + 1))


@method("eth_newPendingTransactionFilter")
def new_pending_filter(api: Api, params: Any) -> str:
    positional(params, required=0, optional=1)
    item = Installed("pending", None, 0)
    item.pending_seen = {e.hash for e in api.sequencer.pool.entries()}
    return _install(api, item)


@method("eth_getFilterChanges")
def filter_changes(api: Api, params: Any) -> list[Any]:
    (key,) = positional(params, required=1)
    item = _installed(api, key)
    head = api.chain.head.block_number
    if item.kind == "blocks":
        out = [encode.d(api.chain.header(n).hash) for n in range(item.next_block, head + 1)]
        item.next_block = head + 1
        return out
    if item.kind == "pending":
        current = [e.hash for e in api.sequencer.pool.entries()]
        new = [h for h in current if h not in item.pending_seen]
        item.pending_seen = set(current)
        return [encode.d(h) for h in new]
    assert item.log_filter is not None
    last = item.log_filter.last if item.log_filter.last is not None else head
    if item.next_block > min(last, head):
        return []
    logs = find_logs(api, item.log_filter, first=item.next_block)
    item.next_block = min(last, head) + 1
    return logs


@method("eth_getFilterLogs")
def filter_logs(api: Api, params: Any) -> list[Any]:
    (key,) = positional(params, required=1)
    item = _installed(api, key)
    if item.kind != "logs" or item.log_filter is None:
        raise RpcError(-32000, "filter not found")
    return find_logs(api, item.log_filter)


@method("eth_uninstallFilter")
def uninstall_filter(api: Api, params: Any) -> bool:
    (key,) = positional(params, required=1)
    return api.filters.pop(key, None) is not None if isinstance(key, str) else False
