"""Decoding custom errors from reverts that Ape leaves undecoded, for strict revert assertions.

Ape 0.8.52 leaves some reverts as a plain ContractLogicError: errors raised by a nested contract (JobMarket
through Crowdfund), and any revert data whose bytes repr needs double quotes (it contains a 0x27 byte, which
depends on the values, e.g. a block timestamp). The data is still there, as a hex string or a bytes repr.
"""

from __future__ import annotations

import ast
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak


def revert_data(exc: Any) -> bytes:
    """The raw revert data of an undecoded ContractLogicError (b'' when there is none)."""
    message = str(getattr(exc, "revert_message", "") or "")
    if message.startswith(("b'", 'b"')):
        return ast.literal_eval(message)
    try:
        return bytes.fromhex(message.removeprefix("0x"))
    except ValueError:
        return b""


def decode_custom_error(abi: Any, exc: Any) -> dict[str, Any] | None:
    """The inputs of custom error `abi` if `exc`'s raw revert data is that error, else None."""
    data = revert_data(exc)
    if data[:4] != keccak(text=abi.selector)[:4]:
        return None
    types = [ipt.canonical_type for ipt in abi.inputs]
    return dict(zip([ipt.name for ipt in abi.inputs], abi_decode(types, data[4:]), strict=True))


def same_value(want: Any, got: Any) -> bool:
    """Equality that treats addresses case-insensitively and accepts accounts for addresses."""
    want = getattr(want, "address", want)
    if isinstance(want, str) and want.startswith("0x") and isinstance(got, str):
        return got.lower() == want.lower()
    return got == want
