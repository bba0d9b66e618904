// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IVerdeTypes} from "../interfaces/IVerdeTypes.sol";
import {Bisection} from "../libraries/Bisection.sol";
import {TraceMerkle} from "../libraries/TraceMerkle.sol";

/// @title VerdeRefereeBase
/// @notice Storage, configuration and the internal rules shared by VerdeReferee and its op-phase facet VerdeMoves.
/// The facet runs by delegatecall over the referee's storage, which lives in one ERC-7201 namespace
/// (`verde.referee`), so neither contract's inheritance order can move it; the facet's immutables are the
/// referee's (the referee deploys it with its own configuration).
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
    /// @dev Arities of the Steps, OpTrace and Reduction narrowing, and the Descent's levels per move.
    uint8 internal immutable _STEPS_ARITY;
    uint8 internal immutable _OPS_ARITY;
    uint8 internal immutable _PARTIALS_ARITY;
    uint8 internal immutable _DESCENT_LEVELS;

    /// @dev One committee: its members and the signatures it needs.
    struct Committee {
        address[] members;
        uint256 threshold; // 0: no committee
    }

    /// @dev Where one solver stands in the disputes of one job.
    struct Standing {
        uint32 live; // unresolved disputes it is a solver party of
        uint64 firstLoss; // the lowest-numbered dispute it lost outright (0: none): its opponent takes the bounty
    }

    /// @dev Everything the referee and its facet keep.
    /// @custom:storage-location erc7201:verde.referee
    struct RefereeStorage {
        uint256 disputeCount; // the last dispute id handed out; ids start at 1
        mapping(uint256 => Dispute) disputes; // disputeId => dispute
        mapping(address => uint256) bondCredit; // account => withdrawable bond credit
        uint32 committeeEpoch; // the committee number in force; a dispute is decided by the one of its opening
        mapping(uint32 => Committee) committees; // epoch => committee
        mapping(uint32 => mapping(address => bool)) isMember; // epoch => account => is a member
        mapping(uint256 => Program) programs; // jobId => its program, copied from the market when a step is pinned
        mapping(uint256 => mapping(address => Standing)) standing; // jobId => solver => its disputes
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("verde.referee")) - 1)) & ~bytes32(uint256(0xff)) (ERC-7201).
    bytes32 private constant _STORAGE = 0xa13443251717d72f3572f632622b93f7545ef71559c4890e7ccb7fa54449ff00;

    /// @param _market The job market (grant the referee its DISPUTE_ROLE).
    /// @param _adjudicator The OpAdjudicator, or address(0) for a referee whose jobs all go to the committee.
    /// @param _bond The challenger's bond, in wei (> 0).
    /// @param _clockSeconds Each party's clock, in seconds (> 0).
    /// @param _rewardBps Winner's share of a losing solver's stake (<= 10 000).
    /// @param _arity The arity of each narrowing phase (2..32; the descent's a power of two).
    constructor(
        IJobMarket _market,
        address _adjudicator,
        uint256 _bond,
        uint64 _clockSeconds,
        uint16 _rewardBps,
        Arity memory _arity
    ) {
        // INVARIANT: a zero bond or clock would make a dispute free or unplayable.
        if (_bond == 0 || _clockSeconds == 0 || _rewardBps > _BPS || address(_market) == address(0)) {
            revert RefereeBadConfig(_bond, _clockSeconds, _rewardBps);
        }
        uint256 levels;
        while ((1 << levels) < _arity.descent) ++levels;
        if (
            !_arityOk(_arity.steps) || !_arityOk(_arity.ops) || !_arityOk(_arity.partials)
                || !_arityOk(_arity.descent) || (1 << levels) != _arity.descent
        ) revert RefereeBadArity(_arity);
        _MARKET = _market;
        _ADJUDICATOR = _adjudicator;
        _BOND = _bond;
        _CLOCK_SECONDS = _clockSeconds;
        _REWARD_BPS = _rewardBps;
        _STEPS_ARITY = _arity.steps;
        _OPS_ARITY = _arity.ops;
        _PARTIALS_ARITY = _arity.partials;
        _DESCENT_LEVELS = uint8(levels);
    }

    /// @dev The storage of the referee (and of the facet running over it).
    function _s() internal pure returns (RefereeStorage storage s_) {
        assembly ("memory-safe") {
            s_.slot := _STORAGE
        }
    }

    /// @dev The arities as configured.
    function _arity() internal view returns (Arity memory arity_) {
        arity_ = Arity(_STEPS_ARITY, _OPS_ARITY, uint8(1 << _DESCENT_LEVELS), _PARTIALS_ARITY);
    }

    /// @dev An arity a move can carry.
    function _arityOk(uint8 _k) private pure returns (bool) {
        return _k >= 2 && _k <= 32;
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

    /// @dev The range is one step: play the op trace of the job's program, or hand the step to the
    /// committee when the job has none.
    function _pin(uint256 _disputeId, Dispute storage _d) internal {
        _d.step = _d.hi;
        _d.preRoot = _d.agreedRoot;
        _d.turnStartedAt = uint64(block.timestamp);
        uint32 numOps = _programOf(_d.jobId).numOps;
        if (numOps == 0) {
            _d.phase = Phase.Committee;
            _d.turn = Party.None;
            emit PhaseAdvanced(_disputeId, Phase.Committee, _d.hi);
            return;
        }
        // The step's roots stay in challengerRoot / defenderRoot until commitTrace links the traces to them.
        _d.phase = Phase.OpTrace;
        _d.turn = Party.Defender;
        _d.lo = 0;
        _d.hi = numOps;
        _d.agreedRoot = TraceMerkle.zeroRoot(TraceMerkle.depth(numOps));
        emit PhaseAdvanced(_disputeId, Phase.OpTrace, _d.step);
    }

    /// @dev A job's program: cached from the market the first time one of its steps is pinned (the market's
    /// copy never changes after posting, so the cache is exact).
    function _programOf(uint256 _jobId) internal returns (Program storage program_) {
        program_ = _s().programs[_jobId];
        if (program_.numSteps != 0) return program_;
        (bytes32 tree, bytes32 data, uint32 numOps, uint64 steps) = _MARKET.programOf(_jobId);
        if (numOps != 0) _s().programs[_jobId] = Program(tree, data, numOps, steps);
    }

    /// @dev The op range is one op: both reveal their output for it next.
    function _pinOp(uint256 _disputeId, Dispute storage _d) internal {
        _d.opIndex = uint32(_d.lo);
        _d.traceRoot = _d.agreedRoot;
        _d.phase = Phase.Output;
        emit OpPinned(_disputeId, _d.opIndex);
    }

    /// @dev Everything is pinned: anyone may now prove the inputs, before the challenger's clock runs out
    /// (a challenger that cannot show the defender wrong loses by timeout).
    function _toLeaf(uint256 _disputeId, Dispute storage _d) internal {
        _d.phase = Phase.Leaf;
        _d.turn = Party.Challenger;
        emit PhaseAdvanced(_disputeId, Phase.Leaf, _d.element);
    }

    /// @dev The arity of a Steps, OpTrace or Reduction narrowing (0 in any other phase).
    function _pointArity(Phase _phase) internal view returns (uint256) {
        if (_phase == Phase.Steps) return _STEPS_ARITY;
        if (_phase == Phase.OpTrace) return _OPS_ARITY;
        if (_phase == Phase.Reduction) return _PARTIALS_ARITY;
        return 0;
    }

    /// @dev Decide the dispute: credit the bond, then settle each solver party on the market (external calls
    /// last). `_winner` is None for BothWrong (both parties shown wrong) and Expired (nobody shown wrong).
    function _resolve(uint256 _disputeId, Dispute storage _d, Party _winner, Resolution _how) internal {
        address challenger = _d.challenger;
        address defender = _d.defender;
        _d.phase = Phase.Resolved;
        _d.turn = Party.None;
        _d.winner = _winner;
        _d.pendingRoot = bytes32(0);
        // INVARIANT: the dispute's one bond, the challenger's, is credited exactly once: to the defender when it
        // wins, else back to the challenger. Nobody outside the dispute is ever credited here.
        bool defenderWon = _winner == Party.Defender;
        _s().bondCredit[defenderWon ? defender : challenger] += _BOND;
        (address winner, address loser) = defenderWon ? (defender, challenger) : (challenger, defender);
        emit DisputeResolved(_disputeId, _winner, winner, loser, _how);

        uint256 jobId = _d.jobId;
        bool bothWrong = _how == Resolution.BothWrong;
        bool challengerWon = _winner == Party.Challenger;
        _settle(jobId, defender, _disputeId, challengerWon || bothWrong, challengerWon);
        // The market voids the job itself once its last solver is slashed.
        if (!_d.watcher) _settle(jobId, challenger, _disputeId, defenderWon || bothWrong, defenderWon);
    }

    /// @dev One solver party's outcome in dispute `_disputeId`: `_lost` when it was shown wrong (slashed if the
    /// market still can), `_outright` when its opponent won, which makes the dispute a candidate for its bounty.
    /// Once no dispute over it is live, a slashed solver's bounty goes to the opponent of the lowest-numbered
    /// dispute it lost outright (the first opened, so nobody gains by copying a watcher's public moves in a
    /// later dispute and racing it), or to the requester when it lost none outright.
    function _settle(uint256 _jobId, address _solver, uint256 _disputeId, bool _lost, bool _outright) internal {
        Standing storage st = _s().standing[_jobId][_solver];
        st.live -= 1;
        if (_outright && (st.firstLoss == 0 || _disputeId < st.firstLoss)) st.firstLoss = uint64(_disputeId);

        IJobMarket.SolverInfo memory info = _MARKET.solverOf(_jobId, _solver);
        if (!info.slashed) {
            // A loser the market can no longer slash (paid in full, or the job no longer running) keeps its
            // standing; either way the dispute's hold on its claims ends here.
            if (_lost && !info.finished && _MARKET.statusOf(_jobId) == IJobMarket.JobStatus.Running) {
                _MARKET.slash(_jobId, _solver, _REWARD_BPS);
                info.slashed = true;
            } else {
                _MARKET.closeDispute(_jobId, _solver);
            }
        }
        if (st.live == 0 && info.slashed && !info.bountyAwarded) {
            address to; // address(0): the requester
            uint256 first = st.firstLoss;
            if (first != 0) {
                Dispute storage w = _s().disputes[first];
                to = w.defender == _solver ? w.challenger : w.defender;
            }
            _MARKET.awardBounty(_jobId, _solver, to);
        }
    }

    /// @dev The dispute, reverting for an unknown id.
    function _dispute(uint256 _disputeId) internal view returns (Dispute storage d_) {
        d_ = _s().disputes[_disputeId];
        if (d_.phase == Phase.None) revert RefereeUnknownDispute(_disputeId);
    }


}
