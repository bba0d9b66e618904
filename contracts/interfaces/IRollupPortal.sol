// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Types} from "@eth-optimism/contracts-bedrock/src/libraries/Types.sol";

import {IL2OutputOracle} from "./IL2OutputOracle.sol";

/// @title IRollupPortal
/// @notice The L1 door of the L2: deposits (L1 -> L2 transactions, with ETH) and withdrawals (L2 -> L1
/// messages, proven against an output root and executed after a delay). OP Stack Bedrock's OptimismPortal
/// semantics (docs/rollup.md, "Settlement on L1: contracts").
///
/// A deposit is only an event here, OP's `TransactionDeposited` with version 0 and
/// `opaqueData = abi.encodePacked(mint, value, gasLimit, isCreation, data)`; the L2's derivation turns it into a
/// deposit transaction. The ETH sent (`mint`) stays in the portal and is minted on L2; it backs withdrawals.
/// A withdrawal is OP's `Types.WithdrawalTransaction`, recorded on L2 by the L2ToL1MessagePasser predeploy
/// (`sentMessages[Hashing.hashWithdrawal(tx)] = true`, slot 0). It is proven with OP's output root proof and a
/// storage proof of that slot (`eth_getProof`), then finalized once the proof has matured and the output it was
/// proven against is final and unchanged.
///
/// Obligations of an implementation:
/// - `depositTransaction` MUST emit exactly OP's event and encoding, MUST alias a contract sender by OP's
///   AddressAliasHelper rule, and MUST refuse what OP refuses (creation to a nonzero address, a gas limit under
///   `minimumGasLimit`, data over 120,000 bytes).
/// - `proveWithdrawal` MUST accept only a withdrawal whose hash is set in the message passer's storage under the
///   storage root of an output root proof whose hash is the oracle's output root at the index given.
/// - `finalizeWithdrawal` MUST execute each withdrawal at most once, only after PROOF_MATURITY_DELAY_SECONDS
///   since it was proven, only while the oracle's output at the proven index still has the proven root and is
///   final, with at least the withdrawal's gas limit; a call that fails still finalizes it (OP).
interface IRollupPortal {
    /// @notice A withdrawal's proof as recorded (OP's `ProvenWithdrawal`).
    struct ProvenWithdrawal {
        bytes32 outputRoot; // the output root it was proven against
        uint128 timestamp; // L1 time it was proven at; 0 when never proven
        uint128 l2OutputIndex; // the oracle index of that output
    }

    // ---------------------------------------------------------------- events

