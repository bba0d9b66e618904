"""The Verde op-trace instruction set: op descriptors, their ABI encoding, and the trace trees.

The format is docs/verde-trace.md; VerdeReferee.sol and OpAdjudicator.sol decode the same bytes.

    op = Op(ADD, FLOAT32, (4, 8), 0, (view(3, (8, 1)), view(5, (0, 1))))
    desc = op.encode(); h = op_hash(desc)
    root = trace_tree_root([entry(h0, out0), entry(h1, out1)], capacity_ops=G)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from offchain.commit import keccak256
from offchain.commit.format import BATCH_TAG, DATA_TAG, ENTRY_TAG, PROGRAM_TAG, TRACE_NODE_TAG

CONST = (1 << 32) - 1  # operand slot meaning "a constant whose bits are the low 32 bits of offset"

# opcodes (docs/verde-trace.md)
ADD, SUB, MUL, DIV, NEG, SQRT, EXP, LOG, TANH, WHERE, MAX = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
SUM, DOT, MAXR, SCATTER = 20, 21, 22, 23
COPY, GATHER, EQCOORD, ARANGE, TRIL, CAT = 30, 31, 32, 33, 34, 35
LOAD, BATCH, NAMED, NODE, HEADER = 40, 41, 42, 43, 44

ELEMENTWISE = frozenset({ADD, SUB, MUL, DIV, NEG, SQRT, EXP, LOG, TANH, WHERE, MAX})
REDUCTIONS = frozenset({SUM, DOT, MAXR, SCATTER})
MOVEMENT = frozenset({COPY, GATHER, EQCOORD, ARANGE, TRIL, CAT})
HASH_OPS = frozenset({LOAD, BATCH, NAMED, NODE, HEADER})
TENSOR_OPS = ELEMENTWISE | REDUCTIONS | MOVEMENT
NAMES = {
    ADD: "ADD", SUB: "SUB", MUL: "MUL", DIV: "DIV", NEG: "NEG", SQRT: "SQRT", EXP: "EXP", LOG: "LOG",
    TANH: "TANH", WHERE: "WHERE", MAX: "MAX", SUM: "SUM", DOT: "DOT", MAXR: "MAXR", SCATTER: "SCATTER",
    COPY: "COPY", GATHER: "GATHER", EQCOORD: "EQCOORD", ARANGE: "ARANGE", TRIL: "TRIL", CAT: "CAT",
    LOAD: "LOAD", BATCH: "BATCH", NAMED: "NAMED", NODE: "NODE", HEADER: "HEADER",
}  # fmt: skip

NO_DTYPE, FLOAT32, INT32 = 0, 1, 2  # dtype codes of docs/commitments.md (0: a hash op)

ZERO = bytes(32)

OP_ABI = "(uint8,uint8,uint64[],uint64,(uint32,int64,int64[])[],bytes)"


@dataclass(frozen=True)
class Operand:
    """A strided view of slot `slot` over the op's iteration space (or a constant when slot == CONST)."""

    slot: int
    offset: int
    strides: tuple[int, ...] = ()

    @property
    def is_const(self) -> bool:
        return self.slot == CONST


def const(bits: int) -> Operand:
    """A constant operand with these 32 bits."""
    return Operand(CONST, bits & 0xFFFFFFFF, ())


@dataclass(frozen=True)
class Op:
    """One instruction; `encode()` is the descriptor whose hash the program commits."""

    opcode: int
    dtype: int
    shape: tuple[int, ...]
    k: int = 0
    operands: tuple[Operand, ...] = ()
    attrs: bytes = b""
    note: str = field(default="", compare=False)  # where in the model this op is (not committed)

    def encode(self) -> bytes:
        """abi.encode(Op) as docs/verde-trace.md gives it."""
        ops = [(o.slot, o.offset, list(o.strides)) for o in self.operands]
        return abi_encode([OP_ABI], [(self.opcode, self.dtype, list(self.shape), self.k, ops, self.attrs)])

    @property
    def hash(self) -> bytes:
        return keccak256(self.encode())

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def decode_op(desc: bytes) -> Op:
    """The Op a descriptor encodes."""
    (opcode, dtype, shape, k, ops, attrs) = abi_decode([OP_ABI], desc)[0]
    return Op(opcode, dtype, tuple(shape), k, tuple(Operand(s, o, tuple(st)) for s, o, st in ops), attrs)


