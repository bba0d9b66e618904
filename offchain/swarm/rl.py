"""RL post-training of the addition GPT for the swarm node: round questions, sampling, reward, GRPO with SAPO.

    from offchain.swarm import rl
    seed = rl.round_seed(chain_id, coordinator, round)            # every node derives the same seed
    qs = rl.questions(task, seed, 8)                               # train-split pair ids (Philox stream 4)
    comps = rl.sample(model, task, qs, 8, temperature=1.0, generator=g)
    local = [rl.Rollout(q, c, [rl.reward(task, q, x) for x in c], "local") for q, c in zip(qs, comps)]
    batch = rl.sapo_batch(local, external, I=4, J=4, rng=g, task=task)
    stats = rl.grpo_step(model, opt, task, batch)

Algorithms: GRPO (Shao et al. 2024, "DeepSeekMath", arXiv:2402.03300): G completions per question,
advantage (r - mean) / (std + eps) within the group, clipped policy-gradient on the completion tokens,
optional KL to a reference model (k3 estimator). SAPO (Gensyn 2025, "Sharing is Caring: Efficient LM
Post-Training with Collective RL Experience Sharing", arXiv:2509.08721): each node trains on I of its own
question groups plus J groups drawn from its peers' rollouts, external groups with zero advantage dropped.

What trains: RepOpsGPT with RepOps AdamW (`RLConfig.impl = "repops"`, the default; the node's `--impl`). Every
float op of a round's update is a RepOps recipe (forward, log-softmax, the GRPO objective, backward, AdamW;
advantages are Python doubles in one fixed order), so the same weights, rollouts and SAPO seed give the same
weights and moments bit for bit on any machine, with or without the compiled kernels (offchain/native): a
node's training can be re-run and disputed like a job's. Sampling draws with torch.multinomial from a seeded
torch generator over RepOps probabilities, and the SAPO picks with torch.randperm: the same on the same torch
version. `impl = "native"` trains the NativeGPT twin with torch AdamW, as every node did before: faster, not
reproducible across machines. Both twins share one state dict, so a checkpoint loads into either; the
warm-up (offchain/swarm/warmup.py) stays native, a one-off file every node starts from. Measured
(`make bench-swarm`, 100 rounds, one thread; docs/swarm-node.md "Measured"): the same final accuracy and
reward either way (swarm 0.449, solo 0.492, reward ratio 0.967; one table cell of 100 rounds differs), a round
of both arms 0.97 s native against 1.08 s RepOps with the compiled kernels (10.8 s on the pure recipes).

Tasks: every function takes `task` duck-typed, one of
  * AdditionTask (offchain/model/task.py): pair ids a * 10^d + b, prompt 2d + 2 tokens, answer d + 1; the
    original path, kept bit for bit (same questions, rewards, checks, checkpoints);
  * Family (offchain/model/family.py): global ids of its tasks, prompt `PROMPT_LEN` = 10, answer
    `ANSWER_LEN` = 4, vocabulary 28; questions by a per-node task mix (`questions(fam, seed, n, mix=...)`,
    seed usually `family.node_seed(round_seed(...), peer)`), the family's rule-based reward, held-out accuracy
    pooled as the mean over tasks plus `heldout_by_task`;
  * a family `Task` alone (its local ids; questions as the one-task Family, whose global ids are the local ids).
The id of a question is still called `pair_id` (a Rollout's field, the payloads' "questions").

Critique and vote (issue 16 section 3): `critique_score`, `vote_tally`, `vote_for` are node.py's stage-1 score and
stage-2 tally and vote as functions (the in-process benchmark uses them), `round_winner` the most-voted peer;
`sapo_batch(..., scores=, winner=)` (and `play_revise`) optionally draw the external groups by their author's
critique (softmax of score / T) with the winner's groups first (`weighted_external`). Off by default: SAPO's
uniform draw, the same bits as before.

Tests: `.venv/bin/python -m pytest tests/swarm/test_rl.py tests/swarm/test_rl_family.py
tests/swarm/test_rl_weighting.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import torch
import torch.nn.functional as F

import offchain.repops.functional as R
from offchain.commit import keccak256
from offchain.model.family import Family
from offchain.model.family import Task as FamilyTask
from offchain.model.gpt import GPTConfig, NativeGPT, RepOpsGPT
from offchain.model.task import VOCAB, AdditionTask
from offchain.repops import optim as repops_optim
from offchain.repops import prims as P
from offchain.repops import rng as philox

QUESTION_STREAM = 4  # Philox stream of round questions (1: split, 2: batches, 3: init are the task's/model's)
U64 = (1 << 64) - 1
Impl = Literal["repops", "native"]
IMPLS: tuple[Impl, ...] = ("repops", "native")
AnyTask = AdditionTask | Family | FamilyTask  # what `task` may be (module docstring)
TASK_KINDS = {"family": Family, "family-task": FamilyTask}  # checkpoint "task_kind" of the non-addition tasks


@dataclass(frozen=True)
class RLConfig:
    """Knobs of a node's RL round (defaults: the bench's)."""

    group_size: int = 8  # G: completions sampled per question
    questions: int = 8  # question groups each node samples per round
    local: int = 4  # I: own question groups trained on per round (SAPO)
    external: int = 4  # J: peers' question groups trained on per round (SAPO)
    temperature: float = 1.0  # sampling temperature (softmax of logits / T)
    lr: float = 3e-4  # AdamW learning rate of the RL phase (constant; 1e-3 was unstable from the warm-up)
    weight_decay: float = 0.0  # AdamW decoupled weight decay (none: RL steps are few)
    clip: float = 0.2  # PPO ratio clip; inactive with epochs = 1 (ratio is 1 at the only step)
    epochs: int = 1  # optimizer steps per round on the same batch
    kl_coef: float = 0.0  # weight of the k3 KL to a reference model (0: no reference needed)
    impl: Impl = "repops"  # "repops": RepOpsGPT + RepOps AdamW (bit-reproducible); "native": the torch twin


def make_model(cfg: GPTConfig, impl: Impl = "repops") -> RepOpsGPT | NativeGPT:
    """An untrained GPT of `impl` (both twins take the same state dict)."""
    assert impl in IMPLS, f"make_model: impl must be one of {IMPLS}, got {impl!r}"
    return RepOpsGPT(cfg) if impl == "repops" else NativeGPT(cfg)


def impl_of(model: torch.nn.Module) -> Impl:
    """"repops" for a RepOpsGPT, else "native"."""
    return "repops" if isinstance(model, RepOpsGPT) else "native"


def _f32(value: float, like: torch.Tensor) -> torch.Tensor:
    """A 0-d float32 constant (rounded once) on `like`'s device."""
    return torch.tensor(value, dtype=torch.float32, device=like.device)