    /// @notice A deposit: an L1 -> L2 transaction for the L2's derivation (OP's event, unchanged).
    /// @param from The L2 sender: the L1 sender, aliased when it is a contract.
    /// @param to The L2 recipient (address(0) for a creation).
    /// @param version The encoding of `opaqueData`: 0.
    /// @param opaqueData `abi.encodePacked(uint256 mint, uint256 value, uint64 gasLimit, bool isCreation, bytes
    /// data)`.
    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);

    /// @notice A withdrawal was proven (OP's event, unchanged).
    /// @param withdrawalHash `Hashing.hashWithdrawal` of the withdrawal.
    /// @param from Its L2 sender.
    /// @param to Its L1 target.
    event WithdrawalProven(bytes32 indexed withdrawalHash, address indexed from, address indexed to);

    /// @notice A withdrawal was finalized: its call was made (OP's event, unchanged).
    /// @param withdrawalHash `Hashing.hashWithdrawal` of the withdrawal.
    /// @param success Whether the call succeeded; it is final either way.
    event WithdrawalFinalized(bytes32 indexed withdrawalHash, bool success);

    // ---------------------------------------------------------------- errors

    /// @notice A creation deposit must have `to == address(0)`.
    error PortalCreationWithTarget(address to);
    /// @notice The deposit's gas limit is under `minimum` (21,000 + 16 per data byte, OP's rule).
    error PortalGasLimitTooSmall(uint64 gasLimit, uint64 minimum);
    /// @notice The deposit's gas limit is over `maximum` (one deposit may not take more than an OP block's
    /// deposit budget).
    error PortalGasLimitTooLarge(uint64 gasLimit, uint64 maximum);
    /// @notice The deposit's data is `length` bytes, more than `maximum` (OP's 120,000).
    error PortalDataTooLarge(uint256 length, uint256 maximum);
    /// @notice A withdrawal may not call the portal itself (OP).
    error PortalBadTarget(address target);
    /// @notice Output `l2OutputIndex` does not exist in the oracle (`nextOutputIndex` outputs are posted).
    error PortalUnknownOutput(uint256 l2OutputIndex, uint256 nextOutputIndex);
    /// @notice The output root proof hashes to `computed`, not output `l2OutputIndex`'s root `outputRoot`.
    error PortalBadOutputRootProof(uint256 l2OutputIndex, bytes32 outputRoot, bytes32 computed);
    /// @notice The storage proof does not show `withdrawalHash` in the message passer under the proof's storage
    /// root (a wrong, malformed or forged proof, or a withdrawal never made).
    error PortalBadWithdrawalProof(bytes32 withdrawalHash);
    /// @notice The withdrawal is already proven against output `l2OutputIndex`, which still holds that root; a
    /// second proof would only restart its maturity delay.
    error PortalAlreadyProven(bytes32 withdrawalHash, uint256 l2OutputIndex);
    /// @notice The withdrawal was never proven.
    error PortalNotProven(bytes32 withdrawalHash);
    /// @notice The proof matures after L1 time `maturesAt` (proven + PROOF_MATURITY_DELAY_SECONDS).
    error PortalProofNotMatured(bytes32 withdrawalHash, uint256 maturesAt);
    /// @notice Output `l2OutputIndex` the withdrawal was proven against was deleted (or replaced by another
    /// root): prove it again against a current output.
    error PortalOutputRemoved(bytes32 withdrawalHash, uint256 l2OutputIndex);
    /// @notice Output `l2OutputIndex` is not final (its period is running, or it or an earlier one is disputed).
    error PortalOutputNotFinalized(uint256 l2OutputIndex);
    /// @notice The withdrawal was already finalized.
    error PortalAlreadyFinalized(bytes32 withdrawalHash);
    /// @notice The portal holds `balance` wei, less than the withdrawal's `value`.
    error PortalInsufficientBalance(uint256 value, uint256 balance);
    /// @notice Too little gas is left to give the call its gas limit `gasLimit` (OP's SafeCall rule); a relayer
    /// cannot make a withdrawal fail by sending too little gas.
    error PortalInsufficientGas(uint256 gasLimit);

    // ---------------------------------------------------------------- deposits

    /// @notice Deposits an L1 -> L2 transaction, with the ETH sent minted to its sender on L2.
    /// @param _to The L2 recipient (address(0) for a creation).
    /// @param _value The ETH the L2 transaction sends to `_to`, from the sender's L2 balance (mint included).
    /// @param _gasLimit The L2 gas limit, at least `minimumGasLimit(_data.length)`.
    /// @param _isCreation Whether the L2 transaction creates a contract with `_data` as its init code.
    /// @param _data The L2 calldata (or init code).
    function depositTransaction(address _to, uint256 _value, uint64 _gasLimit, bool _isCreation, bytes memory _data)
        external
        payable;

    /// @notice The least gas limit a deposit with `_byteCount` bytes of data may ask for: 21,000 + 16 a byte (OP).
    /// @param _byteCount The data's length.
    /// @return The gas.
    function minimumGasLimit(uint64 _byteCount) external pure returns (uint64);

    // ---------------------------------------------------------------- withdrawals

    /// @notice Proves that withdrawal `_tx` was recorded on L2 in the state of output `_l2OutputIndex`.
    /// @param _tx The withdrawal, as the message passer's `MessagePassed` event gave it.
    /// @param _l2OutputIndex The oracle output to prove against.
    /// @param _outputRootProof The preimage of that output root (version 0, state root, message passer storage
    /// root, block hash).
    /// @param _withdrawalProof The storage proof of `sentMessages[hash]` (eth_getProof's `storageProof[0].proof`).
    function proveWithdrawal(
        Types.WithdrawalTransaction calldata _tx,
        uint256 _l2OutputIndex,
        Types.OutputRootProof calldata _outputRootProof,
        bytes[] calldata _withdrawalProof
    ) external;

    /// @notice Executes a proven withdrawal: calls its target with its value, data and at least its gas limit.
    /// @param _tx The withdrawal.
    function finalizeWithdrawal(Types.WithdrawalTransaction calldata _tx) external;

    /// @notice Whether `_proof` shows `sentMessages[_withdrawalHash] == true` in a message passer with storage
    /// root `_storageRoot` (OP's SecureMerkleTrie). Reverts, as OP's library does, on a malformed proof.
    /// @param _storageRoot The message passer's storage root.
    /// @param _withdrawalHash The withdrawal hash.
    /// @param _proof The storage proof.
    /// @return True when the proof holds.
    function verifyWithdrawalProof(bytes32 _storageRoot, bytes32 _withdrawalHash, bytes[] calldata _proof)
        external
        pure
        returns (bool);

    // ---------------------------------------------------------------- views

    /// @notice The proof recorded for `_withdrawalHash` (timestamp 0: none).
    /// @param _withdrawalHash The withdrawal hash.
    /// @return outputRoot The output root it was proven against.
    /// @return timestamp When it was proven.
    /// @return l2OutputIndex The output's index.
    function provenWithdrawals(bytes32 _withdrawalHash)
        external
        view
        returns (bytes32 outputRoot, uint128 timestamp, uint128 l2OutputIndex);

    /// @notice Whether `_withdrawalHash` was finalized.
    /// @param _withdrawalHash The withdrawal hash.
    /// @return True once finalized.
    function finalizedWithdrawals(bytes32 _withdrawalHash) external view returns (bool);

    /// @notice The L2 sender of the withdrawal being executed, for its target to read (OP); 0x...dEaD otherwise.
    /// @return The sender.
    function l2Sender() external view returns (address);

    /// @notice The output oracle withdrawals are proven against.
    /// @return The oracle.
    function L2_ORACLE() external view returns (IL2OutputOracle);

    /// @notice Seconds between proving a withdrawal and finalizing it.
    /// @return Seconds.
    function PROOF_MATURITY_DELAY_SECONDS() external view returns (uint256);
}
