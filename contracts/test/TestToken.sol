// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice A plain 18-decimal ERC20 that anyone can mint. Tests only.
contract TestToken is ERC20 {
    /// @notice Semantic version of this contract.
    string public constant version = "1.0.0";

    constructor() ERC20("Test Token", "TEST") {}

    /// @notice Mint `_amount` to `_to`; unrestricted on purpose.
    /// @param _to The receiver.
    /// @param _amount The amount.
    function mint(address _to, uint256 _amount) external {
        _mint(_to, _amount);
    }
}