# ----------------------------------------------------------------------------------------------------- seeds


def round_seed(chain_id: int, coordinator: str, round: int) -> int:
    """The round's question seed: top 64 bits of keccak256(abi.encodePacked(uint256, address, uint256)).

    Parameters
    ----------
    chain_id : int
        EIP-155 chain id of the SwarmCoordinator's chain.
    coordinator : str
        The SwarmCoordinator's address, "0x" + 40 hex digits (any case).
    round : int
        The coordinator's round number.

    Returns
    -------
    int
        An unsigned 64-bit seed, the same on every node (and computable on chain by the same packing).
    """
    addr = bytes.fromhex(coordinator.removeprefix("0x"))
    assert len(addr) == 20, f"round_seed: coordinator must be a 20-byte address, got {coordinator!r}"
    assert 0 <= chain_id < 2**256 and 0 <= round < 2**256, "round_seed: chain_id and round are uint256"
    digest = keccak256(chain_id.to_bytes(32, "big") + addr + round.to_bytes(32, "big"))
    return int.from_bytes(digest[:8], "big")


def train_pairs(task: AnyTask) -> torch.Tensor:
    """The task's training ids (its Philox split; the held-out ids are never asked): AdditionTask's pair ids,
    a Family's global train ids of every task, a family Task's local ones."""
    if isinstance(task, AdditionTask):
        return task._split()[0]  # SAFETY: AdditionTask has no public accessor; _split is pure and deterministic
    return task.train_ids()


def as_family(task: AnyTask) -> AnyTask:
    """A family Task as the one-task Family (global ids = its local ids); any other task as it is."""
    return Family((task.name,), task.seed, task.test_size) if isinstance(task, FamilyTask) else task


def questions(
    task: AnyTask, seed: int, n: int, *, offset: int = 0, mix: Any = None
) -> list[int]:  # fmt: skip
    """`n` training ids drawn from Philox (seed, stream 4) (with replacement).

    Parameters
    ----------
    task : AdditionTask | Family | family Task
        The task whose TRAIN split is drawn from.
    seed : int
        Usually `round_seed(...)`; the same seed gives every node the same questions. For a Family, a node's
        own seed is `family.node_seed(round_seed(...), peer)`.
    n : int
        Number of questions.
    offset : int
        AdditionTask: first Philox word; nodes that want disjoint draws of one seed take offsets k * n (the bench
        does). Family: first question (it takes words 2 * offset on, `Family.questions`), the same k * n rule.
    mix : Mapping[str, int] | Sequence[int] | None
        Family only: the node's integer task weights (`Family.weights`; None: uniform). Must be None for an
        AdditionTask.

    Returns
    -------
    list[int]
        AdditionTask: pair ids a * 10^digits + b. Family: global ids (`Family.questions`).
    """
    if not isinstance(task, AdditionTask):
        return as_family(task).questions(seed, n, mix, offset=offset)
    assert mix is None, "questions: an AdditionTask has no task mix"
    train = train_pairs(task)
    pick = philox.randint(seed=seed & U64, stream=QUESTION_STREAM, offset=offset, n=n, high=len(train))
    return [int(p) for p in train[pick]]


# ------------------------------------------------------------------------------------------ sample, reward


def prompt_len(task: AnyTask) -> int:
    """Prompt tokens: AdditionTask's two operands, '+' and '=' (2d + 2); a family's `prompt_len` (10)."""
    return 2 * task.digits + 2 if isinstance(task, AdditionTask) else task.prompt_len


