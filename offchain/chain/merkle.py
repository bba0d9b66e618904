"""Merkle trees that OpenZeppelin's `MerkleProof.verify` accepts (sorted-pair keccak256).

Reward commitments on SwarmCoordinator are roots of such a tree over per-question rewards, with the
StandardMerkleTree leaf encoding `keccak256(bytes.concat(keccak256(abi.encode(uint256 index, uint256 reward))))`
(double hashing keeps a leaf from ever being read as an inner node).
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode
from eth_utils import keccak


def reward_leaf(index: int, reward: int) -> bytes:
    """The leaf of question `index` with its `reward` (uint256 each)."""
    return keccak(keccak(encode(["uint256", "uint256"], [index, reward])))


def _hash_pair(a: bytes, b: bytes) -> bytes:
    # OpenZeppelin's commutative hash: the smaller word first.
    return keccak(a + b) if a < b else keccak(b + a)


class MerkleTree:
    """A sorted-pair Merkle tree over 32-byte leaves; an odd node is carried up unchanged."""

    def __init__(self, leaves: Sequence[bytes]):
        assert leaves, "a Merkle tree needs at least one leaf"
        assert all(len(leaf) == 32 for leaf in leaves), "leaves are 32-byte hashes"
        self.leaves = list(leaves)
        self.layers: list[list[bytes]] = [self.leaves]
        while len(self.layers[-1]) > 1:
            below = self.layers[-1]
            above = [_hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            self.layers.append(above)

    @property
    def root(self) -> bytes:
        return self.layers[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from leaf `index` up to the root."""
        assert 0 <= index < len(self.leaves), f"leaf {index} out of range"
        out = []
        for layer in self.layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                out.append(layer[sibling])
            index //= 2
        return out


class RewardTree(MerkleTree):
    """The tree a peer commits on SwarmCoordinator: one leaf per question, in question order."""

    def __init__(self, rewards: Sequence[int]):
        self.rewards = list(rewards)
        super().__init__([reward_leaf(i, r) for i, r in enumerate(self.rewards)])

    @property
    def total(self) -> int:
        return sum(self.rewards)
