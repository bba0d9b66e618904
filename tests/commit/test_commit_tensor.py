"""offchain.commit tensors: layout and binding, bad input, and tampered proofs failing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from offchain.commit import (
    EMPTY,
    DType,
    ElementProof,
    IndexOutOfRangeError,
    MalformedHashError,
    NotATensorError,
    ProofLengthError,
    RangeOutOfBoundsError,
    RangeProof,
    ShapeError,
    TensorHeader,
    UnsupportedDtypeError,
    commit_tensor,
    dtype_code,
    element_bits,
    float32_from_bits,
    header_of,
    keccak256,
    range_bits,
    tensor_root,
    verify_element,
    verify_range,
)


def flipped(data: bytes, byte: int) -> bytes:
    out = bytearray(data)
    out[byte] ^= 0x80
    return bytes(out)


# ------------------------------------------------------------------ layout and binding


def test_commit_tensor_leaf_layout_is_big_endian_words():
    """Element 0 is the leaf's most significant word, big-endian, and the last leaf is zero-padded."""
    c = commit_tensor(np.array([1.0, -2.0, 0.5], dtype=np.float32))
    assert c.data == bytes.fromhex("3f800000c00000003f000000") + bytes(20)
    assert c.data_root == keccak256(b"\x00" + c.data)


def test_tensor_root_transposed_torch_equals_contiguous_copy():
    """A transposed (non-contiguous) torch tensor commits exactly like its contiguous row-major copy."""
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(1))
    t = x.t()
    assert not t.is_contiguous()
    assert tensor_root(t) == tensor_root(t.contiguous()) == commit_tensor(t).root
    assert tensor_root(t) != tensor_root(x)  # a transpose is another tensor


def test_tensor_root_strided_numpy_equals_contiguous_copy():
    """Numpy views with steps, negative strides and permuted axes commit like their C-ordered copies."""
    a = np.arange(4 * 6 * 5, dtype=np.float32).reshape(4, 6, 5)
    for view in (a[:, ::2], a[::-1], a.transpose(2, 0, 1), np.asfortranarray(a)):
        assert tensor_root(view) == tensor_root(np.array(view, order="C"))


def test_tensor_root_byte_order_is_irrelevant():
    """A big-endian numpy array commits like the native-endian array of the same values."""
    a = np.linspace(-3, 3, 11, dtype=np.float32)
    assert tensor_root(a.astype(">f4")) == tensor_root(a)
    i = np.arange(-5, 6, dtype=np.int64)
    assert tensor_root(i.astype(">i8")) == tensor_root(i)


def test_tensor_root_shape_and_dtype_are_bound():
    """The same bits under another shape or dtype give another root, and the data root alone does not."""
    a = np.arange(6, dtype=np.float32)
    as_int = a.view(np.int32)
    roots = {tensor_root(a), tensor_root(a.reshape(2, 3)), tensor_root(a.reshape(3, 2)), tensor_root(as_int)}
    assert len(roots) == 4
    assert commit_tensor(a).data_root == commit_tensor(as_int).data_root == commit_tensor(a.reshape(2, 3)).data_root
    assert tensor_root(np.ones((), np.float32)) != tensor_root(np.ones((1,), np.float32))
    assert tensor_root(np.float32(1.0)) == tensor_root(np.ones((), np.float32))  # a numpy scalar is 0-d


def test_commit_tensor_empty_tensor_has_empty_data_root():
    """A tensor with no elements has data root EMPTY and a root that still binds its shape."""
    a = commit_tensor(np.zeros((0,), np.float32))
    b = commit_tensor(np.zeros((2, 0, 3), np.float32))
    assert a.data_root == b.data_root == EMPTY
    assert a.root != b.root
    assert a.header.depth == 0 and a.header.numel == 0


def test_commit_tensor_nan_payload_and_negative_zero_kept():
    """NaN payloads and the sign of zero survive torch and numpy unchanged into the committed bits."""
    bits = np.array([0x7FA00001, 0xFFC00123, 0x80000000, 0x00000001], dtype=np.uint32)
    t = torch.from_numpy(bits.view(np.float32).copy())
    c = commit_tensor(t)
    assert [c.bits(i) for i in range(4)] == bits.tolist()
    assert float32_from_bits(c.bits(2)) == 0.0 and np.signbit(float32_from_bits(c.bits(2)))


