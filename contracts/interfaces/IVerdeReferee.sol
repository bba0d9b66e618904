// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "./IJobMarket.sol";
import {IVerdeMoves} from "./IVerdeMoves.sol";

/// @title IVerdeReferee
/// @notice Refereed delegation (Verde): a bisection dispute game that narrows a disagreement about a
/// training run down to one float32 output element, and recomputes that element on chain.
///
/// One dispute has two parties, the challenger and the defender (a solver of the job):
/// 1. Open. Either a solver against another solver of the same job whose root for checkpoint `k` differs
///    from its own (`openSolverDispute`), or a watcher against one solver, posting the root it claims is
///    right (`openWatcherDispute`). Checkpoint `k - 1` MUST be agreed (checkpoint 0 is the initial state
///    bound by the job spec), so the checkpoint phase is settled at opening from the roots on the market.
///    The referee calls `IJobMarket.openDispute` once, which freezes the claims of every solver party. Only
///    the disputed checkpoint must be inside its challenge window.
/// 2. Steps. Narrowing over the steps of the disputed interval `(step(k-1), step(k)]`: the defender posts its
///    state roots after up to `arity().steps - 1` steps spread evenly inside it, the challenger answers with its
///    own; the range becomes the one between the last agreed root and the first differing one, until one step
///    `s` is left.
/// 3. OpTrace. The step is a program of G ops fixed in the job's parameters when it was posted (a solver
///    joins under it; docs/verde-trace.md). Each party commits its trace state root S_G (a Merkle tree whose leaf i is op
///    i's descriptor hash with its output root), proving its last entry is its root for the step; then
///    narrowing over S_j finds op `j`: S_j agreed (so every input is agreed), S_{j+1} disputed.
/// 4. Output and Descent. Both reveal op `j`'s output root; a k-ary descent over the two output tensors'
///    Merkle trees finds the first element whose bits differ.
/// 5. Reduction (reductions only). Narrowing over that element's partial sums finds one term.
/// Steps, OpTrace, Descent and Reduction are one move, `narrow`, with one arity per phase (`arity()`).
/// 6. Leaf. Anyone proves the agreed operand elements (`resolveElement`, or `resolveHashOp`,
///    `resolveLoad`, `resolveBatch` for ops whose output is a hash); the OpAdjudicator recomputes the one
///    element with Float32 and the party whose value differs loses. A pinned step of a job posted without a
///    program goes to the `Committee` phase: the m-of-n committee in force when the dispute opened decides
///    within one clock, or the dispute expires.
///
/// Clocks and bonds: each party has a chess clock of `CLOCK_SECONDS()`, running only while it is that
/// party's move. A party whose clock runs out loses (`timeout`, callable by anyone). Only the challenger posts
/// a bond of `BOND()` wei, when opening: the defender's collateral is its stake on the market. The bond goes to
/// the defender if the defender wins, and back to the challenger otherwise (`withdrawBond`). A solver shown
/// wrong is slashed on the market; its bounty (`REWARD_BPS()` of its stake) is held there until every dispute
/// over that solver has ended, then goes to the opponent of the lowest-numbered dispute it lost outright, or
/// to the requester when none.

/// Obligations of an implementation:
/// - It MUST be the only holder of the market's DISPUTE_ROLE. For every solver party it MUST call
///   `IJobMarket.openDispute` once at opening and exactly one of `closeDispute` or `slash` at resolution.
/// - A dispute MUST only open while the disputed checkpoint is inside its challenge window (the market
///   enforces this too), and only when the two roots at `k` differ and agree at `k - 1`.
/// - Every dispute MUST resolve in bounded time: a move is accepted only before its mover's clock runs
///   out, and `timeout` MUST resolve against that mover afterwards.
/// - On-chain work per dispute MUST be O(log T + log |G| + small constant): nothing re-runs training.
/// - Bonds MUST be fully accounted: after resolution, the one bond is credited to a party of the dispute.
/// - What a dispute is judged by (the program, the committee) MUST NOT change after the dispute, or for the
///   program the job, was opened.
/// - It SHOULD void the job (`IJobMarket.voidResult`) when a dispute shows that no solver's result holds.
/// - A move MUST NOT be accepted from anyone but the party whose turn it is.
/// The moves (IVerdeMoves: narrow, commitTrace .. resolveBatch) are part of this interface; the referee runs
/// `narrow` itself and the op-phase moves in its facet, over its own storage.
interface IVerdeReferee is IVerdeMoves {
    // ---------------------------------------------------------------- opening

    /// @notice As a solver of `jobId`, dispute `defender`'s checkpoint `index`, whose root differs from the
    /// caller's while their roots for `index - 1` agree. Send `BOND()` as msg.value.
    /// @param jobId The market job.
    /// @param defender The other solver.
    /// @param index The first checkpoint where the two roots differ.
    /// @return disputeId_ The new dispute.
    function openSolverDispute(uint256 jobId, address defender, uint32 index)
        external
        payable
        returns (uint256 disputeId_);

    /// @notice As a watcher, dispute `defender`'s checkpoint `index`, claiming `claimedRoot` is the right
    /// root while agreeing with the defender's root for `index - 1`. Send `BOND()` as msg.value.
    /// @param jobId The market job.
    /// @param defender The solver.
    /// @param index The disputed checkpoint.
    /// @param claimedRoot The root the watcher says the checkpoint should have.
    /// @return disputeId_ The new dispute.
    function openWatcherDispute(uint256 jobId, address defender, uint32 index, bytes32 claimedRoot)
        external
        payable
        returns (uint256 disputeId_);

