// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title JobMarket
/// @notice Jobs, solver stakes, escrow, milestone payments and slashing for verifiable training runs.
///
/// A requester escrows a payment in ETH or one ERC20; `numSolvers` solvers stake the same asset to
/// join. The last join starts the job. Each solver commits a checkpoint root every
/// `checkpointInterval` steps; once a checkpoint's challenge window has passed with no dispute open
/// against its solver, `claim` credits one milestone (`payment / (numSolvers * numCheckpoints)`), and
/// the last milestone also credits the stake back. Every transfer out goes through `withdraw`, per
/// job and per account, so one job's accounting can never touch another's funds.
///
/// Accounting: per job, `escrowOf(jobId)` is what the job holds that no one has been credited yet and
/// `owed(jobId, account)` what each account may withdraw. Every mutator moves value from escrow to
/// credits (or credits out through `withdraw`), never creates or loses it, so the contract's balance
/// of an asset equals the sum over its jobs of escrow plus credits.
///
/// NOTE: Only the Verde referee holds `DISPUTE_ROLE`; the admin (governance) grants it. Granting it to a new
/// referee revokes it from the old one, and each job is judged for good by the referee appointed when it was
/// posted: governance can change the judge of future jobs, never of a job solvers have staked in.
/// NOTE: A solver defaulted while a checkpoint of its is still in its window can still be slashed,
/// but its stake has already gone to the requester, so the dispute winner's reward is then zero here.
/// WARNING: ERC20s that deliver less than the amount sent (fee-on-transfer) are rejected by a balance
/// check; rebasing tokens and tokens that charge on outgoing transfers are not supported.
/// CAUTION: `voidResult` refunds every unreleased milestone to the requester, including verified ones
/// a solver has not claimed yet; solvers should claim as soon as checkpoints verify.
contract JobMarket is IJobMarket, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- storage types

    /// @dev A job as stored.
    struct Job {
        JobParams params; // as posted
        address requester; // who posted and paid; receives refunds, dust and forfeits
        JobStatus status; // lifecycle
        uint16 joined; // solvers joined so far (<= MAX_SOLVERS)
        uint16 slashed; // solvers slashed so far; the job is voided when it reaches numSolvers
        uint32 appointment; // the referee appointment in force at posting: the job's judge for good
        uint256 escrow; // held for the job and not yet credited to anyone
    }

    /// @dev One checkpoint commitment.
    struct Checkpoint {
        bytes32 root; // checkpoint Merkle root
        uint64 postedAt; // unix seconds; 0 when not posted
    }

    // ---------------------------------------------------------------- constants

    /// @notice Semantic version of this contract.
    string public constant version = "2.0.0";

    /// @inheritdoc IJobMarket
    bytes32 public constant DISPUTE_ROLE = keccak256("DISPUTE_ROLE");

    /// @notice Basis-point denominator.
    uint16 public constant BPS = 10_000;

    /// @notice Upper bound on `numSolvers`; bounds the loops in `cancelJob` and `voidResult`.
    uint32 public constant MAX_SOLVERS = 64;

    // ---------------------------------------------------------------- storage

    /// @dev The last job id handed out; ids start at 1.
    uint256 internal _jobCount;
    /// @dev jobId => job.
    mapping(uint256 => Job) internal _jobs;
    /// @dev jobId => solvers in join order.
    mapping(uint256 => address[]) internal _solvers;
    /// @dev jobId => solver => standing.
    mapping(uint256 => mapping(address => SolverInfo)) internal _solverInfo;
    /// @dev jobId => solver => checkpoint index => commitment.
    mapping(uint256 => mapping(address => mapping(uint32 => Checkpoint))) internal _checkpoints;
    /// @dev jobId => account => withdrawable credit.
    mapping(uint256 => mapping(address => uint256)) internal _owed;
    /// @dev jobId => slashed solver => its bounty, held in escrow until the referee awards it.
    mapping(uint256 => mapping(address => uint256)) internal _bounties;
    /// @dev The number of the latest referee appointment (0: none yet).
    uint32 internal _appointments;
    /// @dev appointment => the referee it appointed (address(0): the role was revoked, nobody judges).
    mapping(uint32 => address) internal _referees;

    // ---------------------------------------------------------------- constructor

    /// @param _admin Governance: holds DEFAULT_ADMIN_ROLE and grants DISPUTE_ROLE to the referee.
    constructor(address _admin) {
        // INVARIANT: someone must be able to appoint the referee.
        if (_admin == address(0)) revert JobZeroAddress("admin");
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    // ---------------------------------------------------------------- external: requester

    /// @inheritdoc IJobMarket
    function postJob(JobParams calldata _params) external payable nonReentrant returns (uint256 jobId_) {
        _validate(_params);
        _checkValue(_params.token, _params.payment);
        uint32 appointment = _appointments;
        // INVARIANT: a job is posted with a judge; a job nobody could dispute would pay any checkpoint.
        if (_referees[appointment] == address(0)) revert JobNoReferee();

        jobId_ = ++_jobCount;
        Job storage job = _jobs[jobId_];
        job.params = _params;
        job.requester = msg.sender;
        job.appointment = appointment;
        job.status = JobStatus.Open;
        job.escrow = _params.payment;
        emit JobPosted(jobId_, msg.sender, _params.specHash, _params.token, _params.payment);

        _pull(_params.token, _params.payment);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(uint256 _jobId) external nonReentrant {
        Job storage job = _job(_jobId);
        // INVARIANT: only a job that never started can be cancelled.
        if (job.status != JobStatus.Open) revert JobNotOpen(_jobId, job.status);
        // INVARIANT: before the join deadline only the requester may give up on the job.
        if (msg.sender != job.requester && block.timestamp <= job.params.joinDeadline) {
            revert JobNotCancellable(_jobId, msg.sender);
        }

        job.status = JobStatus.Cancelled;
        _credit(job, _jobId, job.requester, job.params.payment);
        address[] storage solvers = _solvers[_jobId];
        uint256 stake = job.params.stake;
        for (uint256 i = 0; i < solvers.length; ++i) {
            address solver = solvers[i];
            _solverInfo[_jobId][solver].finished = true;
            _credit(job, _jobId, solver, stake);
            emit StakeReturned(_jobId, solver, stake);
        }
        emit JobCancelled(_jobId);
    }

    // ---------------------------------------------------------------- external: solvers

    /// @inheritdoc IJobMarket
    function join(uint256 _jobId) external payable nonReentrant {
        Job storage job = _job(_jobId);
        // A Running job is by definition full.
        if (job.status == JobStatus.Running) revert JobFull(_jobId);
        if (job.status != JobStatus.Open) revert JobNotOpen(_jobId, job.status);
        // INVARIANT: nobody joins after the join deadline.
        if (block.timestamp > job.params.joinDeadline) revert JobJoinClosed(_jobId, job.params.joinDeadline);
        SolverInfo storage info = _solverInfo[_jobId][msg.sender];
        if (info.joined) revert JobAlreadyJoined(_jobId, msg.sender);
        _checkValue(job.params.token, job.params.stake);

        info.joined = true;
        _solvers[_jobId].push(msg.sender);
        job.joined += 1;
        job.escrow += job.params.stake;
        emit SolverJoined(_jobId, msg.sender, job.params.stake);

        if (job.joined == job.params.numSolvers) {
            job.status = JobStatus.Running;
            // The rounding dust of the milestone split belongs to nobody's work: give it back now.
            uint256 milestones = uint256(job.params.numSolvers) * _countOf(job.params);
            uint256 dust = job.params.payment % milestones;
            if (dust != 0) _credit(job, _jobId, job.requester, dust);
            emit JobStarted(_jobId);
        }

        _pull(job.params.token, job.params.stake);
    }

    /// @inheritdoc IJobMarket
    function postCheckpoint(uint256 _jobId, uint32 _index, bytes32 _root) external {
        Job storage job = _job(_jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(_jobId, job.status);
        SolverInfo storage info = _solverInfo[_jobId][msg.sender];
        if (!info.joined) revert JobNotSolver(_jobId, msg.sender);
        if (info.slashed) revert JobSolverSlashed(_jobId, msg.sender);
        // INVARIANT: the record of the run is closed at the completion deadline.
        if (block.timestamp > job.params.completionDeadline) {
            revert JobCompletionClosed(_jobId, job.params.completionDeadline);
        }
        if (info.posted == _countOf(job.params)) revert JobSolverFinished(_jobId, msg.sender);
        // INVARIANT: checkpoints are posted in order, so the verified ones always form a prefix.
        if (_index != info.posted + 1) revert JobCheckpointOutOfOrder(_jobId, _index, info.posted + 1);

        info.posted = _index;
        _checkpoints[_jobId][msg.sender][_index] = Checkpoint({root: _root, postedAt: uint64(block.timestamp)});
        uint256 step = uint256(_index) * job.params.checkpointInterval;
        if (step > job.params.steps) step = job.params.steps;
        // SAFETY: step <= steps, a uint64.
        emit CheckpointPosted(_jobId, msg.sender, _index, uint64(step), _root);
    }

    /// @inheritdoc IJobMarket
    function claim(uint256 _jobId) external nonReentrant returns (uint256 amount_) {
        Job storage job = _job(_jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(_jobId, job.status);
        SolverInfo storage info = _solverInfo[_jobId][msg.sender];
        if (!info.joined) revert JobNotSolver(_jobId, msg.sender);
        if (info.slashed) revert JobSolverSlashed(_jobId, msg.sender);
        if (info.finished) revert JobSolverFinished(_jobId, msg.sender);
        // INVARIANT: a disputed solver's checkpoints are not verified; its claims stay frozen.
        if (info.disputes != 0) revert JobSolverDisputed(_jobId, msg.sender);

        // Checkpoints are posted in order, so postedAt is non-decreasing in the index and the verified
        // ones are a prefix: walk forward from the first unreleased one until one is still in its window.
        uint32 released = info.released;
        uint32 to = released;
        uint256 window = job.params.challengeWindow;
        mapping(uint32 => Checkpoint) storage cps = _checkpoints[_jobId][msg.sender];
        while (to < info.posted && uint256(cps[to + 1].postedAt) + window <= block.timestamp) {
            ++to;
        }

        uint32 count = _countOf(job.params);
        if (to > released) {
            info.released = to;
            amount_ = uint256(to - released) * _milestoneOf(job.params, count);
            _credit(job, _jobId, msg.sender, amount_);
            emit MilestonesReleased(_jobId, msg.sender, released + 1, to, amount_);
        }
        if (info.defaulted) {
            // A defaulted solver's stake is gone; it is done once its posted milestones are paid.
            if (to == info.posted) info.finished = true;
        } else if (to == count) {
            info.finished = true;
            uint256 stake = job.params.stake;
            _credit(job, _jobId, msg.sender, stake);
            amount_ += stake;
            emit StakeReturned(_jobId, msg.sender, stake);
        }
    }

    /// @inheritdoc IJobMarket
    function settleDefault(uint256 _jobId, address _solver) external nonReentrant {
        Job storage job = _job(_jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(_jobId, job.status);
        SolverInfo storage info = _solverInfo[_jobId][_solver];
        if (!info.joined) revert JobNotSolver(_jobId, _solver);
        // INVARIANT: a solver has until the completion deadline, inclusive, to post its last checkpoint.
        if (block.timestamp <= job.params.completionDeadline) {
            revert JobCompletionNotOver(_jobId, job.params.completionDeadline);
        }
        if (info.slashed) revert JobSolverSlashed(_jobId, _solver);
        uint32 count = _countOf(job.params);
        if (info.defaulted || info.posted == count) revert JobSolverFinished(_jobId, _solver);
        // INVARIANT: the stake stays put while a dispute may still award part of it to a challenger.
        if (info.disputes != 0) revert JobSolverDisputed(_jobId, _solver);

        info.defaulted = true;
        if (info.released == info.posted) info.finished = true;
        uint256 unposted = uint256(count - info.posted) * _milestoneOf(job.params, count);
        uint256 forfeited = job.params.stake + unposted;
        _credit(job, _jobId, job.requester, forfeited);
        emit SolverDefaulted(_jobId, _solver, forfeited);
    }

    /// @inheritdoc IJobMarket
    function withdraw(uint256 _jobId) external nonReentrant returns (uint256 amount_) {
        Job storage job = _job(_jobId);
        amount_ = _owed[_jobId][msg.sender];
        if (amount_ == 0) revert JobNothingToWithdraw(_jobId, msg.sender);

        // Zero the credit before paying it: a re-entrant payee finds nothing left.
        _owed[_jobId][msg.sender] = 0;
        emit Withdrawn(_jobId, msg.sender, amount_);

        _push(job.params.token, msg.sender, amount_);
    }

    // ---------------------------------------------------------------- external: dispute role

    /// @inheritdoc IJobMarket
    function openDispute(uint256 _jobId, address _solver, uint32 _index, address _challenger) external {
        Job storage job = _refereed(_jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(_jobId, job.status);
        SolverInfo storage info = _solverInfo[_jobId][_solver];
        if (!info.joined) revert JobNotSolver(_jobId, _solver);
        if (info.slashed) revert JobSolverSlashed(_jobId, _solver);
        Checkpoint storage cp = _checkpoints[_jobId][_solver][_index];
        if (cp.postedAt == 0) revert JobCheckpointNotPosted(_jobId, _solver, _index);
        // INVARIANT: a checkpoint whose window has passed is final and can never be disputed. Only the
        // disputed checkpoint's window counts: the challenger's own may have closed long ago.
        if (block.timestamp >= uint256(cp.postedAt) + job.params.challengeWindow) {
            revert JobChallengeWindowClosed(_jobId, _solver, _index);
        }

        info.disputes += 1;
        emit DisputeOpened(_jobId, _solver, _index);
        if (_challenger == address(0)) return;
        SolverInfo storage mine = _solverInfo[_jobId][_challenger];
        if (!mine.joined) revert JobNotSolver(_jobId, _challenger);
        if (mine.slashed) revert JobSolverSlashed(_jobId, _challenger);
        // A solver that disputes stands by its own result: its claims freeze until the dispute ends.
        mine.disputes += 1;
        emit DisputeOpened(_jobId, _challenger, _index);
    }

    /// @inheritdoc IJobMarket
    function closeDispute(uint256 _jobId, address _solver) external {
        _refereed(_jobId);
        SolverInfo storage info = _solverInfo[_jobId][_solver];
        if (info.disputes == 0) revert JobSolverNotDisputed(_jobId, _solver);

        info.disputes -= 1;
        emit DisputeClosed(_jobId, _solver);
    }

    /// @inheritdoc IJobMarket
    function slash(uint256 _jobId, address _solver, uint16 _rewardBps) external nonReentrant {
        Job storage job = _refereed(_jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(_jobId, job.status);
        SolverInfo storage info = _solverInfo[_jobId][_solver];
        if (!info.joined) revert JobNotSolver(_jobId, _solver);
        if (info.slashed) revert JobSolverSlashed(_jobId, _solver);
        // INVARIANT: a solver that has been paid in full keeps what it was paid.
        if (info.finished) revert JobSolverFinished(_jobId, _solver);
        if (_rewardBps > BPS) revert JobBadBps(_rewardBps);

        uint32 count = _countOf(job.params);
        uint256 stakeHeld = info.defaulted ? 0 : job.params.stake;
        uint256 milestone = _milestoneOf(job.params, count);
        uint256 unreleased = uint256(_earnable(info, count) - info.released) * milestone;
        uint256 bounty = stakeHeld * _rewardBps / BPS;
        uint256 toRequester = stakeHeld - bounty + unreleased;

        info.slashed = true;
        info.finished = true;
        info.disputes = 0;
        job.slashed += 1;
        // The bounty stays in escrow: which dispute earned it is known only once every dispute against the
        // solver has ended (the first opened that wins takes it, so nobody gains by racing a watcher).
        _bounties[_jobId][_solver] = bounty;
        _credit(job, _jobId, job.requester, toRequester);
        emit SolverSlashed(_jobId, _solver, bounty, toRequester);

        if (job.slashed == job.params.numSolvers) _void(_jobId, job);
    }

    /// @inheritdoc IJobMarket
    function awardBounty(uint256 _jobId, address _solver, address _recipient) external {
        Job storage job = _refereed(_jobId);
        SolverInfo storage info = _solverInfo[_jobId][_solver];
        // INVARIANT: a bounty exists only for a slashed solver, and is awarded once.
        if (!info.slashed || info.bountyAwarded) revert JobNoBounty(_jobId, _solver);
        address to = _recipient == address(0) ? job.requester : _recipient;
        uint256 amount = _bounties[_jobId][_solver];

        info.bountyAwarded = true;
        _bounties[_jobId][_solver] = 0;
        _credit(job, _jobId, to, amount);
        emit BountyAwarded(_jobId, _solver, to, amount);
    }

    /// @inheritdoc IJobMarket
    function voidResult(uint256 _jobId) external nonReentrant {
        Job storage job = _refereed(_jobId);
        if (job.status != JobStatus.Running) revert JobNotRunning(_jobId, job.status);

        _void(_jobId, job);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Void a Running job: every solver not yet finished gets its stake back (unless defaulted)
    /// and its unreleased payment goes to the requester.
    function _void(uint256 _jobId, Job storage _job_) internal {
        _job_.status = JobStatus.Voided;
        uint32 count = _countOf(_job_.params);
        uint256 milestone = _milestoneOf(_job_.params, count);
        uint256 stake = _job_.params.stake;
        uint256 refunded = 0;
        address[] storage solvers = _solvers[_jobId];
        for (uint256 i = 0; i < solvers.length; ++i) {
            address solver = solvers[i];
            SolverInfo storage info = _solverInfo[_jobId][solver];
            if (info.finished) continue;
            info.finished = true;
            refunded += uint256(_earnable(info, count) - info.released) * milestone;
            if (!info.defaulted) {
                _credit(_job_, _jobId, solver, stake);
                emit StakeReturned(_jobId, solver, stake);
            }
        }
        _credit(_job_, _jobId, _job_.requester, refunded);
        emit JobVoided(_jobId, refunded);
    }

    /// @dev Move `_amount` of job `_jobId`'s escrow to `_to`'s withdrawable credit.
    function _credit(Job storage _job_, uint256 _jobId, address _to, uint256 _amount) internal {
        // INVARIANT: a job never credits more than it holds (checked arithmetic reverts otherwise).
        _job_.escrow -= _amount;
        _owed[_jobId][_to] += _amount;
    }

    /// @dev Revert unless msg.value is exactly what the asset needs: `_amount` for ETH, 0 for a token.
    function _checkValue(address _token, uint256 _amount) internal view {
        uint256 expected = _token == address(0) ? _amount : 0;
        // INVARIANT: an ETH job is paid in msg.value only, an ERC20 job never takes ETH.
        if (msg.value != expected) revert JobWrongPayment(msg.value, expected);
    }

    /// @dev Pull `_amount` of `_token` from msg.sender, rejecting tokens that deliver less.
    function _pull(address _token, uint256 _amount) internal {
        if (_token == address(0) || _amount == 0) return;
        IERC20 token = IERC20(_token);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), _amount);
        uint256 balance = token.balanceOf(address(this));
        uint256 received = balance > before ? balance - before : 0;
        // INVARIANT: escrow is only ever booked for value actually received.
        if (received != _amount) revert JobTokenFeeOnTransfer(_token, received, _amount);
    }

    /// @dev Send `_amount` of `_token` (ETH when address(0)) to `_to`.
    function _push(address _token, address _to, uint256 _amount) internal {
        if (_token == address(0)) {
            Address.sendValue(payable(_to), _amount);
        } else {
            IERC20(_token).safeTransfer(_to, _amount);
        }
    }

    /// @dev Revert with JobInvalidParams unless `_p` describes a job that can be run and settled.
    function _validate(JobParams calldata _p) internal view {
        if (_p.steps == 0) revert JobInvalidParams("steps is zero");
        if (_p.checkpointInterval == 0) revert JobInvalidParams("checkpointInterval is zero");
        if ((uint256(_p.steps) + _p.checkpointInterval - 1) / _p.checkpointInterval > type(uint32).max) {
            revert JobInvalidParams("too many checkpoints");
        }
        if (_p.numSolvers == 0 || _p.numSolvers > MAX_SOLVERS) revert JobInvalidParams("numSolvers out of range");
        if (_p.payment < uint256(_p.numSolvers) * _numCheckpoints(_p.steps, _p.checkpointInterval)) {
            revert JobInvalidParams("payment below one wei per milestone");
        }
        if (_p.joinDeadline <= block.timestamp) revert JobInvalidParams("joinDeadline not in the future");
        if (_p.completionDeadline <= _p.joinDeadline) {
            revert JobInvalidParams("completionDeadline not after joinDeadline");
        }
        if (_p.token != address(0) && _p.token.code.length == 0) revert JobInvalidParams("token has no code");
        // INVARIANT: a job says at posting whether it has an on-chain program; a half-given one is neither.
        if (_p.numOps == 0 ? _p.programTree != 0 || _p.dataTree != 0 : _p.programTree == 0) {
            revert JobInvalidParams("program incomplete");
        }
    }

    /// @dev The job, provided the caller is its referee (the one appointed when it was posted), or revert.
    function _refereed(uint256 _jobId) internal view returns (Job storage job_) {
        job_ = _job(_jobId);
        // INVARIANT: a job's judge never changes after posting, like the program it judges by.
        if (msg.sender != _referees[job_.appointment]) revert JobNotReferee(_jobId, msg.sender);
    }

    /// @dev DISPUTE_ROLE has one holder: granting it to a new referee revokes it from the old one, and
    /// appoints the new one for the jobs posted from now on (jobs already posted keep theirs).
    function _grantRole(bytes32 _role, address _account) internal override returns (bool granted_) {
        if (_role == DISPUTE_ROLE) {
            address current = _referees[_appointments];
            if (_account == current) return false;
            if (current != address(0)) super._revokeRole(_role, current);
            _appoint(_account);
        }
        granted_ = super._grantRole(_role, _account);
    }

    /// @dev Revoking (or renouncing) DISPUTE_ROLE leaves new jobs without a referee, so none can be posted
    /// until governance appoints one; jobs already posted keep theirs.
    function _revokeRole(bytes32 _role, address _account) internal override returns (bool revoked_) {
        revoked_ = super._revokeRole(_role, _account);
        if (revoked_ && _role == DISPUTE_ROLE) _appoint(address(0));
    }

    /// @dev Record a new appointment.
    function _appoint(address _referee) internal {
        uint32 appointment = ++_appointments;
        _referees[appointment] = _referee;
        emit RefereeAppointed(appointment, _referee);
    }

    /// @dev The job, or revert JobUnknown.
    function _job(uint256 _jobId) internal view returns (Job storage job_) {
        job_ = _jobs[_jobId];
        if (job_.status == JobStatus.None) revert JobUnknown(_jobId);
    }

    /// @dev The highest milestone a solver can still earn: all of them, or the ones it posted if it defaulted.
    function _earnable(SolverInfo storage _info, uint32 _count) internal view returns (uint32 upTo_) {
        upTo_ = _info.defaulted ? _info.posted : _count;
    }

    /// @dev ceil(steps / checkpointInterval); `_validate` keeps it within uint32.
    function _numCheckpoints(uint64 _steps, uint64 _interval) internal pure returns (uint32 count_) {
        // SAFETY: steps + interval - 1 cannot overflow uint256 from two uint64s; the cast is checked in _validate.
        count_ = uint32((uint256(_steps) + _interval - 1) / _interval);
    }

    /// @dev A stored job's checkpoint count.
    function _countOf(JobParams storage _p) internal view returns (uint32 count_) {
        count_ = _numCheckpoints(_p.steps, _p.checkpointInterval);
    }

    /// @dev A stored job's milestone, given its checkpoint count.
    function _milestoneOf(JobParams storage _p, uint32 _count) internal view returns (uint256 amount_) {
        amount_ = _milestone(_p.payment, _p.numSolvers, _count);
    }

    /// @dev One milestone: payment / (numSolvers * numCheckpoints).
    function _milestone(uint256 _payment, uint32 _numSolvers, uint32 _count) internal pure returns (uint256 amount_) {
        amount_ = _payment / (uint256(_numSolvers) * _count);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IJobMarket
    function jobOf(uint256 _jobId)
        external
        view
        returns (JobParams memory params_, address requester_, JobStatus status_, uint32 joined_)
    {
        Job storage job = _jobs[_jobId];
        return (job.params, job.requester, job.status, job.joined);
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256 count_) {
        count_ = _jobCount;
    }

    /// @inheritdoc IJobMarket
    function numCheckpoints(uint256 _jobId) external view returns (uint32 count_) {
        count_ = _countOf(_job(_jobId).params);
    }

    /// @inheritdoc IJobMarket
    function milestoneOf(uint256 _jobId) external view returns (uint256 amount_) {
        JobParams storage p = _job(_jobId).params;
        amount_ = _milestoneOf(p, _countOf(p));
    }

    /// @inheritdoc IJobMarket
    function checkpointOf(uint256 _jobId, address _solver, uint32 _index)
        external
        view
        returns (bytes32 root_, uint64 postedAt_)
    {
        Checkpoint storage cp = _checkpoints[_jobId][_solver][_index];
        return (cp.root, cp.postedAt);
    }

    /// @inheritdoc IJobMarket
    function isVerified(uint256 _jobId, address _solver, uint32 _index) external view returns (bool verified_) {
        uint64 postedAt = _checkpoints[_jobId][_solver][_index].postedAt;
        SolverInfo storage info = _solverInfo[_jobId][_solver];
        verified_ = postedAt != 0 && !info.slashed && info.disputes == 0
            && uint256(postedAt) + _jobs[_jobId].params.challengeWindow <= block.timestamp;
    }

    /// @inheritdoc IJobMarket
    function solverOf(uint256 _jobId, address _solver) external view returns (SolverInfo memory info_) {
        info_ = _solverInfo[_jobId][_solver];
    }

    /// @inheritdoc IJobMarket
    function owed(uint256 _jobId, address _account) external view returns (uint256 amount_) {
        amount_ = _owed[_jobId][_account];
    }

    /// @inheritdoc IJobMarket
    function escrowOf(uint256 _jobId) external view returns (uint256 amount_) {
        amount_ = _jobs[_jobId].escrow;
    }

    /// @inheritdoc IJobMarket
    function refereeOf(uint256 _jobId) external view returns (address referee_) {
        referee_ = _referees[_jobs[_jobId].appointment];
    }

    /// @inheritdoc IJobMarket
    function referee() external view returns (address referee_) {
        referee_ = _referees[_appointments];
    }

    /// @inheritdoc IJobMarket
    function statusOf(uint256 _jobId) external view returns (JobStatus status_) {
        status_ = _jobs[_jobId].status;
    }

    /// @inheritdoc IJobMarket
    function programOf(uint256 _jobId)
        external
        view
        returns (bytes32 programTree_, bytes32 dataTree_, uint32 numOps_, uint64 steps_)
    {
        JobParams storage p = _jobs[_jobId].params;
        return (p.programTree, p.dataTree, p.numOps, p.steps);
    }

    /// @inheritdoc IJobMarket
    function bountyOf(uint256 _jobId, address _solver) external view returns (uint256 amount_) {
        amount_ = _bounties[_jobId][_solver];
    }

    /// @inheritdoc IJobMarket
    function solversOf(uint256 _jobId) external view returns (address[] memory solvers_) {
        solvers_ = _solvers[_jobId];
    }

    /// @notice ERC-165: IJobMarket and AccessControl.
    /// @param _interfaceId The interface id.
    /// @return supported_ True when implemented.
    function supportsInterface(bytes4 _interfaceId) public view override returns (bool supported_) {
        supported_ = _interfaceId == type(IJobMarket).interfaceId || super.supportsInterface(_interfaceId);
    }
}
