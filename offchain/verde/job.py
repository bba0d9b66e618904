"""A Verde job: the tiny GPT, its addition batches, its named state, checkpoint roots and data root.

The state names and roots are docs/verde-trace.md "The job's data"; the training step is RepOpsGPT +
offchain.repops.optim.AdamW (offchain/model/train.py `train_step`), which `autograd_step` runs from a
named state.

    job = VerdeJob(steps=8)
    state = init_state(job)                                   # name -> tensor, AdamW state eager
    spec = checkpoint_root(job, state, step=0)                # the job's specHash
    state = autograd_step(job, state, step=1)                 # what build_program's program computes
    job = load_spec("examples/job.json")                      # the JSON spec format (docs/verde-cli.md)

The spec file's schema is offchain/protocol/schemas/job-spec.schema.json (shown in docs/protocol.md); `spec_from_dict`
validates against it. A spec carries `"version": 1`; one without `version` is read as version 1 (the format before
the field existed), any other version is refused.

Run the tests with `.venv/bin/python -m pytest tests/verde/test_trace.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from offchain import protocol
from offchain.commit import commit_checkpoint, tensor_root
from offchain.commit.state import model_key, named_state, optim_key
from offchain.model.gpt import GPTConfig, RepOpsGPT, init_params, param_shapes
from offchain.model.task import VOCAB, AdditionTask
from offchain.model.train import train_step
from offchain.repops.optim import AdamW
from offchain.verde import ir

F32 = torch.float32
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (inputs, targets, mask), int32 (B, T) each
State = dict[str, torch.Tensor]  # checkpoint name -> tensor
OPTIM_KEYS = ("exp_avg", "exp_avg_sq", "b1p", "b2p")  # AdamW state per parameter (its int `step` is left out)


@dataclass(frozen=True)
class VerdeJob:
    """Everything that fixes a Verde training run (its specHash commits the initial state it gives)."""

    vocab: int = VOCAB  # token ids 0-9, '+', '='
    width: int = 16  # residual width C
    n_head: int = 2  # attention heads (head size C / n_head)
    n_layer: int = 1  # transformer blocks
    digits: int = 1  # digits per operand of the addition task (context = task.seq_len)
    batch_size: int = 4  # sequences per step
    lr: float = 3e-3  # AdamW learning rate, rounded to float32 once
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW b1, b2
    eps: float = 1e-8  # AdamW epsilon (outside the sqrt)
    ln_eps: float = 1e-5  # layer-norm epsilon (inside the sqrt)
    seed: int = 0  # Philox seed of the init and of the batches
    steps: int = 8  # T: optimizer steps of the job
    checkpoint_interval: int = 4  # steps between the full states a trainer keeps (roots are kept every step)

    @cached_property
    def task(self) -> AdditionTask:
        return AdditionTask(digits=self.digits, seed=self.seed)

    @cached_property
    def gpt(self) -> GPTConfig:
        return GPTConfig(vocab=self.vocab, context=self.task.seq_len, n_layer=self.n_layer, n_head=self.n_head,
                         width=self.width, eps=self.ln_eps)  # fmt: skip

    @property
    def seq(self) -> int:
        """Tokens per training row: the model reads seq_len - 1 tokens."""
        return self.task.seq_len - 1

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter names and shapes in the model's (and the optimizer's) order."""
        return param_shapes(self.gpt)

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every checkpoint name and its float32 shape, sorted by UTF-8 bytes (the checkpoint leaf order)."""
        out: dict[str, tuple[int, ...]] = {}
        for n, s in self.param_shapes.items():
            out[model_key(n)] = s
            out |= {optim_key(n, k): shape for k, shape in zip(OPTIM_KEYS, (s, s, (), ()), strict=True)}
        return {k: out[k] for k in sorted(out, key=lambda n: n.encode("utf-8"))}

    def batch(self, step: int) -> Batch:
        """The batch step `step` (1-based) consumes: task.batch(step - 1), as int32 (B, T) tensors."""
        assert step >= 1, f"step {step}: steps are 1-based (0 is the initial checkpoint)"
        x, y, mask = self.task.batch(step - 1, self.batch_size)
        return x.to(torch.int32), y.to(torch.int32), mask.to(torch.int32)


class SpecError(ValueError):
    """A job spec file that is not a VerdeJob (one line: the file and what is wrong)."""


# The spec's one source is its schema (docs/protocol.md): field types, bounds and the version come from it.
_SPEC_FIELDS = protocol.schema("job-spec")["properties"]
SPEC_VERSION = _SPEC_FIELDS["version"]["const"]  # the job spec format this code reads and writes
_INT_FIELDS = tuple(n for n, f in _SPEC_FIELDS.items() if f.get("type") == "integer")  # the rest are floats


def spec_from_dict(raw: object, *, where: str = "spec") -> VerdeJob:
    """A VerdeJob from a mapping of its fields (missing fields keep their defaults), checked against the job-spec
    schema field by field; no `version` means version 1."""
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a job spec is a JSON object of VerdeJob fields, not {type(raw).__name__}")
    known = list(_SPEC_FIELDS)
    assert known[1:] == [f.name for f in fields(VerdeJob)], "job-spec.schema.json and VerdeJob disagree"
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise SpecError(f"{where}: unknown job fields {unknown} (the fields are {', '.join(known)})")
    version = raw.get("version", SPEC_VERSION)
    if type(version) is not int or version != SPEC_VERSION:
        raise SpecError(f"{where}: job spec version {version!r} is not supported (this code reads version "
                        f"{SPEC_VERSION})")  # fmt: skip
    for err in protocol.errors("job-spec", raw):
        name = err.path.split(".")[0].split("[")[0]
        raise SpecError(f"{where}: {_spec_problem(name, raw[name], err)}")
    values = {n: v for n, v in raw.items() if n != "version"}
    for name, value in values.items():
        if name == "betas":
            values[name] = (float(value[0]), float(value[1]))
        elif name not in _INT_FIELDS:
            values[name] = float(value)
    job = VerdeJob(**values)
    if job.width % job.n_head:  # the schema's x-invariants
        raise SpecError(f"{where}: width {job.width} is not a multiple of n_head {job.n_head}")
    assert job.vocab == VOCAB, f"job-spec.schema.json fixes vocab at {_SPEC_FIELDS['vocab']['const']}, not {VOCAB}"
    return job


def _spec_problem(name: str, value: object, err: protocol.SchemaViolation) -> str:
    """One field's schema violation in the spec's own words."""
    if name == "betas":
        return f"betas must be a list of two numbers, not {value!r}"
    if name == "vocab" and err.keyword == "const":
        return f"vocab must be {VOCAB} (the addition task's tokens), not {value!r}"
    if err.keyword == "type":
        kind = "a whole number" if name in _INT_FIELDS else "a number"
        return f"{name} must be {kind}, not {value!r}"
    if err.keyword == "minimum":
        return f"{name} must be at least {_SPEC_FIELDS[name]['minimum']}, not {value!r}"
    return f"{name}: {err.reason}"


def load_spec(path: str | Path | None) -> VerdeJob:
    """The VerdeJob of a JSON spec file (docs/verde-cli.md); None: the default VerdeJob."""
    if path is None:
        return VerdeJob()
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as err:
        raise SpecError(f"{path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"{path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    return spec_from_dict(raw, where=str(path))


def spec_json(job: VerdeJob) -> str:
    """The spec file of `job`: its version, then every field in the dataclass's order (load_spec reads it back)."""
    raw = {"version": SPEC_VERSION, **asdict(job)}
    raw["betas"] = list(job.betas)
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in raw.items()) + "\n}\n"


