"""TensorMerkle.sol via TensorMerkleHarness: golden vectors, differential checks against offchain.commit, reverts.

Run with `.venv/bin/ape test tests/libraries/test_tensor_merkle.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

import ape
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.commit import DType, commit_checkpoint, commit_tensor
from tools.gen_commitment_vectors import load

VECTORS = load()
TENSORS = VECTORS["tensors"]
CHECKPOINTS = VECTORS["checkpoints"]
FLOAT32 = int(DType.FLOAT32)


@pytest.fixture(scope="module")
def harness(project, accounts):
    """One TensorMerkleHarness for the module: every function is pure, so no state leaks between tests."""
    return project.TensorMerkleHarness.deploy(sender=accounts[0])


def flip(h: str | bytes, byte: int = 0) -> bytes:
    """`h` with one byte's lowest bit flipped."""
    raw = bytearray(bytes.fromhex(h[2:]) if isinstance(h, str) else h)
    raw[byte] ^= 1
    return bytes(raw)


# ------------------------------------------------------------------ golden vectors


@pytest.mark.parametrize("vec", TENSORS, ids=lambda v: v["name"])
def test_tensor_root_vectors_match(harness, vec):
    """tensorRoot(dataRoot, dtype, shape) equals every vector's tensor root."""
    assert harness.tensorRoot(vec["data_root"], vec["dtype_code"], vec["shape"]).hex() == vec["root"][2:]


def test_verify_element_vectors_match(harness):
    """Every vector element proof verifies, elementBits reads its bits, and float32At returns them for float32."""
    checked = 0
    for vec in TENSORS:
        for p in vec["element_proofs"]:
            args = (vec["root"], vec["dtype_code"], vec["shape"], p["index"], p["leaf"], p["siblings"])
            assert harness.verifyElement(*args), (vec["name"], p["index"])
            assert harness.elementBits(vec["dtype_code"], p["index"], p["leaf"]) == int(p["bits"], 16)
            if vec["dtype_code"] == FLOAT32:
                bits = harness.float32At(vec["root"], vec["shape"], p["index"], p["leaf"], p["siblings"])
                assert bits == int(p["bits"], 16)
            checked += 1
    assert checked == sum(len(v["element_proofs"]) for v in TENSORS) > 0


def test_verify_range_vectors_match(harness):
    """Every vector range proof verifies, and float32Range returns the range's bits for float32."""
    checked = 0
    for vec in TENSORS:
        for p in vec["range_proofs"]:
            args = (p["start"], p["count"], p["leaves"], p["siblings"])
            assert harness.verifyRange(vec["root"], vec["dtype_code"], vec["shape"], *args), (vec["name"], p)
            if vec["dtype_code"] == FLOAT32:
                assert list(harness.float32Range(vec["root"], vec["shape"], *args)) == [int(x, 16) for x in p["bits"]]
            checked += 1
    assert checked == sum(len(v["range_proofs"]) for v in TENSORS) > 0


@pytest.mark.parametrize("ckpt", CHECKPOINTS, ids=lambda c: c["name"])
def test_verify_checkpoint_tensor_vectors_match(harness, ckpt):
    """checkpointRoot, namedTensorLeaf and verifyCheckpointTensor agree with every vector checkpoint."""
    header = (ckpt["tensors_root"], ckpt["tensor_count"], ckpt["step"], ckpt["batch_hash"])
    assert harness.checkpointRoot(header).hex() == ckpt["root"][2:]
    for t in ckpt["tensors"]:
        assert harness.namedTensorLeaf(t["name"], t["tensor_root"]).hex() == t["leaf"][2:]
        args = (t["name"], t["tensor_root"], t["index"], t["siblings"])
        assert harness.verifyCheckpointTensor(ckpt["root"], header, *args)


def test_words_per_element_table_matches_python(harness):
    """wordsPerElement gives the Python DType table's word count for every code and reverts for others."""
    for code in DType:
        assert harness.wordsPerElement(int(code)) == code.words_per_element
    for bad in (0, 11, 127, 128, 255):
        with ape.reverts(harness.TensorMerkleUnsupportedDtype, dtype=bad):
            harness.wordsPerElement(bad)


# ------------------------------------------------------------------ tampering


def test_verify_element_tampered_returns_false(harness):
    """A flipped bit in the leaf, any sibling, the root, the shape or the dtype makes verifyElement false."""
    vec = next(v for v in TENSORS if v["name"] == "f32_70")
    p = vec["element_proofs"][1]
    root, code, shape, idx, leaf, sibs = vec["root"], FLOAT32, vec["shape"], p["index"], p["leaf"], p["siblings"]
    assert harness.verifyElement(root, code, shape, idx, leaf, sibs)
    for byte in (0, 17, 31):
        assert not harness.verifyElement(root, code, shape, idx, flip(leaf, byte), sibs)
        assert not harness.verifyElement(flip(root, byte), code, shape, idx, leaf, sibs)
    for i in range(len(sibs)):
        bad = list(sibs)
        bad[i] = flip(sibs[i], i)
        assert not harness.verifyElement(root, code, shape, idx, leaf, bad)
    assert not harness.verifyElement(root, int(DType.INT32), shape, idx, leaf, sibs)  # same bits, other dtype
    assert not harness.verifyElement(root, code, [71], idx, leaf, sibs)  # same depth, other shape
    assert not harness.verifyElement(root, code, shape, idx + 8, leaf, sibs)  # the leaf's position is bound


