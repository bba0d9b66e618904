// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title L2ToL1MessagePasser
/// @notice The L2 predeploy at 0x4200000000000000000000000000000000000016 where L2 -> L1 messages (withdrawals)
/// are recorded. Our own implementation of the OP Stack contract's interface and storage layout, so OP tooling
/// and withdrawal proofs written for it work against our L2 unchanged.
///
/// A withdrawal is proven on L1 with a storage proof of `sentMessages[withdrawalHash]` against this contract's
/// storage root, which the L2 output commits to. That is why `sentMessages` must stay the first storage slot
/// (slot 0): the proof's key is `keccak256(abi.encode(withdrawalHash, uint256(0)))`.
///
/// NOTE: OP's `burn()` is left out. It removes the withdrawn ETH held here from the L2 supply by creating a
/// contract that self-destructs (SELFDESTRUCT is deprecated, and solc warns on it). Without it the withdrawn
/// ETH stays in this contract's balance; nothing here can send it out, so it is locked, only still counted.
contract L2ToL1MessagePasser {
    /// @notice The version of the withdrawal encoding, carried in the top two bytes of every nonce so L1 can
    /// tell message formats apart.
    uint16 public constant MESSAGE_VERSION = 1;

    /// @notice The L1 gas limit given to withdrawals made by sending ETH to this contract: OP's value, enough
    /// for a plain ETH transfer on L1 with room to spare.
    uint256 internal constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;

    /// @notice Every withdrawal hash this contract has recorded. Slot 0: see the contract's notice.
    mapping(bytes32 withdrawalHash => bool) public sentMessages;

    /// @dev The count of withdrawals so far; 240 bits so the version fits above it in a uint256 nonce.
    uint240 internal msgNonce;

    /// @notice Emitted for every withdrawal, with all the fields an L1 relayer needs to prove and finalize it.
    /// @param nonce          The versioned nonce hashed into the withdrawal.
    /// @param sender         The L2 account that initiated the withdrawal.
    /// @param target         The L1 account the message is sent to.
    /// @param value          The ETH sent with the withdrawal, forwarded to `target` on L1.
    /// @param gasLimit       The minimum gas the L1 call to `target` must be given.
    /// @param data           The calldata for `target` on L1.
    /// @param withdrawalHash The hash recorded in `sentMessages`.
    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    /// @notice Withdraws the ETH sent to the sender's own address on L1, so a plain transfer is a withdrawal.
    receive() external payable {
        _initiateWithdrawal(msg.sender, RECEIVE_DEFAULT_GAS_LIMIT, "");
    }

    /// @notice Sends a message (and the ETH attached) from L2 to L1.
    /// @param _target   The L1 address to call.
    /// @param _gasLimit The minimum gas for the call on L1.
    /// @param _data     The calldata for `_target` on L1.
    function initiateWithdrawal(address _target, uint256 _gasLimit, bytes calldata _data) external payable {
        _initiateWithdrawal(_target, _gasLimit, _data);
    }

    /// @notice The nonce the next withdrawal will carry: MESSAGE_VERSION in the top two bytes, the count below.
    function messageNonce() public view returns (uint256) {
        return (uint256(MESSAGE_VERSION) << 240) | uint256(msgNonce);
    }

    /// @dev The withdrawal hash is OP's `Hashing.hashWithdrawal`, so L1 contracts built for OP accept it.
    /// `_data` is in memory because receive() passes an empty message it cannot have in calldata.
    function _initiateWithdrawal(address _target, uint256 _gasLimit, bytes memory _data) internal {
        uint256 nonce = messageNonce();
        bytes32 withdrawalHash = keccak256(abi.encode(nonce, msg.sender, _target, msg.value, _gasLimit, _data));

        sentMessages[withdrawalHash] = true;

        emit MessagePassed(nonce, msg.sender, _target, msg.value, _gasLimit, _data, withdrawalHash);

        unchecked {
            // Cannot overflow in practice: 2**240 withdrawals would each cost gas; OP wraps the same way.
            ++msgNonce;
        }
    }
}
