// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IOpAdjudicator} from "../interfaces/IOpAdjudicator.sol";
import {IVerdeMoves} from "../interfaces/IVerdeMoves.sol";
import {Bisection} from "../libraries/Bisection.sol";
import {Opcodes} from "../libraries/Opcodes.sol";
import {TensorMerkle} from "../libraries/TensorMerkle.sol";
import {TraceMerkle} from "../libraries/TraceMerkle.sol";
import {VerdeRefereeBase} from "./VerdeRefereeBase.sol";

/// @title VerdeMoves
/// @notice The moves of the Verde dispute game (IVerdeMoves), run by delegatecall from VerdeReferee over the
/// referee's storage: one narrowing move for the Steps, OpTrace, Descent and Reduction phases (k-ary, one arity
/// per phase), the trace commitments, the output reveal, and the leaf, where the OpAdjudicator recomputes one
/// element from operands proven against the agreed trace state.
/// CAUTION: Called directly (not through the referee) it sees empty storage and every move reverts.
contract VerdeMoves is VerdeRefereeBase, IVerdeMoves {
    using Bisection for Dispute;

    constructor(
        IJobMarket _market,
        address _adjudicator,
        uint256 _bond,
        uint64 _clockSeconds,
        uint16 _rewardBps,
        Arity memory _arity
    ) VerdeRefereeBase(_market, _adjudicator, _bond, _clockSeconds, _rewardBps, _arity) {}

    /// @inheritdoc IVerdeMoves
    function narrow(uint256 _disputeId, bytes32[] calldata _values, bytes32[] calldata _defenderValues) external {
        Dispute storage d = _dispute(_disputeId);
        Phase phase = d.phase;
        uint256 k = _pointArity(phase);
        if (k == 0 && phase != Phase.Descent) phase = Phase.Steps; // not a narrowing phase: _guardMove says so
        _guardMove(_disputeId, d, phase);
        if (phase == Phase.OpTrace && !d.tracesCommitted) revert RefereeWrongPhase(_disputeId, phase, phase);
        bool defender = d.turn == Party.Defender;
        uint64[] memory pos;
        if (k != 0) {
            pos = d.positions(k);
            if (_values.length != pos.length) revert RefereeBadWidth(_disputeId, _values.length, pos.length);
            if (phase == Phase.Reduction) _checkWords(_disputeId, _values);
        } else {
            _checkNodes(_disputeId, d, _values, defender ? d.defenderOut : d.challengerOut);
        }

        d.charge();
        d.moves += 1;
        emit ValuesRevealed(_disputeId, d.turn, phase, _values);
        if (defender) {
            d.pendingRoot = keccak256(abi.encodePacked(_values));
            d.turn = Party.Challenger;
            return;
        }
        if (keccak256(abi.encodePacked(_defenderValues)) != d.pendingRoot) revert RefereeBadProof(_disputeId);
        d.pendingRoot = bytes32(0);
        d.turn = Party.Defender;
        uint256 j;
        // The first value where the two differ; in the Descent one always does (the two nodes differ).
        while (j < _values.length && _values[j] == _defenderValues[j]) ++j;
        if (k == 0) return _descend(_disputeId, d, _values, _defenderValues, j);
        d.narrowTo(pos, _values, _defenderValues, j);
        emit RangeNarrowed(_disputeId, phase, d.lo, d.hi);
        if (!d.pinned()) return;
        if (phase == Phase.Steps) _pin(_disputeId, d);
        else if (phase == Phase.OpTrace) _pinOp(_disputeId, d);
        else _toLeaf(_disputeId, d);
    }

    /// @dev Descent: the mover's nodes fold to its current node (`levels` below it), or its leaf data hashes to
    /// its current leaf.
    function _checkNodes(uint256 _disputeId, Dispute storage _d, bytes32[] calldata _values, bytes32 _node)
        internal
        view
    {
        uint256 height = _d.height;
        uint256 levels = height < _DESCENT_LEVELS ? height : _DESCENT_LEVELS;
        uint256 width = 1 << levels;
        if (_values.length != width) revert RefereeBadWidth(_disputeId, _values.length, width);
        bytes32 top = height == 0 ? TensorMerkle.leafHash(_values[0]) : _foldTensor(_values, levels);
        if (top != _node) revert RefereeBadProof(_disputeId);
    }

    /// @dev Reduction: every value is a 32-bit accumulator.
    function _checkWords(uint256 _disputeId, bytes32[] calldata _values) internal pure {
        for (uint256 i; i < _values.length; ++i) {
            if (uint256(_values[i]) > type(uint32).max) revert RefereeBadProof(_disputeId);
        }
    }

    /// @dev The challenger's Descent answer: follow child `_j`, the first that differs; at a leaf, pin the first
    /// differing word, the disputed element.
    function _descend(
        uint256 _disputeId,
        Dispute storage _d,
        bytes32[] calldata _values,
        bytes32[] calldata _defenderValues,
        uint256 _j
    ) internal {
        uint256 height = _d.height;
        if (height == 0) return _pinElement(_disputeId, _d, _values[0], _defenderValues[0]);
        uint256 levels = height < _DESCENT_LEVELS ? height : _DESCENT_LEVELS;
        uint256 h = height - levels;
        uint256 index = (uint256(_d.node) << levels) + _j;
        if ((index << h) >= (_d.numel + 7) / 8) {
            // The subtree lies wholly in the padding, which the format fixes to zero hashes.
            Party right = _values[_j] == TensorMerkle.zeroHash(h) ? Party.Challenger : Party.Defender;
            return _resolve(_disputeId, _d, right, Resolution.Leaf);
        }
        _d.height = uint8(h);
        _d.node = uint64(index);
        _d.challengerOut = _values[_j];
        _d.defenderOut = _defenderValues[_j];
    }

    /// @dev The two leaves differ: their first differing word is the disputed element; a reduction's partial
    /// sums are narrowed next, from the initial accumulator (agreed) to the two values.
    function _pinElement(uint256 _disputeId, Dispute storage _d, bytes32 _data, bytes32 _defenderData) internal {
        uint256 w;
        while (TensorMerkle.wordAt(_data, w) == TensorMerkle.wordAt(_defenderData, w)) ++w;
        uint32 cv = TensorMerkle.wordAt(_data, w);
        uint32 dv = TensorMerkle.wordAt(_defenderData, w);
        uint256 e = uint256(_d.node) * 8 + w;
        // Words past the last element are zero padding in the format.
        if (e >= _d.numel) {
            return _resolve(_disputeId, _d, cv == 0 ? Party.Challenger : Party.Defender, Resolution.Leaf);
        }
        _d.element = uint64(e);
        _d.challengerValue = cv;
        _d.defenderValue = dv;
        emit ElementPinned(_disputeId, uint64(e), cv, dv);
        if (!Opcodes.isReduction(_d.opcode)) return _toLeaf(_disputeId, _d);
        _d.lo = 0;
        _d.agreedRoot = bytes32(uint256(Opcodes.reduceInit(_d.opcode)));
        _d.challengerRoot = bytes32(uint256(cv));
        _d.defenderRoot = bytes32(uint256(dv));
        if (_d.hi == 1) return _toLeaf(_disputeId, _d);
        _d.phase = Phase.Reduction;
        emit PhaseAdvanced(_disputeId, Phase.Reduction, _d.hi);
    }

    /// @inheritdoc IVerdeMoves
    function commitTrace(
        uint256 _disputeId,
        bytes32 _traceRoot,
        bytes32 _lastOpHash,
        bytes32[] calldata _programSiblings,
        bytes32[] calldata _traceSiblings
    ) external {
        Dispute storage d = _dispute(_disputeId);
        _guardMove(_disputeId, d, Phase.OpTrace);
        if (d.tracesCommitted) revert RefereeWrongPhase(_disputeId, d.phase, Phase.OpTrace);
        Program storage p = _s().programs[d.jobId];
        uint256 last = p.numOps - 1;
        bool defender = d.turn == Party.Defender;
        // The last op is HEADER: its output is the party's checkpoint root for the step, which links the
        // trace to the root the party stood by in the Steps phase.
        bytes32 claimed = defender ? d.defenderRoot : d.challengerRoot;
        if (
            TraceMerkle.root(_lastOpHash, last, _programSiblings, p.numOps) != p.programTree
                || TraceMerkle.root(TraceMerkle.entry(_lastOpHash, claimed), last, _traceSiblings, p.numOps) != _traceRoot
        ) revert RefereeBadProof(_disputeId);

        d.charge();
        d.moves += 1;
        emit TraceCommitted(_disputeId, d.turn, _traceRoot, p.numOps);
        if (defender) {
            d.pendingRoot = _traceRoot;
            d.turn = Party.Challenger;
            return;
        }
        d.defenderRoot = d.pendingRoot;
        d.challengerRoot = _traceRoot;
        d.pendingRoot = bytes32(0);
        d.tracesCommitted = true;
        d.turn = Party.Defender;
        if (d.pinned()) _pinOp(_disputeId, d);
    }

    /// @inheritdoc IVerdeMoves
    function revealOp(
        uint256 _disputeId,
        bytes calldata _desc,
        bytes32 _outRoot,
        bytes32 _dataRoot,
        bytes32[] calldata _programSiblings,
        bytes32[] calldata _traceSiblings
    ) external {
        Dispute storage d = _dispute(_disputeId);
        _guardMove(_disputeId, d, Phase.Output);
        bytes32 h = _checkReveal(_disputeId, d, keccak256(_desc), _outRoot, _programSiblings, _traceSiblings);
        _applyReveal(_disputeId, d, h, abi.decode(_desc, (IOpAdjudicator.Op)), _outRoot, _dataRoot);
    }

    /// @dev The descriptor is the pinned op's and the output root is in the mover's trace at that op.
    function _checkReveal(
        uint256 _disputeId,
        Dispute storage _d,
        bytes32 _h,
        bytes32 _outRoot,
        bytes32[] calldata _programSiblings,
        bytes32[] calldata _traceSiblings
    ) internal view returns (bytes32) {
        uint32 numOps = _s().programs[_d.jobId].numOps;
        uint256 i = _d.opIndex;
        bool defender = _d.turn == Party.Defender;
        if (defender) {
            if (TraceMerkle.root(_h, i, _programSiblings, numOps) != _s().programs[_d.jobId].programTree) {
                revert RefereeBadProof(_disputeId);
            }
        } else if (_h != _d.descHash) {
            revert RefereeBadOp(_disputeId, _d.opcode);
        }
        // One sibling path shows the leaf empty under the agreed root and set under the party's root.
        if (
            TraceMerkle.root(bytes32(0), i, _traceSiblings, numOps) != _d.traceRoot
                || TraceMerkle.root(TraceMerkle.entry(_h, _outRoot), i, _traceSiblings, numOps)
                    != (defender ? _d.defenderRoot : _d.challengerRoot)
        ) revert RefereeBadProof(_disputeId);
        return _h;
    }

    /// @dev Record a revealed output; after both, start the descent (tensor ops) or the leaf (hash ops).
    function _applyReveal(
        uint256 _disputeId,
        Dispute storage _d,
        bytes32 _h,
        IOpAdjudicator.Op memory _op,
        bytes32 _outRoot,
        bytes32 _dataRoot
    ) internal {
        bytes32 kept = _outRoot;
        if (Opcodes.isTensor(_op.opcode)) {
            // A tensor op's root must be a tensor of the op's dtype and shape: the descent walks its data tree.
            if (TensorMerkle.tensorRootOf(_dataRoot, _op.dtype, _op.shape) != _outRoot) revert RefereeBadProof(_disputeId);
            kept = _dataRoot;
        }
        _d.charge();
        _d.moves += 1;
        emit OutputRevealed(_disputeId, _d.turn, _op.opcode, _outRoot);
        if (_d.turn == Party.Defender) {
            _d.descHash = _h;
            _d.opcode = _op.opcode;
            _d.defenderOut = kept;
            uint256 n = 1;
            for (uint256 j; j < _op.shape.length; ++j) {
                n *= _op.shape[j];
            }
            _d.numel = uint64(n);
            _d.hi = _op.k;
            _d.turn = Party.Challenger;
            return;
        }
        _d.challengerOut = kept;
        if (!Opcodes.isTensor(_op.opcode)) return _toLeaf(_disputeId, _d);
        _d.height = uint8(TensorMerkle.dataDepth(_d.numel));
        _d.node = 0;
        _d.phase = Phase.Descent;
        _d.turn = Party.Defender;
        emit PhaseAdvanced(_disputeId, Phase.Descent, 0);
    }

    /// @inheritdoc IVerdeMoves
    function resolveElement(
        uint256 _disputeId,
        bytes calldata _desc,
        OperandRef[] calldata _refs,
        IOpAdjudicator.Opening[] calldata _openings
    ) external {
        (Dispute storage d, bytes32[] memory roots) = _elementInputs(_disputeId, _desc, _refs);
        _judgeElement(_disputeId, d, _expected(d, _desc, roots, _openings));
    }

    /// @dev The Leaf-phase guards for an element op and its operand roots.
    function _elementInputs(uint256 _disputeId, bytes calldata _desc, OperandRef[] calldata _refs)
        internal
        view
        returns (Dispute storage d_, bytes32[] memory roots_)
    {
        IOpAdjudicator.Op memory op;
        (d_, op) = _leafOp(_disputeId, _desc);
        if (!Opcodes.isTensor(op.opcode)) revert RefereeBadOp(_disputeId, op.opcode);
        roots_ = _operandRoots(_disputeId, d_, op, _refs);
    }

    /// @dev The adjudicator's value for the pinned element, or for the pinned partial-sum step.
    function _expected(
        Dispute storage _d,
        bytes calldata _desc,
        bytes32[] memory _roots,
        IOpAdjudicator.Opening[] calldata _openings
    ) internal view returns (uint32) {
        if (Opcodes.isReduction(_d.opcode)) {
            return IOpAdjudicator(_ADJUDICATOR).reduceStep(
                _desc, _d.element, _d.lo, uint32(uint256(_d.agreedRoot)), _roots, _openings
            );
        }
        return IOpAdjudicator(_ADJUDICATOR).element(_desc, _d.element, _roots, _openings);
    }

    /// @dev Compare the recomputed bits with the parties' values (the partial sums at `hi` for a reduction).
    function _judgeElement(uint256 _disputeId, Dispute storage _d, uint32 _value) internal {
        bool reduction = Opcodes.isReduction(_d.opcode);
        uint32 cv = reduction ? uint32(uint256(_d.challengerRoot)) : _d.challengerValue;
        uint32 dv = reduction ? uint32(uint256(_d.defenderRoot)) : _d.defenderValue;
        _d.moves += 1;
        emit LeafRecomputed(_disputeId, _d.element, _value, cv, dv);
        _decide(_disputeId, _d, _value == dv, _value == cv);
    }

    /// @inheritdoc IVerdeMoves
    function resolveHashOp(uint256 _disputeId, bytes calldata _desc, OperandRef[] calldata _refs) external {
        (Dispute storage d, IOpAdjudicator.Op memory op) = _leafOp(_disputeId, _desc);
        if (!Opcodes.isHash(op.opcode)) revert RefereeBadOp(_disputeId, op.opcode);
        bytes32[] memory roots = _operandRoots(_disputeId, d, op, _refs);
        _decideHash(_disputeId, d, IOpAdjudicator(_ADJUDICATOR).hashOp(_desc, roots, d.step));
    }

    /// @inheritdoc IVerdeMoves
    function resolveLoad(
        uint256 _disputeId,
        bytes calldata _desc,
        TensorMerkle.CheckpointHeader calldata _header,
        bytes32 _tensorRoot,
        uint256 _index,
        bytes32[] calldata _siblings
    ) external {
        (Dispute storage d, IOpAdjudicator.Op memory op) = _leafOp(_disputeId, _desc);
        if (op.opcode != Opcodes.LOAD) revert RefereeBadOp(_disputeId, op.opcode);
        _decideHash(
            _disputeId,
            d,
            IOpAdjudicator(_ADJUDICATOR).loadRoot(_desc, d.preRoot, _header, _tensorRoot, _index, _siblings)
        );
    }

    /// @inheritdoc IVerdeMoves
    function resolveBatch(
        uint256 _disputeId,
        bytes calldata _desc,
        bytes32[3] calldata _roots,
        bytes32[] calldata _siblings
    ) external {
        (Dispute storage d, IOpAdjudicator.Op memory op) = _leafOp(_disputeId, _desc);
        if (op.opcode != Opcodes.BATCH) revert RefereeBadOp(_disputeId, op.opcode);
        Program storage p = _s().programs[d.jobId];
        bytes32 expected = IOpAdjudicator(_ADJUDICATOR).batchRoot(
            _desc, TraceMerkle.dataRoot(p.dataTree, p.numSteps), d.step, _roots, p.dataTree, p.numSteps, _siblings
        );
        _decideHash(_disputeId, d, expected);
    }

    /// @dev Everything is pinned: anyone may now prove the inputs, before the challenger's clock runs out
    /// (a challenger that cannot show the defender wrong loses by timeout).
    function _toLeaf(uint256 _disputeId, Dispute storage _d) internal {
        _d.phase = Phase.Leaf;
        _d.turn = Party.Challenger;
        emit PhaseAdvanced(_disputeId, Phase.Leaf, _d.element);
    }

    /// @dev Guards of the resolve* calls: Leaf phase, the challenger's clock running, the pinned descriptor.
    function _leafOp(uint256 _disputeId, bytes calldata _desc) internal view returns (Dispute storage d_, IOpAdjudicator.Op memory op_) {
        d_ = _dispute(_disputeId);
        if (d_.phase != Phase.Leaf) revert RefereeWrongPhase(_disputeId, d_.phase, Phase.Leaf);
        uint64 deadline = d_.deadline();
        if (block.timestamp > deadline) revert RefereeClockExpired(_disputeId, d_.turn, deadline);
        if (keccak256(_desc) != d_.descHash) revert RefereeBadOp(_disputeId, d_.opcode);
        op_ = abi.decode(_desc, (IOpAdjudicator.Op));
    }

    /// @dev The output roots of the op's operand slots, each proven in the agreed trace state before the op.
    function _operandRoots(uint256 _disputeId, Dispute storage _d, IOpAdjudicator.Op memory _op, OperandRef[] calldata _refs)
        internal
        view
        returns (bytes32[] memory roots_)
    {
        uint256 n = _op.operands.length;
        if (_refs.length != n) revert RefereeBadWidth(_disputeId, _refs.length, n);
        uint32 numOps = _s().programs[_d.jobId].numOps;
        roots_ = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            uint32 slot = _op.operands[i].slot;
            if (slot == Opcodes.CONST_SLOT) continue;
            if (slot >= _d.opIndex) revert RefereeBadOperand(_disputeId, i);
            if (TraceMerkle.root(TraceMerkle.entry(_refs[i].opHash, _refs[i].outRoot), slot, _refs[i].siblings, numOps) != _d.traceRoot)
            {
                revert RefereeBadProof(_disputeId);
            }
            roots_[i] = _refs[i].outRoot;
        }
    }

    /// @dev Decide by the recomputed value: a party whose value matches wins; if neither does, both lost.
    function _decide(uint256 _disputeId, Dispute storage _d, bool _defenderRight, bool _challengerRight) internal {
        if (_defenderRight) return _resolve(_disputeId, _d, Party.Defender, Resolution.Leaf);
        if (_challengerRight) return _resolve(_disputeId, _d, Party.Challenger, Resolution.Leaf);
        // Neither matches: the defender's result is wrong, and so is a solver challenger's.
        _resolve(_disputeId, _d, Party.None, Resolution.BothWrong);
    }

    /// @dev Decide a hash op by its recomputed output.
    function _decideHash(uint256 _disputeId, Dispute storage _d, bytes32 _expected) internal {
        _d.moves += 1;
        emit HashRecomputed(_disputeId, _expected, _d.challengerOut, _d.defenderOut);
        _decide(_disputeId, _d, _expected == _d.defenderOut, _expected == _d.challengerOut);
    }

    /// @dev Fold 2^levels tensor-tree nodes up `levels` levels (TensorMerkle nodes).
    function _foldTensor(bytes32[] calldata _nodes, uint256 _levels) internal pure returns (bytes32) {
        bytes32[] memory level = _nodes;
        for (uint256 l; l < _levels; ++l) {
            uint256 half = level.length / 2;
            bytes32[] memory up = new bytes32[](half);
            for (uint256 i; i < half; ++i) {
                up[i] = TensorMerkle.nodeHash(level[2 * i], level[2 * i + 1]);
            }
            level = up;
        }
        return level[0];
    }
}