def answer_len(task: AnyTask) -> int:
    """Completion tokens: AdditionTask's d + 1 reversed sum digits; a family's `answer_len` (4, PAD-padded)."""
    return task.digits + 1 if isinstance(task, AdditionTask) else task.answer_len


def vocab(task: AnyTask) -> int:
    """Token ids are 0..vocab-1: AdditionTask's 12 (task.py's VOCAB), a family's 28."""
    return VOCAB if isinstance(task, AdditionTask) else task.vocab


def id_space(task: AnyTask) -> int:
    """Question ids are 0..id_space-1: (10^d)^2 pairs, or the family's (task's) size."""
    return (10**task.digits) ** 2 if isinstance(task, AdditionTask) else task.size


@torch.no_grad()
def sample(
    model: torch.nn.Module,
    task: AnyTask,
    pair_ids: list[int],
    G: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> list[list[list[int]]]:
    """`G` completions per question, sampled autoregressively at `temperature`.

    Parameters
    ----------
    model : torch.nn.Module
        A GPT of offchain.model (token ids (B, T) -> logits (B, T, V)).
    task : AdditionTask | Family | family Task
        Gives the prompts and the completion length (`answer_len`).
    pair_ids : list[int]
        The questions (the task's ids).
    G : int
        Completions per question.
    temperature : float
        Softmax temperature, > 0.
    generator : torch.Generator | None
        Source of the sampling randomness (seed it for reproducible rollouts).

    Returns
    -------
    list[list[list[int]]]
        [question][completion][token], each completion `answer_len(task)` token ids in 0..model vocab-1.
    """
    assert temperature > 0, "sample: temperature must be > 0"
    if not pair_ids:
        return []
    was_training = model.training
    model.eval()
    prompts = task.encode(torch.tensor(pair_ids, dtype=torch.int64))[:, : prompt_len(task)]  # (Q, P)
    seq = prompts.repeat_interleave(G, dim=0)  # (Q*G, P)
    repops = impl_of(model) == "repops"
    for _ in range(answer_len(task)):
        logits = model(seq)[:, -1, :].float()  # (Q*G, V)
        if repops:  # the probabilities are RepOps results too, so a seeded draw is the same on every machine
            probs = R.softmax(logits if temperature == 1.0 else P.div(logits, _f32(temperature, logits)))
        else:
            probs = torch.softmax(logits / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator)  # (Q*G, 1)
        seq = torch.cat([seq, nxt], dim=1)
    model.train(was_training)
    comps = seq[:, prompt_len(task) :].reshape(len(pair_ids), G, answer_len(task))  # (Q, G, D+1)
    return comps.tolist()


def answer(task: AnyTask, pair_id: int) -> list[int]:
    """The right completion of `pair_id`: the digits + 1 sum digits, least significant first (AdditionTask);
    the family's `answer` (4 tokens, PAD-padded)."""
    if not isinstance(task, AdditionTask):
        return task.answer(pair_id)
    return task.encode(torch.tensor([pair_id]))[0, prompt_len(task) :].tolist()


def reward(task: AnyTask, pair_id: int, completion: list[int]) -> float:
    """Rule-based reward (docs/swarm-node.md): correctness, else a small format credit.

    AdditionTask: 1.0 if `completion` is exactly the answer; otherwise 0.1 × the fraction of its tokens that
    are digits 0-9. A completion of the wrong length (possible only from a peer) scores 0.0. A Family or
    family Task: its own `reward` (1.0 exact; else 0.1 × the fraction of tokens of the right kind; 0.0 for a
    wrong length).
    """
    if not isinstance(task, AdditionTask):
        return task.reward(pair_id, completion)
    want = answer(task, pair_id)
    if len(completion) != len(want):
        return 0.0
    if list(completion) == want:
        return 1.0
    well_formed = sum(1 for t in completion if isinstance(t, int) and 0 <= t <= 9)
    return 0.1 * well_formed / len(want)


# -------------------------------------------------------------------------------------------------- SAPO


@dataclass
class Rollout:
    """One question's group: its G completions and their rewards, from this node or a peer."""

    pair_id: int  # the question (task pair id)
    completions: list[list[int]]  # G completions, digits + 1 tokens each
    rewards: list[float]  # reward of each completion (re-scored locally for external groups)
    source: Literal["local", "external"] = "local"  # who sampled it
    peer: str = field(default="", compare=False)  # sampling peer's id for external groups (informational)
    # Fixed per-completion advantages (`sapo_batch`'s reader baseline); None: group-normalised from `rewards`.
    advantages: list[float] | None = None

    @property
    def zero_advantage(self) -> bool:
        """True when the group teaches nothing: every reward equal (group-normalised advantage all zero), or,
        with fixed `advantages`, every one of them zero."""
        if self.advantages is not None:
            return all(a == 0.0 for a in self.advantages)
        return len(set(self.rewards)) <= 1


def well_formed(task: AnyTask, rollout: Rollout) -> bool:
    """The group has >= 1 completion, each `answer_len(task)` ints in 0..vocab(task)-1, a reward per completion,
    and a question id of the task (0 <= id < id_space(task); for a family also a plain int, not a bool)."""
    n = answer_len(task)
    if not isinstance(task, AdditionTask):
        v, pid = vocab(task), rollout.pair_id
        return (
            len(rollout.completions) > 0
            and len(rollout.rewards) == len(rollout.completions)
            and isinstance(pid, int) and not isinstance(pid, bool) and 0 <= pid < id_space(task)
            and all(len(c) == n and all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < v for t in c)
                    for c in rollout.completions)
        )  # fmt: skip
    return (
        len(rollout.completions) > 0
        and len(rollout.rewards) == len(rollout.completions)
        and all(len(c) == n and all(isinstance(t, int) and 0 <= t < VOCAB for t in c) for c in rollout.completions)
        and 0 <= rollout.pair_id < (10**task.digits) ** 2
    )


