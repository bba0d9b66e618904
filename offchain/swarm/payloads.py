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

NOTE: hivemind's own `RSAPublicKey.verify` checks PSS signatures over OpenSSH-encoded keys; our identities sign
with PKCS#1 v1.5 (like the registry proof), so verification uses `cryptography` directly on the libp2p key.

Run its tests with `.venv/bin/python -m pytest tests/swarm_node/test_payloads.py -p no:cacheprovider`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hivemind.p2p import PeerID
from hivemind.proto import crypto_pb2

from offchain.identity import PeerIdentity, peer_id_from_digest

# ------------------------------------------------------------ constants

# Largest envelope accepted or produced, in bytes. SAFETY: values over 16 KiB cross hivemind's parent -> DHT
# process pipe in two writes, and that pipe's non-blocking reader can then fail with EAGAIN and kill the DHT
# process (seen with hivemind 1.1.12 at 50 KB; gensyn-ai/rl-swarm#216), so a record must stay well below that.
MAX_PAYLOAD_BYTES = 8 * 1024
VERSION = 1  # envelope format version, signed
DOMAIN_TAG = b"swarm-payload-v1\x00"  # prefix of every signed message: no other signature of ours verifies here

ROLLOUTS = "rollouts"  # stage 0: a peer's questions, G completions each, and their rewards
CRITIQUES = "critiques"  # stage 1: a peer's score of each other peer
KINDS = (ROLLOUTS, CRITIQUES)

VOCAB = 12  # = offchain.model.task.VOCAB (digits, '+', '='); not imported, that module pulls in torch
MAX_QUESTIONS = 64  # questions per rollouts body
MAX_GROUP = 32  # completions per question (G)
MAX_COMPLETION_TOKENS = 16  # tokens per completion (digits + 1 for the addition task)
MAX_QUESTION_ID = 2**53 - 1  # pair ids a * 10^d + b; kept exact in any JSON reader
MAX_SCORED_PEERS = 256  # entries in a critiques body
MAX_ROUND = 2**64 - 1  # rounds and stages are chain integers; bounded so they stay cheap to handle
MAX_STAGE = 255
MIN_RSA_BITS, MAX_RSA_BITS = 2048, 4096  # hivemind keys are 2048-bit; bigger keys only cost verification time
MAX_SIGNATURE_BYTES = MAX_RSA_BITS // 8

_FIELDS = frozenset({"body", "kind", "peer_id", "public_key", "round", "signature", "stage", "v"})
_HEX = re.compile(r"(?:[0-9a-f]{2})*")
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
    """Raise PayloadSchemaError unless `body` is a valid body of `kind` (see docs/swarm-node.md)."""
    assert kind in KINDS, f"unknown payload kind {kind!r}, expected one of {KINDS}"
    if not isinstance(body, dict):
        raise PayloadSchemaError(f"body is {type(body).__name__}, not an object")
    if kind == ROLLOUTS:
        _validate_rollouts(body)
    else:
        _validate_critiques(body)


def _validate_rollouts(body: dict[str, Any]) -> None:
    """questions[q], completions[q][g][t] (token ids, one length throughout), rewards[q][g] in [0, 1]."""
    _exact_keys(body, {"questions", "completions", "rewards"})
    questions, completions, rewards = body["questions"], body["completions"], body["rewards"]
    _list(questions, "questions", 1, MAX_QUESTIONS)
    for i, q in enumerate(questions):
        _int(q, f"questions[{i}]", 0, MAX_QUESTION_ID)
    n = len(questions)
    _list(completions, "completions", n, n)
    _list(rewards, "rewards", n, n)
    group = length = None
    for i, per_question in enumerate(completions):
        _list(per_question, f"completions[{i}]", 1, MAX_GROUP)
        group = len(per_question) if group is None else group
        _list(per_question, f"completions[{i}]", group, group)  # INVARIANT: the same G for every question
        for j, completion in enumerate(per_question):
            _list(completion, f"completions[{i}][{j}]", 1, MAX_COMPLETION_TOKENS)
            length = len(completion) if length is None else length
            _list(completion, f"completions[{i}][{j}]", length, length)  # INVARIANT: one completion length
            for t, token in enumerate(completion):
                _int(token, f"completions[{i}][{j}][{t}]", 0, VOCAB - 1)
    for i, per_question in enumerate(rewards):
        _list(per_question, f"rewards[{i}]", group, group)
        for j, reward in enumerate(per_question):
            _float(reward, f"rewards[{i}][{j}]", 0.0, 1.0)


