"""Fixtures for offchain.commit: the golden vectors of tests/vectors/commitments.json, loaded once."""

from __future__ import annotations

from typing import Any

import pytest

from tools.gen_commitment_vectors import load


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The parsed vectors file (format, provenance, tensors, checkpoints)."""
    return load()
