"""debug_traceTransaction, debug_traceBlockByNumber, debug_traceBlockByHash and debug_traceCall: a block re-executed
on its parent's state with a tracer watching py-evm, answering in go-ethereum's shapes.

Two tracers, as go-ethereum names them: the default struct logger (one entry per executed opcode: pc, op, gas before
it, its cost, depth, stack, and on request memory, return data and the storage the contract has touched) and the
`callTracer` (the tree of calls, each with gas, gas used, input, output, error and revert reason).

py-evm has no tracing hooks, so a traced execution runs on a subclass of the fork's computation class whose opcode
table wraps every opcode and whose frames report their start, end, gas consumption and logs to the tracer (EVMHooks).
A few things py-evm does differently are bridged to match go-ethereum's numbers: an opcode's cost is what it charged
in its own frame (a CALL's includes the gas it forwards, a CREATE's stops before the child's allowance), the step
after the last byte of code is the implicit STOP go-ethereum also logs, and the refund counter is the transaction's
(the sum over the frames in flight)."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth.abc import BlockHeaderAPI, ComputationAPI, SignedTransactionAPI
from eth.exceptions import FullStack, Halt, InsufficientStack, OutOfGas, Revert
from eth.vm.logic.invalid import InvalidOpcode
from eth_utils import to_normalized_address

from rollup.rpc import encode
from rollup.rpc.api import SERVER_ERROR, Api, method
from rollup.rpc.eth import CALL_GAS_CAP, _free, _revert_reason, call_state, call_transaction, free_blobs, parse_call
from rollup.rpc.params import RpcError, arg, hash32, invalid, positional, quantity

DEFAULT_TIMEOUT_S = 5.0  # go-ethereum's defaultTraceTimeout
DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
DURATION = re.compile(f"(?:{DURATION_PART.pattern})+")

# go-ethereum's opcode names (core/vm/opcodes.go); an unlisted byte is "opcode 0x.. not defined".
OP_NAMES: dict[int, str] = {
    **dict(
        enumerate(
            "STOP ADD MUL SUB DIV SDIV MOD SMOD ADDMOD MULMOD EXP SIGNEXTEND".split(),
        )
    ),
    **{0x10 + i: n for i, n in enumerate("LT GT SLT SGT EQ ISZERO AND OR XOR NOT BYTE SHL SHR SAR CLZ".split())},
    0x20: "KECCAK256",
    **{
        0x30 + i: n
        for i, n in enumerate(
            "ADDRESS BALANCE ORIGIN CALLER CALLVALUE CALLDATALOAD CALLDATASIZE CALLDATACOPY CODESIZE CODECOPY "
            "GASPRICE EXTCODESIZE EXTCODECOPY RETURNDATASIZE RETURNDATACOPY EXTCODEHASH".split()
        )
    },
    **{
        0x40 + i: n
        for i, n in enumerate(
            "BLOCKHASH COINBASE TIMESTAMP NUMBER DIFFICULTY GASLIMIT CHAINID SELFBALANCE BASEFEE BLOBHASH "
            "BLOBBASEFEE SLOTNUM".split()
        )
    },
    **{
        0x50 + i: n
        for i, n in enumerate(
            "POP MLOAD MSTORE MSTORE8 SLOAD SSTORE JUMP JUMPI PC MSIZE GAS JUMPDEST TLOAD TSTORE MCOPY PUSH0".split()
        )
    },
    **{0x60 + i: f"PUSH{i + 1}" for i in range(32)},
    **{0x80 + i: f"DUP{i + 1}" for i in range(16)},
    **{0x90 + i: f"SWAP{i + 1}" for i in range(16)},
    **{0xA0 + i: f"LOG{i}" for i in range(5)},
    **{0xD0 + i: n for i, n in enumerate("DATALOAD DATALOADN DATASIZE DATACOPY".split())},
    **{0xE0 + i: n for i, n in enumerate("RJUMP RJUMPI RJUMPV CALLF RETF JUMPF DUPN SWAPN EXCHANGE".split())},
    0xEC: "EOFCREATE",
    0xEE: "RETURNCONTRACT",
    **{0xF0 + i: n for i, n in enumerate("CREATE CALL CALLCODE RETURN DELEGATECALL CREATE2".split())},
    0xF7: "RETURNDATALOAD",
    0xF8: "EXTCALL",
    0xF9: "EXTDELEGATECALL",
    0xFA: "STATICCALL",
    0xFB: "EXTSTATICCALL",
    0xFD: "REVERT",
    0xFE: "INVALID",
    0xFF: "SELFDESTRUCT",
}
SLOAD, SSTORE = 0x54, 0x55
CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL, SELFDESTRUCT = 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA, 0xFF
CALLS = (CALL, CALLCODE, DELEGATECALL, STATICCALL)
CREATES = (CREATE, CREATE2)
LOGS = range(0xA0, 0xA5)


def op_name(code: int) -> str:
    return OP_NAMES.get(code) or f"opcode {code:#x} not defined"


def _stack_inputs(code: int) -> int:
    """How many stack items an opcode needs (go-ethereum's minStack), for its stack underflow message."""
    if 0x60 <= code <= 0x7F or code in (0x5F, 0x58, 0x59, 0x5A, 0x5B, 0x00, 0xFE):
        return 0
    if 0x80 <= code <= 0x8F:
        return code - 0x7F
    if 0x90 <= code <= 0x9F:
        return code - 0x8E
    if code in LOGS:
        return code - 0xA0 + 2
    twos = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0B, 0x20, 0x52, 0x53, 0x55, 0x57, 0x5D, 0xF3, 0xFD}
    twos |= set(range(0x10, 0x15)) | {0x16, 0x17, 0x18, 0x1A, 0x1B, 0x1C, 0x1D}
    threes = {0x08, 0x09, 0x37, 0x39, 0x3E, 0x5E, 0xF0}
    ones = {0x15, 0x19, 0x1E, 0x31, 0x35, 0x3B, 0x3F, 0x40, 0x49, 0x50, 0x51, 0x54, 0x56, 0x5C, 0xFF}
    for n, group in ((2, twos), (3, threes), (1, ones)):
        if code in group:
            return n
    return {0x3C: 4, 0xF5: 4, CALL: 7, CALLCODE: 7, DELEGATECALL: 6, STATICCALL: 6}.get(code, 0)


