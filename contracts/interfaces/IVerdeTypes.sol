// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "./IJobMarket.sol";

/// @title IVerdeTypes
/// @notice The types, events and errors shared by the Verde referee (IVerdeReferee) and its moves facet
/// (IVerdeMoves), which run at one address over one storage.
interface IVerdeTypes {
    // ---------------------------------------------------------------- types

    /// @notice Where a dispute stands.
    enum Phase {
        None, // no such dispute
        Steps, // k-ary narrowing over the steps between two checkpoints
        OpTrace, // trace state roots committed, k-ary narrowing over the ops of one step
        Output, // one op pinned: each party reveals its output root for it
        Descent, // k-ary descent over the two output tensors' Merkle trees down to one element
        Reduction, // k-ary narrowing over the partial sums of that element of a reduction
        Leaf, // one element (or partial sum, or hash op) found: waiting for the on-chain recomputation
        Committee, // no on-chain recipe (no program registered): waiting for the committee's signatures
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
        Committee, // m-of-n referee committee
        BothWrong, // the recomputed value matched neither party: every solver party is slashed, nobody wins
        Expired // the committee did not decide in time: the bond returned, nobody slashed
    }

    /// @notice A job's Verde program and data, fixed when the job was posted (docs/verde-trace.md).
    struct Program {
        bytes32 programTree; // trace-tree root over the op descriptor hashes
        bytes32 dataTree; // trace-tree root over the per-step batch leaves
        uint32 numOps; // G: ops in one training step (0: no program)
        uint64 numSteps; // T: the job's steps (leaves of the data tree)
    }

    /// @notice The arity of each narrowing phase, fixed per referee: a Steps, OpTrace or Reduction move posts
    /// up to `arity - 1` points, a Descent move the 2^log2(descent) nodes that many levels down.
    struct Arity {
        uint8 steps; // 2..32
        uint8 ops; // 2..32
        uint8 descent; // 2, 4, 8, 16 or 32
        uint8 partials; // 2..32
    }

