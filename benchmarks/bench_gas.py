"""Gas per user-facing operation, on Ape's `test` network (py-evm, Prague), against the targets.

    make bench-gas        # or: .venv/bin/python benchmarks/bench_gas.py

The reference numbers are the public RL Swarm testnet's SwarmCoordinator measured on the same EVM
(the issue's figures): registerPeer 141,717 gas with no ownership proof; submitWinners with one winner
196,595; submitReward 108,848. Targets: register with the RSA key proof <= 200,000; a vote's commit and
reveal together <= 196,595; a reward commitment <= 90,000. It also measures the Verde referee's calls on a
committee-judged job (opening, narrowing the steps, a committee and a timeout verdict with the market's slash).
Last line:
`gas: register=<n> commit_vote=<n> reveal_vote=<n> reward_commit=<n> checkpoint=<n>`.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ETH = 10**18
ZERO = "0x0000000000000000000000000000000000000000"
NO_PROGRAM = (b"\x00" * 32, b"\x00" * 32, 0)  # JobParams' programTree, dataTree, numOps: committee-judged
REFERENCE = {"register": 141_717, "vote": 196_595, "reward_commit": 108_848}
TARGET = {"register": 200_000, "vote": 196_595, "reward_commit": 90_000}


def measure() -> dict[str, int]:
    from ape import accounts, chain, networks

    from offchain.chain.deploy import DeployConfig, deploy_all
    from offchain.identity import PeerIdentity
    from offchain.swarm.rewards import RewardTree

    gas: dict[str, int] = {}
    with networks.ethereum.local.use_provider("test"):
        a = accounts.test_accounts
        gov, ops, funders = a[0], a[1:4], a[4:7]
        d = deploy_all(gov, config=DeployConfig(stage_durations=(60, 60, 60)), fresh=True)

        # Identity: register with the RSA key proof.
        peers = [PeerIdentity.generate() for _ in ops]
        for op, peer in zip(ops, peers, strict=True):
            tx = d.IdentityRegistry.registerPeer(*peer.registration_proof(d.IdentityRegistry, op), sender=op)
            gas.setdefault("register", tx.gas_used)

        # Swarm: join, commit, advance, reveal, reward commitment.
        swarm = d.SwarmCoordinator
        r = swarm.currentRound()
        for op, peer in zip(ops, peers, strict=True):
            tx = swarm.joinRound(peer.peer_id_digest, sender=op)
            gas.setdefault("join_round", tx.gas_used)
        addr = f"/ip4/203.0.113.7/tcp/31337/p2p/{peers[0].peer_id.to_base58()}"
        gas["announce_peer"] = swarm.announcePeer(peers[0].peer_id_digest, addr, sender=ops[0]).gas_used
        addr = addr.replace("31337", "31338")  # the same peer back on another port: the entry is rewritten
        gas["announce_again"] = swarm.announcePeer(peers[0].peer_id_digest, addr, sender=ops[0]).gas_used
        salt = secrets.token_bytes(32)
        commitment = swarm.voteCommitment(r, peers[0].peer_id_digest, peers[1].peer_id_digest, salt)
        gas["commit_vote"] = swarm.commitVote(peers[0].peer_id_digest, commitment, sender=ops[0]).gas_used
        tree = RewardTree([1, 0, 1, 1, 0, 1, 1, 1])
        gas["reward_commit"] = swarm.submitRewardCommitment(
            peers[0].peer_id_digest, r, tree.root, tree.total, len(tree.rewards), sender=ops[0]
        ).gas_used
        chain.mine(deltatime=180)
        gas["advance_stage"] = swarm.advanceStage(sender=gov).gas_used
        gas["reveal_vote"] = swarm.revealVote(
            peers[0].peer_id_digest, r, peers[1].peer_id_digest, salt, sender=ops[0]
        ).gas_used

        # Market: post, join, checkpoint, claim, withdraw (ETH job).
        market = d.JobMarket
        now = chain.pending_timestamp
        params = (b"\x11" * 32, 20, 10, 2, ZERO, 2 * ETH, ETH // 2, now + 600, now + 3600, 300, *NO_PROGRAM)
        tx = market.postJob(params, sender=funders[0], value=2 * ETH)
        gas["post_job"] = tx.gas_used
        job = tx.events.filter(market.JobPosted)[0].jobId
        for s in ops[:2]:
            tx = market.join(job, sender=s, value=ETH // 2)
            gas.setdefault("join", tx.gas_used)
        gas["join_last"] = tx.gas_used  # the join that fills the job also starts it
        for index in (1, 2):
            for s in ops[:2]:
                tx = market.postCheckpoint(job, index, secrets.token_bytes(32), sender=s)
                gas.setdefault("checkpoint", tx.gas_used)
        chain.mine(deltatime=301)
        gas["claim"] = market.claim(job, sender=ops[0]).gas_used
        gas["withdraw"] = market.withdraw(job, sender=ops[0]).gas_used

        # Crowdfund: contribute, refund (a failed campaign), launch and claimRefund (a launched one).
        cf = d.Crowdfund
        now = chain.pending_timestamp
        template = (b"\x22" * 32, 20, 10, 1, ETH // 10, now + 900, now + 4000, 300, *NO_PROGRAM)
        failed = cf.createCampaign(ZERO, 10 * ETH, now + 300, template, sender=funders[0])
        gas["create_campaign"] = failed.gas_used
        failed_id = failed.events.filter(cf.CampaignCreated)[0].campaignId
        ok = cf.createCampaign(ZERO, ETH, now + 300, template, sender=funders[0])
        ok_id = ok.events.filter(cf.CampaignCreated)[0].campaignId
        gas["contribute"] = cf.contribute(failed_id, ETH, sender=funders[1], value=ETH).gas_used
        for f in funders:
            cf.contribute(ok_id, ETH // 2, sender=f, value=ETH // 2)
        chain.mine(deltatime=301)
        gas["refund"] = cf.refund(failed_id, sender=funders[1]).gas_used
        gas["launch"] = cf.launch(ok_id, sender=gov).gas_used
        launched_job = cf.campaignOf(ok_id).jobId
        chain.mine(deltatime=900)  # nobody joined by the join deadline: anyone may cancel, the pool flows back
        market.cancelJob(launched_job, sender=gov)
        gas["sync"] = cf.sync(ok_id, sender=gov).gas_used
        gas["claim_refund"] = cf.claimRefund(ok_id, sender=funders[0]).gas_used
        gas.update(measure_disputes(d, gov, ops, funders))
    return gas


def _play_to_committee(referee, did: int, defender, challenger) -> dict[str, int]:
    """Narrow the Steps phase (the parties disagree from the first step on) to the committee; the gas of the
    first round's moves (16-ary: 9 roots over the 10 steps of the interval)."""
    gas: dict[str, int] = {}
    while referee.disputeOf(did).phase == 1:  # Phase.Steps
        pos = list(referee.positions(did))
        mine = [p.to_bytes(32, "big") for p in pos]
        gas.setdefault("narrow_defender", referee.narrow(did, mine, [], sender=defender).gas_used)
        tx = referee.narrow(did, [(p + 1).to_bytes(32, "big") for p in pos], mine, sender=challenger)
        gas.setdefault("narrow_challenger", tx.gas_used)
    return gas


