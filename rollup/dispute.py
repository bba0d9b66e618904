"""Output disputes played unattended, from the chain a party derived: the verifier challenging a wrong output, or
a proposer defending its own (contracts/rollup/OutputDispute.sol; docs/rollup.md, "Output disputes").

    view = ChainView(chain)                                  # the roots, headers and witnesses of our L2
    player = Player(l1, game_address, key, view)
    dispute_id = player.challenge(output_index)              # bonds CHALLENGER_BOND
    while ...: player.play()                                 # every move that is ours, as the game asks for it

A `Player` reads the game's state (`disputeOf`, `positions`, the defender's `RootsPosted`) and answers from its
view whatever side it is on; it claims a win by `timeout` when the other side's clock runs out, and withdraws the
bonds it is owed. `ChainView` answers from a real L2Chain (the state roots after each transaction and the witness
of one step are rollup/replay.py's); `LyingView` is the same chain with one storage slot wrong from one block on:
the wrong output a faulty or dishonest proposer would post, and the lie a dishonest challenger would tell. Both
have the method names of rollup/dispute_play.py's ToyL2, so its two-sided `Game` driver plays them too.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import rlp
from eth.abc import BlockHeaderAPI
from eth_utils import keccak
from trie import HexaryTrie
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD

from rollup.abi import contract_abi
from rollup.chain import L2Chain
from rollup.dispute_play import Kind, Party, Phase, first_disagreement, transact
from rollup.output import MESSAGE_PASSER, OUTPUT_VERSION, output_at, output_root, storage_root

log = logging.getLogger("rollup.dispute")


class ChainView:
    """What an honest party says about blocks of `chain`: their output roots and preimages, headers, and the state
    roots after each transaction of a block with the transaction and witness of each step."""

    def __init__(self, chain: L2Chain) -> None:
        self.chain = chain
        self._steps = cache(self._step_roots)

    def _header(self, b: int) -> BlockHeaderAPI:
        header = self.chain.header(b)
        if header is None:
            raise LookupError(f"block {b} is not in this chain (head #{self.chain.head.block_number})")
        return header

    def _step_roots(self, b: int) -> list[bytes]:
        from rollup.replay import step_roots

        return step_roots(self.chain, b)

    def tx_count(self, b: int) -> int:
        return len(self.chain.block(self._header(b)).transactions)

    def steps(self, b: int) -> int:
        return max(self.tx_count(b), 1)

    def state_root(self, b: int, j: int) -> bytes:
        """The state root after the first `j` transactions of block `b` (j = 0: the parent's)."""
        return self._steps(b)[j]

    def final_state(self, b: int) -> bytes:
        return self._header(b).state_root

    def passer_root(self, b: int) -> bytes:
        return storage_root(self.chain, self._header(b), MESSAGE_PASSER)

    def transaction(self, b: int, i: int) -> bytes:
        from rollup.replay import step_transaction

        return step_transaction(self.chain, b, i)

    def witness(self, b: int, i: int) -> bytes:
        from rollup.replay import step_witness

        return step_witness(self.chain, b, i)

    def header(self, b: int) -> bytes:
        return rlp.encode(self._header(b))

    def block_hash(self, b: int) -> bytes:
        return self._header(b).hash

    def preimage(self, b: int) -> tuple[bytes, bytes, bytes, bytes]:
        return (OUTPUT_VERSION, self.final_state(b), self.passer_root(b), self.block_hash(b))

    def output_root(self, b: int) -> bytes:
        return output_at(self.chain, self._header(b)).root


class LyingView(ChainView):
    """`chain` with storage slot `slot` of `address` set to `value` in the state after block `bad` and every later
    block: its state roots, headers (re-hashed, chained) and output roots from `bad` on are wrong, and each lie
    first shows after the last transaction of block `bad`. Nothing is written to the chain's store."""

    def __init__(self, chain: L2Chain, bad: int, address: bytes, slot: int, value: int) -> None:
        super().__init__(chain)
        self.bad, self.address, self.slot, self.value = bad, address, slot, value
        self._states = cache(self._lying_state)

    def _lying_state(self, b: int) -> Any:
        state = self.chain.state(self._header(b))  # a fresh state object: its writes stay in memory
        state.set_storage(self.address, self.slot, self.value)
        state.make_state_root()
        return state

    def _lie(self, b: int) -> tuple[bytes, bytes]:
        """(state root, message passer root) of block `b` with the wrong slot."""
        state = self._states(b)
        return state.state_root, state._account_db._get_account(MESSAGE_PASSER).storage_root  # no public getter

    def passer_proof(self, b: int, slot: int) -> list[bytes]:
        """A storage proof of the message passer's `slot` in the lying state of block `b` (what a dishonest proposer
        shows the portal to withdraw what was never sent), RLP nodes as eth_getProof gives them."""
        state = self._states(b)
        lookup = state._account_db._account_stores[MESSAGE_PASSER]._storage_lookup  # its new nodes are only here
        trie = HexaryTrie(lookup._trie_nodes_batch, self.passer_root(b))
        return [rlp.encode(node) for node in trie.get_proof(keccak(slot.to_bytes(32, "big")))]

    def state_root(self, b: int, j: int) -> bytes:
        if b < self.bad or (b == self.bad and j < self.steps(b)):
            return super().state_root(b, j)
        if j == self.steps(b):
            return self.final_state(b)
        return keccak(self.final_state(b - 1) + j.to_bytes(4, "big"))  # any root but the honest one

    def final_state(self, b: int) -> bytes:
        return super().final_state(b) if b < self.bad else self._lie(b)[0]

    def passer_root(self, b: int) -> bytes:
        return super().passer_root(b) if b < self.bad else self._lie(b)[1]

    def _fake_header(self, b: int) -> BlockHeaderAPI:
        real = self._header(b)
        if b < self.bad:
            return real
        return real.copy(state_root=self.final_state(b), parent_hash=self.block_hash(b - 1))

    def header(self, b: int) -> bytes:
        return rlp.encode(self._fake_header(b))

    def block_hash(self, b: int) -> bytes:
        return super().block_hash(b) if b < self.bad else keccak(self.header(b))

    def output_root(self, b: int) -> bytes:
        if b < self.bad:
            return super().output_root(b)
        return output_root(self.final_state(b), self.passer_root(b), self.block_hash(b))


LOG_RANGE = 10_000  # L1 blocks per eth_getLogs request (public nodes cap the range)


def game_logs(game: Any, event: str, first: int, last: int, dispute_id: int | None = None) -> list[Any]:
    """The game's `event` logs in L1 blocks first..last (of one dispute if given), read LOG_RANGE blocks at a time."""
    filters = {"disputeId": dispute_id} if dispute_id is not None else None
    out: list[Any] = []
    for start in range(first, last + 1, LOG_RANGE):
        end = min(start + LOG_RANGE - 1, last)
        out += getattr(game.events, event).get_logs(argument_filters=filters, from_block=start, to_block=end)
    return out


def game_contract(l1: Web3, address: str) -> Any:
    return l1.eth.contract(address=Web3.to_checksum_address(address), abi=contract_abi("OutputDispute"),
                           decode_tuples=True)  # fmt: skip


class Player:
    """One party's moves in every dispute it is in (as challenger, or as the proposer of the disputed output)."""

    def __init__(self, l1: Web3, game: str, key: Any, view: Any, *, from_block: int = 0, say=log.info) -> None:
        self.l1 = l1
        self.game = game_contract(l1, game)
        self.key = key
        self.view = view
        self.say = say
        self.from_block = from_block  # the game's deployment: no log of it comes before
        self.scanned = from_block - 1  # DisputeOpened logs read up to this L1 block
        self.disputes: dict[int, str] = {}  # id -> our side ("challenger" / "defender"), until settled
        self.settled: dict[int, Any] = {}  # id -> the final Dispute struct

    # Opening

    def challenge(self, output_index: int) -> int:
        bond = self.game.functions.CHALLENGER_BOND().call()
        receipt = self._send("openDispute", output_index, value=bond, check=True)
        (event,) = self.game.events.DisputeOpened().process_receipt(receipt, errors=DISCARD)  # the oracle logs too
        dispute_id = event.args.disputeId
        self.disputes[dispute_id] = "challenger"
        self.say(f"dispute {dispute_id}: challenged output {output_index} (blocks {event.args.lo}..{event.args.hi}]")
        return dispute_id

    # Playing

    def play(self) -> list[str]:
        """Every move that is ours now, in every dispute we are in; what was done, one line each."""
        self._discover()
        done: list[str] = []
        for dispute_id in sorted(self.disputes):
            for _ in range(64):  # a side may move several times in a row (pick, then reveal...)
                if dispute_id not in self.disputes:  # settled
                    break
                news = self.move(dispute_id)
                if news is None:
                    break
                done.append(news)
                self.say(news)
        return done

    def _discover(self) -> None:
        head = self.l1.eth.block_number
        if head <= self.scanned:
            return
        me = self.key.address
        for event in game_logs(self.game, "DisputeOpened", self.scanned + 1, head):
            side = "challenger" if event.args.challenger == me else "defender" if event.args.proposer == me else None
            if side is not None and event.args.disputeId not in self.settled:
                self.disputes.setdefault(event.args.disputeId, side)
        self.scanned = head

    def move(self, dispute_id: int) -> str | None:
        """Our next move in `dispute_id` if it is ours to make now (None when waiting on the other side)."""
        d = self.game.functions.disputeOf(dispute_id).call()
        side = Party.CHALLENGER if self.disputes[dispute_id] == "challenger" else Party.DEFENDER
        if d.phase == Phase.RESOLVED:
            return self._settle(dispute_id, d)
        if d.phase == Phase.COMMITTEE:
            return self._try(dispute_id, "timeout", "the committee's clock ran out: expired")
        if d.turn != side:
            return self._try(dispute_id, "timeout", "the other side's clock ran out: won by timeout")
        b = d.l2Block
        if d.phase in (Phase.BLOCKS, Phase.TRANSACTIONS):
            positions = list(self.game.functions.positions(dispute_id).call())
            if side == Party.DEFENDER:
                roots = [self._root(d.phase, b, p) for p in positions]
                self._send("postRoots", dispute_id, roots)
                return f"dispute {dispute_id}: posted {len(roots)} roots over ({d.lo}, {d.hi}]"
            head = self.l1.eth.block_number
            (posted,) = game_logs(self.game, "RootsPosted", self.from_block, head, dispute_id)[-1:]
            roots = list(posted.args.roots)
            piece = first_disagreement([self._root(d.phase, b, p) for p in positions], roots)
            self._send("pick", dispute_id, piece, roots)
            return f"dispute {dispute_id}: picked piece {piece} of ({d.lo}, {d.hi}]"
        if d.phase == Phase.BLOCK:
            if side == Party.DEFENDER:
                v = self.view
                self._send("revealBlock", dispute_id, v.preimage(b - 1), v.preimage(b), v.header(b), v.tx_count(b))
                return f"dispute {dispute_id}: revealed block {b}"
            mine = self.view.final_state(b)
            if mine != bytes(d.disputedRoot):
                self._send("disputeTransactions", dispute_id, mine)
                return f"dispute {dispute_id}: block {b}'s state root is wrong; bisecting its transactions"
            self._send("disputeBlock", dispute_id)
            return f"dispute {dispute_id}: block {b}'s state root agrees; disputing the rest of the block"
        if d.phase == Phase.EVIDENCE:
            return self._evidence(dispute_id, d, side)
        return None

    def _root(self, phase: int, b: int, p: int) -> bytes:
        return self.view.output_root(p) if phase == Phase.BLOCKS else self.view.state_root(b, p)

    def _evidence(self, dispute_id: int, d: Any, side: int) -> str:
        b, i = d.l2Block, d.txIndex
        if d.kind == Kind.BLOCK:
            post = bytes(d.blockOutputRoot) if side == Party.DEFENDER else self.view.output_root(b)
            tx, witness = b"", b""
        else:
            post = bytes(d.disputedRoot) if side == Party.DEFENDER else self.view.state_root(b, i + 1)
            tx = self.view.transaction(b, i)
            witness = self.view.witness(b, i)
        self._send("postEvidence", dispute_id, post, tx, witness)
        return f"dispute {dispute_id}: evidence for step {i} of block {b} posted ({len(witness)} bytes of witness)"

    def _settle(self, dispute_id: int, d: Any) -> str:
        self.settled[dispute_id] = d
        del self.disputes[dispute_id]
        winner = {Party.CHALLENGER: "challenger", Party.DEFENDER: "defender"}.get(d.winner, "nobody (expired)")
        credit = self.game.functions.bondCredit(self.key.address).call()
        if credit:
            self._send("withdrawBond")
        # A won challenge also credits the proposer's bond, held by the oracle.
        oracle = self.l1.eth.contract(address=self.game.functions.oracle().call(), abi=contract_abi("L2OutputOracle"))
        owed = oracle.functions.credit(self.key.address).call()
        if owed:
            transact(oracle, "claim", sender=self.key)
        return f"dispute {dispute_id}: resolved, {winner} won; {credit + owed} wei of bonds withdrawn"

    def _try(self, dispute_id: int, method: str, news: str) -> str | None:
        """Send `method` only if the game would take it now (asked first with a call)."""
        try:
            getattr(self.game.functions, method)(dispute_id).call({"from": self.key.address})
        except (ContractCustomError, ContractLogicError):
            return None
        self._send(method, dispute_id)
        return f"dispute {dispute_id}: {news}"

    def _send(self, method: str, *args: Any, value: int = 0, check: bool = False) -> Any:
        if check:  # a refusal read from the game's custom error, before any gas is spent
            getattr(self.game.functions, method)(*args).call({"from": self.key.address, "value": value})
        return transact(self.game, method, *args, sender=self.key, value=value, gas=8_000_000)
