"""The command line every generator of a checked-in file shares: write it, or with --check say whether the
checked-in copy is stale (tests call the check so a stale file fails CI)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(out: Path, render: Callable[[], str], description: str, script: str) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {out.relative_to(ROOT)} differs")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not out.is_file() or out.read_text() != text:
            print(f"{out.relative_to(ROOT)} is stale: run .venv/bin/python {script}")
            return 1
        return 0
    out.write_text(text)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0
