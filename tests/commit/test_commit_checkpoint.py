"""offchain.commit checkpoints: names, step and batch hash bound; proofs verify; bad input and tampering rejected."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from offchain.commit import (
    EMPTY,
    BatchHashError,
    DuplicateNameError,
    InexactScalarError,
    NotATensorError,
    ProofLengthError,
    StepError,
    TensorNameError,
    UnknownNameError,
    checkpoint_header,
    checkpoint_root,
    commit_checkpoint,
    commit_tensor,
    tensor_root,
    training_state,
    verify_checkpoint_tensor,
    verify_element,
)
from offchain.commit.checkpoint import sorted_names

BATCH = bytes(range(32))


@pytest.fixture(scope="module")
def tensors():
    """Five small named tensors of mixed dtypes, inserted out of order."""
    return {
        "optim.w.exp_avg": np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4),
        "model.w": np.arange(12, dtype=np.float32).reshape(3, 4),
        "rng.torch_cpu": np.arange(20, dtype=np.uint8),
        "optim.w.step": np.array(3.0, dtype=np.float32),
        "model.b": np.zeros(4, dtype=np.float32),
    }


def test_checkpoint_root_independent_of_insertion_order(tensors):
    """Two dicts with the same items in another order give the same root."""
    reordered = dict(reversed(list(tensors.items())))
    assert checkpoint_root(tensors, step=5, batch_hash=BATCH) == checkpoint_root(reordered, step=5, batch_hash=BATCH)


def test_checkpoint_root_binds_step_batch_names_and_values(tensors):
    """Changing the step, the batch hash, a name or one element changes the root."""
    base = checkpoint_root(tensors, step=5, batch_hash=BATCH)
    renamed = {("model.v" if k == "model.w" else k): v for k, v in tensors.items()}
    changed = dict(tensors, **{"model.b": np.array([0, 0, 0, 1e-45], dtype=np.float32)})
    others = {
        checkpoint_root(tensors, step=6, batch_hash=BATCH),
        checkpoint_root(tensors, step=5, batch_hash=bytes(32)),
        checkpoint_root(renamed, step=5, batch_hash=BATCH),
        checkpoint_root(changed, step=5, batch_hash=BATCH),
    }
    assert base not in others and len(others) == 4


def test_checkpoint_root_accepts_precomputed_roots(tensors):
    """Passing each tensor's 32-byte root or TensorCommitment gives the same root as passing the tensor."""
    roots = {k: tensor_root(v) for k, v in tensors.items()}
    commits = {k: commit_tensor(v) for k, v in tensors.items()}
    expected = commit_checkpoint(tensors, step=9, batch_hash=BATCH).root
    assert checkpoint_root(roots, step=9, batch_hash=BATCH) == expected
    assert checkpoint_root(commits, step=9, batch_hash=BATCH) == expected
    assert commit_checkpoint(commits, step=9, batch_hash=BATCH).root == expected


def test_commit_checkpoint_names_sorted_by_utf8_bytes():
    """Leaves are ordered by the names' UTF-8 bytes (so 'B' < 'a' < 'é')."""
    c = commit_checkpoint({n: np.zeros(1, np.float32) for n in ("é", "a", "B")}, step=0, batch_hash=BATCH)
    assert c.names == ("B", "a", "é")


def test_commit_checkpoint_empty_has_empty_tensors_root():
    """A checkpoint of no tensors has tensors root EMPTY and count 0, and still binds step and batch."""
    h = checkpoint_header({}, step=1, batch_hash=BATCH)
    assert h.tensors_root == EMPTY and h.tensor_count == 0
    assert h.root != checkpoint_header({}, step=2, batch_hash=BATCH).root


@pytest.mark.parametrize("names", [["a", ""], ["a", 3], ["x", "y", "x"]], ids=["empty", "int", "duplicate"])
def test_sorted_names_bad_names_raise(names):
    """An empty or non-str name raises TensorNameError; a repeated one raises DuplicateNameError."""
    with pytest.raises((TensorNameError, DuplicateNameError)) as info:
        sorted_names(names)
    assert isinstance(info.value, DuplicateNameError) == (names.count("x") == 2)


@pytest.mark.parametrize("step", [-1, 2**256, 1.0, True, "1"], ids=str)
def test_commit_checkpoint_bad_step_raises(tensors, step):
    """A step that is not an int in [0, 2**256) raises StepError."""
    with pytest.raises(StepError):
        commit_checkpoint(tensors, step=step, batch_hash=BATCH)


@pytest.mark.parametrize("batch_hash", [b"", bytes(31), bytes(33), "00" * 32, None], ids=str)
def test_commit_checkpoint_bad_batch_hash_raises(tensors, batch_hash):
    """A batch hash that is not exactly 32 bytes raises BatchHashError."""
    with pytest.raises(BatchHashError):
        checkpoint_root(tensors, step=1, batch_hash=batch_hash)


