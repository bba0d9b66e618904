"""A traced Verde trainer: trains a job, posts a checkpoint root per step, and replays any step as a Trace.

It keeps the full state only every `job.checkpoint_interval` steps and recomputes the steps between on demand.
A dishonest trainer (for tests and the dispute demo) posts what a cheater would, and defends it with a
consistent trace:

* `corrupt(step, op, element, mode)`: op `op` of step `step` writes one wrong element ("ulp": bits + 1,
  "big": + 1000); the rest of that step, and every later step, runs on it;
* `skip(step)`: the state after `step` is the state before it (under step `step`'s header); its trace writes
  the old tensors where the AdamW update should be;
* `other_run(seed, start=s)`: from step s on, it posts the roots of the run of the same job with another seed.

    tr = VerdeTrainer(job); tr.train(); tr.roots[t]          # t = 0 (specHash) .. T
    trace = tr.replay(t)                                     # Trace of step t from the state before it
    bad = VerdeTrainer(job, dishonest=corrupt(3, op=500, element=0, mode="ulp"))

Run the tests with `.venv/bin/python -m pytest tests/verde/test_trace.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from offchain.verde import ir
from offchain.verde.job import State, VerdeJob, autograd_step, checkpoint_root, init_state
from offchain.verde.program import build_program, new_state_slots, run_program, state_after
from offchain.verde.trace import Trace

ENGINES = ("autograd", "program")  # honest steps: RepOpsGPT + AdamW (train_step), or run_program


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


class VerdeTrainer:
    """Trains a job step by step, recording every checkpoint root; replays a step as a Trace for a dispute."""

    def __init__(self, job: VerdeJob, *, dishonest: Dishonest | None = None, engine: str = "autograd") -> None:
        assert engine in ENGINES, f"engine {engine!r}: one of {ENGINES}"
        assert dishonest is None or dishonest.kind in ("corrupt", "skip", "other_run"), f"{dishonest}"
        self.job = job
        self.dishonest = dishonest
        self.engine = engine
        self.roots: list[bytes] = []  # roots[t]: the posted checkpoint root after t steps (roots[0]: specHash)
        self._kept: dict[int, State] = {}  # full states at checkpoint-interval boundaries (and step 0)
        self._other: VerdeTrainer | None = None
        if dishonest is not None and dishonest.kind == "other_run":
            self._other = VerdeTrainer(replace(job, seed=dishonest.seed), engine=engine)

    @cached_property
    def program(self) -> list[ir.Op]:
        return build_program(self.job)

    @cached_property
    def op_hashes(self) -> list[bytes]:
        return [op.hash for op in self.program]

    # ------------------------------------------------------------ training

    def train(self, steps: int | None = None) -> list[bytes]:
        """Run steps 1..steps (default the job's T), keeping roots and interval states; returns the roots."""
        steps = self.job.steps if steps is None else steps
        state = init_state(self.job)
        self._kept = {0: state}
        self.roots = [checkpoint_root(self.job, state, step=0)]
        for t in range(1, steps + 1):
            state, root = self._advance(state, t)
            self.roots.append(root)
            if t % self.job.checkpoint_interval == 0:
                self._kept[t] = state
        return self.roots

    def _job_of(self, t: int) -> VerdeJob:
        """The job whose step t this trainer posts (the other seed's for other_run from its start)."""
        d = self.dishonest
        return self._other.job if d is not None and d.kind == "other_run" and t >= d.step else self.job

    def _pre_state(self, state: State, t: int) -> State:
        """The state step t starts from (for other_run's first step: the other run's own state)."""
        d = self.dishonest
        if d is not None and d.kind == "other_run" and t == d.step:
            assert self._other is not None
            return self._other.state(t - 1)
        return state

    def _advance(self, state: State, t: int) -> tuple[State, bytes]:
        """The posted state and root after step t from the posted state before it."""
        d = self.dishonest
        if d is not None and d.step == t and d.kind in ("corrupt", "skip"):
            values = self._values(state, t)
            return state_after(self.program, values), values[-1]  # type: ignore[return-value]
        job, pre = self._job_of(t), self._pre_state(state, t)
        if self.engine == "program":
            values = run_program(self.program, pre, job.batch(t), step=t)
            return state_after(self.program, values), values[-1]  # type: ignore[return-value]
        new = autograd_step(job, pre, step=t)
        return new, checkpoint_root(job, new, step=t)

    def _values(self, state: State, t: int) -> list:
        """The slot values of the trace this trainer defends for step t, from its posted state before it."""
        d = self.dishonest
        job, pre = self._job_of(t), self._pre_state(state, t)
        if d is not None and d.step == t and d.kind == "corrupt":
            return run_program(self.program, pre, job.batch(t), step=t, corrupt=(d.op, d.element, d.mode))
        if d is not None and d.step == t and d.kind == "skip":
            # the ops that write the new state write the old tensors instead
            overrides = {s: pre[n] for n, s in new_state_slots(self.program).items()}
            return run_program(self.program, pre, job.batch(t), step=t, overrides=overrides)
        return run_program(self.program, pre, job.batch(t), step=t)

    # ------------------------------------------------------------ disputes

    def state(self, t: int) -> State:
        """The posted state after t steps, recomputed from the last kept state at or before t."""
        assert 0 <= t <= self.job.steps, f"step {t} outside 0..{self.job.steps}"
        if 0 not in self._kept:
            self._kept[0] = init_state(self.job)
        base = max(k for k in self._kept if k <= t)
        state = self._kept[base]
        for s in range(base + 1, t + 1):
            state, _ = self._advance(state, s)
        return state

    def replay(self, step: int) -> Trace:
        """The trace of step `step` (1-based) this trainer defends, from its posted state before it."""
        assert 1 <= step < len(self.roots), f"step {step} outside 1..{len(self.roots) - 1}"
        tr = Trace(self.program, self._values(self.state(step - 1), step), step=step, op_hashes=self.op_hashes)
        assert tr.header == self.roots[step], f"replay of step {step} does not reproduce its posted root"
        return tr