    // ---------------------------------------------------------------- moves

    /// @notice Committee phase: resolve with `m` of the `n` signatures of the committee in force when the
    /// dispute opened, within the committee's clock (`CLOCK_SECONDS()` from the step's pinning, inclusive).
    /// @param disputeId The dispute.
    /// @param winner The side the committee found right.
    /// @param signatures Distinct members' EIP-191 signatures over `committeeDigest(disputeId, winner)`.
    function resolveByCommittee(uint256 disputeId, Party winner, bytes[] calldata signatures) external;

    /// @notice Governance: set a new committee for the disputes opened from now on (open ones keep theirs).
    /// @param members The members (distinct, non-zero, at most MAX_COMMITTEE).
    /// @param threshold Signatures needed (1 <= threshold <= members.length).
    function setCommittee(address[] calldata members, uint256 threshold) external;

    /// @notice Resolve against the side to move once its clock has run out. Anyone may call.
    /// @param disputeId The dispute.
    function timeout(uint256 disputeId) external;

    /// @notice Pay out the caller's bond credit.
    /// @return amount_ What was paid.
    function withdrawBond() external returns (uint256 amount_);

    // ---------------------------------------------------------------- views

    /// @notice The job market this referee holds DISPUTE_ROLE on.
    /// @return market_ The market.
    function market() external view returns (IJobMarket market_);

    /// @notice The contract that recomputes one float32 output element (the OpAdjudicator).
    /// @return adjudicator_ Its address.
    function adjudicator() external view returns (address adjudicator_);

    /// @notice The bond a challenger posts when opening a dispute, in wei.
    /// @return bond_ The bond.
    function BOND() external view returns (uint256 bond_);

    /// @notice Each party's total thinking time for one dispute, in seconds.
    /// @return seconds_ The clock.
    function CLOCK_SECONDS() external view returns (uint64 seconds_);

    /// @notice Number of disputes opened so far (the last dispute id; ids start at 1).
    /// @return count_ The count.
    function disputeCount() external view returns (uint256 count_);

    /// @notice A dispute's full state.
    /// @param disputeId The dispute.
    /// @return dispute_ See Dispute.
    function disputeOf(uint256 disputeId) external view returns (Dispute memory dispute_);

    /// @notice The positions whose values the next `narrow` of a Steps, OpTrace or Reduction round posts: up to
    /// `arity - 1` points `lo + (hi - lo) * (i + 1) / (count + 1)` strictly inside `(lo, hi)`; empty in other phases.
    /// @param disputeId The dispute.
    /// @return positions_ The positions, increasing.
    function positions(uint256 disputeId) external view returns (uint64[] memory positions_);

    /// @notice The arity of each narrowing phase.
    /// @return arity_ Steps, OpTrace, Descent and Reduction arities.
    function arity() external view returns (Arity memory arity_);

    /// @notice When the side to move runs out of time (its clock's remainder after the current turn started).
    /// @param disputeId The dispute.
    /// @return deadline_ Unix seconds.
    function moveDeadline(uint256 disputeId) external view returns (uint64 deadline_);

    /// @notice The digest committee members sign (before the EIP-191 prefix): keccak256 of the ABI encoding
    /// of (chain id, this referee, disputeId, the disputed step, winner).
    /// @param disputeId The dispute.
    /// @param winner The side the committee finds right.
    /// @return digest_ The digest.
    function committeeDigest(uint256 disputeId, Party winner) external view returns (bytes32 digest_);

    /// @notice The committee in force now (for disputes opened from now on) and its signature threshold.
    /// @return members_ The members.
    /// @return threshold_ Signatures needed.
    function committee() external view returns (address[] memory members_, uint256 threshold_);

    /// @notice Share of a losing solver's market stake credited to the winner, in basis points.
    /// @return bps_ The share.
    function REWARD_BPS() external view returns (uint16 bps_);

    /// @notice The program a job was posted with (numOps 0: none, committee-judged).
    /// @param jobId The job.
    /// @return program_ Its program.
    function programOf(uint256 jobId) external view returns (Program memory program_);

    /// @notice The committee that decides dispute `disputeId` (the one in force when it opened).
    /// @param disputeId The dispute.
    /// @return members_ Its members.
    /// @return threshold_ Signatures needed (0: there was no committee).
    function committeeOf(uint256 disputeId) external view returns (address[] memory members_, uint256 threshold_);

    /// @notice A solver's disputes in a job: how many are unresolved, and the lowest-numbered one it lost
    /// outright (whose opponent takes its bounty once none is live; 0: none).
    /// @param jobId The job.
    /// @param solver The solver.
    /// @return live_ Unresolved disputes it is a party of.
    /// @return firstLoss_ The dispute id, or 0.
    function standingOf(uint256 jobId, address solver) external view returns (uint32 live_, uint256 firstLoss_);

    /// @notice The moves facet: the op-phase moves (commitTrace .. resolveBatch) sent to this referee run its
    /// code over this referee's storage (ERC-7201 namespace `verde.referee`), by delegatecall.
    /// @return moves_ Its address.
    function moves() external view returns (address moves_);

    /// @notice `account`'s withdrawable bond credit.
    /// @param account The account.
    /// @return amount_ The credit.
    function bondCredit(address account) external view returns (uint256 amount_);
}
