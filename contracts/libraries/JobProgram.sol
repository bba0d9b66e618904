// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title JobProgram
/// @notice The rule for a job's on-chain program (IJobMarket.JobParams, ICrowdfund.JobTemplate), stated once:
/// a job says when it is posted whether its disputes are judged on chain (a program tree over its ops, a data
/// tree over its batches, its op count) or by the referee's committee (all three zero); a half-given program is
/// neither. JobMarket checks it at posting and Crowdfund at campaign creation, so that a campaign whose launch
/// would revert cannot take anyone's money.
library JobProgram {
    /// @notice Whether (`_programTree`, `_dataTree`, `_numOps`) is a whole program or none at all.
    function wellFormed(bytes32 _programTree, bytes32 _dataTree, uint32 _numOps) internal pure returns (bool) {
        return _numOps == 0 ? _programTree == 0 && _dataTree == 0 : _programTree != 0;
    }
}
