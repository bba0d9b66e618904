"""Swarm gossip over the hivemind DHT: signed records keyed by round, stage and kind, one subkey per peer.

A node publishes each payload (offchain/swarm/payloads.py) under the DHT key `swarm/{round}/{stage}/{kind}` with its
base58 peer id as subkey and an expiry. Anyone can write any subkey of a DHT key, so a reader trusts nothing it
fetches: `Gossip.fetch` opens every subkey's value with `open_envelope`, requires the signer to be the subkey's
peer, and drops, logs and counts whatever fails (forgeries, replays from other rounds, oversized or malformed
bytes, bad schemas). The DHT runs on the node's saved hivemind identity, so its peer id is the registered one.

    from offchain.swarm.gossip import Gossip, start_dht, visible_maddrs
    dht = start_dht("node.key", initial_peers=bootnodes)     # loopback unless host_maddrs= says otherwise
    gossip = Gossip(dht, PeerIdentity.load("node.key"))
    gossip.publish(rnd, 0, "rollouts", body, ttl_s=600)
    rollouts = gossip.fetch(rnd, 0, "rollouts")              # {peer id base58: Envelope}; bad records dropped
    gossip.rejected                                          # Counter({"PayloadWrongRound": 1, ...})

NOTE: a peer can still overwrite another peer's subkey with junk carrying a later expiry (hivemind keeps the
newest value per subkey), hiding that peer's record; fetch then drops the junk, it never accepts it.

Run its tests with `.venv/bin/python -m pytest tests/swarm_node/test_gossip.py -p no:cacheprovider`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hivemind
from hivemind.utils import ValueWithExpiration, get_dht_time

from offchain.identity import PeerIdentity
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

# hivemind on loopback only (shared/DESIGN.md): the NAT helpers would otherwise send traffic off the machine
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

    @property
    def peer_id(self) -> str:
        """This node's base58 peer id: the subkey of its records."""
        return self.identity.peer_id.to_base58()

    def publish(self, round: int, stage: int, kind: str, body: dict[str, Any], *, ttl_s: float) -> bool:
        """Sign `body` and store it under this round, stage and kind, expiring `ttl_s` seconds from now.

        Returns
        -------
        bool
            Whether the DHT accepted the store (False: no peer answered, or it holds a newer value).

        Raises
        ------
        PayloadSchemaError, PayloadTooLarge
            The body is not something peers would accept; nothing is stored.
        """
        assert ttl_s > 0, f"ttl_s must be positive, got {ttl_s}"
        data = seal(self.identity, round=round, stage=stage, kind=kind, body=body, max_bytes=self.max_bytes)
        expiration = get_dht_time() + ttl_s
        return bool(self.dht.store(record_key(round, stage, kind), data, expiration, subkey=self.peer_id))

    def fetch(self, round: int, stage: int, kind: str) -> dict[str, Envelope]:
        """Every peer's valid, unexpired record for (round, stage, kind), by base58 peer id (own record included).

        A record is kept only if `open_envelope` accepts it for exactly this round, stage and kind and its
        signer is the peer named by its subkey. Everything else is logged, counted in `self.rejected` and
        dropped; bad data never raises.
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
                if not isinstance(subkey, str):
                    raise PayloadWrongPeer(f"subkey {subkey!r} is not a base58 peer id")
                out[subkey] = open_envelope(
                    item.value, round=round, stage=stage, kind=kind, max_bytes=self.max_bytes, signer=subkey
                )
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
        Passed to `hivemind.DHT` after the loopback defaults of `LOOPBACK_OPTIONS`, which they may override.

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
    if isinstance(identity, PeerIdentity):
        with tempfile.TemporaryDirectory(prefix="swarm-identity-") as folder:
            path = Path(folder) / "identity.key"
            identity.save(path)
            return _start(identity, str(path), initial_peers, options)
    path = Path(identity)
    return _start(PeerIdentity.load_or_create(path), str(path), initial_peers, options)


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
