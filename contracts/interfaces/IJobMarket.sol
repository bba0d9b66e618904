// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IJobMarket
/// @notice Remote execution coordination and payments for training jobs.
///
/// A requester posts a job and escrows its payment (ETH or one ERC20). Solvers join by staking
/// the same asset. Each solver posts a checkpoint root every `checkpointInterval` steps; that is
/// the on-chain record of the training run. A checkpoint is *verified* once its challenge window
/// has passed with no dispute open against that solver; each verified checkpoint releases one
/// milestone of the solver's share of the payment, and the last one also releases the stake.
/// Money only ever leaves through `withdraw(jobId)` (pull payments), per job and per account.
///
/// The payment is split into `numSolvers * numCheckpoints` equal milestones; the rounding dust
/// (`payment % (numSolvers * numCheckpoints)`) is credited to the requester when the job starts.
///
/// Obligations of an implementation:
/// - It MUST hold, per job, exactly the payment plus the stakes it has not yet credited, and
///   every credited wei MUST be withdrawable by its owner.
/// - Only the job's referee (the holder of the dispute role when the job was posted) MUST be able to open or
///   close a dispute, slash a stake, award a bounty or void a result; the dispute role has one holder.
/// - Cancellation, an unfilled job past its join deadline, and a solver missing the completion
///   deadline MUST each have a path that credits every wei to someone.
/// - A checkpoint whose challenge window has passed MUST NOT be disputable any more.
/// - The parameters a solver joins under, the judging program included, MUST NOT change after posting.
/// - A slashed solver's reward share MUST stay in escrow until the referee awards it (`awardBounty`).
/// - It MUST reject an ERC20 that delivers less than the amount transferred (fee-on-transfer).
/// - An ETH job MUST reject a call without the exact msg.value; an ERC20 job MUST reject any msg.value.
///
/// Time boundaries (all inclusive of the deadline itself): `join` works while
/// `now <= joinDeadline`, `postCheckpoint` while `now <= completionDeadline`; a checkpoint is
/// disputable while `now < postedAt + challengeWindow` and verified from `postedAt + challengeWindow`.
interface IJobMarket {
    // ---------------------------------------------------------------- types

    /// @notice What a requester asks for.
    struct JobParams {
        bytes32 specHash; // keccak of the job spec: model, data, hyper-parameters
        uint64 steps; // training steps (> 0)
        uint64 checkpointInterval; // steps between two checkpoint commitments (> 0)
        uint32 numSolvers; // solvers needed before training starts (> 0)
        address token; // payment and stake asset; address(0) for ETH
        uint256 payment; // total payment, split evenly over solvers and milestones (>= 1 wei per milestone)
        uint256 stake; // stake each solver posts (may be 0)
        uint64 joinDeadline; // unix seconds: the job must be full by then (> now)
        uint64 completionDeadline; // unix seconds: final checkpoint by then (> joinDeadline)
        uint64 challengeWindow; // seconds after a checkpoint during which it can be disputed
        // The rules a dispute over this job is judged by, fixed at posting (docs/verde-trace.md): a solver
        // that joins agrees to them as it agrees to the spec. numOps = 0 (and both trees zero) says the job
        // has no on-chain program and its disputes go to the referee's committee.
        bytes32 programTree; // trace-tree root over the op descriptor hashes of one training step
        bytes32 dataTree; // trace-tree root over the per-step batch leaves of steps 1..steps
        uint32 numOps; // G: ops in one training step; 0 for a committee-judged job
    }

    enum JobStatus {
        None, // no such job
        Open, // waiting for solvers
        Running, // all solvers joined
        Cancelled, // cancelled before it ran; everything refunded
        Voided // the result was voided by a dispute; unearned payment refunded
    }

    /// @notice One solver's standing in one job.
    struct SolverInfo {
        bool joined; // staked into the job
        bool slashed; // lost a dispute: its stake and unreleased payment were redistributed
        bool defaulted; // missed the completion deadline: stake and unposted share went to the requester
        bool finished; // everything due to it has been credited; nothing more moves for it
        uint16 disputes; // disputes open against it; claims are frozen while > 0
        uint32 posted; // index of its last posted checkpoint (0: none)
        uint32 released; // milestones credited to it so far
        bool bountyAwarded; // slashed and its bounty credited to the dispute's winner (or the requester)
    }

