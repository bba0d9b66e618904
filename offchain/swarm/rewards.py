"""Merkle trees OpenZeppelin accepts: StandardMerkleTree in Python, and the reward tree SwarmCoordinator commits to.

The layout is exactly `@openzeppelin/merkle-tree`'s `StandardMerkleTree` (format "standard-v1"): a leaf is
`keccak256(keccak256(abi.encode(values...)))`, leaves are sorted by hash, the tree is a flat array with the
root at 0 and the children of `i` at `2i + 1`, `2i + 2`, and an inner node hashes its two children in
ascending order. Proofs verify with OpenZeppelin's `MerkleProof.verify`, which is what
`SwarmCoordinator.verifyReward` uses.

    from offchain.swarm.rewards import RewardTree
    tree = RewardTree([3, 0, 5])                         # reward of question 0, 1, 2
    coordinator.submitRewardCommitment(peer, rnd, tree.root, tree.total, tree.num_questions, sender=owner)
    coordinator.verifyReward(rnd, peer, 2, 5, tree.proof(2))   # True

Run its tests with `.venv/bin/ape test tests/swarm/test_reward_tree.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak


def _hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's commutative node hash: keccak of the two children, smaller first."""
    return keccak(a + b) if a <= b else keccak(b + a)


@dataclass(frozen=True)
class StandardMerkleTree:
    """An OpenZeppelin StandardMerkleTree over ABI-encoded tuples."""

    tree: tuple[bytes, ...]  # flat array, root at 0, leaves at the end
    values: tuple[tuple[Any, ...], ...]  # the tuples in the order they were given
    tree_indices: tuple[int, ...]  # tree_indices[i] is where values[i]'s leaf sits in `tree`
    leaf_encoding: tuple[str, ...]  # ABI types of each tuple, e.g. ("uint256", "uint256")

    @staticmethod
    def leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> bytes:
        """`keccak256(bytes.concat(keccak256(abi.encode(value...))))`: double hashed, never an inner node."""
        return keccak(keccak(encode(list(leaf_encoding), list(value))))

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], leaf_encoding: Sequence[str]) -> StandardMerkleTree:
        """Build the tree as `StandardMerkleTree.of(values, leafEncoding)` does (leaves sorted)."""
        assert len(values) > 0, "a Merkle tree needs at least one leaf"
        hashed = sorted(
            ((cls.leaf_hash(leaf_encoding, v), i) for i, v in enumerate(values)),
            key=lambda pair: pair[0],
        )
        n = len(hashed)
        tree: list[bytes] = [b""] * (2 * n - 1)
        indices = [0] * n
        for position, (leaf, value_index) in enumerate(hashed):
            tree[len(tree) - 1 - position] = leaf
            indices[value_index] = len(tree) - 1 - position
        for i in range(len(tree) - 1 - n, -1, -1):
            tree[i] = _hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        return cls(
            tree=tuple(tree),
            values=tuple(tuple(v) for v in values),
            tree_indices=tuple(indices),
            leaf_encoding=tuple(leaf_encoding),
        )

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, value_index: int) -> list[bytes]:
        """Sibling hashes from the leaf of `values[value_index]` up to the root."""
        index = self.tree_indices[value_index]
        out = []
        while index > 0:
            sibling = index + 1 if index % 2 == 1 else index - 1
            out.append(self.tree[sibling])
            index = (index - 1) // 2
        return out

    def verify(self, value: Sequence[Any], proof: Sequence[bytes]) -> bool:
        """Process `proof` from the leaf of `value` as `MerkleProof.verify` does."""
        node = self.leaf_hash(self.leaf_encoding, value)
        for sibling in proof:
            node = _hash_pair(node, bytes(sibling))
        return node == self.root


REWARD_LEAF_ENCODING = ("uint256", "uint256")  # (questionIndex, reward)


def reward_leaf(index: int, reward: int) -> bytes:
    """The leaf of question `index` with its `reward`, as `SwarmCoordinator.verifyReward` hashes it."""
    return StandardMerkleTree.leaf_hash(REWARD_LEAF_ENCODING, (index, reward))


class RewardTree:
    """The rewards of one peer in one round: a StandardMerkleTree with leaf `(questionIndex, reward)` per question."""

    def __init__(self, rewards: Sequence[int]):
        """The tree over questions `0..len(rewards) - 1`; `rewards[i]` is question i's reward (reward units)."""
        assert all(r >= 0 for r in rewards), "rewards are non-negative integers"
        self.rewards: tuple[int, ...] = tuple(rewards)
        self.tree = StandardMerkleTree.of([(i, r) for i, r in enumerate(self.rewards)], REWARD_LEAF_ENCODING)

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def total(self) -> int:
        """The `claimedTotal` to commit."""
        return sum(self.rewards)

    @property
    def num_questions(self) -> int:
        return len(self.rewards)

    def proof(self, question_index: int) -> list[bytes]:
        """Proof of `(question_index, rewards[question_index])` for `verifyReward`."""
        return self.tree.proof(question_index)
