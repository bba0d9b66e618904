"""One-step replay for the output dispute (rollup/replay.py) over real blocks of our L2, and the committee tool
(rollup/committee.py) deciding real games on anvil with the real OutputDispute.

The L2 (py-evm, Prague, deposits) has four blocks: 1 opens an epoch (the L1-info deposit, a user deposit, the
deployment of a contract that stores its calldata in slot 0 and BLOCKHASH(number - 2) in slot 1), 2 continues it
(the L1-info deposit, two calls and a transfer), 3 is empty, 4 holds the L1-info deposit and a call.

Run: `.venv/bin/ape test tests/rollup/test_replay.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from types import SimpleNamespace

import pytest
import rlp
from click.testing import CliRunner
from eth._utils.address import generate_contract_address
from eth.db.atomic import AtomicDB
from eth.db.journal import JournalDB
from eth.vm.chain_context import ChainContext
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from node_support import CHAIN_ID, KEYS, deploy, send, web3
from web3.logs import DISCARD

from offchain.chain.anvil import Anvil
from rollup.chain import L2Chain
from rollup.committee import Committee, main
from rollup.deposits import L1Origin, new_deposit, source_hash_user_deposit
from rollup.dispute_play import Party
from rollup.genesis import Genesis
from rollup.mempool import decode_transaction
from rollup.node import DEFAULT_GENESIS
from rollup.output import output_at
from rollup.replay import (
    Evidence,
    ReplayError,
    Witness,
    WitnessError,
    judge,
    replay_step,
    step_roots,
    step_transaction,
    step_witness,
)
from rollup.store import Store

# SSTORE(0, CALLDATALOAD(0)); SSTORE(1, BLOCKHASH(NUMBER - 2)); STOP, behind init code that returns it.
RUNTIME = bytes.fromhex("600035600055600243034060015500")
INIT = bytes.fromhex("600f80600b6000396000f3") + RUNTIME
ORIGIN = L1Origin(number=1, timestamp=1_000, basefee=10**9, hash=keccak(b"L1 block 1"))
BOND = 10**17
CLOCK = 3_600
MEMBERS = KEYS[5:8]  # the committee (threshold 2); funded on anvil too, so they can send the verdict


@cache
def _l2() -> SimpleNamespace:
    genesis = Genesis.load(DEFAULT_GENESIS)
    chain = L2Chain(genesis, Store.memory())
    builder = chain.chain.get_vm_class_for_block_number(1).get_transaction_builder()
    nonces: dict[str, int] = {}

    def tx(key, to: str | None = None, *, value: int = 0, data: bytes = b"", gas: int = 100_000):
        nonce = nonces.get(key.address, 0)
        nonces[key.address] = nonce + 1
        fields = dict(value=value, data=data, nonce=nonce, chainId=CHAIN_ID, gas=gas, maxFeePerGas=2 * 10**9,
                      maxPriorityFeePerGas=10**6, **({"to": to} if to else {}))  # fmt: skip
        return decode_transaction(bytes(key.sign_transaction(fields).raw_transaction), builder)

    contract = to_checksum_address(generate_contract_address(bytes.fromhex(KEYS[0].address[2:]), 0))
    deposit = new_deposit(source_hash=source_hash_user_deposit(ORIGIN.hash, 0), from_=b"\x11" * 20,
                          to=b"\x22" * 20, mint=10**18, value=10**17, gas=100_000)  # fmt: skip
    blocks = [
        dict(transactions=[tx(KEYS[0], data=INIT, gas=200_000)], l1_origin=ORIGIN, deposits=[deposit]),
        dict(transactions=[tx(KEYS[1], contract, data=b"\x01" * 32), tx(KEYS[2], KEYS[3].address, value=5,
             gas=21_000), tx(KEYS[3], contract, data=b"\x02" * 32)], l1_origin=ORIGIN),
        dict(transactions=[]),
        dict(transactions=[tx(KEYS[1], contract, data=b"\x03" * 32)], l1_origin=ORIGIN),
    ]  # fmt: skip
    for timestamp, block in enumerate(blocks, start=1):
        built = chain.build_block(timestamp=timestamp, **block)
        assert not built.rejected, built.rejected
    counts = {n: len(chain.block(chain.header(n)).transactions) for n in range(1, 5)}
    assert counts == {1: 3, 2: 4, 3: 0, 4: 2}
    return SimpleNamespace(genesis=genesis, chain=chain, contract=bytes.fromhex(contract[2:]), counts=counts)


def _with_slot_changed(l2: SimpleNamespace, number: int, slot: int) -> bytes:
    """Block `number`'s state root with one storage slot of the contract holding another value."""
    header = l2.chain.header(number)
    db = AtomicDB(JournalDB(l2.chain.store.db))  # the journal keeps every write away from the store
    state = l2.chain.chain.get_vm_class(header).build_state(db, header, ChainContext(CHAIN_ID))
    state.set_storage(l2.contract, slot, state.get_storage(l2.contract, slot) + 1)
    return state.make_state_root()


