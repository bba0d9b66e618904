"""OP Stack output roots: what the proposer posts to L1 and the verifier recomputes.

    output_root = keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash),   version = bytes32(0)

The message passer's storage root is what a withdrawal's storage proof is checked against on L1, so the output
root commits the L2 state, the withdrawals initiated up to the block, and the block itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth.abc import BlockHeaderAPI
from eth.constants import BLANK_ROOT_HASH
from eth.rlp.accounts import Account
from eth_hash.auto import keccak
from trie import HexaryTrie

from rollup.chain import L2Chain

OUTPUT_VERSION = b"\x00" * 32
MESSAGE_PASSER = bytes.fromhex("4200000000000000000000000000000000000016")


@dataclass(frozen=True)
class Output:
    block_number: int
    block_hash: bytes
    state_root: bytes
    message_passer_storage_root: bytes

    @property
    def root(self) -> bytes:
        return output_root(self.state_root, self.message_passer_storage_root, self.block_hash)


def output_root(state_root: bytes, message_passer_storage_root: bytes, block_hash: bytes) -> bytes:
    for name, value in (
        ("state root", state_root),
        ("storage root", message_passer_storage_root),
        ("hash", block_hash),
    ):
        if len(value) != 32:
            raise ValueError(f"{name} must be 32 bytes, got {len(value)}")
    return keccak(OUTPUT_VERSION + state_root + message_passer_storage_root + block_hash)


def storage_root(chain: L2Chain, header: BlockHeaderAPI, address: bytes) -> bytes:
    """The storage root of `address` in the state after `header`'s block (the empty trie's root if it has none)."""
    raw = HexaryTrie(chain.chain.chaindb.db, header.state_root).get(keccak(address))
    return rlp.decode(raw, sedes=Account).storage_root if raw else BLANK_ROOT_HASH


def output_at(chain: L2Chain, header: BlockHeaderAPI) -> Output:
    return Output(header.block_number, header.hash, header.state_root, storage_root(chain, header, MESSAGE_PASSER))
