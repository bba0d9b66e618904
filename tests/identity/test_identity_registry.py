"""IdentityRegistry: peer ids bound to EOAs with an on-chain RSA key proof, using real hivemind keys."""

from __future__ import annotations

import asyncio
import hashlib

import ape
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from eth_abi.packed import encode_packed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.identity import IdentityFileError, PeerIdentity, peer_id_from_digest

REGISTER_GAS_CAP = 200_000  # the target; the testnet contract spends 141,717 with no proof at all


def _register(registry, identity, owner):
    return registry.registerPeer(*identity.registration_proof(registry, owner), sender=owner)


def test_register_peer_with_key_proof_succeeds(registry, identities, alice):
    """A peer registered with a valid proof is owned by the caller and the event carries id, owner, nonce."""
    ident = identities[0]
    tx = _register(registry, ident, alice)
    assert registry.ownerOf(ident.peer_id_digest) == alice
    assert registry.peerCountOf(alice) == 1
    [event] = tx.events.filter(registry.PeerRegistered)
    assert event.peerId == ident.peer_id_digest
    assert event.owner == alice
    assert event.nonce == 0


def test_register_peer_gas_within_target(registry, identities, alice):
    """Registration with the RSA key proof costs at most 200,000 gas."""
    tx = _register(registry, identities[0], alice)
    print(f"registerPeer gas: {tx.gas_used}")
    assert tx.gas_used <= REGISTER_GAS_CAP, tx.gas_used


def test_peer_id_matches_hivemind_daemon(identities, tmp_path):
    """The digest the registry derives is the peer id a hivemind daemon started from the same file reports."""
    from hivemind.p2p import P2P

    path = tmp_path / "peer.key"
    identities[1].save(path)

    async def daemon_peer_id():
        p2p = await P2P.create(
            identity_path=str(path),
            host_maddrs=["/ip4/127.0.0.1/tcp/0"],
            nat_port_map=False,
            auto_nat=False,
            use_relay=False,
            check_if_identity_free=False,
        )
        try:
            return p2p.peer_id
        finally:
            await p2p.shutdown()

    assert asyncio.run(daemon_peer_id()) == identities[1].peer_id
    assert peer_id_from_digest(identities[1].peer_id_digest) == identities[1].peer_id


def test_register_peer_onchain_digest_is_sha256_of_key(registry, identities, alice):
    """The registry returns sha256 of the serialised libp2p public key as the peer id."""
    ident = identities[0]
    key, sig = ident.registration_proof(registry, alice)
    assert registry.registerPeer.call(key, sig, sender=alice) == hashlib.sha256(key).digest()


def test_register_peer_already_taken_reverts(registry, identities, alice, bob):
    """A peer owned by one EOA cannot be registered by another, even with a valid proof."""
    ident = identities[0]
    _register(registry, ident, alice)
    key, sig = ident.registration_proof(registry, bob)
    with ape.reverts(registry.IdentityPeerTaken, peerId=ident.peer_id_digest, owner=alice.address):
        registry.registerPeer(key, sig, sender=bob)


def test_register_peer_proof_of_other_owner_reverts(registry, identities, alice, bob):
    """A proof signed for Alice cannot be submitted by Bob."""
    ident = identities[0]
    key, sig = ident.registration_proof(registry, alice)
    with ape.reverts(registry.IdentityBadSignature, peerId=ident.peer_id_digest, owner=bob.address):
        registry.registerPeer(key, sig, sender=bob)
    assert registry.ownerOf(ident.peer_id_digest) == ape.utils.ZERO_ADDRESS


def test_register_peer_proof_for_other_registry_reverts(project, registry, identities, deployer, alice):
    """A proof made for one registry deployment is rejected by another."""
    other = deployer.deploy(project.IdentityRegistry)
    key, sig = identities[0].registration_proof(other, alice)
    with ape.reverts(registry.IdentityBadSignature):
        registry.registerPeer(key, sig, sender=alice)


def test_register_peer_proof_for_other_chain_reverts(registry, identities, alice, chain):
    """A proof over another chain id is rejected."""
    ident = identities[0]
    message = encode_packed(
        ["bytes", "uint256", "address", "address", "bytes32", "uint64"],
        [b"verde.identity.v1", chain.chain_id + 1, registry.address, alice.address, ident.peer_id_digest, 0],
    )
    # Sanity: with the right chain id the hand-built message is the registry's own.
    same_chain = encode_packed(
        ["bytes", "uint256", "address", "address", "bytes32", "uint64"],
        [b"verde.identity.v1", chain.chain_id, registry.address, alice.address, ident.peer_id_digest, 0],
    )
    assert bytes(registry.bindingMessage(alice, ident.peer_id_digest)) == same_chain
    with ape.reverts(registry.IdentityBadSignature):
        registry.registerPeer(ident.public_key_bytes, ident.sign(message), sender=alice)


def test_register_peer_tampered_signature_reverts(registry, identities, alice):
    """Flipping one bit of the signature makes the proof invalid."""
    key, sig = identities[0].registration_proof(registry, alice)
    bad = bytes([sig[0]]) + bytes([sig[1] ^ 0x01]) + sig[2:]
    with ape.reverts(registry.IdentityBadSignature):
        registry.registerPeer(key, bad, sender=alice)


def test_register_peer_pss_signature_reverts(registry, identities, alice):
    """A PSS signature (hivemind's message signing scheme) is not a PKCS#1 v1.5 key proof."""
    ident = identities[0]
    message = bytes(registry.bindingMessage(alice, ident.peer_id_digest))
    pss = ident.private_key.sign(
        message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH), hashes.SHA256()
    )
    with ape.reverts(registry.IdentityBadSignature):
        registry.registerPeer(ident.public_key_bytes, pss, sender=alice)


