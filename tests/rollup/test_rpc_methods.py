"""The node's state proofs, traces, gas estimates, access lists, fork config and test-block building, called in
process on the conformance chain (tests/vectors/execution-apis): what users and the settlement contracts depend
on, checked by its meaning (a proof verifies against the header's state root, a trace's gas is the receipt's), where
the conformance suite (benchmarks/bench_rpc.py) checks go-ethereum's exact answers."""

from __future__ import annotations

import pytest
import rlp
from eth.rlp.accounts import Account
from eth_hash.auto import keccak
from node_support import conformance_api
from trie import HexaryTrie

from rollup.rpc.api import METHODS
from rollup.rpc.params import INVALID_PARAMS, RpcError

CONTRACT = "0x7dcd17433742f4c0ca53122ab541d0ba67fc27df"  # slot 0 holds 0x2a
RICH = "0x0c2c51a0990aee1d73c1228de158688341557508"
NOBODY = "0xc1cadaffffffffffffffffffffffffffffffffff"


def call(name: str, *params):
    return METHODS[name](conformance_api(), list(params))


def error_of(name: str, *params) -> RpcError:
    with pytest.raises(RpcError) as caught:
        call(name, *params)
    return caught.value


def nodes(proof: list[str]) -> list:
    return [rlp.decode(bytes.fromhex(node[2:])) for node in proof]


def word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


# eth_getProof


def test_an_account_proof_verifies_against_the_blocks_state_root():
    head = conformance_api().chain.head
    got = call("eth_getProof", CONTRACT, ["0x0"], "latest")
    raw = HexaryTrie.get_from_proof(head.state_root, keccak(bytes.fromhex(CONTRACT[2:])), nodes(got["accountProof"]))
    account = rlp.decode(raw, sedes=Account)
    assert account.nonce == int(got["nonce"], 16)
    assert account.balance == int(got["balance"], 16) == int(call("eth_getBalance", CONTRACT, "latest"), 16)
    assert "0x" + account.storage_root.hex() == got["storageHash"]
    assert "0x" + account.code_hash.hex() == got["codeHash"]
    assert account.code_hash == keccak(bytes.fromhex(call("eth_getCode", CONTRACT, "latest")[2:]))


def test_a_storage_proof_verifies_against_the_accounts_storage_root():
    got = call("eth_getProof", CONTRACT, ["0x0", word(0)], "latest")
    root = bytes.fromhex(got["storageHash"][2:])
    short, full = got["storageProof"]
    assert short["key"] == "0x0" and full["key"] == word(0)  # a 32-byte key comes back as given
    for entry in (short, full):
        raw = HexaryTrie.get_from_proof(root, keccak(bytes.fromhex(word(0)[2:])), nodes(entry["proof"]))
        assert rlp.decode(raw, sedes=rlp.sedes.big_endian_int) == int(entry["value"], 16) == 0x2A


def test_an_absent_slot_and_an_absent_account_are_proven_absent():
    head = conformance_api().chain.head
    got = call("eth_getProof", CONTRACT, ["0x5"], "latest")
    (slot,) = got["storageProof"]
    assert slot["value"] == "0x0" and slot["proof"]
    root = bytes.fromhex(got["storageHash"][2:])
    assert HexaryTrie.get_from_proof(root, keccak(bytes.fromhex(word(5)[2:])), nodes(slot["proof"])) == b""

    missing = call("eth_getProof", NOBODY, ["0x1"], "latest")
    key = keccak(bytes.fromhex(NOBODY[2:]))
    assert HexaryTrie.get_from_proof(head.state_root, key, nodes(missing["accountProof"])) == b""
    # go-ethereum's answer for an account that does not exist: zero hashes, no storage proof nodes.
    assert missing["codeHash"] == missing["storageHash"] == word(0)
    assert missing["storageProof"] == [{"key": "0x1", "value": "0x0", "proof": []}]


def test_a_proof_at_an_earlier_block_verifies_against_that_blocks_root():
    header = conformance_api().chain.header(20)
    got = call("eth_getProof", RICH, [], hex(20))
    raw = HexaryTrie.get_from_proof(header.state_root, keccak(bytes.fromhex(RICH[2:])), nodes(got["accountProof"]))
    assert rlp.decode(raw, sedes=Account).balance == int(call("eth_getBalance", RICH, hex(20)), 16)


def test_wrong_parameters_are_invalid_params():
    assert error_of("eth_getProof", CONTRACT, "0x0", "latest").code == INVALID_PARAMS  # keys must be an array
    assert error_of("eth_getProof", CONTRACT, ["0x" + "11" * 33], "latest").code == INVALID_PARAMS
    assert error_of("eth_getProof", "0x1234", [], "latest").code == INVALID_PARAMS
    assert error_of("eth_getStorageValues", {}, "latest").code == INVALID_PARAMS
    assert error_of("eth_getStorageValues", {CONTRACT: ["0x0"]}, "latest").code == INVALID_PARAMS  # 32 bytes
    assert error_of("debug_traceBlockByNumber", "3").code == INVALID_PARAMS
    assert error_of("debug_traceTransaction", "0x1234").code == INVALID_PARAMS


def test_storage_values_read_several_accounts_at_once():
    got = call("eth_getStorageValues", {CONTRACT: [word(0), word(1)], NOBODY: [word(0)]}, "latest")
    assert got == {CONTRACT: [word(0x2A), word(0)], NOBODY: [word(0)]}


# Traces


