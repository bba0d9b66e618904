"""The compiled keccak256 (offchain/native/keccak.cpp, used by offchain/commit/merkle.py where built) gives the bytes
of one keccak256 call per message on every backend (8 AVX-512 lanes, 4 AVX2 lanes, scalar; those this build has),
whatever the row width, row count or thread count, and the commitments computed through it are the pure path's
(and the golden vectors', which test_commit_vectors checks on the default, compiled path and this file on the pure
one).

Run: `.venv/bin/ape test tests/commit/test_native_keccak.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from offchain import native
from offchain.commit import checkpoint_root, commit_checkpoint, commit_tensor, keccak256, tensor_root
from offchain.commit import merkle as M
from offchain.commit import tensor as T
from offchain.commit.format import EMPTY, ZERO_HASHES, dtype_code, pack_leaves, to_words, tree_depth
from tools.gen_commitment_vectors import load, vector_array

ZEROS = b"".join(ZERO_HASHES)
TASK_ROWS = 4096  # keccak.cpp's kRowsPerTask (its subtree tasks are 1024 leaves): sizes past it make several tasks


@pytest.fixture(scope="module")
def kernels():
    if not native.enabled():
        pytest.skip("VERDE_NATIVE=0: the compiled kernels are turned off")
    built = native.kernels("keccak")
    assert built is not None, "the compiled keccak kernels did not build (make setup builds them; see its output)"
    return built


@pytest.fixture(scope="module")
def backends(kernels) -> list[int]:
    """Lane counts of the backends in this build, widest first; scalar (1) is always there."""
    lanes = kernels.backends()
    assert lanes[-1] == 1 and lanes == sorted(lanes, reverse=True)
    return lanes


@pytest.fixture
def pure(monkeypatch):
    """offchain.commit on its pure-Python path within the test."""
    monkeypatch.setattr(M, "_kernels", lambda: None)


def _random(seed: int, size: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size=size, dtype=np.uint8).tobytes()


def test_every_row_width_hashes_as_one_keccak_call(kernels, backends):
    """Widths 0..300 (one, two and three blocks, 135/136/137 and 272 at the padding edges), 9 rows: a whole 8-lane
    group and a partial one."""
    rng = np.random.default_rng(0)
    for width in range(301):
        rows = rng.integers(0, 256, size=(9, width), dtype=np.uint8)
        expected = b"".join(keccak256(row.tobytes()) for row in rows)
        for lanes in backends:
            got = kernels.keccak_rows(torch.from_numpy(rows), 1, lanes).numpy().tobytes()
            assert got == expected, f"width {width}, {lanes} lanes"


@pytest.mark.parametrize("leaves", [0, 1, 2, 3, 7, 8, 9, 17, 100, 2 * TASK_ROWS + 5])
def test_leaves_levels_and_roots_are_the_pure_paths(kernels, backends, leaves):
    """Leaf hashes, the level above (an odd last node paired with the zero hash), all levels, whole-tree and
    fixed-height subtree roots: on every backend, one thread and three, equal to the pysha3 path."""
    data = _random(leaves, 32 * leaves)
    level = M._hash_leaves_python(data)
    parent = M._parent_level_python(level, 5)
    levels = M.build_levels(level)
    root = levels[-1]
    root_1 = M.root_of(level[:32]) if leaves else EMPTY
    depth = tree_depth(leaves)
    for lanes in backends:
        for threads in (1, 3):
            assert kernels.hash_leaves(data, threads, lanes) == level
            assert kernels.parent_level(level, ZERO_HASHES[5], threads, lanes) == parent
            assert kernels.merkle_root(data, ZEROS, -1, threads, lanes) == root
            assert kernels.merkle_roots([data, b"", data[:32]], ZEROS, threads, lanes) == [root, EMPTY, root_1]
            assert tuple(kernels.merkle_levels(data, ZEROS, threads, lanes)) == levels
            many = kernels.merkle_levels_many([data, b"", data[:32]], ZEROS, threads, lanes)
            assert [tuple(x) for x in many] == [levels, (EMPTY,), M.build_levels(level[:32]) if leaves else (EMPTY,)]
            if leaves:
                # Two levels taller than the data needs: the padding above it is zero hashes.
                expected = M._parent_level_python(M._parent_level_python(root, depth), depth + 1)
                assert kernels.merkle_root(data, ZEROS, depth + 2, threads, lanes) == expected


def test_native_words_are_read_as_packed_leaves(kernels, backends):
    """merkle_roots reading 4-byte tensors' native words (big-endian, the last leaf zero-padded) gives the roots of
    their packed leaf data, mixed with packed data in one call, on every backend and thread count."""
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(n).astype(np.float32) for n in [*range(70), 1023 * 8 + 3, 4096 * 8, 5000 * 8 + 7]]
    arrays += [rng.integers(-(2**31), 2**31, size=n, dtype=np.int32) for n in (1, 9, 17)]
    packed = [pack_leaves(to_words(a, dtype_code(a.dtype))) for a in arrays]
    flags = [i % 3 == 0 for i in range(len(arrays))]
    mixed = [a if f else p for a, p, f in zip(arrays, packed, flags, strict=True)]
    for lanes in backends:
        for threads in (1, 3):
            expected = kernels.merkle_roots(packed, ZEROS, threads, lanes)
            assert kernels.merkle_roots(arrays, ZEROS, threads, lanes, [True] * len(arrays)) == expected
            assert kernels.merkle_roots(mixed, ZEROS, threads, lanes, flags) == expected


def test_thread_count_does_not_change_a_byte(kernels):
    """Rows and subtrees spread over 1..5 threads give the same bytes (several tasks each, a partial last one)."""
    rows = np.random.default_rng(7).integers(0, 256, size=(3 * TASK_ROWS + 3, 65), dtype=np.uint8)
    data = _random(8, 32 * (5 * TASK_ROWS + 11))
    by_threads = [
        (
            kernels.keccak_rows(torch.from_numpy(rows), threads).numpy().tobytes(),
            kernels.hash_leaves(data, threads),
            kernels.merkle_root(data, ZEROS, -1, threads),
            kernels.merkle_levels(data, ZEROS, threads),
            kernels.merkle_levels_many([data[: 32 * n] for n in (3000, 1, 0, 1025)] + [data], ZEROS, threads),
            kernels.merkle_roots([data[: 32 * n] for n in (3000, 1, 0, 1025, 2048)] + [data], ZEROS, threads),
        )
        for threads in (1, 2, 3, 5)
    ]
    assert all(out == by_threads[0] for out in by_threads)
    assert by_threads[0][0] == M._hash_rows_python(rows)


def test_merkle_functions_are_the_pure_paths(kernels, monkeypatch):
    """merkle.py's public functions give the same bytes compiled and pure, on sizes around a chunk."""
    datas = [_random(n, 32 * n) for n in (0, 1, 5, 33, 1000, TASK_ROWS + 1)]
    compiled = (
        [M.hash_leaves(d) for d in datas],
        [M.root_of_data(d) for d in datas],
        M.roots_of_data(datas),
        [M.levels_of_data(d) for d in datas],
        M.levels_of_datas(datas),
        [M.subtree_root(d, 13) for d in datas if d],
    )
    monkeypatch.setattr(M, "_kernels", lambda: None)
    assert compiled == (
        [M.hash_leaves(d) for d in datas],
        [M.root_of(M.hash_leaves(d)) for d in datas],
        [M.root_of(M.hash_leaves(d)) for d in datas],
        [M.build_levels(M.hash_leaves(d)) for d in datas],
        [M.build_levels(M.hash_leaves(d)) for d in datas],
        [M.subtree_root(d, 13) for d in datas if d],
    )


