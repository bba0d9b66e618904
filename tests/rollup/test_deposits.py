"""Deposit transactions (type 0x7E, rollup/deposits.py) in the L2 node, in-process on the default genesis: their
encoding against a real OP Mainnet deposit, their execution rules (mint, value, failures, aliasing), the L1-info
transaction, replay by a second node, the pool's refusal and the JSON-RPC shapes op-geth gives them.

Run: `.venv/bin/ape test tests/rollup/test_deposits.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import pytest
import rlp
from eth.vm.forks import PragueVM
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from node_support import conformance_api

import rollup.rpc.server  # noqa: F401  (registers every method)
from rollup import deposits as D
from rollup import derive
from rollup.chain import BlockRefused
from rollup.genesis import Genesis, GenesisError
from rollup.node import DEFAULT_GENESIS, open_node
from rollup.rpc.api import METHODS, SERVER_ERROR, Api
from rollup.rpc.params import RpcError

FEE_VAULT = bytes.fromhex("4200000000000000000000000000000000000011")
ALICE = bytes.fromhex("00000000000000000000000000000000000a11ce")
BOB = bytes.fromhex("0000000000000000000000000000000000000b0b")
ETH = 10**18
# A contract whose runtime stores calldata word 0 in slot 0 and CALLER in slot 1 (PUSH1 0 CALLDATALOAD PUSH1 0
# SSTORE CALLER PUSH1 1 SSTORE STOP), behind init code that returns it.
RUNTIME = bytes.fromhex("6000356000553360015500")
INIT = bytes.fromhex("600b600c600039600b6000f3") + RUNTIME

# OP Mainnet block 26,293,517 (0x191350d): its L1-info deposit as an OP node's eth_getTransactionByHash returns it,
# quoted in alloy-rs/op-alloy's tests (crates/consensus/src/alloy_compat.rs, test_tx_deposit). Ecotone calldata:
# the L1 block hash is bytes 100..132 of the input and the sequence number 3 (bytes 12..20).
OP_MAINNET_L1_INFO = {
    "hash": "096c03d72acb06339c9c7860d1c36b6451932ec0ff16fd34aa9e30a73a245e13",
    "sourceHash": "990d7122a1f121f3a6bc45723e28f4921c269037a77e77ffee3c8585136d1a92",
    "input": "440a5e20000008dd00101c1200000000000000030000000067acc63f00000000014d1f2d00000000000000000000000000000000"
    "0000000000000000000000005ba4c0eb00000000000000000000000000000000000000000000000000000001ce2291bdcbb8f62c1534"
    "3b39cfacdbf81c4747822ebb16c2518126e47d984422a82defc10000000000000000000000005050f69a9786f081509234f1a7f4684b"
    "5e5b76c9",
}


@pytest.fixture
def seq():
    return open_node(DEFAULT_GENESIS, None, block_time=60, producing=True)


def origin(n: int = 100) -> D.L1Origin:
    return D.L1Origin(number=n, timestamp=1_700_000_000 + 12 * n, basefee=7 * 10**9, hash=keccak(b"l1 %d" % n))


def user_deposit(o: D.L1Origin, log_index: int, **fields) -> D.RollupTypedTransaction:
    fields.setdefault("gas", 100_000)
    return D.new_deposit(source_hash=D.source_hash_user_deposit(o.hash, log_index), **fields)


def state(seq):
    return seq.chain.state(seq.chain.head)


def call(seq, name: str, *params):
    return METHODS[name](Api(seq, client_version="test"), list(params))


def hexaddr(value: bytes) -> str:
    return "0x" + value.hex()


# Encoding


def test_a_deposit_encodes_and_hashes_as_on_op_mainnet():
    data = bytes.fromhex(OP_MAINNET_L1_INFO["input"])
    l1_hash, sequence = data[100:132], int.from_bytes(data[12:20], "big")
    assert D.source_hash_l1_info(l1_hash, sequence).hex() == OP_MAINNET_L1_INFO["sourceHash"]
    tx = D.new_deposit(
        source_hash=bytes.fromhex(OP_MAINNET_L1_INFO["sourceHash"]),
        from_=D.DEPOSITOR_ACCOUNT,
        to=D.L1_BLOCK_ADDRESS,
        gas=D.L1_INFO_GAS,
        data=data,
    )
    raw = tx.encode()
    assert tx.hash.hex() == OP_MAINNET_L1_INFO["hash"]
    fields = [bytes.fromhex(OP_MAINNET_L1_INFO["sourceHash"]), D.DEPOSITOR_ACCOUNT, D.L1_BLOCK_ADDRESS, 0, 0]
    assert raw == b"\x7e" + rlp.encode([*fields, 1_000_000, False, data])
    again = D.RollupTransactionBuilder.decode(raw)
    assert again == tx and again.encode() == raw and again.sender == D.DEPOSITOR_ACCOUNT
    assert (again.nonce, again.gas_price, again.r, again.s, again.chain_id) == (0, 0, 0, 0, None)
    # A creation has an empty `to`; the block body carries the typed bytes as an RLP string.
    creation = user_deposit(origin(), 0, from_=ALICE, to=None, data=INIT)
    assert rlp.decode(creation.encode()[1:])[2] == b""
    body = rlp.encode([tx, creation], sedes=rlp.sedes.CountableList(D.RollupTransactionBuilder))
    assert list(rlp.decode(body, sedes=rlp.sedes.CountableList(D.RollupTransactionBuilder))) == [tx, creation]


def test_source_hashes_and_aliases_follow_op():
    block_hash = b"\xab" * 32
    inner = keccak(block_hash + (7).to_bytes(32, "big"))
    assert D.source_hash_user_deposit(block_hash, 7) == keccak(b"\x00" * 32 + inner)
    assert D.source_hash_l1_info(block_hash, 7) == keccak((1).to_bytes(32, "big") + inner)
    # AddressAliasHelper: + 0x1111000000000000000000000000000000001111, wrapping at 2^160.
    assert D.apply_l1_alias(b"\x00" * 20).hex() == "1111000000000000000000000000000000001111"
    assert D.apply_l1_alias(b"\xff" * 20).hex() == "1111000000000000000000000000000000001110"
    assert D.undo_l1_alias(D.apply_l1_alias(BOB)) == BOB


def test_a_deposit_receipt_carries_its_nonce_and_version_in_its_rlp():
    """op-geth's depositReceiptRLP from Canyon on: [status, cumulativeGasUsed, bloom, logs, depositNonce, 1]."""
    log = rlp.decode(rlp.encode([b"\x11" * 20, [b"\xde\xad".rjust(32, b"\x00")], b"\x01\x00\xff"]))
    inner = D.DepositReceipt(b"", 1, [rlp.decode(rlp.encode(log), sedes=D.Log)], deposit_nonce=1234)
    receipt = D.RollupTypedReceipt(D.DEPOSIT_TX_TYPE, inner)
    encoded = receipt.encode()
    assert encoded == b"\x7e" + rlp.encode([b"", 1, inner.bloom.to_bytes(256, "big"), [log], 1234, 1])
    again = D.RollupReceiptBuilder.decode(encoded)
    assert (again.deposit_nonce, again.deposit_receipt_version, again.gas_used) == (1234, 1, 1)


