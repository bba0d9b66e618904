"""Deposit transactions (EIP-2718 type 0x7E) as OP Stack Bedrock defines them, executed by py-evm.

A deposit is an L2 transaction derived from L1: the L1-info transaction that opens every L2 block with an L1 origin,
and the user deposits read from the L1 portal's `TransactionDeposited` logs. It has no signature, no nonce and no
fee fields; it is identified by its source hash:

    0x7E ‖ rlp([sourceHash, from, to, mint, value, gas, isSystemTx, data])      (to: empty for a creation)

Execution follows op-geth's rules from Regolith on (core/state_transition.go, core/state_processor.go):

- `mint` is credited to `from` first and is kept whatever happens next;
- gas is bought at price 0 and nothing is refunded, nothing is paid to the fee recipient, the base fee is not
  charged; the gas the execution uses (after EIP-3529 refunds, at least EIP-7623's floor) counts in the block;
- a deposit that breaks a transaction rule (gas under the intrinsic cost or the calldata floor, `value` above the
  balance, init code too large, `isSystemTx` set) still goes into the block: its state changes after the mint are
  dropped, `from`'s nonce is incremented, it uses all its gas and its receipt says failed;
- the receipt carries `depositNonce` (the nonce of `from` before execution) and `depositReceiptVersion` 1 in its
  RLP (Canyon's encoding), so receipt roots are op-geth's.

`RollupPragueVM` is py-evm's Prague with these additions; rollup/genesis.py uses it when the genesis config has an
`optimism` object. Nothing changes for the other transaction types.

    deposit_from_log(log, l1_block_hash)          # a TransactionDeposited log of the portal -> deposit transaction
    l1_info_deposit(origin, sequence_number)     # the L1-info transaction opening an L2 block
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import ComputationAPI, ReceiptAPI, SignedTransactionAPI, TransactionDecoderAPI
from eth.constants import CREATE_CONTRACT_ADDRESS, GAS_TX
from eth.exceptions import VMError
from eth.rlp.logs import Log
from eth.rlp.sedes import address, uint256
from eth.rlp.transactions import SignedTransactionMethods
from eth.vm.forks.berlin.transactions import TypedTransaction, calculate_txn_intrinsic_gas_berlin
from eth.vm.forks.byzantium.constants import (
    EIP658_TRANSACTION_STATUS_CODE_FAILURE,
    EIP658_TRANSACTION_STATUS_CODE_SUCCESS,
)
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlock, PragueBlockHeader
from eth.vm.forks.prague.constants import STANDARD_TOKEN_COST, TOTAL_COST_FLOOR_PER_TOKEN
from eth.vm.forks.prague.receipts import PragueReceiptBuilder, PragueTypedReceipt
from eth.vm.forks.prague.state import PragueState, PragueTransactionExecutor
from eth.vm.forks.prague.transactions import PragueTransactionBuilder, PragueTypedTransaction
from eth.vm.forks.shanghai.constants import INITCODE_WORD_COST, MAX_INITCODE_SIZE
from eth.vm.forks.shanghai.withdrawals import Withdrawal
from eth.vm.forks.spurious_dragon._utils import collect_touched_accounts
from eth.vm.message import Message
from eth_bloom import BloomFilter
from eth_hash.auto import keccak
from eth_utils import ValidationError
from rlp.sedes import Binary, CountableList, big_endian_int, binary, boolean

DEPOSIT_TX_TYPE = 0x7E
# Canyon's receipt encoding: depositNonce and this version are part of the consensus RLP.
DEPOSIT_RECEIPT_VERSION = 1
# The L1-info transaction: from the depositor account (no key exists) to the L1Block predeploy, 1M gas (Regolith).
DEPOSITOR_ACCOUNT = bytes.fromhex("deaddeaddeaddeaddeaddeaddeaddeaddead0001")
L1_BLOCK_ADDRESS = bytes.fromhex("4200000000000000000000000000000000000015")
L1_INFO_GAS = 1_000_000
# setL1BlockValues(uint64 number, uint64 timestamp, uint256 basefee, bytes32 hash, uint64 sequenceNumber,
# bytes32 batcherHash): contracts/rollup/L1Block.sol, Bedrock's setter without the legacy fee overhead and scalar.
SET_L1_BLOCK_VALUES = keccak(b"setL1BlockValues(uint64,uint64,uint256,bytes32,uint64,bytes32)")[:4]
# L1Block's storage (OP's order): slot 0 number (low 8 bytes) and timestamp, 1 basefee, 2 hash, 3 sequenceNumber.
L1_BLOCK_HASH_SLOT = 2
L1_BLOCK_SEQUENCE_SLOT = 3
# The portal's event; only version 0 of its opaque data exists.
TRANSACTION_DEPOSITED = keccak(b"TransactionDeposited(address,address,uint256,bytes)")
# An L1 contract's address on L2 (OP's AddressAliasHelper), so it cannot pose as the L2 contract at its address.
ALIAS_OFFSET = 0x1111000000000000000000000000000000001111
# Source-hash domains (specs/protocol/deposits.md).
USER_DEPOSIT_DOMAIN = 0
L1_INFO_DEPOSIT_DOMAIN = 1
ZERO_HASH = b"\x00" * 32
_UINT64 = 2**64
_UINT256 = 2**256


class DepositLogError(ValueError):
    """A log that is not a well-formed version-0 TransactionDeposited event."""


class DepositFailed(VMError):
    """A deposit that broke a transaction rule: included anyway, with its mint and a nonce bump (op-geth's
    'failed deposit')."""


# Source hashes and aliasing


def source_hash_user_deposit(l1_block_hash: bytes, log_index: int) -> bytes:
    """keccak256(bytes32(0) ‖ keccak256(l1BlockHash ‖ uint256(logIndex))): the log's place on L1 names it."""
    return _source_hash(USER_DEPOSIT_DOMAIN, _hash32(l1_block_hash) + log_index.to_bytes(32, "big"))


