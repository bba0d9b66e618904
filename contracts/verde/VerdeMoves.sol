// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IOpAdjudicator} from "../interfaces/IOpAdjudicator.sol";
import {Bisection} from "../libraries/Bisection.sol";
import {Opcodes} from "../libraries/Opcodes.sol";
import {TensorMerkle} from "../libraries/TensorMerkle.sol";
import {TraceMerkle} from "../libraries/TraceMerkle.sol";
import {VerdeRefereeBase} from "./VerdeRefereeBase.sol";

/// @title VerdeMoves
/// @notice The op-phase moves of the Verde dispute game (IVerdeMoves but `narrow`, which the referee runs
/// itself), run by delegatecall from VerdeReferee over the referee's storage: the trace commitments, the output
/// reveal, and the leaf, where the OpAdjudicator recomputes one element from operands proven against the agreed
/// trace state.
/// CAUTION: Called directly (not through the referee) it sees empty storage and every move reverts.
contract VerdeMoves is VerdeRefereeBase {
    using Bisection for Dispute;

    constructor(
        IJobMarket _market,
        address _adjudicator,
        uint256 _bond,
        uint64 _clockSeconds,
        uint16 _rewardBps,
        Arity memory _arity
    ) VerdeRefereeBase(_market, _adjudicator, _bond, _clockSeconds, _rewardBps, _arity) {}

    /// @notice IVerdeMoves.
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

    /// @notice IVerdeMoves.
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

    /// @notice IVerdeMoves.
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

    /// @notice IVerdeMoves.
    function resolveHashOp(uint256 _disputeId, bytes calldata _desc, OperandRef[] calldata _refs) external {
        (Dispute storage d, IOpAdjudicator.Op memory op) = _leafOp(_disputeId, _desc);
        if (!Opcodes.isHash(op.opcode)) revert RefereeBadOp(_disputeId, op.opcode);
        bytes32[] memory roots = _operandRoots(_disputeId, d, op, _refs);
        _decideHash(_disputeId, d, IOpAdjudicator(_ADJUDICATOR).hashOp(_desc, roots, d.step));
    }

    /// @notice IVerdeMoves.
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

    /// @notice IVerdeMoves.
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

}
