"""An RL Swarm node: a hivemind peer with an on-chain identity that plays SwarmCoordinator's rounds.

    python -m offchain.swarm --rpc http://127.0.0.1:8545 --account 1 --workdir nodes/a --init warmup.pt
    ape run node --network ethereum:local:node --account my-wallet --workdir nodes/a --init warmup.pt

Each round (docs/swarm-node.md): stage 0 answers the round's questions and publishes signed rollouts (and
reveals last round's vote), stage 1 critiques the peers' rollouts, stage 2 commits a vote for the best peer,
trains with GRPO on its own and its peers' rollouts (SAPO), commits its rewards on chain and saves its
weights. The task and the model come from the `--init` checkpoint: the addition task (every node answers the
round's questions), or a task family (offchain/model/family.py) warmed at any width and depth
(warmup.FamilyWarmupConfig), whose node answers its own questions, `node_seed(round seed, peer)` over its task
mix (`--mix`, else the checkpoint's), publishes the family's digest and its mix with them, and drops a peer's
rollouts whose questions are not that peer's draw (`WrongQuestions`) or of another task (`WrongTask`).
`--weighting critique` draws the peers' groups by their critique, the voted peer's first (off: SAPO's uniform
draw). The node follows the schedule the chain computes; when a stage's deadline has passed and nobody
advanced it, it calls `advanceStage` itself. Everything it keeps lives in `--workdir`: `identity.key`
(hivemind's RSA identity, created on first start), `weights.pt` (model and optimizer, every round),
`votes.json` (the salts of committed votes), `progress.jsonl` and `curves.png`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("offchain.swarm.node")

ANSWER, CRITIQUE, VOTE = 0, 1, 2


@dataclass
class NodeConfig:
    """What one node needs besides its chain connection and its account."""

    workdir: Path
    init_checkpoint: Path | None = None  # the warm-up checkpoint to start from (ignored once weights.pt exists)
    bootnodes: tuple[str, ...] = ()  # multiaddrs; empty: read SwarmCoordinator.getBootnodes()
    questions: int = 8  # questions per round (same for every node: from the round seed)
    completions: int = 8  # G: completions sampled per question
    local_groups: int = 4  # I: own question groups per GRPO step
    external_groups: int = 4  # J: peers' question groups per GRPO step
    rounds: int | None = None  # stop after playing this many rounds in this run (None: run until stopped)
    poll_s: float = 0.5  # seconds between looks at the chain
    heldout: int = 200  # held-out pairs for the accuracy printed each round
    seed: int = 0  # local sampling seed (mixed with the round and the peer)
    start_round: int | None = None  # play no round before this one (a swarm started together)
    host: str = "127.0.0.1"  # the address the DHT listens on (0.0.0.0: every interface)
    port: int | None = None  # its TCP port; None: the port of the last run (network.json), else a free one
    announce: str | None = None  # what other machines dial: host, host:port or a multiaddr (default: listen address)
    max_dial: int = 8  # most peers from the chain's announcements tried as bootnodes
    impl: str = "repops"  # "repops": RepOpsGPT + RepOps AdamW, reproducible bit for bit; "native": the torch twin
    mix: dict[str, int] | None = None  # a family node's question weights; None: the checkpoint's, else uniform
    weighting: str = "uniform"  # "critique": draw peers' groups by their critique, the voted peer's first


@dataclass
class RoundLog:
    round: int
    accuracy: float = 0.0
    reward: float = 0.0  # mean reward of this node's own completions
    peers_seen: int = 0
    external_used: int = 0
    external_from: dict[str, int] = field(default_factory=dict)  # peer -> its groups in the training batch
    questions: list[int] = field(default_factory=list)  # this node's questions of the round
    voted_for: str = ""
    accuracy_by_task: dict[str, float] = field(default_factory=dict)  # a family node's held-out accuracy per task
    events: list[str] = field(default_factory=list)


def _count(n: int, noun: str) -> str:
    """'1 peer', '2 peers'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class NodeError(RuntimeError):
    """Something the user can fix (a path, a file): the CLIs print it as one line."""


