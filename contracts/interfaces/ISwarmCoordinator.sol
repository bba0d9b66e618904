// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IIdentityRegistry} from "./IIdentityRegistry.sol";

/// @title ISwarmCoordinator
/// @notice Rounds, stages, bootnodes, best-peer votes and reward commitments of an RL swarm.
///
/// Time is cut into rounds, each a fixed sequence of stages (the RL swarm uses three: answer,
/// critique, vote) with a duration in seconds each. The schedule is anchored: from the stored anchor
/// (a round number and the time it started) the start of every later stage is a fixed sum of
/// durations, so `currentRound()`, `currentStage()` and `stageDeadline()` are computed from
/// `block.timestamp` and read the same whether or not anyone called `advanceStage()`.
/// `advanceStage()` only moves the stored anchor (and emits events for indexers); anyone may call it
/// once the stored stage is over.
///
/// Peers are the ones of an `IIdentityRegistry`. In round `r` a peer's owner joins the round, may
/// commit a vote for the round's best peer and commits the Merkle root of its per-question rewards.
/// Votes are revealed in stage 0 of round `r + 1` (the reveal window); the peer with most revealed
/// votes is the round's winner; a tie goes to the lower `keccak256(abi.encode(round, peerId))`, whatever the
/// reveal order. A peer that committed a vote and did not reveal it may not commit a vote in the next round.
///
/// Obligations of an implementation:
/// - `currentRound()`, `currentStage()`, `stageDeadline()` MUST depend only on the stored anchor, the
///   durations and `block.timestamp`, never on whether `advanceStage()` was called.
/// - `advanceStage()` MUST catch up any number of skipped stages in one call, in O(1), aligned to the
///   schedule, and MUST revert with `SwarmStageNotOver` before the stored stage's deadline.
/// - A duration change MUST NOT alter the round in progress; it applies from the next round.
/// - Only a peer's current owner (per the registry) MUST be able to act for it.
/// - A vote MUST be counted at most once, only if it matches its commitment, never for the voter
///   itself, and only for a registered peer that joined the voted round.
/// - A reward commitment MUST be accepted at most once per peer and round, and its claimed total MUST
///   NOT exceed `maxRewardPerQuestion * numQuestions` with `1 <= numQuestions <= maxQuestionsPerRound`.
interface ISwarmCoordinator {
    // ---------------------------------------------------------------- types

    /// @notice Cumulative statistics of a peer over all rounds (for leaderboards).
    struct PeerStats {
        uint128 totalClaimed; // sum of the claimed totals of its reward commitments
        uint32 roundsJoined; // rounds it joined
        uint32 votesReceived; // revealed votes cast for it
        uint32 votesCast; // its votes that were revealed
        uint32 rewardCommitments; // reward commitments it made
    }

    /// @notice A peer's reward commitment for one round.
    struct RewardCommitment {
        bytes32 rewardsRoot; // StandardMerkleTree root over (uint256 questionIndex, uint256 reward)
        uint128 claimedTotal; // the sum of the rewards the peer claims
        uint32 numQuestions; // questions covered by the tree; 0 when nothing was committed
    }

    // ---------------------------------------------------------------- events

    /// @notice The stored anchor moved to stage `stage` of round `round`.
    /// @param round The round the anchor is now in.
    /// @param stage The stage the anchor is now in.
    /// @param startedAt When that stage started by the schedule (unix seconds), not when this was called.
    event StageAdvanced(uint256 indexed round, uint256 stage, uint256 startedAt);

    /// @notice The stored anchor entered round `round` (emitted with `StageAdvanced`).
    /// @param round The new round.
    event RoundAdvanced(uint256 indexed round);

    /// @notice New stage durations were set; they apply from round `effectiveRound` on.
    /// @param durations Seconds per stage.
    /// @param effectiveRound The first round that uses them.
    event StageDurationsUpdated(uint32[] durations, uint256 effectiveRound);

    /// @notice The bounds on reward commitments changed.
    /// @param maxRewardPerQuestion Largest average reward per question a commitment may claim.
    /// @param maxQuestionsPerRound Largest number of questions one commitment may cover.
    event RewardLimitsUpdated(uint128 maxRewardPerQuestion, uint32 maxQuestionsPerRound);

    /// @notice A bootnode was appended at `index`.
    /// @param index Its position in `getBootnodes()`.
    /// @param multiaddr The bootnode's multiaddr.
    event BootnodeAdded(uint256 indexed index, string multiaddr);

