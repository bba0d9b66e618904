// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Float32, LibFloat32} from "../libraries/Float32.sol";

/// @title Float32Harness
/// @notice Exposes LibFloat32 to tests and benchmarks (tests only, never deployed for real): every op one
/// value at a time with its natural types, and every op over many vectors per call.
///
/// The batch entry points take an `Op` and two equally long operand lists of 32-bit patterns and return
/// one 32-bit pattern per vector. Ops that are not `(Float32, Float32) -> Float32` are reinterpreted on
/// those 32 bits:
///
/// | op                  | a              | b              | result                     |
/// |---------------------|----------------|----------------|----------------------------|
/// | Add Sub Mul Div Min Max | Float32    | Float32        | Float32                    |
/// | Eq Lt Le Gt Ge      | Float32        | Float32        | 1 (true) or 0 (false)      |
/// | Sqrt Neg Abs TruncRTZ | Float32      | ignored        | Float32                    |
/// | ToInt32RTZ          | Float32        | ignored        | int32, two's complement    |
/// | FromInt32RNE        | int32          | ignored        | Float32                    |
/// | ScalbnRNE           | Float32        | int32 n        | Float32                    |
/// | Noop                | Float32        | ignored        | a (the gas baseline)       |
///
/// `many` uses ABI `uint32[]` lists; `packed` takes and returns 4 big-endian bytes per element, which is
/// eight times less JSON-RPC traffic for bulk runs; `gasOf` measures each vector's op alone.
contract Float32Harness {
    /// @notice The batch ops, in ABI order (the enum is a uint8 on the wire).
    enum Op {
        Add,
        Sub,
        Mul,
        Div,
        Sqrt,
        Min,
        Max,
        Eq,
        Lt,
        Le,
        Gt,
        Ge,
        Neg,
        Abs,
        TruncRTZ,
        ToInt32RTZ,
        FromInt32RNE,
        ScalbnRNE,
        Noop
    }

    /// @notice The two operand lists differ in length (both must hold one entry per vector).
    error Float32HarnessLengthMismatch(uint256 aLength, uint256 bLength);

    // ============================================================ one value at a time

    /// @notice a + b (LibFloat32.addRNE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The result's bit pattern.
    function add(uint32 _a, uint32 _b) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).addRNE(Float32.wrap(_b)));
    }

    /// @notice a - b (LibFloat32.subRNE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The result's bit pattern.
    function sub(uint32 _a, uint32 _b) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).subRNE(Float32.wrap(_b)));
    }

    /// @notice a * b (LibFloat32.mulRNE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The result's bit pattern.
    function mul(uint32 _a, uint32 _b) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).mulRNE(Float32.wrap(_b)));
    }

    /// @notice a / b (LibFloat32.divRNE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The result's bit pattern.
    function div(uint32 _a, uint32 _b) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).divRNE(Float32.wrap(_b)));
    }

    /// @notice sqrt(a) (LibFloat32.sqrtRNE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @return The result's bit pattern.
    function sqrt(uint32 _a) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).sqrtRNE());
    }

    /// @notice minimum(a, b) (LibFloat32.min) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The result's bit pattern.
    function min(uint32 _a, uint32 _b) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).min(Float32.wrap(_b)));
    }

    /// @notice maximum(a, b) (LibFloat32.max) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The result's bit pattern.
    function max(uint32 _a, uint32 _b) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).max(Float32.wrap(_b)));
    }

    /// @notice a == b (IEEE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The comparison's or test's result.
    function eq(uint32 _a, uint32 _b) external pure returns (bool) {
        return Float32.wrap(_a).eq(Float32.wrap(_b));
    }

    /// @notice a < b (IEEE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The comparison's or test's result.
    function lt(uint32 _a, uint32 _b) external pure returns (bool) {
        return Float32.wrap(_a).lt(Float32.wrap(_b));
    }

    /// @notice a <= b (IEEE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The comparison's or test's result.
    function le(uint32 _a, uint32 _b) external pure returns (bool) {
        return Float32.wrap(_a).le(Float32.wrap(_b));
    }

    /// @notice a > b (IEEE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The comparison's or test's result.
    function gt(uint32 _a, uint32 _b) external pure returns (bool) {
        return Float32.wrap(_a).gt(Float32.wrap(_b));
    }

    /// @notice a >= b (IEEE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The comparison's or test's result.
    function ge(uint32 _a, uint32 _b) external pure returns (bool) {
        return Float32.wrap(_a).ge(Float32.wrap(_b));
    }

    /// @notice -a on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @return The result's bit pattern.
    function neg(uint32 _a) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).neg());
    }

    /// @notice |a| on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @return The result's bit pattern.
    function abs(uint32 _a) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).abs());
    }

    /// @notice Whether a is NaN.
    /// @param _a The (first) operand's bit pattern.
    /// @return The comparison's or test's result.
    function isNaN(uint32 _a) external pure returns (bool) {
        return Float32.wrap(_a).isNaN();
    }

    /// @notice Whether a is ±inf.
    /// @param _a The (first) operand's bit pattern.
    /// @return The comparison's or test's result.
    function isInf(uint32 _a) external pure returns (bool) {
        return Float32.wrap(_a).isInf();
    }

    /// @notice Whether a is finite.
    /// @param _a The (first) operand's bit pattern.
    /// @return The comparison's or test's result.
    function isFinite(uint32 _a) external pure returns (bool) {
        return Float32.wrap(_a).isFinite();
    }

    /// @notice c ? a : b on bit patterns.
    /// @param _c The condition.
    /// @param _a The (first) operand's bit pattern.
    /// @param _b The second operand's bit pattern.
    /// @return The result's bit pattern.
    function select(bool _c, uint32 _a, uint32 _b) external pure returns (uint32) {
        return Float32.unwrap(LibFloat32.select(_c, Float32.wrap(_a), Float32.wrap(_b)));
    }

    /// @notice trunc(a) toward zero, as a binary32 pattern.
    /// @param _a The (first) operand's bit pattern.
    /// @return The result's bit pattern.
    function truncRTZ(uint32 _a) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).truncRTZ());
    }

    /// @notice a truncated toward zero to an int32, saturating (NaN -> 0).
    /// @param _a The (first) operand's bit pattern.
    /// @return The integer.
    function toInt32RTZ(uint32 _a) external pure returns (int32) {
        return Float32.wrap(_a).toInt32RTZ();
    }

    /// @notice The int32 v as a binary32 pattern (RNE).
    /// @param _v The integer.
    /// @return The result's bit pattern.
    function fromInt32RNE(int32 _v) external pure returns (uint32) {
        return Float32.unwrap(LibFloat32.fromInt32RNE(_v));
    }

    /// @notice The int256 v as a binary32 pattern (RNE).
    /// @param _v The integer.
    /// @return The result's bit pattern.
    function fromInt256RNE(int256 _v) external pure returns (uint32) {
        return Float32.unwrap(LibFloat32.fromInt256RNE(_v));
    }

    /// @notice a * 2^n (RNE) on bit patterns.
    /// @param _a The (first) operand's bit pattern.
    /// @param _n The power of two.
    /// @return The result's bit pattern.
    function scalbnRNE(uint32 _a, int256 _n) external pure returns (uint32) {
        return Float32.unwrap(Float32.wrap(_a).scalbnRNE(_n));
    }

    // ============================================================ batches

    /// @notice `_op` on each vector (`_a[i]`, `_b[i]`); see the table in the header for the encodings.
    /// @param _op The op.
    /// @param _a First operands, one 32-bit pattern per vector.
    /// @param _b Second operands (ignored values for unary ops, but the same length).
    /// @return r_ One result pattern per vector.
    function many(Op _op, uint32[] calldata _a, uint32[] calldata _b) external pure returns (uint32[] memory r_) {
        if (_a.length != _b.length) revert Float32HarnessLengthMismatch(_a.length, _b.length);
        function(Float32, Float32) pure returns (Float32) f = _fn(_op);
        r_ = new uint32[](_a.length);
        for (uint256 i; i < _a.length; ++i) {
            r_[i] = Float32.unwrap(f(Float32.wrap(_a[i]), Float32.wrap(_b[i])));
        }
    }

    /// @notice fromInt256RNE over a list (int256 does not fit the 32-bit batch encoding).
    /// @param _v The integers.
    /// @return r_ One binary32 pattern per integer.
    function fromInt256Many(int256[] calldata _v) external pure returns (uint32[] memory r_) {
        r_ = new uint32[](_v.length);
        for (uint256 i; i < _v.length; ++i) {
            r_[i] = Float32.unwrap(LibFloat32.fromInt256RNE(_v[i]));
        }
    }

    /// @notice `many` with 4 big-endian bytes per element in and out.
    /// @param _op The op.
    /// @param _a First operands, 4 bytes each.
    /// @param _b Second operands, 4 bytes each, the same length.
    /// @return r_ 4 bytes per vector.
    function packed(Op _op, bytes calldata _a, bytes calldata _b) external pure returns (bytes memory r_) {
        if (_a.length != _b.length || _a.length % 4 != 0) revert Float32HarnessLengthMismatch(_a.length, _b.length);
        function(Float32, Float32) pure returns (Float32) f = _fn(_op);
        r_ = new bytes(_a.length);
        assembly ("memory-safe") {
            // Reserve one spare word past r_: each 4-byte result is written with a 32-byte mstore, whose
            // zero tail the next result overwrites and whose last tail must land in memory nobody uses.
            mstore(0x40, add(mload(0x40), 0x20))
        }
        for (uint256 i; i < _a.length; i += 4) {
            uint256 x;
            uint256 y;
            assembly ("memory-safe") {
                // The i-th..i+3-th bytes, as the top 4 bytes of a calldata word.
                x := shr(224, calldataload(add(_a.offset, i)))
                y := shr(224, calldataload(add(_b.offset, i)))
            }
            uint256 r = Float32.unwrap(f(Float32.wrap(uint32(x)), Float32.wrap(uint32(y))));
            assembly ("memory-safe") {
                // Write the 4 result bytes at offset i of r_'s data (and 28 zero bytes after them).
                mstore(add(add(r_, 0x20), i), shl(224, r))
            }
        }
    }

    /// @notice Gas of each vector's op alone: gasleft() around one call of the op, minus the same around a
    /// call that does nothing (so the call's jump, argument and return handling are not counted).
    /// @dev Add, Sub, Mul, Div, Min and Max are called straight through a function pointer and measured
    /// against `Noop`. The other ops go through a two-argument adapter that calls the library function;
    /// they are measured against an adapter that calls a one-argument no-op, so the adapter layer cancels
    /// too (to within a few gas of argument conversion).
    /// @param _op The op.
    /// @param _a First operands.
    /// @param _b Second operands.
    /// @return gas_ The op's gas for each vector.
    function gasOf(Op _op, uint32[] calldata _a, uint32[] calldata _b) external view returns (uint256[] memory gas_) {
        if (_a.length != _b.length) revert Float32HarnessLengthMismatch(_a.length, _b.length);
        gas_ = new uint256[](_a.length);
        bool direct = _op <= Op.Div || _op == Op.Min || _op == Op.Max;
        uint256 base = _gasOf(direct ? _noop : _noopAdapter, Float32.wrap(0), Float32.wrap(0));
        function(Float32, Float32) pure returns (Float32) f = _fn(_op);
        for (uint256 i; i < _a.length; ++i) {
            gas_[i] = _gasOf(f, Float32.wrap(_a[i]), Float32.wrap(_b[i])) - base;
        }
    }

    // ============================================================ internal

    /// @dev Gas of one call f(x, y), from just before the call to just after it.
    function _gasOf(function(Float32, Float32) pure returns (Float32) f, Float32 x, Float32 y)
        private
        view
        returns (uint256 g_)
    {
        g_ = gasleft();
        Float32 r = f(x, y);
        g_ -= gasleft();
        // Use the result so no optimizer step can drop the call.
        if (Float32.unwrap(r) == 0xFFFFFFFF) g_ += 1;
    }

    /// @dev The library function behind `_op`, or a two-argument adapter for the ops of other shapes.
    function _fn(Op _op) private pure returns (function(Float32, Float32) pure returns (Float32)) {
        if (_op == Op.Add) return LibFloat32.addRNE;
        if (_op == Op.Sub) return LibFloat32.subRNE;
        if (_op == Op.Mul) return LibFloat32.mulRNE;
        if (_op == Op.Div) return LibFloat32.divRNE;
        if (_op == Op.Sqrt) return _sqrt;
        if (_op == Op.Min) return LibFloat32.min;
        if (_op == Op.Max) return LibFloat32.max;
        if (_op == Op.Eq) return _eq;
        if (_op == Op.Lt) return _lt;
        if (_op == Op.Le) return _le;
        if (_op == Op.Gt) return _gt;
        if (_op == Op.Ge) return _ge;
        if (_op == Op.Neg) return _neg;
        if (_op == Op.Abs) return _abs;
        if (_op == Op.TruncRTZ) return _trunc;
        if (_op == Op.ToInt32RTZ) return _toInt32;
        if (_op == Op.FromInt32RNE) return _fromInt32;
        if (_op == Op.ScalbnRNE) return _scalbn;
        return _noop;
    }

    function _sqrt(Float32 _a, Float32) private pure returns (Float32) {
        return _a.sqrtRNE();
    }

    // Comparisons give 1 for true, 0 for false.
    function _eq(Float32 _a, Float32 _b) private pure returns (Float32) {
        return Float32.wrap(_a.eq(_b) ? 1 : 0);
    }

    function _lt(Float32 _a, Float32 _b) private pure returns (Float32) {
        return Float32.wrap(_a.lt(_b) ? 1 : 0);
    }

    function _le(Float32 _a, Float32 _b) private pure returns (Float32) {
        return Float32.wrap(_a.le(_b) ? 1 : 0);
    }

    function _gt(Float32 _a, Float32 _b) private pure returns (Float32) {
        return Float32.wrap(_a.gt(_b) ? 1 : 0);
    }

    function _ge(Float32 _a, Float32 _b) private pure returns (Float32) {
        return Float32.wrap(_a.ge(_b) ? 1 : 0);
    }

    function _neg(Float32 _a, Float32) private pure returns (Float32) {
        return _a.neg();
    }

    function _abs(Float32 _a, Float32) private pure returns (Float32) {
        return _a.abs();
    }

    function _trunc(Float32 _a, Float32) private pure returns (Float32) {
        return _a.truncRTZ();
    }

    /// @dev The int32 result's two's complement bits.
    function _toInt32(Float32 _a, Float32) private pure returns (Float32) {
        return Float32.wrap(uint32(_a.toInt32RTZ()));
    }

    /// @dev a's bits read as an int32.
    function _fromInt32(Float32 _a, Float32) private pure returns (Float32) {
        return LibFloat32.fromInt32RNE(int32(Float32.unwrap(_a)));
    }

    /// @dev b's bits read as an int32 power of two.
    function _scalbn(Float32 _a, Float32 _b) private pure returns (Float32) {
        return _a.scalbnRNE(int32(Float32.unwrap(_b)));
    }

    function _noop(Float32 _a, Float32) private pure returns (Float32) {
        return _a;
    }

    /// @dev The gas baseline of the adapters: an adapter around a one-argument no-op.
    function _noopAdapter(Float32 _a, Float32) private pure returns (Float32) {
        return _noop1(_a);
    }

    function _noop1(Float32 _a) private pure returns (Float32) {
        return _a;
    }
}
