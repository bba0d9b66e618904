"""The trace of one executed program: output roots, entries, trace state roots S_j and every proof a dispute needs.

docs/verde-trace.md: `entry_i = keccak(0x05 ‖ opHash_i ‖ out_i)`, `S_j` is the trace tree over entries
`0..j-1` with the leaves from `j` on zero. A trace keeps the full tree over all G entries and the zero-subtree
hashes `Z_h` (`Z_0` = 32 zero bytes, `Z_{h+1} = trace_node(Z_h, Z_h)`), so any `S_j` and any proof against it
costs O(D^2) hashes. Per slot it keeps the TensorCommitment (docs/commitments.md) for the descent into a
tensor's data tree and element openings.

    values = run_program(program, state, batch, step=t)
    tr = Trace(program, values, step=t)
    tr.state_root(j); tr.entry_proof(i); tr.operand_proofs(i, j)
    tr.frontier(slot, height, index, levels); tr.opening(slot, flat_index); tr.partial_sums(op_index, e)

Run the tests with `.venv/bin/python -m pytest tests/verde/test_trace.py -q -p no:cacheprovider`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
from eth_abi import decode as abi_decode

from offchain.commit import TensorCommitment, commit_tensor
from offchain.commit.format import LEAF_BYTES, ZERO_HASHES
from offchain.float32.bits import NEG_INF
from offchain.repops import prims as P
from offchain.verde import ir
from offchain.verde.program import Value

FRONTIER_LEVELS = 4  # the referee's descent: the nodes 4 levels below a node (16-ary; IVerdeReferee.arity)


def zero_subtrees(depth: int) -> list[bytes]:
    """Z_0 .. Z_depth: roots of all-empty trace subtrees of each height."""
    out = [ir.ZERO]
    for _ in range(depth):
        out.append(ir.trace_node(out[-1], out[-1]))
    return out


@dataclass(frozen=True)
class Opening:
    """One element of a slot's tensor with its proof against the slot's tensor root (offchain.commit.ElementProof)."""

    dtype: int  # dtype code (1 float32, 2 int32)
    shape: tuple[int, ...]  # the tensor's shape (the root binds it)
    index: int  # flat row-major element index
    leaf: bytes  # the 32-byte leaf holding the element's word
    siblings: tuple[bytes, ...]  # data-tree siblings, bottom-up

    @property
    def bits(self) -> int:
        """The element's 32 bits, read from the leaf."""
        w = self.index % (LEAF_BYTES // 4)
        return int.from_bytes(self.leaf[4 * w : 4 * w + 4], "big")


class Trace:
    """A program run on one step: out roots, trace entries, S_j, and the proofs of entries and tensor elements."""

    def __init__(self, program: Sequence[ir.Op], values: Sequence[Value], *, step: int,
                 op_hashes: Sequence[bytes] | None = None) -> None:  # fmt: skip
        assert len(program) == len(values), f"{len(values)} values for {len(program)} ops"
        self.program = list(program)
        self.values = list(values)
        self.step = step  # the disputed step (the HEADER's step)
        self.op_hashes = [op.hash for op in self.program] if op_hashes is None else list(op_hashes)
        assert len(self.op_hashes) == len(self.program), "one op hash per op"
        self._commitments: dict[int, TensorCommitment] = {}
        self.out_roots = [v if isinstance(v, bytes) else self.commitment(i).root for i, v in enumerate(self.values)]
        self.entries = [ir.entry(h, r) for h, r in zip(self.op_hashes, self.out_roots, strict=True)]
        self.depth = ir.tree_depth(len(self.program))
        self.levels = ir.tree_levels(self.entries, self.depth)  # full tree over all G entries, leaves first
        self.zero = zero_subtrees(self.depth)

    @property
    def G(self) -> int:  # noqa: N802 - the spec's name
        return len(self.program)

    @cached_property
    def program_root(self) -> bytes:
        return ir.program_root(self.op_hashes)

    @property
    def header(self) -> bytes:
        """out_{G-1}: the step's checkpoint root."""
        return self.out_roots[-1]

    # ------------------------------------------------------------ trace tree

    def _prefix_node(self, height: int, index: int, j: int) -> bytes:
        """Node (height, index) of the tree of S_j (leaves j.. zero)."""
        lo, hi = index << height, (index + 1) << height
        if hi <= j:
            return self.levels[height][index]
        if lo >= j:
            return self.zero[height]
        left = self._prefix_node(height - 1, 2 * index, j)
        return ir.trace_node(left, self._prefix_node(height - 1, 2 * index + 1, j))

    def state_root(self, j: int) -> bytes:
        """S_j for 0 <= j <= G."""
        assert 0 <= j <= self.G, f"S_{j}: j is in 0..{self.G}"
        return self._prefix_node(self.depth, 0, j)

    def entry_proof(self, i: int) -> list[bytes]:
        """Siblings (bottom-up) of leaf i in the tree of S_i; they prove S_i with leaf i ZERO and S_{i+1} with
        entry_i (left siblings are full subtrees below i, right ones are empty in both)."""
        assert 0 <= i < self.G, f"entry {i} outside 0..{self.G - 1}"
        return [self._prefix_node(h, (i >> h) ^ 1, i) for h in range(self.depth)]

    def operand_proofs(self, i: int, j: int) -> list[bytes]:
        """Siblings (bottom-up) proving entry_i against S_j, for i < j (an operand slot of op j)."""
        assert 0 <= i < j <= self.G, f"entry {i} against S_{j}: need i < j <= G"
        return [self._prefix_node(h, (i >> h) ^ 1, j) for h in range(self.depth)]

    # ------------------------------------------------------------ slot tensors

    def commitment(self, slot: int) -> TensorCommitment:
        """The tensor commitment of a tensor-valued slot (tensor ops, LOAD, BATCH)."""
        c = self._commitments.get(slot)
        if c is None:
            v = self.values[slot]
            assert isinstance(v, torch.Tensor), f"slot {slot} ({ir.NAMES[self.program[slot].opcode]}) holds a hash"
            c = self._commitments[slot] = commit_tensor(v)
        return c

    def data_depth(self, slot: int) -> int:
        """Height of the slot's data-tree root (levels above the leaves)."""
        return self.commitment(slot).header.depth

    def node(self, slot: int, height: int, index: int) -> bytes:
        """Data-tree node (height, index) of a slot (ZERO_HASHES[height] where the padding is)."""
        levels = self.commitment(slot).levels
        assert 0 <= height < len(levels), f"height {height} outside the data tree of slot {slot}"
        level = levels[height]
        if (index + 1) * 32 > len(level):
            return ZERO_HASHES[height]
        return level[index * 32 : (index + 1) * 32]

    def frontier(self, slot: int, height: int, index: int, levels: int = FRONTIER_LEVELS) -> list[bytes]:
        """The node hashes `levels` below data-tree node (height, index): 2^levels, or 2^height near the leaves."""
        below = max(height - levels, 0)
        n = 1 << (height - below)
        return [self.node(slot, below, index * n + r) for r in range(n)]

    def leaf(self, slot: int, leaf_index: int) -> bytes:
        """The 32 bytes of data leaf `leaf_index` (8 big-endian words)."""
        c = self.commitment(slot)
        assert 0 <= leaf_index < c.header.num_leaves, f"leaf {leaf_index} outside slot {slot}"
        return c.leaf(leaf_index)

    def leaf_words(self, slot: int, leaf_index: int) -> list[int]:
        """The 8 words of a data leaf."""
        data = self.leaf(slot, leaf_index)
        return [int.from_bytes(data[4 * w : 4 * w + 4], "big") for w in range(LEAF_BYTES // 4)]

    def opening(self, slot: int, flat_index: int) -> Opening:
        """Element `flat_index` of the slot's tensor with its proof against out_roots[slot]."""
        c = self.commitment(slot)
        p = c.element_proof(flat_index)
        return Opening(int(c.header.dtype), c.header.shape, p.index, p.leaf, p.siblings)

    # ------------------------------------------------------------ reductions

    def partial_sums(self, op_index: int, e: int) -> list[int]:
        """acc_0 .. acc_K (float32 bits) of output element e of a reduction op, by the spec's loop.

        acc_0 is +0 (-inf for MAXR); acc_{k+1} folds term k; acc_K is the element's value.
        """
        op = self.program[op_index]
        assert op.opcode in ir.REDUCTIONS, f"op {op_index} ({ir.NAMES[op.opcode]}) is not a reduction"
        c = ir.unravel(e, op.shape)

        def term(i: int, k: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            o = op.operands[i]
            src = self.values[o.slot]
            assert isinstance(src, torch.Tensor)
            return src.reshape(-1)[ir.address(o, c, k)].to(dtype)

        acc = P.const(NEG_INF if op.opcode == ir.MAXR else 0, torch.empty(()))
        out = [_bits(acc)]
        dim = abi_decode(["uint8"], op.attrs)[0] if op.opcode == ir.SCATTER else 0
        for k in range(op.k):
            if op.opcode == ir.SUM:
                acc = P.add(acc, term(0, k))
            elif op.opcode == ir.DOT:
                acc = P.add(acc, P.mul(term(0, k), term(1, k)))
            elif op.opcode == ir.MAXR:
                acc = P.maximum(acc, term(0, k))
            elif int(term(0, k, torch.int32)) == c[dim]:  # SCATTER: operands (idx, x)
                acc = P.add(acc, term(1, k))
            out.append(_bits(acc))
        return out


def _bits(x: torch.Tensor) -> int:
    return int(x.reshape(1).view(torch.int32)[0]) & 0xFFFFFFFF
