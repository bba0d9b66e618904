// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title JobMarketLens
/// @notice Reads a market's asset balance, one job's escrow and many accounts' credits in one eth_call,
/// so invariant checks in property tests cost one call instead of one per account. Tests only.
contract JobMarketLens {
    /// @notice The market's balance of `_token` (ETH when address(0)), `_jobId`'s escrow and each account's credit.
    /// @param _market The market.
    /// @param _token The asset to report the market's balance of.
    /// @param _jobId The job.
    /// @param _accounts The accounts whose credits to read.
    /// @return balance_ The market's balance of the asset.
    /// @return escrow_ `escrowOf(_jobId)`.
    /// @return owed_ `owed(_jobId, account)` for each account, in order.
    function holdings(IJobMarket _market, address _token, uint256 _jobId, address[] calldata _accounts)
        external
        view
        returns (uint256 balance_, uint256 escrow_, uint256[] memory owed_)
    {
        balance_ = _token == address(0) ? address(_market).balance : IERC20(_token).balanceOf(address(_market));
        escrow_ = _market.escrowOf(_jobId);
        owed_ = new uint256[](_accounts.length);
        for (uint256 i = 0; i < _accounts.length; ++i) {
            owed_[i] = _market.owed(_jobId, _accounts[i]);
        }
    }
}
