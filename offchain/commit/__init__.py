"""Tensor and checkpoint Merkle commitments, byte for byte those TensorMerkle.sol verifies.

The format is docs/commitments.md; the golden vectors both sides check are tests/vectors/commitments.json.

    from offchain.commit import commit_tensor, commit_checkpoint, training_state, verify_element
    c = commit_tensor(weight)                                  # c.root, c.element_proof(i), c.range_proof(s, n)
    ckpt = commit_checkpoint(training_state(model, opt), step=s, batch_hash=h)
    ckpt.root, ckpt.tensor_proof("model.head.weight"), ckpt.tensors["model.head.weight"].element_proof(0)

`training_state` (which imports torch) is loaded on first use, so verifiers need only numpy.
Run the tests with `.venv/bin/ape test tests/commit -q -p no:cacheprovider`.
"""

from __future__ import annotations

from typing import Any

from offchain.commit.checkpoint import (
    CheckpointCommitment,
    CheckpointHeader,
    CheckpointProof,
    checkpoint_header,
    checkpoint_root,
    commit_checkpoint,
    verify_checkpoint_tensor,
)
from offchain.commit.errors import (
    BatchHashError,
    CheckpointError,
    CommitError,
    DuplicateNameError,
    IndexOutOfRangeError,
    InexactScalarError,
    MalformedHashError,
    NotATensorError,
    ProofError,
    ProofLengthError,
    RangeOutOfBoundsError,
    ShapeError,
    StepError,
    TensorInputError,
    TensorNameError,
    UnknownNameError,
    UnsupportedDtypeError,
)
from offchain.commit.format import EMPTY, KECCAK_BACKEND, DType, dtype_code, keccak256
from offchain.commit.tensor import (
    ElementProof,
    RangeProof,
    TensorCommitment,
    TensorHeader,
    commit_tensor,
    element_bits,
    float32_from_bits,
    header_of,
    range_bits,
    tensor_root,
    tensor_roots,
    verify_element,
    verify_range,
)


def __getattr__(name: str) -> Any:
    """Load the torch-dependent helpers on first use."""
    if name in ("training_state", "as_committable"):
        from offchain.commit import state

        return getattr(state, name)
    raise AttributeError(f"module 'offchain.commit' has no attribute {name!r}")


__all__ = [
    "EMPTY",
    "KECCAK_BACKEND",
    "BatchHashError",
    "CheckpointCommitment",
    "CheckpointError",
    "CheckpointHeader",
    "CheckpointProof",
    "CommitError",
    "DType",
    "DuplicateNameError",
    "ElementProof",
    "IndexOutOfRangeError",
    "InexactScalarError",
    "MalformedHashError",
    "NotATensorError",
    "ProofError",
    "ProofLengthError",
    "RangeOutOfBoundsError",
    "RangeProof",
    "ShapeError",
    "StepError",
    "TensorCommitment",
    "TensorHeader",
    "TensorInputError",
    "TensorNameError",
    "UnknownNameError",
    "UnsupportedDtypeError",
    "as_committable",
    "checkpoint_header",
    "checkpoint_root",
    "commit_checkpoint",
    "commit_tensor",
    "dtype_code",
    "element_bits",
    "float32_from_bits",
    "header_of",
    "keccak256",
    "range_bits",
    "tensor_root",
    "tensor_roots",
    "training_state",
    "verify_checkpoint_tensor",
    "verify_element",
    "verify_range",
]
