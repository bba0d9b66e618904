"""A local anvil L1 for runs that need a real JSON-RPC node (the demo, multi-process tests, swarms).

anvil comes from the npm package `@foundry-rs/anvil` (node_modules/.bin/anvil, installed by `make setup`).
It always binds to 127.0.0.1, picks a free port unless told one, runs the prague fork the contracts
are compiled for, uses chain id 1337 (what Ape expects of `ethereum:local`) and the same mnemonic as
Ape's test accounts, so `accounts.test_accounts[i]` are funded and sign locally.

    with Anvil.start() as anvil, anvil.connect():
        ...  # ape's `chain`, `accounts`, `project` now talk to anvil
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

TEST_MNEMONIC = "test test test test test test test test test test test junk"  # anvil's and ape-config's
ROOT = Path(__file__).resolve().parents[2]


class AnvilError(RuntimeError):
    """anvil could not be found or did not come up."""


def json_rpc(uri: str, method: str, params: list | None = None, *, timeout: float | None = None):
    """One raw JSON-RPC call to `uri`; raises requests' errors when nothing answers, AnvilError on an error."""
    reply = requests.post(uri, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
                          timeout=timeout)  # fmt: skip
    reply.raise_for_status()
    body = reply.json()
    if "error" in body:
        raise AnvilError(f"{method}: {body['error']}")
    return body["result"]


def chain_problem(uri: str, timeout: float = 5.0) -> str | None:
    """None when a chain answers `eth_chainId` at `uri`, else what went wrong, in a few words."""
    try:
        json_rpc(uri, "eth_chainId", timeout=timeout)
    except requests.RequestException as err:
        return type(err).__name__
    except (AnvilError, ValueError) as err:
        return f"not a JSON-RPC chain: {err}"
    return None


def anvil_binary() -> str:
    """Path of the anvil executable: the project's npm install first, then PATH."""
    local = ROOT / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return str(local)
    found = shutil.which("anvil")
    if not found:
        raise AnvilError("anvil not found: run `make setup` (installs @foundry-rs/anvil from npm)")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Anvil:
    """A running anvil process; stop it with `stop()` or use `Anvil.start()` as a context manager."""

    port: int  # the JSON-RPC port on 127.0.0.1
    process: subprocess.Popen = field(repr=False)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    @contextlib.contextmanager
    def start(
        cls, *, port: int | None = None, chain_id: int = 1337, block_time: int | None = None, timeout: float = 20.0
    ) -> Iterator[Anvil]:
        """Start anvil on 127.0.0.1, wait until it answers, and stop it when the block ends."""
        port = port or free_port()
        cmd = [
            anvil_binary(),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--chain-id", str(chain_id),
            "--mnemonic", TEST_MNEMONIC,
            "--accounts", "10",
            "--hardfork", "prague",  # what the contracts are compiled for (and py-evm runs)
            "--silent",
        ]  # fmt: skip
        if block_time:
            cmd += ["--block-time", str(block_time)]
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        anvil = cls(port=port, process=process)
        try:
            anvil._wait_ready(timeout)
            yield anvil
        finally:
            anvil.stop()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise AnvilError(f"anvil exited with {self.process.returncode}: {err.strip()}")
            try:
                self.rpc("eth_chainId")
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AnvilError(f"anvil did not answer on {self.uri} within {timeout} s")

    def rpc(self, method: str, params: list | None = None):
        """One raw JSON-RPC call (for anvil_* / evm_* methods Ape does not wrap)."""
        return json_rpc(self.uri, method, params)

    def increase_time(self, seconds: int) -> None:
        """Move block time forward and mine a block, so the next transaction sees the new time."""
        self.rpc("evm_increaseTime", [int(seconds)])
        self.rpc("evm_mine")

    @contextlib.contextmanager
    def connect(self):
        """Point Ape at this anvil (Ape's built-in `node` provider) for the duration of the block."""
        from ape import networks

        with networks.ethereum.local.use_provider("node", provider_settings={"uri": self.uri}) as provider:
            yield provider

    def stop(self) -> None:
        """Terminate anvil and its process group; wait for it."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
