"""Output roots (rollup/output.py, optimism_outputAtBlock): OP's formula over the block's state root, the message
passer's storage root and the block hash, and a withdrawal's storage proof verifying against that storage root.

Run: `.venv/bin/ape test tests/rollup/test_output.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import pytest
import rlp
from eth.constants import BLANK_ROOT_HASH
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from node_support import CHAIN_ID, KEYS
from trie import HexaryTrie

import rollup.rpc.server  # noqa: F401  (registers every method)
from rollup.node import DEFAULT_GENESIS, open_node
from rollup.output import MESSAGE_PASSER, output_at, output_root
from rollup.rpc.api import METHODS, Api
from rollup.rpc.params import RpcError

INITIATE = keccak(b"initiateWithdrawal(address,uint256,bytes)")[:4]


def _withdraw(seq, key, nonce: int, value: int) -> None:
    data = INITIATE + abi_encode(["address", "uint256", "bytes"], [key.address, 100_000, b"hi"])
    tx = dict(to=to_checksum_address(MESSAGE_PASSER), value=value, data=data, nonce=nonce, chainId=CHAIN_ID)
    tx.update(gas=200_000, maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=10**6)
    seq.submit(key.sign_transaction(tx).raw_transaction)


def test_an_output_commits_to_the_withdrawals_and_a_storage_proof_verifies_against_it():
    seq = open_node(DEFAULT_GENESIS, None, block_time=0, producing=True)
    api = Api(seq, client_version="test")
    genesis_output = output_at(seq.chain, seq.chain.head)
    assert genesis_output.message_passer_storage_root == BLANK_ROOT_HASH  # no withdrawal yet
    _withdraw(seq, KEYS[0], 0, 10**15)
    head = seq.chain.head
    reply = METHODS["optimism_outputAtBlock"](api, [hex(head.block_number)])
    proof = METHODS["eth_getProof"](api, ["0x" + MESSAGE_PASSER.hex(), [], hex(head.block_number)])
    passer_root = bytes.fromhex(reply["withdrawalStorageRoot"][2:])
    assert reply["withdrawalStorageRoot"] == proof["storageHash"] and passer_root != BLANK_ROOT_HASH
    assert reply["outputRoot"] == "0x" + output_root(head.state_root, passer_root, head.hash).hex()
    assert reply["outputRoot"] == "0x" + keccak(b"\x00" * 32 + head.state_root + passer_root + head.hash).hex()

    # The withdrawal's slot, sentMessages[hash] in slot 0, proves against the output's storage root.
    nonce = 1 << 240  # version 1, first message
    types = ["uint256", "address", "address", "uint256", "uint256", "bytes"]
    withdrawal = keccak(abi_encode(types, [nonce, KEYS[0].address, KEYS[0].address, 10**15, 100_000, b"hi"]))
    slot = keccak(withdrawal + b"\x00" * 32)
    storage = METHODS["eth_getProof"](api, ["0x" + MESSAGE_PASSER.hex(), ["0x" + slot.hex()], hex(head.block_number)])
    nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in storage["storageProof"][0]["proof"]]
    assert HexaryTrie.get_from_proof(passer_root, keccak(slot), nodes) == b"\x01"  # RLP of 1

    # A later withdrawal changes the root; the earlier block's output stays what it was.
    _withdraw(seq, KEYS[0], 1, 1)
    assert output_at(seq.chain, head).root == bytes.fromhex(reply["outputRoot"][2:])
    assert output_at(seq.chain, seq.chain.head).root != output_at(seq.chain, head).root


def test_an_output_of_a_block_that_does_not_exist_is_an_error():
    api = Api(open_node(DEFAULT_GENESIS, None, block_time=0, producing=True), client_version="test")
    with pytest.raises(RpcError, match="header not found"):
        METHODS["optimism_outputAtBlock"](api, ["0x5"])
    with pytest.raises(RpcError) as bad:
        METHODS["optimism_outputAtBlock"](api, ["five"])
    assert bad.value.code == -32602
