// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Hashing} from "@eth-optimism/contracts-bedrock/src/libraries/Hashing.sol";
import {SafeCall} from "@eth-optimism/contracts-bedrock/src/libraries/SafeCall.sol";
import {Types} from "@eth-optimism/contracts-bedrock/src/libraries/Types.sol";
import {SecureMerkleTrie} from "@eth-optimism/contracts-bedrock/src/libraries/trie/SecureMerkleTrie.sol";

import {IL2OutputOracle} from "../interfaces/IL2OutputOracle.sol";
import {IRollupPortal} from "../interfaces/IRollupPortal.sol";

/// @title RollupPortal
/// @notice Deposits into and withdrawals out of the L2, with OP Stack Bedrock's OptimismPortal semantics in our
/// own code: the same deposit event and encoding, address aliasing, withdrawal hash, output root proof, storage
/// proof (OP's SecureMerkleTrie over the L2ToL1MessagePasser's slot-0 mapping), proven-withdrawal record and
/// replay rule, and the same call to the target (OP's SafeCall: at least the withdrawal's gas limit, and a call
/// that fails still finalizes the withdrawal).
///
/// Differences from OP, each for a reason:
/// - Finalization asks the oracle `isFinalized(index)` instead of comparing the output's age with the period
///   itself, so a disputed output (and any output after it) holds back its withdrawals however old it is.
/// - No ResourceMetering: a deposit buys its L2 gas nowhere (OP burns L1 gas in an EIP-1559 market for it);
///   instead one deposit may ask for at most MAX_DEPOSIT_GAS_LIMIT, OP's per-block deposit budget.
/// - A withdrawal whose value exceeds the portal's balance is refused (and can be finalized later) rather than
///   executed as a failed call, which in OP would mark it finalized and lose its value; with an L2 whose ETH all
///   came through deposits it never happens, but our development genesis funds accounts out of nothing.
/// - A failed storage proof is refused with one custom error whatever the library's reason (it reverts with
///   strings on malformed proofs), by checking it in a self-call.
/// - No pause, guardian, proxy or initializer, and reentrancy is closed by OpenZeppelin's guard on every
///   withdrawal entry point, not by `l2Sender`.
///
/// NOTE: The portal trusts the oracle's outputs as far as the oracle calls them final: a final wrong output
/// releases any withdrawal proven against it. What keeps outputs honest is the dispute game behind the oracle.
/// NOTE: Withdrawn ETH is paid from the deposits the portal holds; nothing else funds it.
/// CAUTION: Deposits from contracts arrive on L2 from the aliased address (`sender + 0x1111...1111`); a contract
/// that deposits ETH needs code on L2 at that alias, or a way to move it, to ever use that ETH.
contract RollupPortal is IRollupPortal, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- constants

    /// @notice Semantic version of this contract.
    string public constant version = "1.0.0";

    /// @notice The encoding version of `TransactionDeposited`'s opaque data (OP's DEPOSIT_VERSION).
    uint256 public constant DEPOSIT_VERSION = 0;

    /// @notice The L2 gas limit of a deposit made by sending ETH to the portal (OP's RECEIVE_DEFAULT_GAS_LIMIT).
    uint64 public constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;

    /// @notice The most data a deposit may carry (OP: it keeps a deposit within the L2's 128 KiB transaction cap).
    uint256 public constant MAX_DEPOSIT_DATA_BYTES = 120_000;

    /// @notice The largest L2 gas limit one deposit may ask for (OP's default `maxResourceLimit`, the deposit gas
    /// budget of one L2 block), below our L2's 30,000,000 block gas limit.
    uint64 public constant MAX_DEPOSIT_GAS_LIMIT = 20_000_000;

    /// @notice OP's AddressAliasHelper offset: a contract's L1 address plus this is its sender on L2, so no L1
    /// contract can pass for the L2 account at its own address.
    uint160 public constant ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);

    /// @notice `l2Sender()` outside a withdrawal (OP's Constants.DEFAULT_L2_SENDER).
    address public constant DEFAULT_L2_SENDER = 0x000000000000000000000000000000000000dEaD;

    /// @dev Gas a finalization keeps beyond the target's gas limit between its check and SafeCall's own, so the
    /// refusal is always ours (a custom error) and never SafeCall's string revert.
    uint256 internal constant _CALL_GAS_MARGIN = 1_000;

    /// @dev See `L2_ORACLE()`.
    IL2OutputOracle internal immutable _ORACLE;

    /// @inheritdoc IRollupPortal
    uint256 public immutable PROOF_MATURITY_DELAY_SECONDS;

    // ---------------------------------------------------------------- storage

    /// @inheritdoc IRollupPortal
    mapping(bytes32 withdrawalHash => ProvenWithdrawal) public provenWithdrawals;

    /// @inheritdoc IRollupPortal
    mapping(bytes32 withdrawalHash => bool) public finalizedWithdrawals;

    /// @dev The L2 sender of the withdrawal being executed, for this transaction only; 0 outside one.
    address internal transient _l2Sender;

    // ---------------------------------------------------------------- constructor

    /// @param _oracle The output oracle withdrawals are proven against.
    /// @param _proofMaturityDelaySeconds Seconds between proving and finalizing a withdrawal.
    constructor(IL2OutputOracle _oracle, uint256 _proofMaturityDelaySeconds) {
        _ORACLE = _oracle;
        PROOF_MATURITY_DELAY_SECONDS = _proofMaturityDelaySeconds;
    }

    // ---------------------------------------------------------------- external: deposits

    /// @notice Sending ETH to the portal deposits it to the sender's own L2 address (aliased for a contract),
    /// with RECEIVE_DEFAULT_GAS_LIMIT and no data (OP).
    receive() external payable {
        depositTransaction(msg.sender, msg.value, RECEIVE_DEFAULT_GAS_LIMIT, false, "");
    }

    /// @inheritdoc IRollupPortal
    function depositTransaction(address _to, uint256 _value, uint64 _gasLimit, bool _isCreation, bytes memory _data)
        public
        payable
    {
        // OP's checks, in OP's order.
        if (_isCreation && _to != address(0)) revert PortalCreationWithTarget(_to);
        uint64 minimum = minimumGasLimit(uint64(_data.length));
        if (_gasLimit < minimum) revert PortalGasLimitTooSmall(_gasLimit, minimum);
        if (_data.length > MAX_DEPOSIT_DATA_BYTES) revert PortalDataTooLarge(_data.length, MAX_DEPOSIT_DATA_BYTES);
        if (_gasLimit > MAX_DEPOSIT_GAS_LIMIT) revert PortalGasLimitTooLarge(_gasLimit, MAX_DEPOSIT_GAS_LIMIT);

        // A contract's L2 sender is its alias (OP's rule: any caller that is not the transaction's origin).
        address from = msg.sender;
        if (msg.sender != tx.origin) {
            unchecked {
                // Wraps around 2**160 on purpose, as OP's AddressAliasHelper does.
                from = address(uint160(msg.sender) + ALIAS_OFFSET);
            }
        }

        emit TransactionDeposited(
            from, _to, DEPOSIT_VERSION, abi.encodePacked(msg.value, _value, _gasLimit, _isCreation, _data)
        );
    }

    // ---------------------------------------------------------------- external: withdrawals

    /// @inheritdoc IRollupPortal
    function proveWithdrawal(
        Types.WithdrawalTransaction calldata _tx,
        uint256 _l2OutputIndex,
        Types.OutputRootProof calldata _outputRootProof,
        bytes[] calldata _withdrawalProof
    ) external nonReentrant {
        // INVARIANT: nothing on L2 can make the portal call itself (OP).
        if (_tx.target == address(this)) revert PortalBadTarget(_tx.target);

        // INVARIANT: the proof's storage root is the one inside a posted output root.
        uint256 outputs = _ORACLE.nextOutputIndex();
        if (_l2OutputIndex >= outputs) revert PortalUnknownOutput(_l2OutputIndex, outputs);
        bytes32 outputRoot = _ORACLE.getL2Output(_l2OutputIndex).outputRoot;
        bytes32 computed = Hashing.hashOutputRootProof(_outputRootProof);
        if (computed != outputRoot) revert PortalBadOutputRootProof(_l2OutputIndex, outputRoot, computed);

        // INVARIANT: one live proof per withdrawal; a new one only when the output it was proven against is
        // gone or changed (OP), so nobody can restart someone else's maturity delay.
        bytes32 withdrawalHash = Hashing.hashWithdrawal(_tx);
        ProvenWithdrawal memory proven = provenWithdrawals[withdrawalHash];
        if (proven.timestamp != 0 && _stillHolds(proven)) {
            revert PortalAlreadyProven(withdrawalHash, proven.l2OutputIndex);
        }

        // INVARIANT: the withdrawal was recorded on L2 in that state (OP's storage proof).
        if (!_withdrawalProofHolds(_outputRootProof.messagePasserStorageRoot, withdrawalHash, _withdrawalProof)) {
            revert PortalBadWithdrawalProof(withdrawalHash);
        }

        // SAFETY: block.timestamp and an index below nextOutputIndex fit in 128 bits.
        provenWithdrawals[withdrawalHash] = ProvenWithdrawal({
            outputRoot: outputRoot,
            timestamp: uint128(block.timestamp),
            l2OutputIndex: uint128(_l2OutputIndex)
        });
        emit WithdrawalProven(withdrawalHash, _tx.sender, _tx.target);
    }

    /// @inheritdoc IRollupPortal
    function finalizeWithdrawal(Types.WithdrawalTransaction calldata _tx) external nonReentrant {
        bytes32 withdrawalHash = Hashing.hashWithdrawal(_tx);
        // INVARIANT: each withdrawal executes at most once.
        if (finalizedWithdrawals[withdrawalHash]) revert PortalAlreadyFinalized(withdrawalHash);
        ProvenWithdrawal memory proven = provenWithdrawals[withdrawalHash];
        if (proven.timestamp == 0) revert PortalNotProven(withdrawalHash);
        uint256 maturesAt = uint256(proven.timestamp) + PROOF_MATURITY_DELAY_SECONDS;
        // Strictly after, as OP counts it.
        if (block.timestamp <= maturesAt) revert PortalProofNotMatured(withdrawalHash, maturesAt);
        // INVARIANT: the output proven against is still posted with the same root (not deleted by a dispute,
        // nor replaced by a later proposal at that index) ...
        if (!_stillHolds(proven)) revert PortalOutputRemoved(withdrawalHash, proven.l2OutputIndex);
        // ... and final: past its period and not disputed.
        if (!_ORACLE.isFinalized(proven.l2OutputIndex)) revert PortalOutputNotFinalized(proven.l2OutputIndex);
        // INVARIANT: withdrawals are paid from deposits held here; one that cannot be paid waits (see header).
        if (_tx.value > address(this).balance) revert PortalInsufficientBalance(_tx.value, address(this).balance);

        finalizedWithdrawals[withdrawalHash] = true;
        _l2Sender = _tx.sender;

        bytes memory data = _tx.data;
        // OP's SafeCall rule checked here to refuse with our own error: the target gets at least its gas limit,
        // so a relayer cannot make the call fail (and the withdrawal be lost) by sending too little gas.
        if (!SafeCall.hasMinGas(_tx.gasLimit, _CALL_GAS_MARGIN)) revert PortalInsufficientGas(_tx.gasLimit);
        // A call that fails still finalizes the withdrawal, as in OP: the target had its gas limit, and a retry
        // belongs to contracts built on top (OP's CrossDomainMessenger).
        bool success = SafeCall.callWithMinGas(_tx.target, _tx.gasLimit, _tx.value, data);

        _l2Sender = address(0);
        emit WithdrawalFinalized(withdrawalHash, success);
    }

    /// @inheritdoc IRollupPortal
    function verifyWithdrawalProof(bytes32 _storageRoot, bytes32 _withdrawalHash, bytes[] calldata _proof)
        external
        pure
        returns (bool)
    {
        // The slot of sentMessages[_withdrawalHash] in the message passer: its mapping is storage slot 0.
        bytes32 storageKey = keccak256(abi.encode(_withdrawalHash, uint256(0)));
        return SecureMerkleTrie.verifyInclusionProof(abi.encode(storageKey), hex"01", _proof, _storageRoot);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IRollupPortal
    function minimumGasLimit(uint64 _byteCount) public pure returns (uint64) {
        return _byteCount * 16 + 21_000;
    }

    /// @inheritdoc IRollupPortal
    function l2Sender() external view returns (address) {
        address sender = _l2Sender;
        return sender == address(0) ? DEFAULT_L2_SENDER : sender;
    }

    /// @inheritdoc IRollupPortal
    function L2_ORACLE() external view returns (IL2OutputOracle) {
        return _ORACLE;
    }

    // ---------------------------------------------------------------- internal

    /// @dev Whether the output a withdrawal was proven against is still posted with the root it was proven with.
    function _stillHolds(ProvenWithdrawal memory _proven) internal view returns (bool) {
        if (_proven.l2OutputIndex >= _ORACLE.nextOutputIndex()) return false;
        return _ORACLE.getL2Output(_proven.l2OutputIndex).outputRoot == _proven.outputRoot;
    }

    /// @dev `verifyWithdrawalProof` in a self-call, so that the library's reverts on a malformed or forged proof
    /// (string errors) become a plain "does not hold". A self-call that runs out of gas also reads as false; the
    /// caller's transaction then reverts anyway, changing nothing.
    function _withdrawalProofHolds(bytes32 _storageRoot, bytes32 _withdrawalHash, bytes[] calldata _proof)
        internal
        view
        returns (bool)
    {
        try this.verifyWithdrawalProof(_storageRoot, _withdrawalHash, _proof) returns (bool holds) {
            return holds;
        } catch {
            return false;
        }
    }
}
