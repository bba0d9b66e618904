// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Types} from "@eth-optimism/contracts-bedrock/src/libraries/Types.sol";

/// @title IL2OutputOracle
/// @notice Output roots of the L2, posted on L1 by bonded proposers: OP Stack Bedrock's L2OutputOracle with
/// bonds and disputes (docs/rollup.md, "Settlement on L1: contracts").
///
/// An output root is OP's `keccak256(abi.encode(version 0, stateRoot, messagePasserStorageRoot, blockHash))`
/// of one L2 block (`Hashing.hashOutputRootProof`). Outputs come every `SUBMISSION_INTERVAL` L2 blocks, in
/// order, each with a bond of exactly `PROPOSER_BOND` wei. An output is *final* once
/// `FINALIZATION_PERIOD_SECONDS` have passed since it was posted, unless it or an earlier output is disputed;
/// the portal releases withdrawals only against final outputs. The dispute role (the output dispute game) marks
/// outputs disputed while it judges them, and deletes a wrong output together with every later one, as OP's
/// challenger does; the deleted output's bond goes to the winner of the dispute, the later ones' bonds back to
/// their proposers. Money leaves only through `claim` (pull payments).
///
/// Obligations of an implementation:
/// - `proposeL2Output` MUST accept only the block `nextBlockNumber()`, only from a PROPOSER_ROLE holder, only
///   with `msg.value == PROPOSER_BOND`, and MUST refuse the zero root. It SHOULD bound the outputs that deleting
///   a disputed output removes, so a dispute can always be resolved within a block's gas.
/// - `isFinalized(i)` MUST be false while output `i` or any earlier output is disputed, for an output that does
///   not exist (never posted or deleted), and until `block.timestamp > timestamp + FINALIZATION_PERIOD_SECONDS`.
/// - A final output MUST NOT be deleted or disputed; deleting or disputing a non-final output MUST always be
///   possible for the dispute role (so a dispute can always be resolved).
/// - Every bond MUST be credited exactly once: to its proposer when the output is final (`withdrawBond`), to the
///   beneficiary when its output is the one deleted, to its proposer when it is deleted as a later output.
/// - The contract's balance MUST equal the bonds of outputs not yet credited plus the credits not yet claimed.
interface IL2OutputOracle {
    // ---------------------------------------------------------------- events

    /// @notice An output was posted (OP's event, unchanged).
    /// @param outputRoot The output root.
    /// @param l2OutputIndex Its index.
    /// @param l2BlockNumber The L2 block it commits to.
    /// @param l1Timestamp The L1 time it was posted at (its `timestamp`).
    event OutputProposed(
        bytes32 indexed outputRoot, uint256 indexed l2OutputIndex, uint256 indexed l2BlockNumber, uint256 l1Timestamp
    );

    /// @notice Outputs `newNextOutputIndex` .. `prevNextOutputIndex - 1` were deleted (OP's event, unchanged).
    /// @param prevNextOutputIndex The output count before the deletion.
    /// @param newNextOutputIndex The output count after it: the index of the output the dispute showed wrong.
    event OutputsDeleted(uint256 indexed prevNextOutputIndex, uint256 indexed newNextOutputIndex);

    /// @notice The dispute role opened (`disputed`) or closed a dispute over output `l2OutputIndex`.
    /// @param l2OutputIndex The output.
    /// @param disputed True when a dispute was opened, false when one was closed in the output's favour.
    /// @param openDisputes The disputes now open over this output.
    event OutputDisputeMarked(uint256 indexed l2OutputIndex, bool disputed, uint256 openDisputes);

    /// @notice The bond of output `l2OutputIndex` was credited to `account`.
    /// @param account Who may claim it.
    /// @param l2OutputIndex The output whose bond it was.
    /// @param amount The bond.
    event BondCredited(address indexed account, uint256 indexed l2OutputIndex, uint256 amount);