def _kv_rows(l2: SimpleNamespace) -> int:
    return l2.chain.store.conn.execute("SELECT count(*) FROM kv").fetchone()[0]


def test_step_roots_run_from_the_parents_state_root_to_the_headers_without_writing_the_chain():
    l2 = _l2()
    rows = _kv_rows(l2)
    for number, n in l2.counts.items():
        roots = step_roots(l2.chain, number)
        assert len(roots) == max(n, 1) + 1
        assert len(set(roots)) == len(roots) or n == 0  # an empty block of this L2 changes nothing
        assert roots[0] == l2.chain.header(number - 1).state_root
        assert roots[-1] == l2.chain.header(number).state_root
        step_witness(l2.chain, number, max(n, 1) - 1)
    assert _kv_rows(l2) == rows
    with pytest.raises(ReplayError):
        step_roots(l2.chain, 5)


def test_every_step_replays_from_its_witness_alone():
    l2 = _l2()
    sizes = []
    for number, n in l2.counts.items():
        header, roots = l2.chain.header(number), step_roots(l2.chain, number)
        for step in range(max(n, 1)):
            tx, witness = step_transaction(l2.chain, number, step), step_witness(l2.chain, number, step)
            assert (tx == b"") == (n == 0)
            assert replay_step(l2.genesis, header, roots[step], step, n, tx, witness) == roots[step + 1]
            sizes.append(len(witness))
    # Step 1 of block 2 reads BLOCKHASH(0): the header of block 1 links it to block 2's parentHash.
    assert len(Witness.decode(step_witness(l2.chain, 2, 1)).headers) == 1
    print(f"\nwitness bytes per step: {sizes}")


def test_a_witness_without_any_one_of_its_items_does_not_suffice():
    l2 = _l2()
    header, roots = l2.chain.header(2), step_roots(l2.chain, 2)
    tx, full = step_transaction(l2.chain, 2, 1), Witness.decode(step_witness(l2.chain, 2, 1))
    for part in ("nodes", "headers", "transaction_proof"):
        items = getattr(full, part)
        assert items
        for i in range(len(items)):
            lacking = dataclasses.replace(full, **{part: items[:i] + items[i + 1 :]})
            with pytest.raises(WitnessError):
                replay_step(l2.genesis, header, roots[1], 1, 4, tx, lacking.encode())
    with pytest.raises(WitnessError):
        replay_step(l2.genesis, header, roots[1], 1, 4, tx, b"\xc0")


def test_only_the_headers_transaction_at_the_step_is_replayed():
    l2 = _l2()
    header, roots = l2.chain.header(2), step_roots(l2.chain, 2)
    tx1, w1 = step_transaction(l2.chain, 2, 1), step_witness(l2.chain, 2, 1)
    tx2, w2 = step_transaction(l2.chain, 2, 2), step_witness(l2.chain, 2, 2)
    both = Witness.decode(w1).union(Witness.decode(w2)).encode()
    with pytest.raises(WitnessError):  # transaction 2 posted as step 1
        replay_step(l2.genesis, header, roots[1], 1, 4, tx2, both)
    with pytest.raises(WitnessError):  # the right transaction against another block's header
        replay_step(l2.genesis, l2.chain.header(4), roots[1], 1, 4, tx1, w1)
    with pytest.raises(ReplayError):  # no step 4 in a block of 4 transactions
        replay_step(l2.genesis, header, roots[3], 4, 4, b"", w1)
    last = step_witness(l2.chain, 2, 3)
    with pytest.raises(WitnessError):  # a count of 3 makes step 2 the last: the trie holds a transaction 3
        replay_step(l2.genesis, header, roots[2], 2, 3, tx2, Witness.decode(last).union(Witness.decode(w2)).encode())
    assert replay_step(l2.genesis, header, roots[1], 1, 4, tx1, both) == roots[2]


