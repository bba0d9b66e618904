// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeToken
/// @notice An ERC20 that burns a 1% fee on every transfer, so the receiver gets 99% of the amount
/// sent. Contracts that book the amount instead of the balance delta lose track of funds; escrows
/// must reject it. Tests only.
contract FeeToken is ERC20 {
    /// @notice Semantic version of this contract.
    string public constant version = "1.0.0";

    /// @notice The fee in basis points.
    uint256 public constant FEE_BPS = 100;

    constructor() ERC20("Fee Token", "FEE") {}

    /// @notice Mint `_amount` to `_to`; unrestricted on purpose.
    /// @param _to The receiver.
    /// @param _amount The amount.
    function mint(address _to, uint256 _amount) external {
        _mint(_to, _amount);
    }

    /// @dev Transfers between two holders deliver `_value - fee` and burn the fee; mints and burns are exact.
    function _update(address _from, address _to, uint256 _value) internal override {
        if (_from == address(0) || _to == address(0)) {
            super._update(_from, _to, _value);
            return;
        }
        uint256 fee = _value * FEE_BPS / 10_000;
        super._update(_from, address(0), fee);
        super._update(_from, _to, _value - fee);
    }
}
