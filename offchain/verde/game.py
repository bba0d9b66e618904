"""Challenger and defender clients of the Verde dispute game: each watches one dispute on chain and makes
its party's move whenever it is that party's turn, from its own VerdeTrainer (docs/verde.md).

    agent = DisputeAgent(referee, account, trainer, role="defender", dispute_id=d)
    while not agent.done():
        agent.act()                     # one move if it is our turn (or the leaf, which anyone may resolve)
    play([challenger_agent, defender_agent])   # both in one process, until the dispute resolves

An agent never trusts the other side: it compares with its own trace, and a defender's revealed values
(the challenger repeats them in its answer) are read back from the referee's `ValuesRevealed` events.
Steps, OpTrace, Descent and Reduction are one move, `narrow`: the party's values at the referee's `positions`
(roots, trace state roots, partial sums) or the nodes below its current node (docs/verde.md, "Arity").
A move the referee refuses is logged once with the contract's error (RefereeClockExpired, RefereeBadProof, ..)
and not sent again while the dispute stands where it stood: the same call would be refused the same way.
`Liar` makes an agent answer bisection moves with made-up roots (for tests of the honest side).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth_abi import decode as abi_decode

from offchain.chain import client
from offchain.chain.reverts import describe_revert
from offchain.commit import commit_checkpoint
from offchain.verde import ir, recipes
from offchain.verde.job import VerdeJob, batch_hash
from offchain.verde.program import build_program, op_hashes
from offchain.verde.trace import Trace
from offchain.verde.trainer import VerdeTrainer

# IVerdeTypes.Phase / Party (uint8 enums)
NONE, STEPS, OP_TRACE, OUTPUT, DESCENT, REDUCTION, LEAF, COMMITTEE, RESOLVED = range(9)
PHASES = ("None", "Steps", "OpTrace", "Output", "Descent", "Reduction", "Leaf", "Committee", "Resolved")
CHALLENGER, DEFENDER = 1, 2
EMPTY_OPENING = (0, [], 0, ir.ZERO, [])
EMPTY_REF = (ir.ZERO, ir.ZERO, [])


@dataclass
class Liar:
    """Bisection answers made up from `seed`: a liar cannot back them with proofs later, so it loses."""

    seed: int = 1
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def root(self) -> bytes:
        return self.rng.randbytes(32)


@functools.lru_cache(maxsize=8)
def _data_tree(job: VerdeJob) -> tuple[list[bytes], int, list[list[bytes]]]:
    """(batch leaves, depth, levels) of a job's data tree; every agent of a job needs the same one."""
    leaves = [batch_hash(job.batch(t)) for t in range(1, job.steps + 1)]
    depth = ir.tree_depth(len(leaves))
    return leaves, depth, ir.tree_levels(leaves, depth)


@functools.lru_cache(maxsize=8)
def program_of(job: VerdeJob) -> Program:
    """The job's program with its trees, built once per job: the posted JobParams, every check of a spec and
    every dispute agent of the job share it."""
    return Program(job)


class Program:
    """A job's program with its Merkle tree and its data tree: what a job is posted with (JobParams).
    Get it with `program_of(job)`."""

    def __init__(self, job: VerdeJob) -> None:
        self.ops = build_program(job)
        self.op_hashes = op_hashes(job)
        self.depth = ir.tree_depth(len(self.ops))
        self.levels = ir.tree_levels(self.op_hashes, self.depth)
        self.batch_leaves, self.data_depth, self.data_levels = _data_tree(job)

    @property
    def tree(self) -> bytes:
        return self.levels[-1][0]

    @property
    def data_tree(self) -> bytes:
        return self.data_levels[-1][0]

    def proof(self, i: int) -> list[bytes]:
        return ir.tree_proof(self.levels, i)

    @property
    def job_fields(self) -> tuple[bytes, bytes, int]:
        """(programTree, dataTree, numOps): the last three JobParams fields, fixed when the job is posted."""
        return self.tree, self.data_tree, len(self.ops)