def source_hash_l1_info(l1_block_hash: bytes, sequence_number: int) -> bytes:
    """keccak256(bytes32(1) ‖ keccak256(l1BlockHash ‖ uint256(seqNumber))): the L2 block's place in its epoch."""
    return _source_hash(L1_INFO_DEPOSIT_DOMAIN, _hash32(l1_block_hash) + sequence_number.to_bytes(32, "big"))


def _source_hash(domain: int, body: bytes) -> bytes:
    return keccak(domain.to_bytes(32, "big") + keccak(body))


def apply_l1_alias(l1_address: bytes) -> bytes:
    """The L2 sender of a deposit made by the L1 contract at `l1_address` (the portal applies it)."""
    return ((int.from_bytes(l1_address, "big") + ALIAS_OFFSET) % 2**160).to_bytes(20, "big")


def undo_l1_alias(l2_address: bytes) -> bytes:
    return ((int.from_bytes(l2_address, "big") - ALIAS_OFFSET) % 2**160).to_bytes(20, "big")


def _hash32(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"a 32-byte hash is needed, not {value!r}")
    return value


# The transaction


class DepositTransaction(rlp.Serializable, SignedTransactionMethods, SignedTransactionAPI):
    """The payload of a 0x7E transaction (op-geth's types.DepositTx); `DepositTyped` wraps it with its type."""

    fields = [
        ("source_hash", Binary.fixed_length(32)),
        ("from_", Binary.fixed_length(20)),
        ("to", address),  # b"" for a contract creation
        ("mint", big_endian_int),
        ("value", big_endian_int),
        ("gas", big_endian_int),
        ("is_system_tx", boolean),
        ("data", binary),
    ]

    # What a deposit does not have, as op-geth answers for it: no nonce, no fees, no chain id, a zero signature.
    nonce = 0
    gas_price = 0
    max_fee_per_gas = 0
    max_priority_fee_per_gas = 0
    max_fee_per_blob_gas = 0
    blob_versioned_hashes: tuple = ()
    authorization_list: tuple = ()
    access_list: tuple = ()
    chain_id = None
    y_parity = 0
    r = 0
    s = 0

    def validate(self) -> None:
        if not 0 <= self.mint < _UINT256 or not 0 <= self.value < _UINT256:
            raise ValidationError("deposit mint and value must fit in uint256")
        if not 0 <= self.gas < _UINT64:
            raise ValidationError("deposit gas must fit in uint64")

    def get_sender(self) -> bytes:
        return self.from_

    def check_signature_validity(self) -> None:
        """Nothing to check: L1 (the portal's log, or the protocol itself) authorizes `from`."""

    def get_message_for_signing(self) -> bytes:
        raise ValidationError("deposit transactions are not signed")

    def get_intrinsic_gas(self) -> int:
        # py-evm's convention: without EIP-3860's init code words, which the create computation charges itself.
        return calculate_txn_intrinsic_gas_berlin(self)

    @property
    def hash(self) -> bytes:
        return keccak(bytes([DEPOSIT_TX_TYPE]) + self.encode())

    def encode(self) -> bytes:
        return rlp.encode(self)

    def make_receipt(self, status: bytes, gas_used: int, log_entries: Any) -> ReceiptAPI:
        raise NotImplementedError("a deposit's receipt needs its deposit nonce: RollupPragueVM.make_receipt makes it")


