"""Tensor roots, and proofs of one element or a contiguous range of elements, in the format of docs/commitments.md.

A tensor is flattened row-major into 32-bit words (dtype table in `offchain.commit.format.DType`), packed
eight to a 32-byte leaf with word 0 in the most significant bytes, the last leaf zero-padded. Its data
root is the Merkle root over the leaves; its tensor root binds the data root to the dtype and shape:

    from offchain.commit import commit_tensor, verify_element, verify_range, element_bits
    c = commit_tensor(torch.randn(64, 32))
    proof = c.element_proof((3, 5))                  # or a flat index: 3 * 32 + 5
    assert verify_element(c.root, c.header, proof)
    bits = element_bits(c.header, proof)             # float32 bit pattern, an int < 2**32
    rows = c.range_proof(3 * 32, 64)                 # rows 3 and 4
    assert verify_range(c.root, c.header, rows)

The same proofs verify on chain with TensorMerkle.verifyElement / verifyRange / float32At.
Run the tests with `.venv/bin/ape test tests/commit -q -p no:cacheprovider`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from offchain.commit.errors import (
    IndexOutOfRangeError,
    MalformedHashError,
    ProofLengthError,
    RangeOutOfBoundsError,
    ShapeError,
)
from offchain.commit.format import (
    EMPTY,
    LEAF_BYTES,
    UINT256_MAX,
    WORDS_PER_LEAF,
    DType,
    as_row_major,
    dtype_code,
    leaf_hash,
    num_leaves,
    pack_leaves,
    tensor_root_from,
    to_words,
    tree_depth,
)
from offchain.commit.merkle import (
    HASH_BYTES,
    compiled,
    data_roots,
    levels_of_datas,
    range_sibling_count,
    range_siblings,
    root_from_range,
    root_of_data,
    roots_of_data,
)
from offchain.float32.bits import from_bits


@dataclass(frozen=True)
class TensorHeader:
    """What a tensor root binds besides the data: the dtype code and the shape (row-major)."""

    dtype: DType  # code of the element type; fixes the words per element
    shape: tuple[int, ...]  # dimensions, outermost first; () for a 0-d scalar (1 element)

    @classmethod
    def of(cls, dtype: Any, shape: Sequence[int]) -> TensorHeader:
        """A validated header from any dtype spelling (numpy, torch, code, name) and a shape.

        Raises
        ------
        UnsupportedDtypeError
            The dtype has no code.
        ShapeError
            A dimension is not an int in [0, 2**256).
        """
        dims = tuple(shape)
        for d in dims:
            if isinstance(d, bool) or not isinstance(d, int | np.integer) or not 0 <= int(d) <= UINT256_MAX:
                raise ShapeError(f"shape {dims!r}: every dimension must be an int >= 0")
        return cls(dtype=dtype_code(dtype), shape=tuple(int(d) for d in dims))

    @property
    def numel(self) -> int:
        """Number of elements (1 for a 0-d tensor, 0 if any dimension is 0)."""
        return int(np.prod(self.shape, dtype=object)) if self.shape else 1

    @property
    def num_words(self) -> int:
        """32-bit words of data."""
        return self.numel * self.dtype.words_per_element

    @property
    def num_leaves(self) -> int:
        """32-bit-word leaves of data (before padding to a power of two)."""
        return num_leaves(self.num_words)

    @property
    def depth(self) -> int:
        """Siblings in a single-leaf proof: levels above the leaves."""
        return tree_depth(self.num_leaves)

    def flat_index(self, index: int | Sequence[int]) -> int:
        """The row-major flat index of an element given flat or as one index per dimension.

        Raises
        ------
        IndexOutOfRangeError
            The index is negative, too large, or has the wrong number of components.
        """
        if isinstance(index, int | np.integer) and not isinstance(index, bool):
            flat = int(index)
        else:
            parts = tuple(index)
            if len(parts) != len(self.shape):
                raise IndexOutOfRangeError(f"index {parts!r} has {len(parts)} components, shape {self.shape}")
            flat = 0
            for i, d in zip(parts, self.shape, strict=True):
                if not 0 <= int(i) < d:
                    raise IndexOutOfRangeError(f"index {parts!r} is outside shape {self.shape}")
                flat = flat * d + int(i)
        if not 0 <= flat < self.numel:
            raise IndexOutOfRangeError(f"element {flat} is outside a tensor of {self.numel} elements")
        return flat


@dataclass(frozen=True)
class ElementProof:
    """One element's proof: the leaf that holds it and one sibling per level, bottom-up."""

    index: int  # flat row-major element index
    leaf: bytes  # the 32-byte leaf data holding the element's word(s)
    siblings: tuple[bytes, ...]  # header.depth hashes; bit h of the leaf index says left (0) or right (1)


