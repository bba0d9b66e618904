"""eth_simulateV1 (rollup/rpc/simulate.py) on the node's own objects, in process: what a wallet or a dapp relies on
when it previews transactions (balances carried from block to block, state overrides, revert data), and that a
simulation never changes the chain it runs on. The conformance suite's 91 cases (benchmarks/bench_rpc.py
-k eth_simulateV1) check the exact go-ethereum answers; these check the behaviour."""

from __future__ import annotations

import pytest
from node_support import conformance_api

from rollup.rpc.api import METHODS
from rollup.rpc.params import RpcError

ALICE = "0xc000000000000000000000000000000000000000"
BOB = "0xc100000000000000000000000000000000000000"
CAROL = "0xc200000000000000000000000000000000000000"
PROBE = "0xc300000000000000000000000000000000000000"
# BALANCE of the address in the calldata, returned as one word.
BALANCE_OF = "0x6000353160005260206000f3"
# SLOAD of slot 0, returned as one word.
SLOT0 = "0x60005460005260206000f3"
# REVERT with the four bytes 0xdeadbeef.
REVERTS = "0x63deadbeef6000526004601cfd"


def simulate(opts: dict, block: str = "latest") -> list[dict]:
    return METHODS["eth_simulateV1"](conformance_api(), [opts, block])


def word(value: int | str) -> str:
    raw = value[2:] if isinstance(value, str) else f"{value:x}"
    return "0x" + raw.rjust(64, "0")


def test_a_transfer_is_visible_in_the_next_simulated_block():
    head = conformance_api().chain.head
    first, second = simulate(
        {
            "blockStateCalls": [
                {
                    "stateOverrides": {ALICE: {"balance": hex(10_000)}},
                    "calls": [{"from": ALICE, "to": BOB, "value": hex(1_000)}],
                },
                {
                    "stateOverrides": {PROBE: {"code": BALANCE_OF}},
                    "calls": [
                        {"from": BOB, "to": CAROL, "value": hex(600)},
                        {"from": ALICE, "to": PROBE, "input": word(BOB)},
                        {"from": ALICE, "to": PROBE, "input": word(ALICE)},
                    ],
                },
            ]
        }
    )
    assert int(first["number"], 16) == head.block_number + 1
    assert int(second["number"], 16) == head.block_number + 2
    assert first["parentHash"] == "0x" + head.hash.hex()
    assert second["parentHash"] == first["hash"]
    assert int(second["timestamp"], 16) == int(first["timestamp"], 16) + 12
    assert [c["status"] for c in first["calls"] + second["calls"]] == ["0x1"] * 4
    assert first["calls"][0]["gasUsed"] == "0x5208"
    bob, alice = second["calls"][1]["returnData"], second["calls"][2]["returnData"]
    assert int(bob, 16) == 400  # 1,000 received, 600 sent on; calls without fees pay no gas
    assert int(alice, 16) == 9_000
    assert len(first["transactions"]) == 1 and len(second["transactions"]) == 3


def test_state_overrides_replace_storage_and_code_for_the_simulation_only():
    (block,) = simulate(
        {
            "blockStateCalls": [
                {
                    "stateOverrides": {CAROL: {"code": SLOT0, "state": {word(0): word(42)}}},
                    "calls": [{"from": ALICE, "to": CAROL}],
                }
            ]
        }
    )
    assert int(block["calls"][0]["returnData"], 16) == 42
    state = conformance_api().chain.state(conformance_api().chain.head)
    assert state.get_code(bytes.fromhex(CAROL[2:])) == b""


def test_a_revert_is_a_failed_call_with_code_3_and_its_data():
    (block,) = simulate(
        {
            "blockStateCalls": [
                {
                    "stateOverrides": {CAROL: {"code": REVERTS}},
                    "calls": [{"from": ALICE, "to": CAROL}, {"from": ALICE, "to": BOB}],
                }
            ]
        }
    )
    reverted, after = block["calls"]
    assert reverted["status"] == "0x0"
    assert reverted["error"]["code"] == 3
    assert reverted["error"]["data"] == "0xdeadbeef"
    assert reverted["returnData"] == "0x"
    assert after["status"] == "0x1"  # the block goes on after a failed call


def test_trace_transfers_reports_eth_moving_as_erc7528_logs():
    (block,) = simulate(
        {
            "blockStateCalls": [
                {
                    "stateOverrides": {ALICE: {"balance": "0x3e8"}},
                    "calls": [{"from": ALICE, "to": BOB, "value": "0x7"}],
                }
            ],
            "traceTransfers": True,
        }
    )
    (log,) = block["calls"][0]["logs"]
    assert log["address"] == "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
    assert log["topics"][1:] == [word(ALICE), word(BOB)]
    assert int(log["data"], 16) == 7
    assert log["blockHash"] == block["hash"]
    assert block["logsBloom"] == "0x" + "00" * 256  # not a real log: the block's receipts do not have it


def test_validation_checks_nonces_and_funds_as_a_real_block_would():
    with pytest.raises(RpcError) as nonce:
        simulate({"blockStateCalls": [{"calls": [{"from": ALICE, "to": BOB, "nonce": "0x5"}]}], "validation": True})
    assert nonce.value.code == -38011
    with pytest.raises(RpcError) as funds:
        simulate({"blockStateCalls": [{"calls": [{"from": ALICE, "to": BOB, "value": "0x1"}]}]})
    assert funds.value.code == -38014
    with pytest.raises(RpcError) as order:
        simulate({"blockStateCalls": [{"blockOverrides": {"number": "0x1"}}]})
    assert order.value.code == -38020


def test_the_chain_is_untouched_after_simulating():
    api = conformance_api()
    head = api.chain.head
    rows = api.chain.store.conn.execute("SELECT count(*) FROM kv").fetchone()[0]
    simulate(
        {
            "blockStateCalls": [
                {
                    "stateOverrides": {ALICE: {"balance": hex(10**18)}, CAROL: {"code": SLOT0}},
                    "calls": [{"from": ALICE, "to": BOB, "value": hex(10**17)}],
                },
                {"blockOverrides": {"number": hex(head.block_number + 5)}, "calls": [{"from": ALICE, "to": CAROL}]},
            ]
        }
    )
    with pytest.raises(RpcError):  # one that fails half way through
        simulate(
            {
                "blockStateCalls": [
                    {"stateOverrides": {ALICE: {"balance": "0x1"}}, "calls": [{"from": ALICE, "to": BOB}]},
                    {"calls": [{"from": BOB, "to": ALICE, "value": "0x1"}]},
                ]
            }
        )
    assert api.chain.head == head
    assert api.chain.header(head.block_number + 1) is None
    assert api.chain.store.conn.execute("SELECT count(*) FROM kv").fetchone()[0] == rows
    state = api.chain.state(head)
    assert state.state_root == head.state_root
    assert state.get_balance(bytes.fromhex(ALICE[2:])) == 0
    assert state.get_code(bytes.fromhex(CAROL[2:])) == b""
