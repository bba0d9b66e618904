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


def test_ape_sees_every_contract_source():
    """Ape lists every Solidity source under contracts/ (its 500-file listing cap is not reached)."""
    from pathlib import Path

    from ape import project

    root = Path(project.path)
    ours = {p for p in (root / "contracts").rglob("*.sol") if ".cache" not in p.parts}
    project.sources.refresh()
    listed = set(project.sources.paths)
    assert ours <= listed, f"not visible to Ape: {sorted(str(p) for p in ours - listed)}"
    oz_files = sum(1 for _ in (root / "node_modules" / "@openzeppelin" / "contracts").rglob("*.*"))
    assert oz_files + len(ours) < 500, f"OpenZeppelin ({oz_files} files) + ours near Ape's 500-file cap"
