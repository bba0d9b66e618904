"""The ABIs of our contracts for the rollup's processes, read from the project's compiled output.

The processes (verifier, committee, proposer) talk to L1 with web3.py and do not start Ape, which takes seconds to
import; the ABIs come from Ape's build manifest (`.build/__local__.json`), written by `ape compile` (run by
`make setup`'s first test and by `ape run deploy`). A checkout that was never compiled is compiled once here.

    game = l1.eth.contract(address=address, abi=contract_abi("OutputDispute"))
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".build" / "__local__.json"


class AbiError(RuntimeError):
    """No compiled contract of that name."""


@cache
def _contract_types() -> dict[str, Any]:
    if not MANIFEST.exists():
        ape = Path(sys.executable).with_name("ape")
        done = subprocess.run([str(ape), "compile"], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0 or not MANIFEST.exists():
            raise AbiError(f"`ape compile` in {ROOT} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(MANIFEST.read_text())["contractTypes"]


def contract_abi(name: str) -> list[dict[str, Any]]:
    try:
        return _contract_types()[name]["abi"]
    except KeyError:
        raise AbiError(f"no contract {name!r} in {MANIFEST}: run `ape compile` in {ROOT}") from None
