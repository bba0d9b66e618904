"""Swarm gossip over the hivemind DHT: signed records keyed by round, stage and kind, one owner-signed subkey per peer.

A node publishes each payload (offchain/swarm/payloads.py) under the DHT key `swarm/{round}/{stage}/{kind}` with an
expiry, under its *owner subkey*, the string `[owner:ssh-rsa AAAA...]`: the OpenSSH encoding of its hivemind RSA
public key in hivemind's marker for protected records. Every node's DHT runs hivemind's `RSASignatureValidator`
with the node's own identity key (`gossip_validators`), so

* a record under an owner subkey is stored, accepted from a peer and returned only if the owner's RSA-PSS
  signature over (key, subkey, value, expiry) is attached: only the key holder can write its subkey, and nobody
  can hide a peer's record by overwriting it with a later expiry (nor re-store it with another expiry);
* a record whose subkey is not a string is refused (`StringSubkeysOnly`): a plain value over a whole key would
  replace every peer's records, and subkeys of mixed types make hivemind's expiry heap raise TypeError.

hivemind validates every record another peer asks to store and every record a peer returns (one bad subkey drops
that peer's whole answer), so a rogue running its own DHT without the validator keeps its junk to itself.

A reader still trusts nothing it fetches: `Gossip.fetch` opens every subkey's value with `open_envelope`, requires
the subkey to be an owner subkey and the envelope's signer to be the peer whose public key that subkey carries,
and drops, logs and counts whatever fails (records under other subkeys, which the DHT lets anyone write;
replays from other rounds, oversized or malformed bytes, bad schemas). Results are keyed by base58 peer id. The
DHT runs on the node's saved hivemind identity, so its peer id is the registered one.

    from offchain.swarm.gossip import Gossip, start_dht, visible_maddrs
    dht = start_dht("node.key", initial_peers=bootnodes)     # loopback unless host_maddrs= says otherwise
    gossip = Gossip(dht, PeerIdentity.load("node.key"))
    gossip.publish(rnd, 0, "rollouts", body, ttl_s=600)
    rollouts = gossip.fetch(rnd, 0, "rollouts")              # {peer id base58: Envelope}; bad records dropped
    gossip.rejected                                          # Counter({"PayloadWrongRound": 1, ...})

Run its tests with `.venv/bin/python -m pytest tests/swarm/test_gossip.py -p no:cacheprovider`.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hivemind
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hivemind.dht.crypto import RSASignatureValidator
from hivemind.dht.validation import DHTRecord, RecordValidatorBase
from hivemind.utils import ValueWithExpiration, get_dht_time

from offchain.identity import PeerIdentity
from offchain.identity.peer import peer_id_of_public_key
from offchain.swarm.daemons import NodeDHT
from offchain.swarm.payloads import (
    MAX_PAYLOAD_BYTES,
    Envelope,
    PayloadError,
    PayloadMalformed,
    PayloadWrongPeer,
    open_envelope,
    seal,
)

logger = logging.getLogger(__name__)

# hivemind on loopback only (docs/architecture.md): the NAT helpers would otherwise send traffic off the machine
LOOPBACK_OPTIONS: dict[str, Any] = {
    "host_maddrs": ["/ip4/127.0.0.1/tcp/0"],
    "nat_port_map": False,
    "auto_nat": False,
    "use_relay": False,
}


# Largest record `Gossip` will write or read. SAFETY: hivemind hands DHT.store arguments to the DHT process over a
# pipe whose reader fails (killing the DHT process) when a message arrives in two writes, which Python does above
# 16 KiB; 1 KiB is left for the pickled key, subkey and call (see MAX_PAYLOAD_BYTES in payloads.py).
MAX_RECORD_BYTES = 15 * 1024


class GossipError(Exception):
    """Base class for gossip set-up problems (bad data found in the DHT is never raised, only counted)."""


class DHTIdentityError(GossipError):
    """The DHT came up with a peer id other than the node identity's."""


def record_key(round: int, stage: int, kind: str) -> str:
    """The DHT key all peers' records for (round, stage, kind) live under."""
    return f"swarm/{round}/{stage}/{kind}"


# An owner subkey: RSASignatureValidator's marker "[owner:" + OpenSSH RSA public key + "]", as a string
_OWNER_SUBKEY = re.compile(r"\[owner:(ssh-rsa [A-Za-z0-9+/]{1,1400}={0,2})\]")
MAX_OWNER_SUBKEY_BYTES = 1024  # a 4096-bit key's subkey is about 730 bytes (payloads.MAX_RSA_BITS)


