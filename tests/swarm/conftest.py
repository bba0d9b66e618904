"""Fixtures for SwarmCoordinator: a real IdentityRegistry with real peer keys, a fresh coordinator per test.

The registry and its peers are session fixtures (RSA key generation and proofs are the slow part; Ape
snapshots the chain after them), the coordinator is deployed per test so round 0 starts at the test's
own clock. Time helpers place the next transaction, or the next view, at an exact schedule second.
"""

from __future__ import annotations

from dataclasses import dataclass

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from offchain.identity import PeerIdentity

STAGES = (60, 120, 180)  # seconds of answer, critique, vote: distinct so an off-by-one stage shows
ROUND = sum(STAGES)  # seconds per round
MAX_REWARD_PER_QUESTION = 10**18  # reward unit per question (wei-like fixed point)
MAX_QUESTIONS = 64  # questions one reward commitment may cover
SALT = b"\x5a" * 32  # default vote salt


@dataclass(frozen=True)
class Config:
    """The deployment parameters the `coordinator` fixture uses, for the tests to compute with."""

    stages: tuple[int, ...] = STAGES
    round_length: int = ROUND
    max_reward_per_question: int = MAX_REWARD_PER_QUESTION
    max_questions: int = MAX_QUESTIONS
    salt: bytes = SALT


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test (tests share two CPU cores), the count before restored after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def cfg():
    return Config()


@pytest.fixture(scope="session")
def commit_hash():
    """Off-chain vote commitment, computed independently of the contract."""
    return vote_commitment


@dataclass(frozen=True)
class Peer:
    """A registered peer: its id digest and the account that owns it."""

    id: bytes  # 32-byte SHA-256 digest, as the registry stores it
    owner: object  # the Ape account that registered it
    identity: PeerIdentity


@pytest.fixture(scope="session")
def peer_identities():
    """Five real libp2p RSA identities, generated once per session."""
    return [PeerIdentity.generate() for _ in range(5)]


@pytest.fixture(scope="session")
def registry(project, deployer):
    return deployer.deploy(project.IdentityRegistry)


@pytest.fixture(scope="session")
def peers(registry, peer_identities, alice, bob, carol, dave):
    """Peers A, B, C, D owned by alice, bob, carol, dave, and A2, alice's second peer."""
    out = {}
    owners = {"A": alice, "B": bob, "C": carol, "D": dave, "A2": alice}
    for (name, owner), ident in zip(owners.items(), peer_identities, strict=True):
        registry.registerPeer(*ident.registration_proof(registry, owner), sender=owner)
        out[name] = Peer(id=ident.peer_id_digest, owner=owner, identity=ident)
    return out


@pytest.fixture
def coordinator(project, deployer, registry, peers):
    """A coordinator whose round 0 starts at this test's deployment block."""
    return deployer.deploy(
        project.SwarmCoordinator, registry, deployer, list(STAGES), MAX_REWARD_PER_QUESTION, MAX_QUESTIONS
    )


@pytest.fixture
def genesis(coordinator):
    """Unix second at which round 0 started."""
    return coordinator.anchor().stageStartedAt_


@pytest.fixture
def clock(chain, genesis):
    return Clock(chain, genesis)


class Clock:
    """Schedule arithmetic and time travel for the default durations."""

    def __init__(self, chain, genesis: int):
        self.chain = chain
        self.genesis = genesis

    @staticmethod
    def offset(stage: int) -> int:
        """Seconds from a round's start to the start of `stage` (stage == len(STAGES) is the round's end)."""
        return sum(STAGES[:stage])

    def start(self, round_: int, stage: int = 0) -> int:
        """Unix second at which `stage` of `round_` starts."""
        return self.genesis + round_ * ROUND + self.offset(stage)

    def tx_at(self, timestamp: int) -> None:
        """Make the next transaction execute at `timestamp`."""
        self.chain.pending_timestamp = timestamp

    def view_at(self, timestamp: int) -> None:
        """Mine a block at `timestamp` so calls read it (calls read the head block's time)."""
        if self.chain.blocks.head.timestamp != timestamp:
            self.chain.mine(timestamp=timestamp)

    def tx_in(self, round_: int, stage: int = 0, delta: int = 0) -> None:
        """Next transaction `delta` seconds into `stage` of `round_`."""
        self.tx_at(self.start(round_, stage) + delta)


@pytest.fixture(scope="session")
def reverts():
    """`ape.reverts(error, **inputs)` that also insists every input of the error is named (no silent typos)."""

    def _reverts(error, **inputs):
        names = {i.name for i in error.abi.inputs}
        assert set(inputs) == names, f"{error.abi.name} takes {sorted(names)}, test names {sorted(inputs)}"
        return ape.reverts(error, **inputs)

    return _reverts


def vote_commitment(chain_id: int, coordinator_address: str, round_: int, voter: bytes, candidate: bytes, salt: bytes):
    """Off-chain commitment: keccak256(abi.encode(chainid, coordinator, round, voter, candidate, salt))."""
    return keccak(
        encode(
            ["uint256", "address", "uint256", "bytes32", "bytes32", "bytes32"],
            [chain_id, coordinator_address, round_, voter, candidate, salt],
        )
    )


class Swarm:
    """Short-hands for the actions a node takes, checked field by field in the tests that are about them."""

    def __init__(self, chain, coordinator, peers, clock):
        self.chain = chain
        self.coordinator = coordinator
        self.peers = peers
        self.clock = clock

    def join(self, *names: str):
        return [self.coordinator.joinRound(self.peers[n].id, sender=self.peers[n].owner) for n in names]

    def commitment(self, round_: int, voter: str, candidate: str, salt: bytes = SALT) -> bytes:
        return vote_commitment(
            self.chain.chain_id, self.coordinator.address, round_, self.peers[voter].id, self.peers[candidate].id, salt
        )

    def commit(self, round_: int, voter: str, candidate: str, salt: bytes = SALT):
        c = self.commitment(round_, voter, candidate, salt)
        return self.coordinator.commitVote(self.peers[voter].id, c, sender=self.peers[voter].owner)

    def reveal(self, round_: int, voter: str, candidate: str, salt: bytes = SALT):
        p = self.peers[voter]
        return self.coordinator.revealVote(p.id, round_, self.peers[candidate].id, salt, sender=p.owner)


@pytest.fixture
def swarm(chain, coordinator, peers, clock):
    return Swarm(chain, coordinator, peers, clock)
