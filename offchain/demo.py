"""The end-to-end story behind `make demo` / `ape run demo`: on our rollup (`l2_demo`, `run_l2_demo`: anvil as L1,
the story on our L2, wallets funded by L1 deposits, a withdrawal to L1 at the end), or on one anvil (`run_demo` alone).

Accounts (Ape's test mnemonic: accounts 0-9, funded by anvil; on the rollup accounts 10-19, funded by deposits):
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

import contextlib
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
    campaign_s: int = 300  # seconds from opening the crowdfund campaign to its deadline
    swarm_margin_s: int = 0  # seconds of the swarm round that must be left to join and commit in it (else: the next)


# The story on our L2, whose clock only moves with the wall clock: windows short enough to wait out, long enough
# for the transactions that must fit in them (six in a swarm round, a watcher's recomputation before a dispute).
L2_DEMO = DemoConfig(challenge_window_s=40, stage_s=8, campaign_s=10, swarm_margin_s=10)


class Clock(Protocol):
    """How the story lets chain time pass."""

    def pass_time(self, timestamp: int) -> None:
        """Return once a transaction sent next is mined in a block later than `timestamp`."""


@dataclass
class AnvilClock:
    """anvil's time travel: a deadline passes at once."""

    anvil: Anvil

    def pass_time(self, timestamp: int) -> None:
        from ape import chain

        gap = timestamp - chain.pending_timestamp + 1
        if gap > 0:
            self.anvil.increase_time(gap)


@dataclass
class WallClock:
    """A chain that others follow, such as our L2 (a verifier refuses blocks dated far from their L1 origin): the
    story waits for its time to come. Its next block is dated at least the wall-clock second and after the head."""

    echo: Callable[[str], None]
    poll_s: float = 0.25

    def pass_time(self, timestamp: int) -> None:
        from offchain.chain import client

        wait = timestamp + 1 - max(client.head_timestamp(), int(time.time()))
        if wait > 0:
            self.echo(f"  (waiting {wait} s of chain time)")
        while client.head_timestamp() <= timestamp and int(time.time()) <= timestamp:
            time.sleep(self.poll_s)


ROLES = ("governance", "operator A + solver", "operator B + solver", "operator C + watcher", "funder 1", "funder 2",
         "funder 3", "Verde requester", "Verde solver", "Verde cheater")  # fmt: skip


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