def vm_error(err: BaseException, code: int | None = None) -> str:
    """go-ethereum's wording of an EVM error (core/vm/errors.go)."""
    text = str(err)
    if isinstance(err, Revert):
        return "execution reverted"
    if isinstance(err, OutOfGas):
        if "EIP170" in text or "code size" in text.lower():
            return "max code size exceeded"
        if "initcode" in text.lower() or "EIP3860" in text:
            return "max initcode size exceeded"
        return "out of gas"
    name = type(err).__name__
    if name == "InvalidInstruction":
        return "invalid jump destination" if "Jump" in text else f"invalid opcode: {op_name(code or 0xFE)}"
    return {
        "InvalidJumpDestination": "invalid jump destination",
        "StackDepthLimit": "max call depth exceeded",
        "InsufficientFunds": "insufficient balance for transfer",
        "WriteProtection": "write protection",
        "ContractCreationCollision": "contract address collision",
        "OutOfBoundsRead": "return data out of bounds",
        "ReservedBytesInCode": "invalid code: must not begin with 0xef",
        "InsufficientStack": "stack underflow",
        "FullStack": "stack limit reached 1024 (1023)",
    }.get(name, text or name)


class TraceTimeout(Exception):
    """Raised from inside the EVM when a trace runs past its deadline (not a VMError: py-evm lets it through)."""


# The hook layer


@dataclass
class Frame:
    """One call frame in flight, with the opcode it is executing."""

    computation: ComputationAPI
    depth: int  # go-ethereum's: 1 for the transaction's own frame
    parent: Frame | None
    kind: int  # the opcode that opened it (CALL for a transaction to an address, CREATE for a deployment)
    target: bytes | None  # the address the opening opcode named (before any EIP-7702 delegation)
    pc_after: int = 0  # the code position after the previous opcode
    op: int | None = None
    op_target: bytes | None = None
    cost: int = 0
    cost_closed: bool = False
    children: int = 0  # child frames opened so far
    children_before_op: int = 0
    child_gas: int | None = None  # what the current CALL-family opcode allots its callee, stipend included
    extra: dict[str, Any] = field(default_factory=dict)


