// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "./IJobMarket.sol";

/// @title ICrowdfund
/// @notice Pooled funding of large training jobs on the JobMarket.
///
/// Anyone opens a campaign with a goal, a funding deadline, one asset (ETH or one ERC20) and a job
/// template. Contributors add to the pool until the deadline or until launch; every contribution is
/// recorded per contributor, so the pool is attributed exactly. When the goal is met, anyone may
/// `launch`: the Crowdfund posts the job on the JobMarket as its requester with the whole pool as the
/// payment. The JobMarket then releases the payment to solvers milestone by milestone, one per
/// verified checkpoint. Whatever the JobMarket hands back to the requester (a cancelled or voided job,
/// a defaulted or slashed solver) is pulled into the Crowdfund by a permissionless `sync` and shared
/// pro rata by contribution. A campaign that misses its goal by the deadline, or that is not launched
/// before its job's join deadline, fails, and every contributor takes back its full contribution.
///
/// Obligations of an implementation:
/// - It MUST hold, per campaign, at least what it owes that campaign's contributors: the pool while
///   funding, the unrefunded contributions once failed, the returned but unclaimed funds once launched.
/// - A campaign MUST end up either launched or failed-with-refunds; no path may leave funds stuck.
/// - Contributions in a token that delivers less than the amount transferred MUST be rejected.
/// - Refunds and claims MUST be pull payments, paid to the contributor that asks for them.
/// - Every wei returned by the JobMarket MUST be claimable: each sync's amount is shared on its own, every
///   contributor gets the floor of its pro rata share of it, and that sync's rounding dust goes to the
///   last contributor to claim it.
/// - The JobMarket MUST be trusted code: it is fixed at deployment and is the only sender of ETH.
interface ICrowdfund {
    // ---------------------------------------------------------------- types

    /// @notice The job a campaign will post: IJobMarket.JobParams without `token` and `payment`, which
    /// come from the campaign (its asset and its whole pool).
    struct JobTemplate {
        bytes32 specHash; // keccak of the job spec: model, data, hyper-parameters
        uint64 steps; // training steps (> 0)
        uint64 checkpointInterval; // steps between two checkpoint commitments (> 0)
        uint32 numSolvers; // solvers needed before training starts (> 0)
        uint256 stake; // stake each solver posts, in the campaign's asset
        uint64 joinDeadline; // unix seconds: the job must be full by then (> campaign deadline)
        uint64 completionDeadline; // unix seconds: final checkpoint by then (> joinDeadline)
        uint64 challengeWindow; // seconds after a checkpoint during which it can be disputed
        // The program the job's disputes are judged by, fixed at creation so contributors fund rules they
        // can read (IJobMarket.JobParams; numOps = 0 and both trees zero: committee-judged).
        bytes32 programTree; // trace-tree root over the op descriptor hashes of one training step
        bytes32 dataTree; // trace-tree root over the per-step batch leaves
        uint32 numOps; // ops per training step; 0 for a job without an on-chain program
    }

    /// @notice Where a campaign stands. `Succeeded` and most `Failed` states are derived from the clock.
    enum CampaignStatus {
        None, // no such campaign
        Funding, // before the deadline and not launched: contributions open
        Succeeded, // deadline passed with the goal met: waiting for `launch` before the join deadline
        Launched, // the job was posted; returned funds are claimable pro rata
        Failed // goal missed at the deadline, or not launched before the join deadline: full refunds
    }

    /// @notice A campaign's stored record.
    struct Campaign {
        address creator; // who opened the campaign
        address token; // the asset: address(0) for ETH, else one ERC20
        uint64 deadline; // unix seconds: contributions close then
        CampaignStatus status; // stored status: Funding, Launched or Failed (see statusOf for the live one)
        uint256 goal; // the minimum pool for a launch
        uint256 raised; // every contribution, summed; fixed once funding closes
        uint256 jobId; // the JobMarket job, once launched (0 before)
        uint256 returned; // everything pulled back from the JobMarket by `sync`
        uint256 paidOut; // everything paid to contributors: refunds, claims and dust
        uint64 epochs; // number of `sync`s that pulled funds; each one is shared out on its own
        JobTemplate template; // the job to post at launch
    }

