"""What the L1 contract tests share: a withdrawal made on a real in-process L2 node, with everything a relayer
reads from the L2 to prove it on L1 (the block's roots and hash, `eth_getProof` of the message passer's slot).

The L2 side runs py-evm in this process (`rollup.node.open_node` on rollup/genesis.json), not on Ape's chain, so
it is untouched by Ape's snapshots; the proofs are real go-ethereum-format proofs served by the node's JSON-RPC
methods.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

import rollup.rpc.server  # noqa: F401  (registers every method)
from rollup.node import DEFAULT_GENESIS, open_node
from rollup.rpc.api import METHODS, Api

L2_CHAIN_ID = 685686
MESSAGE_PASSER = "0x4200000000000000000000000000000000000016"
INITIATE_WITHDRAWAL = keccak(b"initiateWithdrawal(address,uint256,bytes)")[:4]
MESSAGE_PASSED = keccak(b"MessagePassed(uint256,address,address,uint256,uint256,bytes,bytes32)")
Account.enable_unaudited_hdwallet_features()
# A development account funded in rollup/genesis.json (the public mnemonic's m/44'/60'/0'/0/9).
DEV_KEY = Account.from_mnemonic(
    "test test test test test test test test test test test junk", account_path="m/44'/60'/0'/0/9"
)


@dataclass(frozen=True)
class L2Withdrawal:
    """One withdrawal as an L1 relayer sees it."""

    tx: tuple[int, str, str, int, int, bytes]  # OP's Types.WithdrawalTransaction: nonce, sender, target, value,
    # gasLimit, data (from the MessagePassed event)
    withdrawal_hash: bytes  # Hashing.hashWithdrawal(tx), as the event reports it
    l2_block: int  # the L2 block holding it (the output to propose)
    output_root_proof: tuple[bytes, bytes, bytes, bytes]  # version 0, stateRoot, passer storage root, blockHash
    storage_proof: list[bytes]  # eth_getProof(passer, [slot]).storageProof[0].proof
    later: tuple[L2Withdrawal, ...] = ()  # the same withdrawal proven at each later block asked for

    @property
    def output_root(self) -> bytes:
        """OP's output root: keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)."""
        return keccak(b"".join(self.output_root_proof))


def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def withdraw_on_l2(
    target: str, value: int, *, gas_limit: int = 100_000, data: bytes = b"", later_blocks: int = 0
) -> L2Withdrawal:
    """Start an L2 node, send `initiateWithdrawal(target, gas_limit, data)` with `value` wei from the dev key,
    and read back what proving it on L1 needs, at the block that holds it (and at `later_blocks` blocks after it,
    each sealing one plain transfer).

    Parameters
    ----------
    target
        The L1 address the withdrawal calls.
    value
        The wei withdrawn.
    gas_limit
        The least gas the L1 call must get.
    data
        The L1 calldata.
    later_blocks
        How many more blocks to seal after the withdrawal's, each proven in `later`.

    Returns
    -------
    L2Withdrawal
        The withdrawal, its block, its output root proof and its storage proof.
    """
    seq = open_node(DEFAULT_GENESIS, None, block_time=0, producing=True)
    try:
        api = Api(seq, client_version="l1-tests")
        call = INITIATE_WITHDRAWAL + abi_encode(["address", "uint256", "bytes"], [target, gas_limit, data])
        tx = dict(to=to_checksum_address(MESSAGE_PASSER), value=value, data=call, nonce=0, chainId=L2_CHAIN_ID)
        tx.update(gas=300_000, maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=10**6)
        tx_hash = seq.submit(DEV_KEY.sign_transaction(tx).raw_transaction)
        receipt = METHODS["eth_getTransactionReceipt"](api, ["0x" + tx_hash.hex()])
        assert receipt["status"] == "0x1", receipt
        (log,) = [entry for entry in receipt["logs"] if _hex(entry["topics"][0]) == MESSAGE_PASSED]
        nonce = int(log["topics"][1], 16)
        sender = to_checksum_address(log["topics"][2][-40:])
        to = to_checksum_address(log["topics"][3][-40:])
        sent_value, sent_gas, sent_data, withdrawal_hash = abi_decode(
            ["uint256", "uint256", "bytes", "bytes32"], _hex(log["data"])
        )
        first = int(receipt["blockNumber"], 16)
        for nonce_after in range(1, later_blocks + 1):
            transfer = dict(to=DEV_KEY.address, value=1, nonce=nonce_after, chainId=L2_CHAIN_ID, gas=21_000)
            transfer.update(maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=10**6)
            seq.submit(DEV_KEY.sign_transaction(transfer).raw_transaction)
        slot = "0x" + keccak(abi_encode(["bytes32", "uint256"], [withdrawal_hash, 0])).hex()
        proven = []
        for number in range(first, first + later_blocks + 1):
            block = METHODS["eth_getBlockByNumber"](api, [hex(number), False])
            proof = METHODS["eth_getProof"](api, [MESSAGE_PASSER, [slot], hex(number)])
            assert int(proof["storageProof"][0]["value"], 16) == 1  # sentMessages[hash] == true
            roots = (b"\x00" * 32, _hex(block["stateRoot"]), _hex(proof["storageHash"]), _hex(block["hash"]))
            proven.append(
                L2Withdrawal(
                    tx=(nonce, sender, to, sent_value, sent_gas, sent_data),
                    withdrawal_hash=withdrawal_hash,
                    l2_block=number,
                    output_root_proof=roots,
                    storage_proof=[_hex(node) for node in proof["storageProof"][0]["proof"]],
                )
            )
        return replace(proven[0], later=tuple(proven[1:]))
    finally:
        seq.chain.store.close()


def deposit_fields(opaque: bytes) -> dict[str, Any]:
    """OP's TransactionDeposited version-0 opaque data: mint (32), value (32), gasLimit (8), isCreation (1), data."""
    return {
        "mint": int.from_bytes(opaque[0:32], "big"),
        "value": int.from_bytes(opaque[32:64], "big"),
        "gas_limit": int.from_bytes(opaque[64:72], "big"),
        "is_creation": opaque[72] == 1,
        "data": opaque[73:],
    }


def apply_alias(address: str) -> str:
    """OP's AddressAliasHelper.applyL1ToL2Alias: address + 0x1111000000000000000000000000000000001111 mod 2**160."""
    offset = 0x1111000000000000000000000000000000001111
    return to_checksum_address(((int(address, 16) + offset) % 2**160).to_bytes(20, "big"))
