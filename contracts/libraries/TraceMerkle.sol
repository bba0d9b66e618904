// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TraceMerkle
/// @notice The Verde trace commitments (docs/verde-trace.md): the one home on chain of their domain tags, the
/// trace tree's climb and depth, its zero subtrees, and the job's data root. `offchain/verde/ir.py` writes the
/// same bytes. Hashes (all keccak256), beside TensorMerkle's 0x00-0x04:
///
/// | hash          | preimage (bytes)                                             |
/// |---------------|--------------------------------------------------------------|
/// | trace entry   | 0x05 ‖ opHash[32] ‖ outRoot[32]                              |
/// | trace node    | 0x06 ‖ left[32] ‖ right[32]                                  |
/// | program root  | 0x07 ‖ traceTreeRoot(opHash_0 ..)[32] ‖ G[32]                |
/// | batch leaf    | 0x08 ‖ root(inputs)[32] ‖ root(targets)[32] ‖ root(mask)[32] |
/// | data root     | 0x09 ‖ traceTreeRoot(batchLeaf_1 ..)[32] ‖ T[32]             |
///
/// A trace tree over `count` leaves has `2^D` leaves, `D = max(1, ceil(log2 count))`; missing leaves are
/// bytes32(0), so a wholly empty subtree of height h is Z_h (Z_0 = 0, Z_{h+1} = node(Z_h, Z_h)).
library TraceMerkle {
    /// @notice Domain tags of the trace format.
    bytes1 internal constant ENTRY_TAG = 0x05;
    bytes1 internal constant NODE_TAG = 0x06;
    bytes1 internal constant PROGRAM_TAG = 0x07;
    bytes1 internal constant BATCH_TAG = 0x08;
    bytes1 internal constant DATA_TAG = 0x09;

    /// @notice A root no climb can return: what `root` gives for a malformed path.
    bytes32 internal constant NO_ROOT = bytes32(uint256(1));

    /// @notice keccak(0x05 ‖ opHash ‖ outRoot): the trace tree leaf of one op.
    /// @param _opHash keccak of the op's descriptor.
    /// @param _outRoot The op's output root.
    /// @return entry_ The leaf.
    function entry(bytes32 _opHash, bytes32 _outRoot) internal pure returns (bytes32 entry_) {
        entry_ = keccak256(abi.encodePacked(ENTRY_TAG, _opHash, _outRoot));
    }

    /// @notice keccak(0x06 ‖ left ‖ right): a trace tree node.
    /// @param _left The left child.
    /// @param _right The right child.
    /// @return node_ The node.
    function node(bytes32 _left, bytes32 _right) internal pure returns (bytes32 node_) {
        assembly ("memory-safe") {
            // 65 bytes past the free memory pointer, not allocated (only this keccak reads them).
            let p := mload(0x40)
            mstore8(p, 0x06) // NODE_TAG
            mstore(add(p, 0x01), _left)
            mstore(add(p, 0x21), _right)
            node_ := keccak256(p, 0x41)
        }
    }

    /// @notice D = max(1, ceil(log2 count)): the depth of a trace tree over `count` leaves.
    /// @param _count The leaves (ops of a program, steps of a job).
    /// @return depth_ The depth.
    function depth(uint256 _count) internal pure returns (uint256 depth_) {
        depth_ = 1;
        while ((1 << depth_) < _count) ++depth_;
    }

    /// @notice Fold a leaf up a trace tree, one sibling per level (bottom-up); bit `level` of `_index` says it
    /// is a right child. The caller checks the path's length.
    /// @param _leaf The leaf.
    /// @param _index Its position.
    /// @param _siblings One hash per level, bottom-up.
    /// @return root_ The root the path leads to.
    function climb(bytes32 _leaf, uint256 _index, bytes32[] calldata _siblings) internal pure returns (bytes32 root_) {
        root_ = _leaf;
        for (uint256 i; i < _siblings.length; ++i) {
            root_ = (_index >> i) & 1 == 1 ? node(_siblings[i], root_) : node(root_, _siblings[i]);
        }
    }

    /// @notice The root of the trace tree over `_count` leaves that leaf `_index` and its siblings lead to, or
    /// NO_ROOT (which matches no root) when the path is not exactly the tree's depth or the index is outside.
    /// @param _leaf The leaf.
    /// @param _index Its position.
    /// @param _siblings One hash per level, bottom-up.
    /// @param _count The tree's leaves.
    /// @return root_ The root.
    function root(bytes32 _leaf, uint256 _index, bytes32[] calldata _siblings, uint256 _count)
        internal
        pure
        returns (bytes32 root_)
    {
        if (_siblings.length != depth(_count) || _index >= _count) return NO_ROOT;
        root_ = climb(_leaf, _index, _siblings);
    }

    /// @notice Z_depth: the root of a trace tree of depth `_depth` with every leaf zero (S_0).
    /// @param _depth The tree's depth.
    /// @return node_ The root.
    function zeroRoot(uint256 _depth) internal pure returns (bytes32 node_) {
        for (uint256 i; i < _depth; ++i) {
            node_ = node(node_, node_);
        }
    }

    /// @notice keccak(0x08 ‖ inputs ‖ targets ‖ mask): a step's batch leaf (the batchHash of its header).
    /// @param _inputs The inputs tensor root.
    /// @param _targets The targets tensor root.
    /// @param _mask The mask tensor root.
    /// @return leaf_ The leaf.
    function batchLeaf(bytes32 _inputs, bytes32 _targets, bytes32 _mask) internal pure returns (bytes32 leaf_) {
        leaf_ = keccak256(abi.encodePacked(BATCH_TAG, _inputs, _targets, _mask));
    }

    /// @notice keccak(0x09 ‖ tree ‖ T): a job's data root.
    /// @param _tree The trace tree root over the batch leaves of steps 1..T.
    /// @param _steps T.
    /// @return root_ The data root.
    function dataRoot(bytes32 _tree, uint256 _steps) internal pure returns (bytes32 root_) {
        root_ = keccak256(abi.encodePacked(DATA_TAG, _tree, _steps));
    }
}