class EVMHooks:
    """What a tracer is told; subclasses override the parts they use."""

    def __init__(self, deadline: float | None = None) -> None:
        self.frames: list[Frame] = []
        self.deadline = deadline
        self._classes: dict[type, type] = {}
        self.create_allowance: Callable[[int], int] = lambda gas: gas - gas // 64  # the fork's, once installed

    # Installing

    def computation_class(self, base: type) -> type:
        if base not in self._classes:
            self._classes[base] = _traced_class(base, self)
        return self._classes[base]

    # Called by the traced computation

    def _frame_start(self, computation: ComputationAPI) -> None:
        parent = self.frames[-1] if self.frames else None
        if parent is None:
            kind = CREATE if computation.msg.is_create else CALL
            target = computation.msg.storage_address
        else:
            kind = parent.op if parent.op is not None else CALL
            target = parent.op_target if kind in CALLS else computation.msg.storage_address
            parent.children += 1
        frame = Frame(computation, len(self.frames) + 1, parent, kind, target)
        self.frames.append(frame)
        self.frame_start(frame)

    def _frame_end(self, computation: ComputationAPI) -> None:
        for frame in reversed(self.frames):
            if frame.computation is computation:
                self.frames.remove(frame)
                self.frame_end(frame)
                return
        # A create's second report (after the code deposit), its frame already gone: let the tracer update it.
        self.frame_update(computation)

    def _op_start(self, computation: ComputationAPI, code: int) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TraceTimeout("execution timeout")
        frame = self.frames[-1]
        counter = computation.code.program_counter
        # py-evm yields one STOP past the end of the code without moving the counter; go-ethereum logs it too.
        pc = counter if counter == frame.pc_after and counter >= len(computation.code) else counter - 1
        frame.op, frame.cost, frame.cost_closed = code, 0, False
        frame.children_before_op, frame.child_gas = frame.children, None
        frame.op_target = None
        stack = computation._stack.values
        if code in CALLS and len(stack) >= 2:
            frame.op_target = _word(stack[-2])[-20:]
        self.op_start(frame, code, pc)

    def _op_end(self, computation: ComputationAPI, code: int, error: BaseException | None) -> None:
        frame = self.frames[-1]
        frame.pc_after = computation.code.program_counter
        self.op_end(frame, code, error)
        frame.op = None

    def _gas(self, computation: ComputationAPI, amount: int) -> None:
        frame = self.frames[-1] if self.frames else None
        if frame is not None and frame.computation is computation and frame.op is not None and not frame.cost_closed:
            frame.cost += amount

    def _child_allowance(self) -> None:
        self.frames[-1].cost_closed = True

    def _child_gas(self, gas: int) -> None:
        self.frames[-1].child_gas = gas

    def refund(self) -> int:
        """The transaction's refund counter now (go-ethereum's StateDB.GetRefund)."""
        return max(0, sum(f.computation.get_gas_refund() for f in self.frames))

    # For tracers

    def frame_start(self, frame: Frame) -> None:
        pass

    def frame_end(self, frame: Frame) -> None:
        pass

    def frame_update(self, computation: ComputationAPI) -> None:
        pass

    def op_start(self, frame: Frame, code: int, pc: int) -> None:
        pass

    def op_end(self, frame: Frame, code: int, error: BaseException | None) -> None:
        pass

    def log(self, frame: Frame, address: bytes, topics: tuple[int, ...], data: bytes) -> None:
        pass


def _word(value: int | bytes) -> bytes:
    return value.rjust(32, b"\x00")[-32:] if isinstance(value, bytes) else value.to_bytes(32, "big")


def _int(value: int | bytes) -> int:
    return int.from_bytes(value, "big") if isinstance(value, bytes) else value