class DisputeAgent:
    """Plays one side of one dispute from a trainer's own computation."""

    def __init__(
        self,
        referee,
        account,
        trainer: VerdeTrainer,
        *,
        role: str,
        dispute_id: int,
        liar: Liar | None = None,
        log: Callable[[str], None] | None = None,
        from_block: int | None = None,
    ) -> None:
        assert role in ("challenger", "defender"), role
        self.referee = referee
        self.account = account
        self.trainer = trainer
        self.me = CHALLENGER if role == "challenger" else DEFENDER
        self.role = role
        self.dispute_id = dispute_id
        self.liar = liar
        self.log = log or (lambda _msg: None)
        self.program = program_of(trainer.job)
        self._traces: dict[int, Trace] = {}
        self._states: dict[int, dict] = {}
        # The dispute's events are all from its opening on: a fresh dispute's is now, a resumed one's is given.
        self.from_block = _head_block() if from_block is None else from_block
        self.receipts: list = []
        self.rejected: list = []  # moves the referee refused
        self._refused_at: tuple | None = None  # the dispute's position when our last move was refused
        self.descent_levels = int(referee.arity().descent).bit_length() - 1  # levels below a node per move

    # ------------------------------------------------------------ state

    def dispute(self):
        return self.referee.disputeOf(self.dispute_id)

    def done(self) -> bool:
        return self.dispute().phase == RESOLVED

    def trace(self, step: int) -> Trace:
        if step not in self._traces:
            self._traces[step] = self.trainer.replay(step)
        return self._traces[step]

    def state(self, step: int) -> dict:
        """The trainer's state after `step` (recomputing it costs up to a checkpoint interval of steps)."""
        if step not in self._states:
            self._states[step] = self.trainer.state(step)
        return self._states[step]

    def _send(self, what: str, fn, *args, **kw):
        receipt = fn(*args, sender=self.account, **kw)
        self.receipts.append(receipt)
        self.log(f"{self.role:<10} {what:<48} gas {receipt.gas_used:>8,}")
        return receipt

    # ------------------------------------------------------------ moves

    def act(self) -> bool:
        """Make our move if it is our turn (anyone's, in the Leaf phase); True if a transaction went through.

        A move the referee refuses (a liar that cannot back its claims, a clock run out, the other side
        resolving the leaf first) is logged with the contract's error and not sent again until the dispute
        has moved on; if it never does, the side to move runs out of time and loses by `timeout`.
        """
        d = self.dispute()
        position = _position(d)
        if position == self._refused_at:
            return False
        try:
            return self._act(d)
        except client.TransactionError as err:
            self.rejected.append(err)
            self._refused_at = position
            if self.dispute().phase == RESOLVED:  # a race lost (both sides may resolve the leaf): nothing wrong
                self.log(f"{self.role:<10} move not needed: the dispute was resolved first ({describe_revert(err)})")
            else:
                self.log(f"{self.role:<10} move refused: {describe_revert(err)}")
            return False

    def _act(self, d) -> bool:
        if d.phase in (RESOLVED, COMMITTEE, NONE):
            return False
        if d.phase == LEAF:
            return self._resolve(d)
        if d.turn != self.me:
            return False
        if d.phase == STEPS:
            return self._steps(d)
        if d.phase == OP_TRACE:
            return self._op_trace(d)
        if d.phase == OUTPUT:
            return self._output(d)
        if d.phase == DESCENT:
            return self._descent(d)
        return self._reduction(d)

    def _narrow(self, what: str, d, values: list[bytes], phase: int) -> bool:
        """One narrowing move: our values; the challenger also repeats the defender's (from its event), but for a
        round of one value, which the referee kept as it is and which goes as `narrowOne` (less calldata)."""
        if len(values) == 1:
            self._send(what, self.referee.narrowOne, self.dispute_id, values[0])
            return True
        other = self._defender_values(phase) if self.me == CHALLENGER else []
        self._send(what, self.referee.narrow, self.dispute_id, values, other)
        return True

    def _steps(self, d) -> bool:
        pos = list(self.referee.positions(self.dispute_id))
        roots = [self.liar.root() if self.liar else self.trainer.roots[p] for p in pos]
        return self._narrow(f"narrow steps {_show(pos)} in ({d.lo}, {d.hi}]", d, roots, STEPS)

    def _op_trace(self, d) -> bool:
        tr = self.trace(d.step)
        g = tr.G
        if not d.tracesCommitted:
            self._send(
                f"commitTrace step {d.step} (G = {g})",
                self.referee.commitTrace,
                self.dispute_id,
                tr.state_root(g),
                tr.op_hashes[g - 1],
                self.program.proof(g - 1),
                tr.operand_proofs(g - 1, g),
            )
            return True
        pos = list(self.referee.positions(self.dispute_id))
        roots = [self.liar.root() if self.liar else tr.state_root(p) for p in pos]
        return self._narrow(f"narrow ops {_show(pos)} in ({d.lo}, {d.hi}]", d, roots, OP_TRACE)

    def _output(self, d) -> bool:
        tr = self.trace(d.step)
        i = d.opIndex
        op = tr.program[i]
        data_root = tr.commitment(i).data_root if op.opcode in ir.TENSOR_OPS else ir.ZERO
        self._send(
            f"revealOp {i} {ir.NAMES[op.opcode]} ({op.note})",
            self.referee.revealOp,
            self.dispute_id,
            op.encode(),
            tr.out_roots[i],
            data_root,
            self.program.proof(i),
            tr.entry_proof(i),
        )
        return True

    def _defender_values(self, phase: int) -> list[bytes]:
        logs = list(
            self.referee.ValuesRevealed.range(
                self.from_block, _head_block() + 1, search_topics={"disputeId": self.dispute_id}
            )
        )
        mine = [log for log in logs if log.party == DEFENDER and log.phase == phase]
        return list(mine[-1].values) if mine else []

    def _descent(self, d) -> bool:
        tr = self.trace(d.step)
        slot = d.opIndex
        if d.height > 0:
            children = tr.frontier(slot, d.height, d.node, self.descent_levels)
            return self._narrow(f"narrow descent height {d.height} node {d.node}", d, children, DESCENT)
        return self._narrow(f"narrow leaf {d.node}", d, [_leaf_or_zero(tr, slot, d.node)], DESCENT)

    def _reduction(self, d) -> bool:
        tr = self.trace(d.step)
        pos = list(self.referee.positions(self.dispute_id))
        sums = tr.partial_sums(d.opIndex, d.element)
        values = [sums[p].to_bytes(32, "big") for p in pos]
        return self._narrow(f"narrow partials {_show(pos)} element {d.element} in ({d.lo}, {d.hi}]", d, values,
                            REDUCTION)  # fmt: skip

    # ------------------------------------------------------------ leaf

    def _refs(self, tr: Trace, i: int, op: ir.Op) -> list:
        refs = []
        for o in op.operands:
            if o.is_const:
                refs.append(EMPTY_REF)
            else:
                refs.append((tr.op_hashes[o.slot], tr.out_roots[o.slot], tr.operand_proofs(o.slot, i)))
        return refs

    def _openings(self, tr: Trace, op: ir.Op, e: int, k: int | None) -> list:
        def read_idx(addr: int) -> int:
            return tr.opening(op.operands[1].slot, addr).bits

        openings = [EMPTY_OPENING] * len(op.operands)
        for i, addr in recipes.reads(op, e, k, read_idx):
            o = tr.opening(op.operands[i].slot, addr)
            openings[i] = (o.dtype, list(o.shape), o.index, o.leaf, list(o.siblings))
        return openings

    def _resolve(self, d) -> bool:
        tr = self.trace(d.step)
        i = d.opIndex
        op = tr.program[i]
        desc = op.encode()
        name = ir.NAMES[op.opcode]
        if op.opcode in ir.REDUCTIONS or op.opcode in ir.ELEMENTWISE or op.opcode in ir.MOVEMENT:
            k = d.lo if op.opcode in ir.REDUCTIONS else None
            what = f"resolveElement {name} element {d.element}" + (f" term {k}" if k is not None else "")
            self._send(
                what,
                self.referee.resolveElement,
                self.dispute_id,
                desc,
                self._refs(tr, i, op),
                self._openings(tr, op, d.element, k),
            )
        elif op.opcode in (ir.NAMED, ir.NODE, ir.HEADER):
            refs = self._refs(tr, i, op)
            self._send(f"resolveHashOp {name}", self.referee.resolveHashOp, self.dispute_id, desc, refs)
        elif op.opcode == ir.LOAD:
            name_ = abi_decode(["string"], op.attrs)[0]
            step = d.step - 1
            state = self.state(step)
            h = ir.ZERO if step == 0 else batch_hash(self.trainer.job.batch(step))
            ck = commit_checkpoint(state, step=step, batch_hash=h)
            proof = ck.tensor_proof(name_)
            header = (ck.header.tensors_root, ck.header.tensor_count, ck.header.step, ck.header.batch_hash)
            self._send(
                f"resolveLoad {name_}",
                self.referee.resolveLoad,
                self.dispute_id,
                desc,
                header,
                proof.tensor_root,
                proof.index,
                list(proof.siblings),
            )
        else:  # BATCH
            batch = self.trainer.job.batch(d.step)
            roots = [_tensor_root(t) for t in batch]
            proof = ir.tree_proof(self.program.data_levels, d.step - 1)
            self._send(f"resolveBatch step {d.step}", self.referee.resolveBatch, self.dispute_id, desc, roots, proof)
        return True


