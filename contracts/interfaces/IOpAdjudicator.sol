// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TensorMerkle} from "../libraries/TensorMerkle.sol";

/// @title IOpAdjudicator
/// @notice On-chain recipes of the Verde op trace (docs/verde-trace.md): recompute one output element of
/// one op, one partial-sum step of a reduction, or one hash op, from operand elements proven against
/// their slot roots.
interface IOpAdjudicator {
    /// One element of an operand tensor, proven against that operand slot's root.
    struct Opening {
        uint8 dtype;
        uint256[] shape;
        uint256 index;
        bytes32 leaf;
        bytes32[] siblings;
    }

    /// Elementwise (1-11) and movement (30-35) ops: output element `e`'s 32 bits.
    function element(bytes calldata desc, uint256 e, bytes32[] calldata roots, Opening[] calldata openings)
        external
        pure
        returns (uint32 bits);

    /// Reductions (20-23): the accumulator of output element `e` after term `k`, from `acc` before it.
    function reduceStep(
        bytes calldata desc,
        uint256 e,
        uint256 k,
        uint32 acc,
        bytes32[] calldata roots,
        Opening[] calldata openings
    ) external pure returns (uint32 next);

    /// The accumulator before term 0 (+0 or -inf).
    function reduceInit(bytes calldata desc) external pure returns (uint32 acc);

    /// NAMED (42), NODE (43), HEADER (44): the output hash from operand slot roots.
    function hashOp(bytes calldata desc, bytes32[] calldata roots, uint256 step) external pure returns (bytes32 out);

    /// LOAD (40): the root of tensor attrs.name in the checkpoint `prevRoot`.
    function loadRoot(
        bytes calldata desc,
        bytes32 prevRoot,
        TensorMerkle.CheckpointHeader calldata header,
        bytes32 tensorRoot,
        uint256 index,
        bytes32[] calldata siblings
    ) external pure returns (bytes32 root);

    /// BATCH (41): the root of batch tensor attrs.which of `step`, from the job's dataRoot.
    function batchRoot(
        bytes calldata desc,
        bytes32 dataRoot,
        uint256 step,
        bytes32[3] calldata roots,
        bytes32 treeRoot,
        uint256 count,
        bytes32[] calldata siblings
    ) external pure returns (bytes32 root);

    /// The opcode of a descriptor.
    function opcodeOf(bytes calldata desc) external pure returns (uint8);
}