def test_commit_tensor_widening_dtypes_pack_one_word_each():
    """int8/int16 are sign-extended, uint8/uint16/bool zero-extended, int64 split high word first."""
    assert commit_tensor(np.array([-1], np.int8)).data[:4] == b"\xff\xff\xff\xff"
    assert commit_tensor(np.array([-2], np.int16)).data[:4] == b"\xff\xff\xff\xfe"
    assert commit_tensor(np.array([255], np.uint8)).data[:4] == b"\x00\x00\x00\xff"
    assert commit_tensor(np.array([True], np.bool_)).data[:4] == b"\x00\x00\x00\x01"
    assert commit_tensor(np.array([-2], np.int64)).data[:8] == b"\xff" * 7 + b"\xfe"
    assert commit_tensor(np.array([2**32 + 5], np.uint64)).data[:8] == bytes.fromhex("0000000100000005")
    assert commit_tensor(torch.get_rng_state()).header.dtype == DType.UINT8


def test_dtype_code_spellings_agree():
    """numpy dtypes, torch dtypes, names and codes all map to the same DType."""
    assert dtype_code(np.float32) == dtype_code(torch.float32) == dtype_code("float32") == dtype_code(1)
    assert dtype_code(torch.int64) == dtype_code(np.dtype(">i8")) == DType.INT64
    assert dtype_code(torch.bool) == DType.BOOL


@pytest.mark.parametrize(
    "value",
    [
        np.zeros(3, np.float64),
        np.zeros(3, np.float16),
        np.zeros(3, np.complex64),
        np.array(["a"]),
        torch.zeros(3, dtype=torch.bfloat16),
        torch.zeros(3, dtype=torch.float64),
    ],
    ids=["float64", "float16", "complex64", "str", "bfloat16", "torch-float64"],
)
def test_commit_tensor_unsupported_dtype_raises(value):
    """A dtype without a code is rejected with UnsupportedDtypeError, not silently converted."""
    with pytest.raises(UnsupportedDtypeError):
        commit_tensor(value)


@pytest.mark.parametrize("value", [[1.0, 2.0], 3.0, None, b"\x00" * 4], ids=["list", "float", "none", "bytes"])
def test_commit_tensor_not_a_tensor_raises(value):
    """Anything that is not a torch tensor or numpy array is rejected with NotATensorError."""
    with pytest.raises(NotATensorError):
        tensor_root(value)


def test_tensor_header_bad_shape_raises():
    """A negative or non-integer dimension is rejected with ShapeError."""
    for shape in ((2, -1), (1.5,), (True,)):
        with pytest.raises(ShapeError):
            TensorHeader.of("float32", shape)
    with pytest.raises(UnsupportedDtypeError):
        TensorHeader.of(99, (1,))


# ------------------------------------------------------------------ proof requests


def test_element_proof_multi_index_matches_flat():
    """A multi-index proof equals the proof at its row-major flat index."""
    c = commit_tensor(np.arange(60, dtype=np.float32).reshape(3, 4, 5))
    assert c.element_proof((2, 1, 3)) == c.element_proof(2 * 20 + 1 * 5 + 3)
    assert c.bits((2, 1, 3)) == np.float32(48).view(np.uint32)


@pytest.mark.parametrize("index", [-1, 60, (3, 0, 0), (0, 4, 0), (1, 1)], ids=str)
def test_element_proof_out_of_range_raises(index):
    """An index outside the tensor is rejected with IndexOutOfRangeError."""
    c = commit_tensor(np.zeros((3, 4, 5), np.float32))
    with pytest.raises(IndexOutOfRangeError):
        c.element_proof(index)


@pytest.mark.parametrize("start,count", [(0, 0), (-1, 2), (59, 2), (60, 1), (0, 61)])
def test_range_proof_empty_or_past_end_raises(start, count):
    """An empty range or one outside the tensor is rejected with RangeOutOfBoundsError."""
    c = commit_tensor(np.zeros(60, np.float32))
    with pytest.raises(RangeOutOfBoundsError):
        c.range_proof(start, count)


def test_range_proof_of_int64_covers_both_words():
    """A range of int64 elements proves both words of each and range_bits returns the 64-bit patterns."""
    a = np.array([-(2**63), 5, -1, 2**40, 7, 8, 9], dtype=np.int64)
    c = commit_tensor(a)
    p = c.range_proof(3, 2)  # words 6..9: crosses into the second leaf
    assert len(p.leaves) == 2
    assert verify_range(c.root, c.header, p)
    assert range_bits(c.header, p) == [2**40, 7]


