"""What every method module shares: the registry of JSON-RPC methods, the node they answer for, and the block
selectors ("latest", a number, a hash) resolved to headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth.abc import BlockHeaderAPI

from rollup.rpc.params import RpcError, data, invalid, quantity
from rollup.sequencer import Sequencer

METHODS: dict[str, Callable[[Api, list[Any] | dict[str, Any] | None], Any]] = {}
SERVER_ERROR = -32000
METHOD_NOT_FOUND = -32601
UNKNOWN_BLOCK = -32001  # not standard in geth; used only where a block selector names a missing block


def method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        METHODS[name] = fn
        return fn

    return register


class Api:
    """The node as the methods see it."""

    def __init__(self, sequencer: Sequencer, *, client_version: str) -> None:
        self.sequencer = sequencer
        self.chain = sequencer.chain
        self.client_version = client_version
        self.filters: dict[str, Any] = {}

    def block_header(self, selector: Any, *, allow_missing: bool = False) -> BlockHeaderAPI | None:
        """The header a block selector names; None (allow_missing) or an error when there is no such block."""
        header = self._resolve(selector)
        if header is None and not allow_missing:
            raise RpcError(SERVER_ERROR, "header not found")
        return header

    def _resolve(self, selector: Any) -> BlockHeaderAPI | None:
        chain = self.chain
        if selector is None or selector in ("latest", "pending", "safe", "finalized"):
            # One sequencer, nothing settled on L1 yet: every block is as safe as the head (the next issue's
            # settlement makes "safe" and "finalized" lag behind it).
            return chain.head
        if selector == "earliest":
            return chain.header(0)
        if isinstance(selector, str):
            if len(selector) == 66:
                return self._by_hash(data(selector, "block hash", 32), require_canonical=False)
            return chain.header(quantity(selector, "block number"))
        if isinstance(selector, dict):
            if "blockHash" in selector:
                if "blockNumber" in selector:
                    raise invalid("invalid argument: cannot specify both blockHash and blockNumber")
                canonical = selector.get("requireCanonical", False)
                return self._by_hash(data(selector["blockHash"], "blockHash", 32), require_canonical=canonical)
            if "blockNumber" in selector:
                return self._resolve(selector["blockNumber"])
        raise invalid(f"invalid argument: block number or hash: {selector!r}")

    def _by_hash(self, block_hash: bytes, *, require_canonical: bool) -> BlockHeaderAPI | None:
        header = self.chain.header_by_hash(block_hash)
        if header is None:
            raise RpcError(SERVER_ERROR, f"header for hash 0x{block_hash.hex()} not found")
        return header