def test_judge_gives_the_step_to_whoever_replays_right():
    l2 = _l2()
    header, roots = l2.chain.header(4), step_roots(l2.chain, 4)
    tx, witness = step_transaction(l2.chain, 4, 1), step_witness(l2.chain, 4, 1)
    honest = Evidence(roots[2], tx, witness)
    tampered = _with_slot_changed(l2, 4, 0)
    assert tampered not in roots

    def verdict(defender: Evidence, challenger: Evidence) -> Party:
        return judge(l2.genesis, header, roots[1], 1, 2, defender, challenger)

    assert verdict(honest, Evidence(tampered, b"", b"")) == Party.DEFENDER
    assert verdict(Evidence(tampered, tx, witness), honest) == Party.CHALLENGER
    # The union of both witnesses: the defender's may be empty or garbage when the challenger's suffices.
    assert verdict(Evidence(roots[2], tx, b"garbage"), Evidence(tampered, b"", witness)) == Party.DEFENDER
    assert verdict(Evidence(roots[2], tx, b""), Evidence(tampered, b"", b"")) == Party.CHALLENGER
    other = step_transaction(l2.chain, 4, 0)
    assert verdict(Evidence(roots[2], other, witness), Evidence(tampered, b"", b"")) == Party.CHALLENGER


def _proof(output) -> tuple[bytes, bytes, bytes, bytes]:
    return (b"\x00" * 32, output.state_root, output.message_passer_storage_root, output.block_hash)


