"""A binary Merkle tree over 32-byte leaf hashes, padded to a power of two with EMPTY, with range proofs.

The tree of docs/commitments.md: `node = keccak256(0x01 ‖ left ‖ right)`, a missing leaf is EMPTY (so a
missing subtree of height h is ZERO_HASHES[h]), a tree of 0 leaves has root EMPTY and one of 1 leaf has
its leaf hash as root. Levels are stored as flat `bytes` (32 bytes a hash); the padding is never
materialised.

The hashing runs in the compiled kernel offchain/native/keccak.cpp (many permutations at once in SIMD lanes,
on THREADS threads) where it is built, else here, one pysha3 call per hash: the same bytes either way
(tests/commit/test_native_keccak.py). torch, which the kernel's loader needs, is imported only on first use.

A range proof for the leaves `lo..hi` (inclusive) lists, level by level from the bottom, the left
neighbour of the range if the range starts at an odd position, then the right neighbour if it ends at
an even one; single-leaf proofs are the special case `lo == hi` (one sibling per level).

Run the tests with `.venv/bin/ape test tests/commit -q -p no:cacheprovider`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from offchain.commit.format import (
    EMPTY,
    LEAF_BYTES,
    ZERO_HASHES,
    _keccak_256,
    node_hash,
    tree_depth,
)

HASH_BYTES = 32
_ZERO_BYTES = b"".join(ZERO_HASHES)  # the compiled tree root's padding table, ZERO_HASHES[h] at 32 * h

# Threads the compiled kernel may use; None: as many as the CPUs this process may run on. The bytes never
# depend on it (the kernel's work is cut into fixed pieces).
THREADS: int | None = None


def _kernels() -> Any | None:
    """The compiled keccak module, or None (not built here, or VERDE_NATIVE=0): then the pure path runs."""
    from offchain import native  # here, not at the top: verifiers import offchain.commit without torch

    return native.kernels("keccak")


def compiled() -> bool:
    """Whether the trees are hashed by the compiled kernel (else by pysha3 from Python)."""
    return _kernels() is not None


def _threads() -> int:
    if THREADS is not None:
        return THREADS
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity masks
        return os.cpu_count() or 1


def _hash_rows_python(rows: np.ndarray) -> bytes:
    """keccak256 of every row of a 2-D uint8 array, concatenated, one pysha3 call a row."""
    width = rows.shape[1]
    buf = rows.tobytes()
    k = _keccak_256
    return b"".join([k(buf[i : i + width]).digest() for i in range(0, len(buf), width)])


def _hash_leaves_python(data: bytes) -> bytes:
    n = len(data) // LEAF_BYTES
    rows = np.zeros((n, 1 + LEAF_BYTES), dtype=np.uint8)  # column 0 is the 0x00 tag
    rows[:, 1:] = np.frombuffer(data, dtype=np.uint8).reshape(n, LEAF_BYTES)
    return _hash_rows_python(rows)


def _parent_level_python(level: bytes, height: int) -> bytes:
    if (len(level) // HASH_BYTES) % 2:
        level = level + ZERO_HASHES[height]
    n = len(level) // (2 * HASH_BYTES)
    rows = np.empty((n, 1 + 2 * HASH_BYTES), dtype=np.uint8)
    rows[:, 0] = 0x01
    rows[:, 1:] = np.frombuffer(level, dtype=np.uint8).reshape(n, 2 * HASH_BYTES)
    return _hash_rows_python(rows)


def hash_leaves(data: bytes) -> bytes:
    """The leaf hashes keccak256(0x00 ‖ leaf) of `data` (a whole number of 32-byte leaves), concatenated."""
    assert len(data) % LEAF_BYTES == 0, "leaf data is a whole number of 32-byte leaves"
    kernels = _kernels()
    if kernels is None:
        return _hash_leaves_python(data)
    return kernels.hash_leaves(data, _threads())


def parent_level(level: bytes, height: int) -> bytes:
    """The level above `level` (hashes at `height`), an odd last node paired with ZERO_HASHES[height]."""
    kernels = _kernels()
    if kernels is None:
        return _parent_level_python(level, height)
    return kernels.parent_level(level, ZERO_HASHES[height], _threads())


def build_levels(leaf_hashes: bytes) -> tuple[bytes, ...]:
    """Every level of the tree, leaves first, root level (one hash) last; `(EMPTY,)` for no leaves."""
    count = len(leaf_hashes) // HASH_BYTES
    if count == 0:
        return (EMPTY,)
    levels = [leaf_hashes]
    for height in range(tree_depth(count)):
        levels.append(parent_level(levels[-1], height))
    return tuple(levels)


def levels_of_data(data: bytes) -> tuple[bytes, ...]:
    """`build_levels(hash_leaves(data))`: every level of the tree over the leaf data, leaves' hashes first."""
    assert len(data) % LEAF_BYTES == 0, "leaf data is a whole number of 32-byte leaves"
    kernels = _kernels()
    if kernels is None:
        return build_levels(hash_leaves(data))
    # One call: each aligned subtree goes from leaves to its root in cache, on the kernel's threads.
    return tuple(kernels.merkle_levels(data, _ZERO_BYTES, _threads()))


