"""A chain from a go-ethereum `genesis.json`, executed by py-evm: the fork schedule, the genesis block and state, and
the import of RLP-concatenated blocks (`chain.rlp`, what `geth export` writes and hive's clients import).

    genesis = Genesis.load("genesis.json")
    chain = genesis.import_blocks(Path("chain.rlp").read_bytes())     # a py-evm Chain on an in-memory database
    chain.get_canonical_head()                                         # the last block, every one re-executed

Forks are go-ethereum's config keys: the block-numbered ones (`homesteadBlock` ... `grayGlacierBlock`, the merge at
`mergeNetsplitBlock`, or at genesis when `terminalTotalDifficulty` is 0) and the timestamped ones (`shanghaiTime`,
`cancunTime`, `pragueTime`). py-evm chooses a block's rules by its number, so a timestamped fork is placed at the
first block whose timestamp reaches it: the blocks to import say where. Proof-of-work seals before the merge are not
checked (this node never mines proof of work; every other rule of every block is, state root included).

Run its tests with `.venv/bin/ape test tests/rollup -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth.abc import ChainAPI, VirtualMachineAPI
from eth.chains.base import Chain
from eth.consensus.noproof import NoProofConsensus
from eth.db.atomic import AtomicDB
from eth.vm import forks
from eth_utils import decode_hex, to_canonical_address
from rlp.codec import consume_item

# go-ethereum's block-numbered forks in order, and the py-evm rules from each on.
BLOCK_FORKS: tuple[tuple[str, type[VirtualMachineAPI]], ...] = (
    ("homesteadBlock", forks.HomesteadVM),
    ("eip150Block", forks.TangerineWhistleVM),
    ("eip158Block", forks.SpuriousDragonVM),
    ("byzantiumBlock", forks.ByzantiumVM),
    ("constantinopleBlock", forks.ConstantinopleVM),
    ("petersburgBlock", forks.PetersburgVM),
    ("istanbulBlock", forks.IstanbulVM),
    ("muirGlacierBlock", forks.MuirGlacierVM),
    ("berlinBlock", forks.BerlinVM),
    ("londonBlock", forks.LondonVM),
    ("arrowGlacierBlock", forks.ArrowGlacierVM),
    ("grayGlacierBlock", forks.GrayGlacierVM),
    ("mergeNetsplitBlock", forks.ParisVM),
)
# The timestamped forks after the merge, in order.
TIME_FORKS: tuple[tuple[str, type[VirtualMachineAPI]], ...] = (
    ("shanghaiTime", forks.ShanghaiVM),
    ("cancunTime", forks.CancunVM),
    ("pragueTime", forks.PragueVM),
)
MERGE_FORK = "mergeNetsplitBlock"
# Header fields of an RLP block header, by position (the same in every fork): where number and timestamp sit.
_NUMBER, _TIMESTAMP = 8, 11


class GenesisError(ValueError):
    """A genesis.json this node cannot run: a missing or malformed field, forks out of order, an unknown fork."""


class ChainFileError(ValueError):
    """Bytes that are not RLP-concatenated blocks, or a block the chain refuses (its reason follows)."""


def _quantity(raw: dict[str, Any], key: str, *, default: int | None = None, where: str = "genesis") -> int:
    value = raw.get(key)
    if value is None:
        if default is None:
            raise GenesisError(f"{where}: {key} is missing")
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GenesisError(f"{where}: {key} must be a number or a 0x quantity, not {value!r}")
    try:
        out = int(value, 16) if isinstance(value, str) and value.startswith("0x") else int(value)
    except ValueError:
        raise GenesisError(f"{where}: {key} is not a number: {value!r}") from None
    if out < 0:
        raise GenesisError(f"{where}: {key} is negative")
    return out


def _data(raw: dict[str, Any], key: str, *, size: int | None = None, default: str = "0x") -> bytes:
    value = raw.get(key, default)
    try:
        out = decode_hex(value) if isinstance(value, str) and value.startswith("0x") else None
    except ValueError:
        out = None
    if out is None or (size is not None and len(out) != size):
        want = f"{size} bytes" if size is not None else "hex data"
        raise GenesisError(f"genesis: {key} must be 0x-prefixed {want}, not {value!r}")
    return out


@dataclass(frozen=True)
class Genesis:
    """A parsed genesis.json: the chain id, the fork schedule, the genesis header fields and the allocation."""

    chain_id: int
    block_forks: tuple[tuple[int, type[VirtualMachineAPI]], ...]  # (first block, rules), ascending
    time_forks: tuple[tuple[int, type[VirtualMachineAPI]], ...]  # (first timestamp, rules), ascending
    header: dict[str, Any]  # py-evm genesis params
    alloc: dict[bytes, dict[str, Any]] = field(repr=False)  # py-evm genesis state
    # The config object as written (read-only by convention): eth_config reports fork blocks, the blob schedule
    # and the deposit contract from it.
    config: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path) -> Genesis:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise GenesisError(f"{path}: {err}") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Any) -> Genesis:
        if not isinstance(raw, dict) or not isinstance(raw.get("config"), dict):
            raise GenesisError("genesis: a JSON object with a config object is needed")
        config = raw["config"]
        chain_id = _quantity(config, "chainId", where="genesis config")
        if chain_id == 0:
            raise GenesisError("genesis config: chainId must not be 0")
        block_forks = _block_forks(config)
        time_forks = _time_forks(config, merged=any(vm is forks.ParisVM for _, vm in block_forks))
        header = {
            "coinbase": _address(raw.get("coinbase", "0x" + "00" * 20), "coinbase"),
            "difficulty": _quantity(raw, "difficulty", default=0),
            "gas_limit": _quantity(raw, "gasLimit"),
            "timestamp": _quantity(raw, "timestamp", default=0),
            "extra_data": _data(raw, "extraData"),
            "mix_hash": _data(raw, "mixHash", size=32, default="0x" + "00" * 32),
            "nonce": _quantity(raw, "nonce", default=0).to_bytes(8, "big"),
        }
        if raw.get("baseFeePerGas") is not None:  # only meaningful when London rules hold at genesis
            header["base_fee_per_gas"] = _quantity(raw, "baseFeePerGas")
        if _quantity(raw, "number", default=0) != 0:
            raise GenesisError("genesis: number must be 0")
        if not isinstance(raw.get("alloc", {}), dict):
            raise GenesisError("genesis: alloc must be an object of address -> account")
        alloc = {_address(a, "alloc address"): _account(a, acct) for a, acct in raw.get("alloc", {}).items()}
        _check_optimism(config)
        return cls(chain_id, block_forks, time_forks, header, alloc, config=dict(config))

    @property
    def optimism(self) -> dict[str, Any] | None:
        """The config's `optimism` object (OP Stack genesis files have one): the chain takes deposit transactions
        (rollup/deposits.py) from Prague on. None for a plain Ethereum chain."""
        return self.config.get("optimism")

    def chain_class(self, time_fork_blocks: Sequence[int] | None = None) -> type[ChainAPI]:
        """A py-evm Chain with this schedule; `time_fork_blocks[i]` is the first block of time fork i (the ones
        not given start after every block there is, i.e. not yet; by default the forks due at genesis start at
        block 0)."""
        if time_fork_blocks is None:
            time_fork_blocks = self.time_fork_blocks(())
        schedule = list(self.block_forks)
        for (_, vm), block in zip(self.time_forks, time_fork_blocks, strict=False):
            schedule.append((block, vm))
        vms: dict[int, type[VirtualMachineAPI]] = {}
        for block, vm in schedule:  # a later fork at the same block wins (both at genesis: the newest rules)
            vms[block] = vm
        ordered = sorted(vms.items())
        if ordered[0][0] != 0:
            ordered.insert(0, (0, forks.FrontierVM))
        if self.optimism is not None:
            from rollup.deposits import RollupPragueVM

            ordered = [(block, RollupPragueVM if vm is forks.PragueVM else vm) for block, vm in ordered]
        configured = tuple((block, _configure(vm)) for block, vm in ordered)
        return Chain.configure(__name__="GenesisChain", vm_configuration=configured, chain_id=self.chain_id)

    def build(self, db: Any = None, *, time_fork_blocks: Sequence[int] | None = None) -> ChainAPI:
        """The chain at its genesis block on `db` (default: a fresh in-memory database)."""
        cls = self.chain_class(time_fork_blocks)
        header = dict(self.header)
        if not issubclass(cls.get_vm_class_for_block_number(0), forks.LondonVM):
            header.pop("base_fee_per_gas", None)  # go-ethereum ignores it too before London
        return cls.from_genesis(db if db is not None else AtomicDB(), header, dict(self.alloc))

    def time_fork_blocks(self, headers: Sequence[tuple[int, int]]) -> list[int]:
        """Where each timestamped fork starts, from (number, timestamp) of the blocks to import (in order)."""
        genesis_time = self.header["timestamp"]
        out = []
        for at, _ in self.time_forks:
            if genesis_time >= at:
                out.append(0)
                continue
            first = next((number for number, ts in headers if ts >= at), None)
            if first is None:
                break
            out.append(first)
        return out

    def import_blocks(self, data: bytes, db: Any = None) -> ChainAPI:
        """The chain after importing every block of `data` (RLP-concatenated, from block 1 on), each one
        re-executed and checked (header, transactions, receipts, state root); ChainFileError on the first it
        refuses."""
        raws = split_blocks(data)
        headers = [_number_and_time(item) for _, item in raws]
        chain = self.build(db, time_fork_blocks=self.time_fork_blocks(headers))
        for (raw, _), (number, _) in zip(raws, headers, strict=True):
            block_class = chain.get_vm_class_for_block_number(number).get_block_class()
            try:
                block = rlp.decode(raw, sedes=block_class)
                chain.import_block(block)
            except Exception as err:  # py-evm's ValidationError and rlp's DecodingError alike: the block is bad
                raise ChainFileError(f"block {number}: {type(err).__name__}: {err}") from None
        return chain


def split_blocks(data: bytes) -> list[tuple[bytes, Any]]:
    """The RLP items of `data`, each a block ([header, transactions, uncles, ...]), with its raw bytes."""
    out = []
    pos = 0
    while pos < len(data):
        try:
            item, _, end = consume_item(data, pos)
        except Exception as err:
            raise ChainFileError(f"byte {pos}: not an RLP item ({err})") from None
        if not isinstance(item, list) or not item or not isinstance(item[0], list) or len(item[0]) <= _TIMESTAMP:
            raise ChainFileError(f"byte {pos}: an RLP item that is not a block")
        out.append((data[pos:end], item))
        pos = end
    return out


def _number_and_time(item: Any) -> tuple[int, int]:
    header = item[0]
    return int.from_bytes(header[_NUMBER], "big"), int.from_bytes(header[_TIMESTAMP], "big")


def _block_forks(config: dict[str, Any]) -> tuple[tuple[int, type[VirtualMachineAPI]], ...]:
    out: list[tuple[int, type[VirtualMachineAPI]]] = []
    last = -1
    for key, vm in BLOCK_FORKS:
        if config.get(key) is None:
            ttd = config.get("terminalTotalDifficulty")
            if key == MERGE_FORK and ttd is not None and _quantity(config, "terminalTotalDifficulty") == 0:
                out.append((0, vm))  # merged at genesis
            continue
        block = _quantity(config, key, where="genesis config")
        if block < last:
            raise GenesisError(f"genesis config: {key} {block} comes before an earlier fork's block {last}")
        if key == "homesteadBlock":
            dao = config.get("daoForkBlock")
            vm = (
                vm.configure(support_dao_fork=True, _dao_fork_block_number=_quantity(config, "daoForkBlock"))
                if dao is not None and config.get("daoForkSupport", True)
                else vm.configure(support_dao_fork=False)
            )
        out.append((block, vm))
        last = block
    return tuple(out)


def _time_forks(config: dict[str, Any], *, merged: bool) -> tuple[tuple[int, type[VirtualMachineAPI]], ...]:
    out: list[tuple[int, type[VirtualMachineAPI]]] = []
    last = -1
    for key, vm in TIME_FORKS:
        if config.get(key) is None:
            break  # a later timestamped fork without this one is refused below
        if not merged:
            raise GenesisError(
                f"genesis config: {key} needs the merge (mergeNetsplitBlock or terminalTotalDifficulty 0)"
            )
        at = _quantity(config, key, where="genesis config")
        if at < last:
            raise GenesisError(f"genesis config: {key} {at} comes before an earlier fork's time {last}")
        out.append((at, vm))
        last = at
    later = [key for key, _ in TIME_FORKS[len(out) + 1 :] if config.get(key) is not None]
    if later:
        raise GenesisError(f"genesis config: {later[0]} is set but {TIME_FORKS[len(out)][0]} is not")
    return tuple(out)


# What this node's EIP-1559 arithmetic is (py-evm's, Ethereum's): an `optimism` object may only restate it.
OPTIMISM_FEE_PARAMS = {"eip1559Elasticity": 2, "eip1559Denominator": 8, "eip1559DenominatorCanyon": 8}


def _check_optimism(config: dict[str, Any]) -> None:
    op = config.get("optimism")
    if op is None:
        return
    if not isinstance(op, dict):
        raise GenesisError("genesis config: optimism must be an object")
    for key, want in OPTIMISM_FEE_PARAMS.items():
        if key in op and _quantity(op, key, where="genesis config optimism") != want:
            raise GenesisError(
                f"genesis config: optimism.{key} must be {want}: this node computes base fees as Ethereum does "
                "(elasticity 2, denominator 8)"
            )


def _configure(vm: type[VirtualMachineAPI]) -> type[VirtualMachineAPI]:
    # Proof of work is the only rule not checked: see the module docstring.
    if issubclass(vm, forks.ParisVM):
        return vm
    return vm.configure(consensus_class=NoProofConsensus)


def _address(value: Any, what: str) -> bytes:
    text = value if isinstance(value, str) else ""
    text = text if text.startswith("0x") else "0x" + text
    try:
        return to_canonical_address(text)
    except ValueError:
        raise GenesisError(f"genesis: {what} {value!r} is not an address") from None


def _account(address: str, acct: Any) -> dict[str, Any]:
    where = f"genesis alloc {address}"
    if not isinstance(acct, dict):
        raise GenesisError(f"{where}: an object with balance, nonce, code, storage is needed")
    storage = acct.get("storage", {})
    if not isinstance(storage, dict):
        raise GenesisError(f"{where}: storage must be an object of slot -> value")
    return {
        "balance": _quantity(acct, "balance", default=0, where=where),
        "nonce": _quantity(acct, "nonce", default=0, where=where),
        "code": _data(acct, "code"),
        "storage": {
            _quantity({"k": k}, "k", where=where): _quantity({"v": v}, "v", where=where) for k, v in storage.items()
        },
    }
