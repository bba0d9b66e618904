"""The whole rollup as processes (rollup/system.py): a deposit from an account funded on L1 only reaches the L2;
then the processes are killed with SIGKILL (their pid, not their group) and restarted, one after the other, while
users send transactions: the sequencer, the batcher, the proposer and the verifier each come back where they were.
Afterwards the verifier, which derives the chain from L1 alone, holds every block the sequencer made (none lost), every
batch on L1 extends a different block (none posted twice), and the oracle holds one output per interval, each the
verifier's; and once the system stops, none of its processes is left running.

Run: `.venv/bin/ape test tests/rollup/test_system_crashes.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import os

import pytest
from node_support import KEYS, transfer, web3
from web3.exceptions import Web3RPCError

from rollup.abi import contract_abi
from rollup.batch import read_batches
from rollup.batcher import InboxContract, posted_frames
from rollup.system import DEMO_ROLLUP, RollupSystem, SystemConfig, operator_key

ETH = 10**18
INTERVAL = DEMO_ROLLUP.submission_interval


def test_sequencer_batcher_proposer_and_verifier_killed_and_restarted_lose_and_repeat_nothing(tmp_path):
    user = operator_key(30)  # funded on L1 only: what it has on the L2 came through the portal
    with RollupSystem(tmp_path / "system", SystemConfig(committee=0)) as system:
        l1, l2 = system.l1_web3(), system.l2_web3()
        system.anvil.rpc("anvil_setBalance", [user.address, hex(10 * ETH)])
        assert system.wait_l2_receipt(system.deposit(user, value=ETH))["status"] == "0x1"
        assert l2.eth.get_balance(user.address) == ETH
        sent: list[bytes] = []

        def traffic(count: int) -> None:
            for _ in range(count):
                sent.append(bytes(l2.eth.send_raw_transaction(transfer(l2, KEYS[2], KEYS[3].address, 1))))

        traffic(3)
        system.wait(lambda: system.batches() > 0, 60, "a first batch")
        for name in ("node", "batcher", "proposer", "verifier"):
            system.kill(name)  # SIGKILL, mid-whatever it was doing
            system.restart(name)
            l2 = system.l2_web3()
            traffic(3)
        head = l2.eth.block_number
        count, last = system.wait(lambda: system.outputs()[1] >= head and system.outputs(), 90, f"an output at {head}")
        verifier = web3(system.verifier_uri)
        system.wait(lambda: verifier.eth.block_number >= last, 60, f"the verifier at block {last}")

        # No block lost: the chain derived from L1 is the sequencer's, and holds every transaction sent.
        for number in range(head + 1):
            assert verifier.eth.get_block(number)["hash"] == l2.eth.get_block(number)["hash"], number
        for tx_hash in sent:
            assert verifier.eth.get_transaction_receipt(tx_hash)["status"] == 1
        # No batch posted twice: each batch on L1 extends another block.
        inbox = InboxContract(system.addresses["BatchInbox"])
        batches = read_batches(posted_frames(l1, inbox, system.key("batcher").address), strict=False)
        parents = [batch.parent_hash for batch in batches]
        assert len(parents) == len(set(parents)) >= head - 1
        # No output lost or posted twice: one per interval, each the verifier's.
        oracle = l1.eth.contract(address=system.addresses["L2OutputOracle"], abi=contract_abi("L2OutputOracle"))
        for index in range(count):
            root, _, block = oracle.functions.getL2Output(index).call()
            assert block == (index + 1) * INTERVAL
            want = verifier.provider.make_request("optimism_outputAtBlock", [hex(block)])["result"]["outputRoot"]
            assert "0x" + bytes(root).hex() == want
        assert "WRONG" not in system.log("verifier").read_text()
        pids = [service.proc.pid for service in system.services.values()] + [system.anvil.process.pid]
        # A replica of what L1 holds takes no transactions: the user is told where to send them.
        with pytest.raises(Web3RPCError, match="send transactions to the sequencer"):
            verifier.eth.send_raw_transaction(transfer(l2, KEYS[2], KEYS[3].address, 1))
    assert all(_gone(pid) for pid in pids)  # nothing left running


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
