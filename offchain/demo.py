"""The end-to-end story behind `make demo` / `ape run demo`, on a real anvil chain.

Accounts (Ape's test mnemonic, funded by anvil):
    0 governance (deploys, holds the admin roles)
    1..3 node operators: each runs a freshly generated hivemind peer; 1 and 2 also solve the job
    4..6 funders of a crowdfunded training job

    7 requester of a Verde job, 8 its honest solver, 9 its cheating solver (operator C watches)

Story: deploy -> peers register with RSA key proofs -> a crowdfund reaches its goal and launches a
JobMarket job -> two solvers stake, train the job (the tiny GPT Verde job, with RepOps) and post checkpoint
commitments -> a SwarmCoordinator round with commit-reveal votes -> the challenge window closes,
milestones are released, everyone withdraws -> a Verde job where one solver cheats by one ulp in one
float32 op: a watcher recomputes it, disputes it on chain down to that element, and wins; the cheater's
stake goes to the watcher and the requester -> a table of balances before and after.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.chain.anvil import Anvil
from offchain.chain.deploy import DeployConfig, deploy_all
from offchain.identity import PeerIdentity
from offchain.verde.game import program_of
from offchain.verde.job import VerdeJob, spec_hash
from offchain.verde.market import join_job, post_checkpoints, train

ETH = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class DemoConfig:
    """The story's numbers."""

    goal_wei: int = 3 * ETH  # crowdfund goal
    contributions_wei: tuple[int, ...] = (3 * ETH // 2, 1 * ETH, 3 * ETH // 4)  # funders 4, 5, 6
    stake_wei: int = ETH // 2  # per solver
    steps: int = 40  # training steps of the job
    checkpoint_interval: int = 10  # steps between checkpoint commitments
    challenge_window_s: int = 600  # seconds a checkpoint stays disputable
    stage_s: int = 60  # seconds per swarm stage
    verde_steps: int = 8  # steps of the Verde job (the tiny GPT of offchain/verde)
    verde_interval: int = 4  # its checkpoint interval
    verde_payment_wei: int = ETH  # its payment


@dataclass
class Row:
    """One line of the closing table."""

    role: str
    address: str
    before: int
    after: int = 0
    fees: int = 0


class Ledger:
    """Sends transactions, prints them, and books each sender's fees for the closing table."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo
        self.fees: dict[str, int] = defaultdict(int)

    def send(self, what: str, method: Any, *args: Any, sender: Any, value: int = 0) -> Any:
        tx = method(*args, sender=sender, value=value) if value else method(*args, sender=sender)
        self.fees[sender.address] += tx.total_fees_paid
        self.echo(f"  {what:<58} gas {tx.gas_used:>9,}")
        return tx


def run_demo(anvil: Anvil, workdir: Path, *, config: DemoConfig = DemoConfig(), echo=print) -> list[Row]:  # noqa: B008 (frozen)
    """Play the whole story on `anvil` (already connected through Ape) and return the balance table."""
    from ape import accounts, chain

    acct = [accounts.test_accounts[i] for i in range(10)]
    gov, operators, funders = acct[0], acct[1:4], acct[4:7]
    solvers = operators[:2]
    roles = ["governance", "operator A + solver", "operator B + solver", "operator C + watcher", "funder 1",
             "funder 2", "funder 3", "Verde requester", "Verde solver", "Verde cheater"]
    rows = [Row(role, a.address, a.balance) for role, a in zip(roles, acct, strict=True)]
    ledger = Ledger(echo)

    echo("== 1. Deploy the contract set")
    d = deploy_all(gov, config=DeployConfig(stage_durations=(config.stage_s,) * 3), fresh=True)
    for name, c in d.contracts.items():
        receipt = chain.get_receipt(c.txn_hash)
        ledger.fees[gov.address] += receipt.total_fees_paid
        echo(f"  {name:<18} {c.address}  gas {receipt.gas_used:>9,}")
    registry, swarm, market, crowdfund = d.IdentityRegistry, d.SwarmCoordinator, d.JobMarket, d.Crowdfund

    echo("== 2. Three fresh hivemind identities register with RSA key proofs")
    from hivemind.p2p import P2P

    peers = []
    for i, operator in enumerate(operators):
        path = workdir / f"peer{i}.key"
        P2P.generate_identity(str(path))  # hivemind's own key generation and file format
        ident = PeerIdentity.load(path)
        ledger.send(f"{roles[i + 1]} registers {ident.peer_id.to_base58()[:16]}...", registry.registerPeer,
                    *ident.registration_proof(registry, operator), sender=operator)
        assert registry.ownerOf(ident.peer_id_digest) == operator.address
        peers.append(ident)

    echo("== 3. A crowdfund pools the money for a training job")
    # The crowdfunded job is a real Verde job (the tiny GPT of offchain/verde, trained with RepOps): its
    # template carries the job's program, so a dispute over it would be judged on chain like section 7's.
    spec = VerdeJob(steps=config.steps, checkpoint_interval=config.checkpoint_interval)
    program = program_of(spec)
    deadline = chain.pending_timestamp + 300
    template = (spec_hash(spec), spec.steps, config.checkpoint_interval, len(solvers), config.stake_wei,
                deadline + 600, deadline + 3600, config.challenge_window_s, *program.job_fields)
    tx = ledger.send("funder 1 opens a campaign (goal 3 ETH)", crowdfund.createCampaign, ZERO, config.goal_wei,
                     deadline, template, sender=funders[0])
    campaign = tx.events.filter(crowdfund.CampaignCreated)[0].campaignId
    for funder, amount in zip(funders, config.contributions_wei, strict=True):
        ledger.send(f"{funder.address[:10]} contributes {amount / ETH:.2f} ETH", crowdfund.contribute, campaign,
                    amount, sender=funder, value=amount)
    for funder in funders:
        # One decimal, rounded: the contract floors basis points, and printed to two decimals they read as a
        # precise 46.15 + 30.76 + 23.07 = 99.98%.
        tenths = (crowdfund.shareBps(campaign, funder) + 5) // 10
        echo(f"  attribution {funder.address[:10]}: {tenths // 10}.{tenths % 10}% of the pool")
    anvil.increase_time(deadline - chain.pending_timestamp + 1)
    tx = ledger.send("the deadline passed with the goal met: launch", crowdfund.launch, campaign, sender=gov)
    job = tx.events.filter(crowdfund.CampaignLaunched)[0].jobId
    echo(f"  JobMarket job {job} funded with {crowdfund.totalRaised(campaign) / ETH:.2f} ETH")

    echo("== 4. Solvers stake, train, and commit checkpoints")
    for solver in solvers:  # each checks that the job is the spec's (steps, program, data) before it stakes
        join_job(market, solver, job, spec, send=ledger.send, program=program)
    runs = {s.address: train(spec, echo=lambda m: echo(f"  {m}")) for s in solvers}  # each solver on its own
    for solver in solvers:
        post_checkpoints(market, solver, job, runs[solver.address].roots, send=ledger.send)
    agree = runs[solvers[0].address].roots == runs[solvers[1].address].roots
    echo(f"  the two solvers' checkpoint roots {'agree' if agree else 'DIFFER'} at every checkpoint "
         f"(all {spec.steps} steps)")

    echo("== 5. A swarm round with commit-reveal votes")
    round_ = swarm.currentRound()
    for operator, ident in zip(operators, peers, strict=True):
        ledger.send(f"peer {ident.peer_id.to_base58()[:12]}... joins round {round_}", swarm.joinRound,
                    ident.peer_id_digest, sender=operator)
    choices = {0: 1, 1: 2, 2: 1}  # A votes B, B votes C, C votes B
    salts = {}
    for i, operator in enumerate(operators):
        salts[i] = secrets.token_bytes(32)
        commitment = swarm.voteCommitment(round_, peers[i].peer_id_digest, peers[choices[i]].peer_id_digest,
                                          salts[i])
        ledger.send(f"peer {i} commits a sealed vote", swarm.commitVote, peers[i].peer_id_digest, commitment,
                    sender=operator)
    # Skip to the next round's first stage: the reveal window of this round's votes.
    _, stage, _, deadline = swarm.schedule()
    durations = list(swarm.stageDurations())
    anvil.increase_time(deadline - chain.pending_timestamp + sum(durations[stage + 1 :]) + 1)
    ledger.send("anyone advances the stage once its deadline passed", swarm.advanceStage, sender=gov)
    for i, operator in enumerate(operators):
        ledger.send(f"peer {i} reveals its vote", swarm.revealVote, peers[i].peer_id_digest, round_,
                    peers[choices[i]].peer_id_digest, salts[i], sender=operator)
    winner, votes = swarm.roundWinner(round_)
    winner_name = next(i for i, p in enumerate(peers) if p.peer_id_digest == bytes(winner))
    echo(f"  round {round_} winner: peer {winner_name} ({peers[winner_name].peer_id.to_base58()[:16]}...) "
         f"with {votes} votes")

    echo("== 6. The challenge window closes; milestones are released; everyone is paid")
    anvil.increase_time(config.challenge_window_s + 1)
    for solver in solvers:
        ledger.send(f"{solver.address[:10]} claims its verified milestones", market.claim, job, sender=solver)
        ledger.send(f"{solver.address[:10]} withdraws", market.withdraw, job, sender=solver)
    if market.owed(job, crowdfund.address) > 0:
        ledger.send("anyone syncs what the market returned to the crowdfund", crowdfund.sync, campaign, sender=gov)
    for funder in funders:
        if crowdfund.claimableOf(campaign, funder) > 0:
            ledger.send(f"{funder.address[:10]} claims its pro-rata refund", crowdfund.claimRefund, campaign,
                        sender=funder)
    echo(f"  milestones released: {crowdfund.milestonesReleased(campaign)}; "
         f"market holds {chain.provider.get_balance(market.address)} wei, "
         f"crowdfund holds {chain.provider.get_balance(crowdfund.address)} wei")

    verde_dispute(anvil, d, ledger, requester=acct[7], honest=acct[8], cheater=acct[9], watcher=operators[2],
                  config=config, echo=echo)  # fmt: skip

    for row in rows:
        row.after = chain.provider.get_balance(row.address)
        row.fees = ledger.fees[row.address]
    return rows


def verde_dispute(anvil: Anvil, d: Any, ledger: Ledger, *, requester: Any, honest: Any, cheater: Any, watcher: Any,
                  config: DemoConfig, echo: Callable[[str], None]) -> None:  # fmt: skip
    """Section 7: a Verde job whose second solver adds one ulp to one exp of the attention softmax; a watcher
    catches it by recomputing the job and playing the dispute game to the one element on chain."""
    from offchain.verde.challenge import challenge, dispute_moves, plot_dispute
    from offchain.verde.game import DisputeAgent
    from offchain.verde.job import VerdeJob
    from offchain.verde.market import Terms, join_job, post_checkpoints, post_job, ulp_cheater
    from offchain.verde.trainer import VerdeTrainer

    market, referee = d.JobMarket, d.VerdeReferee
    job = VerdeJob(steps=config.verde_steps, checkpoint_interval=config.verde_interval)
    echo("== 7. A Verde job: one solver cheats by one ulp, a watcher catches it on chain")
    honest_run = VerdeTrainer(job)
    honest_run.train()
    program = program_of(job)
    bad_run = ulp_cheater(job, config.verde_steps - 2, honest_run)  # what `ape run job solve --cheat-step` posts
    cheat = bad_run.dishonest
    echo(f"  G = {len(program.ops)} ops per step; the cheater adds 1 ulp to element {cheat.element} of op "
         f"{cheat.op} ({program.ops[cheat.op].note}) at step {cheat.step}")  # fmt: skip
    # The program and data are part of the job: a solver joins under them and nobody can change them later.
    terms = Terms(payment_wei=config.verde_payment_wei, stake_wei=config.stake_wei, num_solvers=2, join_s=600,
                  complete_s=7200, window_s=config.challenge_window_s)  # fmt: skip
    job_id = post_job(market, requester, job, terms, send=ledger.send, program=program)
    runs = {honest.address: honest_run, cheater.address: bad_run}
    for solver in (honest, cheater):
        join_job(market, solver, job_id, job, send=ledger.send, program=program)
    for solver in (honest, cheater):
        post_checkpoints(market, solver, job_id, runs[solver.address].roots, send=ledger.send)

    def cheater_defends(dispute_id: int, _defender: str) -> list[DisputeAgent]:
        # The cheater answers every move from its own (corrupted) run, as a real cheater would.
        return [DisputeAgent(referee, cheater, bad_run, role="defender", dispute_id=dispute_id,
                             log=lambda m: echo(f"  {m}"))]  # fmt: skip

    before = market.owed(job_id, watcher)
    report = challenge(d, job_id, watcher, job, echo=lambda m: echo(f"  {m}"), partners=cheater_defends,
                       poll_s=0.2)  # fmt: skip
    assert report is not None and report.winner == "Challenger", report
    for address, fee in report.fees.items():
        ledger.fees[address] += fee
    echo(f"  cheater slashed: {market.solverOf(job_id, cheater).slashed}; watcher's reward "
         f"{(market.owed(job_id, watcher) - before) / ETH:.2f} ETH of the cheater's stake (the bounty), bond "
         f"{referee.bondCredit(watcher) / ETH:.2f} ETH (its own bond back)")  # fmt: skip
    moves = dispute_moves(referee, report.dispute_id, {watcher.address: "challenger", cheater.address: "defender"})
    by = ", ".join(f"{sum(p == side for p, _ in moves)} by the {side}" for side in ("challenger", "defender"))
    echo(f"  dispute trace: {plot_dispute(report, Path('out') / 'demo-dispute.png', moves=moves)} "
         f"({len(moves)} moves: {by})")  # fmt: skip
    ledger.send("watcher withdraws its bond", referee.withdrawBond, sender=watcher)
    ledger.send("watcher withdraws its share of the stake", market.withdraw, job_id, sender=watcher)
    anvil.increase_time(config.challenge_window_s + 1)
    ledger.send("honest solver claims its verified milestones", market.claim, job_id, sender=honest)
    for who, acct in (("honest solver", honest), ("requester", requester)):
        if market.owed(job_id, acct) > 0:
            ledger.send(f"{who} withdraws", market.withdraw, job_id, sender=acct)
    echo(f"  market holds {market.escrowOf(job_id)} wei of job {job_id} uncredited")


def format_table(rows: list[Row]) -> str:
    """The closing table: ETH before and after, the change, and how much of it was gas."""
    head = f"{'account':<22}{'address':<14}{'before ETH':>14}{'after ETH':>14}{'change':>12}{'gas paid':>11}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.role:<22}{r.address[:12]:<14}{r.before / ETH:>14.4f}{r.after / ETH:>14.4f}"
                     f"{(r.after - r.before) / ETH:>+12.4f}{r.fees / ETH:>11.5f}")
    return "\n".join(lines)


def plot_balances(rows: list[Row], path: Path) -> Path:
    """A bar chart of each account's ETH change over the story (gas shown separately), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r.role for r in rows]
    change = [(r.after - r.before + r.fees) / ETH for r in rows]  # what the story moved, before gas
    gas = [-r.fees / ETH for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(labels, change, label="payments and refunds (ETH)")
    ax.bar(labels, gas, bottom=[min(c, 0) for c in change], label="gas paid (ETH)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("ETH")
    ax.set_title("Demo: balance change per account")
    ax.legend()
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
