"""eth_createAccessList: the EIP-2930 access list a transaction would use, found as go-ethereum finds it.

The call runs with an access-list tracer that collects the storage slots it reads or writes and the accounts it
reaches (BALANCE, EXTCODE*, SELFDESTRUCT and the CALL family); the sender, the recipient (or the address a creation
would get), the precompiles and EIP-7702 authorities are left out, since they are warm anyway. Declaring accounts
and slots changes gas, which can change the path taken, so the call is run again with the list found until the list
stops changing; the answer is that list, the gas the last run used and its error, if it failed."""

from __future__ import annotations

from typing import Any

import rlp
from eth._utils.address import generate_contract_address
from eth.vm.forks.london import LondonVM
from eth_keys import keys
from eth_utils import ValidationError, to_normalized_address

from rollup.rpc import encode
from rollup.rpc.api import SERVER_ERROR, Api, method
from rollup.rpc.eth import (
    CALL_GAS_CAP,
    ZERO_ADDRESS,
    _free,
    _suggested_tip,
    _validation_message,
    call_state,
    call_transaction,
    free_blobs,
    parse_call,
)
from rollup.rpc.params import RpcError, arg, invalid, positional
from rollup.rpc.trace import CALLS, SELFDESTRUCT, SLOAD, SSTORE, EVMHooks, Frame, vm_error

ACCOUNT_READS = (0x31, 0x3B, 0x3C, 0x3F, SELFDESTRUCT)  # BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH
NEW_ACCOUNT_GAS = 25_000  # go-ethereum's CallNewAccountGas, the least an authorization can cost
AUTHORIZATION_MAGIC = b"\x05"  # EIP-7702's signing domain
MAX_ROUNDS = 64  # each round adds what the one before reached; a list that keeps growing is a bug, not a wait


