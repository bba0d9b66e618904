"""The eth_, net_ and web3_ namespaces: chain data, state reads, calls and gas estimation, transactions in."""

from __future__ import annotations

from functools import cache
from typing import Any

import rlp
from eth.abc import BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth.exceptions import OutOfGas, Revert
from eth.vm.forks.cancun.state import fake_exponential
from eth.vm.forks.london import LondonVM
from eth.vm.spoof import SpoofTransaction
from eth_hash.auto import keccak
from eth_utils import ValidationError

from rollup.mempool import PoolError
from rollup.rpc import encode
from rollup.rpc.api import SERVER_ERROR, Api, method
from rollup.rpc.params import RpcError, address, arg, boolean, data, hash32, invalid, positional, quantity

CALL_GAS_CAP = 50_000_000  # go-ethereum's default RPC gas cap for eth_call and eth_estimateGas
TX_GAS = 21_000
CALL_STIPEND = 2_300
ESTIMATE_ERROR_RATIO = 0.015  # go-ethereum's estimateGasErrorRatio: the search stops within 1.5% of the answer
ZERO_ADDRESS = b"\x00" * 20
REVERTED = 3  # EIP-1474 / go-ethereum: execution reverted, with the revert data
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
MIN_TIP = 10**6  # what eth_maxPriorityFeePerGas suggests when blocks carry no tips to learn from (0.001 gwei)


# web3_, net_


@method("web3_clientVersion")
def client_version(api: Api, params: Any) -> str:
    positional(params, required=0)
    return api.client_version


@method("web3_sha3")
def sha3(api: Api, params: Any) -> str:
    (value,) = positional(params, required=1)
    return encode.d(keccak(arg(0, data, value)))


@method("net_version")
def net_version(api: Api, params: Any) -> str:
    positional(params, required=0)
    return str(api.chain.chain_id)


@method("net_listening")
def net_listening(api: Api, params: Any) -> bool:
    positional(params, required=0)
    return True


@method("net_peerCount")
def net_peer_count(api: Api, params: Any) -> str:
    positional(params, required=0)
    return "0x0"


# Chain


@method("eth_chainId")
def chain_id(api: Api, params: Any) -> str:
    positional(params, required=0)
    return encode.q(api.chain.chain_id)


@method("eth_syncing")
def syncing(api: Api, params: Any) -> bool:
    positional(params, required=0)
    return False


@method("eth_mining")
def mining(api: Api, params: Any) -> bool:
    positional(params, required=0)
    return api.sequencer.producing


@method("eth_accounts")
def accounts(api: Api, params: Any) -> list[str]:
    positional(params, required=0)
    return []  # the node holds no keys: clients sign and send raw transactions


@method("eth_blockNumber")
def block_number(api: Api, params: Any) -> str:
    positional(params, required=0)
    return encode.q(api.chain.head.block_number)


def _block_json(api: Api, header: BlockHeaderAPI | None, full: bool) -> dict[str, Any] | None:
    if header is None:
        return None
    blk = api.chain.block(header)
    return encode.block(blk, len(rlp.encode(blk)), full=full)


@method("eth_getBlockByNumber")
def get_block_by_number(api: Api, params: Any) -> dict[str, Any] | None:
    selector, full = positional(params, required=2)
    return _block_json(api, _header_by_number(api, selector), arg(1, boolean, full))


@method("eth_getBlockByHash")
def get_block_by_hash(api: Api, params: Any) -> dict[str, Any] | None:
    block_hash, full = positional(params, required=2)
    return _block_json(api, _header_by_hash(api, block_hash), arg(1, boolean, full))


def _number_selector(selector: Any) -> Any:
    # By-number methods take a tag or a quantity, not a hash.
    if isinstance(selector, str) and selector in ("latest", "pending", "safe", "finalized", "earliest"):
        return selector
    return encode.q(arg(0, lambda v: quantity(v, "block number"), selector))


def _header_by_number(api: Api, selector: Any) -> BlockHeaderAPI | None:
    return api.block_header(_number_selector(selector), allow_missing=True)


