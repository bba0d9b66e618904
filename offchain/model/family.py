"""A family of procedurally generated, verifiable tasks of graded difficulty (ReasoningGYM-like, offline).

Ten tasks share ONE vocabulary and ONE fixed layout, so any mix of them batches into one GPT:

    [tag] PAD.. body '='  |  answer PAD..
    <----- PROMPT_LEN ---->  <ANSWER_LEN>

The first prompt token is the task's tag (which task it is); the body is left-padded with PAD so '=' is always
the last prompt token and the answer always starts at position PROMPT_LEN; the answer is right-padded with PAD
to ANSWER_LEN, and the PADs are part of the answer (the model must learn to stop). Numbers in prompts are
written most significant digit first, zero-padded; numeric answers of arithmetic (add, sub, mul, seq) are
written least significant digit first (reversed, as offchain/model/task.py does), so carries run left to right.

    task     level  question space (local id)            example (text form; '_' is PAD)   answer
    cmp        1    a, b in 0..99; id = 100a + b          [cmp]___37,52=                  <___   (< = >)
    add1       1    a, b in 0..9;  id = 10a + b           [add1]_____7+8=                 51__   (15 reversed)
    parity     2    x in 0000..9999; id = x               [parity]____5283=               0___   (5+2+8+3 even)
    count      2    d in 0..9, x in 00000..99999;         [count]_7,27577=                3___   (three 7s)
                    id = 10^5 d + x
    sort       2    x in 0000..9999; id = x               [sort]____3914=                 1349   (ascending)
    add2       2    a, b in 0..99; id = 100a + b          [add2]___12+34=                 640_   (46 reversed)
    sub2       3    99 >= a >= b >= 0; id = a(a+1)/2 + b  [sub2]___52-37=                 51__   (15 reversed)
    mul1       3    a in 0..99, b in 0..9; id = 10a + b   [mul1]____47*6=                 282_   (282 reversed)
    seq        3    a in 0..69, d in 0..9; id = 10a + d   [seq]05,12,19=                  62__   (26 reversed)
    add3       4    a, b in 0..999; id = 1000a + b        [add3]_123+989=                 2111   (1112 reversed)

Vocabulary (VOCAB = 28): digits 0-9 (ids 0-9), '+' 10 and '=' 11 (the ids of offchain/model/task.py), '-' 12,
'*' 13, '<' 14, '>' 15, ',' 16, PAD 17, then one tag per task in the order above (TAG0 = 18 + index in
TASK_NAMES). PROMPT_LEN = 10, ANSWER_LEN = 4, SEQ_LEN = 14; a model reads at most SEQ_LEN - 1 = 13 positions,
so GPTConfig(vocab=VOCAB, context=16) fits (`gpt_config`). The levels are a prior ordering by the work the
answer needs (one comparison < one digit-wise map < carries/borrows over 2-3 digits < 4-digit carries), not a
measurement.

Every task is a `Task` with the surface of AdditionTask, over its own local ids 0..size-1:

    t = Task("sub2")
    t.encode(ids)                  # (N, SEQ_LEN) int64 token rows
    t.tensors(ids)                 # (inputs (N, 13), next-token targets (N, 13), answer mask (N, 13) bool)
    t.train_ids(), t.test_pairs()  # a Philox split of 0..size-1: the held-out ids are never in the train split
    t.batch(step, 32)              # a supervised training batch of train ids (Philox)
    t.accuracy(model, ids)         # greedy exact match of all ANSWER_LEN answer tokens (default: held-out)
    t.answer(i), t.reward(i, completion), t.text(t.encode(ids)), t.question(t.encode(ids))  # inverse of encode

A `Family` is an ordered subset of tasks with one global id space (the local ids of task k shifted by the sizes
of tasks 0..k-1: `to_global` / `to_local`), the same surface over global ids (so the swarm can pass a Family
where it passes an AdditionTask, with global ids as `pair_id`s), per-task held-out accuracy, and the round's
questions of a node:

    fam = Family()                                   # all ten tasks, split seed 0
    seed = node_seed(rl.round_seed(chain_id, coordinator, round), peer)   # chain-derived, per node and round
    qs = fam.questions(seed, 8, {"add2": 3, "sub2": 1})                   # global train ids, Philox stream 4

Splits: task k holds out the first min(test_size, size // 5) distinct values (AdditionTask's count) of the
Philox words (seed, stream 1 + (registry index + 1) * 2^32) mod size; its train ids are all the others, in
ascending order. A task has the same split in every family, and no split permutes a whole space of 10^6 ids.
Questions: question j of a draw uses words 2(offset + j) and 2(offset + j) + 1 of Philox (seed, stream 4): the
first picks the task by the integer weights of the mix (word mod total weight, bucketed by cumulative weight),
the second an id of that task's train split (word mod its size). Anyone who knows the chain id, the coordinator,
the round, the node's peer bytes and its mix recomputes what the node was asked.

Reward (`reward`): 1.0 for exactly the answer's ANSWER_LEN tokens; otherwise `format_credit` (default 0.1, as
offchain/swarm/rl.py's reward) times the fraction of positions whose token has the answer token's kind (digit,
PAD, relation < = >); 0.0 for a completion of the wrong length. `format_credit=0.0` is the strict 0/1 reward.

Everything is integer torch ops and deterministic; nothing is downloaded. Bad input (an unknown task name, an id
outside the task's or family's range, a bad mix) raises ValueError.

Tests: `.venv/bin/python -m pytest tests/model/test_task_family.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from offchain.commit import keccak256
from offchain.model.gpt import GPTConfig
from offchain.repops import rng

# ----------------------------------------------------------------------------------------------- vocabulary

PLUS, EQUALS, MINUS, TIMES, LT, GT, COMMA, PAD = 10, 11, 12, 13, 14, 15, 16, 17
TAG0 = 18  # tag of TASK_NAMES[k] is TAG0 + k
TASK_NAMES: tuple[str, ...] = ("cmp", "add1", "parity", "count", "sort", "add2", "sub2", "mul1", "seq", "add3")
VOCAB = TAG0 + len(TASK_NAMES)  # 28
PROMPT_LEN = 10  # tag + the longest body (seq: "05,12,19=")
ANSWER_LEN = 4  # the longest answer (add3's four sum digits, sort's four digits)
SEQ_LEN = PROMPT_LEN + ANSWER_LEN
CONTEXT = 16  # GPTConfig.context that fits (a model reads SEQ_LEN - 1 positions)
SPLIT_STREAM, BATCH_STREAM, QUESTION_STREAM = 1, 2, 4  # the streams of task.py and rl.py (3 is the model init)
U64 = (1 << 64) - 1
FORMAT_CREDIT = 0.1  # reward of a wrong completion whose every token has the right kind (rl.py's 0.1)

_SYMBOLS = {PLUS: "+", EQUALS: "=", MINUS: "-", TIMES: "*", LT: "<", GT: ">", COMMA: ",", PAD: "_"}
_FROM_SYMBOL = {s: t for t, s in _SYMBOLS.items()}


def _kind(t: object) -> int:
    """Token kind for the format credit: 0 digit, 1 PAD, 2 relation (< = >), 3 anything else."""
    if not isinstance(t, int) or isinstance(t, bool):
        return 3
    if 0 <= t <= 9:
        return 0
    if t == PAD:
        return 1
    return 2 if t in (LT, EQUALS, GT) else 3


def text(tokens: torch.Tensor | Sequence[int]) -> str:
    """One token row as text: digits, '+ = - * < > ,', '_' for PAD and '[name]' for a task tag."""
    out = []
    for t in torch.as_tensor(tokens).tolist():
        if 0 <= t <= 9:
            out.append(str(t))
        elif t in _SYMBOLS:
            out.append(_SYMBOLS[t])
        elif TAG0 <= t < VOCAB:
            out.append(f"[{TASK_NAMES[t - TAG0]}]")
        else:
            raise ValueError(f"text: {t} is not a token (vocabulary 0..{VOCAB - 1})")
    return "".join(out)


def tokens(s: str) -> list[int]:
    """The inverse of `text`: a string of digits, symbols, '_' and '[name]' tags -> token ids."""
    out: list[int] = []
    for m in re.finditer(r"\[([a-z0-9]+)\]|(.)", s):
        name, ch = m.group(1), m.group(2)
        if name is not None:
            out.append(TAG0 + _task_index(name))
        elif ch.isdigit():
            out.append(int(ch))
        elif ch in _FROM_SYMBOL:
            out.append(_FROM_SYMBOL[ch])
        else:
            raise ValueError(f"tokens: {ch!r} is not a token")
    return out


# ------------------------------------------------------------------------------------------- column helpers

Cols = list[torch.Tensor]


def _msb(x: torch.Tensor, k: int) -> Cols:
    """The k decimal digits of x, most significant first (zero-padded)."""
    return [(x // 10**i) % 10 for i in reversed(range(k))]


def _lsb(x: torch.Tensor, k: int) -> Cols:
    """The k decimal digits of x, least significant first (reversed)."""
    return [(x // 10**i) % 10 for i in range(k)]


def _num(body: torch.Tensor, start: int, k: int) -> torch.Tensor:
    """The number written MSB-first in columns start..start+k-1 of `body` (N, len)."""
    out = torch.zeros(body.shape[0], dtype=torch.int64)
    for i in range(k):
        out = out * 10 + body[:, start + i]
    return out


def _const(x: torch.Tensor, tok: int) -> torch.Tensor:
    return torch.full_like(x, tok)


def _tri(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Triangular index -> (a, b) with b <= a and id = a(a+1)/2 + b (exact after the float guess)."""
    a = ((torch.sqrt(8.0 * ids.double() + 1.0) - 1.0) / 2.0).floor().long()
    a = torch.where((a + 1) * (a + 2) // 2 <= ids, a + 1, a)
    a = torch.where(a * (a + 1) // 2 > ids, a - 1, a)
    return a, ids - a * (a + 1) // 2


# --------------------------------------------------------------------------------------------- the tasks


@dataclass(frozen=True)
class _Spec:
    """How one task writes its questions: body columns (ending with '='), answer columns, and the inverse."""

    level: int
    size: int
    body: Callable[[torch.Tensor], Cols]
    answer: Callable[[torch.Tensor], Cols]
    parse: Callable[[torch.Tensor], torch.Tensor]  # body (N, len(body)) -> ids


def _add(d: int) -> _Spec:
    base = 10**d
    return _Spec(
        level={1: 1, 2: 2, 3: 4}[d],
        size=base * base,
        body=lambda i: [*_msb(i // base, d), _const(i, PLUS), *_msb(i % base, d), _const(i, EQUALS)],
        answer=lambda i: _lsb(i // base + i % base, d + 1),
        parse=lambda b: _num(b, 0, d) * base + _num(b, d + 1, d),
    )


def _cmp_answer(i: torch.Tensor) -> Cols:
    a, b = i // 100, i % 100
    return [torch.where(a < b, LT, torch.where(a > b, GT, EQUALS))]


def _sub_body(i: torch.Tensor) -> Cols:
    a, b = _tri(i)
    return [*_msb(a, 2), _const(i, MINUS), *_msb(b, 2), _const(i, EQUALS)]


def _sub_answer(i: torch.Tensor) -> Cols:
    a, b = _tri(i)
    return _lsb(a - b, 2)


def _sub_parse(body: torch.Tensor) -> torch.Tensor:
    a, b = _num(body, 0, 2), _num(body, 3, 2)
    return a * (a + 1) // 2 + b


def _count_answer(i: torch.Tensor) -> Cols:
    d = i // 10**5
    return [sum((c == d).long() for c in _msb(i % 10**5, 5))]


def _seq_body(i: torch.Tensor) -> Cols:
    a, d = i // 10, i % 10
    return [*_msb(a, 2), _const(i, COMMA), *_msb(a + d, 2), _const(i, COMMA), *_msb(a + 2 * d, 2),
            _const(i, EQUALS)]  # fmt: skip


SPECS: dict[str, _Spec] = {
    "cmp": _Spec(1, 10**4, lambda i: [*_msb(i // 100, 2), _const(i, COMMA), *_msb(i % 100, 2), _const(i, EQUALS)],
                 _cmp_answer, lambda b: _num(b, 0, 2) * 100 + _num(b, 3, 2)),
    "add1": _add(1),
    "parity": _Spec(2, 10**4, lambda i: [*_msb(i, 4), _const(i, EQUALS)],
                    lambda i: [sum(_msb(i, 4)) % 2], lambda b: _num(b, 0, 4)),
    "count": _Spec(2, 10**6, lambda i: [i // 10**5, _const(i, COMMA), *_msb(i % 10**5, 5), _const(i, EQUALS)],
                   _count_answer, lambda b: b[:, 0] * 10**5 + _num(b, 2, 5)),
    "sort": _Spec(2, 10**4, lambda i: [*_msb(i, 4), _const(i, EQUALS)],
                  lambda i: list(torch.stack(_msb(i, 4), 1).sort(dim=1).values.unbind(1)), lambda b: _num(b, 0, 4)),
    "add2": _add(2),
    "sub2": _Spec(3, 100 * 101 // 2, _sub_body, _sub_answer, _sub_parse),
    "mul1": _Spec(3, 1000, lambda i: [*_msb(i // 10, 2), _const(i, TIMES), i % 10, _const(i, EQUALS)],
                  lambda i: _lsb((i // 10) * (i % 10), 3), lambda b: _num(b, 0, 2) * 10 + b[:, 3]),
    "seq": _Spec(3, 700, _seq_body, lambda i: _lsb(i // 10 + 3 * (i % 10), 2),
                 lambda b: _num(b, 0, 2) * 10 + (_num(b, 3, 2) - _num(b, 0, 2))),
    "add3": _add(3),
}  # fmt: skip
assert tuple(SPECS) == TASK_NAMES


def _task_index(name: str) -> int:
    if name not in SPECS:
        raise ValueError(f"unknown task {name!r}; the tasks are {', '.join(TASK_NAMES)}")
    return TASK_NAMES.index(name)


def _as_ids(ids: torch.Tensor | Sequence[int] | int, high: int, what: str) -> torch.Tensor:
    """ids as a 1-D int64 tensor, each in 0..high-1 (ValueError otherwise)."""
    t = torch.as_tensor(ids)
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise ValueError(f"{what}: ids must be integers, got {t.dtype}")
    t = t.to(torch.int64).reshape(-1)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= high):
        bad = int(t[(t < 0) | (t >= high)][0])
        raise ValueError(f"{what}: id {bad} out of range 0..{high - 1}")
    return t


@functools.lru_cache(maxsize=64)
def _split(name: str, seed: int, test_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train ids ascending, held-out ids): the held-out ids are the first `test` distinct values of the Philox
    words (seed, split stream) mod size, test = min(test_size, size // 5); the train ids are all the others."""
    n = SPECS[name].size
    stream = SPLIT_STREAM + ((_task_index(name) + 1) << 32)
    test = min(test_size, n // 5)
    held: dict[int, None] = {}  # insertion-ordered set
    offset = 0
    while len(held) < test:  # a few passes at most: size >= 5 * test
        want = 2 * (test - len(held)) + 16
        for w in (rng.philox_words(seed=seed & U64, stream=stream, offset=offset, n=want) % n).tolist():
            if len(held) < test:
                held.setdefault(w, None)
        offset += want
    heldout = torch.tensor(list(held), dtype=torch.int64)
    keep = torch.ones(n, dtype=torch.bool)
    keep[heldout] = False
    return keep.nonzero()[:, 0], heldout


@torch.no_grad()
def _greedy(model: torch.nn.Module, tok: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Greedy completions (N, ANSWER_LEN) of the prompts of token rows `tok` (N, SEQ_LEN)."""
    was_training = model.training
    model.eval()
    outs = []
    for s in range(0, tok.shape[0], chunk):
        seq = tok[s : s + chunk, :PROMPT_LEN]
        for _ in range(ANSWER_LEN):
            nxt = torch.argmax(model(seq)[:, -1, :], dim=-1)  # ties: first index (exact compare)
            seq = torch.cat([seq, nxt[:, None]], dim=1)
        outs.append(seq[:, PROMPT_LEN:])
    model.train(was_training)
    return torch.cat(outs) if outs else torch.zeros(0, ANSWER_LEN, dtype=torch.int64)


def _exact_match(model: torch.nn.Module, tok: torch.Tensor) -> float:
    """Fraction of token rows whose greedy answer equals their answer tokens (0.0 for no rows)."""
    if not len(tok):
        return 0.0
    return float((_greedy(model, tok) == tok[:, PROMPT_LEN:]).all(dim=1).float().mean())


def _encode_rows(index: int, spec: _Spec, ids: torch.Tensor) -> torch.Tensor:
    body, ans = spec.body(ids), spec.answer(ids)
    tok = torch.full((ids.numel(), SEQ_LEN), PAD, dtype=torch.int64)
    tok[:, 0] = TAG0 + index
    if ids.numel():
        tok[:, PROMPT_LEN - len(body) : PROMPT_LEN] = torch.stack(body, dim=1)
        tok[:, PROMPT_LEN : PROMPT_LEN + len(ans)] = torch.stack(ans, dim=1)
    return tok


def _tensors(tok: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x, y = tok[:, :-1].contiguous(), tok[:, 1:].contiguous()
    mask = torch.zeros_like(y, dtype=torch.bool)
    mask[:, -ANSWER_LEN:] = True
    return x, y, mask


def _reward(want: list[int], completion: Sequence[int] | torch.Tensor, format_credit: float) -> float:
    comp = completion.tolist() if isinstance(completion, torch.Tensor) else list(completion)
    if len(comp) != len(want):
        return 0.0
    if comp == want:
        return 1.0
    return format_credit * sum(_kind(c) == _kind(w) for c, w in zip(comp, want, strict=True)) / len(want)


@dataclass(frozen=True)
class Task:
    """One task of the family over its local ids 0..size-1, with AdditionTask's surface (module docstring)."""

    name: str = "add2"
    seed: int = 0  # Philox seed of the train/held-out split and of `batch`
    test_size: int = 500  # held-out ids (at most a fifth of the question space)

    def __post_init__(self) -> None:
        _task_index(self.name)

    @property
    def index(self) -> int:
        """Position in TASK_NAMES (fixes the tag token and the Philox streams)."""
        return _task_index(self.name)

    @property
    def tag(self) -> int:
        return TAG0 + self.index

    @property
    def level(self) -> int:
        """Difficulty, 1 (easiest) to 4."""
        return SPECS[self.name].level

    @property
    def size(self) -> int:
        """Number of distinct questions (local ids 0..size-1)."""
        return SPECS[self.name].size

    prompt_len, answer_len, seq_len, vocab = PROMPT_LEN, ANSWER_LEN, SEQ_LEN, VOCAB

    def ids(self, ids: torch.Tensor | Sequence[int] | int) -> torch.Tensor:
        """`ids` checked (ValueError when out of range) as a 1-D int64 tensor."""
        return _as_ids(ids, self.size, f"task {self.name}")

    def train_ids(self) -> torch.Tensor:
        """The ids RL and supervised training may use (never a held-out one)."""
        return _split(self.name, self.seed, self.test_size)[0]

    def test_pairs(self) -> torch.Tensor:
        """The held-out ids (AdditionTask's name for them)."""
        return _split(self.name, self.seed, self.test_size)[1]

    heldout_ids = test_pairs

    def encode(self, ids: torch.Tensor | Sequence[int] | int) -> torch.Tensor:
        """ids -> token rows (N, SEQ_LEN) int64: tag, PADs, body, '=', answer, PADs."""
        return _encode_rows(self.index, SPECS[self.name], self.ids(ids))

    def question(self, tok: torch.Tensor) -> torch.Tensor:
        """The inverse of `encode` on the prompt: token rows (N, >= PROMPT_LEN) -> ids (ValueError if not ours)."""
        tok = torch.as_tensor(tok, dtype=torch.int64)
        tok = tok.reshape(-1, tok.shape[-1])
        spec = SPECS[self.name]
        n_body = len(spec.body(torch.zeros(1, dtype=torch.int64)))
        ids = spec.parse(tok[:, PROMPT_LEN - n_body : PROMPT_LEN])
        ok = (ids >= 0) & (ids < self.size)
        if not bool(ok.all()) or not torch.equal(self.encode(ids)[:, :PROMPT_LEN], tok[:, :PROMPT_LEN]):
            raise ValueError(f"task {self.name}: not a prompt of this task")
        return ids

    def tensors(self, ids: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs (N, SEQ_LEN-1), next-token targets (N, SEQ_LEN-1), answer mask (N, SEQ_LEN-1) bool)."""
        return _tensors(self.encode(ids))

    def batch(self, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Supervised batch of `step`: train ids from Philox (seed, stream 2 + (index + 1) * 2^32)."""
        train = self.train_ids()
        stream = BATCH_STREAM + ((self.index + 1) << 32)
        pick = rng.randint(seed=self.seed & U64, stream=stream, offset=step * batch_size, n=batch_size,
                           high=len(train))  # fmt: skip
        return self.tensors(train[pick])

    def answer(self, i: int) -> list[int]:
        """The right completion of question `i`: ANSWER_LEN tokens (PAD-padded)."""
        return self.encode([i])[0, PROMPT_LEN:].tolist()

    def reward(
        self, i: int, completion: Sequence[int] | torch.Tensor, *, format_credit: float = FORMAT_CREDIT
    ) -> float:
        """Rule-based reward: 1.0 exact answer, else `format_credit` x right-kind token fraction; wrong length 0.0."""
        return _reward(self.answer(i), completion, format_credit)

    def text(self, tok: torch.Tensor) -> list[str]:
        """Token rows as text (see the module-level `text`)."""
        return [text(r) for r in torch.as_tensor(tok).reshape(-1, torch.as_tensor(tok).shape[-1])]

    @torch.no_grad()
    def accuracy(self, model: torch.nn.Module, ids: torch.Tensor | Sequence[int] | None = None) -> float:
        """Exact-match accuracy (all ANSWER_LEN tokens) of greedy decoding on `ids` (default: held-out)."""
        return _exact_match(model, self.encode(self.test_pairs() if ids is None else ids))


# -------------------------------------------------------------------------------------------------- family


Mix = Mapping[str, int] | Sequence[int] | None


def node_seed(seed: int, peer: bytes | str) -> int:
    """A node's question seed of a round: top 64 bits of keccak256(uint64 `seed` big-endian || peer bytes).

    `seed` is usually rl.round_seed(chain_id, coordinator, round); `peer` the node's on-chain peer id digest
    (bytes), a "0x" hex string (decoded) or any other string (UTF-8). Anyone recomputes it from public values.
    """
    if not 0 <= seed <= U64:
        raise ValueError(f"node_seed: seed must be a uint64, got {seed}")
    if isinstance(peer, str):
        raw = bytes.fromhex(peer[2:]) if peer.startswith("0x") else peer.encode()
    else:
        raw = bytes(peer)
    return int.from_bytes(keccak256(seed.to_bytes(8, "big") + raw)[:8], "big")


@dataclass(frozen=True)
class Family:
    """An ordered set of tasks with one global id space (module docstring). Plain fields: `asdict` round-trips."""

    names: tuple[str, ...] = TASK_NAMES
    seed: int = 0  # split and batch seed of every task
    test_size: int = 500  # held-out ids per task (at most a fifth of its space)

    def __post_init__(self) -> None:
        names = (self.names,) if isinstance(self.names, str) else tuple(self.names)
        if not names:
            raise ValueError("Family: needs at least one task")
        for n in names:
            _task_index(n)
        if len(set(names)) != len(names):
            raise ValueError(f"Family: repeated task in {names}")
        object.__setattr__(self, "names", names)

    @functools.cached_property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks, in family order."""
        return tuple(Task(n, self.seed, self.test_size) for n in self.names)

    @functools.cached_property
    def offsets(self) -> tuple[int, ...]:
        """The first global id of each task."""
        out, total = [], 0
        for t in self.tasks:
            out.append(total)
            total += t.size
        return tuple(out)

    prompt_len, answer_len, seq_len, vocab = PROMPT_LEN, ANSWER_LEN, SEQ_LEN, VOCAB

    def to_dict(self) -> dict[str, object]:
        """Plain values for a checkpoint (`Family(**d)` rebuilds it)."""
        return {"names": list(self.names), "seed": self.seed, "test_size": self.test_size}

    @property
    def size(self) -> int:
        """Global ids are 0..size-1."""
        return self.offsets[-1] + self.tasks[-1].size

    def index(self, task: str | int) -> int:
        """Position of `task` (a name or a position) in this family."""
        if isinstance(task, int) and not isinstance(task, bool):
            if not 0 <= task < len(self.tasks):
                raise ValueError(f"Family: task position {task} out of range 0..{len(self.tasks) - 1}")
            return task
        _task_index(task)
        if task not in self.names:
            raise ValueError(f"Family: task {task!r} is not in this family {self.names}")
        return self.names.index(task)

    def task(self, task: str | int) -> Task:
        return self.tasks[self.index(task)]

    def to_global(self, task: str | int, local: torch.Tensor | Sequence[int] | int) -> torch.Tensor | int:
        """(task, local id(s)) -> global id(s); an int for an int."""
        k = self.index(task)
        ids = self.tasks[k].ids(local) + self.offsets[k]
        return int(ids[0]) if isinstance(local, int) else ids

    def to_local(
        self, gids: torch.Tensor | Sequence[int] | int
    ) -> tuple[torch.Tensor, torch.Tensor] | tuple[int, int]:
        """Global id(s) -> (task position(s), local id(s)); ints for an int."""
        g = _as_ids(gids, self.size, "Family")
        k = torch.searchsorted(torch.tensor(self.offsets), g, right=True) - 1
        local = g - torch.tensor(self.offsets)[k]
        if isinstance(gids, int):
            return int(k[0]), int(local[0])
        return k, local

    def task_of(self, gid: int) -> Task:
        return self.tasks[self.to_local(int(gid))[0]]

    # ------------------------------------------------------------------ AdditionTask's surface, global ids

    def encode(self, gids: torch.Tensor | Sequence[int] | int) -> torch.Tensor:
        """Global ids -> token rows (N, SEQ_LEN) int64, in the order given (tasks mixed freely)."""
        k, local = self.to_local(torch.as_tensor(gids).reshape(-1))
        tok = torch.empty((k.numel(), SEQ_LEN), dtype=torch.int64)
        for j, t in enumerate(self.tasks):
            sel = k == j
            if bool(sel.any()):
                tok[sel] = t.encode(local[sel])
        return tok

    def question(self, tok: torch.Tensor) -> torch.Tensor:
        """Token rows -> global ids (inverse of `encode`; the tag says the task). ValueError if not ours."""
        tok = torch.as_tensor(tok, dtype=torch.int64)
        tok = tok.reshape(-1, tok.shape[-1])
        out = torch.empty(tok.shape[0], dtype=torch.int64)
        tags = tok[:, 0]
        for j, t in enumerate(self.tasks):
            sel = tags == t.tag
            if bool(sel.any()):
                out[sel] = t.question(tok[sel]) + self.offsets[j]
        if not bool(torch.isin(tags, torch.tensor([t.tag for t in self.tasks])).all()):
            raise ValueError("Family: a row's tag is not a task of this family")
        return out

    def tensors(self, gids: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs, targets, answer mask), each (N, SEQ_LEN-1), for global ids."""
        return _tensors(self.encode(gids))

    def answer(self, gid: int) -> list[int]:
        k, local = self.to_local(int(gid))
        return self.tasks[k].answer(local)

    def reward(
        self, gid: int, completion: Sequence[int] | torch.Tensor, *, format_credit: float = FORMAT_CREDIT
    ) -> float:
        """The rule-based reward of the task of `gid` (see `Task.reward`)."""
        return _reward(self.answer(gid), completion, format_credit)

    def valid(self, gid: object, completion: Sequence[object]) -> bool:
        """True when `gid` is a global id of this family and `completion` ANSWER_LEN ints in 0..VOCAB-1
        (a peer's rollout is checked with this before it is re-scored)."""
        ok_id = isinstance(gid, int) and not isinstance(gid, bool) and 0 <= gid < self.size
        return (
            ok_id
            and len(completion) == ANSWER_LEN
            and all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < VOCAB for t in completion)
        )

    def train_ids(self, task: str | int | None = None) -> torch.Tensor:
        """Global train ids of one task, or of all (concatenated in family order)."""
        ks = range(len(self.tasks)) if task is None else [self.index(task)]
        return torch.cat([self.tasks[k].train_ids() + self.offsets[k] for k in ks])

    def test_pairs(self, task: str | int | None = None) -> torch.Tensor:
        """Global held-out ids of one task, or of all (concatenated in family order)."""
        ks = range(len(self.tasks)) if task is None else [self.index(task)]
        return torch.cat([self.tasks[k].test_pairs() + self.offsets[k] for k in ks])

    heldout_ids = test_pairs

    @torch.no_grad()
    def accuracy(self, model: torch.nn.Module, gids: torch.Tensor | Sequence[int] | None = None) -> float:
        """Greedy exact-match accuracy on global ids (default: every task's held-out ids pooled)."""
        return _exact_match(model, self.encode(self.test_pairs() if gids is None else gids))

    @torch.no_grad()
    def accuracy_by_task(self, model: torch.nn.Module, n: int | None = None) -> dict[str, float]:
        """Held-out accuracy of each task on its first `n` held-out ids (all when None), in one decoding pass."""
        per = [t.test_pairs()[:n] + o for t, o in zip(self.tasks, self.offsets, strict=True)]
        tok = self.encode(torch.cat(per))
        hit = (_greedy(model, tok) == tok[:, PROMPT_LEN:]).all(dim=1).split([len(p) for p in per])
        return {t.name: float(h.float().mean()) if len(h) else 0.0 for t, h in zip(self.tasks, hit, strict=True)}

    # ------------------------------------------------------------------------------------- draws

    def weights(self, mix: Mix = None) -> list[int]:
        """The integer weight of each task (family order) of `mix`: None = 1 each; {name: weight} (others 0);
        or one weight per task. ValueError for an unknown or absent task, a negative weight, or all zero."""
        if mix is None:
            w = [1] * len(self.tasks)
        elif isinstance(mix, Mapping):
            w = [0] * len(self.tasks)
            for name, v in mix.items():
                w[self.index(name)] = v
        else:
            w = list(mix)
            if len(w) != len(self.tasks):
                raise ValueError(f"Family: mix has {len(w)} weights for {len(self.tasks)} tasks")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in w) or sum(w) == 0:
            raise ValueError(f"Family: mix weights must be non-negative ints, not all zero, got {w}")
        return w

    def _draw(self, seed: int, stream: int, n: int, mix: Mix, offset: int) -> torch.Tensor:
        w = self.weights(mix)
        if n < 0 or offset < 0:
            raise ValueError("Family: n and offset must be >= 0")
        words = rng.philox_words(seed=seed & U64, stream=stream, offset=2 * offset, n=2 * n).reshape(n, 2)
        cum = torch.tensor(w).cumsum(0)
        k = torch.searchsorted(cum, words[:, 0] % int(cum[-1]), right=True)  # (n,) task positions
        out = torch.empty(n, dtype=torch.int64)
        for j, t in enumerate(self.tasks):
            sel = k == j
            if bool(sel.any()):
                train = t.train_ids()
                out[sel] = train[words[sel, 1] % len(train)] + self.offsets[j]
        return out

    def questions(self, seed: int, n: int, mix: Mix = None, *, offset: int = 0) -> list[int]:
        """`n` global train ids of Philox (seed, stream 4): question j picks its task by `mix`'s weights with
        word 2(offset + j) and its id of that task's train split with word 2(offset + j) + 1.

        The same (seed, n, mix, offset) gives the same questions everywhere; `offset` counts questions, so nodes
        sharing one seed take disjoint draws with offsets k * n (per-node seeds: `node_seed`)."""
        return self._draw(seed, QUESTION_STREAM, n, mix, offset).tolist()

    def batch(self, step: int, batch_size: int, mix: Mix = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Supervised batch of `step` over `mix`: train ids of Philox (family seed, stream 2), as `questions`."""
        return self.tensors(self._draw(self.seed, BATCH_STREAM, batch_size, mix, step * batch_size))

    def gpt_config(self, **kw: int | float) -> GPTConfig:
        """A GPTConfig whose vocabulary and context fit the family (other fields from `kw`)."""
        return GPTConfig(vocab=VOCAB, context=CONTEXT, **kw)  # type: ignore[arg-type]


def gpt_config(**kw: int | float) -> GPTConfig:
    """GPTConfig(vocab=VOCAB, context=16, **kw): fits every task of the family."""
    return GPTConfig(vocab=VOCAB, context=CONTEXT, **kw)  # type: ignore[arg-type]
