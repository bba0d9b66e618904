"""The task family (offchain/model/family.py): layout, answers checked against a reference written from the text,
rewards, held-out splits, deterministic question draws, global ids, a GPT forward on a mixed batch, bad inputs."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from offchain.model import family as fm
from offchain.model.family import (
    ANSWER_LEN,
    EQUALS,
    PAD,
    PROMPT_LEN,
    SEQ_LEN,
    TASK_NAMES,
    VOCAB,
    Family,
    Task,
    gpt_config,
    node_seed,
    text,
    tokens,
)
from offchain.model.gpt import NativeGPT, RepOpsGPT

FAM = Family()


def sample_ids(task: Task, n: int = 300) -> torch.Tensor:
    """Edge ids, some held-out ids and `n` ids spread over the whole space (fixed generator)."""
    g = torch.Generator().manual_seed(1234 + task.index)
    spread = torch.randint(0, task.size, (n,), generator=g)
    return torch.cat([torch.tensor([0, task.size - 1]), task.test_pairs()[:20], spread])


def disjoint_violation(train: torch.Tensor, test: torch.Tensor, size: int) -> bool:
    """True when some id of `test` is in `train` (a mask over the id space: torch.isin is slow on 10^6 ids)."""
    seen = torch.zeros(size, dtype=torch.bool)
    seen[train] = True
    return bool(seen[test].any())


def reference(body: str) -> str:
    """The answer of a prompt text, computed from the text alone (independently of family.py), PAD-padded."""
    tag, rest = body[1:].split("]")
    q = rest.strip("_").removesuffix("=")

    def rev(x: int, k: int) -> str:
        return str(x).zfill(k)[::-1]

    if tag == "cmp":
        a, b = map(int, q.split(","))
        ans = "<" if a < b else ">" if a > b else "="
    elif tag.startswith("add"):
        a, b = q.split("+")
        ans = rev(int(a) + int(b), len(a) + 1)
    elif tag == "parity":
        ans = str(sum(map(int, q)) % 2)
    elif tag == "count":
        d, xs = q.split(",")
        ans = str(xs.count(d))
    elif tag == "sort":
        ans = "".join(sorted(q))
    elif tag == "sub2":
        a, b = map(int, q.split("-"))
        assert a >= b
        ans = rev(a - b, 2)
    elif tag == "mul1":
        a, b = q.split("*")
        assert len(a) == 2 and len(b) == 1
        ans = rev(int(a) * int(b), 3)
    elif tag == "seq":
        x, y, z = map(int, q.split(","))
        assert y - x == z - y >= 0
        ans = rev(z + (z - y), 2)
    else:
        raise AssertionError(tag)
    return ans.ljust(ANSWER_LEN, "_")


def test_layout_and_vocab_fit_a_gpt_config() -> None:
    """One vocabulary and one fixed layout for all tasks; every token in range; the GPT context fits."""
    assert len(TASK_NAMES) >= 8 and len(set(TASK_NAMES)) == len(TASK_NAMES)
    assert VOCAB == fm.TAG0 + len(TASK_NAMES) and SEQ_LEN == PROMPT_LEN + ANSWER_LEN
    cfg = gpt_config(n_layer=1, n_head=2, width=16)
    assert cfg.vocab == VOCAB and cfg.context >= SEQ_LEN - 1
    assert FAM.gpt_config() == gpt_config()
    levels = [t.level for t in FAM.tasks]
    assert levels == sorted(levels) and min(levels) == 1 and max(levels) >= 3  # graded, registry in level order
    tags = set()
    for t in FAM.tasks:
        tok = t.encode(sample_ids(t, 50))
        assert tok.shape[1] == SEQ_LEN and tok.dtype == torch.int64
        assert int(tok.min()) >= 0 and int(tok.max()) < VOCAB
        assert (tok[:, 0] == t.tag).all() and (tok[:, PROMPT_LEN - 1] == EQUALS).all()
        tags.add(t.tag)
        x, y, mask = t.tensors(sample_ids(t, 10))
        assert x.shape == y.shape == mask.shape == (len(x), SEQ_LEN - 1)
        assert mask.sum(1).tolist() == [ANSWER_LEN] * len(x) and mask[:, -ANSWER_LEN:].all()
        assert torch.equal(y[:, -ANSWER_LEN:], t.encode(sample_ids(t, 10))[:, PROMPT_LEN:])
    assert len(tags) == len(FAM.tasks)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_encode_decode_roundtrip_and_answers(name: str) -> None:
    """text <-> tokens and question(encode(ids)) == ids; each answer equals the reference computed from the text."""
    task = Task(name)
    ids = sample_ids(task)
    tok = task.encode(ids)
    assert torch.equal(task.question(tok), ids)
    for row, s in zip(tok, task.text(tok), strict=True):
        assert tokens(s) == row.tolist() and text(row) == s
        assert s[:-ANSWER_LEN].endswith("=") and s[-ANSWER_LEN:] == reference(s[:-ANSWER_LEN])
    if task.size <= 10**4:  # the whole space: distinct prompts (encode is injective)
        every = task.encode(torch.arange(task.size))[:, :PROMPT_LEN]
        assert len(torch.unique(every, dim=0)) == task.size


def test_docstring_examples() -> None:
    """The examples of the module docstring."""
    got = {n: text(Task(n).encode([i])[0]) for n, i in [
        ("cmp", 3752), ("add1", 78), ("parity", 5283), ("count", 727577), ("sort", 3914), ("add2", 1234),
        ("sub2", 52 * 53 // 2 + 37), ("mul1", 476), ("seq", 57), ("add3", 123989)]}  # fmt: skip
    assert got == {
        "cmp": "[cmp]___37,52=<___", "add1": "[add1]_____7+8=51__", "parity": "[parity]____5283=0___",
        "count": "[count]_7,27577=3___", "sort": "[sort]____3914=1349", "add2": "[add2]___12+34=640_",
        "sub2": "[sub2]___52-37=51__", "mul1": "[mul1]____47*6=282_", "seq": "[seq]05,12,19=62__",
        "add3": "[add3]_123+989=2111",
    }  # fmt: skip
    sub = Task("sub2")
    assert torch.equal(sub.question(sub.encode(torch.arange(sub.size))), torch.arange(sub.size))


@pytest.mark.parametrize("name", TASK_NAMES)
def test_reward_true_answer_one_wrong_answer_zero(name: str) -> None:
    """1.0 for the answer; 0.0 (strict) or at most the format credit for any changed token; 0.0 wrong length."""
    task = Task(name)
    for i in sample_ids(task, 20).tolist():
        want = task.answer(i)
        assert task.reward(i, want) == 1.0 == task.reward(i, torch.tensor(want))
        gid = FAM.to_global(name, i)
        assert FAM.reward(gid, want) == 1.0 and FAM.answer(gid) == want and FAM.valid(gid, want)
        for pos in range(ANSWER_LEN):
            wrong = list(want)
            wrong[pos] = (want[pos] + 1) % 10 if want[pos] <= 9 else (PAD if want[pos] != PAD else 0)
            assert task.reward(i, wrong, format_credit=0.0) == 0.0
            assert 0.0 <= task.reward(i, wrong) <= fm.FORMAT_CREDIT
        assert task.reward(i, want[:-1]) == 0.0 and task.reward(i, [*want, PAD]) == 0.0
        assert task.reward(i, [VOCAB + 5] * ANSWER_LEN) == 0.0
    same_kind = [9 if t == 0 else 0 if t <= 9 else t for t in task.answer(0)]  # digits changed, PADs kept
    if same_kind != task.answer(0):
        assert task.reward(0, same_kind) == fm.FORMAT_CREDIT


def test_heldout_never_in_train_and_disjoint_per_task() -> None:
    """Each task's held-out ids are a fifth of its space at most, distinct, and never in its train split;
    global held-out sets are disjoint between tasks; the split depends on the seed only."""
    for t in FAM.tasks:
        train, test = t.train_ids(), t.test_pairs()
        assert len(test) == min(t.test_size, t.size // 5) and len(set(test.tolist())) == len(test)
        assert len(train) + len(test) == t.size
        assert not disjoint_violation(train, test, t.size)
        assert torch.equal(Task(t.name, seed=0).test_pairs(), test)
        assert not torch.equal(Task(t.name, seed=1).test_pairs(), test)
    test, train = FAM.test_pairs(), FAM.train_ids()
    assert len(set(test.tolist())) == len(test) and not disjoint_violation(train, test, FAM.size)
    per = [set(FAM.test_pairs(n).tolist()) for n in FAM.names]
    assert sum(map(len, per)) == len(set().union(*per))
    assert torch.equal(Family(("add2", "cmp")).test_pairs("cmp") - Family(("add2", "cmp")).offsets[1],
                       Task("cmp").test_pairs())  # fmt: skip


def test_question_draws_deterministic_from_seed_and_mix() -> None:
    """Same (seed, n, mix, offset) -> same questions; offsets continue one stream; weights honoured; train only."""
    seed = node_seed(0x1234_5678_9ABC_DEF0, "0x" + "ab" * 32)
    assert seed == node_seed(0x1234_5678_9ABC_DEF0, bytes.fromhex("ab" * 32))
    assert seed != node_seed(0x1234_5678_9ABC_DEF0, "0x" + "ac" * 32) and 0 <= seed < 2**64
    qs = FAM.questions(seed, 64)
    assert qs == Family().questions(seed, 64) and qs != FAM.questions(seed + 1, 64)
    assert FAM.questions(seed, 24, offset=40) == qs[40:]
    assert not bool(torch.isin(torch.tensor(qs), FAM.test_pairs()).any())
    mix = {"add2": 3, "sub2": 1}
    mixed = FAM.questions(seed, 400, mix)
    tasks = [FAM.to_local(q)[0] for q in mixed]
    assert set(tasks) == {FAM.index("add2"), FAM.index("sub2")}
    assert 0.65 < tasks.count(FAM.index("add2")) / 400 < 0.85
    assert FAM.questions(seed, 400, [3 if n == "add2" else 1 if n == "sub2" else 0 for n in FAM.names]) == mixed
    assert FAM.questions(123, 5) == [1034184, 1045827, 1037618, 8772, 1045690]  # pinned: nodes recompute it
    x, y, mask = FAM.batch(3, 16, mix)
    assert x.shape == (16, SEQ_LEN - 1) and torch.equal(FAM.batch(3, 16, mix)[0], x)


def test_global_id_mapping_roundtrip() -> None:
    """to_global / to_local are inverse over every task's ends and a spread of ids, for any subset family."""
    for fam in (FAM, Family(("seq", "add1", "count"), seed=5)):
        for k, t in enumerate(fam.tasks):
            for local in (0, 1, t.size - 1):
                g = fam.to_global(t.name, local)
                assert fam.to_local(g) == (k, local) and fam.to_global(k, local) == g
                assert fam.task_of(g) is t
        g = torch.randint(0, fam.size, (500,), generator=torch.Generator().manual_seed(0))
        k, local = fam.to_local(g)
        assert torch.equal(torch.tensor(fam.offsets)[k] + local, g)
        assert torch.equal(fam.question(fam.encode(g)), g)
        assert Family(**asdict(fam)) == fam and Family(**fam.to_dict()) == fam
    assert FAM.size == sum(t.size for t in FAM.tasks)


