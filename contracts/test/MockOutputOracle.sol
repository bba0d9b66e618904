// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IOutputDisputeOracle} from "../interfaces/IOutputDisputeOracle.sol";

/// @title MockOutputOracle
/// @notice TEST DOUBLE of the rollup's L2OutputOracle, for OutputDispute's tests only: the calls the game makes
/// (IOutputDisputeOracle) over a plain list of outputs, each with its proposer's bond, and nothing the real
/// oracle adds (proposer role, submission interval, finalization). `deleteL2Outputs` credits the removed
/// output's bond to the beneficiary and every later one's back to its proposer.
contract MockOutputOracle is IOutputDisputeOracle, AccessControl {
    /// @notice The role OutputDispute holds.
    bytes32 public constant DISPUTE_ROLE = keccak256("DISPUTE_ROLE");

    /// @notice There is no output `index`.
    error MockOracleNoOutput(uint256 index);
    /// @notice The output's block is not after the previous one's.
    error MockOracleBadBlock(uint256 l2BlockNumber);

    /// @notice An output was posted.
    event OutputProposed(bytes32 indexed outputRoot, uint256 indexed index, uint256 indexed l2BlockNumber);
    /// @notice Outputs from `index` on were removed.
    event OutputsDeleted(uint256 indexed index, address beneficiary);
    /// @notice Output `index` was marked disputed or released.
    event DisputedSet(uint256 indexed index, bool disputed);

    uint256 internal immutable _STARTING_BLOCK;
    OutputProposal[] internal _outputs;
    address[] internal _proposers;
    uint256[] internal _bonds;

    /// @notice Whether output `index` is disputed.
    mapping(uint256 index => bool) public disputed;
    /// @notice Bond credit per account (the real oracle pays it out).
    mapping(address account => uint256) public bondCredit;

    /// @param _startingBlock The L2 block of the starting output.
    /// @param _admin Gets DEFAULT_ADMIN_ROLE (grants DISPUTE_ROLE).
    constructor(uint256 _startingBlock, address _admin) {
        _STARTING_BLOCK = _startingBlock;
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    /// @notice Post an output for `l2BlockNumber` with msg.value as its bond (anyone: a test double).
    function proposeL2Output(bytes32 _outputRoot, uint256 _l2BlockNumber) external payable {
        uint256 last = _outputs.length == 0 ? _STARTING_BLOCK : _outputs[_outputs.length - 1].l2BlockNumber;
        if (_l2BlockNumber <= last) revert MockOracleBadBlock(_l2BlockNumber);
        emit OutputProposed(_outputRoot, _outputs.length, _l2BlockNumber);
        _outputs.push(OutputProposal(_outputRoot, uint128(block.timestamp), uint128(_l2BlockNumber)));
        _proposers.push(msg.sender);
        _bonds.push(msg.value);
    }

    /// @inheritdoc IOutputDisputeOracle
    function getL2Output(uint256 _index) external view returns (OutputProposal memory) {
        if (_index >= _outputs.length) revert MockOracleNoOutput(_index);
        return _outputs[_index];
    }

    /// @inheritdoc IOutputDisputeOracle
    function proposerOf(uint256 _index) external view returns (address) {
        if (_index >= _outputs.length) revert MockOracleNoOutput(_index);
        return _proposers[_index];
    }

    /// @inheritdoc IOutputDisputeOracle
    function startingBlockNumber() external view returns (uint256) {
        return _STARTING_BLOCK;
    }

    /// @notice The index the next output gets.
    function nextOutputIndex() external view returns (uint256) {
        return _outputs.length;
    }

    /// @inheritdoc IOutputDisputeOracle
    function setDisputed(uint256 _index, bool _disputed) external onlyRole(DISPUTE_ROLE) {
        if (_index >= _outputs.length) revert MockOracleNoOutput(_index);
        disputed[_index] = _disputed;
        emit DisputedSet(_index, _disputed);
    }

    /// @inheritdoc IOutputDisputeOracle
    function deleteL2Outputs(uint256 _index, address _beneficiary) external onlyRole(DISPUTE_ROLE) {
        uint256 n = _outputs.length;
        if (_index >= n) revert MockOracleNoOutput(_index);
        bondCredit[_beneficiary] += _bonds[_index];
        for (uint256 i = n; i > _index; --i) {
            if (i - 1 > _index) bondCredit[_proposers[i - 1]] += _bonds[i - 1];
            disputed[i - 1] = false;
            _outputs.pop();
            _proposers.pop();
            _bonds.pop();
        }
        emit OutputsDeleted(_index, _beneficiary);
    }
}
