"""rollup/conformance.py, the port of hive's rpc-compat judge that benchmarks/bench_rpc.py runs against our node: the
.io parser and the judge on their own (no node), then a small subset of the suite against `python -m rollup.node`."""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from rollup.conformance import (
    VECTORS,
    CaseFormatError,
    HttpPoster,
    NodeProcess,
    NodeStartError,
    TransportError,
    judge_response,
    load_cases,
    load_result_schemas,
    parse_case,
    redact_error_messages,
    run_case,
)

CHAIN_ID = """// retrieves the client's current chain id
>> {"jsonrpc":"2.0","id":1,"method":"eth_chainId"}
<< {"jsonrpc":"2.0","id":1,"result":"0xc72dd9d5e883e"}
"""


@pytest.fixture
def schemas():
    return load_result_schemas(VECTORS / "result-schemas.json")


def answering(*responses: str):
    """A stand-in node that answers each request with the next canned body and records what it was sent."""
    sent: list[str] = []
    it = iter(responses)

    def post(data: str) -> bytes:
        sent.append(data)
        return next(it).encode()

    post.sent = sent
    return post


# --- parser ------------------------------------------------------------------------------------------------------


def test_the_suite_loads_in_hives_order():
    cases = load_cases(VECTORS / "tests")
    names = [c.name for c in cases]
    assert len(cases) == 233 and len({c.method for c in cases}) == 41
    # filepath.Walk sorts file names with their ".io": "-" < "." puts call-callenv-options-* before call-callenv
    assert names == sorted(names, key=lambda n: n.split("/")[:-1] + [n.split("/")[-1] + ".io"])
    assert names.index("eth_call/call-callenv-options-eip1559") < names.index("eth_call/call-callenv")
    assert names[0] == "debug_getRawBlock/get-block-n" and names[-1] == "txpool_status/get-status"
    # the pool the txpool_* cases read is filled by the eth_sendRawTransaction cases run before them
    assert names.index("eth_sendRawTransaction/send-blob-tx") < names.index("txpool_status/get-status")
    assert sum(c.speconly for c in cases) == 22
    assert all(c.messages and c.messages[0].send for c in cases)


def test_speconly_is_read_from_the_header_only():
    case = parse_case("x/y", "// a comment\n// speconly: client response is only checked for schema validity.\n"
                      + CHAIN_ID.split("\n", 1)[1])  # fmt: skip
    assert case.speconly and case.comment.startswith("a comment\nspeconly:")
    assert [m.send for m in case.messages] == [True, False] and case.messages[0].method == "eth_chainId"
    later = parse_case("x/y", CHAIN_ID + "// speconly: after the messages it is just a comment\n")
    assert not later.speconly
    assert not parse_case("x/y", "// not speconly: mentioned mid-line\n" + CHAIN_ID).speconly


def test_bad_lines_and_bad_json_are_refused():
    with pytest.raises(CaseFormatError, match="invalid test line"):
        parse_case("x/y", CHAIN_ID + "garbage\n")
    with pytest.raises(CaseFormatError, match="invalid JSON"):
        parse_case("x/y", '>> {"jsonrpc":"2.0",\n')
    with pytest.raises(CaseFormatError, match="invalid JSON"):
        parse_case("x/y", ">> NaN\n")  # Python's json would take it; hive's gjson does not


def test_a_response_before_any_request_is_refused(schemas):
    case = parse_case("x/y", '<< {"jsonrpc":"2.0","id":1,"result":"0x1"}\n>> {"jsonrpc":"2.0","id":1,"method":"m"}\n')
    post = answering('{"jsonrpc":"2.0","id":1,"result":"0x1"}')
    verdict = run_case(case, post, schemas)
    assert not verdict.ok and verdict.reason == "invalid test, response before request"
    assert post.sent == []


def test_a_request_without_its_response_fails(schemas):
    case = parse_case("x/y", CHAIN_ID + '>> {"jsonrpc":"2.0","id":2,"method":"eth_chainId"}\n')
    verdict = run_case(case, answering(*['{"jsonrpc":"2.0","id":1,"result":"0xc72dd9d5e883e"}'] * 2), schemas)
    assert verdict.reason == "unhandled response in test case"


# --- judge -------------------------------------------------------------------------------------------------------


def test_an_equal_response_passes_whatever_its_key_order_and_spacing(schemas):
    case = parse_case("eth_chainId/get-chain-id", CHAIN_ID)
    assert run_case(case, answering(' {"result": "0xc72dd9d5e883e", "id": 1, "jsonrpc": "2.0"}\n'), schemas).ok


