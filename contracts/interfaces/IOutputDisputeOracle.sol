// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IOutputDisputeOracle
/// @notice What OutputDispute calls on the rollup's output oracle (contracts/rollup/L2OutputOracle.sol), and
/// nothing more. Outputs are numbered from 0; output `i - 1` (or, for output 0, the starting output at
/// `startingBlockNumber()`) is the agreed pre-state of output `i`. OutputDispute holds the oracle's
/// DISPUTE_ROLE.
interface IOutputDisputeOracle {
    /// @notice One posted output, laid out as OP's `Types.OutputProposal` (the same ABI tuple).
    struct OutputProposal {
        bytes32 outputRoot; // keccak256(version 0 ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)
        uint128 timestamp; // L1 time it was posted
        uint128 l2BlockNumber; // the L2 block it is the output of
    }

    /// @notice Output `index` (reverts when there is none).
    function getL2Output(uint256 index) external view returns (OutputProposal memory);

    /// @notice Who posted output `index` (its bond is theirs until a dispute removes the output).
    function proposerOf(uint256 index) external view returns (address);

    /// @notice The L2 block of the starting output, the agreed pre-state of output 0.
    function startingBlockNumber() external view returns (uint256);

    /// @notice Mark output `index` disputed (it cannot finalize while disputed) or release it (DISPUTE_ROLE).
    function setDisputed(uint256 index, bool disputed) external;

    /// @notice Remove output `index` and every later one; output `index`'s bond is credited to `beneficiary`
    /// (DISPUTE_ROLE).
    function deleteL2Outputs(uint256 index, address beneficiary) external;
}
