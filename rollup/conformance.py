"""The Ethereum JSON-RPC conformance suite (ethereum/execution-apis tests/, hive's `rpc-compat`) judged as hive
judges it, so that our node is measured by a suite that every execution client answers to and that we did not write.

    cases = load_cases(VECTORS / "tests")                  # every .io file, in hive's (lexical) order
    schemas = load_result_schemas(VECTORS / "result-schemas.json")
    with NodeProcess.start(genesis, chain_rlp) as node:
        verdict = run_case(cases[0], HttpPoster(node.url), schemas)

A port of hive's simulators/ethereum/rpc-compat (main.go, testload.go, schema.go): a case is header comments then
`>> request` / `<< response` lines; each response must equal the recorded one as JSON (key order free, numbers
compared as numbers), except that the `message` of every `error` object present on both sides is dropped first
(clients word errors differently; codes and data still count), and a `speconly` case's non-error responses are only
validated against the method's OpenRPC result schema (docs/conformance.md).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "execution-apis"
SERVING = re.compile(r"^rollup node: serving (http://\S+)")
READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 5.0  # hive's http.Client timeout


class CaseFormatError(ValueError):
    """A .io file that hive's loader would refuse (hive then runs no case at all)."""


@dataclass(frozen=True)
class Message:
    data: str  # the JSON text after `>>` or `<<`, sent or compared as it is
    send: bool

    @property
    def method(self) -> str:
        body = json.loads(self.data)
        return body.get("method", "") if isinstance(body, dict) else ""


@dataclass(frozen=True)
class Case:
    name: str  # "<method folder>/<file name without .io>", hive's test name
    comment: str
    speconly: bool
    messages: tuple[Message, ...]

    @property
    def method(self) -> str:
        return self.name.split("/", 1)[0]


def _strict_json(text: str) -> Any:
    """json.loads without Python's NaN/Infinity extension, which gjson.Valid (hive) rejects."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def parse_case(name: str, text: str) -> Case:
    """testload.go's loadTestFile: blank lines skipped, `//` lines before the first message are the header
    (`speconly:` there marks the case), later ones ignored, every message must be valid JSON."""
    comment, speconly, messages, in_header = "", False, [], True
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("//"):
            if not in_header:
                continue
            body = line[2:].removeprefix(" ")
            comment += body + "\n"
            speconly = speconly or body.startswith("speconly:")
        elif line.startswith((">>", "<<")):
            in_header = False
            data = line[2:].strip()
            try:
                _strict_json(data)
            except ValueError as e:
                raise CaseFormatError(f"{name}: invalid JSON in line {line[:80]!r}: {e}") from None
            messages.append(Message(data, line.startswith(">>")))
        else:
            raise CaseFormatError(f"{name}: invalid test line: {line[:80]!r}")
    return Case(name, comment, speconly, tuple(messages))


def _walk(folder: Path) -> Iterator[Path]:
    # filepath.Walk's order: each directory's entries sorted by name, directories entered where they sort; this
    # differs from sorting whole paths when a name sorts between "dir" and "dir/" (e.g. "dir-x").
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir():
            yield from _walk(Path(entry.path))
        elif entry.name.endswith(".io"):
            yield Path(entry.path)


def load_cases(root: Path, select: str | None = None) -> list[Case]:
    """Every .io file under root whose name contains `select`, in the order hive runs them (order matters: the
    eth_sendRawTransaction cases fill the pool the txpool_* cases then read)."""
    cases = []
    for path in _walk(Path(root)):
        name = path.relative_to(root).with_suffix("").as_posix()
        if select is None or select in name:
            cases.append(parse_case(name, path.read_text()))
    return cases


def load_result_schemas(path: Path) -> dict[str, jsonschema.protocols.Validator]:
    """Method name -> validator of its OpenRPC result schema. Hive forces draft 2019-09, the draft the
    execution-apis schemas are written against; `format` is an annotation there, as in hive's validator."""
    doc = json.loads(Path(path).read_text())
    return {name: jsonschema.Draft201909Validator(schema) for name, schema in doc["methods"].items()}


