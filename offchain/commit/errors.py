"""Exceptions of offchain.commit: one base class, a family per kind of bad input, a leaf per case.

Everything here is raised on untrusted input (tensors from a peer, proofs from a counterparty, names
from a config). A proof that is well formed but does not match its root is not an error: the `verify_*`
functions return False for it, as TensorMerkle.sol does.
"""

from __future__ import annotations


class CommitError(Exception):
    """Base class for every problem offchain.commit reports."""


# ------------------------------------------------------------------ tensors


class TensorInputError(CommitError):
    """A value cannot be committed as a tensor."""


class UnsupportedDtypeError(TensorInputError):
    """The dtype has no code in the format (float64, float16, bfloat16, complex, object, ...)."""


class NotATensorError(TensorInputError):
    """The value is neither a torch.Tensor nor a numpy.ndarray (nor, where allowed, a Python int/float)."""


class InexactScalarError(TensorInputError):
    """A Python float cannot be committed because float32 does not hold it exactly."""


class ShapeError(TensorInputError):
    """A shape has a negative dimension or is not a sequence of ints."""


# ------------------------------------------------------------------ proofs


class ProofError(CommitError):
    """A proof request or a proof is malformed (as opposed to well formed but wrong)."""


class IndexOutOfRangeError(ProofError):
    """An element index (or a multi-index) lies outside the tensor."""


class RangeOutOfBoundsError(ProofError):
    """A range is empty or runs past the end of the tensor."""


class ProofLengthError(ProofError):
    """A proof has the wrong number of siblings or leaves for its position and tensor size."""


class MalformedHashError(ProofError):
    """A hash, leaf or root is not exactly 32 bytes."""


# ------------------------------------------------------------------ checkpoints


class CheckpointError(CommitError):
    """A checkpoint cannot be committed or a checkpoint proof request is invalid."""


class TensorNameError(CheckpointError):
    """A tensor name is empty or not a str."""


class DuplicateNameError(CheckpointError):
    """Two tensors of one checkpoint have the same name."""


class UnknownNameError(CheckpointError):
    """A proof was asked for a name the checkpoint does not hold."""


class StepError(CheckpointError):
    """The step is not an int in [0, 2**256)."""


class BatchHashError(CheckpointError):
    """The data-batch hash is not exactly 32 bytes."""