def _header_by_hash(api: Api, block_hash: Any) -> BlockHeaderAPI | None:
    return api.chain.header_by_hash(arg(0, hash32, block_hash))


def _count(api: Api, header: BlockHeaderAPI | None, field: str) -> str | None:
    return None if header is None else encode.q(len(getattr(api.chain.block(header), field)))


@method("eth_getBlockTransactionCountByNumber")
def tx_count_by_number(api: Api, params: Any) -> str | None:
    (selector,) = positional(params, required=1)
    return _count(api, _header_by_number(api, selector), "transactions")


@method("eth_getBlockTransactionCountByHash")
def tx_count_by_hash(api: Api, params: Any) -> str | None:
    (block_hash,) = positional(params, required=1)
    return _count(api, _header_by_hash(api, block_hash), "transactions")


@method("eth_getUncleCountByBlockNumber")
def uncle_count_by_number(api: Api, params: Any) -> str | None:
    (selector,) = positional(params, required=1)
    return _count(api, _header_by_number(api, selector), "uncles")


@method("eth_getUncleCountByBlockHash")
def uncle_count_by_hash(api: Api, params: Any) -> str | None:
    (block_hash,) = positional(params, required=1)
    return _count(api, _header_by_hash(api, block_hash), "uncles")


# Transactions and receipts


def _tx_in_block(api: Api, header: BlockHeaderAPI | None, index: int) -> dict[str, Any] | None:
    if header is None:
        return None
    txs = api.chain.block(header).transactions
    return encode.transaction(txs[index], header, index) if index < len(txs) else None


@method("eth_getTransactionByHash")
def get_transaction_by_hash(api: Api, params: Any) -> dict[str, Any] | None:
    (tx_hash,) = positional(params, required=1)
    tx_hash = arg(0, hash32, tx_hash)
    location = api.chain.transaction_location(tx_hash)
    if location is None:
        pending = api.sequencer.pool.get(tx_hash)
        return None if pending is None else encode.transaction(pending.tx, None, None)
    number, index = location
    return _tx_in_block(api, api.chain.header(number), index)


@method("eth_getTransactionByBlockHashAndIndex")
def tx_by_hash_and_index(api: Api, params: Any) -> dict[str, Any] | None:
    block_hash, index = positional(params, required=2)
    return _tx_in_block(api, _header_by_hash(api, block_hash), arg(1, quantity, index))


@method("eth_getTransactionByBlockNumberAndIndex")
def tx_by_number_and_index(api: Api, params: Any) -> dict[str, Any] | None:
    selector, index = positional(params, required=2)
    return _tx_in_block(api, _header_by_number(api, selector), arg(1, quantity, index))


def block_receipts(api: Api, header: BlockHeaderAPI) -> list[dict[str, Any]]:
    blk = api.chain.block(header)
    receipts = api.chain.receipts(header)
    blob_price = _blob_base_fee(header)
    out = []
    previous = 0
    log_index = 0
    for index, (tx, receipt) in enumerate(zip(blk.transactions, receipts, strict=True)):
        out.append(encode.receipt(receipt, tx, header, index, receipt.gas_used - previous, log_index, blob_price))
        previous = receipt.gas_used
        log_index += len(receipt.logs)
    return out


@method("eth_getTransactionReceipt")
def get_transaction_receipt(api: Api, params: Any) -> dict[str, Any] | None:
    (tx_hash,) = positional(params, required=1)
    location = api.chain.transaction_location(arg(0, hash32, tx_hash))
    if location is None:
        return None
    number, index = location
    return block_receipts(api, api.chain.header(number))[index]


@method("eth_getBlockReceipts")
def get_block_receipts(api: Api, params: Any) -> list[dict[str, Any]] | None:
    (selector,) = positional(params, required=1)
    try:
        header = api.block_header(selector, allow_missing=True)
    except RpcError as err:
        if err.code != SERVER_ERROR:
            raise
        header = None  # go-ethereum answers null for a block hash it does not know, as for a future number
    return None if header is None else block_receipts(api, header)


