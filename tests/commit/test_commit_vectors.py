"""offchain.commit against the golden vectors, produced by an independent naive implementation."""

from __future__ import annotations

import pytest
import torch

from offchain.commit import (
    EMPTY,
    CheckpointProof,
    ElementProof,
    RangeProof,
    commit_checkpoint,
    commit_tensor,
    element_bits,
    range_bits,
    tensor_root,
    verify_checkpoint_tensor,
    verify_element,
    verify_range,
)
from tools.gen_commitment_vectors import load, render, vector_array

TENSORS = load()["tensors"]
CHECKPOINTS = load()["checkpoints"]


def b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


def test_vectors_file_matches_generator():
    """The checked-in vectors file is exactly what tools/gen_commitment_vectors.py writes."""
    from tools.gen_commitment_vectors import OUT

    assert OUT.read_text() == render()


def test_vectors_cover_required_shapes(vectors):
    """The vectors include 1, 8, 9 and 17 elements, a 2-D and a 3-D tensor, -0.0, NaN payloads and subnormals."""
    by_name = {t["name"]: t for t in vectors["tensors"]}
    sizes = {len(t["elements"]) for t in vectors["tensors"]}
    assert {1, 8, 9, 17} <= sizes
    assert {len(t["shape"]) for t in vectors["tensors"]} >= {0, 1, 2, 3}
    assert {"0x80000000", "0x7fa00001", "0xffc00123", "0x1", "0x7fffff"} <= set(
        by_name["f32_8"]["elements"] + by_name["f32_9"]["elements"]
    )
    assert vectors["empty"] == "0x" + EMPTY.hex()
    assert any(c["tensor_count"] == 3 for c in vectors["checkpoints"])


@pytest.mark.parametrize("vec", TENSORS, ids=lambda v: v["name"])
def test_commit_tensor_vector_roots_match(vec):
    """The data root, tensor root, leaves and dtype code of every vector tensor match the file."""
    c = commit_tensor(vector_array(vec))
    assert int(c.header.dtype) == vec["dtype_code"]
    assert list(c.header.shape) == vec["shape"]
    assert [c.leaf(i).hex() for i in range(c.header.num_leaves)] == [leaf[2:] for leaf in vec["leaves"]]
    assert c.data_root == b(vec["data_root"])
    assert c.root == b(vec["root"])
    assert tensor_root(vector_array(vec)) == c.root


@pytest.mark.parametrize("vec", TENSORS, ids=lambda v: v["name"])
def test_commit_tensor_torch_vector_roots_match(vec):
    """A torch tensor with the vector's bits commits to the vector's root (NaN payloads included)."""
    assert tensor_root(torch.from_numpy(vector_array(vec).copy())) == b(vec["root"])


@pytest.mark.parametrize("vec", [v for v in TENSORS if v["element_proofs"]], ids=lambda v: v["name"])
def test_element_proof_vectors_match(vec):
    """Every vector element proof is what commit_tensor produces, verifies, and yields the element's bits."""
    c = commit_tensor(vector_array(vec))
    for p in vec["element_proofs"]:
        proof = c.element_proof(p["index"])
        assert proof == ElementProof(index=p["index"], leaf=b(p["leaf"]), siblings=tuple(map(b, p["siblings"])))
        assert verify_element(b(vec["root"]), c.header, proof)
        assert element_bits(c.header, proof) == int(p["bits"], 16)


@pytest.mark.parametrize("vec", [v for v in TENSORS if v["range_proofs"]], ids=lambda v: v["name"])
def test_range_proof_vectors_match(vec):
    """Every vector range proof is what commit_tensor produces, verifies, and yields the range's bits."""
    c = commit_tensor(vector_array(vec))
    for p in vec["range_proofs"]:
        proof = c.range_proof(p["start"], p["count"])
        assert proof == RangeProof(
            start=p["start"],
            count=p["count"],
            leaves=tuple(map(b, p["leaves"])),
            siblings=tuple(map(b, p["siblings"])),
        )
        assert verify_range(b(vec["root"]), c.header, proof)
        assert range_bits(c.header, proof) == [int(x, 16) for x in p["bits"]]


@pytest.mark.parametrize("ckpt", CHECKPOINTS, ids=lambda c: c["name"])
def test_commit_checkpoint_vectors_match(ckpt):
    """Every vector checkpoint's tensors root, root and per-tensor proofs match commit_checkpoint."""
    by_name = {t["name"]: t for t in TENSORS}
    members = {t["name"]: vector_array(by_name[t["tensor"]]) for t in ckpt["tensors"]}
    c = commit_checkpoint(members, step=ckpt["step"], batch_hash=b(ckpt["batch_hash"]))
    assert c.header.tensors_root == b(ckpt["tensors_root"])
    assert c.header.tensor_count == ckpt["tensor_count"]
    assert c.root == b(ckpt["root"])
    for t in ckpt["tensors"]:
        proof = c.tensor_proof(t["name"])
        assert proof == CheckpointProof(
            header=c.header,
            name=t["name"],
            tensor_root=b(t["tensor_root"]),
            index=t["index"],
            siblings=tuple(map(b, t["siblings"])),
        )
        assert verify_checkpoint_tensor(b(ckpt["root"]), proof)
