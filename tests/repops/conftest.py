"""Fixtures for the RepOps tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded numpy generator (inputs only; the ops under test use no randomness)."""
    return np.random.default_rng(1234)
