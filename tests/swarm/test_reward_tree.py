"""offchain.swarm.rewards: byte-for-byte OpenZeppelin StandardMerkleTree, and proofs the contract accepts."""

from __future__ import annotations

import pytest

from offchain.swarm.rewards import RewardTree, StandardMerkleTree, reward_leaf

# Golden vector: a tree dumped by @openzeppelin/merkle-tree (format "standard-v1", leafEncoding
# ["address", "uint256"]), as published in a public project that loads it with StandardMerkleTree.load.
OZ_ADDRESS = "0x80d628ff4AC2aFf620C3474663F1e559234bbE0c"
OZ_VALUES = [(OZ_ADDRESS, 0), (OZ_ADDRESS, 1), (OZ_ADDRESS, 2)]
OZ_TREE = [
    "0fecce441c7468f17e3fe4a5f211b77a15b27c9ab3d33317df385dfbe5487034",
    "636ab2686ee3036244cf3d6b5574e051e4b20a3577b008975dbcca6dde2897d2",
    "d90245da324d7908326a3d56a9659741551a4603c397bf4dd373976bd85660e7",
    "36fb17c97ec80bb961ff0adff1af4a2a34847ecc40653c162e327117a76e3ec9",
    "1867c4ebd455913e429523a5c2d4b3a79f58068b5a25af911956245ed03a659d",
]
OZ_TREE_INDICES = (4, 3, 2)


def test_standard_tree_matches_openzeppelin_vector():
    """The Python tree reproduces OpenZeppelin's dump: every node and every value's tree index."""
    tree = StandardMerkleTree.of(OZ_VALUES, ["address", "uint256"])
    assert [node.hex() for node in tree.tree] == OZ_TREE
    assert tree.tree_indices == OZ_TREE_INDICES


def test_reward_leaf_is_double_hashed_abi_encoding():
    """A reward leaf is keccak256(keccak256(abi.encode(uint256 index, uint256 reward))), a one-leaf tree's root."""
    from eth_abi import encode
    from eth_utils import keccak

    assert reward_leaf(3, 42) == keccak(keccak(encode(["uint256", "uint256"], [3, 42])))
    assert RewardTree([42]).root == reward_leaf(0, 42)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 33])
def test_reward_tree_proofs_verify(n):
    """Every question's proof verifies off chain and a changed reward does not."""
    tree = RewardTree([(i * 7919) % 1000 for i in range(n)])
    for i, reward in enumerate(tree.rewards):
        assert tree.tree.verify((i, reward), tree.proof(i))
        assert not tree.tree.verify((i, reward + 1), tree.proof(i))


def test_reward_tree_proofs_verify_on_chain(swarm, coordinator, peers):
    """A 33-question tree built in Python is accepted by verifyReward for every question (odd sizes included)."""
    swarm.join("A")
    tree = RewardTree([(i * 31) % 17 for i in range(33)])
    coordinator.submitRewardCommitment(peers["A"].id, 0, tree.root, tree.total, 33, sender=peers["A"].owner)
    for i in (0, 1, 16, 31, 32):
        assert coordinator.verifyReward(0, peers["A"].id, i, tree.rewards[i], tree.proof(i))