    /// @notice An earlier op's trace entry, proven against the agreed trace state root.
    struct OperandRef {
        bytes32 opHash; // keccak of that op's descriptor
        bytes32 outRoot; // its output root
        bytes32[] siblings; // its leaf's siblings in the agreed trace tree, bottom-up
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
        uint64 lo; // last agreed position of the current narrowing (step, op index or partial-sum index)
        uint64 hi; // first disputed position of the current narrowing
        bytes32 agreedRoot; // both parties' commitment at `lo`
        bytes32 challengerRoot; // the challenger's commitment at `hi`
        bytes32 defenderRoot; // the defender's commitment at `hi`
        bytes32 pendingRoot; // the defender's value of this round (keccak of its values when more), awaiting the answer
        uint64 step; // the disputed step once the Steps phase ends
        uint32 opIndex; // the disputed op once the OpTrace phase ends
        uint64 challengerClock; // seconds left on the challenger's clock
        uint64 defenderClock; // seconds left on the defender's clock
        uint64 turnStartedAt; // unix seconds when the current move's clock started
        uint32 committeeEpoch; // the committee in force when the dispute opened: the one that may decide it
        Party winner; // set once resolved
        uint32 moves; // moves accepted so far (every call by a party)
        bool tracesCommitted; // OpTrace: both parties committed their final trace state roots
        uint8 opcode; // the pinned op's opcode
        uint8 height; // Descent: height of the current node pair in the output tensors' trees
        bytes32 preRoot; // agreed checkpoint root before the disputed step
        bytes32 traceRoot; // agreed trace state root before the pinned op (S_opIndex)
        bytes32 descHash; // keccak of the pinned op's descriptor
        bytes32 challengerOut; // challenger's output root, then its data root / current descent node
        bytes32 defenderOut; // defender's output root, then its data root / current descent node
        uint64 numel; // elements of the pinned op's output tensor
        uint64 node; // Descent: index of the current node at `height`
        uint64 element; // the first output element where the parties differ
        uint32 challengerValue; // the challenger's bits for that element
        uint32 defenderValue; // the defender's bits for that element
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
    /// @notice The range of a Steps, OpTrace or Reduction narrowing became `(lo, hi]`.
    /// @param disputeId The dispute.
    /// @param phase The phase.
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
    /// @notice The op bisection found op `opIndex`.
    event OpPinned(uint256 indexed disputeId, uint32 opIndex);
    /// @notice A party revealed its output root for the pinned op.
    event OutputRevealed(uint256 indexed disputeId, Party party, uint8 opcode, bytes32 outRoot);
    /// @notice A party's narrowing move (`IVerdeMoves.narrow`): its roots at `positions`, its nodes or leaf data,
    /// or its partial sums as bytes32. The challenger's answer repeats the defender's, so clients read them here.
    event ValuesRevealed(uint256 indexed disputeId, Party party, Phase phase, bytes32[] values);
    /// @notice The descent found the first differing element of the pinned op's output.
    event ElementPinned(uint256 indexed disputeId, uint64 element, uint32 challengerValue, uint32 defenderValue);
    /// @notice A hash op's output was recomputed on chain.
    event HashRecomputed(uint256 indexed disputeId, bytes32 expected, bytes32 challengerOut, bytes32 defenderOut);
    /// @notice The disputed element was recomputed on chain.
    /// @param disputeId The dispute.
    /// @param element Flat index of the output element.
    /// @param expected The recomputed float32 bit pattern.
    /// @param challengerValue The challenger's value.
    /// @param defenderValue The defender's value.
    event LeafRecomputed(
        uint256 indexed disputeId, uint256 element, uint32 expected, uint32 challengerValue, uint32 defenderValue
    );
    /// @notice The dispute was decided: the challenger's bond credited (to the defender if it won, else back to
    /// the challenger) and the market settled. `winner` is None for BothWrong and Expired.
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
    /// @notice Governance set a new referee committee; disputes opened from now on are decided by it.
    /// @param epoch The committee's number (disputes record the one in force when they opened).
    /// @param members The new members.
    /// @param threshold Signatures needed to resolve a dispute.
    event CommitteeSet(uint32 indexed epoch, address[] members, uint256 threshold);
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
    /// @notice A Merkle proof in the leaf witness does not verify.
    error RefereeBadProof(uint256 disputeId);
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
    /// @notice An arity out of range (2..32; the descent's a power of two).
    error RefereeBadArity(Arity arity);
    /// @notice `account` is a solver of job `jobId`: a solver disputes with `openSolverDispute`.
    error RefereeWatcherIsSolver(uint256 jobId, address account);
    /// @notice `winner` is not a side (Challenger or Defender).
    error RefereeBadWinner(uint256 disputeId, Party winner);
    /// @notice The job's requester may not dispute its own solvers as a watcher (it already takes the rest of
    /// a slashed stake as requester; docs/verde.md).
    error RefereeRequesterIsWatcher(uint256 jobId, address account);
    /// @notice A solver disputes with its own root for checkpoint `index`, which it has not posted.
    error RefereeCheckpointNotPosted(uint256 jobId, address account, uint32 index);
    /// @notice No committee was in force when the dispute opened: nobody can decide it, it expires.
    error RefereeNoCommittee(uint256 disputeId);
    /// @notice The descriptor does not hash to the pinned op, or is not the kind this call resolves.
    error RefereeBadOp(uint256 disputeId, uint8 opcode);
    /// @notice A move carried the wrong number of values (`have`, `need`).
    error RefereeBadWidth(uint256 disputeId, uint256 have, uint256 need);
    /// @notice An operand names a slot that is not before the pinned op.
    error RefereeBadOperand(uint256 disputeId, uint256 operand);
    /// @notice `account` has no bond credit.
    error RefereeNothingToWithdraw(address account);

}
