"""Ethereum JSON-RPC values in go-ethereum's shapes: quantities as minimal hex, data as 0x hex, and the block,
transaction, receipt and log objects with the fields (and nulls) that web3.py, Ape, cast and viem read."""

from __future__ import annotations

from typing import Any

from eth._utils.address import generate_contract_address as created_address
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth_utils import to_checksum_address
from eth_utils.address import to_normalized_address

from rollup.deposits import DEPOSIT_RECEIPT_VERSION, DEPOSIT_TX_TYPE, deposit_fields, is_deposit


def q(value: int) -> str:
    return hex(value)


def d(value: bytes) -> str:
    return "0x" + value.hex()


def addr(value: bytes | None) -> str | None:
    return None if value is None or value == b"" else to_normalized_address(value)


def checksum(value: bytes) -> str:
    return to_checksum_address(value)


def header_fields(header: BlockHeaderAPI) -> dict[str, Any]:
    out: dict[str, Any] = {
        "difficulty": q(header.difficulty),
        "extraData": d(header.extra_data),
        "gasLimit": q(header.gas_limit),
        "gasUsed": q(header.gas_used),
        "hash": d(header.hash),
        "logsBloom": d(header.bloom.to_bytes(256, "big")),
        "miner": addr(header.coinbase),
        "mixHash": d(header.mix_hash),
        "nonce": d(header.nonce),
        "number": q(header.block_number),
        "parentHash": d(header.parent_hash),
        "receiptsRoot": d(header.receipt_root),
        "sha3Uncles": d(header.uncles_hash),
        "stateRoot": d(header.state_root),
        "timestamp": q(header.timestamp),
        "transactionsRoot": d(header.transaction_root),
    }
    optional = (
        ("base_fee_per_gas", "baseFeePerGas", q),
        ("withdrawals_root", "withdrawalsRoot", d),
        ("blob_gas_used", "blobGasUsed", q),
        ("excess_blob_gas", "excessBlobGas", q),
        ("parent_beacon_block_root", "parentBeaconBlockRoot", d),
        ("requests_hash", "requestsHash", d),
    )
    for field, key, fmt in optional:
        value = getattr(header, field, None)
        if value is not None:
            out[key] = fmt(value)
    return out


def block(blk: BlockAPI, size: int, *, full: bool) -> dict[str, Any]:
    out = header_fields(blk.header)
    out["size"] = q(size)
    out["uncles"] = [d(u.hash) for u in blk.uncles]
    if full:
        out["transactions"] = [transaction(tx, blk.header, i) for i, tx in enumerate(blk.transactions)]
    else:
        out["transactions"] = [d(tx.hash) for tx in blk.transactions]
    if hasattr(blk, "withdrawals"):
        out["withdrawals"] = [
            {
                "index": q(w.index),
                "validatorIndex": q(w.validator_index),
                "address": addr(w.address),
                "amount": q(w.amount),
            }
            for w in blk.withdrawals
        ]
    return out


def _location(header: BlockHeaderAPI | None) -> dict[str, Any]:
    """Where a transaction stands: its block's hash, number and time, or nulls while it is in the pool."""
    if header is None:
        return {"blockHash": None, "blockNumber": None, "blockTimestamp": None}
    return {"blockHash": d(header.hash), "blockNumber": q(header.block_number), "blockTimestamp": q(header.timestamp)}


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int | None) -> int:
    if base_fee is None or tx.type_id in (None, 0, 1):
        return tx.gas_price
    return min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)


def transaction(tx: SignedTransactionAPI, header: BlockHeaderAPI | None, index: int | None) -> dict[str, Any]:
    """A transaction object; `header` None for one still in the pool."""
    if is_deposit(tx):
        return deposit_transaction(tx, header, index)
    type_id = tx.type_id or 0
    base_fee = getattr(header, "base_fee_per_gas", None) if header is not None else None
    out: dict[str, Any] = {
        **_location(header),
        "from": addr(tx.sender),
        "gas": q(tx.gas),
        "gasPrice": q(effective_gas_price(tx, base_fee) if header is not None else tx.max_fee_per_gas),
        "hash": d(tx.hash),
        "input": d(tx.data),
        "nonce": q(tx.nonce),
        "to": addr(tx.to),
        "transactionIndex": q(index) if index is not None else None,
        "value": q(tx.value),
        "type": q(type_id),
    }
    if type_id >= 2:
        out["maxFeePerGas"] = q(tx.max_fee_per_gas)
        out["maxPriorityFeePerGas"] = q(tx.max_priority_fee_per_gas)
    if type_id >= 1:
        out["accessList"] = [
            {"address": addr(a), "storageKeys": [d(k.to_bytes(32, "big")) for k in keys]} for a, keys in tx.access_list
        ]
        out["chainId"] = q(tx.chain_id)
    elif tx.chain_id is not None:
        out["chainId"] = q(tx.chain_id)
    if type_id == 3:
        out["maxFeePerBlobGas"] = q(tx.max_fee_per_blob_gas)
        out["blobVersionedHashes"] = [d(h) for h in tx.blob_versioned_hashes]
    if type_id == 4:
        out["authorizationList"] = [
            {
                "chainId": q(a.chain_id),
                "address": addr(a.address),
                "nonce": q(a.nonce),
                "yParity": q(a.y_parity),
                "r": q(a.r),
                "s": q(a.s),
            }
            for a in tx.authorization_list
        ]
    if type_id == 0:
        out["v"] = q(tx.v)
    else:
        out["v"] = q(tx.y_parity)
        out["yParity"] = q(tx.y_parity)
    out["r"] = q(tx.r)
    out["s"] = q(tx.s)
    return out


