"""RollupPortal withdrawals with real L2 proofs: a withdrawal sent to the L2ToL1MessagePasser of an in-process L2
node is proposed as OP's output root, proven on L1 with the node's `eth_getProof` storage proof, and finalized
once after the proof-maturity delay and the output's finalization period; replays, early or unproven
finalizations, unknown outputs, forged proofs, deleted or disputed outputs are refused and move no value.

Run: `.venv/bin/ape test tests/rollup/l1/test_rollup_portal_withdrawals.py -q -p no:cacheprovider`
"""

from __future__ import annotations

from functools import cache

import ape
import pytest
from conftest import BOND, FINALIZATION_PERIOD, PROOF_MATURITY_DELAY
from eth_utils import keccak
from l1_support import L2Withdrawal, withdraw_on_l2

VALUE = 10**18  # wei withdrawn


@cache
def _withdrawal(target: str) -> L2Withdrawal:
    """A 1 ETH withdrawal to `target`, made on a fresh L2 (pure data: safe to share between tests)."""
    return withdraw_on_l2(target, VALUE)


@pytest.fixture
def w(dave) -> L2Withdrawal:
    return _withdrawal(dave.address)


def _fund(portal, account, amount: int = 2 * VALUE) -> None:
    """Deposit ETH into the portal: what backs withdrawals."""
    portal.depositTransaction(account, 0, 100_000, False, b"", value=amount, sender=account)


def _propose(oracle, proposer, w: L2Withdrawal, root: bytes | None = None):
    assert oracle.nextBlockNumber() == w.l2_block  # SUBMISSION_INTERVAL 1 from block 0: block 1 is next
    return oracle.proposeL2Output(root or w.output_root, w.l2_block, value=BOND, sender=proposer)


def _prove(portal, w: L2Withdrawal, sender, *, index: int = 0, proof: list[bytes] | None = None, tx=None):
    return portal.proveWithdrawal(
        tx or w.tx, index, w.output_root_proof, w.storage_proof if proof is None else proof, sender=sender
    )


def _age(chain, seconds: int) -> None:
    chain.mine(deltatime=seconds)


@pytest.fixture
def proven(portal, oracle, alice, bob, w):
    """Funded portal, output posted, withdrawal proven by `bob` (a relayer)."""
    _fund(portal, alice)
    _propose(oracle, alice, w)
    _prove(portal, w, bob)
    return w


def test_withdrawal_proven_and_finalized_once(portal, oracle, alice, bob, dave, chain, w):
    """The full path: deposit, propose, prove with the L2 node's proof, wait, finalize: the value reaches the
    target once; a replay is refused."""
    deposit = portal.depositTransaction(alice, 0, 100_000, False, b"", value=2 * VALUE, sender=alice)
    propose = _propose(oracle, alice, w)
    assert portal.verifyWithdrawalProof(w.output_root_proof[2], w.withdrawal_hash, w.storage_proof)
    prove = _prove(portal, w, bob)
    assert prove.events == [portal.WithdrawalProven(withdrawalHash=w.withdrawal_hash, **{"from": w.tx[1]}, to=dave)]
    root, timestamp, index = portal.provenWithdrawals(w.withdrawal_hash)
    assert (root, timestamp, index) == (w.output_root, prove.timestamp, 0)
    _age(chain, FINALIZATION_PERIOD + 1)
    before = dave.balance
    finalize = portal.finalizeWithdrawal(w.tx, sender=bob)
    assert finalize.events == [portal.WithdrawalFinalized(withdrawalHash=w.withdrawal_hash, success=True)]
    assert dave.balance == before + VALUE and portal.balance == VALUE
    assert portal.finalizedWithdrawals(w.withdrawal_hash)
    with ape.reverts(portal.PortalAlreadyFinalized, withdrawalHash=w.withdrawal_hash):
        portal.finalizeWithdrawal(w.tx, sender=bob)
    with ape.reverts(portal.PortalAlreadyProven, withdrawalHash=w.withdrawal_hash, l2OutputIndex=0):
        _prove(portal, w, bob)
    assert dave.balance == before + VALUE and portal.balance == VALUE
    print(f"\ngas: deposit {deposit.gas_used} propose {propose.gas_used} prove {prove.gas_used} "
          f"finalize {finalize.gas_used}")  # fmt: skip