def run_demo(anvil: Anvil | Clock, workdir: Path, *, config: DemoConfig = DemoConfig(), echo=print,  # noqa: B008
             wallets: list[Any] | None = None) -> list[Row]:  # fmt: skip
    """Play the whole story on the chain Ape is connected to and return the balance table.

    `anvil` is the anvil Ape is connected to (deadlines pass by time travel), or a `Clock` for any other chain.
    `wallets` are the ten Ape accounts playing the roles (Ape's test accounts 0-9 by default).
    """
    from ape import accounts, chain

    from offchain.chain import client

    clock = AnvilClock(anvil) if isinstance(anvil, Anvil) else anvil
    acct = wallets or [accounts.test_accounts[i] for i in range(10)]
    if len(acct) != 10:
        raise ValueError(f"the story has ten roles, not {len(acct)} wallets")
    gov, operators, funders = acct[0], acct[1:4], acct[4:7]
    solvers = operators[:2]
    roles = ROLES
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
        ledger.send(
            f"{roles[i + 1]} registers {ident.peer_id.to_base58()[:16]}...",
            registry.registerPeer,
            *ident.registration_proof(registry, operator),
            sender=operator,
        )
        assert registry.ownerOf(ident.peer_id_digest) == operator.address
        peers.append(ident)

    echo("== 3. A crowdfund pools the money for a training job")
    # The crowdfunded job is a real Verde job (the tiny GPT of offchain/verde, trained with RepOps): its
    # template carries the job's program, so a dispute over it would be judged on chain like section 7's.
    spec = VerdeJob(steps=config.steps, checkpoint_interval=config.checkpoint_interval)
    program = program_of(spec)
    deadline = chain.pending_timestamp + config.campaign_s
    template = (
        spec_hash(spec),
        spec.steps,
        config.checkpoint_interval,
        len(solvers),
        config.stake_wei,
        deadline + 600,
        deadline + 3600,
        config.challenge_window_s,
        *program.job_fields,
    )
    tx = ledger.send(
        "funder 1 opens a campaign (goal 3 ETH)",
        crowdfund.createCampaign,
        ZERO,
        config.goal_wei,
        deadline,
        template,
        sender=funders[0],
    )
    campaign = tx.events.filter(crowdfund.CampaignCreated)[0].campaignId
    for funder, amount in zip(funders, config.contributions_wei, strict=True):
        ledger.send(
            f"{funder.address[:10]} contributes {amount / ETH:.2f} ETH",
            crowdfund.contribute,
            campaign,
            amount,
            sender=funder,
            value=amount,
        )
    for funder in funders:
        # One decimal, rounded: the contract floors basis points, and printed to two decimals they read as a
        # precise 46.15 + 30.76 + 23.07 = 99.98%.
        tenths = (crowdfund.shareBps(campaign, funder) + 5) // 10
        echo(f"  attribution {funder.address[:10]}: {tenths // 10}.{tenths % 10}% of the pool")
    clock.pass_time(deadline)
    tx = ledger.send("the deadline passed with the goal met: launch", crowdfund.launch, campaign, sender=gov)
    job = tx.events.filter(crowdfund.CampaignLaunched)[0].jobId
    echo(f"  JobMarket job {job} funded with {crowdfund.totalRaised(campaign) / ETH:.2f} ETH")

    echo("== 4. Solvers stake, train, and commit checkpoints")
    for solver in solvers:  # each checks that the job is the spec's (steps, program, data) before it stakes
        join_job(market, solver, job, spec, send=ledger.send, program=program)
    runs = {s.address: train(spec, echo=lambda m: echo(f"  {m}")) for s in solvers}  # each solver on its own
    for solver in solvers:
        post_checkpoints(market, solver, job, runs[solver.address].roots, send=ledger.send)
    posted_at = client.head_timestamp()  # the last checkpoint's time, or later
    agree = runs[solvers[0].address].roots == runs[solvers[1].address].roots
    echo(
        f"  the two solvers' checkpoint roots {'agree' if agree else 'DIFFER'} at every checkpoint "
        f"(all {spec.steps} steps)"
    )

    echo("== 5. A swarm round with commit-reveal votes")
    _, stage, started, _ = swarm.schedule()
    durations = [int(d) for d in swarm.stageDurations()]
    round_end = int(started) - sum(durations[:stage]) + sum(durations)
    if round_end - chain.pending_timestamp < config.swarm_margin_s:
        echo(f"  round {swarm.currentRound()} ends in {round_end - chain.pending_timestamp} s: the next one")
        clock.pass_time(round_end - 1)  # the next block is the next round's
    round_ = swarm.currentRound()
    for operator, ident in zip(operators, peers, strict=True):
        ledger.send(
            f"peer {ident.peer_id.to_base58()[:12]}... joins round {round_}",
            swarm.joinRound,
            ident.peer_id_digest,
            sender=operator,
        )
    choices = {0: 1, 1: 2, 2: 1}  # A votes B, B votes C, C votes B
    salts = {}
    for i, operator in enumerate(operators):
        salts[i] = secrets.token_bytes(32)
        commitment = swarm.voteCommitment(round_, peers[i].peer_id_digest, peers[choices[i]].peer_id_digest, salts[i])
        ledger.send(
            f"peer {i} commits a sealed vote", swarm.commitVote, peers[i].peer_id_digest, commitment, sender=operator
        )
    # Skip to the next round's first stage: the reveal window of this round's votes.
    _, stage, _, deadline = swarm.schedule()
    clock.pass_time(deadline + sum(durations[stage + 1 :]))
    ledger.send("anyone advances the stage once its deadline passed", swarm.advanceStage, sender=gov)
    for i, operator in enumerate(operators):
        ledger.send(
            f"peer {i} reveals its vote",
            swarm.revealVote,
            peers[i].peer_id_digest,
            round_,
            peers[choices[i]].peer_id_digest,
            salts[i],
            sender=operator,
        )
    winner, votes = swarm.roundWinner(round_)
    winner_name = next(i for i, p in enumerate(peers) if p.peer_id_digest == bytes(winner))
    echo(
        f"  round {round_} winner: peer {winner_name} ({peers[winner_name].peer_id.to_base58()[:16]}...) "
        f"with {votes} votes"
    )

    echo("== 6. The challenge window closes; milestones are released; everyone is paid")
    clock.pass_time(posted_at + config.challenge_window_s)
    for solver in solvers:
        ledger.send(f"{solver.address[:10]} claims its verified milestones", market.claim, job, sender=solver)
        ledger.send(f"{solver.address[:10]} withdraws", market.withdraw, job, sender=solver)
    if market.owed(job, crowdfund.address) > 0:
        ledger.send("anyone syncs what the market returned to the crowdfund", crowdfund.sync, campaign, sender=gov)
    for funder in funders:
        if crowdfund.claimableOf(campaign, funder) > 0:
            ledger.send(
                f"{funder.address[:10]} claims its pro-rata refund", crowdfund.claimRefund, campaign, sender=funder
            )
    echo(
        f"  milestones released: {crowdfund.milestonesReleased(campaign)}; "
        f"market holds {chain.provider.get_balance(market.address)} wei, "
        f"crowdfund holds {chain.provider.get_balance(crowdfund.address)} wei"
    )

    verde_dispute(clock, d, ledger, requester=acct[7], honest=acct[8], cheater=acct[9], watcher=operators[2],
                  config=config, echo=echo)  # fmt: skip

    for row in rows:
        row.after = chain.provider.get_balance(row.address)
        row.fees = ledger.fees[row.address]
    return rows


