"""eth_config (EIP-7910: the fork rules in force now, next and last, as a client can check them against its own) and
eth_capabilities (what history this node can serve: all of it, it keeps every block, receipt and state)."""

from __future__ import annotations

import zlib
from typing import Any

from eth.abc import VirtualMachineAPI
from eth.vm import forks

from rollup.rpc import encode
from rollup.rpc.api import Api, method
from rollup.rpc.params import positional

# go-ethereum's precompile names (vm.PrecompiledContract.Name), by address.
PRECOMPILE_NAMES = {
    1: "ECREC",
    2: "SHA256",
    3: "RIPEMD160",
    4: "ID",
    5: "MODEXP",
    6: "BN254_ADD",
    7: "BN254_MUL",
    8: "BN254_PAIRING",
    9: "BLAKE2F",
    10: "KZG_POINT_EVALUATION",
    11: "BLS12_G1ADD",
    12: "BLS12_G1MSM",
    13: "BLS12_G2ADD",
    14: "BLS12_G2MSM",
    15: "BLS12_PAIRING_CHECK",
    16: "BLS12_MAP_FP_TO_G1",
    17: "BLS12_MAP_FP2_TO_G2",
}
BEACON_ROOTS = "0x000f3df6d732807ef1319fb7b8bb8522d0beac02"  # EIP-4788
HISTORY_STORAGE = "0x0000f90827f1c53a10cb7a02335b175320002935"  # EIP-2935
WITHDRAWAL_REQUESTS = "0x00000961ef480eb55e80d19ad83579a64c007002"  # EIP-7002
CONSOLIDATION_REQUESTS = "0x0000bbddc7ce488642fb579f8b00f3a590007251"  # EIP-7251
# The blob schedule py-evm executes for each fork (EIP-4844, EIP-7691), under the genesis's blobSchedule key.
BLOB_SCHEDULE = {
    "cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477},
    "prague": {"target": 6, "max": 9, "baseFeeUpdateFraction": 5007716},
}


def fork_id(api: Api, time: int) -> bytes:
    """EIP-2124's fork hash with every block fork passed and the time forks up to `time`: CRC32 of the genesis
    hash, updated with each distinct fork block and time (8 bytes big-endian) in order, those at genesis skipped.
    The block forks are every `...Block` key of the config, as go-ethereum gathers them."""
    genesis = api.chain.genesis
    checksum = zlib.crc32(api.chain.genesis_header.hash)
    blocks = sorted({_number(v) for k, v in genesis.config.items() if k.endswith("Block") and v is not None})
    times = sorted({at for at, _ in genesis.time_forks if at > genesis.header["timestamp"]})
    for fork in [b for b in blocks if b > 0] + [t for t in times if t <= time]:
        checksum = zlib.crc32(fork.to_bytes(8, "big"), checksum)
    return checksum.to_bytes(4, "big")


def _number(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


def _blob_schedule(api: Api, vm: type[VirtualMachineAPI]) -> dict[str, int] | None:
    schedule = api.chain.genesis.config.get("blobSchedule")
    # A fork without its own entry keeps the one before it (go-ethereum's BlobConfig); without any blobSchedule
    # the values py-evm executes are the ones in force.
    for fork, cls in (("prague", forks.PragueVM), ("cancun", forks.CancunVM)):
        if issubclass(vm, cls):
            if schedule is None:
                return BLOB_SCHEDULE[fork]
            if schedule.get(fork) is not None:
                return schedule[fork]
    return None


def _assemble(api: Api, index: int) -> dict[str, Any]:
    genesis = api.chain.genesis
    at, vm = genesis.time_forks[index]
    computation = vm.get_state_class().computation_class
    numbers = sorted(int.from_bytes(a, "big") for a in computation._precompiles)
    precompiles = {PRECOMPILE_NAMES[n]: encode.addr(n.to_bytes(20, "big")) for n in numbers if n in PRECOMPILE_NAMES}
    system: dict[str, str] = {}
    if issubclass(vm, forks.CancunVM):
        system["BEACON_ROOTS_ADDRESS"] = BEACON_ROOTS
    if issubclass(vm, forks.PragueVM):
        system["CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS"] = CONSOLIDATION_REQUESTS
        system["DEPOSIT_CONTRACT_ADDRESS"] = (genesis.config.get("depositContractAddress") or "0x" + "00" * 20).lower()
        system["HISTORY_STORAGE_ADDRESS"] = HISTORY_STORAGE
        system["WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS"] = WITHDRAWAL_REQUESTS
    return {
        "activationTime": 0 if genesis.header["timestamp"] >= at else at,
        "blobSchedule": _blob_schedule(api, vm),
        "chainId": encode.q(genesis.chain_id),
        "forkId": encode.d(fork_id(api, at)),
        "precompiles": precompiles,
        "systemContracts": system,
    }


@method("eth_config")
def eth_config(api: Api, params: Any) -> dict[str, Any]:
    """go-ethereum's answer: `current` is the latest timestamped fork at the head's time (null before the first,
    the block-numbered forks having no activation time), `next` the one after it, `last` the final one scheduled
    (null, as `next`, when nothing is scheduled after `current`)."""
    positional(params, required=0)
    time_forks = api.chain.genesis.time_forks
    now = api.chain.head.timestamp
    passed = [i for i, (at, _) in enumerate(time_forks) if at <= now]
    current = passed[-1] if passed else None
    following = current + 1 if current is not None else 0
    has_next = following < len(time_forks)
    return {
        "current": _assemble(api, current) if current is not None else None,
        "next": _assemble(api, following) if has_next else None,
        "last": _assemble(api, len(time_forks) - 1) if has_next else None,
    }


@method("eth_capabilities")
def eth_capabilities(api: Api, params: Any) -> dict[str, Any]:
    positional(params, required=0)
    head = api.chain.head
    # An archive of everything since genesis, nothing pruned: every resource reaches back to block 0 and has no
    # deletion window.
    full = {"disabled": False, "oldestBlock": "0x0"}
    return {
        "head": {"number": encode.q(head.block_number), "hash": encode.d(head.hash)},
        "state": dict(full),
        "tx": dict(full),
        "logs": dict(full),
        "receipts": dict(full),
        "blocks": dict(full),
        "stateproofs": dict(full),
    }
