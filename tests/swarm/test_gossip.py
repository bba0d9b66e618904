"""Swarm gossip between three real hivemind DHT peers on loopback: valid records travel, bad ones are dropped,
and only a peer's own key can write its owner subkey (a rogue's overwrite with a later expiry is refused).

The three peers live for the module (a peer takes about half a second to start); each test uses its own round, so
records of one test never meet another's. Run with
`.venv/bin/python -m pytest tests/swarm/test_gossip.py -p no:cacheprovider`.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass

import hivemind
import pytest
from hivemind.p2p import P2P
from hivemind.utils import get_dht_time

from offchain.identity import PeerIdentity, peer_id_from_digest
from offchain.swarm.daemons import NodeDHT
from offchain.swarm.gossip import (
    LOOPBACK_OPTIONS,
    Gossip,
    gossip_validators,
    owner_subkey,
    record_key,
    start_dht,
    subkey_peer_id,
    visible_maddrs,
)
from offchain.swarm.payloads import MAX_PAYLOAD_BYTES, PayloadSchemaError, PayloadWrongPeer, seal

BODY = {  # 2 questions, G = 2 completions of 3 tokens (2-digit addition)
    "questions": [1203, 77],
    "completions": [[[1, 2, 3], [4, 5, 6]], [[0, 0, 1], [9, 9, 11]]],
    "rewards": [[1.0, 0.1], [0.0, 0.0333]],
}
TTL = 60.0  # seconds: outlives the module


@dataclass(frozen=True)
class Peer:
    identity: PeerIdentity
    dht: hivemind.DHT

    @property
    def id(self) -> str:
        return self.identity.peer_id.to_base58()

    @property
    def subkey(self) -> str:
        return owner_subkey(self.identity)

    def gossip(self) -> Gossip:
        """A fresh Gossip (its own rejection counter) over this peer's DHT."""
        return Gossip(self.dht, self.identity)


@pytest.fixture(scope="module")
def dht_peers(tmp_path_factory):
    """Three DHT dht_peers: A from a new identity file, B from a PeerIdentity, C from a file hivemind wrote."""
    folder = tmp_path_factory.mktemp("gossip")
    started: list[hivemind.DHT] = []
    try:
        a_path = folder / "a.key"
        a_dht = start_dht(a_path, [])
        started.append(a_dht)
        bootnodes = visible_maddrs(a_dht)
        b_identity = PeerIdentity.generate()
        b_dht = start_dht(b_identity, bootnodes)
        started.append(b_dht)
        c_path = folder / "c.key"
        P2P.generate_identity(str(c_path))
        c_dht = start_dht(str(c_path), bootnodes)
        started.append(c_dht)
        yield (
            Peer(PeerIdentity.load(a_path), a_dht),
            Peer(b_identity, b_dht),
            Peer(PeerIdentity.load(c_path), c_dht),
        )
    finally:
        for dht in started:
            dht.shutdown()


def _random_peer_id() -> str:
    return peer_id_from_digest(os.urandom(32)).to_base58()


def test_start_dht_runs_on_node_identity(dht_peers):
    """Each DHT's peer id is its node identity's, and a bootnode advertises loopback multiaddrs naming it."""
    for peer in dht_peers:
        assert peer.dht.peer_id == peer.identity.peer_id
    a = dht_peers[0]
    maddrs = visible_maddrs(a.dht)
    assert maddrs and all(m.startswith("/ip4/127.0.0.1/tcp/") and m.endswith(f"/p2p/{a.id}") for m in maddrs)


def test_publish_rollout_reaches_other_peers(dht_peers):
    """A rollout published by one peer is fetched, verified, by the two others."""
    a, b, c = dht_peers
    assert a.gossip().publish(1, 0, "rollouts", BODY, ttl_s=TTL)
    for reader in (b, c):
        gossip = reader.gossip()
        got = gossip.fetch(1, 0, "rollouts")
        assert list(got) == [a.id]
        assert got[a.id].body == BODY and got[a.id].peer_id == a.identity.peer_id_digest
        assert not gossip.rejected


def test_publish_critiques_from_two_peers_both_fetched(dht_peers):
    """Critiques from two dht_peers land under their own subkeys of one key and are both returned."""
    a, b, c = dht_peers
    assert a.gossip().publish(1, 1, "critiques", {"scores": {b.id: 1.0}}, ttl_s=TTL)
    assert b.gossip().publish(1, 1, "critiques", {"scores": {a.id: 0.55}}, ttl_s=TTL)
    got = c.gossip().fetch(1, 1, "critiques")
    assert {peer: env.body for peer, env in got.items()} == {
        a.id: {"scores": {b.id: 1.0}},
        b.id: {"scores": {a.id: 0.55}},
    }


