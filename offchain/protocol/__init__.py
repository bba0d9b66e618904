"""The communication standard: JSON Schemas of every JSON message that crosses a process boundary, one source.

The schemas live in `offchain/protocol/schemas/*.schema.json` (JSON Schema 2020-12, plus `x-version`,
`x-max-bytes` and `x-invariants`: what a schema cannot say). The code validates against them
(offchain/swarm/payloads.py: gossip envelopes and bodies; offchain/verde/job.py: job specs) and
tools/gen_protocol_doc.py renders them, with the contracts' ABIs, into docs/protocol.md. This package imports
nothing else from `offchain`.

Two readings are stricter than plain JSON Schema, because the wire format is canonical JSON where `1` and `1.0`
are different bytes: an `integer` is a JSON number written without fraction or exponent (Python int, never bool
or 1.0), and `"format": "float"` (enforced) is one written with them (Python float, never 1).

    from offchain.protocol import validate, SchemaViolation
    validate("job-spec", {"steps": 4})                      # None, or raises SchemaViolation (path and reason)
    errors("swarm-rollouts", body)                          # every violation, in document order

Run its tests with `.venv/bin/python -m pytest tests/protocol -q -p no:cacheprovider`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SUFFIX = ".schema.json"


class SchemaViolation(ValueError):
    """A message that breaks its schema: `path` is where (e.g. "completions[0][1]"), `keyword` which rule."""

    def __init__(self, schema: str, path: str, keyword: str, message: str, value: Any) -> None:
        super().__init__(f"{path or '(top level)'}: {message}")
        self.schema = schema
        self.path = path
        self.keyword = keyword
        self.reason = message
        self.value = value


def _strict_integer(checker: Any, instance: Any) -> bool:
    return type(instance) is int


def _number(checker: Any, instance: Any) -> bool:
    return type(instance) in (int, float)


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("float")(lambda instance: type(instance) is float or type(instance) not in (int, float, bool))

_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _strict_integer, "number": _number}),
)


def names() -> list[str]:
    """Every schema's name (its file name without `.schema.json`), sorted."""
    return sorted(p.name[: -len(SUFFIX)] for p in SCHEMA_DIR.glob(f"*{SUFFIX}"))


@cache
def _load(name: str) -> dict[str, Any]:
    path = SCHEMA_DIR / f"{name}{SUFFIX}"
    if not path.is_file():
        raise KeyError(f"no schema {name!r} in {SCHEMA_DIR} (the schemas are {', '.join(names())})")
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return schema


def schema(name: str) -> dict[str, Any]:
    """The schema `name` as a fresh dict (callers may read limits from it: `schema(n)["properties"]...`)."""
    return json.loads(json.dumps(_load(name)))


@cache
def _validator(name: str) -> Any:
    return _Validator(_load(name), format_checker=_FORMATS)


def _where(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _violation(name: str, error: ValidationError) -> SchemaViolation:
    return SchemaViolation(name, _where(error), str(error.validator), error.message, error.instance)


def _order(error: ValidationError) -> tuple[list[tuple[int, Any]], str]:
    return [(0, p) if isinstance(p, int) else (1, p) for p in error.absolute_path], str(error.validator)


def errors(name: str, obj: Any) -> list[SchemaViolation]:
    """Every way `obj` breaks schema `name`, ordered by where in the document (then by rule)."""
    found = sorted(_validator(name).iter_errors(obj), key=_order)
    return [_violation(name, e) for e in found]


def validate(name: str, obj: Any) -> None:
    """Raise SchemaViolation (the first violation in document order) unless `obj` matches schema `name`."""
    found = errors(name, obj)
    if found:
        raise found[0]
