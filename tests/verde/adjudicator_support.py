"""Helpers for the OpAdjudicator tests: slot tensors with their commitments, openings, and the cases per opcode.

A `Case` is one op over real tensors (numpy float32/int32, edge values included) with the fast torch result
(offchain/repops/prims) of the whole output; `args` turns one output element (or reduction term) into the
contract's (roots, openings) exactly as recipes.reads says, and `read` feeds recipes.py the same elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from offchain.commit import TensorCommitment, commit_tensor
from offchain.float32.bits import floats
from offchain.repops import prims
from offchain.verde import ir, recipes

F32, I32 = ir.FLOAT32, ir.INT32
ZERO = bytes(32)
EMPTY_OPENING = (0, [], 0, ZERO, [])  # the placeholder for an operand that is CONST or not read

# float32 edge values: zeros, subnormals, normal extremes, infinities, NaNs (a non-canonical one too)
EDGE_BITS = [
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x00400000, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
    0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x3F800000, 0xBF800000, 0x42B20000, 0xC2D00000, 0x42B40000,
    0xC2D20000, 0x3E99999A, 0x3E999999, 0x3FB504F3, 0x4B400000, 0x358637BD,
]  # fmt: skip


def bits_of(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Flat uint32 patterns of a float32 or int32 array/tensor."""
    if isinstance(x, torch.Tensor):
        x = x.detach().contiguous().numpy()
    return np.ascontiguousarray(x).reshape(-1).view(np.uint32)


def mixed(rng: np.random.Generator, shape: tuple[int, ...], *, scale: float = 4.0) -> np.ndarray:
    """Random float32 values of moderate size with edge values planted at random places."""
    n = int(np.prod(shape))
    x = (rng.standard_normal(n) * scale).astype(np.float32)
    plant = rng.choice(n, size=min(n, len(EDGE_BITS)), replace=False)
    x[plant] = floats(rng.choice(EDGE_BITS, size=len(plant)))
    return x.reshape(shape)


