"""Gas of JobMarket's main paths (receipt gas_used), printed per asset; see it with `-s`.

Run: `.venv/bin/ape test tests/market/test_job_market_gas.py -q -p no:cacheprovider -s`
"""

from __future__ import annotations

from jobmarket_support import DEFAULTS


def test_gas_of_main_paths(h, market, alice, bob, carol):
    """postJob, join, postCheckpoint, claim and withdraw each cost a plausible amount of gas, printed as a table."""
    gas: dict[str, int] = {}
    receipt = h.post()
    gas["postJob"] = receipt.gas_used
    job_id = h.job_id(receipt)
    gas["join (first solver)"] = h.join(job_id, bob).gas_used
    gas["join (last solver, starts job)"] = h.join(job_id, carol).gas_used
    gas["postCheckpoint (first)"] = h.checkpoint(job_id, bob, 1).gas_used
    gas["postCheckpoint (next)"] = h.checkpoint(job_id, bob, 2).gas_used
    h.warp(DEFAULTS.window)
    gas["claim (2 milestones)"] = market.claim(job_id, sender=bob).gas_used
    h.checkpoints(job_id, bob)
    h.warp(DEFAULTS.window)
    gas["claim (2 milestones + stake)"] = market.claim(job_id, sender=bob).gas_used
    gas["withdraw (solver)"] = market.withdraw(job_id, sender=bob).gas_used
    gas["withdraw (requester dust)"] = market.withdraw(job_id, sender=alice).gas_used

    print(f"\nJobMarket gas ({h.asset.name})")
    for name, used in gas.items():
        print(f"  {name:<34} {used:>8,}")
    assert all(21_000 < used < 400_000 for used in gas.values()), gas