@method("eth_sendRawTransaction")
def send_raw_transaction(api: Api, params: Any) -> str:
    (raw,) = positional(params, required=1)
    raw = arg(0, lambda v: data(v, "raw transaction"), raw)
    try:
        return encode.d(api.sequencer.submit(raw))
    except PoolError as err:
        raise RpcError(SERVER_ERROR, str(err)) from None


# State


def _state(api: Api, selector: Any, index: int) -> StateAPI:
    header = api.block_header(selector if selector is not None else "latest")
    return api.chain.state(header)


@method("eth_getBalance")
def get_balance(api: Api, params: Any) -> str:
    who, selector = positional(params, required=1, optional=1)
    who = arg(0, address, who)
    return encode.q(_state(api, selector, 1).get_balance(who))


@method("eth_getCode")
def get_code(api: Api, params: Any) -> str:
    who, selector = positional(params, required=1, optional=1)
    who = arg(0, address, who)
    return encode.d(_state(api, selector, 1).get_code(who))


@method("eth_getStorageAt")
def get_storage_at(api: Api, params: Any) -> str:
    who, slot, selector = positional(params, required=2, optional=1)
    who = arg(0, address, who)
    slot = arg(1, _slot, slot)
    value = _state(api, selector, 2).get_storage(who, slot)
    return encode.d(value.to_bytes(32, "big"))


def _slot(value: Any) -> int:
    # go-ethereum takes a storage key as a quantity or as up to 32 bytes of hex.
    raw = data(value if isinstance(value, str) and len(value) % 2 == 0 else _pad(value), "storage slot")
    if len(raw) > 32:
        raise invalid("invalid argument: storage slot: hex string too long, want at most 32 bytes")
    return int.from_bytes(raw, "big")


def _pad(value: Any) -> Any:
    return "0x0" + value[2:] if isinstance(value, str) and value.startswith("0x") else value


@method("eth_getTransactionCount")
def get_transaction_count(api: Api, params: Any) -> str:
    who, selector = positional(params, required=1, optional=1)
    who = arg(0, address, who)
    nonce = _state(api, selector, 1).get_nonce(who)
    if selector == "pending":
        nonce = api.sequencer.pool.next_nonce(who, nonce)
    return encode.q(nonce)


# Fees


@method("eth_gasPrice")
def gas_price(api: Api, params: Any) -> str:
    positional(params, required=0)
    return encode.q(api.sequencer.base_fee_next() + _suggested_tip(api))


@method("eth_maxPriorityFeePerGas")
def max_priority_fee(api: Api, params: Any) -> str:
    positional(params, required=0)
    return encode.q(_suggested_tip(api))


def _suggested_tip(api: Api) -> int:
    return MIN_TIP


@method("eth_baseFee")
def base_fee(api: Api, params: Any) -> str | None:
    """The base fee of the next block; null before London."""
    positional(params, required=0)
    head = api.chain.head
    vm_class = api.chain.chain.get_vm_class_for_block_number(head.block_number + 1)
    return encode.q(api.sequencer.base_fee_next()) if issubclass(vm_class, LondonVM) else None


@method("eth_blobBaseFee")
def blob_base_fee(api: Api, params: Any) -> str:
    positional(params, required=0)
    return encode.q(_blob_base_fee(api.chain.head) or 0)


def _blob_base_fee(header: BlockHeaderAPI) -> int | None:
    excess = getattr(header, "excess_blob_gas", None)
    if excess is None:
        return None
    fraction = 5007716 if hasattr(header, "requests_hash") else 3338477
    return fake_exponential(1, excess, fraction)


