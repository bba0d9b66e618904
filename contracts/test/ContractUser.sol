// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ContractUser
/// @notice A contract account for tests: it acts as a user (requester, solver, funder, challenger) through
/// `execute`, and its `receive()` can misbehave in the two ways a contract user can while ETH is paid to it:
/// refuse the ETH (`setRefusing`), so a test shows the payment fails cleanly and leaves the credit owed, or
/// replay an armed call into a target (`arm`), e.g. `withdraw`, `claim` or `cancelJob` of the contract that is
/// paying. Tests only.
///
/// The re-entrant call's outcome is recorded (`lastSucceeded`, `lastReturnData`, an event) instead of
/// bubbled, so the outer payment completes and a test can assert that the guard refused the re-entry
/// and that the attacker got nothing extra. Each arming fires once, so a successful re-entry cannot
/// recurse without bound.
contract ContractUser {
    /// @notice The ETH was refused on purpose.
    error EtherRefused();

    /// @notice A re-entry was attempted from `receive()`.
    /// @param target The contract called.
    /// @param success Whether the re-entrant call succeeded.
    /// @param returnData Its return or revert data.
    event ReentryAttempted(address indexed target, bool success, bytes returnData);

    /// @notice The contract to call back into.
    address public target;
    /// @notice The calldata replayed into `target`.
    bytes public payload;
    /// @notice Whether the next ETH receipt triggers a re-entry.
    bool public armed;
    /// @notice How many re-entries were attempted.
    uint256 public attempts;
    /// @notice Whether the last re-entry succeeded.
    bool public lastSucceeded;
    /// @notice Return or revert data of the last re-entry.
    bytes public lastReturnData;
    /// @notice Whether `receive()` reverts.
    bool public refusing;

    /// @notice Refuse ETH from now on (`true`) or accept it again (`false`).
    /// @param _refusing The new setting.
    function setRefusing(bool _refusing) external {
        refusing = _refusing;
    }

    /// @notice Make the next ETH receipt call `_target` with `_payload`.
    /// @param _target The contract to re-enter.
    /// @param _payload The calldata to replay.
    function arm(address _target, bytes calldata _payload) external {
        target = _target;
        payload = _payload;
        armed = true;
    }

    /// @notice Receive ETH without re-entering.
    function disarm() external {
        armed = false;
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

    /// @notice Refuse ETH when refusing; otherwise accept it and, when armed, re-enter `target` once with
    /// `payload` and record the outcome.
    receive() external payable {
        if (refusing) revert EtherRefused();
        if (!armed) return;
        armed = false;
        attempts += 1;
        (bool ok, bytes memory ret) = target.call(payload);
        lastSucceeded = ok;
        lastReturnData = ret;
        emit ReentryAttempted(target, ok, ret);
    }
}