class RolloutsRejected(Exception):
    """A schema-valid rollouts body this node cannot use; counted in the gossip's `rejected` by class name."""


class WrongTask(RolloutsRejected):
    """The rollouts are of another task (a family body on an addition node, another family, or the reverse)."""


class WrongQuestions(RolloutsRejected):
    """A family node's questions are not its draw of the round (node_seed and its mix): it picked its own."""


def task_digest(task: Any) -> str:
    """The rollouts' "task" of a family: hex SHA-256 of the canonical JSON of `Family.to_dict()`."""
    import hashlib

    return hashlib.sha256(json.dumps(task.to_dict(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_rollouts(task: Any, body: dict[str, Any], author: bytes, round_seed: int) -> None:
    """Raise WrongTask or WrongQuestions unless this node (on `task`) can use `body`, a peer's rollouts.

    An addition node takes an addition body as it always did. A family node takes only a body of its family
    whose questions are exactly the author's draw: `questions(family, node_seed(round_seed, author), n, mix)`
    with the author's peer id digest and the body's own mix, so a node cannot swap in questions it picked."""
    from offchain.model.family import Family, node_seed
    from offchain.swarm import rl

    if not isinstance(task, Family):
        if "task" in body:
            raise WrongTask("a task family's rollouts; this node plays the addition task")
        return
    if body.get("task") != task_digest(task):
        raise WrongTask(f"rollouts of task {str(body.get('task', 'addition'))[:12]}, not {task_digest(task)[:12]}")
    try:
        want = rl.questions(task, node_seed(round_seed, author), len(body["questions"]), mix=body["mix"])
    except ValueError as err:  # a mix of the wrong length, all zero
        raise WrongQuestions(f"mix {body['mix']}: {err}") from None
    if want != body["questions"]:
        raise WrongQuestions(f"questions are not the author's draw of the round (mix {body['mix']})")


class SwarmNode:
    """One node. `run()` plays rounds until `config.rounds` are done (or forever)."""

    def __init__(self, config: NodeConfig, account: Any, deployment: Any, *, echo: Callable[[str], None] = print):
        self.cfg = config
        self.account = account
        self.registry = deployment.IdentityRegistry
        self.coordinator = deployment.SwarmCoordinator
        self.echo = echo
        try:
            config.workdir.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file in the way, no permission: before anything else, and no traceback
            raise NodeError(f"--workdir {config.workdir}: {err.strerror}") from None
        self.identity = _load_identity(config.workdir / "identity.key")
        self.peer = self.identity.peer_id_digest
        self.name = self.identity.peer_id.to_base58()
        self.dht = None
        self.gossip = None
        self.model = None
        self.opt = None
        self.task = None
        self.mix: list[int] | None = None  # a family node's question weights (None: the addition task)
        self.history: list[RoundLog] = []
        self._joined: set[int] = set()
        self._done: set[tuple[int, int]] = set()  # (round, stage) already played
        self._local: dict[int, list] = {}  # round -> this node's rollouts
        self._played = 0  # rounds played by this run (the stop condition)
        self._total = 0  # rounds played by this workdir's node over all its runs

    # ------------------------------------------------------------ set-up

    def register(self) -> None:
        """Register the peer id with the key proof unless it is already registered to this wallet."""
        owner = self.registry.ownerOf(self.peer)
        if int(owner, 16) == int(self.account.address, 16):
            self.echo(f"[{self.name[:10]}] already registered to {self.account.address[:10]}")
            return
        if int(owner, 16) != 0:
            raise NodeError(f"peer {self.name} is registered to another wallet {owner}")
        self.registry.registerPeer(*self.identity.registration_proof(self.registry, self.account), sender=self.account)
        self.echo(f"[{self.name[:10]}] registered on chain to {self.account.address[:10]}")

    def start_network(self) -> None:
        from offchain.swarm import daemons
        from offchain.swarm.gossip import Gossip, start_dht

        key = self.cfg.workdir / "identity.key"
        stale = daemons.stale_daemons(key)
        if stale:  # an earlier run was killed before it could stop its p2pd, which still holds our peer id
            self.echo(f"[{self.name[:10]}] stopping p2pd left running on {key} by an earlier run (pid {stale})")
            daemons.stop_processes(stale)
        port = self._port()
        options = {"host_maddrs": [_maddr(self.cfg.host, port)]}
        if self.cfg.announce:
            options["announce_maddrs"] = [_announce_maddr(self.cfg.announce, port)]
        boots = self._bootnodes()
        alone = ""
        try:
            self.dht = start_dht(key, boots, **options)
        except Exception as err:  # hivemind refuses to start when no bootnode answers
            if not boots or "bootstrap" not in str(err):
                raise NodeError(_network_problem(self.cfg.host, port, err)) from None
            self.dht = start_dht(key, [], **options)
            alone = f"no bootnode answered (tried {', '.join(boots)})"
        self.gossip = Gossip(self.dht, self.identity)
        maddrs = [str(m) for m in self.dht.get_visible_maddrs()]
        (self.cfg.workdir / "maddrs.json").write_text(json.dumps(maddrs))
        _atomic_write(self.cfg.workdir / "network.json", json.dumps({"port": _port_of(maddrs, port)}))
        # start_dht refused to go on unless hivemind derived the same peer id from the saved key (multihash guard)
        self.echo(f"[{self.name[:10]}] DHT up as {self.dht.peer_id.to_base58()} on {maddrs[0] if maddrs else '?'} "
                  f"({_count(len(boots), 'bootnode')})")  # fmt: skip
        if alone:
            self._alone(alone)
        elif not boots:  # the swarm's first node, or one pointed at the wrong deployment: say which it looks like
            self.echo(f"[{self.name[:10]}] no other peer given, listed or announced on this coordinator: starting "
                      "as the first node (a WARNING follows in any round others join but are not heard)")  # fmt: skip
        self._announce(maddrs)

    def _alone(self, why: str) -> None:
        self.echo(f"[{self.name[:10]}] WARNING: playing alone: {why}; peers can still join through this node")

    def _port(self) -> int:
        """The port asked for, else the last run's (peers and the chain know it), else 0: any free port."""
        if self.cfg.port is not None:
            return self.cfg.port
        try:
            return int(json.loads((self.cfg.workdir / "network.json").read_text())["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def _bootnodes(self) -> list[str]:
        """--bootnode, then the coordinator's list, then the peers that announced themselves most recently."""
        out = list(self.cfg.bootnodes) + list(self.coordinator.getBootnodes())
        total = int(self.coordinator.announcedPeerCount())
        start = max(0, total - 4 * self.cfg.max_dial)
        ids, addrs, times = self.coordinator.announcedPeers(start, total - start)
        recent = sorted(zip(times, ids, addrs, strict=True), key=lambda t: -int(t[0]))
        own = [a for a in recent if bytes(a[1]) != self.peer][: self.cfg.max_dial]
        out += [addr for _, _, addr in own]
        return list(dict.fromkeys(a for a in out if f"/p2p/{self.name}" not in a))

    def _announce(self, maddrs: list[str]) -> None:
        """List this node's address on chain under its peer id, so others find it (and find it again after a
        restart on another address) without a bootnode manager."""
        dialable = [m for m in maddrs if "/0.0.0.0/" not in m and "/::/" not in m]
        if not dialable:
            self.echo(f"[{self.name[:10]}] not announcing {maddrs} on chain: give --announce with a reachable host")
            return
        if self.coordinator.peerAddress(self.peer)[0] == dialable[0]:
            return
        self.coordinator.announcePeer(self.peer, dialable[0], sender=self.account)
        self.echo(f"[{self.name[:10]}] announced {dialable[0]} on chain")

    def load_model(self) -> None:
        from offchain.swarm import rl

        weights = self.cfg.workdir / "weights.pt"
        source = weights if weights.exists() else self.cfg.init_checkpoint
        if source is None:
            raise NodeError(f"no weights.pt in {self.cfg.workdir} and no --init checkpoint to start from")
        try:
            ckpt = rl.load_checkpoint(source, self.cfg.impl)
        except FileNotFoundError:
            raise NodeError(f"{source}: no such checkpoint") from None
        except Exception as err:  # torch's unpickler and the format check raise several kinds
            # torch's message runs to a paragraph; the file name and the kind of failure are what the user needs.
            kind = type(err).__name__
            raise NodeError(f"{source}: not a swarm checkpoint this node can start from ({kind})") from None
        # a one-task family checkpoint plays as the one-task Family (its questions, digest and checks are a family's)
        self.task, meta = rl.as_family(ckpt.task), ckpt.meta
        self.mix = self._question_mix(source, meta)
        self.model, self.opt = rl.rl_policy(ckpt, self.rl_config())
        resumed = source == weights
        self._total = int(meta.get("rounds_played", 0)) if resumed else 0
        what = type(self.model).__name__
        if self.mix is not None:
            g = self.model.cfg
            mix = ",".join(f"{n}={w}" for n, w in zip(self.task.names, self.mix, strict=True) if w)
            what += f" (width {g.width}, depth {g.n_layer}) on {len(self.task.names)} family tasks, question mix {mix}"
        self.echo(f"[{self.name[:10]}] {'resumed from' if resumed else 'starting from'} {source}, training "
                  f"{what}")  # fmt: skip

    def _question_mix(self, source: Path, meta: dict) -> list[int] | None:
        """A family node's task weights: --mix, else its own checkpoint's, else the warm-up's, else uniform."""
        from offchain.model.family import Family
        from offchain.swarm.payloads import MAX_MIX_WEIGHT

        if not isinstance(self.task, Family):
            if self.cfg.mix is not None:
                raise NodeError(f"--mix: {source} is an addition-task checkpoint; a task mix needs a task family "
                                "warm-up (python -m offchain.swarm.warmup --family ...)")  # fmt: skip
            return None
        mix = self.cfg.mix if self.cfg.mix is not None else meta.get("mix", meta.get("warmup_mix"))
        try:
            weights = self.task.weights(mix)
        except ValueError as err:
            raise NodeError(f"--mix: {err}") from None
        if max(weights) > MAX_MIX_WEIGHT:
            raise NodeError(f"--mix: weights are at most {MAX_MIX_WEIGHT} (what peers accept), got {max(weights)}")
        return weights

    def rl_config(self):
        """The RL knobs of this node's rounds: the benchmark's defaults with the node's round sizes."""
        from offchain.swarm import rl

        return rl.RLConfig(group_size=self.cfg.completions, questions=self.cfg.questions, local=self.cfg.local_groups,
                           external=self.cfg.external_groups, impl=self.cfg.impl)  # fmt: skip

    def save(self, round_: int) -> None:
        from offchain.swarm import rl

        meta: dict[str, Any] = {"round": round_, "rounds_played": self._total}
        if self.mix is not None:  # a restart without --mix keeps asking what it asked
            meta["mix"] = self.mix
        rl.save_checkpoint(self.cfg.workdir / "weights.pt", self.model, self.task, self.opt, meta=meta)

    # ------------------------------------------------------------ the loop

    def run(self) -> list[RoundLog]:
        # Everything the user can get wrong first: a bad path or an empty wallet must fail before any gas is spent.
        self.load_model()
        self._require_funds()
        previous = _stop_on_sigterm()
        try:
            self.register()
            self.start_network()
            while self.cfg.rounds is None or self._played < self.cfg.rounds:
                self.tick()
                time.sleep(self.cfg.poll_s)
            self._reveal_last()
        finally:
            self.stop()
            _restore_sigterm(previous)
        return self.history

    def _require_funds(self) -> None:
        from offchain.chain import client
        from offchain.chain.wallet import WalletError, require_gas_money

        try:
            require_gas_money(self.account, local=client.is_local())
        except WalletError as err:
            raise NodeError(str(err)) from None

    def _reveal_last(self) -> None:
        """After the last round, stay until stage 0 of the next round to reveal the last vote."""
        if not self.history:
            return
        last = self.history[-1].round
        while True:
            round_, stage = (int(x) for x in self.coordinator.schedule()[:2])
            if round_ > last + 1 or (round_ == last + 1 and stage > ANSWER):
                return
            if round_ == last + 1:
                self._reveal(last)
                return
            self._maybe_advance()
            time.sleep(self.cfg.poll_s)

    def stop(self) -> None:
        if self.dht is not None:
            dht, self.dht = self.dht, None
            dht.shutdown()  # stops hivemind's process and its p2pd

    def tick(self) -> None:
        """Look at the chain once; play the current stage if not played yet; advance an overdue stage."""
        round_, stage = (int(x) for x in self.coordinator.schedule()[:2])
        self._maybe_advance()
        if (round_, stage) in self._done:
            return
        if stage > ANSWER and (round_, ANSWER) not in self._done:
            return  # joined mid-round: wait for the next round's first stage
        if self.cfg.start_round is not None and round_ < self.cfg.start_round:
            return
        if round_ not in self._joined:
            self._join(round_)
        handler = {ANSWER: self.answer, CRITIQUE: self.critique, VOTE: self.vote}.get(stage)
        self._done.add((round_, stage))
        if handler is not None:
            try:
                handler(round_)
            except Exception as err:  # a failed stage must not stop the node: the next one starts on time
                log.exception("round %s stage %s failed", round_, stage)
                self.echo(f"[{self.name[:10]}] round {round_} stage {stage} failed: {err}")

    def _maybe_advance(self) -> None:
        """If the stored stage is over (anyone may advance it) and nobody did, advance it ourselves."""
        from offchain.chain import client

        try:
            _, stage_, started = (int(x) for x in self.coordinator.anchor())
            durations = [int(d) for d in self.coordinator.stageDurations()]
            if client.head_timestamp() >= started + durations[stage_]:
                self.coordinator.advanceStage(sender=self.account)
        except Exception as err:  # another node advanced first, or the anchor moved: nothing to do
            log.debug("advanceStage skipped: %s", err)

    def _join(self, round_: int) -> None:
        if not self.coordinator.participated(round_, self.peer):
            self.coordinator.joinRound(self.peer, sender=self.account)
        self._joined.add(round_)

    # ------------------------------------------------------------ stages

    def _round_log(self, round_: int) -> RoundLog:
        if not self.history or self.history[-1].round != round_:
            self.history.append(RoundLog(round_))
        return self.history[-1]

    def answer(self, round_: int) -> None:
        """Stage 0: reveal last round's vote, then answer this round's questions and publish the rollouts."""
        import torch

        from offchain.model.family import node_seed
        from offchain.swarm import rl

        self._reveal(round_ - 1)
        seed = self._round_seed(round_)
        if self.mix is None:
            qs = rl.questions(self.task, seed, self.cfg.questions)
        else:  # its own draw, which every peer recomputes from public values (check_rollouts)
            qs = rl.questions(self.task, node_seed(seed, self.peer), self.cfg.questions, mix=self.mix)
        gen = torch.Generator().manual_seed(_seed(self.cfg.seed, round_, self.name, "sample"))
        mine = rl.play_answer(self.model, self.task, qs, self.rl_config(), gen)
        self._local[round_] = mine
        rewards = [ro.rewards for ro in mine]
        body: dict[str, Any] = {"questions": qs, "completions": [ro.completions for ro in mine], "rewards": rewards}
        if self.mix is not None:
            body.update(task=task_digest(self.task), mix=self.mix)
        self.gossip.publish(round_, ANSWER, "rollouts", body, ttl_s=self._round_seconds() * 2)
        mean = sum(map(sum, rewards)) / max(1, sum(map(len, rewards)))
        self._round_log(round_).reward = mean
        self._round_log(round_).questions = qs
        self.echo(f"[{self.name[:10]}] round {round_} answer: {len(qs)} questions x {self.cfg.completions}, "
                  f"mean reward {mean:.3f}")  # fmt: skip

    def _peer_rollouts(self, round_: int) -> dict[str, list]:
        from offchain.swarm import rl

        out = {}
        seed = self._round_seed(round_)
        for peer, env in self.gossip.fetch(round_, ANSWER, "rollouts").items():
            if peer == self.name:
                continue
            b = env.body
            try:
                check_rollouts(self.task, b, env.peer_id, seed)
            except RolloutsRejected as err:
                self.gossip.rejected[type(err).__name__] += 1
                log.warning("dropped %s's round %s rollouts: %s: %s", peer, round_, type(err).__name__, err)
                continue
            groups = [rl.Rollout(q, c, r, "external", peer=peer) for q, c, r in
                      zip(b["questions"], b["completions"], b["rewards"], strict=True)]  # fmt: skip
            # A schema-valid payload may still hold completions of the wrong length for this task: drop them.
            groups = [g for g in groups if rl.well_formed(self.task, g)]
            if groups:
                out[peer] = groups
        return out

    def critique(self, round_: int) -> None:
        """Stage 1: score every peer's rollouts and publish the critiques. A peer's score is half the
        verifiable reward of its completions (re-computed here: claimed rewards are not trusted) and half our
        own model's per-token likelihood of them (how plausible its answers look to us), in [0, 1]."""
        from offchain.swarm import rl

        peers = self._peer_rollouts(round_)
        scores = {peer: rl.critique_score(self.model, self.task, rollouts) for peer, rollouts in peers.items()}
        self.gossip.publish(round_, CRITIQUE, "critiques", {"scores": scores}, ttl_s=self._round_seconds() * 2)
        lg = self._round_log(round_)
        lg.peers_seen = len(peers)
        self.echo(f"[{self.name[:10]}] round {round_} critique: {_count(len(peers), 'peer')} scored")
        if not peers and int(self.coordinator.participantCount(round_)) > 1:
            self._alone(f"other peers joined round {round_} on chain but none of their rollouts reached us")

    def vote(self, round_: int) -> None:
        """Stage 2: commit a vote for the best peer, train with SAPO/GRPO, commit rewards, save weights."""
        import torch

        from offchain.swarm import rl
        from offchain.swarm.rewards import RewardTree

        lg = self._round_log(round_)
        peers = self._peer_rollouts(round_)
        fetched = self.gossip.fetch(round_, CRITIQUE, "critiques")
        critiques = {critic: env.body["scores"] for critic, env in fetched.items()}
        own = {peer: sum(r for ro in ros for r in ro.rewards) for peer, ros in peers.items()}
        tally = rl.vote_tally(critiques, own)
        best = rl.vote_for({p: s for p, s in tally.items() if p != self.name and self._registered(p, round_)},
                           self.name)  # fmt: skip
        if best is not None and self._commit_vote(round_, best):
            lg.voted_for = best
        local = self._local.get(round_, [])
        external = [ro for ros in peers.values() for ro in ros]
        gen = torch.Generator().manual_seed(_seed(self.cfg.seed, round_, self.name, "sapo"))
        weights: dict[str, Any] = {}
        if self.cfg.weighting == "critique":  # the bench's +cv; this node's own vote stands in for the hidden winner
            weights = {"scores": rl.mean_critique(critiques), "winner": best,
                       "winner_slots": self.cfg.external_groups // 2}  # fmt: skip
        batch, _ = rl.play_revise(self.model, self.opt, self.task, local, external, self.rl_config(), gen, **weights)
        lg.external_used = sum(1 for ro in batch if ro.source == "external")
        for ro in batch:
            if ro.source == "external":
                lg.external_from[ro.peer] = lg.external_from.get(ro.peer, 0) + 1
        rewards = [int(round(100 * sum(ro.rewards) / max(1, len(ro.rewards)))) for ro in local]
        if rewards:
            tree = RewardTree(rewards)
            self.coordinator.submitRewardCommitment(self.peer, round_, tree.root, sum(rewards), len(rewards),
                                                    sender=self.account)  # fmt: skip
        self._played += 1
        self._total += 1
        per_task = ""
        if self.mix is None:
            lg.accuracy = rl.heldout_accuracy(self.model, self.task, self.cfg.heldout)
        else:  # the mean over the family's tasks, as rl.heldout_accuracy gives it, from one decoding pass
            lg.accuracy_by_task = rl.heldout_by_task(self.model, self.task, self.cfg.heldout)
            lg.accuracy = sum(lg.accuracy_by_task.values()) / len(lg.accuracy_by_task)
            per_task = " [" + " ".join(f"{k} {v:.2f}" for k, v in lg.accuracy_by_task.items()) + "]"
        self.save(round_)
        self._write_progress(lg)
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(self.gossip.rejected.items())) or "none"
        self.echo(f"[{self.name[:10]}] round {round_} vote: voted {lg.voted_for[:10] or '-'}, trained on "
                  f"{len(batch)} groups ({lg.external_used} external), held-out accuracy {lg.accuracy:.3f}"
                  f"{per_task}, peers seen {lg.peers_seen}, payloads rejected: {rejected}")  # fmt: skip

    # ------------------------------------------------------------ votes

    def _votes_file(self) -> Path:
        return self.cfg.workdir / "votes.json"

    def _commit_vote(self, round_: int, candidate_b58: str) -> bool:
        from offchain.identity import digest_of_b58

        if round_ > 0:
            committed, revealed, _ = self.coordinator.voteOf(round_ - 1, self.peer)
            if int.from_bytes(bytes(committed), "big") and not revealed:
                # The contract bars a voter whose last vote stayed hidden (SwarmVoteWithheld): this node was
                # down in that reveal window, so it sits this vote out instead of sending a doomed transaction.
                self.echo(f"[{self.name[:10]}] round {round_ - 1} vote was never revealed: no vote in round {round_}")
                return False
        cand = digest_of_b58(candidate_b58)
        salt = secrets.token_bytes(32)
        commitment = self.coordinator.voteCommitment(round_, self.peer, cand, salt)
        self.coordinator.commitVote(self.peer, commitment, sender=self.account)
        votes = self._load_votes()
        votes[str(round_)] = {"candidate": candidate_b58, "salt": salt.hex()}
        _atomic_write(self._votes_file(), json.dumps(votes))
        return True

    def _reveal(self, round_: int) -> None:
        """Reveal the vote committed in `round_` (we are in stage 0 of round_ + 1, its reveal window)."""
        from offchain.identity import digest_of_b58

        vote = self._load_votes().get(str(round_))
        if not vote or vote.get("revealed"):
            return
        try:
            self.coordinator.revealVote(self.peer, round_, digest_of_b58(vote["candidate"]),
                                        bytes.fromhex(vote["salt"]), sender=self.account)  # fmt: skip
            self.echo(f"[{self.name[:10]}] revealed round {round_} vote for {vote['candidate'][:10]}")
        except Exception as err:  # the window may be gone (node was down): the vote simply does not count
            self.echo(f"[{self.name[:10]}] could not reveal round {round_} vote: {err}")
        votes = self._load_votes()
        votes[str(round_)]["revealed"] = True
        _atomic_write(self._votes_file(), json.dumps(votes))

    def _load_votes(self) -> dict:
        f = self._votes_file()
        return json.loads(f.read_text()) if f.exists() else {}

    def _registered(self, peer_b58: str, round_: int) -> bool:
        from offchain.identity import digest_of_b58

        d = digest_of_b58(peer_b58)
        return self.coordinator.participated(round_, d) and int(self.registry.ownerOf(d), 16) != int(
            self.account.address, 16
        )

    # ------------------------------------------------------------ helpers

    def _chain_id(self) -> int:
        from offchain.chain import client

        return client.chain_id()

    def _round_seed(self, round_: int) -> int:
        from offchain.swarm import rl

        return rl.round_seed(self._chain_id(), self.coordinator.address, round_)

    def _round_seconds(self) -> int:
        return sum(int(d) for d in self.coordinator.stageDurations())

    def _write_progress(self, lg: RoundLog) -> None:
        with (self.cfg.workdir / "progress.jsonl").open("a") as f:
            # an addition node's rows stay as they were: no per-task field
            row = {k: v for k, v in lg.__dict__.items() if k != "events" and (k != "accuracy_by_task" or v)}
            f.write(json.dumps(row) + "\n")
        try:
            plot_progress(self.cfg.workdir / "progress.jsonl", self.cfg.workdir / "curves.png", self.name[:10])
        except Exception as err:  # a plot is a convenience; training goes on without it
            log.warning("plot failed: %s", err)


def plot_progress(progress: Path, path: Path, title: str) -> Path:
    """Held-out accuracy and mean reward per round, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in progress.read_text().splitlines() if line.strip()]
    rounds = [r["round"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(rounds, [r["accuracy"] for r in rows], "o-", label="held-out accuracy")
    ax.plot(rounds, [r["reward"] for r in rows], "s-", label="mean reward (own rollouts)")
    ax.set_xlabel("round")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"node {title}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _seed(*parts: object) -> int:
    """A stable 63-bit seed from the parts (Python's hash() of a str changes between processes)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big") >> 1


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class NodeStopped(KeyboardInterrupt):
    """SIGTERM arrived: unwind like Ctrl-C, so the DHT and p2pd are stopped on the way out."""


def _stop_on_sigterm():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None  # only the main thread may set handlers; the caller then owns the signals

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the shutdown short
        raise NodeStopped()

    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous) -> None:
    import signal

    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _load_identity(path: Path):
    from offchain.identity import IdentityError, PeerIdentity

    try:
        return PeerIdentity.load_or_create(path)
    except (IdentityError, ValueError) as err:
        raise NodeError(
            f"{path} is not a hivemind peer key ({err}); move it away to start as a new peer, which must be "
            "registered again and starts with no history (the old peer id keeps its rounds and rewards)"
        ) from None
    except OSError as err:
        raise NodeError(f"{path}: {err.strerror}") from None


def _maddr(host: str, port: int) -> str:
    if ":" in host:
        return f"/ip6/{host}/tcp/{port}"
    if host.replace(".", "").isdigit():
        return f"/ip4/{host}/tcp/{port}"
    return f"/dns/{host}/tcp/{port}"


def _announce_maddr(announce: str, port: int) -> str:
    """--announce as a multiaddr: one already, or host[:port] (the listen port when none is given)."""
    if announce.startswith("/"):
        return announce
    host, _, given = announce.rpartition(":") if announce.count(":") == 1 else (announce, "", "")
    if given and not given.isdigit():
        raise NodeError(f"--announce {announce}: expected host, host:port or a multiaddr")
    if port == 0 and not given:
        raise NodeError(f"--announce {announce} needs a port when --port is not fixed: use {announce}:<port>")
    return _maddr(host, int(given or port))


def _port_of(maddrs: list[str], fallback: int) -> int:
    for m in maddrs:
        parts = m.split("/")
        if "tcp" in parts:
            return int(parts[parts.index("tcp") + 1])
    return fallback


def _network_problem(host: str, port: int, err: Exception) -> str:
    text = str(err)
    if "address already in use" in text.lower():
        return f"port {port} on {host} is taken by another program: give --port another one"
    if "Identity" in text and "taken" in text:
        return f"another running node already uses this peer id: {text.splitlines()[0]}"
    return f"the hivemind DHT did not start on {host}:{port or 'any port'}: {text.splitlines()[0] if text else err!r}"
