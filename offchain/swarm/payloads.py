"""Signed swarm payloads: canonical bytes, the peer's RSA signature, round/stage/kind binding, schema, size limit.

Every record a node gossips (docs/swarm-node.md) is an envelope in canonical JSON: sorted keys, no whitespace,
ASCII only, no NaN or infinities, byte strings as lowercase hex, e.g.

    {"body":{...},"kind":"rollouts","peer_id":"<64 hex>","public_key":"<hex>","round":7,"signature":"<hex>",
     "stage":0,"v":1}

`public_key` is the protobuf-serialised libp2p RSA public key of the peer's hivemind identity and `peer_id` its
SHA-256 digest (what IdentityRegistry stores; offchain/identity/peer.py). `signature` is RSA PKCS#1 v1.5 SHA-256
(`PeerIdentity.sign`, the scheme of the on-chain key proof) over

    DOMAIN_TAG || canonical_json({"body", "kind", "peer_id", "round", "stage", "v"})

so a record cannot be replayed into another round, stage or kind, nor claimed by another peer. A reader accepts
only the canonical encoding, so each envelope has exactly one byte string.

    from offchain.swarm.payloads import open_envelope, seal
    data = seal(identity, round=3, stage=0, kind="rollouts", body=body)
    env = open_envelope(data, round=3, stage=0, kind="rollouts")   # raises a PayloadError leaf on bad input

The envelope and both bodies are defined by JSON Schemas (offchain/protocol/schemas/swarm-*.schema.json, shown
in docs/protocol.md): `open_envelope` and `seal` validate against them, and the limits below are read from them.
The envelope's `v` is the version of the envelope and of the body it carries.

NOTE: hivemind's own `RSAPublicKey.verify` checks PSS signatures over OpenSSH-encoded keys; our identities sign
with PKCS#1 v1.5 (like the registry proof), so verification uses `cryptography` directly on the libp2p key.

Run its tests with `.venv/bin/python -m pytest tests/swarm/test_payloads.py -p no:cacheprovider`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hivemind.p2p import PeerID
from hivemind.proto import crypto_pb2

from offchain import protocol
from offchain.identity import PeerIdentity, peer_id_from_digest

# ------------------------------------------------------------ constants

# The wire format's one source: the schemas (docs/protocol.md). Limits below are read from them.
_ENVELOPE = protocol.schema("swarm-envelope")
_ROLLOUTS = protocol.schema("swarm-rollouts")["properties"]
_CRITIQUES = protocol.schema("swarm-critiques")["properties"]

# Largest envelope accepted or produced, in bytes. SAFETY: values over 16 KiB cross hivemind's parent -> DHT
# process pipe in two writes, and that pipe's non-blocking reader can then fail with EAGAIN and kill the DHT
# process (seen with hivemind 1.1.12 at 50 KB; gensyn-ai/rl-swarm#216), so a record must stay well below that.
MAX_PAYLOAD_BYTES = _ENVELOPE["x-max-bytes"]  # 8 KiB
VERSION = _ENVELOPE["properties"]["v"]["const"]  # envelope format version, signed
DOMAIN_TAG = b"swarm-payload-v1\x00"  # prefix of every signed message: no other signature of ours verifies here

ROLLOUTS = "rollouts"  # stage 0: a peer's questions, G completions each, and their rewards
CRITIQUES = "critiques"  # stage 1: a peer's score of each other peer
KINDS = tuple(_ENVELOPE["properties"]["kind"]["enum"])
assert KINDS == (ROLLOUTS, CRITIQUES), KINDS

_TOKEN = _ROLLOUTS["completions"]["items"]["items"]["items"]
# Not imported from offchain.model: it pulls in torch. A body without "task" keeps the addition task's bound.
VOCAB = _TOKEN["maximum"] + 1  # = offchain.model.family.VOCAB, the widest task vocabulary a body may use
_ADDITION_TOKEN = protocol.schema("swarm-rollouts")["then"]["properties"]["completions"]["items"]["items"]["items"]
ADDITION_VOCAB = _ADDITION_TOKEN["maximum"] + 1  # = offchain.model.task.VOCAB (digits, '+', '=')
MAX_MIX_TASKS = _ROLLOUTS["mix"]["maxItems"]  # weights in a family body's "mix" (one per family task)
MAX_MIX_WEIGHT = _ROLLOUTS["mix"]["items"]["maximum"]  # largest weight in it
MAX_QUESTIONS = _ROLLOUTS["questions"]["maxItems"]  # questions per rollouts body
MAX_GROUP = _ROLLOUTS["completions"]["items"]["maxItems"]  # completions per question (G)
MAX_COMPLETION_TOKENS = _ROLLOUTS["completions"]["items"]["items"]["maxItems"]  # tokens per completion
MAX_QUESTION_ID = _ROLLOUTS["questions"]["items"]["maximum"]  # 2^53 - 1: pair ids stay exact in any JSON reader
MAX_SCORED_PEERS = _CRITIQUES["scores"]["maxProperties"]  # entries in a critiques body
MAX_ROUND = _ENVELOPE["properties"]["round"]["maximum"]  # 2^64 - 1: chain integers, bounded to stay cheap
MAX_STAGE = _ENVELOPE["properties"]["stage"]["maximum"]
MIN_RSA_BITS, MAX_RSA_BITS = 2048, 4096  # hivemind keys are 2048-bit; bigger keys only cost verification time
MAX_SIGNATURE_BYTES = _ENVELOPE["properties"]["signature"]["maxLength"] // 2  # = MAX_RSA_BITS // 8

_FIELDS = frozenset(_ENVELOPE["required"])
_SHA256_MULTIHASH_PREFIX = b"\x12\x20"


# ------------------------------------------------------------ errors


class PayloadError(Exception):
    """Base class for every reason an untrusted payload is rejected."""


class PayloadTooLarge(PayloadError):
    """The encoded envelope is longer than the size limit (checked before anything is parsed)."""


class PayloadMalformed(PayloadError):
    """Not a canonical JSON envelope: not bytes, not ASCII JSON, missing or extra fields, wrong field types."""


class PayloadSchemaError(PayloadError):
    """The body does not match the schema of its kind (types, list lengths, token ids, reward range, counts)."""


class PayloadWrongRound(PayloadError):
    """The envelope is signed for another round, stage or kind than the record it was found under (a replay)."""


class PayloadBadSignature(PayloadError):
    """The signature does not verify, the public key is not a libp2p RSA key, or the peer id is not its hash."""


class PayloadWrongPeer(PayloadBadSignature):
    """A well-signed envelope presented as another peer's (e.g. stored under someone else's DHT subkey)."""


# ------------------------------------------------------------ envelope


@dataclass(frozen=True)
class Envelope:
    """An opened envelope: every field has been checked by `open_envelope`."""

    peer_id: bytes  # 32-byte SHA-256 digest of public_key (IdentityRegistry's key for the peer)
    public_key: bytes  # protobuf-serialised libp2p RSA public key
    round: int  # SwarmCoordinator round the payload belongs to
    stage: int  # stage within the round (0 answer, 1 critique, 2 vote)
    kind: str  # one of KINDS
    body: dict[str, Any]  # schema-checked body of that kind
    signature: bytes  # RSA PKCS#1 v1.5 SHA-256 over signing_message(...)

    @property
    def peer_id_base58(self) -> str:
        """The signer's hivemind peer id as hivemind prints it (the DHT subkey)."""
        return peer_id_from_digest(self.peer_id).to_base58()