# Execution


def test_a_deposit_mints_and_moves_value_for_free(seq):
    o = origin()
    vault_before = state(seq).get_balance(FEE_VAULT)
    built = seq.seal(l1_origin=o, deposits=[user_deposit(o, 0, from_=ALICE, to=BOB, mint=5 * ETH, value=2 * ETH)])
    info, deposit = built.block.transactions
    assert (info.sender, info.to) == (D.DEPOSITOR_ACCOUNT, D.L1_BLOCK_ADDRESS)
    assert deposit.sender == ALICE
    st = state(seq)
    assert st.get_balance(ALICE) == 3 * ETH  # no gas paid: price 0, no refund, no fee
    assert st.get_balance(BOB) == 2 * ETH
    assert st.get_nonce(ALICE) == 1
    assert st.get_balance(FEE_VAULT) == vault_before  # nothing to the fee recipient
    first, second = built.receipts
    assert second.state_root == b"\x01" and second.gas_used - first.gas_used == 21_000
    assert (first.deposit_nonce, second.deposit_nonce) == (0, 0)
    assert built.block.header.gas_used == second.gas_used  # deposits count in the block's gas


def test_calldata_reaches_a_contract_a_deposit_deployed(seq):
    o = origin()
    create = user_deposit(o, 0, from_=ALICE, to=None, gas=200_000, data=INIT)
    word = (0xC0FFEE).to_bytes(32, "big")
    contract = rlp_address(ALICE, 0)
    poke = user_deposit(o, 1, from_=ALICE, to=contract, data=word)
    built = seq.seal(l1_origin=o, deposits=[create, poke])
    assert [r.state_root for r in built.receipts] == [b"\x01"] * 3
    st = state(seq)
    assert st.get_code(contract) == RUNTIME
    assert st.get_storage(contract, 0) == 0xC0FFEE
    assert st.get_storage(contract, 1) == int.from_bytes(ALICE, "big")  # CALLER (and ORIGIN) is `from`
    assert st.get_nonce(ALICE) == 2
    receipt = call(seq, "eth_getTransactionReceipt", "0x" + create.hash.hex())
    assert receipt["contractAddress"] == hexaddr(contract) and receipt["depositNonce"] == "0x0"


