"""A traced Verde trainer: trains a job, posts a checkpoint root per step, and replays any step as a Trace.

It keeps the full state only every `job.checkpoint_interval` steps and recomputes the steps between on demand.
This is the honest trainer; the cheaters of the tests and the dispute demo wrap it (offchain/verde/adversary.py).

    tr = VerdeTrainer(job); tr.train(); tr.roots[t]          # t = 0 (specHash) .. T
    trace = tr.replay(t)                                     # Trace of step t from the state before it

Run the tests with `.venv/bin/python -m pytest tests/verde/test_trace.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

from offchain.verde import ir
from offchain.verde.job import State, VerdeJob, autograd_step, checkpoint_root, init_state
from offchain.verde.program import Value, build_program, op_hashes, run_program, state_after
from offchain.verde.trace import Trace

ENGINES = ("autograd", "program")  # honest steps: RepOpsGPT + AdamW (train_step), or run_program


class VerdeTrainer:
    """Trains a job step by step, recording every checkpoint root; replays a step as a Trace for a dispute."""

    def __init__(self, job: VerdeJob, *, engine: str = "autograd") -> None:
        assert engine in ENGINES, f"engine {engine!r}: one of {ENGINES}"
        self.job = job
        self.engine = engine
        self.roots: list[bytes] = []  # roots[t]: the posted checkpoint root after t steps (roots[0]: specHash)
        self._kept: dict[int, State] = {}  # full states at checkpoint-interval boundaries (and step 0)

    @property
    def program(self) -> tuple[ir.Op, ...]:
        return build_program(self.job)

    @property
    def op_hashes(self) -> tuple[bytes, ...]:
        return op_hashes(self.job)

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

    def _advance(self, state: State, t: int) -> tuple[State, bytes]:
        """The posted state and root after step t from the posted state before it."""
        return self._step(self.job, state, t)

    def _step(self, job: VerdeJob, pre: State, t: int) -> tuple[State, bytes]:
        """Step t of `job` from `pre`, honestly: the state after it and its checkpoint root."""
        if self.engine == "program":
            values = self._trace_values(job, pre, t)
            return state_after(self.program, values), values[-1]  # type: ignore[return-value]
        new = autograd_step(job, pre, step=t)
        return new, checkpoint_root(job, new, step=t)

    def _values(self, state: State, t: int) -> list[Value]:
        """The slot values of the trace this trainer defends for step t, from its posted state before it."""
        return self._trace_values(self.job, state, t)

    def _trace_values(self, job: VerdeJob, pre: State, t: int) -> list[Value]:
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