def test_register_peer_signature_not_below_modulus_reverts(registry, identities, alice):
    """A signature representative >= n is rejected (no malleable s + n forms)."""
    ident = identities[0]
    n = ident.private_key.public_key().public_numbers().n
    with ape.reverts(registry.IdentityBadSignature):
        registry.registerPeer(ident.public_key_bytes, n.to_bytes(256, "big"), sender=alice)


def test_register_peer_short_signature_reverts(registry, identities, alice):
    """A signature shorter than the modulus is rejected."""
    key, sig = identities[0].registration_proof(registry, alice)
    with ape.reverts(registry.IdentityBadSignature):
        registry.registerPeer(key, sig[1:], sender=alice)


@pytest.mark.parametrize(
    "mutate, offset",
    [
        (lambda k: k[:-1], 5),  # truncated: the protobuf length no longer matches
        (lambda k: k + b"\x00", 5),  # trailing garbage
        (lambda k: b"\x08\x01" + k[2:], 0),  # KeyType Ed25519
        (lambda k: k[:5] + b"\x31" + k[6:], 5),  # the SubjectPublicKeyInfo tag
        (lambda k: k[:12] + b"\x0b" + k[13:], 9),  # the algorithm OID
    ],
    ids=["truncated", "trailing", "ed25519-type", "spki-tag", "oid"],
)
def test_register_peer_malformed_key_reverts(registry, identities, alice, mutate, offset):
    """A key that is not a strictly encoded libp2p RSA key reverts with the offset where parsing stopped."""
    key, sig = identities[0].registration_proof(registry, alice)
    with ape.reverts(registry.PeerKeyMalformed, offset=offset):
        registry.registerPeer(mutate(key), sig, sender=alice)


def test_register_peer_1024_bit_key_reverts(registry, alice):
    """Keys below 2048 bits are refused with their modulus size."""
    weak = PeerIdentity.generate(key_size=1024)
    key, sig = weak.registration_proof(registry, alice)
    with ape.reverts(registry.PeerKeyUnsupportedSize, modulusBytes=128):
        registry.registerPeer(key, sig, sender=alice)


def test_register_peer_3072_bit_key_succeeds(registry, alice):
    """Larger RSA keys (3072 bits) are accepted too."""
    big = PeerIdentity.generate(key_size=3072)
    _register(registry, big, alice)
    assert registry.ownerOf(big.peer_id_digest) == alice


def test_register_many_peers_one_owner_succeeds(registry, identities, alice):
    """One EOA may own several peers."""
    for ident in identities:
        _register(registry, ident, alice)
    assert registry.peerCountOf(alice) == len(identities)
    assert all(registry.ownerOf(i.peer_id_digest) == alice for i in identities)


def test_deregister_peer_by_owner_succeeds(registry, identities, alice):
    """The owner can release a peer; the nonce is bumped and the event names peer and owner."""
    ident = identities[0]
    _register(registry, ident, alice)
    tx = registry.deregisterPeer(ident.peer_id_digest, sender=alice)
    assert registry.ownerOf(ident.peer_id_digest) == ape.utils.ZERO_ADDRESS
    assert registry.nonceOf(ident.peer_id_digest) == 1
    assert registry.peerCountOf(alice) == 0
    [event] = tx.events.filter(registry.PeerDeregistered)
    assert event.peerId == ident.peer_id_digest and event.owner == alice


def test_deregister_peer_not_owner_reverts(registry, identities, alice, bob):
    """Only the owner can release a peer."""
    ident = identities[0]
    _register(registry, ident, alice)
    with ape.reverts(registry.IdentityNotOwner, peerId=ident.peer_id_digest, caller=bob.address):
        registry.deregisterPeer(ident.peer_id_digest, sender=bob)


def test_deregister_unregistered_peer_reverts(registry, identities, alice):
    """Releasing a peer nobody owns reverts."""
    with ape.reverts(registry.IdentityNotOwner):
        registry.deregisterPeer(identities[0].peer_id_digest, sender=alice)


def test_rebind_after_deregister_old_proof_reverts(registry, identities, alice, bob):
    """After release, the old proof is dead; a fresh proof binds the peer again, to anyone it signs for."""
    ident = identities[0]
    old_key, old_sig = ident.registration_proof(registry, alice)
    registry.registerPeer(old_key, old_sig, sender=alice)
    registry.deregisterPeer(ident.peer_id_digest, sender=alice)
    with ape.reverts(registry.IdentityBadSignature):
        registry.registerPeer(old_key, old_sig, sender=alice)
    tx = _register(registry, ident, bob)
    assert registry.ownerOf(ident.peer_id_digest) == bob
    assert tx.events.filter(registry.PeerRegistered)[0].nonce == 1


def test_identity_file_round_trip(identities, tmp_path):
    """An identity saved and loaded keeps its peer id; a file that is not a key is rejected clearly."""
    path = tmp_path / "id.key"
    identities[2].save(path)
    assert PeerIdentity.load(path).peer_id == identities[2].peer_id
    assert PeerIdentity.load_or_create(path).peer_id == identities[2].peer_id
    (tmp_path / "junk.key").write_bytes(b"not a key")
    with pytest.raises(IdentityFileError):
        PeerIdentity.load(tmp_path / "junk.key")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_mutated_key_never_registers(registry, identities, alice, data):
    """Any single-byte change to the key bytes is refused and nothing gets registered."""
    key, sig = identities[0].registration_proof(registry, alice)
    pos = data.draw(st.integers(0, len(key) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != key[pos]))
    bad = key[:pos] + bytes([byte]) + key[pos + 1 :]
    with ape.reverts():
        registry.registerPeer(bad, sig, sender=alice)
    assert registry.peerCountOf(alice) == 0
