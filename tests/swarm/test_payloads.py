"""Signed swarm envelopes: round trip, canonical bytes, and every way an untrusted payload is rejected.

Run with `.venv/bin/python -m pytest tests/swarm/test_payloads.py -p no:cacheprovider`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from offchain.identity import PeerIdentity
from offchain.swarm.payloads import (
    ADDITION_VOCAB,
    MAX_MIX_TASKS,
    MAX_PAYLOAD_BYTES,
    MAX_QUESTIONS,
    VOCAB,
    PayloadBadSignature,
    PayloadError,
    PayloadMalformed,
    PayloadSchemaError,
    PayloadTooLarge,
    PayloadWrongPeer,
    PayloadWrongRound,
    open_envelope,
    seal,
    signing_message,
)

ROUND, STAGE, KIND = 7, 0, "rollouts"
BODY = {  # 2 questions, G = 2 completions of 3 tokens (2-digit addition)
    "questions": [1203, 77],
    "completions": [[[1, 2, 3], [4, 5, 6]], [[0, 0, 1], [9, 9, 11]]],
    "rewards": [[1.0, 0.1], [0.0, 0.0333]],
}
FAMILY_BODY = {  # a family node's: global ids, 4-token answers over the 28-token vocabulary, its task and mix
    "questions": [251, 1_060_042],
    "completions": [[[14, 17, 17, 17], [27, 0, 17, 17]], [[3, 17, 17, 17], [1, 2, 3, 4]]],
    "rewards": [[1.0, 0.05], [1.0, 0.0]],
    "task": "ab" * 32,
    "mix": [4, 4, 4, 1, 1, 1],
}


@pytest.fixture(scope="module")
def ann() -> PeerIdentity:
    return PeerIdentity.generate()


@pytest.fixture(scope="module")
def ben() -> PeerIdentity:
    return PeerIdentity.generate()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _signed(
    identity: PeerIdentity,
    *,
    round: int = ROUND,
    stage: int = STAGE,
    kind: str = KIND,
    body: dict[str, Any] = BODY,
    peer_id: bytes | None = None,
    public_key: bytes | None = None,
    signed_by: PeerIdentity | None = None,
) -> dict[str, Any]:
    """An envelope object signed without seal's schema check, with any field overridden."""
    peer_id = identity.peer_id_digest if peer_id is None else peer_id
    message = signing_message(peer_id=peer_id, round=round, stage=stage, kind=kind, body=body)
    return {
        "body": body,
        "kind": kind,
        "peer_id": peer_id.hex(),
        "public_key": (identity.public_key_bytes if public_key is None else public_key).hex(),
        "round": round,
        "signature": (signed_by or identity).sign(message).hex(),
        "stage": stage,
        "v": 1,
    }


def _open(data: Any, **kwargs: Any):
    return open_envelope(data, **{"round": ROUND, "stage": STAGE, "kind": KIND, **kwargs})


# ------------------------------------------------------------ round trip


def test_seal_open_round_trip_returns_body_and_signer(ann):
    """An envelope sealed by a peer opens to the same body, binding and the signer's peer id and key."""
    env = _open(seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY))
    assert env.body == BODY
    assert (env.round, env.stage, env.kind) == (ROUND, STAGE, KIND)
    assert env.peer_id == ann.peer_id_digest
    assert env.public_key == ann.public_key_bytes
    assert env.peer_id_base58 == ann.peer_id.to_base58()


def test_seal_family_rollouts_round_trip(ann):
    """A family node's body (tokens up to 27, its task digest and mix) is accepted as it was signed."""
    env = _open(seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=FAMILY_BODY))
    assert env.body == FAMILY_BODY


def test_seal_critiques_round_trip(ann, ben):
    """A critiques body scoring peers by base58 id opens unchanged, negative log-likelihood scores included."""
    body = {"scores": {ben.peer_id.to_base58(): 0.75, ann.peer_id.to_base58(): -3.5}}
    data = seal(ann, round=ROUND, stage=1, kind="critiques", body=body)
    assert open_envelope(data, round=ROUND, stage=1, kind="critiques").body == body


