// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IBatchInbox} from "../interfaces/IBatchInbox.sol";

/// @title BatchInbox
/// @notice The L1 address where the batcher posts the L2's transaction data as calldata.
///
/// OP Stack's batch inbox is an address without code: derivation reads every L1 transaction sent to it and keeps
/// those signed by the batcher SystemConfig names. Ours is a contract, for two reasons: the batcher set is the
/// holders of BATCHER_ROLE, governed here instead of by a separate config contract, and each batch emits
/// `BatchSubmitted`, so derivation finds batches with `eth_getLogs` on one address instead of scanning every
/// transaction of every L1 block. The data itself is not stored (that would cost 20,000 gas a word): it is the
/// calldata of the `submit` call, available from any L1 node for as long as it keeps history.
///
/// NOTE: A batch submitted through another contract (a multisig, a smart wallet) is still found by its event,
/// but its frames are then in that outer transaction's calldata, not directly in a `submit` call; derivation
/// reads batches from transactions whose `to` is this contract.
contract BatchInbox is IBatchInbox, AccessControl {
    /// @notice Semantic version of this contract.
    string public constant version = "1.0.0";

    /// @inheritdoc IBatchInbox
    bytes32 public constant BATCHER_ROLE = keccak256("BATCHER_ROLE");

    /// @dev The nonce of the next batch.
    uint256 internal _nextNonce;

    /// @param _admin Governance: DEFAULT_ADMIN_ROLE, grants BATCHER_ROLE.
    constructor(address _admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    /// @inheritdoc IBatchInbox
    function submit(bytes calldata _frames) external onlyRole(BATCHER_ROLE) {
        if (_frames.length == 0) revert InboxEmptyBatch();
        uint256 nonce = _nextNonce++;
        emit BatchSubmitted(msg.sender, nonce, keccak256(_frames), _frames.length);
    }

    /// @inheritdoc IBatchInbox
    function nextNonce() external view returns (uint256) {
        return _nextNonce;
    }
}