# --- judging ---------------------------------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def redact_error_messages(resp: Any, expected: Any) -> bool:
    """main.go's redactErrorMessages, in place: drop `message` from every `error` object that has one on both
    sides, walking the expected tree beside the response (not into an error's own payload). True if any went."""
    redacted = False
    if isinstance(expected, dict) and isinstance(resp, dict):
        for key, want in expected.items():
            if key not in resp:
                continue
            got = resp[key]
            if key == "error":
                if isinstance(want, dict) and isinstance(got, dict) and "message" in want and "message" in got:
                    del want["message"], got["message"]
                    redacted = True
                continue
            redacted |= redact_error_messages(got, want)
    elif isinstance(expected, list) and isinstance(resp, list):
        for got, want in zip(resp, expected, strict=False):
            redacted |= redact_error_messages(got, want)
    return redacted


_ABSENT = object()


@dataclass(frozen=True)
class Difference:
    path: str  # e.g. "result.transactions[0].gas", "" for the whole document
    got: Any
    want: Any

    def __str__(self) -> str:
        def show(v: Any) -> str:
            text = "<absent>" if v is _ABSENT else json.dumps(v)
            return text if len(text) <= 160 else text[:157] + "..."

        return f"{self.path or '<root>'}: got {show(self.got)} want {show(self.want)}"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def first_difference(got: Any, want: Any, path: str = "") -> Difference | None:
    """The first place (keys in sorted order) where two JSON values differ as nsf/jsondiff with hive's
    CompareNumbers sees it: any extra or missing key or element is a difference, numbers equal as float64."""
    if _is_number(got) and _is_number(want):
        try:
            same = float(got) == float(want)
        except OverflowError:  # beyond float64 Go's json.Number.Float64 fails and hive compares the digits
            same = got == want
        return None if same else Difference(path, got, want)
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(got.keys() | want.keys()):
            d = first_difference(got.get(key, _ABSENT), want.get(key, _ABSENT), _join(path, key))
            if d:
                return d
        return None
    if isinstance(got, list) and isinstance(want, list):
        for i in range(max(len(got), len(want))):
            d = first_difference(got[i] if i < len(got) else _ABSENT, want[i] if i < len(want) else _ABSENT,
                                 _join(path, i))  # fmt: skip
            if d:
                return d
        return None
    # bool is an int in Python; JSON's true is not 1.
    same = type(got) is type(want) and got == want
    return None if same else Difference(path, got, want)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""  # why it failed, one line
    diff: Difference | None = None
    redacted: bool = False  # error messages were left out of the comparison

    def __str__(self) -> str:
        if self.ok:
            return "pass"
        text = f"{self.reason}: {self.diff}" if self.diff else self.reason
        return text + (" (error messages left out)" if self.redacted else "")


PASS = Verdict(True)


