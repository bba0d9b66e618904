"""The scalar oracle of every op of the Verde trace: one output element (or one reduction term) from its operands.

This is docs/verde-trace.md read literally, with the float32 primitives of the numpy oracle (offchain/float32:
`oracle` and `fmath`, bit-exact numpy scalars), and it is what contracts/verde/OpAdjudicator.sol computes on
chain. Operand elements come from a callback, so the same code serves a prover (reading its tensors), a referee
(reading proven openings) and the tests.

    from offchain.verde import recipes
    bits = recipes.element(op, e, lambda i, addr: tensors[op.operands[i].slot][addr])
    need = recipes.reads(op, e)                      # [(operand index, flat address), ...] to open
    acc = recipes.reduce_all(dot_op, e, read)        # +0, then every term k ascending

Every value is a 32-bit pattern (an int in [0, 2^32)): float32 bits for float operands, two's complement for
int32 ones. A CONST operand's value is the low 32 bits of its offset; `read` is never called for it. A malformed
descriptor raises `MalformedOpError` where the contract reverts.

Run the tests with `.venv/bin/ape test tests/verde/test_adjudicator.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from eth_abi import decode as abi_decode

from offchain.commit.format import checkpoint_root_from, named_tensor_leaf, node_hash
from offchain.float32 import fmath
from offchain.float32 import oracle as ref
from offchain.float32.bits import NEG_INF, canon_bits, from_bits, i32, to_bits
from offchain.float32.bits import ONE as ONE_BITS  # 1.0, EQCOORD's "equal"
from offchain.verde import ir

Read = Callable[[int, int], int]  # (operand index, flat address in that operand's slot tensor) -> 32 bits

# operands each opcode takes (CAT: at least one, checked apart)
ARITY = {
    ir.ADD: 2, ir.SUB: 2, ir.MUL: 2, ir.DIV: 2, ir.NEG: 1, ir.SQRT: 1, ir.EXP: 1, ir.LOG: 1, ir.TANH: 1,
    ir.WHERE: 3, ir.MAX: 2, ir.SUM: 1, ir.DOT: 2, ir.MAXR: 1, ir.SCATTER: 2, ir.COPY: 1, ir.GATHER: 2,
    ir.EQCOORD: 1, ir.ARANGE: 0, ir.TRIL: 0, ir.NAMED: 1, ir.NODE: 2, ir.HEADER: 4, ir.LOAD: 0, ir.BATCH: 0,
}  # fmt: skip


class RecipeError(ValueError):
    """Base of the errors a recipe raises on untrusted input."""


class MalformedOpError(RecipeError):
    """The descriptor breaks the spec: wrong opcode for the call, operand or stride count, attrs, dtype, dim."""


class AddressError(RecipeError):
    """An index is outside the iteration space, or an operand address is negative."""


# ---------------------------------------------------------------- float32 bits <-> numpy scalars


def _b(x: np.float32) -> int:
    """The 32-bit pattern of a float32 scalar, NaN canonical."""
    return canon_bits(to_bits(x))


UNARY: dict[int, Callable[[np.float32], np.float32]] = {
    ir.NEG: ref.neg, ir.SQRT: ref.sqrt, ir.EXP: fmath.exp, ir.LOG: fmath.log, ir.TANH: fmath.tanh,
}  # fmt: skip
BINARY: dict[int, Callable[[np.float32, np.float32], np.float32]] = {
    ir.ADD: ref.add, ir.SUB: ref.sub, ir.MUL: ref.mul, ir.DIV: ref.div, ir.MAX: ref.maximum,
}  # fmt: skip


# ---------------------------------------------------------------- checks


def _check_arity(op: ir.Op) -> None:
    if op.opcode == ir.CAT:
        if not op.operands:
            raise MalformedOpError("CAT needs at least one operand")
        return
    if op.opcode not in ARITY:
        raise MalformedOpError(f"unknown opcode {op.opcode}")
    if len(op.operands) != ARITY[op.opcode]:
        raise MalformedOpError(f"{ir.NAMES[op.opcode]} takes {ARITY[op.opcode]} operands, got {len(op.operands)}")


def _check_dtype(op: ir.Op) -> None:
    """Float ops write FLOAT32, ARANGE/TRIL write INT32, COPY/GATHER/CAT either."""
    if op.opcode in (ir.ARANGE, ir.TRIL):
        need: tuple[int, ...] = (ir.INT32,)
    elif op.opcode in (ir.COPY, ir.GATHER, ir.CAT):
        need = (ir.FLOAT32, ir.INT32)
    else:
        need = (ir.FLOAT32,)
    if op.dtype not in need:
        raise MalformedOpError(f"{ir.NAMES[op.opcode]} writes dtype {need}, descriptor says {op.dtype}")


def _coords(op: ir.Op, e: int) -> tuple[int, ...]:
    if not 0 <= e < op.numel:
        raise AddressError(f"element {e} outside shape {op.shape}")
    return ir.unravel(e, op.shape)


def _dim(op: ir.Op) -> int:
    """attrs abi.encode(uint8 dim), below the rank."""
    if len(op.attrs) != 32:
        raise MalformedOpError(f"{ir.NAMES[op.opcode]} attrs must be abi.encode(uint8 dim)")
    (dim,) = abi_decode(["uint8"], op.attrs)
    if dim >= len(op.shape):
        raise MalformedOpError(f"dim {dim} outside rank {len(op.shape)}")
    return dim


def _addr(op: ir.Op, i: int, c: Sequence[int], k: int | None, extra: int = 0) -> int:
    """Flat address of operand i at (c, k) plus `extra`, checked: exact stride count, not negative."""
    o = op.operands[i]
    need = len(op.shape) + (0 if k is None else 1)
    if len(o.strides) != need:
        raise MalformedOpError(f"operand {i} has {len(o.strides)} strides, the op needs {need}")
    a = ir.address(o, c, k) + extra
    if a < 0:
        raise AddressError(f"operand {i} address {a} is negative")
    return a


def _value(op: ir.Op, i: int, c: Sequence[int], k: int | None, read: Read, extra: int = 0) -> int:
    o = op.operands[i]
    if o.is_const:
        return o.offset & 0xFFFFFFFF
    return read(i, _addr(op, i, c, k, extra)) & 0xFFFFFFFF


# ---------------------------------------------------------------- elementwise and movement


def element(op: ir.Op, e: int, read: Read) -> int:
    """Output element `e`'s 32 bits of an elementwise (1-11) or movement (30-35) op.

    Parameters
    ----------
    op
        The op; its opcode must be elementwise or movement.
    e
        Flat row-major output index, below `op.numel`.
    read
        `read(i, addr)`: the bits of element `addr` of operand i's slot tensor (not called for CONST operands).

    Raises
    ------
    MalformedOpError, AddressError
        Where OpAdjudicator.element reverts.
    """
    if op.opcode not in ir.ELEMENTWISE | ir.MOVEMENT:
        raise MalformedOpError(f"opcode {op.opcode} is not elementwise or movement")
    _check_arity(op)
    _check_dtype(op)
    c = _coords(op, e)
    code = op.opcode
    if code in ir.ELEMENTWISE:
        vals = [_value(op, i, c, None, read) for i in range(len(op.operands))]
        if code in UNARY:
            return _b(UNARY[code](from_bits(vals[0])))
        if code in BINARY:
            return _b(BINARY[code](from_bits(vals[0]), from_bits(vals[1])))
        # WHERE: an int32 condition picks a float; the result is canonical like every float result
        return canon_bits(vals[1] if vals[0] != 0 else vals[2])
    if code == ir.COPY:
        return _value(op, 0, c, None, read)
    if code == ir.GATHER:
        gstride = _gstride(op)
        idx = i32(_value(op, 1, c, None, read))
        return _value(op, 0, c, None, read, extra=idx * gstride)
    if code == ir.EQCOORD:
        dim = _dim(op)
        return ONE_BITS if i32(_value(op, 0, c, None, read)) == c[dim] else 0
    if code == ir.ARANGE:
        return e & 0xFFFFFFFF
    if code == ir.TRIL:
        if len(op.shape) != 2:
            raise MalformedOpError(f"TRIL needs rank 2, shape {op.shape}")
        return 1 if c[1] <= c[0] else 0
    j = _cat_operand(op, c)  # CAT
    return _value(op, j, c, None, read)


def _gstride(op: ir.Op) -> int:
    if len(op.attrs) != 32:
        raise MalformedOpError("GATHER attrs must be abi.encode(int64 gstride)")
    return abi_decode(["int64"], op.attrs)[0]


def _cat_operand(op: ir.Op, c: Sequence[int]) -> int:
    """CAT's operand for coordinates c: c[dim] / width."""
    if len(op.attrs) != 64:
        raise MalformedOpError("CAT attrs must be abi.encode(uint8 dim, uint64 width)")
    dim, width = abi_decode(["uint8", "uint64"], op.attrs)
    if dim >= len(op.shape) or width == 0:
        raise MalformedOpError(f"CAT dim {dim} (rank {len(op.shape)}) or width {width} is invalid")
    j = c[dim] // width
    if j >= len(op.operands):
        raise MalformedOpError(f"CAT coordinate {c[dim]} needs operand {j} of {len(op.operands)}")
    return j


