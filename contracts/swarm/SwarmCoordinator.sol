// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {ISwarmCoordinator} from "../interfaces/ISwarmCoordinator.sol";

/// @title SwarmCoordinator
/// @notice Rounds and stages on an anchored schedule, bootnodes, commit-reveal best-peer votes and
///         bounded reward commitments for an RL swarm whose peers live in an `IIdentityRegistry`.
///
/// The schedule is a stored anchor (round `R`, the time `T` it started, the stage reached) plus the
/// stage durations `d_0..d_{n-1}` (round length `L`). Stage `k` of round `R + j` starts at
/// `T + j * L + d_0 + ... + d_{k-1}`, so the position at any time is one division and a scan of at
/// most eight durations; `advanceStage()` writes that position back, whatever the number of stages
/// skipped. New durations are kept aside and apply from round `R + 1` (the anchor is caught up when
/// they are set, so `R` is the round in progress): for rounds after `R` the position uses them.
///
/// A round's votes are commit-reveal: a participant commits `voteCommitment(...)` during the round
/// and reveals it in stage 0 of the next round; the tally keeps a running leader (ties broken by a per-round
/// hash of the peer id, not by reveal order), so `roundWinner(round)` is O(1) and final once the reveal window
/// closed. A voter that withholds its reveal may not vote in the next round.
///
/// NOTE: mutators read the position from `block.timestamp`, never from the stored anchor, so the
/// swarm works even when nobody ever calls `advanceStage()`; the anchor exists for indexers (events)
/// and to make duration changes apply at a round boundary.
///
/// WARNING: reward commitments are claims, bounded but not checked: `verifyReward` lets a later
/// dispute prove what a peer committed to, question by question.
contract SwarmCoordinator is ISwarmCoordinator, AccessControl {
    // ---------------------------------------------------------------- types

    /// @notice The stored anchor of the schedule (one slot).
    struct Anchor {
        uint64 round; // the round reached
        uint64 roundStartedAt; // when that round started by the schedule (unix seconds)
        uint8 stage; // the stage reached in that round
        bool hasPending; // whether `_pendingDurations` applies from `round + 1`
    }

    /// @notice What one peer did in one round (four slots).
    struct PeerRound {
        bytes32 commitment; // vote commitment; zero when none
        bytes32 rewardsRoot; // reward Merkle root
        bytes32 candidate; // the revealed vote's candidate
        uint128 claimedTotal; // claimed sum of rewards
        uint32 numQuestions; // questions in the reward tree; 0 = no reward commitment
        uint32 votes; // revealed votes received in this round
        bool joined; // joined the round
        bool revealed; // its vote was revealed
    }

    /// @notice Per-round counters and the running leader (two slots).
    struct RoundTally {
        bytes32 leader; // most voted peer so far
        uint32 leaderVotes; // its votes
        uint32 participants; // peers that joined
        uint32 commits; // votes committed
        uint32 reveals; // votes revealed
    }

    /// @notice A peer's own announced address.
    struct PeerAddress {
        string multiaddr;
        uint64 announcedAt;
    }

    /// @notice The bounds on reward commitments (one slot).
    struct RewardLimits {
        uint128 maxRewardPerQuestion;
        uint32 maxQuestionsPerRound;
    }

    // ---------------------------------------------------------------- constants and immutables

    /// @notice Semantic version of this contract.
    string public constant version = "1.2.0";

    /// @inheritdoc ISwarmCoordinator
    bytes32 public constant override BOOTNODE_MANAGER_ROLE = keccak256("BOOTNODE_MANAGER_ROLE");

    /// @notice Longest peer address accepted: a DNS name, a port and a peer id fit many times over.
    uint256 public constant MAX_PEER_ADDRESS_BYTES = 256;

    /// @notice Most stages a round may have: eight 32-bit durations fill one slot.
    uint256 internal constant MAX_STAGES = 8;

    /// @notice The registry that says who owns a peer.
    IIdentityRegistry internal immutable REGISTRY;

    /// @notice Number of stages per round.
    uint256 internal immutable STAGE_COUNT;

    // ---------------------------------------------------------------- storage

    Anchor internal _anchor;
    /// Durations of the anchored round, packed: stage `i` in bits `[32i, 32i + 32)`.
    uint256 internal _durations;
    /// Durations for rounds after the anchored one when `_anchor.hasPending`, same packing.
    uint256 internal _pendingDurations;
    RewardLimits internal _limits;
    string[] internal _bootnodes;
    /// The address each peer announced last, and when.
    mapping(bytes32 peerId => PeerAddress) internal _peerAddresses;
    /// Every peer that ever announced, once each, in order of first announcement.
    bytes32[] internal _announced;
    mapping(uint256 round => mapping(bytes32 peerId => PeerRound)) internal _peerRounds;
    mapping(uint256 round => RoundTally) internal _tallies;
    mapping(bytes32 peerId => PeerStats) internal _stats;

    // ---------------------------------------------------------------- constructor

    /// @param _registry The identity registry of the swarm's peers.
    /// @param _admin Gets DEFAULT_ADMIN_ROLE (durations, reward limits, roles) and BOOTNODE_MANAGER_ROLE.
    /// @param _stageDurations Seconds per stage, 1 to 8 stages, none zero; round 0 starts now.
    /// @param _maxRewardPerQuestion Initial `maxRewardPerQuestion`.
    /// @param _maxQuestionsPerRound Initial `maxQuestionsPerRound`.
    constructor(
        IIdentityRegistry _registry,
        address _admin,
        uint32[] memory _stageDurations,
        uint128 _maxRewardPerQuestion,
        uint32 _maxQuestionsPerRound
    ) {
        uint256 count = _stageDurations.length;
        // INVARIANT: 1..8 stages, so the durations pack into one slot.
        if (count == 0 || count > MAX_STAGES) revert SwarmBadStageCount(count);
        REGISTRY = _registry;
        STAGE_COUNT = count;
        _durations = _pack(_stageDurations);
        _anchor = Anchor({round: 0, roundStartedAt: uint64(block.timestamp), stage: 0, hasPending: false});
        _limits = RewardLimits(_maxRewardPerQuestion, _maxQuestionsPerRound);
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
        _grantRole(BOOTNODE_MANAGER_ROLE, _admin);
        emit StageAdvanced(0, 0, block.timestamp);
        emit RoundAdvanced(0);
        emit StageDurationsUpdated(_stageDurations, 0);
        emit RewardLimitsUpdated(_maxRewardPerQuestion, _maxQuestionsPerRound);
    }

    // ---------------------------------------------------------------- external: schedule

    /// @inheritdoc ISwarmCoordinator
    function advanceStage() external returns (uint256 round_, uint256 stage_) {
        Anchor memory a = _anchor;
        (, uint256 end) = _stageBounds(_durations, a.stage);
        uint256 deadline = a.roundStartedAt + end;
        // INVARIANT: the stored stage is over only at its deadline (its last second is deadline - 1).
        if (block.timestamp < deadline) revert SwarmStageNotOver(deadline, block.timestamp);
        return _sync();
    }

    /// @inheritdoc ISwarmCoordinator
    function setStageDurations(uint32[] calldata _newDurations) external onlyRole(DEFAULT_ADMIN_ROLE) {
        // INVARIANT: one duration per stage; the stage count is fixed.
        if (_newDurations.length != STAGE_COUNT) revert SwarmStageCountMismatch(_newDurations.length, STAGE_COUNT);
        uint256 packed = _pack(_newDurations);
        // The anchor is caught up first, so "the round after the anchor" is the round after now's.
        (uint256 round,) = _sync();
        _pendingDurations = packed;
        _anchor.hasPending = true;
        emit StageDurationsUpdated(_newDurations, round + 1);
    }

    // ---------------------------------------------------------------- external: bootnodes

    /// @inheritdoc ISwarmCoordinator
    function addBootnodes(string[] calldata _multiaddrs) external onlyRole(BOOTNODE_MANAGER_ROLE) {
        uint256 base = _bootnodes.length;
        for (uint256 i = 0; i < _multiaddrs.length; ++i) {
            // INVARIANT: no empty entries, a node would dial nothing.
            if (bytes(_multiaddrs[i]).length == 0) revert SwarmEmptyBootnode(i);
            _bootnodes.push(_multiaddrs[i]);
            emit BootnodeAdded(base + i, _multiaddrs[i]);
        }
    }

    /// @inheritdoc ISwarmCoordinator
    function announcePeer(bytes32 _peerId, string calldata _multiaddr) external {
        _checkPeerOwner(_peerId);
        uint256 length = bytes(_multiaddr).length;
        // INVARIANT: an entry is something to dial, and reading the list stays cheap.
        if (length == 0 || length > MAX_PEER_ADDRESS_BYTES) revert SwarmBadPeerAddress(length);
        PeerAddress storage entry = _peerAddresses[_peerId];
        if (entry.announcedAt == 0) _announced.push(_peerId);
        entry.multiaddr = _multiaddr;
        entry.announcedAt = uint64(block.timestamp);
        emit PeerAnnounced(_peerId, _multiaddr);
    }

    /// @inheritdoc ISwarmCoordinator
    function removeBootnode(uint256 _index) external onlyRole(BOOTNODE_MANAGER_ROLE) {
        uint256 length = _bootnodes.length;
        // INVARIANT: only existing entries can be removed.
        if (_index >= length) revert SwarmBootnodeIndexOutOfRange(_index, length);
        string memory removed = _bootnodes[_index];
        // Swap with the last and pop: O(1), order is not meaningful.
        if (_index != length - 1) _bootnodes[_index] = _bootnodes[length - 1];
        _bootnodes.pop();
        emit BootnodeRemoved(_index, removed);
    }

    /// @inheritdoc ISwarmCoordinator
    function clearBootnodes() external onlyRole(BOOTNODE_MANAGER_ROLE) {
        uint256 count = _bootnodes.length;
        delete _bootnodes;
        emit BootnodesCleared(count);
    }

    // ---------------------------------------------------------------- external: participation

    /// @inheritdoc ISwarmCoordinator
    function joinRound(bytes32 _peerId) external {
        (uint256 round,,,) = _position(block.timestamp);
        _checkPeerOwner(_peerId);
        PeerRound storage pr = _peerRounds[round][_peerId];
        // INVARIANT: a peer joins a round once (participantCount counts peers, not calls).
        if (pr.joined) revert SwarmAlreadyJoined(round, _peerId);
        pr.joined = true;
        _tallies[round].participants += 1;
        _stats[_peerId].roundsJoined += 1;
        emit PeerJoinedRound(round, _peerId, msg.sender);
    }

    // ---------------------------------------------------------------- external: votes

    /// @inheritdoc ISwarmCoordinator
    function commitVote(bytes32 _voterPeerId, bytes32 _commitment) external {
        (uint256 round,,,) = _position(block.timestamp);
        _checkPeerOwner(_voterPeerId);
        // INVARIANT: zero marks "no commitment".
        if (_commitment == bytes32(0)) revert SwarmEmptyCommitment(_voterPeerId);
        PeerRound storage pr = _peerRounds[round][_voterPeerId];
        // INVARIANT: only participants of the round vote in it.
        if (!pr.joined) revert SwarmNotParticipant(round, _voterPeerId);
        // INVARIANT: one vote per peer per round.
        if (pr.commitment != bytes32(0)) revert SwarmVoteAlreadyCommitted(round, _voterPeerId);
        // INVARIANT: a voter that kept its last vote hidden (e.g. after seeing how the others went) loses its
        // next one; in the reveal window this only means "reveal first".
        if (round != 0) {
            PeerRound storage last = _peerRounds[round - 1][_voterPeerId];
            if (last.commitment != bytes32(0) && !last.revealed) revert SwarmVoteWithheld(round - 1, _voterPeerId);
        }
        pr.commitment = _commitment;
        _tallies[round].commits += 1;
        emit VoteCommitted(round, _voterPeerId, _commitment);
    }

    /// @inheritdoc ISwarmCoordinator
    /// @dev A vote for another peer of the same owner counts as a self vote (`SwarmSelfVote(candidate)`).
    function revealVote(bytes32 _voterPeerId, uint256 _round, bytes32 _candidatePeerId, bytes32 _salt) external {
        (uint256 round, uint256 stage,,) = _position(block.timestamp);
        // INVARIANT: reveals only in stage 0 of round `_round + 1` (written so `_round + 1` cannot overflow).
        if (stage != 0 || round == 0 || round - 1 != _round) revert SwarmNotRevealWindow(_round, round, stage);
        _checkPeerOwner(_voterPeerId);
        PeerRound storage voter = _peerRounds[_round][_voterPeerId];
        bytes32 committed = voter.commitment;
        // INVARIANT: only a committed, unrevealed vote is counted, once.
        if (committed == bytes32(0)) revert SwarmNoVoteCommitted(_round, _voterPeerId);
        if (voter.revealed) revert SwarmVoteAlreadyRevealed(_round, _voterPeerId);
        // INVARIANT: nobody votes for itself.
        if (_candidatePeerId == _voterPeerId) revert SwarmSelfVote(_voterPeerId);
        bytes32 computed = _voteCommitment(_round, _voterPeerId, _candidatePeerId, _salt);
        // INVARIANT: the vote is the one committed to before the round ended.
        if (computed != committed) revert SwarmCommitmentMismatch(committed, computed);
        address candidateOwner = REGISTRY.ownerOf(_candidatePeerId);
        // INVARIANT: votes go to registered peers only, never to a peer of the voter's owner.
        if (candidateOwner == address(0)) revert SwarmPeerNotRegistered(_candidatePeerId);
        if (candidateOwner == msg.sender) revert SwarmSelfVote(_candidatePeerId);
        PeerRound storage candidate = _peerRounds[_round][_candidatePeerId];
        // INVARIANT: only peers that took part in the round can win it.
        if (!candidate.joined) revert SwarmCandidateNotParticipant(_round, _candidatePeerId);

        voter.revealed = true;
        voter.candidate = _candidatePeerId;
        uint32 votes = candidate.votes + 1;
        candidate.votes = votes;
        RoundTally storage tally = _tallies[_round];
        tally.reveals += 1;
        if (_takesLead(tally, _round, _candidatePeerId, votes)) {
            if (tally.leader != _candidatePeerId) tally.leader = _candidatePeerId;
            tally.leaderVotes = votes;
        }
        _stats[_voterPeerId].votesCast += 1;
        _stats[_candidatePeerId].votesReceived += 1;
        emit VoteRevealed(_round, _voterPeerId, _candidatePeerId, votes);
    }

    // ---------------------------------------------------------------- external: rewards

    /// @inheritdoc ISwarmCoordinator
    function submitRewardCommitment(
        bytes32 _peerId,
        uint256 _round,
        bytes32 _rewardsRoot,
        uint128 _claimedTotal,
        uint32 _numQuestions
    ) external {
        (uint256 round, uint256 stage,,) = _position(block.timestamp);
        // INVARIANT: during the round, or in the next round's stage 0 (written so nothing overflows).
        if (_round != round && (stage != 0 || round == 0 || round - 1 != _round)) {
            revert SwarmNotRewardWindow(_round, round, stage);
        }
        _checkPeerOwner(_peerId);
        PeerRound storage pr = _peerRounds[_round][_peerId];
        // INVARIANT: only participants commit rewards, once per round.
        if (!pr.joined) revert SwarmNotParticipant(_round, _peerId);
        if (pr.numQuestions != 0) revert SwarmRewardAlreadyCommitted(_round, _peerId);
        RewardLimits memory limits = _limits;
        // INVARIANT: 1..maxQuestionsPerRound questions (0 marks "no commitment").
        if (_numQuestions == 0 || _numQuestions > limits.maxQuestionsPerRound) {
            revert SwarmQuestionCountOutOfRange(_numQuestions, limits.maxQuestionsPerRound);
        }
        // SAFETY: a uint128 times a uint32 fits in 160 bits, no overflow in uint256.
        uint256 maxClaim = uint256(limits.maxRewardPerQuestion) * _numQuestions;
        // INVARIANT: self-reported totals are bounded.
        if (_claimedTotal > maxClaim) revert SwarmClaimTooLarge(_claimedTotal, maxClaim);

        pr.rewardsRoot = _rewardsRoot;
        pr.claimedTotal = _claimedTotal;
        pr.numQuestions = _numQuestions;
        PeerStats storage stats = _stats[_peerId];
        stats.totalClaimed += _claimedTotal;
        stats.rewardCommitments += 1;
        emit RewardCommitted(_round, _peerId, _rewardsRoot, _claimedTotal, _numQuestions);
    }

    /// @inheritdoc ISwarmCoordinator
    function setRewardLimits(uint128 _maxRewardPerQuestion, uint32 _maxQuestionsPerRound)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _limits = RewardLimits(_maxRewardPerQuestion, _maxQuestionsPerRound);
        emit RewardLimitsUpdated(_maxRewardPerQuestion, _maxQuestionsPerRound);
    }

    // ---------------------------------------------------------------- internal

    /// @notice Revert unless msg.sender owns `_peerId` in the registry.
    function _checkPeerOwner(bytes32 _peerId) internal view {
        // INVARIANT: only the peer's current owner acts for it.
        if (REGISTRY.ownerOf(_peerId) != msg.sender) revert SwarmNotPeerOwner(_peerId, msg.sender);
    }

    /// @notice Write the position of `block.timestamp` into the anchor, emitting events when it moved.
    function _sync() internal returns (uint256 round_, uint256 stage_) {
        Anchor memory a = _anchor;
        uint256 roundStartedAt;
        uint256 stageStartedAt;
        (round_, stage_, roundStartedAt, stageStartedAt,) = _locate(block.timestamp);
        if (round_ == a.round && stage_ == a.stage) return (round_, stage_);
        bool newRound = round_ != a.round;
        bool promote = newRound && a.hasPending;
        // SAFETY: a round lasts at least one second, so round and time both stay far below 2**64.
        _anchor = Anchor({
            round: uint64(round_),
            roundStartedAt: uint64(roundStartedAt),
            stage: uint8(stage_),
            hasPending: a.hasPending && !promote
        });
        if (promote) {
            // The pending durations were already used for every round after the old anchor.
            _durations = _pendingDurations;
            delete _pendingDurations;
        }
        emit StageAdvanced(round_, stage_, stageStartedAt);
        if (newRound) emit RoundAdvanced(round_);
    }

    /// @notice Round, stage, stage start and stage end at time `_time` (not before the anchor).
    function _position(uint256 _time)
        internal
        view
        returns (uint256 round_, uint256 stage_, uint256 stageStartedAt_, uint256 stageDeadline_)
    {
        uint256 roundStartedAt;
        uint256 packed;
        (round_, stage_, roundStartedAt, stageStartedAt_, packed) = _locate(_time);
        (, uint256 end) = _stageBounds(packed, stage_);
        stageDeadline_ = roundStartedAt + end;
    }

    /// @notice Where `_time` falls in the schedule, in O(stages): one division, no loop over rounds.
    /// @return round_ The round.
    /// @return stage_ The stage.
    /// @return roundStartedAt_ When the round started.
    /// @return stageStartedAt_ When the stage started.
    /// @return packed_ The packed durations that round uses.
    function _locate(uint256 _time)
        internal
        view
        returns (
            uint256 round_,
            uint256 stage_,
            uint256 roundStartedAt_,
            uint256 stageStartedAt_,
            uint256 packed_
        )
    {
        Anchor memory a = _anchor;
        packed_ = _durations;
        uint256 length = _roundLength(packed_);
        // SAFETY: the anchor is only ever set to a start that has already passed, so no underflow.
        uint256 elapsed = _time - a.roundStartedAt;
        if (elapsed < length) {
            // Still in the anchored round.
            round_ = a.round;
            roundStartedAt_ = a.roundStartedAt;
        } else if (!a.hasPending) {
            // Whole rounds of `length` since the anchor: modulo instead of a loop.
            uint256 rounds = elapsed / length;
            round_ = a.round + rounds;
            roundStartedAt_ = a.roundStartedAt + rounds * length;
        } else {
            // The anchored round runs out with the old durations, later rounds use the pending ones.
            packed_ = _pendingDurations;
            uint256 pendingLength = _roundLength(packed_);
            uint256 rounds = (elapsed - length) / pendingLength;
            round_ = a.round + 1 + rounds;
            roundStartedAt_ = a.roundStartedAt + length + rounds * pendingLength;
        }
        uint256 within = _time - roundStartedAt_;
        uint256 start;
        (stage_, start) = _stageAt(packed_, within);
        stageStartedAt_ = roundStartedAt_ + start;
    }

    /// @notice The stage that second `_within` of a round falls in, and its offset from the round start.
    function _stageAt(uint256 _packed, uint256 _within) internal view returns (uint256 stage_, uint256 start_) {
        uint256 end;
        for (uint256 i = 0; i < STAGE_COUNT; ++i) {
            end = start_ + uint32(_packed >> (32 * i));
            if (_within < end) return (i, start_);
            start_ = end;
        }
        // Unreachable: callers pass `_within < _roundLength(_packed)`.
        return (STAGE_COUNT - 1, start_ - uint32(_packed >> (32 * (STAGE_COUNT - 1))));
    }

    /// @notice Offsets from the round start at which stage `_stage` starts and ends.
    function _stageBounds(uint256 _packed, uint256 _stage) internal pure returns (uint256 start_, uint256 end_) {
        for (uint256 i = 0; i < _stage; ++i) {
            start_ += uint32(_packed >> (32 * i));
        }
        end_ = start_ + uint32(_packed >> (32 * _stage));
    }

    /// @notice Seconds in a round with packed durations `_packed`.
    function _roundLength(uint256 _packed) internal view returns (uint256 length_) {
        for (uint256 i = 0; i < STAGE_COUNT; ++i) {
            length_ += uint32(_packed >> (32 * i));
        }
    }

    /// @notice Pack durations, stage `i` into bits `[32i, 32i + 32)`.
    function _pack(uint32[] memory _durationsList) internal pure returns (uint256 packed_) {
        for (uint256 i = 0; i < _durationsList.length; ++i) {
            // INVARIANT: every stage lasts at least a second, so rounds always move forward.
            if (_durationsList[i] == 0) revert SwarmZeroStageDuration(i);
            packed_ |= uint256(_durationsList[i]) << (32 * i);
        }
    }

    /// @notice Unpack the `STAGE_COUNT` durations of `_packed`.
    function _unpack(uint256 _packed) internal view returns (uint32[] memory durations_) {
        durations_ = new uint32[](STAGE_COUNT);
        for (uint256 i = 0; i < STAGE_COUNT; ++i) {
            durations_[i] = uint32(_packed >> (32 * i));
        }
    }

    /// @notice Whether `_candidate`, now at `_votes`, leads round `_round`: more votes lead, a tie goes to the
    /// lower tie key, so the winner does not depend on reveal order (votes only grow, so comparing the changed
    /// candidate with the leader keeps the maximum).
    function _takesLead(RoundTally storage _tally, uint256 _round, bytes32 _candidate, uint32 _votes)
        internal
        view
        returns (bool)
    {
        uint32 leaderVotes = _tally.leaderVotes;
        if (_votes != leaderVotes) return _votes > leaderVotes;
        return _tieKey(_round, _candidate) < _tieKey(_round, _tally.leader);
    }

    /// @notice The tie-break order of the round's candidates: a hash per round, so no peer id wins every tie.
    function _tieKey(uint256 _round, bytes32 _peerId) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(_round, _peerId)));
    }

    /// @notice The vote commitment, bound to this chain and contract.
    function _voteCommitment(uint256 _round, bytes32 _voterPeerId, bytes32 _candidatePeerId, bytes32 _salt)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), _round, _voterPeerId, _candidatePeerId, _salt));
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ISwarmCoordinator
    function currentRound() external view returns (uint256 round_) {
        (round_,,,) = _position(block.timestamp);
    }

    /// @inheritdoc ISwarmCoordinator
    function currentStage() external view returns (uint256 stage_) {
        (, stage_,,) = _position(block.timestamp);
    }

    /// @inheritdoc ISwarmCoordinator
    function stageDeadline() external view returns (uint256 deadline_) {
        (,,, deadline_) = _position(block.timestamp);
    }

    /// @inheritdoc ISwarmCoordinator
    function schedule()
        external
        view
        returns (uint256 round_, uint256 stage_, uint256 stageStartedAt_, uint256 stageDeadline_)
    {
        return _position(block.timestamp);
    }

    /// @inheritdoc ISwarmCoordinator
    function anchor() external view returns (uint256 round_, uint256 stage_, uint256 stageStartedAt_) {
        Anchor memory a = _anchor;
        (uint256 start,) = _stageBounds(_durations, a.stage);
        return (a.round, a.stage, a.roundStartedAt + start);
    }

    /// @inheritdoc ISwarmCoordinator
    function stageCount() external view returns (uint256 count_) {
        return STAGE_COUNT;
    }

    /// @inheritdoc ISwarmCoordinator
    /// @dev The durations of the round `block.timestamp` is in.
    function stageDurations() external view returns (uint32[] memory durations_) {
        (,,,, uint256 packed) = _locate(block.timestamp);
        return _unpack(packed);
    }

    /// @inheritdoc ISwarmCoordinator
    function pendingStageDurations() external view returns (uint32[] memory durations_, uint256 effectiveRound_) {
        Anchor memory a = _anchor;
        (uint256 round,,,,) = _locate(block.timestamp);
        // Once time reached the effective round they are current, not pending.
        if (!a.hasPending || round > a.round) return (new uint32[](0), 0);
        return (_unpack(_pendingDurations), uint256(a.round) + 1);
    }

    /// @inheritdoc ISwarmCoordinator
    function getBootnodes() external view returns (string[] memory bootnodes_) {
        return _bootnodes;
    }

    /// @inheritdoc ISwarmCoordinator
    function bootnodeCount() external view returns (uint256 count_) {
        return _bootnodes.length;
    }

    /// @inheritdoc ISwarmCoordinator
    function peerAddress(bytes32 _peerId) external view returns (string memory multiaddr_, uint64 announcedAt_) {
        PeerAddress storage entry = _peerAddresses[_peerId];
        return (entry.multiaddr, entry.announcedAt);
    }

    /// @inheritdoc ISwarmCoordinator
    function announcedPeerCount() external view returns (uint256 count_) {
        return _announced.length;
    }

    /// @inheritdoc ISwarmCoordinator
    function announcedPeers(uint256 _offset, uint256 _limit)
        external
        view
        returns (bytes32[] memory peerIds_, string[] memory multiaddrs_, uint64[] memory announcedAt_)
    {
        uint256 total = _announced.length;
        uint256 n = _offset >= total ? 0 : _limit < total - _offset ? _limit : total - _offset;
        peerIds_ = new bytes32[](n);
        multiaddrs_ = new string[](n);
        announcedAt_ = new uint64[](n);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 peerId = _announced[_offset + i];
            PeerAddress storage entry = _peerAddresses[peerId];
            (peerIds_[i], multiaddrs_[i], announcedAt_[i]) = (peerId, entry.multiaddr, entry.announcedAt);
        }
    }

    /// @inheritdoc ISwarmCoordinator
    function registry() external view returns (IIdentityRegistry registry_) {
        return REGISTRY;
    }

    /// @inheritdoc ISwarmCoordinator
    function participated(uint256 _round, bytes32 _peerId) external view returns (bool joined_) {
        return _peerRounds[_round][_peerId].joined;
    }

    /// @inheritdoc ISwarmCoordinator
    function participantCount(uint256 _round) external view returns (uint256 count_) {
        return _tallies[_round].participants;
    }

    /// @inheritdoc ISwarmCoordinator
    function peerStats(bytes32 _peerId) external view returns (PeerStats memory stats_) {
        return _stats[_peerId];
    }

    /// @inheritdoc ISwarmCoordinator
    function voteCommitment(uint256 _round, bytes32 _voterPeerId, bytes32 _candidatePeerId, bytes32 _salt)
        external
        view
        returns (bytes32 commitment_)
    {
        return _voteCommitment(_round, _voterPeerId, _candidatePeerId, _salt);
    }

    /// @inheritdoc ISwarmCoordinator
    function voteOf(uint256 _round, bytes32 _voterPeerId)
        external
        view
        returns (bytes32 commitment_, bool revealed_, bytes32 candidatePeerId_)
    {
        PeerRound storage pr = _peerRounds[_round][_voterPeerId];
        return (pr.commitment, pr.revealed, pr.candidate);
    }

    /// @inheritdoc ISwarmCoordinator
    function votesFor(uint256 _round, bytes32 _peerId) external view returns (uint256 votes_) {
        return _peerRounds[_round][_peerId].votes;
    }

    /// @inheritdoc ISwarmCoordinator
    function voteCounts(uint256 _round) external view returns (uint256 committed_, uint256 revealed_) {
        RoundTally storage tally = _tallies[_round];
        return (tally.commits, tally.reveals);
    }

    /// @inheritdoc ISwarmCoordinator
    function roundWinner(uint256 _round) external view returns (bytes32 peerId_, uint256 votes_) {
        RoundTally storage tally = _tallies[_round];
        return (tally.leader, tally.leaderVotes);
    }

    /// @inheritdoc ISwarmCoordinator
    function isRevealOver(uint256 _round) external view returns (bool over_) {
        (uint256 round, uint256 stage,,) = _position(block.timestamp);
        // Past round `_round + 1`, or in it beyond stage 0 (written so `_round + 1` cannot overflow).
        return round > _round && (round - _round > 1 || stage > 0);
    }

    /// @inheritdoc ISwarmCoordinator
    function maxRewardPerQuestion() external view returns (uint128 max_) {
        return _limits.maxRewardPerQuestion;
    }

    /// @inheritdoc ISwarmCoordinator
    function maxQuestionsPerRound() external view returns (uint32 max_) {
        return _limits.maxQuestionsPerRound;
    }

    /// @inheritdoc ISwarmCoordinator
    function rewardCommitment(uint256 _round, bytes32 _peerId)
        external
        view
        returns (RewardCommitment memory commitment_)
    {
        PeerRound storage pr = _peerRounds[_round][_peerId];
        return RewardCommitment(pr.rewardsRoot, pr.claimedTotal, pr.numQuestions);
    }

    /// @inheritdoc ISwarmCoordinator
    function verifyReward(
        uint256 _round,
        bytes32 _peerId,
        uint256 _questionIndex,
        uint256 _reward,
        bytes32[] calldata _proof
    ) external view returns (bool valid_) {
        PeerRound storage pr = _peerRounds[_round][_peerId];
        // No commitment, nothing to prove (a zero root must not match a crafted proof).
        if (pr.numQuestions == 0) return false;
        // StandardMerkleTree leaf: the double hash keeps leaves from being read as inner nodes.
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(_questionIndex, _reward))));
        return MerkleProof.verifyCalldata(_proof, pr.rewardsRoot, leaf);
    }

    /// @notice ERC-165: AccessControl's interfaces and ISwarmCoordinator.
    function supportsInterface(bytes4 _interfaceId) public view override returns (bool) {
        return _interfaceId == type(ISwarmCoordinator).interfaceId || super.supportsInterface(_interfaceId);
    }
}
