"""The Verde GPT step as an op program: bit-exact against the autograd trainer, its trace roots and proofs, and the
traced (honest and dishonest) trainer. Pure Python, no chain.

Run: `.venv/bin/python -m pytest tests/verde/test_trace.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import pytest
import torch

from offchain.commit import commit_checkpoint, verify_element
from offchain.commit.format import ZERO_HASHES, node_hash
from offchain.commit.tensor import TensorHeader
from offchain.float32.bits import NEG_INF
from offchain.model.train import train_step
from offchain.verde import ir
from offchain.verde.adversary import Cheater, corrupt, corrupted, other_run, run_tampered, skip
from offchain.verde.job import (
    VerdeJob,
    batch_hash,
    data_root,
    init_state,
    model_and_optimizer,
    spec_hash,
    state_of,
)
from offchain.verde.program import build_program, program_stats, run_program, state_after
from offchain.verde.trace import Trace, zero_subtrees
from offchain.verde.trainer import VerdeTrainer

JOB = VerdeJob(steps=5, checkpoint_interval=2)


@pytest.fixture(scope="module")
def program() -> list[ir.Op]:
    return build_program(JOB)


@pytest.fixture(scope="module")
def honest() -> VerdeTrainer:
    tr = VerdeTrainer(JOB)
    tr.train()
    return tr


@pytest.fixture(scope="module")
def trace(honest: VerdeTrainer) -> Trace:
    return honest.replay(2)


def op_index(program: list[ir.Op], note: str) -> int:
    """The index of the op whose note is exactly `note`."""
    hits = [i for i, op in enumerate(program) if op.note == note]
    assert len(hits) == 1, f"{note!r}: {len(hits)} ops"
    return hits[0]


def bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(torch.int32)


# ---------------------------------------------------------------- the program


def test_program_steps_match_autograd_trainer_bit_for_bit(program):
    """Three steps from init: run_program's new state and header equal train_step's state and checkpoint root."""
    model, opt = model_and_optimizer(JOB)
    state = init_state(JOB)
    for t in range(1, 4):
        values = run_program(program, state, JOB.batch(t), step=t)
        x, y, mask = JOB.batch(t)
        train_step(model, opt, (x.long(), y.long(), mask.bool()))
        ref = state_of(model, opt)  # the lazily created AdamW state, without its int step
        new = state_after(program, values)
        assert list(new) == sorted(ref, key=str.encode)
        for name in ref:
            assert torch.equal(bits(new[name]), bits(ref[name])), f"step {t}: {name} differs"
        assert values[-1] == commit_checkpoint(ref, step=t, batch_hash=batch_hash(JOB.batch(t))).root
        state = new


def test_program_shape_well_formed(program):
    """Ops read only earlier slots with one stride per iteration axis; the program ends with the HEADER."""
    assert program[-1].opcode == ir.HEADER
    for i, op in enumerate(program):
        assert ir.decode_op(op.encode()) == op
        for o in op.operands:
            if o.is_const:
                continue
            assert o.slot < i, f"op {i} reads slot {o.slot}"
            if op.opcode in ir.TENSOR_OPS:
                assert len(o.strides) == len(op.shape) + (1 if op.opcode in ir.REDUCTIONS else 0), op.note
    stats = program_stats(program)
    assert sum(stats["all"].values()) == len(program)
    assert stats["load"]["LOAD"] == len(JOB.state_shapes()) == 85
    assert stats["commit"]["NAMED"] == 85 and stats["commit"]["HEADER"] == 1


def test_spec_hash_is_initial_checkpoint_with_zero_batch_hash():
    """specHash commits the eager initial state with batchHash zero; dataRoot covers the T batch leaves."""
    model, opt = model_and_optimizer(JOB)
    assert spec_hash(JOB) == commit_checkpoint(state_of(model, opt), step=0, batch_hash=bytes(32)).root
    leaves = [batch_hash(JOB.batch(t)) for t in range(1, JOB.steps + 1)]
    assert data_root(JOB) == ir.data_root(leaves)


def test_corrupt_ulp_changes_only_that_element(program):
    """A cheater's "ulp" tamper adds one to the bits of element e of op i and the program runs on from it."""
    i = op_index(program, "bwd h0.fc gb")
    state = init_state(JOB)
    good = run_program(program, state, JOB.batch(1), step=1)
    bad = run_tampered(program, state, JOB.batch(1), step=1, tamper={i: lambda v: corrupted(v, 3, "ulp")})
    assert all(torch.equal(bits(good[j]), bits(bad[j])) for j in range(i))
    diff = (bits(bad[i]) - bits(good[i])).reshape(-1)
    assert diff[3] == 1 and int(diff.abs().sum()) == 1
    assert bad[-1] != good[-1]


