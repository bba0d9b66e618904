"""Peer identity: a hivemind RSA key, its libp2p peer id, and the proof that binds it to a wallet on chain.

The on-chain half is contracts/identity/IdentityRegistry.sol; docs/identity.md describes both.
"""

from offchain.identity.peer import IdentityError, IdentityFileError, PeerIdentity, digest_of_b58, peer_id_from_digest

__all__ = ["IdentityError", "IdentityFileError", "PeerIdentity", "digest_of_b58", "peer_id_from_digest"]