def test_finalize_early_reverts_until_matured_and_final(portal, oracle, bob, dave, chain, proven):
    """Finalizing waits for PROOF_MATURITY_DELAY_SECONDS after the proof, then for the output to be final."""
    _, proven_at, _ = portal.provenWithdrawals(proven.withdrawal_hash)
    matures_at = proven_at + PROOF_MATURITY_DELAY
    with ape.reverts(portal.PortalProofNotMatured, withdrawalHash=proven.withdrawal_hash, maturesAt=matures_at):
        portal.finalizeWithdrawal(proven.tx, sender=bob)
    _age(chain, PROOF_MATURITY_DELAY + 1)
    with ape.reverts(portal.PortalOutputNotFinalized, l2OutputIndex=0):
        portal.finalizeWithdrawal(proven.tx, sender=bob)
    _age(chain, FINALIZATION_PERIOD)
    before = dave.balance
    portal.finalizeWithdrawal(proven.tx, sender=bob)
    assert dave.balance == before + VALUE


def test_finalize_unproven_reverts(portal, bob, w):
    """A withdrawal never proven cannot be finalized."""
    with ape.reverts(portal.PortalNotProven, withdrawalHash=w.withdrawal_hash):
        portal.finalizeWithdrawal(w.tx, sender=bob)


def test_prove_against_unknown_output_reverts(portal, oracle, alice, bob, w):
    """Proving against an output index the oracle does not have is refused."""
    with ape.reverts(portal.PortalUnknownOutput, l2OutputIndex=0, nextOutputIndex=0):
        _prove(portal, w, bob)
    _propose(oracle, alice, w)
    with ape.reverts(portal.PortalUnknownOutput, l2OutputIndex=1, nextOutputIndex=1):
        _prove(portal, w, bob, index=1)


def test_prove_with_wrong_output_root_proof_reverts(portal, oracle, alice, bob, w):
    """An output root proof whose hash is not the posted output root is refused."""
    _propose(oracle, alice, w)
    version, state_root, storage_root, block_hash = w.output_root_proof
    forged = (version, bytes(32), storage_root, block_hash)
    with ape.reverts(portal.PortalBadOutputRootProof, l2OutputIndex=0, outputRoot=w.output_root,
                     computed=keccak(b"".join(forged))):  # fmt: skip
        portal.proveWithdrawal(w.tx, 0, forged, w.storage_proof, sender=bob)