    /// @notice The bootnode at `index` was removed; the last bootnode (if any other) moved to `index`.
    /// @param index The position it had.
    /// @param multiaddr The removed multiaddr.
    event BootnodeRemoved(uint256 indexed index, string multiaddr);

    /// @notice A peer's owner published (or replaced) the address others dial to reach that peer.
    /// @param peerId The peer (its owner sent the call).
    /// @param multiaddr Its libp2p multiaddr, `/p2p/<peer id>` included.
    event PeerAnnounced(bytes32 indexed peerId, string multiaddr);

    /// @notice All bootnodes were removed.
    /// @param count How many there were.
    event BootnodesCleared(uint256 count);

    /// @notice `peerId`, owned by `owner`, joined round `round`.
    /// @param round The round.
    /// @param peerId The peer.
    /// @param owner The peer's owner, who sent the transaction.
    event PeerJoinedRound(uint256 indexed round, bytes32 indexed peerId, address indexed owner);

    /// @notice `voterPeerId` committed its vote for round `round`.
    /// @param round The voted round.
    /// @param voterPeerId The voter.
    /// @param commitment `voteCommitment(round, voterPeerId, candidatePeerId, salt)`.
    event VoteCommitted(uint256 indexed round, bytes32 indexed voterPeerId, bytes32 commitment);

    /// @notice `voterPeerId` revealed its vote of round `round` for `candidatePeerId`.
    /// @param round The voted round.
    /// @param voterPeerId The voter.
    /// @param candidatePeerId The peer voted for.
    /// @param candidateVotes The candidate's revealed votes in `round`, this one included.
    event VoteRevealed(
        uint256 indexed round, bytes32 indexed voterPeerId, bytes32 indexed candidatePeerId, uint256 candidateVotes
    );

    /// @notice `peerId` committed its rewards for round `round`.
    /// @param round The round.
    /// @param peerId The peer.
    /// @param rewardsRoot StandardMerkleTree root over (uint256 questionIndex, uint256 reward) leaves.
    /// @param claimedTotal The sum of the rewards it claims.
    /// @param numQuestions How many questions the tree covers.
    event RewardCommitted(
        uint256 indexed round, bytes32 indexed peerId, bytes32 rewardsRoot, uint128 claimedTotal, uint32 numQuestions
    );

    // ---------------------------------------------------------------- errors

    /// @notice The number of stages must be between 1 and 8.
    error SwarmBadStageCount(uint256 count);
    /// @notice `given` durations were passed but the round has `expected` stages.
    error SwarmStageCountMismatch(uint256 given, uint256 expected);
    /// @notice Stage `stage` was given a duration of zero seconds.
    error SwarmZeroStageDuration(uint256 stage);
    /// @notice The stored stage lasts until `deadline`; it is `timestamp`.
    error SwarmStageNotOver(uint256 deadline, uint256 timestamp);
    /// @notice A bootnode multiaddr (number `index` of the batch) was empty.
    error SwarmEmptyBootnode(uint256 index);
    /// @notice A peer address was empty or longer than `MAX_PEER_ADDRESS_BYTES`.
    error SwarmBadPeerAddress(uint256 length);
    /// @notice There is no bootnode at `index`; there are `length`.
    error SwarmBootnodeIndexOutOfRange(uint256 index, uint256 length);
    /// @notice `caller` is not the registered owner of `peerId`.
    error SwarmNotPeerOwner(bytes32 peerId, address caller);
    /// @notice `peerId` is not registered in the identity registry.
    error SwarmPeerNotRegistered(bytes32 peerId);
    /// @notice `peerId` already joined round `round`.
    error SwarmAlreadyJoined(uint256 round, bytes32 peerId);
    /// @notice `peerId` did not join round `round`.
    error SwarmNotParticipant(uint256 round, bytes32 peerId);
    /// @notice A vote commitment must not be zero.
    error SwarmEmptyCommitment(bytes32 voterPeerId);
    /// @notice `voterPeerId` already committed a vote for round `round`.
    error SwarmVoteAlreadyCommitted(uint256 round, bytes32 voterPeerId);
    /// @notice Votes of round `round` are revealed in stage 0 of round `round + 1`; it is stage `stage` of `currentRound`.
    error SwarmNotRevealWindow(uint256 round, uint256 currentRound, uint256 stage);
    /// @notice `voterPeerId` committed no vote for round `round`.
    error SwarmNoVoteCommitted(uint256 round, bytes32 voterPeerId);
    /// @notice `voterPeerId` already revealed its vote for round `round`.
    error SwarmVoteAlreadyRevealed(uint256 round, bytes32 voterPeerId);
    /// @notice The revealed vote hashes to `computed`, not to the stored `committed`.
    error SwarmCommitmentMismatch(bytes32 committed, bytes32 computed);
    /// @notice `voterPeerId` committed a vote in round `round` and did not reveal it: it may not vote now.
    error SwarmVoteWithheld(uint256 round, bytes32 voterPeerId);
    /// @notice A peer may not vote for itself.
    error SwarmSelfVote(bytes32 peerId);
    /// @notice `candidatePeerId` did not take part in round `round`.
    error SwarmCandidateNotParticipant(uint256 round, bytes32 candidatePeerId);
    /// @notice Rewards of round `round` may be committed in it or in stage 0 of the next; it is stage `stage` of `currentRound`.
    error SwarmNotRewardWindow(uint256 round, uint256 currentRound, uint256 stage);
    /// @notice `peerId` already committed its rewards for round `round`.
    error SwarmRewardAlreadyCommitted(uint256 round, bytes32 peerId);
    /// @notice `numQuestions` must be between 1 and `maxQuestionsPerRound`.
    error SwarmQuestionCountOutOfRange(uint32 numQuestions, uint32 maxQuestionsPerRound);
    /// @notice `claimedTotal` exceeds `maxClaim = maxRewardPerQuestion * numQuestions`.
    error SwarmClaimTooLarge(uint128 claimedTotal, uint256 maxClaim);