def _validate_critiques(body: dict[str, Any]) -> None:
    """scores: {base58 peer id: finite float}."""
    _exact_keys(body, {"scores"})
    scores = body["scores"]
    if not isinstance(scores, dict):
        raise PayloadSchemaError(f"scores is {type(scores).__name__}, not an object")
    if len(scores) > MAX_SCORED_PEERS:
        raise PayloadSchemaError(f"scores has {len(scores)} entries, at most {MAX_SCORED_PEERS}")
    for peer, score in scores.items():
        if not _is_peer_id_base58(peer):
            raise PayloadSchemaError(f"scores key {peer!r} is not a base58 SHA-256 peer id")
        _float(score, f"scores[{peer}]", -math.inf, math.inf)


def _exact_keys(obj: dict[str, Any], keys: set[str]) -> None:
    if set(obj) != keys:
        raise PayloadSchemaError(f"body has fields {sorted(map(str, obj))}, expected {sorted(keys)}")


def _list(value: Any, name: str, lo: int, hi: int) -> None:
    if not isinstance(value, list):
        raise PayloadSchemaError(f"{name} is {type(value).__name__}, not a list")
    if not lo <= len(value) <= hi:
        want = f"{lo}" if lo == hi else f"{lo}..{hi}"
        raise PayloadSchemaError(f"{name} has {len(value)} items, expected {want}")


def _int(value: Any, name: str, lo: int, hi: int) -> None:
    if type(value) is not int:  # bool is an int subclass; JSON true is not a token id
        raise PayloadSchemaError(f"{name} is {type(value).__name__}, not an int")
    if not lo <= value <= hi:
        raise PayloadSchemaError(f"{name} = {value} is outside {lo}..{hi}")


def _float(value: Any, name: str, lo: float, hi: float) -> None:
    if type(value) is not float:
        raise PayloadSchemaError(f"{name} is {type(value).__name__}, not a float")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise PayloadSchemaError(f"{name} = {value} is outside [{lo}, {hi}]")


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
    if obj["v"] != VERSION or type(obj["v"]) is not int:
        raise PayloadMalformed(f"envelope version {obj['v']!r}, expected {VERSION}")
    for name, hi in (("round", MAX_ROUND), ("stage", MAX_STAGE)):
        if type(obj[name]) is not int or not 0 <= obj[name] <= hi:
            raise PayloadMalformed(f"{name} {obj[name]!r} is not an integer in 0..{hi}")
    if not isinstance(obj["kind"], str) or obj["kind"] not in KINDS:
        raise PayloadMalformed(f"kind {obj['kind']!r} is not one of {KINDS}")
    if not isinstance(obj["body"], dict):
        raise PayloadMalformed(f"body is a JSON {type(obj['body']).__name__}, not an object")
    raw = {}
    sizes = (("peer_id", 32, 32), ("public_key", 1, MAX_RSA_BITS), ("signature", 1, MAX_SIGNATURE_BYTES))
    for name, lo, hi in sizes:
        value = obj[name]
        if not isinstance(value, str) or not _HEX.fullmatch(value) or not lo <= len(value) // 2 <= hi:
            raise PayloadMalformed(f"{name} is not {lo}..{hi} bytes of lowercase hex")
        raw[name] = bytes.fromhex(value)
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
