// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice A mintable ERC20 whose transfers call back into an armed target with armed calldata, from
/// inside `transfer` / `transferFrom`, after balances moved: the hook a malicious token (or an ERC777-like
/// one) gives an attacker. Tests only.
///
/// The callback's outcome is recorded, not bubbled, so the outer transfer completes and a test can
/// assert that the target refused the re-entry. Each arming fires once.
contract ReentrantToken is ERC20 {
    /// @notice A re-entry was attempted from a transfer.
    /// @param target The contract called.
    /// @param success Whether the re-entrant call succeeded.
    /// @param returnData Its return or revert data.
    event ReentryAttempted(address indexed target, bool success, bytes returnData);

    /// @notice Semantic version of this contract.
    string public constant version = "1.0.0";

    /// @notice The contract to call back into.
    address public target;
    /// @notice The calldata replayed into `target`.
    bytes public payload;
    /// @notice Whether the next transfer triggers a re-entry.
    bool public armed;
    /// @notice How many re-entries were attempted.
    uint256 public attempts;
    /// @notice Whether the last re-entry succeeded.
    bool public lastSucceeded;
    /// @notice Return or revert data of the last re-entry.
    bytes public lastReturnData;

    constructor() ERC20("Reentrant Token", "REENT") {}

    /// @notice Mint `_amount` to `_to`; unrestricted on purpose.
    /// @param _to The receiver.
    /// @param _amount The amount.
    function mint(address _to, uint256 _amount) external {
        _mint(_to, _amount);
    }

    /// @notice Make the next transfer call `_target` with `_payload`.
    /// @param _target The contract to re-enter.
    /// @param _payload The calldata to replay.
    function arm(address _target, bytes calldata _payload) external {
        target = _target;
        payload = _payload;
        armed = true;
    }

    /// @notice Transfer without re-entering.
    function disarm() external {
        armed = false;
    }

    /// @dev After a holder-to-holder transfer (not a mint or burn), fire the armed call once.
    function _update(address _from, address _to, uint256 _value) internal override {
        super._update(_from, _to, _value);
        if (!armed || _from == address(0) || _to == address(0)) return;
        armed = false;
        attempts += 1;
        (bool ok, bytes memory ret) = target.call(payload);
        lastSucceeded = ok;
        lastReturnData = ret;
        emit ReentryAttempted(target, ok, ret);
    }
}