    // ---------------------------------------------------------------- events

    /// @notice A campaign was opened.
    /// @param campaignId The new campaign.
    /// @param creator Who opened it.
    /// @param token The asset: address(0) for ETH.
    /// @param goal The minimum pool for a launch.
    /// @param deadline Unix seconds at which contributions close.
    /// @param specHash The job spec the pool will pay for.
    event CampaignCreated(
        uint256 indexed campaignId,
        address indexed creator,
        address indexed token,
        uint256 goal,
        uint64 deadline,
        bytes32 specHash
    );

    /// @notice `contributor` added `amount` to the pool.
    /// @param campaignId The campaign.
    /// @param contributor Who paid.
    /// @param amount What this contribution added.
    /// @param contribution The contributor's total after it.
    /// @param raised The pool's total after it.
    event Contributed(
        uint256 indexed campaignId, address indexed contributor, uint256 amount, uint256 contribution, uint256 raised
    );

    /// @notice The pool was posted as the JobMarket job `jobId`.
    /// @param campaignId The campaign.
    /// @param jobId The JobMarket job it funds.
    /// @param payment The pool, escrowed as the job's payment.
    event CampaignLaunched(uint256 indexed campaignId, uint256 indexed jobId, uint256 payment);

    /// @notice The campaign was found failed (recorded by the first refund); full refunds are open.
    /// @param campaignId The campaign.
    /// @param raised What was raised; all of it is refundable.
    event CampaignFailed(uint256 indexed campaignId, uint256 raised);

    /// @notice A contributor of a failed campaign took back its contribution.
    /// @param campaignId The campaign.
    /// @param contributor Who was paid.
    /// @param amount What was paid.
    event Refunded(uint256 indexed campaignId, address indexed contributor, uint256 amount);

    /// @notice Funds the JobMarket credited to the campaign's job were pulled in and became claimable.
    /// @param campaignId The campaign.
    /// @param jobId Its JobMarket job.
    /// @param epoch This sync's number (1-based); contributors claim each one separately.
    /// @param amount What this sync pulled.
    /// @param returned Everything pulled for the campaign so far.
    event Synced(uint256 indexed campaignId, uint256 indexed jobId, uint64 epoch, uint256 amount, uint256 returned);

    /// @notice A contributor claimed its pro rata share of the returned funds.
    /// @param campaignId The campaign.
    /// @param contributor Who was paid.
    /// @param amount Its pro rata share paid by this claim (without dust).
    /// @param dust Rounding dust paid on top: of every sync this claim was the last contributor to claim.
    event RefundClaimed(uint256 indexed campaignId, address indexed contributor, uint256 amount, uint256 dust);

    // ---------------------------------------------------------------- errors