def judge_response(
    raw: bytes | str,
    expected: str,
    method: str,
    speconly: bool,
    schemas: dict[str, jsonschema.protocols.Validator],
) -> Verdict:
    """One `<<` line against what the node answered to the `>>` before it (main.go's runTest, receive branch)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        resp = _strict_json(text.strip())
    except ValueError:
        return Verdict(False, f"invalid JSON response: {text.strip()[:120]!r}")
    has_error = isinstance(resp, dict) and "error" in resp
    if speconly and not has_error:
        validator = schemas.get(method)
        if validator is None:
            return Verdict(False, f"no result schema for speconly method {method}")
        if not isinstance(resp, dict) or "result" not in resp:
            return Verdict(False, f"{method}: response has neither result nor error")
        errors = sorted(validator.iter_errors(resp["result"]), key=lambda e: list(e.absolute_path))
        if errors:
            where = "result" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in errors[0].absolute_path)
            msg = errors[0].message
            return Verdict(False, f"not a valid {method} result ({len(errors)} violations), {where}: {msg[:200]}")
        return PASS
    want = _strict_json(expected)
    redacted = redact_error_messages(resp, want)
    diff = first_difference(resp, want)
    return PASS if diff is None else Verdict(False, "response differs", diff, redacted)


class TransportError(Exception):
    """The request got no HTTP response (refused, reset, timed out)."""


Poster = Callable[[str], bytes]


def run_case(case: Case, post: Poster, schemas: dict[str, jsonschema.protocols.Validator]) -> Verdict:
    """Sends each `>>` and judges the `<<` after it, stopping at the first failure, as hive does."""
    pending: bytes | None = None
    method = ""
    for msg in case.messages:
        if msg.send:
            method = msg.method
            try:
                pending = post(msg.data)
            except TransportError as e:
                return Verdict(False, f"{method}: {e}")
            continue
        if pending is None:
            return Verdict(False, "invalid test, response before request")
        verdict = judge_response(pending, msg.data, method, case.speconly, schemas)
        if not verdict.ok:
            return verdict
        pending = None
    if pending is not None:
        return Verdict(False, "unhandled response in test case")
    return PASS


class HttpPoster:
    """POSTs a request body as application/json and returns the response body whatever the HTTP status (hive
    reads the body of a 4xx/5xx the same way)."""

    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT_S):
        self.url, self.timeout = url, timeout

    def __call__(self, data: str) -> bytes:
        req = urllib.request.Request(self.url, data.encode(), {"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            return e.read()
        except (urllib.error.URLError, OSError) as e:
            raise TransportError(f"write error: {getattr(e, 'reason', e)}") from None


# --- the node under test ----------------------------------------------------------------------------------------


class NodeStartError(RuntimeError):
    pass


@dataclass
class NodeProcess:
    """`python -m rollup.node` with the suite's genesis and chain imported, no sequencer (as in hive, where no
    consensus client drives the node, so sent transactions stay pending), on a free port."""

    proc: subprocess.Popen
    url: str
    stderr_path: Path

    @classmethod
    def start(
        cls,
        genesis: Path = VECTORS / "genesis.json",
        chain: Path = VECTORS / "chain.rlp",
        timeout: float = READY_TIMEOUT_S,
        python: str = sys.executable,
    ) -> NodeProcess:
        args = ["--genesis", str(genesis), "--import-chain", str(chain), "--no-sequencer", "--host", "127.0.0.1"]
        return cls.launch([*args, "--port", "0"], timeout=timeout, python=python)

    @classmethod
    def launch(cls, args: list[str], *, timeout: float = READY_TIMEOUT_S, python: str = sys.executable) -> NodeProcess:
        """`python -m rollup.node *args`, returned once it serves (args should ask for `--port 0`)."""
        cmd = [python, "-m", "rollup.node", *args]
        # stderr to a file, not a pipe: a chatty node must never block on a full pipe nobody reads.
        fd, name = tempfile.mkstemp(prefix="rollup-node-", suffix=".stderr")
        # Its own session: Ctrl-C reaches only us, and we stop it by its pid in close().
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=fd, stdin=subprocess.DEVNULL,
                                text=True, bufsize=1, start_new_session=True)  # fmt: skip
        os.close(fd)
        node = cls(proc, "", Path(name))
        try:
            node.url = node._wait_for_url(timeout)
        except BaseException:
            node.close()
            raise
        return node

    def kill(self) -> None:
        """SIGKILL the node's own pid (a crash: no clean shutdown, nothing flushed by us)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def _wait_for_url(self, timeout: float) -> str:
        lines: queue.Queue[str | None] = queue.Queue()

        def drain() -> None:
            # Keeps reading after the serving line so the node's later stdout never fills the pipe.
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NodeStartError(f"no 'rollup node: serving' line within {timeout:.0f} s\n{self.stderr_tail()}")
            try:
                line = lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(5)
                raise NodeStartError(f"node {self.exit_status()} before serving\n{self.stderr_tail()}")
            m = SERVING.match(line.strip())
            if m:
                return m.group(1).rstrip(".,;")

    def exit_status(self) -> str:
        code = self.proc.returncode
        if code is not None and code < 0:
            # We had not stopped it yet: another process did (a signal sent by name reaches every node).
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with {code}"

    def stderr_tail(self, chars: int = 4000) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return f"--- node stderr (last {chars} chars) ---\n{text[-chars:]}"

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.stderr_path.unlink(missing_ok=True)

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