def test_float32_at_tampered_reverts(harness):
    """float32At reverts with TensorMerkleRootMismatch carrying the claimed root when the leaf is tampered."""
    vec = next(v for v in TENSORS if v["name"] == "f32_17")
    p = vec["element_proofs"][0]
    with ape.reverts(harness.TensorMerkleRootMismatch, root=bytes.fromhex(vec["root"][2:])):
        harness.float32At(vec["root"], vec["shape"], p["index"], flip(p["leaf"], 3), p["siblings"])


def test_verify_range_tampered_returns_false(harness):
    """A flipped bit in any leaf or sibling of a range proof makes verifyRange false and float32Range revert."""
    vec = next(v for v in TENSORS if v["name"] == "f32_70")
    p = next(r for r in vec["range_proofs"] if r["start"] == 7 and r["count"] == 2)
    args = [vec["root"], FLOAT32, vec["shape"], p["start"], p["count"], p["leaves"], p["siblings"]]
    assert harness.verifyRange(*args)
    for field in (5, 6):
        for i in range(len(args[field])):
            bad = list(args)
            bad[field] = list(args[field])
            bad[field][i] = flip(args[field][i], 31)
            assert not harness.verifyRange(*bad), (field, i)
    bad_leaves = [flip(p["leaves"][0], 0)] + p["leaves"][1:]
    with ape.reverts(harness.TensorMerkleRootMismatch):
        harness.float32Range(vec["root"], vec["shape"], p["start"], p["count"], bad_leaves, p["siblings"])


def test_verify_checkpoint_tensor_tampered_returns_false(harness):
    """A changed name, tensor root, sibling, step or batch hash makes verifyCheckpointTensor false."""
    ckpt = next(c for c in CHECKPOINTS if c["name"] == "three_tensors")
    t = ckpt["tensors"][1]
    header = [ckpt["tensors_root"], ckpt["tensor_count"], ckpt["step"], ckpt["batch_hash"]]
    root, name, troot, idx, sibs = ckpt["root"], t["name"], t["tensor_root"], t["index"], t["siblings"]
    assert harness.verifyCheckpointTensor(root, header, name, troot, idx, sibs)
    assert not harness.verifyCheckpointTensor(root, header, name + "x", troot, idx, sibs)
    assert not harness.verifyCheckpointTensor(root, header, name, flip(troot, 9), idx, sibs)
    assert not harness.verifyCheckpointTensor(root, header, name, troot, idx, [flip(sibs[0], 0), sibs[1]])
    assert not harness.verifyCheckpointTensor(root, header, name, troot, idx ^ 1, sibs)
    assert not harness.verifyCheckpointTensor(root, [header[0], 3, header[2] + 1, header[3]], name, troot, idx, sibs)
    assert not harness.verifyCheckpointTensor(root, [*header[:3], flip(header[3], 0)], name, troot, idx, sibs)


# ------------------------------------------------------------------ malformed proofs revert


def test_verify_element_index_out_of_range_reverts(harness):
    """An index at or past numel reverts with TensorMerkleIndexOutOfRange(index, numel)."""
    vec = next(v for v in TENSORS if v["name"] == "f32_9")
    p = vec["element_proofs"][0]
    with ape.reverts(harness.TensorMerkleIndexOutOfRange, index=9, numel=9):
        harness.verifyElement(vec["root"], FLOAT32, vec["shape"], 9, p["leaf"], p["siblings"])


def test_verify_element_wrong_sibling_count_reverts(harness):
    """A proof with one sibling too many or too few reverts with TensorMerkleProofLength(have, need)."""
    vec = next(v for v in TENSORS if v["name"] == "f32_17")
    p = vec["element_proofs"][0]
    with ape.reverts(harness.TensorMerkleProofLength, have=3, need=2):
        harness.verifyElement(vec["root"], FLOAT32, vec["shape"], 0, p["leaf"], [*p["siblings"], p["leaf"]])
    with ape.reverts(harness.TensorMerkleProofLength, have=1, need=2):
        harness.verifyElement(vec["root"], FLOAT32, vec["shape"], 0, p["leaf"], p["siblings"][:1])


