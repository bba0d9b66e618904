// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IOpAdjudicator} from "../interfaces/IOpAdjudicator.sol";
import {IVerdeMoves} from "../interfaces/IVerdeMoves.sol";
import {IVerdeReferee} from "../interfaces/IVerdeReferee.sol";
import {Opcodes} from "../libraries/Opcodes.sol";
import {TensorMerkle} from "../libraries/TensorMerkle.sol";
import {VerdeMoves} from "./VerdeMoves.sol";
import {VerdeRefereeBase} from "./VerdeRefereeBase.sol";
import {Bisection} from "../libraries/Bisection.sol";

/// @title VerdeRefereeCore
/// @notice The Verde dispute game over JobMarket jobs: k-ary narrowing over the steps of a disputed checkpoint
/// interval, then over the ops of the disputed step's program, then a descent over the disputed op's
/// output tensor to one element, then (for a reduction) over that element's partial sums, and finally an
/// on-chain recomputation of one element by the OpAdjudicator (docs/verde.md, docs/verde-trace.md).
///
/// A solver disputes another solver whose root for checkpoint `k` differs from its own while their roots
/// for `k - 1` agree (`k = 1` starts from the job's spec hash), or a watcher disputes one solver with the
/// root it claims. Only the challenger bonds (a defender needs no ETH but gas, so no number of parallel
/// disputes can starve an honest solver of liquidity). Every round the defender moves first and the challenger
/// answers; each has a chess clock. Resolution credits the bond to the defender if it won, else back to the
/// challenger; slashes a losing solver on the market, whose bounty (`REWARD_BPS` of its stake) goes, once
/// every dispute over that solver has ended, to the opponent in the first-opened dispute it lost outright; and
/// lifts a winning solver's hold on its claims.
///
/// NOTE: The program a job is judged by is part of the job, fixed when it was posted (IJobMarket.JobParams);
/// a job posted without one (numOps = 0) has no on-chain recipes: its pinned step goes to the committee in
/// force when the dispute opened, which has one clock (`CLOCK_SECONDS`) to decide before the dispute expires.
/// NOTE: When a losing solver was already slashed by another dispute (or the job voided), the market is
/// left as it is; the bond still moves, so the dispute always resolves.
/// NOTE: The narrowing move (`narrow`: Steps, OpTrace, Descent, Reduction) runs here; the op-phase moves
/// (commitTrace, revealOp, resolve*) run in a facet, VerdeMoves, deployed by the constructor with the same
/// configuration and reached by delegatecall from this contract's functions of the same names, which keeps each
/// contract under the 24 KiB code limit (one would be ~31 KiB); both keep their state in one ERC-7201 namespace
/// (VerdeRefereeBase).
/// CAUTION: The referee MUST be the only holder of the market's DISPUTE_ROLE.
abstract contract VerdeRefereeCore is VerdeRefereeBase, IVerdeReferee, AccessControl, ReentrancyGuardTransient {
    using Bisection for Dispute;

    /// @notice Semantic version of this contract.
    string public constant version = "0.3.0";

    /// @notice Upper bound on the committee size; bounds the signature loop.
    uint256 public constant MAX_COMMITTEE = 32;

    /// @dev The op-phase facet (same configuration, run over this storage).
    address internal immutable _MOVES;

    /// @param _market The job market (grant this contract its DISPUTE_ROLE).
    /// @param _adjudicator The OpAdjudicator, or address(0) for a referee whose jobs all go to the committee.
    /// @param _admin Governance: DEFAULT_ADMIN_ROLE, sets the committee.
    /// @param _bond The challenger's bond, in wei (> 0).
    /// @param _clockSeconds Each party's clock, in seconds (> 0).
    /// @param _rewardBps Winner's share of a losing solver's stake (<= 10 000).
    /// @param _arity The arity of each narrowing phase.
    constructor(
        IJobMarket _market,
        address _adjudicator,
        address _admin,
        uint256 _bond,
        uint64 _clockSeconds,
        uint16 _rewardBps,
        Arity memory _arity
    ) VerdeRefereeBase(_market, _adjudicator, _bond, _clockSeconds, _rewardBps, _arity) {
        _MOVES = address(new VerdeMoves(_market, _adjudicator, _bond, _clockSeconds, _rewardBps, _arity));
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    /// @inheritdoc IVerdeMoves
    function narrow(uint256 _disputeId, bytes32[] calldata _values, bytes32[] calldata _defenderValues) external {
        _narrow(_disputeId, _values, _defenderValues);
    }

    /// @inheritdoc IVerdeMoves
    function narrowOne(uint256 _disputeId, bytes32) external {
        bytes32[] calldata values;
        bytes32[] calldata none;
        // The one value is the second argument, read in place as a one-element array (the ABI decoder checked
        // that the calldata holds it); the defender's copy is the empty array (the round kept its value).
        assembly ("memory-safe") {
            values.offset := 0x24
            values.length := 1
            none.offset := 0x44
            none.length := 0
        }
        _narrow(_disputeId, values, none);
    }

    /// @dev The narrowing move (`narrow`, `narrowOne`).
    function _narrow(uint256 _disputeId, bytes32[] calldata _values, bytes32[] calldata _defenderValues) private {
        Dispute storage d = _s().disputes[_disputeId];
        Phase phase = d.phase;
        uint256 k = _pointArity(phase);
        if (k == 0 && phase != Phase.Descent) {
            // Not a narrowing phase: what `_dispute` and `_guardMove` say.
            if (phase == Phase.None) revert RefereeUnknownDispute(_disputeId);
            if (phase == Phase.Resolved) revert RefereeResolved(_disputeId);
            revert RefereeWrongPhase(_disputeId, phase, Phase.Steps);
        }
        Party turn = d.turn;
        _start(_disputeId, d, turn);
        if (phase == Phase.OpTrace && !d.tracesCommitted) revert RefereeWrongPhase(_disputeId, phase, phase);
        uint256 n = _values.length;
        uint256 count;
        if (k != 0) {
            count = d.pointCount(k);
            if (n != count) revert RefereeBadWidth(_disputeId, n, count);
            if (phase == Phase.Reduction) _checkWords(_disputeId, _values);
        } else {
            _checkNodes(_disputeId, d, _values, turn == Party.Defender ? d.defenderOut : d.challengerOut);
        }

        bytes32 digest = _reveal(_disputeId, turn, phase, _values);
        if (turn == Party.Defender) {
            d.pendingRoot = digest;
            d.turn = Party.Challenger;
            return;
        }
        _answer(_disputeId, d, phase, count, _values, _defenderValues);
    }

    /// @dev The rest of `_guardMove` and `Bisection.charge` in one, for a narrowing move (the caller checked the
    /// phase; turn read once): it is the caller's turn and its clock runs; charge it and count the move.
    function _start(uint256 _disputeId, Dispute storage _d, Party _turn) private {
        bool challenger = _turn == Party.Challenger;
        if (msg.sender != (challenger ? _d.challenger : _d.defender)) {
            revert RefereeNotYourTurn(_disputeId, msg.sender, _turn);
        }
        uint64 started = _d.turnStartedAt;
        uint64 left = challenger ? _d.challengerClock : _d.defenderClock;
        // SAFETY: clocks and timestamps are far below 2^63; after the check now <= started + left, so
        // neither subtraction underflows.
        unchecked {
            uint64 deadline = started + left;
            if (block.timestamp > deadline) revert RefereeClockExpired(_disputeId, _turn, deadline);
            left -= uint64(block.timestamp) - started;
        }
        if (challenger) _d.challengerClock = left;
        else _d.defenderClock = left;
        _d.turnStartedAt = uint64(block.timestamp);
        _d.moves += 1;
    }

    /// @dev The challenger's answer: check the defender's values against what the round kept of them, follow
    /// the first value where the two differ.
    function _answer(
        uint256 _disputeId,
        Dispute storage _d,
        Phase _phase,
        uint256 _count,
        bytes32[] calldata _values,
        bytes32[] calldata _defenderValues
    ) private {
        (uint256 j, bytes32 theirs) = _firstDifference(_disputeId, _d.pendingRoot, _values, _defenderValues);
        _d.pendingRoot = bytes32(0);
        _d.turn = Party.Defender;
        if (_phase == Phase.Descent) return _descend(_disputeId, _d, _values[j], theirs, j);
        _d.narrowTo(_count, _values, theirs, j);
        emit RangeNarrowed(_disputeId, _phase, _d.lo, _d.hi);
        if (!_d.pinned()) return;
        if (_phase == Phase.Steps) _pin(_disputeId, _d);
        else if (_phase == Phase.OpTrace) _pinOp(_disputeId, _d);
        else _toLeaf(_disputeId, _d);
    }

    /// @dev Check the defender's values against what the round kept of them (`_pending`) and find the first
    /// point `j_` where the two parties' values differ (`_values.length` when they agree everywhere; in the
    /// Descent they always differ, the two nodes do) and the defender's value there (`theirs_`, else 0).
    function _firstDifference(
        uint256 _disputeId,
        bytes32 _pending,
        bytes32[] calldata _values,
        bytes32[] calldata _defenderValues
    ) private pure returns (uint256 j_, bytes32 theirs_) {
        uint256 n = _values.length;
        // One value is kept as it is (the challenger may leave it out of `_defenderValues`), more as their hash.
        if (_defenderValues.length == 0 && n == 1) {
            if (_values[0] == _pending) return (1, bytes32(0));
            return (0, _pending);
        }
        if (_defenderValues.length != n || _digestOf(_defenderValues) != _pending) revert RefereeBadProof(_disputeId);
        // SAFETY: j_ < n = _defenderValues.length before each read.
        unchecked {
            while (j_ < n && _values[j_] == _defenderValues[j_]) ++j_;
        }
        if (j_ < n) theirs_ = _defenderValues[j_];
    }

    /// @dev Emit the mover's values (ValuesRevealed) and return what the round keeps of them: the value itself
    /// when there is one, else keccak256 of the values packed (the memory of the event's data is reused).
    function _reveal(uint256 _disputeId, Party _turn, Phase _phase, bytes32[] calldata _values)
        private
        returns (bytes32 digest_)
    {
        bytes32 topic = ValuesRevealed.selector;
        assembly ("memory-safe") {
            let n := _values.length
            let size := shl(5, n)
            let p := mload(0x40)
            mstore(p, _turn)
            mstore(add(p, 0x20), _phase)
            mstore(add(p, 0x40), 0x60)
            mstore(add(p, 0x60), n)
            calldatacopy(add(p, 0x80), _values.offset, size)
            log2(p, add(size, 0x80), topic, _disputeId)
            switch eq(n, 1)
            case 1 { digest_ := calldataload(_values.offset) }
            default { digest_ := keccak256(add(p, 0x80), size) }
        }
    }

    /// @dev What a round keeps of the defender's values (see `_reveal`).
    function _digestOf(bytes32[] calldata _values) private pure returns (bytes32 digest_) {
        assembly ("memory-safe") {
            let n := _values.length
            switch eq(n, 1)
            case 1 { digest_ := calldataload(_values.offset) }
            default {
                let p := mload(0x40)
                calldatacopy(p, _values.offset, shl(5, n))
                digest_ := keccak256(p, shl(5, n))
            }
        }
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

    /// @dev The challenger's Descent answer: follow child `_j`, the first that differs (`_mine` and `_theirs` are
    /// the two children there); at a leaf, pin the first differing word, the disputed element.
    function _descend(uint256 _disputeId, Dispute storage _d, bytes32 _mine, bytes32 _theirs, uint256 _j)
        internal
    {
        uint256 height = _d.height;
        if (height == 0) return _pinElement(_disputeId, _d, _mine, _theirs);
        uint256 levels = height < _DESCENT_LEVELS ? height : _DESCENT_LEVELS;
        uint256 h = height - levels;
        uint256 index = (uint256(_d.node) << levels) + _j;
        if ((index << h) >= (_d.numel + 7) / 8) {
            // The subtree lies wholly in the padding, which the format fixes to zero hashes.
            Party right = _mine == TensorMerkle.zeroHash(h) ? Party.Challenger : Party.Defender;
            return _resolve(_disputeId, _d, right, Resolution.Leaf);
        }
        _d.height = uint8(h);
        _d.node = uint64(index);
        _d.challengerOut = _mine;
        _d.defenderOut = _theirs;
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

    /// @inheritdoc IVerdeMoves
    function commitTrace(uint256, bytes32, bytes32, bytes32[] calldata, bytes32[] calldata) external {
        _move();
    }

    /// @inheritdoc IVerdeMoves
    function revealOp(uint256, bytes calldata, bytes32, bytes32, bytes32[] calldata, bytes32[] calldata) external {
        _move();
    }

    /// @inheritdoc IVerdeMoves
    function resolveElement(uint256, bytes calldata, OperandRef[] calldata, IOpAdjudicator.Opening[] calldata)
        external
    {
        _move();
    }

    /// @inheritdoc IVerdeMoves
    function resolveHashOp(uint256, bytes calldata, OperandRef[] calldata) external {
        _move();
    }

    /// @inheritdoc IVerdeMoves
    function resolveLoad(
        uint256,
        bytes calldata,
        TensorMerkle.CheckpointHeader calldata,
        bytes32,
        uint256,
        bytes32[] calldata
    ) external {
        _move();
    }

    /// @inheritdoc IVerdeMoves
    function resolveBatch(uint256, bytes calldata, bytes32[3] calldata, bytes32[] calldata) external {
        _move();
    }

    /// @dev Run the call in the op-phase facet over this contract's storage and return what it returns.
    function _move() private {
        address facet = _MOVES;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), facet, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @inheritdoc IVerdeReferee
    function moves() external view returns (address moves_) {
        moves_ = _MOVES;
    }

    /// @inheritdoc IVerdeReferee
    function openSolverDispute(uint256 _jobId, address _defender, uint32 _index)
        external
        payable
        returns (uint256 disputeId_)
    {
        if (!_MARKET.solverOf(_jobId, msg.sender).joined) revert RefereeNotSolver(_jobId, msg.sender);
        (bytes32 mine, uint64 postedAt) = _MARKET.checkpointOf(_jobId, msg.sender, _index);
        if (postedAt == 0) revert RefereeCheckpointNotPosted(_jobId, msg.sender, _index);
        if (_index > 1) {
            (bytes32 myPrior,) = _MARKET.checkpointOf(_jobId, msg.sender, _index - 1);
            (bytes32 theirPrior,) = _MARKET.checkpointOf(_jobId, _defender, _index - 1);
            // INVARIANT: the checkpoint phase is settled at opening: the parties agree at k - 1.
            if (myPrior != theirPrior) revert RefereePriorRootsDiffer(_jobId, _index);
        }
        disputeId_ = _open(_jobId, _defender, _index, mine, false);

        // Only the disputed checkpoint's window counts: the honest solver's own may have closed long before a
        // cheater posted late. The challenger's claims freeze too, as it stands by its own root.
        _MARKET.openDispute(_jobId, _defender, _index, msg.sender);
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

        _MARKET.openDispute(_jobId, _defender, _index, address(0));
    }

    /// @inheritdoc IVerdeReferee
    function resolveByCommittee(uint256 _disputeId, Party _winner, bytes[] calldata _signatures) external {
        Dispute storage d = _dispute(_disputeId);
        if (d.phase != Phase.Committee) revert RefereeWrongPhase(_disputeId, d.phase, Phase.Committee);
        uint64 until = d.turnStartedAt + _CLOCK_SECONDS;
        // INVARIANT: the committee decides within its one clock; after it only `timeout` (bond back) can end it.
        if (block.timestamp > until) revert RefereeClockExpired(_disputeId, Party.None, until);
        if (_winner != Party.Challenger && _winner != Party.Defender) revert RefereeBadWinner(_disputeId, _winner);
        _checkSignatures(_disputeId, d.committeeEpoch, _digest(_disputeId, d, _winner), _signatures);

        _resolve(_disputeId, d, _winner, Resolution.Committee);
    }

    /// @inheritdoc IVerdeReferee
    function timeout(uint256 _disputeId) external {
        Dispute storage d = _dispute(_disputeId);
        if (d.phase == Phase.Resolved) revert RefereeResolved(_disputeId);
        if (d.phase == Phase.Committee) {
            uint64 until = d.turnStartedAt + _CLOCK_SECONDS;
            if (block.timestamp <= until) revert RefereeClockRunning(_disputeId, Party.None, until);
            // Nobody was shown wrong: the bond goes back, every solver party's hold is lifted.
            return _resolve(_disputeId, d, Party.None, Resolution.Expired);
        }
        uint64 deadline = d.deadline();
        // INVARIANT: a mover keeps its turn up to and including its deadline.
        if (block.timestamp <= deadline) revert RefereeClockRunning(_disputeId, d.turn, deadline);

        Party winner = d.turn == Party.Challenger ? Party.Defender : Party.Challenger;
        _resolve(_disputeId, d, winner, Resolution.Timeout);
    }

    /// @inheritdoc IVerdeReferee
    function withdrawBond() external nonReentrant returns (uint256 amount_) {
        mapping(address => uint256) storage credit = _s().bondCredit;
        amount_ = credit[msg.sender];
        if (amount_ == 0) revert RefereeNothingToWithdraw(msg.sender);

        credit[msg.sender] = 0;
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

        // A new epoch, never an edit: the judges of a dispute are fixed when it opens, like its program.
        RefereeStorage storage $ = _s();
        uint32 epoch = ++$.committeeEpoch;
        mapping(address => bool) storage isMember = $.isMember[epoch];
        for (uint256 i; i < n; ++i) {
            address member = _newMembers[i];
            // INVARIANT: members are distinct and non-zero (ecrecover failures never count).
            if (member == address(0) || isMember[member]) revert RefereeBadCommitteeSetup(n, _newThreshold);
            isMember[member] = true;
        }
        $.committees[epoch] = Committee(_newMembers, _newThreshold);
        emit CommitteeSet(epoch, _newMembers, _newThreshold);
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
        (IJobMarket.JobParams memory p, address requester,,) = _MARKET.jobOf(_jobId);
        // INVARIANT: the requester already takes the rest of a slashed stake; it does not also play watcher.
        if (_watcher && msg.sender == requester) revert RefereeRequesterIsWatcher(_jobId, msg.sender);
        bytes32 agreed = p.specHash;
        if (_index > 1) (agreed,) = _MARKET.checkpointOf(_jobId, _defender, _index - 1);
        // An unposted or out-of-range index reverts in the market's openDispute (JobCheckpointNotPosted).
        uint64 lo = _stepOf(p, _index == 0 ? 0 : _index - 1);
        uint64 hi = _stepOf(p, _index);
        if (hi <= lo) revert RefereeRootsAgree(_jobId, _index, theirs);

        disputeId_ = ++_s().disputeCount;
        Dispute storage d = _s().disputes[disputeId_];
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
        d.committeeEpoch = _s().committeeEpoch;
        _s().standing[_jobId][_defender].live += 1;
        if (!_watcher) _s().standing[_jobId][msg.sender].live += 1;
        emit DisputeCreated(disputeId_, _jobId, msg.sender, _defender, _index, _watcher);
        // A one-step interval is pinned from the start; the defender moves first in the next phase.
        if (d.pinned()) _pin(disputeId_, d);
    }

    /// @dev Count distinct signatures of committee `_epoch`'s members over `_hash`; revert unless they reach its
    /// threshold.
    function _checkSignatures(uint256 _disputeId, uint32 _epoch, bytes32 _hash, bytes[] calldata _signatures)
        internal
        view
    {
        RefereeStorage storage $ = _s();
        uint256 threshold = $.committees[_epoch].threshold;
        // INVARIANT: a dispute opened before any committee existed has no judges; it can only expire.
        if (threshold == 0) revert RefereeNoCommittee(_disputeId);
        bytes32 signed = MessageHashUtils.toEthSignedMessageHash(_hash);
        uint256 n = _signatures.length;
        if (n < threshold) revert RefereeBadCommittee(_disputeId, n, threshold);
        mapping(address => bool) storage isMember = $.isMember[_epoch];
        address[] memory seen = new address[](n);
        for (uint256 i; i < n; ++i) {
            address signer = ECDSA.recover(signed, _signatures[i]);
            if (!isMember[signer]) revert RefereeNotCommitteeMember(_disputeId, signer);
            // Quadratic, but n is bounded: a member signing twice would otherwise count twice.
            for (uint256 j; j < i; ++j) {
                if (seen[j] == signer) revert RefereeDuplicateSigner(_disputeId, signer);
            }
            seen[i] = signer;
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
        (bytes32 tree, bytes32 data, uint32 numOps, uint64 steps) = _MARKET.programOf(_jobId);
        if (numOps != 0) program_ = Program(tree, data, numOps, steps);
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
        count_ = _s().disputeCount;
    }

    /// @inheritdoc IVerdeReferee
    function disputeOf(uint256 _disputeId) external view returns (Dispute memory dispute_) {
        dispute_ = _s().disputes[_disputeId];
    }

    /// @inheritdoc IVerdeReferee
    function positions(uint256 _disputeId) external view returns (uint64[] memory positions_) {
        Dispute storage d = _dispute(_disputeId);
        uint256 k = _pointArity(d.phase);
        if (k != 0) positions_ = d.positions(k);
    }

    /// @inheritdoc IVerdeReferee
    function arity() external view returns (Arity memory arity_) {
        arity_ = _arity();
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
        Committee storage c = _s().committees[_s().committeeEpoch];
        (members_, threshold_) = (c.members, c.threshold);
    }

    /// @inheritdoc IVerdeReferee
    function committeeOf(uint256 _disputeId) external view returns (address[] memory members_, uint256 threshold_) {
        Committee storage c = _s().committees[_dispute(_disputeId).committeeEpoch];
        (members_, threshold_) = (c.members, c.threshold);
    }

    /// @inheritdoc IVerdeReferee
    function standingOf(uint256 _jobId, address _solver) external view returns (uint32 live_, uint256 firstLoss_) {
        Standing storage st = _s().standing[_jobId][_solver];
        (live_, firstLoss_) = (st.live, st.firstLoss);
    }

    /// @inheritdoc IVerdeReferee
    function bondCredit(address _account) external view returns (uint256 amount_) {
        amount_ = _s().bondCredit[_account];
    }

}

/// @title VerdeReferee
/// @notice The Verde referee with the arities chosen from `make bench-verde` (docs/verde.md, "Arity"): 16-ary
/// Steps and OpTrace narrowing, a 16-ary (four-level) descent, 8-ary partial sums.
contract VerdeReferee is VerdeRefereeCore {
    /// @param _market The job market (grant this contract its DISPUTE_ROLE).
    /// @param _adjudicator The OpAdjudicator, or address(0) for a referee whose jobs all go to the committee.
    /// @param _admin Governance: DEFAULT_ADMIN_ROLE, sets the committee.
    /// @param _bond The challenger's bond, in wei (> 0).
    /// @param _clockSeconds Each party's clock, in seconds (> 0).
    /// @param _rewardBps Winner's share of a losing solver's stake (<= 10 000).
    constructor(
        IJobMarket _market,
        address _adjudicator,
        address _admin,
        uint256 _bond,
        uint64 _clockSeconds,
        uint16 _rewardBps
    ) VerdeRefereeCore(_market, _adjudicator, _admin, _bond, _clockSeconds, _rewardBps, Arity(16, 16, 16, 8)) {}
}
