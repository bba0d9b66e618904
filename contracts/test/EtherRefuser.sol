// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title EtherRefuser
/// @notice A contract user (contributor, requester) that can be switched to refuse ETH, so a test can
/// show that a payment to it fails cleanly and leaves its credit owed. Tests only.
contract EtherRefuser {
    /// @notice The ETH was refused on purpose.
    error EtherRefused();

    /// @notice Whether `receive()` reverts.
    bool public refusing;

    /// @notice Refuse ETH from now on (`true`) or accept it again (`false`).
    /// @param _refusing The new setting.
    function setRefusing(bool _refusing) external {
        refusing = _refusing;
    }

    /// @notice Call `_target` with `_data` and `_value` wei as this contract; bubbles a revert.
    /// @param _target The contract to call.
    /// @param _value Wei to send (from msg.value or this contract's balance).
    /// @param _data The calldata.
    /// @return result_ The call's return data.
    function execute(address _target, uint256 _value, bytes calldata _data)
        external
        payable
        returns (bytes memory result_)
    {
        (bool ok, bytes memory ret) = _target.call{value: _value}(_data);
        if (!ok) {
            // Bubble the callee's revert data unchanged so tests see its custom error.
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        result_ = ret;
    }

    /// @notice Accept ETH unless refusing.
    receive() external payable {
        if (refusing) revert EtherRefused();
    }
}