# ------------------------------------------------------------------ tampering


@pytest.fixture(scope="module")
def committed():
    """A 100-element float32 tensor (13 leaves, depth 4) and its commitment."""
    x = np.random.default_rng(3).standard_normal(100).astype(np.float32)
    return commit_tensor(x.reshape(10, 10))


def test_verify_element_tampered_byte_fails(committed):
    """Flipping any byte of the leaf, any sibling or the root makes verify_element false."""
    c = committed
    p = c.element_proof(77)
    assert verify_element(c.root, c.header, p)
    for byte in range(32):
        assert not verify_element(c.root, c.header, ElementProof(p.index, flipped(p.leaf, byte), p.siblings))
        assert not verify_element(flipped(c.root, byte), c.header, p)
        for s in range(len(p.siblings)):
            siblings = list(p.siblings)
            siblings[s] = flipped(siblings[s], byte)
            assert not verify_element(c.root, c.header, ElementProof(p.index, p.leaf, tuple(siblings)))


def test_verify_element_wrong_header_fails(committed):
    """The same proof under another dtype or shape of equal depth does not verify."""
    c = committed
    p = c.element_proof(5)
    assert not verify_element(c.root, TensorHeader.of("int32", c.header.shape), p)
    assert not verify_element(c.root, TensorHeader.of("float32", (100,)), p)
    assert not verify_element(c.root, c.header, ElementProof(5 + 8, p.leaf, p.siblings))


def test_verify_element_malformed_raises(committed):
    """Wrong sibling counts, short hashes and out-of-range indices raise instead of returning False."""
    c = committed
    p = c.element_proof(5)
    with pytest.raises(ProofLengthError):
        verify_element(c.root, c.header, ElementProof(5, p.leaf, p.siblings[:-1]))
    with pytest.raises(ProofLengthError):
        verify_element(c.root, c.header, ElementProof(5, p.leaf, (*p.siblings, p.leaf)))
    with pytest.raises(MalformedHashError):
        verify_element(c.root, c.header, ElementProof(5, p.leaf[:31], p.siblings))
    with pytest.raises(MalformedHashError):
        verify_element(c.root[:31], c.header, p)
    with pytest.raises(IndexOutOfRangeError):
        verify_element(c.root, c.header, ElementProof(100, p.leaf, p.siblings))


def test_verify_range_tampered_byte_fails(committed):
    """Flipping any byte of any leaf or sibling of a range proof makes verify_range false."""
    c = committed
    p = c.range_proof(13, 40)
    assert verify_range(c.root, c.header, p)
    for byte in range(0, 32, 3):
        for i in range(len(p.leaves)):
            leaves = list(p.leaves)
            leaves[i] = flipped(leaves[i], byte)
            assert not verify_range(c.root, c.header, RangeProof(p.start, p.count, tuple(leaves), p.siblings))
        for i in range(len(p.siblings)):
            siblings = list(p.siblings)
            siblings[i] = flipped(siblings[i], byte)
            assert not verify_range(c.root, c.header, RangeProof(p.start, p.count, p.leaves, tuple(siblings)))


def test_verify_range_malformed_raises(committed):
    """A range proof with a missing leaf or sibling raises ProofLengthError."""
    c = committed
    p = c.range_proof(13, 40)
    with pytest.raises(ProofLengthError):
        verify_range(c.root, c.header, RangeProof(p.start, p.count, p.leaves[:-1], p.siblings))
    with pytest.raises(ProofLengthError):
        verify_range(c.root, c.header, RangeProof(p.start, p.count, p.leaves, p.siblings[1:]))
    with pytest.raises(RangeOutOfBoundsError):
        verify_range(c.root, c.header, RangeProof(90, 20, p.leaves, p.siblings))


def test_element_bits_reads_claimed_value(committed):
    """element_bits of a verified proof is the element's float32 bit pattern."""
    c = committed
    p = c.element_proof((7, 3))
    assert verify_element(c.root, c.header, p)
    assert element_bits(c.header, p) == c.bits(73)
    assert header_of(np.zeros((10, 10), np.float32)) == c.header
