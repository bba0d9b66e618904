"""Checkpoint roots over named tensors, a step and a data-batch hash, and proofs that a tensor is in one.

A checkpoint is a set of named tensors (weights, optimizer state, RNG state), the training step it was
taken after, and the hash of the data batch that step consumed. Its leaves are the named tensor leaves
`keccak256(0x03 ‖ keccak256(utf8 name) ‖ tensorRoot)` sorted by the names' UTF-8 bytes; the tensors root
is the Merkle root over them and the checkpoint root binds it to the count, the step and the batch hash
(docs/commitments.md):

    from offchain.commit import commit_checkpoint, verify_checkpoint_tensor
    ckpt = commit_checkpoint(training_state(model, optimizer), step=100, batch_hash=batch_root)
    proof = ckpt.tensor_proof("model.head.weight")
    assert verify_checkpoint_tensor(ckpt.root, proof)
    leaf = ckpt.tensors["model.head.weight"].element_proof((3, 7))    # then down into the tensor

Run the tests with `.venv/bin/ape test tests/commit -q -p no:cacheprovider`.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from offchain.commit.errors import (
    BatchHashError,
    DuplicateNameError,
    MalformedHashError,
    ProofLengthError,
    StepError,
    TensorNameError,
    UnknownNameError,
)
from offchain.commit.format import (
    UINT256_MAX,
    checkpoint_root_from,
    named_tensor_leaf,
    tree_depth,
)
from offchain.commit.merkle import HASH_BYTES, build_levels, range_siblings, root_from_range, root_of
from offchain.commit.tensor import TensorCommitment, commit_tensors, tensor_roots


@dataclass(frozen=True)
class CheckpointHeader:
    """The preimage of a checkpoint root, besides the tag: what a verifier needs alongside a tensor proof."""

    tensors_root: bytes  # Merkle root over the sorted named tensor leaves (EMPTY for no tensors)
    tensor_count: int  # number of named tensors (fixes the tree's depth)
    step: int  # training steps completed when the checkpoint was taken
    batch_hash: bytes  # 32-byte hash of the data batch of that step (opaque to the format)

    @property
    def root(self) -> bytes:
        """keccak256(0x04 ‖ tensorsRoot ‖ uint256 count ‖ uint256 step ‖ batchHash)."""
        return checkpoint_root_from(self.tensors_root, self.tensor_count, self.step, self.batch_hash)


@dataclass(frozen=True)
class CheckpointProof:
    """That a named tensor root is in a checkpoint: the header, the leaf's position and its siblings."""

    header: CheckpointHeader
    name: str  # the tensor's name
    tensor_root: bytes  # the tensor's root (then prove elements against it)
    index: int  # position of the name in the UTF-8-byte order of all names
    siblings: tuple[bytes, ...]  # tree_depth(header.tensor_count) hashes, bottom-up


@dataclass(frozen=True)
class CheckpointCommitment:
    """A committed checkpoint, keeping every tensor's tree for element and range proofs."""

    header: CheckpointHeader
    root: bytes  # the checkpoint root
    names: tuple[str, ...]  # names sorted by UTF-8 bytes: the leaf order
    tensors: Mapping[str, TensorCommitment]  # read-only, name -> commitment
    levels: tuple[bytes, ...]  # the tree over the named tensor leaves, leaves first

    def tensor_proof(self, name: str) -> CheckpointProof:
        """The proof that tensor `name`'s root is in this checkpoint.

        Raises
        ------
        UnknownNameError
            The checkpoint holds no tensor of that name.
        """
        if name not in self.tensors:
            raise UnknownNameError(f"checkpoint has no tensor named {name!r}")
        index = self.names.index(name)
        return CheckpointProof(
            header=self.header,
            name=name,
            tensor_root=self.tensors[name].root,
            index=index,
            siblings=range_siblings(self.levels, index, index),
        )


def _check_step(step: int) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= UINT256_MAX:
        raise StepError(f"step must be an int in [0, 2**256), got {step!r}")
    return step


def _check_batch_hash(batch_hash: bytes) -> bytes:
    if not isinstance(batch_hash, bytes | bytearray) or len(batch_hash) != HASH_BYTES:
        raise BatchHashError(f"batch hash must be 32 bytes, got {batch_hash!r:.80}")
    return bytes(batch_hash)


def sorted_names(names: Any) -> tuple[str, ...]:
    """Validated names in leaf order: sorted by UTF-8 bytes.

    Raises
    ------
    TensorNameError
        A name is not a non-empty str.
    DuplicateNameError
        Two names are equal.
    """
    out = list(names)
    for n in out:
        if not isinstance(n, str) or not n:
            raise TensorNameError(f"tensor names are non-empty str, got {n!r}")
    out.sort(key=lambda n: n.encode("utf-8"))
    for a, b in zip(out, out[1:], strict=False):
        if a == b:
            raise DuplicateNameError(f"tensor name {a!r} appears twice")
    return tuple(out)


def _leaves(names: tuple[str, ...], roots: Mapping[str, bytes]) -> bytes:
    return b"".join(named_tensor_leaf(n, roots[n]) for n in names)


