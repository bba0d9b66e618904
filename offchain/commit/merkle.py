"""A binary Merkle tree over 32-byte leaf hashes, padded to a power of two with EMPTY, with range proofs.

The tree of docs/commitments.md: `node = keccak256(0x01 ‖ left ‖ right)`, a missing leaf is EMPTY (so a
missing subtree of height h is ZERO_HASHES[h]), a tree of 0 leaves has root EMPTY and one of 1 leaf has
its leaf hash as root. Levels are stored as flat `bytes` (32 bytes a hash) and hashed level by level;
the padding is never materialised.

A range proof for the leaves `lo..hi` (inclusive) lists, level by level from the bottom, the left
neighbour of the range if the range starts at an odd position, then the right neighbour if it ends at
an even one; single-leaf proofs are the special case `lo == hi` (one sibling per level).

Run the tests with `.venv/bin/ape test tests/commit -q -p no:cacheprovider`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

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


def _hash_rows(rows: np.ndarray) -> bytes:
    """keccak256 of every row of a 2-D uint8 array, concatenated: the hot loop (one C call a hash)."""
    width = rows.shape[1]
    buf = rows.tobytes()
    k = _keccak_256
    return b"".join([k(buf[i : i + width]).digest() for i in range(0, len(buf), width)])


def hash_leaves(data: bytes) -> bytes:
    """The leaf hashes keccak256(0x00 ‖ leaf) of `data` (a whole number of 32-byte leaves), concatenated."""
    assert len(data) % LEAF_BYTES == 0, "leaf data is a whole number of 32-byte leaves"
    n = len(data) // LEAF_BYTES
    rows = np.zeros((n, 1 + LEAF_BYTES), dtype=np.uint8)  # column 0 is the 0x00 tag
    rows[:, 1:] = np.frombuffer(data, dtype=np.uint8).reshape(n, LEAF_BYTES)
    return _hash_rows(rows)


def parent_level(level: bytes, height: int) -> bytes:
    """The level above `level` (hashes at `height`), an odd last node paired with ZERO_HASHES[height]."""
    if (len(level) // HASH_BYTES) % 2:
        level = level + ZERO_HASHES[height]
    n = len(level) // (2 * HASH_BYTES)
    rows = np.empty((n, 1 + 2 * HASH_BYTES), dtype=np.uint8)
    rows[:, 0] = 0x01
    rows[:, 1:] = np.frombuffer(level, dtype=np.uint8).reshape(n, 2 * HASH_BYTES)
    return _hash_rows(rows)


def build_levels(leaf_hashes: bytes) -> tuple[bytes, ...]:
    """Every level of the tree, leaves first, root level (one hash) last; `(EMPTY,)` for no leaves."""
    count = len(leaf_hashes) // HASH_BYTES
    if count == 0:
        return (EMPTY,)
    levels = [leaf_hashes]
    for height in range(tree_depth(count)):
        levels.append(parent_level(levels[-1], height))
    return tuple(levels)


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
    level = hash_leaves(data)
    for h in range(height):
        level = parent_level(level, h)
    return level


def data_roots(datas: Sequence[bytes], executor: Executor) -> list[bytes]:
    """The data roots of several packed tensors, with the leaf hashing spread over `executor`'s workers.

    Every tensor is cut into aligned subtrees of CHUNK_LEAVES leaves (a small tensor is one task); the
    workers return the subtree roots, and the levels above them are hashed here. Equal to `root_of(
    hash_leaves(data))` for each.
    """
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