def test_fetch_drops_bad_records_keeps_valid(dht_peers, caplog):
    """Forged, oversized, malformed and replayed records are dropped, logged and counted; the valid one remains."""
    a, b, c = dht_peers
    rnd, key, expires = 2, record_key(2, 0, "rollouts"), get_dht_time() + TTL
    assert a.gossip().publish(rnd, 0, "rollouts", BODY, ttl_s=TTL)
    attacker = c.dht
    bad = {  # subkey -> value, all written by C (the DHT lets anyone write subkeys that carry no owner key)
        b.id: seal(c.identity, round=rnd, stage=0, kind="rollouts", body=BODY),  # C's record named as B's
        _random_peer_id(): b"{" + b" " * (MAX_PAYLOAD_BYTES + 4096) + b"}",  # oversized
        _random_peer_id(): b"\x00garbage",  # malformed
        _random_peer_id(): 5,  # not even bytes
        c.subkey: seal(c.identity, round=rnd - 1, stage=0, kind="rollouts", body=BODY),  # last round's, replayed
    }
    for subkey, value in bad.items():
        assert attacker.store(key, value, expires, subkey=subkey)

    gossip = b.gossip()
    with caplog.at_level(logging.WARNING, logger="offchain.swarm.gossip"):
        got = gossip.fetch(rnd, 0, "rollouts")
    assert list(got) == [a.id] and got[a.id].body == BODY
    assert gossip.rejected == Counter(
        {"PayloadWrongPeer": 1, "PayloadTooLarge": 1, "PayloadMalformed": 2, "PayloadWrongRound": 1}
    )
    assert sum("gossip: dropped" in r.getMessage() for r in caplog.records) == 5


def test_non_string_subkeys_refused(dht_peers):
    """Records under a subkey that is not a string (an int, A's owner subkey as bytes) are refused by the DHT."""
    a, b, c = dht_peers
    data = seal(a.identity, round=6, stage=0, kind="rollouts", body=BODY)
    for subkey in (7, a.subkey.encode()):
        assert not c.dht.store(record_key(6, 0, "rollouts"), data, get_dht_time() + TTL, subkey=subkey)
    gossip = b.gossip()
    assert gossip.fetch(6, 0, "rollouts") == {} and not gossip.rejected


def test_plain_value_over_key_refused(dht_peers):
    """A plain value over the whole key (which would replace every peer's subkey) is refused by every DHT peer."""
    a, b, c = dht_peers
    assert a.gossip().publish(3, 0, "rollouts", BODY, ttl_s=TTL)
    assert not c.dht.store(record_key(3, 0, "rollouts"), b"not per peer", get_dht_time() + 10 * TTL)
    gossip = b.gossip()
    assert list(gossip.fetch(3, 0, "rollouts")) == [a.id] and not gossip.rejected


def test_owner_subkey_names_its_peer():
    """An owner subkey is exactly hivemind's validator marker for the key, and maps back to that key's peer id;
    anything else is not an owner subkey."""
    ident = PeerIdentity.generate()
    sub = owner_subkey(ident)
    assert sub.encode() == gossip_validators(ident)[0].local_public_key
    assert subkey_peer_id(sub) == ident.peer_id.to_base58()
    for bad in (ident.peer_id.to_base58(), sub + " ", "x" + sub, sub.replace("ssh-rsa", "ssh-dss"), sub.encode(), 7):
        with pytest.raises(PayloadWrongPeer):
            subkey_peer_id(bad)


def test_rogue_overwrite_with_later_expiry_refused(dht_peers):
    """A rogue cannot hide A's record by writing A's owner subkey with a later expiry: not as a node running our
    code with its own key (its own DHT will not sign for A's key, and no peer stores it unsigned), nor as a bare
    hivemind peer without validators (the junk stays in its own storage, and readers drop its answer)."""
    a, b, c = dht_peers
    rnd, key = 8, record_key(8, 0, "rollouts")
    assert a.gossip().publish(rnd, 0, "rollouts", BODY, ttl_s=TTL)
    later = get_dht_time() + 10 * TTL
    junk = seal(c.identity, round=rnd, stage=0, kind="rollouts", body=BODY)

    # C runs the same code, with its own key: the store is refused everywhere
    assert not c.dht.store(key, junk, later, subkey=a.subkey)

    # a bare hivemind peer with no validator writes A's subkey with a later expiry
    rogue = NodeDHT(initial_peers=visible_maddrs(a.dht), start=True, **LOOPBACK_OPTIONS)
    try:
        rogue.store(key, junk, later, subkey=a.subkey)
        own = rogue.get(key, latest=True)
        assert own is not None and own.value[a.subkey].value == junk  # without the validator the junk wins
        for reader in (b, c, a):
            gossip = reader.gossip()
            got = gossip.fetch(rnd, 0, "rollouts")
            assert list(got) == [a.id] and got[a.id].body == BODY
            assert got[a.id].public_key == a.identity.public_key_bytes
            assert not gossip.rejected
            found = reader.dht.get(key, latest=True)
            assert found.value[a.subkey].expiration_time < later  # A's own record, not the rogue's
    finally:
        rogue.shutdown()


def test_fetch_missing_key_returns_empty(dht_peers):
    """Nothing published for a round gives an empty result, with nothing counted."""
    gossip = dht_peers[1].gossip()
    assert gossip.fetch(99, 0, "rollouts") == {} and not gossip.rejected


def test_publish_bad_body_raises_and_stores_nothing(dht_peers):
    """A body that breaks the schema is refused before anything reaches the DHT."""
    a, b, _ = dht_peers
    bad = {**BODY, "rewards": [[2.0, 0.1], [0.0, 0.0]]}
    with pytest.raises(PayloadSchemaError):
        a.gossip().publish(4, 0, "rollouts", bad, ttl_s=TTL)
    assert b.gossip().fetch(4, 0, "rollouts") == {}


def test_record_expires_after_ttl(dht_peers):
    """A record is fetched while alive and gone once its ttl has passed."""
    a, b, _ = dht_peers
    assert a.gossip().publish(5, 0, "rollouts", BODY, ttl_s=1.0)
    assert list(b.gossip().fetch(5, 0, "rollouts")) == [a.id]
    time.sleep(1.2)
    assert b.gossip().fetch(5, 0, "rollouts") == {}