def levels_of_datas(datas: Sequence[bytes]) -> list[tuple[bytes, ...]]:
    """`levels_of_data` of each leaf data; compiled, one call whose threads serve all the trees at once."""
    kernels = _kernels()
    if kernels is None:
        return [levels_of_data(data) for data in datas]
    return [tuple(levels) for levels in kernels.merkle_levels_many(list(datas), _ZERO_BYTES, _threads())]


def root_of(leaf_hashes: bytes) -> bytes:
    """The root over `leaf_hashes`, keeping only one level at a time."""
    count = len(leaf_hashes) // HASH_BYTES
    if count == 0:
        return EMPTY
    level = leaf_hashes
    for height in range(tree_depth(count)):
        level = parent_level(level, height)
    return level


CHUNK_LEAVES = 1 << 15  # leaves per parallel task: 1 MiB of leaf data, about 65,000 keccak calls


def subtree_root(data: bytes, height: int) -> bytes:
    """The root of a subtree of `height` levels over the leaves in `data` (fewer than 2**height are padded).

    The unit of work of `data_roots`; a module-level function so a process pool can pickle it.
    """
    assert 0 < len(data) <= (LEAF_BYTES << height), "a subtree holds 1 .. 2**height leaves"
    kernels = _kernels()
    if kernels is not None:
        return kernels.merkle_root(data, _ZERO_BYTES, height, _threads())
    level = hash_leaves(data)
    for h in range(height):
        level = parent_level(level, h)
    return level


def root_of_data(data: bytes | np.ndarray) -> bytes:
    """`root_of(hash_leaves(data))`: the root over the leaf data, without keeping a level (EMPTY for no data).

    The compiled path also takes any C-contiguous buffer of the leaf bytes (a numpy array of big-endian words).
    """
    kernels = _kernels()
    if kernels is None:
        return root_of(hash_leaves(data))
    # One call: the kernel hashes aligned subtrees on its threads and keeps each in cache from leaves to root.
    return kernels.merkle_root(data, _ZERO_BYTES, -1, _threads())


def roots_of_data(datas: Sequence[bytes | np.ndarray], words: Sequence[bool] = ()) -> list[bytes]:
    """`root_of_data` of each leaf data (as it takes them); compiled, one call whose threads serve all the trees.

    Where `words[i]` (compiled path only), `datas[i]` is instead a 4-byte-dtype array in native little-endian
    order: the kernel reads its words big-endian and zero-pads the last leaf, as `pack_leaves` would.
    """
    kernels = _kernels()
    if kernels is None:
        assert not any(words), "only the compiled keccak reads native words"
        return [root_of_data(data) for data in datas]
    return kernels.merkle_roots(list(datas), _ZERO_BYTES, _threads(), words=list(words))


