"""The swarm's RL pieces: round seed, questions, reward rules, sampling, SAPO batch, GRPO step, checkpoints."""

from __future__ import annotations

import pytest
import torch

from offchain.commit import commit_checkpoint, keccak256
from offchain.model.gpt import GPTConfig
from offchain.model.task import EQUALS, PLUS, VOCAB, AdditionTask
from offchain.swarm import rl
from offchain.swarm.warmup import tiny_checkpoint

COORD = "0x" + "ab" * 20


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests share two CPU cores


def tiny_model(task: AdditionTask, *, seed: int = 0, impl: rl.Impl = "repops") -> torch.nn.Module:
    """A small untrained GPT for `task`."""
    model = rl.make_model(GPTConfig(vocab=VOCAB, context=max(16, task.seq_len), n_layer=1, width=32), impl)
    model.load_state_dict(type(model)(model.cfg, seed=seed).state_dict())
    return model


def group(task: AdditionTask, pair_id: int, comps: list[list[int]], source: str = "local") -> rl.Rollout:
    """A rollout scored with the task's reward."""
    return rl.Rollout(pair_id, comps, [rl.reward(task, pair_id, c) for c in comps], source)  # type: ignore[arg-type]


def test_round_seed_keccak_of_packed_fields() -> None:
    """round_seed is the top 64 bits of keccak256(uint256 chainId ‖ address ‖ uint256 round) and varies by round."""
    want = keccak256((1337).to_bytes(32, "big") + bytes.fromhex("ab" * 20) + (7).to_bytes(32, "big"))
    assert rl.round_seed(1337, COORD, 7) == int.from_bytes(want[:8], "big")
    assert rl.round_seed(1337, COORD.upper().replace("0X", "0x"), 7) == rl.round_seed(1337, COORD, 7)
    assert rl.round_seed(1337, COORD, 8) != rl.round_seed(1337, COORD, 7)


def test_questions_same_seed_same_train_pairs() -> None:
    """The same seed gives the same questions, all from the train split; another seed or offset gives others."""
    task = AdditionTask(digits=2)
    seed = rl.round_seed(1, COORD, 3)
    a, b = rl.questions(task, seed, 16), rl.questions(task, seed, 16)
    assert a == b and len(a) == 16
    assert not set(a) & set(task.test_pairs().tolist())
    assert rl.questions(task, seed + 1, 16) != a
    assert rl.questions(task, seed, 8, offset=8) == a[8:]


def test_reward_exact_answer_scores_one() -> None:
    """The right reversed sum digits score 1.0."""
    task = AdditionTask(digits=2)
    assert rl.answer(task, 1234) == [6, 4, 0]
    assert rl.reward(task, 1234, [6, 4, 0]) == 1.0


def test_reward_wrong_answer_scores_format_fraction() -> None:
    """A wrong answer scores 0.1 × its fraction of digit tokens; a wrong length scores 0."""
    task = AdditionTask(digits=2)
    assert rl.reward(task, 1234, [6, 4, 1]) == pytest.approx(0.1)
    assert rl.reward(task, 1234, [6, PLUS, EQUALS]) == pytest.approx(0.1 / 3)
    assert rl.reward(task, 1234, [PLUS, PLUS, EQUALS]) == 0.0
    assert rl.reward(task, 1234, [6, 4]) == 0.0
    assert rl.reward(task, 1234, [6, 4, 0, 0]) == 0.0


def test_sample_shapes_reproducible_with_generator() -> None:
    """sample returns G completions of digits+1 vocabulary tokens per question, the same for the same generator."""
    task = AdditionTask(digits=2)
    model = tiny_model(task)
    qs = rl.questions(task, 5, 3)
    a = rl.sample(model, task, qs, 4, temperature=1.0, generator=torch.Generator().manual_seed(9))
    b = rl.sample(model, task, qs, 4, temperature=1.0, generator=torch.Generator().manual_seed(9))
    assert a == b
    assert len(a) == 3 and all(len(g) == 4 for g in a)
    assert all(len(c) == 3 and all(0 <= t < VOCAB for t in c) for g in a for c in g)


def test_sapo_batch_drops_zero_advantage_external_keeps_i_plus_j() -> None:
    """SAPO keeps I local and J external groups, never an external group whose rewards are all equal."""
    task = AdditionTask(digits=1)
    right, wrong = rl.answer(task, 34), [0, 0]
    local = [group(task, 34, [right, wrong]) for _ in range(5)]
    flat = [group(task, 34, [wrong, wrong], "external") for _ in range(6)] + [
        group(task, 34, [right, right], "external") for _ in range(3)
    ]
    signal = [group(task, 34, [right, wrong], "external") for _ in range(4)]
    batch = rl.sapo_batch(local, flat + signal, 3, 2, torch.Generator().manual_seed(0), task=task)
    assert [r.source for r in batch] == ["local"] * 3 + ["external"] * 2
    assert all(not r.zero_advantage for r in batch)
    only_flat = rl.sapo_batch(local, flat, 3, 2, torch.Generator().manual_seed(0), task=task)
    assert [r.source for r in only_flat] == ["local"] * 3


