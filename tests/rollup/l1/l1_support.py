"""What the L1 contract tests share: a withdrawal made on a real in-process L2 node, with everything a relayer
reads from the L2 to prove it on L1 (the block's roots and hash, `eth_getProof` of the message passer's slot).

The L2 side runs py-evm in this process (`rollup.node.open_node` on rollup/genesis.json), not on Ape's chain, so
it is untouched by Ape's snapshots; the proofs are real go-ethereum-format proofs served by the node's JSON-RPC
methods.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import to_checksum_address

import rollup.rpc.server  # noqa: F401  (registers every method)
from rollup.node import DEFAULT_GENESIS, open_node
from rollup.rpc.api import METHODS, Api
from rollup.withdraw import (
    INITIATE_WITHDRAWAL,
    MESSAGE_PASSER,
    OutputRootProof,
    WithdrawalTransaction,
    output_root_proof_from,
    storage_proof_from,
    storage_slot,
    withdrawal_from_receipt,
)

L2_CHAIN_ID = 685686
Account.enable_unaudited_hdwallet_features()
# A development account funded in rollup/genesis.json (the public mnemonic's m/44'/60'/0'/0/9).
DEV_KEY = Account.from_mnemonic(
    "test test test test test test test test test test test junk", account_path="m/44'/60'/0'/0/9"
)


@dataclass(frozen=True)
class L2Withdrawal:
    """One withdrawal as an L1 relayer sees it (rollup/withdraw.py's pieces, proven at one block)."""

    tx: WithdrawalTransaction  # OP's Types.WithdrawalTransaction, from the MessagePassed event
    withdrawal_hash: bytes  # Hashing.hashWithdrawal(tx), as the event reports it
    l2_block: int  # the L2 block holding it (the output to propose)
    output_root_proof: OutputRootProof  # version 0, stateRoot, passer storage root, blockHash
    storage_proof: list[bytes]  # eth_getProof(passer, [slot]).storageProof[0].proof
    later: tuple[L2Withdrawal, ...] = ()  # the same withdrawal proven at each later block asked for

    @property
    def output_root(self) -> bytes:
        """OP's output root: keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)."""
        return self.output_root_proof.root


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
        withdrawal = withdrawal_from_receipt(receipt)
        for nonce_after in range(1, later_blocks + 1):
            transfer = dict(to=DEV_KEY.address, value=1, nonce=nonce_after, chainId=L2_CHAIN_ID, gas=21_000)
            transfer.update(maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=10**6)
            seq.submit(DEV_KEY.sign_transaction(transfer).raw_transaction)
        slot = "0x" + storage_slot(withdrawal.withdrawal_hash).hex()
        proven = []
        for number in range(withdrawal.l2_block, withdrawal.l2_block + later_blocks + 1):
            output = METHODS["optimism_outputAtBlock"](api, [hex(number)])
            proof = METHODS["eth_getProof"](api, [MESSAGE_PASSER, [slot], hex(number)])
            proven.append(
                L2Withdrawal(
                    tx=withdrawal.tx,
                    withdrawal_hash=withdrawal.withdrawal_hash,
                    l2_block=number,
                    output_root_proof=output_root_proof_from(output),
                    storage_proof=storage_proof_from(proof, withdrawal),
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
