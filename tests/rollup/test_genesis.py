"""rollup/genesis.py: a go-ethereum genesis.json and an RLP chain file on py-evm, checked against the Ethereum
JSON-RPC conformance suite's chain (tests/vectors/execution-apis, CC0), which every execution client imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rlp
from eth.db.atomic import AtomicDB
from eth.vm.forks import CancunVM, ParisVM, PragueVM, ShanghaiVM

from rollup.genesis import ChainFileError, Genesis, GenesisError, split_blocks

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "execution-apis"


# Plain function-scoped fixtures: a module-scoped one here makes Ape rebase its chain snapshots for the modules
# after this one (InvalidIsolationWarning); both are cheap to make per test.
@pytest.fixture
def genesis() -> Genesis:
    return Genesis.load(VECTORS / "genesis.json")


@pytest.fixture
def chain_rlp() -> bytes:
    return (VECTORS / "chain.rlp").read_bytes()


def test_the_conformance_chain_imports_to_its_head(genesis, chain_rlp):
    """Every block is re-executed (transactions, receipts, state root) and the head is the suite's."""
    chain = genesis.import_blocks(chain_rlp)
    head = chain.get_canonical_head()
    want = json.loads((VECTORS / "headfcu.json").read_text())["params"][0]["headBlockHash"]
    assert head.block_number == 45
    assert "0x" + head.hash.hex() == want
    first = split_blocks(chain_rlp)[0][1]
    assert chain.get_canonical_block_header_by_number(0).hash == first[0][0]  # block 1's parent is our genesis


def test_forks_start_where_the_config_says(genesis, chain_rlp):
    """Blocks up to 35 are proof of work, 36 is the merge, and the timestamped forks start at the first block
    whose timestamp reaches them (Shanghai 390, Cancun 420, Prague 450: blocks 39, 42, 45)."""
    headers = [(int.from_bytes(item[0][8], "big"), int.from_bytes(item[0][11], "big")) for _, item in
               split_blocks(chain_rlp)]  # fmt: skip
    assert genesis.time_fork_blocks(headers) == [39, 42, 45]
    cls = genesis.chain_class([39, 42, 45])
    rules = {n: cls.get_vm_class_for_block_number(n) for n in (35, 36, 38, 39, 42, 45)}
    assert not issubclass(rules[35], ParisVM)
    assert issubclass(rules[36], ParisVM) and not issubclass(rules[38], ShanghaiVM)
    assert issubclass(rules[39], ShanghaiVM) and issubclass(rules[42], CancunVM) and issubclass(rules[45], PragueVM)


def test_a_tampered_block_is_refused_and_the_blocks_before_it_stay(genesis, chain_rlp):
    """Block 40 with one byte of its state root changed: the import stops there, naming it, and the database
    holds blocks 1-39 as they were."""
    blocks = split_blocks(chain_rlp)
    raw, item = blocks[39]
    header = list(item[0])
    header[3] = bytes([header[3][0] ^ 1]) + header[3][1:]  # the state root
    bad = rlp.encode([header, *item[1:]])
    data = b"".join(r for r, _ in blocks[:39]) + bad + b"".join(r for r, _ in blocks[40:])
    db = AtomicDB()
    with pytest.raises(ChainFileError, match="block 40"):
        genesis.import_blocks(data, db)
    chain = genesis.chain_class([39, 42, 45])(db)
    assert chain.get_canonical_head().block_number == 39


@pytest.mark.parametrize("data", [b"\x01\x02\x03", b"\xc3\x01\x02\x03", b"\xf9\xff"])
def test_bytes_that_are_not_blocks_are_refused(genesis, data):
    with pytest.raises(ChainFileError):
        genesis.import_blocks(data)


def _config(**changes):
    raw = json.loads((VECTORS / "genesis.json").read_text())
    for key, value in changes.items():
        if value is None:
            raw["config"].pop(key, None)
        else:
            raw["config"][key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "a JSON object with a config object"),
        (_config(chainId=None), "chainId is missing"),
        (_config(chainId="0x0"), "chainId must not be 0"),
        (_config(berlinBlock=30), "londonBlock 27 comes before an earlier fork's block 30"),
        (_config(shanghaiTime=None), "cancunTime is set but shanghaiTime is not"),
        (_config(mergeNetsplitBlock=None, terminalTotalDifficulty=None), "shanghaiTime needs the merge"),
        (_config(istanbulBlock="soon"), "istanbulBlock is not a number"),
    ],
)
def test_a_genesis_this_node_cannot_run_is_refused_clearly(raw, message):
    with pytest.raises(GenesisError, match=message):
        Genesis.from_dict(raw)


def test_a_bad_alloc_address_is_refused():
    raw = json.loads((VECTORS / "genesis.json").read_text())
    raw["alloc"]["0x12"] = {"balance": "0x1"}
    with pytest.raises(GenesisError, match="alloc address"):
        Genesis.from_dict(raw)


def test_merged_at_genesis_runs_the_newest_rules_from_block_0():
    """Our own L2's kind of genesis: every fork at 0, so block 1 on runs Prague."""
    config = {"chainId": 685685, "terminalTotalDifficulty": 0, "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0,
              **{key: 0 for key in ("homesteadBlock", "eip150Block", "eip158Block", "byzantiumBlock", "berlinBlock",
                                    "londonBlock")}}  # fmt: skip
    genesis = Genesis.from_dict(
        {"config": config, "gasLimit": "0x1c9c380", "alloc": {"0x" + "11" * 20: {"balance": "0x64"}}}
    )
    chain = genesis.build()
    assert issubclass(chain.get_vm_class_for_block_number(1), PragueVM)
    assert chain.get_vm().state.get_balance(b"\x11" * 20) == 100
