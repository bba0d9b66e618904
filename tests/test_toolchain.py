"""Guards for the offline toolchain traps of docs/toolchain.md."""

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


def test_solc_shim_loads_solc_js_from_beside_itself(tmp_path):
    """The shared solc-v0.8.37 shim loads solc-js (and every file it needs) from beside itself, not from a
    checkout, and compiles: it pointed at the checkout that ran `make` last, and deleting that checkout broke
    compiles in every other one."""
    import json
    import re
    import subprocess
    from pathlib import Path

    from solcx.install import get_executable

    shim = get_executable("0.8.37")
    home = shim.parent.resolve()
    match = re.search(r"SOLC_JS_MODULE \|\| '([^']+)'", shim.read_text())
    assert match, f"{shim} is not the solc-js shim of tools/solc-shim.js"
    module = Path(match.group(1))
    assert module.resolve().is_relative_to(home), f"{shim} loads solc-js from {module}: re-run `make setup`"
    env = {k: v for k, v in __import__("os").environ.items() if k != "SOLC_JS_MODULE"}
    listing = "require(process.argv[1]); console.log(JSON.stringify(Object.keys(require.cache)))"
    out = subprocess.run(["node", "-e", listing, str(module)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    outside = [f for f in json.loads(out.stdout) if not Path(f).resolve().is_relative_to(home)]
    assert not outside, f"solc-js loads files from outside {home}: {outside}"
    source = "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\ncontract C { function f() external {} }\n"
    request = {"language": "Solidity", "sources": {"C.sol": {"content": source}},
               "settings": {"outputSelection": {"*": {"*": ["evm.bytecode.object"]}}}}  # fmt: skip
    out = subprocess.run([str(shim), "--standard-json", "--base-path", str(tmp_path)], input=json.dumps(request),
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert json.loads(out.stdout)["contracts"]["C.sol"]["C"]["evm"]["bytecode"]["object"]