def owner_subkey(identity: PeerIdentity) -> str:
    """The subkey `identity`'s records live under: hivemind's protected-record marker with its public key.

    A string, like every subkey the DHT accepts (`StringSubkeysOnly`); hivemind's validator looks for the marker
    in the msgpack bytes of the subkey, where a string's UTF-8 appears as is.
    """
    public = identity.hivemind_private_key().get_public_key().to_bytes()
    return RSASignatureValidator.PUBLIC_KEY_FORMAT.replace(b"_key_", public).decode("ascii")


def subkey_peer_id(subkey: Any) -> str:
    """The base58 peer id of the key an owner subkey carries.

    Raises
    ------
    PayloadWrongPeer
        `subkey` is not exactly `owner_subkey` of some RSA identity (canonical encoding, nothing around it).
    """
    if not isinstance(subkey, str) or len(subkey) > MAX_OWNER_SUBKEY_BYTES:
        raise PayloadWrongPeer(f"subkey {subkey!r:.80} is not an owner subkey")
    match = _OWNER_SUBKEY.fullmatch(subkey)
    if match is None:
        raise PayloadWrongPeer(f"subkey {subkey!r:.80} is not an owner subkey")
    try:
        key = serialization.load_ssh_public_key(match.group(1).encode("ascii"))
    except (ValueError, TypeError) as exc:
        raise PayloadWrongPeer(f"owner subkey holds no OpenSSH key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise PayloadWrongPeer("owner subkey holds no RSA key")
    canonical = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    if canonical.decode("ascii") != match.group(1):  # INVARIANT: one subkey per peer
        raise PayloadWrongPeer("owner subkey is not canonically encoded")
    return peer_id_of_public_key(key).to_base58()


# msgpack type markers of a string: fixstr, str8, str16, str32 (a plain value's tag is msgpack None, 0xc0)
_MSGPACK_STR = frozenset(range(0xA0, 0xC0)) | {0xD9, 0xDA, 0xDB}


class StringSubkeysOnly(RecordValidatorBase):
    """Refuse every record whose subkey is not a string.

    A plain value over a whole key (no subkey) with a later expiry would replace every peer's records, and a
    subkey of another type (bytes, int) next to string subkeys with an equal expiry makes hivemind's per-key
    expiry heap compare the two and raise TypeError in the storing peer.
    """

    def validate(self, record: DHTRecord) -> bool:
        return bool(record.subkey) and record.subkey[0] in _MSGPACK_STR


def gossip_validators(identity: PeerIdentity) -> list[RecordValidatorBase]:
    """The record validators every node's DHT runs (`start_dht` installs them).

    `RSASignatureValidator` signs what this node stores under its own owner subkey with its identity key and
    refuses records under an owner subkey that its owner did not sign; `StringSubkeysOnly` keeps whole-key
    values and non-string subkeys out.
    """
    return [RSASignatureValidator(identity.hivemind_private_key()), StringSubkeysOnly()]


class Gossip:
    """Publish and fetch signed swarm payloads through a running hivemind DHT.

    Parameters
    ----------
    dht
        A started `hivemind.DHT` (see `start_dht`), shared with the rest of the node.
    identity
        The node's identity: it signs what `publish` stores, and names the subkey it stores under.
    max_bytes
        Size limit for records written and read.
    """

    def __init__(self, dht: hivemind.DHT, identity: PeerIdentity, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> None:
        assert 0 < max_bytes <= MAX_RECORD_BYTES, f"max_bytes must be in 1..{MAX_RECORD_BYTES}, got {max_bytes}"
        self.dht = dht
        self.identity = identity
        self.max_bytes = max_bytes
        self.rejected: Counter[str] = Counter()  # dropped records by error class name, e.g. "PayloadWrongRound"
        self.subkey = owner_subkey(identity)  # where this node's records live; the DHT signs them as its owner

    @property
    def peer_id(self) -> str:
        """This node's base58 peer id: the key of its own record in `fetch`'s result."""
        return self.identity.peer_id.to_base58()

    def publish(self, round: int, stage: int, kind: str, body: dict[str, Any], *, ttl_s: float) -> bool:
        """Sign `body` and store it under this round, stage and kind, expiring `ttl_s` seconds from now.

        Returns
        -------
        bool
            Whether the DHT accepted the store (False: no peer answered, or it holds a newer value, or the DHT
            was started without `gossip_validators`, so the record is unsigned and peers refuse it).

        Raises
        ------
        PayloadSchemaError, PayloadTooLarge
            The body is not something peers would accept; nothing is stored.
        """
        assert ttl_s > 0, f"ttl_s must be positive, got {ttl_s}"
        data = seal(self.identity, round=round, stage=stage, kind=kind, body=body, max_bytes=self.max_bytes)
        expiration = get_dht_time() + ttl_s
        return bool(self.dht.store(record_key(round, stage, kind), data, expiration, subkey=self.subkey))

    def fetch(self, round: int, stage: int, kind: str) -> dict[str, Envelope]:
        """Every peer's valid, unexpired record for (round, stage, kind), by base58 peer id (own record included).

        A record is kept only if `open_envelope` accepts it for exactly this round, stage and kind, its subkey is
        an owner subkey (`subkey_peer_id`; the DHT has checked the owner's signature of the record) and the
        envelope's signer is that owner. Everything else is logged, counted in `self.rejected` and dropped; bad
        data never raises.
        """
        key = record_key(round, stage, kind)
        found = self.dht.get(key, latest=True)
        if found is None:
            return {}
        # hivemind returns subkey records as {subkey: ValueWithExpiration}; anything else is a plain value someone
        # stored over the whole key (a plain dict included: its items carry no expiry)
        if not isinstance(found.value, dict):
            self._reject(key, None, PayloadMalformed(f"record is a {type(found.value).__name__}, not per-peer"))
            return {}
        out: dict[str, Envelope] = {}
        for subkey, item in found.value.items():
            try:
                if not isinstance(item, ValueWithExpiration):
                    raise PayloadMalformed("record is a plain dict, not per-peer subkeys")
                try:
                    owner, not_owner = subkey_peer_id(subkey), None
                except PayloadWrongPeer as exc:
                    owner, not_owner = None, exc
                # the envelope's own faults first (size, encoding, round), then whose subkey it sits under
                env = open_envelope(
                    item.value, round=round, stage=stage, kind=kind, max_bytes=self.max_bytes, signer=owner
                )
                if not_owner is not None:
                    raise not_owner
                out[env.peer_id_base58] = env
            except PayloadError as exc:
                self._reject(key, subkey, exc)
            except Exception as exc:  # SAFETY: a bug in checking must not let bad data crash the node
                logger.exception("gossip: unexpected error opening %s subkey %.80r", key, subkey)
                self._reject(key, subkey, exc)
        return out

    def _reject(self, key: str, subkey: Any, exc: Exception) -> None:
        self.rejected[type(exc).__name__] += 1
        logger.warning("gossip: dropped %s subkey %.80r: %s: %s", key, subkey, type(exc).__name__, exc)


def start_dht(
    identity: PeerIdentity | str | os.PathLike[str],
    initial_peers: Sequence[str] = (),
    **kwargs: Any,
) -> hivemind.DHT:
    """Start a hivemind DHT peer running on the node's RSA identity, on loopback unless told otherwise.

    Parameters
    ----------
    identity
        The node's identity file (created with `PeerIdentity.load_or_create` semantics if missing), or a
        `PeerIdentity`, which is written to a private temporary file only for the daemon to read at start.
    initial_peers
        Bootnode multiaddrs (`visible_maddrs` of running peers); empty for the first peer.
    kwargs
        Passed to `hivemind.DHT` after the loopback defaults of `LOOPBACK_OPTIONS`, which they may override;
        `record_validators` are added to `gossip_validators(identity)`, which every node runs.

    Returns
    -------
    hivemind.DHT
        The running DHT; call `shutdown()` when done.

    Raises
    ------
    DHTIdentityError
        The DHT's peer id is not the identity's (the DHT is shut down first).
    """
    options = {**LOOPBACK_OPTIONS, **kwargs}
    extra = list(options.pop("record_validators", ()))
    if isinstance(identity, PeerIdentity):
        options["record_validators"] = gossip_validators(identity) + extra
        with tempfile.TemporaryDirectory(prefix="swarm-identity-") as folder:
            path = Path(folder) / "identity.key"
            identity.save(path)
            return _start(identity, str(path), initial_peers, options)
    path = Path(identity)
    loaded = PeerIdentity.load_or_create(path)
    options["record_validators"] = gossip_validators(loaded) + extra
    return _start(loaded, str(path), initial_peers, options)


def _start(
    identity: PeerIdentity, identity_path: str, initial_peers: Sequence[str], options: dict[str, Any]
) -> hivemind.DHT:
    # NodeDHT: hivemind's processes end with ours; an absolute identity path lets a restart find a p2pd left
    # running on this identity (daemons.stale_daemons) whatever directory either run started in
    dht = NodeDHT(initial_peers=list(initial_peers) or None, start=True,
                  identity_path=str(Path(identity_path).resolve()), **options)  # fmt: skip
    if dht.peer_id != identity.peer_id:
        got = dht.peer_id
        dht.shutdown()
        raise DHTIdentityError(f"DHT started as {got}, expected {identity.peer_id} from {identity_path}")
    return dht


def visible_maddrs(dht: hivemind.DHT) -> list[str]:
    """The multiaddrs (with /p2p/<peer id>) other peers dial to join through `dht`: what a bootnode advertises."""
    return [str(maddr) for maddr in dht.get_visible_maddrs()]
