"""A task-family node's rollouts: what it publishes is its own draw of the round, and what it reads is checked.

No chain, no DHT: real signed envelopes (payloads.seal / open_envelope with real RSA identities) and the node's
own check (`node.check_rollouts`), which a family node runs on every peer's rollouts before it critiques or
trains on them; the networked run is tests/swarm/test_node.py.

Run: `.venv/bin/python -m pytest tests/swarm/test_family_node.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import click
import pytest

from offchain.identity import PeerIdentity
from offchain.model.family import Family, node_seed
from offchain.model.task import AdditionTask
from offchain.swarm import mixed, payloads, rl
from offchain.swarm.cli import parse_mix
from offchain.swarm.node import WrongQuestions, WrongTask, check_rollouts, task_digest

ROUND = 5
SEED = rl.round_seed(1337, "0x" + "5a" * 20, ROUND)
FAMILY = Family(mixed.TASKS)
MIX = mixed.rl_mix(mixed.NODES[1][1])


@pytest.fixture(scope="module")
def author() -> PeerIdentity:
    return PeerIdentity.generate()


def _body(questions: list[int], *, task: str | None = None, mix: list[int] = MIX) -> dict:
    """A family rollouts body over `questions`: 2 completions each, as a node publishes it."""
    comps = [[FAMILY.answer(q), [17, 17, 17, 17]] for q in questions]
    rewards = [[FAMILY.reward(q, c) for c in cs] for q, cs in zip(questions, comps, strict=True)]
    return {"questions": questions, "completions": comps, "rewards": rewards,
            "task": task or task_digest(FAMILY), "mix": mix}  # fmt: skip


def _received(author: PeerIdentity, body: dict) -> payloads.Envelope:
    """`body` sealed by `author` and opened as a reader opens it from the DHT."""
    data = payloads.seal(author, round=ROUND, stage=0, kind=payloads.ROLLOUTS, body=body)
    return payloads.open_envelope(data, round=ROUND, stage=0, kind=payloads.ROLLOUTS)


def _own_draw(author: PeerIdentity, n: int = 8, mix: list[int] = MIX) -> list[int]:
    return rl.questions(FAMILY, node_seed(SEED, author.peer_id_digest), n, mix=mix)


def test_the_authors_own_draw_is_accepted(author):
    """The questions of node_seed(round seed, author) over the mix it states pass, whatever that mix is."""
    for mix in (MIX, [1, 0, 0, 0, 0, 0]):
        env = _received(author, _body(_own_draw(author, mix=mix), mix=mix))
        check_rollouts(FAMILY, env.body, env.peer_id, SEED)


def test_questions_not_the_authors_draw_are_rejected(author):
    """One question swapped for an easier one, another peer's draw, another round's draw, or the right questions
    claimed under another mix: all WrongQuestions."""
    own = _own_draw(author)
    easy = FAMILY.to_global("cmp", int(FAMILY.task("cmp").train_ids()[0]))
    other = PeerIdentity.generate()
    cases = {
        "one swapped": [easy, *own[1:]],
        "another peer's": rl.questions(FAMILY, node_seed(SEED, other.peer_id_digest), 8, mix=MIX),
        "another round's": rl.questions(FAMILY, node_seed(SEED ^ 1, author.peer_id_digest), 8, mix=MIX),
    }
    for name, questions in cases.items():
        env = _received(author, _body(questions))
        with pytest.raises(WrongQuestions):
            check_rollouts(FAMILY, env.body, env.peer_id, SEED)
        assert questions != own, name
    for mix in ([1, 1, 1, 1, 1, 1], [4, 4, 4, 1, 1]):  # another mix; a mix of the wrong length
        env = _received(author, _body(own, mix=mix))
        with pytest.raises(WrongQuestions):
            check_rollouts(FAMILY, env.body, env.peer_id, SEED)


def test_rollouts_of_another_task_are_rejected(author):
    """A family node drops an addition body and another family's; an addition node drops a family body and keeps
    an addition body as it always did."""
    own = _own_draw(author)
    other = Family(mixed.TASKS, seed=1)
    env = _received(author, _body(own, task=task_digest(other)))
    with pytest.raises(WrongTask):
        check_rollouts(FAMILY, env.body, env.peer_id, SEED)
    addition = {"questions": [1203], "completions": [[[1, 2, 3]]], "rewards": [[0.1]]}
    env = _received(author, addition)
    with pytest.raises(WrongTask):
        check_rollouts(FAMILY, env.body, env.peer_id, SEED)
    check_rollouts(AdditionTask(digits=2), env.body, env.peer_id, SEED)
    env = _received(author, _body(own))
    with pytest.raises(WrongTask):
        check_rollouts(AdditionTask(digits=2), env.body, env.peer_id, SEED)


def test_task_digest_is_of_the_family_definition():
    """The digest names the tasks, their order and the split: equal families agree, any change differs."""
    assert task_digest(Family(mixed.TASKS)) == task_digest(Family(tuple(mixed.TASKS), 0, 500))
    assert len({task_digest(f) for f in (FAMILY, Family(mixed.TASKS[::-1]), Family(mixed.TASKS, seed=1),
                                         Family(mixed.TASKS, test_size=100))}) == 4  # fmt: skip


@pytest.mark.parametrize("bad", ["add2", "add2=x", "add2=-1", "add2=1.5", "=3", "add2=1,add2=2"])
def test_mix_option_syntax_is_a_usage_error(bad):
    """--mix is task=whole number pairs; anything else is click's one-line usage error, before the node starts."""
    with pytest.raises(click.BadParameter):
        parse_mix(None, None, bad)
    assert parse_mix(None, None, "add2=3, sub2=1") == {"add2": 3, "sub2": 1}
    assert parse_mix(None, None, None) is None