def test_a_mismatch_is_found_and_located(schemas):
    case = parse_case("eth_chainId/get-chain-id", CHAIN_ID)
    verdict = run_case(case, answering('{"jsonrpc":"2.0","id":1,"result":"0x1"}'), schemas)
    assert not verdict.ok
    assert (verdict.diff.path, verdict.diff.got, verdict.diff.want) == ("result", "0x1", "0xc72dd9d5e883e")
    assert 'result: got "0x1" want "0xc72dd9d5e883e"' in str(verdict)
    got = '{"id":1,"result":{"txs":[{"gas":"0x1"},{"gas":"0x2"}]}}'
    nested = judge_response(got, got.replace('"0x2"', '"0x3"'), "m", False, schemas)
    assert nested.diff.path == "result.txs[1].gas"


def test_an_extra_or_missing_field_is_a_mismatch(schemas):
    want = '{"jsonrpc":"2.0","id":1,"result":{"a":"0x1"}}'
    extra = judge_response('{"jsonrpc":"2.0","id":1,"result":{"a":"0x1","b":null}}', want, "m", False, schemas)
    assert not extra.ok and extra.diff.path == "result.b"
    missing = judge_response('{"jsonrpc":"2.0","id":1,"result":{}}', want, "m", False, schemas)
    assert not missing.ok and missing.diff.path == "result.a"
    longer = judge_response('{"id":1,"result":["0x1","0x2"]}', '{"id":1,"result":["0x1"]}', "m", False, schemas)
    assert not longer.ok and longer.diff.path == "result[1]"


def test_numbers_are_compared_as_numbers(schemas):
    assert judge_response('{"id":1.0,"result":1e2}', '{"id":1,"result":100}', "m", False, schemas).ok
    assert not judge_response('{"id":1,"result":101}', '{"id":1,"result":100}', "m", False, schemas).ok
    # a number is not its string, nor true its 1
    assert not judge_response('{"id":"1","result":100}', '{"id":1,"result":100}', "m", False, schemas).ok
    assert not judge_response('{"id":1,"result":true}', '{"id":1,"result":1}', "m", False, schemas).ok


def test_error_messages_are_left_out_but_codes_and_data_count(schemas):
    want = '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"expected error message","data":"0x01"}}'
    reworded = '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"client-specific error","data":"0x01"}}'
    verdict = judge_response(reworded, want, "eth_call", False, schemas)
    assert verdict.ok
    other_code = judge_response(reworded.replace("-32000", "-32602"), want, "eth_call", False, schemas)
    assert not other_code.ok and other_code.diff.path == "error.code" and other_code.redacted
    other_data = judge_response(reworded.replace('"0x01"', '"0x02"'), want, "eth_call", False, schemas)
    assert not other_data.ok and other_data.diff.path == "error.data"
    # a message on one side only is compared (hive redacts only where both have one)
    no_message = judge_response('{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"data":"0x01"}}', want, "m", False,
                                schemas)  # fmt: skip
    assert not no_message.ok and no_message.diff.path == "error.message"


def test_nested_error_messages_are_left_out_too():
    """eth_simulateV1's calls[i].error, and an error beside another error; hive's redact_test.go cases."""
    resp = {"error": {"code": 1, "message": "top"}, "result": {"calls": [{"error": {"code": 2, "message": "c"}}]}}
    want = {"error": {"code": 1, "message": "top spec"}, "result": {"calls": [{"error": {"code": 2, "message": "s"}}]}}
    assert redact_error_messages(resp, want)
    assert resp == want == {"error": {"code": 1}, "result": {"calls": [{"error": {"code": 2}}]}}
    deep_resp = {"result": {"a": {"b": {"error": {"code": 1, "message": "deep client"}}}}}
    deep_want = {"result": {"a": {"b": {"error": {"code": 1, "message": "deep spec"}}}}}
    assert redact_error_messages(deep_resp, deep_want) and deep_resp == deep_want
    plain = {"jsonrpc": "2.0", "id": 1, "result": "0x1"}
    assert not redact_error_messages(dict(plain), dict(plain))


def test_a_nested_error_code_still_counts(schemas):
    want = json.dumps({"id": 1, "result": [{"calls": [{"status": "0x0", "error": {"code": 3, "message": "x"}}]}]})
    got = json.dumps({"id": 1, "result": [{"calls": [{"status": "0x0", "error": {"code": -32015, "message": "y"}}]}]})
    verdict = judge_response(got, want, "eth_simulateV1", False, schemas)
    assert not verdict.ok and verdict.diff.path == "result[0].calls[0].error.code"
    assert judge_response(got.replace("-32015", "3"), want, "eth_simulateV1", False, schemas).ok


