// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICrowdfund} from "../interfaces/ICrowdfund.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title Crowdfund
/// @notice Many contributors pool ETH or one ERC20 to pay for one large JobMarket job.
///
/// A campaign collects contributions until its deadline (or its launch) and records each contributor's
/// amount. With the goal met, anyone launches it: the Crowdfund becomes the job's requester and escrows
/// the whole pool as the job's payment; from then on the JobMarket releases that payment to solvers one
/// verified checkpoint at a time. Funds the JobMarket gives back to the requester (cancellation, a void,
/// a defaulted or slashed solver) are pulled in by `sync`. Each sync that pulled funds is an *epoch*:
/// a contributor's claim takes floor(amount * contribution / raised) of every epoch it has not claimed,
/// and the contributor that claims an epoch last also takes that epoch's rounding dust, so each epoch
/// pays out exactly what it pulled. A campaign that misses its goal, or is not launched before its
/// job's join deadline, is Failed by the clock alone and refunds every contribution in full.
///
/// NOTE: Failure needs no transaction: `statusOf` derives it from the clock, and the first refund
/// records it (and emits CampaignFailed). A launch that the JobMarket rejects reverts, and the campaign
/// fails at the latest at the template's join deadline, so no pool can be stuck.
///
/// NOTE: Shares are per epoch, so a claim loops over the epochs the caller has not claimed. Every epoch
/// is a sync that pulled a credit the JobMarket made to the requester; a job makes a handful of those
/// (a cancel or a void, and at most one default or slash per solver), which bounds the loop.
///
/// NOTE: Paid-out amounts are stored in 192 bits to pack them with counters (a claim costs two fewer
/// fresh storage slots); amounts above 2^192 - 1 base units, far beyond any real token's supply, revert.
///
/// WARNING: Tokens whose balances change without transfers (rebasing) or that take fees are not
/// supported; contributions and syncs check the balance change and revert on any difference.
///
/// CAUTION: ETH refunds and claims are paid to msg.sender; a contributor contract that cannot take ETH
/// cannot be paid, and its share stays owed to it.
contract Crowdfund is ICrowdfund, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants

    /// @notice Semantic version of this deployment.
    string public constant version = "2.0.0";

    /// @dev Basis points in a whole.
    uint256 internal constant BPS = 10_000;

    // ---------------------------------------------------------------- storage

    /// @notice A contributor's record in one campaign.
    struct Position {
        uint256 contributed; // everything it contributed; kept after refunds as attribution
        uint192 claimed; // everything paid back to it, rounding dust excluded (packed with `epoch`)
        uint64 epoch; // the last epoch it claimed (0: none)
    }

    /// @notice One sync that pulled funds, shared out on its own.
    struct Epoch {
        uint256 amount; // what the sync pulled
        uint192 paid; // what contributors claimed of it so far, dust included (packed with `claimers`)
        uint64 claimers; // contributors that claimed it so far
    }

    /// @inheritdoc ICrowdfund
    IJobMarket public immutable MARKET;

    /// @inheritdoc ICrowdfund
    uint256 public campaignCount;

    /// @dev Campaigns by id (ids start at 1).
    mapping(uint256 campaignId => Campaign) internal _campaigns;
    /// @dev Contributors' records per campaign.
    mapping(uint256 campaignId => mapping(address account => Position)) internal _positions;
    /// @dev Contributors per campaign, in order of first contribution.
    mapping(uint256 campaignId => address[]) internal _contributors;
    /// @dev Epochs per campaign (1-based).
    mapping(uint256 campaignId => mapping(uint64 epoch => Epoch)) internal _epochs;

    // ---------------------------------------------------------------- constructor

    /// @param _market The JobMarket every campaign launches on (trusted; the only ETH sender).
    constructor(IJobMarket _market) {
        if (address(_market) == address(0)) revert CrowdfundZeroMarket();
        MARKET = _market;
    }

    // ---------------------------------------------------------------- external

    /// @notice Takes ETH only from the JobMarket (withdrawals during `sync`).
    receive() external payable {
        // INVARIANT: stray ETH would be owed to nobody.
        if (msg.sender != address(MARKET)) revert CrowdfundUnexpectedEther(msg.sender, msg.value);
    }

    /// @inheritdoc ICrowdfund
    function createCampaign(address _token, uint256 _goal, uint64 _deadline, JobTemplate calldata _template)
        external
        returns (uint256 campaignId_)
    {
        // INVARIANT: a campaign can succeed, and its job can be posted after the funding deadline.
        if (_goal == 0) revert CrowdfundZeroGoal();
        if (_deadline <= block.timestamp) revert CrowdfundBadDeadline(_deadline, block.timestamp);
        if (_token != address(0) && _token.code.length == 0) revert CrowdfundBadToken(_token);
        _checkTemplate(_goal, _deadline, _template);

        campaignId_ = ++campaignCount;
        Campaign storage c = _campaigns[campaignId_];
        c.creator = msg.sender;
        c.token = _token;
        c.deadline = _deadline;
        c.status = CampaignStatus.Funding;
        c.goal = _goal;
        c.template = _template;

        emit CampaignCreated(campaignId_, msg.sender, _token, _goal, _deadline, _template.specHash);
    }

    /// @inheritdoc ICrowdfund
    function contribute(uint256 _campaignId, uint256 _amount) external payable nonReentrant {
        Campaign storage c = _campaignOf(_campaignId);
        CampaignStatus status = _statusOf(c);
        // INVARIANT: the pool only grows while funding is open.
        if (status != CampaignStatus.Funding) revert CrowdfundNotFunding(_campaignId, status);
        if (_amount == 0) revert CrowdfundZeroAmount();
        address token = c.token;
        uint256 expectedValue = token == address(0) ? _amount : 0;
        if (msg.value != expectedValue) revert CrowdfundWrongValue(msg.value, expectedValue);

        Position storage p = _positions[_campaignId][msg.sender];
        if (p.contributed == 0) _contributors[_campaignId].push(msg.sender);
        p.contributed += _amount;
        c.raised += _amount;

        emit Contributed(_campaignId, msg.sender, _amount, p.contributed, c.raised);

        // SAFETY: the pull is the last step; the balance check after it reverts everything above when the
        // token delivered a different amount, so the books never count wei that did not arrive.
        if (token != address(0)) _pullExact(IERC20(token), msg.sender, _amount);
    }

    /// @inheritdoc ICrowdfund
    function launch(uint256 _campaignId) external nonReentrant returns (uint256 jobId_) {
        Campaign storage c = _campaignOf(_campaignId);
        CampaignStatus status = _statusOf(c);
        // INVARIANT: only an unlaunched campaign inside its launch window (before the join deadline) posts.
        if (status != CampaignStatus.Funding && status != CampaignStatus.Succeeded) {
            revert CrowdfundNotLaunchable(_campaignId, status);
        }
        uint256 payment = c.raised;
        if (payment < c.goal) revert CrowdfundGoalNotReached(_campaignId, payment, c.goal);

        c.status = CampaignStatus.Launched;

        IJobMarket.JobParams memory params = _paramsOf(c, payment);
        address token = c.token;
        if (token == address(0)) {
            jobId_ = MARKET.postJob{value: payment}(params);
        } else {
            // The JobMarket pulls exactly `payment`, which leaves the allowance at zero again.
            IERC20(token).forceApprove(address(MARKET), payment);
            jobId_ = MARKET.postJob(params);
        }
        // SAFETY: the job id only exists once postJob returns, so it is stored and announced after the
        // call; the JobMarket is trusted and nonReentrant keeps every other entry point closed meanwhile.
        c.jobId = jobId_;
        emit CampaignLaunched(_campaignId, jobId_, payment);
    }

    /// @inheritdoc ICrowdfund
    function refund(uint256 _campaignId) external nonReentrant returns (uint256 amount_) {
        Campaign storage c = _campaignOf(_campaignId);
        CampaignStatus status = _statusOf(c);
        // INVARIANT: full refunds only once the campaign can no longer launch.
        if (status != CampaignStatus.Failed) revert CrowdfundNotFailed(_campaignId, status);
        Position storage p = _positions[_campaignId][msg.sender];
        amount_ = p.contributed - p.claimed;
        if (amount_ == 0) revert CrowdfundNothingToRefund(_campaignId, msg.sender);

        if (c.status != CampaignStatus.Failed) {
            c.status = CampaignStatus.Failed;
            emit CampaignFailed(_campaignId, c.raised);
        }
        p.claimed = SafeCast.toUint192(p.contributed);
        c.paidOut += amount_;

        emit Refunded(_campaignId, msg.sender, amount_);

        _pay(c.token, msg.sender, amount_);
    }

    /// @inheritdoc ICrowdfund
    function sync(uint256 _campaignId) external nonReentrant returns (uint256 amount_) {
        Campaign storage c = _campaignOf(_campaignId);
        // INVARIANT: only a launched campaign has a job to pull from.
        if (c.status != CampaignStatus.Launched) revert CrowdfundNotLaunched(_campaignId, _statusOf(c));
        uint256 jobId = c.jobId;
        amount_ = MARKET.owed(jobId, address(this));
        if (amount_ == 0) revert CrowdfundNothingToSync(_campaignId, jobId);

        uint64 epoch = ++c.epochs;
        _epochs[_campaignId][epoch].amount = amount_;
        c.returned += amount_;

        emit Synced(_campaignId, jobId, epoch, amount_, c.returned);

        // SAFETY: the withdrawal is the last step; the balance check after it reverts the epoch above
        // unless exactly the credited amount arrived.
        address token = c.token;
        uint256 before = _balanceOf(token);
        MARKET.withdraw(jobId);
        uint256 received = _balanceOf(token) - before;
        if (received != amount_) revert CrowdfundFeeOnTransfer(token, amount_, received);
    }

    /// @inheritdoc ICrowdfund
    function claimRefund(uint256 _campaignId) external nonReentrant returns (uint256 amount_) {
        Campaign storage c = _campaignOf(_campaignId);
        // INVARIANT: returned funds exist only for a launched campaign.
        if (c.status != CampaignStatus.Launched) revert CrowdfundNotLaunched(_campaignId, _statusOf(c));
        Position storage p = _positions[_campaignId][msg.sender];
        uint64 last = c.epochs;
        // INVARIANT: a contributor claims every epoch once; a share of zero still counts as claimed.
        if (p.contributed == 0 || p.epoch == last) revert CrowdfundNothingToClaim(_campaignId, msg.sender);

        uint256 contributors = _contributors[_campaignId].length;
        uint256 share;
        uint256 dust;
        for (uint64 k = p.epoch + 1; k <= last; ++k) {
            Epoch storage e = _epochs[_campaignId][k];
            uint256 s = Math.mulDiv(e.amount, p.contributed, c.raised);
            share += s;
            uint256 paid = e.paid + s;
            if (++e.claimers == contributors) {
                // The last claimant of an epoch takes what the floors left: the shares summed to at most
                // the amount, so this never underflows, and the epoch then pays out exactly its amount.
                dust += e.amount - paid;
                paid = e.amount;
            }
            e.paid = SafeCast.toUint192(paid);
        }
        amount_ = share + dust;
        p.claimed = SafeCast.toUint192(p.claimed + share);
        p.epoch = last;
        c.paidOut += amount_;

        emit RefundClaimed(_campaignId, msg.sender, share, dust);

        _pay(c.token, msg.sender, amount_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICrowdfund
    function campaignOf(uint256 _campaignId) external view returns (Campaign memory campaign_) {
        campaign_ = _campaignOf(_campaignId);
    }

    /// @inheritdoc ICrowdfund
    function statusOf(uint256 _campaignId) external view returns (CampaignStatus status_) {
        status_ = _statusOf(_campaigns[_campaignId]);
    }

    /// @inheritdoc ICrowdfund
    function contributionOf(uint256 _campaignId, address _account) external view returns (uint256 amount_) {
        amount_ = _positions[_campaignId][_account].contributed;
    }

    /// @inheritdoc ICrowdfund
    function claimedOf(uint256 _campaignId, address _account) external view returns (uint256 amount_) {
        amount_ = _positions[_campaignId][_account].claimed;
    }

    /// @inheritdoc ICrowdfund
    function claimableOf(uint256 _campaignId, address _account) external view returns (uint256 amount_) {
        Campaign storage c = _campaigns[_campaignId];
        Position storage p = _positions[_campaignId][_account];
        CampaignStatus status = _statusOf(c);
        if (status == CampaignStatus.Failed) {
            amount_ = p.contributed - p.claimed;
        } else if (status == CampaignStatus.Launched && p.contributed != 0) {
            for (uint64 k = p.epoch + 1; k <= c.epochs; ++k) {
                amount_ += Math.mulDiv(_epochs[_campaignId][k].amount, p.contributed, c.raised);
            }
        }
    }

    /// @inheritdoc ICrowdfund
    function shareBps(uint256 _campaignId, address _account) external view returns (uint256 bps_) {
        uint256 raised = _campaigns[_campaignId].raised;
        if (raised != 0) bps_ = Math.mulDiv(_positions[_campaignId][_account].contributed, BPS, raised);
    }

    /// @inheritdoc ICrowdfund
    function totalRaised(uint256 _campaignId) external view returns (uint256 amount_) {
        amount_ = _campaigns[_campaignId].raised;
    }

    /// @inheritdoc ICrowdfund
    function contributorsOf(uint256 _campaignId) external view returns (address[] memory contributors_) {
        contributors_ = _contributors[_campaignId];
    }

    /// @inheritdoc ICrowdfund
    function contributorCount(uint256 _campaignId) external view returns (uint256 count_) {
        count_ = _contributors[_campaignId].length;
    }

    /// @inheritdoc ICrowdfund
    function liabilityOf(uint256 _campaignId) external view returns (uint256 amount_) {
        Campaign storage c = _campaigns[_campaignId];
        amount_ = (c.status == CampaignStatus.Launched ? c.returned : c.raised) - c.paidOut;
    }

    /// @inheritdoc ICrowdfund
    function pendingSync(uint256 _campaignId) external view returns (uint256 amount_) {
        Campaign storage c = _campaigns[_campaignId];
        if (c.status == CampaignStatus.Launched) amount_ = MARKET.owed(c.jobId, address(this));
    }

    /// @inheritdoc ICrowdfund
    function jobProgress(uint256 _campaignId)
        external
        view
        returns (
            uint256 jobId_,
            IJobMarket.JobStatus status_,
            uint32 solvers_,
            uint32 milestonesTotal_,
            uint32 checkpointsPosted_,
            uint32 milestonesReleased_
        )
    {
        Campaign storage c = _campaigns[_campaignId];
        if (c.status != CampaignStatus.Launched) return (0, IJobMarket.JobStatus.None, 0, 0, 0, 0);
        jobId_ = c.jobId;
        IJobMarket.JobParams memory params;
        (params,, status_, solvers_) = MARKET.jobOf(jobId_);
        (milestonesTotal_, checkpointsPosted_, milestonesReleased_) = _progressOf(jobId_, params);
    }

    /// @inheritdoc ICrowdfund
    function milestonesReleased(uint256 _campaignId) external view returns (uint32 released_) {
        Campaign storage c = _campaigns[_campaignId];
        if (c.status != CampaignStatus.Launched) return 0;
        (IJobMarket.JobParams memory params,,,) = MARKET.jobOf(c.jobId);
        (,, released_) = _progressOf(c.jobId, params);
    }

    // ---------------------------------------------------------------- internal

    /// @dev The campaign `_campaignId`, or a revert when there is none.
    function _campaignOf(uint256 _campaignId) internal view returns (Campaign storage c_) {
        c_ = _campaigns[_campaignId];
        if (c_.status == CampaignStatus.None) revert CrowdfundUnknownCampaign(_campaignId);
    }

    /// @dev The live status: the stored one, with funding closed and failure applied by the clock.
    function _statusOf(Campaign storage _c) internal view returns (CampaignStatus status_) {
        status_ = _c.status;
        if (status_ != CampaignStatus.Funding) return status_;
        // The job can no longer be posted once its join deadline is here: the campaign failed.
        if (block.timestamp >= _c.template.joinDeadline) return CampaignStatus.Failed;
        if (block.timestamp < _c.deadline) return CampaignStatus.Funding;
        status_ = _c.raised >= _c.goal ? CampaignStatus.Succeeded : CampaignStatus.Failed;
    }

    /// @dev Reverts unless the template can be posted as a job, paying at least `_goal`, after the funding
    /// deadline `_deadline`: the JobMarket's rules that do not depend on the launch time.
    function _checkTemplate(uint256 _goal, uint64 _deadline, JobTemplate calldata _t) internal pure {
        if (_t.steps == 0) revert CrowdfundBadTemplate("steps is zero");
        if (_t.checkpointInterval == 0) revert CrowdfundBadTemplate("checkpointInterval is zero");
        if (_t.numSolvers == 0) revert CrowdfundBadTemplate("numSolvers is zero");
        // ceil(steps / interval); two uint64s cannot overflow uint256 here.
        uint256 checkpoints = (uint256(_t.steps) + _t.checkpointInterval - 1) / _t.checkpointInterval;
        if (checkpoints > type(uint32).max) revert CrowdfundBadTemplate("too many checkpoints");
        if (_goal < checkpoints * _t.numSolvers) revert CrowdfundBadTemplate("goal below one wei per milestone");
        if (_t.joinDeadline <= _deadline) revert CrowdfundBadTemplate("joinDeadline not after deadline");
        if (_t.completionDeadline <= _t.joinDeadline) {
            revert CrowdfundBadTemplate("completionDeadline not after joinDeadline");
        }
        // The JobMarket's rule, checked here so that a campaign whose launch would revert cannot take money.
        if (_t.numOps == 0 ? _t.programTree != 0 || _t.dataTree != 0 : _t.programTree == 0) {
            revert CrowdfundBadTemplate("program incomplete");
        }
    }

    /// @dev The JobMarket parameters for `_c`'s template, paying `_payment` in the campaign's asset.
    function _paramsOf(Campaign storage _c, uint256 _payment)
        internal
        view
        returns (IJobMarket.JobParams memory params_)
    {
        JobTemplate storage t = _c.template;
        params_ = IJobMarket.JobParams({
            specHash: t.specHash,
            steps: t.steps,
            checkpointInterval: t.checkpointInterval,
            numSolvers: t.numSolvers,
            token: _c.token,
            payment: _payment,
            stake: t.stake,
            joinDeadline: t.joinDeadline,
            completionDeadline: t.completionDeadline,
            challengeWindow: t.challengeWindow,
            programTree: t.programTree,
            dataTree: t.dataTree,
            numOps: t.numOps
        });
    }

    /// @dev Job `_jobId`'s milestones in all, and its checkpoints posted and milestones released (credited
    /// to solvers), summed over its solvers as the JobMarket records them.
    function _progressOf(uint256 _jobId, IJobMarket.JobParams memory _params)
        internal
        view
        returns (uint32 total_, uint32 posted_, uint32 released_)
    {
        total_ = MARKET.numCheckpoints(_jobId) * _params.numSolvers;
        address[] memory solvers = MARKET.solversOf(_jobId);
        for (uint256 i; i < solvers.length; ++i) {
            IJobMarket.SolverInfo memory info = MARKET.solverOf(_jobId, solvers[i]);
            posted_ += info.posted;
            released_ += info.released;
        }
    }

    /// @dev Pull exactly `_amount` of `_token` from `_from`; reverts when the balance moves by anything else.
    function _pullExact(IERC20 _token, address _from, uint256 _amount) internal {
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(_from, address(this), _amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received != _amount) revert CrowdfundFeeOnTransfer(address(_token), _amount, received);
    }

    /// @dev Pay `_amount` of the asset `_token` (address(0): ETH) to `_to`.
    function _pay(address _token, address _to, uint256 _amount) internal {
        if (_amount == 0) return;
        if (_token == address(0)) {
            (bool ok,) = payable(_to).call{value: _amount}("");
            if (!ok) revert CrowdfundEtherTransferFailed(_to, _amount);
        } else {
            IERC20(_token).safeTransfer(_to, _amount);
        }
    }

    /// @dev The Crowdfund's balance of the asset `_token` (address(0): ETH).
    function _balanceOf(address _token) internal view returns (uint256 balance_) {
        balance_ = _token == address(0) ? address(this).balance : IERC20(_token).balanceOf(address(this));
    }
}