def rescore(task: AnyTask, rollout: Rollout) -> Rollout:
    """The same group with its rewards recomputed here (a peer's claimed rewards are never trusted)."""
    rewards = [reward(task, rollout.pair_id, c) for c in rollout.completions]
    return Rollout(rollout.pair_id, rollout.completions, rewards, rollout.source, rollout.peer)


def sapo_batch(
    local: list[Rollout],
    external: list[Rollout],
    I: int,  # noqa: E741 - the paper's name
    J: int,
    rng: torch.Generator,
    *,
    task: AnyTask | None = None,
    scores: dict[str, float] | None = None,
    winner: str | None = None,
    score_temperature: float = 0.1,
    winner_slots: int | None = None,
    baseline: Callable[[Rollout], float] | None = None,
    pick: Literal["uniform", "gain"] = "uniform",
) -> list[Rollout]:
    """SAPO training set: `I` local groups plus `J` external ones, zero-advantage external groups dropped.

    Parameters
    ----------
    local : list[Rollout]
        This node's groups of the round (kept as they are, zero-advantage ones included, as in SAPO).
    external : list[Rollout]
        Peers' groups of the round.
    I, J : int
        How many local and external groups to draw (uniformly without replacement).
    rng : torch.Generator
        Source of the draws.
    task : AdditionTask | Family | family Task | None
        When given, external groups are first checked with `well_formed` and re-scored with `reward`
        (SAFETY: a peer cannot inject advantages by lying about rewards); pass it for untrusted input.
    scores, winner, score_temperature, winner_slots :
        Opt-in critique/vote weighting of the external draw (issue 16 section 3; `weighted_external`). With
        `scores` and `winner` both None (the default) the draw is SAPO's plain uniform one, bit for bit as
        before, and the other two are ignored.
    baseline : Callable[[Rollout], float] | None
        Opt-in reader baseline (issue 16): an external group's advantages become reward - baseline(group), the
        READER's expected reward on that question (e.g. its running mean on the question's task), instead of
        the author's group normalisation. A strong peer's all-correct group then teaches a reader that is
        weak on its task (SAPO's filter would drop it), and a group the reader would answer as well gets no
        weight. None (default): SAPO's group-normalised advantages, bit for bit as before.
    pick : "uniform" | "gain"
        How the J external groups are chosen when no critique weighting is given: SAPO's uniform draw, or
        "gain", the J groups of the highest mean advantage (with `baseline`: what the reader gains most from;
        ties in pool order).

    Returns
    -------
    list[Rollout]
        min(I, len(local)) local groups then min(J, usable external) external groups, each marked with its
        source. Fewer than J external groups when too few peers' groups carry a learning signal.
    """
    ext = external
    if task is not None:
        ext = [rescore(task, r) for r in external if well_formed(task, r)]
    if baseline is not None:
        ext = [replace(r, advantages=[x - b for x in r.rewards]) for r in ext for b in [float(baseline(r))]]
    ext = [r for r in ext if not r.zero_advantage]

    def draw(pool: list[Rollout], k: int) -> list[Rollout]:
        order = torch.randperm(len(pool), generator=rng).tolist()
        return [pool[i] for i in sorted(order[: min(k, len(pool))])]

    mine = [replace(r, source="local") for r in draw(local, I)]
    if scores is None and winner is None and pick == "gain":
        gain = [sum(advantages(r.rewards) if r.advantages is None else r.advantages) / len(r.rewards) for r in ext]
        picked = [ext[i] for i in sorted(sorted(range(len(ext)), key=lambda i: -gain[i])[:J])]
    elif scores is None and winner is None:
        picked = draw(ext, J)
    else:
        picked = weighted_external(ext, J, rng, scores=scores, winner=winner, temperature=score_temperature,
                                   winner_slots=winner_slots)  # fmt: skip
    theirs = [replace(r, source="external") for r in picked]
    return mine + theirs