def test_sapo_batch_rescores_external_rewards() -> None:
    """A peer's claimed rewards are recomputed: an all-wrong group claiming varied rewards is dropped."""
    task = AdditionTask(digits=1)
    liar = rl.Rollout(34, [[0, 0], [1, 1]], [1.0, 0.0], "external")
    malformed = rl.Rollout(34, [[0, 0, 0], [7, 0]], [0.0, 1.0], "external")
    assert rl.sapo_batch([], [liar, malformed], 0, 4, torch.Generator().manual_seed(0), task=task) == []


@pytest.mark.parametrize("impl", rl.IMPLS)
def test_grpo_step_raises_logprob_of_rewarded_completion(impl) -> None:
    """One GRPO step on a group with one right completion raises its log-prob and lowers the wrong ones'."""
    task = AdditionTask(digits=1)
    model = tiny_model(task, seed=3, impl=impl)
    opt = rl.make_optimizer(model, lr=1e-2)
    right = rl.answer(task, 34)
    comps = [right, [0, 0], [1, 0], [5, 5]]
    seqs, adv = rl.rollout_tensors(task, [group(task, 34, comps)])
    assert adv[0] > 0 and bool((adv[1:] < 0).all())
    with torch.no_grad():
        before = rl.completion_logprobs(model, task, seqs).sum(dim=1)  # (G,)
    stats = rl.grpo_step(model, opt, task, [group(task, 34, comps)])
    with torch.no_grad():
        after = rl.completion_logprobs(model, task, seqs).sum(dim=1)
    assert after[0] > before[0]
    assert bool((after[1:] < before[1:]).all())
    assert stats["signal_groups"] == 1.0 and stats["completions"] == 4.0


@pytest.mark.parametrize("impl", rl.IMPLS)
def test_grpo_step_kl_needs_reference_and_is_reported(impl) -> None:
    """With kl_coef > 0 and a reference the step reports a finite non-negative KL; without one it asserts."""
    task = AdditionTask(digits=1)
    model, ref = tiny_model(task, seed=3, impl=impl), tiny_model(task, seed=4, impl=impl)
    opt = rl.make_optimizer(model, lr=1e-3)
    g = [group(task, 34, [rl.answer(task, 34), [0, 0]])]
    with pytest.raises(AssertionError):
        rl.grpo_step(model, opt, task, g, kl_coef=0.1)
    stats = rl.grpo_step(model, opt, task, g, kl_coef=0.1, ref=ref, epochs=2)
    assert stats["kl"] >= 0.0 and stats["loss"] == stats["loss"]


def test_save_load_round_trip(tmp_path) -> None:
    """save_checkpoint then load_checkpoint restores weights, task, optimizer state and meta."""
    task = AdditionTask(digits=1, seed=5)
    model = tiny_model(task)
    opt = rl.make_optimizer(model)
    rl.grpo_step(model, opt, task, [group(task, 34, [rl.answer(task, 34), [0, 0]])])
    path = tmp_path / "sub" / "ckpt.pt"
    rl.save_checkpoint(path, model, task, opt, meta={"round": 3})
    ck = rl.load_checkpoint(path)
    assert ck.task == task and ck.meta == {"impl": "repops", "round": 3} and ck.model.cfg == model.cfg
    assert type(ck.model) is type(model) and type(rl.load_checkpoint(path, "native").model).__name__ == "NativeGPT"
    for name, value in model.state_dict().items():
        assert torch.equal(ck.model.state_dict()[name], value), name
    opt2 = rl.make_optimizer(ck.model, state=ck.opt_state)
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temp file left behind


def test_warmup_tiny_checkpoint_loads(tmp_path) -> None:
    """The tests' tiny warm-up checkpoint is written in seconds and loads into a working model."""
    path = tmp_path / "warm.pt"
    info = tiny_checkpoint(path)
    ck = rl.load_checkpoint(path)
    assert ck.task.digits == 1 and ck.opt_state is not None
    assert ck.meta["warmup"]["steps"] == info["steps"] <= 150
    acc = rl.heldout_accuracy(ck.model, ck.task, 50)
    assert 0.0 <= acc <= 1.0
    assert acc == pytest.approx(rl.heldout_accuracy(ck.model, ck.task, 50))


def test_make_optimizer_never_brings_back_a_saved_learning_rate() -> None:
    """Moments come from the saved state; the learning rate and decay are the ones asked for (load_state_dict
    alone would restore the saved ones)."""
    model = tiny_model(AdditionTask(digits=1), impl="native")
    saved = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1).state_dict()
    opt = rl.make_optimizer(model, lr=3e-4, weight_decay=0.0, state=saved)
    assert {(g["lr"], g["weight_decay"]) for g in opt.param_groups} == {(3e-4, 0.0)}


