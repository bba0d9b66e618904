"""Withdrawals from our L2 to L1, OP Stack Bedrock's way: what `ape run withdraw` and the tests run.

    w = initiate(l2, key, target, value, gas_limit, data)     # L2: the message passer records it
    proof = proof_for(l2, oracle, w)                          # once an output on L1 covers w.l2_block
    prove(portal, key, w, proof)                              # L1: starts PROOF_MATURITY_DELAY_SECONDS
    finalize(portal, key, w)                                  # L1: once matured and the output is final
    status(portal, oracle, w)                                 # which of these is next, and from when

`l2` is web3 on the L2 node (it serves `optimism_outputAtBlock` and `eth_getProof`); `oracle` and `portal` are web3
contracts on L1 with the contracts' full ABIs (their custom errors are decoded from them); `key` signs on both
chains: anything with `address` and `sign_transaction(dict)` returning `raw_transaction`, as eth_account's keys.
The parsers (`withdrawal_from_receipt`, `output_root_proof_from`, `storage_proof_from`) take JSON-RPC results as
the node returns them, so an in-process node's answers (tests/rollup/l1) go through the same code.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

MESSAGE_PASSER = "0x4200000000000000000000000000000000000016"
INITIATE_WITHDRAWAL = keccak(b"initiateWithdrawal(address,uint256,bytes)")[:4]
MESSAGE_PASSED = keccak(b"MessagePassed(uint256,address,address,uint256,uint256,bytes,bytes32)")
WITHDRAWAL_FINALIZED = keccak(b"WithdrawalFinalized(bytes32,bool)")
SENT_MESSAGES_SLOT = 0  # L2ToL1MessagePasser.sentMessages is storage slot 0
# L1 gas above the estimate: state read by the estimate may change before the transaction is mined.
GAS_MARGIN = 1.2
RECEIPT_TIMEOUT = 120.0


class WithdrawalError(RuntimeError):
    """A withdrawal step that cannot be done (nothing was sent); the CLI prints it as one line."""


class NotCovered(WithdrawalError):
    """No output on L1 covers the withdrawal's L2 block yet: wait for the proposer."""


class WrongOutput(WithdrawalError):
    """The L1 oracle's output is not the L2's: proving against it would prove a lie, and it will be disputed."""


class Refused(WithdrawalError):
    """An L1 contract refuses the call (estimated, not sent); `error` is its custom error's name."""

    def __init__(self, error: str, fields: dict[str, Any], message: str) -> None:
        super().__init__(message)
        self.error, self.fields = error, fields


class WithdrawalTransaction(NamedTuple):
    """OP's `Types.WithdrawalTransaction`, in its field order (what proveWithdrawal and finalizeWithdrawal take)."""

    nonce: int
    sender: str
    target: str
    value: int
    gas_limit: int
    data: bytes

    @property
    def hash(self) -> bytes:
        """OP's `Hashing.hashWithdrawal`: keccak256(abi.encode(nonce, sender, target, value, gasLimit, data))."""
        types = ["uint256", "address", "address", "uint256", "uint256", "bytes"]
        return keccak(abi_encode(types, list(self)))


