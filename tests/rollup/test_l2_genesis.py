"""The L2 node's default genesis (rollup/genesis.json, written by tools/gen_l2_genesis.py) and its predeploys
(contracts/rollup): the file is current, runs Prague from block 0 on py-evm with the predeploys' code in place,
and the contracts behave as the OP Stack's do where OP tooling and withdrawal proofs depend on it.

Run: `.venv/bin/ape test tests/rollup/test_l2_genesis.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json

import ape
import pytest
from eth.vm.forks import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_abi import encode
from eth_utils import keccak, to_canonical_address, to_checksum_address

from rollup.genesis import Genesis
from tools import gen_l2_genesis as gen

PASSER = gen.PREDEPLOYS["L2ToL1MessagePasser"]
L1BLOCK = gen.PREDEPLOYS["L1Block"]
DEPOSITOR = "0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001"
VERSIONED = 1 << 240  # nonce 0 with MESSAGE_VERSION 1 in the top two bytes
WITHDRAWAL_TYPES = ["uint256", "address", "address", "uint256", "uint256", "bytes"]
L1_VALUES = (18_000_000, 1_700_000_000, 7 * 10**9, b"\x11" * 32, 3, b"\x22" * 32)


def _withdrawal_hash(nonce, sender, target, value, gas_limit, data) -> bytes:
    """OP's Hashing.hashWithdrawal, as an L1 prover computes it."""
    return keccak(encode(WITHDRAWAL_TYPES, [nonce, sender, target, value, gas_limit, data]))


def _sent_messages_slot(withdrawal_hash: bytes) -> int:
    """Where sentMessages[hash] lives: the mapping is slot 0, so this is the key a storage proof uses."""
    return int.from_bytes(keccak(withdrawal_hash + (0).to_bytes(32, "big")), "big")


def _strip_metadata(code: bytes) -> bytes:
    # solc appends CBOR metadata whose length is the last two bytes; only it may differ between builds.
    return code[: -2 - int.from_bytes(code[-2:], "big")]


# Function-scoped, as everywhere in tests/rollup: module-scoped fixtures break Ape's chain isolation.
@pytest.fixture
def genesis() -> Genesis:
    return Genesis.load(gen.OUT)


@pytest.fixture
def l2(genesis):
    """The genesis chain's block-1 state on py-evm, the node's own EVM."""
    return genesis.build().get_vm()


@pytest.fixture
def passer(project, deployer):
    return deployer.deploy(project.L2ToL1MessagePasser)


@pytest.fixture
def l1block(project, deployer):
    return deployer.deploy(project.L1Block)


def _call(vm, sender: str, to: str, data: bytes, value: int = 0):
    """Run one call on `vm`'s state as `sender`, unsigned: the node's deposited transactions have no signature."""
    state = vm.state
    sender_bytes = to_canonical_address(sender)
    state.set_balance(sender_bytes, state.get_balance(sender_bytes) + 10**18)  # gas money for system senders
    tx = vm.create_unsigned_transaction(
        nonce=state.get_nonce(sender_bytes),
        gas_price=10**9,
        gas=300_000,
        to=to_canonical_address(to),
        value=value,
        data=data,
    )
    return state.apply_transaction(SpoofTransaction(tx, from_=sender_bytes))


# ------------------------------------------------------------------ the genesis file


def test_the_shipped_genesis_is_what_the_generator_writes():
    """rollup/genesis.json is current (regenerate: .venv/bin/python tools/gen_l2_genesis.py)."""
    assert gen.OUT.read_text() == gen.render(), "stale: run .venv/bin/python tools/gen_l2_genesis.py"


def test_the_genesis_is_pure_json_with_no_comment_keys():
    raw = json.loads(gen.OUT.read_text())
    assert not [key for key in raw if key.startswith("_")]


def test_the_genesis_chain_runs_prague_from_block_0(genesis):
    chain = genesis.build()
    head = chain.get_canonical_head()
    assert genesis.chain_id == chain.chain_id == 685686
    assert issubclass(chain.get_vm_class_for_block_number(0), PragueVM)
    assert issubclass(chain.get_vm_class_for_block_number(1), PragueVM)
    assert head.block_number == 0 and head.gas_limit == 30_000_000 and head.timestamp == 0
    # rollup/genesis.py does not read baseFeePerGas: this is py-evm's initial base fee, equal to the file's.
    assert head.base_fee_per_gas == 10**9 == int(json.loads(gen.OUT.read_text())["baseFeePerGas"], 16)


def test_the_dev_accounts_are_apes_test_accounts_with_10000_eth(l2, accounts):
    """The first ten accounts of the test mnemonic, the same keys as Ape's TEST::0-9 (and anvil's defaults)."""
    dev = gen.dev_accounts()
    assert dev == [accounts[i].address for i in range(10)]
    assert dev[0] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first account
    for address in dev:
        assert l2.state.get_balance(to_canonical_address(address)) == 10_000 * 10**18


def test_the_predeploys_hold_the_compiled_runtime_code(l2, project):
    """The alloc's code is the generator's compile exactly, and Ape's compile of the same source up to the
    metadata hash (Ape's also covers the import remappings of whatever it compiled alongside)."""
    compiled = gen.runtime_code()
    for name, address in gen.PREDEPLOYS.items():
        code = l2.state.get_code(to_canonical_address(address))
        assert code and "0x" + code.hex() == compiled[name]
        assert l2.state.get_balance(to_canonical_address(address)) == 0
        ape_code = bytes.fromhex(project.get_contract(name).contract_type.runtime_bytecode.bytecode[2:])
        assert _strip_metadata(code) == _strip_metadata(ape_code), f"{name}: settings differ from ape-config.yaml"
    assert PASSER == "0x4200000000000000000000000000000000000016"
    assert L1BLOCK == "0x4200000000000000000000000000000000000015"