def verde_dispute(clock: Clock, d: Any, ledger: Ledger, *, requester: Any, honest: Any, cheater: Any, watcher: Any,
                  config: DemoConfig, echo: Callable[[str], None]) -> None:  # fmt: skip
    """Section 7: a Verde job whose second solver adds one ulp to one exp of the attention softmax; a watcher
    catches it by recomputing the job and playing the dispute game to the one element on chain."""
    from offchain.chain import client
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
    posted_at = client.head_timestamp()

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
    clock.pass_time(posted_at + config.challenge_window_s)
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
        lines.append(
            f"{r.role:<22}{r.address[:12]:<14}{r.before / ETH:>14.4f}{r.after / ETH:>14.4f}"
            f"{(r.after - r.before) / ETH:>+12.4f}{r.fees / ETH:>11.5f}"
        )
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


# ---------------------------------------------------------------------------------------------- on our L2

WALLET_INDEX = 10  # the wallets are the test mnemonic's accounts 10-19: neither anvil nor the L2 genesis funds them
L1_FUNDS_WEI = 100 * ETH  # each wallet's ETH on L1 (anvil_setBalance) before it deposits
DEPOSIT_WEI = 5 * ETH  # what each wallet moves to the L2


@dataclass
class Withdrawn:
    """The closing withdrawal: who took how much home, and its balances on both chains before and after."""

    role: str
    amount: int
    l1_before: int
    l1_after: int
    l2_before: int
    l2_after: int


def run_l2_demo(workdir: Path, *, config: DemoConfig = L2_DEMO, echo=print,
                system_config: Any = None) -> tuple[list[Row], Withdrawn]:  # fmt: skip
    """The story on our own rollup (`l2_demo`), the rollup stopped at the end. Returns the L2 balance table and the
    withdrawal."""
    with l2_demo(workdir, config=config, echo=echo, system_config=system_config) as (_, rows, withdrawn):
        return rows, withdrawn