class OutputRootProof(NamedTuple):
    """OP's `Types.OutputRootProof`: the preimage of an output root."""

    version: bytes
    state_root: bytes
    message_passer_storage_root: bytes
    block_hash: bytes

    @property
    def root(self) -> bytes:
        return keccak(b"".join(self))


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawal as the L2 recorded it."""

    tx: WithdrawalTransaction
    withdrawal_hash: bytes  # as MessagePassed reported it (checked against tx.hash)
    l2_block: int  # the L2 block holding it: an output at or after it covers it
    l2_tx_hash: bytes


class WithdrawalProof(NamedTuple):
    """What proveWithdrawal takes besides the withdrawal."""

    output_index: int
    output_root_proof: OutputRootProof
    storage_proof: list[bytes]


class Stage(enum.Enum):
    INITIATED = "initiated"  # no output on L1 covers it yet
    PROVABLE = "provable"  # an output covers it and it has no live proof
    PROVEN = "proven"  # proven; finalizable from `finalizable_at`
    FINALIZED = "finalized"


@dataclass(frozen=True)
class Status:
    stage: Stage
    l1_time: int  # the L1 latest block's timestamp the status was read at
    output_index: int | None = None  # PROVABLE: the output to prove against; PROVEN: the one proven against
    latest_output_block: int | None = None  # INITIATED: the L2 block of the oracle's latest output (None: none)
    proven_at: int | None = None  # PROVEN: L1 time of the proof
    finalizable_at: int | None = None  # PROVEN: the first L1 time finalizeWithdrawal takes it, if undisputed
    held_by_dispute: bool = False  # PROVEN: its output's period is over but it (or an earlier one) is disputed
    proof_removed: bool = False  # PROVABLE/INITIATED: it was proven against an output since deleted or replaced

    def describe(self) -> str:
        if self.stage is Stage.FINALIZED:
            return "finalized"
        removed = " (the output it was proven against was removed: prove it again)" if self.proof_removed else ""
        if self.stage is Stage.INITIATED:
            latest = "none yet" if self.latest_output_block is None else f"L2 block {self.latest_output_block}"
            return f"waiting for an output covering it (the oracle's latest: {latest}){removed}"
        if self.stage is Stage.PROVABLE:
            return f"provable against output {self.output_index}{removed}"
        if self.held_by_dispute:
            return (
                f"proven against output {self.output_index}, which (or an earlier one) is disputed: finalizing waits"
            )
        return (
            f"proven against output {self.output_index} at L1 time {self.proven_at}; finalizable from L1 time "
            f"{self.finalizable_at}"
        )


# ---------------------------------------------------------------- L2


def initiate(l2: Any, key: Any, target: str, value: int, gas_limit: int, data: bytes = b"") -> Withdrawal:
    """Send `initiateWithdrawal(target, gas_limit, data)` with `value` wei to the L2's message passer from `key`,
    wait for its receipt and read the withdrawal from it.

    Parameters
    ----------
    l2
        web3 on the L2 node.
    key
        The L2 sender (the withdrawal's `sender`).
    target
        The L1 address the portal calls.
    value
        Wei taken from the sender on L2 and paid to `target` on L1.
    gas_limit
        The least gas the L1 call gets.
    data
        Its calldata.

    Returns
    -------
    Withdrawal
        The withdrawal, its hash and its L2 block.
    """
    call = INITIATE_WITHDRAWAL + abi_encode(["address", "uint256", "bytes"], [target, gas_limit, data])
    tx = {"from": key.address, "to": to_checksum_address(MESSAGE_PASSER), "value": value, "data": call}
    try:
        tx["gas"] = l2.eth.estimate_gas(tx)
    except Exception as err:  # the node's refusal (balance, a revert) says more than a failed transaction would
        reason = err.args[0].get("message", err) if err.args and isinstance(err.args[0], dict) else err
        raise WithdrawalError(f"the L2 refuses the withdrawal: {reason}") from None
    receipt = _send(l2, key, tx)
    if receipt["status"] != 1:
        raise WithdrawalError(f"the L2 withdrawal transaction 0x{bytes(receipt['transactionHash']).hex()} failed")
    return withdrawal_from_receipt(receipt)


def withdrawal_of(l2: Any, tx_hash: bytes) -> Withdrawal:
    """The withdrawal that L2 transaction `tx_hash` initiated; WithdrawalError when the L2 has no such (mined)
    transaction or it initiated none."""
    receipt = _rpc(l2, "eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
    if receipt is None:
        raise WithdrawalError(f"the L2 node has no mined transaction 0x{tx_hash.hex()}")
    return withdrawal_from_receipt(receipt)


def withdrawals_from_receipt(receipt: Mapping[str, Any]) -> list[Withdrawal]:
    """Every withdrawal in an L2 receipt (web3's or JSON-RPC's shape), from the message passer's MessagePassed
    logs, in log order."""
    out = []
    for log in receipt["logs"]:
        topics = [_bytes(t) for t in log["topics"]]
        if log["address"].lower() != MESSAGE_PASSER or not topics or topics[0] != MESSAGE_PASSED:
            continue
        value, gas_limit, data, withdrawal_hash = abi_decode(
            ["uint256", "uint256", "bytes", "bytes32"], _bytes(log["data"])
        )
        tx = WithdrawalTransaction(
            nonce=int.from_bytes(topics[1], "big"),
            sender=to_checksum_address(topics[2][-20:]),
            target=to_checksum_address(topics[3][-20:]),
            value=value,
            gas_limit=gas_limit,
            data=data,
        )
        if tx.hash != withdrawal_hash:  # the predeploy hashes as OP does; a mismatch is a wrong chain or code
            raise WithdrawalError(f"MessagePassed reports hash 0x{withdrawal_hash.hex()}, its fields hash to "
                                  f"0x{tx.hash.hex()}")  # fmt: skip
        out.append(Withdrawal(tx, withdrawal_hash, _int(receipt["blockNumber"]), _bytes(receipt["transactionHash"])))
    return out


def withdrawal_from_receipt(receipt: Mapping[str, Any]) -> Withdrawal:
    """The one withdrawal an L2 receipt holds (WithdrawalError for none or several)."""
    found = withdrawals_from_receipt(receipt)
    if len(found) != 1:
        what = "initiated no withdrawal" if not found else f"initiated {len(found)} withdrawals"
        raise WithdrawalError(f"L2 transaction 0x{_bytes(receipt['transactionHash']).hex()} {what}")
    return found[0]


def storage_slot(withdrawal_hash: bytes) -> bytes:
    """The message passer's slot of `sentMessages[withdrawal_hash]`, as the portal's proof check computes it."""
    return keccak(abi_encode(["bytes32", "uint256"], [withdrawal_hash, SENT_MESSAGES_SLOT]))


def output_root_proof_from(output: Mapping[str, Any]) -> OutputRootProof:
    """The preimage of an `optimism_outputAtBlock` result, checked against its `outputRoot`."""
    proof = OutputRootProof(
        _bytes(output["version"]),
        _bytes(output["stateRoot"]),
        _bytes(output["withdrawalStorageRoot"]),
        _bytes(output["blockRef"]["hash"]),
    )
    if proof.root != _bytes(output["outputRoot"]):
        raise WithdrawalError(f"the L2 node's output of block {output['blockRef']['number']} does not hash to its "
                              "own preimage")  # fmt: skip
    return proof


def storage_proof_from(account_proof: Mapping[str, Any], withdrawal: Withdrawal) -> list[bytes]:
    """The storage proof of `sentMessages[hash]` from an `eth_getProof(passer, [slot], block)` result; refuses a
    proof of another slot or one showing the withdrawal absent at that block."""
    (entry,) = account_proof["storageProof"]
    if int(_hex(entry["key"]), 16) != int.from_bytes(storage_slot(withdrawal.withdrawal_hash), "big"):
        raise WithdrawalError("eth_getProof answered for another slot")
    if int(_hex(entry["value"]), 16) != 1:
        raise WithdrawalError(f"the L2 message passer does not hold withdrawal 0x{withdrawal.withdrawal_hash.hex()} "
                              "at that block")  # fmt: skip
    return [_bytes(node) for node in entry["proof"]]


def proof_for(l2: Any, oracle: Any, withdrawal: Withdrawal, l2_block: int | None = None) -> WithdrawalProof:
    """What proving `withdrawal` needs: the first oracle output at or after `l2_block` (the withdrawal's own block
    by default), that output's preimage from the L2 and the storage proof at its block.

    Raises NotCovered when no output covers the block yet, and WrongOutput when the oracle's root is not the one
    the L2 computes for that block (that output is wrong and will be disputed; nothing can be proven against it).
    """
    block = withdrawal.l2_block if l2_block is None else l2_block
    index = _covering_output(oracle, block)
    if index is None:
        raise NotCovered(f"no output on L1 covers L2 block {block} yet (the oracle's latest: "
                         f"{_latest_output_block(oracle)})")  # fmt: skip
    root, _, output_block = oracle.functions.getL2Output(index).call()
    output = _rpc(l2, "optimism_outputAtBlock", [hex(output_block)])
    preimage = output_root_proof_from(output)
    if preimage.root != bytes(root):
        raise WrongOutput(
            f"output {index} on L1 (L2 block {output_block}) is 0x{bytes(root).hex()}, but the L2 node computes "
            f"0x{preimage.root.hex()}: the output on L1 is wrong and will be disputed (or this L2 node is not the "
            "chain the oracle settles); nothing was proven"
        )
    slot = "0x" + storage_slot(withdrawal.withdrawal_hash).hex()
    account = _rpc(l2, "eth_getProof", [MESSAGE_PASSER, [slot], hex(output_block)])
    if _bytes(account["storageHash"]) != preimage.message_passer_storage_root:
        raise WithdrawalError(f"the L2 node's eth_getProof and optimism_outputAtBlock disagree at {output_block}")
    return WithdrawalProof(index, preimage, storage_proof_from(account, withdrawal))


# ---------------------------------------------------------------- L1


def prove(portal: Any, key: Any, withdrawal: Withdrawal, proof: WithdrawalProof) -> Any:
    """Send `proveWithdrawal`; the receipt. Refused (nothing sent) when the portal would revert."""
    fn = portal.functions.proveWithdrawal(
        tuple(withdrawal.tx), proof.output_index, tuple(proof.output_root_proof), proof.storage_proof
    )
    return _transact(portal, key, fn)


def finalize(portal: Any, key: Any, withdrawal: Withdrawal) -> Any:
    """Send `finalizeWithdrawal`; the receipt. Refused (nothing sent) when the portal would revert, e.g.
    PortalProofNotMatured, PortalOutputNotFinalized or PortalAlreadyFinalized."""
    return _transact(portal, key, portal.functions.finalizeWithdrawal(tuple(withdrawal.tx)))


def call_succeeded(receipt: Mapping[str, Any], withdrawal: Withdrawal) -> bool:
    """Whether the L1 call of a finalization succeeded (its WithdrawalFinalized event); a failed one still
    finalized the withdrawal and left its value in the portal (OP's rule)."""
    for log in receipt["logs"]:
        topics = [_bytes(t) for t in log["topics"]]
        if topics[:2] == [WITHDRAWAL_FINALIZED, withdrawal.withdrawal_hash]:
            return abi_decode(["bool"], _bytes(log["data"]))[0]
    raise WithdrawalError(f"transaction 0x{_bytes(receipt['transactionHash']).hex()} finalized no withdrawal "
                          f"0x{withdrawal.withdrawal_hash.hex()}")  # fmt: skip


def status(portal: Any, oracle: Any, withdrawal: Withdrawal) -> Status:
    """Where `withdrawal` stands on L1, read at the L1's latest block."""
    now = portal.w3.eth.get_block("latest")["timestamp"]
    wh = withdrawal.withdrawal_hash
    if portal.functions.finalizedWithdrawals(wh).call():
        return Status(Stage.FINALIZED, now)
    proven_root, proven_at, proven_index = portal.functions.provenWithdrawals(wh).call()
    removed = False
    if proven_at:
        outputs = oracle.functions.nextOutputIndex().call()
        output = oracle.functions.getL2Output(proven_index).call() if proven_index < outputs else None
        if output is not None and bytes(output[0]) == bytes(proven_root):
            delay = portal.functions.PROOF_MATURITY_DELAY_SECONDS().call()
            period = oracle.functions.FINALIZATION_PERIOD_SECONDS().call()
            # Both are strict: after the delay, and after the output's period (the oracle's isFinalized).
            ready = max(proven_at + delay, output[1] + period) + 1
            held = now > output[1] + period and not oracle.functions.isFinalized(proven_index).call()
            return Status(Stage.PROVEN, now, proven_index, None, proven_at, ready, held)
        removed = True  # the portal accepts a new proof now (PortalAlreadyProven only while the output holds)
    index = _covering_output(oracle, withdrawal.l2_block)
    if index is None:
        return Status(Stage.INITIATED, now, latest_output_block=_latest_output_block(oracle), proof_removed=removed)
    return Status(Stage.PROVABLE, now, output_index=index, proof_removed=removed)


def _covering_output(oracle: Any, l2_block: int) -> int | None:
    if oracle.functions.nextOutputIndex().call() == 0 or oracle.functions.latestBlockNumber().call() < l2_block:
        return None
    return oracle.functions.getL2OutputIndexAfter(l2_block).call()


def _latest_output_block(oracle: Any) -> int | None:
    return oracle.functions.latestBlockNumber().call() if oracle.functions.nextOutputIndex().call() else None


def _transact(contract: Any, key: Any, fn: Any) -> Any:
    """Estimate (a refusal is decoded from the contract's ABI and nothing is sent), sign, send, and wait."""
    from web3.exceptions import ContractCustomError, ContractLogicError

    w3 = contract.w3
    try:
        gas = fn.estimate_gas({"from": key.address})
    except ContractCustomError as err:
        raise _refusal(contract, err.data if isinstance(err.data, str) else "") from None
    except ContractLogicError as err:
        raise Refused("", {}, f"{contract.address} refuses: {err}") from None
    tx = fn.build_transaction({"from": key.address, "gas": int(gas * GAS_MARGIN)})
    receipt = _send(w3, key, tx)
    if receipt["status"] != 1:
        raise WithdrawalError(f"transaction 0x{bytes(receipt['transactionHash']).hex()} reverted on L1")
    return receipt


def _refusal(contract: Any, data: str) -> Refused:
    raw = _bytes(data) if data else b""
    for item in contract.abi:
        if item.get("type") != "error":
            continue
        types = [_abi_type(i) for i in item["inputs"]]
        if raw[:4] == keccak(text=f"{item['name']}({','.join(types)})")[:4]:
            values = abi_decode(types, raw[4:])
            args = {i["name"]: v for i, v in zip(item["inputs"], values, strict=True)}
            shown = ", ".join(f"{k}={'0x' + v.hex() if isinstance(v, bytes) else v}" for k, v in args.items())
            return Refused(item["name"], args, f"{contract.address} refuses: {item['name']}({shown})")
    return Refused("", {}, f"{contract.address} refuses with 0x{raw.hex()}")


def _abi_type(item: Mapping[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


def _send(w3: Any, key: Any, tx: dict[str, Any]) -> Any:
    """Fill nonce, fees and chain id, sign with `key`, send, and wait for the receipt."""
    tx = dict(tx)
    tx.setdefault("nonce", w3.eth.get_transaction_count(key.address, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    if "maxFeePerGas" not in tx:
        tip = w3.eth.max_priority_fee
        tx["maxFeePerGas"] = 2 * w3.eth.get_block("latest")["baseFeePerGas"] + tip
        tx["maxPriorityFeePerGas"] = tip
    tx.pop("gasPrice", None)
    signed = key.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.1)


def _rpc(w3: Any, method: str, params: Sequence[Any]) -> Any:
    reply = w3.provider.make_request(method, list(params))
    if "error" in reply:
        raise WithdrawalError(f"the L2 node refuses {method}: {reply['error'].get('message', reply['error'])}")
    return reply["result"]


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def _bytes(value: Any) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value) if isinstance(value, str) else bytes(value)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)