# ---------------------------------------------------------------- the trace


def test_trace_state_roots_bind_prefixes(trace):
    """S_0 is the all-empty tree, S_G the tree over all entries, and the last entry's out root is the header."""
    z = zero_subtrees(trace.depth)
    assert trace.state_root(0) == z[trace.depth]
    assert trace.state_root(trace.G) == ir.tree_root(trace.entries, trace.depth)
    for j in (1, 2, 7, 300, trace.G - 1):
        assert trace.state_root(j) == ir.tree_root(trace.entries[:j], trace.depth)
    assert trace.header == trace.out_roots[-1] == trace.values[-1]


@pytest.mark.parametrize("i", [0, 1, 86, 255, 256, 500])
def test_entry_proof_proves_both_sides_of_one_op(trace, i):
    """The siblings of leaf i prove S_i with leaf i empty and S_{i+1} with entry_i."""
    sib = trace.entry_proof(i)
    assert ir.climb(ir.ZERO, i, sib) == trace.state_root(i)
    assert ir.climb(trace.entries[i], i, sib) == trace.state_root(i + 1)


@pytest.mark.parametrize(("i", "j"), [(0, 1), (3, 200), (85, 86), (100, 776), (511, 512)])
def test_operand_proof_against_later_state(trace, i, j):
    """An earlier entry is proven against any later S_j."""
    assert ir.climb(trace.entries[i], i, trace.operand_proofs(i, j)) == trace.state_root(j)


def test_frontier_descends_to_the_tensor_root(trace, program):
    """16-ary frontiers hash up to their node; the top frontier's node is the data root; openings verify."""
    slot = op_index(program, "bwd h0.fc gw = g.T @ x")  # (4C, C) = 1024 elements, 128 leaves
    c = trace.commitment(slot)
    d = trace.data_depth(slot)
    assert d == 7
    level = trace.frontier(slot, d, 0)
    assert len(level) == 16 and level[3] == trace.node(slot, d - 4, 3)
    while len(level) > 1:
        level = [node_hash(level[k], level[k + 1]) for k in range(0, len(level), 2)]
    assert level[0] == trace.node(slot, d, 0) == c.data_root
    bottom = trace.frontier(slot, 3, 5)
    assert len(bottom) == 8 and bottom[0] == trace.node(slot, 0, 40)
    assert trace.frontier(slot, 0, 9) == [trace.node(slot, 0, 9)]
    words = trace.leaf_words(slot, 9)
    assert words[2] == c.bits(9 * 8 + 2)
    op = trace.opening(slot, 77)
    assert op.bits == c.bits(77)
    assert verify_element(trace.out_roots[slot], TensorHeader.of(op.dtype, op.shape), c.element_proof(77))


def test_frontier_pads_with_zero_hashes(trace, program):
    """Nodes past a tensor's last leaf are the zero-subtree hashes of the commitment format."""
    slot = op_index(program, "bwd h0.ln2 gw")  # 16 elements: 2 leaves, depth 1
    assert trace.frontier(slot, 1, 0) == [trace.node(slot, 0, 0), trace.node(slot, 0, 1)]
    slot = op_index(program, "fwd ce count")  # 0-d: one leaf, depth 0
    assert trace.frontier(slot, 0, 0) == [trace.node(slot, 0, 0)]
    assert trace.node(slot, 0, 1) == ZERO_HASHES[0]


