"""Ape on our L2: the provider `verde` (plugins/ape-verde) on the network ethereum:l2, and `ape test` run there
with isolation on against `python -m rollup.node --dev` (docs/rollup.md, "Ape on the L2").

Run: `.venv/bin/ape test tests/rollup/test_ape_l2.py -q -p no:cacheprovider -m slow` (the end-to-end run is slow).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from web3 import Web3

ROOT = Path(__file__).resolve().parents[2]
APE = Path(sys.executable).with_name("ape")
L2_TESTS = "tests/identity/test_identity_registry.py"


def test_verde_provider_is_registered_on_l2_and_reaches_the_node_uri(monkeypatch):
    """The plugin attaches `verde` to the custom network beside `node` (still the default), and without
    APE_VERDE_URI it connects where `node: ethereum: l2: uri:` says."""
    from ape import networks

    monkeypatch.delenv("APE_VERDE_URI", raising=False)
    l2 = networks.ethereum.l2
    assert {"node", "verde"} <= set(l2.providers)
    assert l2.default_provider_name == "node"
    assert l2.get_provider("verde").uri == l2.get_provider("node").uri == "http://127.0.0.1:9545"


class DevNode:
    """`python -m rollup.node --port 0 --block-time 0 --dev`, in memory, until close()."""

    def __init__(self, timeout: float = 60) -> None:
        self.stderr = tempfile.TemporaryFile()  # a file, not a pipe: a chatty node must never block on it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rollup.node", "--port", "0", "--block-time", "0", "--dev"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # stopped by its pid in close(), never by Ctrl-C meant for us
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def drain() -> None:  # keeps reading so the node's later stdout never fills the pipe
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        prefix = "rollup node: serving "
        if not line or not line.startswith(prefix):
            self.close()
            raise RuntimeError(f"the node did not start (first line {line!r}):\n{self.stderr_text()}")
        self.url = line[len(prefix) :].split()[0]

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.stderr.close()


@pytest.mark.slow
def test_ape_test_runs_isolated_on_the_l2():
    """A contract suite passes on the L2 with Ape's isolation on: every test's deployment is rewound away (the
    suite's own autouse fixture fails any test after which Ape turned isolation off), and the chain ends where
    it began."""
    node = DevNode()
    try:
        env = {**os.environ, "APE_VERDE_URI": node.url}  # the user's ape-config.yaml keeps port 9545
        result = subprocess.run(
            [str(APE), "test", L2_TESTS, "--network", "ethereum:l2:verde", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        report = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}\nnode stderr:\n{node.stderr_text()}"
        assert result.returncode == 0, report
        assert " passed" in result.stdout, report
        assert "does not support snapshotting" not in result.stdout + result.stderr, report
        assert Web3(Web3.HTTPProvider(node.url)).eth.block_number == 0  # the session's snapshot, restored
    finally:
        node.close()
