"""Guards for the offline toolchain traps in shared/TOOLCHAIN.md."""

from __future__ import annotations

import asyncio

import multihash


def test_multihash_module_is_py_multihash():
    """The top-level `multihash` is py-multihash's (hivemind needs `encode`), not pymultihash's."""
    assert hasattr(multihash, "encode"), "pymultihash shadows py-multihash: re-run `make setup`"


def test_hivemind_peer_starts_from_saved_identity(tmp_path):
    """A hivemind peer started twice from one saved identity file keeps its peer id."""
    from hivemind.p2p import P2P

    identity = tmp_path / "identity.key"
    P2P.generate_identity(str(identity))

    async def peer_id() -> str:
        p2p = await P2P.create(
            identity_path=str(identity),
            host_maddrs=["/ip4/127.0.0.1/tcp/0"],
            nat_port_map=False,
            auto_nat=False,
            use_relay=False,
            check_if_identity_free=False,
        )
        try:
            return p2p.peer_id.to_base58()
        finally:
            await p2p.shutdown()

    first = asyncio.run(peer_id())
    second = asyncio.run(peer_id())
    assert first == second and first.startswith("Qm")