def test_data_roots_compiled_and_through_a_pool_agree(kernels, monkeypatch):
    """With the kernel, data_roots hashes on its own threads; the pure path's chunks through an executor agree."""
    datas = [_random(n, 32 * n) for n in (0, 1, 4, 5, 33, 300)]
    compiled = M.data_roots(datas, executor=None)  # the compiled path never touches the executor
    monkeypatch.setattr(M, "_kernels", lambda: None)
    monkeypatch.setattr(M, "CHUNK_LEAVES", 4)
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert M.data_roots(datas, pool) == compiled == [M.root_of(M.hash_leaves(d)) for d in datas]


def test_a_checkpoint_root_is_the_pure_paths(kernels, monkeypatch):
    """A checkpoint root and commitment, compiled (2 threads; the roots in one batch and in batches of 4 KiB) and
    with VERDE_NATIVE=0 (the loader's own switch)."""
    g = torch.Generator().manual_seed(3)
    state = {
        "w": torch.randn(300, 70, generator=g),
        "b": torch.randint(-1000, 1000, (70,), generator=g, dtype=torch.int32),
        "big": torch.randn(TASK_ROWS * 8 + 9, generator=g),
    } | {f"s{i}": torch.arange(i) for i in range(9)}  # no leaves, one, two
    batch = b"\x07" * 32
    monkeypatch.setattr(M, "THREADS", 2)
    compiled = checkpoint_root(state, step=5, batch_hash=batch)
    committed = commit_checkpoint(state, step=5, batch_hash=batch)
    assert committed.root == compiled
    monkeypatch.setattr(T, "BATCH_BYTES", 4096)
    assert checkpoint_root(state, step=5, batch_hash=batch) == compiled
    monkeypatch.setenv("VERDE_NATIVE", "0")
    native.kernels.cache_clear()
    try:
        assert M._kernels() is None
        assert checkpoint_root(state, step=5, batch_hash=batch) == compiled
        pure = commit_checkpoint(state, step=5, batch_hash=batch)
        assert pure.levels == committed.levels
        assert all(pure.tensors[n].levels == committed.tensors[n].levels for n in state)
    finally:
        monkeypatch.delenv("VERDE_NATIVE")
        native.kernels.cache_clear()