@pytest.mark.parametrize("note", ["bwd h0.fc gw = g.T @ x", "fwd h0.softmax max", "bwd tok emb grad",
                                  "fwd ce count", "bwd lnf sum dxhat"])  # fmt: skip
def test_partial_sums_end_at_the_element(trace, program, note):
    """acc_0 is the reduction's start and acc_K the slot's element, for every element."""
    i = op_index(program, note)
    op = program[i]
    out = bits(trace.values[i]).reshape(-1)
    for e in range(0, op.numel, max(1, op.numel // 7)):
        acc = trace.partial_sums(i, e)
        assert len(acc) == op.k + 1
        assert acc[0] == (NEG_INF if op.opcode == ir.MAXR else 0)
        assert acc[-1] == int(out[e]) & 0xFFFFFFFF


# ---------------------------------------------------------------- the trainer


def test_trainer_roots_reproduce(honest):
    """Two trainers (autograd and program engines) post the same roots; a replay reproduces every root."""
    other = VerdeTrainer(JOB, engine="program")
    other.train()
    assert other.roots == honest.roots and len(honest.roots) == JOB.steps + 1
    assert honest.roots[0] == spec_hash(JOB)
    assert len(set(honest.roots)) == len(honest.roots)
    assert honest.replay(JOB.steps).header == honest.roots[JOB.steps]


# NOTE: one ulp of a gradient can be rounded away later (in (1 - b1) * g against a larger exp_avg): step 1, where
# exp_avg is zero, keeps it; an ulp in a state tensor itself always reaches the root.
@pytest.mark.parametrize(
    ("step", "note", "mode"),
    [
        (3, "bwd h0.fc gb", "big"),
        (3, "adamw h0_fc_w m", "big"),
        (1, "bwd h0.fc gb", "ulp"),
        (3, "adamw head_w p new", "ulp"),
    ],
)
def test_corrupt_changes_root_from_that_step(honest, program, step, note, mode):
    """A corrupted op changes that step's root and every later one; its trace first differs at that op."""
    i = op_index(program, note)
    bad = Cheater(JOB, corrupt(step, op=i, element=1, mode=mode))
    bad.train()
    assert bad.roots[:step] == honest.roots[:step]
    assert all(b != h for b, h in zip(bad.roots[step:], honest.roots[step:], strict=True))
    tr = bad.replay(step)
    good = honest.replay(step)
    assert tr.entries[:i] == good.entries[:i] and tr.entries[i] != good.entries[i]
    assert bad.replay(step + 1).header == bad.roots[step + 1]  # later steps replay from the corrupted state


def test_skip_posts_the_old_state(honest):
    """A skipped step's checkpoint holds the state before it; its trace first differs in AdamW."""
    bad = Cheater(JOB, skip(2))
    bad.train()
    assert bad.roots[:2] == honest.roots[:2] and bad.roots[2] != honest.roots[2]
    before, after = bad.state(1), bad.state(2)
    assert all(torch.equal(before[n], after[n]) for n in before)
    tr, good = bad.replay(2), honest.replay(2)
    first = next(i for i in range(tr.G) if tr.entries[i] != good.entries[i])
    assert tr.program[first].note.startswith("adamw")


def test_other_run_posts_another_seeds_roots(honest):
    """From its start, an other-run trainer posts the roots of the same job with another seed."""
    bad = Cheater(JOB, other_run(7, start=3))
    bad.train()
    ref = VerdeTrainer(VerdeJob(steps=JOB.steps, checkpoint_interval=2, seed=7))
    ref.train()
    assert bad.roots[:3] == honest.roots[:3] and bad.roots[3:] == ref.roots[3:]
    tr = bad.replay(3)
    assert tr.entries[0] != honest.replay(3).entries[0]  # its first LOAD is not the agreed state's