def rlp_address(sender: bytes, nonce: int) -> bytes:
    return keccak(rlp.encode([sender, nonce]))[12:]


def test_a_failing_deposit_keeps_its_mint_and_bumps_the_nonce(seq):
    o = origin()
    too_much = user_deposit(o, 0, from_=ALICE, to=BOB, mint=ETH, value=2 * ETH, gas=50_000)
    starved = user_deposit(o, 1, from_=ALICE, to=BOB, gas=20_000)  # under the intrinsic 21,000
    system = user_deposit(o, 2, from_=ALICE, to=BOB, is_system_tx=True)  # refused since Regolith
    built = seq.seal(l1_origin=o, deposits=[too_much, starved, system])
    receipts = built.receipts[1:]
    assert [r.state_root for r in receipts] == [b""] * 3
    used = [r.gas_used - p.gas_used for p, r in zip(built.receipts, receipts, strict=False)]
    assert used == [50_000, 20_000, 100_000]  # all their gas
    assert [r.deposit_nonce for r in receipts] == [0, 1, 2]
    st = state(seq)
    assert st.get_balance(ALICE) == ETH and st.get_balance(BOB) == 0 and st.get_nonce(ALICE) == 3


def test_a_reverting_deposit_keeps_its_mint_and_nonce_and_uses_its_gas(seq):
    o = origin()
    create = user_deposit(o, 0, from_=ALICE, to=None, gas=200_000, data=INIT)
    contract = rlp_address(ALICE, 0)
    oog = user_deposit(o, 1, from_=ALICE, to=contract, mint=ETH, value=ETH, gas=30_000, data=b"\x01" * 32)
    built = seq.seal(l1_origin=o, deposits=[create, oog])
    last = built.receipts[-1]
    assert last.state_root == b"" and last.gas_used - built.receipts[-2].gas_used == 30_000
    st = state(seq)
    assert st.get_balance(ALICE) == ETH and st.get_balance(contract) == 0 and st.get_nonce(ALICE) == 2
    assert st.get_storage(contract, 0) == 0