def _traced_class(base: type, hooks: EVMHooks) -> type:
    table = {}
    for code in range(256):
        fn = base.opcodes.get(code) or InvalidOpcode(code)
        if hasattr(fn, "max_child_gas_modifier"):
            fn = _close_cost_before_child(fn, hooks)
        if hasattr(fn, "compute_msg_gas"):
            fn = _record_child_gas(fn, hooks)
        table[code] = _wrap(fn, code, hooks)

    class Traced(base):  # type: ignore[misc, valid-type]
        opcodes = table

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            hooks._frame_start(self)

        def _configure_gas_meter(self) -> Any:
            # Memory expansion charges the meter directly, not through consume_gas: watch the meter itself.
            meter = super()._configure_gas_meter()
            consume = meter.consume_gas

            def traced_consume(amount: int, reason: str) -> None:
                hooks._gas(self, amount)
                consume(amount, reason)

            meter.consume_gas = traced_consume
            return meter

        def add_log_entry(self, account: bytes, topics: tuple[int, ...], data: bytes) -> None:
            super().add_log_entry(account, topics, data)
            hooks.log(hooks.frames[-1], account, topics, data)

        @classmethod
        def apply_message(cls, *args: Any, **kwargs: Any) -> ComputationAPI:
            computation = super().apply_message(*args, **kwargs)
            hooks._frame_end(computation)
            return computation

        @classmethod
        def apply_create_message(cls, *args: Any, **kwargs: Any) -> ComputationAPI:
            computation = super().apply_create_message(*args, **kwargs)
            hooks._frame_end(computation)
            return computation

    Traced.__name__ = f"Traced{base.__name__}"
    return Traced


def _close_cost_before_child(fn: Any, hooks: EVMHooks) -> Any:
    # CREATE asks for the child's allowance right before charging it: go-ethereum does not count it as the cost.
    clone = copy.copy(fn)
    allowance = fn.max_child_gas_modifier

    def modifier(gas: int) -> int:
        hooks._child_allowance()
        child_gas = allowance(gas)
        hooks._child_gas(child_gas)
        return child_gas

    clone.max_child_gas_modifier = modifier
    hooks.create_allowance = allowance
    return clone


def _record_child_gas(fn: Any, hooks: EVMHooks) -> Any:
    # A CALL whose callee py-evm never starts (too deep, too poor) still has a frame in go-ethereum's call tree,
    # with the gas it was allotted.
    clone = copy.copy(fn)
    compute = fn.compute_msg_gas

    def recording(computation: ComputationAPI, gas: int, to: bytes, value: int) -> tuple[int, int]:
        child_gas, total = compute(computation, gas, to, value)
        hooks._child_gas(child_gas)
        return child_gas, total

    clone.compute_msg_gas = recording
    return clone


def _wrap(fn: Callable[..., None], code: int, hooks: EVMHooks) -> Callable[..., None]:
    def traced(computation: ComputationAPI) -> None:
        hooks._op_start(computation, code)
        try:
            fn(computation=computation)
        except Halt:
            hooks._op_end(computation, code, None)
            raise
        except BaseException as err:
            hooks._op_end(computation, code, err)
            raise
        hooks._op_end(computation, code, None)

    return traced


# The struct logger


@dataclass(frozen=True)
class LoggerConfig:
    enable_memory: bool = False
    disable_stack: bool = False
    disable_storage: bool = False
    enable_return_data: bool = False
    limit: int = 0


