"""The `ape run` scripts as a user meets them: a chain that is not there is one line, and `ape run fund`
pays a wallet of one's own on a local chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APE = str(Path(sys.executable).with_name("ape"))


def test_no_chain_at_the_url_is_one_line(tmp_path):
    """Ape alone ends in a 40-line traceback from ape-node failing to start geth; the scripts say what is wrong
    and how to start the local chain, exit non-zero, and create nothing."""
    out = subprocess.run(
        [APE, "run", "node", "--network", "ethereum:local:http://127.0.0.1:9", "--account", "TEST::1",
         "--workdir", str(tmp_path / "node")],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 1
    lines = [x for x in out.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("Error: no chain answers at http://127.0.0.1:9") and "make chain" in lines[0]
    assert "Traceback" not in out.stdout + out.stderr and not (tmp_path / "node").exists()


def test_fund_pays_any_address_on_a_local_chain():
    """`ape run fund` sends test ether to an address of one's own and says what it now holds."""
    to = "0x000000000000000000000000000000000000dEaD"
    out = subprocess.run(
        [APE, "run", "fund", "--network", "ethereum:local:test", "--to", to, "--eth", "2.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"sent 2.5 ETH from 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 to {to}; it now holds 2.5 ETH" in out.stdout
