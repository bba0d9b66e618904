"""What a refused transaction was refused for: the contract's custom error, by name, in one line.

    try:
        referee.bisect(did, root, sender=me)
    except TransactionError as err:
        print(describe_revert(err))          # RefereeClockExpired(disputeId=3, party=Defender, deadline=1767225600)

Ape decodes a revert only against the ABI of the contract it called, so an error raised one call deeper (the
market's JobChallengeWindowClosed under the referee's openWatcherDispute) arrives as raw data; it is decoded
here against every contract of the project that a Verde client talks to.
"""

from __future__ import annotations

import ast
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

# Contracts whose errors a Verde client can meet (the referee, its moves facet, the market under both).
CONTRACTS = ("VerdeReferee", "VerdeMoves", "JobMarket", "OpAdjudicator", "Crowdfund")
# uint8 enums shown by name, keyed by the ABI's internalType
ENUMS = {
    "enum IVerdeTypes.Party": ("None", "Challenger", "Defender"),
    "enum IVerdeTypes.Phase": ("None", "Steps", "OpTrace", "Output", "Descent", "Reduction", "Leaf", "Committee",
                               "Resolved"),
    "enum IJobMarket.JobStatus": ("None", "Open", "Running", "Cancelled", "Voided"),
}  # fmt: skip


def revert_data(err: Any) -> bytes:
    """The raw revert data of an error Ape did not decode (b'' when there is none)."""
    message = str(getattr(err, "revert_message", "") or "")
    if message.startswith(("b'", 'b"')):
        try:
            return ast.literal_eval(message)
        except (ValueError, SyntaxError):
            return b""
    try:
        return bytes.fromhex(message.removeprefix("0x"))
    except ValueError:
        return b""


def decode_error(abi: Any, data: bytes) -> dict[str, Any] | None:
    """The inputs of custom error `abi`, by name, if `data` is that error; else None."""
    if len(data) < 4 or data[:4] != keccak(text=abi.selector)[:4]:
        return None
    types = [i.canonical_type for i in abi.inputs]
    return dict(zip([i.name for i in abi.inputs], abi_decode(types, data[4:]), strict=True))


def _show(internal_type: str | None, value: Any) -> str:
    names = ENUMS.get(internal_type or "")
    if names and isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if internal_type == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def _format(abi: Any, values: list[Any]) -> str:
    pairs = zip(abi.inputs, values, strict=True)
    shown = [f"{i.name}={_show(getattr(i, 'internal_type', None), v)}" for i, v in pairs]
    return f"{abi.name}({', '.join(shown)})"


def _error_abis() -> list[Any]:
    from ape import project

    abis = []
    for contract in CONTRACTS:
        try:
            abis.extend(getattr(project, contract).contract_type.errors)
        except AttributeError:  # a project without that contract: nothing of it to decode
            continue
    return abis


def describe_revert(err: Any) -> str:
    """`err` as `ErrorName(arg=value, ...)` when it is a custom error of the project's contracts; otherwise
    its message (a transaction mined and then reverted carries no reason without a trace)."""
    from ape.exceptions import CustomError

    if isinstance(err, CustomError):
        return _format(err.abi, [err.inputs[i.name] for i in err.abi.inputs])
    data = revert_data(err)
    for abi in _error_abis():
        try:
            values = decode_error(abi, data)
        except DecodingError:  # a selector clash with other data: try the next ABI
            continue
        if values is not None:
            return _format(abi, list(values.values()))
    text = str(err).strip().splitlines()
    return text[0] if text and text[0] else type(err).__name__


def error_name(err: Any) -> str:
    """Just the custom error's name (or the first line of the message)."""
    return describe_revert(err).split("(", 1)[0]
