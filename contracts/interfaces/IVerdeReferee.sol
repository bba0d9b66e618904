// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "./IJobMarket.sol";

/// @title IVerdeReferee
/// @notice Refereed delegation (Verde): a bisection dispute game that narrows a disagreement about a
/// training run down to one float32 output element, and recomputes that element on chain.
///
/// One dispute has two parties, the challenger and the defender (a solver of the job):
/// 1. Open. Either a solver against another solver of the same job whose root for checkpoint `k` differs
///    from its own (`openSolverDispute`), or a watcher against one solver, posting the root it claims is
///    right (`openWatcherDispute`). Checkpoint `k - 1` MUST be agreed (checkpoint 0 is the initial state
///    bound by the job spec), so the checkpoint phase is settled at opening from the roots on the market.
///    The referee calls `IJobMarket.openDispute` for every solver party, which freezes its claims.
/// 2. Steps. Bisection over the steps of the disputed interval `(step(k-1), step(k)]`: the defender posts
///    its state root after the midpoint step, the challenger answers with its own; equal roots move the
///    agreed end up, different roots move the disputed end down, until one step `s` is left.
/// 3. OpTrace. Both commit the Merkle root of their op trace for step `s` (forward, backward, optimizer,
///    topologically ordered, each op with its output tensor root) and its length. Bisection over the
///    trace's running accumulator finds op `j`: every input agreed, the output disputed.
/// 4. Reduction (long reductions only). Bisection over op `j`'s partial sums for one output element, so
///    the leaf recomputes a short sequence of primitive float32 operations.
/// 5. Leaf. The challenger names one output element; `resolveLeaf` checks both parties' values for it by
///    Merkle proof against their output roots and recomputes it from the agreed inputs with the
///    OpAdjudicator (canonical float32 semantics). The party whose value differs loses. An op with no
///    on-chain recipe moves the dispute to the `Committee` phase: an m-of-n referee committee decides.
///
/// Clocks and bonds: each party has a chess clock of `CLOCK_SECONDS()`, running only while it is that
/// party's move. A party whose clock runs out loses (`timeout`, callable by anyone). Both parties post a
/// bond of `BOND()` wei (the challenger when opening, the defender with `postBond` as its first move); the
/// winner gets both back through `withdrawBond`. A losing solver is slashed on the market with the
/// winner as recipient; a winning solver's market dispute is closed.
///
/// Obligations of an implementation:
/// - It MUST be the only holder of the market's DISPUTE_ROLE. For every solver party it MUST call
///   `IJobMarket.openDispute` once at opening and exactly one of `closeDispute` or `slash` at resolution.
/// - A dispute MUST only open while the disputed checkpoint is inside its challenge window (the market
///   enforces this too), and only when the two roots at `k` differ and agree at `k - 1`.
/// - Every dispute MUST resolve in bounded time: a move is accepted only before its mover's clock runs
///   out, and `timeout` MUST resolve against that mover afterwards.
/// - On-chain work per dispute MUST be O(log T + log |G| + small constant): nothing re-runs training.
/// - Bonds MUST be fully accounted: after resolution, the winner's withdrawable credit grows by every bond posted.
/// - It SHOULD void the job (`IJobMarket.voidResult`) when a dispute shows that no solver's result holds.
/// - A move MUST NOT be accepted from anyone but the party whose turn it is.
interface IVerdeReferee {
    // ---------------------------------------------------------------- types

    /// @notice Where a dispute stands.
    enum Phase {
        None, // no such dispute
        Steps, // bisection over the steps between two checkpoints
        OpTrace, // trace roots committed, bisection over the op trace of one step
        Reduction, // bisection over the partial sums of one output element of a long reduction
        Leaf, // one op (and element) found: waiting for the on-chain recomputation
        Committee, // the op has no on-chain recipe: waiting for the committee's signatures
        Resolved // decided; bonds credited, market settled
    }

    /// @notice A side of a dispute.
    enum Party {
        None,
        Challenger,
        Defender
    }

    /// @notice How a dispute was decided.
    enum Resolution {
        None,
        Leaf, // on-chain recomputation of one element
        Timeout, // a party's clock ran out
        Committee // m-of-n referee committee
    }

    /// @notice One dispute.
    struct Dispute {
        uint256 jobId; // the market job
        address challenger; // the solver or watcher that opened it
        address defender; // the solver whose checkpoint is disputed
        bool watcher; // true when the challenger is not a solver of the job
        Phase phase; // current phase
        Party turn; // whose move it is (Party.None once resolved)
        uint32 checkpointIndex; // the disputed checkpoint `k`
        uint64 lo; // last agreed position of the current bisection (step, op index or partial-sum index)
        uint64 hi; // first disputed position of the current bisection
        bytes32 agreedRoot; // both parties' commitment at `lo`
        bytes32 challengerRoot; // the challenger's commitment at `hi`
        bytes32 defenderRoot; // the defender's commitment at `hi`
        bytes32 pendingRoot; // the defender's commitment at the midpoint, awaiting the challenger's answer
        uint64 step; // the disputed step once the Steps phase ends
        uint32 opIndex; // the disputed op once the OpTrace phase ends
        uint64 challengerClock; // seconds left on the challenger's clock
        uint64 defenderClock; // seconds left on the defender's clock
        uint64 turnStartedAt; // unix seconds when the current move's clock started
        bool defenderBonded; // the defender posted its bond
        Party winner; // set once resolved
        uint32 moves; // moves accepted so far (postBond and every bisect call)
    }

