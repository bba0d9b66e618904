// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOpAdjudicator} from "./IOpAdjudicator.sol";
import {IVerdeTypes} from "./IVerdeTypes.sol";
import {TensorMerkle} from "../libraries/TensorMerkle.sol";

/// @title IVerdeMoves
/// @notice The moves of a Verde dispute once it is open (Steps, OpTrace, Output, Descent, Reduction, Leaf; see
/// IVerdeReferee, which includes them). Send them to the referee: it runs `narrow` itself and the others in its
/// moves facet (VerdeMoves), by delegatecall over its own storage.
interface IVerdeMoves is IVerdeTypes {
    /// @notice Steps, OpTrace (after both `commitTrace`), Descent and Reduction (defender first): narrow the
    /// disputed range with the party's values. In Steps, OpTrace and Reduction `values` are the party's roots (state
    /// roots, trace state roots, partial sums as bytes32) at `positions(disputeId)`: up to `arity - 1` points spread
    /// evenly inside `(lo, hi]`. In the Descent they are the 2^min(levels, height) nodes `levels` below the party's
    /// current node of the output tensor's data tree (they must fold to it), or at height 0 the 32-byte leaf
    /// data (it must hash to it). The challenger also passes the defender's values, which the referee checks
    /// against the hash it stored (read them from `ValuesRevealed`); the first position where the two differ is
    /// followed: the range becomes `(the last agreed position, the first differing one]`, or that node.
    /// @param disputeId The dispute.
    /// @param values The mover's values.
    /// @param defenderValues The challenger's copy of the defender's values (empty for the defender, and may be
    /// empty for the challenger when the round has one value, which the referee keeps as it is).
    function narrow(uint256 disputeId, bytes32[] calldata values, bytes32[] calldata defenderValues) external;

    /// @notice `narrow` for a round of one value (the last Steps, OpTrace or Reduction round of a range of two, a
    /// Descent leaf): the same move, `narrow(disputeId, [value], [])`, in fewer bytes of calldata.
    /// @param disputeId The dispute.
    /// @param value The mover's one value.
    function narrowOne(uint256 disputeId, bytes32 value) external;

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
}