@contextlib.contextmanager
def l2_demo(workdir: Path, *, config: DemoConfig = L2_DEMO, echo=print,
            system_config: Any = None) -> Iterator[tuple[Any, list[Row], Withdrawn]]:  # fmt: skip
    """The story on our own rollup: anvil as L1 with the rollup's contracts, our L2 node, batcher and proposer (and
    verifier) as processes, the wallets funded by deposits, the system deployed and the story played on the L2
    through Ape's `ethereum:l2:verde`, and a solver withdrawing its earnings to L1 at the end.

    Yields (the `RollupSystem`, still up for the block: `make demo` runs its closing swarm on the same L2, the L2
    balance table, the withdrawal). `workdir` must not exist or be empty; it keeps the processes' logs and data
    (`rollup/`), the peers' keys and the L2 deployment record.
    """
    import os

    from ape import accounts

    from rollup.system import RollupSystem, operator_key

    keys = [operator_key(WALLET_INDEX + i) for i in range(len(ROLES))]
    started = time.monotonic()
    echo("== 0. The rollup: anvil as L1 with the rollup's contracts; our L2 node, batcher, proposer (and verifier and "
         "committee) as processes")  # fmt: skip
    with RollupSystem(workdir / "rollup", system_config, echo=lambda m: echo(f"  {m}")) as system:
        fund_by_deposits(system, keys, echo)
        wallets = [accounts.init_test_account(WALLET_INDEX + i, k.address, k.key.hex()) for i, k in enumerate(keys)]
        previous = os.environ.get("VERDE_DEPLOYMENTS_DIR")
        os.environ["VERDE_DEPLOYMENTS_DIR"] = str(workdir / "deployments")  # the L2's record, beside its logs
        try:
            with system.l2():
                echo(f"  Ape on ethereum:l2:verde at {system.l2_uri}; the story's deadlines pass in real time")
                rows = run_demo(WallClock(echo), workdir, config=config, echo=echo, wallets=wallets)
        finally:
            if previous is None:
                os.environ.pop("VERDE_DEPLOYMENTS_DIR", None)
            else:
                os.environ["VERDE_DEPLOYMENTS_DIR"] = previous
        solver = rows[1]
        withdrawn = withdraw_earnings(system, keys[1], solver.role, solver.after - solver.before, echo)
        system.check()
        outputs, last = system.outputs()
        echo(f"  the rollup so far: {system.batches()} batcher transactions in the inbox, {outputs} outputs on L1 "
             f"(the latest for L2 block {last})")  # fmt: skip
        if system.verifier_uri:
            echo(f"  {_verifier_agrees(system)}")
        echo(f"  the story on the rollup took {time.monotonic() - started:.0f} s")
        yield system, rows, withdrawn


def _verifier_agrees(system: Any) -> str:
    """The verifier's safe head (derived from L1 alone) against the sequencer's block of the same number."""
    from offchain.chain.anvil import json_rpc

    head = json_rpc(system.verifier_uri, "eth_getBlockByNumber", ["latest", False])
    mine = json_rpc(system.l2_uri, "eth_getBlockByNumber", [head["number"], False])
    same = "the sequencer's block too" if mine and mine["hash"] == head["hash"] else "NOT the sequencer's block"
    return (f"the verifier rebuilt the L2 from L1 alone up to block {int(head['number'], 16)}: {head['hash'][:18]}.., "
            f"{same}")  # fmt: skip