def deposit_transaction(tx: SignedTransactionAPI, header: BlockHeaderAPI | None, index: int | None) -> dict[str, Any]:
    """A deposit (type 0x7e) as op-geth's RPCTransaction shows it: gas price and signature zero, no chain id,
    yParity or access list; sourceHash, mint and (only when set) isSystemTx; the nonce its receipt records (the
    sender's nonce before it ran) and depositReceiptVersion."""
    fields = deposit_fields(tx)
    nonce = getattr(tx, "deposit_nonce", None)
    out: dict[str, Any] = {
        **_location(header),
        "from": addr(tx.sender),
        "gas": q(tx.gas),
        "gasPrice": q(0),
        "hash": d(tx.hash),
        "input": d(tx.data),
        "nonce": q(nonce if nonce is not None else 0),
        "to": addr(tx.to),
        "transactionIndex": q(index) if index is not None else None,
        "value": q(tx.value),
        "type": q(DEPOSIT_TX_TYPE),
        "v": q(0),
        "r": q(0),
        "s": q(0),
        "sourceHash": d(fields.source_hash),
        "mint": q(fields.mint),
    }
    if fields.is_system_tx:
        out["isSystemTx"] = True
    if nonce is not None:
        out["depositReceiptVersion"] = q(DEPOSIT_RECEIPT_VERSION)
    return out


def receipt(
    receipt_: ReceiptAPI,
    tx: SignedTransactionAPI,
    header: BlockHeaderAPI,
    index: int,
    gas_used: int,
    first_log_index: int,
    blob_gas_price: int | None = None,
) -> dict[str, Any]:
    base_fee = getattr(header, "base_fee_per_gas", None)
    type_id = tx.type_id or 0
    deposit_nonce = receipt_.deposit_nonce if is_deposit(tx) else None
    nonce = tx.nonce if deposit_nonce is None else deposit_nonce
    out: dict[str, Any] = {
        "blockHash": d(header.hash),
        "blockNumber": q(header.block_number),
        "contractAddress": addr(created_address(tx.sender, nonce)) if not tx.to else None,
        "cumulativeGasUsed": q(receipt_.gas_used),
        "effectiveGasPrice": q(effective_gas_price(tx, base_fee)),
        "from": addr(tx.sender),
        "gasUsed": q(gas_used),
        "logs": logs(receipt_, tx, header, index, first_log_index),
        "logsBloom": d(receipt_.bloom.to_bytes(256, "big")),
        "status": q(1 if receipt_.state_root == b"\x01" else 0) if len(receipt_.state_root) <= 1 else None,
        "to": addr(tx.to),
        "transactionHash": d(tx.hash),
        "transactionIndex": q(index),
        "type": q(type_id),
    }
    if len(receipt_.state_root) == 32:  # before Byzantium: the post-state root instead of a status
        out["root"] = d(receipt_.state_root)
        del out["status"]
    if deposit_nonce is not None:  # op-geth's deposit receipt fields (Regolith, Canyon)
        out["depositNonce"] = q(deposit_nonce)
        out["depositReceiptVersion"] = q(receipt_.deposit_receipt_version)
    if type_id == 3 and blob_gas_price is not None:
        out["blobGasUsed"] = q(len(tx.blob_versioned_hashes) * 131072)
        out["blobGasPrice"] = q(blob_gas_price)
    return out


def logs(
    receipt_: ReceiptAPI, tx: SignedTransactionAPI, header: BlockHeaderAPI, index: int, first_log_index: int
) -> list[dict[str, Any]]:
    return [log(entry, tx.hash, header, index, first_log_index + i) for i, entry in enumerate(receipt_.logs)]


def log(entry: Any, tx_hash: bytes, header: BlockHeaderAPI, tx_index: int, log_index: int) -> dict[str, Any]:
    return {
        "address": addr(entry.address),
        "topics": [d(t.to_bytes(32, "big")) for t in entry.topics],
        "data": d(entry.data),
        "blockNumber": q(header.block_number),
        "transactionHash": d(tx_hash),
        "transactionIndex": q(tx_index),
        "blockHash": d(header.hash),
        "blockTimestamp": q(header.timestamp),
        "logIndex": q(log_index),
        "removed": False,
    }