@method("eth_feeHistory")
def fee_history(api: Api, params: Any) -> dict[str, Any]:
    count, newest, percentiles = positional(params, required=2, optional=1)
    count = arg(0, lambda v: quantity(v, "block count") if isinstance(v, str) else _int(v), count)
    last = api.block_header(newest)
    if percentiles is not None and (
        not isinstance(percentiles, list)
        or any(not isinstance(p, int | float) or not 0 <= p <= 100 for p in percentiles)
        or percentiles != sorted(percentiles)
    ):
        raise invalid("invalid reward percentiles: want ascending numbers in [0, 100]")
    count = min(count, 1024, last.block_number + 1)
    first = last.block_number - count + 1
    base_fees, ratios, rewards = [], [], []
    blob_fees, blob_ratios = [], []
    for number in range(first, last.block_number + 1):
        header = api.chain.header(number)
        base_fees.append(encode.q(getattr(header, "base_fee_per_gas", 0) or 0))
        ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0)
        blob_fees.append(encode.q(_blob_base_fee(header) or 0))
        blob_ratios.append((getattr(header, "blob_gas_used", 0) or 0) / (6 * 131072))
        if percentiles is not None:
            rewards.append([encode.q(r) for r in _rewards(api, header, percentiles)])
    base_fees.append(encode.q(api.sequencer.base_fee_next() if last == api.chain.head else _next_base_fee(api, last)))
    blob_fees.append(blob_fees[-1] if blob_fees else "0x0")
    out: dict[str, Any] = {
        "oldestBlock": encode.q(first),
        "baseFeePerGas": base_fees,
        "gasUsedRatio": ratios,
        "baseFeePerBlobGas": blob_fees,
        "blobGasUsedRatio": blob_ratios,
    }
    if percentiles is not None:
        out["reward"] = rewards
    return out


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise invalid(f"invalid argument: block count: {value!r}")


def _next_base_fee(api: Api, header: BlockHeaderAPI) -> int:
    child = api.chain.header(header.block_number + 1)
    return getattr(child, "base_fee_per_gas", 0) or 0


def _rewards(api: Api, header: BlockHeaderAPI, percentiles: list[float]) -> list[int]:
    blk = api.chain.block(header)
    if not blk.transactions:
        return [0 for _ in percentiles]
    base_fee = getattr(header, "base_fee_per_gas", 0) or 0
    receipts = api.chain.receipts(header)
    used, previous = [], 0
    for tx, receipt in zip(blk.transactions, receipts, strict=True):
        tip = max(0, encode.effective_gas_price(tx, base_fee) - base_fee)  # a deposit pays no tip (op-geth: 0)
        used.append((tip, receipt.gas_used - previous))
        previous = receipt.gas_used
    used.sort()
    out, total = [], header.gas_used
    for p in percentiles:
        threshold = total * p / 100
        acc = 0
        for tip, gas in used:
            acc += gas
            if acc >= threshold:
                out.append(tip)
                break
        else:
            out.append(used[-1][0])
    return out


# Calls and gas estimation


def call_state(api: Api, header: BlockHeaderAPI, *, free: bool, free_blobs: bool = False) -> StateAPI:
    """The state after `header` in `header`'s execution context; a free call (no fee fields) runs with base fee
    0, as go-ethereum's does, so that gas price 0 is allowed; with free_blobs (blob hashes without a blob fee cap)
    the blob base fee is 0 too, as go-ethereum sets it for such a call."""
    vm = api.chain.chain.get_vm(header)
    context = header.copy(base_fee_per_gas=0) if free and hasattr(header, "base_fee_per_gas") else header
    state = vm.build_state(vm.chaindb.db, context, vm.chain_context, vm.previous_hashes)
    if free_blobs and hasattr(state, "blob_base_fee"):
        state.__class__ = _without_blob_fee(type(state))
    return state


@cache
def _without_blob_fee(state_class: type) -> type:
    # py-evm derives the blob base fee from the excess blob gas, never below 1: a subclass is the way to say 0.
    return type(f"NoBlobFee{state_class.__name__}", (state_class,), {"blob_base_fee": property(lambda self: 0)})


def free_blobs(call: dict[str, Any]) -> bool:
    return "blobVersionedHashes" in call and not call.get("maxFeePerBlobGas")