@dataclass(frozen=True)
class RangeProof:
    """The proof of elements `start .. start + count - 1`: their leaves and the minimal sibling set."""

    start: int  # first flat element index
    count: int  # elements in the range, >= 1
    leaves: tuple[bytes, ...]  # the 32-byte data of every leaf the range's words touch, in order
    siblings: tuple[bytes, ...]  # per level bottom-up: left neighbour if the range starts odd, right if it ends even


@dataclass(frozen=True)
class TensorCommitment:
    """A committed tensor: its header, roots, and the tree kept for producing proofs."""

    header: TensorHeader
    data_root: bytes  # Merkle root over the leaves
    root: bytes  # tensor root: binds data_root, dtype and shape
    data: bytes  # the packed leaf data, header.num_leaves * 32 bytes
    levels: tuple[bytes, ...]  # tree levels (flat 32-byte hashes), leaves first, the data root last

    def leaf(self, leaf_index: int) -> bytes:
        """The 32-byte data of leaf `leaf_index`."""
        return self.data[leaf_index * LEAF_BYTES : (leaf_index + 1) * LEAF_BYTES]

    def element_proof(self, index: int | Sequence[int]) -> ElementProof:
        """The proof of one element, flat or multi-index.

        Raises
        ------
        IndexOutOfRangeError
            The element is outside the tensor.
        """
        flat = self.header.flat_index(index)
        leaf_index = flat * self.header.dtype.words_per_element // WORDS_PER_LEAF
        return ElementProof(
            index=flat,
            leaf=self.leaf(leaf_index),
            siblings=range_siblings(self.levels, leaf_index, leaf_index),
        )

    def range_proof(self, start: int, count: int) -> RangeProof:
        """The proof of the `count` elements from flat index `start` on.

        Raises
        ------
        RangeOutOfBoundsError
            The range is empty or runs past the end of the tensor.
        """
        lo, hi = _range_leaves(self.header, start, count)
        return RangeProof(
            start=start,
            count=count,
            leaves=tuple(self.leaf(i) for i in range(lo, hi + 1)),
            siblings=range_siblings(self.levels, lo, hi),
        )

    def bits(self, index: int | Sequence[int]) -> int:
        """The bit pattern (32 bits, or 64 for 64-bit dtypes) of one element, read from the packed data."""
        flat = self.header.flat_index(index)
        wpe = self.header.dtype.words_per_element
        word = flat * wpe
        return int.from_bytes(self.data[word * 4 : (word + wpe) * 4], "big")


def commit_tensor(x: Any) -> TensorCommitment:
    """Commit a torch tensor or numpy array, keeping the tree for proofs.

    Parameters
    ----------
    x
        A torch.Tensor (any device, any strides; detached and copied row-major) or a numpy.ndarray,
        of a dtype in the table of `DType`.

    Raises
    ------
    NotATensorError, UnsupportedDtypeError
        `x` cannot be committed.
    """
    return commit_tensors({"x": x})["x"]


def commit_tensors(values: Mapping[str, Any]) -> dict[str, TensorCommitment]:
    """`commit_tensor` of each value (name -> tensor), the trees hashed in one call of the compiled keccak.

    Raises
    ------
    NotATensorError, UnsupportedDtypeError
        A value cannot be committed.
    """
    headers: dict[str, TensorHeader] = {}
    datas: list[bytes] = []
    for name, x in values.items():
        array, code = as_row_major(x)
        headers[name] = TensorHeader(dtype=code, shape=tuple(int(d) for d in array.shape))
        datas.append(pack_leaves(to_words(array, code)))
    out: dict[str, TensorCommitment] = {}
    for (name, header), data, levels in zip(headers.items(), datas, levels_of_datas(datas), strict=True):
        out[name] = TensorCommitment(
            header=header,
            data_root=levels[-1],
            root=tensor_root_from(levels[-1], header.dtype, header.shape),
            data=data,
            levels=levels,
        )
    return out