    // ---------------------------------------------------------------- events

    /// @notice A dispute was opened and the challenger's bond escrowed.
    /// @param disputeId The new dispute.
    /// @param jobId The market job.
    /// @param challenger The solver or watcher that opened it.
    /// @param defender The solver whose checkpoint is disputed.
    /// @param index The disputed checkpoint.
    /// @param watcher True when the challenger is not a solver of the job.
    event DisputeCreated(
        uint256 indexed disputeId,
        uint256 indexed jobId,
        address indexed challenger,
        address defender,
        uint32 index,
        bool watcher
    );
    /// @notice The defender posted its bond.
    /// @param disputeId The dispute.
    /// @param defender The defender.
    /// @param amount The bond.
    event BondPosted(uint256 indexed disputeId, address indexed defender, uint256 amount);
    /// @notice A party committed to its value at bisection position `position`.
    /// @param disputeId The dispute.
    /// @param phase The bisection phase (Steps, OpTrace or Reduction).
    /// @param party Who moved.
    /// @param position The midpoint position the commitment is for.
    /// @param commitment The state root, trace accumulator or partial-sum root at `position`.
    event Bisected(uint256 indexed disputeId, Phase phase, Party party, uint64 position, bytes32 commitment);
    /// @notice The bisection range narrowed to `(lo, hi]`.
    /// @param disputeId The dispute.
    /// @param phase The bisection phase.
    /// @param lo The last agreed position.
    /// @param hi The first disputed position.
    event RangeNarrowed(uint256 indexed disputeId, Phase phase, uint64 lo, uint64 hi);
    /// @notice The dispute entered `phase`.
    /// @param disputeId The dispute.
    /// @param phase The new phase.
    /// @param position The position the previous phase pinned (step, op index or partial-sum index).
    event PhaseAdvanced(uint256 indexed disputeId, Phase phase, uint64 position);
    /// @notice A party committed its op trace for the disputed step.
    /// @param disputeId The dispute.
    /// @param party Who committed.
    /// @param traceRoot Merkle root of the ordered op trace.
    /// @param numOps Number of ops in the trace.
    event TraceCommitted(uint256 indexed disputeId, Party party, bytes32 traceRoot, uint32 numOps);
    /// @notice The disputed element was recomputed on chain.
    /// @param disputeId The dispute.
    /// @param element Flat index of the output element.
    /// @param expected The recomputed float32 bit pattern.
    /// @param challengerValue The challenger's value.
    /// @param defenderValue The defender's value.
    event LeafRecomputed(
        uint256 indexed disputeId, uint256 element, uint32 expected, uint32 challengerValue, uint32 defenderValue
    );
    /// @notice The dispute was decided; the loser's bond was credited to the winner and the market settled.
    /// @param disputeId The dispute.
    /// @param winner The winning side.
    /// @param winnerAccount The winner's address.
    /// @param loserAccount The loser's address.
    /// @param how How it was decided.
    event DisputeResolved(
        uint256 indexed disputeId,
        Party winner,
        address indexed winnerAccount,
        address indexed loserAccount,
        Resolution how
    );
    /// @notice Governance replaced the referee committee.
    /// @param members The new members.
    /// @param threshold Signatures needed to resolve a dispute.
    event CommitteeSet(address[] members, uint256 threshold);
    /// @notice `amount` of bond credit was paid out to `account`.
    /// @param account The payee.
    /// @param amount What was paid.
    event BondWithdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    /// @notice No dispute has id `disputeId`.
    error RefereeUnknownDispute(uint256 disputeId);
    /// @notice The dispute is already resolved.
    error RefereeResolved(uint256 disputeId);
    /// @notice `account` is not a solver of job `jobId`.
    error RefereeNotSolver(uint256 jobId, address account);
    /// @notice The challenger and the defender are the same account.
    error RefereeSelfDispute(address account);
    /// @notice The two roots for checkpoint `index` agree: there is nothing to dispute.
    error RefereeRootsAgree(uint256 jobId, uint32 index, bytes32 root);
    /// @notice The roots for checkpoint `index - 1` differ: dispute the earlier checkpoint first.
    error RefereePriorRootsDiffer(uint256 jobId, uint32 index);
    /// @notice msg.value was `sent`, the bond is `expected`.
    error RefereeWrongBond(uint256 sent, uint256 expected);
    /// @notice `caller` may not move now; `expected` is the side whose turn it is.
    error RefereeNotYourTurn(uint256 disputeId, address caller, Party expected);
    /// @notice The call belongs to phase `expected`; the dispute is in `phase`.
    error RefereeWrongPhase(uint256 disputeId, Phase phase, Phase expected);
    /// @notice The mover's clock ran out at `deadline`; only `timeout` is possible now.
    error RefereeClockExpired(uint256 disputeId, Party party, uint64 deadline);
    /// @notice The mover's clock still runs until `deadline`.
    error RefereeClockRunning(uint256 disputeId, Party party, uint64 deadline);
    /// @notice A committed op trace is malformed (e.g. empty).
    error RefereeBadTrace(uint256 disputeId, uint32 numOps);
    /// @notice A Merkle proof in the leaf witness does not verify.
    error RefereeBadProof(uint256 disputeId);
    /// @notice The op `opcode` has no on-chain recipe; the committee decides.
    error RefereeNoRecipe(uint256 disputeId, bytes32 opcode);
    /// @notice Only `valid` committee signatures verified, `needed` are required.
    error RefereeBadCommittee(uint256 disputeId, uint256 valid, uint256 needed);
    /// @notice `signer` signed the committee digest but is not a committee member.
    error RefereeNotCommitteeMember(uint256 disputeId, address signer);
    /// @notice `signer` signed twice.
    error RefereeDuplicateSigner(uint256 disputeId, address signer);
    /// @notice The committee `members` with `threshold` is malformed (empty, duplicate or zero member, bad threshold).
    error RefereeBadCommitteeSetup(uint256 members, uint256 threshold);
    /// @notice Constructor arguments out of range (zero bond or clock, reward above 10 000 bps, no market).
    error RefereeBadConfig(uint256 bond, uint64 clockSeconds, uint16 rewardBps);
    /// @notice The defender must post its bond before any other move.
    error RefereeBondMissing(uint256 disputeId);
    /// @notice `account` is a solver of job `jobId`: a solver disputes with `openSolverDispute`.
    error RefereeWatcherIsSolver(uint256 jobId, address account);
    /// @notice `winner` is not a side (Challenger or Defender).
    error RefereeBadWinner(uint256 disputeId, Party winner);
    /// @notice `account` has no bond credit.
    error RefereeNothingToWithdraw(address account);

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

