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
/// Obligations of an implementation:
/// - It MUST hold, per job, exactly the payment plus the stakes it has not yet credited, and
///   every credited wei MUST be withdrawable by its owner.
/// - Only an account with the dispute role (the Verde referee) MUST be able to open or close a
///   dispute, slash a stake or void a result.
/// - Cancellation, an unfilled job past its join deadline, and a solver missing the completion
///   deadline MUST each have a path that credits every wei to someone.
/// - A checkpoint whose challenge window has passed MUST NOT be disputable any more.
interface IJobMarket {
    // ---------------------------------------------------------------- types

    /// @notice What a requester asks for.
    struct JobParams {
        bytes32 specHash; // keccak of the job spec: model, data, hyper-parameters
        uint64 steps; // training steps
        uint64 checkpointInterval; // steps between two checkpoint commitments (> 0)
        uint32 numSolvers; // solvers needed before training starts (> 0)
        address token; // payment and stake asset; address(0) for ETH
        uint256 payment; // total payment, split evenly across solvers and milestones
        uint256 stake; // stake each solver posts
        uint64 joinDeadline; // unix seconds: the job must be full by then
        uint64 completionDeadline; // unix seconds: final checkpoint by then (> joinDeadline)
        uint64 challengeWindow; // seconds after a checkpoint during which it can be disputed
    }

    enum JobStatus {
        None, // no such job
        Open, // waiting for solvers
        Running, // all solvers joined
        Cancelled, // cancelled before it ran; everything refunded
        Voided // the result was voided by a dispute; unearned payment refunded
    }

    // ---------------------------------------------------------------- events

