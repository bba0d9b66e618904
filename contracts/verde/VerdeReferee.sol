// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IVerdeReferee} from "../interfaces/IVerdeReferee.sol";
import {Bisection} from "../libraries/Bisection.sol";

/// @title VerdeReferee
/// @notice The Verde dispute game over JobMarket jobs: bisection over the steps of a disputed checkpoint
/// interval, then a referee committee for the single disputed step.
///
/// A solver disputes another solver whose root for checkpoint `k` differs from its own while their roots
/// for `k - 1` agree (`k = 1` starts from the job's spec hash), or a watcher disputes one solver with the
/// root it claims. The challenger bonds when opening, the defender with `postBond` as its first move. The
/// steps `(step(k-1), step(k)]` are then bisected: the defender commits its state root after the midpoint
/// step, the challenger answers with its own, and the range halves (see Bisection) until one step `s` is
/// left. That step goes to the committee: `m` of `n` members set by governance sign the winner.
/// Resolution credits every bond to the winner (pulled with `withdrawBond`), slashes a losing solver on the
/// market with `REWARD_BPS` of its stake to the winner, and closes a winning solver's market dispute.
///
/// NOTE: This slice stops at the step: the op-trace bisection, the reduction bisection and the on-chain
/// leaf recomputation (OpAdjudicator) are not built yet, so `commitTrace` and `resolveLeaf` always revert
/// with `RefereeWrongPhase` and every pinned step goes to the committee.
/// NOTE: When a losing solver was already slashed by another dispute (or the job voided), the market is
/// left as it is; the bonds still move. A winning solver's market dispute is closed only while it is open.
/// WARNING: In the Committee phase no clock runs; the dispute waits for the committee's signatures.
/// CAUTION: The referee MUST be the only holder of the market's DISPUTE_ROLE.
contract VerdeReferee is IVerdeReferee, AccessControl, ReentrancyGuardTransient {
    using Bisection for Dispute;

    // ---------------------------------------------------------------- constants

    /// @notice Semantic version of this contract.
    string public constant version = "0.1.0";

    /// @notice Upper bound on the committee size; bounds the signature loop.
    uint256 public constant MAX_COMMITTEE = 32;

    /// @notice Basis-point denominator.
    uint16 internal constant _BPS = 10_000;

    // ---------------------------------------------------------------- immutables

    /// @dev The market this referee holds DISPUTE_ROLE on.
    IJobMarket internal immutable _MARKET;
    /// @dev The OpAdjudicator (not used by this slice; address(0) allowed).
    address internal immutable _ADJUDICATOR;
    /// @dev Bond per party, in wei.
    uint256 internal immutable _BOND;
    /// @dev Each party's thinking time per dispute, in seconds.
    uint64 internal immutable _CLOCK_SECONDS;
    /// @dev Winner's share of a losing solver's stake, in basis points.
    uint16 internal immutable _REWARD_BPS;

    // ---------------------------------------------------------------- storage

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

    // ---------------------------------------------------------------- constructor

    /// @param _market The job market (grant this contract its DISPUTE_ROLE).
    /// @param _adjudicator The OpAdjudicator, or address(0) until it exists.
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
    ) {
        // INVARIANT: a zero bond or clock would make a dispute free or unplayable.
        if (_bond == 0 || _clockSeconds == 0 || _rewardBps > _BPS || address(_market) == address(0)) {
            revert RefereeBadConfig(_bond, _clockSeconds, _rewardBps);
        }
        _MARKET = _market;
        _ADJUDICATOR = _adjudicator;
        _BOND = _bond;
        _CLOCK_SECONDS = _clockSeconds;
        _REWARD_BPS = _rewardBps;
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    // ---------------------------------------------------------------- external: opening

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

    // ---------------------------------------------------------------- external: moves

    /// @inheritdoc IVerdeReferee
    function bisect(uint256 _disputeId, bytes32 _commitment) external {
        Dispute storage d = _dispute(_disputeId);
        _guardMove(_disputeId, d, Phase.Steps);
        if (!d.defenderBonded) revert RefereeBondMissing(_disputeId);

        d.charge();
        d.moves += 1;
        uint64 mid = d.midpoint();
        if (d.turn == Party.Defender) {
            d.pendingRoot = _commitment;
            d.turn = Party.Challenger;
            emit Bisected(_disputeId, Phase.Steps, Party.Defender, mid, _commitment);
            return;
        }
        d.answer(_commitment);
        d.turn = Party.Defender;
        emit Bisected(_disputeId, Phase.Steps, Party.Challenger, mid, _commitment);
        emit RangeNarrowed(_disputeId, Phase.Steps, d.lo, d.hi);
        if (d.pinned()) _pin(_disputeId, d);
    }

    /// @inheritdoc IVerdeReferee
    /// @dev Not built yet: the dispute never reaches OpTrace in this version.
    function commitTrace(uint256 _disputeId, bytes32, uint32) external view {
        Dispute storage d = _dispute(_disputeId);
        revert RefereeWrongPhase(_disputeId, d.phase, Phase.OpTrace);
    }

    /// @inheritdoc IVerdeReferee
    /// @dev Not built yet: the dispute never reaches Leaf in this version.
    function resolveLeaf(uint256 _disputeId, uint256, bytes calldata) external view {
        Dispute storage d = _dispute(_disputeId);
        revert RefereeWrongPhase(_disputeId, d.phase, Phase.Leaf);
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
        if (d.phase != Phase.Steps) revert RefereeWrongPhase(_disputeId, d.phase, Phase.Steps);
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

    // ---------------------------------------------------------------- external: governance

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

    // ---------------------------------------------------------------- internal

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

    /// @dev Guards shared by every move: the dispute is in `_phase`, the caller's turn, the clock running.
    function _guardMove(uint256 _disputeId, Dispute storage _d, Phase _phase) internal view {
        if (_d.phase == Phase.Resolved) revert RefereeResolved(_disputeId);
        if (_d.phase != _phase) revert RefereeWrongPhase(_disputeId, _d.phase, _phase);
        address mover = _d.turn == Party.Challenger ? _d.challenger : _d.defender;
        if (msg.sender != mover) revert RefereeNotYourTurn(_disputeId, msg.sender, _d.turn);
        uint64 deadline = _d.deadline();
        if (block.timestamp > deadline) revert RefereeClockExpired(_disputeId, _d.turn, deadline);
    }

    /// @dev The range is one step: stop the clocks and hand the step to the committee.
    function _pin(uint256 _disputeId, Dispute storage _d) internal {
        _d.step = _d.hi;
        _d.phase = Phase.Committee;
        _d.turn = Party.None;
        emit PhaseAdvanced(_disputeId, Phase.Committee, _d.hi);
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

    /// @dev The committee digest for `_winner` of dispute `_d`.
    function _digest(uint256 _disputeId, Dispute storage _d, Party _winner) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), _disputeId, _d.step, _winner));
    }

    /// @dev The step after which checkpoint `_index` is taken: min(index * interval, steps).
    function _stepOf(IJobMarket.JobParams memory _p, uint32 _index) internal pure returns (uint64 step_) {
        uint256 step = uint256(_index) * _p.checkpointInterval;
        step_ = step > _p.steps ? _p.steps : uint64(step);
    }

    // ---------------------------------------------------------------- views

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