def test_prove_with_forged_storage_proof_reverts(portal, oracle, alice, bob, w):
    """A storage proof with one byte changed (in the root node, or in the leaf) is refused with one error."""
    _propose(oracle, alice, w)
    for node in (0, -1):
        forged = list(w.storage_proof)
        raw = bytearray(forged[node])
        raw[len(raw) // 2] ^= 0x01
        forged[node] = bytes(raw)
        with ape.reverts(portal.PortalBadWithdrawalProof, withdrawalHash=w.withdrawal_hash):
            _prove(portal, w, bob, proof=forged)
    assert portal.provenWithdrawals(w.withdrawal_hash)[1] == 0


def test_prove_withdrawal_never_made_reverts(portal, oracle, alice, bob, w):
    """A withdrawal the L2 never recorded (the real one with a larger value) has no valid proof."""
    _propose(oracle, alice, w)
    nonce, sender, target, value, gas_limit, data = w.tx
    greedy = (nonce, sender, target, value * 100, gas_limit, data)
    with ape.reverts(portal.PortalBadWithdrawalProof):
        _prove(portal, w, bob, tx=greedy)


def test_prove_twice_reverts(portal, bob, proven):
    """A proof against an output that still holds cannot be replaced (it would restart the delay)."""
    with ape.reverts(portal.PortalAlreadyProven, withdrawalHash=proven.withdrawal_hash, l2OutputIndex=0):
        _prove(portal, proven, bob)


def test_output_deleted_after_proving_blocks_finalization(portal, oracle, alice, bob, referee, chain, proven):
    """An output deleted by the dispute role takes the proofs against it along: finalizing is refused, also
    once another root is posted at its index, and no value moves."""
    oracle.deleteL2Outputs(0, referee, sender=referee)
    _age(chain, FINALIZATION_PERIOD + 1)
    with ape.reverts(portal.PortalOutputRemoved, withdrawalHash=proven.withdrawal_hash, l2OutputIndex=0):
        portal.finalizeWithdrawal(proven.tx, sender=bob)
    _propose(oracle, alice, proven, root=b"\x66" * 32)
    _age(chain, FINALIZATION_PERIOD + 1)
    with ape.reverts(portal.PortalOutputRemoved, withdrawalHash=proven.withdrawal_hash, l2OutputIndex=0):
        portal.finalizeWithdrawal(proven.tx, sender=bob)
    assert portal.balance == 2 * VALUE and not portal.finalizedWithdrawals(proven.withdrawal_hash)


def test_withdrawal_proven_again_after_its_output_is_replaced(portal, oracle, alice, bob, dave, referee, chain):
    """Once the output a withdrawal was proven against is deleted and replaced, the withdrawal is proven again
    against a later output that holds it, and finalizes from there."""
    w = withdraw_on_l2(dave.address, VALUE, later_blocks=1)
    _fund(portal, alice)
    _propose(oracle, alice, w)
    _prove(portal, w, bob)
    oracle.deleteL2Outputs(0, referee, sender=referee)
    _propose(oracle, alice, w, root=b"\x66" * 32)  # another root at index 0
    w2 = w.later[0]
    _propose(oracle, alice, w2)  # output 1: block 2, which still holds the withdrawal
    _prove(portal, w2, bob, index=1)
    assert portal.provenWithdrawals(w.withdrawal_hash)[2] == 1
    _age(chain, FINALIZATION_PERIOD + 1)
    before = dave.balance
    portal.finalizeWithdrawal(w.tx, sender=bob)
    assert dave.balance == before + VALUE


def test_same_root_reposted_at_the_index_revives_the_proof(portal, oracle, alice, bob, dave, referee, chain, proven):
    """A proof binds an output index and root: when the deleted output is posted again with the same root, the
    proof holds again (a new one is refused) and the withdrawal finalizes after the new output's period."""
    oracle.deleteL2Outputs(0, referee, sender=referee)
    _propose(oracle, alice, proven)
    with ape.reverts(portal.PortalAlreadyProven, withdrawalHash=proven.withdrawal_hash, l2OutputIndex=0):
        _prove(portal, proven, bob)
    _age(chain, FINALIZATION_PERIOD + 1)
    before = dave.balance
    portal.finalizeWithdrawal(proven.tx, sender=bob)
    assert dave.balance == before + VALUE


def test_disputed_output_blocks_finalization_until_closed(portal, oracle, bob, dave, referee, chain, proven):
    """While the output proven against is disputed, its withdrawals wait however old it is."""
    oracle.setDisputed(0, True, sender=referee)
    _age(chain, 10 * FINALIZATION_PERIOD)
    with ape.reverts(portal.PortalOutputNotFinalized, l2OutputIndex=0):
        portal.finalizeWithdrawal(proven.tx, sender=bob)
    oracle.setDisputed(0, False, sender=referee)
    before = dave.balance
    portal.finalizeWithdrawal(proven.tx, sender=bob)
    assert dave.balance == before + VALUE


def test_withdrawal_waits_for_deposits_to_pay_it(portal, oracle, alice, bob, dave, chain, w):
    """A portal holding less than the withdrawal's value refuses to finalize it (and does not burn it); after
    more deposits it pays."""
    _fund(portal, alice, VALUE // 2)
    _propose(oracle, alice, w)
    _prove(portal, w, bob)
    _age(chain, FINALIZATION_PERIOD + 1)
    with ape.reverts(portal.PortalInsufficientBalance, value=VALUE, balance=VALUE // 2):
        portal.finalizeWithdrawal(w.tx, sender=bob)
    _fund(portal, alice, VALUE // 2)
    portal.finalizeWithdrawal(w.tx, sender=bob)
    assert portal.balance == 0


def test_finalize_with_too_little_gas_reverts(portal, bob, chain, proven):
    """A relayer cannot make the target's call fail by sending too little gas: the finalization reverts."""
    _age(chain, FINALIZATION_PERIOD + 1)
    with ape.reverts(portal.PortalInsufficientGas, gasLimit=proven.tx[4]):
        portal.finalizeWithdrawal(proven.tx, sender=bob, gas=150_000)
    assert not portal.finalizedWithdrawals(proven.withdrawal_hash)


def test_failed_call_still_finalizes(project, portal, oracle, alice, bob, chain):
    """A target that reverts gets its gas limit and the withdrawal is final anyway (OP's semantics): the event
    says success false, the value stays in the portal, and it cannot be retried."""
    target = alice.deploy(project.ContractUser)
    target.setRefusing(True, sender=alice)
    w = withdraw_on_l2(target.address, VALUE)
    _fund(portal, alice)
    _propose(oracle, alice, w)
    _prove(portal, w, bob)
    _age(chain, FINALIZATION_PERIOD + 1)
    tx = portal.finalizeWithdrawal(w.tx, sender=bob)
    assert tx.events == [portal.WithdrawalFinalized(withdrawalHash=w.withdrawal_hash, success=False)]
    assert portal.balance == 2 * VALUE and target.balance == 0
    with ape.reverts(portal.PortalAlreadyFinalized, withdrawalHash=w.withdrawal_hash):
        portal.finalizeWithdrawal(w.tx, sender=bob)


def test_reentrant_finalize_is_refused(project, portal, oracle, alice, bob, chain):
    """A target that calls back into the portal while being paid is refused by the reentrancy guard."""
    target = alice.deploy(project.ContractUser)
    w = withdraw_on_l2(target.address, VALUE)
    target.arm(portal, portal.finalizeWithdrawal.encode_input(w.tx), sender=alice)
    _fund(portal, alice)
    _propose(oracle, alice, w)
    _prove(portal, w, bob)
    _age(chain, FINALIZATION_PERIOD + 1)
    portal.finalizeWithdrawal(w.tx, sender=bob)
    assert target.attempts() == 1 and not target.lastSucceeded()
    assert bytes(target.lastReturnData()) == keccak(b"ReentrancyGuardReentrantCall()")[:4]
    assert target.balance == VALUE and portal.balance == VALUE


def test_target_reads_the_l2_sender_during_the_call(project, portal, oracle, alice, bob, chain):
    """While a withdrawal's call runs, `l2Sender()` is its L2 sender (OP's way for a target to authenticate it);
    outside one it is OP's default 0x...dEaD."""
    target = alice.deploy(project.ContractUser)
    w = withdraw_on_l2(target.address, VALUE)
    target.arm(portal, portal.l2Sender.encode_input(), sender=alice)
    _fund(portal, alice)
    _propose(oracle, alice, w)
    _prove(portal, w, bob)
    _age(chain, FINALIZATION_PERIOD + 1)
    portal.finalizeWithdrawal(w.tx, sender=bob)
    assert target.lastSucceeded() and bytes(target.lastReturnData()) == bytes(12) + bytes.fromhex(w.tx[1][2:])
    assert portal.l2Sender() == "0x000000000000000000000000000000000000dEaD"


def test_withdrawal_to_the_portal_reverts(portal, bob, w):
    """No withdrawal may call the portal itself (OP)."""
    nonce, sender, _, value, gas_limit, data = w.tx
    with ape.reverts(portal.PortalBadTarget, target=portal.address):
        _prove(portal, w, bob, tx=(nonce, sender, portal.address, value, gas_limit, data))
