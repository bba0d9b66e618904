"""The verifier (rollup/verifier.py) on a real L1 (anvil with the oracle, portal, inbox and OutputDispute) and a
real L2 node whose blocks the batcher posts: it derives the chain from L1 alone and agrees with every honest output;
a proposer posting a wrong output (one storage slot of the message passer: a withdrawal never sent) is challenged
and loses, the dispute pinning the one transaction after which the lie shows, and the withdrawal proven against the
wrong output never finalizes; an honest output survives a lying challenger.

Run: `.venv/bin/ape test tests/rollup/test_verifier.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from node_support import KEYS, deploy, send, start_node, transfer, web3

from offchain.chain.anvil import Anvil
from rollup.batcher import Batcher, InboxContract, L2Source
from rollup.chain import L2Chain
from rollup.committee import Committee
from rollup.derivation import Deriver
from rollup.derive import L1Deposits
from rollup.dispute import ChainView, LyingView, Player, game_contract
from rollup.dispute_play import COMMITTEE, THRESHOLD, Party, Phase
from rollup.genesis import Genesis
from rollup.node import DEFAULT_GENESIS
from rollup.output import MESSAGE_PASSER, output_at
from rollup.store import Store
from rollup.verifier import Verifier, oracle_contract
from rollup.withdraw import Refused, Withdrawal, WithdrawalProof, WithdrawalTransaction, finalize, prove, storage_slot

ETH = 10**18
INTERVAL = 16  # L2 blocks per output (the first ones only carry L1-info deposits: the set-up's L1 blocks)
PROPOSER_BOND = 10**16
CHALLENGER_BOND = 2 * 10**16
ADMIN, PROPOSER, BATCHER, CHALLENGER = KEYS[0], KEYS[1], KEYS[7], KEYS[8]


def _chain() -> L2Chain:
    return L2Chain(Genesis.load(DEFAULT_GENESIS), Store.memory())


@pytest.fixture(scope="module")
def built(project, tmp_path_factory):
    """anvil with the contracts, and the batches of an L2 node's blocks in the inbox (the node is gone after: the
    verifier reads L1 only). Built once; each test runs on an L1 snapshot of it."""
    with Anvil.start() as anvil:
        l1 = web3(anvil.uri)
        oracle, _ = deploy(l1, ADMIN, project.L2OutputOracle, INTERVAL, 1, 0, 0, 3600, PROPOSER_BOND, ADMIN.address)
        portal, deployed = deploy(l1, ADMIN, project.RollupPortal, oracle.address, 10)
        inbox, _ = deploy(l1, ADMIN, project.BatchInbox, ADMIN.address)
        genesis_output = output_at(_chain(), _chain().head).root
        game, _ = deploy(l1, ADMIN, project.OutputDispute, oracle.address, ADMIN.address, genesis_output,
                         CHALLENGER_BOND, 3600, 16, 16)  # fmt: skip
        send(l1, ADMIN, oracle.functions.grantRole(oracle.functions.PROPOSER_ROLE().call(), PROPOSER.address))
        send(l1, ADMIN, oracle.functions.grantRole(oracle.functions.PROPOSER_ROLE().call(), CHALLENGER.address))
        send(l1, ADMIN, oracle.functions.grantRole(oracle.functions.DISPUTE_ROLE().call(), game.address))
        send(l1, ADMIN, inbox.functions.grantRole(inbox.functions.BATCHER_ROLE().call(), BATCHER.address))
        send(l1, ADMIN, game.functions.setCommittee([m.address for m in COMMITTEE], THRESHOLD))
        l1.eth.wait_for_transaction_receipt(
            l1.eth.send_transaction({"from": l1.eth.accounts[9], "to": COMMITTEE[0].address, "value": ETH})
        )
        start = deployed.blockNumber
        args = ["--block-time", "0", "--l1-rpc", anvil.uri, "--portal", portal.address, "--l1-start", str(start)]
        with start_node(*args) as node:
            l2 = web3(node.url)
            deposit = portal.functions.depositTransaction(KEYS[4].address, ETH, 100_000, False, b"")
            send(l1, KEYS[4], deposit, value=ETH)
            for i in range(2 * INTERVAL):
                l2.eth.send_raw_transaction(transfer(l2, KEYS[2 + i % 2], KEYS[5].address, 1 + i))
            batcher = Batcher(l1, L2Source(node.url), InboxContract(inbox.address), BATCHER,
                              tmp_path_factory.mktemp("batcher"), say=lambda _: None)  # fmt: skip
            while batcher.step():
                pass
            batcher.close()
            hashes = [bytes(l2.eth.get_block(n)["hash"]) for n in range(l2.eth.block_number + 1)]

        def deriver() -> Deriver:
            return Deriver(_chain(), L1Deposits(l1, portal.address, start=start), InboxContract(inbox.address),
                           batcher=BATCHER.address)  # fmt: skip

        game = game_contract(l1, game.address)  # its structs read by field name
        yield SimpleNamespace(anvil=anvil, l1=l1, l2_hashes=hashes, oracle=oracle, portal=portal, game=game,
                              start=start, deriver=deriver)  # fmt: skip


@pytest.fixture
def rollup(built):
    snapshot = built.anvil.rpc("evm_snapshot", [])
    yield built
    built.anvil.rpc("evm_revert", [snapshot])


def _verifier(r, key, said: list[str]) -> Verifier:
    deriver = r.deriver()
    player = Player(r.l1, r.game.address, key, ChainView(deriver.chain), from_block=r.start, say=said.append)
    return Verifier(deriver, oracle_contract(r.l1, r.oracle.address), player=player, say=said.append)


def _committee(r) -> None:
    news = Committee(r.l1, r.game.address, Genesis.load(DEFAULT_GENESIS), COMMITTEE[:THRESHOLD], r.start).step()
    assert len(news) == 1 and "resolved" in news[0], news


def _play(game, *players) -> None:
    """Every side moves until the committee has the record (or the game is over)."""
    for _ in range(80):
        for player in players:
            player.step() if isinstance(player, Verifier) else player.play()
        count = game.functions.disputeCount().call()
        if count and game.functions.disputeOf(count).call().phase in (Phase.COMMITTEE, Phase.RESOLVED):
            return
    raise AssertionError("the dispute never reached the committee")


def test_the_verifier_derives_the_chain_and_agrees_with_honest_outputs(rollup):
    said: list[str] = []
    verifier = _verifier(rollup, CHALLENGER, said)
    verifier.step()
    head = verifier.deriver.safe_head.block_number
    assert head >= 2 * INTERVAL
    for number, block_hash in enumerate(rollup.l2_hashes[: head + 1]):
        assert verifier.deriver.chain.header(number).hash == block_hash
    for block in (INTERVAL, 2 * INTERVAL):
        root = output_at(verifier.deriver.chain, verifier.deriver.chain.header(block)).root
        send(rollup.l1, PROPOSER, rollup.oracle.functions.proposeL2Output(root, block), value=PROPOSER_BOND)
    verifier.step()
    assert [c.agrees for c in verifier.checked] == [True, True]
    assert rollup.game.functions.disputeCount().call() == 0


def test_a_wrong_output_is_challenged_and_removed_and_its_withdrawal_never_finalizes(rollup):
    r = rollup
    # The liar derives the same chain, then adds a withdrawal nobody sent to the message passer after block `bad`.
    liar_chain = r.deriver()
    liar_chain.step()
    honest = ChainView(liar_chain.chain)
    bad = max(range(1, INTERVAL + 1), key=honest.tx_count)  # a block of several steps: the bisection pins one
    assert honest.tx_count(bad) >= 2
    fake = WithdrawalTransaction(0, PROPOSER.address, PROPOSER.address, ETH // 2, 100_000, b"")
    slot = int.from_bytes(storage_slot(fake.hash), "big")
    lie = LyingView(liar_chain.chain, bad, MESSAGE_PASSER, slot, 1)
    send(r.l1, PROPOSER, r.oracle.functions.proposeL2Output(lie.output_root(INTERVAL), INTERVAL), value=PROPOSER_BOND)
    # ...and proves the withdrawal against its output: the portal cannot tell.
    withdrawal = Withdrawal(fake, fake.hash, INTERVAL, b"")
    proof = WithdrawalProof(0, lie.preimage(INTERVAL), lie.passer_proof(INTERVAL, slot))
    prove(r.portal, PROPOSER, withdrawal, proof)

    said: list[str] = []
    verifier = _verifier(r, CHALLENGER, said)
    liar = Player(r.l1, r.game.address, PROPOSER, lie, from_block=r.start, say=said.append)
    _play(r.game, verifier, liar)
    assert any("is WRONG" in line for line in said)
    d = r.game.functions.disputeOf(1).call()
    # Pinned: block `bad`, its last step (the lie shows after its last transaction).
    assert (d.l2Block, d.txIndex) == (bad, honest.steps(bad) - 1)
    _committee(r)
    d = r.game.functions.disputeOf(1).call()
    assert d.winner == Party.CHALLENGER
    assert r.oracle.functions.nextOutputIndex().call() == 0  # the output is gone
    before = r.l1.eth.get_balance(CHALLENGER.address)
    verifier.step()  # settles: bond back, and the proposer's bond claimed
    assert any("challenger won" in line for line in said)
    assert r.l1.eth.get_balance(CHALLENGER.address) > before + PROPOSER_BOND + CHALLENGER_BOND - 10**16

    # However long the liar waits, the withdrawal never finalizes, and the portal keeps the deposit's ether.
    r.anvil.increase_time(7200)
    held = r.l1.eth.get_balance(r.portal.address)
    with pytest.raises(Refused):
        finalize(r.portal, PROPOSER, withdrawal)
    assert r.l1.eth.get_balance(r.portal.address) == held == ETH


def test_an_honest_output_survives_a_lying_challenger(rollup):
    r = rollup
    said: list[str] = []
    defender = _verifier(r, PROPOSER, said)  # the proposer's key: it defends its own outputs
    defender.step()
    root = output_at(defender.deriver.chain, defender.deriver.chain.header(INTERVAL)).root
    send(r.l1, PROPOSER, r.oracle.functions.proposeL2Output(root, INTERVAL), value=PROPOSER_BOND)
    liar_chain = r.deriver()
    liar_chain.step()
    lie = LyingView(liar_chain.chain, 2, MESSAGE_PASSER, 12345, 1)
    liar = Player(r.l1, r.game.address, CHALLENGER, lie, from_block=r.start, say=said.append)
    liar.challenge(0)
    _play(r.game, defender, liar)
    _committee(r)
    assert r.game.functions.disputeOf(1).call().winner == Party.DEFENDER
    assert r.oracle.functions.nextOutputIndex().call() == 1
    assert r.oracle.functions.getL2Output(0).call()[0] == root
    defender.step()
    assert any("defender won" in line for line in said)
