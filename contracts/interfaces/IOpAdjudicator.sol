// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TensorMerkle} from "../libraries/TensorMerkle.sol";

/// @title IOpAdjudicator
/// @notice Recomputes one disputed element of one op of a Verde op trace (docs/verde-trace.md): an output element
/// of an elementwise or movement op, one term of a reduction, or the output hash of a hash op, from operand
/// elements proven against their slot roots. The referee (VerdeReferee) calls it at the leaf of a dispute and
/// compares the answer with the parties' claims; offchain/verde/recipes.py is the same computation in Python.
///
/// - `element`, `reduceStep`, `reduceInit` and `hashOp` MUST follow docs/verde-trace.md bit for bit (float
///   results canonical, NaN = 0x7FC00000) and MUST NOT depend on anything but their arguments.
/// - Every function MUST revert, with one of the errors below (or TensorMerkle's, or an ABI decoding failure
///   for bytes that are not `abi.encode(Op)`), rather than answer for a malformed descriptor or a bad opening.
/// - An opening MUST carry the dtype the op reads (int32 for WHERE's condition, GATHER/EQCOORD/SCATTER
///   indices; float32 for float operands; the op's dtype for COPY, GATHER's x and CAT) and the exact flat
///   address the op reads, and MUST prove against its slot root.
interface IOpAdjudicator {
    // ------------------------------------------------------------------ types

    /// @notice A strided view of a slot over the op's iteration space (docs/verde-trace.md, Addressing).
    struct Operand {
        /// @notice The slot read, or CONST (2^32 - 1) for a constant.
        uint32 slot;
        /// @notice Flat index of coordinate 0; for CONST, the constant's bits in its low 32 bits.
        int64 offset;
        /// @notice One stride per output dimension, then one for k in a reduction (none for CONST).
        int64[] strides;
    }

    /// @notice One instruction of the program; its descriptor is `abi.encode(Op)`.
    struct Op {
        /// @notice The opcode (docs/verde-trace.md, Opcodes).
        uint8 opcode;
        /// @notice Output dtype code: 1 float32, 2 int32 (0 for hash ops).
        uint8 dtype;
        /// @notice Output shape, row-major.
        uint64[] shape;
        /// @notice Reduction length K (0 for non-reductions).
        uint64 k;
        /// @notice The operands, in the order the opcode names them.
        Operand[] operands;
        /// @notice Opcode-specific attributes, ABI-encoded.
        bytes attrs;
    }

    /// @notice One element of an operand tensor, proven against that operand slot's root.
    struct Opening {
        /// @notice The slot tensor's dtype code.
        uint8 dtype;
        /// @notice The slot tensor's shape (its root binds it).
        uint256[] shape;
        /// @notice Flat row-major index of the element.
        uint256 index;
        /// @notice The 32-byte leaf holding the element.
        bytes32 leaf;
        /// @notice One sibling hash per level of the tensor's data tree, bottom-up.
        bytes32[] siblings;
    }

    // ------------------------------------------------------------------ errors

    /// @notice The function does not handle this opcode (unknown, or of another class).
    error OpAdjudicatorUnsupportedOpcode(uint8 opcode);
    /// @notice The descriptor is too short to hold an opcode.
    error OpAdjudicatorMalformedDesc(uint256 length);
    /// @notice The op has `have` operands where its opcode takes `need`.
    error OpAdjudicatorOperandCount(uint256 have, uint256 need);
    /// @notice The op writes dtype `have`, which its opcode cannot.
    error OpAdjudicatorOpDtype(uint8 opcode, uint8 have);
    /// @notice Operand `operand` has `have` strides where the op needs `need` (its rank, plus 1 in a reduction).
    error OpAdjudicatorStrideCount(uint256 operand, uint256 have, uint256 need);
    /// @notice The attrs are `have` bytes long where the opcode needs `need`.
    error OpAdjudicatorAttrsLength(uint256 have, uint256 need);
    /// @notice An attribute is out of range: a dim not below the rank, a zero CAT width, a CAT operand that does
    /// not exist, a BATCH `which` above 2, or a TRIL rank other than 2.
    error OpAdjudicatorBadAttr(uint8 opcode, uint256 value, uint256 bound);
    /// @notice `roots` or `openings` do not have one entry per operand.
    error OpAdjudicatorArgsLength(uint256 roots, uint256 openings, uint256 operands);
    /// @notice Output element `e` is not below the shape's element count.
    error OpAdjudicatorElementOutOfRange(uint256 e, uint256 numel);
    /// @notice Term `k` is not below the reduction length.
    error OpAdjudicatorTermOutOfRange(uint256 k, uint256 terms);
    /// @notice Operand `operand`'s address is negative.
    error OpAdjudicatorNegativeAddress(uint256 operand, int256 addr);
    /// @notice Operand `operand`'s opening has dtype `have` where the op reads `need`.
    error OpAdjudicatorOpeningDtype(uint256 operand, uint8 have, uint8 need);
    /// @notice Operand `operand`'s opening is element `have` where the op reads `need`.
    error OpAdjudicatorOpeningIndex(uint256 operand, uint256 have, uint256 need);
    /// @notice Operand `operand`'s opening does not prove against its root.
    error OpAdjudicatorProofMismatch(uint256 operand, bytes32 root);
    /// @notice A hash op operand that must be a slot is CONST.
    error OpAdjudicatorConstOperand(uint256 operand);
    /// @notice The checkpoint proof of a LOAD fails against the pre-step checkpoint root.
    error OpAdjudicatorCheckpointProof(bytes32 prevRoot);
    /// @notice keccak(0x09 ‖ treeRoot ‖ count) is `computed`, not the job's dataRoot.
    error OpAdjudicatorDataRoot(bytes32 dataRoot, bytes32 computed);
    /// @notice The step has no batch: it is not in 1..count.
    error OpAdjudicatorStepOutOfRange(uint256 step, uint256 count);
    /// @notice The batch proof has `have` siblings where the data tree needs `need`.
    error OpAdjudicatorBatchProofLength(uint256 have, uint256 need);
    /// @notice The batch leaf and siblings lead to `computed`, not to the data tree root.
    error OpAdjudicatorBatchProof(bytes32 treeRoot, bytes32 computed);