    // ---------------------------------------------------------------- schedule

    /// @notice Move the stored anchor to the stage that `block.timestamp` is in, however many were skipped.
    /// @dev Anyone may call it once the stored stage's deadline has passed. Emits `StageAdvanced` and,
    ///      when the round changed, `RoundAdvanced`; durations set with `setStageDurations` become
    ///      current when the round changes.
    /// @return round_ The round now stored.
    /// @return stage_ The stage now stored.
    function advanceStage() external returns (uint256 round_, uint256 stage_);

    /// @notice Set the stage durations used from the next round on (default admin only).
    /// @param durations Seconds per stage, one for each of the `stageCount()` stages, none zero.
    function setStageDurations(uint32[] calldata durations) external;

    /// @notice The round `block.timestamp` is in.
    /// @return round_ The round number (round 0 starts at deployment).
    function currentRound() external view returns (uint256 round_);

    /// @notice The stage of the current round `block.timestamp` is in.
    /// @return stage_ The stage index, `0..stageCount() - 1`.
    function currentStage() external view returns (uint256 stage_);

    /// @notice When the current stage ends: the first second of the next stage.
    /// @return deadline_ Unix seconds.
    function stageDeadline() external view returns (uint256 deadline_);

    /// @notice Round, stage, and the stage's start and deadline at `block.timestamp`, in one call.
    /// @return round_ As `currentRound()`.
    /// @return stage_ As `currentStage()`.
    /// @return stageStartedAt_ When the current stage started (unix seconds).
    /// @return stageDeadline_ As `stageDeadline()`.
    function schedule()
        external
        view
        returns (uint256 round_, uint256 stage_, uint256 stageStartedAt_, uint256 stageDeadline_);

    /// @notice The stored anchor: the stage last reached by `advanceStage` (or construction).
    /// @return round_ The stored round.
    /// @return stage_ The stored stage.
    /// @return stageStartedAt_ When that stage started by the schedule.
    function anchor() external view returns (uint256 round_, uint256 stage_, uint256 stageStartedAt_);

    /// @notice Number of stages per round (fixed at construction).
    /// @return count_ 1 to 8.
    function stageCount() external view returns (uint256 count_);

    /// @notice The stage durations of the round `block.timestamp` is in.
    /// @return durations_ Seconds per stage.
    function stageDurations() external view returns (uint32[] memory durations_);

    /// @notice Durations set but not yet in effect at `block.timestamp`.
    /// @return durations_ Seconds per stage; empty when none are waiting.
    /// @return effectiveRound_ The first round that uses them; 0 when none are waiting.
    function pendingStageDurations() external view returns (uint32[] memory durations_, uint256 effectiveRound_);

    // ---------------------------------------------------------------- bootnodes

    /// @notice Role allowed to edit the bootnode list.
    /// @return role_ `keccak256("BOOTNODE_MANAGER_ROLE")`.
    function BOOTNODE_MANAGER_ROLE() external view returns (bytes32 role_);