@pytest.mark.parametrize("cls", [RepOpsGPT, NativeGPT])
def test_tiny_gpt_forward_on_a_mixed_batch(cls: type) -> None:
    """One model reads a batch mixing every task; loss finite; per-task greedy accuracy runs."""
    torch.manual_seed(0)
    model = cls(gpt_config(n_layer=1, n_head=2, width=16), seed=0)
    gids = torch.tensor(FAM.questions(7, 2 * len(FAM.tasks), [1] * len(FAM.tasks)))
    x, y, mask = FAM.tensors(gids)
    logits = model(x)
    assert logits.shape == (len(gids), SEQ_LEN - 1, VOCAB)
    assert torch.isfinite(model.loss(x, y, mask))
    acc = FAM.accuracy_by_task(model, 2)
    assert list(acc) == list(FAM.names) and all(0.0 <= a <= 1.0 for a in acc.values())
    assert 0.0 <= FAM.accuracy(model, gids[:4]) <= 1.0 and 0.0 <= Task("cmp").accuracy(model, [1, 2]) <= 1.0


def test_bad_inputs_raise_value_error() -> None:
    """Unknown tasks, ids out of range, bad mixes and foreign prompts are refused with ValueError."""
    bad = [
        lambda: Task("nope"),
        lambda: Family(("add2", "nope")),
        lambda: Family(()),
        lambda: Family(("add2", "add2")),
        lambda: Task("add1").encode([100]),
        lambda: Task("add1").encode([-1]),
        lambda: Task("add1").encode(torch.tensor([1.5])),
        lambda: Task("seq").reward(700, [0, 0, PAD, PAD]),
        lambda: FAM.to_local(FAM.size),
        lambda: FAM.encode([-3]),
        lambda: FAM.to_global("add2", 10**4),
        lambda: FAM.to_global(len(FAM.names), 0),
        lambda: Family(("add2",)).to_global("cmp", 0),
        lambda: FAM.questions(1, 4, {"nope": 1}),
        lambda: FAM.questions(1, 4, {"add2": -1}),
        lambda: FAM.questions(1, 4, [0] * len(FAM.names)),
        lambda: FAM.questions(1, 4, [1, 2]),
        lambda: Task("add2").question(Task("cmp").encode([5])),
        lambda: Family(("add2",)).question(Task("cmp").encode([5])),
        lambda: tokens("12?3"),
        lambda: text([VOCAB]),
        lambda: node_seed(-1, b"x"),
    ]
    for i, f in enumerate(bad):
        with pytest.raises(ValueError):
            f()
            pytest.fail(f"case {i} did not raise")
    assert not FAM.valid(FAM.size, [0] * ANSWER_LEN) and not FAM.valid(0, [0] * (ANSWER_LEN - 1))
    assert not FAM.valid(0, [VOCAB] * ANSWER_LEN) and not FAM.valid(True, [0] * ANSWER_LEN)