    // ------------------------------------------------------------------ functions

    /// @notice Elementwise (1-11) and movement (30-35) ops: output element `e`'s 32 bits.
    /// @dev roots[i] is operand i's slot root (ignored for CONST operands); openings[i] is operand i's element (an
    /// Opening with empty shape for CONST operands; ignored). Reverts with a custom error on a bad opening (wrong
    /// index for the address the op needs, wrong dtype, proof mismatch), an unknown opcode or a malformed desc.
    /// Every non-CONST operand is opened, except CAT (only operand c[dim] / width) and GATHER (x at the address
    /// idx's value gives).
    /// @param desc The op's descriptor, abi.encode(Op).
    /// @param e Flat row-major output index.
    /// @param roots One slot root per operand.
    /// @param openings One opening per operand.
    /// @return bits The output element's 32-bit pattern.
    function element(bytes calldata desc, uint256 e, bytes32[] calldata roots, Opening[] calldata openings)
        external
        pure
        returns (uint32 bits);

    /// @notice Reductions (20-23): the accumulator of output element `e` after term `k`, from the accumulator
    /// `acc` before it.
    /// @dev Every non-CONST operand is opened at (c, k); SCATTER opens both idx and x.
    /// @param desc The op's descriptor.
    /// @param e Flat row-major output index.
    /// @param k The term, below the op's K.
    /// @param acc The accumulator before term k.
    /// @param roots One slot root per operand.
    /// @param openings One opening per operand.
    /// @return next The accumulator after term k (canonical).
    function reduceStep(
        bytes calldata desc,
        uint256 e,
        uint256 k,
        uint32 acc,
        bytes32[] calldata roots,
        Opening[] calldata openings
    ) external pure returns (uint32 next);

    /// @notice The accumulator before term 0 (+0, or -inf for MAXR).
    /// @param desc The reduction's descriptor.
    /// @return acc The initial accumulator.
    function reduceInit(bytes calldata desc) external pure returns (uint32 acc);

    /// @notice NAMED (42), NODE (43), HEADER (44): the output hash from operand slot roots.
    /// @param desc The op's descriptor.
    /// @param roots One slot root per operand (ignored for a CONST side of NODE).
    /// @param step The disputed step (HEADER).
    /// @return out The op's output hash.
    function hashOp(bytes calldata desc, bytes32[] calldata roots, uint256 step) external pure returns (bytes32 out);

    /// @notice LOAD (40): the root of tensor attrs.name in the checkpoint `prevRoot` (checks the proof; reverts if it
    /// fails).
    /// @param desc The op's descriptor.
    /// @param prevRoot The agreed pre-step checkpoint root.
    /// @param header That checkpoint's header.
    /// @param tensorRoot The claimed root of the named tensor.
    /// @param index The name's position in the checkpoint's sorted names.
    /// @param siblings The checkpoint tree proof, bottom-up.
    /// @return root `tensorRoot`, proven.
    function loadRoot(
        bytes calldata desc,
        bytes32 prevRoot,
        TensorMerkle.CheckpointHeader calldata header,
        bytes32 tensorRoot,
        uint256 index,
        bytes32[] calldata siblings
    ) external pure returns (bytes32 root);

    /// @notice BATCH (41): the root of batch tensor attrs.which of `step`, from the job's dataRoot (spec: data tree).
    /// @param desc The op's descriptor.
    /// @param dataRoot The job's data root.
    /// @param step The disputed step (1..count); its batch is leaf step - 1.
    /// @param roots The (inputs, targets, mask) roots of that step.
    /// @param treeRoot The data tree root, with `count` the preimage of dataRoot.
    /// @param count The number of batches T.
    /// @param siblings The data tree proof of leaf step - 1, bottom-up.
    /// @return root roots[which], proven.
    function batchRoot(
        bytes calldata desc,
        bytes32 dataRoot,
        uint256 step,
        bytes32[3] calldata roots,
        bytes32 treeRoot,
        uint256 count,
        bytes32[] calldata siblings
    ) external pure returns (bytes32 root);

    /// @notice The opcode of a descriptor (cheap; lets the referee route).
    /// @param desc The op's descriptor.
    /// @return The opcode.
    function opcodeOf(bytes calldata desc) external pure returns (uint8);
}
