// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title L1Block
/// @notice The L2 predeploy at 0x4200000000000000000000000000000000000015 holding the newest L1 block the L2
/// knows of, so L2 contracts can read L1 time, fees and block hashes (to check an L1 fact, or price L1 data).
/// Our own implementation of the OP Stack contract's Bedrock fields, in OP's storage order (number and timestamp
/// share slot 0, then basefee, hash, sequenceNumber and batcherHash in slots 1-4), so tooling that reads them
/// by slot works too.
///
/// The values come from the L1 chain, which L2 code cannot see; so only the protocol may write them: the node
/// makes a deposited transaction from DEPOSITOR_ACCOUNT at the start of each L2 block. Nobody holds that
/// account's key, so no user transaction can come from it.
///
/// NOTE: OP's Bedrock setter also takes the legacy `l1FeeOverhead` and `l1FeeScalar`; ours does not (we price
/// no L1 data fee), so its selector differs from OP's.
contract L1Block {
    /// @notice The system address the node's deposited L1-info transactions come from.
    address public constant DEPOSITOR_ACCOUNT = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;

    /// @notice The newest L1 block number the L2 knows of.
    uint64 public number;

    /// @notice That L1 block's timestamp.
    uint64 public timestamp;

    /// @notice That L1 block's base fee per gas, in wei.
    uint256 public basefee;

    /// @notice That L1 block's hash.
    bytes32 public hash;

    /// @notice How many L2 blocks came before this one with the same L1 block (0 for the first of the epoch).
    uint64 public sequenceNumber;

    /// @notice The versioned hash identifying the batcher allowed to post this L2's data to L1.
    bytes32 public batcherHash;

    /// @notice Emitted when the depositor records a new L1 block (or the next L2 block of the same one).
    event L1BlockValuesSet(
        uint64 indexed number,
        uint64 timestamp,
        uint256 basefee,
        bytes32 hash,
        uint64 sequenceNumber,
        bytes32 batcherHash
    );

    /// @notice A caller other than DEPOSITOR_ACCOUNT tried to set the L1 values.
    error OnlyDepositor();

    /// @notice Records the L1 block the current L2 block builds on. Only DEPOSITOR_ACCOUNT may call it: anyone
    /// else could make L2 contracts believe in an L1 block that does not exist.
    /// @param _number         The L1 block number.
    /// @param _timestamp      The L1 block timestamp.
    /// @param _basefee        The L1 block base fee per gas.
    /// @param _hash           The L1 block hash.
    /// @param _sequenceNumber The L2 block's position within the L1 block's epoch.
    /// @param _batcherHash    The versioned batcher hash.
    function setL1BlockValues(
        uint64 _number,
        uint64 _timestamp,
        uint256 _basefee,
        bytes32 _hash,
        uint64 _sequenceNumber,
        bytes32 _batcherHash
    ) external {
        if (msg.sender != DEPOSITOR_ACCOUNT) revert OnlyDepositor();

        number = _number;
        timestamp = _timestamp;
        basefee = _basefee;
        hash = _hash;
        sequenceNumber = _sequenceNumber;
        batcherHash = _batcherHash;

        emit L1BlockValuesSet(_number, _timestamp, _basefee, _hash, _sequenceNumber, _batcherHash);
    }
}
