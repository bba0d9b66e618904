"""eth_simulateV1: calls run in simulated blocks on top of a chosen block, with block and state overrides, answered
as go-ethereum answers (internal/ethapi/simulate.go, its errors.go and override/override.go).

Every simulated block is built as a real one would be: the fork's pre-block system calls, the calls as transactions
(unsigned, the sender given), the post-block requests, then the state root, receipts root and block hash, so the
hashes agree with go-ethereum's for the same input. All of it runs on a throwaway overlay of the node's database:
state writes land in an in-memory batch that is never committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, ComputationAPI, MessageAPI, StateAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH
from eth.db.atomic import AtomicDB
from eth.db.batch import BatchDB
from eth.exceptions import Halt, Revert
from eth.vm import forks
from eth.vm.chain_context import ChainContext
from eth.vm.spoof import SpoofTransaction
from eth_utils import to_checksum_address

from rollup.rpc import encode
from rollup.rpc.api import SERVER_ERROR, Api, method
from rollup.rpc.eth import CALL_GAS_CAP, _vm_error_message, revert_message
from rollup.rpc.params import INVALID_PARAMS, RpcError, address, arg, boolean, data, invalid, positional, quantity

MAX_BLOCKS = 256
MAX_CALLS_PER_BLOCK = 5000
MAX_TOTAL_CALLS = 10000
TIMESTAMP_INCREMENT = 12
UINT64 = 2**64
MAX_INITCODE_SIZE = 49152
GAS_PER_BLOB = 131072

NONCE_TOO_LOW = -38010
NONCE_TOO_HIGH = -38011
BASE_FEE_TOO_LOW = -38012
INTRINSIC_GAS = -38013
INSUFFICIENT_FUNDS = -38014
BLOCK_GAS_LIMIT_REACHED = -38015
BLOCK_NUMBER_INVALID = -38020
BLOCK_TIMESTAMP_INVALID = -38021
MAX_INITCODE_SIZE_EXCEEDED = -38025
CLIENT_LIMIT_EXCEEDED = -38026
INTERNAL_ERROR = -32603
VM_ERROR = -32015
REVERTED = 3

# ERC-7528's address for ETH and ERC-20's Transfer event: how traceTransfers reports value moving.
TRANSFER_ADDRESS = bytes.fromhex("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
TRANSFER_TOPIC = int("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", 16)
SELFDESTRUCT = 0xFF
# The opcodes that move value into a new frame, with the value's depth on the stack.
VALUE_CALLS = {0xF0: 1, 0xF1: 3, 0xF2: 3, 0xF5: 1}  # CREATE, CALL, CALLCODE, CREATE2
ZERO_ADDRESS = b"\x00" * 20
ZERO_HASH = b"\x00" * 32


# Parameters, decoded as go-ethereum's JSON types decode them


def _fields(value: Any, what: str) -> dict[str, Any]:
    # Go's encoding/json matches object keys to struct fields without regard to case.
    if not isinstance(value, dict):
        raise invalid(f"invalid argument: {what}: want an object, got {value!r}")
    return {k.lower(): v for k, v in value.items() if v is not None}


def _u64(value: Any, what: str) -> int:
    number = quantity(value, what)
    if number >= UINT64:
        raise invalid(f"invalid argument: {what}: hex number > 64 bits")
    return number


def _hash(value: Any, what: str) -> bytes:
    return data(value, what, 32)


def _flag(opts: dict[str, Any], key: str) -> bool:
    return boolean(opts[key], key) if key in opts else False


@dataclass
class _BlockOverrides:
    number: int | None = None
    difficulty: int | None = None
    time: int | None = None
    gas_limit: int | None = None
    fee_recipient: bytes | None = None
    prev_randao: bytes | None = None
    base_fee: int | None = None
    blob_base_fee: int | None = None
    beacon_root: bytes | None = None
    withdrawals: list[tuple[int, int, bytes, int]] | None = None


@dataclass
class _AccountOverride:
    nonce: int | None = None
    code: bytes | None = None
    balance: int | None = None
    state: dict[int, int] | None = None
    state_diff: dict[int, int] | None = None
    move_to: bytes | None = None


@dataclass
class _Call:
    sender: bytes = ZERO_ADDRESS
    to: bytes | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee: int | None = None
    max_tip: int | None = None
    value: int | None = None
    nonce: int | None = None
    data: bytes = b""
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...] | None = None
    chain_id: int | None = None
    blob_fee_cap: int | None = None
    blob_hashes: tuple[bytes, ...] | None = None
    authorizations: tuple[Any, ...] | None = None


@dataclass
class _SimBlock:
    overrides: _BlockOverrides = field(default_factory=_BlockOverrides)
    accounts: dict[bytes, _AccountOverride] | None = None
    calls: list[_Call] = field(default_factory=list)


def _parse_block_overrides(value: Any) -> _BlockOverrides:
    f = _fields(value, "blockOverrides")
    out = _BlockOverrides()
    if "number" in f:
        out.number = quantity(f["number"], "number")
    if "difficulty" in f:
        out.difficulty = quantity(f["difficulty"], "difficulty")
    if "time" in f:
        out.time = _u64(f["time"], "time")
    if "gaslimit" in f:
        out.gas_limit = _u64(f["gaslimit"], "gasLimit")
    if "feerecipient" in f:
        out.fee_recipient = address(f["feerecipient"], "feeRecipient")
    if "prevrandao" in f:
        out.prev_randao = _hash(f["prevrandao"], "prevRandao")
    if "basefeepergas" in f:
        out.base_fee = quantity(f["basefeepergas"], "baseFeePerGas")
    if "blobbasefee" in f:
        out.blob_base_fee = quantity(f["blobbasefee"], "blobBaseFee")
    if "beaconroot" in f:
        out.beacon_root = _hash(f["beaconroot"], "beaconRoot")
    if "withdrawals" in f:
        if not isinstance(f["withdrawals"], list):
            raise invalid("invalid argument: withdrawals: want an array")
        out.withdrawals = []
        for entry in f["withdrawals"]:
            w = _fields(entry, "withdrawal")
            out.withdrawals.append(
                (
                    _u64(w.get("index", "0x0"), "index"),
                    _u64(w.get("validatorindex", "0x0"), "validatorIndex"),
                    address(w.get("address", "0x" + "00" * 20), "address"),
                    _u64(w.get("amount", "0x0"), "amount"),
                )
            )
    return out


def _storage(value: Any, what: str) -> dict[int, int]:
    if not isinstance(value, dict):
        raise invalid(f"invalid argument: {what}: want an object of slot -> value")
    return {
        int.from_bytes(_hash(k, f"{what} key"), "big"): int.from_bytes(_hash(v, what), "big") for k, v in value.items()
    }


def _parse_state_overrides(value: Any) -> dict[bytes, _AccountOverride]:
    if not isinstance(value, dict):
        raise invalid("invalid argument: stateOverrides: want an object of address -> account")
    out: dict[bytes, _AccountOverride] = {}
    for who, account in value.items():
        f = _fields(account, "account override")
        override = _AccountOverride()
        if "nonce" in f:
            override.nonce = _u64(f["nonce"], "nonce")
        if "code" in f:
            override.code = data(f["code"], "code")
        if "balance" in f:
            override.balance = quantity(f["balance"], "balance")
        if "state" in f:
            override.state = _storage(f["state"], "state")
        if "statediff" in f:
            override.state_diff = _storage(f["statediff"], "stateDiff")
        if "moveprecompiletoaddress" in f:
            override.move_to = address(f["moveprecompiletoaddress"], "movePrecompileToAddress")
        out[address(who, "state override address")] = override
    return out


def _access_list(value: Any) -> tuple[tuple[bytes, tuple[int, ...]], ...]:
    if not isinstance(value, list):
        raise invalid("invalid argument: accessList: want an array")
    out = []
    for entry in value:
        f = _fields(entry, "accessList entry")
        keys = tuple(int.from_bytes(_hash(k, "storageKeys"), "big") for k in f.get("storagekeys") or [])
        out.append((address(f.get("address"), "accessList address"), keys))
    return tuple(out)


def _authorizations(value: Any) -> tuple[Any, ...]:
    from eth.vm.forks.prague.transactions import Authorization

    if not isinstance(value, list):
        raise invalid("invalid argument: authorizationList: want an array")
    out = []
    for entry in value:
        f = _fields(entry, "authorization")
        out.append(
            Authorization(
                chain_id=quantity(f.get("chainid", "0x0"), "chainId"),
                address=address(f.get("address"), "address"),
                nonce=_u64(f.get("nonce", "0x0"), "nonce"),
                y_parity=quantity(f.get("yparity", f.get("v", "0x0")), "yParity"),
                r=quantity(f.get("r", "0x0"), "r"),
                s=quantity(f.get("s", "0x0"), "s"),
            )
        )
    return tuple(out)


def _parse_call(value: Any) -> _Call:
    f = _fields(value, "call")
    call = _Call()
    if "from" in f:
        call.sender = address(f["from"], "from")
    if "to" in f:
        call.to = address(f["to"], "to")
    for key, attr in (("gas", "gas"), ("nonce", "nonce")):
        if key in f:
            setattr(call, attr, _u64(f[key], key))
    for key, attr in (
        ("gasprice", "gas_price"),
        ("maxfeepergas", "max_fee"),
        ("maxpriorityfeepergas", "max_tip"),
        ("value", "value"),
        ("chainid", "chain_id"),
        ("maxfeeperblobgas", "blob_fee_cap"),
    ):
        if key in f:
            setattr(call, attr, quantity(f[key], key))
    # go-ethereum reads "input" first and falls back to "data"; calls do not insist they agree.
    raw = f.get("input", f.get("data"))
    if raw is not None:
        call.data = data(raw, "input")
    if "accesslist" in f:
        call.access_list = _access_list(f["accesslist"])
    if "blobversionedhashes" in f:
        if not isinstance(f["blobversionedhashes"], list):
            raise invalid("invalid argument: blobVersionedHashes: want an array")
        call.blob_hashes = tuple(_hash(h, "blobVersionedHashes") for h in f["blobversionedhashes"])
    if "authorizationlist" in f:
        call.authorizations = _authorizations(f["authorizationlist"])
    return call


def _parse_block(value: Any) -> _SimBlock:
    f = _fields(value, "blockStateCall")
    block = _SimBlock()
    if "blockoverrides" in f:
        block.overrides = _parse_block_overrides(f["blockoverrides"])
    if "stateoverrides" in f:
        block.accounts = _parse_state_overrides(f["stateoverrides"])
    if "calls" in f:
        if not isinstance(f["calls"], list):
            raise invalid("invalid argument: calls: want an array")
        block.calls = [_parse_call(c) for c in f["calls"]]
    return block


@dataclass
class _Options:
    blocks: list[_SimBlock]
    trace_transfers: bool
    validation: bool
    full_transactions: bool


def _parse_options(value: Any) -> _Options:
    opts = _fields(value, "simulation options")
    raw_blocks = opts.get("blockstatecalls", [])
    if not isinstance(raw_blocks, list):
        raise invalid("invalid argument: blockStateCalls: want an array")
    return _Options(
        blocks=[_parse_block(b) for b in raw_blocks],
        trace_transfers=_flag(opts, "tracetransfers"),
        validation=_flag(opts, "validation"),
        full_transactions=_flag(opts, "returnfulltransactions"),
    )


# The log tracer: go-ethereum's internal/ethapi/logtracer.go on py-evm's call frames


class _Frame:
    __slots__ = ("parent", "computation")

    def __init__(self, parent: _Frame | None) -> None:
        self.parent = parent
        self.computation: ComputationAPI | None = None

    def kept(self) -> bool:
        frame: _Frame | None = self
        while frame is not None:
            if frame.computation is None or frame.computation.is_error:
                return False
            frame = frame.parent
        return True


class _Tracer:
    """Logs of one simulated block's calls in the order they happen, ETH transfers among them when asked; a log is
    kept only if every call frame around it succeeded. Indexes count every log the block captured, kept or not, as
    go-ethereum's tracer does."""

    def __init__(self, trace_transfers: bool) -> None:
        self.trace_transfers = trace_transfers
        self.count = 0
        self.stack: list[_Frame] = []
        self.entries: list[tuple[_Frame, int, bytes, tuple[int, ...], bytes]] = []

    def reset(self) -> None:
        self.stack = []
        self.entries = []

    def enter(self, message: MessageAPI) -> _Frame:
        frame = _Frame(self.stack[-1] if self.stack else None)
        self.stack.append(frame)
        # DELEGATECALL moves no value even though its message carries the caller's.
        if message.should_transfer_value and message.value > 0:
            to = message.storage_address if message.is_create else message.code_address
            self.transfer(message.sender, to, message.value)
        return frame

    def exit(self, frame: _Frame) -> None:
        if self.stack and self.stack[-1] is frame:
            self.stack.pop()

    def log(self, account: bytes, topics: tuple[int, ...], payload: bytes) -> None:
        if not self.stack:  # a system call outside the block's calls
            return
        self.entries.append((self.stack[-1], self.count, account, tuple(topics), payload))
        self.count += 1

    def transfer(self, sender: bytes, to: bytes, value: int) -> None:
        if not self.trace_transfers or value <= 0:
            return
        topics = (TRANSFER_TOPIC, int.from_bytes(sender, "big"), int.from_bytes(to, "big"))
        self.log(TRANSFER_ADDRESS, topics, value.to_bytes(32, "big"))

    def logs(self) -> list[tuple[int, bytes, tuple[int, ...], bytes]]:
        return [(index, account, topics, data) for frame, index, account, topics, data in self.entries if frame.kept()]