def weighted_external(
    pool: list[Rollout],
    J: int,
    rng: torch.Generator,
    *,
    scores: dict[str, float] | None = None,
    winner: str | None = None,
    temperature: float = 0.1,
    winner_slots: int | None = None,
) -> list[Rollout]:
    """`J` external groups of `pool` (already checked and filtered) chosen by their authors' critique and vote.

    First the round winner's groups (`winner`, a peer id as in `Rollout.peer`; None: no winner), up to
    `winner_slots` of them (None: up to J), drawn uniformly without replacement. Then the remaining slots from
    the other groups, without replacement, each group with weight exp((score - max score) / temperature) of
    its author (`scores[peer]`, e.g. the mean critique `critique_score` gave it; a peer without a score weighs
    as the lowest scored one; None: all equal, a uniform draw): a group's chance is the softmax of its author's
    critique over the pool's groups, so a higher-critique author's groups are drawn more often. Draws use
    `rng` (torch.randperm, torch.multinomial): deterministic for a seeded generator. Winner's groups come
    first, the others in pool order.
    """
    assert temperature > 0, "weighted_external: temperature must be > 0"
    k = min(J, len(pool))
    if k <= 0:
        return []
    won = [i for i, r in enumerate(pool) if winner is not None and r.peer == winner]
    n_win = min(len(won), k if winner_slots is None else max(0, min(winner_slots, k)))
    first = [won[i] for i in torch.randperm(len(won), generator=rng).tolist()[:n_win]] if n_win else []
    rest = [i for i in range(len(pool)) if i not in set(first)]
    m = min(k - len(first), len(rest))
    chosen: list[int] = []
    if m > 0:
        if scores:
            low = min(scores.values())
            s = [float(scores.get(pool[i].peer, low)) for i in rest]
            top = max(s)
            w = torch.tensor([math.exp((x - top) / temperature) for x in s], dtype=torch.float64)
            chosen = sorted(rest[i] for i in torch.multinomial(w, m, replacement=False, generator=rng).tolist())
        else:
            chosen = sorted(rest[i] for i in torch.randperm(len(rest), generator=rng).tolist()[:m])
    return [pool[i] for i in sorted(first)] + [pool[i] for i in chosen]


def critique_score(model: torch.nn.Module, task: AnyTask, rollouts: list[Rollout]) -> float:
    """A node's stage-1 critique of one peer's rollouts, as offchain/swarm/node.py computes it: half the
    verifiable reward of its completions (re-computed here) and half `model`'s per-token likelihood of them
    (exp of the mean completion log-probability), rounded to 6 decimals, in [0, 1]."""
    checked = [reward(task, ro.pair_id, c) for ro in rollouts for c in ro.completions]
    seqs, _ = rollout_tensors(task, rollouts)
    likelihood = math.exp(mean_logprob(model, task, seqs))
    verifiable = sum(checked) / max(1, len(checked))
    return round(0.5 * verifiable + 0.5 * likelihood, 6)


def vote_tally(critiques: dict[str, dict[str, float]], own: dict[str, float] | None = None) -> dict[str, float]:
    """The node's stage-2 tally: the sum over critics of each peer's critique (`critiques[critic][peer]`), and
    for a peer nobody critiqued the `own` fallback score (node.py: the sum of its claimed rewards)."""
    tally: dict[str, float] = {}
    for body in critiques.values():
        for peer, score in body.items():
            tally[peer] = tally.get(peer, 0.0) + float(score)
    for peer, s in (own or {}).items():
        tally.setdefault(peer, s)
    return tally


