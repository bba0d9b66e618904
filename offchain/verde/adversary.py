"""Dishonest trainers: what a cheater posts and the consistent trace it defends, for tests, benchmarks and the
dispute demo. The honest trainer (trainer.py) and program executor (program.py) know nothing of cheating; a
`Cheater` wraps the trainer and replaces what it computes at the step where it cheats.

* `corrupt(step, op, element, mode)`: op `op` of step `step` writes one wrong element ("ulp": bits + 1,
  "big": + 1000); the rest of that step, and every later step, runs on it;
* `skip(step)`: the state after `step` is the state before it (under step `step`'s header); its trace writes
  the old tensors where the AdamW update should be;
* `other_run(seed, start=s)`: from step s on, it posts the roots of the run of the same job with another seed.

    bad = Cheater(job, corrupt(3, op=500, element=0, mode="ulp")); bad.train(); bad.roots[3]
    trace = bad.replay(3)                                   # the trace it defends, with the wrong element in it

Run the tests with `.venv/bin/python -m pytest tests/verde/test_trace.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import torch

from offchain.verde import ir
from offchain.verde.job import State, VerdeJob
from offchain.verde.program import Execution, Value, new_state_slots, state_after
from offchain.verde.trainer import VerdeTrainer

F32, I32 = torch.float32, torch.int32
KINDS = ("corrupt", "skip", "other_run")


@dataclass(frozen=True)
class Dishonest:
    """How a trainer cheats (build with `corrupt`, `skip` or `other_run`)."""

    kind: str  # "corrupt" | "skip" | "other_run"
    step: int  # the first dishonest step (1-based)
    op: int = 0  # corrupt: the op index
    element: int = 0  # corrupt: the flat element of its output
    mode: str = "ulp"  # corrupt: "ulp" or "big"
    seed: int = 0  # other_run: the other run's seed


def corrupt(step: int, op: int, element: int = 0, mode: str = "ulp") -> Dishonest:
    """One element of op `op`'s output in step `step` is wrong; later ops and steps build on it."""
    assert mode in ("ulp", "big"), f"mode {mode!r}"
    return Dishonest("corrupt", step, op=op, element=element, mode=mode)


def skip(step: int) -> Dishonest:
    """Step `step` is not done: its checkpoint holds the state before it."""
    return Dishonest("skip", step)


def other_run(seed: int, *, start: int = 1) -> Dishonest:
    """From step `start` on, the roots posted are those of the job's run with seed `seed`."""
    return Dishonest("other_run", start, seed=seed)


def corrupted(value: Value, element: int, mode: str) -> Value:
    """`value` with one element changed: "ulp" adds 1 to its bits (a hash: flips its last bit), "big" adds 1000
    to a float (flips bit 30 where that does not change it) or to an int, or flips a hash's first byte."""
    assert mode in ("ulp", "big"), f"corrupt mode {mode!r}: 'ulp' or 'big'"
    if isinstance(value, bytes):
        i, mask = (31, 0x01) if mode == "ulp" else (0, 0xFF)
        return value[:i] + bytes([value[i] ^ mask]) + value[i + 1 :]
    out = value.clone().reshape(-1)
    if out.dtype == F32:
        bits = out.view(I32)
        if mode == "ulp":
            bits[element] += 1
        else:
            before = int(bits[element])
            out[element] = out[element] + 1000.0
            if int(bits[element]) == before:
                bits[element] ^= 0x40000000
    else:
        out[element] += 1 if mode == "ulp" else 1000
    return out.reshape(value.shape)


def run_tampered(program: tuple[ir.Op, ...], state: Mapping[str, torch.Tensor], batch, *, step: int,
                 tamper: Mapping[int, Callable[[Value], Value]]) -> list[Value]:  # fmt: skip
    """`run_program`, except that op i's value goes through `tamper[i]` (given what the op computes) before
    the later ops read it: a cheater's consistent trace."""
    run = Execution(state, batch, step=step)
    for i, op in enumerate(program):
        value = run.compute(op)
        run.push(tamper[i](value) if i in tamper else value)
    return run.values


class Cheater(VerdeTrainer):
    """A VerdeTrainer that posts, and defends, what `how` says from its step on."""

    def __init__(self, job: VerdeJob, how: Dishonest, *, engine: str = "autograd") -> None:
        assert how.kind in KINDS, f"{how}"
        super().__init__(job, engine=engine)
        self.dishonest = how
        self._other = VerdeTrainer(replace(job, seed=how.seed), engine=engine) if how.kind == "other_run" else None

    def _advance(self, state: State, t: int) -> tuple[State, bytes]:
        d = self.dishonest
        if d.step == t and d.kind in ("corrupt", "skip"):
            values = self._values(state, t)
            return state_after(self.program, values), values[-1]  # type: ignore[return-value]
        if self._other is not None and t >= d.step:
            return self._step(self._other.job, self._other_pre(state, t), t)
        return super()._advance(state, t)

    def _values(self, state: State, t: int) -> list[Value]:
        d = self.dishonest
        if d.step == t and d.kind == "corrupt":
            tamper = {d.op: lambda v: corrupted(v, d.element, d.mode)}
            return run_tampered(self.program, state, self.job.batch(t), step=t, tamper=tamper)
        if d.step == t and d.kind == "skip":
            # the ops that write the new state write the old tensors instead
            tamper = {s: (lambda _v, old=state[n]: old.detach().clone().contiguous())
                      for n, s in new_state_slots(self.program).items()}  # fmt: skip
            return run_tampered(self.program, state, self.job.batch(t), step=t, tamper=tamper)
        if self._other is not None and t >= d.step:
            return self._trace_values(self._other.job, self._other_pre(state, t), t)
        return super()._values(state, t)

    def _other_pre(self, state: State, t: int) -> State:
        """The state step t starts from: at the switch, the other run's own state; after it, the posted one."""
        assert self._other is not None
        return self._other.state(t - 1) if t == self.dishonest.step else state