    // ---------------------------------------------------------------- events

    /// @notice A job was posted and its payment escrowed.
    /// @param jobId The new job.
    /// @param requester Who posted and paid.
    /// @param specHash The job spec hash.
    /// @param token The asset; address(0) for ETH.
    /// @param payment The escrowed payment.
    event JobPosted(
        uint256 indexed jobId, address indexed requester, bytes32 specHash, address token, uint256 payment
    );
    /// @notice A solver joined a job and staked.
    /// @param jobId The job.
    /// @param solver The solver.
    /// @param stake The stake escrowed.
    event SolverJoined(uint256 indexed jobId, address indexed solver, uint256 stake);
    /// @notice The job is full and training starts.
    /// @param jobId The job.
    event JobStarted(uint256 indexed jobId);
    /// @notice A job was cancelled before it ran.
    /// @param jobId The job.
    event JobCancelled(uint256 indexed jobId);
    /// @notice A solver committed the checkpoint `index` (taken after step `step`).
    /// @param jobId The job.
    /// @param solver The solver.
    /// @param index The checkpoint index (1-based).
    /// @param step The training step the checkpoint was taken after.
    /// @param root The checkpoint Merkle root.
    event CheckpointPosted(
        uint256 indexed jobId, address indexed solver, uint32 indexed index, uint64 step, bytes32 root
    );
    /// @notice Milestones `fromIndex..toIndex` (inclusive) of a solver were verified and credited.
    /// @param jobId The job.
    /// @param solver The solver.
    /// @param fromIndex The first milestone credited.
    /// @param toIndex The last milestone credited.
    /// @param amount The total credited.
    event MilestonesReleased(
        uint256 indexed jobId, address indexed solver, uint32 fromIndex, uint32 toIndex, uint256 amount
    );
    /// @notice A solver's stake was credited back.
    /// @param jobId The job.
    /// @param solver The solver.
    /// @param amount The stake credited.
    event StakeReturned(uint256 indexed jobId, address indexed solver, uint256 amount);
    /// @notice A solver missed the completion deadline; stake and unearned share went to the requester.
    /// @param jobId The job.
    /// @param solver The defaulting solver.
    /// @param forfeited Stake plus the share of its unposted milestones, credited to the requester.
    event SolverDefaulted(uint256 indexed jobId, address indexed solver, uint256 forfeited);
    /// @notice A dispute over `solver`'s checkpoint `index` was opened.
    /// @param jobId The job.
    /// @param solver The solver whose claims are frozen.
    /// @param index The disputed checkpoint.
    event DisputeOpened(uint256 indexed jobId, address indexed solver, uint32 index);
    /// @notice A dispute against `solver` ended in the solver's favour.
    /// @param jobId The job.
    /// @param solver The solver.
    event DisputeClosed(uint256 indexed jobId, address indexed solver);
    /// @notice A solver was slashed: `bounty` held for the dispute winner, `toRequester` back to the requester.
    /// @param jobId The job.
    /// @param solver The slashed solver.
    /// @param bounty The winner's share of the stake, held in escrow until `awardBounty`.
    /// @param toRequester The rest of the stake plus the solver's unreleased payment.
    event SolverSlashed(uint256 indexed jobId, address indexed solver, uint256 bounty, uint256 toRequester);
    /// @notice Governance appointed `referee` (address(0): revoked) as the judge of the jobs posted from now on.
    /// @param appointment The appointment's number.
    /// @param referee The new holder of the dispute role.
    event RefereeAppointed(uint32 indexed appointment, address referee);
    /// @notice A slashed solver's bounty was credited.
    /// @param jobId The job.
    /// @param solver The slashed solver.
    /// @param recipient Who was credited: the winner of the first dispute opened that showed it wrong, or
    /// the requester when no dispute did outright.
    /// @param amount The bounty.
    event BountyAwarded(uint256 indexed jobId, address indexed solver, address indexed recipient, uint256 amount);
    /// @notice The job's result was voided; unearned payment was credited to the requester.
    /// @param jobId The job.
    /// @param refunded The payment credited back to the requester by the void.
    event JobVoided(uint256 indexed jobId, uint256 refunded);
    /// @notice `amount` was paid out to `account`.
    /// @param jobId The job.
    /// @param account The payee.
    /// @param amount What was paid.
    event Withdrawn(uint256 indexed jobId, address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    /// @notice No job has id `jobId`.
    error JobUnknown(uint256 jobId);
    /// @notice The posted parameters break a rule; `reason` names it.
    error JobInvalidParams(string reason);
    /// @notice msg.value was `sent`, the call needs `expected` (0 for an ERC20 job).
    error JobWrongPayment(uint256 sent, uint256 expected);
    /// @notice The job is not Open.
    error JobNotOpen(uint256 jobId, JobStatus status);
    /// @notice The job is not Running.
    error JobNotRunning(uint256 jobId, JobStatus status);
    /// @notice The job already has all its solvers.
    error JobFull(uint256 jobId);
    /// @notice The join deadline has passed.
    error JobJoinClosed(uint256 jobId, uint64 joinDeadline);
    /// @notice `solver` already joined the job.
    error JobAlreadyJoined(uint256 jobId, address solver);
    /// @notice `account` is not a solver of the job.
    error JobNotSolver(uint256 jobId, address account);
    /// @notice `caller` may not cancel the job now (only the requester may, before the join deadline).
    error JobNotCancellable(uint256 jobId, address caller);
    /// @notice Checkpoint `index` was posted, `expected` is next.
    error JobCheckpointOutOfOrder(uint256 jobId, uint32 index, uint32 expected);
    /// @notice The completion deadline has passed.
    error JobCompletionClosed(uint256 jobId, uint64 completionDeadline);
    /// @notice The completion deadline has not passed yet.
    error JobCompletionNotOver(uint256 jobId, uint64 completionDeadline);
    /// @notice The solver was slashed.
    error JobSolverSlashed(uint256 jobId, address solver);
    /// @notice A dispute is open against the solver.
    error JobSolverDisputed(uint256 jobId, address solver);
    /// @notice No dispute is open against the solver.
    error JobSolverNotDisputed(uint256 jobId, address solver);
    /// @notice The solver has nothing more to do here: all checkpoints posted, or everything credited.
    error JobSolverFinished(uint256 jobId, address solver);
    /// @notice The checkpoint's challenge window is over: it can no longer be disputed.
    error JobChallengeWindowClosed(uint256 jobId, address solver, uint32 index);
    /// @notice A basis-point value above 10 000.
    error JobBadBps(uint16 bps);
    /// @notice `account` has nothing credited in the job.
    error JobNothingToWithdraw(uint256 jobId, address account);
    /// @notice The solver has not posted checkpoint `index`.
    error JobCheckpointNotPosted(uint256 jobId, address solver, uint32 index);
    /// @notice The token delivered `received` for a transfer of `expected` (fee-on-transfer or rebasing).
    error JobTokenFeeOnTransfer(address token, uint256 received, uint256 expected);
    /// @notice A required address (`what`) was address(0); crediting it would lose the funds.
    error JobZeroAddress(string what);
    /// @notice `caller` is not job `jobId`'s referee (the holder of the dispute role when it was posted).
    error JobNotReferee(uint256 jobId, address caller);
    /// @notice No referee is appointed: a job posted now could never be disputed.
    error JobNoReferee();
    /// @notice The solver's bounty is not held: it was not slashed, or the bounty was already awarded.
    error JobNoBounty(uint256 jobId, address solver);

    // ---------------------------------------------------------------- requester

    /// @notice Post a job and escrow `params.payment` (send it as msg.value for ETH, or approve the token).
    /// @param params The job; see JobParams.
    /// @return jobId_ The new job's id (ids start at 1).
    function postJob(JobParams calldata params) external payable returns (uint256 jobId_);

    /// @notice Cancel a job that is still Open: by its requester at any time, by anyone after the join
    /// deadline. Credits the payment to the requester and every stake to its solver.
    /// @param jobId The job.
    function cancelJob(uint256 jobId) external;

    // ---------------------------------------------------------------- solvers

    /// @notice Join an Open job by staking `stake` (msg.value for ETH, or an approved transfer).
    /// The last solver to join starts the job and credits the rounding dust to the requester.
    /// @param jobId The job.
    function join(uint256 jobId) external payable;

    /// @notice Commit checkpoint `index` (1-based; checkpoint k is taken after step min(k*interval, steps)).
    /// Indices are posted in order, before the completion deadline, by an unslashed solver.
    /// @param jobId The job.
    /// @param index The checkpoint index, one more than the solver's last.
    /// @param root The checkpoint Merkle root.
    function postCheckpoint(uint256 jobId, uint32 index, bytes32 root) external;

    /// @notice Credit the caller every milestone whose checkpoint is verified, and the stake after the last.
    /// Reverts while a dispute is open against the caller.
    /// @param jobId The job.
    /// @return amount_ What was credited by this call (0 when nothing new is verified).
    function claim(uint256 jobId) external returns (uint256 amount_);

    /// @notice After the completion deadline, settle a solver that did not post its final checkpoint:
    /// its stake and the share of its unposted milestones are credited to the requester. Anyone may call.
    /// The milestones it did post stay claimable by it once verified.
    /// @param jobId The job.
    /// @param solver The defaulting solver.
    function settleDefault(uint256 jobId, address solver) external;

    /// @notice Pay out everything credited to the caller in `jobId`.
    /// @param jobId The job.
    /// @return amount_ What was paid.
    function withdraw(uint256 jobId) external returns (uint256 amount_);

    // ---------------------------------------------------------------- dispute role (Verde)

    /// @notice Freeze `solver`'s claims while its checkpoint `index` is disputed, and for a dispute opened by
    /// another solver of the job (`challenger`, address(0) for a watcher) the challenger's claims too. The
    /// disputed checkpoint MUST be posted and inside its challenge window; the challenger's own checkpoints
    /// need not be (a solver may dispute a wrong checkpoint posted after its own became final). Disputes are
    /// counted per solver: each one opened MUST be closed (or the solver slashed) before its claims unfreeze.
    /// @param jobId The job.
    /// @param solver The solver whose checkpoint is disputed.
    /// @param index The disputed checkpoint.
    /// @param challenger The solver that opened the dispute, or address(0).
    function openDispute(uint256 jobId, address solver, uint32 index, address challenger) external;

    /// @notice The solver won one dispute: decrement its open disputes, unfreezing it at zero.
    /// @param jobId The job.
    /// @param solver The solver.
    function closeDispute(uint256 jobId, address solver) external;

    /// @notice The solver lost: `rewardBps` of its stake is held as its bounty (awarded later with
    /// `awardBounty`), the rest of the stake and the solver's unreleased payment go to the requester. Clears
    /// its open disputes. Voids the job when no unslashed solver is left.
    /// @param jobId The job.
    /// @param solver The losing solver.
    /// @param rewardBps The bounty's share of the stake, in basis points (<= 10 000).
    function slash(uint256 jobId, address solver, uint16 rewardBps) external;

    /// @notice Credit a slashed solver's held bounty to `recipient` (address(0): the requester), once.
    /// @param jobId The job.
    /// @param solver The slashed solver.
    /// @param recipient Who earned it, or address(0) for the requester.
    function awardBounty(uint256 jobId, address solver, address recipient) external;

    /// @notice Void the job's result: all unreleased payment goes to the requester, unslashed stakes back.
    /// @param jobId The job.
    function voidResult(uint256 jobId) external;

    // ---------------------------------------------------------------- views

    /// @notice The role whose holder judges the jobs posted while it holds it (one holder at a time).
    /// @return role_ keccak256("DISPUTE_ROLE").
    function DISPUTE_ROLE() external view returns (bytes32 role_);

    /// @notice The job's parameters, requester and status.
    /// @param jobId The job.
    /// @return params_ The parameters it was posted with.
    /// @return requester_ Who posted it.
    /// @return status_ Its status.
    /// @return joined_ How many solvers joined.
    function jobOf(uint256 jobId)
        external
        view
        returns (JobParams memory params_, address requester_, JobStatus status_, uint32 joined_);

    /// @notice Number of jobs posted so far (the last job id).
    /// @return count_ The count.
    function jobCount() external view returns (uint256 count_);

    /// @notice Number of checkpoints a job has: ceil(steps / checkpointInterval).
    /// @param jobId The job.
    /// @return count_ The count.
    function numCheckpoints(uint256 jobId) external view returns (uint32 count_);

    /// @notice The payment released per verified checkpoint per solver: payment / (numSolvers * numCheckpoints).
    /// @param jobId The job.
    /// @return amount_ One milestone.
    function milestoneOf(uint256 jobId) external view returns (uint256 amount_);

    /// @notice A solver's checkpoint root and the time it was posted (zero if not posted).
    /// @param jobId The job.
    /// @param solver The solver.
    /// @param index The checkpoint index.
    /// @return root_ The root.
    /// @return postedAt_ Unix seconds when it was posted.
    function checkpointOf(uint256 jobId, address solver, uint32 index)
        external
        view
        returns (bytes32 root_, uint64 postedAt_);

    /// @notice Whether `solver`'s checkpoint `index` is verified now: posted, challenge window over, and
    /// no dispute open against the solver.
    /// @param jobId The job.
    /// @param solver The solver.
    /// @param index The checkpoint index.
    /// @return verified_ True when verified.
    function isVerified(uint256 jobId, address solver, uint32 index) external view returns (bool verified_);

    /// @notice A solver's standing in a job (all zero for a non-solver).
    /// @param jobId The job.
    /// @param solver The account.
    /// @return info_ See SolverInfo.
    function solverOf(uint256 jobId, address solver) external view returns (SolverInfo memory info_);

    /// @notice What `account` can withdraw from `jobId` now.
    /// @param jobId The job.
    /// @param account The account.
    /// @return amount_ The credit.
    function owed(uint256 jobId, address account) external view returns (uint256 amount_);

    /// @notice The payment and stakes the job still holds that are not yet credited to anyone.
    /// @param jobId The job.
    /// @return amount_ The uncredited escrow.
    function escrowOf(uint256 jobId) external view returns (uint256 amount_);

    /// @notice The referee that judges `jobId`: the one appointed when it was posted.
    /// @param jobId The job.
    /// @return referee_ Its address (address(0) for an unknown job).
    function refereeOf(uint256 jobId) external view returns (address referee_);

    /// @notice The referee jobs posted now would get (address(0): none appointed, posting reverts).
    /// @return referee_ The current holder of the dispute role.
    function referee() external view returns (address referee_);

    /// @notice A job's status alone (cheaper than `jobOf` for the referee's checks).
    /// @param jobId The job.
    /// @return status_ Its status (None for an unknown id).
    function statusOf(uint256 jobId) external view returns (JobStatus status_);

    /// @notice The program a job's disputes are judged by, as posted (numOps 0: committee-judged).
    /// @param jobId The job.
    /// @return programTree_ Trace-tree root over the op descriptor hashes.
    /// @return dataTree_ Trace-tree root over the per-step batch leaves.
    /// @return numOps_ Ops per step.
    /// @return steps_ The job's steps (leaves of the data tree).
    function programOf(uint256 jobId)
        external
        view
        returns (bytes32 programTree_, bytes32 dataTree_, uint32 numOps_, uint64 steps_);

    /// @notice The bounty held for a slashed solver until the referee awards it (0 once awarded).
    /// @param jobId The job.
    /// @param solver The solver.
    /// @return amount_ The held bounty.
    function bountyOf(uint256 jobId, address solver) external view returns (uint256 amount_);

    /// @notice The solvers of a job, in join order.
    /// @param jobId The job.
    /// @return solvers_ The solvers.
    function solversOf(uint256 jobId) external view returns (address[] memory solvers_);
}
