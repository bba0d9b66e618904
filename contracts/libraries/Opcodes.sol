// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Opcodes
/// @notice The Verde instruction set's opcodes and classes (docs/verde-trace.md, "Opcodes"): the one home on chain
/// of their numbers, shared by the referee and the OpAdjudicator; `offchain/verde/ir.py` has the same table.
///
/// | class       | codes | output                                                      |
/// |-------------|-------|-------------------------------------------------------------|
/// | elementwise | 1-11  | a tensor, one element from the operands at its coordinates  |
/// | reduction   | 20-23 | a tensor, one element folded over K terms from an initial accumulator |
/// | movement    | 30-35 | a tensor, bits copied or index tensors                      |
/// | LOAD, BATCH | 40-41 | a tensor root proven in the agreed checkpoint / the job's data tree |
/// | hash        | 42-44 | a hash of the operands' roots (NAMED, NODE, HEADER)         |
library Opcodes {
    uint8 internal constant ADD = 1;
    uint8 internal constant SUB = 2;
    uint8 internal constant MUL = 3;
    uint8 internal constant DIV = 4;
    uint8 internal constant NEG = 5;
    uint8 internal constant SQRT = 6;
    uint8 internal constant EXP = 7;
    uint8 internal constant LOG = 8;
    uint8 internal constant TANH = 9;
    uint8 internal constant WHERE = 10;
    uint8 internal constant MAX = 11;
    uint8 internal constant SUM = 20;
    uint8 internal constant DOT = 21;
    uint8 internal constant MAXR = 22;
    uint8 internal constant SCATTER = 23;
    uint8 internal constant COPY = 30;
    uint8 internal constant GATHER = 31;
    uint8 internal constant EQCOORD = 32;
    uint8 internal constant ARANGE = 33;
    uint8 internal constant TRIL = 34;
    uint8 internal constant CAT = 35;
    uint8 internal constant LOAD = 40;
    uint8 internal constant BATCH = 41;
    uint8 internal constant NAMED = 42;
    uint8 internal constant NODE = 43;
    uint8 internal constant HEADER = 44;

    /// @notice Operand slot meaning "a constant whose bits are the low 32 bits of offset".
    uint32 internal constant CONST_SLOT = type(uint32).max;
    /// @notice MAXR's initial accumulator, -inf (every other reduction starts from +0).
    uint32 internal constant NEG_INF = 0xFF800000;

    /// @notice Ops 1-11.
    function isElementwise(uint8 _code) internal pure returns (bool) {
        return _code >= ADD && _code <= MAX;
    }

    /// @notice Ops 20-23 (SUM, DOT, MAXR, SCATTER).
    function isReduction(uint8 _code) internal pure returns (bool) {
        return _code >= SUM && _code <= SCATTER;
    }

    /// @notice Ops 30-35.
    function isMovement(uint8 _code) internal pure returns (bool) {
        return _code >= COPY && _code <= CAT;
    }

    /// @notice Ops whose output root is a tensor root that is computed element by element (1-35): the ones a
    /// dispute descends into.
    function isTensor(uint8 _code) internal pure returns (bool) {
        return _code < LOAD;
    }

    /// @notice Ops 42-44: the output is a hash of the operands' roots.
    function isHash(uint8 _code) internal pure returns (bool) {
        return _code >= NAMED && _code <= HEADER;
    }

    /// @notice A reduction's initial accumulator: -inf for MAXR, +0 for the others.
    function reduceInit(uint8 _code) internal pure returns (uint32) {
        return _code == MAXR ? NEG_INF : 0;
    }
}