class StructLogger(EVMHooks):
    """go-ethereum's logger.StructLogger, legacy JSON: an entry per opcode, with an `error` only where the opcode
    failed before running (stack or gas checks), as go-ethereum logs them."""

    def __init__(self, config: LoggerConfig, deadline: float | None = None) -> None:
        super().__init__(deadline)
        self.config = config
        self.logs: list[dict[str, Any]] = []
        self.storage: dict[bytes, dict[bytes, bytes]] = {}
        self.size = 0

    def op_start(self, frame: Frame, code: int, pc: int) -> None:
        computation = frame.computation
        if not computation.msg.code:
            return  # go-ethereum runs no interpreter for an account without code
        cfg = self.config
        if cfg.limit and self.size > cfg.limit:
            frame.extra["entry"] = None
            return
        stack = computation._stack.values
        entry: dict[str, Any] = {
            "pc": pc,
            "op": op_name(code),
            "gas": computation.get_gas_remaining(),
            "gasCost": 0,
            "depth": frame.depth,
        }
        if not cfg.disable_stack:
            entry["stack"] = [hex(_int(v)) for v in stack]
        if cfg.enable_return_data and computation.return_data:
            entry["returnData"] = encode.d(bytes(computation.return_data))
        memory = bytes(computation._memory._bytes)
        if cfg.enable_memory and memory:
            entry["memory"] = [encode.d(memory[i : i + 32].ljust(32, b"\x00")) for i in range(0, len(memory), 32)]
        if not cfg.disable_storage and code in (SLOAD, SSTORE):
            owner = computation.msg.storage_address
            slots = self.storage.setdefault(owner, {})
            if code == SLOAD and len(stack) >= 1:
                key = _word(stack[-1])
                slots[key] = computation.state.get_storage(owner, int.from_bytes(key, "big")).to_bytes(32, "big")
                entry["storage"] = {encode.d(k): encode.d(v) for k, v in slots.items()}
            elif code == SSTORE and len(stack) >= 2:
                slots[_word(stack[-1])] = _word(stack[-2])
                entry["storage"] = {encode.d(k): encode.d(v) for k, v in slots.items()}
        refund = self.refund()
        if refund:
            entry["refund"] = refund
        frame.extra["entry"] = entry
        frame.extra["stack_len"] = len(stack)  # py-evm may have popped some before finding too few
        self.logs.append(entry)

    def op_end(self, frame: Frame, code: int, error: BaseException | None) -> None:
        entry = frame.extra.pop("entry", None)
        if entry is None:
            return
        entry["gasCost"] = frame.cost
        # Only failures of the checks made before an opcode runs carry an error in go-ethereum's log.
        if isinstance(error, OutOfGas):
            entry["error"] = vm_error(error, code)
        elif isinstance(error, InsufficientStack):
            entry["error"] = f"stack underflow ({frame.extra.get('stack_len', 0)} <=> {_stack_inputs(code)})"
        elif isinstance(error, FullStack):
            entry["error"] = "stack limit reached 1024 (1023)"
        if self.config.limit:
            self.size += len(str(entry))

    def result(self, computation: ComputationAPI, gas_used: int) -> dict[str, Any]:
        failed = computation.is_error
        output = computation.output if not failed or isinstance(computation.error, Revert) else b""
        return {"gas": gas_used, "failed": failed, "returnValue": encode.d(output), "structLogs": self.logs}


# The call tracer


