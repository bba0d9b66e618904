"""`make demo` keeps hivemind's INFO log lines out of the story it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Loads scripts/demo.py as `ape run demo` does (hivemind is imported with it), quiets hivemind, then logs INFO
# and WARNING lines from this process and from a child process, as the demo's swarm nodes would.
PROGRAM = """
import importlib.util, subprocess, sys
spec = importlib.util.spec_from_file_location("demo_script", sys.argv[1])
demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo)
demo.quiet_hivemind()
from hivemind.utils.logging import get_logger
get_logger("hivemind.dht").info("parent info")
get_logger("hivemind.dht").warning("parent warning")
child = "from hivemind.utils.logging import get_logger as g; g('hivemind.p2p').info('child info'); " \\
        "g('hivemind.p2p').warning('child warning')"
subprocess.run([sys.executable, "-c", child], check=True)
"""


def _run(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", PROGRAM, str(ROOT / "scripts" / "demo.py")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    return out.stdout + out.stderr


def test_demo_quiets_hivemind_info_in_its_process_and_children() -> None:
    """The demo's process and the node processes it starts print hivemind's warnings but not its INFO lines."""
    env = {k: v for k, v in os.environ.items() if k != "HIVEMIND_LOGLEVEL"}
    text = _run(env)
    assert "parent warning" in text and "child warning" in text
    assert "parent info" not in text and "child info" not in text


def test_demo_hivemind_loglevel_set_by_the_user_wins() -> None:
    """HIVEMIND_LOGLEVEL=INFO brings hivemind's INFO lines back, in the demo's process and its children."""
    text = _run({**os.environ, "HIVEMIND_LOGLEVEL": "INFO"})
    assert "parent info" in text and "child info" in text