class DepositPayloadDecoder(TransactionDecoderAPI):
    @classmethod
    def decode(cls, payload: bytes) -> SignedTransactionAPI:
        return rlp.decode(payload, sedes=DepositTransaction)


class DepositReceipt(rlp.Serializable, ReceiptAPI):
    """The payload of a 0x7E receipt: [status, cumulativeGasUsed, bloom, logs, depositNonce, depositReceiptVersion]
    (op-geth's depositReceiptRLP from Canyon on)."""

    type_id = None
    fields = [
        ("state_root", binary),
        ("gas_used", big_endian_int),
        ("bloom", uint256),
        ("logs", CountableList(Log)),
        ("deposit_nonce", big_endian_int),
        ("deposit_receipt_version", big_endian_int),
    ]

    def __init__(
        self,
        state_root: bytes,
        gas_used: int,
        logs: Any,
        deposit_nonce: int,
        deposit_receipt_version: int = DEPOSIT_RECEIPT_VERSION,
        bloom: int | None = None,
    ) -> None:
        if bloom is None:
            bloom = int(BloomFilter.from_iterable(b for log in logs for b in log.bloomables))
        super().__init__(
            state_root=state_root,
            gas_used=gas_used,
            bloom=bloom,
            logs=logs,
            deposit_nonce=deposit_nonce,
            deposit_receipt_version=deposit_receipt_version,
        )

    @property
    def bloom_filter(self) -> BloomFilter:
        return BloomFilter(self.bloom)

    @classmethod
    def decode(cls, encoded: bytes) -> ReceiptAPI:
        return rlp.decode(encoded, sedes=cls)

    def encode(self) -> bytes:
        return rlp.encode(self)


class RollupTypedReceipt(PragueTypedReceipt):
    codecs = {**PragueTypedReceipt.codecs, DEPOSIT_TX_TYPE: DepositReceipt}

    @property
    def deposit_nonce(self) -> int | None:
        """A deposit's `depositNonce` (None for other types)."""
        return getattr(self._inner, "deposit_nonce", None)

    @property
    def deposit_receipt_version(self) -> int | None:
        return getattr(self._inner, "deposit_receipt_version", None)


class RollupReceiptBuilder(PragueReceiptBuilder):
    typed_receipt_class = RollupTypedReceipt


class RollupTypedTransaction(PragueTypedTransaction):
    """Prague's typed transactions and deposits. A deposit read from a block carries the nonce its receipt records
    (`deposit_nonce`, set by L2Chain.block) for the JSON-RPC shapes; it is not part of the transaction."""

    decoders = {**PragueTypedTransaction.decoders, DEPOSIT_TX_TYPE: DepositPayloadDecoder}
    receipt_builder = RollupReceiptBuilder
    deposit_nonce: int | None = None


