"""Fixtures for the libraries' tests: Float32Harness on Ape's test network, and on a session anvil for bulk vectors.

Named edge cases call the harness through Ape on the default `test` network (py-evm). Bulk differential
vectors (tens of thousands per op) go to a second copy of the harness on one anvil per session, through
plain JSON-RPC eth_call (`float32_support.Float32Harness`): anvil executes EVM code about a hundred
times faster than py-evm, and eth_call needs no Ape provider switch, so both kinds of test share a session.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from float32_support import Float32Harness

from offchain.chain.anvil import Anvil

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@pytest.fixture(scope="session")
def float32_harness(project, deployer):
    """Float32Harness on Ape's test network, for the named edge cases."""
    return project.Float32Harness.deploy(sender=deployer)


@pytest.fixture(scope="session")
def float32_anvil():
    """One anvil for the session's bulk vectors."""
    with Anvil.start() as anvil:
        yield anvil


@pytest.fixture(scope="session")
def float32_bulk(project, float32_anvil):
    """Float32Harness on the session anvil, driven over JSON-RPC (eth_call) for bulk vectors."""
    bytecode = project.Float32Harness.contract_type.deployment_bytecode.bytecode
    return Float32Harness.deploy(float32_anvil.uri, bytecode)


@pytest.fixture(scope="session")
def float32_golden():
    """tests/vectors/float32_edge.json: edge grids and constructed ties with numpy's answers."""
    return json.loads((VECTORS / "float32_edge.json").read_text())