    /// @notice The constructor got the zero address for the JobMarket.
    error CrowdfundZeroMarket();
    /// @notice A campaign needs a goal above zero.
    error CrowdfundZeroGoal();
    /// @notice The funding deadline must be in the future.
    /// @param deadline The deadline given.
    /// @param timestamp The current block time.
    error CrowdfundBadDeadline(uint64 deadline, uint256 timestamp);
    /// @notice The asset is neither ETH (address(0)) nor a contract.
    /// @param token The address given.
    error CrowdfundBadToken(address token);
    /// @notice The job template cannot be posted as given.
    /// @param reason Which rule it breaks.
    error CrowdfundBadTemplate(string reason);
    /// @notice No campaign has this id.
    /// @param campaignId The id asked for.
    error CrowdfundUnknownCampaign(uint256 campaignId);
    /// @notice The campaign no longer takes contributions.
    /// @param campaignId The campaign.
    /// @param status Its live status.
    error CrowdfundNotFunding(uint256 campaignId, CampaignStatus status);
    /// @notice A contribution of zero.
    error CrowdfundZeroAmount();
    /// @notice The ETH sent does not match what the call needs (the amount for ETH, zero for a token).
    /// @param sent msg.value.
    /// @param expected What it should have been.
    error CrowdfundWrongValue(uint256 sent, uint256 expected);
    /// @notice The token delivered less (or more) than was transferred: fee-on-transfer or rebasing.
    /// @param token The token.
    /// @param expected The amount transferred.
    /// @param received The balance change seen.
    error CrowdfundFeeOnTransfer(address token, uint256 expected, uint256 received);
    /// @notice The campaign cannot be launched in its status.
    /// @param campaignId The campaign.
    /// @param status Its live status.
    error CrowdfundNotLaunchable(uint256 campaignId, CampaignStatus status);
    /// @notice The pool is below the goal.
    /// @param campaignId The campaign.
    /// @param raised The pool.
    /// @param goal The goal.
    error CrowdfundGoalNotReached(uint256 campaignId, uint256 raised, uint256 goal);
    /// @notice Full refunds are only open once the campaign failed.
    /// @param campaignId The campaign.
    /// @param status Its live status.
    error CrowdfundNotFailed(uint256 campaignId, CampaignStatus status);
    /// @notice The caller has no contribution left to take back.
    /// @param campaignId The campaign.
    /// @param account The caller.
    error CrowdfundNothingToRefund(uint256 campaignId, address account);
    /// @notice The campaign has no job.
    /// @param campaignId The campaign.
    /// @param status Its live status.
    error CrowdfundNotLaunched(uint256 campaignId, CampaignStatus status);
    /// @notice The JobMarket holds nothing for the campaign's job.
    /// @param campaignId The campaign.
    /// @param jobId Its job.
    error CrowdfundNothingToSync(uint256 campaignId, uint256 jobId);
    /// @notice The caller is no contributor, or already claimed everything returned so far.
    /// @param campaignId The campaign.
    /// @param account The caller.
    error CrowdfundNothingToClaim(uint256 campaignId, address account);
    /// @notice ETH came from somewhere other than the JobMarket.
    /// @param sender Who sent it.
    /// @param amount How much.
    error CrowdfundUnexpectedEther(address sender, uint256 amount);
    /// @notice An ETH payment to `to` failed.
    /// @param to The recipient.
    /// @param amount The amount.
    error CrowdfundEtherTransferFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- campaigns

    /// @notice Open a campaign. The template MUST satisfy: steps, checkpointInterval and numSolvers above
    /// zero, joinDeadline after `deadline`, completionDeadline after joinDeadline, and `goal` at least one
    /// wei per milestone (numSolvers * ceil(steps / checkpointInterval)), so that any pool that meets the
    /// goal is a valid job payment.
    /// @param token The asset: address(0) for ETH, else an ERC20 without transfer fees.
    /// @param goal The minimum pool for a launch (> 0).
    /// @param deadline Unix seconds at which contributions close (in the future).
    /// @param template The job to post at launch.
    /// @return campaignId_ The new campaign's id (ids start at 1).
    function createCampaign(address token, uint256 goal, uint64 deadline, JobTemplate calldata template)
        external
        returns (uint256 campaignId_);

    /// @notice Add `amount` to a Funding campaign's pool: send it as msg.value for ETH, or approve the token.
    /// @param campaignId The campaign.
    /// @param amount The contribution (> 0).
    function contribute(uint256 campaignId, uint256 amount) external payable;

    /// @notice Post the pool as a JobMarket job; anyone may call once the goal is met, before the
    /// template's join deadline. Closes contributions.
    /// @param campaignId The campaign.
    /// @return jobId_ The JobMarket job.
    function launch(uint256 campaignId) external returns (uint256 jobId_);

    /// @notice Take back the caller's whole contribution to a Failed campaign.
    /// @param campaignId The campaign.
    /// @return amount_ What was paid.
    function refund(uint256 campaignId) external returns (uint256 amount_);

    /// @notice Pull everything the JobMarket credited to the campaign's job into the Crowdfund, where it
    /// becomes claimable pro rata. Anyone may call.
    /// @param campaignId A Launched campaign.
    /// @return amount_ What was pulled.
    function sync(uint256 campaignId) external returns (uint256 amount_);

    /// @notice Pay the caller its pro rata share of every sync it has not claimed yet. The last contributor
    /// to claim a sync also takes that sync's rounding dust.
    /// @param campaignId A Launched campaign.
    /// @return amount_ What was paid, dust included.
    function claimRefund(uint256 campaignId) external returns (uint256 amount_);

