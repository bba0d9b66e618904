"""Fixtures for IdentityRegistry: a fresh registry per test and real hivemind identities per session."""

from __future__ import annotations

import pytest

from offchain.identity import PeerIdentity


@pytest.fixture
def registry(project, deployer):
    return deployer.deploy(project.IdentityRegistry)


@pytest.fixture(scope="session")
def identities(tmp_path_factory):
    """Three identities written by hivemind itself and loaded back (RSA key generation is the slow part)."""
    from hivemind.p2p import P2P

    folder = tmp_path_factory.mktemp("identities")
    out = []
    for i in range(3):
        path = folder / f"peer{i}.key"
        P2P.generate_identity(str(path))
        out.append(PeerIdentity.load(path))
    return out