def signing_message(*, peer_id: bytes, round: int, stage: int, kind: str, body: dict[str, Any]) -> bytes:
    """The exact bytes a peer signs: DOMAIN_TAG and the canonical JSON of everything but key and signature."""
    unsigned = {"body": body, "kind": kind, "peer_id": peer_id.hex(), "round": round, "stage": stage, "v": VERSION}
    return DOMAIN_TAG + _canonical(unsigned)


def seal(
    identity: PeerIdentity,
    *,
    round: int,
    stage: int,
    kind: str,
    body: dict[str, Any],
    max_bytes: int = MAX_PAYLOAD_BYTES,
) -> bytes:
    """Sign `body` for (round, stage, kind) and encode the envelope canonically.

    Parameters
    ----------
    identity
        The peer's hivemind identity; its peer id and public key go into the envelope.
    round, stage, kind
        What the payload is for; bound by the signature.
    body
        A body of `kind` (see docs/swarm-node.md); checked against the schema before signing.
    max_bytes
        Refuse to produce an envelope readers would reject as too large.

    Returns
    -------
    bytes
        The canonical envelope, ready to store in the DHT.

    Raises
    ------
    PayloadSchemaError
        The body does not match its kind's schema (nothing is signed).
    PayloadTooLarge
        The encoded envelope exceeds `max_bytes`.
    """
    _check_binding(round, stage, kind)
    validate_body(kind, body)
    signature = identity.sign(
        signing_message(peer_id=identity.peer_id_digest, round=round, stage=stage, kind=kind, body=body)
    )
    data = _canonical(
        {
            "body": body,
            "kind": kind,
            "peer_id": identity.peer_id_digest.hex(),
            "public_key": identity.public_key_bytes.hex(),
            "round": round,
            "signature": signature.hex(),
            "stage": stage,
            "v": VERSION,
        }
    )
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"sealed envelope is {len(data)} bytes, limit {max_bytes}")
    return data


