// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {PeerKey} from "../libraries/PeerKey.sol";

/// @title IdentityRegistry
/// @notice Persistent identity for the network: a hivemind / libp2p peer id bound to the wallet that
/// runs it, proven on chain with the peer's own RSA key.
///
/// The caller submits the peer's serialised libp2p public key and a PKCS#1 v1.5 SHA-256 signature by
/// that key over `bindingMessage(caller, peerId)`. The registry derives the peer id from the key
/// bytes exactly as libp2p does (SHA-256 of the serialised key), checks the signature with the
/// modexp precompile, and binds the peer to the caller. The message binds the chain id, this
/// registry's address, the owner and a per-peer nonce that deregistration bumps, so a proof cannot
/// be replayed for another owner, chain, registry, or after the peer was released.
///
/// NOTE: The peer id is stored as the 32-byte SHA-256 digest; the libp2p form is `0x1220 ‖ peerId`
/// (base58: "Qm...").
/// NOTE: Owners may be contracts (multisigs); the key proof, not the caller's code, shows control.
contract IdentityRegistry is IIdentityRegistry {
    /// @notice Semantic version of this deployable.
    string public constant version = "1.0.0";

    /// @notice Domain tag at the head of every binding message.
    bytes public constant BINDING_DOMAIN = "verde.identity.v1";

    // ---------------------------------------------------------------- storage

    /// @dev One slot per peer: the owner (zero when free) and the nonce the next proof must sign.
    struct Peer {
        address owner;
        uint64 nonce;
    }

    mapping(bytes32 peerId => Peer) private _peers;
    mapping(address owner => uint256) private _peerCount;

    // ---------------------------------------------------------------- external

    /// @inheritdoc IIdentityRegistry
    function registerPeer(bytes calldata _publicKey, bytes calldata _signature) external returns (bytes32 peerId_) {
        peerId_ = sha256(_publicKey);
        Peer memory peer = _peers[peerId_];
        // INVARIANT: a peer has at most one owner.
        if (peer.owner != address(0)) revert IdentityPeerTaken(peerId_, peer.owner);

        // Reverts with PeerKey.PeerKeyMalformed / PeerKeyUnsupportedSize on a key it cannot read.
        (bytes calldata modulus, bytes calldata exponent) = PeerKey.parseRsa(_publicKey);
        bytes32 digest = sha256(_bindingMessage(msg.sender, peerId_, peer.nonce));
        // INVARIANT: only the holder of the peer's private key can bind it, and only to this caller.
        if (!PeerKey.verifyPkcs1Sha256(digest, _signature, modulus, exponent)) {
            revert IdentityBadSignature(peerId_, msg.sender);
        }

        _peers[peerId_].owner = msg.sender;
        unchecked {
            // Cannot overflow: each increment needs a distinct registered peer (a distinct SHA-256 preimage).
            ++_peerCount[msg.sender];
        }
        emit PeerRegistered(peerId_, msg.sender, peer.nonce);
    }

    /// @inheritdoc IIdentityRegistry
    function deregisterPeer(bytes32 _peerId) external {
        Peer storage peer = _peers[_peerId];
        if (peer.owner != msg.sender) revert IdentityNotOwner(_peerId, msg.sender);

        peer.owner = address(0);
        // Invalidates every proof signed so far: re-binding needs a fresh key proof.
        ++peer.nonce;
        unchecked {
            // Cannot underflow: the caller owned this peer, so its count is at least one.
            --_peerCount[msg.sender];
        }
        emit PeerDeregistered(_peerId, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IIdentityRegistry
    function ownerOf(bytes32 _peerId) external view returns (address owner_) {
        owner_ = _peers[_peerId].owner;
    }

    /// @inheritdoc IIdentityRegistry
    function nonceOf(bytes32 _peerId) external view returns (uint64 nonce_) {
        nonce_ = _peers[_peerId].nonce;
    }

    /// @inheritdoc IIdentityRegistry
    function peerCountOf(address _owner) external view returns (uint256 count_) {
        count_ = _peerCount[_owner];
    }

    /// @inheritdoc IIdentityRegistry
    function bindingMessage(address _owner, bytes32 _peerId) external view returns (bytes memory message_) {
        message_ = _bindingMessage(_owner, _peerId, _peers[_peerId].nonce);
    }

    // ---------------------------------------------------------------- internal

    function _bindingMessage(address _owner, bytes32 _peerId, uint64 _nonce) internal view returns (bytes memory) {
        return abi.encodePacked(BINDING_DOMAIN, block.chainid, address(this), _owner, _peerId, _nonce);
    }
}