def measure_disputes(d, gov, ops, funders) -> dict[str, int]:
    """VerdeReferee on a committee-judged job (20 steps, one checkpoint every 10): a watcher's dispute decided
    by the committee, then a solver's dispute decided by a timeout; each includes the market's slash."""
    from ape import chain
    from eth_account import Account
    from eth_account.messages import encode_defunct

    market, referee = d.JobMarket, d.VerdeReferee
    bond = referee.BOND()
    members = [Account.create() for _ in range(3)]
    gas = {"set_committee": referee.setCommittee([m.address for m in members], 2, sender=gov).gas_used}
    now = chain.pending_timestamp
    params = (b"\x33" * 32, 20, 10, 3, ZERO, 3 * ETH, ETH // 2, now + 600, now + 3600, 3_000, *NO_PROGRAM)
    tx = market.postJob(params, sender=funders[0], value=3 * ETH)
    job = tx.events.filter(market.JobPosted)[0].jobId
    for s in ops[:3]:
        market.join(job, sender=s, value=ETH // 2)
    for i, s in enumerate(ops[:3]):
        market.postCheckpoint(job, 1, bytes([i + 1]) * 32, sender=s)

    opened = referee.openWatcherDispute(job, ops[0], 1, b"\x77" * 32, sender=funders[1], value=bond)
    gas["open_watcher_dispute"] = opened.gas_used
    did = opened.events.filter(referee.DisputeCreated)[0].disputeId
    gas.update(_play_to_committee(referee, did, ops[0], funders[1]))
    digest = bytes(referee.committeeDigest(did, 1))  # Party.Challenger
    sigs = [bytes(Account.sign_message(encode_defunct(primitive=digest), m.key).signature) for m in members[:2]]
    gas["resolve_committee"] = referee.resolveByCommittee(did, 1, sigs, sender=funders[1]).gas_used

    opened = referee.openSolverDispute(job, ops[2], 1, sender=ops[1], value=bond)
    gas["open_solver_dispute"] = opened.gas_used
    did = opened.events.filter(referee.DisputeCreated)[0].disputeId
    referee.narrow(did, [p.to_bytes(32, "big") for p in referee.positions(did)], [], sender=ops[2])
    chain.pending_timestamp = referee.moveDeadline(did) + 1  # the challenger never answers
    gas["resolve_timeout"] = referee.timeout(did, sender=gov).gas_used
    gas["withdraw_bond"] = referee.withdrawBond(sender=ops[2]).gas_used
    return gas


def main() -> int:
    os.chdir(ROOT)  # Ape finds the project from the working directory
    from ape.logging import logger

    logger.set_level("WARNING")
    gas = measure()
    print(f"{'operation':<28}{'gas':>10}{'reference':>12}{'ratio':>7}{'target':>10}  ok")
    rows = [
        ("register with key proof", "register", gas["register"]),
        ("join round", "", gas["join_round"]),
        ("commit vote", "", gas["commit_vote"]),
        ("reveal vote", "", gas["reveal_vote"]),
        ("commit + reveal vote", "vote", gas["commit_vote"] + gas["reveal_vote"]),
        ("submit reward commitment", "reward_commit", gas["reward_commit"]),
        ("advance stage", "", gas["advance_stage"]),
        ("announce peer address", "", gas["announce_peer"]),
        ("announce again (moved)", "", gas["announce_again"]),
        ("post job (ETH)", "", gas["post_job"]),
        ("join job", "", gas["join"]),
        ("join job (fills, starts)", "", gas["join_last"]),
        ("post checkpoint", "", gas["checkpoint"]),
        ("claim milestones + stake", "", gas["claim"]),
        ("withdraw", "", gas["withdraw"]),
        ("create campaign", "", gas["create_campaign"]),
        ("contribute", "", gas["contribute"]),
        ("refund (goal missed)", "", gas["refund"]),
        ("launch campaign", "", gas["launch"]),
        ("sync returned funds", "", gas["sync"]),
        ("claim pro-rata refund", "", gas["claim_refund"]),
        ("set committee (3 members)", "", gas["set_committee"]),
        ("open watcher dispute", "", gas["open_watcher_dispute"]),
        ("open solver dispute", "", gas["open_solver_dispute"]),
        ("narrow steps (defender)", "", gas["narrow_defender"]),
        ("narrow steps (challenger)", "", gas["narrow_challenger"]),
        ("committee verdict + slash", "", gas["resolve_committee"]),
        ("timeout verdict + slash", "", gas["resolve_timeout"]),
        ("withdraw bond", "", gas["withdraw_bond"]),
    ]
    failed = False
    for label, key, value in rows:
        ref = f"{REFERENCE[key]:,}" if key in REFERENCE else ""
        ratio = f"{value / REFERENCE[key]:.2f}" if key in REFERENCE else ""
        tgt = f"{TARGET[key]:,}" if key in TARGET else ""
        ok = "" if key not in TARGET else ("yes" if value <= TARGET[key] else "NO")
        failed |= ok == "NO"
        print(f"{label:<28}{value:>10,}{ref:>12}{ratio:>7}{tgt:>10}  {ok}")
    print(
        f"gas: register={gas['register']} commit_vote={gas['commit_vote']} reveal_vote={gas['reveal_vote']} "
        f"reward_commit={gas['reward_commit']} checkpoint={gas['checkpoint']}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