def test_seal_output_is_canonical_json(ann):
    """seal writes sorted keys, no whitespace, ASCII, byte strings as lowercase hex, and is deterministic."""
    data = seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY)
    obj = json.loads(data)
    assert data == _canonical(obj)
    assert obj["peer_id"] == ann.peer_id_digest.hex() and obj["v"] == 1
    assert data == seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY)  # PKCS#1 v1.5 is deterministic


def test_open_accepts_signer_matching_peer(ann):
    """Naming the expected signer (its DHT subkey) accepts that signer's envelope."""
    data = seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY)
    assert _open(data, signer=ann.peer_id.to_base58()).body == BODY


# ------------------------------------------------------------ tampering and replay


@pytest.mark.parametrize(
    "field, value",
    [("round", ROUND + 1), ("stage", 1), ("kind", "critiques")],
)
def test_open_tampered_binding_bad_signature(ann, field, value):
    """Rewriting the round, stage or kind of a signed envelope (and fetching it as such) breaks the signature."""
    obj = json.loads(seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY))
    obj[field] = value
    with pytest.raises(PayloadBadSignature):
        _open(_canonical(obj), **{field: value})


def test_open_tampered_body_bad_signature(ann):
    """Changing one reward of a signed body breaks the signature."""
    obj = json.loads(seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY))
    obj["body"]["rewards"][1][1] = 1.0
    with pytest.raises(PayloadBadSignature):
        _open(_canonical(obj))


@pytest.mark.parametrize(
    "expected",
    [{"round": ROUND + 1}, {"round": ROUND - 1}, {"stage": 1}, {"kind": "critiques"}],
)
def test_open_replay_into_other_binding_wrong_round(ann, expected):
    """A valid envelope fetched as another round, stage or kind is a replay."""
    data = seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY)
    with pytest.raises(PayloadWrongRound):
        _open(data, **expected)


def test_open_signed_by_other_key_bad_signature(ann, ben):
    """Ann's peer id and key with Ben's signature does not verify."""
    with pytest.raises(PayloadBadSignature):
        _open(_canonical(_signed(ann, signed_by=ben)))


def test_open_peer_id_not_hash_of_key_bad_signature(ann, ben):
    """Ben signing a claim to be Ann (Ann's peer id, Ben's key) fails: the peer id is not his key's hash."""
    forged = _signed(ben, peer_id=ann.peer_id_digest)
    with pytest.raises(PayloadBadSignature, match="SHA-256"):
        _open(_canonical(forged))


def test_open_signer_mismatch_wrong_peer(ann, ben):
    """Ann's valid envelope presented as Ben's (under his subkey) is rejected, as a kind of bad signature."""
    data = seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY)
    with pytest.raises(PayloadWrongPeer) as info:
        _open(data, signer=ben.peer_id.to_base58())
    assert isinstance(info.value, PayloadBadSignature)


def test_open_short_rsa_key_bad_signature():
    """A correctly self-signed envelope from a 1024-bit RSA key is refused."""
    weak = PeerIdentity(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(PayloadBadSignature, match="bits"):
        _open(_canonical(_signed(weak)))


# ------------------------------------------------------------ size and encoding


def test_open_oversized_too_large_before_parsing():
    """Anything longer than the limit is rejected by size alone."""
    with pytest.raises(PayloadTooLarge):
        _open(b"{" + b" " * MAX_PAYLOAD_BYTES + b"}")


def test_open_valid_envelope_over_caller_limit_too_large(ann):
    """A valid envelope longer than the caller's max_bytes is rejected."""
    data = seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY)
    with pytest.raises(PayloadTooLarge):
        _open(data, max_bytes=len(data) - 1)