def _address(value: int | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.to_bytes(32, "big")
    return raw.rjust(20, b"\x00")[-20:]


class AccessListTracer(EVMHooks):
    def __init__(self, initial: dict[bytes, set[int]], exclude: set[bytes]) -> None:
        super().__init__()
        self.exclude = exclude
        self.accessed = {who: set(slots) for who, slots in initial.items()}

    def op_start(self, frame: Frame, code: int, pc: int) -> None:
        stack = frame.computation._stack.values
        if code in (SLOAD, SSTORE) and stack:
            slot = stack[-1]
            # Slots are kept even for excluded accounts: a contract's own storage still needs declaring.
            owner = frame.computation.msg.storage_address
            self.accessed.setdefault(owner, set()).add(
                int.from_bytes(slot, "big") if isinstance(slot, bytes) else slot
            )
        elif code in ACCOUNT_READS and stack:
            self._add(_address(stack[-1]))
        elif code in CALLS and len(stack) >= 5:
            self._add(_address(stack[-2]))

    def _add(self, who: bytes) -> None:
        if who not in self.exclude:
            self.accessed.setdefault(who, set())


def _fee_defaults(api: Api, call: dict[str, Any], header: Any) -> dict[str, Any]:
    """go-ethereum's setFeeDefaults: the call is priced as a transaction would be, so a sender who could not pay
    for it is told so."""
    out = dict(call)
    london = issubclass(api.chain.chain.get_vm_class(header), LondonVM)
    if "maxFeePerGas" in out and "maxPriorityFeePerGas" in out:
        if out["maxFeePerGas"] == 0:
            raise RpcError(SERVER_ERROR, "maxFeePerGas must be non-zero")
        if out["maxFeePerGas"] < out["maxPriorityFeePerGas"]:
            raise RpcError(
                SERVER_ERROR,
                f"maxFeePerGas ({out['maxFeePerGas']}) < maxPriorityFeePerGas ({out['maxPriorityFeePerGas']})",
            )
        return out
    if "gasPrice" in out:
        if out["gasPrice"] == 0 and london:
            raise RpcError(SERVER_ERROR, "gasPrice must be non-zero after london fork")
        return out
    if not london:
        if "maxFeePerGas" in out or "maxPriorityFeePerGas" in out:
            raise RpcError(SERVER_ERROR, "maxFeePerGas and maxPriorityFeePerGas are not valid before London is active")
        out["gasPrice"] = _suggested_tip(api)
        return out
    out.setdefault("maxPriorityFeePerGas", _suggested_tip(api))
    out.setdefault("maxFeePerGas", out["maxPriorityFeePerGas"] + 2 * header.base_fee_per_gas)
    if out["maxFeePerGas"] < out["maxPriorityFeePerGas"]:
        raise RpcError(
            SERVER_ERROR,
            f"maxFeePerGas ({out['maxFeePerGas']}) < maxPriorityFeePerGas ({out['maxPriorityFeePerGas']})",
        )
    return out


def _json(accessed: dict[bytes, set[int]]) -> list[dict[str, Any]]:
    return [
        {"address": to_normalized_address(who), "storageKeys": [encode.d(k.to_bytes(32, "big")) for k in sorted(keys)]}
        for who, keys in sorted(accessed.items())
    ]


@method("eth_createAccessList")
def create_access_list(api: Api, params: Any) -> dict[str, Any]:
    tx, selector, overrides = positional(params, required=1, optional=2)
    call = arg(0, parse_call, tx)
    if overrides is not None:
        raise invalid("state overrides are not supported by this node")
    header = api.block_header(selector if selector is not None else "latest")
    call = _fee_defaults(api, call, header)
    call["gas"] = min(call.get("gas", CALL_GAS_CAP), CALL_GAS_CAP)
    sender = call.get("from") or ZERO_ADDRESS
    head_state = api.chain.state(header)
    nonce = call.get("nonce", head_state.get_nonce(sender))
    to = call.get("to") or generate_contract_address(sender, nonce)
    precompiles = set(head_state.computation_class.get_precompiles())
    exclude = {sender, to} | precompiles
    authorizations = call.get("authorizationList", ())
    if len(authorizations) > call["gas"] // NEW_ACCOUNT_GAS:
        raise RpcError(SERVER_ERROR, "insufficient gas to process all authorizations")
    exclude |= _authorities(api, authorizations)
    accessed: dict[bytes, set[int]] = {}
    for who, slots in call.get("accessList", ()):
        if who not in exclude:
            accessed.setdefault(who, set()).update(slots)
    for _ in range(MAX_ROUNDS):
        listed = tuple((who, tuple(sorted(keys))) for who, keys in sorted(accessed.items()))
        state = call_state(api, header, free=_free(call, header), free_blobs=free_blobs(call))
        run = dict(call, accessList=listed)
        transaction = call_transaction(api, run, state, gas=run["gas"])
        tracer = AccessListTracer(accessed, exclude)
        plain = state.computation_class
        state.computation_class = tracer.computation_class(plain)
        try:
            computation = state.apply_transaction(transaction)
        except ValidationError as err:
            raise RpcError(
                SERVER_ERROR, f"failed to apply transaction: err: {_validation_message(str(err))}"
            ) from None
        finally:
            state.computation_class = plain
        if tracer.accessed == accessed:
            gas_used = api.chain.chain.get_vm_class(header).finalize_gas_used(transaction, computation)
            out: dict[str, Any] = {"accessList": _json(accessed), "gasUsed": encode.q(gas_used)}
            if computation.is_error:
                out["error"] = vm_error(computation.error)
            return out
        accessed = tracer.accessed
    raise RpcError(SERVER_ERROR, "access list did not settle")


def _authorities(api: Api, authorizations: Any) -> set[bytes]:
    """The signers of the authorizations that could apply here (right chain, nonce in range): EIP-7702's
    ecrecover over 0x05 || rlp([chain_id, address, nonce])."""
    out = set()
    for auth in authorizations:
        if auth["chain_id"] not in (0, api.chain.chain_id) or auth["nonce"] + 1 >= 2**64:
            continue
        message = AUTHORIZATION_MAGIC + rlp.encode([auth["chain_id"], auth["address"], auth["nonce"]])
        try:
            signature = keys.Signature(vrs=(auth["y_parity"], auth["r"], auth["s"]))
            out.add(signature.recover_public_key_from_msg(message).to_canonical_address())
        except Exception:  # an unrecoverable signature authorizes nobody
            continue
    return out
