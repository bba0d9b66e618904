"""OutputDispute over blocks of our own L2 (rollup/, py-evm under Prague): the real output roots, the real
preimages and the real RLP headers pass the game's keccak and header checks, and the transactions root the
game reads from the header is the block's.

Run: `.venv/bin/ape test tests/rollup/dispute -q -p no:cacheprovider`
"""

from __future__ import annotations

import rlp
from eth_account import Account
from output_dispute_support import BLOCKS_ARITY, CHALLENGER_BOND, CLOCK, COMMITTEE, THRESHOLD, TXS_ARITY, Party, sign

from rollup.node import DEFAULT_GENESIS, open_node
from rollup.output import output_at

Account.enable_unaudited_hdwallet_features()
DEV_KEY = Account.from_mnemonic("test test test test test test test test test test test junk")  # funded in genesis
L2_CHAIN_ID = 685686


def _proof(output) -> tuple[bytes, bytes, bytes, bytes]:
    return (b"\x00" * 32, output.state_root, output.message_passer_storage_root, output.block_hash)


def test_real_l2_blocks_pass_the_reveal(project, deployer, oracle, alice, bob):
    seq = open_node(DEFAULT_GENESIS, None, block_time=0, producing=True)  # a block per transaction
    raw_txs = []
    for nonce in range(2):
        tx = dict(to=DEV_KEY.address, value=1, nonce=nonce, chainId=L2_CHAIN_ID, gas=21_000, maxFeePerGas=2 * 10**9,
                  maxPriorityFeePerGas=10**6)  # fmt: skip
        raw_txs.append(bytes(DEV_KEY.sign_transaction(tx).raw_transaction))
        seq.submit(raw_txs[-1])
    l2 = seq.chain
    outputs = [output_at(l2, l2.header(b)) for b in range(3)]

    game = deployer.deploy(project.OutputDispute, oracle, deployer, outputs[0].root, CHALLENGER_BOND, CLOCK,
                           BLOCKS_ARITY, TXS_ARITY)  # fmt: skip
    oracle.grantRole(oracle.DISPUTE_ROLE(), game, sender=deployer)
    game.setCommittee([m.address for m in COMMITTEE], THRESHOLD, sender=deployer)
    oracle.proposeL2Output(outputs[2].root, 2, sender=alice, value=1)

    # A (wrong) challenger agrees with block 1 and disputes block 2.
    r = game.openDispute(0, sender=bob, value=CHALLENGER_BOND)
    dispute_id = r.events.filter(game.DisputeOpened)[0].disputeId
    assert list(game.positions(dispute_id)) == [1]
    game.postRoots(dispute_id, [outputs[1].root], sender=alice)
    game.pick(dispute_id, 1, [outputs[1].root], sender=bob)
    assert game.disputeOf(dispute_id).l2Block == 2

    header = l2.header(2)
    r = game.revealBlock(dispute_id, _proof(outputs[1]), _proof(outputs[2]), rlp.encode(header), 1, sender=alice)
    revealed = r.events.filter(game.BlockRevealed)[0]
    assert revealed.transactionsRoot == header.transaction_root and revealed.txCount == 1

    game.disputeTransactions(dispute_id, b"\x01" * 32, sender=bob)
    d = game.disputeOf(dispute_id)
    assert (d.txIndex, d.agreedRoot, d.disputedRoot) == (0, outputs[1].state_root, outputs[2].state_root)
    game.postEvidence(dispute_id, outputs[2].state_root, raw_txs[1], b"witness", sender=alice)
    game.postEvidence(dispute_id, b"\x01" * 32, b"", b"", sender=bob)
    sigs = sign(bytes(game.committeeDigest(dispute_id, Party.DEFENDER)), COMMITTEE[:THRESHOLD])
    game.resolveByCommittee(dispute_id, Party.DEFENDER, sigs, sender=alice)
    assert game.bondCredit(alice) == CHALLENGER_BOND and not oracle.disputed(0)
