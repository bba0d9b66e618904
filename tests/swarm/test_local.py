"""`make swarm` (offchain/swarm/local.py): what it refuses before it trains or starts anything."""

from __future__ import annotations

import pytest

from offchain.swarm.local import MAX_NODES, SwarmConfig, main


def test_local_swarm_refuses_more_nodes_than_funded_accounts(capsys) -> None:
    """anvil funds 10 accounts and account 0 deploys: NODES above 9 is one clear usage error, before the
    warm-up and anvil start (it used to fail mid-swarm on an account index)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--nodes", "12"])
    assert exit_info.value.code == 2
    assert "NODES=12: a local swarm runs 1 to 9 nodes" in capsys.readouterr().err
    for bad in (0, MAX_NODES + 1):
        with pytest.raises(ValueError, match=f"NODES={bad}"):
            SwarmConfig(nodes=bad)
    assert SwarmConfig(nodes=MAX_NODES).nodes == 9
    with pytest.raises(ValueError, match="ROUNDS=0"):
        SwarmConfig(rounds=0)


def test_make_chain_mines_on_a_timer() -> None:
    """`make chain` is what the README's hand-run node uses: the node reads the stage from the latest block's
    time, so anvil must mine while idle (it mined only on transactions, and a lone node hung after stage 0)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(["make", "-n", "-W", "setup", "chain"], cwd=root, capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if "anvil" in x)
    assert "--host 127.0.0.1" in line and "--block-time 1" in line


def test_node_cli_without_a_chain_is_one_line(tmp_path) -> None:
    """`python -m offchain.swarm` pointed at a URL where no chain answers says so in one line, as `ape run node`
    does, and exits non-zero (Ape alone tried to start geth there and ended in a traceback)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "offchain.swarm", "--rpc", "http://127.0.0.1:9", "--account", "1",
           "--workdir", str(tmp_path / "node")]  # fmt: skip
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: no chain answers at http://127.0.0.1:9")
    assert "make chain" in lines[0] and not (tmp_path / "node").exists()


# 40 s of a real `make swarm` run (anvil, a node, one round of three stages): in `make test-slow`, to keep
# `make test` within its 10 minutes on 2 cores; `make demo` runs the same runner with three nodes.
@pytest.mark.slow
def test_local_swarm_keeps_node_folders_with_progress(tmp_path, monkeypatch) -> None:
    """After a run each node's folder is still there with progress.jsonl and curves.png, and the runner says
    where (they lived in a temporary folder deleted as the run ended); an earlier run's files are cleared first."""
    import json

    from offchain.swarm.local import ROOT, run_swarm

    assert SwarmConfig().workdir == ROOT / "out" / "swarm" / "nodes"  # `make swarm` keeps them under out/
    workdir = tmp_path / "nodes"
    (workdir / "node0").mkdir(parents=True)
    (workdir / "node0" / "votes.json").write_text('{"stale": "salts of another chain"}')
    monkeypatch.setenv("VERDE_DEPLOYMENTS_DIR", str(tmp_path / "unused"))  # run_swarm points it at its own run
    lines: list[str] = []
    out = run_swarm(SwarmConfig(nodes=1, rounds=1, stage_s=4, workdir=workdir, start_margin_s=12),
                    echo=lines.append)  # fmt: skip
    assert out["exit_codes"] == [0], "\n".join(lines[-30:])
    node = workdir / "node0"
    rounds = [json.loads(x) for x in (node / "progress.jsonl").read_text().splitlines()]
    assert len(rounds) == 1 and "accuracy" in json.dumps(rounds[0])
    assert (node / "curves.png").read_bytes()[:4] == b"\x89PNG"
    votes = node / "votes.json"
    assert not votes.exists() or "stale" not in votes.read_text()
    assert any(line.startswith("node folders (progress.jsonl, curves.png): ") and str(workdir) in line
               for line in lines)  # fmt: skip
    assert any("reward points over" in line for line in lines)


def test_local_swarm_trains_the_warmup_on_one_thread(tmp_path, monkeypatch) -> None:
    """`make swarm` trains a missing warm-up checkpoint on one thread, as `python -m offchain.swarm.warmup`
    does, so both give the same checkpoint in the time the docs state (it used the process's default)."""
    import torch

    from offchain.swarm import local, warmup

    seen: list[int] = []
    monkeypatch.setattr(warmup, "write_warmup", lambda path: seen.append(torch.get_num_threads()))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        local.ensure_warmup(tmp_path / "warmup.pt", echo=lambda _m: None)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