def call_transaction(api: Api, call: dict[str, Any], state: StateAPI, *, gas: int) -> SignedTransactionAPI:
    sender = call.get("from") or b"\x00" * 20
    builder = api.chain.chain.get_vm_class_for_block_number(state.block_number).get_transaction_builder()
    fields = dict(
        nonce=state.get_nonce(sender),
        gas_price=call.get("gasPrice", 0),
        gas=gas,
        to=call.get("to") or b"",
        value=call.get("value", 0),
        data=call.get("data", b""),
    )
    typed = dict(
        chain_id=api.chain.chain_id,
        nonce=fields["nonce"],
        max_priority_fee_per_gas=call.get("maxPriorityFeePerGas", call.get("gasPrice", 0)),
        max_fee_per_gas=call.get("maxFeePerGas", call.get("gasPrice", 0)),
        gas=gas,
        to=fields["to"],
        value=fields["value"],
        data=fields["data"],
        access_list=call.get("accessList", ()),
    )
    # go-ethereum picks the transaction type by the fields present, in this order.
    if "authorizationList" in call:
        if not hasattr(builder, "new_unsigned_set_code_transaction"):
            raise RpcError(SERVER_ERROR, "transaction type not supported: set code transactions need Prague")
        unsigned = builder.new_unsigned_set_code_transaction(**typed, authorization_list=call["authorizationList"])
    elif "blobVersionedHashes" in call:
        if not hasattr(builder, "new_unsigned_blob_transaction"):
            raise RpcError(SERVER_ERROR, "transaction type not supported: blob transactions need Cancun")
        unsigned = builder.new_unsigned_blob_transaction(
            **typed,
            max_fee_per_blob_gas=call.get("maxFeePerBlobGas", 0),
            blob_versioned_hashes=call["blobVersionedHashes"],
        )
    elif "maxFeePerGas" in call or "maxPriorityFeePerGas" in call:
        max_fee = call.get("maxFeePerGas", 0)
        tip = call.get("maxPriorityFeePerGas", 0)
        unsigned = builder.new_unsigned_dynamic_fee_transaction(
            chain_id=api.chain.chain_id,
            nonce=fields["nonce"],
            max_priority_fee_per_gas=tip,
            max_fee_per_gas=max_fee,
            gas=gas,
            to=fields["to"],
            value=fields["value"],
            data=fields["data"],
            access_list=call.get("accessList", ()),
        )
    elif "accessList" in call:
        unsigned = builder.new_unsigned_access_list_transaction(
            chain_id=api.chain.chain_id, access_list=call["accessList"], **fields
        )
    else:
        unsigned = builder.create_unsigned_transaction(**fields)
    return SpoofTransaction(unsigned, from_=sender)


