"""Fixtures for the RepOps tests."""

from __future__ import annotations

import numpy as np
import pytest

from offchain import native
from offchain.repops import prims as P


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded numpy generator (inputs only; the ops under test use no randomness)."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True, params=["native", "torch"])
def kernels(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every RepOps test runs on the compiled kernels and on the pure-torch fallback: both must give the bits.

    The compiled ones must have built (make setup builds them); VERDE_NATIVE=0 is how a machine that cannot build
    them says so, and then only the fallback runs.
    """
    if request.param == "native":
        if not native.enabled():
            pytest.skip("VERDE_NATIVE=0: the compiled kernels are turned off")
        for name in ("prims", "fused"):
            assert native.kernels(name) is not None, f"the compiled kernels {name!r} did not build (see make setup)"
    monkeypatch.setattr(P, "NATIVE", request.param == "native")
    return request.param
