// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IBatchInbox
/// @notice Where the batcher posts the L2's transaction data on L1, as calldata (docs/rollup.md, "Settlement on
/// L1: contracts"; the frame format is the batcher's).
///
/// Nothing of a batch is stored: the data lives in the calldata of the L1 transaction, and the event lets
/// derivation find those transactions by `eth_getLogs` and check it read the right bytes (`dataHash`, `length`).
///
/// Obligations of an implementation:
/// - `submit` MUST accept data only from BATCHER_ROLE holders, so derivation reads only the chain's batchers.
/// - Every accepted submission MUST emit `BatchSubmitted` with a nonce one above the previous one (from 0).
interface IBatchInbox {
    /// @notice A batch was posted: its frames are the calldata argument of this transaction's `submit` call.
    /// @param batcher Who posted it.
    /// @param nonce Its number among all batches posted here, from 0.
    /// @param dataHash keccak256 of the frames.
    /// @param length The frames' length in bytes.
    event BatchSubmitted(address indexed batcher, uint256 indexed nonce, bytes32 dataHash, uint256 length);

    /// @notice An empty batch was posted.
    error InboxEmptyBatch();

    /// @notice Posts frames of L2 transaction data.
    /// @dev BATCHER_ROLE only.
    /// @param _frames The frames (nonempty).
    function submit(bytes calldata _frames) external;

    /// @notice The nonce the next batch will carry: the number of batches posted so far.
    /// @return The nonce.
    function nextNonce() external view returns (uint256);

    /// @notice The role that may post batches.
    /// @return The role id.
    function BATCHER_ROLE() external view returns (bytes32);
}