def fund_by_deposits(system: Any, keys: list[Any], echo: Callable[[str], None]) -> None:
    """Every wallet holds ETH on L1 only, and deposits DEPOSIT_WEI to its own L2 address through the portal."""
    from concurrent.futures import ThreadPoolExecutor

    echo(f"== 0b. The wallets move {DEPOSIT_WEI / ETH:g} ETH each from L1 to the L2 (RollupPortal.depositTransaction)")
    for key in keys:
        system.anvil.rpc("anvil_setBalance", [key.address, hex(L1_FUNDS_WEI)])
    # Side by side: each deposit waits for its L1 block, and the L2 takes them all from the same one or two.
    with ThreadPoolExecutor(len(keys)) as pool:
        hashes = list(pool.map(lambda key: system.deposit(key, value=DEPOSIT_WEI), keys))
    for role, key, l2_hash in zip(ROLES, keys, hashes, strict=True):
        receipt = system.wait_l2_receipt(l2_hash)
        assert receipt["status"] == "0x1", receipt
        echo(f"  {role:<22} {key.address[:10]}  deposit {l2_hash[:12]}.. on L2 in block "
             f"{int(receipt['blockNumber'], 16)}")  # fmt: skip


def _web3_contract(w3: Any, name: str, address: str) -> Any:
    """web3.py's contract with the full ABI Ape compiled (rollup.withdraw decodes the custom errors from it)."""
    from ape import project

    abi = [item.model_dump(mode="json", by_alias=True) for item in getattr(project, name).contract_type.abi]
    return w3.eth.contract(address=address, abi=abi)


def withdraw_earnings(system: Any, key: Any, role: str, amount: int, echo: Callable[[str], None]) -> Withdrawn:
    """`key` withdraws `amount` from the L2 to its own L1 address: initiate on the L2, wait for an output covering
    it, prove it on L1, wait out the proof's maturity and the output's finalization period, finalize."""
    from rollup import withdraw as wd

    l1, l2 = system.l1_web3(), system.l2_web3()
    portal = _web3_contract(l1, "RollupPortal", system.addresses["RollupPortal"])
    oracle = _web3_contract(l1, "L2OutputOracle", system.addresses["L2OutputOracle"])
    echo(f"== 8. The {role} takes its earnings home: a withdrawal from the L2 to L1")
    before = Withdrawn(role, amount, l1.eth.get_balance(key.address), 0, l2.eth.get_balance(key.address), 0)
    w = wd.initiate(l2, key, key.address, amount, 100_000)
    echo(f"  L2: initiateWithdrawal of {amount / ETH:.4f} ETH to its L1 address, in L2 block {w.l2_block} "
         f"(withdrawal 0x{w.withdrawal_hash.hex()[:12]}..)")  # fmt: skip

    def covered() -> Any:
        try:
            return wd.proof_for(l2, oracle, w)
        except wd.NotCovered:
            return None

    proof = system.wait(covered, 120, "an output covering the withdrawal", poll_s=0.5)
    receipt = wd.prove(portal, key, w, proof)
    echo(f"  {f'L1: output {proof.output_index} covers it: proveWithdrawal':<58} gas {receipt['gasUsed']:>9,}")
    status = wd.status(portal, oracle, w)
    echo(f"  L1: {status.describe()}")
    system.wait(lambda: wd.status(portal, oracle, w).l1_time >= status.finalizable_at, 120,
                "the withdrawal's finalization time", poll_s=0.5)  # fmt: skip
    receipt = wd.finalize(portal, key, w)
    if not wd.call_succeeded(receipt, w):
        raise RuntimeError(f"the withdrawal's L1 call failed (L1 tx {receipt['transactionHash'].hex()})")
    what = f"L1: finalizeWithdrawal pays {amount / ETH:.4f} ETH to {key.address[:10]}"
    echo(f"  {what:<58} gas {receipt['gasUsed']:>9,}")
    out = Withdrawn(role, amount, before.l1_before, l1.eth.get_balance(key.address), before.l2_before,
                    l2.eth.get_balance(key.address))  # fmt: skip
    for chain_name, was, now in (("L1", out.l1_before, out.l1_after), ("L2", out.l2_before, out.l2_after)):
        echo(f"  {role} on {chain_name}: {was / ETH:.4f} ETH -> {now / ETH:.4f} ETH ({(now - was) / ETH:+.4f})")
    return out
