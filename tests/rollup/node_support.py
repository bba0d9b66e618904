"""What the L2 node tests share: a node process, web3 on it, the genesis's funded dev keys, raw JSON-RPC."""

from __future__ import annotations

import json
import urllib.request
from functools import cache
from typing import Any

from eth_account import Account
from web3 import Web3

from rollup.conformance import VECTORS, NodeProcess
from rollup.node import open_node
from rollup.rpc.api import Api

MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 685686
Account.enable_unaudited_hdwallet_features()
KEYS = [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(10)]


def start_node(*args: str) -> NodeProcess:
    return NodeProcess.launch(["--port", "0", *args], timeout=60)


def web3(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))


def rpc(url: str, method: str, params: list[Any] | None = None, *, raw: bytes | None = None) -> Any:
    """One JSON-RPC exchange; returns the decoded reply (with `error` or `result`), or (status, body) for a
    reply that is not JSON."""
    request_body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    body = raw if raw is not None else json.dumps(request_body).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            text = reply.read()
    except urllib.error.HTTPError as err:
        text = err.read()
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, text
    return json.loads(text) if text else None


def deploy(w3: Web3, key: Any, contract_type: Any, *args: Any) -> Any:
    """Deploy an Ape-compiled contract type with web3.py from `key`; the web3 contract at its address."""
    abi = [item.model_dump(mode="json", by_alias=True) for item in contract_type.abi]
    factory = w3.eth.contract(abi=abi, bytecode=contract_type.deployment_bytecode.bytecode)
    receipt = send(w3, key, factory.constructor(*args), gas=8_000_000)
    return w3.eth.contract(address=receipt.contractAddress, abi=abi), receipt


def send(w3: Web3, key: Any, fn: Any, *, value: int = 0, gas: int | None = None) -> Any:
    """Sign a contract call (or constructor) with `key`, send it, and return its successful receipt."""
    fields = {"from": key.address, "nonce": w3.eth.get_transaction_count(key.address), "value": value}
    if gas is not None:
        fields["gas"] = gas
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(key.sign_transaction(fn.build_transaction(fields)).raw_transaction)
    )
    assert receipt.status == 1, receipt
    return receipt


def transfer(w3: Web3, key: Any, to: str, value: int, *, nonce: int | None = None, **overrides: Any) -> bytes:
    """A signed EIP-1559 transfer's raw bytes."""
    tx = {
        "to": to,
        "value": value,
        "nonce": w3.eth.get_transaction_count(key.address, "pending") if nonce is None else nonce,
        "chainId": CHAIN_ID,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**6,
        "gas": 21_000,
        **overrides,
    }
    return key.sign_transaction(tx).raw_transaction


# A plain cached helper, not a module-scoped fixture: Ape's pytest plugin warns about those (its chain isolation),
# and the suite's chain takes seconds to import; the tests using it only read it.
@cache
def conformance_api() -> Api:
    """The methods' view of an in-process node holding the conformance suite's chain (no sequencer)."""
    import rollup.rpc.server  # noqa: F401  (registers every method)

    sequencer = open_node(VECTORS / "genesis.json", None, block_time=0, producing=False)
    sequencer.chain.import_raw_blocks((VECTORS / "chain.rlp").read_bytes())
    return Api(sequencer, client_version="test")
