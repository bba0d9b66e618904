"""The L2 node as a participant meets it: a `python -m rollup.node` process reached over HTTP by web3.py.

Contracts deploy, answer calls, take value and emit events with the same gas as on Ape's test network; a
restart and a SIGKILL lose no accepted block; a second, empty node re-executes the sequencer's raw blocks to the
same state root; every bad input gets its JSON-RPC error and the node keeps serving.

Run: `.venv/bin/ape test tests/rollup/test_node_process.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
import rlp
from eth_account import Account
from node_support import CHAIN_ID, KEYS, deploy, rpc, send, start_node, transfer, web3
from web3 import Web3
from web3.exceptions import ContractCustomError, Web3RPCError

STAGES = [30, 30, 30]
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_web3_deploys_calls_and_reads_events_with_the_test_networks_gas(project, accounts, chain):
    deployer, admin_user = accounts[0], accounts[1]
    # The same deployments and calls on Ape's test network (py-evm through eth-tester) give the reference gas.
    registry_ref = deployer.deploy(project.IdentityRegistry)
    swarm_ref = deployer.deploy(project.SwarmCoordinator, registry_ref.address, deployer.address, STAGES, 10**15, 8)
    ref_boot = swarm_ref.addBootnodes(["/ip4/127.0.0.1/tcp/4001"], sender=deployer)
    ref_grant = swarm_ref.grantRole(swarm_ref.BOOTNODE_MANAGER_ROLE(), admin_user.address, sender=deployer)

    with start_node("--block-time", "0") as node:
        w3 = web3(node.url)
        assert w3.eth.chain_id == CHAIN_ID
        key, other = KEYS[0], KEYS[1]
        assert key.address == deployer.address  # Ape's test accounts are the genesis's funded dev accounts
        registry, r1 = deploy(w3, key, project.IdentityRegistry)
        swarm, r2 = deploy(w3, key, project.SwarmCoordinator, registry.address, key.address, STAGES, 10**15, 8)
        assert r1.gasUsed == chain.get_receipt(registry_ref.txn_hash).gas_used
        assert r2.gasUsed == chain.get_receipt(swarm_ref.txn_hash).gas_used
        # The same code, up to the immutables the constructor fills in (the round clock starts at deployment).
        assert len(w3.eth.get_code(swarm.address)) == len(chain.provider.get_code(swarm_ref.address))

        boot = send(w3, key, swarm.functions.addBootnodes(["/ip4/127.0.0.1/tcp/4001"]))
        assert boot.gasUsed == ref_boot.gas_used
        assert swarm.functions.getBootnodes().call() == swarm_ref.getBootnodes()
        grant = send(w3, key, swarm.functions.grantRole(swarm.functions.BOOTNODE_MANAGER_ROLE().call(), other.address))
        assert grant.gasUsed == ref_grant.gas_used

        # Events: from the receipt, and found again through eth_getLogs and a polling filter.
        granted = swarm.events.RoleGranted().process_receipt(grant)
        assert [e.args.account for e in granted] == [other.address]
        found = swarm.events.RoleGranted().get_logs(from_block=0)
        assert [e.args.account for e in found][-1] == other.address
        flt = swarm.events.RoleRevoked().create_filter(from_block="latest")
        send(w3, key, swarm.functions.revokeRole(swarm.functions.BOOTNODE_MANAGER_ROLE().call(), other.address))
        assert [e.args.account for e in flt.get_new_entries()] == [other.address]
        assert flt.get_new_entries() == []

        # Value: a transfer moves exactly the value, and the fee is gas used times the effective price.
        before = w3.eth.get_balance(other.address)
        sent = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(transfer(w3, key, other.address, 12345))
        )
        assert w3.eth.get_balance(other.address) == before + 12345
        block = w3.eth.get_block(sent.blockNumber)
        assert sent.effectiveGasPrice == block.baseFeePerGas + 10**6
        # A revert comes back with its data, which web3.py decodes: OpenZeppelin's
        # AccessControlUnauthorizedAccount(account, role) for a caller without the role.
        with pytest.raises(ContractCustomError) as reverted:
            swarm.functions.addBootnodes(["x"]).call({"from": other.address})
        selector = Web3.keccak(text="AccessControlUnauthorizedAccount(address,bytes32)")[:4].hex()
        assert reverted.value.data.startswith("0x" + selector)


def test_a_restart_and_a_sigkill_lose_no_accepted_block(tmp_path):
    datadir = str(tmp_path / "l2")
    receiver = Account.create().address
    accepted: list[bytes] = []
    with start_node("--block-time", "0", "--datadir", datadir) as node:
        w3 = web3(node.url)
        for _ in range(5):
            accepted.append(w3.eth.send_raw_transaction(transfer(w3, KEYS[2], receiver, 1)))
        head = w3.eth.get_block("latest")
    with start_node("--block-time", "0", "--datadir", datadir) as node:  # after SIGTERM
        w3 = web3(node.url)
        assert w3.eth.get_block("latest") == head
        assert all(w3.eth.get_transaction_receipt(h).status == 1 for h in accepted)

        # A client sending as fast as it can while the node is SIGKILLed: every hash the node returned was
        # sealed into a block before the reply, so it must be there after the restart.
        stop = threading.Event()

        def send() -> None:
            nonce = w3.eth.get_transaction_count(KEYS[3].address)
            while not stop.is_set():
                try:
                    accepted.append(w3.eth.send_raw_transaction(transfer(w3, KEYS[3], receiver, 1, nonce=nonce)))
                    nonce += 1
                except Exception:
                    return

        sender = threading.Thread(target=send)
        sender.start()
        while len(accepted) < 15:
            threading.Event().wait(0.05)
        node.kill()
        stop.set()
        sender.join(30)
    with start_node("--block-time", "0", "--datadir", datadir) as node:
        w3 = web3(node.url)
        head = w3.eth.get_block("latest")
        for h in accepted:
            assert w3.eth.get_transaction_receipt(h).status == 1
        for n in range(1, head.number + 1):  # every block whole: header, body and receipts
            block = w3.eth.get_block(n, full_transactions=True)
            assert len(w3.eth.get_block_receipts(n)) == len(block.transactions)
        assert w3.eth.get_balance(receiver, head.number) == sum(
            len(w3.eth.get_block(n).transactions) for n in range(1, head.number + 1)
        )
        # The state the restarted node resumes from is the one its blocks lead to: an empty node re-executing
        # them reaches the same state root.
        with start_node("--no-sequencer") as replica:
            for n in range(1, head.number + 1):
                raw = rpc(node.url, "debug_getRawBlock", [hex(n)])["result"]
                assert "result" in rpc(replica.url, "debug_importRawBlock", [raw])
            assert web3(replica.url).eth.get_block("latest").stateRoot == head.stateRoot
        # And it keeps producing blocks on top.
        more = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(transfer(w3, KEYS[4], receiver, 1)))
        assert more.blockNumber == head.number + 1


def test_a_second_node_reexecutes_the_raw_blocks_to_the_same_state_root(project):
    with start_node("--block-time", "0") as sequencer, start_node("--no-sequencer") as replica:
        w3 = web3(sequencer.url)
        key = KEYS[5]
        registry, _ = deploy(w3, key, project.IdentityRegistry)
        swarm, _ = deploy(w3, key, project.SwarmCoordinator, registry.address, key.address, STAGES, 1, 8)
        send(w3, key, swarm.functions.addBootnodes(["/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"]))
        w3.eth.send_raw_transaction(transfer(w3, KEYS[6], KEYS[7].address, 10**18))
        head = w3.eth.block_number
        r3 = web3(replica.url)
        for n in range(1, head + 1):
            raw = rpc(sequencer.url, "debug_getRawBlock", [hex(n)])["result"]
            assert rpc(replica.url, "debug_importRawBlock", [raw])["result"] == w3.eth.get_block(n).hash.to_0x_hex()
        assert r3.eth.get_block("latest").stateRoot == w3.eth.get_block("latest").stateRoot
        assert r3.eth.get_block("latest").hash == w3.eth.get_block("latest").hash
        assert r3.eth.call({"to": swarm.address, "data": swarm.encode_abi("getBootnodes")}) == w3.eth.call(
            {"to": swarm.address, "data": swarm.encode_abi("getBootnodes")}
        )
        # A block the replica already has, or one with a changed state root, is refused and changes nothing.
        raw = rpc(sequencer.url, "debug_getRawBlock", ["0x1"])["result"]
        assert "not on top of the head" in rpc(replica.url, "debug_importRawBlock", [raw])["error"]["message"]
        assert r3.eth.block_number == head


def test_every_bad_input_gets_its_error_and_the_node_keeps_serving():
    with start_node("--block-time", "0", "--max-body-bytes", "300000") as node:
        url = node.url
        w3 = web3(url)
        key = KEYS[8]
        w3.eth.send_raw_transaction(transfer(w3, key, KEYS[9].address, 1))
        head = w3.eth.get_block("latest")

        assert rpc(url, "", raw=b'{"jsonrpc":"2.0","id":1,"method":')["error"]["code"] == -32700
        assert rpc(url, "", raw=b"[]")["error"]["code"] == -32600
        assert rpc(url, "", raw=b'{"id":1}')["error"]["code"] == -32600
        assert rpc(url, "eth_noSuchMethod")["error"]["code"] == -32601
        assert rpc(url, "eth_getBalance", ["0x1234"])["error"]["code"] == -32602
        assert rpc(url, "eth_getBalance", [])["error"]["code"] == -32602
        assert rpc(url, "eth_getBlockByNumber", ["0x01", False])["error"]["code"] == -32602
        assert rpc(url, "evm_mine")["error"]["code"] == -32601  # not a --dev node
        status, body = rpc(
            url, "", raw=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "x", "p": "a" * 400_000}).encode()
        )
        assert status == 413 and body["error"]["code"] == -32600
        batch = rpc(
            url,
            "",
            raw=b'[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"nope"}, 5]',
        )
        assert [("result" in r, r.get("error", {}).get("code")) for r in batch] == [
            (True, None),
            (False, -32601),
            (False, -32600),
        ]

        def refused(raw: bytes, wanted: str) -> None:
            reply = rpc(url, "eth_sendRawTransaction", ["0x" + raw.hex()])
            assert reply["error"]["code"] == -32000, reply
            assert wanted in reply["error"]["message"], reply

        good = transfer(w3, key, KEYS[9].address, 1)
        # The same signature with s mirrored above n/2: recoverable, but invalid since EIP-2.
        fields = rlp.decode(good[1:])
        fields[-1] = (SECP256K1_N - int.from_bytes(fields[-1], "big")).to_bytes(32, "big")
        refused(b"\x02" + rlp.encode(fields), "invalid sender")
        refused(transfer(w3, key, KEYS[9].address, 1, chainId=1), "invalid chain id")
        refused(transfer(w3, key, KEYS[9].address, 1, nonce=0), "nonce too low")
        refused(transfer(w3, Account.create(), KEYS[9].address, 1, nonce=0), "insufficient funds")
        refused(transfer(w3, key, KEYS[9].address, 1, gas=20_000), "intrinsic gas too low")
        refused(transfer(w3, key, KEYS[9].address, 1, gas=40_000_000), "exceeds block gas limit")
        refused(transfer(w3, key, KEYS[9].address, 0, gas=3_000_000, data=b"\x01" * 132_000), "oversized data")
        refused(b"\x02\xc0", "rlp")
        assert w3.eth.get_block("latest") == head  # nothing refused changed the chain
        assert rpc(url, "eth_sendRawTransaction", ["0x" + good.hex()])["result"]  # the good one goes in, once
        assert w3.eth.get_block("latest").number == head.number + 1
        with pytest.raises(Web3RPCError, match="nonce too low"):
            w3.eth.send_raw_transaction(good)
        assert w3.eth.get_block("latest").number == head.number + 1
        assert w3.eth.block_number == head.number + 1
        assert w3.eth.get_transaction_receipt(
            w3.eth.send_raw_transaction(transfer(w3, key, KEYS[9].address, 1))
        ).status


def test_a_block_time_seals_pending_transactions_together_and_empty_blocks_between():
    with start_node("--block-time", "0.5") as node:
        w3 = web3(node.url)
        start = w3.eth.block_number
        hashes = [w3.eth.send_raw_transaction(transfer(w3, KEYS[i], KEYS[9].address, 1)) for i in range(3)]
        receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=10, poll_latency=0.1) for h in hashes]
        assert len({r.blockNumber for r in receipts}) <= 2  # sent within one block time: one block, or two
        threading.Event().wait(1.2)
        later = w3.eth.block_number
        assert later >= max(r.blockNumber for r in receipts) + 2  # empty blocks keep coming
        assert later > start


def test_wrong_arguments_are_refused_with_a_clear_message(tmp_path):
    def fails(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "rollup.node", "--port", "0", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode != 0
        return done.stderr

    bad = tmp_path / "bad.json"
    bad.write_text('{"config": {"chainId": 0}}')
    assert "chainId must not be 0" in fails("--genesis", str(bad))
    assert "not a 20-byte hex address" in fails("--fee-recipient", "0x1234")
    nobody = "http://127.0.0.1:9"  # the discard port: nothing listens
    assert f"no L1 answers at {nobody}" in fails("--l1-rpc", nobody, "--portal", "0x" + "11" * 20)
    with start_node("--datadir", str(tmp_path / "l2")):
        assert "another node is using this datadir" in fails("--datadir", str(tmp_path / "l2"))
