// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Types} from "@eth-optimism/contracts-bedrock/src/libraries/Types.sol";

import {IL2OutputOracle} from "../interfaces/IL2OutputOracle.sol";

/// @title L2OutputOracle
/// @notice The L2's output roots on L1, every `SUBMISSION_INTERVAL` L2 blocks, each posted by a PROPOSER_ROLE
/// holder with a bond of `PROPOSER_BOND` wei and final `FINALIZATION_PERIOD_SECONDS` later unless disputed.
///
/// OP Stack Bedrock's L2OutputOracle (its storage of `Types.OutputProposal`s, its `OutputProposed` and
/// `OutputsDeleted` events, its view functions and its checks on a proposal) with three changes, each because
/// Bedrock trusted one proposer and one challenger where we let a set of bonded proposers and a dispute game act:
/// - a proposal carries a bond, so a wrong output costs its proposer (Bedrock's proposer was trusted, unbonded);
/// - the dispute role marks an output disputed for as long as a dispute game judges it; a disputed output, and
///   every output after it, is not final whatever its age, so a game slower than the finalization period cannot
///   be outrun by the withdrawals it is meant to stop (Bedrock's challenger had to delete within the period);
/// - `deleteL2Outputs` names who receives the deleted output's bond (the dispute's winner); the later outputs,
///   deleted with it as in Bedrock because each was posted on top of it, get their bonds back.
///
/// Accounting: the balance is `PROPOSER_BOND` for every output whose bond is not yet credited, plus the credits
/// not yet claimed. Bonds move only into credits (`withdrawBond`, `deleteL2Outputs`), credits only out through
/// `claim`.
///
/// NOTE: The "output in the future" check is OP's, with `L2_BLOCK_TIME` read as the *least* spacing of L2 block
/// timestamps (our sequencer gives each block at least one second more than its parent, and blocks may come
/// slower). It refuses only block numbers whose timestamp cannot yet have been reached, never a real block.
/// NOTE: Outputs are not checked here beyond their order and bond; what makes a wrong output removable is the
/// dispute game holding DISPUTE_ROLE. Whoever holds DEFAULT_ADMIN_ROLE appoints proposers and that game.
/// NOTE: While an output is disputed, at most MAX_OUTPUTS_PAST_DISPUTE outputs may stand at or after it; further
/// proposals are refused until the dispute ends, so its resolution always fits in a block.
/// CAUTION: A dispute opened with `setDisputed(i, true)` must be closed with `setDisputed(i, false)` or by
/// deleting the output; until then output `i` and all later outputs stay non-final.
contract L2OutputOracle is IL2OutputOracle, AccessControl, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- types

    /// @dev What the oracle keeps beside each OP output proposal (same index as `_outputs`).
    struct OutputRecord {
        address proposer; // who posted it and paid its bond
        uint32 disputes; // disputes open over it
        bool bondSettled; // its bond was credited to the proposer after finalization
    }

    // ---------------------------------------------------------------- constants

    /// @notice Semantic version of this contract.
    string public constant version = "1.0.0";

    /// @inheritdoc IL2OutputOracle
    bytes32 public constant PROPOSER_ROLE = keccak256("PROPOSER_ROLE");

    /// @inheritdoc IL2OutputOracle
    bytes32 public constant DISPUTE_ROLE = keccak256("DISPUTE_ROLE");

    /// @notice The most outputs that may stand at or after the first disputed one. Deleting an output deletes every
    /// later one in a loop (about 15,000-35,000 gas each); without a bound, proposals made during a long dispute
    /// could make its resolution too big for a block, and the dispute could never end.
    uint256 public constant MAX_OUTPUTS_PAST_DISPUTE = 128;

    /// @dev `_firstDisputed` when no output is disputed.
    uint256 internal constant _NONE = type(uint256).max;

    /// @inheritdoc IL2OutputOracle
    uint256 public immutable SUBMISSION_INTERVAL;

    /// @inheritdoc IL2OutputOracle
    uint256 public immutable L2_BLOCK_TIME;

    /// @inheritdoc IL2OutputOracle
    uint256 public immutable FINALIZATION_PERIOD_SECONDS;

    /// @inheritdoc IL2OutputOracle
    uint256 public immutable PROPOSER_BOND;

    /// @dev See `startingBlockNumber()`.
    uint256 internal immutable _STARTING_BLOCK_NUMBER;

    /// @dev See `startingTimestamp()`.
    uint256 internal immutable _STARTING_TIMESTAMP;

    // ---------------------------------------------------------------- storage

    /// @dev The outputs in order, as OP stores them.
    Types.OutputProposal[] internal _outputs;

    /// @dev Proposer, open disputes and bond state of each output, same index as `_outputs`.
    OutputRecord[] internal _records;

    /// @dev The lowest index with an open dispute, or _NONE. Every output at or after it is non-final.
    uint256 internal _firstDisputed = _NONE;

    /// @dev What each account may claim.
    mapping(address account => uint256 amount) internal _credits;

    // ---------------------------------------------------------------- constructor

    /// @param _submissionInterval L2 blocks between two outputs (> 0).
    /// @param _l2BlockTime The least seconds between two L2 blocks' timestamps (> 0; 1 on our L2).
    /// @param _startingBlockNumber The L2 block outputs count from (the first output is one interval later;
    /// below 2**64, so every output's block number fits OP's uint128 field).
    /// @param _startingTimestamp The L2 timestamp of `_startingBlockNumber` (not after L1's now).
    /// @param _finalizationPeriodSeconds Seconds before an undisputed output is final.
    /// @param _proposerBond Wei every output is posted with (may be 0).
    /// @param _admin Governance: DEFAULT_ADMIN_ROLE, grants PROPOSER_ROLE and DISPUTE_ROLE.
    constructor(
        uint256 _submissionInterval,
        uint256 _l2BlockTime,
        uint256 _startingBlockNumber,
        uint256 _startingTimestamp,
        uint256 _finalizationPeriodSeconds,
        uint256 _proposerBond,
        address _admin
    ) {
        if (_submissionInterval == 0) revert OracleInvalidConfig("submission interval is 0");
        if (_l2BlockTime == 0) revert OracleInvalidConfig("L2 block time is 0");
        if (_startingBlockNumber > type(uint64).max) revert OracleInvalidConfig("starting block above 2**64");
        if (_startingTimestamp > block.timestamp) revert OracleInvalidConfig("starting timestamp in the future");
        if (_admin == address(0)) revert OracleInvalidConfig("admin is address(0)");
        SUBMISSION_INTERVAL = _submissionInterval;
        L2_BLOCK_TIME = _l2BlockTime;
        _STARTING_BLOCK_NUMBER = _startingBlockNumber;
        _STARTING_TIMESTAMP = _startingTimestamp;
        FINALIZATION_PERIOD_SECONDS = _finalizationPeriodSeconds;
        PROPOSER_BOND = _proposerBond;
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
    }

    // ---------------------------------------------------------------- external: proposer

    /// @inheritdoc IL2OutputOracle
    function proposeL2Output(bytes32 _outputRoot, uint256 _l2BlockNumber) external payable onlyRole(PROPOSER_ROLE) {
        // INVARIANT: outputs come in order, one every SUBMISSION_INTERVAL blocks (OP).
        uint256 expected = nextBlockNumber();
        if (_l2BlockNumber != expected) revert OracleUnexpectedBlockNumber(_l2BlockNumber, expected);
        // INVARIANT: no output for a block that cannot exist yet (OP's check, L2_BLOCK_TIME a lower bound).
        uint256 earliest = computeL2Timestamp(_l2BlockNumber);
        if (earliest >= block.timestamp) revert OracleOutputInFuture(_l2BlockNumber, earliest, block.timestamp);
        if (_outputRoot == bytes32(0)) revert OracleZeroOutputRoot();
        uint256 index = _outputs.length;
        // INVARIANT: deleting a disputed output removes at most MAX_OUTPUTS_PAST_DISPUTE outputs.
        uint256 first = _firstDisputed;
        if (first != _NONE && index - first >= MAX_OUTPUTS_PAST_DISPUTE) {
            revert OracleDisputeBacklog(first, MAX_OUTPUTS_PAST_DISPUTE);
        }
        // INVARIANT: every output holds exactly one bond.
        if (msg.value != PROPOSER_BOND) revert OracleWrongBond(msg.value, PROPOSER_BOND);

        // SAFETY: both casts are exact. block.timestamp is far below 2**128; the block number is below
        // _STARTING_BLOCK_NUMBER (< 2**64, constructor) + block.timestamp, since the check above gives
        // (_l2BlockNumber - _STARTING_BLOCK_NUMBER) * L2_BLOCK_TIME < block.timestamp with L2_BLOCK_TIME >= 1.
        _outputs.push(
            Types.OutputProposal({
                outputRoot: _outputRoot,
                timestamp: uint128(block.timestamp),
                l2BlockNumber: uint128(_l2BlockNumber)
            })
        );
        _records.push(OutputRecord({proposer: msg.sender, disputes: 0, bondSettled: false}));
        emit OutputProposed(_outputRoot, index, _l2BlockNumber, block.timestamp);
    }

    /// @inheritdoc IL2OutputOracle
    function withdrawBond(uint256 _l2OutputIndex) external {
        OutputRecord storage record = _record(_l2OutputIndex);
        if (msg.sender != record.proposer) revert OracleNotProposer(_l2OutputIndex, msg.sender, record.proposer);
        if (!isFinalized(_l2OutputIndex)) revert OracleOutputNotFinalized(_l2OutputIndex);
        // INVARIANT: a bond is credited once.
        if (record.bondSettled) revert OracleBondSettled(_l2OutputIndex);

        record.bondSettled = true;
        _credits[msg.sender] += PROPOSER_BOND;
        emit BondCredited(msg.sender, _l2OutputIndex, PROPOSER_BOND);
    }

    /// @inheritdoc IL2OutputOracle
    function claim() external nonReentrant returns (uint256 amount_) {
        amount_ = _credits[msg.sender];
        if (amount_ == 0) revert OracleNothingToClaim(msg.sender);

        // Zero the credit before paying it: a re-entrant payee finds nothing left.
        _credits[msg.sender] = 0;
        emit Claimed(msg.sender, amount_);

        (bool ok,) = msg.sender.call{value: amount_}("");
        if (!ok) revert OracleTransferFailed(msg.sender, amount_);
    }

    // ---------------------------------------------------------------- external: dispute role

    /// @inheritdoc IL2OutputOracle
    function setDisputed(uint256 _l2OutputIndex, bool _disputed) external onlyRole(DISPUTE_ROLE) {
        OutputRecord storage record = _record(_l2OutputIndex);
        uint32 disputes = record.disputes;
        if (_disputed) {
            // INVARIANT: a final output stays final (withdrawals may already have left against it).
            if (isFinalized(_l2OutputIndex)) revert OracleOutputFinalized(_l2OutputIndex);
            ++disputes;
            if (_l2OutputIndex < _firstDisputed) _firstDisputed = _l2OutputIndex;
        } else {
            if (disputes == 0) revert OracleOutputNotDisputed(_l2OutputIndex);
            --disputes;
            if (disputes == 0 && _l2OutputIndex == _firstDisputed) _firstDisputed = _nextDisputed(_l2OutputIndex + 1);
        }
        record.disputes = disputes;
        emit OutputDisputeMarked(_l2OutputIndex, _disputed, disputes);
    }

    /// @inheritdoc IL2OutputOracle
    function deleteL2Outputs(uint256 _l2OutputIndex, address _beneficiary) external onlyRole(DISPUTE_ROLE) {
        uint256 count = _outputs.length;
        if (_l2OutputIndex >= count) revert OracleUnknownOutput(_l2OutputIndex, count);
        // INVARIANT: a final output is never deleted (OP). Every later output is then non-final too: either this
        // one is disputed (so all later ones are), or its period is running, and later ones were posted later.
        if (isFinalized(_l2OutputIndex)) revert OracleOutputFinalized(_l2OutputIndex);
        if (_beneficiary == address(0)) revert OracleZeroBeneficiary();

        for (uint256 i = count; i > _l2OutputIndex;) {
            unchecked {
                --i; // i > _l2OutputIndex >= 0 before the decrement
            }
            OutputRecord memory record = _records[i];
            // SAFETY: no deleted output is final (above), so no deleted bond was settled; the check only keeps
            // a bond from ever being credited twice.
            if (!record.bondSettled) {
                address to = i == _l2OutputIndex ? _beneficiary : record.proposer;
                _credits[to] += PROPOSER_BOND;
                emit BondCredited(to, i, PROPOSER_BOND);
            }
            _records.pop();
            _outputs.pop();
        }
        // Disputes over deleted outputs end with them; those over earlier outputs stay.
        if (_firstDisputed >= _l2OutputIndex) _firstDisputed = _NONE;
        emit OutputsDeleted(count, _l2OutputIndex);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IL2OutputOracle
    function getL2Output(uint256 _l2OutputIndex) external view returns (Types.OutputProposal memory) {
        _record(_l2OutputIndex);
        return _outputs[_l2OutputIndex];
    }

    /// @inheritdoc IL2OutputOracle
    function getL2OutputIndexAfter(uint256 _l2BlockNumber) external view returns (uint256) {
        uint256 hi = _outputs.length;
        if (hi == 0) revert OracleNoOutputs();
        uint256 latest = latestBlockNumber();
        if (_l2BlockNumber > latest) revert OracleBlockNotProposed(_l2BlockNumber, latest);
        uint256 lo = 0;
        // OP's binary search: the first output whose block is at or after _l2BlockNumber (one exists).
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_outputs[mid].l2BlockNumber < _l2BlockNumber) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// @inheritdoc IL2OutputOracle
    function latestOutputIndex() external view returns (uint256) {
        uint256 count = _outputs.length;
        if (count == 0) revert OracleNoOutputs();
        return count - 1;
    }

    /// @inheritdoc IL2OutputOracle
    function nextOutputIndex() external view returns (uint256) {
        return _outputs.length;
    }

    /// @inheritdoc IL2OutputOracle
    function latestBlockNumber() public view returns (uint256) {
        uint256 count = _outputs.length;
        return count == 0 ? _STARTING_BLOCK_NUMBER : _outputs[count - 1].l2BlockNumber;
    }

    /// @inheritdoc IL2OutputOracle
    function nextBlockNumber() public view returns (uint256) {
        return latestBlockNumber() + SUBMISSION_INTERVAL;
    }

    /// @inheritdoc IL2OutputOracle
    function startingBlockNumber() external view returns (uint256) {
        return _STARTING_BLOCK_NUMBER;
    }

    /// @inheritdoc IL2OutputOracle
    function startingTimestamp() external view returns (uint256) {
        return _STARTING_TIMESTAMP;
    }

    /// @inheritdoc IL2OutputOracle
    function computeL2Timestamp(uint256 _l2BlockNumber) public view returns (uint256) {
        return _STARTING_TIMESTAMP + (_l2BlockNumber - _STARTING_BLOCK_NUMBER) * L2_BLOCK_TIME;
    }

    /// @inheritdoc IL2OutputOracle
    function proposerOf(uint256 _l2OutputIndex) external view returns (address) {
        return _record(_l2OutputIndex).proposer;
    }

    /// @inheritdoc IL2OutputOracle
    function isFinalized(uint256 _l2OutputIndex) public view returns (bool) {
        if (_l2OutputIndex >= _outputs.length || _l2OutputIndex >= _firstDisputed) return false;
        // Strictly after the period, as OP's portal (`_isFinalizationPeriodElapsed`) counts it.
        return block.timestamp > _outputs[_l2OutputIndex].timestamp + FINALIZATION_PERIOD_SECONDS;
    }

    /// @inheritdoc IL2OutputOracle
    function disputesOf(uint256 _l2OutputIndex) external view returns (uint256) {
        return _l2OutputIndex < _records.length ? _records[_l2OutputIndex].disputes : 0;
    }

    /// @inheritdoc IL2OutputOracle
    function bondSettled(uint256 _l2OutputIndex) external view returns (bool) {
        return _record(_l2OutputIndex).bondSettled;
    }

    /// @inheritdoc IL2OutputOracle
    function credit(address _account) external view returns (uint256) {
        return _credits[_account];
    }

    // ---------------------------------------------------------------- internal

    /// @dev The record of an existing output; reverts with OracleUnknownOutput otherwise.
    function _record(uint256 _l2OutputIndex) internal view returns (OutputRecord storage) {
        uint256 count = _records.length;
        if (_l2OutputIndex >= count) revert OracleUnknownOutput(_l2OutputIndex, count);
        return _records[_l2OutputIndex];
    }

    /// @dev The lowest index at or after `_from` with an open dispute, or _NONE. Scans only outputs after the
    /// dispute just closed, all of them non-final (posted within a finalization period plus the dispute's time).
    function _nextDisputed(uint256 _from) internal view returns (uint256) {
        uint256 count = _records.length;
        for (uint256 i = _from; i < count; ++i) {
            if (_records[i].disputes != 0) return i;
        }
        return _NONE;
    }
}
