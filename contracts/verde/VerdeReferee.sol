// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IVerdeReferee} from "../interfaces/IVerdeReferee.sol";
import {VerdeOpPhases} from "./VerdeOpPhases.sol";
import {VerdeRefereeBase} from "./VerdeRefereeBase.sol";
import {Bisection} from "../libraries/Bisection.sol";

/// @title VerdeReferee
/// @notice The Verde dispute game over JobMarket jobs: bisection over the steps of a disputed checkpoint
/// interval, then over the ops of the disputed step's program, then a descent over the disputed op's
/// output tensor to one element, then (for a reduction) over that element's partial sums, and finally an
/// on-chain recomputation of one element by the OpAdjudicator (docs/verde.md, docs/verde-trace.md).
///
/// A solver disputes another solver whose root for checkpoint `k` differs from its own while their roots
/// for `k - 1` agree (`k = 1` starts from the job's spec hash), or a watcher disputes one solver with the
/// root it claims. The challenger bonds when opening, the defender with `postBond` as its first move.
/// Every round the defender moves first and the challenger answers; each has a chess clock.
/// Resolution credits every bond to the winner (pulled with `withdrawBond`), slashes a losing solver on the
/// market with `REWARD_BPS` of its stake to the winner, closes a winning solver's market dispute, and voids
/// the job when no solver's result holds any more.
///
/// NOTE: A job whose requester registered no program (`setProgram`) has no on-chain recipes: its pinned
/// step goes to the committee, which has one clock (`CLOCK_SECONDS`) to decide before the dispute expires.
/// NOTE: When a losing solver was already slashed by another dispute (or the job voided), the market is
/// left as it is; the bonds still move. A winning solver's market dispute is closed only while it is open.
/// NOTE: The op-phase moves (IVerdeOpPhases) live in a facet, VerdeOpPhases, deployed by the constructor
/// and reached through the fallback by delegatecall, which keeps each contract under the 24 KiB code limit.
/// CAUTION: The referee MUST be the only holder of the market's DISPUTE_ROLE.
contract VerdeReferee is VerdeRefereeBase, IVerdeReferee, AccessControl, ReentrancyGuardTransient {
    using Bisection for Dispute;

    /// @notice Semantic version of this contract.
    string public constant version = "0.2.0";

    /// @notice Upper bound on the committee size; bounds the signature loop.
    uint256 public constant MAX_COMMITTEE = 32;

    /// @dev The op-phase facet (same configuration, run over this storage).
    address internal immutable _OP_PHASES;

    /// @param _market The job market (grant this contract its DISPUTE_ROLE).
    /// @param _adjudicator The OpAdjudicator, or address(0) for a referee whose jobs all go to the committee.
    /// @param _admin Governance: DEFAULT_ADMIN_ROLE, sets the committee.
    /// @param _bond Bond per party, in wei (> 0).
    /// @param _clockSeconds Each party's clock, in seconds (> 0).
    /// @param _rewardBps Winner's share of a losing solver's stake (<= 10 000).
    constructor(
        IJobMarket _market,
        address _adjudicator,
        address _admin,
        uint256 _bond,
        uint64 _clockSeconds,
        uint16 _rewardBps
    ) VerdeRefereeBase(_market, _adjudicator, _bond, _clockSeconds, _rewardBps) {
        _OP_PHASES = address(new VerdeOpPhases(_market, _adjudicator, _bond, _clockSeconds, _rewardBps));
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    /// @notice Serve the op-phase moves (IVerdeOpPhases) from the facet, over this contract's storage.
    fallback() external {
        address facet = _OP_PHASES;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), facet, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @inheritdoc IVerdeReferee
    function opPhases() external view returns (address opPhases_) {
        opPhases_ = _OP_PHASES;
    }


    /// @inheritdoc IVerdeReferee
    function openSolverDispute(uint256 _jobId, address _defender, uint32 _index)
        external
        payable
        returns (uint256 disputeId_)
    {
        if (!_MARKET.solverOf(_jobId, msg.sender).joined) revert RefereeNotSolver(_jobId, msg.sender);
        (bytes32 mine,) = _MARKET.checkpointOf(_jobId, msg.sender, _index);
        if (_index > 1) {
            (bytes32 myPrior,) = _MARKET.checkpointOf(_jobId, msg.sender, _index - 1);
            (bytes32 theirPrior,) = _MARKET.checkpointOf(_jobId, _defender, _index - 1);
            // INVARIANT: the checkpoint phase is settled at opening: the parties agree at k - 1.
            if (myPrior != theirPrior) revert RefereePriorRootsDiffer(_jobId, _index);
        }
        disputeId_ = _open(_jobId, _defender, _index, mine, false);

        _MARKET.openDispute(_jobId, _defender, _index);
        _MARKET.openDispute(_jobId, msg.sender, _index);
    }

    /// @inheritdoc IVerdeReferee
    function openWatcherDispute(uint256 _jobId, address _defender, uint32 _index, bytes32 _claimedRoot)
        external
        payable
        returns (uint256 disputeId_)
    {
        // INVARIANT: a solver must dispute as a solver, so that its own claims freeze too.
        if (_MARKET.solverOf(_jobId, msg.sender).joined) revert RefereeWatcherIsSolver(_jobId, msg.sender);
        disputeId_ = _open(_jobId, _defender, _index, _claimedRoot, true);

        _MARKET.openDispute(_jobId, _defender, _index);
    }

    /// @inheritdoc IVerdeReferee
    function postBond(uint256 _disputeId) external payable {
        Dispute storage d = _dispute(_disputeId);
        _guardMove(_disputeId, d, Phase.Steps);
        if (d.defenderBonded) revert RefereeWrongPhase(_disputeId, d.phase, Phase.Steps);
        if (msg.value != _BOND) revert RefereeWrongBond(msg.value, _BOND);

        d.charge();
        d.defenderBonded = true;
        d.moves += 1;
        emit BondPosted(_disputeId, msg.sender, msg.value);
        // A one-step interval is pinned from the start.
        if (d.pinned()) _pin(_disputeId, d);
    }


    /// @inheritdoc IVerdeReferee
    function bisect(uint256 _disputeId, bytes32 _commitment) external {
        Dispute storage d = _dispute(_disputeId);
        Phase phase = d.phase == Phase.OpTrace ? Phase.OpTrace : Phase.Steps;
        _guardMove(_disputeId, d, phase);
        if (!d.defenderBonded) revert RefereeBondMissing(_disputeId);
        if (phase == Phase.OpTrace && !d.tracesCommitted) revert RefereeWrongPhase(_disputeId, phase, phase);

        d.charge();
        d.moves += 1;
        uint64 mid = d.midpoint();
        if (d.turn == Party.Defender) {
            d.pendingRoot = _commitment;
            d.turn = Party.Challenger;
            emit Bisected(_disputeId, phase, Party.Defender, mid, _commitment);
            return;
        }
        d.answer(_commitment);
        d.turn = Party.Defender;
        emit Bisected(_disputeId, phase, Party.Challenger, mid, _commitment);
        emit RangeNarrowed(_disputeId, phase, d.lo, d.hi);
        if (d.pinned()) {
            if (phase == Phase.Steps) _pin(_disputeId, d);
            else _pinOp(_disputeId, d);
        }
    }

    /// @inheritdoc IVerdeReferee
    function setProgram(uint256 _jobId, bytes32 _programTree, uint32 _numOps, bytes32 _dataTree, uint64 _numSteps)
        external
    {
        (IJobMarket.JobParams memory p, address requester,,) = _MARKET.jobOf(_jobId);
        if (msg.sender != requester) revert RefereeNotRequester(_jobId, msg.sender);
        // INVARIANT: a program never changes under a running dispute.
        if (_programs[_jobId].numOps != 0 || _numOps == 0 || _numSteps != p.steps) {
            revert RefereeBadProgram(_jobId, _numOps, _numSteps);
        }
        _programs[_jobId] = Program(_programTree, _dataTree, _numOps, _numSteps);
        emit ProgramSet(
            _jobId,
            keccak256(abi.encodePacked(bytes1(0x07), _programTree, uint256(_numOps))),
            _dataRoot(_programs[_jobId])
        );
    }

    /// @inheritdoc IVerdeReferee
    function resolveByCommittee(uint256 _disputeId, Party _winner, bytes[] calldata _signatures) external {
        Dispute storage d = _dispute(_disputeId);
        if (d.phase != Phase.Committee) revert RefereeWrongPhase(_disputeId, d.phase, Phase.Committee);
        if (_winner != Party.Challenger && _winner != Party.Defender) revert RefereeBadWinner(_disputeId, _winner);
        _checkSignatures(_disputeId, _digest(_disputeId, d, _winner), _signatures);

        _resolve(_disputeId, d, _winner, Resolution.Committee);
    }

    /// @inheritdoc IVerdeReferee
    function timeout(uint256 _disputeId) external {
        Dispute storage d = _dispute(_disputeId);
        if (d.phase == Phase.Resolved) revert RefereeResolved(_disputeId);
        if (d.phase == Phase.Committee) {
            uint64 until = d.turnStartedAt + _CLOCK_SECONDS;
            if (block.timestamp <= until) revert RefereeClockRunning(_disputeId, Party.None, until);
            return _expire(_disputeId, d);
        }
        uint64 deadline = d.deadline();
        // INVARIANT: a mover keeps its turn up to and including its deadline.
        if (block.timestamp <= deadline) revert RefereeClockRunning(_disputeId, d.turn, deadline);

        Party winner = d.turn == Party.Challenger ? Party.Defender : Party.Challenger;
        _resolve(_disputeId, d, winner, Resolution.Timeout);
    }

    /// @inheritdoc IVerdeReferee
    function withdrawBond() external nonReentrant returns (uint256 amount_) {
        amount_ = _bondCredit[msg.sender];
        if (amount_ == 0) revert RefereeNothingToWithdraw(msg.sender);

        _bondCredit[msg.sender] = 0;
        emit BondWithdrawn(msg.sender, amount_);

        Address.sendValue(payable(msg.sender), amount_);
    }


    /// @inheritdoc IVerdeReferee
    function setCommittee(address[] calldata _newMembers, uint256 _newThreshold)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        uint256 n = _newMembers.length;
        if (n == 0 || n > MAX_COMMITTEE || _newThreshold == 0 || _newThreshold > n) {
            revert RefereeBadCommitteeSetup(n, _newThreshold);
        }

        for (uint256 i; i < _members.length; ++i) {
            _isMember[_members[i]] = false;
        }
        for (uint256 i; i < n; ++i) {
            address member = _newMembers[i];
            // INVARIANT: members are distinct and non-zero (ecrecover failures never count).
            if (member == address(0) || _isMember[member]) revert RefereeBadCommitteeSetup(n, _newThreshold);
            _isMember[member] = true;
        }
        _members = _newMembers;
        _threshold = _newThreshold;
        emit CommitteeSet(_newMembers, _newThreshold);
    }


    /// @dev Check and record a new dispute; the caller opens the market disputes afterwards.
    function _open(uint256 _jobId, address _defender, uint32 _index, bytes32 _challengerRoot, bool _watcher)
        internal
        returns (uint256 disputeId_)
    {
        if (msg.value != _BOND) revert RefereeWrongBond(msg.value, _BOND);
        if (msg.sender == _defender) revert RefereeSelfDispute(msg.sender);
        if (!_MARKET.solverOf(_jobId, _defender).joined) revert RefereeNotSolver(_jobId, _defender);
        (bytes32 theirs,) = _MARKET.checkpointOf(_jobId, _defender, _index);
        if (_challengerRoot == theirs) revert RefereeRootsAgree(_jobId, _index, theirs);
        (IJobMarket.JobParams memory p,,,) = _MARKET.jobOf(_jobId);
        bytes32 agreed = p.specHash;
        if (_index > 1) (agreed,) = _MARKET.checkpointOf(_jobId, _defender, _index - 1);
        // An unposted or out-of-range index reverts in the market's openDispute (JobCheckpointNotPosted).
        uint64 lo = _stepOf(p, _index == 0 ? 0 : _index - 1);
        uint64 hi = _stepOf(p, _index);
        if (hi <= lo) revert RefereeRootsAgree(_jobId, _index, theirs);

        disputeId_ = ++_disputeCount;
        Dispute storage d = _disputes[disputeId_];
        d.jobId = _jobId;
        d.challenger = msg.sender;
        d.defender = _defender;
        d.watcher = _watcher;
        d.phase = Phase.Steps;
        d.turn = Party.Defender;
        d.checkpointIndex = _index;
        d.lo = lo;
        d.hi = hi;
        d.agreedRoot = agreed;
        d.challengerRoot = _challengerRoot;
        d.defenderRoot = theirs;
        d.challengerClock = _CLOCK_SECONDS;
        d.defenderClock = _CLOCK_SECONDS;
        d.turnStartedAt = uint64(block.timestamp);
        emit DisputeCreated(disputeId_, _jobId, msg.sender, _defender, _index, _watcher);
    }

    /// @dev The range is one step: play the op trace of the job's program, or hand the step to the
    /// committee when the job has none.
    function _pin(uint256 _disputeId, Dispute storage _d) internal {
        _d.step = _d.hi;
        _d.preRoot = _d.agreedRoot;
        _d.turnStartedAt = uint64(block.timestamp);
        uint32 numOps = _programs[_d.jobId].numOps;
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
        _d.agreedRoot = _zeroTrace(_traceDepth(numOps));
        emit PhaseAdvanced(_disputeId, Phase.OpTrace, _d.step);
    }

    /// @dev Count distinct member signatures over `_hash`; revert unless they reach the threshold.
    function _checkSignatures(uint256 _disputeId, bytes32 _hash, bytes[] calldata _signatures) internal view {
        bytes32 signed = MessageHashUtils.toEthSignedMessageHash(_hash);
        uint256 n = _signatures.length;
        if (n < _threshold) revert RefereeBadCommittee(_disputeId, n, _threshold);
        address[] memory seen = new address[](n);
        for (uint256 i; i < n; ++i) {
            address signer = ECDSA.recover(signed, _signatures[i]);
            if (!_isMember[signer]) revert RefereeNotCommitteeMember(_disputeId, signer);
            // Quadratic, but n is bounded: a member signing twice would otherwise count twice.
            for (uint256 j; j < i; ++j) {
                if (seen[j] == signer) revert RefereeDuplicateSigner(_disputeId, signer);
            }
            seen[i] = signer;
        }
    }

    /// @dev The committee did not decide within its clock: nobody was shown wrong, so each bond goes back
    /// to its poster and every solver party's market dispute is closed.
    function _expire(uint256 _disputeId, Dispute storage _d) internal {
        _d.phase = Phase.Resolved;
        _bondCredit[_d.challenger] += _BOND;
        if (_d.defenderBonded) _bondCredit[_d.defender] += _BOND;
        emit DisputeResolved(_disputeId, Party.None, _d.challenger, _d.defender, Resolution.Expired);
        uint256 jobId = _d.jobId;
        if (_MARKET.solverOf(jobId, _d.defender).disputes > 0) _MARKET.closeDispute(jobId, _d.defender);
        if (!_d.watcher && _MARKET.solverOf(jobId, _d.challenger).disputes > 0) {
            _MARKET.closeDispute(jobId, _d.challenger);
        }
    }

    /// @dev The committee digest for `_winner` of dispute `_d`.
    function _digest(uint256 _disputeId, Dispute storage _d, Party _winner) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), _disputeId, _d.step, _winner));
    }

    /// @dev The step after which checkpoint `_index` is taken: min(index * interval, steps).
    function _stepOf(IJobMarket.JobParams memory _p, uint32 _index) internal pure returns (uint64 step_) {
        uint256 step = uint256(_index) * _p.checkpointInterval;
        step_ = step > _p.steps ? _p.steps : uint64(step);
    }


    /// @inheritdoc IVerdeReferee
    function programOf(uint256 _jobId) external view returns (Program memory program_) {
        program_ = _programs[_jobId];
    }

    /// @inheritdoc IVerdeReferee
    function market() external view returns (IJobMarket market_) {
        market_ = _MARKET;
    }

    /// @inheritdoc IVerdeReferee
    function adjudicator() external view returns (address adjudicator_) {
        adjudicator_ = _ADJUDICATOR;
    }

    /// @inheritdoc IVerdeReferee
    function BOND() external view returns (uint256 bond_) {
        bond_ = _BOND;
    }

    /// @inheritdoc IVerdeReferee
    function CLOCK_SECONDS() external view returns (uint64 seconds_) {
        seconds_ = _CLOCK_SECONDS;
    }

    /// @inheritdoc IVerdeReferee
    function REWARD_BPS() external view returns (uint16 bps_) {
        bps_ = _REWARD_BPS;
    }

    /// @inheritdoc IVerdeReferee
    function disputeCount() external view returns (uint256 count_) {
        count_ = _disputeCount;
    }

    /// @inheritdoc IVerdeReferee
    function disputeOf(uint256 _disputeId) external view returns (Dispute memory dispute_) {
        dispute_ = _disputes[_disputeId];
    }

    /// @inheritdoc IVerdeReferee
    function midpoint(uint256 _disputeId) external view returns (uint64 position_) {
        position_ = _dispute(_disputeId).midpoint();
    }

    /// @inheritdoc IVerdeReferee
    function moveDeadline(uint256 _disputeId) external view returns (uint64 deadline_) {
        deadline_ = _dispute(_disputeId).deadline();
    }

    /// @inheritdoc IVerdeReferee
    function committeeDigest(uint256 _disputeId, Party _winner) external view returns (bytes32 digest_) {
        digest_ = _digest(_disputeId, _dispute(_disputeId), _winner);
    }

    /// @inheritdoc IVerdeReferee
    function committee() external view returns (address[] memory members_, uint256 threshold_) {
        members_ = _members;
        threshold_ = _threshold;
    }

    /// @inheritdoc IVerdeReferee
    function bondCredit(address _account) external view returns (uint256 amount_) {
        amount_ = _bondCredit[_account];
    }

}
