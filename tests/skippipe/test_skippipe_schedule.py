"""SkipPipe's scheduler (offchain/skippipe/schedule.py): every schedule it or a baseline returns meets every
constraint over random settings, impossible settings are refused, and collision awareness pays on a scaled-down
version of the paper's setting and at the paper's scale (20 nodes, 6 stages), never behind the no-collision-awareness
and random-skips baselines."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.skippipe import schedule as sp
from offchain.skippipe.geo import Node, load_links, place_nodes, region_transfer, regions
from offchain.skippipe.sim import Schedule, simulate

LINKS = load_links()
TRANSFER = region_transfer(LINKS)
REGIONS = regions(LINKS)
ACT_BYTES = 64 * 1024**2


@st.composite
def settings_(draw):
    n = draw(st.integers(3, 12))
    n_stages = draw(st.integers(2, min(6, n)))
    nodes = [
        Node(f"n{i}", draw(st.sampled_from(REGIONS)), draw(st.sampled_from([0.5, 1.0, 2.0])), draw(st.integers(1, 4)))
        for i in range(n)
    ]
    return (
        nodes,
        n_stages,
        draw(st.integers(1, 12)),
        draw(st.sampled_from([0.0, 0.2, 0.25, 0.33, 0.5])),
        draw(st.integers(0, 2)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_())
def test_every_returned_schedule_meets_every_constraint(setting):
    nodes, n_stages, mb, r, k = setting
    alloc = sp.allocate(nodes, n_stages)
    fwd = [1.0] * n_stages
    runs = {
        "aware": (lambda: sp.schedule(nodes, TRANSFER, alloc, mb, fwd, ACT_BYTES, r, k), True),
        "unaware": (lambda: sp.no_collision_awareness(nodes, TRANSFER, alloc, mb, fwd, ACT_BYTES, r, k), False),
        "random": (lambda: sp.random_skips(nodes, alloc, mb, r, seed=1), False),
    }
    if sp.skips(r, n_stages) == 0:
        runs["full"] = (lambda: sp.full_pipeline(nodes, alloc, mb), False)
    for name, (run, collision_free) in runs.items():
        try:
            sched = run()
        except ValueError as e:
            assert any(w in str(e) for w in ("memory", "collision-free", "path")), (name, e)
            continue
        # The baselines keep every rule but the slot model's collisions; the aware scheduler keeps that one too.
        sp.validate(sched, nodes, n_stages, 0.0 if name == "full" else r, k, check_collisions=collision_free)
        assert len(sched.paths) == mb
        assert simulate(nodes, TRANSFER, sched, fwd, ACT_BYTES).tasks == sum(2 * len(p) - 1 for p in sched.paths)


def test_allocation_is_by_region_with_the_remainder_on_stage_0():
    nodes = place_nodes(20, REGIONS[:6])
    alloc = sp.allocate(nodes, 6)
    assert [len(s) for s in alloc] == [5, 3, 3, 3, 3, 3]
    assert sorted(n for s in alloc for n in s) == list(range(20))
    # 20 nodes over 6 regions, sorted by region: a stage of 3 spans at most 2 regions.
    assert all(len({nodes[n].region for n in s}) <= 2 for s in alloc)


def test_skips_and_sequences():
    assert sp.skips(0.33, 6) == 2  # SkipPipe's setting: 4 of 6 stages
    assert sp.skips(0.25, 4) == 1
    assert sp.stage_sequences(4, 0.25, 0) == [(1, 2), (1, 3), (2, 3)]
    assert set(sp.stage_sequences(4, 0.0, 1)) == {(1, 2, 3), (2, 1, 3), (1, 3, 2)}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda n: sp.allocate(n[:2], 3), "a stage with no node"),
        (lambda n: sp.skips(0.9, 3), "no valid path keeps stage 0"),
        (lambda n: sp.skips(1.0, 3), r"\[0, 1\)"),
        (lambda n: sp.full_pipeline(n, sp.allocate(n, 2), 13), "stage 0 holds"),
        (lambda n: sp.schedule(n, TRANSFER, sp.allocate(n, 2), 0, [1, 1], 1), "at least one microbatch"),
        (lambda n: sp.schedule(n, TRANSFER, sp.allocate(n, 3), 5, [1] * 3, 1, reorder=-1), "reordering bound"),
    ],
)
def test_impossible_settings_are_refused(call, message):
    nodes = place_nodes(6, REGIONS[:2], memory=2)  # stage 0 holds at most 4 or 6 microbatches
    with pytest.raises(ValueError, match=message):
        call(nodes)


def test_no_collision_free_path_is_refused():
    """Two stage-0 nodes of memory 1 both start in slot 0, so both microbatches would reach the one stage-1 node in
    slot 1: memory allows it, the slot model does not."""
    nodes = [Node("a", "NL", memory=1), Node("b", "NL", memory=1), Node("c", "NL", memory=2)]
    with pytest.raises(ValueError, match="no collision-free path left for microbatch 1"):
        sp.schedule(nodes, TRANSFER, [[0, 1], [2]], 2, [1, 1], 1)
    sched = sp.no_collision_awareness(nodes, TRANSFER, [[0, 1], [2]], 2, [1, 1], 1)
    with pytest.raises(ValueError, match="collision: microbatches 0 and 1 are both at node 2 in slot 1"):
        sp.validate(sched, nodes, 2)


@pytest.mark.parametrize(
    "sched, message",
    [
        (Schedule([[0], [1], [2]], [[0, 1, 0]]), "skip ratio: microbatch 0 visits 2 stages, expected 3"),
        (Schedule([[0], [1], [2]], [[0, 2, 1, 0]]), "reordering bound"),
        (Schedule([[0], [1], [2]], [[0, 1, 2, 0]] * 2), "memory: node 0 is on 2 paths"),
    ],
)
def test_validate_names_the_constraint(sched, message):
    nodes = [Node(f"n{i}", "NL", memory=1) for i in range(3)]
    with pytest.raises(ValueError, match=message):
        sp.validate(sched, nodes, 3)


def test_collision_awareness_pays_on_the_scaled_down_paper_setting():
    """12 nodes over 4 regions in 4 stages, memory 3, 6 microbatches, 25% skip (3 of 4 stages), reordering 1;
    SkipPipe's figures: 0.055 s per sample per layer, 8 samples, 4 layers per stage, 0.35 s per hop. Measured
    (deterministic, no seed involved): aware 72.346 s, unaware 75.866 s, random skips (seed 0) 76.222 s, full
    pipeline 97.868 s."""
    nodes = place_nodes(12, REGIONS[:4])
    alloc = sp.allocate(nodes, 4)
    fwd, act = [0.055 * 8 * 4] * 4, 8 * 4096 * 2048 * 2

    def it(sched):
        return simulate(nodes, TRANSFER, sched, fwd, act, hop_overhead_s=0.35).iteration_s

    aware = sp.schedule(nodes, TRANSFER, alloc, 6, fwd, act, 0.25, 1)
    sp.validate(aware, nodes, 4, 0.25, 1)
    unaware = sp.no_collision_awareness(nodes, TRANSFER, alloc, 6, fwd, act, 0.25, 1)
    assert it(aware) == pytest.approx(72.346, abs=1e-3)
    assert it(unaware) == pytest.approx(75.866, abs=1e-3)
    assert (
        it(aware)
        <= it(unaware)
        <= it(sp.random_skips(nodes, alloc, 6, 0.25, 0))
        < it(sp.full_pipeline(nodes, alloc, 6))
    )


PAPER_FWD, PAPER_ACT, PAPER_HOP = [0.055 * 8 * 4] * 6, 8 * 4096 * 2048 * 2, 0.35


@pytest.mark.parametrize("n_regions", [12, 4])
@pytest.mark.parametrize("mb", [6, 12])
def test_aware_never_behind_the_baselines_at_the_paper_scale(n_regions, mb):
    """20 nodes dealt over the 12 regions (or the first 4), 6 stages (5,3,3,3,3,3), memory 3, 33% skip (4 of 6
    stages; 25% rounds to the same 2 skips at 6 stages), k = 1, SkipPipe's figures. 18 microbatches do not fit in
    stage 0's memory (15). The aware scheduler, judged by the simulator, is at or below the no-collision-awareness
    baseline and every random-skips seed that fits in memory; before the simulator judged it, 20 nodes over 4
    regions with 12 microbatches gave aware 84.760 s against unaware 81.973 s."""
    assert sp.skips(0.25, 6) == sp.skips(0.33, 6) == 2
    nodes = place_nodes(20, REGIONS[:n_regions])
    alloc = sp.allocate(nodes, 6)
    args = (nodes, TRANSFER, alloc, mb, PAPER_FWD, PAPER_ACT, 0.33, 1)

    def it(sched):
        return simulate(nodes, TRANSFER, sched, PAPER_FWD, PAPER_ACT, hop_overhead_s=PAPER_HOP).iteration_s

    aware = sp.schedule(*args, hop_overhead_s=PAPER_HOP)
    sp.validate(aware, nodes, 6, 0.33, 1)
    assert it(aware) <= it(sp.no_collision_awareness(*args))
    for seed in range(3):
        try:
            rnd = sp.random_skips(nodes, alloc, mb, 0.33, seed)
        except ValueError:  # the random draw overloaded a stage
            continue
        assert it(aware) <= it(rnd)
    if mb == 6:
        assert sp.schedule(*args, hop_overhead_s=PAPER_HOP) == aware  # deterministic


def test_search_never_worsens_its_start_and_refuses_a_negative_budget():
    nodes = place_nodes(12, REGIONS[:4])
    alloc = sp.allocate(nodes, 4)
    args = (nodes, TRANSFER, alloc, 6, PAPER_FWD[:4], PAPER_ACT, 0.25, 1)

    def it(sched):
        return simulate(nodes, TRANSFER, sched, PAPER_FWD[:4], PAPER_ACT, hop_overhead_s=PAPER_HOP).iteration_s

    starts = it(sp.schedule(*args, hop_overhead_s=PAPER_HOP, budget=0))
    searched = sp.schedule(*args, hop_overhead_s=PAPER_HOP, budget=300, seed=3)
    sp.validate(searched, nodes, 4, 0.25, 1)
    assert it(searched) <= starts
    with pytest.raises(ValueError, match="budget must be >= 0"):
        sp.schedule(*args, budget=-1)