def f32_bits(value: float) -> int:
    """The bit pattern of `value` rounded to float32 once (what torch.tensor(value, dtype=float32) holds)."""
    return int(np.array(value, dtype=np.float32).view(np.uint32))


def init_state(job: VerdeJob) -> State:
    """The state at step 0: Philox-initialised parameters, AdamW moments zero and b1p = b2p = 1.0."""
    params = init_params(job.gpt, seed=job.seed)
    return named_state({n: p.clone() for n, p in params.items()}, {n: _fresh_moments(p) for n, p in params.items()})


def _fresh_moments(p: torch.Tensor) -> dict[str, torch.Tensor]:
    """AdamW's state of a parameter before its first step, eager: moments zero, b1p = b2p = 1.0."""
    one = torch.tensor(1.0, dtype=F32)
    return {"exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p), "b1p": one, "b2p": one.clone()}


def batch_hash(batch: Batch) -> bytes:
    """batchLeaf = keccak(0x08 ‖ root(inputs) ‖ root(targets) ‖ root(mask)) of an int32 batch."""
    return ir.batch_leaf(*(tensor_root(t) for t in batch))


def checkpoint_root(job: VerdeJob, state: State, *, step: int) -> bytes:
    """The checkpoint root of `state` after `step` steps (step 0: batchHash zero, the job's specHash)."""
    h = ir.ZERO if step == 0 else batch_hash(job.batch(step))
    return commit_checkpoint(state, step=step, batch_hash=h).root


def spec_hash(job: VerdeJob) -> bytes:
    """The root of the initial checkpoint."""
    return checkpoint_root(job, init_state(job), step=0)


def data_root(job: VerdeJob) -> bytes:
    """dataRoot over the batch leaves of steps 1..T."""
    return ir.data_root([batch_hash(job.batch(t)) for t in range(1, job.steps + 1)])


def model_and_optimizer(job: VerdeJob) -> tuple[RepOpsGPT, AdamW]:
    """A RepOpsGPT and its RepOps AdamW with the job's hyperparameters (the init is overwritten by a load)."""
    model = RepOpsGPT(job.gpt, seed=job.seed)
    opt = AdamW(model.parameters(), lr=job.lr, betas=job.betas, eps=job.eps, weight_decay=job.weight_decay)
    return model, opt


def state_of(model: RepOpsGPT, opt: AdamW) -> State:
    """The named Verde state a model and its AdamW hold (AdamW state that does not exist yet is eager: 0, 1.0)."""
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    moments = {}
    for n, p in model.named_parameters():
        st = opt.state.get(p)
        moments[n] = {k: st[k].clone() for k in OPTIM_KEYS} if st else _fresh_moments(params[n])
    return named_state(params, moments)


def load_state(model: RepOpsGPT, opt: AdamW, state: State, *, step: int) -> None:
    """Put a named state (taken after `step` steps) into a model and its AdamW."""
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(state[model_key(n)])
            opt.state[p] = {"step": step, **{k: state[optim_key(n, k)].clone() for k in OPTIM_KEYS}}


def autograd_step(job: VerdeJob, state: State, *, step: int) -> State:
    """The state after step `step` from the state before it: RepOpsGPT forward/backward and AdamW (train_step)."""
    model, opt = model_and_optimizer(job)
    load_state(model, opt, state, step=step - 1)
    x, y, mask = job.batch(step)
    train_step(model, opt, (x.long(), y.long(), mask.bool()))
    return state_of(model, opt)
