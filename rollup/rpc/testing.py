"""testing_buildBlockV1: the block this node would build on its head from given payload attributes and transactions
(or from its pool), returned as an engine API payload envelope and never imported: the chain, the pool and the
database stay as they were (the block is executed on an in-memory layer over the database that is thrown away).

Built as go-ethereum's miner builds it (eth/catalyst/api_testing.go, miner/worker.go), so that fixtures made with
it match: the gas limit moves towards go-ethereum's default miner gas ceiling, the fee recipient, prevRandao,
parent beacon root and withdrawals are the attributes', listed transactions must all apply (the first that does not
is the error) while pool transactions that do not apply are skipped."""

from __future__ import annotations

from typing import Any

import rlp
from eth.abc import BlockHeaderAPI, SignedTransactionAPI
from eth.db.atomic import AtomicDB
from eth.db.batch import BatchDB
from eth.vm import forks
from eth.vm.chain_context import ChainContext
from eth.vm.forks.shanghai.withdrawals import Withdrawal
from eth_utils import ValidationError, to_checksum_address, to_normalized_address

from rollup.mempool import BLOB_TX_TYPE, PoolError, decode_transaction
from rollup.rpc import encode
from rollup.rpc.api import SERVER_ERROR, Api, method
from rollup.rpc.params import RpcError, address, arg, data, hash32, invalid, positional, quantity

GAS_CEIL = 60_000_000  # go-ethereum's default miner.gaslimit: the target its built blocks' gas limits move to
GAS_LIMIT_BOUND_DIVISOR = 1024
MIN_GAS_LIMIT = 5000
TX_GAS = 21_000


def calc_gas_limit(parent_gas_limit: int, desired: int) -> int:
    """go-ethereum's core.CalcGasLimit: one step (parent / 1024 - 1) towards the desired limit."""
    delta = parent_gas_limit // GAS_LIMIT_BOUND_DIVISOR - 1
    desired = max(desired, MIN_GAS_LIMIT)
    if parent_gas_limit < desired:
        return min(parent_gas_limit + delta, desired)
    if parent_gas_limit > desired:
        return max(parent_gas_limit - delta, desired)
    return parent_gas_limit


