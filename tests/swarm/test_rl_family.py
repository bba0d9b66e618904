"""The swarm's RL on the task family (offchain/model/family.py): questions by a node's mix, sampling, the family's
reward, SAPO, GRPO, held-out accuracy per task, the family warm-up and its checkpoint. The AdditionTask paths are
test_rl.py's (unchanged)."""

from __future__ import annotations

import math

import pytest
import torch

from offchain.model.family import ANSWER_LEN, PAD, PROMPT_LEN, VOCAB, Family, Task, node_seed
from offchain.model.gpt import NativeGPT
from offchain.model.task import AdditionTask
from offchain.swarm import rl
from offchain.swarm.warmup import FamilyWarmupConfig, write_warmup

COORD = "0x" + "ab" * 20
FAM = Family(("cmp", "add1", "sort", "add2", "sub2"))
MIXES = {"0x" + "01" * 20: {"cmp": 3, "add1": 1}, "0x" + "02" * 20: {"sort": 1, "add2": 2, "sub2": 1}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests share two CPU cores


def tiny_model(fam: Family, *, seed: int = 0, impl: rl.Impl = "repops") -> torch.nn.Module:
    """A small untrained GPT of the family's vocabulary."""
    model = rl.make_model(fam.gpt_config(n_layer=1, width=32), impl)
    model.load_state_dict(type(model)(model.cfg, seed=seed).state_dict())
    return model


def test_lengths_vocab_and_id_space_come_from_the_task() -> None:
    """prompt/answer length, vocabulary and id range: the family's for a Family or Task, 2d+2 / d+1 for addition."""
    for t in (FAM, Task("sub2")):
        assert (rl.prompt_len(t), rl.answer_len(t), rl.vocab(t)) == (PROMPT_LEN, ANSWER_LEN, VOCAB)
    assert rl.id_space(FAM) == FAM.size and rl.id_space(Task("sub2")) == 5050
    add = AdditionTask(digits=3)
    assert (rl.prompt_len(add), rl.answer_len(add), rl.vocab(add), rl.id_space(add)) == (8, 4, 12, 10**6)


def test_questions_are_the_familys_draw_by_mix() -> None:
    """rl.questions(fam, seed, n, mix=, offset=) is Family.questions; a Task draws as its one-task Family."""
    seed = node_seed(rl.round_seed(1337, COORD, 3), "0x" + "01" * 20)
    mix = {"cmp": 3, "add1": 1}
    qs = rl.questions(FAM, seed, 16, mix=mix, offset=5)
    assert qs == FAM.questions(seed, 16, mix, offset=5)
    assert {FAM.task_of(q).name for q in qs} <= set(mix)
    train = set(rl.train_pairs(FAM).tolist())
    assert all(q in train for q in qs)
    t = Task("sort")
    assert rl.questions(t, seed, 8) == Family(("sort",)).questions(seed, 8)
    assert set(rl.questions(t, seed, 8)) <= set(t.train_ids().tolist())
    with pytest.raises(AssertionError):
        rl.questions(AdditionTask(), seed, 4, mix=mix)


def test_answer_reward_and_well_formed_are_the_familys() -> None:
    """answer/reward are the family's; well_formed checks the family's id range, length and 28-token vocabulary."""
    gid = FAM.to_global("cmp", 3752)  # 37 vs 52
    assert rl.answer(FAM, gid) == FAM.answer(gid) == [14, PAD, PAD, PAD]
    for comp in ([14, PAD, PAD, PAD], [15, PAD, PAD, PAD], [3, 3, 3, 3], [14, PAD], [27, 27, 27, 27]):
        assert rl.reward(FAM, gid, comp) == FAM.reward(gid, comp)
    ok = rl.Rollout(gid, [[14, PAD, PAD, PAD], [27, 20, 0, 1]], [1.0, 0.0])
    assert rl.well_formed(FAM, ok)  # tokens 12..27 are the family's, not addition's
    bad = [
        rl.Rollout(FAM.size, ok.completions, ok.rewards),  # id out of range
        rl.Rollout(-1, ok.completions, ok.rewards),
        rl.Rollout(True, ok.completions, ok.rewards),  # a bool is not an id
        rl.Rollout(gid, [[14, PAD, PAD]], [1.0]),  # wrong length
        rl.Rollout(gid, [[14, PAD, PAD, VOCAB]], [1.0]),  # outside the vocabulary
        rl.Rollout(gid, [[14, PAD, PAD, True]], [1.0]),
        rl.Rollout(gid, ok.completions, [1.0]),  # a reward missing
        rl.Rollout(gid, [], []),
    ]
    assert not any(rl.well_formed(FAM, r) for r in bad)
    t = Task("cmp")
    assert rl.well_formed(t, rl.Rollout(3752, ok.completions, ok.rewards))
    assert not rl.well_formed(t, rl.Rollout(t.size, ok.completions, ok.rewards))


def _round(impl: rl.Impl) -> tuple[dict[str, list[rl.Rollout]], dict[str, dict], dict[str, torch.nn.Module]]:
    """One round of two nodes with different mixes: answer, exchange, SAPO batch, GRPO step."""
    cfg = rl.RLConfig(group_size=4, questions=4, local=2, external=2, impl=impl)
    seed = rl.round_seed(1337, COORD, 1)
    models = {p: tiny_model(FAM, seed=k, impl=impl) for k, p in enumerate(MIXES)}
    rollouts = {}
    for k, (peer, mix) in enumerate(MIXES.items()):
        qs = rl.questions(FAM, node_seed(seed, peer), cfg.questions, mix=mix)
        gen = torch.Generator().manual_seed(100 + k)
        rollouts[peer] = rl.play_answer(models[peer], FAM, qs, cfg, gen, peer=peer)
    stats = {}
    for k, peer in enumerate(MIXES):
        opt = rl.make_optimizer(models[peer], lr=1e-2)
        external = [r for p, ros in rollouts.items() if p != peer for r in ros]
        batch, st = rl.play_revise(models[peer], opt, FAM, rollouts[peer], external, cfg,
                                   torch.Generator().manual_seed(200 + k))  # fmt: skip
        stats[peer] = {"batch": batch, **st}
    return rollouts, stats, models


@pytest.mark.parametrize("impl", rl.IMPLS)
def test_grpo_round_on_a_family_with_two_mixes(impl) -> None:
    """Two nodes with different task mixes play a round: questions from their own tasks, completions of the
    family's length and vocabulary, rewards exactly the family's, a SAPO batch of local and re-scored external
    groups and a finite GRPO step that moves the weights; the same seeds give the same bits."""
    rollouts, stats, models = _round(impl)
    for peer, ros in rollouts.items():
        assert {FAM.task_of(r.pair_id).name for r in ros} <= set(MIXES[peer])
        for r in ros:
            assert len(r.completions) == 4 and all(len(c) == ANSWER_LEN for c in r.completions)
            assert all(0 <= t < VOCAB for c in r.completions for t in c)
            assert r.rewards == [FAM.reward(r.pair_id, c) for c in r.completions]
            assert rl.well_formed(FAM, r)
    for peer, st in stats.items():
        batch = st["batch"]
        assert [r.source for r in batch][:2] == ["local", "local"]
        for r in batch:
            assert r.rewards == [FAM.reward(r.pair_id, c) for c in r.completions]
            if r.source == "external":
                assert not r.zero_advantage and r.peer != peer
        if batch:
            assert math.isfinite(st["loss"]) and st["completions"] == 4 * len(batch)
            fresh = tiny_model(FAM, seed=list(MIXES).index(peer), impl=impl)
            moved = any(not torch.equal(a, b) for a, b in
                        zip(models[peer].state_dict().values(), fresh.state_dict().values(), strict=True))  # fmt: skip
            assert moved
    again_rollouts, _, again_models = _round(impl)
    assert again_rollouts == rollouts
    for peer in MIXES:
        for a, b in zip(models[peer].state_dict().values(), again_models[peer].state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_sapo_rescores_a_peers_lie_with_the_familys_reward() -> None:
    """An external group claiming reward 1.0 for wrong answers is re-scored with the family's reward."""
    gid = FAM.to_global("add1", 78)  # 7 + 8 = 15 -> "51__"
    lie = rl.Rollout(gid, [[5, 1, PAD, PAD], [9, 9, PAD, PAD], [PAD, PAD, PAD, PAD]], [0.0, 1.0, 1.0], "external")
    batch = rl.sapo_batch([], [lie], 0, 1, torch.Generator().manual_seed(0), task=FAM)
    assert len(batch) == 1 and batch[0].rewards == [1.0, FAM.reward(gid, [9, 9, PAD, PAD]), FAM.reward(gid, [PAD] * 4)]


def test_heldout_accuracy_is_the_mean_over_tasks() -> None:
    """heldout_accuracy of a Family is the mean of heldout_by_task, which is Family.accuracy_by_task."""
    model = tiny_model(FAM, impl="native")
    per = rl.heldout_by_task(model, FAM, 20)
    assert per == FAM.accuracy_by_task(model, 20) and list(per) == list(FAM.names)
    assert rl.heldout_accuracy(model, FAM, 20) == sum(per.values()) / len(per)
    t = Task("cmp")
    assert rl.heldout_by_task(model, t, 20) == {"cmp": t.accuracy(model, t.test_pairs()[:20])}


def test_family_warmup_improves_its_tasks_and_reloads(tmp_path) -> None:
    """A warm-up on a mix of three tasks raises their held-out accuracy over the same init; the checkpoint
    records the family and mix, reloads as the Family, and starts RL (fresh moments, RL learning rate)."""
    cfg = FamilyWarmupConfig(names=FAM.names, mix=(2, 1, 2, 0, 0), steps=400, target=0.6, eval_every=50,
                             probe=100, heldout=60, seed=3)  # fmt: skip
    path = tmp_path / "fam.pt"
    info = write_warmup(path, cfg, log=False)
    init = NativeGPT(FAM.gpt_config(n_layer=cfg.n_layer, n_head=cfg.n_head, width=cfg.width), seed=cfg.seed)
    before = rl.heldout_by_task(init, FAM, cfg.heldout)
    after = info["heldout_by_task"]
    warmed = ("cmp", "add1", "sort")
    assert sum(after[n] for n in warmed) > sum(before[n] for n in warmed) + 0.5
    assert after["cmp"] > before["cmp"] and after["sort"] > before["sort"]
    assert info["mix"] == [2, 1, 2, 0, 0] and 0 < info["steps"] <= cfg.steps
    ck = rl.load_checkpoint(path, "native")
    assert ck.task == FAM and isinstance(ck.task, Family)
    assert ck.meta["warmup_mix"] == [2, 1, 2, 0, 0] and ck.meta["warmup"]["heldout_by_task"] == after
    assert rl.heldout_by_task(ck.model, ck.task, cfg.heldout) == after
    model, opt = rl.rl_policy(ck, rl.RLConfig())
    assert rl.impl_of(model) == "repops" and not opt.state_dict()["state"]
    assert opt.param_groups[0]["lr"] == rl.RLConfig.lr
    assert rl.heldout_by_task(model, ck.task, cfg.heldout) == after  # RepOps twin, same greedy answers here


def test_checkpoint_task_kinds(tmp_path) -> None:
    """An AdditionTask checkpoint is written as before (no "task_kind"); a family Task round-trips too."""
    add = AdditionTask(digits=1)
    model = rl.make_model(rl.GPTConfig(n_layer=1, width=32), "native")
    rl.save_checkpoint(tmp_path / "a.pt", model, add)
    blob = torch.load(tmp_path / "a.pt", weights_only=True)
    assert set(blob) == {"format", "gpt", "task", "model", "opt", "meta"} and blob["task"] == vars(add)
    assert rl.load_checkpoint(tmp_path / "a.pt").task == add
    t = Task("seq", seed=2, test_size=50)
    rl.save_checkpoint(tmp_path / "t.pt", tiny_model(FAM), t)
    assert rl.load_checkpoint(tmp_path / "t.pt").task == t
