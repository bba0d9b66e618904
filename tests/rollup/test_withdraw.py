"""Withdrawals from the L2 to L1 (rollup/withdraw.py, `ape run withdraw`) against a real L1 (anvil holding the real
L2OutputOracle and RollupPortal), a real L2 node process and the proposer: initiated on the L2, covered by a
proposed output, proven with the node's proofs, finalized once; a wrong output on L1 is refused before anything is
sent.

Run: `.venv/bin/ape test tests/rollup/test_withdraw.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from node_support import KEYS, deploy, send, start_node, transfer, web3

from offchain.chain.anvil import Anvil
from rollup import withdraw as w
from rollup.proposer import Proposer

ETH = 10**18
BOND = 10**16
INTERVAL = 2  # L2 blocks between outputs
PERIOD = 100  # the oracle's finalization period, seconds
DELAY = 30  # the portal's proof maturity delay, seconds
DEPLOYER, PROPOSER, DEPOSITOR, USER, RELAYER = KEYS[0], KEYS[1], KEYS[4], KEYS[5], KEYS[6]


@pytest.fixture
def chains(project, tmp_path):
    """anvil with the oracle (PROPOSER holds its role) and a portal holding 2 ETH of deposits; an L2 node sealing
    a block per transaction."""
    with Anvil.start() as anvil, start_node("--block-time", "0") as node:
        l1, l2 = web3(anvil.uri), web3(node.url)
        oracle, _ = deploy(l1, DEPLOYER, project.L2OutputOracle, INTERVAL, 1, 0, 0, PERIOD, BOND, DEPLOYER.address)
        send(l1, DEPLOYER, oracle.functions.grantRole(oracle.functions.PROPOSER_ROLE().call(), PROPOSER.address))
        portal, _ = deploy(l1, DEPLOYER, project.RollupPortal, oracle.address, DELAY)
        send(
            l1,
            DEPOSITOR,
            portal.functions.depositTransaction(DEPOSITOR.address, 0, 100_000, False, b""),
            value=2 * ETH,
        )
        yield anvil, l1, l2, oracle, portal, Proposer(l1, l2, oracle.address, PROPOSER, tmp_path / "proposer")


def _fill_interval(l2) -> None:
    """Seal L2 blocks (a transfer each) up to the next multiple of the interval: the proposer posts only those."""
    while l2.eth.block_number % INTERVAL:
        l2.eth.send_raw_transaction(transfer(l2, KEYS[2], KEYS[3].address, 1))


def test_withdrawal_initiated_proposed_proven_and_finalized_once(chains):
    anvil, l1, l2, oracle, portal, proposer = chains
    target = Account.create().address
    withdrawal = w.initiate(l2, USER, target, ETH, 100_000, b"")
    assert (withdrawal.tx.sender, withdrawal.tx.target, withdrawal.tx.value) == (USER.address, target, ETH)
    assert w.withdrawal_of(l2, withdrawal.l2_tx_hash) == withdrawal
    assert w.status(portal, oracle, withdrawal).stage is w.Stage.INITIATED
    with pytest.raises(w.NotCovered):
        w.proof_for(l2, oracle, withdrawal)

    _fill_interval(l2)
    assert proposer.step().startswith(f"proposed block {l2.eth.block_number}")
    st = w.status(portal, oracle, withdrawal)
    assert (st.stage, st.output_index) == (w.Stage.PROVABLE, 0)
    proof = w.proof_for(l2, oracle, withdrawal)
    assert proof.output_root_proof.root == oracle.functions.getL2Output(0).call()[0]
    proved = w.prove(portal, RELAYER, withdrawal, proof)  # anyone may prove (and finalize) it
    st = w.status(portal, oracle, withdrawal)
    output_time = oracle.functions.getL2Output(0).call()[1]
    assert (st.stage, st.proven_at) == (w.Stage.PROVEN, l1.eth.get_block(proved["blockNumber"])["timestamp"])
    assert st.finalizable_at == max(st.proven_at + DELAY, output_time + PERIOD) + 1
    with pytest.raises(w.Refused) as early:
        w.finalize(portal, RELAYER, withdrawal)
    assert early.value.error == "PortalProofNotMatured"

    anvil.increase_time(PERIOD + 1)
    assert w.status(portal, oracle, withdrawal).l1_time >= st.finalizable_at
    before = l1.eth.get_balance(target), l1.eth.get_balance(portal.address)
    finalized = w.finalize(portal, RELAYER, withdrawal)
    assert w.call_succeeded(finalized, withdrawal)
    assert l1.eth.get_balance(target) == before[0] + ETH and l1.eth.get_balance(portal.address) == before[1] - ETH
    assert w.status(portal, oracle, withdrawal).stage is w.Stage.FINALIZED

    nonce = l1.eth.get_transaction_count(RELAYER.address)
    with pytest.raises(w.Refused, match="PortalAlreadyFinalized") as again:
        w.finalize(portal, RELAYER, withdrawal)
    assert again.value.fields == {"withdrawalHash": withdrawal.withdrawal_hash}
    assert l1.eth.get_balance(target) == before[0] + ETH and l1.eth.get_balance(portal.address) == before[1] - ETH
    assert l1.eth.get_transaction_count(RELAYER.address) == nonce  # refused on estimation: nothing sent
    print(f"\ngas: prove {proved['gasUsed']} finalize {finalized['gasUsed']}")


def test_a_wrong_output_on_l1_is_refused_and_nothing_is_proven(chains):
    """An output whose root is not the L2 node's cannot be proven against: proof_for says so (it will be
    disputed) and nothing reaches L1."""
    _, l1, l2, oracle, portal, _ = chains
    withdrawal = w.initiate(l2, USER, USER.address, ETH // 2, 100_000, b"hello")
    _fill_interval(l2)
    wrong = oracle.functions.proposeL2Output(b"\x66" * 32, l2.eth.block_number)
    send(l1, PROPOSER, wrong, value=BOND)
    nonce = l1.eth.get_transaction_count(RELAYER.address)
    with pytest.raises(w.WrongOutput, match="output 0 on L1 .* is 0x6666.*wrong and will be disputed"):
        w.proof_for(l2, oracle, withdrawal)
    assert l1.eth.get_transaction_count(RELAYER.address) == nonce
    assert w.status(portal, oracle, withdrawal).stage is w.Stage.PROVABLE


def test_status_follows_a_dispute_and_a_deleted_output(chains):
    """A disputed output holds the proven withdrawal past its time; once the output is deleted the proof is void
    until an output holds its root at that index again (the portal's rule), and then counts from that output."""
    anvil, l1, l2, oracle, portal, proposer = chains
    send(l1, DEPLOYER, oracle.functions.grantRole(oracle.functions.DISPUTE_ROLE().call(), DEPLOYER.address))
    withdrawal = w.initiate(l2, USER, USER.address, ETH, 100_000, b"")
    _fill_interval(l2)
    proposer.step()
    w.prove(portal, RELAYER, withdrawal, w.proof_for(l2, oracle, withdrawal))
    send(l1, DEPLOYER, oracle.functions.setDisputed(0, True))
    anvil.increase_time(PERIOD + 1)
    st = w.status(portal, oracle, withdrawal)
    assert st.stage is w.Stage.PROVEN and st.l1_time >= st.finalizable_at and st.held_by_dispute
    with pytest.raises(w.Refused, match="PortalOutputNotFinalized"):
        w.finalize(portal, RELAYER, withdrawal)

    send(l1, DEPLOYER, oracle.functions.deleteL2Outputs(0, DEPLOYER.address))
    st = w.status(portal, oracle, withdrawal)
    assert (st.stage, st.latest_output_block, st.proof_removed) == (w.Stage.INITIATED, None, True)
    root = bytes.fromhex(
        l2.provider.make_request("optimism_outputAtBlock", [hex(INTERVAL)])["result"]["outputRoot"][2:]
    )
    send(l1, PROPOSER, oracle.functions.proposeL2Output(root, INTERVAL), value=BOND)
    st = w.status(portal, oracle, withdrawal)  # the same root at the index: the portal's proof holds again
    output_time = oracle.functions.getL2Output(0).call()[1]
    assert (st.stage, st.finalizable_at, st.held_by_dispute) == (w.Stage.PROVEN, output_time + PERIOD + 1, False)


@pytest.mark.slow
def test_the_users_path_deploy_deposit_and_ape_run_withdraw(tmp_path):
    """What docs/rollup.md tells a user to run: `ape run deploy --rollup` on an L1 with a block time, a node
    following it, the proposer, a deposit funding the portal, then `ape run withdraw --no-wait` and
    `ape run withdraw --tx`, which waits, proves, waits and finalizes; a third run is refused."""
    ape = str(Path(sys.executable).with_name("ape"))
    env = {**os.environ, "VERDE_DEPLOYMENTS_DIR": str(tmp_path)}

    def run(*args: str, ok: bool = True) -> str:
        done = subprocess.run([ape, "run", *args], capture_output=True, text=True, timeout=240, env=env)
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return done.stdout + done.stderr

    target = "0x" + "be" * 20
    with Anvil.start(block_time=1) as anvil:
        network = ["--network", f"ethereum:local:{anvil.uri}"]
        run("deploy", "--rollup", *network, "--account", "TEST::0", "--submission-interval", "2",
            "--finalization-period", "4", "--proof-maturity-delay", "2")  # fmt: skip
        (record,) = tmp_path.glob("*.json")
        contracts = json.loads(record.read_text())["contracts"]
        portal, oracle = contracts["RollupPortal"]["address"], contracts["L2OutputOracle"]["address"]
        run("deposit", *network, "--account", "TEST::3", "--eth", "2")
        with start_node("--block-time", "1", "--l1-rpc", anvil.uri, "--portal", portal) as node:
            proposer = subprocess.Popen(
                [sys.executable, "-m", "rollup.proposer", "--l1-rpc", anvil.uri, "--l2-rpc", node.url,
                 "--oracle", oracle, "--datadir", str(tmp_path / "proposer"), "--poll-seconds", "0.5"],
                env={**env, "ROLLUP_PROPOSER_KEY": KEYS[0].key.hex()},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                l2_rpc = ["--l2-rpc", node.url]
                user = [*network, "--account", "TEST::5", *l2_rpc]
                bad = run("withdraw", *user, "--value", "1", "--tx", "0x" + "11" * 32, ok=False)
                assert "--tx continues a withdrawal" in bad
                unknown = run("withdraw", *user, "--tx", "0x" + "11" * 32, ok=False)
                assert "has no mined transaction" in unknown

                started = run("withdraw", *user, "--value", "1.25", "--to", target, "--no-wait")
                (l2_tx,) = re.findall(r"--tx (0x[0-9a-f]{64})", started)
                relayer = [*network, "--account", "TEST::6", *l2_rpc]  # anyone may continue it
                done = run("withdraw", *relayer, "--tx", l2_tx)
                assert "proven against output" in done and "finalized: L1 tx" in done
                assert "0 ETH -> 1.25 ETH (+1.25 ETH)" in done
                assert web3(anvil.uri).eth.get_balance(web3(anvil.uri).to_checksum_address(target)) == 125 * ETH // 100
                again = run("withdraw", *relayer, "--tx", l2_tx, ok=False)
                assert "already finalized; nothing was sent" in again
            finally:
                proposer.terminate()
                proposer.wait(timeout=10)
