"""OutputDispute played to the end: a proposer lying at one transaction of one block in 1,024 is pinned to that
block and that transaction and loses its output and its bond; a lying challenger loses its bond and the output
stays; a wrong message passer root is judged as a block; an empty block; a dispute whose output an earlier
dispute deleted. `-s` prints the moves and gas of the 1,024-block dispute (docs/rollup.md quotes them).

Run: `.venv/bin/ape test tests/rollup/dispute -q -p no:cacheprovider -s`
"""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak
from output_dispute_support import (
    BLOCKS_ARITY,
    CHALLENGER_BOND,
    HONEST,
    INTERVAL,
    MOVE_GAS_CAP,
    OPEN_GAS_CAP,
    PROPOSER_BOND,
    TXS_ARITY,
    VERDICT_GAS_CAP,
    Kind,
    Party,
    Phase,
    Resolution,
    ToyL2,
    witness,
)


def _rounds(n: int, k: int) -> int:
    """Rounds a k-ary bisection over n positions takes at most."""
    rounds = 0
    while n > 1:
        n = -(-n // min(k, n))
        rounds += 1
    return rounds


def _event(receipt, contract, name):
    return receipt.events.filter(getattr(contract, name))[0]


def test_lying_proposer_is_pinned_to_its_block_and_transaction_over_1024_blocks(
    dispute, oracle, propose, open_game, alice, bob, eve, chain
):
    """The proposer's output over blocks (0, 1024] is wrong from transaction 3 of block 700 on. The challenger
    pins block 700, then transaction 3 (pre-state agreed, the proposer's post-state not), the committee decides
    for the challenger, the output and the later one are deleted, the proposer's bond goes to the challenger and
    the challenger's comes back."""
    bad_block, bad_tx = 700, 3
    liar = ToyL2(bad=(bad_block, bad_tx))
    propose(liar, count=2)
    game = open_game(0, challenger_l2=HONEST, defender_l2=liar)
    assert oracle.disputed(0) and dispute.disputeOfOutput(0) == game.dispute_id
    opened = _event(game.opening, dispute, "DisputeOpened")
    assert (opened.lo, opened.hi, opened.agreedRoot) == (0, INTERVAL, HONEST.output_root(0))

    block_rounds = game.bisect()
    pinned = _event(game.receipts[-1], dispute, "BlockPinned")
    assert pinned.l2Block == bad_block
    assert pinned.agreedOutputRoot == HONEST.output_root(bad_block - 1)
    assert pinned.disputedOutputRoot == liar.output_root(bad_block)

    revealed = _event(game.reveal(), dispute, "BlockRevealed")
    assert revealed.transactionsRoot == liar.header_fields(bad_block)[4]
    assert revealed.txCount == liar.tx_count(bad_block) and revealed.header == liar.header(bad_block)
    game.answer_block()
    tx_rounds = game.bisect()
    step = _event(game.receipts[-1], dispute, "TransactionPinned")
    assert (step.l2Block, step.txIndex) == (bad_block, bad_tx)
    assert step.preStateRoot == HONEST.state_root(bad_block, bad_tx)
    assert step.defenderPostRoot == liar.state_root(bad_block, bad_tx + 1)

    game.evidence()
    sealed = _event(game.receipts[-1], dispute, "RecordSealed")
    d = game.d
    assert d.phase == Phase.COMMITTEE and d.kind == Kind.TRANSACTION
    # The record binds everything the committee judges, as IOutputDispute.RecordSealed documents.
    tx = liar.transaction(bad_block, bad_tx)
    d_ev = keccak(encode(["bytes32", "bytes32"], [keccak(tx), keccak(witness(bad_block, bad_tx))]))
    c_ev = keccak(encode(["bytes32", "bytes32"], [keccak(b""), keccak(witness(bad_block, bad_tx) + b"challenger")]))
    record = keccak(
        encode(
            ["uint8", "uint64", "uint32", "uint32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32"],
            [Kind.TRANSACTION, bad_block, bad_tx, liar.tx_count(bad_block), liar.block_hash(bad_block),
             HONEST.state_root(bad_block, bad_tx), liar.state_root(bad_block, bad_tx + 1),
             HONEST.state_root(bad_block, bad_tx + 1), d_ev, c_ev],
        )
    )  # fmt: skip
    assert sealed.record == record and d.record == record
    digest = keccak(
        encode(["uint256", "address", "uint256", "bytes32", "uint8"],
               [chain.chain_id, dispute.address, game.dispute_id, record, Party.CHALLENGER])
    )  # fmt: skip
    assert dispute.committeeDigest(game.dispute_id, Party.CHALLENGER) == digest

    verdict = game.verdict(Party.CHALLENGER, sender=eve)
    resolved = _event(verdict, dispute, "DisputeResolved")
    assert (resolved.winner, resolved.how, resolved.outputRemoved) == (Party.CHALLENGER, Resolution.COMMITTEE, True)
    assert oracle.nextOutputIndex() == 0  # the wrong output and the later one are gone
    assert oracle.bondCredit(bob) == PROPOSER_BOND  # the lying output's bond
    assert oracle.bondCredit(alice) == PROPOSER_BOND  # the later output's bond, back to its proposer
    assert dispute.bondCredit(bob) == CHALLENGER_BOND and dispute.bondCredit(alice) == 0
    assert dispute.disputeOfOutput(0) == 0

    before = bob.balance
    w = dispute.withdrawBond(sender=bob)
    assert bob.balance == before + CHALLENGER_BOND - w.gas_used * w.gas_price
    assert ape.chain.provider.get_balance(dispute.address) == 0

    moves = game.d.moves
    move_gas = [r.gas_used for r in game.receipts[:-1]]
    total = game.opening.gas_used + game.gas
    print(
        f"\noutput dispute: blocks={INTERVAL} arity={BLOCKS_ARITY}/{TXS_ARITY} moves={moves} "
        f"calls={len(game.receipts) + 1} open={game.opening.gas_used} moves_gas={sum(move_gas)} "
        f"max_move={max(move_gas)} verdict={verdict.gas_used} total_gas={total}"
    )
    print(f"  {'openDispute':<20} {game.opening.gas_used:>8,}")
    for r in game.receipts:
        print(f"  {r.method_called.name:<20} {r.gas_used:>8,}")
    assert block_rounds == _rounds(INTERVAL, BLOCKS_ARITY) == 3
    assert tx_rounds == _rounds(liar.tx_count(bad_block), TXS_ARITY) == 1
    assert moves == 2 * (block_rounds + tx_rounds) + 2 + 2  # rounds, reveal and answer, two evidence posts
    assert max(move_gas) < MOVE_GAS_CAP and game.opening.gas_used < OPEN_GAS_CAP
    assert verdict.gas_used < VERDICT_GAS_CAP


def test_lying_challenger_loses_its_bond_and_the_output_stays(dispute, oracle, propose, open_game, alice, bob):
    """A challenger whose own chain is wrong (from transaction 2 of block 100) disputes an honest output over
    (64, 128]: it is pinned to its own wrong transaction, the committee decides for the proposer, the challenger's
    bond goes to the proposer and the output stays, no longer disputed."""
    propose(HONEST, count=2, interval=64)
    game = open_game(1, challenger_l2=ToyL2(bad=(100, 2)), defender_l2=HONEST)
    assert _event(game.opening, dispute, "DisputeOpened").agreedRoot == HONEST.output_root(64)
    game.play_to_committee()
    d = game.d
    assert (d.l2Block, d.txIndex) == (100, 2)

    resolved = _event(game.verdict(Party.DEFENDER), dispute, "DisputeResolved")
    assert (resolved.winner, resolved.how, resolved.outputRemoved) == (Party.DEFENDER, Resolution.COMMITTEE, False)
    assert oracle.nextOutputIndex() == 2 and not oracle.disputed(1)
    assert oracle.getL2Output(1).outputRoot == HONEST.output_root(128)
    assert dispute.bondCredit(alice) == CHALLENGER_BOND and dispute.bondCredit(bob) == 0
    assert oracle.bondCredit(bob) == 0 and oracle.bondCredit(alice) == 0
    dispute.withdrawBond(sender=alice)
    assert ape.chain.provider.get_balance(dispute.address) == 0


def test_wrong_message_passer_root_is_judged_as_the_block(dispute, oracle, propose, open_game, bob):
    """The proposer's state is right but its output's message passer root is not: the challenger agrees with the
    block's state root and disputes the block; the committee judges the block (record kind Block, pre-state the
    parent's state root, the two output roots) and the output is deleted."""
    liar = ToyL2(bad_passer=64)
    propose(liar, count=1, interval=64)
    game = open_game(0, challenger_l2=HONEST, defender_l2=liar)
    game.bisect()
    assert game.d.l2Block == 64
    game.reveal()
    r = game.answer_block()
    assert r.method_called.name == "disputeBlock"
    game.evidence()
    d = game.d
    assert d.kind == Kind.BLOCK and d.phase == Phase.COMMITTEE
    assert d.agreedRoot == HONEST.state_root(64, 0)
    assert d.blockOutputRoot == liar.output_root(64) and d.challengerRoot == HONEST.output_root(64)
    game.verdict(Party.CHALLENGER)
    assert oracle.nextOutputIndex() == 0 and oracle.bondCredit(bob) == PROPOSER_BOND


def test_empty_block_is_one_step_of_system_operations(dispute, propose, open_game):
    """A block with no transactions is one step: disputing its execution pins step 0 at once."""
    liar = ToyL2(bad=(5, 0), empty=frozenset({5}))
    honest = ToyL2(empty=frozenset({5}))
    propose(liar, count=1, interval=8)
    game = open_game(0, challenger_l2=honest, defender_l2=liar)
    game.bisect()
    game.reveal()
    r = game.answer_block()
    assert r.method_called.name == "disputeTransactions"
    step = _event(r, dispute, "TransactionPinned")
    assert (step.l2Block, step.txIndex) == (5, 0)
    assert game.d.phase == Phase.EVIDENCE and game.d.txCount == 0
    game.evidence()
    game.verdict(Party.CHALLENGER)
    assert game.d.winner == Party.CHALLENGER


def test_one_block_output_is_pinned_at_opening(dispute, propose, open_game):
    """An output one block after the agreed one starts in the Block phase."""
    propose(ToyL2(bad=(1, 0)), count=1, interval=1)
    game = open_game(0, defender_l2=ToyL2(bad=(1, 0)))
    assert _event(game.opening, dispute, "BlockPinned").l2Block == 1
    assert game.d.phase == Phase.BLOCK and list(dispute.positions(game.dispute_id)) == []


def test_dispute_over_an_output_deleted_by_an_earlier_one_leaves_the_new_output_alone(
    dispute, oracle, propose, open_game, chain, alice, bob, eve
):
    """Bob disputes output 1, Eve output 0. Eve's dispute deletes both; the proposer posts two new outputs. Bob's
    old dispute still settles its bond between its sides but never touches the new output 1, which can be
    disputed on its own."""
    liar = ToyL2(bad=(3, 0))
    propose(liar, count=2, interval=4)
    old = open_game(1, defender_l2=liar)
    first = open_game(0, defender_l2=liar, challenger=eve)
    first.play_to_committee()
    first.verdict(Party.CHALLENGER)
    assert oracle.nextOutputIndex() == 0
    propose(HONEST, count=2, interval=4)
    assert dispute.disputeOfOutput(1) == 0  # the new output 1 is another output

    chain.pending_timestamp = dispute.moveDeadline(old.dispute_id) + 1
    r = dispute.timeout(old.dispute_id, sender=bob)
    resolved = _event(r, dispute, "DisputeResolved")
    assert (resolved.winner, resolved.how, resolved.outputRemoved) == (Party.CHALLENGER, Resolution.TIMEOUT, False)
    assert oracle.nextOutputIndex() == 2 and not oracle.disputed(1)
    assert dispute.bondCredit(bob) == CHALLENGER_BOND and dispute.bondCredit(eve) == CHALLENGER_BOND

    fresh = open_game(1)
    assert fresh.dispute_id != old.dispute_id and oracle.disputed(1)


def _pinned_at(game) -> tuple[int, int]:
    game.play_to_committee()
    d = game.d
    return d.l2Block, d.txIndex


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bad_block", "bad_tx"),
    [(1, 0), (64, 0), (37, 7), (2, 2), (63, 0)],  # the range's first block, its last, a last transaction (37 has 8)
)
def test_lie_at_the_edges_is_pinned_exactly(propose, open_game, bad_block, bad_tx):
    liar = ToyL2(bad=(bad_block, bad_tx))
    assert bad_tx < liar.tx_count(bad_block)
    propose(liar, count=1, interval=64)
    assert _pinned_at(open_game(0, defender_l2=liar)) == (bad_block, bad_tx)


@pytest.mark.slow
@pytest.mark.parametrize("bad_block", [1025, 1040, 1535, 1536, 1537, 1983, 2047, 2048])
def test_lie_anywhere_in_1024_blocks_is_pinned_exactly(propose, open_game, bad_block):
    """Over output 1 (blocks (1024, 2048]), a lie at the last transaction of any block is pinned exactly."""
    liar = ToyL2(bad=(bad_block, ToyL2().tx_count(bad_block) - 1))
    propose(liar, count=2)
    assert _pinned_at(open_game(1, defender_l2=liar)) == liar.bad


def test_the_game_fits_the_code_size_limit(project):
    """EIP-170: 24,576 bytes of runtime code."""
    assert len(project.OutputDispute.contract_type.get_runtime_bytecode()) < 24_576