class CallTracer(EVMHooks):
    """go-ethereum's native callTracer (onlyTopCall, withLog)."""

    def __init__(self, only_top_call: bool, with_log: bool, deadline: float | None = None) -> None:
        super().__init__(deadline)
        self.only_top_call = only_top_call
        self.with_log = with_log
        self.root: dict[str, Any] | None = None
        self.log_index = 0
        self._by_computation: dict[int, dict[str, Any]] = {}

    def frame_start(self, frame: Frame) -> None:
        msg = frame.computation.msg
        parent = frame.parent
        if parent is not None and (self.only_top_call or parent.extra.get("call") is None):
            return
        call: dict[str, Any] = {
            "from": to_normalized_address(parent.computation.msg.storage_address if parent else msg.sender),
            "gas": msg.gas,
            "gasUsed": 0,
            "to": to_normalized_address(frame.target) if frame.target is not None else None,
            "input": encode.d(bytes(msg.code if msg.is_create else msg.data)),
            "type": op_name(frame.kind),
        }
        if frame.kind != STATICCALL:
            call["value"] = msg.value
        frame.extra["call"] = call
        self._by_computation[id(frame.computation)] = call
        if parent is None:
            self.root = call
        else:
            parent.extra["call"].setdefault("calls", []).append(call)

    def frame_end(self, frame: Frame) -> None:
        call = frame.extra.get("call")
        if call is not None:
            self._finish(call, frame.computation, frame.kind)

    def frame_update(self, computation: ComputationAPI) -> None:
        call = self._by_computation.get(id(computation))
        if call is not None:
            self._finish(call, computation, CREATE if call["type"] in ("CREATE", "CREATE2") else CALL)

    def _finish(self, call: dict[str, Any], computation: ComputationAPI, kind: int) -> None:
        for key in ("output", "error", "revertReason"):
            call.pop(key, None)
        call["gasUsed"] = computation.msg.gas - computation.get_gas_remaining()
        if not computation.is_error:
            call["output"] = encode.d(bytes(computation.output))
            return
        error = computation.error
        call["error"] = vm_error(error)
        call["_failed"] = True
        if kind in CREATES:
            call["to"] = None
        if isinstance(error, Revert) and computation.output:
            call["output"] = encode.d(bytes(computation.output))
            reason = _revert_reason(bytes(computation.output)) if len(computation.output) >= 4 else None
            if reason is not None:
                call["revertReason"] = reason

    def op_start(self, frame: Frame, code: int, pc: int) -> None:
        if frame.extra.get("call") is None or self.only_top_call:
            return
        stack = [_int(v) for v in reversed(frame.computation._stack.values)]  # top first
        owner = frame.computation.msg.storage_address
        if code == SELFDESTRUCT and stack:
            frame.extra["selfdestruct"] = (_word(stack[0])[-20:], frame.computation.state.get_balance(owner))
        elif code in CALLS and len(stack) >= (7 if code in (CALL, CALLCODE) else 6):
            if code in (CALL, CALLCODE):
                value, offset, size = stack[2], stack[3], stack[4]
            else:
                value = frame.computation.msg.value if code == DELEGATECALL else None
                offset, size = stack[2], stack[3]
            frame.extra["attempt"] = (_word(stack[1])[-20:], value, offset, size)
        elif code in CREATES and len(stack) >= (4 if code == CREATE2 else 3):
            frame.extra["attempt"] = (None, stack[0], stack[1], stack[2])

    def op_end(self, frame: Frame, code: int, error: BaseException | None) -> None:
        attempt = frame.extra.pop("attempt", None)
        if attempt is not None and error is None and frame.children == frame.children_before_op:
            self._refused_child(frame, code, *attempt)
        pending = frame.extra.pop("selfdestruct", None)
        if pending is not None and error is None:
            beneficiary, balance = pending
            frame.extra["call"].setdefault("calls", []).append(
                {
                    "from": to_normalized_address(frame.computation.msg.storage_address),
                    "gas": 0,
                    "gasUsed": 0,
                    "to": to_normalized_address(beneficiary),
                    "input": "0x",
                    "type": "SELFDESTRUCT",
                    "value": balance,
                }
            )

    def _refused_child(
        self, frame: Frame, code: int, target: bytes | None, value: int | None, offset: int, size: int
    ) -> None:
        """The frame go-ethereum records for a call or creation that never ran: too deep, not enough balance, or
        (a creation) an address already in use, which burns the allowance."""
        computation = frame.computation
        remaining = computation.get_gas_remaining()
        if code in CREATES:
            gas = frame.child_gas if frame.cost_closed else self.create_allowance(remaining)
            used = gas if frame.cost_closed else 0
        else:
            gas, used = frame.child_gas or 0, 0
        if frame.depth > 1024:
            error = "max call depth exceeded"
        elif frame.cost_closed and code in CREATES:
            error = "contract address collision"
        else:
            error = "insufficient balance for transfer"
        data = bytes(computation._memory._bytes[offset : offset + size]) if size else b""
        call: dict[str, Any] = {
            "from": to_normalized_address(computation.msg.storage_address),
            "gas": gas,
            "gasUsed": used,
            "to": to_normalized_address(target) if target is not None else None,
            "input": encode.d(data),
            "error": error,
            "type": op_name(code),
            "_failed": True,
        }
        if value is not None:
            call["value"] = value
        frame.extra["call"].setdefault("calls", []).append(call)

    def log(self, frame: Frame, address: bytes, topics: tuple[int, ...], data: bytes) -> None:
        call = frame.extra.get("call")
        index = self.log_index
        self.log_index += 1
        if not self.with_log or call is None:
            return
        call.setdefault("logs", []).append(
            {
                "address": to_normalized_address(address),
                "topics": [encode.d(t.to_bytes(32, "big")) for t in topics],
                "data": encode.d(bytes(data)),
                "index": encode.q(index),
                "position": encode.q(len(call.get("calls", []))),
            }
        )

    def result(self, tx: SignedTransactionAPI, computation: ComputationAPI, gas_used: int) -> dict[str, Any]:
        root = self.root
        if root is None:  # nothing ran (cannot happen for a valid transaction): describe the transaction alone
            root = {"from": to_normalized_address(tx.sender), "gas": 0, "gasUsed": 0, "input": "0x", "type": "CALL"}
        root["gas"] = tx.gas
        root["gasUsed"] = gas_used
        if self.with_log:
            _clear_failed_logs(root, False)
        return _call_json(root)


def _clear_failed_logs(call: dict[str, Any], parent_failed: bool) -> None:
    failed = parent_failed or call.get("_failed", False)
    if failed:
        call.pop("logs", None)
    for child in call.get("calls", []):
        _clear_failed_logs(child, failed)


