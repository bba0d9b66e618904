"""The communication standard: the schemas are valid, the code validates against them and reads its limits from
them, every payload carries its version, and docs/protocol.md is exactly what tools/gen_protocol_doc.py makes.

Run with `.venv/bin/python -m pytest tests/protocol -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import fields
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from offchain import protocol
from offchain.swarm import payloads
from offchain.verde.job import SPEC_VERSION, SpecError, VerdeJob, load_spec, spec_from_dict, spec_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", protocol.names())
def test_every_schema_is_valid_and_versioned(name):
    """Each schema file is JSON Schema 2020-12 and states its version and title."""
    schema = protocol.schema(name)
    Draft202012Validator.check_schema(schema)
    assert isinstance(schema["x-version"], int) and schema["title"] and schema["description"]


def test_unknown_schema_is_a_clear_error():
    with pytest.raises(KeyError, match="no schema 'nope'.*the schemas are job-spec"):
        protocol.validate("nope", {})


def test_violation_names_the_place():
    with pytest.raises(protocol.SchemaViolation, match=r"^completions\[0\]\[1\]\[2\]: 12 is greater") as err:
        protocol.validate("swarm-rollouts", {"questions": [1], "completions": [[[1], [1, 2, 12]]], "rewards": [[0.5]]})
    assert err.value.keyword == "maximum" and err.value.value == 12


def test_integers_and_floats_are_told_apart():
    """The wire is canonical JSON: a token 3.0 is not an integer, a reward 1 is not a float, true is neither."""
    rollouts = {"questions": [1], "completions": [[[3]]], "rewards": [[1.0]]}
    protocol.validate("swarm-rollouts", rollouts)
    for bad in (
        {**rollouts, "completions": [[[3.0]]]},
        {**rollouts, "rewards": [[1]]},
        {**rollouts, "questions": [True]},
    ):
        assert protocol.errors("swarm-rollouts", bad)


def test_payload_limits_come_from_the_schemas():
    """payloads.py reads its limits from the swarm schemas (one source) and they are the documented ones."""
    rollouts = protocol.schema("swarm-rollouts")["properties"]
    assert payloads.MAX_QUESTIONS == rollouts["questions"]["maxItems"] == 64
    assert payloads.MAX_GROUP == 32 and payloads.MAX_COMPLETION_TOKENS == 16 and payloads.MAX_SCORED_PEERS == 256
    assert payloads.MAX_PAYLOAD_BYTES == protocol.schema("swarm-envelope")["x-max-bytes"] == 8 * 1024
    assert payloads.VERSION == 1 and payloads.KINDS == ("rollouts", "critiques")
    from offchain.model.family import VOCAB as FAMILY_VOCAB
    from offchain.model.task import VOCAB

    assert payloads.ADDITION_VOCAB == VOCAB and payloads.VOCAB == FAMILY_VOCAB


def test_job_spec_schema_is_the_verde_job():
    """The job-spec schema's fields are `version` and VerdeJob's, with VerdeJob's defaults."""
    props = protocol.schema("job-spec")["properties"]
    assert list(props) == ["version"] + [f.name for f in fields(VerdeJob)]
    defaults = json.loads(spec_json(VerdeJob()))
    assert {name: p["default"] for name, p in props.items()} == defaults


def test_job_spec_carries_its_version(tmp_path):
    """A written spec says version 1; a spec without a version loads as version 1; another version is refused."""
    assert json.loads(spec_json(VerdeJob()))["version"] == SPEC_VERSION == 1
    assert json.loads((ROOT / "examples" / "job.json").read_text())["version"] == 1
    assert spec_from_dict({"steps": 4}) == spec_from_dict({"version": 1, "steps": 4}) == VerdeJob(steps=4)
    path = tmp_path / "job.json"
    for version in (2, "1", True, None):
        path.write_text(json.dumps({"version": version, "steps": 4}))
        with pytest.raises(SpecError, match=rf"^{path}: job spec version .* is not supported"):
            load_spec(path)


def test_envelope_carries_its_version():
    """Every gossip envelope carries `v`, signed; another value is malformed."""
    from offchain.identity import PeerIdentity

    ident = PeerIdentity.generate()
    body = {"scores": {ident.peer_id.to_base58(): 0.5}}
    data = payloads.seal(ident, round=1, stage=1, kind="critiques", body=body)
    assert json.loads(data)["v"] == 1
    with pytest.raises(payloads.PayloadMalformed, match="v: 1 was expected"):
        payloads.open_envelope(data.replace(b'"v":1', b'"v":2'), round=1, stage=1, kind="critiques")


def test_protocol_doc_is_generated():
    """docs/protocol.md is exactly the generator's output (regenerate: .venv/bin/python tools/gen_protocol_doc.py)."""
    gen = runpy.run_path(str(ROOT / "tools" / "gen_protocol_doc.py"))
    assert (ROOT / "docs" / "protocol.md").read_text() == gen["render"](), (
        "docs/protocol.md is stale: run .venv/bin/python tools/gen_protocol_doc.py"
    )