class RollupTransactionBuilder(PragueTransactionBuilder):
    typed_transaction = RollupTypedTransaction

    @classmethod
    def serialize(cls, obj: SignedTransactionAPI) -> Any:
        # Prague's own builders make some typed transactions of the plain Prague class: still typed, not legacy.
        if isinstance(obj, TypedTransaction):
            return cls.typed_transaction.serialize(obj)
        return cls.legacy_signed.serialize(obj)

    @classmethod
    def new_deposit(
        cls,
        *,
        source_hash: bytes,
        from_: bytes,
        to: bytes | None,
        mint: int = 0,
        value: int = 0,
        gas: int,
        is_system_tx: bool = False,
        data: bytes = b"",
    ) -> RollupTypedTransaction:
        inner = DepositTransaction(
            source_hash, from_, to or CREATE_CONTRACT_ADDRESS, mint, value, gas, is_system_tx, data
        )
        return cls.typed_transaction(DEPOSIT_TX_TYPE, inner)


def is_deposit(tx: Any) -> bool:
    return getattr(tx, "type_id", None) == DEPOSIT_TX_TYPE


def deposit_fields(tx: Any) -> DepositTransaction:
    """The deposit payload of a 0x7E transaction (source hash, from, mint, is_system_tx...)."""
    inner = getattr(tx, "_inner", None)
    if not is_deposit(tx) or not isinstance(inner, DepositTransaction):
        raise TypeError(f"not a deposit transaction: {tx!r}")
    return inner


def new_deposit(**fields: Any) -> RollupTypedTransaction:
    return RollupTransactionBuilder.new_deposit(**fields)


# Deposits from L1


@dataclass(frozen=True)
class L1Origin:
    """The L1 block an L2 block builds on (its epoch): what the L1-info transaction records in L1Block."""

    number: int
    timestamp: int
    basefee: int
    hash: bytes
    batcher_hash: bytes = ZERO_HASH


def l1_info_calldata(origin: L1Origin, sequence_number: int) -> bytes:
    words = (
        origin.number.to_bytes(32, "big"),
        origin.timestamp.to_bytes(32, "big"),
        origin.basefee.to_bytes(32, "big"),
        _hash32(origin.hash),
        sequence_number.to_bytes(32, "big"),
        _hash32(origin.batcher_hash),
    )
    return SET_L1_BLOCK_VALUES + b"".join(words)


def l1_info_deposit(origin: L1Origin, sequence_number: int) -> RollupTypedTransaction:
    """The first transaction of an L2 block whose L1 origin is `origin`, `sequence_number` blocks into the epoch."""
    return new_deposit(
        source_hash=source_hash_l1_info(origin.hash, sequence_number),
        from_=DEPOSITOR_ACCOUNT,
        to=L1_BLOCK_ADDRESS,
        gas=L1_INFO_GAS,
        data=l1_info_calldata(origin, sequence_number),
    )


