"""The named tensors of a training checkpoint: model weights and buffers, optimizer state, RNG state.

Names (sorted by UTF-8 bytes in the checkpoint tree, see docs/commitments.md):

| name                         | tensor                                                        |
|------------------------------|---------------------------------------------------------------|
| `model.<state_dict key>`     | every parameter and buffer of the model                       |
| `optim.<param name>.<key>`   | each optimizer state entry of a parameter (AdamW: `exp_avg`, `exp_avg_sq`, `step`) |
| `rng.<key>`                  | each RNG state given (default: `torch_cpu` = torch.get_rng_state(), uint8) |

    from offchain.commit import commit_checkpoint, training_state
    ckpt = commit_checkpoint(training_state(model, opt), step=step, batch_hash=batch_hash)

Run the tests with `.venv/bin/ape test tests/commit -q -p no:cacheprovider`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from offchain.commit.errors import InexactScalarError, NotATensorError


def as_committable(value: Any, *, name: str) -> torch.Tensor | np.ndarray:
    """A tensor for an optimizer or RNG state value: tensors as they are, Python scalars as 0-d arrays.

    An int becomes int64, a bool becomes bool, a float becomes float32 when float32 holds it exactly.

    Raises
    ------
    InexactScalarError
        A float that float32 would round.
    NotATensorError
        Any other kind of value.
    """
    if isinstance(value, torch.Tensor | np.ndarray):
        return value
    if isinstance(value, bool):
        return np.array(value, dtype=np.bool_)
    if isinstance(value, int):
        return np.array(value, dtype=np.int64)
    if isinstance(value, float):
        single = np.float32(value)
        if float(single) != value and not np.isnan(value):
            raise InexactScalarError(f"{name}: float {value!r} is not exactly a float32")
        return np.array(single, dtype=np.float32)
    raise NotATensorError(f"{name}: cannot commit a {type(value).__name__}")


def model_key(name: str) -> str:
    """The checkpoint name of a model tensor (a parameter or buffer named `name` in the model)."""
    return f"model.{name}"


def optim_key(param: str, key: str) -> str:
    """The checkpoint name of optimizer state entry `key` of parameter `param`."""
    return f"optim.{param}.{key}"


def rng_key(key: str) -> str:
    """The checkpoint name of RNG state `key`."""
    return f"rng.{key}"


def named_state(
    model: Mapping[str, Any],
    optim: Mapping[str, Mapping[str, Any]] | None = None,
    rng: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A checkpoint's named tensors (the table above) from its parts: the one place that names them.

    Parameters
    ----------
    model
        Model tensor name -> tensor (parameters, and buffers where the trainer commits them).
    optim
        Parameter name -> {state key -> value}: the optimizer's per-parameter state. A value of None is left out;
        Python scalars become 0-d arrays (`as_committable`).
    rng
        RNG state key -> state.

    Raises
    ------
    NotATensorError, InexactScalarError
        An optimizer or RNG state value cannot be committed.
    """
    out: dict[str, Any] = {model_key(k): v for k, v in model.items()}
    for pname, state in (optim or {}).items():
        for key, value in state.items():
            if value is not None:
                out[optim_key(pname, key)] = as_committable(value, name=optim_key(pname, key))
    for key, value in (rng or {}).items():
        out[rng_key(key)] = as_committable(value, name=rng_key(key))
    return out


def training_state(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    rng: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every tensor a checkpoint of `model` trained by `optimizer` must commit, by name (table above).

    Parameters
    ----------
    model
        Its `state_dict()` gives the `model.*` tensors (parameters and buffers).
    optimizer
        Its per-parameter state gives the `optim.*` tensors, named by the parameter's name in `model`.
    rng
        RNG states to commit as `rng.<key>`; None means `{"torch_cpu": torch.get_rng_state()}`, and `{}`
        commits none (for a trainer whose randomness is counter-based and already in the step).

    Raises
    ------
    NotATensorError, InexactScalarError
        An optimizer or RNG state value cannot be committed.
    """
    optim: dict[str, Mapping[str, Any]] = {}
    if optimizer is not None:
        param_names = {id(p): n for n, p in model.named_parameters()}
        for param, state in optimizer.state.items():
            pname = param_names.get(id(param))
            assert pname is not None, "the optimizer holds a parameter that is not in the model"
            optim[pname] = state
    return named_state(model.state_dict(), optim, {"torch_cpu": torch.get_rng_state()} if rng is None else rng)