def test_the_committee_tool_resolves_real_games_for_the_right_side(project, tmp_path):
    l2 = _l2()
    chain = l2.chain
    outputs = {n: output_at(chain, chain.header(n)) for n in range(5)}
    roots2, roots4 = step_roots(chain, 2), step_roots(chain, 4)
    # The lying proposer's block 4: slot 0 of the contract wrong after its last step, so its header and output too.
    fake_header = chain.header(4).copy(state_root=_with_slot_changed(l2, 4, 0))
    fake = dataclasses.replace(outputs[4], block_hash=fake_header.hash, state_root=fake_header.state_root)
    deployer, alice, bob = KEYS[0], KEYS[1], KEYS[2]

    with Anvil.start() as anvil:
        l1 = web3(anvil.uri)

        def move(key, fn, value: int = 0):
            # Gas set, not estimated: an estimate made within the second of the last block writes the same
            # turnStartedAt (a cheap SSTORE) and comes out short for a block one second later.
            return send(l1, key, fn, value=value, gas=2_000_000)

        oracle, _ = deploy(l1, deployer, project.MockOutputOracle, 0, deployer.address)
        game, deployed = deploy(l1, deployer, project.OutputDispute, oracle.address, deployer.address,
                                outputs[0].root, BOND, CLOCK, 16, 16)  # fmt: skip
        move(deployer, oracle.functions.grantRole(oracle.functions.DISPUTE_ROLE().call(), game.address))
        move(deployer, game.functions.setCommittee([m.address for m in MEMBERS], 2))
        move(alice, oracle.functions.proposeL2Output(outputs[2].root, 2), value=1)
        move(alice, oracle.functions.proposeL2Output(fake.root, 4), value=1)
        g = game.functions

        def opened(index: int) -> int:
            receipt = move(bob, g.openDispute(index), value=BOND)
            return game.events.DisputeOpened().process_receipt(receipt, errors=DISCARD)[0]["args"]["disputeId"]

        # Dispute 1: alice's output of block 2 is right; bob wrongly disputes step 1 (the call reading BLOCKHASH).
        first = opened(0)
        move(alice, g.postRoots(first, [outputs[1].root]))
        move(bob, g.pick(first, 1, [outputs[1].root]))
        move(alice, g.revealBlock(first, _proof(outputs[1]), _proof(outputs[2]), rlp.encode(chain.header(2)), 4))
        move(bob, g.disputeTransactions(first, b"\x01" * 32))
        move(alice, g.postRoots(first, roots2[1:4]))
        move(bob, g.pick(first, 1, roots2[1:4]))
        evidence = (step_transaction(chain, 2, 1), step_witness(chain, 2, 1))
        move(alice, g.postEvidence(first, roots2[2], *evidence))
        move(bob, g.postEvidence(first, b"\x01" * 32, b"", b""))

        # Dispute 2: alice's output of block 4 is wrong at its last step; bob disputes it rightly.
        second = opened(1)
        move(alice, g.postRoots(second, [outputs[3].root]))
        move(bob, g.pick(second, 1, [outputs[3].root]))
        move(alice, g.revealBlock(second, _proof(outputs[3]), _proof(fake), rlp.encode(fake_header), 2))
        move(bob, g.disputeTransactions(second, roots4[2]))
        move(alice, g.postRoots(second, [roots4[1]]))
        move(bob, g.pick(second, 1, [roots4[1]]))
        evidence = (step_transaction(chain, 4, 1), step_witness(chain, 4, 1))
        move(alice, g.postEvidence(second, fake.state_root, *evidence))
        move(bob, g.postEvidence(second, roots4[2], *evidence))

        def committee(*keys, genesis: Genesis = l2.genesis) -> Committee:
            return Committee(l1, game.address, genesis, keys, l1_start=deployed.blockNumber)

        # A committee on another chain's rules cannot read the headers: both records are bad, logged and skipped.
        news = committee(MEMBERS[0], MEMBERS[1], genesis=_shanghai(l2.genesis)).step()
        assert len(news) == 2 and all("bad record, skipped" in line for line in news), news
        # One member's signature is not the threshold: nothing is sent.
        news = committee(MEMBERS[0]).step()
        assert len(news) == 2 and all("1 of the 2 signatures" in line for line in news), news
        tool = committee(MEMBERS[0], MEMBERS[1])
        news = tool.step()
        print("\n" + "\n".join(news))
        assert "Defender wins" in news[0] and "Challenger wins" in news[1] and all("resolved" in n for n in news), news
        assert tool.step() == []

        fields = next(a for a in game.abi if a.get("name") == "disputeOf")["outputs"][0]["components"]
        winner = [f["name"] for f in fields].index("winner")
        assert g.disputeOf(first).call()[winner] == Party.DEFENDER
        assert g.disputeOf(second).call()[winner] == Party.CHALLENGER
        assert oracle.functions.nextOutputIndex().call() == 1  # the wrong output is gone, the right one stays
        assert not oracle.functions.disputed(0).call()

        # Dispute 3: block 3 proposed again, rightly; bob disputes the block itself (Kind.Block), not its execution.
        move(alice, oracle.functions.proposeL2Output(outputs[3].root, 3), value=1)
        third = opened(1)
        move(alice, g.revealBlock(third, _proof(outputs[2]), _proof(outputs[3]), rlp.encode(chain.header(3)), 0))
        move(bob, g.disputeBlock(third))
        move(alice, g.postEvidence(third, outputs[3].root, b"", b""))
        move(bob, g.postEvidence(third, b"\x01" * 32, b"", b""))
        (news,) = tool.step()
        assert f"dispute {third}: Kind.Block" in news and "left to expire" in news

        # The CLI, as a fresh process would: nothing left to do.
        files = []
        for i, member in enumerate(MEMBERS[1:]):
            files += ["--key-file", str(tmp_path / f"member{i}.key")]
            (tmp_path / f"member{i}.key").write_text(member.key.hex())
        args = ["--l1-rpc", anvil.uri, "--game", game.address, "--l1-start", str(deployed.blockNumber), "--once"]
        result = CliRunner().invoke(main, [*args, *files])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()[1:]
        assert [line.split(":")[0] for line in lines] == [f"dispute {i}" for i in (first, second, third)]
        assert "already resolved" in lines[0] and "already resolved" in lines[1] and "left to expire" in lines[2]


def _shanghai(genesis: Genesis) -> Genesis:
    config = {k: v for k, v in genesis.config.items() if k not in ("cancunTime", "pragueTime")}
    return dataclasses.replace(genesis, time_forks=genesis.time_forks[:1], config=config)


def test_the_cli_stops_with_one_line_without_a_usable_key(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    args = ["--l1-rpc", "http://127.0.0.1:1", "--game", "0x" + "11" * 20, "--once"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "no committee key" in result.output
    result = CliRunner().invoke(main, [*args, "--key-file", str(bad)])
    assert result.exit_code == 1 and "not a private key" in result.output
