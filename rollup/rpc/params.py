"""Reading JSON-RPC parameters strictly, with go-ethereum's error codes and wording: a wrong parameter is refused
with -32602 and a message naming it, never half-applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils import is_hex_address, to_canonical_address

INVALID_PARAMS = -32602


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def invalid(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


def quantity(value: Any, what: str = "quantity") -> int:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise invalid(f"invalid argument: {what}: hex string without 0x prefix or not a string: {value!r}")
    digits = value[2:]
    if not digits:
        raise invalid(f'invalid argument: {what}: hex string "0x"')
    if len(digits) > 1 and digits[0] == "0":
        raise invalid(f"invalid argument: {what}: hex number with leading zero digits")
    if len(digits) > 64:
        raise invalid(f"invalid argument: {what}: hex number > 256 bits")
    try:
        return int(digits, 16)
    except ValueError:
        raise invalid(f"invalid argument: {what}: invalid hex string {value!r}") from None


def data(value: Any, what: str = "data", size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise invalid(f"invalid argument: {what}: hex string without 0x prefix or not a string: {value!r}")
    digits = value[2:]
    if len(digits) % 2:
        raise invalid(f"invalid argument: {what}: hex string of odd length")
    try:
        out = bytes.fromhex(digits)
    except ValueError:
        raise invalid(f"invalid argument: {what}: invalid hex string") from None
    if size is not None and len(out) != size:
        raise invalid(f"invalid argument: {what}: hex string has length {len(digits)}, want {size * 2}")
    return out


def hash32(value: Any, what: str = "hash") -> bytes:
    return data(value, what, 32)


def address(value: Any, what: str = "address") -> bytes:
    if not isinstance(value, str) or not is_hex_address(value):
        raise invalid(f"invalid argument: {what}: not a 20-byte hex address: {value!r}")
    return to_canonical_address(value)


def boolean(value: Any, what: str = "flag") -> bool:
    if not isinstance(value, bool):
        raise invalid(f"invalid argument: {what}: want a boolean, got {value!r}")
    return value


def positional(params: Any, *, required: int, optional: int = 0, method: str = "") -> list[Any]:
    """The params array, padded with None up to required + optional; -32602 if there are too few or too many."""
    if params is None:
        params = []
    if not isinstance(params, list):
        raise invalid("non-array args")
    if len(params) < required:
        raise invalid(f"missing value for required argument {len(params)}")
    if len(params) > required + optional:
        raise invalid(f"too many arguments, want at most {required + optional}")
    return params + [None] * (required + optional - len(params))


def arg(index: int, parse: Callable[[Any], Any], value: Any) -> Any:
    """Parse one argument, naming its position in an error as go-ethereum does ("invalid argument 0: ...")."""
    try:
        return parse(value)
    except RpcError as err:
        if err.code == INVALID_PARAMS and err.message.startswith("invalid argument: "):
            err.message = f"invalid argument {index}: " + err.message[len("invalid argument: ") :]
        raise