# ---------------------------------------------------------------- reductions


def reduce_init(opcode: int) -> int:
    """The accumulator before term 0: -inf for MAXR, +0 for SUM, DOT and SCATTER."""
    if opcode not in ir.REDUCTIONS:
        raise MalformedOpError(f"opcode {opcode} is not a reduction")
    return NEG_INF if opcode == ir.MAXR else 0


def reduce_step(op: ir.Op, e: int, k: int, acc_bits: int, read: Read) -> int:
    """The accumulator of output element `e` after term `k`, from `acc_bits` before it.

    Raises
    ------
    MalformedOpError, AddressError
        Where OpAdjudicator.reduceStep reverts.
    """
    if op.opcode not in ir.REDUCTIONS:
        raise MalformedOpError(f"opcode {op.opcode} is not a reduction")
    _check_arity(op)
    _check_dtype(op)
    c = _coords(op, e)
    if not 0 <= k < op.k:
        raise AddressError(f"term {k} outside K = {op.k}")
    acc = from_bits(acc_bits)
    if op.opcode == ir.SUM:
        return _b(ref.add(acc, from_bits(_value(op, 0, c, k, read))))
    if op.opcode == ir.DOT:
        a, b = from_bits(_value(op, 0, c, k, read)), from_bits(_value(op, 1, c, k, read))
        return _b(ref.add(acc, ref.mul(a, b)))
    if op.opcode == ir.MAXR:
        return _b(ref.maximum(acc, from_bits(_value(op, 0, c, k, read))))
    dim = _dim(op)  # SCATTER: operands (idx, x), both read at k
    idx = i32(_value(op, 0, c, k, read))
    x = _value(op, 1, c, k, read)
    return _b(ref.add(acc, from_bits(x))) if idx == c[dim] else canon_bits(acc_bits & 0xFFFFFFFF)