def test_an_l1_contract_deposits_under_its_alias(seq):
    o = origin()
    l1_contract = bytes.fromhex("5050f69a9786f081509234f1a7f4684b5e5b76c9")
    alias = D.apply_l1_alias(l1_contract)
    create = user_deposit(o, 0, from_=ALICE, to=None, gas=200_000, data=INIT)
    contract = rlp_address(ALICE, 0)
    poke = user_deposit(o, 1, from_=alias, to=contract, data=b"\x00" * 31 + b"\x05")
    seq.seal(l1_origin=o, deposits=[create, poke])
    st = state(seq)
    assert st.get_storage(contract, 1) == int.from_bytes(alias, "big")
    assert st.get_nonce(alias) == 1 and st.get_nonce(l1_contract) == 0


def test_the_l1_info_deposit_records_the_l1_origin(seq):
    first, second = origin(100), origin(101)
    seq.seal(l1_origin=first)
    seq.seal(l1_origin=first)
    assert l1block(seq) == (100, first.timestamp, first.basefee, first.hash, 1, D.ZERO_HASH)
    with pytest.raises(BlockRefused, match="first block of an epoch"):
        seq.seal(l1_origin=first, deposits=[user_deposit(first, 0, from_=ALICE, to=BOB)])
    built = seq.seal(l1_origin=D.L1Origin(101, second.timestamp, 3, second.hash, b"\x22" * 32))
    assert l1block(seq) == (101, second.timestamp, 3, second.hash, 0, b"\x22" * 32)
    info = built.block.transactions[0]
    assert D.deposit_fields(info).source_hash == D.source_hash_l1_info(second.hash, 0)
    assert info.data[:4] == keccak(b"setL1BlockValues(uint64,uint64,uint256,bytes32,uint64,bytes32)")[:4]
    assert built.receipts[0].state_root == b"\x01" and built.receipts[0].logs  # L1BlockValuesSet
    # Blocks without an L1 origin (the node's behaviour before settlement) stay as they were.
    assert seq.seal().block.transactions == ()


def l1block(seq) -> tuple:
    """L1Block's getters, called as any L2 contract would."""
    out = []
    for name, kind in (
        ("number", int),
        ("timestamp", int),
        ("basefee", int),
        ("hash", bytes),
        ("sequenceNumber", int),
        ("batcherHash", bytes),
    ):
        selector = "0x" + keccak(name.encode() + b"()")[:4].hex()
        word = bytes.fromhex(call(seq, "eth_call", {"to": hexaddr(D.L1_BLOCK_ADDRESS), "data": selector})[2:])
        out.append(int.from_bytes(word, "big") if kind is int else word)
    return tuple(out)


def test_deposits_that_do_not_fit_the_block_refuse_it_whole(seq):
    o = origin()
    huge = user_deposit(o, 0, from_=ALICE, to=BOB, mint=ETH, gas=seq.chain.head.gas_limit)  # after the L1-info one
    with pytest.raises(BlockRefused, match="cannot be included"):
        seq.seal(l1_origin=o, deposits=[huge])
    assert seq.chain.head.block_number == 0 and state(seq).get_balance(ALICE) == 0


