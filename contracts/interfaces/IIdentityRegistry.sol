// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IIdentityRegistry
/// @notice Binds libp2p / hivemind peer ids to the EOAs that run them.
///
/// A peer id is the SHA-256 multihash of the peer's protobuf-serialised libp2p public key; the
/// registry stores its 32-byte digest (`peerId`), so the base58 id is `base58(0x1220 ‖ peerId)`.
/// Registration proves key possession on chain: the caller supplies the serialised RSA public key
/// and an RSA PKCS#1 v1.5 SHA-256 signature, by that key, over `bindingMessage(owner, peerId)`,
/// which binds the chain id, this registry, the owner and the peer's current nonce.
///
/// Obligations of an implementation:
/// - `peerId` MUST be derived on chain from the supplied key, exactly as libp2p derives it.
/// - A proof MUST NOT be usable for another owner, chain, registry, or after the peer was deregistered
///   (each deregistration bumps the peer's nonce, so re-binding needs a fresh proof).
/// - One peer MUST have at most one owner; one owner MAY own many peers.
interface IIdentityRegistry {
    /// @notice `owner` proved it holds the key of `peerId` and now owns it.
    /// @param peerId SHA-256 digest of the serialised libp2p public key.
    /// @param owner The EOA that registered the peer.
    /// @param nonce The nonce the proof was signed over.
    event PeerRegistered(bytes32 indexed peerId, address indexed owner, uint64 nonce);

    /// @notice The owner released `peerId`.
    event PeerDeregistered(bytes32 indexed peerId, address indexed owner);

    // A key that is not a strictly encoded libp2p RSA key reverts with PeerKey.PeerKeyMalformed(offset);
    // a modulus outside 2048..4096 bits with PeerKey.PeerKeyUnsupportedSize(modulusBytes).
    /// @notice The signature does not verify under the key for this binding message.
    error IdentityBadSignature(bytes32 peerId, address owner);
    /// @notice The peer is already bound to `owner`.
    error IdentityPeerTaken(bytes32 peerId, address owner);
    /// @notice The caller does not own the peer.
    error IdentityNotOwner(bytes32 peerId, address caller);

    /// @notice Bind the peer whose key is `publicKey` to msg.sender.
    /// @param publicKey The protobuf-serialised libp2p public key (KeyType RSA, DER SubjectPublicKeyInfo).
    /// @param signature RSA PKCS#1 v1.5 SHA-256 signature over `bindingMessage(msg.sender, peerId)`.
    /// @return peerId_ The registered peer id digest.
    function registerPeer(bytes calldata publicKey, bytes calldata signature) external returns (bytes32 peerId_);

    /// @notice Release a peer the caller owns; its nonce is bumped so old proofs stop working.
    /// @param peerId The peer.
    function deregisterPeer(bytes32 peerId) external;

    /// @notice The owner of `peerId`, or address(0) when it is not registered.
    function ownerOf(bytes32 peerId) external view returns (address owner_);

    /// @notice The nonce the next registration proof of `peerId` must sign.
    function nonceOf(bytes32 peerId) external view returns (uint64 nonce_);

    /// @notice Number of peers `owner` holds now.
    function peerCountOf(address owner) external view returns (uint256 count_);

    /// @notice The exact bytes a registration proof signs.
    function bindingMessage(address owner, bytes32 peerId) external view returns (bytes memory message_);
}