def parse_call(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("invalid argument: transaction call object expected")
    out: dict[str, Any] = {}
    for key in ("from", "to"):
        if value.get(key) is not None:
            out[key] = address(value[key], key)
    for key in ("gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "nonce"):
        if value.get(key) is not None:
            out[key] = quantity(value[key], key)
    if value.get("input") is not None and value.get("data") is not None and value["input"] != value["data"]:
        raise invalid(
            'invalid argument: both "data" and "input" are set and not equal. Please use "input" to pass '
            "transaction call data"
        )
    raw = value.get("input", value.get("data"))
    if raw is not None:
        out["data"] = data(raw, "input")
    if "gasPrice" in out and ("maxFeePerGas" in out or "maxPriorityFeePerGas" in out):
        raise invalid("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    if value.get("accessList") is not None:
        out["accessList"] = _access_list(value["accessList"])
    if value.get("authorizationList") is not None:
        out["authorizationList"] = _authorization_list(value["authorizationList"])
    if value.get("blobVersionedHashes") is not None:
        hashes = value["blobVersionedHashes"]
        if not isinstance(hashes, list):
            raise invalid("invalid argument: blobVersionedHashes must be an array")
        out["blobVersionedHashes"] = tuple(hash32(h, "blobVersionedHashes") for h in hashes)
    if value.get("maxFeePerBlobGas") is not None:
        out["maxFeePerBlobGas"] = quantity(value["maxFeePerBlobGas"], "maxFeePerBlobGas")
    return out


def _authorization_list(value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list):
        raise invalid("invalid argument: authorizationList must be an array")
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            raise invalid("invalid argument: authorizationList entries must be objects")
        out.append(
            {
                "chain_id": quantity(entry.get("chainId"), "chainId"),
                "address": address(entry.get("address"), "authorization address"),
                "nonce": quantity(entry.get("nonce"), "nonce"),
                "y_parity": quantity(entry.get("yParity", entry.get("v")), "yParity"),
                "r": quantity(entry.get("r"), "r"),
                "s": quantity(entry.get("s"), "s"),
            }
        )
    return tuple(out)


def _access_list(value: Any) -> tuple[tuple[bytes, tuple[int, ...]], ...]:
    if not isinstance(value, list):
        raise invalid("invalid argument: accessList must be an array")
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            raise invalid("invalid argument: accessList entries must be objects")
        keys = tuple(int.from_bytes(hash32(k, "storage key"), "big") for k in entry.get("storageKeys") or [])
        out.append((address(entry.get("address"), "accessList address"), keys))
    return tuple(out)


def _free(call: dict[str, Any], header: BlockHeaderAPI) -> bool:
    # go-ethereum runs calls and estimates with NoBaseFee: no fee fields, or a fee cap under the base fee (a
    # wallet pricing for the next block, whose base fee is lower), still runs; the context's base fee is then 0.
    cap = call.get("maxFeePerGas", call.get("gasPrice"))
    base_fee = getattr(header, "base_fee_per_gas", 0) or 0
    return not any(call.get(k) for k in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")) or (
        cap is not None and cap < base_fee
    )


def execute(api: Api, call: dict[str, Any], header: BlockHeaderAPI, gas: int):
    """Run `call` on the state after `header`, nothing kept; the computation, or an RpcError if the transaction
    is not valid there (insufficient funds, fee cap under the base fee...)."""
    state = call_state(api, header, free=_free(call, header), free_blobs=free_blobs(call))
    tx = call_transaction(api, call, state, gas=gas)
    try:
        return state.apply_transaction(tx)
    except ValidationError as err:
        raise RpcError(SERVER_ERROR, _validation_message(str(err))) from None


def _validation_message(text: str) -> str:
    lowered = text.lower()
    if "balance" in lowered or "insufficient" in lowered:
        return f"insufficient funds for gas * price + value: {text}"
    if "intrinsic" in lowered:
        return f"intrinsic gas too low: {text}"
    return text


def raise_if_failed(computation) -> None:
    if not computation.is_error:
        return
    err = computation.error
    if isinstance(err, Revert):
        output = computation.output
        raise RpcError(REVERTED, revert_message(output), encode.d(output))
    raise RpcError(SERVER_ERROR, _vm_error_message(err))


def revert_message(output: bytes) -> str:
    reason = _revert_reason(output)
    return "execution reverted" if reason is None else f"execution reverted: {reason}"


# Solidity's Panic(uint256) codes, worded as go-ethereum (after ethers.js) words them.
PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


def _revert_reason(output: bytes) -> str | None:
    # go-ethereum's abi.UnpackRevert: the string's length must fit the data, its zero padding need not be there.
    body = output[4:]
    if output[:4] == ERROR_SELECTOR and len(body) >= 64:
        offset = int.from_bytes(body[:32], "big")
        if offset + 32 <= len(body):
            size = int.from_bytes(body[offset : offset + 32], "big")
            if offset + 32 + size <= len(body):
                return body[offset + 32 : offset + 32 + size].decode("utf-8", "replace")
    if output[:4] == PANIC_SELECTOR and len(body) >= 32:
        code = int.from_bytes(body[:32], "big")
        return PANIC_REASONS.get(code, f"unknown panic code: {code:#x}")
    return None


def _vm_error_message(err: Exception) -> str:
    name = type(err).__name__
    return {
        "OutOfGas": "out of gas",
        "InsufficientFunds": "insufficient balance for transfer",
        "StackDepthLimit": "max call depth exceeded",
        "InvalidInstruction": "invalid opcode",
        "InvalidJumpDestination": "invalid jump destination",
        "WriteProtection": "write protection",
        "StackUnderflow": "stack underflow",
        "StackOverflow": "stack limit reached",
        "ContractCreationCollision": "contract address collision",
        "OutOfBoundsRead": "return data out of bounds",
    }.get(name, f"{name}: {err}".rstrip(": "))


@method("eth_call")
def call(api: Api, params: Any) -> str:
    tx, selector, overrides = positional(params, required=1, optional=2)
    call_ = arg(0, parse_call, tx)
    if overrides is not None:
        raise invalid("state overrides are not supported by this node")
    header = api.block_header(selector if selector is not None else "latest")
    computation = execute(api, call_, header, call_.get("gas", CALL_GAS_CAP))
    raise_if_failed(computation)
    return encode.d(computation.output)


@method("eth_estimateGas")
def estimate_gas(api: Api, params: Any) -> str:
    tx, selector, overrides = positional(params, required=1, optional=2)
    call_ = arg(0, parse_call, tx)
    if overrides is not None:
        raise invalid("state overrides are not supported by this node")
    header = api.block_header(selector if selector is not None else "latest")
    return encode.q(estimate(api, call_, header))


def estimate(api: Api, call_: dict[str, Any], header: BlockHeaderAPI) -> int:
    """The least gas with which the call succeeds, searched as go-ethereum's gasestimator searches (same bounds,
    same probes, same 1.5% stopping rule), so that both nodes answer the same number."""
    hi = call_["gas"] if call_.get("gas", 0) >= TX_GAS else header.gas_limit
    fee_cap = call_.get("maxFeePerGas", 0) if _dynamic(call_) else call_.get("gasPrice", 0)
    if fee_cap:
        # The sender can only fund so much gas: cap the search there rather than fail on every probe.
        available = api.chain.state(header).get_balance(call_.get("from") or ZERO_ADDRESS)
        value = call_.get("value", 0)
        if value >= available:
            raise RpcError(SERVER_ERROR, "insufficient funds for transfer")
        hi = min(hi, (available - value) // fee_cap)
    hi = min(hi, CALL_GAS_CAP)
    to = call_.get("to")
    if not call_.get("data") and to and not api.chain.state(header).get_code(to):
        failed, _, _ = _probe(api, call_, header, TX_GAS)
        if not failed:
            return TX_GAS
    failed, computation, tx = _probe(api, call_, header, hi)
    if failed:
        if computation is not None and not isinstance(computation.error, OutOfGas):
            raise_if_failed(computation)
        raise RpcError(SERVER_ERROR, f"gas required exceeds allowance ({hi})")
    vm_class = api.chain.chain.get_vm_class(header)
    used = vm_class.finalize_gas_used(tx, computation)
    peak = max(hi - computation.get_gas_remaining(), used)  # before refunds (the data floor included)
    lo = used - 1
    optimistic = (peak + CALL_STIPEND) * 64 // 63
    if optimistic < hi:
        failed, _, _ = _probe(api, call_, header, optimistic)
        if failed:
            lo = optimistic
        else:
            hi = optimistic
    while lo + 1 < hi:
        if (hi - lo) / hi < ESTIMATE_ERROR_RATIO:
            break
        mid = min(lo + (hi - lo) // 2, lo * 2)  # most calls need little more than they used: bisect low
        failed, _, _ = _probe(api, call_, header, mid)
        if failed:
            lo = mid
        else:
            hi = mid
    return hi


def _dynamic(call_: dict[str, Any]) -> bool:
    return "maxFeePerGas" in call_ or "maxPriorityFeePerGas" in call_


def _probe(api: Api, call_: dict[str, Any], header: BlockHeaderAPI, gas: int):
    """(failed, computation, transaction) of the call with `gas`; gas under the intrinsic cost fails without a
    computation, any other invalidity (nonce, funds) is an error, as in go-ethereum's estimator."""
    state = call_state(api, header, free=_free(call_, header), free_blobs=free_blobs(call_))
    tx = call_transaction(api, call_, state, gas=gas)
    if gas < tx.intrinsic_gas:
        return True, None, tx
    try:
        computation = state.apply_transaction(tx)
    except ValidationError as err:
        raise RpcError(SERVER_ERROR, _validation_message(str(err))) from None
    return computation.is_error, computation, tx