def test_a_replica_re_executing_the_blocks_reaches_the_same_state(seq):
    o = origin()
    seq.seal(l1_origin=o, deposits=[user_deposit(o, 0, from_=ALICE, to=BOB, mint=ETH, value=ETH // 2)])
    seq.seal(l1_origin=o)
    o2 = origin(101)
    seq.seal(l1_origin=o2, deposits=[user_deposit(o2, 4, from_=BOB, to=ALICE, value=10 * ETH, gas=30_000)])
    replica = open_node(DEFAULT_GENESIS, None, block_time=60, producing=False)
    chain = seq.chain
    for number in range(1, chain.head.block_number + 1):
        replica.import_block(chain.raw_block(chain.header(number)))
    assert replica.chain.head.hash == chain.head.hash and replica.chain.head.state_root == chain.head.state_root
    assert replica.chain.receipts(replica.chain.head)[1].state_root == b""  # the failed deposit failed there too


def test_a_block_with_a_deposit_after_a_sequenced_transaction_is_refused(seq):
    from node_support import CHAIN_ID, KEYS

    o = origin()
    seq.seal(l1_origin=o, deposits=[user_deposit(o, 0, from_=ALICE, to=BOB, mint=ETH)])
    raw_tx = (
        KEYS[0]
        .sign_transaction(
            {
                "to": to_checksum_address(BOB),
                "value": 1,
                "nonce": 0,
                "chainId": CHAIN_ID,
                "gas": 21_000,
                "maxFeePerGas": 2 * 10**9,
                "maxPriorityFeePerGas": 0,
            }
        )
        .raw_transaction
    )
    tx = D.RollupTransactionBuilder.decode(bytes(raw_tx))
    good = seq.chain.block(seq.chain.head)
    swapped = good.copy(transactions=(*good.transactions[1:], tx, good.transactions[0]))
    replica = open_node(DEFAULT_GENESIS, None, block_time=60, producing=False)
    with pytest.raises(BlockRefused, match="deposit at index 2 comes after a sequenced transaction"):
        replica.import_block(rlp.encode(swapped))
    assert replica.chain.head.block_number == 0


# Pool, RPC


def test_rpc_refuses_a_sent_deposit(seq):
    o = origin()
    raw = "0x" + user_deposit(o, 0, from_=ALICE, to=BOB, mint=ETH).encode().hex()
    with pytest.raises(RpcError) as err:
        call(seq, "eth_sendRawTransaction", raw)
    assert err.value.code == SERVER_ERROR and "deposit transactions cannot be sent" in err.value.message
    assert len(seq.pool) == 0
    # Nor does a deposit handed to the builder among pool transactions get in.
    built = seq.chain.build_block([user_deposit(o, 1, from_=ALICE, to=BOB, mint=ETH)], timestamp=10**10)
    assert built.block.transactions == () and "come from L1" in built.rejected[0][1]


def test_json_shapes_are_op_gethers(seq):
    o = origin()
    create = user_deposit(o, 0, from_=ALICE, to=None, mint=3 * ETH, gas=200_000, data=INIT)
    built = seq.seal(l1_origin=o, deposits=[create])
    info = built.block.transactions[0]
    tx = call(seq, "eth_getTransactionByHash", "0x" + create.hash.hex())
    assert tx == {
        "blockHash": "0x" + built.block.hash.hex(),
        "blockNumber": "0x1",
        "blockTimestamp": hex(built.block.header.timestamp),
        "from": hexaddr(ALICE),
        "gas": hex(200_000),
        "gasPrice": "0x0",
        "hash": "0x" + create.hash.hex(),
        "input": "0x" + INIT.hex(),
        "nonce": "0x0",
        "to": None,
        "transactionIndex": "0x1",
        "value": "0x0",
        "type": "0x7e",
        "v": "0x0",
        "r": "0x0",
        "s": "0x0",
        "sourceHash": "0x" + D.source_hash_user_deposit(o.hash, 0).hex(),
        "mint": hex(3 * ETH),
        "depositReceiptVersion": "0x1",
    }
    block = call(seq, "eth_getBlockByNumber", "0x1", True)
    assert block["transactions"][1] == tx
    assert block["transactions"][0]["from"] == hexaddr(D.DEPOSITOR_ACCOUNT)
    assert "isSystemTx" not in block["transactions"][0]  # op-geth shows it only when true
    receipts = call(seq, "eth_getBlockReceipts", "0x1")
    assert receipts[1] == call(seq, "eth_getTransactionReceipt", "0x" + create.hash.hex())
    assert receipts[1]["type"] == "0x7e" and receipts[1]["status"] == "0x1"
    assert receipts[1]["effectiveGasPrice"] == "0x0"
    assert receipts[1]["contractAddress"] == hexaddr(rlp_address(ALICE, 0))
    assert (receipts[1]["depositNonce"], receipts[1]["depositReceiptVersion"]) == ("0x0", "0x1")
    assert receipts[0]["transactionHash"] == "0x" + info.hash.hex() and receipts[0]["depositNonce"] == "0x0"
    raw = call(seq, "debug_getRawTransaction", "0x" + create.hash.hex())
    assert raw == "0x" + create.encode().hex()


# Parsing the portal's log


def portal_log(deposit: D.DepositTransaction, *, log_index: int = 3, version: int = 0) -> dict:
    """A TransactionDeposited log as the portal emits it (op-node's MarshalDepositLogEvent layout)."""
    opaque = (
        deposit.mint.to_bytes(32, "big")
        + deposit.value.to_bytes(32, "big")
        + deposit.gas.to_bytes(8, "big")
        + (b"\x01" if deposit.to == b"" else b"\x00")
        + deposit.data
    )
    data = (32).to_bytes(32, "big") + len(opaque).to_bytes(32, "big") + opaque + b"\x00" * (-len(opaque) % 32)
    return {
        "address": "0x" + "55" * 20,
        "topics": [
            "0x" + D.TRANSACTION_DEPOSITED.hex(),
            "0x" + deposit.from_.rjust(32, b"\x00").hex(),
            "0x" + deposit.to.rjust(32, b"\x00").hex(),
            "0x" + version.to_bytes(32, "big").hex(),
        ],
        "data": "0x" + data.hex(),
        "logIndex": hex(log_index),
        "blockHash": "0x" + (b"\x77" * 32).hex(),
    }


@pytest.mark.parametrize("to", [BOB, None])
@pytest.mark.parametrize("data", [b"", b"\x12\x34", bytes(range(40))])
def test_a_portal_log_becomes_its_deposit(to, data):
    want = user_deposit(
        D.L1Origin(1, 1, 1, b"\x77" * 32), 3, from_=ALICE, to=to, mint=9, value=4, gas=77_777, data=data
    )
    got = D.deposit_from_log(portal_log(D.deposit_fields(want)))
    assert got == want and got.hash == want.hash


def test_a_malformed_portal_log_is_refused():
    good = portal_log(D.deposit_fields(user_deposit(origin(), 0, from_=ALICE, to=BOB, data=b"\x01")))
    assert D.deposit_from_log(good).data == b"\x01"
    for broken, message in (
        ({**good, "topics": good["topics"][:3]}, "4 topics"),
        ({**good, "topics": ["0x" + "00" * 32, *good["topics"][1:]]}, "not a TransactionDeposited"),
        (portal_log(D.deposit_fields(user_deposit(origin(), 0, from_=ALICE, to=BOB)), version=1), "version"),
        ({**good, "data": good["data"][:-64]}, "length"),  # shorter than its stated length
        ({**good, "data": good["data"] + "00" * 32}, "length"),  # more padding than needed
    ):
        with pytest.raises(D.DepositLogError, match=message):
            D.deposit_from_log(broken)


# Plain chains


def test_a_chain_without_an_optimism_config_is_plain_ethereum():
    api = conformance_api()
    assert api.chain.genesis.optimism is None and not api.chain.takes_deposits
    vm_class = api.chain.chain.get_vm_class_for_block_number(api.chain.head.block_number)
    assert issubclass(vm_class, PragueVM) and not issubclass(vm_class, D.RollupPragueVM)
    assert issubclass(Genesis.load(DEFAULT_GENESIS).chain_class().get_vm_class_for_block_number(1), D.RollupPragueVM)
    raw = Genesis.load(DEFAULT_GENESIS)
    with pytest.raises(GenesisError, match="eip1559Elasticity must be 2"):
        Genesis.from_dict(
            {
                "config": {**raw.config, "optimism": {"eip1559Elasticity": 6}},
                "gasLimit": "0x1c9c380",
                "alloc": {},
            }
        )


# A real portal event on Ape's test network (the L1 of the tests)


@pytest.fixture
def portal(project, deployer):
    try:
        contract_type = project.RollupPortal
    except AttributeError:
        pytest.skip("contracts/rollup/RollupPortal.sol is not in this checkout")
    return deployer.deploy(contract_type, deployer.address, 0)  # the output oracle plays no part in deposits


def test_a_portal_event_from_l1_becomes_the_l2_deposit(project, portal, seq, alice):
    """An EOA's deposit and a contract's (aliased) deposit, emitted by the portal on Ape's chain, parsed from the
    receipt's raw logs and executed on L2."""
    word = (0xBEEF).to_bytes(32, "big")
    contract = rlp_address(alice_l2 := bytes.fromhex(alice.address[2:]), 0)
    create = portal.depositTransaction(
        "0x" + "00" * 20, 0, 200_000, True, INIT, value=ETH, sender=alice
    )  # an EOA deploys on L2
    user = alice.deploy(project.ContractUser)
    poke = user.execute(
        portal, 0, portal.depositTransaction.encode_input(contract, 0, 100_000, False, word), sender=alice
    )  # an L1 contract calls the L2 contract
    deposits = []
    for receipt in (create, poke):
        (log,) = [entry for entry in receipt.logs if bytes(entry["topics"][0]) == D.TRANSACTION_DEPOSITED]
        assert log["address"] == portal.address
        deposits.append(D.deposit_from_log(log))
    assert deposits[0].sender == alice_l2 and deposits[0].to == b"" and D.deposit_fields(deposits[0]).mint == ETH
    alias = D.apply_l1_alias(bytes.fromhex(user.address[2:]))
    assert deposits[1].sender == alias and deposits[1].to == contract and deposits[1].data == word
    block = create.block
    o = D.L1Origin(block.number, block.timestamp, block.base_fee, bytes(block.hash))
    assert D.deposit_fields(deposits[0]).source_hash == D.source_hash_user_deposit(o.hash, create.logs[0]["logIndex"])
    before = state(seq).get_balance(alice_l2)  # Ape's accounts are the L2's funded dev accounts too
    built = seq.seal(l1_origin=o, deposits=deposits)
    assert [r.state_root for r in built.receipts] == [b"\x01"] * 3
    st = state(seq)
    assert st.get_balance(alice_l2) == before + ETH and st.get_code(contract) == RUNTIME
    assert st.get_storage(contract, 0) == 0xBEEF and st.get_storage(contract, 1) == int.from_bytes(alias, "big")


# Derivation: deposits from the portal's logs, the sequencing window


def test_the_sequencer_takes_each_l1_blocks_deposits_and_a_verifier_agrees(chain, portal, seq, alice, bob):
    start = chain.blocks.head.number
    l1 = derive.L1Deposits(chain.provider.web3, portal.address, start=start)
    first = portal.depositTransaction(BOB, ETH, 50_000, False, b"", value=ETH, sender=alice)
    chain.mine(2)
    second = portal.depositTransaction(BOB, 2 * ETH, 50_000, False, b"", value=2 * ETH, sender=bob)
    later = chain.blocks.head.timestamp + 100  # L2 time past every L1 block: the origin advances every block
    while derive.chain_origin(seq.chain) is None or derive.chain_origin(seq.chain).number < l1.head_number():
        origin, deposits = derive.next_origin(seq.chain, l1, later)
        seq.seal(later, l1_origin=origin, deposits=deposits)
        later += 1
    assert state(seq).get_balance(BOB) == 3 * ETH
    numbers: dict[int, int] = {}  # L1 block -> first L2 block of its epoch
    for n in range(1, seq.chain.head.block_number + 1):
        numbers.setdefault(derive.chain_origin(seq.chain, seq.chain.header(n)).number, n)
    for receipt in (first, second):  # each deposit in the first L2 block of its L1 block's epoch
        block = seq.chain.block(seq.chain.header(numbers[receipt.block_number]))
        assert [D.is_deposit(tx) for tx in block.transactions] == [True, True]
    for number in range(1, seq.chain.head.block_number + 1):
        derive.check_block(seq.chain, seq.chain.header(number), l1)
    # The L2 stays on an L1 block until L2 time reaches the next one's.
    seq.seal(later, l1_origin=derive.next_origin(seq.chain, l1, later)[0])
    chain.mine(1)
    assert derive.next_origin(seq.chain, l1, chain.blocks.head.timestamp - 1)[1] == []


def test_a_verifier_refuses_invented_or_missing_deposits(chain, portal, seq, alice):
    l1 = derive.L1Deposits(chain.provider.web3, portal.address, start=chain.blocks.head.number)
    portal.depositTransaction(BOB, 0, 50_000, False, b"", value=ETH, sender=alice)
    later = chain.blocks.head.timestamp + 100
    other = open_node(DEFAULT_GENESIS, None, block_time=60, producing=True)
    for node in (seq, other):
        origin, deposits = derive.next_origin(node.chain, l1, later)
        node.seal(later, l1_origin=origin, deposits=deposits)  # l1.start: no deposits there
        origin, deposits = derive.next_origin(node.chain, l1, later + 1)
        assert len(deposits) == 1
    invented = user_deposit(origin, 9, from_=ALICE, to=BOB, mint=100 * ETH)
    seq.seal(later + 1, l1_origin=origin, deposits=[invented])  # mints what L1 never locked
    other.seal(later + 1, l1_origin=origin)  # leaves the deposit out
    for node in (seq, other):
        with pytest.raises(derive.DerivationError, match="are not L1's"):
            derive.check_block(node.chain, node.chain.head, l1)


def test_an_epoch_whose_window_closed_is_forced_in(chain, portal, seq, alice):
    rules = derive.SequencingRules(window=4)
    l1 = derive.L1Deposits(chain.provider.web3, portal.address, start=chain.blocks.head.number)
    later = chain.blocks.head.timestamp + 1000
    origin, _ = derive.next_origin(seq.chain, l1, later)
    seq.seal(later, l1_origin=origin)
    receipt = portal.depositTransaction(BOB, ETH, 50_000, False, b"", value=ETH, sender=alice)
    # A censoring sequencer keeps building on its old origin while L1 moves on.
    for _ in range(3):
        later += 1
        seq.seal(later, l1_origin=origin)
    chain.mine(rules.window - 1)
    assert derive.overdue_epoch(seq.chain, l1, rules) is None  # the window is still open
    chain.mine(1)
    assert derive.overdue_epoch(seq.chain, l1, rules) == receipt.block_number
    forced, deposits = derive.forced_origin(seq.chain, l1, rules)
    assert forced.number == receipt.block_number and len(deposits) == 1
    later += 1
    built = seq.chain.build_block([], timestamp=later, l1_origin=forced, deposits=deposits)
    assert state(seq).get_balance(BOB) == ETH and len(built.block.transactions) == 2
    derive.check_block(seq.chain, seq.chain.head, l1)
    assert derive.overdue_epoch(seq.chain, l1, rules) is None


def test_fee_history_counts_a_deposits_tip_as_zero(seq):
    o = origin()
    seq.seal(l1_origin=o, deposits=[user_deposit(o, 0, from_=ALICE, to=BOB, mint=ETH, value=1)])
    history = call(seq, "eth_feeHistory", "0x1", "latest", [0, 50, 100])
    assert history["reward"] == [["0x0", "0x0", "0x0"]]  # op-geth: a deposit pays no tip (it was negative here)