def test_seal_over_limit_too_large(ann):
    """seal refuses to produce an envelope that readers would reject for size."""
    body = {
        "questions": list(range(MAX_QUESTIONS)),
        "completions": [[[1, 2, 3]] * 8] * MAX_QUESTIONS,
        "rewards": [[0.123456789] * 8] * MAX_QUESTIONS,
    }
    with pytest.raises(PayloadTooLarge):
        seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=body)


def _text(good: dict[str, Any]) -> str:
    return _canonical(good).decode()


def _edit(good: dict[str, Any], **fields: Any) -> bytes:
    return _canonical({**good, **fields})


MALFORMED = {  # case -> the bytes (or not bytes), made from a good envelope object
    "empty": lambda good: b"",
    "binary": lambda good: b"\xff\xfe\x00\x01",
    "not json": lambda good: b"rollouts please",
    "json list": lambda good: b"[1,2,3]",
    "str not bytes": _text,
    "whitespace": lambda good: json.dumps(good, sort_keys=True).encode(),
    "unsorted keys": lambda good: json.dumps(dict(reversed(list(good.items()))), separators=(",", ":")).encode(),
    "duplicate key": lambda good: _text(good).replace('{"body"', '{"v":1,"body"', 1).encode(),
    "nan": lambda good: _text(good).replace('"rewards":[[1.0', '"rewards":[[NaN', 1).encode(),
    "huge float": lambda good: _text(good).replace('"rewards":[[1.0', '"rewards":[[1e999', 1).encode(),
    "deep nesting": lambda good: b"[" * 3000 + b"]" * 3000,
    "missing field": lambda good: _canonical({k: v for k, v in good.items() if k != "signature"}),
    "extra field": lambda good: _edit(good, extra=1),
    "version 2": lambda good: _edit(good, v=2),
    "negative round": lambda good: _edit(good, round=-1),
    "bool round": lambda good: _edit(good, round=True),
    "unknown kind": lambda good: _edit(good, kind="votes"),
    "body list": lambda good: _edit(good, body=[1]),
    "uppercase hex": lambda good: _edit(good, signature=good["signature"].upper()),
    "short peer id": lambda good: _edit(good, peer_id=good["peer_id"][:-2]),
    "odd hex": lambda good: _edit(good, public_key=good["public_key"][:-1]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_open_malformed_bytes_malformed(ann, case):
    """Bytes that are not one canonical envelope with well-typed fields are malformed."""
    good = json.loads(seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BODY))
    with pytest.raises(PayloadMalformed):
        _open(MALFORMED[case](good))


# ------------------------------------------------------------ schemas


def _body(**changes: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(BODY)), **changes}