def _leaf_data(array: np.ndarray, code: DType, compiled: bool) -> tuple[bytes | np.ndarray, bool]:
    """What the root is hashed from, and whether it is native words: for the compiled keccak a 4-byte dtype's
    array itself (it reads the words big-endian, so no packed copy, which is a seventh of a checkpoint root's
    time), else the packed leaf data."""
    if compiled and array.dtype.itemsize == 4 and sys.byteorder == "little":
        return array, True
    return pack_leaves(to_words(array, code)), False


def tensor_root(x: Any) -> bytes:
    """The tensor root of a torch tensor or numpy array, without keeping the tree (less memory).

    Raises
    ------
    NotATensorError, UnsupportedDtypeError
        `x` cannot be committed.
    """
    array, code = as_row_major(x)
    data, words = _leaf_data(array, code, compiled())
    data_root = roots_of_data([data], [words])[0] if words else root_of_data(data)
    return tensor_root_from(data_root, code, tuple(int(d) for d in array.shape))


BATCH_BYTES = 1 << 23  # tensor bytes per compiled call of tensor_roots: bounds the packed copies a batch holds


def tensor_roots(values: Mapping[str, Any], *, executor: Executor | None = None) -> dict[str, bytes]:
    """The tensor roots of several tensors; with an executor (e.g. a ProcessPoolExecutor) and no compiled keccak
    the hashing of aligned 32,768-leaf subtrees runs on its workers, giving the same roots (the compiled keccak
    hashes batches of tensors on its own threads and leaves the executor idle).

    Parameters
    ----------
    values
        name -> torch.Tensor or numpy.ndarray.
    executor
        Where the pure path hashes; None hashes here, one tensor after another.

    Raises
    ------
    NotATensorError, UnsupportedDtypeError
        A value cannot be committed.
    """
    batched = executor is None and compiled()
    if executor is None and not batched:
        return {name: tensor_root(v) for name, v in values.items()}
    roots: dict[str, bytes] = {}
    headers: dict[str, TensorHeader] = {}
    datas: list[bytes | np.ndarray] = []
    words: list[bool] = []
    size = 0

    def flush() -> None:
        hashed = roots_of_data(datas, words) if batched else data_roots(datas, executor)
        for (name, h), r in zip(headers.items(), hashed, strict=True):
            roots[name] = tensor_root_from(r, h.dtype, h.shape)
        headers.clear()
        datas.clear()
        words.clear()

    for name, v in values.items():
        array, code = as_row_major(v)
        headers[name] = TensorHeader(dtype=code, shape=tuple(int(d) for d in array.shape))
        data, is_words = _leaf_data(array, code, batched)
        datas.append(data)
        words.append(is_words)
        size += array.nbytes
        if batched and size >= BATCH_BYTES:  # one call per batch: one start of the kernel's threads, not per tensor
            flush()
            size = 0
    flush()
    return roots


def header_of(x: Any) -> TensorHeader:
    """The header (dtype code and shape) `commit_tensor(x)` would bind."""
    array, code = as_row_major(x)
    return TensorHeader(dtype=code, shape=tuple(int(d) for d in array.shape))


# ------------------------------------------------------------------ verification (mirrors TensorMerkle.sol)


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_BYTES:
        raise MalformedHashError(f"{what} must be 32 bytes, got {value!r:.80}")


def _range_leaves(header: TensorHeader, start: int, count: int) -> tuple[int, int]:
    """First and last leaf (inclusive) that elements `start .. start + count - 1` touch."""
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in (start, count)):
        raise RangeOutOfBoundsError(f"range start={start!r} count={count!r}: both must be ints")
    start, count = int(start), int(count)
    if start < 0 or count < 1:
        raise RangeOutOfBoundsError(f"range start={start!r} count={count!r}: need start >= 0 and count >= 1")
    if start + count > header.numel:
        raise RangeOutOfBoundsError(f"range {start}..{start + count - 1} runs past {header.numel} elements")
    wpe = header.dtype.words_per_element
    return start * wpe // WORDS_PER_LEAF, ((start + count) * wpe - 1) // WORDS_PER_LEAF