def open_envelope(
    data: bytes,
    *,
    round: int,
    stage: int,
    kind: str,
    max_bytes: int = MAX_PAYLOAD_BYTES,
    signer: str | None = None,
) -> Envelope:
    """Check an untrusted envelope completely and return it opened.

    Checks, in order: size, canonical encoding and field types, the (round, stage, kind) binding, the claimed
    signer, the peer id against the public key, the signature, the body schema.

    Parameters
    ----------
    data
        The bytes as found in the DHT.
    round, stage, kind
        What the record was fetched as; an envelope signed for anything else is a replay.
    max_bytes
        Size limit, checked before parsing.
    signer
        If given, the base58 peer id the record claims to come from (its DHT subkey).

    Returns
    -------
    Envelope
        The verified envelope.

    Raises
    ------
    PayloadTooLarge, PayloadMalformed, PayloadWrongRound, PayloadWrongPeer, PayloadBadSignature, PayloadSchemaError
        See each class; all derive from PayloadError.
    """
    _check_binding(round, stage, kind)
    # LOAD: size first, then the strict canonical parse
    if not isinstance(data, bytes | bytearray):
        raise PayloadMalformed(f"payload is {type(data).__name__}, not bytes")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"payload is {len(data)} bytes, limit {max_bytes}")
    env = _parse(bytes(data))
    # BINDING: a record signed for another round, stage or kind is a replay, whatever its signature
    if (env.round, env.stage, env.kind) != (round, stage, kind):
        raise PayloadWrongRound(
            f"envelope is for round {env.round} stage {env.stage} kind {env.kind!r}, "
            f"expected round {round} stage {stage} kind {kind!r}"
        )
    if signer is not None and env.peer_id_base58 != signer:
        raise PayloadWrongPeer(f"envelope signed by {env.peer_id_base58} presented as {signer!r}")
    # SIGNATURE: the key must hash to the peer id, and sign exactly these fields
    if hashlib.sha256(env.public_key).digest() != env.peer_id:
        raise PayloadBadSignature(f"peer id {env.peer_id.hex()} is not the SHA-256 of the public key")
    key = _load_public_key(env.public_key)
    message = signing_message(peer_id=env.peer_id, round=env.round, stage=env.stage, kind=env.kind, body=env.body)
    try:
        key.verify(env.signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise PayloadBadSignature(f"signature of {env.peer_id_base58} does not verify") from None
    # SCHEMA: only signed bodies get this far
    validate_body(kind, env.body)
    return env


# ------------------------------------------------------------ schemas


def validate_body(kind: str, body: Any) -> None:
    """Raise PayloadSchemaError unless `body` is a valid body of `kind`: its schema `swarm-{kind}`
    (offchain/protocol/schemas, docs/protocol.md), then the invariants the schema lists but cannot express."""
    assert kind in KINDS, f"unknown payload kind {kind!r}, expected one of {KINDS}"
    try:
        protocol.validate(f"swarm-{kind}", body)
    except protocol.SchemaViolation as exc:
        raise PayloadSchemaError(f"{kind} body: {exc}") from None
    if kind == ROLLOUTS:
        _rollouts_invariants(body)
    else:
        _critiques_invariants(body)


def _rollouts_invariants(body: dict[str, Any]) -> None:
    """One completions and rewards entry per question, one G, one completion length (schema's x-invariants)."""
    questions, completions, rewards = body["questions"], body["completions"], body["rewards"]
    n = len(questions)
    for name, value in (("completions", completions), ("rewards", rewards)):
        if len(value) != n:
            raise PayloadSchemaError(f"{name} has {len(value)} items, expected {n} (one per question)")
    group, length = len(completions[0]), len(completions[0][0])
    for i, per_question in enumerate(completions):
        if len(per_question) != group:  # INVARIANT: the same G for every question
            raise PayloadSchemaError(f"completions[{i}] has {len(per_question)} items, expected {group}")
        for j, completion in enumerate(per_question):
            if len(completion) != length:  # INVARIANT: one completion length
                raise PayloadSchemaError(f"completions[{i}][{j}] has {len(completion)} items, expected {length}")
    for i, per_question in enumerate(rewards):
        if len(per_question) != group:
            raise PayloadSchemaError(f"rewards[{i}] has {len(per_question)} items, expected {group}")
    for i, per_question in enumerate(rewards):
        for j, reward in enumerate(per_question):
            if not math.isfinite(reward):
                raise PayloadSchemaError(f"rewards[{i}][{j}] = {reward} is not finite")


def _critiques_invariants(body: dict[str, Any]) -> None:
    """Every key a canonical base58 SHA-256 peer id, every score finite."""
    for peer, score in body["scores"].items():
        if not _is_peer_id_base58(peer):
            raise PayloadSchemaError(f"scores key {peer!r} is not a base58 SHA-256 peer id")
        if not math.isfinite(score):
            raise PayloadSchemaError(f"scores[{peer}] = {score} is not finite")


def _is_peer_id_base58(value: Any) -> bool:
    """A canonical base58 SHA-256 multihash peer id, as hivemind prints them."""
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        raw = PeerID.from_base58(value).to_bytes()
    except ValueError:
        return False
    return len(raw) == 34 and raw.startswith(_SHA256_MULTIHASH_PREFIX) and PeerID(raw).to_base58() == value


# ------------------------------------------------------------ encoding


def _canonical(obj: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII, no NaN: one byte string per value."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse(data: bytes) -> Envelope:
    """Decode a canonical envelope; every structural problem is PayloadMalformed."""
    try:
        obj = json.loads(data.decode("ascii"), parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
        canonical = _canonical(obj) == data  # floats such as 1e999 parse to inf and fail to re-encode
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PayloadMalformed(f"not canonical JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise PayloadMalformed(f"envelope is a JSON {type(obj).__name__}, not an object")
    if set(obj) != _FIELDS:
        raise PayloadMalformed(f"envelope has fields {sorted(obj)}, expected {sorted(_FIELDS)}")
    if not canonical:
        raise PayloadMalformed("envelope is not canonically encoded")
    try:  # v, round, stage, kind, hex fields and their sizes: the swarm-envelope schema
        protocol.validate("swarm-envelope", obj)
    except protocol.SchemaViolation as exc:
        raise PayloadMalformed(f"envelope: {exc}") from None
    raw = {name: bytes.fromhex(obj[name]) for name in ("peer_id", "public_key", "signature")}
    return Envelope(
        peer_id=raw["peer_id"],
        public_key=raw["public_key"],
        round=obj["round"],
        stage=obj["stage"],
        kind=obj["kind"],
        body=obj["body"],
        signature=raw["signature"],
    )


def _load_public_key(data: bytes) -> rsa.RSAPublicKey:
    """Parse a libp2p RSA public key, accepting only its canonical serialisation (so the peer id is hivemind's)."""
    try:
        proto = crypto_pb2.PublicKey.FromString(data)
        key = serialization.load_der_public_key(proto.data)
    except Exception as exc:  # protobuf and DER errors have no common base class
        raise PayloadBadSignature(f"public key is not a libp2p key: {exc}") from None
    if proto.key_type != crypto_pb2.KeyType.RSA or not isinstance(key, rsa.RSAPublicKey):
        raise PayloadBadSignature("public key is not an RSA key")
    if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise PayloadBadSignature(f"RSA key has {key.key_size} bits, expected {MIN_RSA_BITS}..{MAX_RSA_BITS}")
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if crypto_pb2.PublicKey(key_type=crypto_pb2.KeyType.RSA, data=spki).SerializeToString() != data:
        raise PayloadBadSignature("public key is not canonically serialised")
    return key


def _check_binding(round: int, stage: int, kind: str) -> None:
    """Programmer contract on the caller's own (round, stage, kind)."""
    assert type(round) is int and 0 <= round <= MAX_ROUND, f"round must be an int in 0..{MAX_ROUND}, got {round!r}"
    assert type(stage) is int and 0 <= stage <= MAX_STAGE, f"stage must be an int in 0..{MAX_STAGE}, got {stage!r}"
    assert kind in KINDS, f"unknown payload kind {kind!r}, expected one of {KINDS}"