    /// @notice `account` claimed its credit.
    /// @param account The payee.
    /// @param amount What was paid.
    event Claimed(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    /// @notice A constructor setting is out of range; `reason` names it.
    error OracleInvalidConfig(string reason);
    /// @notice Output `l2BlockNumber` was posted, block `expected` is next.
    error OracleUnexpectedBlockNumber(uint256 l2BlockNumber, uint256 expected);
    /// @notice The block cannot exist yet: its earliest possible L2 timestamp is not before L1's `now`.
    error OracleOutputInFuture(uint256 l2BlockNumber, uint256 earliestL2Timestamp, uint256 l1Timestamp);
    /// @notice The zero output root was posted.
    error OracleZeroOutputRoot();
    /// @notice `maximum` outputs already stand at or after the first disputed output `firstDisputed`: proposals
    /// wait until its dispute ends, so deleting it (and every later output) always fits in a block.
    error OracleDisputeBacklog(uint256 firstDisputed, uint256 maximum);
    /// @notice msg.value was `sent`; a proposal needs exactly `required`.
    error OracleWrongBond(uint256 sent, uint256 required);
    /// @notice Output `l2OutputIndex` does not exist: `nextOutputIndex` outputs are posted.
    error OracleUnknownOutput(uint256 l2OutputIndex, uint256 nextOutputIndex);
    /// @notice No output has been posted (or every one was deleted).
    error OracleNoOutputs();
    /// @notice Block `l2BlockNumber` is after the latest output's block `latestBlockNumber`.
    error OracleBlockNotProposed(uint256 l2BlockNumber, uint256 latestBlockNumber);
    /// @notice Output `l2OutputIndex` is final: it can no longer be disputed or deleted.
    error OracleOutputFinalized(uint256 l2OutputIndex);
    /// @notice Output `l2OutputIndex` is not final yet, so its bond stays locked.
    error OracleOutputNotFinalized(uint256 l2OutputIndex);
    /// @notice No dispute is open over output `l2OutputIndex`, so none can be closed.
    error OracleOutputNotDisputed(uint256 l2OutputIndex);
    /// @notice `caller` is not `proposer`, the proposer of output `l2OutputIndex`.
    error OracleNotProposer(uint256 l2OutputIndex, address caller, address proposer);
    /// @notice The bond of output `l2OutputIndex` was already credited.
    error OracleBondSettled(uint256 l2OutputIndex);
    /// @notice A deleted output's bond cannot go to address(0).
    error OracleZeroBeneficiary();
    /// @notice `account` has no credit to claim.
    error OracleNothingToClaim(address account);
    /// @notice Paying `amount` to `account` failed (the recipient reverted).
    error OracleTransferFailed(address account, uint256 amount);

    // ---------------------------------------------------------------- proposer

    /// @notice Posts the output root of L2 block `_l2BlockNumber` with a bond of exactly PROPOSER_BOND wei.
    /// @dev PROPOSER_ROLE only. `_l2BlockNumber` MUST be `nextBlockNumber()`.
    /// @param _outputRoot The output root (nonzero).
    /// @param _l2BlockNumber The L2 block it commits to.
    function proposeL2Output(bytes32 _outputRoot, uint256 _l2BlockNumber) external payable;

    /// @notice Credits the bond of final output `_l2OutputIndex` to its proposer (the caller).
    /// @param _l2OutputIndex The output.
    function withdrawBond(uint256 _l2OutputIndex) external;

    /// @notice Pays the caller everything credited to it.
    /// @return amount_ What was paid.
    function claim() external returns (uint256 amount_);

    // ---------------------------------------------------------------- dispute role

    /// @notice Opens (`_disputed` true) or closes (false) one dispute over output `_l2OutputIndex`. Disputes are
    /// counted: the output is disputed while more have been opened than closed, so parallel dispute games over
    /// one output each open and close their own.
    /// @dev DISPUTE_ROLE only. Opening needs a non-final output; closing needs an open dispute.
    /// @param _l2OutputIndex The output.
    /// @param _disputed Open (true) or close (false) a dispute.
    function setDisputed(uint256 _l2OutputIndex, bool _disputed) external;

    /// @notice Deletes output `_l2OutputIndex` and every later one. Its bond is credited to `_beneficiary`, each
    /// later output's bond back to its proposer. Any dispute open over a deleted output ends with it.
    /// @dev DISPUTE_ROLE only; the output MUST NOT be final.
    /// @param _l2OutputIndex The first output to delete.
    /// @param _beneficiary Who is credited the deleted output's bond (the dispute's winner).
    function deleteL2Outputs(uint256 _l2OutputIndex, address _beneficiary) external;

    // ---------------------------------------------------------------- views

    /// @notice Output `_l2OutputIndex` (OP's Types.OutputProposal: root, L1 timestamp posted, L2 block).
    /// @param _l2OutputIndex The output; reverts with OracleUnknownOutput if it does not exist.
    /// @return The output.
    function getL2Output(uint256 _l2OutputIndex) external view returns (Types.OutputProposal memory);

    /// @notice The index of the first output at or after L2 block `_l2BlockNumber` (OP's binary search).
    /// @param _l2BlockNumber An L2 block at or before `latestBlockNumber()`.
    /// @return The output index.
    function getL2OutputIndexAfter(uint256 _l2BlockNumber) external view returns (uint256);

    /// @notice The index of the latest output; reverts with OracleNoOutputs when there is none.
    /// @return The index.
    function latestOutputIndex() external view returns (uint256);

    /// @notice The index the next output will have: the number of outputs posted and not deleted.
    /// @return The index.
    function nextOutputIndex() external view returns (uint256);

    /// @notice The L2 block of the latest output, or `startingBlockNumber()` when there is none.
    /// @return The block number.
    function latestBlockNumber() external view returns (uint256);

    /// @notice The L2 block the next output must commit to: `latestBlockNumber() + SUBMISSION_INTERVAL`.
    /// @return The block number.
    function nextBlockNumber() external view returns (uint256);

    /// @notice The L2 block outputs count from (OP's `startingBlockNumber`); the first output is one interval later.
    /// @return The block number.
    function startingBlockNumber() external view returns (uint256);

    /// @notice The L2 timestamp of `startingBlockNumber()`.
    /// @return Unix seconds.
    function startingTimestamp() external view returns (uint256);

    /// @notice The earliest L2 timestamp block `_l2BlockNumber` can carry: `startingTimestamp() +
    /// (_l2BlockNumber - startingBlockNumber()) * L2_BLOCK_TIME` (OP's `computeL2Timestamp`).
    /// @param _l2BlockNumber An L2 block at or after `startingBlockNumber()`.
    /// @return Unix seconds.
    function computeL2Timestamp(uint256 _l2BlockNumber) external view returns (uint256);

    /// @notice Who posted output `_l2OutputIndex`; reverts with OracleUnknownOutput if it does not exist.
    /// @param _l2OutputIndex The output.
    /// @return The proposer.
    function proposerOf(uint256 _l2OutputIndex) external view returns (address);

    /// @notice Whether output `_l2OutputIndex` exists, is past its finalization period, and neither it nor an
    /// earlier output is disputed.
    /// @param _l2OutputIndex The output.
    /// @return True when final.
    function isFinalized(uint256 _l2OutputIndex) external view returns (bool);

    /// @notice The disputes open over output `_l2OutputIndex` (0 for an output that does not exist).
    /// @param _l2OutputIndex The output.
    /// @return The count.
    function disputesOf(uint256 _l2OutputIndex) external view returns (uint256);

    /// @notice Whether the bond of output `_l2OutputIndex` was credited to its proposer by `withdrawBond`.
    /// @param _l2OutputIndex The output; reverts with OracleUnknownOutput if it does not exist.
    /// @return True once credited.
    function bondSettled(uint256 _l2OutputIndex) external view returns (bool);

    /// @notice What `_account` may claim.
    /// @param _account The account.
    /// @return The credit in wei.
    function credit(address _account) external view returns (uint256);

    /// @notice The number of L2 blocks between two outputs.
    /// @return Blocks.
    function SUBMISSION_INTERVAL() external view returns (uint256);

    /// @notice The least number of seconds between two L2 blocks' timestamps (1 on our L2).
    /// @return Seconds.
    function L2_BLOCK_TIME() external view returns (uint256);

    /// @notice Seconds an undisputed output waits before it is final.
    /// @return Seconds.
    function FINALIZATION_PERIOD_SECONDS() external view returns (uint256);

    /// @notice The bond every output is posted with, in wei.
    /// @return Wei.
    function PROPOSER_BOND() external view returns (uint256);

    /// @notice The role that may post outputs.
    /// @return The role id.
    function PROPOSER_ROLE() external view returns (bytes32);

    /// @notice The role that may dispute and delete outputs (the output dispute game).
    /// @return The role id.
    function DISPUTE_ROLE() external view returns (bytes32);
}