def test_every_traced_transaction_uses_the_gas_its_receipt_says():
    for number in (1, 2, 27, 45):
        receipts = call("eth_getBlockReceipts", hex(number))
        logged = call("debug_traceBlockByNumber", hex(number))
        calls = call("debug_traceBlockByNumber", hex(number), {"tracer": "callTracer"})
        assert len(receipts) == len(logged) == len(calls) > 0
        for receipt, steps, tree in zip(receipts, logged, calls, strict=True):
            assert steps["txHash"] == tree["txHash"] == receipt["transactionHash"]
            assert steps["result"]["gas"] == int(receipt["gasUsed"], 16) == int(tree["result"]["gasUsed"], 16)
            assert steps["result"]["failed"] == (receipt.get("status") == "0x0")


def test_a_struct_log_charges_each_step_what_it_reports():
    stores = []
    for entry in call("debug_traceBlockByNumber", "0x2"):
        steps = entry["result"]["structLogs"]
        for step, after in zip(steps, steps[1:], strict=False):
            if step["depth"] == after["depth"] and "error" not in step:
                assert after["gas"] == step["gas"] - step["gasCost"], step
        stores += [s for s in steps if s["op"] == "SSTORE"]
    assert stores
    for store in stores:  # the snapshot holds the slot just written, with the value written
        key, value = store["stack"][-1], store["stack"][-2]
        assert store["storage"][word(int(key, 16))] == word(int(value, 16))


def test_trace_transaction_matches_the_block_trace_and_knows_no_pending_transaction():
    block = call("debug_traceBlockByNumber", "0x1", {"enableMemory": True})
    one = call("debug_traceTransaction", block[0]["txHash"], {"enableMemory": True})
    assert one == block[0]["result"]
    assert error_of("debug_traceTransaction", word(1)).code == -32000
    assert error_of("debug_traceBlockByNumber", "0x0").message == "genesis is not traceable"


def test_call_tracer_shows_the_calls_a_contract_makes():
    # Init code: CALL the identity precompile with 32 bytes, then CREATE an empty contract.
    init = "0x6020600060206000600060045af150600060006000f000"
    tree = call(
        "debug_traceCall", {"from": RICH, "data": init, "gas": hex(200_000)}, "latest", {"tracer": "callTracer"}
    )
    assert tree["type"] == "CREATE" and "error" not in tree
    identity, created = tree["calls"]
    assert identity["type"] == "CALL" and identity["to"] == "0x" + "00" * 19 + "04"
    assert identity["output"] == word(0)
    assert created["type"] == "CREATE" and created["from"] == tree["to"]


# Gas estimates and access lists


def test_a_plain_transfer_is_estimated_at_21000():
    assert call("eth_estimateGas", {"from": RICH, "to": NOBODY, "value": "0x1"}) == hex(21_000)


def test_an_estimate_is_enough_and_close_to_the_least_that_works():
    # Init code that burns gas in a loop of 100 rounds, then returns.
    burn = "0x60645b6001900380600257"
    estimate = int(call("eth_estimateGas", {"from": RICH, "data": burn}), 16)
    call("eth_call", {"from": RICH, "data": burn, "gas": hex(estimate)})  # does not raise
    with pytest.raises(RpcError):
        call("eth_call", {"from": RICH, "data": burn, "gas": hex(estimate * 98 // 100)})


def test_an_access_list_names_the_slots_a_call_touches():
    got = call(
        "eth_createAccessList",
        {"from": RICH, "to": CONTRACT, "input": "0x010203040506", "gas": hex(60_000)},
        "latest",
    )
    (entry,) = got["accessList"]
    assert entry["address"] == CONTRACT and word(0) in entry["storageKeys"]
    assert "error" not in got and int(got["gasUsed"], 16) > 21_000


# eth_config and testing_buildBlockV1


def test_eth_config_reports_the_fork_in_force_and_its_rules():
    config = call("eth_config")
    assert config["next"] is None and config["last"] is None  # Prague is the last fork scheduled
    current = config["current"]
    assert current["activationTime"] == 450
    assert current["blobSchedule"] == {"target": 6, "max": 9, "baseFeeUpdateFraction": 5007716}
    assert current["precompiles"]["BLS12_MAP_FP2_TO_G2"] == "0x" + "00" * 19 + "11"
    assert int(current["chainId"], 16) == conformance_api().chain.chain_id


def test_build_block_leaves_the_chain_and_the_database_alone():
    api = conformance_api()
    head = api.chain.head
    rows = api.chain.store.conn.execute("SELECT count(*) FROM kv").fetchone()[0]
    attributes = {
        "timestamp": hex(head.timestamp + 12),
        "prevRandao": word(0),
        "suggestedFeeRecipient": "0x" + "00" * 20,
        "withdrawals": [{"index": "0x0", "validatorIndex": "0x1", "address": NOBODY, "amount": "0x64"}],
        "parentBeaconBlockRoot": word(1),
    }
    first = call("testing_buildBlockV1", "0x" + head.hash.hex(), attributes, [], "0x")
    again = call("testing_buildBlockV1", "0x" + head.hash.hex(), attributes, [], "0x")
    payload = first["executionPayload"]
    assert payload == again["executionPayload"]
    assert payload["blockNumber"] == hex(head.block_number + 1) and payload["transactions"] == []
    assert payload["withdrawals"][0]["amount"] == "0x64"
    assert api.chain.head == head
    assert api.chain.store.conn.execute("SELECT count(*) FROM kv").fetchone()[0] == rows
    assert call("eth_getBalance", NOBODY, "latest") == "0x0"
    assert error_of("testing_buildBlockV1", word(5), attributes, [], "0x").code == -32000