class _TracingComputation:
    @classmethod
    def apply_message(
        cls,
        state: StateAPI,
        message: MessageAPI,
        transaction_context: Any,
        parent_computation: ComputationAPI | None = None,
    ) -> ComputationAPI:
        tracer: _Tracer = state.sim_tracer  # type: ignore[attr-defined]
        frame = tracer.enter(message)
        try:
            computation = super().apply_message(  # type: ignore[misc]
                state, message, transaction_context, parent_computation=parent_computation
            )
        finally:
            tracer.exit(frame)
        frame.computation = computation
        return computation

    def add_log_entry(self, account: bytes, topics: tuple[int, ...], data: bytes) -> None:
        super().add_log_entry(account, topics, data)  # type: ignore[misc]
        self.state.sim_tracer.log(account, topics, data)  # type: ignore[attr-defined]


def _word(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


class _TracedValueCall:
    """CALL, CALLCODE, CREATE, CREATE2: go-ethereum's tracer opens the frame (logging the value) before the balance,
    depth and address-collision checks, which py-evm makes before it opens one; a call refused there still uses
    up a log index in go-ethereum, and later logs' indexes count it."""

    def __init__(self, inner: Any, value_depth: int) -> None:
        self.inner = inner
        self.value_depth = value_depth
        self.mnemonic = getattr(inner, "mnemonic", "CALL")
        self.gas_cost = getattr(inner, "gas_cost", 0)

    def __call__(self, computation: ComputationAPI) -> None:
        stack = computation._stack.values  # type: ignore[attr-defined]
        value = _word(stack[-self.value_depth]) if len(stack) >= self.value_depth else 0
        children = len(computation.children)
        self.inner(computation=computation)
        tracer: _Tracer = computation.state.sim_tracer  # type: ignore[attr-defined]
        if tracer.trace_transfers and value > 0 and len(computation.children) == children:
            tracer.count += 1


class _TracedSelfDestruct:
    """SELFDESTRUCT, reporting the balance it sends (go-ethereum's tracer sees it as a call frame of its own)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.mnemonic = getattr(inner, "mnemonic", "SELFDESTRUCT")
        self.gas_cost = getattr(inner, "gas_cost", 0)

    def __call__(self, computation: ComputationAPI) -> None:
        stack = computation._stack.values  # type: ignore[attr-defined]
        target = stack[-1] if stack else None
        this = computation.msg.storage_address
        balance = computation.state.get_balance(this)
        try:
            self.inner(computation=computation)
        except Halt:
            if target is not None:
                raw = _word(target).to_bytes(32, "big")
                computation.state.sim_tracer.transfer(this, raw[-20:], balance)  # type: ignore[attr-defined]
            raise


class _SimState:
    sim_tracer: _Tracer
    sim_blob_base_fee: int | None = None
    sim_default_precompiles: frozenset[bytes] = frozenset()

    @property
    def blob_base_fee(self) -> int:
        if self.sim_blob_base_fee is not None:
            return self.sim_blob_base_fee
        return super().blob_base_fee  # type: ignore[misc]

    def is_address_warm(self, address: bytes) -> bool:
        # go-ethereum warms the fork's own precompile addresses, wherever a state override moved them.
        return self._account_db.is_address_warm(address) or address in self.sim_default_precompiles  # type: ignore

    def increment_nonce(self, address: bytes) -> None:
        # go-ethereum's nonce is a uint64 that wraps when validation lets a call run at the maximum.
        self.set_nonce(address, (self.get_nonce(address) + 1) % UINT64)  # type: ignore[attr-defined]

    def get_tip(self, transaction: Any) -> int:
        # A call with no fee fields under a base fee pays nothing, where py-evm would charge the coinbase a
        # negative tip; go-ethereum skips the payment.
        return max(0, super().get_tip(transaction))  # type: ignore[misc]


class _SimExecutor:
    def validate_transaction(self, transaction: Any) -> None:
        pass  # checked before, in go-ethereum's order and with its error codes (_Simulator._precheck)


def _sim_state_class(vm_class: Any, precompiles: dict[bytes, Any], default_precompiles: frozenset[bytes]) -> Any:
    base_state = vm_class.get_state_class()
    base_computation = base_state.computation_class
    opcodes = dict(base_computation.opcodes)
    if SELFDESTRUCT in opcodes:
        opcodes[SELFDESTRUCT] = _TracedSelfDestruct(opcodes[SELFDESTRUCT])
    for opcode, depth in VALUE_CALLS.items():
        if opcode in opcodes:
            opcodes[opcode] = _TracedValueCall(opcodes[opcode], depth)
    computation = type(
        "SimComputation", (_TracingComputation, base_computation), {"_precompiles": precompiles, "opcodes": opcodes}
    )
    executor = type("SimExecutor", (_SimExecutor, base_state.transaction_executor_class), {})
    return type(
        "SimState",
        (_SimState, base_state),
        {
            "computation_class": computation,
            "transaction_executor_class": executor,
            "sim_default_precompiles": default_precompiles,
        },
    )


# Simulation


class _TxInvalid(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _checksum(who: bytes) -> str:
    return to_checksum_address(who)


def _calc_base_fee(parent: BlockHeaderAPI, parent_london: bool) -> int:
    """go-ethereum's eip1559.CalcBaseFee."""
    if not parent_london:
        return 1_000_000_000
    target = parent.gas_limit // 2
    base_fee = parent.base_fee_per_gas
    if parent.gas_used == target:
        return base_fee
    if parent.gas_used > target:
        delta = (parent.gas_used - target) * base_fee // target // 8
        return base_fee + max(delta, 1)
    delta = (target - parent.gas_used) * base_fee // target // 8
    return max(base_fee - delta, 0)


def _floor_data_gas(payload: bytes) -> int:
    zeros = payload.count(0)
    return 21000 + 10 * (zeros + 4 * (len(payload) - zeros))


@dataclass
class _Template:
    """A simulated block's header fields known before it runs (go-ethereum's makeHeaders)."""

    number: int
    time: int
    coinbase: bytes
    difficulty: int
    gas_limit: int
    block: _SimBlock


class _Simulator:
    def __init__(self, api: Api, base: BlockHeaderAPI, opts: _Options) -> None:
        self.api = api
        self.chain = api.chain.chain
        self.base = base
        self.validate = opts.validation
        self.trace_transfers = opts.trace_transfers
        self.full = opts.full_transactions
        self.budget = CALL_GAS_CAP
        # Every write (state nodes, receipt and transaction tries) stays in this batch, never committed.
        self.db = AtomicDB(BatchDB(self.chain.chaindb.db))
        self.chaindb = type(self.chain.chaindb)(self.db)
        self.canonical_hashes = self._ancestors(base)
        self.simulated_hashes: list[bytes] = []
        self.chain_context = ChainContext(self.chain.chain_id)

    def _ancestors(self, base: BlockHeaderAPI) -> list[bytes]:
        out = [base.hash]
        for number in range(base.block_number - 1, max(-1, base.block_number - 256), -1):
            header = self.api.chain.header(number)
            if header is None:
                break
            out.append(header.hash)
        return out

    def _prev_hashes(self) -> list[bytes]:
        return (self.simulated_hashes[::-1] + self.canonical_hashes)[:256]

    def _vm_class(self, number: int, timestamp: int) -> Any:
        vm_class = self.chain.get_vm_class_for_block_number(number)
        l2 = self.api.chain
        if number > l2.head.block_number:
            # Timestamped forks the chain has not reached yet start where a simulated block's time reaches them.
            placed = len(getattr(l2, "_time_fork_blocks", ()))
            for at, fork in l2.genesis.time_forks[placed:]:
                if timestamp >= at:
                    vm_class = fork
        return vm_class

    # go-ethereum's sanitizeChain and makeHeaders

    def sanitize(self, blocks: list[_SimBlock]) -> list[_Template]:
        out: list[tuple[int, int, _SimBlock]] = []
        prev_number = self.base.block_number
        prev_time = self.base.timestamp
        for block in blocks:
            number = block.overrides.number if block.overrides.number is not None else prev_number + 1
            if number <= prev_number:
                raise RpcError(BLOCK_NUMBER_INVALID, f"block numbers must be in order: {number} <= {prev_number}")
            if number - self.base.block_number > MAX_BLOCKS:
                raise RpcError(CLIENT_LIMIT_EXCEEDED, "too many blocks")
            for filler in range(prev_number + 1, number):
                prev_time += TIMESTAMP_INCREMENT
                out.append((filler, prev_time, _SimBlock()))
            prev_number = number
            if block.overrides.time is None:
                timestamp = prev_time + TIMESTAMP_INCREMENT
            else:
                timestamp = block.overrides.time
                if timestamp <= prev_time:
                    raise RpcError(
                        BLOCK_TIMESTAMP_INVALID, f"block timestamps must be in order: {timestamp} <= {prev_time}"
                    )
            prev_time = timestamp
            out.append((number, timestamp, block))
        templates = []
        coinbase, difficulty, gas_limit = self.base.coinbase, self.base.difficulty, self.base.gas_limit
        for number, timestamp, block in out:
            o = block.overrides
            if issubclass(self._vm_class(number, timestamp), forks.ParisVM):
                difficulty = 0
            # Fee recipient, gas limit and difficulty carry over to the blocks after the one that set them.
            coinbase = o.fee_recipient if o.fee_recipient is not None else coinbase
            difficulty = o.difficulty if o.difficulty is not None else difficulty
            gas_limit = o.gas_limit if o.gas_limit is not None else gas_limit
            templates.append(_Template(number, timestamp, coinbase, difficulty, gas_limit, block))
        return templates

    def run(self, blocks: list[_SimBlock]) -> list[dict[str, Any]]:
        templates = self.sanitize(blocks)
        parent = self.base
        parent_vm = self.chain.get_vm_class(self.base)
        results = []
        for template in templates:
            result, parent, parent_vm = self._process(template, parent, parent_vm)
            results.append(result)
        return results

    # go-ethereum's processBlock

    def _process(self, t: _Template, parent: BlockHeaderAPI, parent_vm: Any) -> tuple[dict[str, Any], Any, Any]:
        vm_class = self._vm_class(t.number, t.time)
        block_class = vm_class.get_block_class()
        header_class = dict(zip(block_class._meta.field_names, block_class._meta.sedes, strict=True))["header"]
        o = t.block.overrides
        london = issubclass(vm_class, forks.LondonVM)
        shanghai = issubclass(vm_class, forks.ShanghaiVM)
        cancun = issubclass(vm_class, forks.CancunVM)
        fields: dict[str, Any] = {
            "parent_hash": parent.hash,
            "uncles_hash": EMPTY_UNCLE_HASH,
            "coinbase": t.coinbase,
            "state_root": parent.state_root,
            "transaction_root": BLANK_ROOT_HASH,
            "receipt_root": BLANK_ROOT_HASH,
            "bloom": 0,
            "difficulty": t.difficulty,
            "block_number": t.number,
            "gas_limit": t.gas_limit,
            "gas_used": 0,
            "timestamp": t.time,
            "extra_data": b"",
            "mix_hash": o.prev_randao if o.prev_randao is not None else ZERO_HASH,
            "nonce": b"\x00" * 8,
        }
        if london:
            if o.base_fee is not None:
                fields["base_fee_per_gas"] = o.base_fee
            elif self.validate:
                fields["base_fee_per_gas"] = _calc_base_fee(parent, issubclass(parent_vm, forks.LondonVM))
            else:
                # Without validation go-ethereum zeroes the base fee so that calls without fees can run.
                fields["base_fee_per_gas"] = 0
        if shanghai:
            fields["withdrawals_root"] = BLANK_ROOT_HASH
        if cancun:
            excess = 0
            if issubclass(parent_vm, forks.CancunVM):
                target = (6 if issubclass(vm_class, forks.PragueVM) else 3) * GAS_PER_BLOB
                excess = max(parent.excess_blob_gas + parent.blob_gas_used - target, 0)
            fields["excess_blob_gas"] = excess
            fields["blob_gas_used"] = 0
            fields["parent_beacon_block_root"] = o.beacon_root if o.beacon_root is not None else ZERO_HASH
        names = set(header_class._meta.field_names)
        header = header_class(**{k: v for k, v in fields.items() if k in names})

        default_precompiles = vm_class.get_state_class().computation_class.get_precompiles()
        precompiles = dict(default_precompiles)
        state_class = _sim_state_class(vm_class, precompiles, frozenset(default_precompiles))
        context = vm_class.create_execution_context(header, self._prev_hashes(), self.chain_context)
        state = state_class(self.db, context, parent.state_root)
        tracer = _Tracer(self.trace_transfers)
        state.sim_tracer = tracer
        state.sim_blob_base_fee = o.blob_base_fee
        if t.block.accounts:
            self._apply_overrides(state, t.block.accounts, precompiles)
        state.lock_changes()

        vm = vm_class(header, self.chaindb, self.chain_context, self.chain.consensus_context)
        vm._state = state
        block_fields: dict[str, Any] = {"transactions": [], "uncles": []}
        if shanghai:
            block_fields["withdrawals"] = []
        block: BlockAPI = block_class(header, **block_fields)
        vm.block_preprocessing(block)

        txs, receipts, calls, senders = [], [], [], []
        gas_pool = header.gas_limit
        chain_id = self.chain.chain_id
        base_fee = getattr(header, "base_fee_per_gas", None) if london else None
        for index, call in enumerate(t.block.calls):
            tx, gas_capped, fee_cap, tip = self._transaction(vm_class, call, state, gas_pool, base_fee, chain_id)
            spoof = SpoofTransaction(tx, **self._message_fields(vm_class, call, tx))
            try:
                self._precheck(state, vm_class, call, spoof, fee_cap, tip, base_fee)
            except _TxInvalid as err:
                raise RpcError(err.code, f"err: {err.message} (supplied gas {tx.gas})") from None
            tracer.reset()
            state.lock_changes()
            computation = state.apply_transaction(spoof)
            receipt = vm.make_receipt(header, spoof, computation, state)
            used = receipt.gas_used - header.gas_used
            header = vm.add_receipt_to_header(header, receipt)
            header = vm.increment_blob_gas_used(header, tx)
            gas_pool -= used
            self.budget -= used
            peak = tx.gas - computation.get_gas_remaining()
            if issubclass(vm_class, forks.PragueVM):
                peak = max(peak, _floor_data_gas(tx.data))
            txs.append(tx)
            receipts.append(receipt)
            senders.append(call.sender)
            calls.append(self._call_result(computation, tracer, used, peak, gas_capped, tx, index))

        withdrawals: list[Any] = []
        if shanghai and o.withdrawals:
            from eth.vm.forks.shanghai.withdrawals import Withdrawal

            withdrawals = [Withdrawal(i, v, a, amount) for i, v, a, amount in o.withdrawals]
            vm.apply_all_withdrawals(withdrawals)
        block = vm.set_block_transactions_and_withdrawals(block, header, txs, receipts, withdrawals=withdrawals)
        block = vm.block_postprocessing(block)
        block = vm.finalize_block(block).block
        final = block.header
        self.simulated_hashes.append(final.hash)

        out = encode.block(block, len(rlp.encode(block)), full=False)
        if self.full:
            out["transactions"] = [
                self._transaction_json(tx, sender, final, i)
                for i, (tx, sender) in enumerate(zip(txs, senders, strict=True))
            ]
        for result in calls:
            for entry in result["logs"]:
                entry["blockHash"] = encode.d(final.hash)
        out["calls"] = calls
        return out, final, vm_class

    def _apply_overrides(
        self, state: StateAPI, accounts: dict[bytes, _AccountOverride], precompiles: dict[bytes, Any]
    ) -> None:
        """go-ethereum's StateOverride.Apply: addresses in order, precompiles moved or replaced first."""
        moved_to: set[bytes] = set()
        for who in sorted(accounts):
            account = accounts[who]
            if who in moved_to:
                raise RpcError(SERVER_ERROR, f"account {_checksum(who)} has already been overridden by a precompile")
            is_precompile = who in precompiles
            if account.move_to is not None:
                if not is_precompile:
                    raise RpcError(SERVER_ERROR, f"account {_checksum(who)} is not a precompile")
                if account.move_to in accounts:
                    raise RpcError(SERVER_ERROR, f"account {_checksum(account.move_to)} is already overridden")
                precompiles[account.move_to] = precompiles[who]
                moved_to.add(account.move_to)
            if is_precompile:
                del precompiles[who]
            if account.nonce is not None:
                state.set_nonce(who, account.nonce)
            if account.code is not None:
                state.set_code(who, account.code)
            if account.balance is not None:
                state.set_balance(who, account.balance)
            if account.state is not None and account.state_diff is not None:
                raise RpcError(SERVER_ERROR, f"account {_checksum(who)} has both 'state' and 'stateDiff'")
            if account.state is not None:
                state.delete_storage(who)
                for slot, value in account.state.items():
                    state.set_storage(who, slot, value)
            if account.state_diff is not None:
                for slot, value in account.state_diff.items():
                    state.set_storage(who, slot, value)

    def _transaction(
        self, vm_class: Any, call: _Call, state: StateAPI, gas_pool: int, base_fee: int | None, chain_id: int
    ) -> tuple[Any, bool, int, int]:
        """go-ethereum's sanitizeCall, CallDefaults and ToTransaction: the unsigned transaction a call becomes, with
        whether the gas was capped and the fee cap and tip it runs with."""
        nonce = call.nonce if call.nonce is not None else state.get_nonce(call.sender)
        gas = call.gas if call.gas is not None else gas_pool
        if gas_pool < gas:
            raise RpcError(BLOCK_GAS_LIMIT_REACHED, f"block gas limit reached: remaining: {gas_pool}, required: {gas}")
        capped = min(gas, self.budget)
        gas_capped = capped < gas
        gas = capped
        if call.gas_price is not None and (call.max_fee is not None or call.max_tip is not None):
            raise RpcError(SERVER_ERROR, "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
        if call.chain_id is not None and call.chain_id != chain_id:
            raise RpcError(SERVER_ERROR, f"chainId does not match node's (have={call.chain_id}, want={chain_id})")
        value = call.value or 0
        gas_price, max_fee, max_tip = call.gas_price, call.max_fee, call.max_tip
        if base_fee is None:
            gas_price = gas_price or 0
        else:
            max_fee = max_fee or 0
            max_tip = max_tip or 0
        if gas_price is not None:
            fee_cap = tip = gas_price
        else:
            fee_cap, tip = max_fee or 0, max_tip or 0
        blob_fee_cap = call.blob_fee_cap or 0
        builder = vm_class.get_transaction_builder()
        to = call.to if call.to is not None else b""
        access_list = call.access_list or ()
        common = dict(nonce=nonce, gas=gas, to=to, value=value, data=call.data)
        if gas_price is not None:
            # go-ethereum makes any call with a gas price a legacy transaction, whatever else it carries.
            tx = builder.new_transaction(gas_price=gas_price, v=0, r=0, s=0, **common)
        elif call.authorizations is not None:
            if call.to is None:
                raise RpcError(INTERNAL_ERROR, "set code transaction of type create")
            tx = builder.new_set_code_transaction(
                chain_id=chain_id,
                max_priority_fee_per_gas=max_tip,
                max_fee_per_gas=max_fee,
                access_list=access_list,
                authorization_list=call.authorizations,
                y_parity=0,
                r=0,
                s=0,
                **common,
            )
        elif call.blob_hashes is not None:
            if call.to is None:
                raise RpcError(INTERNAL_ERROR, "blob transaction of type create")
            tx = builder.new_blob_transaction(
                chain_id=chain_id,
                max_priority_fee_per_gas=max_tip,
                max_fee_per_gas=max_fee,
                access_list=access_list,
                max_fee_per_blob_gas=blob_fee_cap,
                blob_versioned_hashes=call.blob_hashes,
                y_parity=0,
                r=0,
                s=0,
                **common,
            )
        else:
            tx = builder.new_dynamic_fee_transaction(
                chain_id=chain_id,
                max_priority_fee_per_gas=max_tip,
                max_fee_per_gas=max_fee,
                access_list=access_list,
                y_parity=0,
                r=0,
                s=0,
                **common,
            )
        typed = getattr(builder, "typed_transaction", None)
        if typed is not None and hasattr(tx, "_inner") and not isinstance(tx, typed):
            # py-evm's builders make each transaction type as of the fork that introduced it; the block's
            # encoding wants the current fork's typed wrapper.
            tx = typed(tx.type_id, tx._inner)
        return tx, gas_capped, fee_cap, tip

    def _message_fields(self, vm_class: Any, call: _Call, tx: Any) -> dict[str, Any]:
        """What the call runs as beyond its transaction: the sender, and for a legacy transaction the access list it
        was given (go-ethereum's message keeps it, warming its entries and charging for them, where the
        transaction cannot carry it)."""
        sender = call.sender
        fields: dict[str, Any] = {"sender": sender, "get_sender": lambda: sender}
        builder = vm_class.get_transaction_builder()
        if call.access_list and not tx.type_id and hasattr(builder, "new_access_list_transaction"):
            with_list = builder.new_access_list_transaction(
                chain_id=self.chain.chain_id,
                nonce=tx.nonce,
                gas_price=tx.gas_price,
                gas=tx.gas,
                to=tx.to,
                value=tx.value,
                data=tx.data,
                access_list=call.access_list,
                y_parity=0,
                r=0,
                s=0,
            )
            fields["access_list"] = call.access_list
            fields["intrinsic_gas"] = with_list.intrinsic_gas
        return fields

    def _precheck(
        self,
        state: StateAPI,
        vm_class: Any,
        call: _Call,
        tx: Any,
        fee_cap: int,
        tip: int,
        base_fee: int | None,
    ) -> None:
        """go-ethereum's state transition checks before execution (preCheck, buyGas, intrinsic gas, floor data gas,
        value), in its order; calls skip the sender-is-EOA check, and without validation the nonce check and
        the base fee check for calls without fees."""
        sender = call.sender
        who = _checksum(sender)
        if self.validate:
            have = state.get_nonce(sender)
            if have < tx.nonce:
                raise _TxInvalid(NONCE_TOO_HIGH, f"nonce too high: address {who}, tx: {tx.nonce} state: {have}")
            if have > tx.nonce:
                raise _TxInvalid(NONCE_TOO_LOW, f"nonce too low: address {who}, tx: {tx.nonce} state: {have}")
            if have + 1 >= UINT64:
                raise _TxInvalid(INTERNAL_ERROR, f"nonce has max value: address {who}, nonce: {have}")
        if base_fee is not None and (self.validate or fee_cap or tip):
            if fee_cap < tip:
                raise _TxInvalid(
                    INVALID_PARAMS,
                    f"max priority fee per gas higher than max fee per gas: address {who}, "
                    f"maxPriorityFeePerGas: {tip}, maxFeePerGas: {fee_cap}",
                )
            if fee_cap < base_fee:
                raise _TxInvalid(
                    BASE_FEE_TOO_LOW,
                    f"max fee per gas less than block base fee: address {who}, maxFeePerGas: {fee_cap}, "
                    f"baseFee: {base_fee}",
                )
        blob_gas = 0
        if call.blob_hashes is not None:
            if not call.blob_hashes:
                raise _TxInvalid(INTERNAL_ERROR, "blob transaction missing blob hashes")
            for i, h in enumerate(call.blob_hashes):
                if h[:1] != b"\x01":
                    raise _TxInvalid(INTERNAL_ERROR, f"blob {i} has invalid hash version")
            blob_gas = GAS_PER_BLOB * len(call.blob_hashes)
        blob_fee_cap = call.blob_fee_cap or 0
        blob_base_fee = 0
        if blob_gas and issubclass(vm_class, forks.CancunVM):
            blob_base_fee = state.blob_base_fee
            if (self.validate or blob_fee_cap) and blob_fee_cap < blob_base_fee:
                raise _TxInvalid(
                    INTERNAL_ERROR,
                    f"max fee per blob gas less than block blob gas fee: address {who} blobGasFeeCap: "
                    f"{blob_fee_cap}, blobBaseFee: {blob_base_fee}",
                )
        if call.authorizations is not None and not call.authorizations:
            raise _TxInvalid(INTERNAL_ERROR, f"EIP-7702 transaction with empty auth list (sender {who})")
        balance = state.get_balance(sender)
        value = tx.value
        want = tx.gas * fee_cap + value + blob_gas * blob_fee_cap
        if balance < want:
            raise _TxInvalid(
                INSUFFICIENT_FUNDS,
                f"insufficient funds for gas * price + value: address {who} have {balance} want {want}",
            )
        intrinsic = tx.intrinsic_gas
        if tx.gas < intrinsic:
            raise _TxInvalid(INTRINSIC_GAS, f"intrinsic gas too low: have {tx.gas}, want {intrinsic}")
        if issubclass(vm_class, forks.PragueVM):
            floor = _floor_data_gas(tx.data)
            if tx.gas < floor:
                raise _TxInvalid(
                    INTERNAL_ERROR, f"insufficient gas for floor data gas cost: have {tx.gas}, want {floor}"
                )
        gas_price = state.get_gas_price(tx) if base_fee is not None else fee_cap
        if value and balance - tx.gas * gas_price - blob_gas * blob_base_fee < value:
            raise _TxInvalid(INSUFFICIENT_FUNDS, f"insufficient funds for transfer: address {who}")
        if call.to is None and issubclass(vm_class, forks.ShanghaiVM) and len(tx.data) > MAX_INITCODE_SIZE:
            raise _TxInvalid(
                MAX_INITCODE_SIZE_EXCEEDED,
                f"max initcode size exceeded: code size {len(tx.data)}, limit {MAX_INITCODE_SIZE}",
            )

    def _call_result(
        self,
        computation: ComputationAPI,
        tracer: _Tracer,
        used: int,
        peak: int,
        gas_capped: bool,
        tx: Any,
        index: int,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "returnData": "0x" if computation.is_error else encode.d(computation.output),
            "logs": [],
            "gasUsed": encode.q(used),
            "maxUsedGas": encode.q(peak),
            "status": "0x0" if computation.is_error else "0x1",
        }
        if computation.is_error:
            err = computation.error
            if isinstance(err, Revert):
                output = computation.output
                out["error"] = {"message": revert_message(output), "code": REVERTED, "data": encode.d(output)}
            else:
                message = _vm_error_message(err)
                if gas_capped:
                    message += " (gas limit was capped by the RPC server's global gas cap)"
                out["error"] = {"message": message, "code": VM_ERROR}
        else:
            header = computation.state.execution_context
            out["logs"] = [
                {
                    "address": encode.addr(account),
                    "topics": [encode.d(t.to_bytes(32, "big")) for t in topics],
                    "data": encode.d(payload),
                    "blockNumber": encode.q(header.block_number),
                    "transactionHash": encode.d(tx.hash),
                    "transactionIndex": encode.q(index),
                    "blockHash": None,  # known once the block is sealed
                    "blockTimestamp": encode.q(header.timestamp),
                    "logIndex": encode.q(log_index),
                    "removed": False,
                }
                for log_index, account, topics, payload in tracer.logs()
            ]
        return out

    def _transaction_json(self, tx: Any, sender: bytes, header: BlockHeaderAPI, index: int) -> dict[str, Any]:
        """go-ethereum's RPCTransaction for an unsigned simulated transaction, its sender filled in."""
        type_id = tx.type_id or 0
        base_fee = getattr(header, "base_fee_per_gas", None)
        out: dict[str, Any] = {
            "blockHash": encode.d(header.hash),
            "blockNumber": encode.q(header.block_number),
            "blockTimestamp": encode.q(header.timestamp),
            "from": encode.addr(sender),
            "gas": encode.q(tx.gas),
            "gasPrice": encode.q(tx.gas_price if type_id < 2 else encode.effective_gas_price(tx, base_fee)),
            "hash": encode.d(tx.hash),
            "input": encode.d(tx.data),
            "nonce": encode.q(tx.nonce),
            "to": encode.addr(tx.to),
            "transactionIndex": encode.q(index),
            "value": encode.q(tx.value),
            "type": encode.q(type_id),
            "v": "0x0",
            "r": "0x0",
            "s": "0x0",
        }
        if type_id == 0:
            # go-ethereum derives a legacy transaction's chain id from v; v 0 wraps to this as a uint64.
            out["chainId"] = encode.q((UINT64 - 35) // 2)
        else:
            out["accessList"] = [
                {"address": encode.addr(a), "storageKeys": [encode.d(k.to_bytes(32, "big")) for k in keys]}
                for a, keys in tx.access_list
            ]
            out["chainId"] = encode.q(tx.chain_id)
            out["yParity"] = "0x0"
        if type_id >= 2:
            out["maxFeePerGas"] = encode.q(tx.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = encode.q(tx.max_priority_fee_per_gas)
        if type_id == 3:
            out["maxFeePerBlobGas"] = encode.q(tx.max_fee_per_blob_gas)
            out["blobVersionedHashes"] = [encode.d(h) for h in tx.blob_versioned_hashes]
        if type_id == 4:
            out["authorizationList"] = [
                {
                    "chainId": encode.q(a.chain_id),
                    "address": encode.addr(a.address),
                    "nonce": encode.q(a.nonce),
                    "yParity": encode.q(a.y_parity),
                    "r": encode.q(a.r),
                    "s": encode.q(a.s),
                }
                for a in tx.authorization_list
            ]
        return out


def _check_limits(blocks: Sequence[_SimBlock]) -> None:
    if not blocks:
        raise RpcError(INVALID_PARAMS, "empty input")
    if len(blocks) > MAX_BLOCKS:
        raise RpcError(CLIENT_LIMIT_EXCEEDED, "too many blocks")
    total = 0
    for block in blocks:
        if len(block.calls) > MAX_CALLS_PER_BLOCK:
            raise RpcError(
                CLIENT_LIMIT_EXCEEDED, f"too many calls in block: {len(block.calls)} > {MAX_CALLS_PER_BLOCK}"
            )
        total += len(block.calls)
        if total > MAX_TOTAL_CALLS:
            raise RpcError(CLIENT_LIMIT_EXCEEDED, f"too many calls: {total} > {MAX_TOTAL_CALLS}")


@method("eth_simulateV1")
def simulate_v1(api: Api, params: Any) -> list[dict[str, Any]]:
    raw_opts, selector = positional(params, required=1, optional=1)
    opts: _Options = arg(0, _parse_options, raw_opts)
    _check_limits(opts.blocks)
    base = api.block_header(selector if selector is not None else "latest")
    return _Simulator(api, base, opts).run(opts.blocks)