def reduce_all(op: ir.Op, e: int, read: Read) -> int:
    """Output element `e` of a reduction: the initial accumulator folded with every term k = 0 .. K-1."""
    acc = reduce_init(op.opcode)
    for k in range(op.k):
        acc = reduce_step(op, e, k, acc, read)
    return acc


# ---------------------------------------------------------------- reads


def reads(
    op: ir.Op, e: int, k: int | None = None, read_idx: Callable[[int], int] | None = None
) -> list[tuple[int, int]]:
    """Which (operand index, flat address) pairs output element `e` (term `k` of a reduction) reads.

    CONST operands are left out. GATHER's x address depends on the idx value: `read_idx(addr)` gives the
    bits of idx's element `addr` (GATHER only). The list is in operand order, except GATHER: idx, then x.
    """
    if op.opcode in ir.REDUCTIONS:
        if k is None:
            raise MalformedOpError("a reduction's reads need the term k")
        _coords(op, e)
        c = ir.unravel(e, op.shape)
        return [(i, _addr(op, i, c, k)) for i, o in enumerate(op.operands) if not o.is_const]
    c = _coords(op, e)
    if op.opcode == ir.GATHER:
        out = []
        if op.operands[1].is_const:
            idx = i32(op.operands[1].offset)
        else:
            a_idx = _addr(op, 1, c, None)
            out.append((1, a_idx))
            assert read_idx is not None, "GATHER reads need read_idx"
            idx = i32(read_idx(a_idx))
        if not op.operands[0].is_const:
            out.append((0, _addr(op, 0, c, None, extra=idx * _gstride(op))))
        return out
    if op.opcode == ir.CAT:
        j = _cat_operand(op, c)
        return [] if op.operands[j].is_const else [(j, _addr(op, j, c, None))]
    if op.opcode in ir.ELEMENTWISE or op.opcode in (ir.COPY, ir.EQCOORD):
        return [(i, _addr(op, i, c, None)) for i, o in enumerate(op.operands) if not o.is_const]
    return []  # ARANGE, TRIL


# ---------------------------------------------------------------- hash ops


def hash_op(op: ir.Op, roots: Sequence[bytes], step: int) -> bytes:
    """The output hash of NAMED (42), NODE (43) or HEADER (44) from its operands' slot roots.

    `roots[i]` is operand i's root (ignored for a CONST side of NODE); `step` is the disputed step (HEADER).

    Raises
    ------
    MalformedOpError
        Another opcode, wrong operand or root count, a CONST operand where none may be, bad attrs.
    """
    if op.opcode not in (ir.NAMED, ir.NODE, ir.HEADER):
        raise MalformedOpError(f"opcode {op.opcode} is not NAMED, NODE or HEADER")
    _check_arity(op)
    if len(roots) != len(op.operands):
        raise MalformedOpError(f"{len(roots)} roots for {len(op.operands)} operands")
    if op.opcode != ir.NODE and any(o.is_const for o in op.operands):
        raise MalformedOpError(f"{ir.NAMES[op.opcode]} takes no CONST operand")
    if op.opcode == ir.NAMED:
        (name,) = abi_decode(["string"], op.attrs)
        return named_tensor_leaf(name, roots[0])
    if op.opcode == ir.NODE:
        left, right = roots[0], roots[1]
        if op.operands[0].is_const or op.operands[1].is_const:
            if len(op.attrs) != 64:
                raise MalformedOpError("NODE with a CONST side needs attrs abi.encode(bytes32, bytes32)")
            cl, cr = abi_decode(["bytes32", "bytes32"], op.attrs)
            left = cl if op.operands[0].is_const else left
            right = cr if op.operands[1].is_const else right
        return node_hash(left, right)
    if len(op.attrs) != 32:
        raise MalformedOpError("HEADER attrs must be abi.encode(uint256 count)")
    (count,) = abi_decode(["uint256"], op.attrs)
    batch_hash = ir.batch_leaf(roots[1], roots[2], roots[3])
    return checkpoint_root_from(roots[0], count, step, batch_hash)