    /// @notice A job was posted and its payment escrowed.
    event JobPosted(
        uint256 indexed jobId, address indexed requester, bytes32 specHash, address token, uint256 payment
    );
    /// @notice A solver joined a job and staked.
    event SolverJoined(uint256 indexed jobId, address indexed solver, uint256 stake);
    /// @notice The job is full and training starts.
    event JobStarted(uint256 indexed jobId);
    /// @notice A job was cancelled before it ran.
    event JobCancelled(uint256 indexed jobId);
    /// @notice A solver committed the checkpoint `index` (taken after step `step`).
    event CheckpointPosted(
        uint256 indexed jobId, address indexed solver, uint32 indexed index, uint64 step, bytes32 root
    );
    /// @notice Milestones `fromIndex..toIndex` (inclusive) of a solver were verified and credited.
    event MilestonesReleased(
        uint256 indexed jobId, address indexed solver, uint32 fromIndex, uint32 toIndex, uint256 amount
    );
    /// @notice A solver's stake was credited back.
    event StakeReturned(uint256 indexed jobId, address indexed solver, uint256 amount);
    /// @notice A solver missed the completion deadline; stake and unearned share went to the requester.
    event SolverDefaulted(uint256 indexed jobId, address indexed solver, uint256 forfeited);
    /// @notice A dispute over `solver`'s checkpoint `index` was opened.
    event DisputeOpened(uint256 indexed jobId, address indexed solver, uint32 index);
    /// @notice A dispute against `solver` ended in the solver's favour.
    event DisputeClosed(uint256 indexed jobId, address indexed solver);
    /// @notice A solver was slashed: `toRecipient` to the dispute winner, `toRequester` back to the requester.
    event SolverSlashed(
        uint256 indexed jobId, address indexed solver, address indexed recipient, uint256 toRecipient, uint256 toRequester
    );
    /// @notice The job's result was voided; unearned payment was credited to the requester.
    event JobVoided(uint256 indexed jobId, uint256 refunded);
    /// @notice `amount` was paid out to `account`.
    event Withdrawn(uint256 indexed jobId, address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    error JobUnknown(uint256 jobId);
    error JobInvalidParams(string reason);
    error JobWrongPayment(uint256 sent, uint256 expected);
    error JobNotOpen(uint256 jobId, JobStatus status);
    error JobNotRunning(uint256 jobId, JobStatus status);
    error JobFull(uint256 jobId);
    error JobJoinClosed(uint256 jobId, uint64 joinDeadline);
    error JobAlreadyJoined(uint256 jobId, address solver);
    error JobNotSolver(uint256 jobId, address account);
    error JobNotCancellable(uint256 jobId, address caller);
    error JobCheckpointOutOfOrder(uint256 jobId, uint32 index, uint32 expected);
    error JobCompletionClosed(uint256 jobId, uint64 completionDeadline);
    error JobCompletionNotOver(uint256 jobId, uint64 completionDeadline);
    error JobSolverSlashed(uint256 jobId, address solver);
    error JobSolverDisputed(uint256 jobId, address solver);
    error JobSolverNotDisputed(uint256 jobId, address solver);
    error JobSolverFinished(uint256 jobId, address solver);
    error JobChallengeWindowClosed(uint256 jobId, address solver, uint32 index);
    error JobBadBps(uint16 bps);
    error JobNothingToWithdraw(uint256 jobId, address account);

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
    /// @param jobId The job.
    function join(uint256 jobId) external payable;

    /// @notice Commit checkpoint `index` (1-based; checkpoint k is taken after step min(k*interval, steps)).
    /// Indices are posted in order, before the completion deadline, by an unslashed solver.
    /// @param jobId The job.
    /// @param index The checkpoint index, one more than the solver's last.
    /// @param root The checkpoint Merkle root.
    function postCheckpoint(uint256 jobId, uint32 index, bytes32 root) external;

    /// @notice Credit the caller every milestone whose checkpoint is verified, and the stake after the last.
    /// @param jobId The job.
    /// @return amount_ What was credited by this call.
    function claim(uint256 jobId) external returns (uint256 amount_);

    /// @notice After the completion deadline, settle a solver that did not post its final checkpoint:
    /// its stake and the share of its unposted milestones are credited to the requester. Anyone may call.
    /// @param jobId The job.
    /// @param solver The defaulting solver.
    function settleDefault(uint256 jobId, address solver) external;

    /// @notice Pay out everything credited to the caller in `jobId`.
    /// @param jobId The job.
    /// @return amount_ What was paid.
    function withdraw(uint256 jobId) external returns (uint256 amount_);

    // ---------------------------------------------------------------- dispute role (Verde)

    /// @notice Freeze `solver`'s claims while its checkpoint `index` is disputed. The checkpoint MUST be
    /// posted and still inside its challenge window.
    function openDispute(uint256 jobId, address solver, uint32 index) external;

    /// @notice The solver won its dispute: unfreeze it.
    function closeDispute(uint256 jobId, address solver) external;

    /// @notice The solver lost: `rewardBps` of its stake is credited to `recipient`, the rest of the stake
    /// and the solver's unreleased payment to the requester. Voids the job when no unslashed solver is left.
    function slash(uint256 jobId, address solver, address recipient, uint16 rewardBps) external;

    /// @notice Void the job's result: all unreleased payment goes to the requester, unslashed stakes back.
    function voidResult(uint256 jobId) external;

    // ---------------------------------------------------------------- views

    /// @notice The job's parameters, requester and status.
    function jobOf(uint256 jobId)
        external
        view
        returns (JobParams memory params_, address requester_, JobStatus status_, uint32 joined_);

    /// @notice Number of checkpoints a job has: ceil(steps / checkpointInterval).
    function numCheckpoints(uint256 jobId) external view returns (uint32 count_);

    /// @notice A solver's checkpoint root and the time it was posted (zero if not posted).
    function checkpointOf(uint256 jobId, address solver, uint32 index)
        external
        view
        returns (bytes32 root_, uint64 postedAt_);

    /// @notice What `account` can withdraw from `jobId` now.
    function owed(uint256 jobId, address account) external view returns (uint256 amount_);

    /// @notice The solvers of a job, in join order.
    function solversOf(uint256 jobId) external view returns (address[] memory solvers_);
}