def _attributes(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("invalid argument 1: payload attributes must be an object")
    for key in ("timestamp", "prevRandao", "suggestedFeeRecipient"):
        if value.get(key) is None:
            raise invalid(f"invalid argument 1: missing required field '{key}' for PayloadAttributes")
    out: dict[str, Any] = {
        "timestamp": arg(1, lambda v: quantity(v, "timestamp"), value["timestamp"]),
        "prevRandao": arg(1, lambda v: hash32(v, "prevRandao"), value["prevRandao"]),
        "suggestedFeeRecipient": arg(1, lambda v: address(v, "suggestedFeeRecipient"), value["suggestedFeeRecipient"]),
        "withdrawals": None,
        "parentBeaconBlockRoot": None,
    }
    if value.get("parentBeaconBlockRoot") is not None:
        out["parentBeaconBlockRoot"] = arg(
            1, lambda v: hash32(v, "parentBeaconBlockRoot"), value["parentBeaconBlockRoot"]
        )
    if value.get("withdrawals") is not None:
        if not isinstance(value["withdrawals"], list):
            raise invalid("invalid argument 1: withdrawals must be an array")
        out["withdrawals"] = [_withdrawal(w) for w in value["withdrawals"]]
    return out


def _withdrawal(value: Any) -> Withdrawal:
    if not isinstance(value, dict):
        raise invalid("invalid argument 1: a withdrawal must be an object")
    return Withdrawal(
        index=arg(1, lambda v: quantity(v, "index"), value.get("index")),
        validator_index=arg(1, lambda v: quantity(v, "validatorIndex"), value.get("validatorIndex")),
        address=arg(1, lambda v: address(v, "address"), value.get("address")),
        amount=arg(1, lambda v: quantity(v, "amount"), value.get("amount")),
    )


def _raw(tx: SignedTransactionAPI) -> bytes:
    encode_ = getattr(tx, "encode", None)
    return encode_() if callable(encode_) else rlp.encode(tx)


def _refusal(err: ValidationError, tx: SignedTransactionAPI, state: Any, header: BlockHeaderAPI) -> str:
    """go-ethereum's wording for the usual reasons a transaction does not apply."""
    text = str(err)
    sender = tx.sender
    if text.startswith("Invalid transaction nonce"):
        have = state.get_nonce(sender)
        kind = "high" if tx.nonce > have else "low"
        return f"nonce too {kind}: address {to_checksum_address(sender)}, tx: {tx.nonce} state: {have}"
    if "base fee" in text:
        return (
            f"max fee per gas less than block base fee: address {to_checksum_address(sender)}, "
            f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {header.base_fee_per_gas}"
        )
    if "balance" in text.lower() or "afford" in text:
        cost = tx.gas * tx.max_fee_per_gas + tx.value
        return (
            f"insufficient funds for gas * price + value: address {to_checksum_address(sender)} "
            f"have {state.get_balance(sender)} want {cost}"
        )
    if "gas limit" in text:
        return "gas limit reached"
    return text


@method("testing_buildBlockV1")
def build_block(api: Api, params: Any) -> dict[str, Any]:
    parent_hash, attributes, transactions, extra = positional(params, required=2, optional=2)
    parent_hash = arg(0, hash32, parent_hash)
    attributes = _attributes(attributes)
    if transactions is not None and not isinstance(transactions, list):
        raise invalid("invalid argument 2: transactions must be an array or null")
    listed = None if transactions is None else [arg(2, data, t) for t in transactions]
    extra_data = b"" if extra is None else arg(3, data, extra)

    chain = api.chain
    parent = chain.head
    if parent_hash != parent.hash:
        raise RpcError(SERVER_ERROR, "parentHash is not current head")
    number = parent.block_number + 1
    timestamp = attributes["timestamp"]
    vm_class = _vm_class(api, number, timestamp)
    builder = vm_class.get_transaction_builder()
    decoded = []
    for i, raw in enumerate(listed or []):
        try:
            tx = decode_transaction(raw, builder)
        except PoolError as err:
            raise RpcError(SERVER_ERROR, f"invalid transaction {i}: {err}") from None
        if tx.type_id == BLOB_TX_TYPE:
            # A payload carries blobs in its bundle, and this node holds no blob sidecars (see docs/rollup.md).
            raise RpcError(SERVER_ERROR, f"invalid transaction {i}: blob transactions are not supported")
        decoded.append(tx)
    if timestamp <= parent.timestamp:
        raise RpcError(SERVER_ERROR, f"invalid timestamp, parent {parent.timestamp} given {timestamp}")
    if not issubclass(vm_class, forks.ParisVM):
        raise RpcError(SERVER_ERROR, "payloads are built only after the merge")
    withdrawals = attributes["withdrawals"]
    if not issubclass(vm_class, forks.ShanghaiVM):
        if withdrawals is not None:
            raise RpcError(SERVER_ERROR, "unexpected withdrawals before shanghai")
    elif withdrawals is None:
        withdrawals = []

    parent_vm = chain.chain.get_vm_class(parent)
    parent_limit = parent.gas_limit
    if issubclass(vm_class, forks.LondonVM) and not issubclass(parent_vm, forks.LondonVM):
        parent_limit *= 2  # EIP-1559's elasticity at the London block
    fields: dict[str, Any] = {
        "timestamp": timestamp,
        "coinbase": attributes["suggestedFeeRecipient"],
        "gas_limit": calc_gas_limit(parent_limit, GAS_CEIL),
        "extra_data": extra_data,
        "mix_hash": attributes["prevRandao"],
        "difficulty": 0,
    }
    if issubclass(vm_class, forks.CancunVM):
        fields["parent_beacon_block_root"] = attributes["parentBeaconBlockRoot"] or b"\x00" * 32
    template = vm_class.create_header_from_parent(parent, **fields)

    # Everything the build writes (state and trie nodes) lands in memory over the database and is dropped.
    scratch = type(chain.chain.chaindb)(AtomicDB(BatchDB(chain.store.db)))
    vm = vm_class(
        header=template,
        chaindb=scratch,
        chain_context=ChainContext(chain.chain_id),
        consensus_context=chain.chain.consensus_context,
    )
    vm.block_preprocessing(vm.get_block())
    header = vm.get_header()
    included, receipts = [], []
    if listed is None:
        candidates = [e.tx for e in api.sequencer.pool.ordered(vm.state.get_nonce, header.base_fee_per_gas)]
    else:
        candidates = decoded
    for tx in candidates:
        if listed is None and header.gas_limit - header.gas_used < TX_GAS:
            break
        try:
            receipt, _ = vm.apply_transaction(header, tx)
        except ValidationError as err:
            if listed is None:
                continue  # a pool transaction that no longer applies is left out, as go-ethereum's miner does
            raise RpcError(SERVER_ERROR, _refusal(err, tx, vm.state, header)) from None
        header = vm.increment_blob_gas_used(vm.add_receipt_to_header(header, receipt), tx)
        included.append(tx)
        receipts.append(receipt)
    if withdrawals:
        vm.apply_all_withdrawals(withdrawals)
    filled = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, included, receipts, withdrawals)
    processed = vm.block_postprocessing(filled)
    try:
        block = vm.mine_block(processed).block
    except ValidationError as err:
        raise RpcError(SERVER_ERROR, f"could not build the block: {err}") from None
    # The requests are gathered on the block given to postprocessing (the one it returns is a copy without them).
    requests = filled.block_requests if issubclass(vm_class, forks.PragueVM) else None
    return _envelope(block, receipts, withdrawals, requests)


