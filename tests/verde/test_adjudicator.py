"""OpAdjudicator against recipes.py and the fast torch kernels, bit for bit, for every opcode of docs/verde-trace.md.

Each case builds real tensors (float32 with zeros, subnormals, infinities, NaNs and large values planted; int32
indices), commits them with offchain.commit, and asks the contract for output elements (or reduction terms) with
the openings recipes.reads names. The answer must equal recipes.py's and the torch result of the whole op
(offchain/repops/prims). exp/log/tanh also run on hundreds of random and special inputs against reference.py,
through Float32MathHarness in one eth_call per function. Then the reverts, and a gas cap per call.

    .venv/bin/ape test tests/verde/test_adjudicator.py -q -p no:cacheprovider
"""

from __future__ import annotations

import ape
import numpy as np
import pytest
from adjudicator_support import EDGE_BITS, EMPTY_OPENING, ZERO, Case, build_cases, view

from offchain.commit import commit_checkpoint, commit_tensor, keccak256
from offchain.commit.format import named_tensor_leaf, node_hash
from offchain.float32 import fmath
from offchain.float32.bits import from_bits, to_bits
from offchain.verde import ir, recipes

CASES = build_cases()
ELEMENT_CASES = [c for c in CASES if c.op.opcode not in ir.REDUCTIONS]
REDUCE_CASES = [c for c in CASES if c.op.opcode in ir.REDUCTIONS]
GAS_CAP = 150_000  # per element / reduceStep call, intrinsic gas and calldata included
N_RANDOM = 300  # random inputs per transcendental, on top of the special ones
GAS: dict[str, int] = {}  # opcode name -> measured gas of one call, printed by test_gas_per_opcode_under_cap


@pytest.fixture(scope="module")
def math_harness(project, deployer):
    return deployer.deploy(project.Float32MathHarness)


def sample(case: Case, limit: int = 12) -> list[int]:
    """Output elements to ask the contract for: all of a small output, else the ones holding edge operands first."""
    n = case.op.numel
    if n <= limit:
        return list(range(n))
    edges = set(EDGE_BITS)
    hot = [e for e in range(n) if any(case.read(i, a) in edges for i, a in _reads(case, e))]
    rest = [e for e in range(n) if e not in hot]
    return sorted((hot + rest)[:limit])


def _reads(case: Case, e: int) -> list[tuple[int, int]]:
    """Every (operand, address) output element e reads (over all terms of a reduction)."""
    if case.op.opcode in ir.REDUCTIONS:
        return [r for k in range(case.op.k) for r in recipes.reads(case.op, e, k)]
    return recipes.reads(case.op, e, read_idx=lambda a: case.read(1, a))


# ------------------------------------------------------------------ elementwise and movement


@pytest.mark.parametrize("case", ELEMENT_CASES, ids=lambda c: c.name)
def test_element_matches_recipes_and_torch(adjudicator, case):
    """element() gives the bits recipes.element and the torch kernel give, on every sampled output element."""
    for e in range(case.op.numel):
        assert recipes.element(case.op, e, case.read) == int(case.expected[e]), (case.name, e)
    for e in sample(case):
        roots, openings = case.args(e)
        got = adjudicator.element(case.desc, e, roots, openings)
        assert got == int(case.expected[e]), (case.name, e, hex(got), hex(int(case.expected[e])))


# ------------------------------------------------------------------ reductions


@pytest.mark.parametrize("case", REDUCE_CASES, ids=lambda c: c.name)
def test_reduce_steps_fold_to_recipes_and_torch(adjudicator, case):
    """reduceInit then reduceStep over every k gives each step recipes.reduce_step's bits and the torch result."""
    for e in range(case.op.numel):
        assert recipes.reduce_all(case.op, e, case.read) == int(case.expected[e]), (case.name, e)
    acc0 = adjudicator.reduceInit(case.desc)
    assert acc0 == recipes.reduce_init(case.op.opcode)
    for e in sample(case, limit=3):
        acc = acc0
        for k in range(case.op.k):
            roots, openings = case.args(e, k)
            nxt = adjudicator.reduceStep(case.desc, e, k, acc, roots, openings)
            assert nxt == recipes.reduce_step(case.op, e, k, acc, case.read), (case.name, e, k)
            acc = nxt
        assert acc == int(case.expected[e]), (case.name, e)