def attrs_uint8(v: int) -> bytes:
    return abi_encode(["uint8"], [v])


def attrs_string(s: str) -> bytes:
    return abi_encode(["string"], [s])


def attrs_int64(v: int) -> bytes:
    return abi_encode(["int64"], [v])


def attrs_cat(dim: int, width: int) -> bytes:
    return abi_encode(["uint8", "uint64"], [dim, width])


def attrs_node(left: bytes, right: bytes) -> bytes:
    return abi_encode(["bytes32", "bytes32"], [left, right])


def attrs_uint256(v: int) -> bytes:
    return abi_encode(["uint256"], [v])


def unravel(e: int, shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major coordinates of flat index e."""
    out = []
    for d in reversed(shape):
        out.append(e % d)
        e //= d
    return tuple(reversed(out))


def address(operand: Operand, coords: Sequence[int], k: int | None = None) -> int:
    """Flat index into the operand's slot tensor of iteration point (coords, k)."""
    a = operand.offset + sum(c * s for c, s in zip(coords, operand.strides, strict=False))
    if k is not None:
        a += k * operand.strides[len(coords)]
    return a


# ---------------------------------------------------------------- trees


def trace_node(left: bytes, right: bytes) -> bytes:
    return keccak256(bytes([TRACE_NODE_TAG]) + left + right)


def tree_depth(count: int) -> int:
    """D = max(1, ceil(log2 count))."""
    return max(1, (max(count, 1) - 1).bit_length())


def tree_levels(leaves: Sequence[bytes], depth: int) -> list[list[bytes]]:
    """All levels (leaves first) of a trace tree of 2^depth leaves; missing leaves are ZERO."""
    level = list(leaves) + [ZERO] * ((1 << depth) - len(leaves))
    levels = [level]
    for _ in range(depth):
        level = [trace_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def tree_root(leaves: Sequence[bytes], depth: int) -> bytes:
    return tree_levels(leaves, depth)[-1][0]


def tree_proof(levels: list[list[bytes]], index: int) -> list[bytes]:
    """Siblings of leaf `index`, bottom-up."""
    out = []
    for level in levels[:-1]:
        out.append(level[index ^ 1])
        index >>= 1
    return out


def climb(leaf: bytes, index: int, siblings: Sequence[bytes]) -> bytes:
    """The root a leaf and its siblings lead to."""
    node = leaf
    for s in siblings:
        node = trace_node(s, node) if index & 1 else trace_node(node, s)
        index >>= 1
    return node


def entry(op_hash: bytes, out_root: bytes) -> bytes:
    """Trace leaf of one executed op."""
    return keccak256(bytes([ENTRY_TAG]) + op_hash + out_root)


def program_root(op_hashes: Sequence[bytes]) -> bytes:
    g = len(op_hashes)
    return keccak256(bytes([PROGRAM_TAG]) + tree_root(op_hashes, tree_depth(g)) + g.to_bytes(32, "big"))


def batch_leaf(inputs_root: bytes, targets_root: bytes, mask_root: bytes) -> bytes:
    """Leaf t-1 of the data tree, and the batchHash of step t's checkpoint header."""
    return keccak256(bytes([BATCH_TAG]) + inputs_root + targets_root + mask_root)


def data_root(batch_leaves: Sequence[bytes]) -> bytes:
    t = len(batch_leaves)
    return keccak256(bytes([DATA_TAG]) + tree_root(batch_leaves, tree_depth(t)) + t.to_bytes(32, "big"))