def deposit_from_log(log: Any, l1_block_hash: bytes | None = None) -> RollupTypedTransaction:
    """The deposit transaction of one `TransactionDeposited(address indexed from, address indexed to, uint256
    indexed version, bytes opaqueData)` log (version 0: opaqueData = abi.encodePacked(uint256 mint, uint256 value,
    uint64 gasLimit, bool isCreation, bytes data)), parsed as op-node's derive.UnmarshalDepositLogEvent does.

    `log` is a JSON-RPC / web3.py log (topics, data, logIndex, blockHash; bytes or 0x hex) or an object with those
    attributes; `l1_block_hash` defaults to the log's blockHash. The caller checks that the log is the portal's and
    that its transaction succeeded. DepositLogError if the log is not a well-formed version-0 deposit."""
    topics = [_bytes(t) for t in _get(log, "topics", "topics")]
    data = _bytes(_get(log, "data", "data"))
    log_index = _int(_get(log, "logIndex", "log_index"))
    block_hash = _bytes(l1_block_hash if l1_block_hash is not None else _get(log, "blockHash", "block_hash"))
    if len(topics) != 4:
        raise DepositLogError(f"expected 4 topics (event, from, to, version), got {len(topics)}")
    if topics[0] != TRANSACTION_DEPOSITED:
        raise DepositLogError(f"not a TransactionDeposited log: topic 0x{topics[0].hex()}")
    if topics[3] != ZERO_HASH:
        raise DepositLogError(f"deposit version 0x{topics[3].hex()} is not supported (only version 0)")
    if len(data) < 64:
        raise DepositLogError(f"deposit log data too short ({len(data)} bytes)")
    offset = int.from_bytes(data[:32], "big")
    length = int.from_bytes(data[32:64], "big")
    # The ABI's single bytes argument: offset 32, a length within the data, and no more padding than needed.
    if offset != 32:
        raise DepositLogError(f"invalid opaqueData offset {offset}")
    if length > len(data) - 64 or length + 32 <= len(data) - 64:
        raise DepositLogError(f"invalid opaqueData length {length} for {len(data) - 64} bytes")
    opaque = data[64 : 64 + length]
    if len(opaque) < 32 + 32 + 8 + 1:
        raise DepositLogError(f"opaqueData too short ({len(opaque)} bytes)")
    mint = int.from_bytes(opaque[0:32], "big")
    value = int.from_bytes(opaque[32:64], "big")
    gas = int.from_bytes(opaque[64:72], "big")
    is_creation = opaque[72] != 0
    return new_deposit(
        source_hash=source_hash_user_deposit(block_hash, log_index),
        from_=topics[1][12:],
        to=None if is_creation else topics[2][12:],
        mint=mint,
        value=value,
        gas=gas,
        data=opaque[73:],
    )


