"""`python -m rollup.node --l1-rpc ... --portal ...`: a node following a real L1 (anvil with the RollupPortal) seals
L1's deposits into its blocks, with the sender, value and calldata the depositor gave on L1.

Run: `.venv/bin/ape test tests/rollup/test_node_l1.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak
from node_support import KEYS, deploy, send, start_node, transfer, web3
from web3 import Web3

from offchain.chain.anvil import Anvil
from rollup.output import MESSAGE_PASSER

ETH = 10**18
PASSER = "0x" + MESSAGE_PASSER.hex()
MESSAGE_PASSED = keccak(b"MessagePassed(uint256,address,address,uint256,uint256,bytes,bytes32)")


def _until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("the L2 never showed it")


def test_l1_deposits_reach_the_l2_with_their_sender_value_and_calldata(project):
    with Anvil.start() as anvil:
        l1 = web3(anvil.uri)
        oracle, _ = deploy(l1, KEYS[0], project.L2OutputOracle, 2, 1, 0, 0, 60, 0, KEYS[0].address)
        portal, deployed = deploy(l1, KEYS[0], project.RollupPortal, oracle.address, 60)
        args = ["--block-time", "0", "--l1-rpc", anvil.uri, "--portal", portal.address]
        with start_node(*args, "--l1-start", str(deployed.blockNumber)) as node:
            l2 = web3(node.url)
            receiver = Account.create().address
            depositor = KEYS[4]
            send(l1, depositor, portal.functions.depositTransaction(receiver, ETH, 100_000, False, b""), value=ETH)
            assert _until(lambda: l2.eth.get_balance(receiver) == ETH)

            # Calldata and sender: a deposit calling the L2 message passer, whose event names its caller.
            call = keccak(b"initiateWithdrawal(address,uint256,bytes)")[:4] + abi_encode(
                ["address", "uint256", "bytes"], [receiver, 50_000, b"from L1"]
            )
            send(l1, depositor, portal.functions.depositTransaction(PASSER, 0, 200_000, False, call))
            logs = _until(lambda: l2.eth.get_logs({"address": PASSER, "topics": ["0x" + MESSAGE_PASSED.hex()]}))
            (event,) = logs
            assert event["topics"][2].hex()[-40:] == depositor.address[2:].lower()  # the L1 sender, unaliased
            assert b"from L1" in bytes(event["data"])

            block = l2.eth.get_block(event["blockNumber"], full_transactions=True)
            info, deposit = block.transactions[:2]
            assert info["type"] == deposit["type"] == 0x7E
            assert deposit["from"] == depositor.address and deposit["input"] == call
            # Sequenced transactions go on as before, after the block's deposits.
            sent = l2.eth.wait_for_transaction_receipt(l2.eth.send_raw_transaction(transfer(l2, KEYS[5], receiver, 1)))
            assert sent.status == 1 and l2.eth.get_balance(receiver) == ETH + 1


@pytest.mark.slow
def test_the_users_path_deploy_follow_and_ape_run_deposit(tmp_path):
    """What docs/rollup.md tells a user to run: `ape run deploy --rollup` on the L1, a node following it, and
    `ape run deposit --l2-rpc`, which waits until the L2 has the deposit."""
    ape = str(Path(sys.executable).with_name("ape"))
    env = {**os.environ, "VERDE_DEPLOYMENTS_DIR": str(tmp_path)}

    def run(*args: str) -> str:
        done = subprocess.run([ape, "run", *args], capture_output=True, text=True, timeout=180, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    with Anvil.start() as anvil:
        network = ["--network", f"ethereum:local:{anvil.uri}"]
        run("deploy", "--rollup", *network, "--account", "TEST::0")
        (record,) = tmp_path.glob("*.json")
        portal = json.loads(record.read_text())["contracts"]["RollupPortal"]["address"]
        with start_node("--block-time", "0", "--l1-rpc", anvil.uri, "--portal", portal) as node:
            out = run("deposit", *network, "--account", "TEST::3", "--eth", "1.5", "--to", "0x" + "be" * 20,
                      "--l2-rpc", node.url)  # fmt: skip
            assert "succeeded" in out
            assert web3(node.url).eth.get_balance(Web3.to_checksum_address("0x" + "be" * 20)) == 15 * ETH // 10