def test_verify_range_out_of_bounds_reverts(harness):
    """An empty range or one past the end reverts with TensorMerkleRangeOutOfBounds(start, count, numel)."""
    vec = next(v for v in TENSORS if v["name"] == "f32_17")
    p = vec["range_proofs"][0]
    for start, count in ((0, 0), (10, 8), (17, 1), (2**256 - 1, 2)):
        with ape.reverts(harness.TensorMerkleRangeOutOfBounds, start=start, count=count, numel=17):
            harness.verifyRange(vec["root"], FLOAT32, vec["shape"], start, count, p["leaves"], p["siblings"])


def test_verify_range_wrong_leaf_count_reverts(harness):
    """A range proof missing a leaf reverts with TensorMerkleLeafCount(have, need)."""
    vec = next(v for v in TENSORS if v["name"] == "f32_17")
    p = next(r for r in vec["range_proofs"] if r["start"] == 0 and r["count"] == 17)
    with ape.reverts(harness.TensorMerkleLeafCount, have=2, need=3):
        harness.verifyRange(vec["root"], FLOAT32, vec["shape"], 0, 17, p["leaves"][:2], p["siblings"])


def test_verify_checkpoint_tensor_bad_index_reverts(harness):
    """A checkpoint leaf index at or past the tensor count reverts with TensorMerkleCheckpointIndex."""
    ckpt = next(c for c in CHECKPOINTS if c["name"] == "three_tensors")
    t = ckpt["tensors"][0]
    header = (ckpt["tensors_root"], ckpt["tensor_count"], ckpt["step"], ckpt["batch_hash"])
    with ape.reverts(harness.TensorMerkleCheckpointIndex, index=3, tensorCount=3):
        harness.verifyCheckpointTensor(ckpt["root"], header, t["name"], t["tensor_root"], 3, t["siblings"])


# ------------------------------------------------------------------ differential against offchain.commit


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_float32_range_matches_python(harness, data):
    """For random float32 tensors and ranges, the chain accepts offchain.commit's proofs and reads the same bits."""
    shape = data.draw(st.lists(st.integers(1, 7), min_size=1, max_size=3), label="shape")
    n = int(np.prod(shape))
    bits = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n), label="bits")
    c = commit_tensor(np.array(bits, dtype=np.uint32).view(np.float32).reshape(shape))
    start = data.draw(st.integers(0, n - 1), label="start")
    count = data.draw(st.integers(1, n - start), label="count")
    p = c.range_proof(start, count)
    got = harness.float32Range(c.root, list(c.header.shape), start, count, list(p.leaves), list(p.siblings))
    assert list(got) == bits[start : start + count]
    e = c.element_proof(start)
    assert harness.float32At(c.root, list(c.header.shape), start, e.leaf, list(e.siblings)) == bits[start]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    code=st.sampled_from(list(DType)),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_fuzz_any_dtype_range_matches_python(harness, code, n, seed, data):
    """For random tensors of every dtype, verifyRange accepts offchain.commit's range proofs and elementBits agrees."""
    from offchain.commit.format import NUMPY_DTYPES

    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, size=n * 8, dtype=np.uint8).view(np.uint64).view(NUMPY_DTYPES[code])[:n]
    if code == DType.BOOL:
        array = array.astype(np.bool_)
    c = commit_tensor(np.ascontiguousarray(array))
    start = data.draw(st.integers(0, n - 1), label="start")
    count = data.draw(st.integers(1, n - start), label="count")
    p = c.range_proof(start, count)
    assert harness.verifyRange(c.root, int(code), [n], start, count, list(p.leaves), list(p.siblings))
    e = c.element_proof(start)
    assert harness.elementBits(int(code), start, e.leaf) == c.bits(start)


def test_checkpoint_of_python_matches_chain(harness):
    """A five-tensor checkpoint built by offchain.commit verifies on chain for every name, at depth 3."""
    tensors = {f"t{i}": np.full((i + 1,), i, dtype=np.float32) for i in range(5)}
    c = commit_checkpoint(tensors, step=7, batch_hash=bytes(range(32)))
    h = c.header
    header = (h.tensors_root, h.tensor_count, h.step, h.batch_hash)
    assert harness.checkpointRoot(header) == c.root
    for name in c.names:
        p = c.tensor_proof(name)
        assert len(p.siblings) == 3
        assert harness.verifyCheckpointTensor(c.root, header, name, p.tensor_root, p.index, list(p.siblings))


def test_float32_at_gas_for_million_element_tensor_is_bounded(harness):
    """Reading one element of a 1,048,576-element float32 tensor (17 levels) costs under 30,000 gas of execution."""
    x = np.arange(1 << 20, dtype=np.float32)
    c = commit_tensor(x.reshape(1024, 1024))
    p = c.element_proof(123_457)
    gas = harness.float32At.estimate_gas_cost(c.root, [1024, 1024], 123_457, p.leaf, list(p.siblings))
    assert harness.float32At(c.root, [1024, 1024], 123_457, p.leaf, list(p.siblings)) == c.bits(123_457)
    assert gas - 21_000 < 30_000, gas
