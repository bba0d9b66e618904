"""JSON-RPC 2.0 over HTTP (aiohttp): single and batch requests, go-ethereum's error codes, and limits that keep
one bad client from stopping the node.

Methods run one at a time on the event loop: the chain and the pool are never touched by two requests at once,
and the sequencer's timer runs between requests, not inside one.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from aiohttp import web

import rollup.rpc.access_list  # noqa: F401
import rollup.rpc.config  # noqa: F401
import rollup.rpc.eth
import rollup.rpc.logs
import rollup.rpc.node_methods  # noqa: F401  (registers its methods)
import rollup.rpc.optimism  # noqa: F401
import rollup.rpc.proof  # noqa: F401
import rollup.rpc.simulate  # noqa: F401
import rollup.rpc.testing  # noqa: F401
import rollup.rpc.trace  # noqa: F401
from rollup.rpc.api import METHODS, Api
from rollup.rpc.params import RpcError

log = logging.getLogger("rollup.rpc")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
MAX_BODY_BYTES = 5 * 1024 * 1024  # go-ethereum's HTTP body limit
MAX_BATCH = 1000  # go-ethereum's batch item limit

_ = rollup.rpc.eth, rollup.rpc.logs


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": err}


class Server:
    def __init__(self, api: Api, *, max_body_bytes: int = MAX_BODY_BYTES, max_batch: int = MAX_BATCH) -> None:
        self.api = api
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post("/", self.handle)
        app.router.add_get("/", self.health)
        return app

    async def health(self, request: web.Request) -> web.Response:
        head = self.api.chain.head
        return web.json_response({"chainId": self.api.chain.chain_id, "head": head.block_number})

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return self._too_large(request.content_length)
        try:
            body = await request.read()  # the whole body; aiohttp stops reading past client_max_size
        except web.HTTPRequestEntityTooLarge:  # a chunked body with no length announced
            return self._too_large(None)
        except Exception as err:  # a client that hangs up mid-body
            return web.json_response(_error(None, PARSE_ERROR, f"could not read the body: {err}"), status=400)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            return web.json_response(_error(None, PARSE_ERROR, f"parse error: {err}"))
        if isinstance(payload, list):
            if not payload:
                return web.json_response(_error(None, INVALID_REQUEST, "empty batch"))
            if len(payload) > self.max_batch:
                return web.json_response(
                    _error(
                        None, INVALID_REQUEST, f"batch too large: {len(payload)} requests, at most {self.max_batch}"
                    )
                )
            replies = [r for r in (self.dispatch(item) for item in payload) if r is not None]
            return web.json_response(replies) if replies else web.Response(status=200)
        reply = self.dispatch(payload)
        return web.json_response(reply) if reply is not None else web.Response(status=200)

    def _too_large(self, size: int | None) -> web.Response:
        told = f"{size} bytes" if size is not None else "more"
        message = f"request body too large: {told}, at most {self.max_body_bytes} bytes"
        return web.json_response(_error(None, INVALID_REQUEST, message), status=413)

    def dispatch(self, request: Any) -> dict[str, Any] | None:
        """One request object to its reply (None for a notification, a request without an id)."""
        if not isinstance(request, dict):
            return _error(None, INVALID_REQUEST, "invalid request: not a JSON object")
        request_id = request.get("id")
        if isinstance(request_id, dict | list | bool):
            return _error(None, INVALID_REQUEST, "invalid request: id must be a string, a number or null")
        name = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(name, str):
            return _error(request_id, INVALID_REQUEST, 'invalid request: jsonrpc "2.0" and a method are needed')
        fn = METHODS.get(name)
        if fn is None:
            return _error(request_id, METHOD_NOT_FOUND, f"the method {name} does not exist/is not available")
        try:
            result = fn(self.api, request.get("params"))
        except RpcError as err:
            return {"jsonrpc": "2.0", "id": request_id, "error": err.as_json()}
        except Exception as err:  # a bug of ours must not take the node down: report it and keep serving
            log.error("%s failed: %s\n%s", name, err, traceback.format_exc())
            return _error(request_id, INTERNAL_ERROR, f"internal error: {type(err).__name__}: {err}")
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
