// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOpAdjudicator} from "./IOpAdjudicator.sol";
import {IVerdeTypes} from "./IVerdeTypes.sol";
import {TensorMerkle} from "../libraries/TensorMerkle.sol";

/// @title IVerdeOpPhases
/// @notice The moves of a Verde dispute after its step is pinned (OpTrace, Output, Descent, Reduction,
/// Leaf; see IVerdeReferee). Send them to the referee's address: its fallback runs the op-phase facet.
interface IVerdeOpPhases is IVerdeTypes {
    /// @notice OpTrace phase, first move of each party (defender first): commit the trace state root after
    /// the whole step, proving that its last entry (the HEADER op) outputs the party's root for the step.
    /// @param disputeId The dispute.
    /// @param traceRoot S_G: the trace tree root after all G ops.
    /// @param lastOpHash keccak of the last op's descriptor (proven against the program tree).
    /// @param programSiblings Siblings of leaf G-1 in the program tree.
    /// @param traceSiblings Siblings of leaf G-1 in the party's trace tree.
    function commitTrace(
        uint256 disputeId,
        bytes32 traceRoot,
        bytes32 lastOpHash,
        bytes32[] calldata programSiblings,
        bytes32[] calldata traceSiblings
    ) external;

    /// @notice Output phase (defender first): reveal the pinned op's descriptor and the party's output root
    /// for it. `traceSiblings` prove the op's leaf empty under the agreed root and set under the party's.
    /// For a tensor op, `dataRoot` with the descriptor's dtype and shape must give `outRoot`.
    function revealOp(
        uint256 disputeId,
        bytes calldata desc,
        bytes32 outRoot,
        bytes32 dataRoot,
        bytes32[] calldata programSiblings,
        bytes32[] calldata traceSiblings
    ) external;

    /// @notice Descent phase (defender first): reveal the 2^min(4, height) nodes 4 levels below the party's
    /// current node. The challenger also passes the defender's nodes; the first differing one is followed.
    function descend(uint256 disputeId, bytes32[] calldata children, bytes32[] calldata defenderChildren)
        external;

    /// @notice Descent phase at height 0 (defender first): reveal the 32-byte leaf data of the party's
    /// current leaf; the first differing word is the disputed element.
    function revealLeafData(uint256 disputeId, bytes32 data, bytes32 defenderData) external;

    /// @notice Reduction phase (defender first): the party's accumulators at `partialPositions(disputeId)`.
    /// The challenger also passes the defender's values; the range narrows to the first difference.
    function bisectPartials(uint256 disputeId, uint32[] calldata values, uint32[] calldata defenderValues)
        external;

    /// @notice Leaf phase, elementwise, movement and reduction ops: anyone proves the operand elements
    /// and the referee recomputes the element (or the partial-sum step); the party whose value differs loses.
    function resolveElement(
        uint256 disputeId,
        bytes calldata desc,
        OperandRef[] calldata refs,
        IOpAdjudicator.Opening[] calldata openings
    ) external;

    /// @notice Leaf phase, NAMED / NODE / HEADER ops: recompute the hash from the proven operand roots.
    function resolveHashOp(uint256 disputeId, bytes calldata desc, OperandRef[] calldata refs) external;

    /// @notice Leaf phase, LOAD: the tensor's root in the agreed checkpoint before the step.
    function resolveLoad(
        uint256 disputeId,
        bytes calldata desc,
        TensorMerkle.CheckpointHeader calldata header,
        bytes32 tensorRoot,
        uint256 index,
        bytes32[] calldata siblings
    ) external;

    /// @notice Leaf phase, BATCH: the batch tensor's root of the disputed step from the job's data tree.
    function resolveBatch(
        uint256 disputeId,
        bytes calldata desc,
        bytes32[3] calldata roots,
        bytes32[] calldata siblings
    ) external;

    /// @notice Reduction phase: the positions whose accumulators the next `bisectPartials` reveals.
    function partialPositions(uint256 disputeId) external view returns (uint64[] memory positions_);

}
