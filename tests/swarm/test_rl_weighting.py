"""Issue 16 section 3: the opt-in critique/vote weighting of SAPO's external draw (rl.sapo_batch's scores= and
winner=, rl.weighted_external) and the node's critique, tally and vote as functions (rl.critique_score,
vote_tally, vote_for, round_winner). Off, the batch is the plain SAPO draw bit for bit."""

from __future__ import annotations

import math

import pytest
import torch

from offchain.model.task import AdditionTask
from offchain.model.train import TrainConfig, build
from offchain.swarm import rl

TASK = AdditionTask(digits=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests share two CPU cores


def _groups(peer: str, n: int, start: int, right: int = 1) -> list[rl.Rollout]:
    """n signal groups of `peer` (4 completions: `right` exact answers, the rest wrong digits)."""
    out = []
    for q in range(start, start + n):
        want = rl.answer(TASK, q)
        wrong = [(t + 1) % 10 for t in want]
        comps = [want] * right + [wrong] * (4 - right)
        out.append(rl.Rollout(q, comps, [rl.reward(TASK, q, c) for c in comps], "external", peer=peer))
    return out


LOCAL = [rl.Rollout(g.pair_id, g.completions, g.rewards, "local", "me") for g in _groups("me", 8, 100)]
EXTERNAL = _groups("a", 8, 200) + _groups("b", 8, 300) + _groups("c", 8, 400)
# a zero-advantage group and a malformed one: dropped either way
EXTERNAL += [rl.Rollout(500, [rl.answer(TASK, 500)] * 4, [1.0] * 4, "external", "a"),
             rl.Rollout(501, [[1, 2]] * 4, [0.0] * 4, "external", "b")]  # fmt: skip


def _reference_sapo(local, external, I, J, rng, task):  # noqa: E741
    """sapo_batch as it was before the weighting (commit b75903b), copied: the bits the default must keep."""
    ext = [rl.rescore(task, r) for r in external if rl.well_formed(task, r)]
    ext = [r for r in ext if not r.zero_advantage]

    def draw(pool, k):
        order = torch.randperm(len(pool), generator=rng).tolist()
        return [pool[i] for i in sorted(order[: min(k, len(pool))])]

    mine = [rl.Rollout(r.pair_id, r.completions, r.rewards, "local", r.peer) for r in draw(local, I)]
    theirs = [rl.Rollout(r.pair_id, r.completions, r.rewards, "external", r.peer) for r in draw(ext, J)]
    return mine + theirs


def _key(batch):
    return [(r.pair_id, r.source, r.peer, r.completions, r.rewards) for r in batch]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_off_is_plain_sapo_bit_for_bit(seed):
    """scores=None, winner=None (the default): the same batch, and the generator left in the same state."""
    g1, g2, g3 = (torch.Generator().manual_seed(seed) for _ in range(3))
    ref = _reference_sapo(LOCAL, EXTERNAL, 4, 4, g1, TASK)
    now = rl.sapo_batch(LOCAL, EXTERNAL, 4, 4, g2, task=TASK)
    off = rl.sapo_batch(LOCAL, EXTERNAL, 4, 4, g3, task=TASK, scores=None, winner=None, score_temperature=0.01)
    assert _key(ref) == _key(now) == _key(off)
    assert torch.equal(g1.get_state(), g2.get_state()) and torch.equal(g1.get_state(), g3.get_state())


def test_weighted_is_deterministic_and_well_formed():
    scores = {"a": 0.9, "b": 0.5, "c": 0.2}
    runs = [rl.sapo_batch(LOCAL, EXTERNAL, 4, 4, torch.Generator().manual_seed(3), task=TASK, scores=scores,
                          winner="b", winner_slots=2) for _ in range(2)]  # fmt: skip
    assert _key(runs[0]) == _key(runs[1])
    b = runs[0]
    assert [r.source for r in b] == ["local"] * 4 + ["external"] * 4
    ext = b[4:]
    assert [r.peer for r in ext[:2]] == ["b", "b"]  # the winner's groups first, winner_slots of them
    assert all(not r.zero_advantage and rl.well_formed(TASK, r) for r in ext)
    assert len({r.pair_id for r in ext}) == 4  # without replacement


def test_higher_critique_author_drawn_more_often():
    """Over many seeded draws, groups are picked roughly by softmax(score / T) of their author."""
    pool = [r for r in EXTERNAL if rl.well_formed(TASK, r) and not r.zero_advantage]
    scores = {"a": 0.8, "b": 0.6, "c": 0.4}
    count = {"a": 0, "b": 0, "c": 0}
    uniform = {"a": 0, "b": 0, "c": 0}
    for s in range(300):
        for r in rl.weighted_external(pool, 2, torch.Generator().manual_seed(s), scores=scores, temperature=0.1):
            count[r.peer] += 1
        for r in rl.weighted_external(pool, 2, torch.Generator().manual_seed(s)):  # no scores: uniform
            uniform[r.peer] += 1
    assert count["a"] > count["b"] > count["c"]
    assert count["a"] > 0.6 * 600  # softmax weights 0.87 / 0.12 / 0.02 per group
    assert all(150 < v < 250 for v in uniform.values())
    hot = {"a": 0, "b": 0, "c": 0}  # a higher temperature flattens the preference
    for s in range(300):
        for r in rl.weighted_external(pool, 2, torch.Generator().manual_seed(s), scores=scores, temperature=10.0):
            hot[r.peer] += 1
    assert hot["a"] < count["a"] and hot["c"] > count["c"]


def test_winner_first_and_fallbacks():
    pool = [r for r in EXTERNAL if rl.well_formed(TASK, r) and not r.zero_advantage]
    g = torch.Generator().manual_seed(0)
    got = rl.weighted_external(pool, 4, g, winner="c")  # winner_slots None: up to J of the winner's groups
    assert [r.peer for r in got] == ["c"] * 4
    got = rl.weighted_external(pool, 30, g, winner="c", scores={"a": 1.0})  # more than the pool: all of it
    assert len(got) == len(pool) and [r.peer for r in got[:8]] == ["c"] * 8
    assert rl.weighted_external(pool, 0, g, scores={"a": 1.0}) == []
    assert rl.weighted_external([], 3, g, winner="a") == []
    with pytest.raises(AssertionError):
        rl.weighted_external(pool, 2, g, scores={"a": 1.0}, temperature=0.0)


def test_critique_tally_vote_winner():
    """critique_score is node.py's formula; the tally, vote and winner pick as the node does."""
    model = build(TrainConfig(digits=2, steps=1, impl="native"))[0]
    ros = _groups("a", 2, 10, right=2)
    seqs, _ = rl.rollout_tensors(TASK, ros)
    want = 0.5 * (sum(sum(r.rewards) for r in ros) / 8) + 0.5 * math.exp(rl.mean_logprob(model, TASK, seqs))
    s = rl.critique_score(model, TASK, ros)
    assert s == round(want, 6) and 0.0 <= s <= 1.0
    tally = rl.vote_tally({"x": {"a": 0.5, "b": 0.25}, "y": {"a": 0.125, "x": 0.75}}, own={"z": 3.0, "a": 9.0})
    assert tally == {"a": 0.625, "b": 0.25, "x": 0.75, "z": 3.0}
    assert rl.vote_for(tally, "z") == "x" and rl.vote_for(tally, "x") == "z" and rl.vote_for({}, "x") is None
    assert rl.vote_for({"b": 1.0, "a": 1.0}, "c") == "a"  # tie: first sorted name
    assert rl.round_winner({"x": "a", "y": "b", "z": "a", "w": None}) == "a"
    assert rl.round_winner({"x": "b", "y": "a"}) == "a" and rl.round_winner({"x": None}) is None


# ------------------------------------------------------------------ the reader baseline (issue 16, tried)


def test_reader_baseline_keeps_an_all_correct_group_and_drops_what_the_reader_already_scores():
    """SAPO drops a peer's all-correct group (zero group advantage); against the reader's baseline it is exactly
    what a weak reader learns from (advantage 1 - b each), and a group scoring the baseline teaches nothing."""
    right = EXTERNAL[-2]  # 4 exact answers, the group SAPO's filter drops
    assert right.zero_advantage
    batch = rl.sapo_batch([], [right], 0, 4, torch.Generator().manual_seed(0), task=TASK, baseline=lambda r: 0.25)
    assert [g.pair_id for g in batch] == [right.pair_id]
    assert batch[0].advantages == [0.75] * 4 and batch[0].source == "external"
    assert rl.sapo_batch([], [right], 0, 4, torch.Generator(), task=TASK, baseline=lambda r: 1.0) == []
    # the advantages reach the update as given (rollout_tensors), not re-normalised
    _, adv = rl.rollout_tensors(TASK, batch)
    assert adv.tolist() == [0.75] * 4


def test_reader_baseline_rescores_a_peers_claimed_rewards_first():
    """A peer claiming reward 1 for wrong answers gains only their format credit over the baseline: advantages
    come from the re-computed rewards."""
    liar = rl.Rollout(600, [[(t + 1) % 10 for t in rl.answer(TASK, 600)]] * 4, [1.0] * 4, "external", "x")
    batch = rl.sapo_batch([], [liar], 0, 4, torch.Generator(), task=TASK, baseline=lambda r: 0.0)
    assert batch[0].rewards == [pytest.approx(0.1)] * 4 and batch[0].advantages == batch[0].rewards
    assert rl.sapo_batch([], [liar], 0, 4, torch.Generator(), task=TASK, baseline=lambda r: 0.5)[0].advantages == [
        pytest.approx(-0.4)
    ] * 4


def test_gain_pick_takes_the_groups_the_reader_gains_most_from():
    """pick="gain": the J groups of the highest mean advantage over the reader's baseline, in pool order."""
    pool = [_groups("a", 1, 700, right=k)[0] for k in (1, 3, 2, 4)]  # 1, 3, 2, 4 right answers of 4
    batch = rl.sapo_batch([], pool, 0, 2, torch.Generator(), task=TASK, baseline=lambda r: 0.0, pick="gain")
    assert [g.rewards.count(1.0) for g in batch] == [3, 4]


def test_default_draw_is_unchanged_by_the_new_options():
    """Without a baseline, the draw (and every advantage) is SAPO's, bit for bit as the reference copy."""
    for seed in range(5):
        want = _reference_sapo(LOCAL, EXTERNAL, 4, 4, torch.Generator().manual_seed(seed), TASK)
        got = rl.sapo_batch(LOCAL, EXTERNAL, 4, 4, torch.Generator().manual_seed(seed), task=TASK)
        assert _key(got) == _key(want) and all(g.advantages is None for g in got)


def test_mean_critique_averages_over_the_critics_that_scored_each_author():
    """The critique weighting's scores: a peer scored by two critics gets their mean, by one critic its score."""
    critiques = {"a": {"b": 0.5, "c": 0.25}, "b": {"a": 1.0, "c": 0.75}}
    assert rl.mean_critique(critiques) == {"b": 0.5, "c": 0.5, "a": 1.0}