    // ---------------------------------------------------------------- views

    /// @notice The JobMarket every campaign launches on.
    function MARKET() external view returns (IJobMarket market_);

    /// @notice How many campaigns exist (the last id).
    function campaignCount() external view returns (uint256 count_);

    /// @notice A campaign's stored record.
    /// @param campaignId The campaign.
    /// @return campaign_ The record (its `status` is the stored one; see statusOf).
    function campaignOf(uint256 campaignId) external view returns (Campaign memory campaign_);

    /// @notice A campaign's live status, with the clock applied.
    /// @param campaignId The campaign.
    /// @return status_ None for an unknown id.
    function statusOf(uint256 campaignId) external view returns (CampaignStatus status_);

    /// @notice What `account` contributed to a campaign (kept after refunds, as attribution).
    /// @param campaignId The campaign.
    /// @param account The contributor.
    /// @return amount_ Its total contribution.
    function contributionOf(uint256 campaignId, address account) external view returns (uint256 amount_);

    /// @notice What `account` has been paid back so far (refund, or claims without dust).
    /// @param campaignId The campaign.
    /// @param account The contributor.
    /// @return amount_ Paid so far.
    function claimedOf(uint256 campaignId, address account) external view returns (uint256 amount_);

    /// @notice What `account` could take now with `refund` or `claimRefund` (without any dust).
    /// @param campaignId The campaign.
    /// @param account The contributor.
    /// @return amount_ Refundable or claimable now.
    function claimableOf(uint256 campaignId, address account) external view returns (uint256 amount_);

    /// @notice `account`'s share of the pool in basis points, rounded down.
    /// @param campaignId The campaign.
    /// @param account The contributor.
    /// @return bps_ contribution * 10_000 / raised (0 while nothing is raised).
    function shareBps(uint256 campaignId, address account) external view returns (uint256 bps_);

    /// @notice Everything raised for a campaign.
    /// @param campaignId The campaign.
    /// @return amount_ The pool.
    function totalRaised(uint256 campaignId) external view returns (uint256 amount_);

    /// @notice The campaign's contributors, in order of first contribution.
    /// @param campaignId The campaign.
    /// @return contributors_ The list.
    function contributorsOf(uint256 campaignId) external view returns (address[] memory contributors_);

    /// @notice How many distinct accounts contributed.
    /// @param campaignId The campaign.
    /// @return count_ The count.
    function contributorCount(uint256 campaignId) external view returns (uint256 count_);

    /// @notice What the Crowdfund owes the campaign's contributors now, from funds it holds.
    /// @param campaignId The campaign.
    /// @return amount_ The pool while funding; raised minus refunds once failed; returned minus paid once launched.
    function liabilityOf(uint256 campaignId) external view returns (uint256 amount_);

    /// @notice What `sync` would pull now: the JobMarket's credit to the Crowdfund for the campaign's job.
    /// @param campaignId The campaign.
    /// @return amount_ Zero before launch.
    function pendingSync(uint256 campaignId) external view returns (uint256 amount_);

    /// @notice The campaign job's progress, read from the JobMarket.
    /// @param campaignId A launched campaign (all zero otherwise).
    /// @return jobId_ The job.
    /// @return status_ Its JobMarket status.
    /// @return solvers_ Solvers that joined.
    /// @return milestonesTotal_ Milestones of the whole job: checkpoints per solver times numSolvers.
    /// @return checkpointsPosted_ Checkpoints posted, summed over solvers.
    /// @return milestonesReleased_ Milestones released (verified and credited) to solvers, summed over solvers.
    function jobProgress(uint256 campaignId)
        external
        view
        returns (
            uint256 jobId_,
            IJobMarket.JobStatus status_,
            uint32 solvers_,
            uint32 milestonesTotal_,
            uint32 checkpointsPosted_,
            uint32 milestonesReleased_
        );

    /// @notice Milestones of the campaign's job the JobMarket has released: each one a checkpoint whose
    /// challenge window passed undisputed, credited to its solver.
    /// @param campaignId The campaign.
    /// @return released_ The count, summed over solvers (0 before launch).
    function milestonesReleased(uint256 campaignId) external view returns (uint32 released_);
}