def data_roots(datas: Sequence[bytes], executor: Executor) -> list[bytes]:
    """The data roots of several packed tensors, with the leaf hashing spread over `executor`'s workers.

    Every tensor is cut into aligned subtrees of CHUNK_LEAVES leaves (a small tensor is one task); the
    workers return the subtree roots, and the levels above them are hashed here. Equal to `root_of(
    hash_leaves(data))` for each. Where the compiled kernel is built it hashes each tensor here on its own
    threads instead, and `executor` is left idle: shipping the data to other processes would cost more than
    the hashing.
    """
    if _kernels() is not None:
        return roots_of_data(datas)
    tasks: list[tuple[bytes, int]] = []
    spans: list[tuple[int, int, int]] = []  # per tensor: first task, task count, leaves
    chunk_height = tree_depth(CHUNK_LEAVES)
    for data in datas:
        leaves = len(data) // LEAF_BYTES
        first = len(tasks)
        if leaves <= CHUNK_LEAVES:
            if leaves:
                tasks.append((data, tree_depth(leaves)))
        else:
            step = CHUNK_LEAVES * LEAF_BYTES
            tasks.extend((data[i : i + step], chunk_height) for i in range(0, len(data), step))
        spans.append((first, len(tasks) - first, leaves))
    results = list(executor.map(subtree_root, *zip(*tasks, strict=True))) if tasks else []
    roots: list[bytes] = []
    for first, count, leaves in spans:
        if leaves == 0:
            roots.append(EMPTY)
        elif leaves <= CHUNK_LEAVES:
            roots.append(results[first])
        else:
            level = b"".join(results[first : first + count])
            for h in range(chunk_height, tree_depth(leaves)):
                level = parent_level(level, h)
            roots.append(level)
    return roots


def _node(levels: Sequence[bytes], height: int, index: int) -> bytes:
    """The hash at (height, index), ZERO_HASHES[height] where the padding is."""
    level = levels[height]
    start = index * HASH_BYTES
    if start >= len(level):
        return ZERO_HASHES[height]
    return level[start : start + HASH_BYTES]


def range_siblings(levels: Sequence[bytes], lo: int, hi: int) -> tuple[bytes, ...]:
    """The minimal siblings proving leaves `lo..hi` (inclusive): per level bottom-up, left then right."""
    out: list[bytes] = []
    for height in range(len(levels) - 1):
        if lo & 1:
            out.append(_node(levels, height, lo - 1))
        if not hi & 1:
            out.append(_node(levels, height, hi + 1))
        lo >>= 1
        hi >>= 1
    return tuple(out)


def range_sibling_count(lo: int, hi: int, depth: int) -> int:
    """How many siblings a proof of leaves `lo..hi` in a tree of `depth` levels has."""
    count = 0
    for _ in range(depth):
        count += (lo & 1) + (1 - (hi & 1))
        lo >>= 1
        hi >>= 1
    return count


def root_from_range(leaf_hashes: Sequence[bytes], lo: int, siblings: Sequence[bytes], depth: int) -> bytes:
    """Fold leaf hashes `lo..lo+len-1` and their siblings (as `range_siblings` orders them) to the root.

    The caller checks `len(siblings) == range_sibling_count(...)` first; this mirrors
    TensorMerkle._rootFromRange step for step.
    """
    nodes = list(leaf_hashes)
    hi = lo + len(nodes) - 1
    used = 0
    for _ in range(depth):
        if lo & 1:
            nodes.insert(0, siblings[used])
            used += 1
        if not hi & 1:
            nodes.append(siblings[used])
            used += 1
        nodes = [node_hash(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
        lo >>= 1
        hi >>= 1
    assert used == len(siblings) and len(nodes) == 1, "sibling count was checked by the caller"
    return nodes[0]