def test_node_starts_rl_from_the_warmup_at_the_rl_learning_rate(tmp_path) -> None:
    """A node started from the warm-up checkpoint trains at RLConfig.lr with fresh moments (the warm-up's
    3e-3 made real nodes unlearn every round); restarted from its own weights.pt it keeps its moments, still
    at RLConfig.lr. The benchmark builds its nodes through the same rl.rl_policy."""
    from types import SimpleNamespace

    from offchain.swarm.node import NodeConfig, SwarmNode

    warm = tmp_path / "warm.pt"
    tiny_checkpoint(warm)
    assert {g["lr"] for g in rl.load_checkpoint(warm).opt_state["param_groups"]} == {3e-3}
    chain = SimpleNamespace(IdentityRegistry=None, SwarmCoordinator=None)
    node = SwarmNode(NodeConfig(workdir=tmp_path / "node", init_checkpoint=warm), None, chain, echo=lambda _m: None)
    node.load_model()
    assert {g["lr"] for g in node.opt.param_groups} == {rl.RLConfig.lr}
    assert node.opt.state_dict()["state"] == {}

    loss = sum(p.sum() for p in node.model.parameters())  # any step gives the optimizer moments to resume
    loss.backward()
    node.opt.step()
    node.save(3)
    again = SwarmNode(NodeConfig(workdir=tmp_path / "node", init_checkpoint=warm), None, chain, echo=lambda _m: None)
    again.load_model()
    assert {g["lr"] for g in again.opt.param_groups} == {rl.RLConfig.lr}
    assert again.opt.state_dict()["state"][0]["step"] == 1
    # The native twin's torch AdamW keeps other state than RepOps AdamW: switching --impl restarts the moments.
    other = SwarmNode(NodeConfig(workdir=tmp_path / "node", init_checkpoint=warm, impl="native"), None, chain,
                      echo=lambda _m: None)  # fmt: skip
    other.load_model()
    assert type(other.model).__name__ == "NativeGPT" and other.opt.state_dict()["state"] == {}


@pytest.mark.parametrize("case", ["no-init", "missing-file", "not-a-checkpoint"])
def test_node_checks_its_checkpoint_before_touching_the_chain(tmp_path, case) -> None:
    """A node with no weights and no --init, a --init that does not exist, or a file that is not a checkpoint
    fails with one clear NodeError naming it, before it reads or sends anything on chain (the deployment here
    has no contracts at all: the old order registered the peer, spending gas, and only then failed)."""
    from types import SimpleNamespace

    from offchain.swarm.node import NodeConfig, NodeError, SwarmNode

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    init = {"no-init": None, "missing-file": tmp_path / "nope.pt", "not-a-checkpoint": junk}[case]
    expected = {"no-init": "no weights.pt", "missing-file": "nope.pt: no such checkpoint",
                "not-a-checkpoint": "junk.pt: not a swarm checkpoint"}[case]  # fmt: skip
    no_chain = SimpleNamespace(IdentityRegistry=None, SwarmCoordinator=None)
    node = SwarmNode(NodeConfig(workdir=tmp_path / "node", init_checkpoint=init), None, no_chain, echo=lambda _m: None)
    with pytest.raises(NodeError, match=expected):
        node.run()


def test_repops_rounds_train_to_the_same_bits(monkeypatch) -> None:
    """Two independent trainings of a node's rounds from the same inputs (weights, round seeds, sampling seeds,
    peers' rollouts) sample the same rollouts and end in the same weights and AdamW moments bit for bit: equal
    checkpoint roots (offchain.commit). The second runs on two torch threads, and a third with the compiled
    RepOps kernels turned off (the pure torch recipes): a node with more cores or no compiler trains to the
    same bits."""
    from offchain.repops import prims as P

    task = AdditionTask(digits=1)
    start = tiny_model(task, seed=3).state_dict()
    cfg = rl.RLConfig(group_size=4, questions=4, local=2, external=2, lr=1e-2)
    peer = tiny_model(task, seed=4)
    external = [rl.play_answer(peer, task, rl.questions(task, 7, 4), cfg, torch.Generator().manual_seed(r))
                for r in range(2)]  # fmt: skip

    def train() -> tuple[bytes, list, dict[str, torch.Tensor]]:
        model = tiny_model(task)
        model.load_state_dict(start)
        opt = rl.make_optimizer(model, lr=cfg.lr)
        rollouts = []
        for r in range(2):  # the second round steps from the first one's moments
            mine = rl.play_answer(model, task, rl.questions(task, r, 4), cfg, torch.Generator().manual_seed(r))
            batch, stats = rl.play_revise(model, opt, task, mine, external[r], cfg, torch.Generator().manual_seed(r))
            assert stats["signal_groups"] > 0
            rollouts.append(mine)
        names = {id(p): n for n, p in model.named_parameters()}
        moments = {f"{names[id(p)]}.{k}": v for p, st in opt.state.items() for k, v in st.items() if k != "step"}
        weights = model.state_dict()
        return commit_checkpoint({**weights, **moments}, step=2, batch_hash=bytes(32)).root, rollouts, weights

    root, rollouts, weights = train()
    assert all(not torch.equal(weights[n], start[n]) for n in ("tok_emb", "head_w"))  # it did train
    torch.set_num_threads(2)
    assert train()[:2] == (root, rollouts)
    torch.set_num_threads(1)
    monkeypatch.setattr(P, "NATIVE", False)
    assert train()[:2] == (root, rollouts)