def mean_critique(critiques: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each author's mean critique over the critics that scored it (`vote_tally` / count): the `scores` of the
    critique weighting (`weighted_external`)."""
    count: dict[str, int] = {}
    for body in critiques.values():
        for peer in body:
            count[peer] = count.get(peer, 0) + 1
    return {peer: s / count[peer] for peer, s in vote_tally(critiques).items()}


def vote_for(tally: dict[str, float], me: str) -> str | None:
    """The node's vote: the best-tallied peer other than `me` (ties: the first name in sorted order)."""
    candidates = [p for p in tally if p != me]
    return max(sorted(candidates), key=lambda p: tally[p]) if candidates else None


def round_winner(votes: dict[str, str | None]) -> str | None:
    """The round's winner from each voter's vote: most votes, ties to the first name in sorted order."""
    count: dict[str, int] = {}
    for v in votes.values():
        if v is not None:
            count[v] = count.get(v, 0) + 1
    return max(sorted(count), key=lambda p: count[p]) if count else None


# -------------------------------------------------------------------------------------------------- GRPO


def advantages(rewards: list[float], *, eps: float = 1e-4) -> list[float]:
    """Group-normalised advantages (r - mean) / (std + eps), population std; all zero for an equal group.

    Python floats summed in order: IEEE double with one fixed sequence, the same on every machine (a torch
    reduction's order depends on its vector width)."""
    n = len(rewards)
    mean = sum(rewards) / n
    std = math.sqrt(sum((r - mean) * (r - mean) for r in rewards) / n)
    return [(r - mean) / (std + eps) for r in rewards]


def completion_logprobs(model: torch.nn.Module, task: AnyTask, seqs: torch.Tensor) -> torch.Tensor:
    """Log-probabilities (N, D+1) of the completion tokens of full sequences `seqs` (N, P + D + 1)."""
    logits = model(seqs[:, :-1]).float()  # (N, L-1, V)
    full = R.log_softmax(logits) if impl_of(model) == "repops" else F.log_softmax(logits, dim=-1)
    logp = full.gather(-1, seqs[:, 1:, None])[..., 0]  # (N, L-1); gather and its scatter back are exact
    return logp[:, -answer_len(task) :].contiguous()  # (N, D+1)


def mean_logprob(model: torch.nn.Module, task: AnyTask, seqs: torch.Tensor) -> float:
    """Mean per-token log-probability of the completions of `seqs` (RepOps' fixed-order mean for a RepOpsGPT)."""
    with torch.no_grad():
        lp = completion_logprobs(model, task, seqs).reshape(-1)
        return float(R.mean(lp, 0) if impl_of(model) == "repops" else lp.mean())


def rollout_tensors(task: AnyTask, rollouts: list[Rollout]) -> tuple[torch.Tensor, torch.Tensor]:
    """(sequences (N, P + D + 1) int64, advantages (N,) float32) of every completion of `rollouts`."""
    rows, adv = [], []
    for r in rollouts:
        prompt = task.encode(torch.tensor([r.pair_id]))[0, : prompt_len(task)].tolist()
        rows += [prompt + list(c) for c in r.completions]
        adv += advantages(r.rewards) if r.advantages is None else list(r.advantages)
    return torch.tensor(rows, dtype=torch.int64), torch.tensor(adv, dtype=torch.float32)


def grpo_step(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    task: AnyTask,
    rollouts: list[Rollout],
    *,
    clip: float = 0.2,
    epochs: int = 1,
    kl_coef: float = 0.0,
    ref: torch.nn.Module | None = None,
) -> dict[str, float]:
    """GRPO update on `rollouts`: clipped policy gradient on completion tokens, optional KL to `ref`.

    loss = -mean_tokens[min(ρ A, clip(ρ, 1-clip, 1+clip) A)] + kl_coef · mean_tokens[k3(ref ‖ π)], with
    ρ = π(token) / π_old(token), π_old the model before this call (ρ = 1 at the first epoch, so one epoch is
    the plain policy gradient A ∇log π), and every completion of every group in the mean. External
    completions are treated as on-policy, as SAPO does.

    Parameters
    ----------
    model, opt : the policy and its optimizer (updated in place, `epochs` steps).
    task : AdditionTask | Family | family Task
        Gives prompts and completion length.
    rollouts : list[Rollout]
        Well-formed groups (see `well_formed`); rewards as scored by this node.
    clip : float
        PPO clip range.
    epochs : int
        Optimizer steps on the batch.
    kl_coef : float
        Weight of the KL penalty; needs `ref` when > 0.
    ref : torch.nn.Module | None
        Frozen reference policy for the KL.

    Returns
    -------
    dict[str, float]
        loss (last epoch), kl, mean_reward, groups, signal_groups (groups with non-zero advantage),
        completions, clip_frac.
    """
    assert kl_coef == 0.0 or ref is not None, "grpo_step: kl_coef > 0 needs a reference model"
    assert epochs >= 1, "grpo_step: epochs must be >= 1"
    stats = {"loss": 0.0, "kl": 0.0, "clip_frac": 0.0, "groups": float(len(rollouts)), "completions": 0.0,
             "signal_groups": float(sum(not r.zero_advantage for r in rollouts)),
             "mean_reward": 0.0}  # fmt: skip
    if not rollouts:
        return stats
    seqs, adv = rollout_tensors(task, rollouts)  # (N, L), (N,)
    stats["completions"] = float(len(seqs))
    stats["mean_reward"] = float(sum(sum(r.rewards) for r in rollouts) / len(seqs))
    model.train()
    with torch.no_grad():
        old = completion_logprobs(model, task, seqs)  # (N, D+1)
        ref_lp = completion_logprobs(ref, task, seqs) if kl_coef > 0 and ref is not None else None
    a = adv[:, None]  # (N, 1)
    objective = _repops_objective if impl_of(model) == "repops" else _native_objective
    for _ in range(epochs):
        lp = completion_logprobs(model, task, seqs)  # (N, D+1)
        loss, reported, kl, ratio = objective(lp, old, a, ref_lp, clip=clip, kl_coef=kl_coef)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        stats["loss"], stats["kl"] = float(reported), float(kl)
        stats["clip_frac"] = float(((ratio - 1).abs() > clip).float().mean())
    return stats


def _native_objective(lp, old, a, ref_lp, *, clip, kl_coef):
    """GRPO loss with torch ops: (loss to differentiate, its value, kl, ratio)."""
    ratio = torch.exp(lp - old)
    surrogate = torch.minimum(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a)
    loss = -surrogate.mean()
    kl = torch.zeros(())
    if ref_lp is not None:
        d = ref_lp - lp
        kl = (torch.exp(d) - d - 1).mean()  # k3: unbiased, >= 0
        loss = loss + kl_coef * kl
    return loss, loss.detach(), kl.detach(), ratio.detach()


def _repops_objective(lp, old, a, ref_lp, *, clip, kl_coef):
    """The same loss with RepOps ops only, so the gradient (and the step) is the same bits everywhere.

    RepOps has no differentiable min or clamp; both only select, so PPO's min(ρA, clip(ρ)A) has gradient A·∇ρ
    where the unclipped term is the smaller or ρ lies inside the clip range, and 0 elsewhere (torch's min
    splits a tie in halves that add back up to the same). The step differentiates mean(-ρ·coef) with coef that
    selection of -A; the loss reported is the clipped surrogate itself.
    """
    n = lp.numel()
    ratio = R.exp(R.sub(lp, old))  # (N, D+1)
    with torch.no_grad():
        lo, hi = _f32(1 - clip, ratio), _f32(1 + clip, ratio)
        clipped = P.minimum(P.maximum(ratio, lo), hi)
        a = a.expand_as(ratio).contiguous()
        plain, capped = P.mul(ratio, a), P.mul(clipped, a)
        keep = (plain < capped) | ((ratio >= lo) & (ratio <= hi))
        coef = torch.where(keep, P.neg(a), torch.zeros_like(ratio))
        reported = P.neg(R.mean(P.minimum(plain, capped).reshape(n), 0))
    loss = R.mean(R.mul(ratio, coef).reshape(n), 0)
    kl = torch.zeros(())
    if ref_lp is not None:
        d = R.sub(ref_lp, lp)
        kl = R.mean(R.sub(R.sub(R.exp(d), d), _f32(1.0, d)).reshape(n), 0)  # k3: unbiased, >= 0
        weighted = R.mul(_f32(kl_coef, kl), kl)
        loss = R.add(loss, weighted)
        reported = P.add(reported, weighted.detach())
    return loss, reported, kl.detach(), ratio.detach()


# ---------------------------------------------------------------------------------------- a node's round


def play_answer(
    model: torch.nn.Module,
    task: AnyTask,
    pair_ids: list[int],
    cfg: RLConfig,
    generator: torch.Generator,
    *,
    peer: str = "",
) -> list[Rollout]:
    """Stage 0 of a round, as every node (the swarm's and the benchmark's) plays it: `cfg.group_size`
    completions per question at `cfg.temperature`, each scored with the rule-based `reward`."""
    comps = sample(model, task, pair_ids, cfg.group_size, temperature=cfg.temperature, generator=generator)
    pairs = zip(pair_ids, comps, strict=True)
    return [Rollout(q, c, [reward(task, q, x) for x in c], "local", peer) for q, c in pairs]


def play_revise(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    task: AnyTask,
    local: list[Rollout],
    external: list[Rollout] | None,
    cfg: RLConfig,
    generator: torch.Generator,
    *,
    scores: dict[str, float] | None = None,
    winner: str | None = None,
    score_temperature: float = 0.1,
    winner_slots: int | None = None,
    baseline: Callable[[Rollout], float] | None = None,
    pick: Literal["uniform", "gain"] = "uniform",
) -> tuple[list[Rollout], dict[str, float]]:
    """Stage 2's training, as every node plays it: the SAPO batch of `cfg.local` own groups and `cfg.external`
    peers' groups (re-scored, zero-advantage ones dropped), then one GRPO update. `external=None` is a node that
    does not share (the benchmark's solo arm): it trains on `cfg.local + cfg.external` own groups instead.

    `scores`, `winner`, `score_temperature`, `winner_slots`: the opt-in critique/vote weighting of the external
    draw (`sapo_batch`, `weighted_external`); off by default (SAPO's uniform draw, bit for bit as before).
    `baseline`, `pick`: the opt-in reader baseline of external advantages and the "gain" pick (`sapo_batch`).

    Returns the batch trained on and `grpo_step`'s statistics (empty when the batch was).
    """
    if external is None:
        batch = sapo_batch(local, [], cfg.local + cfg.external, 0, generator)
    else:
        batch = sapo_batch(local, external, cfg.local, cfg.external, generator, task=task, scores=scores,
                           winner=winner, score_temperature=score_temperature, winner_slots=winner_slots,
                           baseline=baseline, pick=pick)  # fmt: skip
    if not batch:
        return batch, {}
    return batch, grpo_step(model, opt, task, batch, clip=cfg.clip, epochs=cfg.epochs)


def heldout_accuracy(model: torch.nn.Module, task: AnyTask, n: int | None = None) -> float:
    """Greedy exact-match accuracy on the first `n` held-out pairs (all of them when None).

    For a Family: the mean over its tasks of each task's accuracy on its first `n` held-out ids (every task
    weighs the same, whatever its held-out count; `heldout_by_task` has the parts)."""
    if isinstance(task, Family):
        per = heldout_by_task(model, task, n)
        return sum(per.values()) / len(per)
    pairs = task.test_pairs()
    return task.accuracy(model, pairs if n is None else pairs[:n])


def heldout_by_task(model: torch.nn.Module, task: AnyTask, n: int | None = None) -> dict[str, float]:
    """Held-out accuracy per task on the first `n` held-out ids of each (all when None): a Family's
    `accuracy_by_task` (one decoding pass); {name: accuracy} for a family Task; {"addition": accuracy} for an
    AdditionTask."""
    if isinstance(task, Family):
        return task.accuracy_by_task(model, n)
    return {task.name if isinstance(task, FamilyTask) else "addition": heldout_accuracy(model, task, n)}


# ------------------------------------------------------------------------------------------ checkpoints


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model, its task, the optimizer state if saved, and free-form metadata."""

    model: RepOpsGPT | NativeGPT
    task: AnyTask
    opt_state: dict[str, Any] | None
    meta: dict[str, Any]


def make_optimizer(
    model: torch.nn.Module, *, lr: float = RLConfig.lr, weight_decay: float = RLConfig.weight_decay,
    state: dict[str, Any] | None = None,
) -> torch.optim.Optimizer:  # fmt: skip
    """AdamW over the model's parameters at `lr` and `weight_decay` (RepOps AdamW for a RepOpsGPT, torch's for
    the native twin), with the moments of `state` (an `opt.state_dict()` of the same kind) when given.
    `load_state_dict` also restores each group's saved learning rate and decay; they are set back to the ones
    asked for, so a checkpoint never brings another phase's learning rate."""
    if impl_of(model) == "repops":
        opt: torch.optim.Optimizer = repops_optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    if state is not None:
        opt.load_state_dict(state)
        for group in opt.param_groups:
            group["lr"], group["weight_decay"] = lr, weight_decay
    return opt