    /// @notice The defender's first move: post its bond (`BOND()` as msg.value).
    /// @param disputeId The dispute.
    function postBond(uint256 disputeId) external payable;

    // ---------------------------------------------------------------- moves

    /// @notice Commit to the value at the current bisection midpoint (Steps, OpTrace or Reduction phase).
    /// The defender commits first; the challenger's answer narrows the range: equal commitments move the
    /// agreed end to the midpoint, different ones the disputed end. A range of one advances the phase.
    /// @param disputeId The dispute.
    /// @param commitment The state root, trace accumulator or partial-sum root at `midpoint(disputeId)`.
    function bisect(uint256 disputeId, bytes32 commitment) external;

    /// @notice Commit the op trace for the disputed step (OpTrace phase, before its bisection starts).
    /// @param disputeId The dispute.
    /// @param traceRoot Merkle root of the ordered op trace.
    /// @param numOps Number of ops (> 0).
    function commitTrace(uint256 disputeId, bytes32 traceRoot, uint32 numOps) external;

    /// @notice Leaf phase: name output element `element` of the disputed op and prove both parties' values
    /// and the agreed inputs it depends on; the referee recomputes it and resolves the dispute.
    /// @param disputeId The dispute.
    /// @param element Flat index of the output element.
    /// @param witness ABI-encoded op description, input elements and Merkle proofs, as the OpAdjudicator reads them.
    function resolveLeaf(uint256 disputeId, uint256 element, bytes calldata witness) external;

    /// @notice Committee phase: resolve with `m` of the `n` committee members' signatures on the winner.
    /// @param disputeId The dispute.
    /// @param winner The side the committee found right.
    /// @param signatures Distinct members' EIP-191 signatures over `committeeDigest(disputeId, winner)`.
    function resolveByCommittee(uint256 disputeId, Party winner, bytes[] calldata signatures) external;

    /// @notice Governance: replace the committee. Affects every dispute not yet resolved.
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

    /// @notice The bond each party posts, in wei.
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

    /// @notice The position the next `bisect` commits to: floor((lo + hi) / 2) of the current range.
    /// @param disputeId The dispute.
    /// @return position_ The midpoint.
    function midpoint(uint256 disputeId) external view returns (uint64 position_);

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

    /// @notice The committee members and the signature threshold.
    /// @return members_ The members.
    /// @return threshold_ Signatures needed.
    function committee() external view returns (address[] memory members_, uint256 threshold_);

    /// @notice Share of a losing solver's market stake credited to the winner, in basis points.
    /// @return bps_ The share.
    function REWARD_BPS() external view returns (uint16 bps_);

    /// @notice `account`'s withdrawable bond credit.
    /// @param account The account.
    /// @return amount_ The credit.
    function bondCredit(address account) external view returns (uint256 amount_);
}