def _call_json(call: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"from": call["from"], "gas": encode.q(call["gas"]), "gasUsed": encode.q(call["gasUsed"])}
    if call.get("to") is not None:
        out["to"] = call["to"]
    out["input"] = call["input"]
    for key in ("output", "error", "revertReason"):
        if call.get(key):
            out[key] = call[key]
    if call.get("calls"):
        out["calls"] = [_call_json(c) for c in call["calls"]]
    if call.get("logs"):
        out["logs"] = call["logs"]
    if call.get("value") is not None:
        out["value"] = encode.q(call["value"])
    out["type"] = call["type"]
    return out


# Options


@dataclass(frozen=True)
class TraceConfig:
    tracer: str | None
    logger: LoggerConfig
    only_top_call: bool
    with_log: bool
    timeout_s: float


def parse_config(value: Any, index: int) -> TraceConfig:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise invalid(f"invalid argument {index}: trace config must be an object")

    def flag(key: str, source: dict[str, Any] = value) -> bool:
        got = source.get(key)
        if got is None:
            return False
        if not isinstance(got, bool):
            raise invalid(f"invalid argument {index}: {key} must be a boolean")
        return got

    limit = value.get("limit") or 0
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise invalid(f"invalid argument {index}: limit must be a non-negative integer")
    logger = LoggerConfig(
        enable_memory=flag("enableMemory"),
        disable_stack=flag("disableStack"),
        disable_storage=flag("disableStorage"),
        enable_return_data=flag("enableReturnData"),
        limit=limit,
    )
    tracer = value.get("tracer")
    if tracer is not None and not isinstance(tracer, str):
        raise invalid(f"invalid argument {index}: tracer must be a string")
    if tracer == "":
        tracer = None
    if tracer not in (None, "callTracer"):
        raise RpcError(SERVER_ERROR, "tracer not found")
    tracer_config = value.get("tracerConfig") or {}
    if not isinstance(tracer_config, dict):
        raise invalid(f"invalid argument {index}: tracerConfig must be an object")
    timeout = _duration(value.get("timeout"), index)
    return TraceConfig(tracer, logger, flag("onlyTopCall", tracer_config), flag("withLog", tracer_config), timeout)


def _duration(value: Any, index: int) -> float:
    """go-ethereum's time.ParseDuration ("5s", "1m30s", "250ms")."""
    if value is None:
        return DEFAULT_TIMEOUT_S
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    if isinstance(value, str) and DURATION.fullmatch(value):
        return sum(float(n) * units[u] for n, u in DURATION_PART.findall(value))
    raise RpcError(SERVER_ERROR, f'time: invalid duration "{value}"')


def _new_tracer(config: TraceConfig) -> StructLogger | CallTracer:
    deadline = time.monotonic() + config.timeout_s
    if config.tracer == "callTracer":
        return CallTracer(config.only_top_call, config.with_log, deadline)
    return StructLogger(config.logger, deadline)


# Re-execution


def replay(
    api: Api, header: BlockHeaderAPI, config: TraceConfig, only: int | None = None
) -> list[tuple[SignedTransactionAPI, Any]]:
    """The block's transactions run again on its parent's state, each traced (or only transaction `only`,
    the ones before it run untraced); [(transaction, trace result)]."""
    if header.block_number == 0:
        raise RpcError(SERVER_ERROR, "genesis is not traceable")
    chain = api.chain
    parent = chain.header_by_hash(header.parent_hash)
    if parent is None:
        raise RpcError(SERVER_ERROR, f"parent {encode.d(header.parent_hash)} not found")
    block = chain.block(header)
    start = header.copy(state_root=parent.state_root, gas_used=0, **_zero_blob_gas(header))
    vm = chain.chain.get_vm(start)
    vm.block_preprocessing(block)  # the beacon-root and history system calls, untraced as in go-ethereum
    state = vm.state
    plain = state.computation_class
    out = []
    running = start
    for index, tx in enumerate(block.transactions):
        if only is not None and index > only:
            break
        tracer = _new_tracer(config) if only is None or index == only else None
        state.computation_class = tracer.computation_class(plain) if tracer is not None else plain
        try:
            receipt, computation = vm.apply_transaction(running, tx)
        except TraceTimeout:
            raise RpcError(SERVER_ERROR, "execution timeout") from None
        finally:
            state.computation_class = plain
        gas_used = receipt.gas_used - running.gas_used
        running = vm.increment_blob_gas_used(vm.add_receipt_to_header(running, receipt), tx)
        if tracer is not None:
            out.append((tx, _result(tracer, tx, computation, gas_used)))
    return out