def test_reduce_step_from_any_accumulator_matches_recipes(adjudicator):
    """A step from an arbitrary agreed accumulator (edge values, a non-canonical NaN) matches recipes.reduce_step."""
    for case in REDUCE_CASES:
        roots, openings = case.args(0, 0)
        for acc in (0x80000000, 0x7F800000, 0xFFC00001, 0x00000001, 0xC2D00000):
            got = adjudicator.reduceStep(case.desc, 0, 0, acc, roots, openings)
            assert got == recipes.reduce_step(case.op, 0, 0, acc, case.read), (case.name, hex(acc))


# ------------------------------------------------------------------ exp / log / tanh


def _transcendental_inputs(seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    specials = list(EDGE_BITS) + [0x3F000000, 0xBF000000, 0x41200000, 0xC1200000, 0x3E9999A0, 0xBE99999A]
    uniform = rng.integers(0, 2**32, size=N_RANDOM // 3, dtype=np.uint64).tolist()
    moderate = (rng.standard_normal(N_RANDOM - N_RANDOM // 3) * 20).astype(np.float32).view(np.uint32).tolist()
    return [int(b) for b in specials + uniform + moderate]


TRANSCENDENTALS = [(0, fmath.exp), (1, fmath.log), (2, fmath.tanh)]


@pytest.mark.parametrize(("which", "fn"), TRANSCENDENTALS, ids=["exp", "log", "tanh"])
def test_float32_math_matches_reference(math_harness, which, fn):
    """Float32Math.exp/log/tanh give reference.py's bits on random, moderate and special inputs."""
    xs = _transcendental_inputs(seed=100 + which)
    want = [to_bits(fn(from_bits(x))) for x in xs]
    got = []
    for s in range(0, len(xs), 110):  # chunks keep each eth_call far below the call gas limit
        got += list(math_harness.batch(which, xs[s : s + 110]))
    bad = [(hex(x), hex(g), hex(w)) for x, g, w in zip(xs, got, want, strict=True) if g != w]
    assert not bad, bad[:5]


# ------------------------------------------------------------------ hash ops


def test_hash_ops_match_recipes_and_commit(adjudicator):
    """NAMED, NODE (slots and CONST sides) and HEADER give recipes.hash_op's hash and offchain.commit's."""
    w, bias = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, dtype=np.float32)
    rw, rb = commit_tensor(w).root, commit_tensor(bias).root
    named = ir.Op(ir.NAMED, 0, (), 0, (view(0, ()),), ir.attrs_string("model.w"))
    assert (
        adjudicator.hashOp(named.encode(), [rw], 0)
        == recipes.hash_op(named, [rw], 0)
        == named_tensor_leaf("model.w", rw)
    )
    node = ir.Op(ir.NODE, 0, (), 0, (view(0, ()), view(1, ())))
    assert adjudicator.hashOp(node.encode(), [rw, rb], 0) == recipes.hash_op(node, [rw, rb], 0) == node_hash(rw, rb)
    const_right = ir.Op(ir.NODE, 0, (), 0, (view(0, ()), ir.const(0)), ir.attrs_node(ZERO, rb))
    assert adjudicator.hashOp(const_right.encode(), [rw, ZERO], 0) == node_hash(rw, rb)
    assert recipes.hash_op(const_right, [rw, ZERO], 0) == node_hash(rw, rb)
    # HEADER equals the checkpoint root offchain.commit gives for the same tensors, step and batch
    batch = [commit_tensor(np.full((2, 2), v, dtype=np.int32)).root for v in (1, 2, 3)]
    ckpt = commit_checkpoint({"model.b": bias, "model.w": w}, step=5, batch_hash=ir.batch_leaf(*batch))
    header = ir.Op(ir.HEADER, 0, (), 0, tuple(view(i, ()) for i in range(4)), ir.attrs_uint256(2))
    roots = [ckpt.header.tensors_root, *batch]
    assert adjudicator.hashOp(header.encode(), roots, 5) == recipes.hash_op(header, roots, 5) == ckpt.root


def test_load_root_proves_checkpoint_tensor(adjudicator):
    """loadRoot returns the named tensor's root when its checkpoint proof holds, and reverts when it does not."""
    tensors = {f"model.p{i}": np.full((i + 1,), i, dtype=np.float32) for i in range(5)}
    ckpt = commit_checkpoint(tensors, step=3, batch_hash=keccak256(b"batch"))
    h = ckpt.header
    header = (h.tensors_root, h.tensor_count, h.step, h.batch_hash)
    for name in ("model.p0", "model.p3"):
        p = ckpt.tensor_proof(name)
        desc = ir.Op(ir.LOAD, ir.FLOAT32, tensors[name].shape, 0, (), ir.attrs_string(name)).encode()
        assert adjudicator.loadRoot(desc, ckpt.root, header, p.tensor_root, p.index, list(p.siblings)) == p.tensor_root
    wrong = ir.Op(ir.LOAD, ir.FLOAT32, (1,), 0, (), ir.attrs_string("model.p1")).encode()  # p0's proof, p1's name
    p = ckpt.tensor_proof("model.p0")
    with ape.reverts(adjudicator.OpAdjudicatorCheckpointProof, prevRoot=ckpt.root):
        adjudicator.loadRoot(wrong, ckpt.root, header, p.tensor_root, p.index, list(p.siblings))


@pytest.mark.parametrize("count", [1, 3, 4])
def test_batch_root_proves_step_batch(adjudicator, count):
    """batchRoot returns root `which` of step t's batch from the data tree of T batches, and rejects a wrong step."""
    batches = [[commit_tensor(np.full((2,), 10 * t + j, dtype=np.int32)).root for j in range(3)] for t in range(count)]
    leaves = [ir.batch_leaf(*b) for b in batches]
    depth = ir.tree_depth(count)
    levels = ir.tree_levels(leaves, depth)
    tree = levels[-1][0]
    data = ir.data_root(leaves)
    for step in range(1, count + 1):
        proof = ir.tree_proof(levels, step - 1)
        for which in range(3):
            desc = ir.Op(ir.BATCH, ir.INT32, (2,), 0, (), ir.attrs_uint8(which)).encode()
            got = adjudicator.batchRoot(desc, data, step, batches[step - 1], tree, count, proof)
            assert got == batches[step - 1][which]
    if count > 1:
        desc = ir.Op(ir.BATCH, ir.INT32, (2,), 0, (), ir.attrs_uint8(0)).encode()
        with ape.reverts(adjudicator.OpAdjudicatorBatchProof):
            adjudicator.batchRoot(desc, data, 2, batches[0], tree, count, ir.tree_proof(levels, 1))
        with ape.reverts(adjudicator.OpAdjudicatorStepOutOfRange, step=count + 1, count=count):
            adjudicator.batchRoot(desc, data, count + 1, batches[0], tree, count, ir.tree_proof(levels, 0))


def test_opcode_of_reads_every_opcode(adjudicator):
    """opcodeOf returns the opcode of each case's descriptor, and rejects bytes too short to hold one."""
    for case in CASES[::4]:
        assert adjudicator.opcodeOf(case.desc) == case.op.opcode
    with ape.reverts(adjudicator.OpAdjudicatorMalformedDesc, length=32):
        adjudicator.opcodeOf(bytes(32))


# ------------------------------------------------------------------ reverts


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def test_element_wrong_index_reverts(adjudicator):
    """An opening of another element than the address the op reads reverts with both indices."""
    case = _case("ADD")
    roots, openings = case.args(5)
    openings[1] = case.opening(1, 6)
    with ape.reverts(adjudicator.OpAdjudicatorOpeningIndex, operand=1, have=6, need=5):
        adjudicator.element(case.desc, 5, roots, openings)


def test_element_wrong_dtype_reverts(adjudicator):
    """A float operand opened as int32 (the same bits committed as int32) reverts with both dtypes."""
    case = _case("ADD")
    roots, openings = case.args(3)
    as_int = commit_tensor(case.slots[0].view(np.int32))
    p = as_int.element_proof(3)
    roots[0] = as_int.root
    openings[0] = (2, [4, 8], 3, p.leaf, list(p.siblings))
    with ape.reverts(adjudicator.OpAdjudicatorOpeningDtype, operand=0, have=2, need=1):
        adjudicator.element(case.desc, 3, roots, openings)


def test_element_bad_proof_reverts(adjudicator):
    """An opening whose leaf was altered does not prove against its root."""
    case = _case("MAX")
    roots, openings = case.args(9)
    dtype, shape, index, leaf, siblings = openings[0]
    openings[0] = (dtype, shape, index, bytes([leaf[0] ^ 1]) + leaf[1:], siblings)
    with ape.reverts(adjudicator.OpAdjudicatorProofMismatch, operand=0, root=roots[0]):
        adjudicator.element(case.desc, 9, roots, openings)


def test_unknown_or_misrouted_opcode_reverts(adjudicator):
    """An unknown opcode, or an opcode of another class than the function handles, reverts with it."""
    bogus = ir.Op(99, ir.FLOAT32, (1,), 0, ()).encode()
    with ape.reverts(adjudicator.OpAdjudicatorUnsupportedOpcode, opcode=99):
        adjudicator.element(bogus, 0, [], [])
    s = _case("SUM rows")
    roots, openings = s.args(0, 0)
    with ape.reverts(adjudicator.OpAdjudicatorUnsupportedOpcode, opcode=ir.SUM):
        adjudicator.element(s.desc, 0, roots, openings)
    add = _case("ADD")
    roots, openings = add.args(0)
    with ape.reverts(adjudicator.OpAdjudicatorUnsupportedOpcode, opcode=ir.ADD):
        adjudicator.reduceStep(add.desc, 0, 0, 0, roots, openings)
    with ape.reverts(adjudicator.OpAdjudicatorUnsupportedOpcode, opcode=ir.ADD):
        adjudicator.hashOp(add.desc, roots, 0)


def test_malformed_descriptors_revert(adjudicator):
    """Operand count, stride count, op dtype, attrs, element and term ranges and negative addresses revert."""
    add = _case("ADD")
    roots, openings = add.args(0)
    one = ir.Op(ir.ADD, ir.FLOAT32, (4, 8), 0, (view(0, (8, 1)),))
    with ape.reverts(adjudicator.OpAdjudicatorOperandCount, have=1, need=2):
        adjudicator.element(one.encode(), 0, roots[:1], openings[:1])
    with pytest.raises(recipes.MalformedOpError):
        recipes.element(one, 0, add.read)
    short = ir.Op(ir.ADD, ir.FLOAT32, (4, 8), 0, (view(0, (8,)), view(1, (8, 1))))
    with ape.reverts(adjudicator.OpAdjudicatorStrideCount, operand=0, have=1, need=2):
        adjudicator.element(short.encode(), 0, roots, openings)
    int_add = ir.Op(ir.ADD, ir.INT32, (4, 8), 0, add.op.operands)
    with ape.reverts(adjudicator.OpAdjudicatorOpDtype, opcode=ir.ADD, have=ir.INT32):
        adjudicator.element(int_add.encode(), 0, roots, openings)
    with ape.reverts(adjudicator.OpAdjudicatorElementOutOfRange, e=32, numel=32):
        adjudicator.element(add.desc, 32, roots, openings)
    with ape.reverts(adjudicator.OpAdjudicatorArgsLength, roots=2, openings=1, operands=2):
        adjudicator.element(add.desc, 0, roots, openings[:1])
    neg = ir.Op(ir.ADD, ir.FLOAT32, (4, 8), 0, (view(0, (8, 1), offset=-1), view(1, (8, 1))))
    with ape.reverts(adjudicator.OpAdjudicatorNegativeAddress, operand=0, addr=-1):
        adjudicator.element(neg.encode(), 0, roots, openings)
    with pytest.raises(recipes.AddressError):
        recipes.element(neg, 0, add.read)
    eq = _case("EQCOORD")
    bad_dim = ir.Op(ir.EQCOORD, ir.FLOAT32, eq.op.shape, 0, eq.op.operands, ir.attrs_uint8(2))
    r, o = eq.args(0)
    with ape.reverts(adjudicator.OpAdjudicatorBadAttr, opcode=ir.EQCOORD, value=2, bound=2):
        adjudicator.element(bad_dim.encode(), 0, r, o)
    no_attrs = ir.Op(ir.EQCOORD, ir.FLOAT32, eq.op.shape, 0, eq.op.operands)
    with ape.reverts(adjudicator.OpAdjudicatorAttrsLength, have=0, need=32):
        adjudicator.element(no_attrs.encode(), 0, r, o)
    s = _case("SUM rows")
    r, o = s.args(0, 0)
    with ape.reverts(adjudicator.OpAdjudicatorTermOutOfRange, k=8, terms=8):
        adjudicator.reduceStep(s.desc, 0, 8, 0, r, o)


def test_gather_and_cat_read_only_what_they_need(adjudicator):
    """GATHER opens idx then x at idx * gstride; CAT opens only operand c[dim] / width (the other may be empty)."""
    g = _case("GATHER")
    roots, openings = g.args(7)  # position 2, column 1: idx 4
    assert [i for i, _ in _reads(g, 7)] == [1, 0] and openings[0][2] == 4 * 3 + 1
    assert adjudicator.element(g.desc, 7, roots, openings) == int(g.expected[7])
    wrong = list(openings)
    wrong[0] = g.opening(0, 1)  # the element at idx 0 instead of idx 4
    with ape.reverts(adjudicator.OpAdjudicatorOpeningIndex, operand=0, have=1, need=13):
        adjudicator.element(g.desc, 7, roots, wrong)
    cat = _case("CAT")
    roots, openings = cat.args(4)  # row 0, column 4: operand 1, element 1
    assert openings[0] == EMPTY_OPENING and openings[1][2] == 1
    assert adjudicator.element(cat.desc, 4, roots, openings) == int(cat.expected[4])


# ------------------------------------------------------------------ gas


def test_gas_per_opcode_under_cap(adjudicator, deployer, capsys):
    """One element (or reduction step) call per opcode, sent as a transaction, uses under GAS_CAP gas; prints them."""
    for case in CASES:
        name = ir.NAMES[case.op.opcode]
        worst = 0
        for e in sample(case, limit=4):
            if case.op.opcode in ir.REDUCTIONS:
                roots, openings = case.args(e, 0)
                receipt = adjudicator.reduceStep.transact(case.desc, e, 0, 0, roots, openings, sender=deployer)
            else:
                roots, openings = case.args(e)
                receipt = adjudicator.element.transact(case.desc, e, roots, openings, sender=deployer)
            worst = max(worst, receipt.gas_used)
        GAS[name] = max(GAS.get(name, 0), worst)
        assert worst < GAS_CAP, (case.name, worst)
    with capsys.disabled():
        print("\nOpAdjudicator gas per call (tx gas_used, max over sampled elements, 21000 intrinsic included):")
        print(" ".join(f"{k}={v}" for k, v in GAS.items()))


def test_hash_op_gas_under_cap(adjudicator, deployer, capsys):
    """hashOp (HEADER, the dearest) costs far less than an element call; a long NAMED name matches recipes."""
    roots = [keccak256(bytes([i])) for i in range(4)]
    header = ir.Op(ir.HEADER, 0, (), 0, tuple(view(i, ()) for i in range(4)), ir.attrs_uint256(2))
    gas = adjudicator.hashOp.transact(header.encode(), roots, 5, sender=deployer).gas_used
    assert gas < 60_000
    with capsys.disabled():
        print(f"\nOpAdjudicator hashOp(HEADER) gas: {gas}")
    named = ir.Op(ir.NAMED, 0, (), 0, (view(0, ()),), ir.attrs_string("optim.model.blocks.0.attn.w.exp_avg_sq" * 3))
    assert adjudicator.hashOp(named.encode(), roots[:1], 0) == recipes.hash_op(named, roots[:1], 0)
