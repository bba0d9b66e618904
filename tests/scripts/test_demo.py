"""The demo story runs to its balance table on a real anvil chain, and (slow) on our rollup."""

from __future__ import annotations

import re

import pytest

from offchain.chain.anvil import Anvil
from offchain.chain.deploy import DeployConfig
from offchain.demo import ETH, DemoConfig, format_table, plot_balances, run_demo


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
    # Shares rounded to one decimal (floored basis points printed as 46.15 + 30.76 + 23.07 read as 99.98%).
    assert [line.split(": ")[1] for line in lines if "attribution" in line] == [
        "46.2% of the pool", "30.8% of the pool", "23.1% of the pool"]  # fmt: skip
    paid = sum(config.contributions_wei)
    for role in ("operator A + solver", "operator B + solver"):
        r = by_role[role]
        # Each solver gets half the pool back as payment (the stake returns too), less its own gas.
        assert r.after - r.before + r.fees == paid // 2
    funders = [r for r in rows if r.role.startswith("funder")]
    assert sum(r.before - r.after - r.fees for r in funders) == paid
    # The Verde job: the cheater is caught down to one element and loses its stake (a defender posts no
    # bond); the watcher gets its bond back and REWARD_BPS of the stake as the bounty, the honest solver its
    # full half of the payment, and the requester the cheater's unreleased half and the rest of its stake.
    assert "verdict: Challenger wins by Leaf" in text and "resolveElement EXP" in text
    assert "market holds 0 wei of job 2 uncredited" in text
    # The dispute PNG has every move of both sides, read back from the chain: as many as the verdict counts.
    moves = re.search(r"after (\d+) moves", text).group(1)
    assert re.search(rf"dispute trace: \S+demo-dispute.png \({moves} moves: \d+ by the challenger, [1-9]\d* by the "
                     r"defender\)", text), text  # fmt: skip
    dc = DeployConfig()
    share = config.stake_wei * dc.verde_reward_bps // 10_000

    def net(role: str) -> int:
        r = by_role[role]
        return r.after - r.before + r.fees

    assert net("Verde cheater") == -config.stake_wei
    assert net("Verde solver") == config.verde_payment_wei // 2
    assert net("operator C + watcher") == share
    kept = config.verde_payment_wei // 2 + (config.stake_wei - share)  # unreleased half + the rest of the stake
    assert net("Verde requester") == -config.verde_payment_wei + kept
    table = format_table(rows)
    assert table.count("\n") == len(rows) + 1
    png = plot_balances(rows, tmp_path / "balances.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_the_story_on_our_rollup_ends_with_a_withdrawal_to_l1(tmp_path):
    """`make demo`'s story on the L2 (about two minutes): the wallets hold only what they deposited, everyone is paid
    as on anvil, the cheater is caught, and a solver's earnings reach its L1 address through the portal."""
    from offchain.demo import DEPOSIT_WEI, run_l2_demo

    lines: list[str] = []
    rows, withdrawn = run_l2_demo(tmp_path / "demo", echo=lines.append)
    text = "\n".join(lines)
    assert all(r.before == DEPOSIT_WEI for r in rows)  # the L2 genesis funds none of them: deposits did
    assert "market holds 0 wei, crowdfund holds 0 wei" in text and "market holds 0 wei of job 2 uncredited" in text
    assert "verdict: Challenger wins by Leaf" in text and "winner: peer 1" in text
    assert "NOT the sequencer's block" not in text
    solver = rows[1]
    assert withdrawn.amount == solver.after - solver.before > 0
    assert withdrawn.l2_before - withdrawn.l2_after > withdrawn.amount  # plus its L2 gas
    l1_gas = withdrawn.amount - (withdrawn.l1_after - withdrawn.l1_before)  # proving and finalizing were paid on L1
    assert 0 < l1_gas < ETH // 100