def commit_checkpoint(tensors: Mapping[str, Any], *, step: int, batch_hash: bytes) -> CheckpointCommitment:
    """Commit named tensors with the step and batch hash, keeping every tree for proofs.

    Parameters
    ----------
    tensors
        name -> torch.Tensor, numpy.ndarray or an existing TensorCommitment.
    step
        Training steps completed, an int in [0, 2**256).
    batch_hash
        32 bytes identifying the data batch (e.g. `tensor_root` of the batch's token ids).

    Raises
    ------
    CheckpointError
        A bad name, step or batch hash.
    TensorInputError
        A value cannot be committed as a tensor.
    """
    names = sorted_names(tensors)
    _check_step(step)
    batch = _check_batch_hash(batch_hash)
    given = {n: tensors[n] for n in names if isinstance(tensors[n], TensorCommitment)}
    made = commit_tensors({n: tensors[n] for n in names if n not in given})  # one compiled call for all the trees
    commitments = {n: given[n] if n in given else made[n] for n in names}
    levels = build_levels(_leaves(names, {n: c.root for n, c in commitments.items()}))
    header = CheckpointHeader(tensors_root=levels[-1], tensor_count=len(names), step=step, batch_hash=batch)
    return CheckpointCommitment(
        header=header,
        root=header.root,
        names=names,
        tensors=MappingProxyType(commitments),
        levels=levels,
    )


def checkpoint_header(
    tensors: Mapping[str, Any], *, step: int, batch_hash: bytes, executor: Executor | None = None
) -> CheckpointHeader:
    """The checkpoint header without keeping any tree; values may also be 32-byte tensor roots.

    With an `executor` (e.g. a ProcessPoolExecutor the caller keeps for the whole run), the pure path's leaf
    hashing is spread over its workers; the compiled keccak, where built, uses its own threads instead. The
    header is the same.

    Raises
    ------
    CheckpointError, TensorInputError
        As `commit_checkpoint`; MalformedHashError for a bytes value that is not 32 bytes.
    """
    names = sorted_names(tensors)
    _check_step(step)
    batch = _check_batch_hash(batch_hash)
    roots: dict[str, bytes] = {}
    pending: dict[str, Any] = {}
    for n in names:
        v = tensors[n]
        if isinstance(v, TensorCommitment):
            roots[n] = v.root
        elif isinstance(v, bytes | bytearray):
            if len(v) != HASH_BYTES:
                raise MalformedHashError(f"tensor root of {n!r} must be 32 bytes")
            roots[n] = bytes(v)
        else:
            pending[n] = v
    roots.update(tensor_roots(pending, executor=executor))
    return CheckpointHeader(
        tensors_root=root_of(_leaves(names, roots)), tensor_count=len(names), step=step, batch_hash=batch
    )


def checkpoint_root(
    tensors: Mapping[str, Any], *, step: int, batch_hash: bytes, executor: Executor | None = None
) -> bytes:
    """The checkpoint root of named tensors (or their 32-byte roots), a step and a batch hash.

    See `checkpoint_header` for the parameters and errors.
    """
    return checkpoint_header(tensors, step=step, batch_hash=batch_hash, executor=executor).root


def verify_checkpoint_tensor(root: bytes, proof: CheckpointProof) -> bool:
    """Whether `proof` shows tensor root `proof.tensor_root` under `proof.name` in the checkpoint `root`.

    Returns False for a well-formed proof that does not match; raises for a malformed one.

    Raises
    ------
    UnknownNameError
        `proof.index` is not below the header's tensor count.
    ProofLengthError
        The proof does not have tree_depth(tensor_count) siblings.
    MalformedHashError
        A root, hash or sibling is not 32 bytes.
    TensorNameError
        The name is not a non-empty str.
    """
    h = proof.header
    for value, what in ((root, "root"), (proof.tensor_root, "tensor root"), (h.tensors_root, "tensors root")):
        if not isinstance(value, bytes | bytearray) or len(value) != HASH_BYTES:
            raise MalformedHashError(f"{what} must be 32 bytes")
    _check_batch_hash(h.batch_hash)
    _check_step(h.step)
    if not isinstance(proof.name, str) or not proof.name:
        raise TensorNameError(f"tensor names are non-empty str, got {proof.name!r}")
    if not 0 <= proof.index < h.tensor_count:
        raise UnknownNameError(f"index {proof.index} is outside a checkpoint of {h.tensor_count} tensors")
    depth = tree_depth(h.tensor_count)
    if len(proof.siblings) != depth:
        raise ProofLengthError(f"checkpoint proof has {len(proof.siblings)} siblings, {depth} needed")
    for s in proof.siblings:
        if not isinstance(s, bytes | bytearray) or len(s) != HASH_BYTES:
            raise MalformedHashError("sibling must be 32 bytes")
    if h.root != bytes(root):
        return False
    leaf = named_tensor_leaf(proof.name, bytes(proof.tensor_root))
    return root_from_range([leaf], proof.index, proof.siblings, depth) == h.tensors_root
