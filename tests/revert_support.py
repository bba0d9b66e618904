"""Decoding custom errors from reverts that Ape leaves undecoded, for strict revert assertions.

Ape 0.8.52 leaves some reverts as a plain ContractLogicError: errors raised by a nested contract (JobMarket
through Crowdfund), and any revert data whose bytes repr needs double quotes (it contains a 0x27 byte, which
depends on the values, e.g. a block timestamp). The data is still there, as a hex string or a bytes repr.
"""

from __future__ import annotations

from typing import Any

from offchain.chain.reverts import decode_error, revert_data


def decode_custom_error(abi: Any, exc: Any) -> dict[str, Any] | None:
    """The inputs of custom error `abi` if `exc`'s raw revert data is that error, else None."""
    return decode_error(abi, revert_data(exc))


def same_value(want: Any, got: Any) -> bool:
    """Equality that treats addresses case-insensitively and accepts accounts for addresses."""
    want = getattr(want, "address", want)
    if isinstance(want, str) and want.startswith("0x") and isinstance(got, str):
        return got.lower() == want.lower()
    return got == want
