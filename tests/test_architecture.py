"""The layers of offchain/ (docs/architecture.md) hold: import-linter's contracts in pyproject.toml are kept, and
a wrong import breaks them (so the check is not one that cannot fail)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH first: grimp reads the `offchain` package that imports from `root`, not the installed checkout.
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_layers_hold():
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a worker talking to Ape directly instead of through offchain.chain
        ("offchain/verde/ir.py", "import ape", "the workers reach the chain only through offchain.chain"),
        # the numerics reaching up into a worker
        ("offchain/commit/format.py", "import offchain.verde.job", "offchain layers"),
        # the chain layer doing training
        ("offchain/chain/deploy.py", "import offchain.model.gpt", "the chain layer is only the chain"),
        # the swarm and Verde are siblings: neither imports the other
        ("offchain/swarm/rl.py", "import offchain.verde.market", "offchain layers"),
    ],
)
def test_a_wrong_import_is_refused(tmp_path, module, line, broken):
    shutil.copytree(ROOT / "offchain", tmp_path / "offchain", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    out = lint_imports(tmp_path)
    assert out.returncode != 0, out.stdout
    assert broken in " ".join(out.stdout.split()), out.stdout
