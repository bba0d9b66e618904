// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TensorMerkle
/// @notice Verifies that one element, or a contiguous range of elements, belongs to a committed tensor,
/// reads their float32 bit patterns, and verifies that a named tensor root belongs to a checkpoint. The
/// format is docs/commitments.md; offchain/commit produces the same bytes, and both check the golden
/// vectors in tests/vectors/commitments.json.
///
/// A tensor is flattened row-major into 32-bit words (one per element, two for 64-bit dtypes, high word
/// first), eight words to a 32-byte leaf with word 0 in the most significant bytes, the last leaf
/// zero-padded. The data root is a binary Merkle tree over the leaves, padded to a power of two with
/// EMPTY = bytes32(0); the tensor root binds it to the dtype and shape. Hashes (all keccak256):
///
/// | hash            | preimage (bytes)                                                         |
/// |-----------------|--------------------------------------------------------------------------|
/// | leaf            | 0x00 ‖ data[32]                                                          |
/// | node            | 0x01 ‖ left[32] ‖ right[32]                                              |
/// | tensor root     | 0x02 ‖ dataRoot[32] ‖ dtype[1] ‖ dim_0[32] ‖ … ‖ dim_{r-1}[32]           |
/// | named tensor    | 0x03 ‖ keccak256(name)[32] ‖ tensorRoot[32]                              |
/// | checkpoint root | 0x04 ‖ tensorsRoot[32] ‖ tensorCount[32] ‖ step[32] ‖ batchHash[32]     |
///
/// Words per element by dtype code, two bits per code at bits [2c, 2c + 2) of `_WORDS_PER_ELEMENT`
/// (0 = no such dtype):
///
/// | code | 1   | 2   | 3   | 4   | 5   | 6   | 7   | 8   | 9   | 10   |
/// |------|-----|-----|-----|-----|-----|-----|-----|-----|-----|------|
/// | type | f32 | i32 | u32 | i64 | u64 | i16 | u16 | i8  | u8  | bool |
/// | wpe  | 1   | 1   | 1   | 2   | 2   | 1   | 1   | 1   | 1   | 1    |
///
/// A range proof carries the data of every leaf the range touches and, level by level from the bottom,
/// the left neighbour of the covered nodes when the first is a right child, then the right neighbour when
/// the last is a left child (padding neighbours included, as ZERO hashes).
///
/// NOTE: Verification returns false for a well-formed proof that does not match; a malformed one (index
/// outside the tensor, wrong number of siblings or leaves, unknown dtype) reverts with the error's values.
/// The `float32At`/`float32Range` readers revert on any failure.
/// WARNING: A checkpoint's names are sorted and unique only if its committer followed the format; the
/// chain cannot see that. A root is only as meaningful as the party that posted it.
library TensorMerkle {
    // ------------------------------------------------------------------ types

    /// @notice The preimage of a checkpoint root besides its tag.
    struct CheckpointHeader {
        /// @notice Merkle root over the named tensor leaves, sorted by the names' UTF-8 bytes.
        bytes32 tensorsRoot;
        /// @notice Number of named tensors; fixes the depth of the tree.
        uint256 tensorCount;
        /// @notice Training steps completed when the checkpoint was taken.
        uint256 step;
        /// @notice Hash of the data batch of that step (opaque to the format).
        bytes32 batchHash;
    }

    // ------------------------------------------------------------------ errors

    /// @notice The dtype code is not in the table.
    error TensorMerkleUnsupportedDtype(uint8 dtype);
    /// @notice The element index is not below the tensor's element count.
    error TensorMerkleIndexOutOfRange(uint256 index, uint256 numel);
    /// @notice The range is empty or runs past the tensor's last element.
    error TensorMerkleRangeOutOfBounds(uint256 start, uint256 count, uint256 numel);
    /// @notice The proof has `have` siblings where its position and tree size need `need`.
    error TensorMerkleProofLength(uint256 have, uint256 need);
    /// @notice A range proof carries `have` leaves where the range touches `need`.
    error TensorMerkleLeafCount(uint256 have, uint256 need);
    /// @notice A proof read by `float32At`/`float32Range` leads to `computed`, not to `root`.
    error TensorMerkleRootMismatch(bytes32 root, bytes32 computed);
    /// @notice A checkpoint leaf index is not below the checkpoint's tensor count.
    error TensorMerkleCheckpointIndex(uint256 index, uint256 tensorCount);

    // ------------------------------------------------------------------ constants

    /// @notice The hash of a padding leaf, and the data root of a tensor with no elements.
    bytes32 internal constant EMPTY = bytes32(0);
    /// @notice Domain tags (the first byte of each preimage in the header's table).
    bytes1 internal constant LEAF_TAG = 0x00;
    bytes1 internal constant NODE_TAG = 0x01;
    bytes1 internal constant TENSOR_TAG = 0x02;
    bytes1 internal constant NAMED_TAG = 0x03;
    bytes1 internal constant CHECKPOINT_TAG = 0x04;
    uint8 internal constant FLOAT32 = 1;
    uint8 internal constant INT32 = 2;
    uint8 internal constant UINT32 = 3;
    uint8 internal constant INT64 = 4;
    uint8 internal constant UINT64 = 5;
    uint8 internal constant INT16 = 6;
    uint8 internal constant UINT16 = 7;
    uint8 internal constant INT8 = 8;
    uint8 internal constant UINT8 = 9;
    uint8 internal constant BOOL = 10;
    uint256 internal constant WORDS_PER_LEAF = 8;

    /// @dev Two bits per dtype code (table in the header): 0b01 at codes 1-3 and 6-10, 0b10 at 4-5.
    uint256 private constant _WORDS_PER_ELEMENT = 0x155A54;

    // ------------------------------------------------------------------ tensor metadata

    /// @notice 32-bit words one element of `_dtype` occupies.
    /// @param _dtype A dtype code.
    /// @return words_ 1, or 2 for int64/uint64.
    function wordsPerElement(uint8 _dtype) internal pure returns (uint256 words_) {
        // A shift of 256 or more yields 0, so every code above the table reads as unsupported.
        words_ = (_WORDS_PER_ELEMENT >> (2 * uint256(_dtype))) & 3;
        if (words_ == 0) revert TensorMerkleUnsupportedDtype(_dtype);
    }

    /// @notice Number of elements of a tensor of shape `_shape` (1 for a 0-d scalar).
    /// @param _shape Dimensions, outermost first.
    /// @return numel_ Their product; reverts on overflow.
    function numel(uint256[] calldata _shape) internal pure returns (uint256 numel_) {
        numel_ = 1;
        for (uint256 i = 0; i < _shape.length; ++i) {
            numel_ *= _shape[i];
        }
    }

    /// @notice Levels above the leaves of the data tree of a tensor with `_words` words.
    /// @param _words 32-bit words of data.
    /// @return depth_ ceil(log2(leaves)), 0 for a tensor of at most one leaf.
    function dataDepth(uint256 _words) internal pure returns (uint256 depth_) {
        uint256 leaves = (_words + WORDS_PER_LEAF - 1) / WORDS_PER_LEAF;
        depth_ = treeDepth(leaves);
    }

    /// @notice The tensor root of a data root with its dtype and shape.
    /// @param _dataRoot Merkle root over the tensor's leaves.
    /// @param _dtype The dtype code.
    /// @param _shape Dimensions, outermost first.
    /// @return root_ keccak256(0x02 ‖ dataRoot ‖ uint8 dtype ‖ uint256 dims...).
    function tensorRoot(bytes32 _dataRoot, uint8 _dtype, uint256[] calldata _shape)
        internal
        pure
        returns (bytes32 root_)
    {
        // encodePacked writes a uint256[] as its 32-byte elements without a length: exactly the dims.
        root_ = keccak256(abi.encodePacked(TENSOR_TAG, _dataRoot, _dtype, _shape));
    }

    /// @notice The tensor root of a data root with its dtype and a shape held in memory as uint64 dims.
    /// @param _dataRoot Merkle root over the tensor's leaves.
    /// @param _dtype The dtype code.
    /// @param _shape Dimensions, outermost first.
    /// @return root_ keccak256(0x02 ‖ dataRoot ‖ uint8 dtype ‖ uint256 dims...), as `tensorRoot`.
    function tensorRootOf(bytes32 _dataRoot, uint8 _dtype, uint64[] memory _shape)
        internal
        pure
        returns (bytes32 root_)
    {
        uint256[] memory dims = new uint256[](_shape.length);
        for (uint256 i = 0; i < _shape.length; ++i) {
            dims[i] = _shape[i];
        }
        root_ = keccak256(abi.encodePacked(TENSOR_TAG, _dataRoot, _dtype, dims));
    }

    /// @notice ZERO[h]: the root of a wholly padded subtree of height `_h` (ZERO[0] = EMPTY).
    /// @param _h The subtree's height.
    /// @return node_ node(ZERO[h-1], ZERO[h-1]), folded up from EMPTY.
    function zeroHash(uint256 _h) internal pure returns (bytes32 node_) {
        for (uint256 i = 0; i < _h; ++i) {
            node_ = nodeHash(node_, node_);
        }
    }

    /// @notice Word `_w` (0..7) of a leaf, word 0 in the most significant bytes (no dtype, no proof).
    /// @param _leaf The 32-byte leaf.
    /// @param _w The word's position.
    /// @return word_ Its 32 bits.
    function wordAt(bytes32 _leaf, uint256 _w) internal pure returns (uint32 word_) {
        word_ = uint32(uint256(_leaf) >> (32 * (WORDS_PER_LEAF - 1 - _w)));
    }

    // ------------------------------------------------------------------ element proofs

    /// @notice Whether `_leaf` holds element `_index` of the tensor with root `_root`.
    /// @param _root The tensor root.
    /// @param _dtype The tensor's dtype code.
    /// @param _shape The tensor's shape.
    /// @param _index Flat row-major element index.
    /// @param _leaf The 32-byte leaf holding the element's word(s).
    /// @param _siblings One hash per level, bottom-up.
    /// @return ok_ True if the proof leads to `_root`.
    function verifyElement(
        bytes32 _root,
        uint8 _dtype,
        uint256[] calldata _shape,
        uint256 _index,
        bytes32 _leaf,
        bytes32[] calldata _siblings
    ) internal pure returns (bool ok_) {
        ok_ = _elementRoot(_dtype, _shape, _index, _leaf, _siblings) == _root;
    }

    /// @notice The bit pattern of element `_index` inside its leaf (no proof checked).
    /// @param _dtype The tensor's dtype code.
    /// @param _index Flat row-major element index.
    /// @param _leaf The 32-byte leaf holding it.
    /// @return bits_ Its 32-bit word, or its two words (high first) for 64-bit dtypes.
    function elementBits(uint8 _dtype, uint256 _index, bytes32 _leaf) internal pure returns (uint256 bits_) {
        uint256 wpe = wordsPerElement(_dtype);
        uint256 word = (_index * wpe) % WORDS_PER_LEAF;
        // Word 0 is the most significant: shift the element's words down to the bottom, then mask.
        bits_ = (uint256(_leaf) >> (32 * (WORDS_PER_LEAF - wpe - word))) & ((1 << (32 * wpe)) - 1);
    }

    /// @notice The float32 bit pattern of element `_index` of a float32 tensor, proven against `_root`.
    /// @param _root The tensor root.
    /// @param _shape The tensor's shape (dtype is float32).
    /// @param _index Flat row-major element index.
    /// @param _leaf The 32-byte leaf holding it.
    /// @param _siblings One hash per level, bottom-up.
    /// @return bits_ The element's IEEE-754 binary32 bits.
    function float32At(
        bytes32 _root,
        uint256[] calldata _shape,
        uint256 _index,
        bytes32 _leaf,
        bytes32[] calldata _siblings
    ) internal pure returns (uint32 bits_) {
        bytes32 computed = _elementRoot(FLOAT32, _shape, _index, _leaf, _siblings);
        if (computed != _root) revert TensorMerkleRootMismatch(_root, computed);
        bits_ = uint32(elementBits(FLOAT32, _index, _leaf));
    }

    // ------------------------------------------------------------------ range proofs

    /// @notice Whether `_leaves` hold elements `_start .. _start + _count - 1` of the tensor with root `_root`.
    /// @param _root The tensor root.
    /// @param _dtype The tensor's dtype code.
    /// @param _shape The tensor's shape.
    /// @param _start First flat element index.
    /// @param _count Elements in the range (at least 1).
    /// @param _leaves The data of every leaf the range touches, in order.
    /// @param _siblings The range's sibling set (see the header), bottom-up.
    /// @return ok_ True if the proof leads to `_root`.
    function verifyRange(
        bytes32 _root,
        uint8 _dtype,
        uint256[] calldata _shape,
        uint256 _start,
        uint256 _count,
        bytes32[] calldata _leaves,
        bytes32[] calldata _siblings
    ) internal pure returns (bool ok_) {
        ok_ = _rangeRoot(_dtype, _shape, _start, _count, _leaves, _siblings) == _root;
    }

    /// @notice The float32 bit patterns of a range of a float32 tensor, proven against `_root`.
    /// @param _root The tensor root.
    /// @param _shape The tensor's shape (dtype is float32).
    /// @param _start First flat element index.
    /// @param _count Elements in the range (at least 1).
    /// @param _leaves The data of every leaf the range touches, in order.
    /// @param _siblings The range's sibling set, bottom-up.
    /// @return bits_ The elements' IEEE-754 binary32 bits, in order.
    function float32Range(
        bytes32 _root,
        uint256[] calldata _shape,
        uint256 _start,
        uint256 _count,
        bytes32[] calldata _leaves,
        bytes32[] calldata _siblings
    ) internal pure returns (uint32[] memory bits_) {
        bytes32 computed = _rangeRoot(FLOAT32, _shape, _start, _count, _leaves, _siblings);
        if (computed != _root) revert TensorMerkleRootMismatch(_root, computed);
        bits_ = new uint32[](_count);
        uint256 first = _start % WORDS_PER_LEAF; // the range's first word inside _leaves[0]
        for (uint256 i = 0; i < _count; ++i) {
            uint256 w = first + i;
            bits_[i] = uint32(uint256(_leaves[w / WORDS_PER_LEAF]) >> (32 * (WORDS_PER_LEAF - 1 - (w % WORDS_PER_LEAF))));
        }
    }

    // ------------------------------------------------------------------ checkpoints

    /// @notice The checkpoint root of a header.
    /// @param _header Tensors root, tensor count, step and batch hash.
    /// @return root_ keccak256(0x04 ‖ tensorsRoot ‖ tensorCount ‖ step ‖ batchHash).
    function checkpointRoot(CheckpointHeader calldata _header) internal pure returns (bytes32 root_) {
        root_ = headerRoot(_header.tensorsRoot, _header.tensorCount, _header.step, _header.batchHash);
    }

    /// @notice The checkpoint root of a header given field by field.
    /// @param _tensorsRoot Merkle root over the named tensor leaves.
    /// @param _tensorCount Number of named tensors.
    /// @param _step Training steps completed.
    /// @param _batchHash Hash of the data batch of that step.
    /// @return root_ keccak256(0x04 ‖ tensorsRoot ‖ tensorCount ‖ step ‖ batchHash).
    function headerRoot(bytes32 _tensorsRoot, uint256 _tensorCount, uint256 _step, bytes32 _batchHash)
        internal
        pure
        returns (bytes32 root_)
    {
        root_ = keccak256(abi.encodePacked(CHECKPOINT_TAG, _tensorsRoot, _tensorCount, _step, _batchHash));
    }

    /// @notice The checkpoint leaf of a named tensor.
    /// @param _name The tensor's name (UTF-8).
    /// @param _tensorRoot The tensor's root.
    /// @return leaf_ keccak256(0x03 ‖ keccak256(name) ‖ tensorRoot).
    function namedTensorLeaf(string calldata _name, bytes32 _tensorRoot) internal pure returns (bytes32 leaf_) {
        leaf_ = namedLeaf(keccak256(bytes(_name)), _tensorRoot);
    }

    /// @notice The checkpoint leaf of a named tensor from the hash of its name.
    /// @param _nameHash keccak256 of the tensor's name (UTF-8).
    /// @param _tensorRoot The tensor's root.
    /// @return leaf_ keccak256(0x03 ‖ nameHash ‖ tensorRoot).
    function namedLeaf(bytes32 _nameHash, bytes32 _tensorRoot) internal pure returns (bytes32 leaf_) {
        leaf_ = keccak256(abi.encodePacked(NAMED_TAG, _nameHash, _tensorRoot));
    }

    /// @notice Whether tensor `_name` with root `_tensorRoot` is leaf `_index` of the checkpoint `_root`.
    /// @param _root The checkpoint root.
    /// @param _header The checkpoint's header (checked against `_root`).
    /// @param _name The tensor's name.
    /// @param _tensorRoot The tensor's root.
    /// @param _index The name's position in UTF-8-byte order.
    /// @param _siblings One hash per level of the checkpoint tree, bottom-up.
    /// @return ok_ True if header and proof lead to `_root`.
    function verifyCheckpointTensor(
        bytes32 _root,
        CheckpointHeader calldata _header,
        string calldata _name,
        bytes32 _tensorRoot,
        uint256 _index,
        bytes32[] calldata _siblings
    ) internal pure returns (bool ok_) {
        if (_index >= _header.tensorCount) revert TensorMerkleCheckpointIndex(_index, _header.tensorCount);
        uint256 depth = treeDepth(_header.tensorCount);
        if (_siblings.length != depth) revert TensorMerkleProofLength(_siblings.length, depth);
        if (checkpointRoot(_header) != _root) return false;
        ok_ = climb(namedTensorLeaf(_name, _tensorRoot), _index, _siblings) == _header.tensorsRoot;
    }

    // ------------------------------------------------------------------ internal

    /// @dev The tensor root an element proof leads to; reverts if the proof is malformed.
    function _elementRoot(
        uint8 _dtype,
        uint256[] calldata _shape,
        uint256 _index,
        bytes32 _leaf,
        bytes32[] calldata _siblings
    ) private pure returns (bytes32 root_) {
        uint256 wpe = wordsPerElement(_dtype);
        uint256 n = numel(_shape);
        if (_index >= n) revert TensorMerkleIndexOutOfRange(_index, n);
        uint256 depth = dataDepth(n * wpe);
        if (_siblings.length != depth) revert TensorMerkleProofLength(_siblings.length, depth);
        bytes32 dataRoot = climb(leafHash(_leaf), (_index * wpe) / WORDS_PER_LEAF, _siblings);
        root_ = tensorRoot(dataRoot, _dtype, _shape);
    }

    /// @dev The tensor root a range proof leads to; reverts if the proof is malformed.
    function _rangeRoot(
        uint8 _dtype,
        uint256[] calldata _shape,
        uint256 _start,
        uint256 _count,
        bytes32[] calldata _leaves,
        bytes32[] calldata _siblings
    ) private pure returns (bytes32 root_) {
        bytes32 dataRoot;
        {
            // Scoped: the stack holds at most 16 reachable slots without via-IR.
            (uint256 lo, uint256 hi, uint256 depth) = _rangeLeaves(_dtype, _shape, _start, _count);
            if (_leaves.length != hi - lo + 1) revert TensorMerkleLeafCount(_leaves.length, hi - lo + 1);
            uint256 need = _rangeSiblingCount(lo, hi, depth);
            if (_siblings.length != need) revert TensorMerkleProofLength(_siblings.length, need);
            dataRoot = _foldRange(_hashLeaves(_leaves), lo, hi, depth, _siblings);
        }
        root_ = tensorRoot(dataRoot, _dtype, _shape);
    }

    /// @dev First and last leaf a range touches, and the data tree's depth; reverts on a bad range.
    function _rangeLeaves(uint8 _dtype, uint256[] calldata _shape, uint256 _start, uint256 _count)
        private
        pure
        returns (uint256 lo_, uint256 hi_, uint256 depth_)
    {
        uint256 wpe = wordsPerElement(_dtype);
        uint256 n = numel(_shape);
        // Written so that no addition can overflow: count <= n, then start <= n - count.
        if (_count == 0 || _count > n || _start > n - _count) revert TensorMerkleRangeOutOfBounds(_start, _count, n);
        lo_ = (_start * wpe) / WORDS_PER_LEAF;
        hi_ = ((_start + _count) * wpe - 1) / WORDS_PER_LEAF;
        depth_ = dataDepth(n * wpe);
    }

    /// @dev The leaf hashes of the range's leaves, in a fresh memory array.
    function _hashLeaves(bytes32[] calldata _leaves) private pure returns (bytes32[] memory nodes_) {
        nodes_ = new bytes32[](_leaves.length);
        for (uint256 i = 0; i < nodes_.length; ++i) {
            nodes_[i] = leafHash(_leaves[i]);
        }
    }

    /// @dev Fold the covered leaf hashes `_nodes` (leaves `_lo.._hi`) with the siblings, level by level, in place.
    function _foldRange(
        bytes32[] memory _nodes,
        uint256 _lo,
        uint256 _hi,
        uint256 _depth,
        bytes32[] calldata _siblings
    ) private pure returns (bytes32 root_) {
        uint256 width = _nodes.length;
        uint256 used = 0;
        for (; _depth > 0; --_depth) {
            // Extend the covered nodes to whole pairs: a left neighbour if the first is a right child,
            // a right neighbour if the last is a left child.
            uint256 off = _lo & 1;
            bytes32 left = off == 1 ? _siblings[used++] : EMPTY;
            bytes32 right = _hi & 1 == 0 ? _siblings[used++] : EMPTY;
            width = _pairUp(_nodes, width, off, left, right);
            _lo >>= 1;
            _hi >>= 1;
        }
        // INVARIANT: the caller checked the sibling count, so every sibling was used and one node is left.
        root_ = _nodes[0];
    }

    /// @dev Replace the `_width` covered nodes, extended by `_left` if `_off` is 1 and by `_right` to an
    /// even count, with their parents, in place; returns the number of parents.
    function _pairUp(bytes32[] memory _nodes, uint256 _width, uint256 _off, bytes32 _left, bytes32 _right)
        private
        pure
        returns (uint256 parents_)
    {
        parents_ = (_width + _off + 1) / 2;
        for (uint256 j = 0; j < parents_; ++j) {
            // Extended position 2j is _left (j = 0, off = 1) or nodes[2j - off]; 2j + 1 is nodes[2j + 1 - off]
            // or, past the covered nodes, _right.
            // SAFETY: both children sit at nodes[>= j], so overwriting nodes[j] never clobbers an unread child.
            bytes32 a = (j == 0 && _off == 1) ? _left : _nodes[2 * j - _off];
            uint256 k = 2 * j + 1 - _off;
            bytes32 b = k < _width ? _nodes[k] : _right;
            _nodes[j] = nodeHash(a, b);
        }
    }

    /// @dev Siblings a proof of leaves `_lo.._hi` needs in a tree of `_depth` levels.
    function _rangeSiblingCount(uint256 _lo, uint256 _hi, uint256 _depth) private pure returns (uint256 count_) {
        for (uint256 level = 0; level < _depth; ++level) {
            count_ += (_lo & 1) + (1 - (_hi & 1));
            _lo >>= 1;
            _hi >>= 1;
        }
    }

    /// @notice Fold a node up the tree, one sibling per level (0x01 nodes); bit `level` of `_index` says it is a
    /// right child at that level. The caller checks the path's length.
    /// @param _node The starting node (a leaf hash, or a named tensor leaf in a checkpoint tree).
    /// @param _index Its position at its level.
    /// @param _siblings One hash per level, bottom-up.
    /// @return root_ The node the path leads to.
    function climb(bytes32 _node, uint256 _index, bytes32[] calldata _siblings) internal pure returns (bytes32 root_) {
        root_ = _node;
        for (uint256 level = 0; level < _siblings.length; ++level) {
            root_ = (_index >> level) & 1 == 0 ? nodeHash(root_, _siblings[level]) : nodeHash(_siblings[level], root_);
        }
    }

    /// @notice ceil(log2(_leaves)), 0 for 0 or 1 leaf: the levels above the leaves once padded to a power of two.
    /// @param _leaves Leaves (or named tensors) of the tree.
    /// @return depth_ The tree's depth.
    function treeDepth(uint256 _leaves) internal pure returns (uint256 depth_) {
        while (depth_ < 256 && (uint256(1) << depth_) < _leaves) {
            ++depth_;
        }
    }

    /// @notice keccak256(0x00 ‖ data): the hash of a data leaf.
    /// @param _data The leaf's 32 bytes.
    /// @return hash_ Its hash.
    function leafHash(bytes32 _data) internal pure returns (bytes32 hash_) {
        assembly ("memory-safe") {
            // Scratch space 0x00..0x3f: the data at 0x01..0x20, then the 0x00 tag byte at 0x00.
            mstore(0x01, _data)
            mstore8(0x00, 0x00)
            hash_ := keccak256(0x00, 0x21)
        }
    }

    /// @notice keccak256(0x01 ‖ left ‖ right): a node of a data tree or of a checkpoint's tensors tree.
    /// @param _left The left child.
    /// @param _right The right child.
    /// @return hash_ The node.
    function nodeHash(bytes32 _left, bytes32 _right) internal pure returns (bytes32 hash_) {
        assembly ("memory-safe") {
            // 65 bytes do not fit the scratch space: use the free memory past the free pointer without
            // allocating it (it is only read back by this keccak).
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 0x01), _left)
            mstore(add(p, 0x21), _right)
            hash_ := keccak256(p, 0x41)
        }
    }
}
