"""Property tests: offchain.commit against the naive reference of tools/gen_commitment_vectors.py on random input."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.commit import (
    DType,
    ElementProof,
    RangeProof,
    commit_tensor,
    range_bits,
    tensor_root,
    verify_element,
    verify_range,
)
from offchain.commit.format import NUMPY_DTYPES
from tools.gen_commitment_vectors import tensor_vector

shapes = st.lists(st.integers(0, 6), min_size=0, max_size=4)


def random_array(code: DType, shape: list[int], seed: int) -> np.ndarray:
    """Uniformly random bit patterns of the dtype (NaN payloads and subnormals included for float32)."""
    n = int(np.prod(shape, dtype=np.int64))
    raw = np.random.default_rng(seed).integers(0, 256, size=n * 8, dtype=np.uint8)
    array = raw.view(np.uint64).view(NUMPY_DTYPES[code])[:n] if n else np.zeros(0, NUMPY_DTYPES[code])
    if code == DType.BOOL:
        array = array.astype(np.bool_)
    return np.ascontiguousarray(array).reshape(shape)


@settings(max_examples=60, deadline=None)
@given(code=st.sampled_from(list(DType)), shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_fuzz_tensor_root_matches_reference(code, shape, seed):
    """For random shapes and dtypes the fast root equals the naive reference's, leaf for leaf."""
    a = random_array(code, shape, seed)
    if code == DType.BOOL:
        values = a.astype(np.uint32).ravel().tolist()
    elif code == DType.FLOAT32:
        values = a.view(np.uint32).ravel().tolist()
    else:
        values = a.ravel().tolist()
    ref = tensor_vector("fuzz", code.name.lower(), shape, values, "")
    c = commit_tensor(a)
    assert c.root.hex() == ref["root"][2:]
    assert [c.leaf(i).hex() for i in range(c.header.num_leaves)] == [x[2:] for x in ref["leaves"]]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_fuzz_range_proof_verifies_and_tampering_fails(n, seed, data):
    """A random range of a random tensor verifies, reads back its bits, and fails with one bit flipped."""
    code = data.draw(st.sampled_from([DType.FLOAT32, DType.INT64, DType.UINT8]), label="dtype")
    a = random_array(code, [n], seed)
    c = commit_tensor(a)
    start = data.draw(st.integers(0, n - 1), label="start")
    count = data.draw(st.integers(1, n - start), label="count")
    p = c.range_proof(start, count)
    assert verify_range(c.root, c.header, p)
    assert range_bits(c.header, p) == [c.bits(i) for i in range(start, start + count)]
    parts = list(p.leaves) + list(p.siblings)
    which = data.draw(st.integers(0, len(parts) - 1), label="which")
    byte = data.draw(st.integers(0, 31), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    part = bytearray(parts[which])
    part[byte] ^= 1 << bit
    parts[which] = bytes(part)
    bad = RangeProof(start, count, tuple(parts[: len(p.leaves)]), tuple(parts[len(p.leaves) :]))
    assert not verify_range(c.root, c.header, bad)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=2, max_size=4), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_fuzz_permuted_torch_tensor_commits_like_contiguous_copy(shape, seed, data):
    """A randomly permuted (non-contiguous) torch view commits like its contiguous copy, and its proofs verify."""
    t = torch.from_numpy(random_array(DType.FLOAT32, shape, seed))
    perm = data.draw(st.permutations(range(len(shape))), label="perm")
    view = t.permute(*perm)
    c = commit_tensor(view)
    assert c.root == tensor_root(view.contiguous()) == tensor_root(view.contiguous().numpy())
    index = data.draw(st.integers(0, view.numel() - 1), label="index")
    p = c.element_proof(index)
    assert verify_element(c.root, c.header, p)
    assert p == ElementProof(index, p.leaf, p.siblings)
    assert c.bits(index) == int(view.contiguous().reshape(-1)[index].view(torch.int32)) & 0xFFFFFFFF