    /// @notice Append bootnodes (bootnode manager only).
    /// @param multiaddrs The bootnodes' multiaddrs, none empty.
    function addBootnodes(string[] calldata multiaddrs) external;

    /// @notice Remove the bootnode at `index`, moving the last one into its place (bootnode manager only).
    /// @param index Position in `getBootnodes()`.
    function removeBootnode(uint256 index) external;

    /// @notice Remove every bootnode (bootnode manager only).
    function clearBootnodes() external;

    /// @notice All bootnode multiaddrs.
    /// @return bootnodes_ The list (order changes on removal).
    function getBootnodes() external view returns (string[] memory bootnodes_);

    /// @notice Number of bootnodes.
    /// @return count_ The length of `getBootnodes()`.
    function bootnodeCount() external view returns (uint256 count_);

    /// @notice Publish the address others dial to reach `peerId`, replacing any earlier one (peer owner only).
    /// @dev Any registered peer can serve as a bootnode this way, and one that comes back on a new address
    /// says so itself; nodes read the most recent announcements besides `getBootnodes()`.
    /// @param peerId The caller's peer.
    /// @param multiaddr Its multiaddr, 1 to `MAX_PEER_ADDRESS_BYTES` bytes.
    function announcePeer(bytes32 peerId, string calldata multiaddr) external;

    /// @notice The address `peerId` announced last, and when.
    /// @return multiaddr_ Empty when it never announced one.
    /// @return announcedAt_ Block timestamp of the announcement; 0 when none.
    function peerAddress(bytes32 peerId) external view returns (string memory multiaddr_, uint64 announcedAt_);

    /// @notice Number of peers that ever announced an address.
    /// @return count_ The length of the list `announcedPeers` pages through.
    function announcedPeerCount() external view returns (uint256 count_);

    /// @notice A page of announced peers, in the order of their first announcement.
    /// @param offset First position returned.
    /// @param limit Most entries returned (fewer at the end of the list).
    /// @return peerIds_ The peers.
    /// @return multiaddrs_ Their latest addresses.
    /// @return announcedAt_ When each was announced last.
    function announcedPeers(uint256 offset, uint256 limit)
        external
        view
        returns (bytes32[] memory peerIds_, string[] memory multiaddrs_, uint64[] memory announcedAt_);

    // ---------------------------------------------------------------- participation

    /// @notice The identity registry that says who owns a peer.
    /// @return registry_ The registry (immutable).
    function registry() external view returns (IIdentityRegistry registry_);

    /// @notice Join the current round with a peer the caller owns.
    /// @param peerId The peer; registered, owned by the caller, not yet in the round.
    function joinRound(bytes32 peerId) external;

    /// @notice Whether `peerId` joined round `round`.
    /// @param round The round.
    /// @param peerId The peer.
    /// @return joined_ True once it joined.
    function participated(uint256 round, bytes32 peerId) external view returns (bool joined_);

    /// @notice Number of peers that joined round `round`.
    /// @param round The round.
    /// @return count_ Distinct peers.
    function participantCount(uint256 round) external view returns (uint256 count_);

    /// @notice A peer's cumulative statistics.
    /// @param peerId The peer.
    /// @return stats_ Its counters over all rounds.
    function peerStats(bytes32 peerId) external view returns (PeerStats memory stats_);

    // ---------------------------------------------------------------- votes

    /// @notice Commit a hidden vote for the current round's best peer. A peer whose vote of the previous
    /// round is committed but unrevealed must reveal it first, and after the reveal window may not vote.
    /// @param voterPeerId The voting peer; the caller must own it and it must have joined the current round.
    /// @param commitment `voteCommitment(currentRound(), voterPeerId, candidatePeerId, salt)`, not zero.
    function commitVote(bytes32 voterPeerId, bytes32 commitment) external;

    /// @notice Reveal the vote committed for round `round`, in stage 0 of round `round + 1`.
    /// @param voterPeerId The voting peer; the caller must own it.
    /// @param round The voted round.
    /// @param candidatePeerId The peer voted for: registered, not the voter, joined round `round`.
    /// @param salt The secret the commitment was made with.
    function revealVote(bytes32 voterPeerId, uint256 round, bytes32 candidatePeerId, bytes32 salt) external;

    /// @notice The commitment a vote must be made with:
    ///         `keccak256(abi.encode(block.chainid, address(this), round, voterPeerId, candidatePeerId, salt))`.
    /// @param round The voted round.
    /// @param voterPeerId The voter.
    /// @param candidatePeerId The peer voted for.
    /// @param salt A fresh 32-byte secret.
    /// @return commitment_ The value to pass to `commitVote`.
    function voteCommitment(uint256 round, bytes32 voterPeerId, bytes32 candidatePeerId, bytes32 salt)
        external
        view
        returns (bytes32 commitment_);