def _vm_class(api: Api, number: int, timestamp: int) -> type:
    """The rules of a block at `number` with `timestamp`: those scheduled for the number, or the latest timestamped
    fork the timestamp reaches if the chain has not placed it yet."""
    vm_class = api.chain.chain.get_vm_class_for_block_number(number)
    for at, fork in api.chain.genesis.time_forks:
        if at <= timestamp and not issubclass(vm_class, fork):
            vm_class = fork
    return vm_class


def _envelope(block: Any, receipts: list[Any], withdrawals: Any, requests: Any) -> dict[str, Any]:
    header = block.header
    base_fee = header.base_fee_per_gas
    value, previous = 0, 0
    for tx, receipt in zip(block.transactions, receipts, strict=True):
        tip = encode.effective_gas_price(tx, base_fee) - base_fee
        value += (receipt.gas_used - previous) * tip
        previous = receipt.gas_used
    payload: dict[str, Any] = {
        "parentHash": encode.d(header.parent_hash),
        "feeRecipient": to_normalized_address(header.coinbase),
        "stateRoot": encode.d(header.state_root),
        "receiptsRoot": encode.d(header.receipt_root),
        "logsBloom": encode.d(header.bloom.to_bytes(256, "big")),
        "prevRandao": encode.d(header.mix_hash),
        "blockNumber": encode.q(header.block_number),
        "gasLimit": encode.q(header.gas_limit),
        "gasUsed": encode.q(header.gas_used),
        "timestamp": encode.q(header.timestamp),
        "extraData": encode.d(header.extra_data),
        "baseFeePerGas": encode.q(base_fee),
        "blockHash": encode.d(header.hash),
        "transactions": [encode.d(_raw(tx)) for tx in block.transactions],
        "withdrawals": None
        if withdrawals is None
        else [
            {
                "index": encode.q(w.index),
                "validatorIndex": encode.q(w.validator_index),
                "address": to_normalized_address(w.address),
                "amount": encode.q(w.amount),
            }
            for w in withdrawals
        ],
        "blobGasUsed": _optional_q(getattr(header, "blob_gas_used", None)),
        "excessBlobGas": _optional_q(getattr(header, "excess_blob_gas", None)),
    }
    return {
        "executionPayload": payload,
        "blockValue": encode.q(value),
        "blobsBundle": {"commitments": [], "proofs": [], "blobs": []},
        # Prague's requests, the empty ones left out (go-ethereum's); null before Prague.
        "executionRequests": None if requests is None else [encode.d(r) for r in requests if len(r) > 1],
        "shouldOverrideBuilder": False,
    }


def _optional_q(value: int | None) -> str | None:
    return None if value is None else encode.q(value)
