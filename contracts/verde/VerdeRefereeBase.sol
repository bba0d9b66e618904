// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IVerdeTypes} from "../interfaces/IVerdeTypes.sol";
import {Bisection} from "../libraries/Bisection.sol";

/// @title VerdeRefereeBase
/// @notice Storage, configuration and the internal rules shared by VerdeReferee and its op-phase facet
/// VerdeOpPhases. The facet runs by delegatecall over the referee's storage, so both MUST list this base
/// first (its variables then sit at the same slots in both); the facet's immutables are the referee's.
abstract contract VerdeRefereeBase is IVerdeTypes {
    using Bisection for Dispute;

    /// @notice Basis-point denominator.
    uint16 internal constant _BPS = 10_000;


    /// @dev The market this referee holds DISPUTE_ROLE on.
    IJobMarket internal immutable _MARKET;
    /// @dev The OpAdjudicator (address(0) allowed for a referee whose jobs all go to the committee).
    address internal immutable _ADJUDICATOR;
    /// @dev Bond per party, in wei.
    uint256 internal immutable _BOND;
    /// @dev Each party's thinking time per dispute, in seconds.
    uint64 internal immutable _CLOCK_SECONDS;
    /// @dev Winner's share of a losing solver's stake, in basis points.
    uint16 internal immutable _REWARD_BPS;

    /// @dev The last dispute id handed out; ids start at 1.
    uint256 internal _disputeCount;
    /// @dev disputeId => dispute.
    mapping(uint256 => Dispute) internal _disputes;
    /// @dev account => withdrawable bond credit.
    mapping(address => uint256) internal _bondCredit;
    /// @dev The committee members.
    address[] internal _members;
    /// @dev account => is a committee member.
    mapping(address => bool) internal _isMember;
    /// @dev Signatures needed to resolve a dispute.
    uint256 internal _threshold;
    /// @dev jobId => its Verde program.
    mapping(uint256 => Program) internal _programs;

    /// @dev Domain tags of the trace and tensor trees (docs/verde-trace.md, docs/commitments.md).
    bytes1 internal constant _ENTRY_TAG = 0x05;
    bytes1 internal constant _TRACE_NODE_TAG = 0x06;
    bytes1 internal constant _DATA_TAG = 0x09;
    uint32 internal constant _CONST_SLOT = type(uint32).max;
    uint256 internal constant _DESCENT_LEVELS = 4;
    uint256 internal constant _PARTIAL_POINTS = 7;

    /// @param _market The job market (grant the referee its DISPUTE_ROLE).
    /// @param _adjudicator The OpAdjudicator, or address(0) for a referee whose jobs all go to the committee.
    /// @param _bond Bond per party, in wei (> 0).
    /// @param _clockSeconds Each party's clock, in seconds (> 0).
    /// @param _rewardBps Winner's share of a losing solver's stake (<= 10 000).
    constructor(IJobMarket _market, address _adjudicator, uint256 _bond, uint64 _clockSeconds, uint16 _rewardBps) {
        // INVARIANT: a zero bond or clock would make a dispute free or unplayable.
        if (_bond == 0 || _clockSeconds == 0 || _rewardBps > _BPS || address(_market) == address(0)) {
            revert RefereeBadConfig(_bond, _clockSeconds, _rewardBps);
        }
        _MARKET = _market;
        _ADJUDICATOR = _adjudicator;
        _BOND = _bond;
        _CLOCK_SECONDS = _clockSeconds;
        _REWARD_BPS = _rewardBps;
    }

    /// @dev Guards shared by every move: the dispute is in `_phase`, the caller's turn, the clock running.
    function _guardMove(uint256 _disputeId, Dispute storage _d, Phase _phase) internal view {
        if (_d.phase == Phase.Resolved) revert RefereeResolved(_disputeId);
        if (_d.phase != _phase) revert RefereeWrongPhase(_disputeId, _d.phase, _phase);
        address mover = _d.turn == Party.Challenger ? _d.challenger : _d.defender;
        if (msg.sender != mover) revert RefereeNotYourTurn(_disputeId, msg.sender, _d.turn);
        uint64 deadline = _d.deadline();
        if (block.timestamp > deadline) revert RefereeClockExpired(_disputeId, _d.turn, deadline);
    }

    /// @dev The op range is one op: both reveal their output for it next.
    function _pinOp(uint256 _disputeId, Dispute storage _d) internal {
        _d.opIndex = uint32(_d.lo);
        _d.traceRoot = _d.agreedRoot;
        _d.phase = Phase.Output;
        emit OpPinned(_disputeId, _d.opIndex);
    }

    /// @dev Decide the dispute: credit the bonds, then settle the market (external calls last).
    function _resolve(uint256 _disputeId, Dispute storage _d, Party _winner, Resolution _how) internal {
        (address winner, address loser) =
            _winner == Party.Challenger ? (_d.challenger, _d.defender) : (_d.defender, _d.challenger);
        bool loserIsSolver = _winner == Party.Challenger || !_d.watcher;
        bool winnerIsSolver = _winner == Party.Defender || !_d.watcher;

        _d.phase = Phase.Resolved;
        _d.turn = Party.None;
        _d.winner = _winner;
        _d.pendingRoot = bytes32(0);
        // INVARIANT: every bond escrowed for this dispute is credited to the winner.
        _bondCredit[winner] += _d.defenderBonded ? 2 * _BOND : _BOND;
        emit DisputeResolved(_disputeId, _winner, winner, loser, _how);

        uint256 jobId = _d.jobId;
        if (loserIsSolver && _slashable(jobId, loser)) _MARKET.slash(jobId, loser, winner, _REWARD_BPS);
        if (winnerIsSolver && _MARKET.solverOf(jobId, winner).disputes > 0) {
            _MARKET.closeDispute(jobId, winner);
        }
        _voidIfNoSolverHolds(jobId);
    }

    /// @dev Void a running job once every solver has been slashed: no result of it holds any more, and
    /// voiding returns what is left of the payment to the requester.
    function _voidIfNoSolverHolds(uint256 _jobId) internal {
        (,, IJobMarket.JobStatus status,) = _MARKET.jobOf(_jobId);
        if (status != IJobMarket.JobStatus.Running) return;
        address[] memory solvers = _MARKET.solversOf(_jobId);
        for (uint256 i; i < solvers.length; ++i) {
            if (!_MARKET.solverOf(_jobId, solvers[i]).slashed) return;
        }
        _MARKET.voidResult(_jobId);
    }

    /// @dev Whether the market would accept slashing `_solver` now: the job runs and the solver is neither
    /// slashed already (another dispute won first) nor finished. A loser that is not slashable keeps its
    /// market standing; the bonds still move, so the dispute always resolves.
    function _slashable(uint256 _jobId, address _solver) internal view returns (bool slashable_) {
        (,, IJobMarket.JobStatus status,) = _MARKET.jobOf(_jobId);
        if (status != IJobMarket.JobStatus.Running) return false;
        IJobMarket.SolverInfo memory info = _MARKET.solverOf(_jobId, _solver);
        slashable_ = !info.slashed && !info.finished;
    }

    /// @dev The dispute, reverting for an unknown id.
    function _dispute(uint256 _disputeId) internal view returns (Dispute storage d_) {
        d_ = _disputes[_disputeId];
        if (d_.phase == Phase.None) revert RefereeUnknownDispute(_disputeId);
    }

    /// @dev keccak(0x05 ‖ opHash ‖ outRoot): a trace tree leaf.
    function _entry(bytes32 _opHash, bytes32 _outRoot) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(_ENTRY_TAG, _opHash, _outRoot));
    }

    /// @dev The trace-tree root a leaf and its siblings lead to; the path must be exactly the tree's depth.
    function _traceClimb(bytes32 _leaf, uint256 _index, bytes32[] calldata _siblings, uint256 _count)
        internal
        pure
        returns (bytes32 node_)
    {
        uint256 depth = _traceDepth(_count);
        if (_siblings.length != depth || _index >= _count) return bytes32(uint256(1)); // matches no root
        node_ = _leaf;
        for (uint256 i; i < depth; ++i) {
            node_ = (_index >> i) & 1 == 1
                ? keccak256(abi.encodePacked(_TRACE_NODE_TAG, _siblings[i], node_))
                : keccak256(abi.encodePacked(_TRACE_NODE_TAG, node_, _siblings[i]));
        }
    }

    /// @dev D = max(1, ceil(log2 count)).
    function _traceDepth(uint256 _count) internal pure returns (uint256 depth_) {
        depth_ = 1;
        while ((1 << depth_) < _count) ++depth_;
    }

    /// @dev Root of a trace tree of depth `_depth` with every leaf zero (S_0).
    function _zeroTrace(uint256 _depth) internal pure returns (bytes32 node_) {
        for (uint256 i; i < _depth; ++i) {
            node_ = keccak256(abi.encodePacked(_TRACE_NODE_TAG, node_, node_));
        }
    }

    /// @dev keccak(0x09 ‖ dataTree ‖ numSteps).
    function _dataRoot(Program storage _p) internal view returns (bytes32) {
        return keccak256(abi.encodePacked(_DATA_TAG, _p.dataTree, uint256(_p.numSteps)));
    }

}