def test_speconly_responses_are_checked_against_the_result_schema(schemas):
    want = '{"jsonrpc":"2.0","id":1,"result":{"pending":"0x6","queued":"0x0"}}'
    other_counts = '{"jsonrpc":"2.0","id":1,"result":{"pending":"0x0","queued":"0x2"}}'
    assert judge_response(other_counts, want, "txpool_status", True, schemas).ok
    assert not judge_response(other_counts, want, "txpool_status", False, schemas).ok
    not_hex = judge_response('{"jsonrpc":"2.0","id":1,"result":{"pending":6,"queued":"0x0"}}', want, "txpool_status",
                             True, schemas)  # fmt: skip
    assert not not_hex.ok and "result.pending" in not_hex.reason
    unknown = judge_response('{"id":1,"result":"0x1"}', want, "eth_unknownMethod", True, schemas)
    assert not unknown.ok and "no result schema" in unknown.reason


def test_a_speconly_error_response_is_compared_exactly(schemas):
    want = '{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x01"}}'
    got = '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"execution reverted"}}'
    verdict = judge_response(got, want, "eth_estimateGas", True, schemas)
    assert not verdict.ok and verdict.diff.path == "error.code"


def test_every_recorded_speconly_response_fits_its_schema(schemas):
    """result-schemas.json covers every method a speconly case calls, and the suite's own examples conform."""
    for case in load_cases(VECTORS / "tests"):
        if not case.speconly:
            continue
        responses = iter(m.data for m in case.messages if not m.send)
        assert run_case(case, lambda _data, r=responses: next(r).encode(), schemas).ok, case.name


def test_the_http_poster_reads_error_bodies_and_reports_refusals():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/json"
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b'{"echo":' + body + b"}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert json.loads(HttpPoster(url)('{"id":1}')) == {"echo": {"id": 1}}
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(TransportError, match="write error"):
        HttpPoster(url, timeout=1)('{"id":1}')


def fake_node(tmp_path, body: str) -> str:
    """An executable standing in for `python`: NodeProcess runs it with `-m rollup.node ...` and it runs body."""
    exe = tmp_path / "fake-python"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(0o755)
    return str(exe)


def test_the_node_url_is_read_from_its_serving_line_and_the_node_is_stopped(tmp_path):
    exe = fake_node(
        tmp_path, 'echo "loading"; echo "rollup node: serving http://127.0.0.1:4321 chain id 7"; exec sleep 60'
    )
    with NodeProcess.start(python=exe, timeout=10) as node:
        assert node.url == "http://127.0.0.1:4321" and node.proc.poll() is None
    assert node.proc.returncode == -15


def test_a_node_that_never_serves_is_reported_with_its_stderr(tmp_path):
    with pytest.raises(NodeStartError, match=r"exited with 3 before serving(.|\n)*bad genesis"):
        NodeProcess.start(python=fake_node(tmp_path, "echo bad genesis >&2; exit 3"), timeout=10)
    slow = fake_node(tmp_path, "echo importing >&2; exec sleep 60")
    with pytest.raises(NodeStartError, match=r"no 'rollup node: serving' line within 1 s(.|\n)*importing"):
        NodeProcess.start(python=slow, timeout=1)


# --- against the node --------------------------------------------------------------------------------------------

SUBSET = (
    "eth_chainId/",
    "eth_blockNumber/",
    "eth_getBlockByNumber/",
    "eth_getBalance/",
    "eth_getCode/",
    "net_version/",
)


def test_node_answers_a_conformance_subset(schemas):
    """The node as benchmarks/bench_rpc.py starts it (genesis, chain imported, no sequencer, port 0) answers the
    suite's read-only basics exactly as every execution client must."""
    if importlib.util.find_spec("rollup.node") is None:
        pytest.skip("rollup/node.py is not in this checkout yet (the node lands in parallel)")
    cases = [c for c in load_cases(VECTORS / "tests") if c.name.startswith(SUBSET)]
    assert len(cases) == 21
    with NodeProcess.start() as node:
        post = HttpPoster(node.url)
        failures = {c.name: str(v) for c in cases if not (v := run_case(c, post, schemas)).ok}
    assert failures == {}