def rl_policy(ckpt: Checkpoint, cfg: RLConfig) -> tuple[RepOpsGPT | NativeGPT, torch.optim.Optimizer]:
    """The policy and optimizer RL trains, from a checkpoint: the one path of the node and the benchmark.

    The model is `cfg.impl`'s twin (the checkpoint's weights load into either). A warm-up checkpoint (its meta
    has "warmup") starts RL with fresh AdamW moments: its own belong to the supervised phase and its learning
    rate (3e-3) is ten times the RL one, which made nodes unlearn. A node's own checkpoint resumes its moments,
    unless it was trained by the other twin (meta "impl"; none: native, as every node trained before RepOps
    did), whose AdamW keeps other state. The learning rate and weight decay are always `cfg`'s.
    """
    if impl_of(ckpt.model) != cfg.impl:
        model = make_model(ckpt.model.cfg, cfg.impl)
        model.load_state_dict(ckpt.model.state_dict())
        ckpt = Checkpoint(model, ckpt.task, ckpt.opt_state, ckpt.meta)
    resume = "warmup" not in ckpt.meta and ckpt.meta.get("impl", "native") == cfg.impl
    opt = make_optimizer(ckpt.model, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         state=ckpt.opt_state if resume else None)  # fmt: skip
    return ckpt.model, opt


