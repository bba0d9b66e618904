"""The proposer (rollup/proposer.py) against a real L1 (anvil) holding the real L2OutputOracle and a real L2 node:
it posts each interval's output root, the root is the L2 node's, and neither a crash between signing and sending
nor an L1 reorg dropping its transaction loses an output or posts one twice.

Run: `.venv/bin/ape test tests/rollup/test_proposer.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import pytest
from node_support import KEYS, deploy, send, start_node, transfer, web3

from offchain.chain.anvil import Anvil
from rollup.proposer import Proposer

BOND = 10**16
INTERVAL = 2


@pytest.fixture
def chains(project, tmp_path):
    with Anvil.start() as anvil, start_node("--block-time", "0") as node:
        l1, l2 = web3(anvil.uri), web3(node.url)
        oracle, _ = deploy(l1, KEYS[0], project.L2OutputOracle, INTERVAL, 1, 0, 0, 3600, BOND, KEYS[0].address)
        send(l1, KEYS[0], oracle.functions.grantRole(oracle.functions.PROPOSER_ROLE().call(), KEYS[1].address))
        for _ in range(5):
            l2.eth.send_raw_transaction(transfer(l2, KEYS[2], KEYS[3].address, 1))
        yield l1, l2, oracle, tmp_path / "proposer"


def test_outputs_are_the_l2_nodes_and_each_is_posted_once(chains):
    l1, l2, oracle, datadir = chains
    proposer = Proposer(l1, l2, oracle.address, KEYS[1], datadir)
    assert proposer.step().startswith("proposed block 2")
    assert proposer.step().startswith("proposed block 4")
    assert proposer.step() == "waiting for L2 block 6 (head 5)"
    for index, block in ((0, 2), (1, 4)):
        posted = oracle.functions.getL2Output(index).call()
        want = l2.provider.make_request("optimism_outputAtBlock", [hex(block)])["result"]["outputRoot"]
        assert "0x" + posted[0].hex() == want and posted[2] == block
    assert l1.eth.get_balance(oracle.address) == 2 * BOND


def test_a_crash_before_sending_and_an_l1_reorg_lose_nothing_and_post_nothing_twice(chains):
    l1, l2, oracle, datadir = chains
    proposer = Proposer(l1, l2, oracle.address, KEYS[1], datadir)
    # Crash between recording and sending: the record holds the signed transaction, nothing reached L1.
    root = bytes.fromhex(l2.provider.make_request("optimism_outputAtBlock", ["0x2"])["result"]["outputRoot"][2:])
    raw, tx_hash = proposer._sign(root, 2)
    proposer.db.execute("INSERT INTO proposals VALUES (2, ?, ?, ?, 0)", (root, tx_hash, raw))
    restarted = Proposer(l1, l2, oracle.address, KEYS[1], datadir)
    assert restarted.step() == "resent the proposal of block 2"
    l1.eth.wait_for_transaction_receipt(tx_hash)
    assert oracle.functions.nextBlockNumber().call() == 4

    # An L1 reorg drops the next proposal after it was mined: it is sent again, the same bytes, once.
    snapshot = l1.provider.make_request("evm_snapshot", [])["result"]
    assert restarted.step().startswith("proposed block 4")
    l1.provider.make_request("evm_revert", [snapshot])
    assert oracle.functions.nextBlockNumber().call() == 4
    assert restarted.step() == "resent the proposal of block 4"
    l1.provider.make_request("evm_mine", [])
    assert oracle.functions.nextBlockNumber().call() == 6
    assert oracle.functions.latestOutputIndex().call() == 1
    assert restarted.step() == "waiting for L2 block 6 (head 5)"


def test_an_output_the_oracle_takes_only_later_is_waited_for_not_failed(chains, project):
    l1, l2, _, datadir = chains
    now = l1.eth.get_block("latest").timestamp
    # L2 blocks at least a day apart: block 2 cannot exist on L1's clock yet (OP's "output in the future").
    oracle, _ = deploy(l1, KEYS[0], project.L2OutputOracle, INTERVAL, 86_400, 0, now, 3600, BOND, KEYS[0].address)
    send(l1, KEYS[0], oracle.functions.grantRole(oracle.functions.PROPOSER_ROLE().call(), KEYS[1].address))
    proposer = Proposer(l1, l2, oracle.address, KEYS[1], datadir)
    assert proposer.step() == "waiting to propose block 2: the oracle says OracleOutputInFuture"
    assert proposer.pending() is None and oracle.functions.nextOutputIndex().call() == 0


def test_an_output_a_dispute_deleted_is_proposed_again(chains):
    l1, l2, oracle, datadir = chains
    proposer = Proposer(l1, l2, oracle.address, KEYS[1], datadir)
    assert proposer.step().startswith("proposed block 2")
    assert proposer.step().startswith("proposed block 4")
    # The dispute game (here an account holding its role) deletes output 0 and every later one.
    send(l1, KEYS[0], oracle.functions.grantRole(oracle.functions.DISPUTE_ROLE().call(), KEYS[0].address))
    send(l1, KEYS[0], oracle.functions.deleteL2Outputs(0, KEYS[0].address))
    assert oracle.functions.nextBlockNumber().call() == 2
    assert proposer.step().startswith("proposed block 2")
    assert proposer.step().startswith("proposed block 4")
    assert oracle.functions.nextOutputIndex().call() == 2