def verify_element(root: bytes, header: TensorHeader, proof: ElementProof) -> bool:
    """Whether `proof` shows its leaf at element `proof.index` of the tensor with root `root` and `header`.

    Returns False for a well-formed proof that does not match; raises for a malformed one.

    Raises
    ------
    IndexOutOfRangeError
        The index is outside the tensor.
    ProofLengthError
        The proof does not have `header.depth` siblings.
    MalformedHashError
        The root, the leaf or a sibling is not 32 bytes.
    """
    _check_hash(root, "root")
    _check_hash(proof.leaf, "leaf")
    flat = header.flat_index(proof.index)
    leaf_index = flat * header.dtype.words_per_element // WORDS_PER_LEAF
    if len(proof.siblings) != header.depth:
        raise ProofLengthError(f"element proof has {len(proof.siblings)} siblings, the tensor needs {header.depth}")
    for s in proof.siblings:
        _check_hash(s, "sibling")
    data_root = root_from_range([leaf_hash(bytes(proof.leaf))], leaf_index, proof.siblings, header.depth)
    return tensor_root_from(data_root, header.dtype, header.shape) == bytes(root)


def verify_range(root: bytes, header: TensorHeader, proof: RangeProof) -> bool:
    """Whether `proof` shows its leaves at elements `start .. start + count - 1` of the tensor with `root`.

    Returns False for a well-formed proof that does not match; raises for a malformed one.

    Raises
    ------
    RangeOutOfBoundsError
        The range is empty or runs past the end of the tensor.
    ProofLengthError
        The proof has the wrong number of leaves or siblings for its range.
    MalformedHashError
        The root, a leaf or a sibling is not 32 bytes.
    """
    _check_hash(root, "root")
    lo, hi = _range_leaves(header, proof.start, proof.count)
    if len(proof.leaves) != hi - lo + 1:
        raise ProofLengthError(f"range proof has {len(proof.leaves)} leaves, the range covers {hi - lo + 1}")
    need = range_sibling_count(lo, hi, header.depth)
    if len(proof.siblings) != need:
        raise ProofLengthError(f"range proof has {len(proof.siblings)} siblings, the range needs {need}")
    for leaf in proof.leaves:
        _check_hash(leaf, "leaf")
    for s in proof.siblings:
        _check_hash(s, "sibling")
    hashes = [leaf_hash(bytes(leaf)) for leaf in proof.leaves]
    data_root = root_from_range(hashes, lo, proof.siblings, header.depth)
    return tensor_root_from(data_root, header.dtype, header.shape) == bytes(root)


def element_bits(header: TensorHeader, proof: ElementProof) -> int:
    """The element's bit pattern (32 bits; 64 for int64/uint64) read from the proof's leaf (unverified)."""
    _check_hash(proof.leaf, "leaf")
    wpe = header.dtype.words_per_element
    word = header.flat_index(proof.index) * wpe % WORDS_PER_LEAF
    return int.from_bytes(proof.leaf[word * 4 : (word + wpe) * 4], "big")


def range_bits(header: TensorHeader, proof: RangeProof) -> list[int]:
    """The bit patterns of the range's elements, in order, read from the proof's leaves (unverified)."""
    lo, hi = _range_leaves(header, proof.start, proof.count)
    if len(proof.leaves) != hi - lo + 1:
        raise ProofLengthError(f"range proof has {len(proof.leaves)} leaves, the range covers {hi - lo + 1}")
    wpe = header.dtype.words_per_element
    data = b"".join(bytes(leaf) for leaf in proof.leaves)
    first = proof.start * wpe - lo * WORDS_PER_LEAF  # word offset of the range inside the leaves
    return [
        int.from_bytes(data[(first + i * wpe) * 4 : (first + (i + 1) * wpe) * 4], "big") for i in range(proof.count)
    ]


def float32_from_bits(bits: int) -> float:
    """The Python float a float32 bit pattern stands for (NaN payloads are not kept by Python floats)."""
    return float(from_bits(bits))


__all__ = [
    "EMPTY",
    "ElementProof",
    "RangeProof",
    "TensorCommitment",
    "TensorHeader",
    "commit_tensor",
    "element_bits",
    "float32_from_bits",
    "header_of",
    "range_bits",
    "tensor_root",
    "tensor_roots",
    "verify_element",
    "verify_range",
]
