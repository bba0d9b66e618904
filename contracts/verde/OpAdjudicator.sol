// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IOpAdjudicator} from "../interfaces/IOpAdjudicator.sol";
import {Float32} from "../libraries/Float32.sol";
import {Float32Math} from "../libraries/Float32Math.sol";
import {Opcodes} from "../libraries/Opcodes.sol";
import {TensorMerkle} from "../libraries/TensorMerkle.sol";
import {TraceMerkle} from "../libraries/TraceMerkle.sol";

/// @title OpAdjudicator
/// @notice The on-chain recipes of the Verde op trace (docs/verde-trace.md): given an op descriptor and the operand
/// elements it reads, each proven against its slot's tensor root, it recomputes one output element, one term of a
/// reduction, or a hash op's output. The referee calls it at the leaf of a bisection over the trace (and over a
/// reduction's terms), so nothing here is more than one element's work: a few Merkle proofs and at most one
/// exp/log/tanh recipe (docs/repops.md, contracts/libraries/Float32Math.sol).
///
/// An op iterates over its `shape` (row-major); element `e` unravels to coordinates `c`, and operand `i` is read at
/// `offset_i + sum_d c_d * strides_i[d] (+ k * strides_i[rank])` of its slot's flat tensor. Every read checks that
/// the opening is that address, of the dtype the op reads, and proves against `roots[i]`.
///
/// NOTE: Stateless and pure: one deployment serves every referee. Bytes that are not `abi.encode(Op)` revert in
/// `abi.decode` without data; every other rejection is a custom error of IOpAdjudicator or TensorMerkle.
/// WARNING: A LOAD or BATCH root is proven to be in the checkpoint or data tree, but its dtype and shape are not
/// checked against the descriptor (a root does not reveal them): openings against it carry the true ones.
contract OpAdjudicator is IOpAdjudicator {
    // ------------------------------------------------------------------ constants

    /// @notice Semantic version of this contract.
    string public constant version = "0.1.0";

    uint8 private constant _F32 = TensorMerkle.FLOAT32;
    uint8 private constant _I32 = TensorMerkle.INT32;
    uint32 private constant _NAN = 0x7FC00000;
    uint32 private constant _ONE = 0x3F800000;

    // ------------------------------------------------------------------ types

    /// @dev One iteration point of an op: the op, its output coordinates and (in a reduction) the term.
    struct Point {
        Op op;
        uint256[] c;
        uint256 k;
        bool reduce;
    }

    // ------------------------------------------------------------------ external

    /// @inheritdoc IOpAdjudicator
    function element(bytes calldata _desc, uint256 _e, bytes32[] calldata _roots, Opening[] calldata _openings)
        external
        pure
        returns (uint32 bits_)
    {
        Op memory op = abi.decode(_desc, (Op));
        uint8 code = op.opcode;
        // Opcodes.isElementwise / isMovement, spelt out: this is every element call's hot path.
        bool elementwise = code >= Opcodes.ADD && code <= Opcodes.MAX;
        if (!elementwise && (code < Opcodes.COPY || code > Opcodes.CAT)) revert OpAdjudicatorUnsupportedOpcode(code);
        _checkOp(op, _roots.length, _openings.length);
        Point memory pt = Point(op, _coords(op, _e), 0, false);
        bits_ = elementwise ? _elementwise(pt, _roots, _openings) : _movement(pt, _e, _roots, _openings);
    }

    /// @inheritdoc IOpAdjudicator
    function reduceStep(
        bytes calldata _desc,
        uint256 _e,
        uint256 _k,
        uint32 _acc,
        bytes32[] calldata _roots,
        Opening[] calldata _openings
    ) external pure returns (uint32 next_) {
        next_ = _reduce(_reducePoint(_desc, _e, _k, _roots.length, _openings.length), _acc, _roots, _openings);
    }

    /// @inheritdoc IOpAdjudicator
    function reduceInit(bytes calldata _desc) external pure returns (uint32 acc_) {
        uint8 code = abi.decode(_desc, (Op)).opcode;
        if (!Opcodes.isReduction(code)) revert OpAdjudicatorUnsupportedOpcode(code);
        acc_ = Opcodes.reduceInit(code);
    }

    /// @inheritdoc IOpAdjudicator
    function hashOp(bytes calldata _desc, bytes32[] calldata _roots, uint256 _step)
        external
        pure
        returns (bytes32 out_)
    {
        Op memory op = abi.decode(_desc, (Op));
        uint8 code = op.opcode;
        if (!Opcodes.isHash(code)) revert OpAdjudicatorUnsupportedOpcode(code);
        _checkOp(op, _roots.length, _roots.length);
        if (code == Opcodes.NODE) {
            bytes32 left = _roots[0];
            bytes32 right = _roots[1];
            bool constLeft = op.operands[0].slot == Opcodes.CONST_SLOT;
            bool constRight = op.operands[1].slot == Opcodes.CONST_SLOT;
            if (constLeft || constRight) {
                // A CONST side is a hash fixed by the program (e.g. an empty subtree), carried in attrs.
                _attrsLength(op, 64);
                (bytes32 l, bytes32 r) = abi.decode(op.attrs, (bytes32, bytes32));
                if (constLeft) left = l;
                if (constRight) right = r;
            }
            return TensorMerkle.nodeHash(left, right);
        }
        for (uint256 i = 0; i < op.operands.length; ++i) {
            if (op.operands[i].slot == Opcodes.CONST_SLOT) revert OpAdjudicatorConstOperand(i);
        }
        if (code == Opcodes.NAMED) {
            string memory name = abi.decode(op.attrs, (string));
            return TensorMerkle.namedLeaf(keccak256(bytes(name)), _roots[0]);
        }
        // HEADER: operands (tensorsRoot, inputs, targets, mask); the step comes from the dispute.
        _attrsLength(op, 32);
        uint256 count = abi.decode(op.attrs, (uint256));
        bytes32 batchHash = TraceMerkle.batchLeaf(_roots[1], _roots[2], _roots[3]);
        out_ = TensorMerkle.headerRoot(_roots[0], count, _step, batchHash);
    }

    /// @inheritdoc IOpAdjudicator
    function loadRoot(
        bytes calldata _desc,
        bytes32 _prevRoot,
        TensorMerkle.CheckpointHeader calldata _header,
        bytes32 _tensorRoot,
        uint256 _index,
        bytes32[] calldata _siblings
    ) external pure returns (bytes32 root_) {
        Op memory op = abi.decode(_desc, (Op));
        if (op.opcode != Opcodes.LOAD) revert OpAdjudicatorUnsupportedOpcode(op.opcode);
        string memory name = abi.decode(op.attrs, (string));
        // TensorMerkle.verifyCheckpointTensor takes the name in calldata; the name here is decoded into memory,
        // so the same check is spelt out: header, then the named leaf up the checkpoint tree.
        if (_index >= _header.tensorCount) {
            revert TensorMerkle.TensorMerkleCheckpointIndex(_index, _header.tensorCount);
        }
        uint256 depth = TensorMerkle.treeDepth(_header.tensorCount);
        if (_siblings.length != depth) revert TensorMerkle.TensorMerkleProofLength(_siblings.length, depth);
        bytes32 leaf = TensorMerkle.namedLeaf(keccak256(bytes(name)), _tensorRoot);
        bytes32 node = TensorMerkle.climb(leaf, _index, _siblings);
        if (TensorMerkle.checkpointRoot(_header) != _prevRoot || node != _header.tensorsRoot) {
            revert OpAdjudicatorCheckpointProof(_prevRoot);
        }
        root_ = _tensorRoot;
    }

    /// @inheritdoc IOpAdjudicator
    function batchRoot(
        bytes calldata _desc,
        bytes32 _dataRoot,
        uint256 _step,
        bytes32[3] calldata _roots,
        bytes32 _treeRoot,
        uint256 _count,
        bytes32[] calldata _siblings
    ) external pure returns (bytes32 root_) {
        Op memory op = abi.decode(_desc, (Op));
        if (op.opcode != Opcodes.BATCH) revert OpAdjudicatorUnsupportedOpcode(op.opcode);
        _attrsLength(op, 32);
        uint256 which = abi.decode(op.attrs, (uint8));
        if (which > 2) revert OpAdjudicatorBadAttr(Opcodes.BATCH, which, 2);
        bytes32 computed = TraceMerkle.dataRoot(_treeRoot, _count);
        if (computed != _dataRoot) revert OpAdjudicatorDataRoot(_dataRoot, computed);
        if (_step == 0 || _step > _count) revert OpAdjudicatorStepOutOfRange(_step, _count);
        // The data tree is a trace tree: at least one level, zero padding.
        uint256 depth = TraceMerkle.depth(_count);
        if (_siblings.length != depth) revert OpAdjudicatorBatchProofLength(_siblings.length, depth);
        computed = TraceMerkle.climb(TraceMerkle.batchLeaf(_roots[0], _roots[1], _roots[2]), _step - 1, _siblings);
        if (computed != _treeRoot) revert OpAdjudicatorBatchProof(_treeRoot, computed);
        root_ = _roots[which];
    }

    /// @inheritdoc IOpAdjudicator
    function opcodeOf(bytes calldata _desc) external pure returns (uint8) {
        // abi.encode(Op) starts with the offset of the struct, whose first word is the opcode.
        if (_desc.length < 64) revert OpAdjudicatorMalformedDesc(_desc.length);
        uint256 head = uint256(bytes32(_desc[0:32]));
        if (head > _desc.length - 32) revert OpAdjudicatorMalformedDesc(_desc.length);
        uint256 word = uint256(bytes32(_desc[head:head + 32]));
        if (word > type(uint8).max) revert OpAdjudicatorMalformedDesc(_desc.length);
        return uint8(word);
    }

    // ------------------------------------------------------------------ internal: ops

    /// @dev Ops 1-11: all operands are opened; WHERE's condition is int32, the rest float32.
    function _elementwise(Point memory _pt, bytes32[] calldata _roots, Opening[] calldata _openings)
        private
        pure
        returns (uint32)
    {
        uint8 code = _pt.op.opcode;
        if (code == Opcodes.WHERE) {
            uint32 cond = _read(_pt, 0, 0, _I32, _roots, _openings);
            uint32 a = _read(_pt, 1, 0, _F32, _roots, _openings);
            uint32 b = _read(_pt, 2, 0, _F32, _roots, _openings);
            // A float result is canonical, also when it is a chosen operand (a LOAD may hold any NaN).
            return _canon(cond != 0 ? a : b);
        }
        Float32 x = _f(_read(_pt, 0, 0, _F32, _roots, _openings));
        if (code == Opcodes.NEG) return _u(x.neg());
        if (code == Opcodes.SQRT) return _u(x.sqrtRNE());
        if (code == Opcodes.EXP) return _u(Float32Math.exp(x));
        if (code == Opcodes.LOG) return _u(Float32Math.log(x));
        if (code == Opcodes.TANH) return _u(Float32Math.tanh(x));
        Float32 y = _f(_read(_pt, 1, 0, _F32, _roots, _openings));
        if (code == Opcodes.ADD) return _u(x.addRNE(y));
        if (code == Opcodes.SUB) return _u(x.subRNE(y));
        if (code == Opcodes.MUL) return _u(x.mulRNE(y));
        if (code == Opcodes.DIV) return _u(x.divRNE(y));
        return _u(x.max(y)); // Opcodes.MAX
    }

    /// @dev Ops 30-35: data movement and index tensors (bits are copied, not canonicalised).
    function _movement(Point memory _pt, uint256 _e, bytes32[] calldata _roots, Opening[] calldata _openings)
        private
        pure
        returns (uint32)
    {
        Op memory op = _pt.op;
        uint8 code = op.opcode;
        if (code == Opcodes.COPY) return _read(_pt, 0, 0, op.dtype, _roots, _openings);
        if (code == Opcodes.GATHER) {
            _attrsLength(op, 32);
            int256 gstride = abi.decode(op.attrs, (int64));
            int256 idx = int32(_read(_pt, 1, 0, _I32, _roots, _openings));
            return _read(_pt, 0, idx * gstride, op.dtype, _roots, _openings);
        }
        if (code == Opcodes.EQCOORD) {
            uint256 dim = _dimAttr(op);
            return _matches(int32(_read(_pt, 0, 0, _I32, _roots, _openings)), _pt.c[dim]) ? _ONE : 0;
        }
        if (code == Opcodes.ARANGE) return uint32(_e); // e as int32: its low 32 bits
        if (code == Opcodes.TRIL) {
            if (_pt.c.length != 2) revert OpAdjudicatorBadAttr(Opcodes.TRIL, _pt.c.length, 2);
            return _pt.c[1] <= _pt.c[0] ? 1 : 0;
        }
        // CAT: operand j = c[dim] / width, whose offset already subtracts j * width * strides[dim].
        _attrsLength(op, 64);
        (uint8 dim, uint64 width) = abi.decode(op.attrs, (uint8, uint64));
        if (dim >= _pt.c.length) revert OpAdjudicatorBadAttr(Opcodes.CAT, dim, _pt.c.length);
        if (width == 0) revert OpAdjudicatorBadAttr(Opcodes.CAT, 0, 1);
        uint256 j = _pt.c[dim] / width;
        if (j >= op.operands.length) revert OpAdjudicatorBadAttr(Opcodes.CAT, j, op.operands.length);
        return _read(_pt, j, 0, op.dtype, _roots, _openings);
    }

    /// @dev The checked iteration point (e, k) of a reduction's descriptor (split from reduceStep for the stack).
    function _reducePoint(bytes calldata _desc, uint256 _e, uint256 _k, uint256 _nRoots, uint256 _nOpenings)
        private
        pure
        returns (Point memory pt_)
    {
        Op memory op = abi.decode(_desc, (Op));
        if (op.opcode < Opcodes.SUM || op.opcode > Opcodes.SCATTER) revert OpAdjudicatorUnsupportedOpcode(op.opcode);
        _checkOp(op, _nRoots, _nOpenings);
        pt_ = Point(op, _coords(op, _e), _k, true);
        if (_k >= op.k) revert OpAdjudicatorTermOutOfRange(_k, op.k);
    }

    /// @dev Ops 20-23: the accumulator after term k (every operand opened at (c, k)).
    function _reduce(Point memory _pt, uint32 _acc, bytes32[] calldata _roots, Opening[] calldata _openings)
        private
        pure
        returns (uint32)
    {
        uint8 code = _pt.op.opcode;
        Float32 acc = Float32.wrap(_acc);
        if (code == Opcodes.SUM) return _u(acc.addRNE(_f(_read(_pt, 0, 0, _F32, _roots, _openings))));
        if (code == Opcodes.DOT) {
            Float32 a = _f(_read(_pt, 0, 0, _F32, _roots, _openings));
            Float32 b = _f(_read(_pt, 1, 0, _F32, _roots, _openings));
            return _u(acc.addRNE(a.mulRNE(b)));
        }
        if (code == Opcodes.MAXR) return _u(acc.max(_f(_read(_pt, 0, 0, _F32, _roots, _openings))));
        // SCATTER: operands (idx, x), both read at k; only a matching index adds its term.
        uint256 dim = _dimAttr(_pt.op);
        int32 idx = int32(_read(_pt, 0, 0, _I32, _roots, _openings));
        Float32 x = _f(_read(_pt, 1, 0, _F32, _roots, _openings));
        return _matches(idx, _pt.c[dim]) ? _u(acc.addRNE(x)) : _canon(_acc);
    }

    // ------------------------------------------------------------------ internal: checks and reads

    /// @dev Operand count for the opcode, one root and one opening per operand, and the dtype the op can write.
    function _checkOp(Op memory _op, uint256 _nRoots, uint256 _nOpenings) private pure {
        uint8 code = _op.opcode;
        uint256 n = _op.operands.length;
        if (code == Opcodes.CAT) {
            if (n == 0) revert OpAdjudicatorOperandCount(0, 1);
        } else {
            uint256 need = _arity(code);
            if (n != need) revert OpAdjudicatorOperandCount(n, need);
        }
        if (_nRoots != n || _nOpenings != n) revert OpAdjudicatorArgsLength(_nRoots, _nOpenings, n);
        if (code >= Opcodes.NAMED) return; // hash ops: dtype 0, nothing to check
        bool ok;
        if (code == Opcodes.ARANGE || code == Opcodes.TRIL) ok = _op.dtype == _I32;
        else if (code == Opcodes.COPY || code == Opcodes.GATHER || code == Opcodes.CAT) {
            ok = _op.dtype == _F32 || _op.dtype == _I32;
        }
        else ok = _op.dtype == _F32;
        if (!ok) revert OpAdjudicatorOpDtype(code, _op.dtype);
    }

    /// @dev Operands of each fixed-arity opcode (CAT is checked apart).
    function _arity(uint8 _code) private pure returns (uint256) {
        if (_code == Opcodes.WHERE) return 3;
        if (_code == Opcodes.HEADER) return 4;
        if (_code == Opcodes.ARANGE || _code == Opcodes.TRIL) return 0;
        if (_code >= Opcodes.NEG && _code <= Opcodes.TANH) return 1; // NEG SQRT EXP LOG TANH
        if (_code == Opcodes.SUM || _code == Opcodes.MAXR || _code == Opcodes.COPY) return 1;
        if (_code == Opcodes.EQCOORD || _code == Opcodes.NAMED) return 1;
        return 2; // ADD SUB MUL DIV MAX DOT SCATTER GATHER NODE
    }

    /// @dev Row-major coordinates of output element `_e`; reverts if it is outside the shape.
    function _coords(Op memory _op, uint256 _e) private pure returns (uint256[] memory c_) {
        uint256 rank = _op.shape.length;
        uint256 n = 1;
        for (uint256 d = 0; d < rank; ++d) {
            n *= _op.shape[d];
        }
        if (_e >= n) revert OpAdjudicatorElementOutOfRange(_e, n);
        c_ = new uint256[](rank);
        uint256 rest = _e;
        for (uint256 d = rank; d > 0; --d) {
            // INVARIANT: e < numel, so no dimension here is 0.
            c_[d - 1] = rest % _op.shape[d - 1];
            rest /= _op.shape[d - 1];
        }
    }

    /// @dev The 32 bits operand `_i` holds at the point's address plus `_extra`, checked: a CONST operand's low 32
    /// bits, or the opening, which must be of dtype `_dtype`, at exactly that address, and prove against its root.
    function _read(
        Point memory _pt,
        uint256 _i,
        int256 _extra,
        uint8 _dtype,
        bytes32[] calldata _roots,
        Opening[] calldata _openings
    ) private pure returns (uint32) {
        Operand memory o = _pt.op.operands[_i];
        if (o.slot == Opcodes.CONST_SLOT) return uint32(uint64(o.offset));
        int256 a = _address(_pt, o, _i) + _extra;
        if (a < 0) revert OpAdjudicatorNegativeAddress(_i, a);
        Opening calldata p = _openings[_i];
        if (p.dtype != _dtype) revert OpAdjudicatorOpeningDtype(_i, p.dtype, _dtype);
        if (p.index != uint256(a)) revert OpAdjudicatorOpeningIndex(_i, p.index, uint256(a));
        if (!TensorMerkle.verifyElement(_roots[_i], p.dtype, p.shape, p.index, p.leaf, p.siblings)) {
            revert OpAdjudicatorProofMismatch(_i, _roots[_i]);
        }
        return uint32(TensorMerkle.elementBits(p.dtype, p.index, p.leaf));
    }

    /// @dev offset + sum_d c_d * strides[d] (+ k * strides[rank] in a reduction), in int256.
    function _address(Point memory _pt, Operand memory _o, uint256 _i) private pure returns (int256 a_) {
        uint256 rank = _pt.c.length;
        uint256 need = _pt.reduce ? rank + 1 : rank;
        if (_o.strides.length != need) revert OpAdjudicatorStrideCount(_i, _o.strides.length, need);
        a_ = _o.offset;
        // SAFETY (no overflow): coordinates and k are below 2^64 and strides are int64, so each product is below
        // 2^127 in magnitude and a sum of them stays far inside int256.
        for (uint256 d = 0; d < rank; ++d) {
            a_ += int256(_pt.c[d]) * _o.strides[d];
        }
        if (_pt.reduce) a_ += int256(_pt.k) * _o.strides[rank];
    }

    /// @dev attrs abi.encode(uint8 dim), with dim below the rank.
    function _dimAttr(Op memory _op) private pure returns (uint256 dim_) {
        _attrsLength(_op, 32);
        dim_ = abi.decode(_op.attrs, (uint8));
        if (dim_ >= _op.shape.length) revert OpAdjudicatorBadAttr(_op.opcode, dim_, _op.shape.length);
    }

    /// @dev Fixed-size attrs must have exactly their encoded length.
    function _attrsLength(Op memory _op, uint256 _need) private pure {
        if (_op.attrs.length != _need) revert OpAdjudicatorAttrsLength(_op.attrs.length, _need);
    }

    // ------------------------------------------------------------------ internal: helpers

    /// @dev Whether an int32 index equals a coordinate (a negative index matches nothing).
    function _matches(int32 _idx, uint256 _coord) private pure returns (bool) {
        return _idx >= 0 && uint256(int256(_idx)) == _coord;
    }

    /// @dev The canonical NaN for any NaN pattern, else the pattern.
    function _canon(uint32 _bits) private pure returns (uint32) {
        return _bits & 0x7FFFFFFF > 0x7F800000 ? _NAN : _bits;
    }

    function _f(uint32 _bits) private pure returns (Float32) {
        return Float32.wrap(_bits);
    }

    function _u(Float32 _x) private pure returns (uint32) {
        return Float32.unwrap(_x);
    }
}