def test_verify_checkpoint_tensor_every_name_verifies(tensors):
    """Every tensor's checkpoint proof verifies, and an element proof below it verifies against its root."""
    c = commit_checkpoint(tensors, step=5, batch_hash=BATCH)
    for name in c.names:
        assert verify_checkpoint_tensor(c.root, c.tensor_proof(name))
    t = c.tensors["model.w"]
    assert verify_element(c.tensor_proof("model.w").tensor_root, t.header, t.element_proof((2, 3)))
    with pytest.raises(UnknownNameError):
        c.tensor_proof("model.missing")


def test_verify_checkpoint_tensor_tampered_fails(tensors):
    """Changing the name, tensor root, index, a sibling byte, step, count or batch hash makes the proof fail."""
    c = commit_checkpoint(tensors, step=5, batch_hash=BATCH)
    p = c.tensor_proof("optim.w.exp_avg")
    h = p.header
    bad_sibling = (bytes([p.siblings[0][0] ^ 1]) + p.siblings[0][1:], *p.siblings[1:])
    tampered = [
        dataclasses.replace(p, name="optim.w.exp_avg_sq"),
        dataclasses.replace(p, tensor_root=bytes(32)),
        dataclasses.replace(p, index=p.index ^ 1),
        dataclasses.replace(p, siblings=bad_sibling),
        dataclasses.replace(p, header=dataclasses.replace(h, step=h.step + 1)),
        dataclasses.replace(p, header=dataclasses.replace(h, batch_hash=bytes(32))),
        dataclasses.replace(p, header=dataclasses.replace(h, tensor_count=h.tensor_count + 1)),
    ]
    for bad in tampered:
        assert not verify_checkpoint_tensor(c.root, bad)
    with pytest.raises(ProofLengthError):
        verify_checkpoint_tensor(c.root, dataclasses.replace(p, siblings=p.siblings[1:]))
    with pytest.raises(UnknownNameError):
        verify_checkpoint_tensor(c.root, dataclasses.replace(p, index=h.tensor_count))


def test_training_state_names_model_optimizer_and_rng():
    """training_state names parameters, AdamW state and the torch RNG state, and the checkpoint commits them."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).square().sum().backward()
    opt.step()
    state = training_state(model, opt)
    assert {"model.0.weight", "model.1.bias", "rng.torch_cpu"} <= set(state)
    assert {"optim.0.weight.exp_avg", "optim.0.weight.exp_avg_sq", "optim.0.weight.step"} <= set(state)
    c = commit_checkpoint(state, step=1, batch_hash=BATCH)
    assert c.header.tensor_count == 4 + 4 * 3 + 1
    assert set(training_state(model, opt, rng={})) == set(state) - {"rng.torch_cpu"}


def test_training_state_scalars_converted_or_rejected():
    """Python ints become int64 and exact floats float32; an inexact float or other object is rejected."""
    model = torch.nn.Linear(1, 1)
    state = training_state(model, rng={"seed": 7, "counter": 2**40, "scale": 0.5})
    assert state["rng.seed"].dtype == np.int64 and state["rng.scale"].dtype == np.float32
    with pytest.raises(InexactScalarError):
        training_state(model, rng={"x": 0.1})
    with pytest.raises(NotATensorError):
        training_state(model, rng={"x": "abc"})


def test_checkpoint_root_with_executor_matches_serial(monkeypatch, tensors):
    """Spreading the hashing over a thread pool, in chunks of 4 leaves, gives the same root as hashing serially."""
    from concurrent.futures import ThreadPoolExecutor

    import offchain.commit.merkle as merkle

    monkeypatch.setattr(merkle, "CHUNK_LEAVES", 4)
    sized = dict(tensors)
    for leaves in (0, 1, 4, 5, 33):
        sized[f"x{leaves}"] = np.arange(leaves * 8, dtype=np.float32) - 7
    sized["x_int64"] = np.arange(37, dtype=np.int64) - 20
    expected = checkpoint_root(sized, step=3, batch_hash=BATCH)
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert checkpoint_root(sized, step=3, batch_hash=BATCH, executor=pool) == expected


def test_checkpoint_root_with_process_pool_matches_serial():
    """A process pool hashing 32,768-leaf subtrees of a 2.8-chunk strided tensor gives the serial root."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    w = (np.arange(20000 * 40, dtype=np.float32) % 1000).reshape(20000, 40)[:, :37]  # 92,500 leaves
    big = {"w": w, "b": np.ones(3, np.float32)}
    expected = checkpoint_root(big, step=1, batch_hash=BATCH)
    with ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("fork")) as pool:
        assert checkpoint_root(big, step=1, batch_hash=BATCH, executor=pool) == expected