    /// @notice A voter's vote in round `round`.
    /// @param round The voted round.
    /// @param voterPeerId The voter.
    /// @return commitment_ The commitment (zero when none).
    /// @return revealed_ Whether it was revealed.
    /// @return candidatePeerId_ The peer voted for (zero until revealed).
    function voteOf(uint256 round, bytes32 voterPeerId)
        external
        view
        returns (bytes32 commitment_, bool revealed_, bytes32 candidatePeerId_);

    /// @notice Revealed votes cast for `peerId` in round `round`.
    /// @param round The round.
    /// @param peerId The candidate.
    /// @return votes_ Its revealed votes.
    function votesFor(uint256 round, bytes32 peerId) external view returns (uint256 votes_);

    /// @notice Committed and revealed vote counts of round `round`.
    /// @param round The round.
    /// @return committed_ Votes committed.
    /// @return revealed_ Votes revealed (and counted).
    function voteCounts(uint256 round) external view returns (uint256 committed_, uint256 revealed_);

    /// @notice The peer with most revealed votes in round `round` (zero and 0 when none).
    /// @dev Final once `isRevealOver(round)`; a tie goes to the lower `keccak256(abi.encode(round, peerId))`.
    /// @param round The round.
    /// @return peerId_ The leader.
    /// @return votes_ Its revealed votes.
    function roundWinner(uint256 round) external view returns (bytes32 peerId_, uint256 votes_);

    /// @notice Whether the reveal window of round `round` has closed, so `roundWinner(round)` is final.
    /// @param round The round.
    /// @return over_ True from stage 1 of round `round + 1` on.
    function isRevealOver(uint256 round) external view returns (bool over_);

    // ---------------------------------------------------------------- rewards

    /// @notice Commit the Merkle root of a peer's per-question rewards for a round.
    /// @dev Allowed during round `round` and in stage 0 of round `round + 1` (the reveal window), so a
    ///      node that finishes training at the end of the round still commits.
    /// @param peerId The peer; the caller must own it and it must have joined round `round`.
    /// @param round The round.
    /// @param rewardsRoot OpenZeppelin StandardMerkleTree root over leaves
    ///        `keccak256(bytes.concat(keccak256(abi.encode(uint256 questionIndex, uint256 reward))))`.
    /// @param claimedTotal Sum of the rewards, at most `maxRewardPerQuestion() * numQuestions`.
    /// @param numQuestions Number of questions in the tree, `1..maxQuestionsPerRound()`.
    function submitRewardCommitment(
        bytes32 peerId,
        uint256 round,
        bytes32 rewardsRoot,
        uint128 claimedTotal,
        uint32 numQuestions
    ) external;

    /// @notice Set the bounds on reward commitments (default admin only); they apply to later commitments.
    /// @param maxRewardPerQuestion Largest average reward per question a commitment may claim.
    /// @param maxQuestionsPerRound Largest number of questions one commitment may cover.
    function setRewardLimits(uint128 maxRewardPerQuestion, uint32 maxQuestionsPerRound) external;

    /// @notice Largest average reward per question a commitment may claim.
    /// @return max_ In reward units.
    function maxRewardPerQuestion() external view returns (uint128 max_);

    /// @notice Largest number of questions one commitment may cover.
    /// @return max_ Questions.
    function maxQuestionsPerRound() external view returns (uint32 max_);

    /// @notice The reward commitment of `peerId` for round `round`.
    /// @param round The round.
    /// @param peerId The peer.
    /// @return commitment_ Root, claimed total and question count; all zero when none.
    function rewardCommitment(uint256 round, bytes32 peerId) external view returns (RewardCommitment memory commitment_);

    /// @notice Whether `reward` for question `questionIndex` is in the committed tree of `peerId` for `round`.
    /// @param round The round.
    /// @param peerId The peer.
    /// @param questionIndex The question.
    /// @param reward The reward claimed for it.
    /// @param proof StandardMerkleTree proof of the leaf.
    /// @return valid_ True when the proof leads to the committed root; false when nothing was committed.
    function verifyReward(uint256 round, bytes32 peerId, uint256 questionIndex, uint256 reward, bytes32[] calldata proof)
        external
        view
        returns (bool valid_);
}
