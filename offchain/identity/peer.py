"""Peer identities for the network: hivemind RSA keys, their libp2p peer ids and on-chain key proofs.

A peer's identity file is exactly hivemind's (`hivemind.P2P.generate_identity`, `identity_path=`): a
protobuf-serialised libp2p `PrivateKey` holding a DER RSA key. Its peer id is the SHA-256 multihash
of the serialised libp2p public key; IdentityRegistry stores the 32-byte digest. The registration
proof is an RSA PKCS#1 v1.5 SHA-256 signature over `IdentityRegistry.bindingMessage(owner, peerId)`
(see docs/identity.md).

    from offchain.identity import PeerIdentity
    ident = PeerIdentity.load_or_create("node.key")
    registry.registerPeer(*ident.registration_proof(registry, owner), sender=owner)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hivemind.p2p import PeerID
from hivemind.proto import crypto_pb2
from hivemind.utils.crypto import RSAPrivateKey as HivemindRSAPrivateKey

# libp2p's multihash prefix for a 32-byte SHA-256 digest (code 0x12, length 0x20).
_SHA256_MULTIHASH_PREFIX = b"\x12\x20"


class IdentityError(Exception):
    """Base class for identity problems (bad key files, wrong key types)."""


class IdentityFileError(IdentityError):
    """The identity file is not a libp2p RSA private key."""


@dataclass(frozen=True)
class PeerIdentity:
    """A hivemind peer's RSA key pair and everything derived from it."""

    private_key: rsa.RSAPrivateKey  # 2048-bit, e = 65537 when generated here (as hivemind does)

    # ------------------------------------------------------------ creation and storage

    @classmethod
    def generate(cls, *, key_size: int = 2048) -> PeerIdentity:
        """A fresh identity, the same kind hivemind generates."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=key_size))

    @classmethod
    def from_bytes(cls, data: bytes) -> PeerIdentity:
        """Parse a serialised libp2p private key (hivemind's identity file format)."""
        try:
            proto = crypto_pb2.PrivateKey.FromString(data)
            if proto.key_type != crypto_pb2.KeyType.RSA:
                raise IdentityFileError(f"expected an RSA key, got key type {proto.key_type}")
            key = serialization.load_der_private_key(proto.data, password=None)
        except IdentityFileError:
            raise
        except Exception as exc:  # protobuf and DER errors have no common base class
            raise IdentityFileError(f"not a libp2p RSA private key: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise IdentityFileError("the DER payload is not an RSA private key")
        return cls(key)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PeerIdentity:
        """Read an identity file written by `save` or by hivemind."""
        return cls.from_bytes(Path(path).read_bytes())

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> PeerIdentity:
        """Load the identity at `path`, creating and saving a new one on first use."""
        if Path(path).exists():
            return cls.load(path)
        identity = cls.generate()
        identity.save(path)
        return identity

    def to_bytes(self) -> bytes:
        """The serialised libp2p private key, byte-compatible with hivemind's identity files."""
        der = self.private_key.private_bytes(
            encoding=serialization.Encoding.DER,
            format=serialization.PrivateFormat.TraditionalOpenSSL,
            encryption_algorithm=serialization.NoEncryption(),
        )
        return crypto_pb2.PrivateKey(key_type=crypto_pb2.KeyType.RSA, data=der).SerializeToString()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the identity atomically with owner-only permissions (hivemind reads it via identity_path)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.to_bytes())
        os.replace(tmp, path)  # no half-written identity is ever visible under `path`

    # ------------------------------------------------------------ derived values

    @property
    def public_key_bytes(self) -> bytes:
        """The protobuf-serialised libp2p public key: what the peer id hashes, what the registry parses."""
        der = self.private_key.public_key().public_bytes(
            encoding=serialization.Encoding.DER,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        return crypto_pb2.PublicKey(key_type=crypto_pb2.KeyType.RSA, data=der).SerializeToString()

    @property
    def peer_id_digest(self) -> bytes:
        """The 32-byte SHA-256 digest the registry keys peers by."""
        return hashlib.sha256(self.public_key_bytes).digest()

    @property
    def peer_id(self) -> PeerID:
        """The hivemind PeerID (the same a P2P daemon started from this identity reports)."""
        return PeerID(_SHA256_MULTIHASH_PREFIX + self.peer_id_digest)

    def sign(self, message: bytes) -> bytes:
        """RSA PKCS#1 v1.5 SHA-256 signature, the scheme libp2p uses for RSA keys."""
        return self.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def hivemind_private_key(self) -> HivemindRSAPrivateKey:
        """This key as hivemind's `RSAPrivateKey`, for `hivemind.dht.crypto.RSASignatureValidator`.

        The validator signs DHT records whose subkey carries `[owner:<OpenSSH public key>]` with RSA-PSS
        SHA-256 (hivemind's scheme, distinct from the PKCS#1 v1.5 envelope and registry signatures).
        """
        return _HivemindKey(self.private_key)

    def registration_proof(self, registry: Any, owner: Any) -> tuple[bytes, bytes]:
        """Arguments for `IdentityRegistry.registerPeer`, signed over the registry's own binding message.

        Parameters
        ----------
        registry
            An Ape contract instance (or anything with a `bindingMessage(owner, peerId)` call).
        owner
            The account that will send the registration.

        Returns
        -------
        tuple[bytes, bytes]
            The serialised public key and the signature.
        """
        message = bytes(registry.bindingMessage(owner, self.peer_id_digest))
        return self.public_key_bytes, self.sign(message)


class _HivemindKey(HivemindRSAPrivateKey):
    """hivemind's RSAPrivateKey around an existing key (its own __init__ generates a fresh one)."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._private_key = private_key  # the attribute hivemind's sign, get_public_key and pickling use


def peer_id_of_public_key(public_key: rsa.RSAPublicKey) -> PeerID:
    """The hivemind PeerID of an RSA public key (SHA-256 multihash of its libp2p serialisation, as `peer_id`)."""
    der = public_key.public_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    serialised = crypto_pb2.PublicKey(key_type=crypto_pb2.KeyType.RSA, data=der).SerializeToString()
    return PeerID(_SHA256_MULTIHASH_PREFIX + hashlib.sha256(serialised).digest())


def peer_id_from_digest(digest: bytes) -> PeerID:
    """The hivemind PeerID for a registry digest (for display and for dialing)."""
    assert len(digest) == 32, f"a peer id digest is 32 bytes, got {len(digest)}"
    return PeerID(_SHA256_MULTIHASH_PREFIX + bytes(digest))


def digest_of_b58(peer_id_b58: str) -> bytes:
    """The registry digest of a base58 peer id (the inverse of `peer_id_from_digest(d).to_base58()`).

    Raises
    ------
    IdentityError
        The peer id is not a SHA-256 multihash (RSA keys always give one).
    """
    raw = PeerID.from_base58(peer_id_b58).to_bytes()
    if not raw.startswith(_SHA256_MULTIHASH_PREFIX) or len(raw) != len(_SHA256_MULTIHASH_PREFIX) + 32:
        raise IdentityError(f"peer id {peer_id_b58} is not a SHA-256 multihash")
    return raw[len(_SHA256_MULTIHASH_PREFIX) :]