def save_checkpoint(
    path: str | os.PathLike[str],
    model: torch.nn.Module,
    task: AnyTask,
    opt: torch.optim.Optimizer | None = None,
    *,
    meta: dict[str, Any] | None = None,
) -> None:
    """Write weights, GPT config, task, optimizer state and `meta` to `path` atomically (temp file + rename).

    `meta` must hold plain values (ints, floats, strings, lists, dicts) so `load_checkpoint` can read it with
    `weights_only=True`. An AdditionTask is written as it always was (its fields under "task"); a Family or a
    family Task adds "task_kind" ("family" / "family-task", TASK_KINDS) with its plain fields under "task".
    """
    blob = {
        "format": "swarm-rl/1",
        "gpt": asdict(model.cfg),
        "task": asdict(task) if isinstance(task, AdditionTask) else _task_fields(task),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "opt": opt.state_dict() if opt is not None else None,
        "meta": {"impl": impl_of(model), **(meta or {})},
    }
    if not isinstance(task, AdditionTask):
        blob["task_kind"] = "family" if isinstance(task, Family) else "family-task"
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(blob, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX: readers see the old file or the new one
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _task_fields(task: Family | FamilyTask) -> dict[str, Any]:
    """A family's (task's) plain fields, as `Family(**d)` / `Task(**d)` take them."""
    if isinstance(task, Family):
        return task.to_dict()
    return {"name": task.name, "seed": task.seed, "test_size": task.test_size}


def load_checkpoint(path: str | os.PathLike[str], impl: Impl = "repops") -> Checkpoint:
    """Read a `save_checkpoint` file (weights_only: no code runs) into a GPT of `impl` and its task (an
    AdditionTask unless the file has a "task_kind")."""
    blob = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    assert blob.get("format") == "swarm-rl/1", f"load_checkpoint: not a swarm-rl checkpoint: {path}"
    kind = blob.get("task_kind")
    assert kind is None or kind in TASK_KINDS, f"load_checkpoint: unknown task kind {kind!r} in {path}"
    model = make_model(GPTConfig(**blob["gpt"]), impl)
    model.load_state_dict(blob["model"])
    task = AdditionTask(**blob["task"]) if kind is None else TASK_KINDS[kind](**blob["task"])
    return Checkpoint(model, task, blob["opt"], blob["meta"])
