"""The demo story runs to its balance table on a real anvil chain."""

from __future__ import annotations

from offchain.chain.anvil import Anvil
from offchain.chain.demo import DemoConfig, format_table, plot_balances, run_demo


def test_demo_story_pays_everyone(tmp_path):
    """Solvers end with payment on top of their returned stakes, funders paid the job, nothing stays locked."""
    from ape import chain

    config = DemoConfig()
    lines: list[str] = []
    with Anvil.start() as anvil, anvil.connect():
        rows = run_demo(anvil, tmp_path, config=config, echo=lines.append)
        assert chain.chain_id == 1337
    by_role = {r.role: r for r in rows}
    text = "\n".join(lines)
    assert "agree at every checkpoint" in text
    assert "winner: peer 1" in text  # A and C voted for B
    assert "market holds 0 wei, crowdfund holds 0 wei" in text  # every wei left
    paid = sum(config.contributions_wei)
    for role in ("operator A + solver", "operator B + solver"):
        r = by_role[role]
        # Each solver gets half the pool back as payment (the stake returns too), less its own gas.
        assert r.after - r.before + r.fees == paid // 2
    funders = [r for r in rows if r.role.startswith("funder")]
    assert sum(r.before - r.after - r.fees for r in funders) == paid
    table = format_table(rows)
    assert table.count("\n") == len(rows) + 1
    png = plot_balances(rows, tmp_path / "balances.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