BAD_ROLLOUTS = {
    "token above vocab": _body(completions=[[[1, 2, ADDITION_VOCAB], [4, 5, 6]], [[0, 0, 1], [9, 9, 11]]]),
    "negative token": _body(completions=[[[1, 2, -1], [4, 5, 6]], [[0, 0, 1], [9, 9, 11]]]),
    "bool token": _body(completions=[[[1, 2, True], [4, 5, 6]], [[0, 0, 1], [9, 9, 11]]]),
    "float token": _body(completions=[[[1, 2, 3.0], [4, 5, 6]], [[0, 0, 1], [9, 9, 11]]]),
    "reward above 1": _body(rewards=[[1.5, 0.1], [0.0, 0.0]]),
    "negative reward": _body(rewards=[[-0.1, 0.1], [0.0, 0.0]]),
    "int reward": _body(rewards=[[1, 0.1], [0.0, 0.0]]),
    "str reward": _body(rewards=[["1.0", 0.1], [0.0, 0.0]]),
    "fewer completions than questions": _body(completions=[[[1, 2, 3], [4, 5, 6]]]),
    "fewer rewards than questions": _body(rewards=[[1.0, 0.1]]),
    "group sizes differ": _body(completions=[[[1, 2, 3], [4, 5, 6]], [[0, 0, 1]]]),
    "rewards not per completion": _body(rewards=[[1.0], [0.0]]),
    "completion lengths differ": _body(completions=[[[1, 2, 3], [4, 5]], [[0, 0, 1], [9, 9, 11]]]),
    "empty completion": _body(completions=[[[], []], [[], []]]),
    "no questions": _body(questions=[], completions=[], rewards=[]),
    "too many questions": _body(
        questions=[1] * (MAX_QUESTIONS + 1),
        completions=[[[1]]] * (MAX_QUESTIONS + 1),
        rewards=[[0.0]] * (MAX_QUESTIONS + 1),
    ),
    "negative question": _body(questions=[-5, 77]),
    "questions not a list": _body(questions={"0": 1}),
    "extra field": _body(notes="hi"),
    "missing field": {"questions": [1], "completions": [[[1]]]},
    "family token above vocab": {**FAMILY_BODY, "completions": [[[VOCAB, 17, 17, 17]] * 2] * 2},
    "task without mix": {k: v for k, v in FAMILY_BODY.items() if k != "mix"},
    "mix without task": {k: v for k, v in FAMILY_BODY.items() if k != "task"},
    "task not a digest": {**FAMILY_BODY, "task": "family"},
    "negative mix weight": {**FAMILY_BODY, "mix": [4, -1]},
    "float mix weight": {**FAMILY_BODY, "mix": [4.0, 1]},
    "mix too long": {**FAMILY_BODY, "mix": [1] * (MAX_MIX_TASKS + 1)},
}


@pytest.mark.parametrize("case", sorted(BAD_ROLLOUTS))
def test_open_bad_rollouts_schema_error(ann, case):
    """A correctly signed rollouts body that breaks the schema is rejected."""
    with pytest.raises(PayloadSchemaError):
        _open(_canonical(_signed(ann, body=BAD_ROLLOUTS[case])))


@pytest.mark.parametrize(
    "scores",
    [
        {"not-a-peer": 0.5},
        {"Qm11111111111111111111111111111111111111111111": 0.5},  # base58, but not a SHA-256 multihash
        {"PEER": 1},
        {"PEER": "high"},
        [["PEER", 0.5]],
    ],
)
def test_open_bad_critiques_schema_error(ann, scores):
    """A correctly signed critiques body with a non-peer-id key or a non-float score is rejected."""
    peer = ann.peer_id.to_base58()
    if isinstance(scores, dict):
        scores = {(peer if k == "PEER" else k): v for k, v in scores.items()}
    body = {"scores": scores}
    with pytest.raises(PayloadSchemaError):
        open_envelope(
            _canonical(_signed(ann, stage=1, kind="critiques", body=body)), round=ROUND, stage=1, kind="critiques"
        )


def test_seal_bad_schema_raises_before_signing(ann):
    """seal refuses a body its readers would reject."""
    with pytest.raises(PayloadSchemaError):
        seal(ann, round=ROUND, stage=STAGE, kind=KIND, body=BAD_ROLLOUTS["token above vocab"])


def test_every_rejection_is_a_payload_error():
    """Callers can catch one base class for every rejection."""
    for cls in (PayloadTooLarge, PayloadMalformed, PayloadSchemaError, PayloadWrongRound, PayloadBadSignature):
        assert issubclass(cls, PayloadError)


def test_vocab_matches_the_tasks():
    """The schema's vocabulary sizes are the models' (kept as literals so payloads do not import torch): the
    addition task's for a body without "task", the task family's for one with it."""
    from offchain.model.family import TASK_NAMES
    from offchain.model.family import VOCAB as FAMILY_VOCAB
    from offchain.model.task import VOCAB as TASK_VOCAB

    assert ADDITION_VOCAB == TASK_VOCAB and VOCAB == FAMILY_VOCAB and MAX_MIX_TASKS == len(TASK_NAMES)