def _zero_blob_gas(header: BlockHeaderAPI) -> dict[str, int]:
    return {"blob_gas_used": 0} if getattr(header, "blob_gas_used", None) is not None else {}


def _result(tracer: StructLogger | CallTracer, tx: SignedTransactionAPI, computation: Any, gas_used: int) -> Any:
    if isinstance(tracer, CallTracer):
        return tracer.result(tx, computation, gas_used)
    return tracer.result(computation, gas_used)


# Methods


@method("debug_traceTransaction")
def trace_transaction(api: Api, params: Any) -> Any:
    tx_hash, config = positional(params, required=1, optional=1)
    tx_hash = arg(0, hash32, tx_hash)
    config = parse_config(config, 1)
    location = api.chain.transaction_location(tx_hash)
    if location is None:
        raise RpcError(SERVER_ERROR, "transaction not found")
    number, index = location
    if number == 0:
        raise RpcError(SERVER_ERROR, "genesis is not traceable")
    ((_, result),) = replay(api, api.chain.header(number), config, only=index)
    return result


def _block_results(api: Api, header: BlockHeaderAPI, config: TraceConfig) -> list[dict[str, Any]]:
    return [{"txHash": encode.d(tx.hash), "result": result} for tx, result in replay(api, header, config)]


@method("debug_traceBlockByNumber")
def trace_block_by_number(api: Api, params: Any) -> list[dict[str, Any]]:
    selector, config = positional(params, required=1, optional=1)
    if not (isinstance(selector, str) and selector in ("latest", "pending", "safe", "finalized", "earliest")):
        number = arg(0, lambda v: quantity(v, "block number"), selector)
        selector = encode.q(number)
    config = parse_config(config, 1)
    header = api.block_header(selector, allow_missing=True)
    if header is None:
        raise RpcError(SERVER_ERROR, f"block #{int(selector, 16)} not found")
    return _block_results(api, header, config)


@method("debug_traceBlockByHash")
def trace_block_by_hash(api: Api, params: Any) -> list[dict[str, Any]]:
    block_hash, config = positional(params, required=1, optional=1)
    block_hash = arg(0, hash32, block_hash)
    config = parse_config(config, 1)
    header = api.chain.header_by_hash(block_hash)
    if header is None:
        raise RpcError(SERVER_ERROR, f"block {encode.d(block_hash)} not found")
    return _block_results(api, header, config)


@method("debug_traceCall")
def trace_call(api: Api, params: Any) -> Any:
    """A call traced on the state after a block, as eth_call would run it (no state or block overrides)."""
    call, selector, config = positional(params, required=1, optional=2)
    call = arg(0, parse_call, call)
    if selector == "pending":
        raise RpcError(SERVER_ERROR, "tracing on top of pending is not supported")
    if isinstance(config, dict) and (config.get("stateOverrides") or config.get("blockOverrides")):
        raise invalid("state and block overrides are not supported by this node")
    if isinstance(config, dict) and config.get("txIndex") is not None:
        raise invalid("txIndex is not supported by this node")
    options = parse_config(
        {k: v for k, v in config.items() if k not in ("stateOverrides", "blockOverrides", "txIndex")}
        if isinstance(config, dict)
        else config,
        2,
    )
    header = api.block_header(selector if selector is not None else "latest")
    state = call_state(api, header, free=_free(call, header), free_blobs=free_blobs(call))
    tx = call_transaction(api, call, state, gas=call.get("gas", CALL_GAS_CAP))
    tracer = _new_tracer(options)
    plain = state.computation_class
    state.computation_class = tracer.computation_class(plain)
    try:
        computation = state.apply_transaction(tx)
    except TraceTimeout:
        raise RpcError(SERVER_ERROR, "execution timeout") from None
    except Exception as err:  # the call is not valid there (funds, fee cap): go-ethereum's wording
        raise RpcError(SERVER_ERROR, f"tracing failed: {err}") from None
    finally:
        state.computation_class = plain
    vm_class = api.chain.chain.get_vm_class(header)
    return _result(tracer, tx, computation, vm_class.finalize_gas_used(tx, computation))