def strides_of(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides of a contiguous tensor."""
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= d
    return tuple(reversed(out))


@dataclass
class Case:
    """One op over committed slot tensors, and the fast torch result of its whole output."""

    name: str
    op: ir.Op
    slots: dict[int, np.ndarray]  # slot -> row-major tensor (float32 or int32)
    expected: np.ndarray  # flat uint32 bits of the whole output (torch fast path)
    commits: dict[int, TensorCommitment] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.commits = {s: commit_tensor(np.ascontiguousarray(t)) for s, t in self.slots.items()}

    @property
    def desc(self) -> bytes:
        return self.op.encode()

    def read(self, i: int, addr: int) -> int:
        """recipes.Read: element `addr` of operand i's slot tensor."""
        return int(bits_of(self.slots[self.op.operands[i].slot])[addr])

    def opening(self, i: int, addr: int) -> tuple:
        """Operand i's opening of element `addr` (as the contract's Opening tuple)."""
        c = self.commits[self.op.operands[i].slot]
        p = c.element_proof(addr)
        return (int(c.header.dtype), list(c.header.shape), p.index, p.leaf, list(p.siblings))

    def roots(self) -> list[bytes]:
        return [ZERO if o.is_const else self.commits[o.slot].root for o in self.op.operands]

    def args(self, e: int, k: int | None = None) -> tuple[list[bytes], list[tuple]]:
        """(roots, openings) for output element e (term k of a reduction), opening what recipes.reads lists."""
        openings = [EMPTY_OPENING] * len(self.op.operands)
        idx_slot = lambda addr: self.read(1, addr)  # noqa: E731 (GATHER's idx is operand 1)
        for i, addr in recipes.reads(self.op, e, k, read_idx=idx_slot):
            openings[i] = self.opening(i, addr)
        return self.roots(), openings


def view(slot: int, strides: tuple[int, ...], offset: int = 0) -> ir.Operand:
    return ir.Operand(slot, offset, strides)


def fast(fn, *xs: np.ndarray) -> np.ndarray:
    """Bits of a prims function applied to whole float32 tensors."""
    return bits_of(fn(*[torch.from_numpy(np.ascontiguousarray(x)) for x in xs]))


def t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def build_cases(seed: int = 7) -> list[Case]:
    """One case (or a few layouts) per tensor opcode, on (4, 8)-sized tensors with edge values."""
    rng = np.random.default_rng(seed)
    a = mixed(rng, (4, 8))
    b = mixed(rng, (4, 8))
    row = mixed(rng, (8,))
    ct = mixed(rng, (8, 4))  # read transposed
    pos = np.abs(mixed(rng, (4, 8)))
    c4 = 0x40200000  # 2.5
    full = (8, 1)
    cases = [
        Case("ADD", ir.Op(ir.ADD, F32, (4, 8), 0, (view(0, full), view(1, full))), {0: a, 1: b},
             fast(prims.add, a, b)),
        Case("SUB const", ir.Op(ir.SUB, F32, (4, 8), 0, (view(0, full), ir.const(c4))), {0: a},
             fast(lambda x: prims.sub(x, prims.const(c4, x)), a)),
        Case("MUL broadcast row", ir.Op(ir.MUL, F32, (4, 8), 0, (view(0, full), view(1, (0, 1)))), {0: a, 1: row},
             fast(prims.mul, a, row)),
        Case("DIV transposed", ir.Op(ir.DIV, F32, (4, 8), 0, (view(0, full), view(1, (1, 4)))), {0: a, 1: ct},
             bits_of(prims.div(t(a), t(ct).T))),
        Case("NEG", ir.Op(ir.NEG, F32, (4, 8), 0, (view(0, full),)), {0: a}, fast(prims.neg, a)),
        Case("SQRT", ir.Op(ir.SQRT, F32, (4, 8), 0, (view(0, full),)), {0: a}, fast(prims.sqrt, a)),
        Case("EXP", ir.Op(ir.EXP, F32, (4, 8), 0, (view(0, full),)), {0: a}, fast(prims.exp, a)),
        Case("LOG", ir.Op(ir.LOG, F32, (4, 8), 0, (view(0, full),)), {0: pos}, fast(prims.log, pos)),
        Case("LOG signed", ir.Op(ir.LOG, F32, (4, 8), 0, (view(0, full),)), {0: a}, fast(prims.log, a)),
        Case("TANH", ir.Op(ir.TANH, F32, (4, 8), 0, (view(0, full),)), {0: a}, fast(prims.tanh, a)),
        Case("MAX", ir.Op(ir.MAX, F32, (4, 8), 0, (view(0, full), view(1, full))), {0: a, 1: b},
             fast(prims.maximum, a, b)),
    ]  # fmt: skip
    cond = rng.choice(np.array([0, 1, -3, 0], dtype=np.int32), size=(4, 8))
    cases.append(
        Case("WHERE", ir.Op(ir.WHERE, F32, (4, 8), 0, (view(2, full), view(0, full), view(1, full))),
             {0: a, 1: b, 2: cond}, bits_of(prims.canon(torch.where(t(cond) != 0, t(a), t(b)))))
    )  # fmt: skip
    # reductions: SUM over each axis, MAXR, DOT as a (3, 5) x (5, 4) matmul, SCATTER as the embedding backward
    ma, mb = mixed(rng, (3, 5), scale=2.0), mixed(rng, (5, 4), scale=2.0)
    sum_rows, sum_cols = fast(lambda x: prims.asc_sum(x, 1), a), fast(lambda x: prims.asc_sum(x, 0), a)
    cases += [
        Case("SUM rows", ir.Op(ir.SUM, F32, (4,), 8, (view(0, (8, 1)),)), {0: a}, sum_rows),
        Case("SUM cols", ir.Op(ir.SUM, F32, (8,), 4, (view(0, (1, 8)),)), {0: a}, sum_cols),
        Case("MAXR", ir.Op(ir.MAXR, F32, (4,), 8, (view(0, (8, 1)),)), {0: a}, fast(lambda x: prims.asc_max(x, 1), a)),
        Case("DOT", ir.Op(ir.DOT, F32, (3, 4), 5, (view(0, (5, 0, 1)), view(1, (0, 1, 4)))), {0: ma, 1: mb},
             fast(prims.matmul, ma, mb)),
    ]  # fmt: skip
    n_pos, vocab, width = 6, 5, 3
    idx = np.array([2, 0, 2, 4, -1, 7], dtype=np.int32)  # a negative and an out-of-range index match nothing
    g = mixed(rng, (n_pos, width))
    cases.append(
        Case("SCATTER", ir.Op(ir.SCATTER, F32, (vocab, width), n_pos, (view(0, (0, 0, 1)), view(1, (0, 1, width))),
                              ir.attrs_uint8(0)),
             {0: idx, 1: g}, bits_of(_scatter_fast(idx, g, vocab)))
    )  # fmt: skip
    # movement
    w = mixed(rng, (vocab, width))
    gidx = np.array([3, 0, 4, 4, 1, 2], dtype=np.int32)
    iv = rng.integers(-(2**31), 2**31, size=(4, 8), dtype=np.int64).astype(np.int32)
    cases += [
        Case("COPY transpose", ir.Op(ir.COPY, F32, (8, 4), 0, (view(0, (1, 8)),)), {0: a}, bits_of(t(a).T)),
        Case("COPY int32", ir.Op(ir.COPY, I32, (4, 8), 0, (view(0, full),)), {0: iv}, bits_of(iv)),
        Case("GATHER", ir.Op(ir.GATHER, F32, (n_pos, width), 0, (view(0, (0, 1)), view(1, (1, 0))),
                             ir.attrs_int64(width)), {0: w, 1: gidx}, bits_of(t(w)[t(gidx).long()])),
        Case("EQCOORD", ir.Op(ir.EQCOORD, F32, (n_pos, vocab), 0, (view(0, (1, 0)),), ir.attrs_uint8(1)),
             {0: idx}, bits_of((t(idx)[:, None] == torch.arange(vocab)).to(torch.float32))),
        Case("ARANGE", ir.Op(ir.ARANGE, I32, (6,)), {}, bits_of(torch.arange(6, dtype=torch.int32))),
        Case("TRIL", ir.Op(ir.TRIL, I32, (4, 4)), {}, bits_of(torch.tril(torch.ones(4, 4, dtype=torch.int32)))),
    ]  # fmt: skip
    left, right = mixed(rng, (4, 3)), mixed(rng, (4, 3))
    cases.append(
        Case("CAT", ir.Op(ir.CAT, F32, (4, 6), 0, (view(0, (3, 1)), view(1, (3, 1), offset=-3)), ir.attrs_cat(1, 3)),
             {0: left, 1: right}, bits_of(torch.cat([t(left), t(right)], dim=1)))
    )  # fmt: skip
    return cases


def _scatter_fast(idx: np.ndarray, g: np.ndarray, vocab: int) -> np.ndarray:
    """The embedding backward with torch index_add_ in ascending position order (the fast kernel's schedule)."""
    out = torch.zeros(vocab, g.shape[1], dtype=torch.float32)
    for i, v in enumerate(idx.tolist()):
        if 0 <= v < vocab:
            out[v] = prims.add(out[v], t(g[i]))
    return out.numpy()
