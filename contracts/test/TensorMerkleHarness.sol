// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TensorMerkle} from "../libraries/TensorMerkle.sol";

/// @title TensorMerkleHarness
/// @notice Exposes TensorMerkle for tests: each function forwards its arguments unchanged.
/// NOTE: Tests only; never deployed outside a test network.
contract TensorMerkleHarness {
    // ------------------------------------------------------------------ tensor metadata

    /// @notice See TensorMerkle.wordsPerElement.
    /// @param _dtype A dtype code.
    /// @return words_ Words per element.
    function wordsPerElement(uint8 _dtype) external pure returns (uint256 words_) {
        words_ = TensorMerkle.wordsPerElement(_dtype);
    }

    /// @notice See TensorMerkle.dataDepth.
    /// @param _words 32-bit words of data.
    /// @return depth_ Levels above the leaves.
    function dataDepth(uint256 _words) external pure returns (uint256 depth_) {
        depth_ = TensorMerkle.dataDepth(_words);
    }

    /// @notice See TensorMerkle.tensorRoot.
    /// @param _dataRoot Merkle root over the leaves.
    /// @param _dtype The dtype code.
    /// @param _shape Dimensions, outermost first.
    /// @return root_ The tensor root.
    function tensorRoot(bytes32 _dataRoot, uint8 _dtype, uint256[] calldata _shape)
        external
        pure
        returns (bytes32 root_)
    {
        root_ = TensorMerkle.tensorRoot(_dataRoot, _dtype, _shape);
    }

    // ------------------------------------------------------------------ elements

    /// @notice See TensorMerkle.verifyElement.
    /// @param _root The tensor root.
    /// @param _dtype The dtype code.
    /// @param _shape The shape.
    /// @param _index Flat element index.
    /// @param _leaf The leaf holding it.
    /// @param _siblings Bottom-up siblings.
    /// @return ok_ Whether the proof leads to the root.
    function verifyElement(
        bytes32 _root,
        uint8 _dtype,
        uint256[] calldata _shape,
        uint256 _index,
        bytes32 _leaf,
        bytes32[] calldata _siblings
    ) external pure returns (bool ok_) {
        ok_ = TensorMerkle.verifyElement(_root, _dtype, _shape, _index, _leaf, _siblings);
    }

    /// @notice See TensorMerkle.elementBits.
    /// @param _dtype The dtype code.
    /// @param _index Flat element index.
    /// @param _leaf The leaf holding it.
    /// @return bits_ The element's word(s).
    function elementBits(uint8 _dtype, uint256 _index, bytes32 _leaf) external pure returns (uint256 bits_) {
        bits_ = TensorMerkle.elementBits(_dtype, _index, _leaf);
    }

    /// @notice See TensorMerkle.float32At.
    /// @param _root The tensor root.
    /// @param _shape The shape.
    /// @param _index Flat element index.
    /// @param _leaf The leaf holding it.
    /// @param _siblings Bottom-up siblings.
    /// @return bits_ The float32 bits.
    function float32At(
        bytes32 _root,
        uint256[] calldata _shape,
        uint256 _index,
        bytes32 _leaf,
        bytes32[] calldata _siblings
    ) external pure returns (uint32 bits_) {
        bits_ = TensorMerkle.float32At(_root, _shape, _index, _leaf, _siblings);
    }

    // ------------------------------------------------------------------ ranges

    /// @notice See TensorMerkle.verifyRange.
    /// @param _root The tensor root.
    /// @param _dtype The dtype code.
    /// @param _shape The shape.
    /// @param _start First flat element index.
    /// @param _count Elements in the range.
    /// @param _leaves The range's leaves.
    /// @param _siblings The range's sibling set.
    /// @return ok_ Whether the proof leads to the root.
    function verifyRange(
        bytes32 _root,
        uint8 _dtype,
        uint256[] calldata _shape,
        uint256 _start,
        uint256 _count,
        bytes32[] calldata _leaves,
        bytes32[] calldata _siblings
    ) external pure returns (bool ok_) {
        ok_ = TensorMerkle.verifyRange(_root, _dtype, _shape, _start, _count, _leaves, _siblings);
    }

    /// @notice See TensorMerkle.float32Range.
    /// @param _root The tensor root.
    /// @param _shape The shape.
    /// @param _start First flat element index.
    /// @param _count Elements in the range.
    /// @param _leaves The range's leaves.
    /// @param _siblings The range's sibling set.
    /// @return bits_ The float32 bits of the range.
    function float32Range(
        bytes32 _root,
        uint256[] calldata _shape,
        uint256 _start,
        uint256 _count,
        bytes32[] calldata _leaves,
        bytes32[] calldata _siblings
    ) external pure returns (uint32[] memory bits_) {
        bits_ = TensorMerkle.float32Range(_root, _shape, _start, _count, _leaves, _siblings);
    }

    // ------------------------------------------------------------------ checkpoints

    /// @notice See TensorMerkle.checkpointRoot.
    /// @param _header The checkpoint header.
    /// @return root_ The checkpoint root.
    function checkpointRoot(TensorMerkle.CheckpointHeader calldata _header) external pure returns (bytes32 root_) {
        root_ = TensorMerkle.checkpointRoot(_header);
    }

    /// @notice See TensorMerkle.namedTensorLeaf.
    /// @param _name The tensor's name.
    /// @param _tensorRoot The tensor's root.
    /// @return leaf_ The checkpoint leaf.
    function namedTensorLeaf(string calldata _name, bytes32 _tensorRoot) external pure returns (bytes32 leaf_) {
        leaf_ = TensorMerkle.namedTensorLeaf(_name, _tensorRoot);
    }

    /// @notice See TensorMerkle.verifyCheckpointTensor.
    /// @param _root The checkpoint root.
    /// @param _header The checkpoint header.
    /// @param _name The tensor's name.
    /// @param _tensorRoot The tensor's root.
    /// @param _index The name's position.
    /// @param _siblings Bottom-up siblings.
    /// @return ok_ Whether header and proof lead to the root.
    function verifyCheckpointTensor(
        bytes32 _root,
        TensorMerkle.CheckpointHeader calldata _header,
        string calldata _name,
        bytes32 _tensorRoot,
        uint256 _index,
        bytes32[] calldata _siblings
    ) external pure returns (bool ok_) {
        ok_ = TensorMerkle.verifyCheckpointTensor(_root, _header, _name, _tensorRoot, _index, _siblings);
    }
}