def test_a_withdrawal_on_the_genesis_chain_sits_where_a_storage_proof_looks(l2):
    """On the node's own EVM, the predeploy at 0x4200..0016 records the withdrawal at keccak(hash ++ 0)."""
    sender, target = gen.dev_accounts()[0], gen.dev_accounts()[1]
    data = keccak(text="initiateWithdrawal(address,uint256,bytes)")[:4]
    data += encode(["address", "uint256", "bytes"], [target, 50_000, b"hello L1"])
    computation = _call(l2, sender, PASSER, data, value=10**18)
    assert computation.is_success
    withdrawal_hash = _withdrawal_hash(VERSIONED, sender, target, 10**18, 50_000, b"hello L1")
    assert l2.state.get_storage(to_canonical_address(PASSER), _sent_messages_slot(withdrawal_hash)) == 1
    assert l2.state.get_balance(to_canonical_address(PASSER)) == 10**18


def test_l1block_on_the_genesis_chain_takes_values_from_the_depositor_only(l2):
    """The node's L1-info deposit (from DEPOSITOR_ACCOUNT, unsigned) sets the values, in OP's storage slots;
    the same call from a dev account reverts with OnlyDepositor."""
    data = keccak(text="setL1BlockValues(uint64,uint64,uint256,bytes32,uint64,bytes32)")[:4]
    data += encode(["uint64", "uint64", "uint256", "bytes32", "uint64", "bytes32"], L1_VALUES)
    refused = _call(l2, gen.dev_accounts()[0], L1BLOCK, data)
    assert refused.is_error and refused.output == keccak(text="OnlyDepositor()")[:4]
    assert _call(l2, DEPOSITOR, L1BLOCK, data).is_success
    number, timestamp, basefee, block_hash, sequence, batcher = L1_VALUES
    slot = [l2.state.get_storage(to_canonical_address(L1BLOCK), i) for i in range(5)]
    assert slot[0] == timestamp << 64 | number  # packed as OP packs them
    assert slot[1:] == [basefee, int.from_bytes(block_hash, "big"), sequence, int.from_bytes(batcher, "big")]


# ------------------------------------------------------------------ L2ToL1MessagePasser on Ape's test network


def test_initiate_withdrawal_records_ops_withdrawal_hash(passer, alice, bob, chain):
    assert passer.MESSAGE_VERSION() == 1
    assert passer.messageNonce() == VERSIONED
    tx = passer.initiateWithdrawal(bob, 250_000, b"\xca\xfe", value=12345, sender=alice)
    withdrawal_hash = _withdrawal_hash(VERSIONED, alice.address, bob.address, 12345, 250_000, b"\xca\xfe")
    assert passer.sentMessages(withdrawal_hash) is True
    assert passer.messageNonce() == VERSIONED + 1
    [event] = tx.events.filter(passer.MessagePassed)
    args = event.event_arguments
    assert args["nonce"] == VERSIONED
    assert args["sender"] == alice.address and args["target"] == bob.address
    assert args["value"] == 12345 and args["gasLimit"] == 250_000 and args["data"] == b"\xca\xfe"
    assert bytes(args["withdrawalHash"]) == withdrawal_hash
    stored = chain.provider.get_storage(passer.address, _sent_messages_slot(withdrawal_hash))
    assert int.from_bytes(stored, "big") == 1
    assert passer.balance == 12345


def test_each_withdrawal_takes_the_next_nonce(passer, alice, bob):
    passer.initiateWithdrawal(bob, 100, b"", sender=alice)
    tx = passer.initiateWithdrawal(bob, 100, b"", sender=alice)
    [event] = tx.events.filter(passer.MessagePassed)
    assert event.event_arguments["nonce"] == VERSIONED + 1
    assert passer.messageNonce() == VERSIONED + 2
    for nonce in (VERSIONED, VERSIONED + 1):  # same fields, different nonce: two distinct withdrawals
        assert passer.sentMessages(_withdrawal_hash(nonce, alice.address, bob.address, 0, 100, b"")) is True
    assert not passer.sentMessages(_withdrawal_hash(VERSIONED + 2, alice.address, bob.address, 0, 100, b""))


def test_sending_eth_withdraws_it_to_the_sender_on_l1(passer, alice):
    """receive(): a plain transfer is a withdrawal to the sender's own address, gas limit 100,000, no data."""
    tx = alice.transfer(passer, 10**17)
    [event] = tx.events.filter(passer.MessagePassed)
    args = event.event_arguments
    assert args["sender"] == args["target"] == alice.address
    assert args["value"] == 10**17 and args["gasLimit"] == 100_000 and args["data"] == b""
    assert passer.sentMessages(_withdrawal_hash(VERSIONED, alice.address, alice.address, 10**17, 100_000, b""))
    assert passer.balance == 10**17


# ------------------------------------------------------------------ L1Block on Ape's test network


def test_l1block_starts_empty_and_names_the_depositor(l1block):
    assert l1block.DEPOSITOR_ACCOUNT() == to_checksum_address(DEPOSITOR)
    assert (l1block.number(), l1block.timestamp(), l1block.basefee(), l1block.sequenceNumber()) == (0, 0, 0, 0)
    assert bytes(l1block.hash()) == bytes(l1block.batcherHash()) == b"\x00" * 32


@pytest.mark.parametrize("who", ["deployer", "alice"])
def test_l1block_refuses_values_from_anyone_but_the_depositor(l1block, request, who):
    """The deployer has no rights either: only the protocol's depositor account may write L1 facts."""
    with ape.reverts(l1block.OnlyDepositor):
        l1block.setL1BlockValues(*L1_VALUES, sender=request.getfixturevalue(who))
    assert l1block.number() == 0
