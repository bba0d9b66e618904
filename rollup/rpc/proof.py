"""eth_getProof (EIP-1186) and eth_getStorageValues: state read straight from the tries a block's header commits to,
so that whoever holds only the state root (an L1 contract proving a withdrawal) can check what we answer.

A proof is go-ethereum's: the RLP of every trie node on the path from the root towards keccak(key) that is stored
by its hash (the root always; a node under 32 bytes lives inside its parent and is not repeated), ending at the leaf
or at the node that shows the key is absent."""

from __future__ import annotations

from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth.rlp.accounts import Account
from eth_hash.auto import keccak
from eth_utils import to_normalized_address

from rollup.rpc import encode
from rollup.rpc.api import Api, method
from rollup.rpc.params import RpcError, address, arg, hash32, invalid, positional

MAX_PROOF_KEYS = 1024  # go-ethereum's maxGetProofKeys
MAX_STORAGE_SLOTS = 1024  # go-ethereum's maxGetStorageSlots
CLIENT_LIMIT_EXCEEDED = -38026
ZERO_HASH = b"\x00" * 32


def _nibbles(key: bytes) -> list[int]:
    out = []
    for byte in key:
        out += (byte >> 4, byte & 0x0F)
    return out


def _compact(path: bytes) -> tuple[list[int], bool]:
    """A leaf's or extension's hex-prefix path as nibbles, and whether the node is a leaf."""
    nibbles = _nibbles(path)
    flag = nibbles[0]
    return nibbles[1 if flag & 1 else 2 :], bool(flag & 2)


def prove(db: Any, root: bytes, key: bytes) -> tuple[list[bytes], bytes | None]:
    """(proof nodes, value) for `key` (already hashed) in the trie under `root`; value None when absent."""
    if root == BLANK_ROOT_HASH:
        return [], None
    path = _nibbles(key)
    proof: list[bytes] = []
    ref: Any = root
    while True:
        if isinstance(ref, bytes):
            if ref == b"":
                return proof, None
            raw = db[ref]
            proof.append(raw)
            node = rlp.decode(raw)
        else:
            node = ref  # embedded in its parent, already in the proof
        if len(node) == 17:
            if not path:
                return proof, node[16] or None
            ref, path = node[path[0]], path[1:]
        elif len(node) == 2:
            nibbles, leaf = _compact(node[0])
            if leaf:
                return proof, (node[1] if nibbles == path else None)
            if path[: len(nibbles)] != nibbles:
                return proof, None
            ref, path = node[1], path[len(nibbles) :]
        else:
            raise RpcError(-32000, f"malformed trie node under root 0x{root.hex()}")


def _storage_key(value: Any) -> tuple[bytes, int]:
    # go-ethereum's decodeStorageKey: up to 32 bytes of hex, odd lengths padded, returned with the input length.
    if not isinstance(value, str):
        raise invalid(f"invalid argument 1: storage key must be a hex string, got {value!r}")
    digits = value[2:] if value.startswith(("0x", "0X")) else value
    if len(digits) % 2:
        digits = "0" + digits
    if len(digits) > 64:
        raise invalid(f'storage key too long (want at most 32 bytes): "{value}"')
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise invalid(f'invalid hex in storage key: "{value}"') from None
    return raw.rjust(32, b"\x00"), len(raw)


@method("eth_getProof")
def get_proof(api: Api, params: Any) -> dict[str, Any]:
    who, keys, selector = positional(params, required=2, optional=1)
    who = arg(0, address, who)
    if not isinstance(keys, list):
        raise invalid("invalid argument 1: storage keys must be an array of hex strings")
    if len(keys) > MAX_PROOF_KEYS:
        raise invalid(f"too many storage keys requested (max {MAX_PROOF_KEYS}, got {len(keys)})")
    slots = [_storage_key(k) for k in keys]  # all parsed before any state is read, as go-ethereum does
    header = api.block_header(selector if selector is not None else "latest")
    db = api.chain.chain.chaindb.db
    account_proof, raw_account = prove(db, header.state_root, keccak(who))
    if raw_account is None:
        # go-ethereum reports a missing account with zero hashes, not the empty-trie and empty-code hashes.
        nonce = balance = 0
        storage_root = code_hash = ZERO_HASH
    else:
        account = rlp.decode(raw_account, sedes=Account)
        nonce, balance, storage_root, code_hash = (
            account.nonce,
            account.balance,
            account.storage_root,
            account.code_hash,
        )
    storage_proof = []
    for slot, length in slots:
        # The key comes back as given when it was 32 bytes, as a quantity otherwise (go-ethereum's compatibility).
        shown = encode.d(slot) if length == 32 else encode.q(int.from_bytes(slot, "big"))
        if storage_root in (BLANK_ROOT_HASH, ZERO_HASH):
            storage_proof.append({"key": shown, "value": "0x0", "proof": []})
            continue
        proof, raw_value = prove(db, storage_root, keccak(slot))
        value = rlp.decode(raw_value, sedes=rlp.sedes.big_endian_int) if raw_value is not None else 0
        storage_proof.append({"key": shown, "value": encode.q(value), "proof": [encode.d(n) for n in proof]})
    return {
        "address": to_normalized_address(who),
        "accountProof": [encode.d(n) for n in account_proof],
        "balance": encode.q(balance),
        "codeHash": encode.d(code_hash),
        "nonce": encode.q(nonce),
        "storageHash": encode.d(storage_root),
        "storageProof": storage_proof,
    }


def _storage_requests(value: Any) -> dict[bytes, list[bytes]]:
    if not isinstance(value, dict):
        raise invalid("invalid argument 0: want an object of address -> array of storage slots")
    out: dict[bytes, list[bytes]] = {}
    total = 0
    for who, slots in value.items():
        if not isinstance(slots, list):
            raise invalid(f"invalid argument 0: storage slots of {who} must be an array")
        total += len(slots)
        if total > MAX_STORAGE_SLOTS:
            raise RpcError(CLIENT_LIMIT_EXCEEDED, f"too many slots (max {MAX_STORAGE_SLOTS})")
        out[arg(0, address, who)] = [arg(0, lambda v: hash32(v, "storage slot"), s) for s in slots]
    if total == 0:
        raise invalid("empty request")
    return out


@method("eth_getStorageValues")
def get_storage_values(api: Api, params: Any) -> dict[str, list[str]]:
    requests, selector = positional(params, required=1, optional=1)
    requests = _storage_requests(requests)
    header = api.block_header(selector if selector is not None else "latest")
    state = api.chain.state(header)
    return {
        to_normalized_address(who): [
            encode.d(state.get_storage(who, int.from_bytes(slot, "big")).to_bytes(32, "big")) for slot in slots
        ]
        for who, slots in requests.items()
    }