def _position(d) -> tuple:
    """Where a dispute stands: any accepted move changes it (the count of moves at least)."""
    return (int(d.phase), int(d.turn), int(d.moves))


def _tensor_root(t) -> bytes:
    from offchain.commit import tensor_root

    return tensor_root(t)


def _leaf_or_zero(tr: Trace, slot: int, leaf_index: int) -> bytes:
    c = tr.commitment(slot)
    return c.leaf(leaf_index) if leaf_index < c.header.num_leaves else ir.ZERO


def _head_block() -> int:
    return client.head_number()


def _show(pos: Sequence[int]) -> str:
    """Positions in a move's log line: all of a few, else the first and last."""
    return ",".join(map(str, pos)) if len(pos) <= 3 else f"{pos[0]},..,{pos[-1]} ({len(pos)})"


def play(agents: Sequence[DisputeAgent], *, max_moves: int = 500) -> int:
    """Let the agents of one dispute move in turn until it is resolved (or no one can move); returns moves."""
    moves = 0
    while moves < max_moves:
        if agents[0].done():
            return moves
        moved = False
        for a in agents:
            if a.act():
                moves += 1
                moved = True
                break
        if not moved:
            return moves
    raise RuntimeError(f"dispute {agents[0].dispute_id} still open after {max_moves} moves")