def _get(log: Any, key: str, attr: str) -> Any:
    if isinstance(log, Mapping):
        if key in log:
            return log[key]
        if attr in log:
            return log[attr]
    elif hasattr(log, attr) or hasattr(log, key):
        return getattr(log, attr) if hasattr(log, attr) else getattr(log, key)
    raise DepositLogError(f"the log has no {key}")


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    if hasattr(value, "hex") and callable(value.hex):  # HexBytes and friends
        return bytes(value)
    raise DepositLogError(f"expected bytes or 0x hex, not {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    raise DepositLogError(f"expected a log index, not {value!r}")


# Execution


def floor_data_gas(data: bytes) -> int:
    """EIP-7623's least gas a transaction with this calldata may use (Prague)."""
    zeros = data.count(0)
    return GAS_TX + TOTAL_COST_FLOOR_PER_TOKEN * (zeros + (len(data) - zeros) * STANDARD_TOKEN_COST)


class RollupTransactionExecutor(PragueTransactionExecutor):
    def __call__(self, transaction: SignedTransactionAPI) -> ComputationAPI:
        if not is_deposit(transaction):
            return super().__call__(transaction)
        try:
            return self._apply_deposit(transaction)
        finally:
            self.vm_state.clear_transient_storage()

    def _apply_deposit(self, tx: SignedTransactionAPI) -> ComputationAPI:
        state = self.vm_state
        deposit = deposit_fields(tx)
        deposit.validate()  # a deposit out of range makes the block invalid, as in op-geth
        sender = tx.sender
        nonce = state.get_nonce(sender)
        if deposit.mint:
            state.delta_balance(sender, deposit.mint)  # kept even if the deposit fails
        snapshot = state.snapshot()
        try:
            self._check(tx, deposit)
            message = self.build_evm_message(tx)  # nonce + 1, gas bought at price 0
            computation = self.build_computation(message, tx)
            computation = self._finalize(tx, computation)
        except DepositFailed as failure:
            state.revert(snapshot)
            state.increment_nonce(sender)
            computation = self._failed(tx, failure, nonce)
        else:
            state.commit(snapshot)
        computation.deposit_nonce = nonce
        return computation

    def _check(self, tx: SignedTransactionAPI, deposit: DepositTransaction) -> None:
        """op-geth's transaction rules that a deposit can break (innerTransitionDb's errors before the EVM runs)."""
        if deposit.is_system_tx:
            raise DepositFailed("failed deposit: system transactions are not supported after Regolith")
        creation = tx.to == CREATE_CONTRACT_ADDRESS
        intrinsic = tx.intrinsic_gas
        if creation:
            intrinsic += INITCODE_WORD_COST * ((len(tx.data) + 31) // 32)
        if tx.gas < intrinsic:
            raise DepositFailed(f"failed deposit: intrinsic gas too low: have {tx.gas}, want {intrinsic}")
        floor = floor_data_gas(tx.data)
        if tx.gas < floor:
            raise DepositFailed(f"failed deposit: insufficient gas for floor data gas: have {tx.gas}, want {floor}")
        if tx.value and self.vm_state.get_balance(tx.sender) < tx.value:
            raise DepositFailed(f"failed deposit: insufficient funds for transfer: address 0x{tx.sender.hex()}")
        if creation and len(tx.data) > MAX_INITCODE_SIZE:
            raise DepositFailed(f"failed deposit: max initcode size exceeded: code size {len(tx.data)}")

    def _finalize(self, tx: SignedTransactionAPI, computation: ComputationAPI) -> ComputationAPI:
        # Frontier's finalize without the money: the gas price is 0, so nothing goes back to `from` and nothing to
        # the fee recipient, whom a deposit does not touch at all (op-geth returns before paying it).
        gas_used = tx.gas - computation.get_gas_remaining()
        refund = self.calculate_gas_refund(computation, gas_used)
        computation.data_floor_gas = self.calc_data_floor_gas(tx, gas_used, refund)
        state = self.vm_state
        for account in computation.get_accounts_for_deletion():
            state.delete_account(account)
        # EIP-161: touched accounts left empty are removed. collect_touched_accounts names the fee recipient first,
        # as the fee payment touches it; a deposit pays no fee.
        for account in list(collect_touched_accounts(computation))[1:]:
            if state.account_exists(account) and state.account_is_empty(account):
                state.delete_account(account)
        return computation

    def _failed(self, tx: SignedTransactionAPI, failure: DepositFailed, nonce: int) -> ComputationAPI:
        """A computation that used all the deposit's gas and failed, with no logs and no output."""
        creation = tx.to == CREATE_CONTRACT_ADDRESS
        message = Message(
            gas=0,
            to=tx.to,
            sender=tx.sender,
            value=tx.value,
            data=b"",
            code=b"",
            create_address=generate_contract_address(tx.sender, nonce) if creation else None,
        )
        computation = self.vm_state.get_computation(message, self.vm_state.get_transaction_context(tx))
        computation.error = failure
        return computation


class RollupPragueState(PragueState):
    transaction_executor_class = RollupTransactionExecutor

    def get_tip(self, transaction: SignedTransactionAPI) -> int:
        return 0 if is_deposit(transaction) else super().get_tip(transaction)

    def get_gas_price(self, transaction: SignedTransactionAPI) -> int:
        return 0 if is_deposit(transaction) else super().get_gas_price(transaction)


class RollupPragueBlock(PragueBlock):
    transaction_builder = RollupTransactionBuilder
    receipt_builder = RollupReceiptBuilder
    fields = [
        ("header", PragueBlockHeader),
        ("transactions", CountableList(RollupTransactionBuilder)),
        ("uncles", CountableList(None, max_length=0)),
        ("withdrawals", CountableList(Withdrawal)),
    ]


class RollupPragueVM(PragueVM):
    """Prague with deposit transactions (OP Stack Bedrock's type 0x7E, Regolith and Canyon rules)."""

    block_class = RollupPragueBlock
    _state_class = RollupPragueState

    @classmethod
    def make_receipt(cls, base_header, transaction, computation, state) -> ReceiptAPI:
        if not is_deposit(transaction):
            return super().make_receipt(base_header, transaction, computation, state)
        gas_used = base_header.gas_used + cls.finalize_gas_used(transaction, computation)
        failed = computation.is_error
        status = EIP658_TRANSACTION_STATUS_CODE_FAILURE if failed else EIP658_TRANSACTION_STATUS_CODE_SUCCESS
        logs = [Log(address, topics, data) for address, topics, data in computation.get_log_entries()]
        inner = DepositReceipt(status, gas_used, logs, deposit_nonce=computation.deposit_nonce)
        return RollupTypedReceipt(DEPOSIT_TX_TYPE, inner)