@pytest.mark.parametrize("vec", load()["tensors"], ids=lambda v: v["name"])
def test_golden_vectors_on_the_pure_path(pure, vec):
    """test_commit_vectors runs the vectors on the compiled path; the pure path must meet them too."""
    c = commit_tensor(vector_array(vec))
    assert c.data_root.hex() == vec["data_root"][2:] and c.root.hex() == vec["root"][2:]
    assert tensor_root(vector_array(vec)) == c.root


def test_bad_input_is_refused(kernels):
    with pytest.raises(RuntimeError, match="2-D uint8"):
        kernels.keccak_rows(torch.zeros(4, 65, dtype=torch.int32))
    with pytest.raises(RuntimeError, match="32-byte leaves"):
        kernels.hash_leaves(bytes(33))
    with pytest.raises(RuntimeError, match="zero hash must be 32 bytes"):
        kernels.parent_level(bytes(64), bytes(31))
    with pytest.raises(RuntimeError, match="holds 1 .. 2"):
        kernels.merkle_root(bytes(32 * 5), ZEROS, 2)
    with pytest.raises(RuntimeError, match="zero hashes"):
        kernels.merkle_root(bytes(32 * 5), bytes(64))
    with pytest.raises(RuntimeError, match="zero hashes"):
        kernels.merkle_levels(bytes(32 * 5), bytes(64))
    with pytest.raises(RuntimeError, match="32-bit words"):
        kernels.merkle_roots([bytes(6)], ZEROS, words=[True])
    with pytest.raises(RuntimeError, match="one flag per data"):
        kernels.merkle_roots([bytes(32)], ZEROS, words=[True, False])
    with pytest.raises(RuntimeError, match="threads"):
        kernels.hash_leaves(bytes(32), 0)
    with pytest.raises(RuntimeError, match="lanes"):
        kernels.hash_leaves(bytes(32), 1, 3)
